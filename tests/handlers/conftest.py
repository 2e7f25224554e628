"""Handler tests: the real Dispatcher, the fake Telegram, a seeded database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.enums import ParseMode
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery.drain import drain
from bot.dispatcher import build_dispatcher, policy_of
from bot.i18n import build_i18n
from bot.middlewares.throttling import ThrottlePolicy
from bot.settings import Settings, load_settings
from tests.telegram import TOKEN, RecordingSession, Telegram
from tests.world import ADMIN, FixedClock, World, build_world

# Generous enough that no conversation in these tests is ever throttled.
RELAXED = ThrottlePolicy(rate=100.0, burst=1000)


def make_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "bot_token": TOKEN,
        "admin_ids": [ADMIN],
        "admin_chat_id": -100500,
        "default_locale": "zh_CN",
        "jurisdiction_code": "WZ",
        "redis_url": None,
    }
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
async def world(sessions: async_sessionmaker[AsyncSession]) -> World:
    return await build_world(sessions)


@pytest.fixture
async def tg(
    sessions: async_sessionmaker[AsyncSession], world: World, clock: FixedClock
) -> AsyncIterator[Telegram]:
    tg = new_telegram(sessions, clock)
    yield tg
    await tg.bot.session.close()
    assert tg.session.problems == [], "the bot sent what Telegram would refuse"


_I18N = {"zh_CN": build_i18n("zh_CN"), "en": build_i18n("en")}


def new_telegram(
    sessions: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    *,
    session: RecordingSession | None = None,
    settings: Settings | None = None,
    throttle: ThrottlePolicy = RELAXED,
) -> Telegram:
    """A bot and Dispatcher; pass the old session to keep the chats across a restart."""
    settings = settings or make_settings()
    session = session or RecordingSession()
    bot = Bot(TOKEN, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
    i18n = _I18N[settings.default_locale]
    dp = build_dispatcher(settings, sessions=sessions, clock=clock, throttle=throttle, i18n=i18n)
    # A busy test machine must not turn a press's answer into "⏳" (0.7 s in production);
    # the tests of that answer set it back themselves.
    dp["transaction"].answer_within = 5.0
    dp["transaction"].tell_after = 20.0
    policy = policy_of(settings)

    async def courier(bot: Bot) -> object:
        return await drain(bot, sessions, settings=settings, i18n=i18n, policy=policy, clock=clock)

    return Telegram(bot=bot, session=session, dp=dp, courier=courier)
