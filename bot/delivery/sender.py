"""The outbox sender: a background task that delivers what the outbox holds.

What it promises:

- **In order per chat.** Each chat (a person's, or the admin group's) has at most one
  row in flight, and a row goes only when no earlier row of its chat is pending, even
  one waiting out its backoff (``OutboxRepository.due``).
- **Several chats at once.** Up to ``concurrency`` rows of different chats are in
  flight together, so that with 100 ms round trips the limits (about 30 a second, see
  ``bot.delivery.limits``), not the latency, set the pace. A row waiting for its
  chat's turn holds its place meanwhile (but no connection): a person just answered a
  dozen times waits a dozen seconds. With 16 places, a broadcast to 10,000 people, 50
  of whom had just been so answered, sent nothing else for 15 seconds
  (bench/processes.py); 64 leave room for such chats.
- **Nothing lost.** Passing errors leave the row pending with a backoff; a person who
  blocked the bot has their rows held until they return (``bot.delivery.attempt``).

How a row goes, with no transaction open while Telegram is asked (decide, commit,
then speak):

1. **Claim**, in the one statement that picks them: the due rows, each first of its
   chat, as many as there are free slots, are leased to this sender (``claimed_by``,
   ``claimed_until``; on PostgreSQL they are picked with ``SKIP LOCKED``, so two
   senders never claim one row), and each is started at once. Other
   senders, in this process or others, skip a live lease, and since a leased row is
   still pending, the later rows of its chat wait behind it.
2. **Render and send**: what the row says is decided in a read transaction and said
   once that has closed; cards are brought up to date the same way
   (``handlers.card_sync``).
3. **Record**, in another short transaction, if the row is still ours. A database
   that is locked is waited out, so the outcome is never dropped and the send never
   repeated for it. A crash between 1 and 3 leaves the lease to run out, and the row
   goes again: a crash repeats at most the sends in flight at that moment.

Between picks the sender also brings up to date the cards marked for a re-sync (a
move whose card edit failed, or was never made because the process died).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging

from aiogram import Bot
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery.attempt import LEASE_SECONDS, deliver_row, outgoing
from bot.delivery.holders import new_holder
from bot.effects import Speech
from bot.i18n import Catalogs
from bot.services.cards import CardService
from bot.services.context import Clock, Policy, system_clock
from bot.services.outbox import OutboxItem, OutboxService
from bot.settings import Settings
from handlers.delivering import Outgoing
from handlers.outgoing import resync
from storage.engine import engine_of
from storage.store import Store

log = logging.getLogger("bot.delivery")

# After the outbox could not be read (the database is away), wait this long at most.
_PICK_BACKOFF_MAX = 30.0
# The least time between two looks at the outbox (see OutboxSender.run). Every commit
# that queues a row and every send done asks for a look; 50 ms (a notice may start that
# much later, which no one can tell) lets one look take what several asked for, where
# 20 ms left a sixth of the looks finding nothing on a busy machine.
_LOOK_GAP = 0.05


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
        concurrency: int = 64,
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
        self._idle_interval = max(poll_interval, min(2.0, poll_interval * 8))
        engine = engine_of(sessions)
        self._sqlite = engine.dialect.name == "sqlite"
        # Chats with a row in flight; None stands for the admin group.
        self._busy: set[int | None] = set()
        self._tasks: set[asyncio.Task[bool]] = set()
        self._picking = asyncio.Lock()
        self._wake = asyncio.Event()
        self._stopping = False
        self._settled = 0
        self._speech = Speech(bot, sessions)
        # Who holds a lease: this sender, among processes and restarts.
        self._me = new_holder()
        self._locale = settings.default_locale
        self._resyncing: asyncio.Task[None] | None = None
        self._resynced_at = float("-inf")

    # ---- the public face ------------------------------------------------------------

    async def run(self) -> None:
        """Deliver until :meth:`stop`; an error is logged, never the end of the loop."""
        log.info(
            "outbox sender started",
            extra={"concurrency": self._concurrency, "sqlite": self._sqlite},
        )
        if self._sqlite:
            await self._release_leases()
        failures = 0
        looked_at = float("-inf")
        while not self._stopping:
            # Kicks come with every commit that queued a row and every send done: looks
            # closer together than this would mostly find the same rows in flight.
            since = asyncio.get_running_loop().time() - looked_at
            if since < _LOOK_GAP:
                await asyncio.sleep(_LOOK_GAP - since)
            looked_at = asyncio.get_running_loop().time()
            self._wake.clear()
            wait = self._poll_interval
            try:
                if not await self._fill() and not self._tasks:
                    # Nothing due: a kick (something queued, a send done) wakes it
                    # sooner; the look now and then is for rows whose time comes.
                    wait = self._idle_interval
                await self._cards()
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

    async def _release_leases(self) -> None:
        # One sender per SQLite database: a lease found at start was left by this
        # sender's previous life (a crash, a kill -9), and its sends go again now
        # rather than when the lease would run out.
        try:
            async with self._speech.write() as store:
                freed = await OutboxService(store, self._policy, self._clock).release_leases()
        except Exception:
            log.exception("outbox sender: could not release old leases")
            return
        if freed:
            log.info("outbox sender: rows left on lease by a previous run go again",
                     extra={"rows": freed})  # fmt: skip

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

    async def _cards(self) -> None:
        # Cards re-sync between picks, at most once a second, in a task of their own.
        now = asyncio.get_running_loop().time()
        if self._resyncing is not None and not self._resyncing.done():
            return
        if now - self._resynced_at < 1.0:
            return
        self._resynced_at = now
        self._resyncing = asyncio.create_task(self._quiet_resync(), name="cards-resync")

    async def _quiet_resync(self) -> None:
        try:
            await self.resync_cards()
        except Exception:
            log.exception("cards could not be re-synced")

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
                await self._release(rows)
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
        """The due rows, leased to this sender in the statement that picks them:
        each is started at once (there is a free slot, and its chat is not busy)."""
        async with self._speech.once() as store:
            outbox = OutboxService(store, self._policy, self._clock)
            # On PostgreSQL, rows other senders have in flight are locked: skip them.
            return await outbox.take(
                by=self._me, lease=LEASE_SECONDS, limit=limit, busy=busy,
                skip_locked=not self._sqlite,
            )  # fmt: skip

    async def _release(self, rows: list[OutboxItem]) -> None:
        """Rows picked but not started go back to their queues at once."""
        if rows:
            async with self._speech.write() as store:
                outbox = OutboxService(store, self._policy, self._clock)
                for row in rows:
                    await outbox.release(row.id)

    # ---- delivering -----------------------------------------------------------------

    async def _deliver(self, row: OutboxItem) -> bool:
        """Deliver one row and record it; returns whether it was settled."""
        try:
            delivery = await deliver_row(
                self._speech, row.id, self._build, by=self._me, lock=not self._sqlite,
                leased=row,
            )  # fmt: skip
        except Exception:
            # The send may have happened: the row stays pending and goes again once its
            # lease runs out.
            log.exception(
                "outbox row: delivering failed; it stays pending",
                extra={"outbox_id": row.id, "kind": row.kind, "chat_id": row.chat_id},
            )
            return False
        return delivery is not None and delivery.settled

    def _finished(self, task: asyncio.Task[bool], *, chat: int | None) -> None:
        self._busy.discard(chat)
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is None and task.result():
            self._settled += 1
        # A slot is free, and the chat's next row may be due.
        self._wake.set()

    def _build(self, store: Store) -> Outgoing:
        return outgoing(self._bot, store, self._settings, self._i18n, self._policy, self._clock)

    # ---- cards ------------------------------------------------------------------------

    async def resync_cards(self) -> int:
        """Bring up to date the cards due for a re-sync (a move not yet shown, an edit
        that failed); returns how many were tried."""
        async with self._speech.read() as store:
            due = await CardService(store, self._policy, self._clock).due(limit=20)
        for card in due:
            try:
                await resync(self._speech, card, self._build, default_locale=self._locale)
            except Exception:
                log.exception("card re-sync failed", extra={"card_id": card.id})
                async with self._speech.write() as store:
                    await CardService(store, self._policy, self._clock).stale(card.id)
        return len(due)
