"""Rectifications: findings the city raises for its districts.

Revision ID: 0014_rectifications
Revises: 0013_reported_above
Create Date: 2026-12-07 08:30:00.000000

Migrations import only alembic and sqlalchemy, never the project.

Written by hand.

- ``rectifications``: a finding (整改) the city (``raised_by_id``) raised for a district
  (``office_id``), with its due date and status (raised, accepted, done, closed) and the
  log of every step.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0014_rectifications"
down_revision: str | Sequence[str] | None = "0013_reported_above"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rectifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("raised_by_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("log", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["office_id"], ["offices.id"], name=op.f("fk_rectifications_office_id_offices")
        ),
        sa.ForeignKeyConstraint(
            ["raised_by_id"], ["offices.id"], name=op.f("fk_rectifications_raised_by_id_offices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rectifications")),
    )
    op.create_index(
        op.f("ix_rectifications_office_id"), "rectifications", ["office_id"], unique=False
    )
    op.create_index(
        op.f("ix_rectifications_raised_by_id"), "rectifications", ["raised_by_id"], unique=False
    )
    op.create_index(op.f("ix_rectifications_status"), "rectifications", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_rectifications_status"), table_name="rectifications")
    op.drop_index(op.f("ix_rectifications_raised_by_id"), table_name="rectifications")
    op.drop_index(op.f("ix_rectifications_office_id"), table_name="rectifications")
    op.drop_table("rectifications")
