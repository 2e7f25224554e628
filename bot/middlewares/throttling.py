"""Per-person throttling: a token bucket, with one translated "slow down" per burst.

An album arrives as several updates at once and is never throttled: dropping one of
its photos would lose part of what the person sent.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject, Update, User
from aiogram.utils.i18n import gettext as _


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    rate: float = 2.0  # updates per second, sustained
    burst: int = 20


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float
    warned: bool = False


class Throttling(BaseMiddleware):
    def __init__(
        self, policy: ThrottlePolicy | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.policy = policy or ThrottlePolicy()
        self.clock = clock
        self._buckets: dict[int, _Bucket] = {}

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        who: User | None = data.get("event_from_user")
        assert isinstance(event, Update)
        if who is None or (event.message is not None and event.message.media_group_id):
            return await handler(event, data)
        if self._take(who.id):
            return await handler(event, data)
        bucket = self._buckets[who.id]
        if not bucket.warned:
            bucket.warned = True
            await _slow_down(event.event)
        return None

    def _take(self, user_id: int) -> bool:
        now = self.clock()
        bucket = self._buckets.get(user_id)
        if bucket is None:
            if len(self._buckets) > 50_000:
                self._buckets.clear()
            bucket = self._buckets[user_id] = _Bucket(float(self.policy.burst), now)
        bucket.tokens = min(
            float(self.policy.burst), bucket.tokens + (now - bucket.at) * self.policy.rate
        )
        bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            bucket.warned = False
            return True
        return False


async def _slow_down(event: TelegramObject) -> None:
    text = _("You are sending messages too quickly. Please wait a few seconds and try again.")
    if isinstance(event, CallbackQuery):
        await event.answer(text, show_alert=True)
    elif isinstance(event, Message):
        await event.answer(text)
