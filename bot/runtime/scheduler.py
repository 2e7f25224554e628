"""The scheduler inside the bot: one process at a time runs the reminders.

Every ``interval`` seconds each process tries to take (or renew) the ``scheduler``
lease, a row in the database; the one that holds it runs
:meth:`bot.services.reminders.ReminderService.run_due`. A process that stops releases
the lease, and one that dies loses it when it expires, so another takes over within
``ttl``. The lease keeps the work in one place; the reminders' unique keys make sure
that even two runs that overlap (a lease expiring mid-run) queue each message once.

The holder also keeps house: once a day, with the day's closing of waiting items, it
erases the applications the office no longer keeps and forgets old update ids
(:meth:`bot.services.privacy.PrivacyService.housekeeping`); and at its first round and
every ``census_every`` after, it counts each office's group's members who are not its
admins (``census``, which asks Telegram) and warns a group when that number changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery.holders import new_holder
from bot.services.context import Clock, Policy, system_clock
from bot.services.privacy import PrivacyService
from bot.services.reminders import KIND_CLOSE, Queued, ReminderService
from storage.engine import engine_of, writer
from storage.store import Store

log = logging.getLogger("bot.scheduler")

LEASE = "scheduler"

# Each office's group and how many of its members are not its admins (a group Telegram
# could not say of is left out: see handlers.privacy.outsiders).
Census = Callable[[], Awaitable[list[tuple[int, int]]]]


def holder_id() -> str:
    """Who this process is, in the lease: host, pid and a nonce (pids are reused)."""
    return new_holder()


class Scheduler:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        policy: Policy,
        *,
        clock: Clock = system_clock,
        holder: str | None = None,
        interval: float = 60.0,
        ttl: timedelta = timedelta(minutes=3),
        on_queued: Callable[[], None] | None = None,
        census: Census | None = None,
        census_every: float = 3600.0,
    ) -> None:
        self._sessions = sessions
        self._policy = policy
        self._clock = clock
        self.holder = holder or holder_id()
        self._interval = interval
        self._ttl = ttl
        self._on_queued = on_queued
        self._census = census
        self._census_every = census_every
        self._counted: float | None = None  # when the group was last counted (monotonic)
        self._writer = writer(engine_of(sessions))

    async def tick(self) -> Queued | None:
        """One round: None if another process holds the lease, else what was queued."""
        async with self._sessions() as session, self._writer, session.begin():
            held = await Store(session).leases.acquire(LEASE, self.holder, self._clock(), self._ttl)
        if not held:
            return None
        async with self._sessions() as session, self._writer, session.begin():
            queued = await ReminderService(Store(session), self._policy, self._clock).run_due()
        if KIND_CLOSE in queued.kinds:
            await self._keep_house()
        warned = await self._count_outsiders()
        if queued.kinds or warned:
            log.info(
                "scheduler queued",
                extra={
                    "kinds": ",".join(queued.kinds),
                    "closed": len(queued.closed),
                    "outsiders_warned": warned,
                },
            )
            if self._on_queued is not None:
                self._on_queued()
        return queued

    async def _keep_house(self) -> None:
        async with self._sessions() as session, self._writer, session.begin():
            done = await PrivacyService(Store(session), self._policy, self._clock).housekeeping()
        log.info(
            "housekeeping done",
            extra={"applications_erased": len(done.erased), "updates_pruned": done.pruned},
        )

    async def _count_outsiders(self) -> bool:
        """At the first round and every ``census_every`` seconds: the group's members who
        are not admins counted (Telegram is asked with no transaction open) and the
        group warned when their number changed. True when a warning was queued."""
        now = time.monotonic()
        if self._census is None or (
            self._counted is not None and now - self._counted < self._census_every
        ):
            return False
        self._counted = now
        warned = False
        for chat_id, count in await self._census():
            async with self._sessions() as session, self._writer, session.begin():
                privacy = PrivacyService(Store(session), self._policy, self._clock)
                warned = await privacy.outsiders(chat_id, count) or warned
        return warned

    async def run(self, stop: asyncio.Event) -> None:
        """Tick until ``stop`` is set; an error is logged, never the end of the loop."""
        log.info("scheduler started", extra={"holder": self.holder})
        while not stop.is_set():
            try:
                await self.tick()
            except Exception:
                log.exception("scheduler: a round failed; trying again at the next")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._interval)
        await self.release()
        log.info("scheduler stopped")

    async def release(self) -> None:
        with contextlib.suppress(Exception):
            async with self._sessions() as session, self._writer, session.begin():
                await Store(session).leases.release(LEASE, self.holder, self._clock())
