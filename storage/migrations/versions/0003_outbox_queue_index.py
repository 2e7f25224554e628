"""The outbox's per-chat queue: an index for "is an earlier row of this chat pending?"
and "which rows of this chat are held?".

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 03:40:00.000000

Migrations import only alembic and sqlalchemy, never the project: a migration must
keep working after the models it was generated from have moved on.

Written by hand. The outbox's new state "held" (a person blocked the bot) needs no
schema change: ``state`` is a plain VARCHAR(16). The sender asks, for every due row,
whether an earlier row of the same chat is still pending, and unblocking re-queues a
chat's held rows; both are lookups by (state, chat_id, id).
"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_state_chat", ["state", "chat_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_state_chat")
