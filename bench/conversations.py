"""Benchmark: observers filing through the real Dispatcher, many at once.

For each database — SQLite in a temporary file, PostgreSQL in a throw-away database
``outpost_bench_conv_<pid>`` dropped afterwards — N appointed observers each run the
whole filing conversation (/new, domain, kind, title, details, Done, behalf, Skip,
Confirm: 9 updates) against the fake Bot API session of the tests, which can add a
round-trip delay to every call as real Telegram would (50–300 ms). The observers run
concurrently, as aiogram's polling handles updates; each one's updates stay in order.
Printed: updates/s, p50/p99 latency per update, and the items filed (must equal N).

Run from the repository root:

    .venv/bin/python bench/conversations.py --observers 100 --latency-ms 100 --db both
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import asyncio
import gc
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.enums import ParseMode

from bench.services import add_pg_dsn, percentile, throwaway_postgres
from bot.dispatcher import build_dispatcher
from bot.domain.statuses import FocusDomain, HostKind, ObserverCategory, ObserverStatus
from bot.middlewares.throttling import ThrottlePolicy
from bot.settings import load_settings
from handlers.callbacks import FileCb
from storage.engine import create_engine, session_factory
from storage.models import Base, Observer, Point, Suggestion, TelegramUser
from tests.telegram import TOKEN, Person, RecordingSession, Telegram

FIRST_USER = 200_000


@dataclass
class Result:
    database: str
    observers: int
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    filed: int = 0


async def run(url: str, database: str, observers: int, latency: float) -> Result:
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        point = Point(
            code="P01",
            name="城区便民服务中心",
            domain=FocusDomain.BUSINESS_ENVIRONMENT,
            host_kind=HostKind.SERVICE_CENTRE,
        )
        session.add(point)
        await session.flush()
        for n in range(observers):
            session.add(TelegramUser(id=FIRST_USER + n, first_name=f"O{n}", language_code="en"))
        await session.flush()
        for n in range(observers):
            session.add(
                Observer(
                    name=f"Observer {n}",
                    category=ObserverCategory.OTHER,
                    point_id=point.id,
                    status=ObserverStatus.APPOINTED,
                    user_id=FIRST_USER + n,
                )
            )
    settings = load_settings(bot_token=TOKEN, redis_url=None, database_url=url)
    session = RecordingSession()
    session.latency = latency  # Telegram's round trip, added to every call
    bot = Bot(TOKEN, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
    dp = build_dispatcher(
        settings, sessions=sessions, throttle=ThrottlePolicy(rate=1000.0, burst=1000)
    )
    tg = Telegram(bot=bot, session=session, dp=dp)
    result = Result(database, observers)
    feed = tg.feed

    async def timed_feed(update: Any) -> None:
        started = time.perf_counter()
        await feed(update)
        result.latencies.append((time.perf_counter() - started) * 1000)

    tg.feed = timed_feed  # type: ignore[method-assign]

    async def conversation(person: Person) -> None:
        await person.send("/new")
        await person.press(FileCb(step="domain", value="governance").pack())
        await person.press(FileCb(step="kind", value="problem").pack())
        await person.send("Street lights out on Renmin Road")
        await person.send("Three lamps near No. 12 have been dark for three weeks.")
        await person.press(FileCb(step="done").pack())
        await person.press(FileCb(step="behalf", value="residents").pack())
        await person.send("Skip")
        confirm = next(d for _, d in person.last.buttons() if d.startswith("f:confirm:"))
        await person.press(confirm)

    people = [tg.person(FIRST_USER + n, f"O{n}", "en") for n in range(observers)]
    gc.collect()
    gc.freeze()  # as the bot does after start-up (docs/design.md §6)
    started = time.perf_counter()
    await asyncio.gather(*(conversation(p) for p in people))
    result.seconds = time.perf_counter() - started
    gc.unfreeze()
    async with sessions() as s:
        result.filed = int((await s.execute(sa.select(sa.func.count(Suggestion.id)))).scalar_one())
    if session.problems:
        print(f"{database}: the bot sent what Telegram would refuse: {session.problems[:3]}")
    await engine.dispose()
    return result


async def bench_postgres(dsn: str, observers: int, latency: float) -> Result | None:
    async with throwaway_postgres(dsn, "outpost_bench_conv") as url:
        return None if url is None else await run(url, "postgresql", observers, latency)


def report(results: list[Result]) -> None:
    print("database     observers  updates  seconds  updates/s  p50 ms  p99 ms  filed")
    for r in results:
        updates = len(r.latencies)
        print(
            f"{r.database:<12} {r.observers:>9} {updates:>8} {r.seconds:>8.2f} "
            f"{updates / r.seconds:>10.1f} {percentile(r.latencies, 50):>7.1f} "
            f"{percentile(r.latencies, 99):>7.1f} {r.filed:>6}"
        )


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--observers", type=int, default=100)
    parser.add_argument("--latency-ms", type=float, default=100.0, help="per Bot API call")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    add_pg_dsn(parser)
    args = parser.parse_args(argv)
    latency = args.latency_ms / 1000
    results: list[Result] = []
    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="outpost-bench-") as tmp:
            url = f"sqlite+aiosqlite:///{tmp}/bench.db"
            results.append(await run(url, "sqlite", args.observers, latency))
    if args.db in ("postgres", "both"):
        pg = await bench_postgres(args.pg_dsn, args.observers, latency)
        if pg is not None:
            results.append(pg)
    print(
        f"{args.observers} observers filing at once, 9 updates each, "
        f"{args.latency_ms:g} ms per Bot API call"
    )
    report(results)
    return 0 if all(r.filed == r.observers for r in results) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
