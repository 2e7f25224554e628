"""The handlers' own replies go through the same pacing and retries: with 429s and 500s
injected on sendMessage, an observer's reply still arrives, once."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery.limits import Limiter
from bot.dispatcher import build_bot, build_dispatcher
from bot.i18n import build_i18n
from bot.settings import Settings
from tests.delivery.clocks import InstantTime
from tests.handlers.conftest import RELAXED
from tests.telegram import RecordingSession, Telegram
from tests.world import ALICE, FixedClock, World


@pytest.fixture
def time() -> InstantTime:
    return InstantTime()


@pytest.fixture
async def paced(
    sessions: async_sessionmaker[AsyncSession],
    world: World,
    clock: FixedClock,
    settings: Settings,
    time: InstantTime,
) -> AsyncIterator[Telegram]:
    session = RecordingSession()
    bot = build_bot(settings, session, limiter=Limiter(clock=time.clock, sleep=time.sleep))
    dp = build_dispatcher(
        settings, sessions=sessions, clock=clock, throttle=RELAXED, i18n=build_i18n("en")
    )
    yield Telegram(bot=bot, session=session, dp=dp)
    await bot.session.close()
    assert session.problems == []


async def test_a_reply_arrives_through_429s_and_500s(paced: Telegram, time: InstantTime) -> None:
    paced.session.fail("SendMessage", "retry_after", retry_after=2, chat_id=ALICE)
    paced.session.fail("SendMessage", "server", chat_id=ALICE)
    paced.session.fail("SendMessage", "retry_after", retry_after=1, chat_id=ALICE)
    alice = paced.person(ALICE, "Alice", "en")
    [reply] = await alice.send("/help")
    assert reply.plain
    assert [f.times for f in paced.session.faults] == [0, 0, 0]
    assert time.now >= 3.0
