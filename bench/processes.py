"""Benchmark: three webhook workers on PostgreSQL and Redis, and a broadcast to 10,000.

The deployment a city runs (docs/operations.md): ``outpost run --workers 3`` as a
subprocess, on a throw-away PostgreSQL database (``outpost_bench_proc_<pid>``, dropped
afterwards) and a Redis database of its own (``--redis-db``, 14 by default; the bot's
keys there expire by themselves), against the sandbox in this process, which plays
Telegram: webhook pushes up to 40 at once (one at a time per chat), its flood limits on
(30 messages a second overall, 1 a second per private chat, 20 a minute per group) and
100 ms added to every Bot API call.

1. **Updates**: 50 observers start filing at once (``/new``, a domain, a kind, a title:
   4 updates each, each step waiting for the bot's answer), then send 16 lines of
   details each as fast as the sandbox takes them: 1,000 updates. An update is
   *applied once* when the bot claimed it and its effect shows exactly once: the step
   it took, or its line once in the observer's draft, in the order sent. *Lost*: the
   rest.
2. **Broadcast**: the office's admin sends ``/broadcast`` in the group and presses
   Send; every observer (10,000) gets a copy through the three workers' outbox
   senders, which pace themselves together through Redis. From the sandbox's record of
   requests: the *rate* of the broadcast's accepted sends (from the first to the last),
   the most accepted sends in any one-second window (``max-1s-window``; Telegram's 30
   a second is counted so), the 429s answered, and the observers without a copy
   (*lost*).

Printed last, in the form issue 22 gives:

    PROCESSES 3 updates 1000 applied-once 1000 lost 0 broadcast 10000 rate 29.2/s \
        max-1s-window 30 429s 0 lost 0

(one line; broken here only to fit the page).

Targets: lost 0 both times, applied-once equal to updates, max-1s-window ≤ 30, at most
one 429 (none after the first), rate ≥ 28.5/s. Exit status 0 when all are met.

Run from the repository root (about seven minutes; the broadcast is six of them):

    .venv/bin/python bench/processes.py
    .venv/bin/python bench/processes.py --observers 500 --people 10 --details 4
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import asyncio
import bisect
import gc
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.broadcast import ADMIN, FIRST_OBSERVER, GROUP, TEXT, TOKEN, Control, copies, seed
from bench.services import add_pg_dsn, throwaway_postgres
from bot.domain.statuses import FocusDomain, SuggestionKind
from bot.settings import Settings
from handlers.callbacks import FileCb
from sandbox.server import Sandbox, SandboxConfig
from storage.engine import create_engine, session_factory

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-processes-secret"
WAIT = 120.0
DOMAIN = FileCb(step="domain", value=FocusDomain.GRASSROOTS_GOVERNANCE.value).pack()
KIND = FileCb(step="kind", value=SuggestionKind.PROBLEM.value).pack()
# Nothing from the developer's shell or .env configures the bot: only what the run sets.
_SETTINGS = {name.upper() for name in Settings.model_fields} | {"OUTPOST_CLOCK_FILE"}
# What the sandbox counts against Telegram's 30 messages a second.
_SENDING = {"sendmessage", "sendphoto", "senddocument", "sendmediagroup", "copymessage"}


@dataclass(frozen=True)
class Options:
    workers: int
    people: int
    details: int
    observers: int
    latency: float
    redis_url: str


@dataclass
class Result:
    workers: int
    updates: int
    applied_once: int
    lost_updates: int
    broadcast: int
    rate: float
    max_window: int
    throttled: int
    lost_copies: int

    def line(self) -> str:
        return (
            f"PROCESSES {self.workers} updates {self.updates} applied-once {self.applied_once} "
            f"lost {self.lost_updates} broadcast {self.broadcast} rate {self.rate:.1f}/s "
            f"max-1s-window {self.max_window} 429s {self.throttled} lost {self.lost_copies}"
        )

    @property
    def sound(self) -> bool:
        return (
            self.lost_updates == 0
            and self.applied_once == self.updates
            and self.max_window <= 30
            and self.throttled <= 1
            and self.rate >= 28.5
            and self.lost_copies == 0
        )


# ---- the bot, as the operator runs it ------------------------------------------------------


class Workers:
    """``outpost run --workers N`` as a subprocess, its log lines in a file."""

    def __init__(self, folder: Path, env: dict[str, str], workers: int) -> None:
        self.log = folder / "bot.log"
        self.env = env
        self.workers = workers
        self.process: subprocess.Popen[bytes] | None = None

    def run(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "bot", *args], cwd=ROOT, env=self.env, check=True,
            capture_output=True, timeout=300,
        )  # fmt: skip

    async def start(self) -> None:
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(  # noqa: ASYNC220 -- returns at once
                [sys.executable, "-m", "bot", "run", "--workers", str(self.workers)],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        await until(lambda: self.count("webhook listening") >= self.workers, "workers listening")

    def lines(self) -> list[dict[str, Any]]:
        entries = []
        for line in self.log.read_text(errors="replace").splitlines():
            try:
                entries.append(json.loads(line))
            except ValueError:
                entries.append({"msg": line, "level": "RAW"})
        return entries

    def count(self, message: str) -> int:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError("the bot exited:\n" + self.log.read_text(errors="replace")[-3000:])
        return sum(1 for entry in self.lines() if entry.get("msg") == message)

    async def stop(self) -> int:
        if self.process is None:
            return 0
        self.process.send_signal(signal.SIGTERM)
        for _ in range(1200):
            if self.process.poll() is not None:
                return int(self.process.returncode)
            await asyncio.sleep(0.1)
        self.process.kill()
        return -9


async def until(check: Callable[[], Any], what: str, within: float = WAIT) -> Any:
    deadline = time.monotonic() + within
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise RuntimeError(f"not {what} after {within:g} s")
        await asyncio.sleep(0.1)


# ---- the people -------------------------------------------------------------------------------


class Player:
    """An observer in their private chat, through the sandbox's control API."""

    def __init__(self, control: Control, user_id: int) -> None:
        self.control = control
        self.user_id = user_id
        self.update_ids: list[int] = []

    async def say(self, text: str) -> None:
        body = {"chat_id": self.user_id, "from_id": self.user_id, "text": text}
        sent = await self.control.call("POST", "/sandbox/messages", body)
        self.update_ids.append(int(sent["update_id"]))

    async def press(self, data: str, message_id: int) -> None:
        body = {
            "chat_id": self.user_id,
            "from_id": self.user_id,
            "data": data,
            "message_id": message_id,
        }
        sent = await self.control.call("POST", "/sandbox/callbacks", body)
        self.update_ids.append(int(sent["update_id"]))

    async def said(self) -> list[dict[str, Any]]:
        data = await self.control.call("GET", f"/sandbox/chats/{self.user_id}/messages")
        return [m for m in data["messages"] if m.get("from_bot") and not m.get("deleted")]

    async def button(self, data: str) -> int:
        """The message the bot put ``data``'s button on, once it is there."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            for message in reversed(await self.said()):
                rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
                if any(b.get("callback_data") == data for row in rows for b in row):
                    return int(message["message_id"])
            await asyncio.sleep(0.1)
        raise RuntimeError(f"observer {self.user_id}: no button {data!r}")

    async def answered_with(self, fragment: str) -> None:
        deadline = time.monotonic() + WAIT
        while not any(fragment in str(m.get("text") or "") for m in await self.said()):
            if time.monotonic() > deadline:
                raise RuntimeError(f"observer {self.user_id}: no {fragment!r}")
            await asyncio.sleep(0.1)

    async def answered(self, after: int) -> None:
        deadline = time.monotonic() + WAIT
        while len(await self.said()) <= after:
            if time.monotonic() > deadline:
                raise RuntimeError(f"observer {self.user_id}: no answer")
            await asyncio.sleep(0.1)

    async def start_filing(self) -> None:
        """Each step once the bot has answered the one before, as a person does: a
        button press and a message are in different queues of Telegram's (a user's
        presses, a chat's messages), so a message typed the moment a button is pressed
        may be delivered before the press."""
        await self.say("/new")
        await self.press(DOMAIN, await self.button(DOMAIN))
        await self.press(KIND, await self.button(KIND))
        await self.answered_with("第 3 步")  # the observers read Chinese
        before = len(await self.said())
        await self.say(title(self.user_id))
        await self.answered(before)

    async def details(self, count: int) -> None:
        for k in range(1, count + 1):
            await self.say(line(self.user_id, k))


def title(user_id: int) -> str:
    return f"Street lights out, report {user_id}"


def line(user_id: int, k: int) -> str:
    return f"detail {user_id} #{k:03d}"


# ---- counting ---------------------------------------------------------------------------------


async def applied(url: str, players: list[Player], details: int) -> tuple[int, int]:
    """(applied once, lost) over every player's updates."""
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            claimed = {
                int(i)
                for i in await session.scalars(sa.text("SELECT update_id FROM processed_updates"))
            }
            states = [
                json.dumps(d, ensure_ascii=False)
                for d in await session.scalars(sa.text("SELECT data FROM conversation_states"))
            ]
    finally:
        await engine.dispose()
    drafts = {}
    for state in states:
        found = re.search(r"Street lights out, report (\d+)", state)
        if found:
            drafts[int(found.group(1))] = state
    once = 0
    for player in players:
        draft = drafts.get(player.user_id, "")
        steps, lines = player.update_ids[:4], player.update_ids[4:]
        # The four steps took the draft to its details with this title.
        if draft.count(title(player.user_id)) == 1:
            once += sum(1 for i in steps if i in claimed)
        seen = [int(n) for n in re.findall(rf"detail {player.user_id} #(\d+)", draft)]
        in_order = seen == sorted(seen)
        for k, update_id in enumerate(lines, start=1):
            if update_id in claimed and seen.count(k) == 1 and in_order:
                once += 1
    total = sum(len(p.update_ids) for p in players)
    return once, total - once


def max_window(times: list[float], seconds: float = 1.0) -> int:
    ordered = sorted(times)
    return max(
        (bisect.bisect_right(ordered, t + seconds - 1e-9) - i for i, t in enumerate(ordered)),
        default=0,
    )


async def pending_rows(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int(
            await connection.scalar(sa.text("SELECT count(*) FROM outbox WHERE state = 'pending'"))
            or 0
        )


# ---- one run ----------------------------------------------------------------------------------


async def run(url: str, options: Options) -> Result:
    config = SandboxConfig(port=0, latency=options.latency)
    async with Sandbox(config) as sandbox, aiohttp.ClientSession() as http:
        control = Control(sandbox.url, http)
        with tempfile.TemporaryDirectory(prefix="outpost-bench-proc-") as tmp:
            return await _run(url, sandbox.url, control, Path(tmp), options)


async def _run(url: str, api: str, control: Control, folder: Path, options: Options) -> Result:
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k.upper() not in _SETTINGS},
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": api,
        "DATABASE_URL": url,
        "REDIS_URL": options.redis_url,
        "ADMIN_CHAT_ID": str(GROUP),
        "DEFAULT_LOCALE": "en",
        "WEBHOOK_URL": f"http://127.0.0.1:{port}/hook",
        "WEBHOOK_SECRET": SECRET,
        "WEBHOOK_HOST": "127.0.0.1",
        "WEBHOOK_PORT": str(port),
        "LOG_FORMAT": "json",
    }
    bot = Workers(folder, env, options.workers)
    bot.run("migrate")
    engine = create_engine(url)
    user_ids = [FIRST_OBSERVER + k for k in range(options.observers)]
    try:
        await seed(session_factory(engine), user_ids)
    finally:
        await engine.dispose()
    for start in range(0, len(user_ids), 1000):
        await control.people(user_ids[start : start + 1000])
    await control.office(ADMIN)
    # The sandbox plays Telegram in this process: its world of 10,000 chats and its log
    # of requests are kept from the collector, whose full passes over them held its
    # event loop for a quarter of a second, long enough to count calls that had come
    # 35 ms apart as a burst (and answer the next ones 429), which Telegram would not.
    gc.collect()
    gc.freeze()
    await bot.start()
    try:
        players = [Player(control, uid) for uid in user_ids[: options.people]]
        await asyncio.gather(*(p.start_filing() for p in players))
        await asyncio.gather(*(p.details(options.details) for p in players))
        updates = sum(len(p.update_ids) for p in players)
        await _all_confirmed(control, {i for p in players for i in p.update_ids})
        once, lost = await applied(url, players, options.details)
        # The updates' answers are said after their commits, paced like everything else:
        # the broadcast starts once they have all gone, so that its rate is its own.
        requests_before = await _quiet(control)
        asking = {"chat_id": GROUP, "from_id": ADMIN, "text": f"/broadcast {TEXT}"}
        await control.call("POST", "/sandbox/messages", asking)
        preview = await _labelled(control, GROUP, "✅ Send")
        await control.call(
            "POST", "/sandbox/callbacks",
            {"chat_id": GROUP, "from_id": ADMIN, "text": "✅ Send", "message_id": preview},
        )  # fmt: skip
        deadline = time.monotonic() + 120 + options.observers / 20
        watching = create_engine(url)
        try:
            while await pending_rows(watching) or not await _reported(control):
                if time.monotonic() > deadline:
                    break
                await asyncio.sleep(1.0)
        finally:
            await watching.dispose()
        log = (await control.requests())[requests_before:]
    finally:
        gc.unfreeze()
        await bot.stop()
        kept = Path(tempfile.gettempdir()) / "outpost-bench-processes.log"
        kept.write_bytes(bot.log.read_bytes())
        print(f"the bot's log: {kept}")
    shown = await copies(control, user_ids)
    ids = set(user_ids)
    accepted = [
        float(e["at"])
        for e in log
        if str(e.get("method", "")).lower() == "sendmessage"
        and e.get("ok")
        and e.get("params", {}).get("chat_id") in ids
        and TEXT in str(e.get("params", {}).get("text", ""))
    ]
    sending = [
        float(e["at"]) for e in log if str(e.get("method", "")).lower() in _SENDING and e.get("ok")
    ]
    refused = [e for e in log if e.get("status") == 429]
    if refused:
        first = min(float(e["at"]) for e in log)
        print(
            "429s: "
            + ", ".join(
                f"{e['method']} to {e.get('params', {}).get('chat_id')} at "
                f"+{float(e['at']) - first:.2f}s ({e.get('error')})"
                for e in refused[:10]
            )
        )
    if accepted:
        # Where the broadcast's time went: accepted sends per 10 s from its first.
        began = min(accepted)
        tens = [0] * (int((max(accepted) - began) // 10) + 1)
        for at in accepted:
            tens[int((at - began) // 10)] += 1
        print("sends per 10 s:", " ".join(str(n) for n in tens))
    span = max(accepted, default=0.0) - min(accepted, default=0.0)
    return Result(
        workers=options.workers,
        updates=updates,
        applied_once=once,
        lost_updates=lost,
        broadcast=options.observers,
        rate=(len(accepted) - 1) / span if len(accepted) > 1 and span > 0 else 0.0,
        max_window=max_window(sending),
        throttled=sum(1 for e in log if e.get("status") == 429),
        lost_copies=sum(1 for n in shown.values() if n == 0),
    )


async def _quiet(control: Control, seconds: float = 2.0) -> int:
    """Wait until the bot has sent nothing for ``seconds``; how many calls the sandbox
    has logged by then."""
    log = await control.requests()
    seen, last_send = len(log), time.monotonic()
    deadline = time.monotonic() + WAIT
    while time.monotonic() - last_send < seconds:
        if time.monotonic() > deadline:
            raise RuntimeError("the bot never fell quiet")
        await asyncio.sleep(0.2)
        fresh = (await control.requests())[seen:]
        seen += len(fresh)
        if any(str(e.get("method", "")).lower() in _SENDING for e in fresh):
            last_send = time.monotonic()
    return seen


async def _all_confirmed(control: Control, update_ids: set[int]) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        data = await control.call("GET", "/sandbox/updates")
        confirmed = {u["update_id"] for u in data["updates"] if u["confirmed"]}
        if update_ids <= confirmed and not data["pending"]:
            return
        await asyncio.sleep(0.2)
    raise RuntimeError("updates still unconfirmed")


async def _labelled(control: Control, chat_id: int, label: str) -> int:
    """The newest message in ``chat_id`` with a button labelled ``label``."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        data = await control.call("GET", f"/sandbox/chats/{chat_id}/messages")
        for message in reversed(data["messages"]):
            rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
            if any(b.get("text") == label for row in rows for b in row):
                return int(message["message_id"])
        await asyncio.sleep(0.1)
    raise RuntimeError(f"no {label!r} button in chat {chat_id}")


async def _reported(control: Control) -> bool:
    return any("delivery report" in t for t in await control.bot_texts(GROUP))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---- the command ------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--workers", type=int, default=3)
    p.add_argument("--people", type=int, default=50, help="observers sending updates")
    p.add_argument("--details", type=int, default=16, help="lines of details each sends")
    p.add_argument("--observers", type=int, default=10_000, help="the broadcast's audience")
    p.add_argument("--latency-ms", type=float, default=100.0, help="per Bot API call")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379")
    p.add_argument("--redis-db", type=int, default=14)
    add_pg_dsn(p)
    return p


async def measure(argv: list[str] | None = None) -> Result | None:
    args = parser().parse_args(argv)
    if args.people > args.observers:
        parser().error("--people cannot be more than --observers")
    options = Options(
        workers=args.workers,
        people=args.people,
        details=args.details,
        observers=args.observers,
        latency=args.latency_ms / 1000,
        redis_url=f"{args.redis_url.rstrip('/')}/{args.redis_db}",
    )
    async with throwaway_postgres(args.pg_dsn, "outpost_bench_proc") as url:
        if url is None:
            return None
        result = await run(url, options)
    print(result.line())
    return result


async def main(argv: list[str] | None = None) -> int:
    result = await measure(argv)
    return 0 if result is not None and result.sound else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
