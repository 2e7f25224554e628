"""PostgreSQL connections that die (a server restart, a failover, an idle timeout) are
found out when they are used, not pinged before every transaction: the transaction
that meets a dead one is tried again on a fresh connection, and nothing is lost."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import TelegramUser
from tests.conftest import PG_ADMIN_DSN
from tests.telegram import Telegram
from tests.world import STRANGER


@pytest.fixture
def db_url(pg_url: str) -> str:
    return pg_url


async def test_an_update_meeting_dead_connections_goes_through_on_fresh_ones(
    tg: Telegram, sessions: async_sessionmaker[AsyncSession], db_url: str
) -> None:
    stan = tg.person(STRANGER, "Stan", "en")
    await stan.send("/lang")
    assert await _kill_connections_to(make_url(db_url).database) > 0
    [done] = await stan.press("中文")
    assert done.plain == "语言已设置为：中文。"
    async with sessions() as session:
        user = await session.get(TelegramUser, STRANGER)
    assert user is not None
    assert user.locale == "zh_CN"


async def _kill_connections_to(database: str | None) -> int:
    import asyncpg

    admin = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    try:
        killed: int = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            database,
        )
    finally:
        await admin.close()
    return killed
