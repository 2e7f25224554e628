"""Card posts that may have reached their chat unseen.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 20:30:00.000000

Migrations import only alembic and sqlalchemy, never the project.

Written by hand.

- ``unsure_posts``: a card whose post timed out and may have reached the chat all the
  same; the ids after ``since`` are looked at for a copy the bot has no record of once
  the card is posted, even by a process started after the one that posted it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "unsure_posts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("subject", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("since", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unsure_posts")),
        sa.UniqueConstraint(
            "chat_id",
            "subject",
            "subject_id",
            name=op.f("uq_unsure_posts_chat_id_subject_subject_id"),
        ),
    )


def downgrade() -> None:
    op.drop_table("unsure_posts")
