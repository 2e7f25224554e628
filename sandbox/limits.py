"""Telegram's flood limits on sending: overall per bot, per private chat, per group.

Telegram does not publish its algorithm; its FAQ gives the figures (about 30 messages a
second overall, one a second in a private chat with short bursts allowed, 20 a minute in
a group). We model them as a sliding one-second window overall, a token bucket per
private chat, and a sliding one-minute window per group, all against an injectable
monotonic clock so tests can make time pass without waiting.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field

Clock = Callable[[], float]

# When the call being performed arrived, on the limiter's clock (sandbox.server sets
# it): the limits are counted at arrival, as Telegram counts them at its servers, not
# after the latency this server adds, whose timers a busy event loop may fire in a
# bunch (bench/processes.py saw seven calls spaced 35 ms apart counted as one burst).
ARRIVED: ContextVar[float | None] = ContextVar("sandbox_arrived", default=None)


@dataclass
class LimitSettings:
    global_per_second: int = 30
    private_per_second: float = 1.0
    private_burst: int = 3
    group_per_minute: int = 20


@dataclass
class _Bucket:
    tokens: float
    at: float


@dataclass
class RateLimiter:
    settings: LimitSettings
    clock: Clock = time.monotonic
    _overall: deque[float] = field(default_factory=deque)
    _private: dict[int, _Bucket] = field(default_factory=dict)
    _groups: dict[int, deque[float]] = field(default_factory=dict)

    def acquire(
        self, chat_id: int, private: bool, count: int = 1, *, now: float | None = None
    ) -> int | None:
        """Take ``count`` sends to ``chat_id`` now (or at ``now``, on this limiter's
        clock: when the call arrived); or the whole seconds to wait, taking nothing
        (Telegram does not perform a request it answers with 429)."""
        now = self.clock() if now is None else now
        waits = [self._window_wait(self._overall, 1.0, self.settings.global_per_second, now, count)]
        bucket: _Bucket | None = None
        group: deque[float] | None = None
        if private:
            bucket = self._refilled(chat_id, now)
            waits.append(self._bucket_wait(bucket, count))
        else:
            group = self._groups.setdefault(chat_id, deque())
            waits.append(self._window_wait(group, 60.0, self.settings.group_per_minute, now, count))
        wait = max(waits)
        if wait > 0:
            return max(1, math.ceil(wait))
        self._overall.extend([now] * count)
        if bucket is not None:
            bucket.tokens -= count
        if group is not None:
            group.extend([now] * count)
        return None

    @staticmethod
    def _window_wait(
        sent: deque[float], window: float, limit: int, now: float, count: int
    ) -> float:
        while sent and sent[0] <= now - window:
            sent.popleft()
        excess = len(sent) + count - limit
        if excess <= 0 or not sent:
            # An empty window always lets one call through, even one bigger than the
            # limit (an album of 10 into a tightened test limit), as Telegram would.
            return 0.0
        # The window has room once the ``excess`` oldest sends in it have aged out.
        oldest = sent[min(excess, len(sent)) - 1]
        return max(oldest + window - now, 1e-9)

    def _refilled(self, chat_id: int, now: float) -> _Bucket:
        burst = float(self.settings.private_burst)
        bucket = self._private.get(chat_id)
        if bucket is None:
            bucket = self._private[chat_id] = _Bucket(burst, now)
        rate = self.settings.private_per_second
        bucket.tokens = min(burst, bucket.tokens + (now - bucket.at) * rate)
        bucket.at = now
        return bucket

    def _bucket_wait(self, bucket: _Bucket, count: int) -> float:
        burst = float(self.settings.private_burst)
        # More than the burst at once (an album) goes through from a full bucket, leaving
        # it in debt, so it is never refused forever.
        need = min(float(count), burst)
        if bucket.tokens >= need - 1e-9:
            return 0.0
        rate = self.settings.private_per_second
        if rate <= 0:
            return 3600.0
        return max((need - bucket.tokens) / rate, 1e-9)
