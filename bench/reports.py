"""Benchmark: /stats, /export and /report over many generated items.

For each size (10,000 and 1,000,000 by default) and each database — SQLite in a
temporary file, PostgreSQL in a throw-away database that is dropped afterwards — a
district is generated (16 points, 5 departments, 54 observers) with the items spread
over 2026 at every stage of the lifecycle, about three events per item and ratings for
a third of them, written in bulk. Then each command's work is run for the year 2026,
each in a process of its own so that its memory is its own:

- ``stats``: the figures (grouped counts in the database, the arithmetic in Python)
  and the /stats messages;
- ``export``: the XLSX workbook, in memory as /export builds it;
- ``report``: the figures and the four charts of /report;
- ``docx``: the figures, the charts and the annual Word section (/report 2026 docx).

Printed per run: seconds, and the process's peak resident memory (ru_maxrss) with the
baseline of a process that has imported the same modules but done nothing.

    .venv/bin/python bench/reports.py                     # 10k and 1M, both databases
    .venv/bin/python bench/reports.py --sizes 10000 --db sqlite
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import asyncio
import json
import random
import resource
import subprocess
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bench.services import add_pg_dsn, throwaway_postgres
from bot.domain.lifecycle import Action
from bot.domain.roles import Role
from bot.domain.statuses import (
    Behalf,
    FocusDomain,
    HostKind,
    ObserverCategory,
    ObserverStatus,
    RatingValue,
    SuggestionKind,
)
from bot.domain.statuses import SuggestionStatus as S
from storage.engine import create_engine
from storage.models import (
    Base,
    CalendarDay,
    Department,
    Event,
    Observer,
    Point,
    Rating,
    Suggestion,
)

OPERATIONS = ("stats", "export", "report", "docx")
POINTS, DEPARTMENTS, OBSERVERS = 16, 5, 54
CHUNK = 20_000
YEAR_START = datetime(2026, 1, 1, tzinfo=UTC)

# Where items stand, with weights roughly as a busy year leaves them.
STAGES: list[tuple[S, S | None, int]] = [
    (S.SUBMITTED, None, 4),
    (S.IN_REVIEW, None, 3),
    (S.NEEDS_INFO, None, 1),
    (S.ADOPTED, S.ADOPTED, 4),
    (S.IMPLEMENTING, S.ADOPTED, 8),
    (S.IMPLEMENTED, S.ADOPTED, 6),
    (S.CLOSED, S.ADOPTED, 20),
    (S.REFERENCE, S.REFERENCE, 5),
    (S.CLOSED, S.REFERENCE, 15),
    (S.DECLINED, S.DECLINED, 3),
    (S.CLOSED, S.DECLINED, 10),
    (S.ESCALATED, S.ESCALATED, 3),
    (S.CLOSED, S.DUPLICATE, 4),
    (S.WITHDRAWN, None, 2),
]
_TITLES = ["路灯不亮", "占道经营", "噪音扰民", "审批材料重复提交", "校园周边交通", "油烟污染"]


Rows = list[dict[str, Any]]


class Generator:
    """Items, events and ratings, a chunk at a time; ids are given so that events and
    ratings point at their items without reading them back."""

    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.event_id = 0
        self.rating_id = 0

    def chunk(self, first: int, count: int) -> tuple[Rows, Rows, Rows]:
        return _rows(self, first, count)


def _rows(gen: Generator, first: int, count: int) -> tuple[Rows, Rows, Rows]:
    rng = gen.rng
    weights = [w for *_, w in STAGES]
    kinds, domains = list(SuggestionKind), list(FocusDomain)
    items: Rows = []
    events: Rows = []
    ratings: Rows = []
    seconds = 365 * 86400
    for i in range(first, first + count):
        status, disposition, _w = rng.choices(STAGES, weights)[0]
        filed = YEAR_START + timedelta(seconds=rng.randrange(seconds - 40 * 86400))
        observer = rng.randrange(1, OBSERVERS + 1)
        decided = filed + timedelta(hours=rng.randrange(4, 240)) if disposition else None
        adopted = disposition is S.ADOPTED
        department = rng.randrange(1, DEPARTMENTS + 1) if adopted else None
        due = (
            (decided + timedelta(days=rng.randrange(10, 40))).date()
            if adopted and decided
            else None
        )
        implemented = (
            decided + timedelta(days=rng.randrange(5, 45))
            if adopted and decided and status in (S.IMPLEMENTED, S.CLOSED)
            else None
        )
        items.append(
            {
                "id": i,
                "reference": f"WZ-2026-{i:07d}",
                "kind": rng.choice(kinds),
                "domain": rng.choice(domains),
                "observer_id": observer,
                "point_id": (observer - 1) % POINTS + 1,
                "title": f"{rng.choice(_TITLES)} {i}",
                "body": "人民路附近的情况，居民多次反映。" * 3,
                "behalf": Behalf.RESIDENTS,
                "status": status,
                "disposition": disposition,
                "department_id": department,
                "submitted_at": filed,
                "created_at": filed,
                "updated_at": decided or filed,
                "decision_due": (filed + timedelta(days=7)).date(),
                "decided_at": decided,
                "decided_on_time": None if decided is None else decided - filed < timedelta(days=7),
                "implementation_due": due,
                "implemented_at": implemented,
                "implemented_on_time": None
                if implemented is None or due is None
                else implemented.date() <= due,
                "closed_at": implemented if status is S.CLOSED else None,
                "version": 1,
            }
        )
        moves = [(None, Action.SUBMIT, S.SUBMITTED, filed, Role.OBSERVER, None)]
        if decided is not None:
            moves.append(
                (
                    S.IN_REVIEW,
                    Action.ADOPT if adopted else Action.DECLINE,
                    disposition,
                    decided,
                    Role.ADMIN,
                    "研判意见",
                )
            )
        if implemented is not None:
            moves.append(
                (
                    S.IMPLEMENTING,
                    Action.MARK_IMPLEMENTED,
                    S.IMPLEMENTED,
                    implemented,
                    Role.LIAISON,
                    "已落实完毕",
                )
            )
        for source, action, target, moment, role, text in moves:
            gen.event_id += 1
            events.append(
                {
                    "id": gen.event_id,
                    "suggestion_id": i,
                    "action": action,
                    "actor_user_id": 1000 + observer,
                    "actor_role": role,
                    "from_status": source,
                    "to_status": target,
                    "text": text,
                    "internal": False,
                    "payload": {},
                    "created_at": moment,
                }
            )
        if (implemented is not None or status is S.CLOSED) and rng.random() < 0.35:
            gen.rating_id += 1
            ratings.append(
                {
                    "id": gen.rating_id,
                    "suggestion_id": i,
                    "observer_id": observer,
                    "value": rng.choice(list(RatingValue)),
                    "comment": None,
                    "created_at": (implemented or decided or filed) + timedelta(days=1),
                }
            )
    return items, events, ratings


async def generate(url: str, n: int) -> dict[str, float]:
    engine = create_engine(url)
    started = time.perf_counter()
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(Base.metadata.create_all)
        await conn.execute(
            sa.insert(Point),
            [
                {
                    "id": p,
                    "code": f"P{p:02d}",
                    "name": f"第{p}观测点",
                    "domain": list(FocusDomain)[p % 6],
                    "host_kind": list(HostKind)[p % 6],
                    "created_at": YEAR_START,
                }
                for p in range(1, POINTS + 1)
            ],
        )
        await conn.execute(
            sa.insert(Department),
            [
                {"id": d, "code": f"D{d}", "name": f"区第{d}局", "created_at": YEAR_START}
                for d in range(1, DEPARTMENTS + 1)
            ],
        )
        await conn.execute(
            sa.insert(Observer),
            [
                {
                    "id": o,
                    "name": f"观察员{o}",
                    "category": list(ObserverCategory)[o % 10],
                    "point_id": (o - 1) % POINTS + 1,
                    "status": ObserverStatus.APPOINTED,
                    "created_at": YEAR_START,
                }
                for o in range(1, OBSERVERS + 1)
            ],
        )
        await conn.execute(
            sa.insert(CalendarDay),
            [{"day": date(2026, 10, d), "kind": "holiday", "name": "国庆节"} for d in range(1, 8)],
        )
    gen = Generator()
    counts = {"items": 0, "events": 0, "ratings": 0}
    for first in range(1, n + 1, CHUNK):
        items, events, ratings = gen.chunk(first, min(CHUNK, n + 1 - first))
        async with engine.begin() as conn:
            for model, rows, name in (
                (Suggestion, items, "items"),
                (Event, events, "events"),
                (Rating, ratings, "ratings"),
            ):
                if rows:
                    await conn.execute(sa.insert(model), rows)
                counts[name] += len(rows)
    if engine.dialect.name == "postgresql":
        async with engine.connect() as conn:
            await conn.execute(sa.text("ANALYZE"))
    await engine.dispose()
    return {**counts, "seconds": time.perf_counter() - started}


# ---- one operation, in a process of its own ------------------------------------------------


async def _operate(url: str, operation: str) -> dict[str, Any]:
    from bot.i18n import build_i18n
    from bot.services.actors import SYSTEM
    from bot.services.context import Policy
    from bot.services.figures import FiguresService
    from handlers import documents
    from handlers.figure_texts import SECTIONS, stats_section, stats_summary
    from storage.engine import read_sessions, session_factory
    from storage.store import Store

    policy = Policy(jurisdiction="WZ")
    i18n = build_i18n("zh_CN")
    engine = create_engine(url)
    started = time.perf_counter()
    out: dict[str, Any] = {}
    if operation == "baseline":
        await engine.dispose()
        return {"seconds": 0.0}
    try:
        async with read_sessions(session_factory(engine))() as session, session.begin():
            figures = FiguresService(Store(session), policy)
            period = figures.period("2026")
            with i18n.context(), i18n.use_locale("zh_CN"):
                if operation == "export":
                    done = await documents.workbook(figures, SYSTEM, period, policy)
                    out["bytes"] = done.size
                    out["rows"] = done.rows
                else:
                    shown = await figures.stats(SYSTEM, period)
                    out["items"] = shown.total
                    if operation == "stats":
                        # The summary and every section a button shows.
                        texts = [stats_summary(shown)]
                        texts += [stats_section(name, shown, policy.tz) for name in SECTIONS]
                        out["messages"] = len(texts)
                    elif operation == "report":
                        drawn = await documents.charts_of(shown)
                        out["bytes"] = sum(len(png) for _name, png in drawn)
                    else:
                        notable = await figures.notable(SYSTEM, period)
                        out["bytes"] = len(
                            await documents.annual_docx(shown, notable, policy, "zh_CN")
                        )
    finally:
        await engine.dispose()
    out["seconds"] = time.perf_counter() - started
    return out


def _child(url: str, operation: str) -> None:
    result = asyncio.run(_operate(url, operation))
    # Linux reports kilobytes.
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def run_operation(url: str, operation: str) -> dict[str, Any]:
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, __file__, "--child", operation, "--url", url],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{operation} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


async def bench(url: str, database: str, size: int, operations: list[str]) -> list[str]:
    made = await generate(url, size)
    lines = [
        f"{database}, {size:,} items: generated {made['items']:,} items, {made['events']:,} "
        f"events, {made['ratings']:,} ratings in {made['seconds']:.1f} s"
    ]
    baseline = await asyncio.to_thread(run_operation, url, "baseline")
    lines.append(f"  (a process that has imported everything: {baseline['peak_mb']:.0f} MB)")
    for operation in operations:
        result = await asyncio.to_thread(run_operation, url, operation)
        extra = ""
        if "bytes" in result:
            extra = f", {result['bytes'] / 1e6:.1f} MB out"
        if "rows" in result:
            extra += f", {sum(result['rows'].values()):,} rows"
        lines.append(
            f"  {operation:<7} {result['seconds']:8.2f} s   peak {result['peak_mb']:7.0f} MB "
            f"(+{result['peak_mb'] - baseline['peak_mb']:.0f}){extra}"
        )
        print(lines[-1], flush=True)
    return lines


async def main(argv: list[str] | None = None) -> list[str]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--sizes", default="10000,1000000", help="item counts, comma-separated")
    p.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    p.add_argument("--ops", default=",".join(OPERATIONS), help="operations, comma-separated")
    add_pg_dsn(p)
    args = p.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s]
    operations = [o for o in args.ops.split(",") if o]
    unknown = set(operations) - set(OPERATIONS)
    if unknown:
        p.error(f"unknown operations: {', '.join(sorted(unknown))}")
    printed: list[str] = []
    for size in sizes:
        if args.db in ("sqlite", "both"):
            with tempfile.TemporaryDirectory() as tmp:
                url = f"sqlite+aiosqlite:///{tmp}/reports.db"
                print(f"sqlite, {size:,} items …", flush=True)
                printed += await bench(url, "sqlite", size, operations)
        if args.db in ("postgresql", "both"):
            async with throwaway_postgres(args.pg_dsn, "outpost_bench_reports") as url:
                if url is not None:
                    print(f"postgresql, {size:,} items …", flush=True)
                    printed += await bench(url, "postgresql", size, operations)
    print("\n".join(["", "summary:", *printed]))
    return printed


if __name__ == "__main__":
    if "--child" in sys.argv:
        child = argparse.ArgumentParser()
        child.add_argument("--child", required=True)
        child.add_argument("--url", required=True)
        given = child.parse_args()
        _child(given.url, given.child)
    else:
        asyncio.run(main())
