"""Benchmark: one broadcast to every observer, through the outbox sender, against the sandbox.

The sandbox (``sandbox.server.Sandbox``, in this process) plays Telegram with its flood
limits on (30 messages a second overall, 1 a second per private chat, 20 a minute per
group) and a round trip added to every Bot API call (100 ms by default; real Telegram
takes 50–300 ms). N appointed observers are seeded in the database — SQLite in a
temporary file, or PostgreSQL in a throw-away database ``outpost_bench_bc_<pid>``
dropped afterwards — and the same people in the sandbox (``POST /sandbox/users``, so
their chats exist), with the office's admin group (``POST /sandbox/chats``).

Then the office broadcasts one message to all of them the way ``/broadcast`` does it
(``BroadcastService.prepare`` then ``send``, in one transaction: one outbox row per
observer), and the sender the runtime runs (``OutboxSender`` over
``build_bot(settings, limiter=Limiter())``, settings pointing ``TELEGRAM_API_URL`` at
the sandbox) delivers until every row is settled and the delivery report has reached
the admin group. Printed:

- messages/s: the observers' copies accepted by the sandbox, over the time from the
  first accepted send to the last (from the sandbox's request log), and the whole time
  from the broadcast's commit to the last row settled;
- 429s: how many calls the sandbox refused with ``429 Too Many Requests``;
- lost: observers whose chat shows no copy of the broadcast, together with those whose
  outbox row did not end ``sent`` (each observer counted once);
- duplicates: observers whose chat shows more than one copy;
- the delivery report as the admin group received it.

docs/design.md §3 sets the target: about 30 messages/s with 100 ms round trips, nothing
lost. The exit status is 0 when nothing was lost or repeated and the report arrived.

Run from the repository root:

    .venv/bin/python bench/broadcast.py
    .venv/bin/python bench/broadcast.py --observers 500 --latency-ms 300 --db postgres
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import asyncio
import contextlib
import gc
import logging
import tempfile
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.services import add_pg_dsn, throwaway_postgres
from bot.delivery.limits import Limiter
from bot.delivery.sender import OutboxSender
from bot.dispatcher import build_bot, policy_of
from bot.domain.statuses import FocusDomain, HostKind, ObserverCategory, ObserverStatus
from bot.i18n import build_i18n
from bot.services.actors import identify
from bot.services.broadcasts import BroadcastService, Sent
from bot.settings import Settings, load_settings
from sandbox.server import Sandbox, SandboxConfig
from storage.engine import create_engine, session_factory
from storage.models import Base, Broadcast, Observer, OutboxMessage, Point, TelegramUser
from storage.repositories.outbox import PENDING, SENT
from storage.store import Store

TOKEN = "4242:broadcast-bench-0123456789abcdef"
GROUP = -100_700_700
ADMIN = 990_000
FIRST_OBSERVER = 400_000
# Words no other message of the bot contains, to find the copies in the chats.
TEXT = "区依法治区办通知 (broadcast bench): 本季度法治观察员座谈会改在周五 15:00, 302 会议室。"
# How many chats are read from the sandbox at once when counting copies.
READERS = 32


@dataclass(frozen=True)
class Options:
    observers: int
    latency: float  # seconds per Bot API call
    limits: bool
    timeout: float  # seconds to wait for every row to settle


@dataclass
class Result:
    database: str
    observers: int
    # Accepted sends of the broadcast to observers, and when the first and last arrived.
    sends: int
    first_at: float
    last_at: float
    throttled: int  # 429s answered
    # Observers with no copy in their chat; rows that did not end "sent"; both at once.
    without_copy: int
    unsent_rows: int
    lost: int
    duplicates: int
    delivered: int  # observers with exactly one copy
    settle_seconds: float  # the broadcast's commit to the last row settled
    settled: bool  # every row settled before the timeout
    report: str | None  # the delivery report the admin group got

    @property
    def rate(self) -> float:
        """Sends per second between the first and the last (n sends span n - 1 gaps)."""
        span = self.last_at - self.first_at
        return (self.sends - 1) / span if self.sends > 1 and span > 0 else 0.0

    @property
    def sound(self) -> bool:
        return (
            self.settled
            and self.lost == 0
            and self.duplicates == 0
            and self.delivered == self.observers
            and self.report is not None
        )


# ---- the people's side of the sandbox -----------------------------------------------------


class Control:
    """The sandbox's control API, over HTTP as any client would use it."""

    def __init__(self, url: str, http: aiohttp.ClientSession) -> None:
        self.url = url
        self.http = http

    async def call(self, verb: str, path: str, body: Any = None) -> Any:
        async with self.http.request(verb, self.url + path, json=body) as response:
            data = await response.json()
            if response.status >= 400:
                raise RuntimeError(f"sandbox: {verb} {path}: {response.status} {data!r}")
            return data

    async def people(self, user_ids: list[int]) -> None:
        body = [
            {"id": uid, "first_name": f"观察员{uid - FIRST_OBSERVER}", "language_code": "zh-hans"}
            for uid in user_ids
        ]
        await self.call("POST", "/sandbox/users", body)

    async def office(self, admin: int) -> None:
        await self.call("POST", "/sandbox/users", {"id": admin, "first_name": "Ada"})
        body = {
            "id": GROUP,
            "type": "supergroup",
            "title": "依法治区办",
            "members": [{"user_id": admin, "status": "creator"}],
        }
        await self.call("POST", "/sandbox/chats", body)

    async def bot_texts(self, chat_id: int) -> list[str]:
        data = await self.call("GET", f"/sandbox/chats/{chat_id}/messages")
        return [str(m.get("text") or "") for m in data["messages"] if m.get("from_bot")]

    async def requests(self) -> list[dict[str, Any]]:
        return list((await self.call("GET", "/sandbox/requests"))["requests"])


# ---- the district --------------------------------------------------------------------------


async def seed(sessions: async_sessionmaker[AsyncSession], user_ids: list[int]) -> None:
    async with sessions() as session, session.begin():
        point = Point(
            code="P01",
            name="城区便民服务中心",
            domain=FocusDomain.BUSINESS_ENVIRONMENT,
            host_kind=HostKind.SERVICE_CENTRE,
        )
        session.add(point)
        session.add(TelegramUser(id=ADMIN, first_name="Ada", language_code="zh-hans"))
        session.add_all(
            TelegramUser(id=uid, first_name=f"O{uid}", language_code="zh-hans") for uid in user_ids
        )
        await session.flush()
        session.add_all(
            Observer(
                name=f"观察员{k}",
                category=ObserverCategory.OTHER,
                point_id=point.id,
                status=ObserverStatus.APPOINTED,
                user_id=uid,
            )
            for k, uid in enumerate(user_ids)
        )


async def broadcast(sessions: async_sessionmaker[AsyncSession], settings: Settings) -> Sent:
    """What the admin's /broadcast and its Send button do, in one transaction."""
    async with sessions() as session, session.begin():
        store = Store(session)
        office = await identify(store, ADMIN, is_admin=True)
        service = BroadcastService(store, policy_of(settings))
        prepared = await service.prepare(office, TEXT)
        return await service.send(office, prepared.text, point_id=prepared.point_id)


async def settled(sessions: async_sessionmaker[AsyncSession], broadcast_id: int) -> bool:
    """No row of the broadcast pending, its report queued, and no row at all pending
    (the report is one)."""
    async with sessions() as session:
        reported = await session.scalar(
            sa.select(Broadcast.reported_at).where(Broadcast.id == broadcast_id)
        )
        pending = await session.scalar(
            sa.select(sa.func.count(OutboxMessage.id)).where(OutboxMessage.state == PENDING)
        )
    return reported is not None and not pending


async def deliver(
    sender: OutboxSender,
    sessions: async_sessionmaker[AsyncSession],
    broadcast_id: int,
    timeout: float,  # noqa: ASYNC109 (a deadline for polling, not an I/O timeout)
) -> bool:
    """Run the sender, as the runtime does, until everything is settled; returns
    whether it was before ``timeout``."""
    running = asyncio.create_task(sender.run(), name="outbox-sender")
    deadline = time.monotonic() + timeout
    try:
        sender.kick()
        while not await settled(sessions, broadcast_id):
            if time.monotonic() > deadline or running.done():
                return False
            await asyncio.sleep(0.1)
        return True
    finally:
        await sender.stop()
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


# ---- counting -------------------------------------------------------------------------------


async def copies(control: Control, user_ids: list[int]) -> dict[int, int]:
    """How many copies of the broadcast each observer's chat shows."""
    gate = asyncio.Semaphore(READERS)

    async def count(uid: int) -> tuple[int, int]:
        async with gate:
            return uid, sum(TEXT in text for text in await control.bot_texts(uid))

    return dict(await asyncio.gather(*(count(uid) for uid in user_ids)))


async def unsent(sessions: async_sessionmaker[AsyncSession], broadcast_id: int) -> set[int]:
    """The observers whose broadcast row did not end sent."""
    async with sessions() as session:
        rows = await session.execute(
            sa.select(OutboxMessage.chat_id).where(
                OutboxMessage.broadcast_id == broadcast_id, OutboxMessage.state != SENT
            )
        )
        return {int(chat) for chat in rows.scalars() if chat is not None}


def accepted_sends(log: list[dict[str, Any]], user_ids: set[int]) -> list[float]:
    """When each send of the broadcast to an observer arrived, of those accepted."""
    return [
        float(entry["at"])
        for entry in log
        if entry.get("method", "").lower() == "sendmessage"
        and entry.get("ok")
        and entry.get("params", {}).get("chat_id") in user_ids
        and TEXT in str(entry.get("params", {}).get("text", ""))
    ]


# ---- one run ----------------------------------------------------------------------------------


async def run(url: str, database: str, options: Options) -> Result:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        config = SandboxConfig(port=0, limits=options.limits, latency=options.latency)
        async with Sandbox(config) as sandbox, aiohttp.ClientSession() as http:
            return await _run(
                session_factory(engine), sandbox, Control(sandbox.url, http), url, database, options
            )
    finally:
        await engine.dispose()


async def _run(
    sessions: async_sessionmaker[AsyncSession],
    sandbox: Sandbox,
    control: Control,
    url: str,
    database: str,
    options: Options,
) -> Result:
    user_ids = [FIRST_OBSERVER + k for k in range(options.observers)]
    await seed(sessions, user_ids)
    await control.people(user_ids)
    await control.office(ADMIN)
    settings = load_settings(
        bot_token=TOKEN,
        database_url=url,
        redis_url=None,
        telegram_api_url=sandbox.url,
        admin_chat_id=GROUP,
        admin_ids=[ADMIN],
    )
    bot = build_bot(settings, limiter=Limiter())
    sender = OutboxSender(
        bot,
        sessions,
        settings=settings,
        i18n=build_i18n(settings.default_locale),
        policy=policy_of(settings),
    )
    gc.collect()
    gc.freeze()  # as the runtime does after start-up (docs/design.md §6)
    try:
        sent = await broadcast(sessions, settings)
        started = time.perf_counter()
        done = await deliver(sender, sessions, sent.id, options.timeout)
        settle_seconds = time.perf_counter() - started
    finally:
        gc.unfreeze()
        await bot.session.close()

    shown = await copies(control, user_ids)
    not_sent = await unsent(sessions, sent.id)
    log = await control.requests()
    at = accepted_sends(log, set(user_ids))
    without_copy = {uid for uid, n in shown.items() if n == 0}
    # The report is the only message this run has the bot write in the group.
    group = [text for text in await control.bot_texts(GROUP) if text.startswith("📊")]
    return Result(
        database=database,
        observers=options.observers,
        sends=len(at),
        first_at=min(at, default=0.0),
        last_at=max(at, default=0.0),
        throttled=sum(1 for entry in log if entry.get("status") == 429),
        without_copy=len(without_copy),
        unsent_rows=len(not_sent),
        lost=len(without_copy | not_sent),
        duplicates=sum(1 for n in shown.values() if n > 1),
        delivered=sum(1 for n in shown.values() if n == 1),
        settle_seconds=settle_seconds,
        settled=done,
        report=group[-1] if group else None,
    )


# ---- the command -------------------------------------------------------------------------------


def lines(r: Result) -> list[str]:
    out = [
        f"{r.database:<10} {r.rate:.1f} messages/s ({r.sends} accepted sends from the first "
        f"to the last in {r.last_at - r.first_at:.2f} s); all settled "
        f"{'in' if r.settled else 'NOT settled after'} {r.settle_seconds:.2f} s "
        f"({r.observers / r.settle_seconds if r.settle_seconds else 0:.1f} observers/s)",
        f"{'':<10} 429s: {r.throttled}; delivered {r.delivered}/{r.observers}; "
        f"lost {r.lost} ({r.without_copy} chats without a copy, {r.unsent_rows} rows not sent); "
        f"duplicates {r.duplicates}",
    ]
    if r.report is None:
        out.append(f"{'':<10} the admin group got no delivery report")
    else:
        report = r.report.replace("\n", " | ")
        out.append(f"{'':<10} admin group's report: {report}")
    return out


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--observers", type=int, default=2000)
    p.add_argument("--latency-ms", type=float, default=100.0, help="per Bot API call")
    p.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    p.add_argument(
        "--no-limits", action="store_true", help="the sandbox does not enforce Telegram's limits"
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds to wait for every row to settle (default: 60 + observers / 5)",
    )
    add_pg_dsn(p)
    return p


async def measure(argv: list[str] | None = None) -> list[Result]:
    """Run the benchmark as the command line says, print its figures, return them."""
    p = parser()
    args = p.parse_args(argv)
    if args.observers < 1:
        p.error("--observers must be at least 1")
    options = Options(
        observers=args.observers,
        latency=args.latency_ms / 1000,
        limits=not args.no_limits,
        timeout=args.timeout if args.timeout is not None else 60 + args.observers / 5,
    )
    results: list[Result] = []
    if args.db == "sqlite":
        with tempfile.TemporaryDirectory(prefix="outpost-bench-") as tmp:
            results.append(await run(f"sqlite+aiosqlite:///{tmp}/bench.db", "sqlite", options))
    else:
        async with throwaway_postgres(args.pg_dsn, "outpost_bench_bc") as url:
            if url is not None:
                results.append(await run(url, "postgresql", options))
    print(
        f"a broadcast to {args.observers} observers through the outbox sender; sandbox "
        f"limits {'off' if args.no_limits else 'on'}, {args.latency_ms:g} ms per Bot API call"
    )
    for r in results:
        print("\n".join(lines(r)))
    return results


async def main(argv: list[str] | None = None) -> int:
    # Each 429 retried would print a line; they are counted from the sandbox instead.
    # The sender's own warnings (a row failed, a recipient unreachable) still show.
    logging.getLogger("bot.delivery.session").setLevel(logging.ERROR)
    results = await measure(argv)
    return 0 if results and all(r.sound for r in results) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
