"""Before the transaction: what must be asked of Telegram, and chats we do not serve.

Whether someone in the office's group is one of its admins is asked of Telegram
(getChatMember, cached briefly) here, before any transaction opens, so that the
round trip holds up no one else's update (decide, commit, then speak).

The bot has nothing to do in a group that is not the office's: whoever added it
there is told so once, and the bot leaves. Its updates from there are dropped.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError
from aiogram.types import Chat, TelegramObject, Update, User
from aiogram.utils.i18n import I18n

from bot.admins import AdminDirectory
from bot.i18n import N_, locale_for

log = logging.getLogger(__name__)

_GROUPS = frozenset({"group", "supergroup"})


NOT_HERE = N_(
    "This bot works only in its district office's group and in private chats. "
    "It is leaving this group."
)


class Standing(BaseMiddleware):
    def __init__(self, admins: AdminDirectory, i18n: I18n, default_locale: str) -> None:
        self._admins = admins
        self._i18n = i18n
        self._default_locale = default_locale
        # Groups told and left in this process: said once, even if updates still come.
        self._left: set[int] = set()

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        chat: Chat | None = data.get("event_chat")
        who: User | None = data.get("event_from_user")
        bot: Bot = data["bot"]
        office = self._admins.chat_id
        if chat is not None and chat.type in _GROUPS and office is not None and chat.id != office:
            await self._leave(bot, chat, who, event)
            return None
        # Known after the first ask: handlers read the bot's username inside transactions.
        # Telegram failing to say is no reason to drop the update: whoever needs it then
        # fails on its own, and the person is told.
        with contextlib.suppress(TelegramAPIError, TelegramNetworkError):
            await bot.me()
        in_group = chat is not None and chat.id == self._admins.chat_id
        data["office_admin"] = (
            in_group
            and who is not None
            and not who.is_bot
            and await self._admins.is_admin(bot, who.id)
        )
        return await handler(event, data)

    async def _leave(self, bot: Bot, chat: Chat, who: User | None, event: TelegramObject) -> None:
        if chat.id in self._left:
            return
        if isinstance(event, Update) and event.my_chat_member is not None:
            status = event.my_chat_member.new_chat_member.status
            if getattr(status, "value", status) in ("left", "kicked"):
                return
        self._left.add(chat.id)
        log.info("leaving a group that is not the office's", extra={"chat_id": chat.id})
        locale = locale_for(None, who.language_code if who else None, self._default_locale)
        try:
            await bot.send_message(chat.id, self._i18n.gettext(NOT_HERE, locale=locale))
        except Exception as exc:  # the group may not let us speak: leave all the same
            log.info("could not say goodbye to group %s: %s", chat.id, exc)
        try:
            await bot.leave_chat(chat.id)
        except Exception as exc:
            log.warning("could not leave group %s: %s", chat.id, exc)
