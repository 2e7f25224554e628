"""Cards remember the newest event of their subject they show.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 17:00:00.000000

Migrations import only alembic and sqlalchemy, never the project.

Written by hand.

- ``cards.shown_event``: the newest event of the card's item that its message shows
  (empty: not known). The office's card is brought up to date by the update that moved
  the item; the outbox row of the same move then finds the card showing that event
  already and is settled without reading the item again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.add_column(sa.Column("shown_event", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.drop_column("shown_event")
