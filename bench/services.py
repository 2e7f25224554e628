"""Benchmark: file and decide items end to end through the services.

For each database — SQLite in a temporary file, PostgreSQL in a throw-away database
``outpost_bench_<pid>`` that is dropped afterwards — the schema is created, a point,
a department with its liaison, an observer and an admin are seeded, and then N items
go through submit → take → adopt, one transaction per operation as the bot runs one
per update. Printed per database: items/s over the whole run, median and p99 latency
per operation, and the outbox notifications queued.

Run from the repository root:

    .venv/bin/python bench/services.py --items 300 --db both
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import asyncio
import math
import os
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TypeVar

import asyncpg  # type: ignore[import-untyped]
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.statuses import (
    Behalf,
    FocusDomain,
    HostKind,
    ObserverCategory,
    ObserverStatus,
    SuggestionKind,
)
from bot.services.actors import identify
from bot.services.context import Policy
from bot.services.suggestions import SuggestionService
from bot.services.views import Draft
from storage.engine import create_engine, session_factory
from storage.models import (
    Base,
    Department,
    Liaison,
    Observer,
    OutboxMessage,
    Point,
    TelegramUser,
)
from storage.store import Store

OBSERVER_USER, LIAISON_USER, ADMIN_USER = 1001, 3001, 9001
OPERATIONS = ("submit", "take", "adopt")
POLICY = Policy(jurisdiction="WZ")

T = TypeVar("T")


@dataclass
class Seed:
    department_id: int


@dataclass
class Result:
    database: str
    items: int
    seconds: float
    outbox: int
    latencies: dict[str, list[float]] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.items / self.seconds if self.seconds else 0.0


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile of ``values`` (milliseconds in, milliseconds out)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def add_pg_dsn(parser: argparse.ArgumentParser) -> None:
    """The --pg-dsn option every benchmark shares."""
    parser.add_argument(
        "--pg-dsn",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="an administrative DSN; the benchmark creates and drops its own database",
    )


async def seed(sessions: async_sessionmaker[AsyncSession]) -> Seed:
    async with sessions() as session, session.begin():
        for uid, name in ((OBSERVER_USER, "Alice"), (LIAISON_USER, "Li"), (ADMIN_USER, "Ada")):
            session.add(TelegramUser(id=uid, first_name=name, language_code="zh-hans"))
        point = Point(
            code="P01",
            name="城区便民服务中心",
            domain=FocusDomain.BUSINESS_ENVIRONMENT,
            host_kind=HostKind.SERVICE_CENTRE,
        )
        department = Department(code="MARKET", name="区市场监管局")
        session.add_all([point, department])
        await session.flush()
        session.add_all(
            [
                Observer(
                    name="Alice",
                    category=ObserverCategory.LAWYER,
                    point_id=point.id,
                    status=ObserverStatus.APPOINTED,
                    user_id=OBSERVER_USER,
                ),
                Liaison(department_id=department.id, user_id=LIAISON_USER, name="Li"),
            ]
        )
        return Seed(department.id)


async def run_items(sessions: async_sessionmaker[AsyncSession], n: int, database: str) -> Result:
    """File and decide ``n`` items, one transaction per operation."""
    setup = await seed(sessions)
    latencies: dict[str, list[float]] = {op: [] for op in OPERATIONS}
    due = date.today() + timedelta(days=90)

    async def timed(op: str, fn: Callable[[Store, SuggestionService], Awaitable[T]]) -> T:
        started = time.perf_counter()
        async with sessions() as session, session.begin():
            store = Store(session)
            result = await fn(store, SuggestionService(store, POLICY))
        latencies[op].append((time.perf_counter() - started) * 1000)
        return result

    started = time.perf_counter()
    for i in range(n):

        async def submit(store: Store, svc: SuggestionService, i: int = i) -> int:
            observer = await identify(store, OBSERVER_USER)
            draft = Draft(
                kind=SuggestionKind.PROBLEM,
                domain=FocusDomain.GRASSROOTS_GOVERNANCE,
                title=f"路灯不亮 #{i}",
                body="人民路 12 号附近路灯三周不亮, 居民夜间出行不便。",
                behalf=Behalf.RESIDENTS,
                key=f"bench-{i}",
            )
            return (await svc.submit(observer, draft)).id

        item_id = await timed("submit", submit)

        async def take(store: Store, svc: SuggestionService, item_id: int = item_id) -> None:
            await svc.take(await identify(store, ADMIN_USER, is_admin=True), item_id)

        await timed("take", take)

        async def adopt(store: Store, svc: SuggestionService, item_id: int = item_id) -> None:
            admin = await identify(store, ADMIN_USER, is_admin=True)
            await svc.adopt(admin, item_id, department_id=setup.department_id, due=due)

        await timed("adopt", adopt)
    seconds = time.perf_counter() - started

    async with sessions() as session:
        outbox = int(
            (
                await session.execute(sa.select(sa.func.count()).select_from(OutboxMessage))
            ).scalar_one()
        )
    return Result(database, n, seconds, outbox, latencies)


async def bench_url(url: str, n: int, database: str) -> Result:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        return await run_items(session_factory(engine), n, database)
    finally:
        await engine.dispose()


async def bench_sqlite(n: int) -> Result:
    with tempfile.TemporaryDirectory(prefix="outpost-bench-") as tmp:
        return await bench_url(f"sqlite+aiosqlite:///{tmp}/bench.db", n, "sqlite")


@asynccontextmanager
async def throwaway_postgres(dsn: str, prefix: str) -> AsyncIterator[str | None]:
    """A database of our own on the server ``dsn`` names, dropped afterwards; None (and
    a line saying why) when the server is unreachable."""
    try:
        admin = await asyncpg.connect(dsn, timeout=5)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        print(f"PostgreSQL at {dsn} is unreachable ({exc!r}); skipping it.")
        yield None
        return
    name = f"{prefix}_{os.getpid()}"
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = make_url(dsn).set(drivername="postgresql+asyncpg", database=name)
        try:
            yield url.render_as_string(hide_password=False)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def bench_postgres(n: int, dsn: str) -> Result | None:
    async with throwaway_postgres(dsn, "outpost_bench") as url:
        return None if url is None else await bench_url(url, n, "postgresql")


def table(results: list[Result]) -> str:
    header = ["database", "items", "seconds", "items/s"]
    for op in OPERATIONS:
        header += [f"{op} p50 ms", f"{op} p99 ms"]
    header.append("outbox rows")
    rows = [header]
    for r in results:
        row = [r.database, str(r.items), f"{r.seconds:.2f}", f"{r.rate:.1f}"]
        for op in OPERATIONS:
            row += [
                f"{percentile(r.latencies[op], 50):.2f}",
                f"{percentile(r.latencies[op], 99):.2f}",
            ]
        row.append(str(r.outbox))
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--items", type=int, default=300, help="items to file and decide")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    add_pg_dsn(parser)
    args = parser.parse_args(argv)
    if args.items < 1:
        parser.error("--items must be at least 1")

    results: list[Result] = []
    if args.db in ("sqlite", "both"):
        results.append(await bench_sqlite(args.items))
    if args.db in ("postgres", "both"):
        pg = await bench_postgres(args.items, args.pg_dsn)
        if pg is not None:
            results.append(pg)
    if results:
        print(f"{args.items} items, each: submit, take, adopt (one transaction per operation)")
        print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
