"""The webhook endpoint: the secret header, and 200 only once the update is handled."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from bot.runtime.webhook import SECRET_HEADER, NotAnUpdate, webhook_app

SECRET = "s3cret_-XYZ"
UPDATE = {"update_id": 41, "message": {"message_id": 1}}


class Handler:
    def __init__(self) -> None:
        self.got: list[dict[str, Any]] = []
        self.finished = False
        self.release: asyncio.Event | None = None
        self.error: Exception | None = None
        self.entered = asyncio.Event()

    async def __call__(self, raw: dict[str, Any]) -> None:
        self.got.append(raw)
        self.entered.set()
        if self.release is not None:
            await self.release.wait()
        if self.error is not None:
            raise self.error
        self.finished = True


async def client_for(handler: Handler) -> TestClient[Any, Any]:
    client: TestClient[Any, Any] = TestClient(TestServer(webhook_app("/hook", SECRET, handler)))
    await client.start_server()
    return client


async def test_a_wrong_or_missing_secret_is_refused_and_nothing_handled() -> None:
    handler = Handler()
    client = await client_for(handler)
    try:
        wrong = await client.post("/hook", json=UPDATE, headers={SECRET_HEADER: "guess"})
        missing = await client.post("/hook", json=UPDATE)
        assert wrong.status == 401
        assert missing.status == 401
        assert await wrong.json() == {"ok": False, "error": "unauthorized"}
        assert handler.got == []
    finally:
        await client.close()


async def test_200_comes_only_after_the_update_is_handled() -> None:
    handler = Handler()
    handler.release = asyncio.Event()
    client = await client_for(handler)
    try:
        request = asyncio.create_task(
            client.post("/hook", json=UPDATE, headers={SECRET_HEADER: SECRET})
        )
        await asyncio.wait_for(handler.entered.wait(), 5)
        await asyncio.sleep(0.05)
        assert not request.done()
        handler.release.set()
        response = await asyncio.wait_for(request, 5)
        assert response.status == 200
        assert handler.finished
        assert handler.got == [UPDATE]
    finally:
        await client.close()


async def test_a_failed_update_is_not_acknowledged() -> None:
    handler = Handler()
    handler.error = RuntimeError("database is down")
    client = await client_for(handler)
    try:
        response = await client.post("/hook", json=UPDATE, headers={SECRET_HEADER: SECRET})
        # Telegram retries anything but 2xx.
        assert response.status == 500
    finally:
        await client.close()


async def test_garbage_is_a_400_not_a_retry() -> None:
    handler = Handler()
    client = await client_for(handler)
    try:
        headers = {SECRET_HEADER: SECRET}
        not_json = await client.post("/hook", data=b"{nope", headers=headers)
        not_update = await client.post("/hook", json=[1, 2], headers=headers)
        handler.error = NotAnUpdate("message: field required")
        unparsed = await client.post("/hook", json=UPDATE, headers=headers)
        assert [not_json.status, not_update.status, unparsed.status] == [400, 400, 400]
        assert handler.got == [UPDATE]
        health = await client.get("/healthz")
        assert health.status == 200
    finally:
        await client.close()
