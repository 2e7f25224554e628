"""Long polling that confirms an update to Telegram only once it has been handled.

aiogram's own polling loop moves ``offset`` past an update as soon as it has fetched
it, before the handler has run: a bot killed in the middle of handling loses that
update, since Telegram will not send it again. Here the offset only moves past updates
whose handling has finished (its transaction committed or its error answered), so a
crash or a kill -9 at any point means the unfinished updates come back at the next
start. An update that had committed but was not yet confirmed comes back too; the
durable claim its transaction wrote makes the second delivery change nothing.

Updates are still handled concurrently, as aiogram does (each chat keeps its order
through the conversation lock); the offset is the lowest update still in hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

log = logging.getLogger(__name__)


class HasUpdateId(Protocol):
    @property
    def update_id(self) -> int: ...


# (offset, timeout seconds) -> the updates Telegram returned.
Fetch = Callable[[int | None, int], Awaitable[Sequence[HasUpdateId]]]
Handle = Callable[[HasUpdateId], Awaitable[None]]


class Poller:
    def __init__(
        self,
        fetch: Fetch,
        handle: Handle,
        *,
        timeout: int = 30,
        max_in_flight: int = 200,
        idle_wait: float = 0.5,
        grace: float = 20.0,
        backoff_max: float = 30.0,
    ) -> None:
        self._fetch = fetch
        self._handle = handle
        self._timeout = timeout
        self._max_in_flight = max_in_flight
        self._idle_wait = idle_wait
        self._grace = grace
        self._backoff_max = backoff_max
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        # Handled ids at or above the offset: Telegram returns them again until the
        # offset passes them, and they must not be handled twice in this process.
        self._finished: set[int] = set()
        self._highest: int | None = None
        self.handled = 0

    @property
    def offset(self) -> int | None:
        """What to confirm: everything below the lowest update still in hand."""
        if self._in_flight:
            return min(self._in_flight)
        return None if self._highest is None else self._highest + 1

    async def run(self, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            if len(self._in_flight) >= self._max_in_flight:
                await self._wait_some(stop, within=None)
                continue
            # With updates in hand Telegram answers at once (they are unconfirmed), so a
            # long poll would not wait anyway.
            timeout = 0 if self._in_flight else self._timeout
            offset = self.offset
            updates = await self._until_stopped(self._fetch(offset, timeout), stop)
            if updates is None:
                break
            if isinstance(updates, BaseException):
                failures += 1
                delay = min(self._backoff_max, 0.5 * 2 ** min(failures, 10))
                delay *= random.uniform(0.8, 1.2)
                log.warning(
                    "fetching updates failed; retrying in %.1f s",
                    delay,
                    extra={"error": f"{type(updates).__name__}: {updates}", "failures": failures},
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                continue
            if failures:
                log.info("fetching updates works again", extra={"failures": failures})
                failures = 0
            if offset is not None:
                # Confirmed by this call: Telegram will not return them again.
                self._finished = {i for i in self._finished if i >= offset}
            fresh = [
                u
                for u in updates
                if u.update_id not in self._in_flight and u.update_id not in self._finished
            ]
            for update in fresh:
                self._start(update)
            if not fresh and self._in_flight:
                await self._wait_some(stop, within=self._idle_wait)
        await self._finish_in_hand()

    def _start(self, update: HasUpdateId) -> None:
        update_id = update.update_id
        if self._highest is None or update_id > self._highest:
            self._highest = update_id
        task = asyncio.create_task(self._handle_one(update), name=f"update-{update_id}")
        self._in_flight[update_id] = task

    async def _handle_one(self, update: HasUpdateId) -> None:
        try:
            await self._handle(update)
        except asyncio.CancelledError:
            # Not finished: it stays unconfirmed and comes back at the next start.
            self._in_flight.pop(update.update_id, None)
            raise
        except Exception:
            log.exception("update failed", extra={"update_id": update.update_id})
        self._in_flight.pop(update.update_id, None)
        self._finished.add(update.update_id)
        self.handled += 1

    async def _wait_some(self, stop: asyncio.Event, within: float | None) -> None:
        stopping = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait(
                [stopping, *self._in_flight.values()],
                timeout=within,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            stopping.cancel()

    async def _until_stopped(
        self, call: Awaitable[Sequence[HasUpdateId]], stop: asyncio.Event
    ) -> Sequence[HasUpdateId] | BaseException | None:
        """The call's result, its exception, or None when ``stop`` came first."""
        fetching = asyncio.ensure_future(call)
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait([fetching, stopping], return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not fetching.done():
            fetching.cancel()
            with contextlib.suppress(BaseException):
                await fetching
            return None
        if fetching.cancelled():
            return None
        error = fetching.exception()
        return error if error is not None else fetching.result()

    async def _finish_in_hand(self) -> None:
        """Let the updates in hand finish, then confirm them, so a restart does not
        fetch them again; after ``grace`` seconds the rest are cancelled (rolled back,
        and Telegram sends them again at the next start)."""
        tasks = list(self._in_flight.values())
        late: set[asyncio.Task[None]] = set()
        if tasks:
            log.info("finishing the updates in hand", extra={"in_hand": len(tasks)})
            _, late = await asyncio.wait(tasks, timeout=self._grace)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late)
                log.warning("updates cancelled at shutdown", extra={"cancelled": len(late)})
        if self._highest is not None and not late:
            with contextlib.suppress(Exception):
                # Confirms without waiting; whatever it returns stays unconfirmed.
                await asyncio.wait_for(self._fetch(self.offset, 0), 5)
