"""What was done with personal data.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-09 10:00:00.000000

Migrations import only alembic and sqlalchemy, never the project.

Written by hand.

- ``privacy_log``: a phone number shown to an admin, an observer anonymised, an
  application erased after the period the office keeps them, the admin group warned of
  members who are not its admins (and how many: the next warning comes when that
  number changes). Rows are written, never changed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "privacy_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.BigInteger(), nullable=False),
        sa.Column("actor_user_id", sa.BigInteger(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_log")),
    )
    op.create_index(
        "ix_privacy_log_subject",
        "privacy_log",
        ["subject", "subject_id", "action"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_privacy_log_subject", table_name="privacy_log")
    op.drop_table("privacy_log")
