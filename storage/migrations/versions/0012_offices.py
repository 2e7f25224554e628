"""The offices: a city and its districts, and what belongs to each.

Revision ID: 0012_offices
Revises: 0011_point_requests
Create Date: 2026-12-07 07:00:00.000000

Migrations import only alembic and sqlalchemy, never the project.

Written by hand.

- ``offices``: the tree of offices (``parent_id``), each with its code (which starts
  its references), its name, its admin group (``chat_id``) and the one-time code that
  binds a group to it. An existing database becomes a one-office tree: the home office
  (id 1, code ``WZ`` until the bot starts and sets it from ``JURISDICTION_CODE``, as it
  sets its group from ``ADMIN_CHAT_ID``).
- ``office_id`` on points, observers, applications, departments, suggestions and
  broadcasts: every existing row is the home office's (server default 1).
- ``outbox.office_id``: the office whose group an admin-group row goes to.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0012_offices"
down_revision: str | Sequence[str] | None = "0011_point_requests"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OWNED = ("points", "observers", "applications", "departments", "suggestions", "broadcasts")


def upgrade() -> None:
    op.create_table(
        "offices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("bind_code", sa.String(length=64), nullable=True),
        sa.Column("bind_expires_at", sa.DateTime(), nullable=True),
        sa.Column("bound_at", sa.DateTime(), nullable=True),
        sa.Column("bound_by", sa.BigInteger(), nullable=True),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["offices.id"], name=op.f("fk_offices_parent_id_offices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offices")),
        sa.UniqueConstraint("bind_code", name=op.f("uq_offices_bind_code")),
        sa.UniqueConstraint("chat_id", name=op.f("uq_offices_chat_id")),
        sa.UniqueConstraint("code", name=op.f("uq_offices_code")),
    )
    op.create_index(op.f("ix_offices_parent_id"), "offices", ["parent_id"], unique=False)
    offices = sa.table(
        "offices",
        sa.column("id", sa.Integer()),
        sa.column("code", sa.String()),
        sa.column("name", sa.String()),
        sa.column("created_at", sa.DateTime()),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    # Times are naive UTC (storage.types.UTCDateTime).
    now = sa.text("timezone('utc', now())") if postgres else sa.func.current_timestamp()
    op.execute(offices.insert().values(id=1, code="WZ", name="", created_at=now))
    if postgres:
        op.execute("SELECT setval(pg_get_serial_sequence('offices', 'id'), 1)")
    for table in _OWNED:
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("office_id", sa.Integer(), server_default=sa.text("1"), nullable=False)
            )
            batch.create_foreign_key(
                op.f(f"fk_{table}_office_id_offices"), "offices", ["office_id"], ["id"]
            )
            batch.create_index(op.f(f"ix_{table}_office_id"), ["office_id"], unique=False)
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("office_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_outbox_office_id_offices"), "offices", ["office_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint(op.f("fk_outbox_office_id_offices"), type_="foreignkey")
        batch.drop_column("office_id")
    for table in reversed(_OWNED):
        with op.batch_alter_table(table) as batch:
            batch.drop_index(op.f(f"ix_{table}_office_id"))
            batch.drop_constraint(op.f(f"fk_{table}_office_id_offices"), type_="foreignkey")
            batch.drop_column("office_id")
    op.drop_index(op.f("ix_offices_parent_id"), table_name="offices")
    op.drop_table("offices")
