"""The first step: an update seen before is dropped before any work is done.

This guard is in memory: the ids in hand in this process (a webhook retry arriving
while the first delivery is still being handled) and the ones it handled lately. The
durable guard, across restarts and processes, is the claim the transaction step writes
in the update's own transaction.

A retry of an update still in hand waits for the first delivery to end, and is
answered only then: answered at once, it would tell Telegram the update was done while
it might yet fail, or be applied after the chat's next updates, which Telegram sends
once this one is answered (seen with a worker killed while it held a chat's
conversation lock: the retries waited on the lock, and the chat's next five lines went
in ahead of it). If the first delivery failed, the retry handles the update itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.types import TelegramObject, Update

log = logging.getLogger(__name__)

_RECENT = 10_000


class UpdateDedupe(BaseMiddleware):
    def __init__(self) -> None:
        # Each update in hand, and the event set when its handling ends.
        self._in_hand: dict[tuple[int, int], asyncio.Event] = {}
        self._recent: OrderedDict[tuple[int, int], None] = OrderedDict()

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        assert isinstance(event, Update)
        bot: Bot = data["bot"]
        key = (bot.id, event.update_id)
        while (first := self._in_hand.get(key)) is not None:
            await first.wait()
        if key in self._recent:
            log.info("update %s seen before: ignored", event.update_id)
            return None
        done = self._in_hand[key] = asyncio.Event()
        try:
            result = await handler(event, data)
        finally:
            del self._in_hand[key]
            done.set()
        # Only a handled update is remembered: one that failed may be delivered again.
        self._recent[key] = None
        if len(self._recent) > _RECENT:
            self._recent.popitem(last=False)
        return result
