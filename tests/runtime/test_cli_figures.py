"""`outpost figures --rebuild`: the summaries counted again and the items' local days
worked out again in TIMEZONE; one line said, and a refusal without --rebuild."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from pathlib import Path

import pytest

from bot.services.suggestions import SuggestionService
from storage.engine import create_engine, session_factory
from storage.store import Store
from tests.runtime.test_cli_offices import Outpost, db, outpost
from tests.world import ALICE, POLICY, FixedClock, actor, build_world, draft

__all__ = ["db", "outpost"]
DONE = re.compile(
    r"^FIGURES rebuilt from 1 items \((\d) with their local days corrected, TIMEZONE "
    r"(\S+)\) in \d+\.\ds$"
)


async def _file_one(path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        sessions = session_factory(engine)
        await build_world(sessions)
        async with sessions() as session, session.begin():
            store = Store(session)
            await SuggestionService(store, POLICY, FixedClock()).submit(
                await actor(store, ALICE), draft()
            )
    finally:
        await engine.dispose()


def test_without_rebuild_it_says_what_to_say(outpost: Outpost) -> None:
    ran = outpost("figures")
    assert ran.code == 2
    assert "--rebuild" in ran.err


def test_a_rebuild_after_timezone_changed(
    outpost: Outpost,
    db: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asyncio.run(_file_one(db))
    ran = outpost("figures", "--rebuild")
    assert ran.code == 0, ran.err
    found = DONE.match(ran.out[-1])
    assert found is not None, ran.out
    assert found.groups() == ("0", "Asia/Shanghai")
    with sqlite3.connect(db) as conn:
        (day,) = conn.execute("SELECT submitted_day FROM suggestions").fetchone()
    assert day == 20260302  # filed at 01:00 UTC on 2 March: 09:00 in Shanghai
    monkeypatch.setenv("TIMEZONE", "Pacific/Honolulu")
    ran = outpost("figures", "--rebuild")
    found = DONE.match(ran.out[-1])
    assert found is not None, ran.out
    assert found.groups() == ("1", "Pacific/Honolulu")
    with sqlite3.connect(db) as conn:
        (day,) = conn.execute("SELECT submitted_day FROM suggestions").fetchone()
        (month, n) = conn.execute("SELECT month, n FROM fig_points").fetchone()
    # Still 1 March in Honolulu (15:00), and counted in its month.
    assert day == 20260301
    assert (month, n) == (202603, 1)
