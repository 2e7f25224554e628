"""Who is an admin: an administrator of the admin group, or someone in ``ADMIN_IDS``.

Group membership is asked of Telegram (getChatMember) and trusted for a short while;
an admin removed from the group loses the right within ``ADMIN_CACHE_SECONDS``. When
Telegram cannot answer, only ``ADMIN_IDS`` count: the right is never granted by
default.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError

log = logging.getLogger(__name__)

_ADMIN_STATUSES = frozenset({"creator", "administrator"})


class AdminDirectory:
    def __init__(
        self,
        chat_id: int | None,
        admin_ids: frozenset[int],
        *,
        ttl: float = 60.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.chat_id = chat_id
        self._admin_ids = admin_ids
        self._ttl = ttl
        self._monotonic = monotonic
        self._cache: dict[int, tuple[float, bool]] = {}

    async def is_admin(self, bot: Bot, user_id: int) -> bool:
        if user_id in self._admin_ids:
            return True
        if self.chat_id is None:
            return False
        now = self._monotonic()
        cached = self._cache.get(user_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            member = await bot.get_chat_member(self.chat_id, user_id)
        except (TelegramAPIError, TelegramNetworkError) as exc:
            # Not cached: the next update asks again.
            log.warning(
                "getChatMember(%s, %s) failed, ADMIN_IDS only: %s", self.chat_id, user_id, exc
            )
            return False
        # aiogram gives an enum (str(ChatMemberStatus.X) is not its value).
        verdict = getattr(member.status, "value", member.status) in _ADMIN_STATUSES
        self._cache[user_id] = (now + self._ttl, verdict)
        return verdict

    def forget(self, user_id: int | None = None) -> None:
        """Drop what is cached (for one person, or everyone)."""
        if user_id is None:
            self._cache.clear()
        else:
            self._cache.pop(user_id, None)
