"""The world's change feed: what the chat page hears about (GET /sandbox/events).

Every change to what a chat shows (a message added, edited or deleted, a keyboard
set), to the people and groups, and every callback answer, is published with a
sequence number. Publishing with nobody listening costs a counter increment: the
broadcast benchmark sends thousands of messages with no page open.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import Any

Change = dict[str, Any]
# Changes held for one reader before it is told to start over instead (a tab the
# browser suspended stops reading; it must not make the sandbox grow without bound).
BACKLOG_LIMIT = 10_000


class Subscription:
    """One reader's changes, in order, from when it subscribed."""

    def __init__(self, feed: ChangeFeed, limit: int) -> None:
        self._feed = feed
        self._limit = limit
        self._pending: deque[Change] = deque()
        self._wake = asyncio.Event()
        self._overflowed = False
        self.closed = False

    def push(self, change: Change) -> None:
        if len(self._pending) >= self._limit:
            self._pending.clear()
            self._overflowed = True
        elif not self._overflowed:
            self._pending.append(change)
        self._wake.set()

    def close(self) -> None:
        self.closed = True
        self._wake.set()

    async def next(self, seconds: float) -> list[Change] | None:
        """The changes since the last call, waiting up to ``seconds`` for one
        (an empty list if none came); None once the feed is closed."""
        if not self._pending and not self._overflowed and not self.closed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), seconds)
        self._wake.clear()
        if self.closed:
            return None
        if self._overflowed:
            # What was dropped is unknown to the reader: it reloads everything.
            self._overflowed = False
            return [{"seq": self._feed.seq, "kind": "resync", "chat_id": None, "message_id": None}]
        batch = list(self._pending)
        self._pending.clear()
        return batch


class ChangeFeed:
    def __init__(self, backlog_limit: int = BACKLOG_LIMIT) -> None:
        self.seq = 0
        self.closed = False
        self._backlog_limit = backlog_limit
        self._subscribers: list[Subscription] = []

    def publish(
        self,
        kind: str,
        *,
        chat_id: int | None = None,
        message_id: int | None = None,
        **extra: Any,
    ) -> None:
        self.seq += 1
        if not self._subscribers:
            return
        change: Change = {"seq": self.seq, "kind": kind, "chat_id": chat_id,
                          "message_id": message_id, **extra}  # fmt: skip
        for subscription in self._subscribers:
            subscription.push(change)

    def subscribe(self) -> Subscription:
        subscription = Subscription(self, self._backlog_limit)
        if self.closed:
            subscription.close()
        else:
            self._subscribers.append(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with contextlib.suppress(ValueError):
            self._subscribers.remove(subscription)

    @property
    def listeners(self) -> int:
        return len(self._subscribers)

    def close(self) -> None:
        """End every subscription (the server is shutting down); later ones end at once."""
        self.closed = True
        for subscription in self._subscribers:
            subscription.close()
        self._subscribers.clear()
