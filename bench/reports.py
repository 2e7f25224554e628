"""Benchmark: /stats, /export and /report over many generated items.

For each size (10,000 and 1,000,000 by default) and each database — SQLite in a
temporary file, PostgreSQL in a throw-away database that is dropped afterwards — a
district is generated (16 points, 5 departments, 54 observers) with the items spread
over 2026 at every stage of the lifecycle, about two events per item and ratings for
a third of the finished ones. Items are filed in id order, as the bot files them.

The rows go in in bulk, past SQLAlchemy: plain ``sqlite3`` ``executemany`` on SQLite,
asyncpg's ``COPY`` (``copy_records_to_table``) on PostgreSQL, with the figures'
triggers, the secondary indexes of items, events and ratings (and PostgreSQL's foreign
key checks) off meanwhile. Then the indexes are made again, every item's latest rating
and the summary tables are recounted (``rating_recount_statement`` and
``recount_statements``, what ``outpost figures --rebuild`` does) and the triggers made
again; each step is timed and printed. ``--load-with-triggers`` loads with the triggers
and indexes in place instead, as the bot's own writes would keep them.

Then each command's work is run for the year 2026, each in a process of its own so
that its memory is its own:

- ``stats``: the figures and the /stats messages;
- ``export``: the XLSX workbook, written to a temporary file as /export writes it;
- ``raw``: the floor ``export`` is measured against, run with it: the bot's own driver
  (aiosqlite, as the bot connects, or asyncpg in a transaction with a cursor), not
  SQLAlchemy, reads every row the export's tables come from — the period's items (the
  columns the export reads, with the ids of their point, department and original
  rather than joined names), their events and ratings (with their item's reference),
  every observer, point and department — in ``fetchmany`` chunks, and Python's ``csv``
  writes them unconverted to temporary files;
- ``report``: the figures and the four charts of /report;
- ``docx``: the figures, the charts and the annual Word section (/report 2026 docx).

Printed per run: seconds, the process's resident memory when it has imported
everything and set up (connected, /proc/self/status VmRSS, just before the work
starts: "start") and its peak (VmHWM: ru_maxrss without what Linux carries over from
the forked parent, see ``_peak_mb``), beside the peak of a process that has
imported the same modules and done nothing (the baseline). At the end, one line per
database (``postgresql`` for PostgreSQL), here split in two to fit the page:

    FIGURES sqlite items 1000000 stats 0.31s stats/10k 1.4 report 1.10s report/10k 1.6
    export 58.0s export/raw 2.4 rss-start 180MB rss-peak 260MB

``items`` is the largest size run; ``stats``, ``report`` and ``export`` its seconds;
``stats/10k`` (and ``report/10k``) the largest size's seconds over the smallest
size's (10,000 by default) — with one size, over itself (1.0); ``export/raw`` the
export's seconds over the raw dump's; ``rss-start`` and ``rss-peak`` the export
process's memory. An operation not run (or failed) shows as ``-``.

    .venv/bin/python bench/reports.py                     # 10k and 1M, both databases
    .venv/bin/python bench/reports.py --sizes 10000 --db sqlite
    .venv/bin/python bench/reports.py --sizes 10000,1000000 --db sqlite --ops stats,report,export
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import asyncio
import csv
import itertools
import json
import os
import random
import resource
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg  # type: ignore[import-untyped]
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bench.services import add_pg_dsn, throwaway_postgres
from bot.domain.calendar import local_day_number
from bot.domain.lifecycle import Action
from bot.domain.periods import utc_midnight
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
from storage import figure_triggers
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
# Run beside ``export`` (right after it), the floor its time is measured against.
RAW = "raw"
POINTS, DEPARTMENTS, OBSERVERS = 16, 5, 54
CHUNK = 20_000
# Rows per fetch in the raw dump: what the export streams by (storage's PARTITION).
RAW_FETCH = 5_000
YEAR_START = datetime(2026, 1, 1, tzinfo=UTC)
# The office's time zone (bot.services.context.Policy's): local days of the items.
OFFICE_TZ = ZoneInfo("Asia/Shanghai")
# Items are filed over the year but its last 40 days, in id order.
SPREAD = (365 - 40) * 86400

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

# The columns the generator fills, in the order of its rows.
ITEM_COLUMNS = (
    "id",
    "office_id",
    "reference",
    "kind",
    "domain",
    "observer_id",
    "point_id",
    "title",
    "body",
    "behalf",
    "status",
    "disposition",
    "department_id",
    "submitted_at",
    "submitted_day",
    "created_at",
    "updated_at",
    "decision_due",
    "decided_at",
    "decided_day",
    "decided_on_time",
    "implementation_due",
    "implemented_at",
    "implemented_on_time",
    "closed_at",
    "version",
)
EVENT_COLUMNS = (
    "id",
    "suggestion_id",
    "action",
    "actor_user_id",
    "actor_role",
    "from_status",
    "to_status",
    "text",
    "internal",
    "payload",
    "created_at",
)
RATING_COLUMNS = ("id", "suggestion_id", "observer_id", "value", "comment", "created_at")
TABLES = (
    ("suggestions", ITEM_COLUMNS),
    ("events", EVENT_COLUMNS),
    ("ratings", RATING_COLUMNS),
)
# What a bulk load drops and makes again afterwards (sorting once beats a million
# inserts into each).
BULK_INDEXES = [
    index
    for model in (Suggestion, Event, Rating)
    for index in sorted(
        Base.metadata.tables[model.__tablename__].indexes, key=lambda i: str(i.name)
    )
]

Row = tuple[Any, ...]
Rows = list[Row]


def _same(value: Any) -> Any:
    return value


def _sqlite_moment(moment: datetime) -> str:
    """As SQLAlchemy's SQLite DATETIME stores it (naive UTC, microseconds always)."""
    return moment.isoformat(" ", "microseconds")


class Generator:
    """Items, events and ratings, a chunk at a time, as rows in the order of
    ``ITEM_COLUMNS``, ``EVENT_COLUMNS`` and ``RATING_COLUMNS``; ids are given so that
    events and ratings point at their items without reading them back.

    ``n`` items in all are filed over 2026 in id order. Values are what the driver
    takes: naive UTC datetimes and dates (PostgreSQL's COPY), or with ``sqlite`` the
    text SQLAlchemy's SQLite types store."""

    def __init__(self, n: int, *, sqlite: bool = False, seed: int = 7) -> None:
        self.n = n
        self.rng = random.Random(seed)
        self.event_id = 0
        self.rating_id = 0
        self.moment: Callable[[datetime], Any] = _sqlite_moment if sqlite else _same
        self.day: Callable[[date], Any] = date.isoformat if sqlite else _same
        self.payload = "{}"

    def chunk(self, first: int, count: int) -> tuple[Rows, Rows, Rows]:
        return _rows(self, first, count)


_STAGE_VALUES = [(s.value, d.value if d else None, d is S.ADOPTED) for s, d, _w in STAGES]
_STAGE_WEIGHTS = [w for *_, w in STAGES]
_FINISHED = {S.IMPLEMENTED.value, S.CLOSED.value}
_KINDS = [k.value for k in SuggestionKind]
_DOMAINS = [d.value for d in FocusDomain]
_RATINGS = [r.value for r in RatingValue]


def _rows(gen: Generator, first: int, count: int) -> tuple[Rows, Rows, Rows]:
    rng = gen.rng
    moment, day = gen.moment, gen.day
    stages = rng.choices(_STAGE_VALUES, _STAGE_WEIGHTS, k=count)
    start = YEAR_START.replace(tzinfo=None)
    step = max(1, SPREAD // max(gen.n, 1))
    week = timedelta(days=7)
    items: Rows = []
    events: Rows = []
    ratings: Rows = []
    body = "人民路附近的情况，居民多次反映。" * 3
    residents = Behalf.RESIDENTS.value
    submit, adopt, decline, implement = (
        Action.SUBMIT.value,
        Action.ADOPT.value,
        Action.DECLINE.value,
        Action.MARK_IMPLEMENTED.value,
    )
    observer_role, admin_role, liaison_role = (
        Role.OBSERVER.value,
        Role.ADMIN.value,
        Role.LIAISON.value,
    )
    submitted, in_review, implementing, implemented_ = (
        S.SUBMITTED.value,
        S.IN_REVIEW.value,
        S.IMPLEMENTING.value,
        S.IMPLEMENTED.value,
    )
    closed = S.CLOSED.value
    payload = gen.payload
    for i, (status, disposition, adopted) in zip(range(first, first + count), stages, strict=True):
        # Strictly increasing with the id: each item a step after the last, give or take.
        filed = start + timedelta(seconds=(i - 1) * SPREAD // max(gen.n, 1) + rng.randrange(step))
        observer = rng.randrange(1, OBSERVERS + 1)
        decided = filed + timedelta(hours=rng.randrange(4, 240)) if disposition else None
        department = rng.randrange(1, DEPARTMENTS + 1) if adopted else None
        due = (
            (decided + timedelta(days=rng.randrange(10, 40))).date()
            if adopted and decided
            else None
        )
        implemented = (
            decided + timedelta(days=rng.randrange(5, 45))
            if adopted and decided and status in _FINISHED
            else None
        )
        items.append(
            (
                i,
                1,
                f"WZ-2026-{i:07d}",
                rng.choice(_KINDS),
                rng.choice(_DOMAINS),
                observer,
                (observer - 1) % POINTS + 1,
                f"{rng.choice(_TITLES)} {i}",
                body,
                residents,
                status,
                disposition,
                department,
                moment(filed),
                local_day_number(filed.replace(tzinfo=UTC), OFFICE_TZ),
                moment(filed),
                moment(decided or filed),
                day((filed + week).date()),
                None if decided is None else moment(decided),
                None
                if decided is None
                else local_day_number(decided.replace(tzinfo=UTC), OFFICE_TZ),
                None if decided is None else decided - filed < week,
                None if due is None else day(due),
                None if implemented is None else moment(implemented),
                None if implemented is None or due is None else implemented.date() <= due,
                moment(implemented) if implemented is not None and status == closed else None,
                1,
            )
        )
        actor = 1000 + observer
        gen.event_id += 1
        events.append(
            (
                gen.event_id,
                i,
                submit,
                actor,
                observer_role,
                None,
                submitted,
                None,
                False,
                payload,
                moment(filed),
            )
        )
        if decided is not None:
            gen.event_id += 1
            events.append(
                (
                    gen.event_id,
                    i,
                    adopt if adopted else decline,
                    actor,
                    admin_role,
                    in_review,
                    disposition,
                    "研判意见",
                    False,
                    payload,
                    moment(decided),
                )
            )
        if implemented is not None:
            gen.event_id += 1
            events.append(
                (
                    gen.event_id,
                    i,
                    implement,
                    actor,
                    liaison_role,
                    implementing,
                    implemented_,
                    "已落实完毕",
                    False,
                    payload,
                    moment(implemented),
                )
            )
        if (implemented is not None or status == closed) and rng.random() < 0.35:
            gen.rating_id += 1
            rated = (implemented or decided or filed) + timedelta(days=1)
            ratings.append((gen.rating_id, i, observer, rng.choice(_RATINGS), None, moment(rated)))
    return items, events, ratings


# ---- the district, in bulk --------------------------------------------------------------


async def _seed(conn: Any) -> None:
    """Points, departments, observers and the holidays, through SQLAlchemy (a few rows)."""
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


def _insert(table: str, columns: Sequence[str]) -> str:
    marks = ", ".join("?" for _c in columns)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"


def _chunks(gen: Generator, n: int) -> Iterator[tuple[Rows, Rows, Rows]]:
    """Every chunk of ``n`` items, each made in a thread of its own while the one before
    is written (sqlite3 and asyncpg's COPY leave the GIL part of the time)."""
    firsts = iter(range(1, n + 1, CHUNK))
    with ThreadPoolExecutor(1) as pool:
        # Two ahead at most.
        made = [
            pool.submit(gen.chunk, first, min(CHUNK, n + 1 - first))
            for first in itertools.islice(firsts, 2)
        ]
        while made:
            chunk = made.pop(0).result()
            following = next(firsts, None)
            if following is not None:
                made.append(pool.submit(gen.chunk, following, min(CHUNK, n + 1 - following)))
            yield chunk


def _load_sqlite(path: str, n: int) -> dict[str, int]:
    """Every item, event and rating, with sqlite3's executemany, a chunk a transaction."""
    counts = dict.fromkeys(("items", "events", "ratings"), 0)
    db = sqlite3.connect(path, isolation_level=None)
    try:
        # Foreign keys are off in a plain connection; the file is thrown away if this fails.
        # No journal while loading (the WAL would have every page written twice); the
        # bot's connections ask for WAL again.
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        db.execute("PRAGMA cache_size=-65536")
        statements = [_insert(table, columns) for table, columns in TABLES]
        for chunk in _chunks(Generator(n, sqlite=True), n):
            db.execute("BEGIN")
            for statement, rows, name in zip(statements, chunk, counts, strict=True):
                db.executemany(statement, rows)
                counts[name] += len(rows)
            db.execute("COMMIT")
        db.execute("PRAGMA journal_mode=WAL")
    finally:
        db.close()
    return counts


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _load_postgresql(url: str, n: int, *, checks: bool) -> dict[str, int]:
    """Every item, event and rating with COPY, in one transaction; without ``checks``
    in replica mode, which skips the foreign keys' (and any other) triggers."""
    counts = dict.fromkeys(("items", "events", "ratings"), 0)
    conn = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        if not checks:
            await conn.execute("SET session_replication_role = replica")
        async with conn.transaction():
            # The next chunks are made while this one is copied; waiting for one blocks
            # the loop, which has nothing else to do.
            for chunk in _chunks(Generator(n), n):
                for (table, columns), rows, name in zip(TABLES, chunk, counts, strict=True):
                    if rows:
                        await conn.copy_records_to_table(table, records=rows, columns=columns)
                    counts[name] += len(rows)
    finally:
        await conn.close()
    return counts


async def generate(url: str, n: int, *, with_triggers: bool = False) -> dict[str, Any]:
    """The district and ``n`` items; the counts and each step's seconds."""
    engine = create_engine(url)
    dialect = engine.dialect.name
    timing: dict[str, float] = {}
    started = time.perf_counter()
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(Base.metadata.create_all)
        await _seed(conn)
        if not with_triggers:
            for statement in figure_triggers.drop_statements(dialect):
                await conn.execute(sa.text(statement))
            for index in BULK_INDEXES:
                await conn.run_sync(index.drop)
    await engine.dispose()
    mark = time.perf_counter()
    if dialect == "sqlite":
        database = make_url(url).database
        assert database
        counts = await asyncio.to_thread(_load_sqlite, database, n)
    else:
        counts = await _load_postgresql(url, n, checks=with_triggers)
    timing["rows"] = time.perf_counter() - mark
    if not with_triggers:
        mark = time.perf_counter()
        async with engine.begin() as conn:
            for index in BULK_INDEXES:
                await conn.run_sync(index.create)
            if dialect == "postgresql":
                # The planner's statistics first: without them the recount's latest
                # rating per item is looked for by walking the ratings backwards.
                await conn.execute(sa.text("ANALYZE suggestions, events, ratings"))
        timing["indexes" if dialect == "sqlite" else "indexes+analyze"] = time.perf_counter() - mark
        # What ``outpost figures --rebuild`` does; the ratings first, so that their
        # update does not go through triggers whose sums are recounted next anyway.
        async with engine.begin() as conn:
            mark = time.perf_counter()
            await conn.execute(sa.text(figure_triggers.rating_recount_statement()))
            timing["latest ratings"] = time.perf_counter() - mark
            mark = time.perf_counter()
            for statement in figure_triggers.recount_statements():
                await conn.execute(sa.text(statement))
            timing["recount"] = time.perf_counter() - mark
            mark = time.perf_counter()
            for statement in figure_triggers.create_statements(dialect):
                await conn.execute(sa.text(statement))
            timing["triggers"] = time.perf_counter() - mark
    if dialect == "postgresql":
        mark = time.perf_counter()
        async with engine.begin() as conn:
            # Ids were given: the sequences are told, as the bot would have left them.
            for table in ("suggestions", "events", "ratings"):
                await conn.execute(
                    sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
                    )
                )
        conn_pg = await asyncpg.connect(_asyncpg_dsn(url))
        try:
            # Hint bits and the visibility map set now, not by whichever operation
            # reads first; the planner's statistics as autovacuum would leave them.
            await conn_pg.execute("VACUUM ANALYZE")
        finally:
            await conn_pg.close()
        timing["vacuum"] = time.perf_counter() - mark
    await engine.dispose()
    return {**counts, "seconds": time.perf_counter() - started, "steps": timing}


# ---- one operation, in a process of its own ------------------------------------------------


def _rss_mb(field: str = "VmRSS") -> float:
    """The process's resident memory now (VmRSS) or at its peak (VmHWM), in MB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _peak_mb() -> float:
    """The process's peak resident memory, in MB.

    ru_maxrss is the figure, but Linux carries it over an exec from the process forked
    to run it: a child of a parent grown to 300 MB generating items reports 300 MB
    whatever it did. VmHWM is the same high-water mark of this program's memory alone;
    ru_maxrss stands in where there is no /proc."""
    hwm = _rss_mb("VmHWM")
    # Linux reports kilobytes.
    return hwm or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _year_bounds() -> tuple[datetime, datetime]:
    """2026 in the office's time zone, as the naive UTC instants the columns hold."""
    lo = utc_midnight(date(2026, 1, 1), OFFICE_TZ)
    hi = utc_midnight(date(2027, 1, 1), OFFICE_TZ)
    return lo.replace(tzinfo=None), hi.replace(tzinfo=None)


# (file, statement, whether it takes the period's bounds as $1 and $2)
_IN_PERIOD = "s.submitted_at >= $1 AND s.submitted_at < $2"
RAW_QUERIES: list[tuple[str, str, bool]] = [
    (
        "items",
        "SELECT s.reference, s.submitted_at, s.kind, s.domain, s.point_id, s.observer_id, "
        "s.title, s.body, s.behalf, s.location_text, s.latitude, s.longitude, s.status, "
        "s.disposition, "
        "s.department_id, s.decision_due, s.decided_at, s.decided_on_time, "
        "s.implementation_due, s.implemented_at, s.implemented_on_time, s.escalated_to, "
        "s.city_answer_due, s.duplicate_of_id, s.closed_at "
        f"FROM suggestions s WHERE {_IN_PERIOD} ORDER BY s.submitted_at, s.id",
        True,
    ),
    (
        "events",
        "SELECT s.reference, e.created_at, e.action, e.actor_role, e.actor_user_id, "
        "e.from_status, e.to_status, e.text, e.internal "
        f"FROM events e JOIN suggestions s ON s.id = e.suggestion_id WHERE {_IN_PERIOD} "
        "ORDER BY e.id",
        True,
    ),
    ("observers", "SELECT * FROM observers ORDER BY id", False),
    ("points", "SELECT * FROM points ORDER BY code", False),
    ("departments", "SELECT * FROM departments ORDER BY code", False),
    (
        "ratings",
        "SELECT s.reference, r.created_at, r.value, r.comment "
        f"FROM ratings r JOIN suggestions s ON s.id = r.suggestion_id WHERE {_IN_PERIOD} "
        "ORDER BY r.id",
        True,
    ),
]


@contextmanager
def _csv_file(path: Path) -> Iterator[Callable[[Any], None]]:
    with path.open("w", newline="", encoding="utf-8") as out:
        yield csv.writer(out).writerows


async def _raw_sqlite(path: str, folder: Path) -> dict[str, Any]:
    import aiosqlite

    from storage import sqlite_inline

    lo, hi = (_sqlite_moment(b) for b in _year_bounds())
    # As storage.engine connects: statements of a snapshot run on the loop's thread.
    connect: Any = (
        aiosqlite.connect if os.environ.get("OUTPOST_NOINLINE") else sqlite_inline.connect
    )
    rows: dict[str, int] = {}
    async with connect(path) as db:
        await db.execute("BEGIN")
        start_mb = _rss_mb()
        started = time.perf_counter()
        for name, statement, bounded in RAW_QUERIES:
            with _csv_file(folder / f"{name}.csv") as write:
                cursor = await db.execute(statement.replace("$", "?"), (lo, hi) if bounded else ())
                rows[name] = 0
                while part := await cursor.fetchmany(RAW_FETCH):
                    write(part)
                    rows[name] += len(part)
                await cursor.close()
        seconds = time.perf_counter() - started
        await db.rollback()
    return {"seconds": seconds, "start_mb": start_mb, "rows": rows}


async def _raw_postgresql(url: str, folder: Path) -> dict[str, Any]:
    lo, hi = _year_bounds()
    rows: dict[str, int] = {}
    conn = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        async with conn.transaction(readonly=True):
            start_mb = _rss_mb()
            started = time.perf_counter()
            for name, statement, bounded in RAW_QUERIES:
                with _csv_file(folder / f"{name}.csv") as write:
                    cursor = await conn.cursor(statement, *((lo, hi) if bounded else ()))
                    rows[name] = 0
                    while part := await cursor.fetch(RAW_FETCH):
                        write(part)
                        rows[name] += len(part)
            seconds = time.perf_counter() - started
    finally:
        await conn.close()
    return {"seconds": seconds, "start_mb": start_mb, "rows": rows}


async def _raw_dump(url: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="outpost-raw-") as tmp:
        folder = Path(tmp)
        database = make_url(url)
        if database.get_backend_name() == "sqlite":
            assert database.database
            out = await _raw_sqlite(database.database, folder)
        else:
            out = await _raw_postgresql(url, folder)
        out["bytes"] = _size(folder)
    return out


def _size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.iterdir())


async def _operate(url: str, operation: str) -> dict[str, Any]:
    if operation == RAW:
        return await _raw_dump(url)
    from bot.i18n import build_i18n
    from bot.services.actors import SYSTEM
    from bot.services.context import Policy
    from bot.services.export import ExportService
    from bot.services.figures import FiguresService
    from handlers import documents
    from handlers.figure_texts import SECTIONS, stats_section, stats_summary
    from storage.engine import read_sessions, session_factory
    from storage.store import Store

    policy = Policy(jurisdiction="WZ")
    i18n = build_i18n("zh_CN")
    engine = create_engine(url)
    out: dict[str, Any] = {}
    if operation == "baseline":
        await engine.dispose()
        return {"seconds": 0.0, "start_mb": _rss_mb()}
    try:
        with tempfile.TemporaryDirectory(prefix="outpost-export-") as tmp:
            async with read_sessions(session_factory(engine))() as session, session.begin():
                await session.connection()  # connected and begun: part of the setup
                figures = FiguresService(Store(session), policy)
                period = figures.period("2026")
                with i18n.context(), i18n.use_locale("zh_CN"):
                    out["start_mb"] = _rss_mb()
                    started = time.perf_counter()
                    if operation == "export":
                        target = Path(tmp) / "export.xlsx"
                        export = ExportService(figures.store, policy)
                        done = await documents.workbook(
                            export, SYSTEM, period, policy, target=target
                        )
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
                    out["seconds"] = time.perf_counter() - started
    finally:
        await engine.dispose()
    return out


def _child(url: str, operation: str) -> None:
    result = asyncio.run(_operate(url, operation))
    result["peak_mb"] = _peak_mb()
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


def _steps(made: dict[str, Any]) -> str:
    steps: dict[str, float] = made["steps"]
    return ", ".join(f"{name} {seconds:.1f} s" for name, seconds in steps.items())


async def bench(
    url: str, database: str, size: int, operations: list[str], *, with_triggers: bool = False
) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """The printed lines and each operation's result."""
    made = await generate(url, size, with_triggers=with_triggers)
    lines = [
        f"{database}, {size:,} items: generated {made['items']:,} items, {made['events']:,} "
        f"events, {made['ratings']:,} ratings in {made['seconds']:.1f} s ({_steps(made)}"
        f"{', triggers on while loading' if with_triggers else ''})"
    ]
    print(lines[-1], flush=True)
    baseline = await asyncio.to_thread(run_operation, url, "baseline")
    lines.append(f"  (a process that has imported everything: {baseline['peak_mb']:.0f} MB)")
    results: dict[str, dict[str, Any]] = {}
    run = [o for op in operations for o in ((op, RAW) if op == "export" else (op,))]
    for operation in run:
        try:
            result = await asyncio.to_thread(run_operation, url, operation)
        except RuntimeError as failed:
            # Said, and the run goes on: the figures line shows it as not measured.
            print(failed, flush=True)
            lines.append(f"  {operation:<7} failed: {str(failed).strip().splitlines()[-1]}")
            print(lines[-1], flush=True)
            continue
        results[operation] = result
        extra = ""
        if "bytes" in result:
            extra = f", {result['bytes'] / 1e6:.1f} MB out"
        if "rows" in result:
            extra += f", {sum(result['rows'].values()):,} rows"
        peak, start = result["peak_mb"], result["start_mb"]
        # The raw dump imports none of the bot's services: the baseline is not its own.
        over = "" if operation == RAW else f"+{peak - baseline['peak_mb']:.0f} over the baseline; "
        lines.append(
            f"  {operation:<7} {result['seconds']:8.2f} s   peak {peak:7.0f} MB "
            f"({over}start {start:.0f} MB, +{peak - start:.0f}){extra}"
        )
        print(lines[-1], flush=True)
    return lines, results


def figures_line(database: str, runs: dict[int, dict[str, dict[str, Any]]]) -> str:
    """The issue's one line for a database (see the module's docstring)."""
    largest, smallest = runs[max(runs)], runs[min(runs)]

    def seconds(op: str, digits: int) -> str:
        return f"{largest[op]['seconds']:.{digits}f}s" if op in largest else "-"

    def ratio(op: str, over: dict[str, dict[str, Any]], by: str) -> str:
        if op not in largest or by not in over:
            return "-"
        below = over[by]["seconds"]
        return f"{largest[op]['seconds'] / below:.1f}" if below > 0 else "-"

    export = largest.get("export")
    return " ".join(
        [
            f"FIGURES {database} items {max(runs)}",
            f"stats {seconds('stats', 2)} stats/10k {ratio('stats', smallest, 'stats')}",
            f"report {seconds('report', 2)} report/10k {ratio('report', smallest, 'report')}",
            f"export {seconds('export', 1)} export/raw {ratio('export', largest, RAW)}",
            f"rss-start {export['start_mb']:.0f}MB" if export else "rss-start -",
            f"rss-peak {export['peak_mb']:.0f}MB" if export else "rss-peak -",
        ]
    )


async def main(argv: list[str] | None = None) -> list[str]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--sizes", default="10000,1000000", help="item counts, comma-separated")
    p.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    p.add_argument("--ops", default=",".join(OPERATIONS), help="operations, comma-separated")
    p.add_argument(
        "--load-with-triggers",
        action="store_true",
        help="load the items with the figures' triggers and every index in place",
    )
    add_pg_dsn(p)
    args = p.parse_args(argv)
    sizes = sorted({int(s.replace("_", "")) for s in args.sizes.split(",") if s})
    operations = [o for o in args.ops.split(",") if o]
    unknown = set(operations) - set(OPERATIONS)
    if unknown:
        p.error(f"unknown operations: {', '.join(sorted(unknown))}")
    printed: list[str] = []
    runs: dict[str, dict[int, dict[str, dict[str, Any]]]] = {}
    for size in sizes:
        if args.db in ("sqlite", "both"):
            with tempfile.TemporaryDirectory() as tmp:
                url = f"sqlite+aiosqlite:///{tmp}/reports.db"
                print(f"sqlite, {size:,} items …", flush=True)
                lines, results = await bench(
                    url, "sqlite", size, operations, with_triggers=args.load_with_triggers
                )
                printed += lines
                runs.setdefault("sqlite", {})[size] = results
        if args.db in ("postgresql", "both"):
            async with throwaway_postgres(args.pg_dsn, "outpost_bench_reports") as pg_url:
                if pg_url is not None:
                    print(f"postgresql, {size:,} items …", flush=True)
                    lines, results = await bench(
                        pg_url,
                        "postgresql",
                        size,
                        operations,
                        with_triggers=args.load_with_triggers,
                    )
                    printed += lines
                    runs.setdefault("postgresql", {})[size] = results
    printed += [figures_line(database, by_size) for database, by_size in runs.items()]
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
