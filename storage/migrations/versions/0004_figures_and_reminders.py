"""Figures and reminders: an item's disposition and city chase date, the scheduler's
lease and the reminders it has sent, and the 2026 public holidays.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 07:00:00.000000

Migrations import only alembic and sqlalchemy, never the project: a migration must
keep working after the models it was generated from have moved on.

Written by hand. ``disposition`` is filled for items already decided from their
append-only event log: the latest decision wins (a city's answer after an escalation).
The 2026 schedule is the State Council's (国办发明电, 4 November 2025): holidays and the
weekend days worked in their place (调休); days the office already has are left alone.
"""

from collections.abc import Sequence
from datetime import date, timedelta

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DECISIONS = (
    "adopt",
    "keep_reference",
    "decline",
    "escalate",
    "mark_duplicate",
    "city_adopt",
    "city_reference",
    "city_decline",
)

# (first day, last day, name) off; (day, name) worked.
_HOLIDAYS_2026 = (
    (date(2026, 1, 1), date(2026, 1, 3), "元旦"),
    (date(2026, 2, 15), date(2026, 2, 23), "春节"),
    (date(2026, 4, 4), date(2026, 4, 6), "清明节"),
    (date(2026, 5, 1), date(2026, 5, 5), "劳动节"),
    (date(2026, 6, 19), date(2026, 6, 21), "端午节"),
    (date(2026, 9, 25), date(2026, 9, 27), "中秋节"),
    (date(2026, 10, 1), date(2026, 10, 7), "国庆节"),
)
_WORKDAYS_2026 = (
    (date(2026, 1, 4), "元旦调休"),
    (date(2026, 2, 14), "春节调休"),
    (date(2026, 2, 28), "春节调休"),
    (date(2026, 5, 9), "劳动节调休"),
    (date(2026, 9, 20), "国庆节调休"),
    (date(2026, 10, 10), "国庆节调休"),
)


def _days_2026() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for first, last, name in _HOLIDAYS_2026:
        day = first
        while day <= last:
            rows.append({"day": day, "kind": "holiday", "name": name})
            day += timedelta(days=1)
    rows.extend({"day": day, "kind": "workday", "name": name} for day, name in _WORKDAYS_2026)
    return rows


def upgrade() -> None:
    with op.batch_alter_table("suggestions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disposition", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("city_answer_due", sa.Date(), nullable=True))

    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leases")),
    )
    op.create_table(
        "reminders_sent",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminders_sent")),
        sa.UniqueConstraint("kind", "key", name=op.f("uq_reminders_sent_kind_key")),
    )

    suggestions = sa.table(
        "suggestions", sa.column("id", sa.Integer), sa.column("disposition", sa.String)
    )
    events = sa.table(
        "events",
        sa.column("id", sa.Integer),
        sa.column("suggestion_id", sa.Integer),
        sa.column("action", sa.String),
        sa.column("to_status", sa.String),
    )
    latest = (
        sa.select(events.c.to_status)
        .where(events.c.suggestion_id == suggestions.c.id, events.c.action.in_(_DECISIONS))
        .order_by(events.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    op.execute(sa.update(suggestions).values(disposition=latest))

    calendar = sa.table(
        "calendar_days", sa.column("day", sa.Date), sa.column("kind"), sa.column("name")
    )
    bind = op.get_bind()
    held = {row[0] for row in bind.execute(sa.select(calendar.c.day))}
    missing = [row for row in _days_2026() if row["day"] not in held]
    if missing:
        op.bulk_insert(calendar, missing)


def downgrade() -> None:
    # The holidays stay: they are the office's calendar now, whichever schema reads it.
    op.drop_table("reminders_sent")
    op.drop_table("leases")
    with op.batch_alter_table("suggestions", schema=None) as batch_op:
        batch_op.drop_column("city_answer_due")
        batch_op.drop_column("disposition")
