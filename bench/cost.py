"""Benchmark: what one update costs the bot — SQL statements, transactions, CPU.

The full bot of ``bench/throughput.py`` (every middleware, the real handlers, the outbox
sender alongside) is fed the same people's updates, with no latency, and every SQL
statement the process sends is counted against the update that caused it: a statement
made while an update is handled, or by work the update set going (its replies, its card
jobs), is the update's; one made by the outbox sender is the outbox's. Per update type
and for the mix it prints:

- **statements**: SQL statements sent, ``BEGIN``/``COMMIT``/``SAVEPOINT``/``RELEASE``
  excluded;
- **repeated**: SELECTs identical, statement and parameters, to one the same update
  already sent;
- **transactions**: transactions begun;
- **cpu-ms**: the process's CPU time while the update was handled (updates are fed one
  at a time, so it is the update's, with whatever the outbox sender did meanwhile);
  **all-in**: the process's CPU time over the whole run (the
  handlers, the middlewares, the outbox sender, everything) over the updates handled.

and, per database, the line the targets are checked on:

    COST sqlite mix statements 7.4 cpu-ms-all-in 2.9 outbox-statements 3.9

With ``--stack`` it also measures, on the bot's own engine, what the database layer
alone costs in CPU — a transaction as the bot opens one around the cheapest statement
there is, and each such statement more — and prints what the run's statements and
transactions per update (the outbox's share included) cost at those prices: the part of
the CPU all-in no handler work can remove, short of fewer statements and transactions.

    STACK sqlite statement-ms 0.118 transaction-ms 0.163 statements 10.7 transactions 4.4
        sql-cpu-ms 2.0 of cpu-ms-all-in 7.7  (one line)

Run from the repository root:

    .venv/bin/python bench/cost.py --db both
    .venv/bin/python bench/cost.py --updates 600 --db sqlite --by-type
    .venv/bin/python bench/cost.py --db both --stack
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import asyncio
import contextvars
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from aiogram.types import Update

from bench import throughput
from bench.services import add_pg_dsn, throwaway_postgres
from storage.engine import create_engine, session_factory, writer
from storage.models import Base, TelegramUser

# The update being handled (its type and a serial number), for the statements it sends.
_UPDATE: contextvars.ContextVar[tuple[str, int] | None] = contextvars.ContextVar(
    "cost_update", default=None
)
_OUTSIDE = ("outbox", 0)
_NOT_COUNTED = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


def kind_of(update: Update) -> str:
    """A short name for what an update is, to group its costs by."""
    if update.message is not None:
        text = update.message.text or ""
        where = "group" if update.message.chat.type != "private" else "private"
        if text.startswith("/"):
            return f"{where} {text.split()[0]}"
        if update.message.reply_to_message is not None:
            return f"{where} reply"
        return f"{where} text"
    if update.callback_query is not None:
        data = update.callback_query.data or ""
        parts = data.split(":")
        return "press " + ":".join(parts[:2])
    return "other"


@dataclass
class Tally:
    updates: set[int] = field(default_factory=set)
    statements: int = 0
    repeated: int = 0
    transactions: int = 0
    cpu: float = 0.0

    def per(self, value: float) -> float:
        return value / len(self.updates) if self.updates else 0.0


@dataclass
class Counting:
    by_kind: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    seen: dict[int, set[tuple[str, str]]] = field(default_factory=lambda: defaultdict(set))
    # One update of the kind asked for with --show: its statements, in order.
    show: str | None = None
    shown: list[str] = field(default_factory=list)
    shown_update: int | None = None
    outbox_statements: int = 0
    outbox_transactions: int = 0
    serial: int = 0
    on: bool = False

    def statement(self, sql: str, params: Any) -> None:
        if not self.on or sql.lstrip().upper().startswith(_NOT_COUNTED):
            return
        kind, number = _UPDATE.get() or _OUTSIDE
        if number == 0:
            self.outbox_statements += 1
            if self.show == "outbox" and len(self.shown) < 60:
                self.shown.append(" ".join(sql.split())[:160])
            return
        tally = self.by_kind[kind]
        tally.statements += 1
        if kind == self.show and self.shown_update in (None, number):
            self.shown_update = number
            self.shown.append(" ".join(sql.split())[:300])
        if sql.lstrip().upper().startswith("SELECT"):
            key = (sql, repr(params))
            if key in self.seen[number]:
                tally.repeated += 1
            self.seen[number].add(key)

    def begin(self) -> None:
        if not self.on:
            return
        kind, number = _UPDATE.get() or _OUTSIDE
        if number == 0:
            self.outbox_transactions += 1
            if self.show == "outbox" and len(self.shown) < 60:
                self.shown.append("-- begin")
        else:
            self.by_kind[kind].transactions += 1


@contextmanager
def counting(engine: Any, tally: Counting) -> Iterator[None]:
    sync = engine.sync_engine

    def before(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        tally.statement(statement, params)

    def begun(conn: Any) -> None:
        tally.begin()

    sa.event.listen(sync, "before_cursor_execute", before)
    sa.event.listen(sync, "begin", begun)
    try:
        yield
    finally:
        sa.event.remove(sync, "before_cursor_execute", before)
        sa.event.remove(sync, "begin", begun)


@contextmanager
def labelled_feeding(tally: Counting) -> Iterator[None]:
    """Feeder.feed, each update under its own label and with its CPU time counted."""
    original = throughput.Feeder.feed
    # One update at a time, so that the CPU time while one is fed is its own.
    one_at_a_time = asyncio.Lock()

    async def feed(self: throughput.Feeder, update: Update) -> None:
        async with one_at_a_time:
            await labelled(self, update)

    async def labelled(self: throughput.Feeder, update: Update) -> None:
        tally.serial += 1
        kind = kind_of(update)
        tally.by_kind[kind].updates.add(tally.serial)
        token = _UPDATE.set((kind, tally.serial))
        started = time.process_time()
        try:
            await original(self, update)
        finally:
            _UPDATE.reset(token)
            tally.by_kind[kind].cpu += time.process_time() - started

    throughput.Feeder.feed = feed  # type: ignore[method-assign]
    try:
        yield
    finally:
        throughput.Feeder.feed = original  # type: ignore[method-assign]


@contextmanager
def switched_on_while_feeding(tally: Counting, cpu: list[float]) -> Iterator[None]:
    """Count from the first update until the outbox is empty after the last one (not
    while the stage is seeded and delivered); ``cpu`` gets the process's CPU time at
    those two moments."""
    people, deliver_all = throughput.Feeder.people, throughput.Courier.deliver_all

    async def counted_people(self: throughput.Feeder, scripts: Any) -> list[str]:
        tally.on = True
        cpu[:] = [time.process_time()]
        return await people(self, scripts)

    async def counted_delivery(self: throughput.Courier) -> int:
        settled = await deliver_all(self)
        if tally.on:
            cpu[1:] = [time.process_time()]
            tally.on = False
        return settled

    throughput.Feeder.people = counted_people  # type: ignore[method-assign]
    throughput.Courier.deliver_all = counted_delivery  # type: ignore[method-assign]
    try:
        yield
    finally:
        throughput.Feeder.people = people  # type: ignore[method-assign]
        throughput.Courier.deliver_all = deliver_all  # type: ignore[method-assign]


@dataclass(frozen=True)
class Stack:
    """What the database layer alone costs in CPU, measured on the bot's own engine: a
    transaction as the bot opens one (a session, the writer's turn, begin, commit,
    close) around the cheapest statement there is, a primary-key SELECT of one column;
    and each such statement more."""

    statement_ms: float
    transaction_ms: float


async def stack_costs(url: str, rounds: int = 1000) -> Stack:
    engine = create_engine(url)
    sessions = session_factory(engine)
    one_writer = writer(engine)
    look = sa.select(TelegramUser.id).where(TelegramUser.id == sa.bindparam("id"))
    try:
        async with sessions() as session, session.begin():
            if await session.get(TelegramUser, _STACK_USER) is None:
                session.add(TelegramUser(id=_STACK_USER, first_name="stack"))

        async def transaction(statements: int) -> None:
            async with sessions() as session, one_writer, session.begin():
                for _ in range(statements):
                    await session.execute(look, {"id": _STACK_USER})

        async def cpu_of(statements: int) -> float:
            started = time.process_time()
            for _ in range(rounds):
                await transaction(statements)
            return (time.process_time() - started) * 1000 / rounds

        await cpu_of(1)  # warm: the statement compiled and cached, the pool filled
        # Alternated, and the least of three kept: the machine is shared. A statement
        # is priced over ten more in one transaction, not two: over two, a busy moment
        # during the longer run made a statement cost more than a transaction with one,
        # and the transaction's price came out below zero.
        ones, elevens = [], []
        for _ in range(3):
            ones.append(await cpu_of(1))
            elevens.append(await cpu_of(1 + _MORE))
        statement = max(0.0, (min(elevens) - min(ones)) / _MORE)
        return Stack(statement_ms=statement, transaction_ms=max(0.0, min(ones) - statement))
    finally:
        await engine.dispose()


# Statements more than one in the transaction that prices a statement.
_MORE = 10
# A user id no person in the bench has.
_STACK_USER = 9_000_000_001


@dataclass
class Cost:
    database: str
    tally: Counting
    # The process's CPU from the first update until the outbox was empty after the last.
    cpu_seconds: float
    delivered: int
    sound: bool
    stack: Stack | None = None

    @property
    def updates(self) -> int:
        return sum(len(t.updates) for t in self.tally.by_kind.values())

    def mix(self) -> Tally:
        total = Tally()
        for t in self.tally.by_kind.values():
            total.updates |= t.updates
            total.statements += t.statements
            total.repeated += t.repeated
            total.transactions += t.transactions
            total.cpu += t.cpu
        return total

    def line(self) -> str:
        mix = self.mix()
        per_row = self.tally.outbox_statements / self.delivered if self.delivered else 0.0
        return (
            f"COST {self.database} mix statements {mix.per(mix.statements):.1f} "
            f"cpu-ms-all-in {self.cpu_seconds * 1000 / max(self.updates, 1):.1f} "
            f"outbox-statements {per_row:.1f}"
        )


async def one_database(
    url: str, database: str, options: throughput.Options, show: str | None = None
) -> Cost:
    engine = create_engine(url)
    tally = Counting(show=show)
    cpu: list[float] = []
    try:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        with (
            counting(engine, tally),
            labelled_feeding(tally),
            switched_on_while_feeding(tally, cpu),
        ):
            result, _streams = await throughput.full_bot(
                session_factory(engine), url, database, options
            )
    finally:
        await engine.dispose()
    return Cost(
        database,
        tally,
        cpu_seconds=cpu[1] - cpu[0] if len(cpu) == 2 else float("nan"),
        delivered=result.delivered,
        sound=result.sound,
    )


def stack_line(cost: Cost) -> str:
    """The CPU the database layer alone takes per update: the mix's statements and
    transactions, and the outbox's for its share of rows, at the stack's prices."""
    assert cost.stack is not None
    mix, updates = cost.mix(), max(cost.updates, 1)
    statements = (mix.statements + cost.tally.outbox_statements) / updates
    transactions = (mix.transactions + cost.tally.outbox_transactions) / updates
    sql = statements * cost.stack.statement_ms + transactions * cost.stack.transaction_ms
    return (
        f"STACK {cost.database} statement-ms {cost.stack.statement_ms:.3f} "
        f"transaction-ms {cost.stack.transaction_ms:.3f} statements {statements:.1f} "
        f"transactions {transactions:.1f} sql-cpu-ms {sql:.1f} "
        f"of cpu-ms-all-in {cost.cpu_seconds * 1000 / updates:.1f}"
    )


def table(cost: Cost) -> list[str]:
    rows = [
        f"{'update type':<32} {'n':>5} {'statements':>10} {'repeated':>9} "
        f"{'transactions':>12} {'cpu-ms':>7}"
    ]
    kinds = sorted(cost.tally.by_kind.items(), key=lambda kv: -len(kv[1].updates))
    for kind, t in [*kinds, ("mix", cost.mix())]:
        rows.append(
            f"{kind:<32} {len(t.updates):>5} {t.per(t.statements):>10.1f} "
            f"{t.per(t.repeated):>9.1f} {t.per(t.transactions):>12.1f} "
            f"{t.per(t.cpu) * 1000:>7.2f}"
        )
    per_row = cost.tally.outbox_statements / cost.delivered if cost.delivered else 0.0
    per_tx = cost.tally.outbox_transactions / cost.delivered if cost.delivered else 0.0
    rows.append(
        f"outbox: {cost.delivered} rows delivered, {per_row:.1f} statements and "
        f"{per_tx:.1f} transactions a row"
    )
    return rows


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--updates", type=int, default=300, help="observer updates, and admin updates")
    p.add_argument("--people", type=int, default=2, help="people acting at once (default 2)")
    p.add_argument("--db", choices=["sqlite", "postgres", "both"], default="sqlite")
    p.add_argument("--by-type", action="store_true", help="print the table per update type")
    p.add_argument(
        "--show",
        metavar="TYPE",
        help="print the statements of one update of TYPE (outbox: the first of the sender)",
    )
    p.add_argument(
        "--stack",
        action="store_true",
        help="also measure what the database layer alone costs per update (STACK lines)",
    )
    p.add_argument("--stack-rounds", type=int, default=1000, help=argparse.SUPPRESS)
    add_pg_dsn(p)
    return p


async def measure(argv: list[str] | None = None) -> list[Cost]:
    args = parser().parse_args(argv)
    plan = throughput.make_plan(args.updates, args.people)
    options = throughput.Options(plan, 0.0, alongside=True)
    costs: list[Cost] = []
    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="outpost-cost-") as tmp:
            url = f"sqlite+aiosqlite:///{tmp}/bench.db"
            costs.append(await one_database(url, "sqlite", options, args.show))
            if args.stack:
                costs[-1].stack = await stack_costs(url, args.stack_rounds)
    if args.db in ("postgres", "both"):
        async with throwaway_postgres(args.pg_dsn, "outpost_bench_cost") as url:
            if url is not None:
                costs.append(await one_database(url, "postgresql", options, args.show))
                if args.stack:
                    costs[-1].stack = await stack_costs(url, args.stack_rounds)
    for cost in costs:
        print(f"-- {cost.database}: {cost.updates} updates, {args.people} people at once")
        if args.by_type:
            print("\n".join(table(cost)))
        if cost.tally.shown:
            print(f"statements of one update of type {args.show!r}:")
            print("\n".join(f"  {sql}" for sql in cost.tally.shown))
    for cost in costs:
        print(cost.line())
    for cost in costs:
        if cost.stack is not None:
            print(stack_line(cost))
    return costs


async def main(argv: list[str] | None = None) -> int:
    costs = await measure(argv)
    return 0 if costs and all(c.sound for c in costs) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
