"""Updates that could not be read.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 10:00:00.000000

Migrations import only alembic and sqlalchemy, never the project.

Written by hand.

- ``dead_letters``: an update that failed validation, confirmed to Telegram and skipped
  so that it blocks nothing behind it; its id, type and the validation error's
  locations are kept (never its content), and the office's /stats counts them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("bot_id", sa.BigInteger(), nullable=False),
        sa.Column("update_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
        sa.UniqueConstraint("bot_id", "update_id", name=op.f("uq_dead_letters_bot_id_update_id")),
    )


def downgrade() -> None:
    op.drop_table("dead_letters")
