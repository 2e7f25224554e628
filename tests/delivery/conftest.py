"""Delivery tests: the handler tests' fake Telegram and seeded district, in English."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.settings import Settings
from tests.handlers.conftest import make_settings, new_telegram
from tests.telegram import Telegram
from tests.world import FixedClock, World, build_world

GROUP = -100500


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def settings() -> Settings:
    return make_settings(default_locale="en", admin_chat_id=GROUP)


@pytest.fixture
async def world(sessions: async_sessionmaker[AsyncSession]) -> World:
    return await build_world(sessions)


@pytest.fixture
async def tg(
    sessions: async_sessionmaker[AsyncSession], world: World, clock: FixedClock, settings: Settings
) -> AsyncIterator[Telegram]:
    tg = new_telegram(sessions, clock, settings=settings)
    yield tg
    await tg.bot.session.close()
    assert tg.session.problems == [], "the bot sent what Telegram would refuse"
