"""Races between transactions, on SQLite and PostgreSQL.

Two admins pressing at once, many observers filing at once, one draft confirmed twice
at once: each in its own session and transaction, as the bot's per-update middleware
runs them, started together with ``asyncio.gather``.

How the two databases differ, and why the tests are shaped as they are:

- PostgreSQL (READ COMMITTED, row locks): two transactions can both read the item
  at version N before either writes. The barrier sits *inside* the transactions,
  after the read. The loser's versioned ``UPDATE ... WHERE version = N`` waits for the
  winner's row lock, then matches no row once the winner commits; the ORM raises
  ``StaleDataError`` and the service turns it into ``AlreadyMoved``.
- SQLite: every transaction starts with ``BEGIN IMMEDIATE`` at its first statement, a
  read included, so a second transaction cannot even read until the first commits. A
  barrier inside both transactions would deadlock (the second waits on the busy
  timeout for a lock the first holds while it waits at the barrier). So on SQLite the
  race is the stale-version path, which is how the bot meets it anyway: both admins
  saw version N on the card (each read in its own earlier transaction), then both
  press at once, passing ``version=N``; the transactions run one after the other and
  the second finds the item at N+1.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from bot.domain.errors import AlreadyMoved, DomainError, IllegalTransition, NotPermitted
from bot.domain.statuses import SuggestionStatus as S
from bot.services.actors import Actor
from bot.services.suggestions import SuggestionService
from bot.services.views import SuggestionInfo
from storage.engine import create_engine, is_sqlite, session_factory
from storage.models import Event, OutboxMessage, ReferenceCounter, Suggestion
from storage.store import Store
from tests.world import ADMIN, ALICE, BOB, DUE, POLICY, FixedClock, actor, build_world, draft

ADMIN2 = 9002  # a second office member; admins need no row of their own
Sessions = async_sessionmaker[AsyncSession]
# A press: what one admin does with the item, given the version their card showed.
Press = Callable[[SuggestionService, Actor, int], Awaitable[SuggestionInfo]]


async def in_tx(sessions: Sessions, clock: FixedClock, fn: Callable[..., Awaitable[Any]]) -> Any:
    async with sessions() as session, session.begin():
        store = Store(session)
        return await fn(store, SuggestionService(store, POLICY, clock))


async def new_item(sessions: Sessions, clock: FixedClock, *, taken: bool = False) -> int:
    async def go(store: Store, svc: SuggestionService) -> int:
        item = await svc.submit(await actor(store, ALICE), draft())
        if taken:
            await svc.take(await actor(store, ADMIN, admin=True), item.id)
        return item.id

    return int(await in_tx(sessions, clock, go))


async def race(
    sessions: Sessions, sqlite: bool, clock: FixedClock, item_id: int, presses: list[Press]
) -> tuple[list[int], list[SuggestionInfo | BaseException]]:
    """Each admin reads the item, all wait until every one has read, then all press.

    Returns the versions each admin saw and what each press returned or raised.
    """
    admins = [ADMIN, ADMIN2]
    assert len(presses) == len(admins)
    barrier = asyncio.Barrier(len(presses))
    seen: list[int] = [0] * len(presses)

    async def read(i: int) -> None:
        async def go(store: Store, svc: SuggestionService) -> None:
            seen[i] = (await svc.get(await actor(store, admins[i], admin=True), item_id)).version

        await in_tx(sessions, clock, go)

    if sqlite:
        # The cards the admins look at: each read in its own short transaction.
        for i in range(len(presses)):
            await read(i)

    async def press(i: int) -> SuggestionInfo:
        if sqlite:
            await barrier.wait()  # before any statement: nobody holds the write lock
        async with sessions() as session, session.begin():
            store = Store(session)
            svc = SuggestionService(store, POLICY, clock)
            admin = await actor(store, admins[i], admin=True)
            if not sqlite:
                # Read inside the transaction; nobody writes until everybody has read.
                # Holding the row keeps it in the session's (weak) identity map, so the
                # press acts on what was read rather than re-reading a committed winner.
                row = await store.suggestions.get(item_id)
                assert row is not None
                seen[i] = row.version
                await barrier.wait()
                result = await presses[i](svc, admin, seen[i])
                del row
                return result
            return await presses[i](svc, admin, seen[i])

    results = await asyncio.gather(*(press(i) for i in range(len(presses))), return_exceptions=True)
    return seen, list(results)


async def snapshot(sessions: Sessions, item_id: int) -> tuple[Suggestion, list[Event], list[Any]]:
    async with sessions() as session:
        item = await session.get(Suggestion, item_id)
        assert item is not None
        events = (
            (
                await session.execute(
                    sa.select(Event).where(Event.suggestion_id == item_id).order_by(Event.id)
                )
            )
            .scalars()
            .all()
        )
        outbox = (
            await session.execute(
                sa.select(OutboxMessage.event_id)
                .where(OutboxMessage.suggestion_id == item_id)
                .order_by(OutboxMessage.id)
            )
        ).all()
        return item, list(events), [row.event_id for row in outbox]


def one_winner(
    results: list[SuggestionInfo | BaseException],
) -> tuple[int, SuggestionInfo, BaseException]:
    won = [(i, r) for i, r in enumerate(results) if isinstance(r, SuggestionInfo)]
    lost = [r for r in results if not isinstance(r, SuggestionInfo)]
    assert len(won) == 1, results
    assert len(lost) == len(results) - 1
    for exc in lost:
        if not isinstance(exc, DomainError):
            raise exc  # an unexpected failure: show it as it is
    return won[0][0], won[0][1], lost[0]


async def check_one_move(
    sessions: Sessions,
    item_id: int,
    before: tuple[Suggestion, list[Event], list[Any]],
    winner: SuggestionInfo,
) -> Event:
    """Exactly one new event, the winner's; the notifications queued are all its own."""
    item, events, outbox = await snapshot(sessions, item_id)
    _, events_before, outbox_before = before
    new_events = events[len(events_before) :]
    assert len(new_events) == 1
    event = new_events[0]
    assert item.status is winner.status is event.to_status
    assert item.version == before[0].version + 1 == winner.version
    new_outbox = outbox[len(outbox_before) :]
    assert new_outbox
    assert set(new_outbox) == {event.id}
    return event


# ---- (a) two admins press at once ------------------------------------------------------


@pytest.fixture
def sqlite(db_url: str) -> bool:
    return is_sqlite(db_url)


async def test_two_admins_take_at_once_one_wins_the_other_is_told(sessions, sqlite):
    await build_world(sessions)
    clock = FixedClock()
    item_id = await new_item(sessions, clock)
    before = await snapshot(sessions, item_id)

    def press(svc: SuggestionService, admin: Actor, version: int) -> Awaitable[SuggestionInfo]:
        return svc.take(admin, item_id, version=version)

    seen, results = await race(sessions, sqlite, clock, item_id, [press, press])

    assert seen == [before[0].version] * 2  # both really saw the same version
    winner_index, winner, loser = one_winner(results)
    assert isinstance(loser, AlreadyMoved)
    # PostgreSQL: the loser passed the version check (it read N in its own transaction)
    # and was stopped by the versioned UPDATE. SQLite: it read N+1 and was stopped by
    # the version check before writing anything.
    assert isinstance(loser.__cause__, StaleDataError) is (not sqlite)
    event = await check_one_move(sessions, item_id, before, winner)
    assert winner.status is S.IN_REVIEW
    assert event.actor_user_id == [ADMIN, ADMIN2][winner_index]


async def test_adopt_against_decline_at_once_one_decision_stands(sessions, sqlite):
    world = await build_world(sessions)
    clock = FixedClock()
    for _ in range(4):  # a few rounds, so that either side may win
        item_id = await new_item(sessions, clock, taken=True)
        before = await snapshot(sessions, item_id)

        def adopt(
            svc: SuggestionService, admin: Actor, version: int, item_id: int = item_id
        ) -> Awaitable[SuggestionInfo]:
            return svc.adopt(
                admin, item_id, department_id=world.department_id, due=DUE, version=version
            )

        def decline(
            svc: SuggestionService, admin: Actor, version: int, item_id: int = item_id
        ) -> Awaitable[SuggestionInfo]:
            return svc.decline(admin, item_id, "不属于本区职权", version=version)

        seen, results = await race(sessions, sqlite, clock, item_id, [adopt, decline])
        assert seen == [before[0].version] * 2
        _, winner, loser = one_winner(results)
        assert isinstance(loser, AlreadyMoved)
        assert isinstance(loser.__cause__, StaleDataError) is (not sqlite)
        event = await check_one_move(sessions, item_id, before, winner)
        assert winner.status in (S.ADOPTED, S.DECLINED)
        assert event.action.value == ("adopt" if winner.status is S.ADOPTED else "decline")
        item, _, _ = await snapshot(sessions, item_id)
        # The loser's department or reason left no trace on the item.
        assert (item.department_id is not None) is (winner.status is S.ADOPTED)
        assert (item.implementation_due is not None) is (winner.status is S.ADOPTED)


@pytest.mark.parametrize("move", ["take", "adopt_decline"])
async def test_presses_without_a_version_still_let_only_one_through(sessions, sqlite, move):
    """Without ``version=`` the loser still fails, but how depends on the database.

    PostgreSQL: both transactions read the item at N (the barrier is after the read),
    so the loser believes the move is legal; its versioned UPDATE then matches nothing
    and it gets ``AlreadyMoved`` (from ``StaleDataError``).
    SQLite: ``BEGIN IMMEDIATE`` serialises the two transactions whole, so the loser
    reads the item only after the winner committed; it sees the new status, and the
    table has no such move from there: ``IllegalTransition``.
    """
    world = await build_world(sessions)
    clock = FixedClock()
    item_id = await new_item(sessions, clock, taken=move != "take")
    before = await snapshot(sessions, item_id)

    presses: list[Press]
    if move == "take":
        presses = [lambda svc, admin, _v: svc.take(admin, item_id)] * 2
    else:
        presses = [
            lambda svc, admin, _v: svc.adopt(
                admin, item_id, department_id=world.department_id, due=DUE
            ),
            lambda svc, admin, _v: svc.decline(admin, item_id, "不属于本区职权"),
        ]
    _, results = await race(sessions, sqlite, clock, item_id, presses)

    _, winner, loser = one_winner(results)
    if sqlite:
        assert isinstance(loser, IllegalTransition)
    else:
        assert isinstance(loser, AlreadyMoved)
        assert isinstance(loser.__cause__, StaleDataError)
    await check_one_move(sessions, item_id, before, winner)


# ---- (b) many observers file at once ---------------------------------------------------


@pytest.fixture
async def wide_sessions(engine, db_url: str):
    """Sessions from an engine whose pool holds every racer at once (the default pool
    of 5 + 10 would leave some waiting for a connection, and a barrier inside the
    transactions would never open)."""
    wide = create_engine(db_url, pool_size=25, max_overflow=5)
    yield session_factory(wide)
    await wide.dispose()


async def file_at_once(
    sessions: Sessions, sqlite: bool, clock: FixedClock, drafts: list[Any], users: list[int]
) -> list[SuggestionInfo | BaseException]:
    barrier = asyncio.Barrier(len(drafts))

    async def one(d: Any, user_id: int) -> SuggestionInfo:
        if sqlite:
            await barrier.wait()  # SQLite: line up before the first statement (see above)
        async with sessions() as session, session.begin():
            store = Store(session)
            who = await actor(store, user_id)
            if not sqlite:
                await barrier.wait()  # PostgreSQL: every transaction open and reading
            return await SuggestionService(store, POLICY, clock).submit(who, d)

    results = await asyncio.gather(
        *(one(d, u) for d, u in zip(drafts, users, strict=True)), return_exceptions=True
    )
    return list(results)


async def test_twenty_concurrent_submits_get_distinct_gap_free_references(wide_sessions, sqlite):
    sessions = wide_sessions
    await build_world(sessions)
    clock = FixedClock()
    n = 20
    users = [ALICE, BOB] * (n // 2)

    # First filings of 2026: nobody has created the year's counter row yet, so all
    # twenty race to create it as well as to bump it.
    results = await file_at_once(
        sessions, sqlite, clock, [draft(f"item {i}") for i in range(n)], users
    )
    for r in results:
        if isinstance(r, BaseException):
            raise r
    refs = sorted(r.reference for r in results if isinstance(r, SuggestionInfo))
    assert refs == [f"WZ-2026-{i:04d}" for i in range(1, n + 1)]

    # A new year: again the counter row is created under the race, and counting
    # starts over while 2026's row stays where it was.
    clock.now = datetime(2027, 1, 4, 2, 0, tzinfo=UTC)
    results = await file_at_once(
        sessions, sqlite, clock, [draft(f"next {i}") for i in range(n)], users
    )
    for r in results:
        if isinstance(r, BaseException):
            raise r
    refs = sorted(r.reference for r in results if isinstance(r, SuggestionInfo))
    assert refs == [f"WZ-2027-{i:04d}" for i in range(1, n + 1)]

    async with sessions() as session:
        counters = (
            await session.execute(
                sa.select(ReferenceCounter.year, ReferenceCounter.last).order_by(
                    ReferenceCounter.year
                )
            )
        ).all()
        assert [tuple(c) for c in counters] == [(2026, n), (2027, n)]
        all_refs = (await session.execute(sa.select(Suggestion.reference))).scalars().all()
        assert len(all_refs) == len(set(all_refs)) == 2 * n
        submits = (
            await session.execute(
                sa.select(sa.func.count()).select_from(Event).where(Event.action == "submit")
            )
        ).scalar_one()
        assert submits == 2 * n


# ---- (c) one draft confirmed twice at once ---------------------------------------------


async def test_the_same_draft_confirmed_twice_at_once_files_one_item(wide_sessions, sqlite):
    sessions = wide_sessions
    await build_world(sessions)
    clock = FixedClock()

    for round_ in range(3):  # the first round also races for the year's counter row
        key = f"draft-{round_}"
        results = await file_at_once(
            sessions, sqlite, clock, [draft(key=key), draft(key=key)], [ALICE, ALICE]
        )
        for r in results:
            if isinstance(r, BaseException):
                raise r
        first, second = results
        assert isinstance(first, SuggestionInfo)
        assert isinstance(second, SuggestionInfo)
        assert (first.id, first.reference) == (second.id, second.reference)

    async with sessions() as session:
        rows = (
            (await session.execute(sa.select(Suggestion.reference).order_by(Suggestion.id)))
            .scalars()
            .all()
        )
        # One item per key, and the confirmation that lost used up no number.
        assert rows == ["WZ-2026-0001", "WZ-2026-0002", "WZ-2026-0003"]
        submits = (
            await session.execute(
                sa.select(sa.func.count()).select_from(Event).where(Event.action == "submit")
            )
        ).scalar_one()
        assert submits == 3
        notices = (
            await session.execute(sa.select(sa.func.count()).select_from(OutboxMessage))
        ).scalar_one()
        assert notices == 3  # the admin group hears of each item once


async def test_a_draft_key_of_someone_else_is_refused_even_under_a_race(wide_sessions, sqlite):
    sessions = wide_sessions
    await build_world(sessions)
    clock = FixedClock()
    results = await file_at_once(
        sessions, sqlite, clock, [draft(key="shared"), draft(key="shared")], [ALICE, BOB]
    )
    filed = [r for r in results if isinstance(r, SuggestionInfo)]
    refused = [r for r in results if not isinstance(r, SuggestionInfo)]
    assert len(filed) == 1
    assert len(refused) == 1
    # Whichever came second, the key is someone else's: refused, not handed over.
    assert isinstance(refused[0], NotPermitted), refused[0]
