"""An observer's request to move to another observation point.

Revision ID: 0011_point_requests
Revises: 0010_languages
Create Date: 2026-12-12 12:00:00.000000

Migrations import only alembic and sqlalchemy, never the project.

Written by hand.

- ``point_requests``: an observer asks to move from their point to another open one;
  the office approves (only then the observer's point changes) or refuses, or the
  observer withdraws it (asking again withdraws the one before). Rows are kept, decided
  or not, as the record of who moved where and who agreed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0011_point_requests"
down_revision: str | Sequence[str] | None = "0010_languages"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "point_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("observer_id", sa.Integer(), nullable=False),
        sa.Column("from_point_id", sa.Integer(), nullable=True),
        sa.Column("to_point_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.BigInteger(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["observer_id"], ["observers.id"], name=op.f("fk_point_requests_observer_id_observers")
        ),
        sa.ForeignKeyConstraint(
            ["from_point_id"], ["points.id"], name=op.f("fk_point_requests_from_point_id_points")
        ),
        sa.ForeignKeyConstraint(
            ["to_point_id"], ["points.id"], name=op.f("fk_point_requests_to_point_id_points")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_point_requests")),
    )
    op.create_index(
        op.f("ix_point_requests_observer_id"), "point_requests", ["observer_id"], unique=False
    )
    op.create_index(op.f("ix_point_requests_status"), "point_requests", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_point_requests_status"), table_name="point_requests")
    op.drop_index(op.f("ix_point_requests_observer_id"), table_name="point_requests")
    op.drop_table("point_requests")
