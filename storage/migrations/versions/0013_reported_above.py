"""The office an item was reported to.

Revision ID: 0013_reported_above
Revises: 0012_offices
Create Date: 2026-12-07 08:00:00.000000

Migrations import only alembic and sqlalchemy, never the project.

Written by hand.

- ``suggestions.above_id``: the office an item was reported to (报市级研究), the city
  above its district, which then sees the item, answers it or hands it back to the
  district with a question. Items reported before (the district recorded the city's
  answer itself) keep None.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0013_reported_above"
down_revision: str | Sequence[str] | None = "0012_offices"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("suggestions") as batch:
        batch.add_column(sa.Column("above_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_suggestions_above_id_offices"), "offices", ["above_id"], ["id"]
        )
        batch.create_index(op.f("ix_suggestions_above_id"), ["above_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("suggestions") as batch:
        batch.drop_index(op.f("ix_suggestions_above_id"))
        batch.drop_constraint(op.f("fk_suggestions_above_id_offices"), type_="foreignkey")
        batch.drop_column("above_id")
