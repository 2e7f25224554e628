"""Who is an admin: an administrator of an office's group, or an operator.

An office's admins are its group's creator and administrators; the people in
``ADMIN_IDS`` are the deployment's operators, who act in any office's group.

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
        self._cache: dict[tuple[int, int], tuple[float, bool]] = {}

    def operator(self, user_id: int) -> bool:
        """Whether ``user_id`` is one of the deployment's operators (``ADMIN_IDS``)."""
        return user_id in self._admin_ids

    async def is_admin(self, bot: Bot, user_id: int, chat_id: int | None = None) -> bool:
        """Whether ``user_id`` administers the group ``chat_id`` (the home office's,
        if not given), or is an operator."""
        if user_id in self._admin_ids:
            return True
        chat = chat_id if chat_id is not None else self.chat_id
        if chat is None:
            return False
        now = self._monotonic()
        cached = self._cache.get((chat, user_id))
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            member = await bot.get_chat_member(chat, user_id)
        except (TelegramAPIError, TelegramNetworkError) as exc:
            # Not cached: the next update asks again.
            log.warning("getChatMember(%s, %s) failed, ADMIN_IDS only: %s", chat, user_id, exc)
            return False
        # aiogram gives an enum (str(ChatMemberStatus.X) is not its value).
        verdict = getattr(member.status, "value", member.status) in _ADMIN_STATUSES
        self._cache[(chat, user_id)] = (now + self._ttl, verdict)
        return verdict

    def forget(self, user_id: int | None = None) -> None:
        """Drop what is cached (for one person, or everyone)."""
        if user_id is None:
            self._cache.clear()
        else:
            for key in [key for key in self._cache if key[1] == user_id]:
                del self._cache[key]
