"""A city for the tests: the city's office placed above the test world's district (the
home office), as an operator would, its group bound by its first admin."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.offices import HOME, OfficeInfo
from bot.services.offices import OfficeService
from storage.models import TelegramUser
from storage.store import Store
from tests.world import POLICY, FixedClock


async def city_above_home(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock, group: int, admin: int
) -> OfficeInfo:
    """CQ 重庆市 above the home office, bound to ``group`` by ``admin`` (recorded as a
    Telegram user who reads English)."""
    async with sessions() as session, session.begin():
        offices = OfficeService(Store(session), POLICY, clock)
        home = (await offices.tree()).get(HOME)
        assert home is not None
        made = await offices.create(None, "CQ", "重庆市 | Chongqing", above=home)
        bound = await offices.bind(made.bind_code, group, admin)
        session.add(TelegramUser(id=admin, first_name="Chen", language_code="en"))
        return bound
