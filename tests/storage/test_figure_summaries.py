"""The figures' summaries stay equal to a recount from the items, whatever changes them:
the services' moves (on PostgreSQL here; tests/services/test_properties.py plays them on
SQLite), changes made by hand in SQL, a rebuild, and a database migrated from 0014."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.services.actors import identify
from bot.services.figures import FiguresService
from bot.services.suggestions import SuggestionService
from storage import figure_triggers
from storage.engine import create_engine, session_factory
from storage.models import Base, Office
from storage.store import Store
from tests.figure_summaries import mismatches
from tests.services.test_properties import play
from tests.world import ALICE, POLICY, FixedClock, build_world, draft

STATUSES = ("submitted", "in_review", "adopted", "implementing", "implemented", "closed")
DISPOSITIONS = (None, "adopted", "reference", "declined", "escalated")
RATINGS = ("satisfied", "basically_satisfied", "dissatisfied")


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_random_moves_keep_the_summaries_on_postgresql(pg_url: str, data: st.DataObject) -> None:
    asyncio.run(play(pg_url, data, most_steps=25))


# A change made by hand: which item, which column, which value.
CHANGES = st.one_of(
    st.tuples(st.just("status"), st.sampled_from(STATUSES)),
    st.tuples(st.just("disposition"), st.sampled_from(DISPOSITIONS)),
    st.tuples(st.just("office_id"), st.sampled_from((1, 2))),
    st.tuples(st.just("above_id"), st.sampled_from((None, 1, 2))),
    st.tuples(st.just("point_id"), st.sampled_from((None, 1))),
    st.tuples(st.just("department_id"), st.sampled_from((None, 1))),
    st.tuples(st.just("decided_day"), st.sampled_from((None, 20260301, 20260305))),
    st.tuples(st.just("decided_on_time"), st.sampled_from((None, True, False))),
    st.tuples(st.just("implemented_on_time"), st.sampled_from((None, True, False))),
    st.tuples(st.just("implementation_due"), st.sampled_from((None, date(2026, 3, 9)))),
    st.tuples(st.just("implemented_at"), st.sampled_from((None, datetime(2026, 3, 20)))),
    st.tuples(st.just("rate"), st.sampled_from(RATINGS)),
    st.tuples(st.just("unrate"), st.just(None)),
    st.tuples(st.just("file"), st.integers(0, 90)),
)


async def _by_hand(url: str, changes: list[tuple[int, tuple[str, Any]]]) -> list[str]:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.drop_all)
            await conn.run_sync(Base.metadata.create_all)
        sessions = session_factory(engine)
        await build_world(sessions)
        async with sessions() as session, session.begin():
            session.add(Office(id=2, code="CQ", name="重庆市"))
        for _ in range(2):
            async with sessions() as session, session.begin():
                await SuggestionService(Store(session), POLICY, FixedClock()).submit(
                    await _alice(session), draft()
                )
        for which, (column, value) in changes:
            async with engine.begin() as conn:
                ids = [i for (i,) in (await conn.execute(sa.text("SELECT id FROM suggestions")))]
                item = ids[which % len(ids)]
                await _change(conn, item, column, value, len(ids))
            found = await mismatches(engine)
            if found:
                return [f"after {column}={value!r} on item {item}", *found]
        return []
    finally:
        await engine.dispose()


async def _alice(session: Any) -> Any:
    return await identify(Store(session), ALICE)


async def _change(conn: Any, item: int, column: str, value: Any, items: int) -> None:
    if column == "rate":
        await conn.execute(
            sa.text(
                "INSERT INTO ratings (suggestion_id, observer_id, value, created_at) "
                "VALUES (:item, 1, :value, :at)"
            ),
            {"item": item, "value": value, "at": datetime(2026, 3, 21)},
        )
    elif column == "unrate":
        await conn.execute(
            sa.text(
                "DELETE FROM ratings WHERE id = (SELECT MAX(id) FROM ratings "
                "WHERE suggestion_id = :item)"
            ),
            {"item": item},
        )
    elif column == "file":
        filed = datetime(2026, 1, 1) + timedelta(days=value)
        await conn.execute(
            sa.text(
                "INSERT INTO suggestions (office_id, reference, kind, domain, observer_id, "
                "title, body, behalf, status, submitted_at, submitted_day, decision_due, "
                "updated_at, version, created_at) VALUES (1, :ref, 'problem', 'other', 1, 't', "
                "'b', 'own', 'submitted', :at, :day, :due, :at, 1, :at)"
            ),
            {
                # Unique whatever was drawn: one more than the items there are.
                "ref": f"WZ-2026-X{items + 1:04d}",
                "at": filed,
                "day": filed.year * 10000 + filed.month * 100 + filed.day,
                "due": filed.date(),
            },
        )
    else:
        await conn.execute(
            sa.text(f"UPDATE suggestions SET {column} = :value WHERE id = :item"),
            {"value": value, "item": item},
        )


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(changes=st.lists(st.tuples(st.integers(0, 5), CHANGES), min_size=1, max_size=12))
def test_changes_made_by_hand_keep_the_summaries(
    db_url: str, changes: list[tuple[int, tuple[str, Any]]]
) -> None:
    # Triggers, not the bot's code, keep the summaries: an operator's SQL counts too.
    assert asyncio.run(_by_hand(db_url, changes)) == []


async def test_a_rebuild_counts_again_and_corrects_the_days(sessions: Any, engine: Any) -> None:
    await build_world(sessions)
    async with sessions() as session, session.begin():
        await SuggestionService(Store(session), POLICY, FixedClock()).submit(
            await _alice(session), draft()
        )
    async with engine.begin() as conn:
        # Days written wrong (as by a TIMEZONE changed since), summaries emptied.
        await conn.execute(sa.text("UPDATE suggestions SET submitted_day = 19990101"))
        for s in figure_triggers.SUMMARIES:
            await conn.execute(sa.text(f"DELETE FROM {s.table}"))
    assert await mismatches(engine) != []
    async with sessions() as session, session.begin():
        items, corrected = await FiguresService(Store(session), POLICY, FixedClock()).rebuild()
    assert (items, corrected) == (1, 1)
    assert await mismatches(engine) == []
    async with engine.connect() as conn:
        day = (await conn.execute(sa.text("SELECT submitted_day FROM suggestions"))).scalar()
    moment = FixedClock()().astimezone(POLICY.tz)
    assert day == moment.year * 10000 + moment.month * 100 + moment.day


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_the_migration_made_the_triggers_this_code_makes(dialect: str) -> None:
    # The migration keeps a copy of the triggers' text: a change here needs a migration.
    from pathlib import Path

    source = Path("storage/migrations/versions/0015_figure_summaries.py").read_text()
    found: dict[str, Any] = {}
    exec(compile(source, "0015", "exec"), found)
    made = found["_POSTGRESQL_TRIGGERS" if dialect == "postgresql" else "_SQLITE_TRIGGERS"]
    assert list(made) == figure_triggers.create_statements(dialect)
    assert list(found["_RECOUNT"]) == figure_triggers.recount_statements()


async def _race(url: str, workers: int, moves: int) -> tuple[list[str], list[str]]:
    engine = create_engine(url, pool_size=workers)  # type: ignore[call-arg]
    failures: list[str] = []
    try:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.drop_all)
            await conn.run_sync(Base.metadata.create_all)
        sessions = session_factory(engine)
        await build_world(sessions)
        for _ in range(6):
            async with sessions() as session, session.begin():
                await SuggestionService(Store(session), POLICY, FixedClock()).submit(
                    await _alice(session), draft()
                )
        statuses = ("submitted", "in_review", "declined", "reference")

        async def worker(seed: int) -> None:
            for move in range(moves):
                item = 1 + (seed + move) % 6
                status = statuses[(seed * 7 + move * 3) % len(statuses)]
                try:
                    async with engine.begin() as conn:
                        await conn.execute(
                            sa.text("UPDATE suggestions SET status = :s WHERE id = :i"),
                            {"s": status, "i": item},
                        )
                except Exception as exc:  # a deadlock is what this looks for
                    failures.append(repr(exc))

        await asyncio.gather(*(worker(seed) for seed in range(workers)))
        return failures, await mismatches(engine)
    finally:
        await engine.dispose()


async def test_moves_racing_on_postgresql_neither_deadlock_nor_lose_counts(pg_url: str) -> None:
    # Items moving between the same summary rows in opposite directions, from eight
    # connections at once: each move takes its two rows smaller key first.
    failures, found = await _race(pg_url, workers=8, moves=80)
    assert failures == []
    assert found == []
