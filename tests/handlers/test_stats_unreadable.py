"""/stats tells the office how many updates could not be read and were set aside."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.dead_letters import record_unreadable
from tests.handlers.conftest import make_settings, new_telegram
from tests.telegram import Telegram
from tests.world import ADMIN, FixedClock, World

GROUP = -100500
SHOWN = {
    "en": "Updates that could not be read: 2 (since the bot began",
    "zh_CN": "无法读取的更新：2 条（自机器人启动以来累计",
}


@pytest.fixture(params=["en", "zh_CN"])
async def tg(
    request: pytest.FixtureRequest,
    sessions: async_sessionmaker[AsyncSession],
    world: World,
    clock: FixedClock,
) -> AsyncIterator[Telegram]:
    tg = new_telegram(sessions, clock, settings=make_settings(default_locale=request.param))
    yield tg
    await tg.bot.session.close()
    assert tg.session.problems == []


async def test_stats_counts_the_updates_set_aside_only_when_there_are_some(
    tg: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    locale = tg.dp["i18n"].default_locale
    ada = tg.member(ADMIN, "Ada", GROUP, "administrator", language_code=None)
    before = "\n".join(r.plain for r in await ada.send("/stats"))
    assert "Updates that could not be read" not in before
    assert "无法读取的更新" not in before

    assert await record_unreadable(sessions, 42, 7, "message", "message.poll.id: missing")
    assert await record_unreadable(sessions, 42, 8, "poll", "poll.id: missing")
    # Telegram sending the same one again counts once.
    assert not await record_unreadable(sessions, 42, 8, "poll", "poll.id: missing")
    after = "\n".join(r.plain for r in await ada.send("/stats"))
    assert SHOWN[locale] in after
