"""The throughput benchmark, run tiny: not its speed, but that every update it feeds
lands where it should, that the floor and the echo serve the very same updates, and
that the figures it prints add up."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime

import pytest
from aiogram import Dispatcher
from aiogram.types import Chat, Message, Update, User

from bench import throughput
from tests.conftest import PG_ADMIN_DSN, PostgresServer, unavailable

RATIO = re.compile(
    r"^RATIO (sqlite|postgres) (\d+)ms people (\d+) full (\d+\.\d)/s floor (\d+\.\d)/s "
    r"full/floor (\d+\.\d\d) answer-p99 (\d+\.\d\d)s$",
    re.MULTILINE,
)


async def test_a_tiny_run_files_moves_and_delivers_everything(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # One observer and one admin. 13 observer updates: one whole round (one item filed,
    # one rated). 13 admin updates: three scripts, adopt in five steps (⏭ without an
    # instruction the last), reference and decline in four (2+3+3 moves).
    argv = ["--updates", "13", "--people", "2", "--db", "sqlite", "--latency-ms", "0"]
    [result] = await throughput.measure(argv)
    assert result.database == "sqlite"
    assert (result.filed, result.filed_expected) == (1, 1)
    assert (result.rated, result.rated_expected) == (1, 1)
    assert (result.moves, result.moves_expected) == (8, 8)
    assert result.misplaced == 0
    assert result.fed == result.full.updates == 26
    assert result.floor.updates == result.echo.updates == result.full.updates
    # Every press answered: 7 by the observer (domain, kind, Done, behalf, Confirm, then
    # open and rate), 11 by the admin (5 to adopt, 3 to refer, 3 to decline).
    assert result.full.callbacks == len(result.full.answered) == 18
    assert result.delivered > 0
    assert result.lost == 0
    assert result.problems == result.failures == []
    assert result.sound
    printed = capsys.readouterr().out
    assert "13 observer and 13 admin updates; 2 people at once (1 observers, 1 admins)" in printed
    assert f"outbox: {result.delivered} delivered, 0 lost" in printed
    assert "filed 1/1, rated 1/1, admin moves 8/8, items astray 0" in printed
    [ratio] = RATIO.findall(printed)
    database, latency, people, full, floor, full_floor, _answer = ratio
    assert (database, latency, people) == ("sqlite", "0", "2")
    assert (full, floor) == (f"{result.full.rate:.1f}", f"{result.floor.rate:.1f}")
    assert full_floor == f"{result.full_floor:.2f}"


def test_the_plan_splits_the_updates_exactly_and_evenly() -> None:
    for updates, people in [(1, 2), (30, 2), (100, 40), (300, 10), (1000, 7), (1000, 40)]:
        plan = throughput.make_plan(updates, people)
        observed = [
            f * throughput.FILING + r * throughput.RATING + m
            for f, r, m in zip(plan.filings, plan.ratings, plan.extra_mine, strict=True)
        ]
        decided = [sum(s.updates for s in mine) for mine in plan.scripts]
        assert (sum(observed), sum(decided)) == (updates, updates)
        assert plan.filed == plan.rated == updates // throughput.OBSERVER_ROUND
        assert len(observed) + len(decided) == people
        assert len(observed) - len(decided) in (0, 1)
        # Nobody's queue outlasts the others' by more than its biggest step.
        assert max(observed) - min(observed) <= throughput.FILING
        assert max(decided) - min(decided) <= throughput.ADOPTING.updates


def test_concurrency_is_an_alias_of_people() -> None:
    args = throughput.parser().parse_args(["--concurrency", "6"])
    assert (args.concurrency, args.people) == (6, None)


async def test_effects_left_to_background_tasks_are_waited_for() -> None:
    # A bot that answers from tasks of its own, returning from feed_update at once, is
    # timed until those answers complete; the person waits for them too.
    dp = Dispatcher()
    spawned: list[asyncio.Task[None]] = []

    async def later(message: Message) -> None:
        await asyncio.sleep(0.01)
        await message.answer("late")

    @dp.message()
    async def said(message: Message) -> None:
        spawned.append(asyncio.create_task(later(message)))

    chat = Chat(id=5, type="private")
    person = User(id=5, is_bot=False, first_name="P")
    updates = [
        Update(
            update_id=n,
            message=Message(message_id=n, date=datetime.now(UTC), chat=chat, from_user=person),
        )
        for n in (1, 2, 3)
    ]
    run = await throughput.replay(dp, [updates], latency=0.05)
    assert run.updates == 3
    assert all(task.done() for task in spawned)
    assert min(run.latencies) >= 55  # ms: the task's own wait and the round trip
    assert run.seconds >= 3 * 0.055


@pytest.mark.postgres
async def test_the_bench_flow_on_postgresql_at_100ms_shares_no_connection(
    capsys: pytest.CaptureFixture[str], postgres: PostgresServer
) -> None:
    # The regression test of a card overwritten by an older render, seen on PostgreSQL
    # with real round trips: the bench's own checks (every item where its script leads,
    # a decided item's card offering what the database allows) must hold, and no asyncpg
    # "another operation is in progress" may show up.
    if postgres.error:
        unavailable(postgres.error)
    argv = ["--updates", "40", "--people", "8", "--db", "postgres", "--latency-ms", "100"]
    argv += ["--pg-dsn", PG_ADMIN_DSN]
    [result] = await throughput.measure(argv)
    assert result.failures == []
    assert result.problems == []
    assert result.misplaced == 0
    assert (result.moves, result.filed) == (result.moves_expected, result.filed_expected)
    assert result.lost == 0
    assert result.sound
    printed = capsys.readouterr()
    assert "another operation is in progress" not in printed.out + printed.err
    assert RATIO.search(printed.out)
