"""/healthz: 200 when the database (and Redis, when set) answer, 503 otherwise, saying
which; on the webhook's app and on a polling bot's status server; never a secret."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.runtime.status import Status, start_status_server, status_routes
from bot.runtime.webhook import webhook_app
from storage.engine import create_engine, session_factory
from storage.models import Lease

SECRET = "hunter2-not-for-your-eyes"
HOLDER = "host-a:4242:deadbeef"


async def noop(raw: dict[str, Any]) -> None:
    pass


async def get(app: web.Application, path: str) -> tuple[int, str, Any]:
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    try:
        response = await client.get(path)
        text = await response.text()
        body = await response.json() if response.content_type == "application/json" else None
        return response.status, text, body
    finally:
        await client.close()


def status_app(status: Status) -> web.Application:
    app = web.Application()
    status_routes(app, status)
    return app


@pytest.fixture
async def unreachable() -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A PostgreSQL URL, with a password, where nothing listens."""
    engine = create_engine(f"postgresql+asyncpg://outpost:{SECRET}@127.0.0.1:1/outpost")
    yield session_factory(engine)
    await engine.dispose()


async def hold_lease(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        expires = datetime.now(UTC) + timedelta(minutes=3)
        session.add(Lease(name="scheduler", holder=HOLDER, expires_at=expires))


async def test_healthy(sessions: async_sessionmaker[AsyncSession]) -> None:
    await hold_lease(sessions)
    status, _text, body = await get(status_app(Status(sessions, None)), "/healthz")
    assert status == 200
    assert body == {
        "ok": True,
        "database": "ok",
        "redis": "off",
        "lease_holder": HOLDER,
        "worker": os.getpid(),
    }


async def test_no_lease_holder(sessions: async_sessionmaker[AsyncSession]) -> None:
    status, _text, body = await get(status_app(Status(sessions, None)), "/healthz")
    assert status == 200
    assert body["lease_holder"] is None


async def test_the_lease_is_judged_by_the_bots_clock(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await hold_lease(sessions)
    later = Status(sessions, None, clock=lambda: datetime.now(UTC) + timedelta(hours=1))
    _status, _text, body = await get(status_app(later), "/healthz")
    assert body["lease_holder"] is None
    assert (await later.figures()).lease_holder is None


@pytest.mark.redis
async def test_healthy_with_redis(
    sessions: async_sessionmaker[AsyncSession], redis_url: str
) -> None:
    status, _text, body = await get(status_app(Status(sessions, redis_url)), "/healthz")
    assert status == 200
    assert (body["database"], body["redis"]) == ("ok", "ok")


async def test_the_database_unreachable_is_a_503_without_its_url(
    unreachable: async_sessionmaker[AsyncSession],
) -> None:
    status, text, body = await get(status_app(Status(unreachable, None)), "/healthz")
    assert status == 503
    assert body["ok"] is False
    assert body["database"].startswith("error: ")
    assert body["redis"] == "off"
    assert body["lease_holder"] is None
    assert SECRET not in text
    assert "127.0.0.1" not in text
    assert "outpost" not in text


async def test_a_broken_sqlite_path_is_a_503(tmp_path: Path) -> None:
    threads = threading.active_count()
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/no/such/dir/outpost.db")
    try:
        status, text, body = await get(
            status_app(Status(session_factory(engine), None)), "/healthz"
        )
    finally:
        await engine.dispose()
        # The failed connection's thread reports back to this loop as it ends: let it,
        # before the loop closes (else the next test meets its error).
        for _ in range(200):
            if threading.active_count() <= threads:
                break
            await asyncio.sleep(0.01)
    assert status == 503
    assert body["database"].startswith("error: ")
    assert str(tmp_path) not in text


async def test_redis_unreachable_is_reported_without_its_password(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    broken = f"redis://:{SECRET}@127.0.0.1:1/0"
    status, text, body = await get(status_app(Status(sessions, broken)), "/healthz")
    assert status == 503
    assert body["database"] == "ok"
    assert body["redis"].startswith("error: ")
    assert SECRET not in text
    assert "127.0.0.1" not in text


async def test_the_webhook_app_serves_the_status(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await hold_lease(sessions)
    app = webhook_app("/hook", "s3cret", noop, status=Status(sessions, None))
    status, _text, body = await get(app, "/healthz")
    assert status == 200
    assert body["lease_holder"] == HOLDER
    status, text, _body = await get(
        webhook_app("/hook", "s3cret", noop, status=Status(sessions, None)), "/metrics"
    )
    assert status == 200
    assert "outpost_scheduler_lease_held 1.0" in text


async def test_the_webhook_app_without_a_status_only_says_it_listens() -> None:
    status, text, _body = await get(webhook_app("/hook", "s3cret", noop), "/healthz")
    assert (status, text) == (200, "ok")
    status, _text, _body = await get(webhook_app("/hook", "s3cret", noop), "/metrics")
    assert status == 404


async def test_the_status_server_for_polling(sessions: async_sessionmaker[AsyncSession]) -> None:
    runner = await start_status_server("127.0.0.1", 0, Status(sessions, None))
    try:
        host, port = runner.addresses[0][:2]
        async with ClientSession() as http:
            async with http.get(f"http://{host}:{port}/healthz") as response:
                assert response.status == 200
                assert (await response.json())["database"] == "ok"
            async with http.get(f"http://{host}:{port}/metrics") as response:
                assert response.status == 200
                assert "outpost_outbox_pending 0.0" in await response.text()
    finally:
        await runner.cleanup()
