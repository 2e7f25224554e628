"""The sender is woken by an update that queued something, not by every update: a
press that moves an item (and so queues the observer's notice) wakes it; an update that
queues nothing (a list, a prompt) does not."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.suggestions import SuggestionService
from storage.engine import read_sessions
from storage.models import OutboxMessage
from storage.store import Store
from tests.delivery.conftest import GROUP
from tests.telegram import Telegram
from tests.world import ADMIN, ALICE, POLICY, FixedClock, actor, draft

Sessions = async_sessionmaker[AsyncSession]


async def queued(sessions: Sessions) -> int:
    async with read_sessions(sessions)() as session:
        return int(await session.scalar(sa.select(sa.func.count(OutboxMessage.id))) or 0)


async def test_a_move_wakes_the_sender_and_a_list_does_not(
    tg: Telegram, sessions: Sessions, clock: FixedClock
) -> None:
    async with sessions() as session, session.begin():
        store = Store(session)
        await SuggestionService(store, POLICY, clock).submit(
            await actor(store, ALICE), draft("Street lights out")
        )
    await tg.drain()
    wakes: list[int] = []
    tg.dp["transaction"].on_queued = lambda: wakes.append(1)
    ada = tg.member(ADMIN, "Ada", GROUP, "administrator", language_code="en")
    alice = tg.person(ALICE, "Alice", language_code="en")

    before = await queued(sessions)
    await alice.send("/mine")
    assert wakes == []
    assert await queued(sessions) == before

    await ada.press("🔍 Take")
    assert await queued(sessions) > before
    assert wakes == [1]
    # Asking for information opens a prompt: nothing queued yet, nobody woken.
    after = await queued(sessions)
    await ada.press("❓ Ask for information")
    assert await queued(sessions) == after
    assert wakes == [1]
