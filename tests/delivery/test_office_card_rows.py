"""The office hears of a move through its card. The update that made the move brings
the card up to date after its commit; the outbox row of the same move then finds the
card showing that move already and is settled without drawing the card again. A move
made where nobody brought the card up to date (here: a service call, as a liaison's
move in a private chat would be) is shown by the row."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.domain.lifecycle import Action
from bot.services.suggestions import SuggestionService
from storage.engine import read_sessions
from storage.models import Card, Event, OutboxMessage
from storage.store import Store
from tests.delivery.conftest import GROUP
from tests.telegram import Telegram
from tests.world import ADMIN, ALICE, POLICY, FixedClock, actor, draft

Sessions = async_sessionmaker[AsyncSession]


async def filed(tg: Telegram, sessions: Sessions, clock: FixedClock) -> int:
    async with sessions() as session, session.begin():
        store = Store(session)
        info = await SuggestionService(store, POLICY, clock).submit(
            await actor(store, ALICE), draft("Street lights out")
        )
    await tg.drain()
    return int(info.id)


async def card_and_take(sessions: Sessions, item_id: int) -> tuple[Card, int]:
    async with read_sessions(sessions)() as session:
        card = await session.scalar(sa.select(Card).where(Card.subject_id == item_id))
        take = await session.scalar(
            sa.select(Event.id).where(Event.suggestion_id == item_id, Event.action == Action.TAKE)
        )
        assert card is not None
        assert take is not None
        return card, int(take)


async def pending(sessions: Sessions) -> int:
    async with read_sessions(sessions)() as session:
        stmt = sa.select(sa.func.count()).where(OutboxMessage.state == "pending")
        return int(await session.scalar(stmt) or 0)


@contextmanager
def timeline_reads(engine: AsyncEngine) -> Iterator[list[str]]:
    """The statements that read an item's timeline (drawing its card does), meanwhile."""
    seen: list[str] = []

    def before(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM events" in statement:
            seen.append(statement)

    sa.event.listen(engine.sync_engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        sa.event.remove(engine.sync_engine, "before_cursor_execute", before)


def group_calls(tg: Telegram, since: int) -> list[str]:
    return [
        type(r).__name__
        for r in tg.session.requests[since:]
        if getattr(r, "chat_id", None) == GROUP
    ]


async def test_a_row_whose_move_the_card_shows_draws_nothing_again(
    tg: Telegram, sessions: Sessions, engine: AsyncEngine, clock: FixedClock
) -> None:
    item_id = await filed(tg, sessions, clock)
    ada = tg.member(ADMIN, "Ada", GROUP, "administrator", language_code="en")
    await ada.press("🔍 Take")
    card, take = await card_and_take(sessions, item_id)
    # The press's own effect brought the card up to date, and the card says so.
    assert card.shown_event == take
    assert "Under review" in tg.chat(GROUP)[-1].plain

    before = len(tg.session.requests)
    with timeline_reads(engine) as reads:
        await tg.drain()
    assert await pending(sessions) == 0
    assert group_calls(tg, before) == []
    assert reads == []


async def test_a_move_nobody_showed_is_shown_by_its_row(
    tg: Telegram, sessions: Sessions, engine: AsyncEngine, clock: FixedClock
) -> None:
    item_id = await filed(tg, sessions, clock)
    async with sessions() as session, session.begin():
        store = Store(session)
        await SuggestionService(store, POLICY, clock).take(
            await actor(store, ADMIN, admin=True), item_id
        )
    before = len(tg.session.requests)
    with timeline_reads(engine) as reads:
        await tg.drain()
    assert group_calls(tg, before) == ["EditMessageText"]
    assert len(reads) == 1
    card, take = await card_and_take(sessions, item_id)
    assert card.shown_event == take
    assert "Under review" in tg.chat(GROUP)[-1].plain
