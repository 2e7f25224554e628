"""The first step: an update seen before is dropped before any work is done.

This guard is in memory: the ids in hand in this process (a webhook retry arriving
while the first delivery is still being handled) and the ones it handled lately. The
durable guard, across restarts and processes, is the claim the transaction step writes
in the update's own transaction.
"""

from __future__ import annotations

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
        self._in_hand: set[tuple[int, int]] = set()
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
        if key in self._in_hand or key in self._recent:
            log.info("update %s seen before: ignored", event.update_id)
            return None
        self._in_hand.add(key)
        try:
            result = await handler(event, data)
        finally:
            self._in_hand.discard(key)
        # Only a handled update is remembered: one that failed may be delivered again.
        self._recent[key] = None
        if len(self._recent) > _RECENT:
            self._recent.popitem(last=False)
        return result
