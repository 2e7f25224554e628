"""What the two conformance suites share: the sandbox on a free port, the people a test
plays through the control API, the files it uploads, and the errors Telegram answers.

Each suite drives the sandbox with one real client (aiogram, python-telegram-bot) and
lets that client parse every answer into its own types; what the client sent is then
read back from the sandbox's request log and chats. Nothing here imports either client,
so each suite stays a fair, independent check.
"""

from __future__ import annotations

import base64
import socket
import struct
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp

from sandbox.server import Sandbox, SandboxConfig
from tests.sandbox.conftest import FakeClock

TOKEN = "42:CONFORMANCE-abcdefghijklmnopqrstuvwxyz"
BOT_ID = 42
BOT_USERNAME = "outpost_bot"

# Telegram's descriptions, as the sandbox must answer them (sandbox/README.md).
TEXT_TOO_LONG = "Bad Request: message is too long"
CAPTION_TOO_LONG = "Bad Request: message caption is too long"
BUTTON_DATA_INVALID = "Bad Request: BUTTON_DATA_INVALID"
CANT_PARSE = "Bad Request: can't parse entities: "
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
CHAT_NOT_FOUND = "Bad Request: chat not found"
NO_MESSAGE_TO_EDIT = "Bad Request: message to edit not found"
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
BLOCKED = "Forbidden: bot was blocked by the user"
NOT_A_MEMBER = "Forbidden: bot is not a member of the supergroup chat"
PRIVATE_LEAVE = "Bad Request: chat member status can't be changed in private chats"
WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)


def png(width: int, height: int) -> bytes:
    """A real grey PNG of that size: the sandbox reads a photo's size from its header."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = (b"\x00" + b"\x80" * width) * height
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PHOTO = png(64, 48)
OTHER_PHOTO = png(32, 20)
PDF = b"%PDF-1.4\n% an observer's plan of the crossing\n%%EOF\n"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@contextmanager
def refusing_url() -> Iterator[str]:
    """A webhook URL whose port is taken but not listening: every push is refused at
    once, so a test sees Telegram's "last error" without waiting for a timeout."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{taken.getsockname()[1]}/telegram"


class People:
    """The control API: the people who write and press buttons, and what the sandbox
    recorded of the bot's calls."""

    def __init__(self, url: str, http: aiohttp.ClientSession) -> None:
        self.url = url
        self.http = http

    async def _post(self, path: str, body: Any) -> Any:
        async with self.http.post(f"{self.url}{path}", json=body) as resp:
            answer = await resp.json()
            assert resp.status == 200, answer
            return answer

    async def _get(self, path: str) -> Any:
        async with self.http.get(f"{self.url}{path}") as resp:
            answer = await resp.json()
            assert resp.status == 200, answer
            return answer

    async def user(self, first_name: str, **fields: Any) -> int:
        return int((await self._post("/sandbox/users", {"first_name": first_name, **fields}))["id"])

    async def group(self, title: str, members: dict[int, str], **extra: Any) -> int:
        """A supergroup; ``added_by=<member>`` has that member add the bot to it."""
        body = {
            "type": "supergroup",
            "title": title,
            "members": [{"user_id": uid, "status": status} for uid, status in members.items()],
            **extra,
        }
        return int((await self._post("/sandbox/chats", body))["id"])

    async def send(self, from_id: int, chat_id: int | None = None, **what: Any) -> dict[str, Any]:
        """A person's message (text, photo, document, contact or location); its update."""
        body = {"from_id": from_id, "chat_id": from_id if chat_id is None else chat_id, **what}
        answer: dict[str, Any] = await self._post("/sandbox/messages", body)
        return answer

    async def press(self, from_id: int, chat_id: int | None = None, **which: Any) -> dict[str, Any]:
        body = {"from_id": from_id, "chat_id": from_id if chat_id is None else chat_id, **which}
        answer: dict[str, Any] = await self._post("/sandbox/callbacks", body)
        return answer

    async def callback_answer(self, query_id: str) -> dict[str, Any]:
        answer: dict[str, Any] = await self._get(f"/sandbox/callbacks/{query_id}")
        return answer

    async def callbacks(self) -> dict[str, Any]:
        """Every press, how late it was answered, and the summary."""
        answer: dict[str, Any] = await self._get("/sandbox/callbacks")
        return answer

    async def faults(self) -> dict[str, Any]:
        answer: dict[str, Any] = await self._get("/sandbox/faults")
        return answer

    async def block(self, user_id: int, *, blocked: bool = True) -> int:
        answer = await self._post("/sandbox/block", {"user_id": user_id, "blocked": blocked})
        return int(answer["update_id"])

    async def fault(self, **spec: Any) -> None:
        await self._post("/sandbox/faults", spec)

    async def limits(self, **settings: Any) -> None:
        await self._post("/sandbox/limits", settings)

    async def messages(self, chat_id: int) -> list[dict[str, Any]]:
        return list((await self._get(f"/sandbox/chats/{chat_id}/messages"))["messages"])

    async def updates(self) -> list[dict[str, Any]]:
        return list((await self._get("/sandbox/updates"))["updates"])

    async def bot(self) -> dict[str, Any]:
        answer: dict[str, Any] = await self._get("/sandbox/bot")
        return answer

    async def requests(self, method: str | None = None) -> list[dict[str, Any]]:
        query = f"?method={method}" if method else ""
        return list((await self._get(f"/sandbox/requests{query}"))["requests"])

    async def sent(self, method: str) -> dict[str, Any]:
        """The parameters of the last call of ``method``, as the sandbox parsed them."""
        logged = await self.requests(method)
        assert logged, f"no {method} call was logged"
        params: dict[str, Any] = logged[-1]["params"]
        return params


def uploaded(params: dict[str, Any], name: str) -> dict[str, Any]:
    """How the request log shows the file sent as parameter ``name``:
    ``{"file": filename, "size": n}``, whether the client uploaded it under the
    parameter's own name or as a part that ``attach://<part>`` points at."""
    value = params[name]
    if isinstance(value, str) and value.startswith("attach://"):
        value = params[value.removeprefix("attach://")]
    assert isinstance(value, dict), (name, params)
    return value


def attached(params: dict[str, Any], reference: str) -> dict[str, Any]:
    """The logged file part an ``attach://<part>`` reference (inside a media list)
    points at."""
    assert reference.startswith("attach://"), reference
    part = params[reference.removeprefix("attach://")]
    assert isinstance(part, dict), (reference, params)
    return part


@dataclass
class Stage:
    sandbox: Sandbox
    people: People
    clock: FakeClock

    @property
    def url(self) -> str:
        return self.sandbox.url


def failed_push(stage: Stage) -> Callable[[], Awaitable[bool]]:
    """Whether the sandbox has tried to push to the webhook and failed."""

    async def check() -> bool:
        return (await stage.people.bot())["webhook"]["last_error_message"] is not None

    return check


@asynccontextmanager
async def open_stage(*, limits: bool = False) -> AsyncIterator[Stage]:
    """The sandbox on a free port, with a clock that moves only when the test says, and
    the people; limits off unless a test is about them."""
    clock = FakeClock()
    config = SandboxConfig(port=0, limits=limits, bot_username=BOT_USERNAME, bot_id=BOT_ID)
    async with Sandbox(config, clock=clock) as sandbox, aiohttp.ClientSession() as http:
        yield Stage(sandbox, People(sandbox.url, http), clock)
