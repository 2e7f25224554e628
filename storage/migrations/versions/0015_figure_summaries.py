"""The figures' summaries, kept by triggers; the items' local days; period indexes.

Revision ID: 0015_figure_summaries
Revises: 0014_rectifications
Create Date: 2026-12-07 11:00:00.000000

Migrations import only alembic and sqlalchemy, never the project.

Written by hand.

- ``suggestions``: ``submitted_day`` and ``decided_day``, the office's local dates
  (yyyymmdd) of filing and first decision, worked out here in the zone the environment's
  ``TIMEZONE`` names (Asia/Shanghai if none: ``outpost figures --rebuild`` works them out
  again by the deployment's settings); ``rating``, the item's latest rating. Indexes on
  ``submitted_at`` and ``(observer_id, submitted_at)``, which periods select by.
- ``fig_points``, ``fig_domains``, ``fig_kinds``, ``fig_ratings``, ``fig_decisions``,
  ``fig_departments``, ``fig_observers``: the summaries
  /stats and /report read, counted here from the items and kept from then on by
  triggers on ``suggestions`` and ``ratings``. The triggers' text is what
  ``storage.figure_triggers`` printed when this was written (a test keeps them equal).
"""

import os
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0015_figure_summaries"
down_revision: str | Sequence[str] | None = "0014_rectifications"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEYED: dict[str, list[tuple[str, Any]]] = {
    "fig_points": [
        ("office_id", sa.Integer()),
        ("above_id", sa.Integer()),
        ("month", sa.Integer()),
        ("point_id", sa.Integer()),
        ("status", sa.String(length=32)),
        ("disposition", sa.String(length=32)),
    ],
    "fig_domains": [
        ("office_id", sa.Integer()),
        ("above_id", sa.Integer()),
        ("month", sa.Integer()),
        ("domain", sa.String(length=32)),
        ("status", sa.String(length=32)),
        ("disposition", sa.String(length=32)),
    ],
    "fig_kinds": [
        ("office_id", sa.Integer()),
        ("above_id", sa.Integer()),
        ("month", sa.Integer()),
        ("kind", sa.String(length=32)),
    ],
    "fig_ratings": [
        ("office_id", sa.Integer()),
        ("above_id", sa.Integer()),
        ("month", sa.Integer()),
        ("rating", sa.String(length=32)),
    ],
    "fig_decisions": [
        ("office_id", sa.Integer()),
        ("above_id", sa.Integer()),
        ("submitted_day", sa.Integer()),
        ("decided_day", sa.Integer()),
        ("on_time", sa.Integer()),
    ],
    "fig_departments": [
        ("office_id", sa.Integer()),
        ("above_id", sa.Integer()),
        ("month", sa.Integer()),
        ("department_id", sa.Integer()),
        ("on_time", sa.Integer()),
        ("implemented", sa.Integer()),
        ("open_due", sa.Date()),
    ],
    "fig_observers": [
        ("office_id", sa.Integer()),
        ("observer_id", sa.Integer()),
        ("month", sa.Integer()),
    ],
}
_VALUES: dict[str, list[tuple[str, Any]]] = {
    "fig_points": [("n", sa.Integer())],
    "fig_domains": [("n", sa.Integer())],
    "fig_kinds": [("n", sa.Integer())],
    "fig_ratings": [("n", sa.Integer())],
    "fig_decisions": [("n", sa.Integer())],
    "fig_departments": [("n", sa.Integer())],
    "fig_observers": [
        ("filed", sa.Integer()),
        ("adopted", sa.Integer()),
        ("last_at", sa.DateTime()),
    ],
}


def _day(moment: datetime | None, tz: ZoneInfo) -> int | None:
    if moment is None:
        return None
    local = moment.replace(tzinfo=UTC).astimezone(tz)
    return local.year * 10000 + local.month * 100 + local.day


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    with op.batch_alter_table("suggestions") as batch:
        batch.add_column(sa.Column("submitted_day", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("decided_day", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("rating", sa.String(length=32), nullable=True))
    tz = ZoneInfo(os.environ.get("TIMEZONE") or "Asia/Shanghai")
    items = sa.table(
        "suggestions",
        sa.column("id", sa.Integer()),
        sa.column("submitted_at", sa.DateTime()),
        sa.column("decided_at", sa.DateTime()),
        sa.column("submitted_day", sa.Integer()),
        sa.column("decided_day", sa.Integer()),
    )
    rows = bind.execute(sa.select(items.c.id, items.c.submitted_at, items.c.decided_at)).all()
    days = [
        {"item": i, "filed": _day(filed, tz), "decided": _day(decided, tz)}
        for i, filed, decided in rows
    ]
    if days:
        bind.execute(
            items.update()
            .where(items.c.id == sa.bindparam("item"))
            .values(submitted_day=sa.bindparam("filed"), decided_day=sa.bindparam("decided")),
            days,
        )
    with op.batch_alter_table("suggestions") as batch:
        batch.alter_column("submitted_day", existing_type=sa.Integer(), nullable=False)
        batch.create_index("ix_suggestions_submitted_at", ["submitted_at"], unique=False)
        batch.create_index(
            "ix_suggestions_observer_id_submitted_at",
            ["observer_id", "submitted_at"],
            unique=False,
        )
    op.execute(_RATINGS)
    for table, keys in _KEYED.items():
        op.create_table(
            table,
            *(sa.Column(name, kind, nullable=False) for name, kind in keys),
            *(sa.Column(name, kind, nullable=False) for name, kind in _VALUES[table]),
            sa.PrimaryKeyConstraint(*(name for name, _kind in keys), name=op.f(f"pk_{table}")),
        )
    for statement in _POSTGRESQL_TRIGGERS if postgres else _SQLITE_TRIGGERS:
        op.execute(statement)
    for statement in _RECOUNT:
        op.execute(statement)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in _POSTGRESQL_DROPS if postgres else _SQLITE_DROPS:
        op.execute(statement)
    for table in reversed(_KEYED):
        op.drop_table(table)
    with op.batch_alter_table("suggestions") as batch:
        batch.drop_index("ix_suggestions_observer_id_submitted_at")
        batch.drop_index("ix_suggestions_submitted_at")
        batch.drop_column("rating")
        batch.drop_column("decided_day")
        batch.drop_column("submitted_day")


# ---- as storage.figure_triggers printed them -----------------------------------------------

_SQLITE_TRIGGERS: Final = (
    "CREATE TRIGGER fig_points_insert AFTER INSERT ON suggestions FOR EACH ROW WHEN TRUE BEGIN INSERT INTO fig_points (office_id, above_id, month, point_id, status, disposition, n) VALUES (NEW.office_id, COALESCE(NEW.above_id, 0), NEW.submitted_day / 100, COALESCE(NEW.point_id, 0), NEW.status, COALESCE(NEW.disposition, ''), 1) ON CONFLICT (office_id, above_id, month, point_id, status, disposition) DO UPDATE SET n = fig_points.n + excluded.n; END",
    "CREATE TRIGGER fig_points_update AFTER UPDATE ON suggestions FOR EACH ROW WHEN NOT ((OLD.office_id) IS (NEW.office_id) AND (COALESCE(OLD.above_id, 0)) IS (COALESCE(NEW.above_id, 0)) AND (OLD.submitted_day / 100) IS (NEW.submitted_day / 100) AND (COALESCE(OLD.point_id, 0)) IS (COALESCE(NEW.point_id, 0)) AND (OLD.status) IS (NEW.status) AND (COALESCE(OLD.disposition, '')) IS (COALESCE(NEW.disposition, ''))) BEGIN UPDATE fig_points SET n = n - 1 WHERE office_id = OLD.office_id AND above_id = COALESCE(OLD.above_id, 0) AND month = OLD.submitted_day / 100 AND point_id = COALESCE(OLD.point_id, 0) AND status = OLD.status AND disposition = COALESCE(OLD.disposition, '') AND TRUE; INSERT INTO fig_points (office_id, above_id, month, point_id, status, disposition, n) SELECT NEW.office_id, COALESCE(NEW.above_id, 0), NEW.submitted_day / 100, COALESCE(NEW.point_id, 0), NEW.status, COALESCE(NEW.disposition, ''), 1 WHERE TRUE ON CONFLICT (office_id, above_id, month, point_id, status, disposition) DO UPDATE SET n = fig_points.n + excluded.n; END",
    "CREATE TRIGGER fig_points_delete AFTER DELETE ON suggestions FOR EACH ROW WHEN TRUE BEGIN UPDATE fig_points SET n = n - 1 WHERE office_id = OLD.office_id AND above_id = COALESCE(OLD.above_id, 0) AND month = OLD.submitted_day / 100 AND point_id = COALESCE(OLD.point_id, 0) AND status = OLD.status AND disposition = COALESCE(OLD.disposition, ''); END",
    "CREATE TRIGGER fig_domains_insert AFTER INSERT ON suggestions FOR EACH ROW WHEN TRUE BEGIN INSERT INTO fig_domains (office_id, above_id, month, domain, status, disposition, n) VALUES (NEW.office_id, COALESCE(NEW.above_id, 0), NEW.submitted_day / 100, NEW.domain, NEW.status, COALESCE(NEW.disposition, ''), 1) ON CONFLICT (office_id, above_id, month, domain, status, disposition) DO UPDATE SET n = fig_domains.n + excluded.n; END",
    "CREATE TRIGGER fig_domains_update AFTER UPDATE ON suggestions FOR EACH ROW WHEN NOT ((OLD.office_id) IS (NEW.office_id) AND (COALESCE(OLD.above_id, 0)) IS (COALESCE(NEW.above_id, 0)) AND (OLD.submitted_day / 100) IS (NEW.submitted_day / 100) AND (OLD.domain) IS (NEW.domain) AND (OLD.status) IS (NEW.status) AND (COALESCE(OLD.disposition, '')) IS (COALESCE(NEW.disposition, ''))) BEGIN UPDATE fig_domains SET n = n - 1 WHERE office_id = OLD.office_id AND above_id = COALESCE(OLD.above_id, 0) AND month = OLD.submitted_day / 100 AND domain = OLD.domain AND status = OLD.status AND disposition = COALESCE(OLD.disposition, '') AND TRUE; INSERT INTO fig_domains (office_id, above_id, month, domain, status, disposition, n) SELECT NEW.office_id, COALESCE(NEW.above_id, 0), NEW.submitted_day / 100, NEW.domain, NEW.status, COALESCE(NEW.disposition, ''), 1 WHERE TRUE ON CONFLICT (office_id, above_id, month, domain, status, disposition) DO UPDATE SET n = fig_domains.n + excluded.n; END",
    "CREATE TRIGGER fig_domains_delete AFTER DELETE ON suggestions FOR EACH ROW WHEN TRUE BEGIN UPDATE fig_domains SET n = n - 1 WHERE office_id = OLD.office_id AND above_id = COALESCE(OLD.above_id, 0) AND month = OLD.submitted_day / 100 AND domain = OLD.domain AND status = OLD.status AND disposition = COALESCE(OLD.disposition, ''); END",
    "CREATE TRIGGER fig_kinds_insert AFTER INSERT ON suggestions FOR EACH ROW WHEN TRUE BEGIN INSERT INTO fig_kinds (office_id, above_id, month, kind, n) VALUES (NEW.office_id, COALESCE(NEW.above_id, 0), NEW.submitted_day / 100, NEW.kind, 1) ON CONFLICT (office_id, above_id, month, kind) DO UPDATE SET n = fig_kinds.n + excluded.n; END",
    "CREATE TRIGGER fig_kinds_update AFTER UPDATE ON suggestions FOR EACH ROW WHEN NOT ((OLD.office_id) IS (NEW.office_id) AND (COALESCE(OLD.above_id, 0)) IS (COALESCE(NEW.above_id, 0)) AND (OLD.submitted_day / 100) IS (NEW.submitted_day / 100) AND (OLD.kind) IS (NEW.kind)) BEGIN UPDATE fig_kinds SET n = n - 1 WHERE office_id = OLD.office_id AND above_id = COALESCE(OLD.above_id, 0) AND month = OLD.submitted_day / 100 AND kind = OLD.kind AND TRUE; INSERT INTO fig_kinds (office_id, above_id, month, kind, n) SELECT NEW.office_id, COALESCE(NEW.above_id, 0), NEW.submitted_day / 100, NEW.kind, 1 WHERE TRUE ON CONFLICT (office_id, above_id, month, kind) DO UPDATE SET n = fig_kinds.n + excluded.n; END",
    "CREATE TRIGGER fig_kinds_delete AFTER DELETE ON suggestions FOR EACH ROW WHEN TRUE BEGIN UPDATE fig_kinds SET n = n - 1 WHERE office_id = OLD.office_id AND above_id = COALESCE(OLD.above_id, 0) AND month = OLD.submitted_day / 100 AND kind = OLD.kind; END",
    "CREATE TRIGGER fig_ratings_insert AFTER INSERT ON suggestions FOR EACH ROW WHEN NEW.rating IS NOT NULL BEGIN INSERT INTO fig_ratings (office_id, above_id, month, rating, n) VALUES (NEW.office_id, COALESCE(NEW.above_id, 0), NEW.submitted_day / 100, NEW.rating, 1) ON CONFLICT (office_id, above_id, month, rating) DO UPDATE SET n = fig_ratings.n + excluded.n; END",
    "CREATE TRIGGER fig_ratings_update AFTER UPDATE ON suggestions FOR EACH ROW WHEN NOT ((OLD.office_id) IS (NEW.office_id) AND (COALESCE(OLD.above_id, 0)) IS (COALESCE(NEW.above_id, 0)) AND (OLD.submitted_day / 100) IS (NEW.submitted_day / 100) AND (OLD.rating) IS (NEW.rating) AND (OLD.rating IS NOT NULL) IS (NEW.rating IS NOT NULL)) BEGIN UPDATE fig_ratings SET n = n - 1 WHERE office_id = OLD.office_id AND above_id = COALESCE(OLD.above_id, 0) AND month = OLD.submitted_day / 100 AND rating = OLD.rating AND OLD.rating IS NOT NULL; INSERT INTO fig_ratings (office_id, above_id, month, rating, n) SELECT NEW.office_id, COALESCE(NEW.above_id, 0), NEW.submitted_day / 100, NEW.rating, 1 WHERE NEW.rating IS NOT NULL ON CONFLICT (office_id, above_id, month, rating) DO UPDATE SET n = fig_ratings.n + excluded.n; END",
    "CREATE TRIGGER fig_ratings_delete AFTER DELETE ON suggestions FOR EACH ROW WHEN OLD.rating IS NOT NULL BEGIN UPDATE fig_ratings SET n = n - 1 WHERE office_id = OLD.office_id AND above_id = COALESCE(OLD.above_id, 0) AND month = OLD.submitted_day / 100 AND rating = OLD.rating; END",
    "CREATE TRIGGER fig_decisions_insert AFTER INSERT ON suggestions FOR EACH ROW WHEN (NEW.decided_day IS NOT NULL OR NEW.decided_on_time IS NOT NULL) BEGIN INSERT INTO fig_decisions (office_id, above_id, submitted_day, decided_day, on_time, n) VALUES (NEW.office_id, COALESCE(NEW.above_id, 0), NEW.submitted_day, COALESCE(NEW.decided_day, 0), CASE WHEN NEW.decided_on_time IS NULL THEN -1 WHEN NEW.decided_on_time THEN 1 ELSE 0 END, 1) ON CONFLICT (office_id, above_id, submitted_day, decided_day, on_time) DO UPDATE SET n = fig_decisions.n + excluded.n; END",
    "CREATE TRIGGER fig_decisions_update AFTER UPDATE ON suggestions FOR EACH ROW WHEN NOT ((OLD.office_id) IS (NEW.office_id) AND (COALESCE(OLD.above_id, 0)) IS (COALESCE(NEW.above_id, 0)) AND (OLD.submitted_day) IS (NEW.submitted_day) AND (COALESCE(OLD.decided_day, 0)) IS (COALESCE(NEW.decided_day, 0)) AND (CASE WHEN OLD.decided_on_time IS NULL THEN -1 WHEN OLD.decided_on_time THEN 1 ELSE 0 END) IS (CASE WHEN NEW.decided_on_time IS NULL THEN -1 WHEN NEW.decided_on_time THEN 1 ELSE 0 END) AND ((OLD.decided_day IS NOT NULL OR OLD.decided_on_time IS NOT NULL)) IS ((NEW.decided_day IS NOT NULL OR NEW.decided_on_time IS NOT NULL))) BEGIN UPDATE fig_decisions SET n = n - 1 WHERE office_id = OLD.office_id AND above_id = COALESCE(OLD.above_id, 0) AND submitted_day = OLD.submitted_day AND decided_day = COALESCE(OLD.decided_day, 0) AND on_time = CASE WHEN OLD.decided_on_time IS NULL THEN -1 WHEN OLD.decided_on_time THEN 1 ELSE 0 END AND (OLD.decided_day IS NOT NULL OR OLD.decided_on_time IS NOT NULL); INSERT INTO fig_decisions (office_id, above_id, submitted_day, decided_day, on_time, n) SELECT NEW.office_id, COALESCE(NEW.above_id, 0), NEW.submitted_day, COALESCE(NEW.decided_day, 0), CASE WHEN NEW.decided_on_time IS NULL THEN -1 WHEN NEW.decided_on_time THEN 1 ELSE 0 END, 1 WHERE (NEW.decided_day IS NOT NULL OR NEW.decided_on_time IS NOT NULL) ON CONFLICT (office_id, above_id, submitted_day, decided_day, on_time) DO UPDATE SET n = fig_decisions.n + excluded.n; END",
    "CREATE TRIGGER fig_decisions_delete AFTER DELETE ON suggestions FOR EACH ROW WHEN (OLD.decided_day IS NOT NULL OR OLD.decided_on_time IS NOT NULL) BEGIN UPDATE fig_decisions SET n = n - 1 WHERE office_id = OLD.office_id AND above_id = COALESCE(OLD.above_id, 0) AND submitted_day = OLD.submitted_day AND decided_day = COALESCE(OLD.decided_day, 0) AND on_time = CASE WHEN OLD.decided_on_time IS NULL THEN -1 WHEN OLD.decided_on_time THEN 1 ELSE 0 END; END",
    "CREATE TRIGGER fig_departments_insert AFTER INSERT ON suggestions FOR EACH ROW WHEN COALESCE(NEW.disposition = 'adopted', FALSE) BEGIN INSERT INTO fig_departments (office_id, above_id, month, department_id, on_time, implemented, open_due, n) VALUES (NEW.office_id, COALESCE(NEW.above_id, 0), NEW.submitted_day / 100, COALESCE(NEW.department_id, 0), CASE WHEN NEW.implemented_on_time IS NULL THEN -1 WHEN NEW.implemented_on_time THEN 1 ELSE 0 END, CASE WHEN NEW.implemented_at IS NULL THEN 0 ELSE 1 END, CASE WHEN NEW.status IN ('adopted', 'implementing') AND NEW.implementation_due IS NOT NULL THEN NEW.implementation_due ELSE '1970-01-01' END, 1) ON CONFLICT (office_id, above_id, month, department_id, on_time, implemented, open_due) DO UPDATE SET n = fig_departments.n + excluded.n; END",
    "CREATE TRIGGER fig_departments_update AFTER UPDATE ON suggestions FOR EACH ROW WHEN NOT ((OLD.office_id) IS (NEW.office_id) AND (COALESCE(OLD.above_id, 0)) IS (COALESCE(NEW.above_id, 0)) AND (OLD.submitted_day / 100) IS (NEW.submitted_day / 100) AND (COALESCE(OLD.department_id, 0)) IS (COALESCE(NEW.department_id, 0)) AND (CASE WHEN OLD.implemented_on_time IS NULL THEN -1 WHEN OLD.implemented_on_time THEN 1 ELSE 0 END) IS (CASE WHEN NEW.implemented_on_time IS NULL THEN -1 WHEN NEW.implemented_on_time THEN 1 ELSE 0 END) AND (CASE WHEN OLD.implemented_at IS NULL THEN 0 ELSE 1 END) IS (CASE WHEN NEW.implemented_at IS NULL THEN 0 ELSE 1 END) AND (CASE WHEN OLD.status IN ('adopted', 'implementing') AND OLD.implementation_due IS NOT NULL THEN OLD.implementation_due ELSE '1970-01-01' END) IS (CASE WHEN NEW.status IN ('adopted', 'implementing') AND NEW.implementation_due IS NOT NULL THEN NEW.implementation_due ELSE '1970-01-01' END) AND (COALESCE(OLD.disposition = 'adopted', FALSE)) IS (COALESCE(NEW.disposition = 'adopted', FALSE))) BEGIN UPDATE fig_departments SET n = n - 1 WHERE office_id = OLD.office_id AND above_id = COALESCE(OLD.above_id, 0) AND month = OLD.submitted_day / 100 AND department_id = COALESCE(OLD.department_id, 0) AND on_time = CASE WHEN OLD.implemented_on_time IS NULL THEN -1 WHEN OLD.implemented_on_time THEN 1 ELSE 0 END AND implemented = CASE WHEN OLD.implemented_at IS NULL THEN 0 ELSE 1 END AND open_due = CASE WHEN OLD.status IN ('adopted', 'implementing') AND OLD.implementation_due IS NOT NULL THEN OLD.implementation_due ELSE '1970-01-01' END AND COALESCE(OLD.disposition = 'adopted', FALSE); INSERT INTO fig_departments (office_id, above_id, month, department_id, on_time, implemented, open_due, n) SELECT NEW.office_id, COALESCE(NEW.above_id, 0), NEW.submitted_day / 100, COALESCE(NEW.department_id, 0), CASE WHEN NEW.implemented_on_time IS NULL THEN -1 WHEN NEW.implemented_on_time THEN 1 ELSE 0 END, CASE WHEN NEW.implemented_at IS NULL THEN 0 ELSE 1 END, CASE WHEN NEW.status IN ('adopted', 'implementing') AND NEW.implementation_due IS NOT NULL THEN NEW.implementation_due ELSE '1970-01-01' END, 1 WHERE COALESCE(NEW.disposition = 'adopted', FALSE) ON CONFLICT (office_id, above_id, month, department_id, on_time, implemented, open_due) DO UPDATE SET n = fig_departments.n + excluded.n; END",
    "CREATE TRIGGER fig_departments_delete AFTER DELETE ON suggestions FOR EACH ROW WHEN COALESCE(OLD.disposition = 'adopted', FALSE) BEGIN UPDATE fig_departments SET n = n - 1 WHERE office_id = OLD.office_id AND above_id = COALESCE(OLD.above_id, 0) AND month = OLD.submitted_day / 100 AND department_id = COALESCE(OLD.department_id, 0) AND on_time = CASE WHEN OLD.implemented_on_time IS NULL THEN -1 WHEN OLD.implemented_on_time THEN 1 ELSE 0 END AND implemented = CASE WHEN OLD.implemented_at IS NULL THEN 0 ELSE 1 END AND open_due = CASE WHEN OLD.status IN ('adopted', 'implementing') AND OLD.implementation_due IS NOT NULL THEN OLD.implementation_due ELSE '1970-01-01' END; END",
    "CREATE TRIGGER fig_observers_insert AFTER INSERT ON suggestions FOR EACH ROW WHEN TRUE BEGIN INSERT INTO fig_observers (office_id, observer_id, month, filed, adopted, last_at) VALUES (NEW.office_id, NEW.observer_id, NEW.submitted_day / 100, 1, CASE WHEN NEW.disposition = 'adopted' THEN 1 ELSE 0 END, NEW.submitted_at) ON CONFLICT (office_id, observer_id, month) DO UPDATE SET filed = fig_observers.filed + excluded.filed, adopted = fig_observers.adopted + excluded.adopted, last_at = MAX(fig_observers.last_at, excluded.last_at); END",
    "CREATE TRIGGER fig_observers_update AFTER UPDATE ON suggestions FOR EACH ROW WHEN NOT ((OLD.office_id) IS (NEW.office_id) AND (OLD.observer_id) IS (NEW.observer_id) AND (OLD.submitted_day / 100) IS (NEW.submitted_day / 100) AND (CASE WHEN OLD.disposition = 'adopted' THEN 1 ELSE 0 END) IS (CASE WHEN NEW.disposition = 'adopted' THEN 1 ELSE 0 END) AND (OLD.submitted_at) IS (NEW.submitted_at)) BEGIN UPDATE fig_observers SET filed = filed - 1, adopted = adopted - CASE WHEN OLD.disposition = 'adopted' THEN 1 ELSE 0 END WHERE office_id = OLD.office_id AND observer_id = OLD.observer_id AND month = OLD.submitted_day / 100 AND TRUE; INSERT INTO fig_observers (office_id, observer_id, month, filed, adopted, last_at) SELECT NEW.office_id, NEW.observer_id, NEW.submitted_day / 100, 1, CASE WHEN NEW.disposition = 'adopted' THEN 1 ELSE 0 END, NEW.submitted_at WHERE TRUE ON CONFLICT (office_id, observer_id, month) DO UPDATE SET filed = fig_observers.filed + excluded.filed, adopted = fig_observers.adopted + excluded.adopted, last_at = MAX(fig_observers.last_at, excluded.last_at); END",
    "CREATE TRIGGER fig_observers_delete AFTER DELETE ON suggestions FOR EACH ROW WHEN TRUE BEGIN UPDATE fig_observers SET filed = filed - 1, adopted = adopted - CASE WHEN OLD.disposition = 'adopted' THEN 1 ELSE 0 END WHERE office_id = OLD.office_id AND observer_id = OLD.observer_id AND month = OLD.submitted_day / 100; END",
    "CREATE TRIGGER suggestions_latest_rating_insert AFTER INSERT ON ratings FOR EACH ROW BEGIN UPDATE suggestions SET rating = (SELECT value FROM ratings WHERE suggestion_id = NEW.suggestion_id ORDER BY id DESC LIMIT 1) WHERE id = NEW.suggestion_id AND rating IS NOT (SELECT value FROM ratings WHERE suggestion_id = NEW.suggestion_id ORDER BY id DESC LIMIT 1); END",
    "CREATE TRIGGER suggestions_latest_rating_delete AFTER DELETE ON ratings FOR EACH ROW BEGIN UPDATE suggestions SET rating = (SELECT value FROM ratings WHERE suggestion_id = OLD.suggestion_id ORDER BY id DESC LIMIT 1) WHERE id = OLD.suggestion_id AND rating IS NOT (SELECT value FROM ratings WHERE suggestion_id = OLD.suggestion_id ORDER BY id DESC LIMIT 1); END",
)

_POSTGRESQL_TRIGGERS: Final = (
    "CREATE OR REPLACE FUNCTION fig_points_keep() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  IF TG_OP = 'INSERT' THEN\n    IF TRUE THEN INSERT INTO fig_points (office_id, above_id, month, point_id, status, disposition, n) VALUES (NEW.office_id, COALESCE(NEW.above_id, 0), NEW.submitted_day / 100, COALESCE(NEW.point_id, 0), NEW.status, COALESCE(NEW.disposition, ''), 1) ON CONFLICT (office_id, above_id, month, point_id, status, disposition) DO UPDATE SET n = fig_points.n + excluded.n; END IF;\n  ELSIF TG_OP = 'DELETE' THEN\n    IF TRUE THEN UPDATE fig_points SET n = n - 1 WHERE office_id = OLD.office_id AND above_id = COALESCE(OLD.above_id, 0) AND month = OLD.submitted_day / 100 AND point_id = COALESCE(OLD.point_id, 0) AND status = OLD.status AND disposition = COALESCE(OLD.disposition, ''); END IF;\n  ELSIF NOT ((OLD.office_id) IS NOT DISTINCT FROM (NEW.office_id) AND (COALESCE(OLD.above_id, 0)) IS NOT DISTINCT FROM (COALESCE(NEW.above_id, 0)) AND (OLD.submitted_day / 100) IS NOT DISTINCT FROM (NEW.submitted_day / 100) AND (COALESCE(OLD.point_id, 0)) IS NOT DISTINCT FROM (COALESCE(NEW.point_id, 0)) AND (OLD.status) IS NOT DISTINCT FROM (NEW.status) AND (COALESCE(OLD.disposition, '')) IS NOT DISTINCT FROM (COALESCE(NEW.disposition, ''))) THEN\n    IF ROW(OLD.office_id, COALESCE(OLD.above_id, 0), OLD.submitted_day / 100, COALESCE(OLD.point_id, 0), OLD.status, COALESCE(OLD.disposition, '')) < ROW(NEW.office_id, COALESCE(NEW.above_id, 0), NEW.submitted_day / 100, COALESCE(NEW.point_id, 0), NEW.status, COALESCE(NEW.disposition, '')) THEN\n      IF TRUE THEN UPDATE fig_points SET n = n - 1 WHERE office_id = OLD.office_id AND above_id = COALESCE(OLD.above_id, 0) AND month = OLD.submitted_day / 100 AND point_id = COALESCE(OLD.point_id, 0) AND status = OLD.status AND disposition = COALESCE(OLD.disposition, ''); END IF;\n      IF TRUE THEN INSERT INTO fig_points (office_id, above_id, month, point_id, status, disposition, n) VALUES (NEW.office_id, COALESCE(NEW.above_id, 0), NEW.submitted_day / 100, COALESCE(NEW.point_id, 0), NEW.status, COALESCE(NEW.disposition, ''), 1) ON CONFLICT (office_id, above_id, month, point_id, status, disposition) DO UPDATE SET n = fig_points.n + excluded.n; END IF;\n    ELSE\n      IF TRUE THEN INSERT INTO fig_points (office_id, above_id, month, point_id, status, disposition, n) VALUES (NEW.office_id, COALESCE(NEW.above_id, 0), NEW.submitted_day / 100, COALESCE(NEW.point_id, 0), NEW.status, COALESCE(NEW.disposition, ''), 1) ON CONFLICT (office_id, above_id, month, point_id, status, disposition) DO UPDATE SET n = fig_points.n + excluded.n; END IF;\n      IF TRUE THEN UPDATE fig_points SET n = n - 1 WHERE office_id = OLD.office_id AND above_id = COALESCE(OLD.above_id, 0) AND month = OLD.submitted_day / 100 AND point_id = COALESCE(OLD.point_id, 0) AND status = OLD.status AND disposition = COALESCE(OLD.disposition, ''); END IF;\n    END IF;\n  END IF;\n  RETURN NULL;\nEND$$",
    "CREATE TRIGGER fig_points_keep AFTER INSERT OR UPDATE OR DELETE ON suggestions FOR EACH ROW EXECUTE FUNCTION fig_points_keep()",
    "CREATE OR REPLACE FUNCTION fig_domains_keep() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  IF TG_OP = 'INSERT' THEN\n    IF TRUE THEN INSERT INTO fig_domains (office_id, above_id, month, domain, status, disposition, n) VALUES (NEW.office_id, COALESCE(NEW.above_id, 0), NEW.submitted_day / 100, NEW.domain, NEW.status, COALESCE(NEW.disposition, ''), 1) ON CONFLICT (office_id, above_id, month, domain, status, disposition) DO UPDATE SET n = fig_domains.n + excluded.n; END IF;\n  ELSIF TG_OP = 'DELETE' THEN\n    IF TRUE THEN UPDATE fig_domains SET n = n - 1 WHERE office_id = OLD.office_id AND above_id = COALESCE(OLD.above_id, 0) AND month = OLD.submitted_day / 100 AND domain = OLD.domain AND status = OLD.status AND disposition = COALESCE(OLD.disposition, ''); END IF;\n  ELSIF NOT ((OLD.office_id) IS NOT DISTINCT FROM (NEW.office_id) AND (COALESCE(OLD.above_id, 0)) IS NOT DISTINCT FROM (COALESCE(NEW.above_id, 0)) AND (OLD.submitted_day / 100) IS NOT DISTINCT FROM (NEW.submitted_day / 100) AND (OLD.domain) IS NOT DISTINCT FROM (NEW.domain) AND (OLD.status) IS NOT DISTINCT FROM (NEW.status) AND (COALESCE(OLD.disposition, '')) IS NOT DISTINCT FROM (COALESCE(NEW.disposition, ''))) THEN\n    IF ROW(OLD.office_id, COALESCE(OLD.above_id, 0), OLD.submitted_day / 100, OLD.domain, OLD.status, COALESCE(OLD.disposition, '')) < ROW(NEW.office_id, COALESCE(NEW.above_id, 0), NEW.submitted_day / 100, NEW.domain, NEW.status, COALESCE(NEW.disposition, '')) THEN\n      IF TRUE THEN UPDATE fig_domains SET n = n - 1 WHERE office_id = OLD.office_id AND above_id = COALESCE(OLD.above_id, 0) AND month = OLD.submitted_day / 100 AND domain = OLD.domain AND status = OLD.status AND disposition = COALESCE(OLD.disposition, ''); END IF;\n      IF TRUE THEN INSERT INTO fig_domains (office_id, above_id, month, domain, status, disposition, n) VALUES (NEW.office_id, COALESCE(NEW.above_id, 0), NEW.submitted_day / 100, NEW.domain, NEW.status, COALESCE(NEW.disposition, ''), 1) ON CONFLICT (office_id, above_id, month, domain, status, disposition) DO UPDATE SET n = fig_domains.n + excluded.n; END IF;\n    ELSE\n      IF TRUE THEN INSERT INTO fig_domains (office_id, above_id, month, domain, status, disposition, n) VALUES (NEW.office_id, COALESCE(NEW.above_id, 0), NEW.submitted_day / 100, NEW.domain, NEW.status, COALESCE(NEW.disposition, ''), 1) ON CONFLICT (office_id, above_id, month, domain, status, disposition) DO UPDATE SET n = fig_domains.n + excluded.n; END IF;\n      IF TRUE THEN UPDATE fig_domains SET n = n - 1 WHERE office_id = OLD.office_id AND above_id = COALESCE(OLD.above_id, 0) AND month = OLD.submitted_day / 100 AND domain = OLD.domain AND status = OLD.status AND disposition = COALESCE(OLD.disposition, ''); END IF;\n    END IF;\n  END IF;\n  RETURN NULL;\nEND$$",
    "CREATE TRIGGER fig_domains_keep AFTER INSERT OR UPDATE OR DELETE ON suggestions FOR EACH ROW EXECUTE FUNCTION fig_domains_keep()",
    "CREATE OR REPLACE FUNCTION fig_kinds_keep() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  IF TG_OP = 'INSERT' THEN\n    IF TRUE THEN INSERT INTO fig_kinds (office_id, above_id, month, kind, n) VALUES (NEW.office_id, COALESCE(NEW.above_id, 0), NEW.submitted_day / 100, NEW.kind, 1) ON CONFLICT (office_id, above_id, month, kind) DO UPDATE SET n = fig_kinds.n + excluded.n; END IF;\n  ELSIF TG_OP = 'DELETE' THEN\n    IF TRUE THEN UPDATE fig_kinds SET n = n - 1 WHERE office_id = OLD.office_id AND above_id = COALESCE(OLD.above_id, 0) AND month = OLD.submitted_day / 100 AND kind = OLD.kind; END IF;\n  ELSIF NOT ((OLD.office_id) IS NOT DISTINCT FROM (NEW.office_id) AND (COALESCE(OLD.above_id, 0)) IS NOT DISTINCT FROM (COALESCE(NEW.above_id, 0)) AND (OLD.submitted_day / 100) IS NOT DISTINCT FROM (NEW.submitted_day / 100) AND (OLD.kind) IS NOT DISTINCT FROM (NEW.kind)) THEN\n    IF ROW(OLD.office_id, COALESCE(OLD.above_id, 0), OLD.submitted_day / 100, OLD.kind) < ROW(NEW.office_id, COALESCE(NEW.above_id, 0), NEW.submitted_day / 100, NEW.kind) THEN\n      IF TRUE THEN UPDATE fig_kinds SET n = n - 1 WHERE office_id = OLD.office_id AND above_id = COALESCE(OLD.above_id, 0) AND month = OLD.submitted_day / 100 AND kind = OLD.kind; END IF;\n      IF TRUE THEN INSERT INTO fig_kinds (office_id, above_id, month, kind, n) VALUES (NEW.office_id, COALESCE(NEW.above_id, 0), NEW.submitted_day / 100, NEW.kind, 1) ON CONFLICT (office_id, above_id, month, kind) DO UPDATE SET n = fig_kinds.n + excluded.n; END IF;\n    ELSE\n      IF TRUE THEN INSERT INTO fig_kinds (office_id, above_id, month, kind, n) VALUES (NEW.office_id, COALESCE(NEW.above_id, 0), NEW.submitted_day / 100, NEW.kind, 1) ON CONFLICT (office_id, above_id, month, kind) DO UPDATE SET n = fig_kinds.n + excluded.n; END IF;\n      IF TRUE THEN UPDATE fig_kinds SET n = n - 1 WHERE office_id = OLD.office_id AND above_id = COALESCE(OLD.above_id, 0) AND month = OLD.submitted_day / 100 AND kind = OLD.kind; END IF;\n    END IF;\n  END IF;\n  RETURN NULL;\nEND$$",
    "CREATE TRIGGER fig_kinds_keep AFTER INSERT OR UPDATE OR DELETE ON suggestions FOR EACH ROW EXECUTE FUNCTION fig_kinds_keep()",
    "CREATE OR REPLACE FUNCTION fig_ratings_keep() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  IF TG_OP = 'INSERT' THEN\n    IF NEW.rating IS NOT NULL THEN INSERT INTO fig_ratings (office_id, above_id, month, rating, n) VALUES (NEW.office_id, COALESCE(NEW.above_id, 0), NEW.submitted_day / 100, NEW.rating, 1) ON CONFLICT (office_id, above_id, month, rating) DO UPDATE SET n = fig_ratings.n + excluded.n; END IF;\n  ELSIF TG_OP = 'DELETE' THEN\n    IF OLD.rating IS NOT NULL THEN UPDATE fig_ratings SET n = n - 1 WHERE office_id = OLD.office_id AND above_id = COALESCE(OLD.above_id, 0) AND month = OLD.submitted_day / 100 AND rating = OLD.rating; END IF;\n  ELSIF NOT ((OLD.office_id) IS NOT DISTINCT FROM (NEW.office_id) AND (COALESCE(OLD.above_id, 0)) IS NOT DISTINCT FROM (COALESCE(NEW.above_id, 0)) AND (OLD.submitted_day / 100) IS NOT DISTINCT FROM (NEW.submitted_day / 100) AND (OLD.rating) IS NOT DISTINCT FROM (NEW.rating) AND (OLD.rating IS NOT NULL) IS NOT DISTINCT FROM (NEW.rating IS NOT NULL)) THEN\n    IF ROW(OLD.office_id, COALESCE(OLD.above_id, 0), OLD.submitted_day / 100, OLD.rating) < ROW(NEW.office_id, COALESCE(NEW.above_id, 0), NEW.submitted_day / 100, NEW.rating) THEN\n      IF OLD.rating IS NOT NULL THEN UPDATE fig_ratings SET n = n - 1 WHERE office_id = OLD.office_id AND above_id = COALESCE(OLD.above_id, 0) AND month = OLD.submitted_day / 100 AND rating = OLD.rating; END IF;\n      IF NEW.rating IS NOT NULL THEN INSERT INTO fig_ratings (office_id, above_id, month, rating, n) VALUES (NEW.office_id, COALESCE(NEW.above_id, 0), NEW.submitted_day / 100, NEW.rating, 1) ON CONFLICT (office_id, above_id, month, rating) DO UPDATE SET n = fig_ratings.n + excluded.n; END IF;\n    ELSE\n      IF NEW.rating IS NOT NULL THEN INSERT INTO fig_ratings (office_id, above_id, month, rating, n) VALUES (NEW.office_id, COALESCE(NEW.above_id, 0), NEW.submitted_day / 100, NEW.rating, 1) ON CONFLICT (office_id, above_id, month, rating) DO UPDATE SET n = fig_ratings.n + excluded.n; END IF;\n      IF OLD.rating IS NOT NULL THEN UPDATE fig_ratings SET n = n - 1 WHERE office_id = OLD.office_id AND above_id = COALESCE(OLD.above_id, 0) AND month = OLD.submitted_day / 100 AND rating = OLD.rating; END IF;\n    END IF;\n  END IF;\n  RETURN NULL;\nEND$$",
    "CREATE TRIGGER fig_ratings_keep AFTER INSERT OR UPDATE OR DELETE ON suggestions FOR EACH ROW EXECUTE FUNCTION fig_ratings_keep()",
    "CREATE OR REPLACE FUNCTION fig_decisions_keep() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  IF TG_OP = 'INSERT' THEN\n    IF (NEW.decided_day IS NOT NULL OR NEW.decided_on_time IS NOT NULL) THEN INSERT INTO fig_decisions (office_id, above_id, submitted_day, decided_day, on_time, n) VALUES (NEW.office_id, COALESCE(NEW.above_id, 0), NEW.submitted_day, COALESCE(NEW.decided_day, 0), CASE WHEN NEW.decided_on_time IS NULL THEN -1 WHEN NEW.decided_on_time THEN 1 ELSE 0 END, 1) ON CONFLICT (office_id, above_id, submitted_day, decided_day, on_time) DO UPDATE SET n = fig_decisions.n + excluded.n; END IF;\n  ELSIF TG_OP = 'DELETE' THEN\n    IF (OLD.decided_day IS NOT NULL OR OLD.decided_on_time IS NOT NULL) THEN UPDATE fig_decisions SET n = n - 1 WHERE office_id = OLD.office_id AND above_id = COALESCE(OLD.above_id, 0) AND submitted_day = OLD.submitted_day AND decided_day = COALESCE(OLD.decided_day, 0) AND on_time = CASE WHEN OLD.decided_on_time IS NULL THEN -1 WHEN OLD.decided_on_time THEN 1 ELSE 0 END; END IF;\n  ELSIF NOT ((OLD.office_id) IS NOT DISTINCT FROM (NEW.office_id) AND (COALESCE(OLD.above_id, 0)) IS NOT DISTINCT FROM (COALESCE(NEW.above_id, 0)) AND (OLD.submitted_day) IS NOT DISTINCT FROM (NEW.submitted_day) AND (COALESCE(OLD.decided_day, 0)) IS NOT DISTINCT FROM (COALESCE(NEW.decided_day, 0)) AND (CASE WHEN OLD.decided_on_time IS NULL THEN -1 WHEN OLD.decided_on_time THEN 1 ELSE 0 END) IS NOT DISTINCT FROM (CASE WHEN NEW.decided_on_time IS NULL THEN -1 WHEN NEW.decided_on_time THEN 1 ELSE 0 END) AND ((OLD.decided_day IS NOT NULL OR OLD.decided_on_time IS NOT NULL)) IS NOT DISTINCT FROM ((NEW.decided_day IS NOT NULL OR NEW.decided_on_time IS NOT NULL))) THEN\n    IF ROW(OLD.office_id, COALESCE(OLD.above_id, 0), OLD.submitted_day, COALESCE(OLD.decided_day, 0), CASE WHEN OLD.decided_on_time IS NULL THEN -1 WHEN OLD.decided_on_time THEN 1 ELSE 0 END) < ROW(NEW.office_id, COALESCE(NEW.above_id, 0), NEW.submitted_day, COALESCE(NEW.decided_day, 0), CASE WHEN NEW.decided_on_time IS NULL THEN -1 WHEN NEW.decided_on_time THEN 1 ELSE 0 END) THEN\n      IF (OLD.decided_day IS NOT NULL OR OLD.decided_on_time IS NOT NULL) THEN UPDATE fig_decisions SET n = n - 1 WHERE office_id = OLD.office_id AND above_id = COALESCE(OLD.above_id, 0) AND submitted_day = OLD.submitted_day AND decided_day = COALESCE(OLD.decided_day, 0) AND on_time = CASE WHEN OLD.decided_on_time IS NULL THEN -1 WHEN OLD.decided_on_time THEN 1 ELSE 0 END; END IF;\n      IF (NEW.decided_day IS NOT NULL OR NEW.decided_on_time IS NOT NULL) THEN INSERT INTO fig_decisions (office_id, above_id, submitted_day, decided_day, on_time, n) VALUES (NEW.office_id, COALESCE(NEW.above_id, 0), NEW.submitted_day, COALESCE(NEW.decided_day, 0), CASE WHEN NEW.decided_on_time IS NULL THEN -1 WHEN NEW.decided_on_time THEN 1 ELSE 0 END, 1) ON CONFLICT (office_id, above_id, submitted_day, decided_day, on_time) DO UPDATE SET n = fig_decisions.n + excluded.n; END IF;\n    ELSE\n      IF (NEW.decided_day IS NOT NULL OR NEW.decided_on_time IS NOT NULL) THEN INSERT INTO fig_decisions (office_id, above_id, submitted_day, decided_day, on_time, n) VALUES (NEW.office_id, COALESCE(NEW.above_id, 0), NEW.submitted_day, COALESCE(NEW.decided_day, 0), CASE WHEN NEW.decided_on_time IS NULL THEN -1 WHEN NEW.decided_on_time THEN 1 ELSE 0 END, 1) ON CONFLICT (office_id, above_id, submitted_day, decided_day, on_time) DO UPDATE SET n = fig_decisions.n + excluded.n; END IF;\n      IF (OLD.decided_day IS NOT NULL OR OLD.decided_on_time IS NOT NULL) THEN UPDATE fig_decisions SET n = n - 1 WHERE office_id = OLD.office_id AND above_id = COALESCE(OLD.above_id, 0) AND submitted_day = OLD.submitted_day AND decided_day = COALESCE(OLD.decided_day, 0) AND on_time = CASE WHEN OLD.decided_on_time IS NULL THEN -1 WHEN OLD.decided_on_time THEN 1 ELSE 0 END; END IF;\n    END IF;\n  END IF;\n  RETURN NULL;\nEND$$",
    "CREATE TRIGGER fig_decisions_keep AFTER INSERT OR UPDATE OR DELETE ON suggestions FOR EACH ROW EXECUTE FUNCTION fig_decisions_keep()",
    "CREATE OR REPLACE FUNCTION fig_departments_keep() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  IF TG_OP = 'INSERT' THEN\n    IF COALESCE(NEW.disposition = 'adopted', FALSE) THEN INSERT INTO fig_departments (office_id, above_id, month, department_id, on_time, implemented, open_due, n) VALUES (NEW.office_id, COALESCE(NEW.above_id, 0), NEW.submitted_day / 100, COALESCE(NEW.department_id, 0), CASE WHEN NEW.implemented_on_time IS NULL THEN -1 WHEN NEW.implemented_on_time THEN 1 ELSE 0 END, CASE WHEN NEW.implemented_at IS NULL THEN 0 ELSE 1 END, CASE WHEN NEW.status IN ('adopted', 'implementing') AND NEW.implementation_due IS NOT NULL THEN NEW.implementation_due ELSE '1970-01-01' END, 1) ON CONFLICT (office_id, above_id, month, department_id, on_time, implemented, open_due) DO UPDATE SET n = fig_departments.n + excluded.n; END IF;\n  ELSIF TG_OP = 'DELETE' THEN\n    IF COALESCE(OLD.disposition = 'adopted', FALSE) THEN UPDATE fig_departments SET n = n - 1 WHERE office_id = OLD.office_id AND above_id = COALESCE(OLD.above_id, 0) AND month = OLD.submitted_day / 100 AND department_id = COALESCE(OLD.department_id, 0) AND on_time = CASE WHEN OLD.implemented_on_time IS NULL THEN -1 WHEN OLD.implemented_on_time THEN 1 ELSE 0 END AND implemented = CASE WHEN OLD.implemented_at IS NULL THEN 0 ELSE 1 END AND open_due = CASE WHEN OLD.status IN ('adopted', 'implementing') AND OLD.implementation_due IS NOT NULL THEN OLD.implementation_due ELSE '1970-01-01' END; END IF;\n  ELSIF NOT ((OLD.office_id) IS NOT DISTINCT FROM (NEW.office_id) AND (COALESCE(OLD.above_id, 0)) IS NOT DISTINCT FROM (COALESCE(NEW.above_id, 0)) AND (OLD.submitted_day / 100) IS NOT DISTINCT FROM (NEW.submitted_day / 100) AND (COALESCE(OLD.department_id, 0)) IS NOT DISTINCT FROM (COALESCE(NEW.department_id, 0)) AND (CASE WHEN OLD.implemented_on_time IS NULL THEN -1 WHEN OLD.implemented_on_time THEN 1 ELSE 0 END) IS NOT DISTINCT FROM (CASE WHEN NEW.implemented_on_time IS NULL THEN -1 WHEN NEW.implemented_on_time THEN 1 ELSE 0 END) AND (CASE WHEN OLD.implemented_at IS NULL THEN 0 ELSE 1 END) IS NOT DISTINCT FROM (CASE WHEN NEW.implemented_at IS NULL THEN 0 ELSE 1 END) AND (CASE WHEN OLD.status IN ('adopted', 'implementing') AND OLD.implementation_due IS NOT NULL THEN OLD.implementation_due ELSE '1970-01-01' END) IS NOT DISTINCT FROM (CASE WHEN NEW.status IN ('adopted', 'implementing') AND NEW.implementation_due IS NOT NULL THEN NEW.implementation_due ELSE '1970-01-01' END) AND (COALESCE(OLD.disposition = 'adopted', FALSE)) IS NOT DISTINCT FROM (COALESCE(NEW.disposition = 'adopted', FALSE))) THEN\n    IF ROW(OLD.office_id, COALESCE(OLD.above_id, 0), OLD.submitted_day / 100, COALESCE(OLD.department_id, 0), CASE WHEN OLD.implemented_on_time IS NULL THEN -1 WHEN OLD.implemented_on_time THEN 1 ELSE 0 END, CASE WHEN OLD.implemented_at IS NULL THEN 0 ELSE 1 END, CASE WHEN OLD.status IN ('adopted', 'implementing') AND OLD.implementation_due IS NOT NULL THEN OLD.implementation_due ELSE '1970-01-01' END) < ROW(NEW.office_id, COALESCE(NEW.above_id, 0), NEW.submitted_day / 100, COALESCE(NEW.department_id, 0), CASE WHEN NEW.implemented_on_time IS NULL THEN -1 WHEN NEW.implemented_on_time THEN 1 ELSE 0 END, CASE WHEN NEW.implemented_at IS NULL THEN 0 ELSE 1 END, CASE WHEN NEW.status IN ('adopted', 'implementing') AND NEW.implementation_due IS NOT NULL THEN NEW.implementation_due ELSE '1970-01-01' END) THEN\n      IF COALESCE(OLD.disposition = 'adopted', FALSE) THEN UPDATE fig_departments SET n = n - 1 WHERE office_id = OLD.office_id AND above_id = COALESCE(OLD.above_id, 0) AND month = OLD.submitted_day / 100 AND department_id = COALESCE(OLD.department_id, 0) AND on_time = CASE WHEN OLD.implemented_on_time IS NULL THEN -1 WHEN OLD.implemented_on_time THEN 1 ELSE 0 END AND implemented = CASE WHEN OLD.implemented_at IS NULL THEN 0 ELSE 1 END AND open_due = CASE WHEN OLD.status IN ('adopted', 'implementing') AND OLD.implementation_due IS NOT NULL THEN OLD.implementation_due ELSE '1970-01-01' END; END IF;\n      IF COALESCE(NEW.disposition = 'adopted', FALSE) THEN INSERT INTO fig_departments (office_id, above_id, month, department_id, on_time, implemented, open_due, n) VALUES (NEW.office_id, COALESCE(NEW.above_id, 0), NEW.submitted_day / 100, COALESCE(NEW.department_id, 0), CASE WHEN NEW.implemented_on_time IS NULL THEN -1 WHEN NEW.implemented_on_time THEN 1 ELSE 0 END, CASE WHEN NEW.implemented_at IS NULL THEN 0 ELSE 1 END, CASE WHEN NEW.status IN ('adopted', 'implementing') AND NEW.implementation_due IS NOT NULL THEN NEW.implementation_due ELSE '1970-01-01' END, 1) ON CONFLICT (office_id, above_id, month, department_id, on_time, implemented, open_due) DO UPDATE SET n = fig_departments.n + excluded.n; END IF;\n    ELSE\n      IF COALESCE(NEW.disposition = 'adopted', FALSE) THEN INSERT INTO fig_departments (office_id, above_id, month, department_id, on_time, implemented, open_due, n) VALUES (NEW.office_id, COALESCE(NEW.above_id, 0), NEW.submitted_day / 100, COALESCE(NEW.department_id, 0), CASE WHEN NEW.implemented_on_time IS NULL THEN -1 WHEN NEW.implemented_on_time THEN 1 ELSE 0 END, CASE WHEN NEW.implemented_at IS NULL THEN 0 ELSE 1 END, CASE WHEN NEW.status IN ('adopted', 'implementing') AND NEW.implementation_due IS NOT NULL THEN NEW.implementation_due ELSE '1970-01-01' END, 1) ON CONFLICT (office_id, above_id, month, department_id, on_time, implemented, open_due) DO UPDATE SET n = fig_departments.n + excluded.n; END IF;\n      IF COALESCE(OLD.disposition = 'adopted', FALSE) THEN UPDATE fig_departments SET n = n - 1 WHERE office_id = OLD.office_id AND above_id = COALESCE(OLD.above_id, 0) AND month = OLD.submitted_day / 100 AND department_id = COALESCE(OLD.department_id, 0) AND on_time = CASE WHEN OLD.implemented_on_time IS NULL THEN -1 WHEN OLD.implemented_on_time THEN 1 ELSE 0 END AND implemented = CASE WHEN OLD.implemented_at IS NULL THEN 0 ELSE 1 END AND open_due = CASE WHEN OLD.status IN ('adopted', 'implementing') AND OLD.implementation_due IS NOT NULL THEN OLD.implementation_due ELSE '1970-01-01' END; END IF;\n    END IF;\n  END IF;\n  RETURN NULL;\nEND$$",
    "CREATE TRIGGER fig_departments_keep AFTER INSERT OR UPDATE OR DELETE ON suggestions FOR EACH ROW EXECUTE FUNCTION fig_departments_keep()",
    "CREATE OR REPLACE FUNCTION fig_observers_keep() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  IF TG_OP = 'INSERT' THEN\n    IF TRUE THEN INSERT INTO fig_observers (office_id, observer_id, month, filed, adopted, last_at) VALUES (NEW.office_id, NEW.observer_id, NEW.submitted_day / 100, 1, CASE WHEN NEW.disposition = 'adopted' THEN 1 ELSE 0 END, NEW.submitted_at) ON CONFLICT (office_id, observer_id, month) DO UPDATE SET filed = fig_observers.filed + excluded.filed, adopted = fig_observers.adopted + excluded.adopted, last_at = GREATEST(fig_observers.last_at, excluded.last_at); END IF;\n  ELSIF TG_OP = 'DELETE' THEN\n    IF TRUE THEN UPDATE fig_observers SET filed = filed - 1, adopted = adopted - CASE WHEN OLD.disposition = 'adopted' THEN 1 ELSE 0 END WHERE office_id = OLD.office_id AND observer_id = OLD.observer_id AND month = OLD.submitted_day / 100; END IF;\n  ELSIF NOT ((OLD.office_id) IS NOT DISTINCT FROM (NEW.office_id) AND (OLD.observer_id) IS NOT DISTINCT FROM (NEW.observer_id) AND (OLD.submitted_day / 100) IS NOT DISTINCT FROM (NEW.submitted_day / 100) AND (CASE WHEN OLD.disposition = 'adopted' THEN 1 ELSE 0 END) IS NOT DISTINCT FROM (CASE WHEN NEW.disposition = 'adopted' THEN 1 ELSE 0 END) AND (OLD.submitted_at) IS NOT DISTINCT FROM (NEW.submitted_at)) THEN\n    IF ROW(OLD.office_id, OLD.observer_id, OLD.submitted_day / 100) < ROW(NEW.office_id, NEW.observer_id, NEW.submitted_day / 100) THEN\n      IF TRUE THEN UPDATE fig_observers SET filed = filed - 1, adopted = adopted - CASE WHEN OLD.disposition = 'adopted' THEN 1 ELSE 0 END WHERE office_id = OLD.office_id AND observer_id = OLD.observer_id AND month = OLD.submitted_day / 100; END IF;\n      IF TRUE THEN INSERT INTO fig_observers (office_id, observer_id, month, filed, adopted, last_at) VALUES (NEW.office_id, NEW.observer_id, NEW.submitted_day / 100, 1, CASE WHEN NEW.disposition = 'adopted' THEN 1 ELSE 0 END, NEW.submitted_at) ON CONFLICT (office_id, observer_id, month) DO UPDATE SET filed = fig_observers.filed + excluded.filed, adopted = fig_observers.adopted + excluded.adopted, last_at = GREATEST(fig_observers.last_at, excluded.last_at); END IF;\n    ELSE\n      IF TRUE THEN INSERT INTO fig_observers (office_id, observer_id, month, filed, adopted, last_at) VALUES (NEW.office_id, NEW.observer_id, NEW.submitted_day / 100, 1, CASE WHEN NEW.disposition = 'adopted' THEN 1 ELSE 0 END, NEW.submitted_at) ON CONFLICT (office_id, observer_id, month) DO UPDATE SET filed = fig_observers.filed + excluded.filed, adopted = fig_observers.adopted + excluded.adopted, last_at = GREATEST(fig_observers.last_at, excluded.last_at); END IF;\n      IF TRUE THEN UPDATE fig_observers SET filed = filed - 1, adopted = adopted - CASE WHEN OLD.disposition = 'adopted' THEN 1 ELSE 0 END WHERE office_id = OLD.office_id AND observer_id = OLD.observer_id AND month = OLD.submitted_day / 100; END IF;\n    END IF;\n  END IF;\n  RETURN NULL;\nEND$$",
    "CREATE TRIGGER fig_observers_keep AFTER INSERT OR UPDATE OR DELETE ON suggestions FOR EACH ROW EXECUTE FUNCTION fig_observers_keep()",
    "CREATE OR REPLACE FUNCTION suggestions_latest_rating() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  IF TG_OP = 'DELETE' THEN\n    UPDATE suggestions SET rating = (SELECT value FROM ratings WHERE suggestion_id = OLD.suggestion_id ORDER BY id DESC LIMIT 1) WHERE id = OLD.suggestion_id AND rating IS DISTINCT FROM (SELECT value FROM ratings WHERE suggestion_id = OLD.suggestion_id ORDER BY id DESC LIMIT 1);\n  ELSE\n    UPDATE suggestions SET rating = (SELECT value FROM ratings WHERE suggestion_id = NEW.suggestion_id ORDER BY id DESC LIMIT 1) WHERE id = NEW.suggestion_id AND rating IS DISTINCT FROM (SELECT value FROM ratings WHERE suggestion_id = NEW.suggestion_id ORDER BY id DESC LIMIT 1);\n  END IF;\n  RETURN NULL;\nEND$$",
    "CREATE TRIGGER suggestions_latest_rating AFTER INSERT OR DELETE ON ratings FOR EACH ROW EXECUTE FUNCTION suggestions_latest_rating()",
)

_SQLITE_DROPS: Final = (
    "DROP TRIGGER IF EXISTS fig_points_insert",
    "DROP TRIGGER IF EXISTS fig_points_update",
    "DROP TRIGGER IF EXISTS fig_points_delete",
    "DROP TRIGGER IF EXISTS fig_domains_insert",
    "DROP TRIGGER IF EXISTS fig_domains_update",
    "DROP TRIGGER IF EXISTS fig_domains_delete",
    "DROP TRIGGER IF EXISTS fig_kinds_insert",
    "DROP TRIGGER IF EXISTS fig_kinds_update",
    "DROP TRIGGER IF EXISTS fig_kinds_delete",
    "DROP TRIGGER IF EXISTS fig_ratings_insert",
    "DROP TRIGGER IF EXISTS fig_ratings_update",
    "DROP TRIGGER IF EXISTS fig_ratings_delete",
    "DROP TRIGGER IF EXISTS fig_decisions_insert",
    "DROP TRIGGER IF EXISTS fig_decisions_update",
    "DROP TRIGGER IF EXISTS fig_decisions_delete",
    "DROP TRIGGER IF EXISTS fig_departments_insert",
    "DROP TRIGGER IF EXISTS fig_departments_update",
    "DROP TRIGGER IF EXISTS fig_departments_delete",
    "DROP TRIGGER IF EXISTS fig_observers_insert",
    "DROP TRIGGER IF EXISTS fig_observers_update",
    "DROP TRIGGER IF EXISTS fig_observers_delete",
    "DROP TRIGGER IF EXISTS suggestions_latest_rating_insert",
    "DROP TRIGGER IF EXISTS suggestions_latest_rating_delete",
)

_POSTGRESQL_DROPS: Final = (
    "DROP TRIGGER IF EXISTS fig_points_keep ON suggestions",
    "DROP TRIGGER IF EXISTS fig_domains_keep ON suggestions",
    "DROP TRIGGER IF EXISTS fig_kinds_keep ON suggestions",
    "DROP TRIGGER IF EXISTS fig_ratings_keep ON suggestions",
    "DROP TRIGGER IF EXISTS fig_decisions_keep ON suggestions",
    "DROP TRIGGER IF EXISTS fig_departments_keep ON suggestions",
    "DROP TRIGGER IF EXISTS fig_observers_keep ON suggestions",
    "DROP FUNCTION IF EXISTS fig_points_keep()",
    "DROP FUNCTION IF EXISTS fig_domains_keep()",
    "DROP FUNCTION IF EXISTS fig_kinds_keep()",
    "DROP FUNCTION IF EXISTS fig_ratings_keep()",
    "DROP FUNCTION IF EXISTS fig_decisions_keep()",
    "DROP FUNCTION IF EXISTS fig_departments_keep()",
    "DROP FUNCTION IF EXISTS fig_observers_keep()",
    "DROP TRIGGER IF EXISTS suggestions_latest_rating ON ratings",
    "DROP FUNCTION IF EXISTS suggestions_latest_rating()",
)

_RECOUNT: Final = (
    "DELETE FROM fig_points",
    "INSERT INTO fig_points (office_id, above_id, month, point_id, status, disposition, n) SELECT r.office_id, COALESCE(r.above_id, 0), r.submitted_day / 100, COALESCE(r.point_id, 0), r.status, COALESCE(r.disposition, ''), SUM(1) FROM suggestions r GROUP BY 1, 2, 3, 4, 5, 6",
    "DELETE FROM fig_domains",
    "INSERT INTO fig_domains (office_id, above_id, month, domain, status, disposition, n) SELECT r.office_id, COALESCE(r.above_id, 0), r.submitted_day / 100, r.domain, r.status, COALESCE(r.disposition, ''), SUM(1) FROM suggestions r GROUP BY 1, 2, 3, 4, 5, 6",
    "DELETE FROM fig_kinds",
    "INSERT INTO fig_kinds (office_id, above_id, month, kind, n) SELECT r.office_id, COALESCE(r.above_id, 0), r.submitted_day / 100, r.kind, SUM(1) FROM suggestions r GROUP BY 1, 2, 3, 4",
    "DELETE FROM fig_ratings",
    "INSERT INTO fig_ratings (office_id, above_id, month, rating, n) SELECT r.office_id, COALESCE(r.above_id, 0), r.submitted_day / 100, r.rating, SUM(1) FROM suggestions r WHERE r.rating IS NOT NULL GROUP BY 1, 2, 3, 4",
    "DELETE FROM fig_decisions",
    "INSERT INTO fig_decisions (office_id, above_id, submitted_day, decided_day, on_time, n) SELECT r.office_id, COALESCE(r.above_id, 0), r.submitted_day, COALESCE(r.decided_day, 0), CASE WHEN r.decided_on_time IS NULL THEN -1 WHEN r.decided_on_time THEN 1 ELSE 0 END, SUM(1) FROM suggestions r WHERE (r.decided_day IS NOT NULL OR r.decided_on_time IS NOT NULL) GROUP BY 1, 2, 3, 4, 5",
    "DELETE FROM fig_departments",
    "INSERT INTO fig_departments (office_id, above_id, month, department_id, on_time, implemented, open_due, n) SELECT r.office_id, COALESCE(r.above_id, 0), r.submitted_day / 100, COALESCE(r.department_id, 0), CASE WHEN r.implemented_on_time IS NULL THEN -1 WHEN r.implemented_on_time THEN 1 ELSE 0 END, CASE WHEN r.implemented_at IS NULL THEN 0 ELSE 1 END, CASE WHEN r.status IN ('adopted', 'implementing') AND r.implementation_due IS NOT NULL THEN r.implementation_due ELSE '1970-01-01' END, SUM(1) FROM suggestions r WHERE COALESCE(r.disposition = 'adopted', FALSE) GROUP BY 1, 2, 3, 4, 5, 6, 7",
    "DELETE FROM fig_observers",
    "INSERT INTO fig_observers (office_id, observer_id, month, filed, adopted, last_at) SELECT r.office_id, r.observer_id, r.submitted_day / 100, SUM(1), SUM(CASE WHEN r.disposition = 'adopted' THEN 1 ELSE 0 END), MAX(r.submitted_at) FROM suggestions r GROUP BY 1, 2, 3",
)

_RATINGS: Final = "UPDATE suggestions SET rating = (SELECT value FROM ratings WHERE ratings.suggestion_id = suggestions.id ORDER BY id DESC LIMIT 1) WHERE rating IS NOT NULL OR id IN (SELECT suggestion_id FROM ratings)"
