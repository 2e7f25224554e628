"""The admin group's own language; English names of points and departments.

Revision ID: 0010_languages
Revises: 0009
Create Date: 2026-12-12 10:00:00.000000

Migrations import only alembic and sqlalchemy, never the project.

Written by hand.

- ``chat_languages``: the language the bot speaks in a group, chosen by its admins with
  /lang (a group without a row speaks the deployment's DEFAULT_LOCALE, as before).
- ``points.name_en``, ``departments.name_en``: the optional English name shown to
  people who read the bot in English (the Chinese ``name`` stays the name of record).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0010_languages"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "chat_languages",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("set_by", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", name=op.f("pk_chat_languages")),
    )
    op.add_column("points", sa.Column("name_en", sa.String(length=200), nullable=True))
    op.add_column("departments", sa.Column("name_en", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("departments") as batch:
        batch.drop_column("name_en")
    with op.batch_alter_table("points") as batch:
        batch.drop_column("name_en")
    op.drop_table("chat_languages")
