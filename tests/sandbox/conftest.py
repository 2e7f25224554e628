"""The sandbox served in-process on a free port, and a plain HTTP client to talk to it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from sandbox.server import Sandbox, SandboxConfig
from sandbox.world import World

TOKEN = "42:TEST-TOKEN-abcdefghijklmnopqrstuvwxyz"
BOT_ID = 42


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 10.0) -> None:
    """Wait until ``check`` holds, for what the sandbox does in the background (webhook
    pushes). ``within`` only bounds a hang; no test relies on how fast it is."""
    give_up = asyncio.get_running_loop().time() + within
    while not await check():
        if asyncio.get_running_loop().time() > give_up:
            raise AssertionError(f"still not true after {within} s: {check}")
        await asyncio.sleep(0.01)


class FakeClock:
    """Monotonic seconds that pass only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Client:
    """Bot API calls as a bot makes them, and control API calls as a test plays people."""

    def __init__(self, sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
        self.sandbox = sandbox
        self.http = http
        self.url = sandbox.url

    @property
    def world(self) -> World:
        return self.sandbox.state

    # ---- the Bot API ---------------------------------------------------------------

    async def api(self, method: str, token: str = TOKEN, **params: Any) -> tuple[int, Any]:
        """A call with a JSON body."""
        async with self.http.post(f"{self.url}/bot{token}/{method}", json=params) as resp:
            return resp.status, await resp.json()

    async def ok(self, method: str, **params: Any) -> Any:
        status, answer = await self.api(method, **params)
        assert status == 200, answer
        assert answer["ok"] is True, answer
        return answer["result"]

    async def error(self, method: str, **params: Any) -> tuple[int, str]:
        status, answer = await self.api(method, **params)
        assert answer["ok"] is False, answer
        assert answer["error_code"] == status
        return status, answer["description"]

    async def form(self, method: str, **params: Any) -> tuple[int, Any]:
        """A call as a urlencoded form, every value a string, objects as JSON text."""
        data = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
        async with self.http.post(f"{self.url}/bot{TOKEN}/{method}", data=data) as resp:
            return resp.status, await resp.json()

    async def multipart(
        self, method: str, files: dict[str, tuple[str, bytes]], **params: Any
    ) -> tuple[int, Any]:
        form = aiohttp.FormData(quote_fields=False)
        for key, value in params.items():
            form.add_field(key, value if isinstance(value, str) else json.dumps(value))
        for part, (filename, data) in files.items():
            form.add_field(part, data, filename=filename)
        async with self.http.post(f"{self.url}/bot{TOKEN}/{method}", data=form) as resp:
            return resp.status, await resp.json()

    # ---- the control API -----------------------------------------------------------

    async def post(self, path: str, body: Any = None) -> tuple[int, Any]:
        async with self.http.post(f"{self.url}{path}", json=body or {}) as resp:
            return resp.status, await resp.json()

    async def get(self, path: str) -> tuple[int, Any]:
        async with self.http.get(f"{self.url}{path}") as resp:
            return resp.status, await resp.json()

    async def delete(self, path: str) -> tuple[int, Any]:
        async with self.http.delete(f"{self.url}{path}") as resp:
            return resp.status, await resp.json()

    async def control(self, path: str, body: Any = None) -> Any:
        status, answer = await self.post(path, body)
        assert status == 200, answer
        return answer

    async def user(self, first_name: str = "Alice", **fields: Any) -> int:
        return int(
            (await self.control("/sandbox/users", {"first_name": first_name, **fields}))["id"]
        )

    async def group(self, members: dict[int, str], **fields: Any) -> int:
        body = {
            "type": "supergroup",
            "title": "Office",
            "members": [{"user_id": u, "status": s} for u, s in members.items()],
            **fields,
        }
        return int((await self.control("/sandbox/chats", body))["id"])

    async def say(self, from_id: int, text: str, chat_id: int | None = None, **extra: Any) -> Any:
        body = {"from_id": from_id, "chat_id": from_id if chat_id is None else chat_id}
        return await self.control("/sandbox/messages", {**body, "text": text, **extra})

    async def messages(self, chat_id: int, since_id: int = 0) -> list[dict[str, Any]]:
        status, answer = await self.get(f"/sandbox/chats/{chat_id}/messages?since_id={since_id}")
        assert status == 200, answer
        return list(answer["messages"])

    async def requests(self, query: str = "") -> list[dict[str, Any]]:
        status, answer = await self.get(f"/sandbox/requests{query}")
        assert status == 200, answer
        return list(answer["requests"])


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def config() -> SandboxConfig:
    """Limits off unless a test turns them on: most tests are about something else."""
    return SandboxConfig(port=0, limits=False, webhook_retry_delay=0.05)


@pytest.fixture
async def client(config: SandboxConfig, clock: FakeClock) -> AsyncIterator[Client]:
    async with (
        Sandbox(config, clock=clock) as sandbox,
        aiohttp.ClientSession() as http,
    ):
        yield Client(sandbox, http)
