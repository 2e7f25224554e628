"""The end-to-end stage: the sandbox in this process, the real bot as a subprocess.

The test plays the people only through the sandbox's control API over HTTP, as the
demo's chat page does; the bot knows nothing of the test and talks HTTP to the sandbox
as it would to Telegram.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456:" + "E2eTokenE2eTokenE2eTokenE2eToken"
GROUP = -100500
# Generous: a loaded CI machine runs the whole suite beside this.
WAIT = float(os.environ.get("OUTPOST_E2E_WAIT", "30"))

Message = dict[str, Any]


class Control:
    """The sandbox's control API, as the people's side of Telegram."""

    def __init__(self, url: str, http: aiohttp.ClientSession) -> None:
        self.url = url
        self.http = http

    async def _call(self, verb: str, path: str, body: Any = None) -> Any:
        async with self.http.request(verb, self.url + path, json=body) as response:
            data = await response.json()
            if response.status >= 400:
                raise AssertionError(f"{verb} {path} {body!r}: {response.status} {data!r}")
            return data

    async def user(self, user_id: int, first_name: str, language_code: str = "en") -> Any:
        body = {"id": user_id, "first_name": first_name, "language_code": language_code}
        return await self._call("POST", "/sandbox/users", body)

    async def group(self, chat_id: int, title: str, members: dict[int, str]) -> Any:
        body = {
            "id": chat_id,
            "type": "supergroup",
            "title": title,
            "members": [{"user_id": u, "status": s} for u, s in members.items()],
        }
        return await self._call("POST", "/sandbox/chats", body)

    async def send(self, chat_id: int, from_id: int, **fields: Any) -> Any:
        return await self._call(
            "POST", "/sandbox/messages", {"chat_id": chat_id, "from_id": from_id, **fields}
        )

    async def press(self, chat_id: int, from_id: int, **how: Any) -> Any:
        return await self._call(
            "POST", "/sandbox/callbacks", {"chat_id": chat_id, "from_id": from_id, **how}
        )

    async def messages(self, chat_id: int) -> list[Message]:
        data = await self._call("GET", f"/sandbox/chats/{chat_id}/messages")
        return list(data["messages"])

    async def requests(self, method: str | None = None) -> list[dict[str, Any]]:
        path = "/sandbox/requests" + (f"?method={method}" if method else "")
        return list((await self._call("GET", path))["requests"])

    async def fault(self, **spec: Any) -> Any:
        return await self._call("POST", "/sandbox/faults", spec)

    async def clear_faults(self) -> None:
        await self._call("DELETE", "/sandbox/faults")

    async def limits(self, **settings: Any) -> None:
        await self._call("POST", "/sandbox/limits", settings)

    async def redeliver(self, update_id: int) -> None:
        await self._call("POST", "/sandbox/redeliver", {"update_id": update_id})

    async def block(self, user_id: int, blocked: bool) -> None:
        await self._call("POST", "/sandbox/block", {"user_id": user_id, "blocked": blocked})

    async def wait_for(
        self,
        chat_id: int,
        found: Callable[[list[Message]], Any],
        what: str,
        within: float = WAIT,
    ) -> Any:
        """Poll the chat until ``found(messages)`` is truthy; returns what it returned."""
        deadline = time.monotonic() + within
        while True:
            messages = await self.messages(chat_id)
            result = found(messages)
            if result:
                return result
            if time.monotonic() > deadline:
                shown = "\n".join(f"  {m.get('text')!r}" for m in messages[-8:])
                raise AssertionError(f"chat {chat_id}: no {what} in {within}s; last:\n{shown}")
            await asyncio.sleep(0.05)


def bot_said(messages: list[Message]) -> list[Message]:
    return [m for m in messages if m.get("from_bot") and not m.get("deleted")]


def text_of(message: Message) -> str:
    return str(message.get("text") or message.get("caption") or "")


def buttons(message: Message) -> list[tuple[str, str]]:
    markup = message.get("reply_markup") or {}
    return [
        (b["text"], b.get("callback_data", ""))
        for row in markup.get("inline_keyboard", [])
        for b in row
    ]


@dataclass
class Person:
    """Someone in a chat: a private chat (chat_id = their id) or the admin group."""

    control: Control
    user_id: int
    name: str
    chat_id: int
    seen: int = 0  # how many of the bot's messages in this chat were already looked at

    async def say(self, text: str, **extra: Any) -> Any:
        return await self.control.send(self.chat_id, self.user_id, text=text, **extra)

    async def press(self, text: str, *, message_id: int | None = None) -> Any:
        how: dict[str, Any] = {"text": text}
        if message_id is not None:
            how["message_id"] = message_id
        return await self.control.press(self.chat_id, self.user_id, **how)

    async def press_when_shown(self, text: str, within: float = WAIT) -> Any:
        """Press the button once the bot shows it: a bot still handling what came
        before may be between taking it off one message and putting it on the next."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            shown = await self.expect_button(text, within)
            try:
                return await self.press(text, message_id=shown["message_id"])
            except AssertionError as e:
                if "no button" not in str(e) or asyncio.get_running_loop().time() > deadline:
                    raise
            await asyncio.sleep(0.05)

    async def press_data(self, data: str, *, message_id: int | None = None) -> Any:
        how: dict[str, Any] = {"data": data}
        if message_id is not None:
            how["message_id"] = message_id
        return await self.control.press(self.chat_id, self.user_id, **how)

    async def bot_messages(self) -> list[Message]:
        return bot_said(await self.control.messages(self.chat_id))

    async def expect(self, fragment: str, within: float = WAIT) -> Message:
        """The first new bot message containing ``fragment`` (edits count: a message
        edited to contain it is found too)."""

        def found(messages: list[Message]) -> Message | None:
            for message in bot_said(messages):
                if fragment in text_of(message) and (
                    message["message_id"] > self.seen or message.get("edited")
                ):
                    return message
            return None

        message: Message = await self.control.wait_for(
            self.chat_id, found, f"bot message with {fragment!r}", within
        )
        self.seen = max(self.seen, message["message_id"])
        return message

    async def expect_button(self, label: str, within: float = WAIT) -> Message:
        """The newest bot message with a button whose text contains ``label``."""

        def found(messages: list[Message]) -> Message | None:
            for message in reversed(bot_said(messages)):
                if any(label in text for text, _ in buttons(message)):
                    return message
            return None

        message: Message = await self.control.wait_for(
            self.chat_id, found, f"button {label!r}", within
        )
        return message


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class BotProcess:
    """`outpost run` as a subprocess, with its own environment and log file."""

    workdir: Path
    api_url: str
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def database(self) -> Path:
        return self.workdir / "outpost.db"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"bot-{self.starts}.log"

    def environment(self) -> dict[str, str]:
        # Nothing from the developer's shell or a .env: only what the test sets.
        names = {name.upper() for name in Settings.model_fields}
        clean = {k: v for k, v in os.environ.items() if k.upper() not in names}
        return {
            **clean,
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": self.api_url,
            "DATABASE_URL": f"sqlite+aiosqlite:///{self.database}",
            "ADMIN_CHAT_ID": str(GROUP),
            "DEFAULT_LOCALE": "en",
            "LOG_FORMAT": "json",
            "LOG_LEVEL": "INFO",
            # Any Bot API call made inside a transaction is an error in the log.
            "OUTPOST_GUARD_CALLS": "1",
            **self.env,
        }

    def migrate(self) -> None:
        result = subprocess.run(
            [sys.executable, "-m", "bot", "migrate"],
            cwd=self.workdir,
            env=self.environment(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr

    async def start(self, ready: str = "polling for updates") -> None:
        assert self.process is None or self.process.poll() is not None
        self.starts += 1
        log = self.log_path.open("wb")
        # Popen returns at once; the waiting is wait_log's, which sleeps asynchronously.
        self.process = subprocess.Popen(  # noqa: ASYNC220
            [sys.executable, "-m", "bot", "run"],
            cwd=self.workdir,
            env=self.environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        await self.wait_log(ready)

    def lines(self) -> list[dict[str, Any]]:
        entries = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            try:
                entries.append(json.loads(line))
            except ValueError:
                entries.append({"msg": line, "level": "RAW"})
        return entries

    async def wait_log(self, message: str, within: float = WAIT) -> dict[str, Any]:
        deadline = time.monotonic() + within
        while True:
            for entry in self.lines():
                if entry.get("msg") == message:
                    return entry
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(
                    f"the bot exited ({self.process.returncode}) before {message!r}:\n"
                    + self.log_path.read_text(errors="replace")[-3000:]
                )
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no {message!r} in the bot's log after {within}s:\n"
                    + self.log_path.read_text(errors="replace")[-3000:]
                )
            await asyncio.sleep(0.05)

    def kill9(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)

    async def terminate(self, within: float = WAIT) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + within
        while self.process.poll() is None:
            if time.monotonic() > deadline:
                self.process.kill()
                raise AssertionError("the bot did not stop on SIGTERM")
            await asyncio.sleep(0.05)
        return int(self.process.returncode)

    def errors(self) -> list[dict[str, Any]]:
        return [e for e in self.lines() if e.get("level") in ("ERROR", "CRITICAL", "RAW")]


async def eventually(check: Callable[[], Any], what: str, within: float = WAIT) -> Any:
    """Poll ``check()`` until it is truthy; returns its value."""
    deadline = time.monotonic() + within
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not {what} after {within}s")
        await asyncio.sleep(0.05)


async def updates(control: Control) -> dict[int, dict[str, Any]]:
    data = await control._call("GET", "/sandbox/updates")
    return {u["update_id"]: u for u in data["updates"]}


def every_error(process: BotProcess) -> list[dict[str, Any]]:
    """The errors in the logs of every start of ``process``, not only the last."""
    found = []
    for start in range(1, process.starts + 1):
        path = process.workdir / f"bot-{start}.log"
        if not path.exists():
            continue
        for line in path.read_text(errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                entry = {"msg": line, "level": "RAW"}
            if entry.get("level") in ("ERROR", "CRITICAL", "RAW"):
                found.append({**entry, "start": start})
    return found
