"""The holiday schedules the project ships: readable in the /holidays format, and the
same days as the schedule migration 0004 loads into a new database."""

from __future__ import annotations

import importlib.util
from datetime import date

from bot.domain.known_holidays import SCHEDULES, schedule
from bot.domain.statuses import DayKind
from storage.migrate import MIGRATIONS_DIR


def test_a_year_not_announced_is_not_guessed() -> None:
    assert schedule(2025) == []
    assert schedule(2027) == []


def test_each_schedule_names_days_of_its_own_year_only() -> None:
    for year in SCHEDULES:
        assert {x.day.year for x in schedule(year)} == {year}


def test_2026_is_the_state_councils_and_the_migrations() -> None:
    path = MIGRATIONS_DIR / "versions" / "0004_figures_and_reminders.py"
    spec = importlib.util.spec_from_file_location("migration_0004", path)
    assert spec is not None
    assert spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    loaded = {(r["day"], r["kind"], r["name"]) for r in migration._days_2026()}
    shipped = {(x.day, x.kind.value, x.name) for x in schedule(2026)}
    assert shipped == loaded
    off = [x for x in schedule(2026) if x.kind is DayKind.HOLIDAY]
    assert len(off) == 3 + 9 + 3 + 5 + 3 + 3 + 7
    assert (date(2026, 2, 14), DayKind.WORKDAY) in {(x.day, x.kind) for x in schedule(2026)}
