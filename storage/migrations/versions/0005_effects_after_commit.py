"""Decide, commit, then speak: cards awaiting a re-sync, and outbox rows on lease.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 13:00:00.000000

Migrations import only alembic and sqlalchemy, never the project.

Written by hand.

- ``cards.resync_at``: a card whose message may not show what the database says (its
  item moved and the edit has not been made yet, or an edit failed) is due for a
  re-sync then; empty when the card is known to be current. The sender brings due
  cards up to date.
- ``outbox.claimed_by`` / ``outbox.claimed_until``: a sender claims a row in a short
  transaction, sends with no transaction open and records the outcome in another;
  other senders skip a live lease, and an expired one means the send is tried again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resync_at", sa.DateTime(), nullable=True))
        batch_op.create_index("ix_cards_resync_at", ["resync_at"], unique=False)
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("claimed_until", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("claimed_until")
        batch_op.drop_column("claimed_by")
    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.drop_index("ix_cards_resync_at")
        batch_op.drop_column("resync_at")
