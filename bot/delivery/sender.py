"""The outbox sender: a background task that delivers what the outbox holds.

What it promises:

- **In order per chat.** Each chat (a person's, or the admin group's) has at most one
  row in flight, and a row goes only when no earlier row of its chat is pending, even
  one waiting out its backoff (``OutboxRepository.due``).
- **Several chats at once.** Up to ``concurrency`` rows of different chats are in
  flight together, so that with 100 ms round trips the limits (about 30 a second, see
  ``bot.delivery.limits``), not the latency, set the pace.
- **Nothing lost.** Passing errors leave the row pending with a backoff; a person who
  blocked the bot has their rows held until they return (``bot.delivery.attempt``).
  A row is marked sent in a transaction that ends after its send: a crash in between
  leaves it pending and it is sent again, so a crash may repeat one message per row in
  flight and never loses one.

How it shares the database:

- **PostgreSQL.** Each row is delivered in a transaction of its own that first locks it
  (``SELECT … FOR UPDATE SKIP LOCKED``, with the row still due and first of its chat)
  and is committed once the outcome is written. Another sender process skips locked
  rows, and, since a locked row is still pending, the later rows of its chat too: any
  number of senders can share one database and none sends a row another has.
- **SQLite.** One writer at a time, shared in this process with the update handlers
  through ``storage.engine.writer``. A row to a person (a notice, a broadcast) writes
  nothing but its own state, so it is rendered and sent in a read-only snapshot
  transaction that neither waits for the writer nor holds it up, and its outcome is
  written afterwards in a short transaction under the writer lock (after checking that
  the row is as it was read). Rows that write as they are delivered (the admin group's
  and a liaison's cards) hold the writer for their whole delivery, after waiting for
  their chat's turn outside it; the group takes 20 messages a minute anyway. Run one
  sender per SQLite database: two processes would not see each other's rows in
  flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from contextlib import AbstractAsyncContextManager
from typing import Any

from aiogram import Bot
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery.attempt import attempt, outgoing, record
from bot.delivery.session import limiter_of
from bot.i18n import Catalogs
from bot.services.context import Clock, Policy, system_clock
from bot.services.notify import USER
from bot.services.outbox import OutboxItem, OutboxService
from bot.settings import Settings
from handlers.outgoing import Outgoing
from storage.engine import engine_of, read_sessions, writer
from storage.store import Store

log = logging.getLogger("bot.delivery")

# After the outbox could not be read (the database is away), wait this long at most.
_PICK_BACKOFF_MAX = 30.0


class OutboxSender:
    def __init__(
        self,
        bot: Bot,
        sessions: async_sessionmaker[AsyncSession],
        *,
        settings: Settings,
        i18n: Catalogs,
        policy: Policy,
        clock: Clock = system_clock,
        concurrency: int = 16,
        poll_interval: float = 0.25,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._bot = bot
        self._sessions = sessions
        self._settings = settings
        self._i18n = i18n
        self._policy = policy
        self._clock = clock
        self._concurrency = concurrency
        self._poll_interval = poll_interval
        engine = engine_of(sessions)
        self._sqlite = engine.dialect.name == "sqlite"
        self._writer: AbstractAsyncContextManager[Any] = writer(engine)
        self._reads = read_sessions(sessions) if self._sqlite else sessions
        # Chats with a row in flight; None stands for the admin group.
        self._busy: set[int | None] = set()
        self._tasks: set[asyncio.Task[bool]] = set()
        self._picking = asyncio.Lock()
        self._wake = asyncio.Event()
        self._stopping = False
        self._settled = 0

    # ---- the public face ------------------------------------------------------------

    async def run(self) -> None:
        """Deliver until :meth:`stop`; an error is logged, never the end of the loop."""
        log.info(
            "outbox sender started",
            extra={"concurrency": self._concurrency, "sqlite": self._sqlite},
        )
        failures = 0
        while not self._stopping:
            self._wake.clear()
            wait = self._poll_interval
            try:
                await self._fill()
                failures = 0
            except Exception:
                failures += 1
                wait = min(_PICK_BACKOFF_MAX, self._poll_interval * 2**failures)
                log.exception("outbox sender: could not read the outbox", extra={"retry_in": wait})
            if self._stopping:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)
        log.info("outbox sender stopped", extra={"settled": self._settled})

    def kick(self) -> None:
        """Something was queued: look now rather than at the next poll."""
        self._wake.set()

    async def stop(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109 (the runtime's API)
        """Start nothing new; let the sends in flight finish and be recorded (those
        still going after ``timeout`` are cancelled: their rows stay pending)."""
        self._stopping = True
        self._wake.set()
        # A pick under way starts nothing once it sees _stopping; wait for it to see it.
        async with self._picking:
            pass
        if not self._tasks:
            return
        _done, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
            log.warning(
                "outbox sender stopped with sends unfinished; they stay pending",
                extra={"unfinished": len(pending)},
            )

    async def pump(self) -> int:
        """Send what is due now (and what becomes due as earlier rows of its chat go),
        waiting for the sends; returns how many rows were settled: sent, failed, held
        or rescheduled."""
        before = self._settled
        while True:
            await self._fill()
            if not self._tasks:
                break
            await asyncio.wait(set(self._tasks), return_when=asyncio.FIRST_COMPLETED)
        return self._settled - before

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    # ---- picking --------------------------------------------------------------------

    async def _fill(self) -> int:
        """Start a delivery for each due row of a chat not in flight, up to the free
        slots; returns how many were started."""
        async with self._picking:
            free = self._concurrency - len(self._tasks)
            if free <= 0 or self._stopping:
                return 0
            rows = await self._due(free, set(self._busy))
            if self._stopping:
                return 0
            started = 0
            for row in rows:
                if row.chat_id in self._busy or len(self._tasks) >= self._concurrency:
                    continue
                self._busy.add(row.chat_id)
                task = asyncio.create_task(self._deliver(row), name=f"outbox-{row.id}")
                # A callback, not a finally: it runs even for a task cancelled unstarted,
                # and before whoever awaits the task (pump, stop) goes on.
                task.add_done_callback(functools.partial(self._finished, chat=row.chat_id))
                self._tasks.add(task)
                started += 1
            return started

    async def _due(self, limit: int, busy: set[int | None]) -> list[OutboxItem]:
        async with self._reads() as session, session.begin():
            outbox = OutboxService(Store(session), self._policy, self._clock)
            # On PostgreSQL, rows other senders have in flight are locked: skip them.
            return await outbox.due(limit=limit, busy=busy, skip_locked=not self._sqlite)

    # ---- delivering -----------------------------------------------------------------

    async def _deliver(self, row: OutboxItem) -> bool:
        """Deliver one row and record it; returns whether it was settled."""
        try:
            if self._sqlite and row.audience == USER and row.chat_id is not None:
                return await self._read_then_write(row)
            return await self._in_one_transaction(row)
        except Exception:
            # The send may have happened: the row stays pending and goes again.
            log.exception(
                "outbox row: recording the delivery failed; it stays pending",
                extra={"outbox_id": row.id, "kind": row.kind, "chat_id": row.chat_id},
            )
            return False

    def _finished(self, task: asyncio.Task[bool], *, chat: int | None) -> None:
        self._busy.discard(chat)
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is None and task.result():
            self._settled += 1
        # A slot is free, and the chat's next row may be due.
        self._wake.set()

    def _outgoing(self, store: Store) -> Outgoing:
        return outgoing(self._bot, store, self._settings, self._i18n, self._policy, self._clock)

    async def _in_one_transaction(self, row: OutboxItem) -> bool:
        if self._sqlite:
            # Wait for the chat's turn before taking the writer everyone needs.
            limiter = limiter_of(self._bot)
            if limiter is not None:
                chat = row.chat_id if row.chat_id is not None else self._settings.admin_chat_id
                await limiter.ready(chat)
        async with self._writer, self._sessions() as session, session.begin():
            store = Store(session)
            out = self._outgoing(store)
            claimed = await out.outbox.claim(row.id, lock=not self._sqlite)
            if claimed is None:
                return False
            outcome = await attempt(out, store, claimed, savepoint=True)
            return await record(out, claimed, outcome)

    async def _read_then_write(self, row: OutboxItem) -> bool:
        async with self._reads() as session, session.begin():
            store = Store(session)
            out = self._outgoing(store)
            claimed = await out.outbox.claim(row.id)
            if claimed is None:
                return False
            outcome = await attempt(out, store, claimed, savepoint=False)
        async with self._writer, self._sessions() as session, session.begin():
            out = self._outgoing(Store(session))
            if not await out.outbox.unchanged(claimed):
                log.warning(
                    "outbox row changed while it was being sent; its outcome is not recorded",
                    extra={"outbox_id": row.id, "kind": row.kind, "chat_id": row.chat_id},
                )
                return False
            return await record(out, claimed, outcome)
