"""Before the transaction: which office, what must be asked of Telegram, and chats we
do not serve.

An update from a group bound to an office carries that office (``data["office"]``,
from the tree of offices kept a while). Whether someone there is one of its admins is
asked of Telegram (getChatMember, cached briefly) here, before any transaction opens,
so that the round trip holds up no one else's update (decide, commit, then speak).

The bot has nothing to do in a group that is no office's: whoever added it there is
told so once, and the bot leaves. Its updates from there are dropped. Two things are
let through from such a group: the ``/start <code>`` that an office's one-time link
sends as it adds the bot (handlers.offices binds the group, or says why not), and, while
some office awaits its group, the bot's being added, which that ``/start`` follows.
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
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.admins import AdminDirectory
from bot.domain.offices import OfficeTree
from bot.i18n import N_, locale_for
from storage.engine import read_sessions
from storage.repositories.offices import OfficeRepository, office_tree

log = logging.getLogger(__name__)

_GROUPS = frozenset({"group", "supergroup"})


NOT_HERE = N_(
    "This bot works only in its district office's group and in private chats. "
    "It is leaving this group."
)


class Standing(BaseMiddleware):
    def __init__(
        self,
        admins: AdminDirectory,
        i18n: I18n,
        default_locale: str,
        sessions: async_sessionmaker[AsyncSession],
    ) -> None:
        self._admins = admins
        self._sessions = read_sessions(sessions)
        # ADMIN_CHAT_ID: the home office's group until a group is bound to it.
        self._home_group = admins.chat_id
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
        office = None
        if chat is not None and chat.type in _GROUPS:
            tree = await office_tree(self._sessions, self._home_group)
            office = tree.of_chat(chat.id)
            if office is None and not await self._welcome(event, tree):
                await self._leave(bot, chat, who, event)
                return None
            # With several offices, the transaction sees only this one's rows.
            data["office_alone"] = len(tree) == 1
        data["office"] = office
        # Known after the first ask: handlers read the bot's username inside transactions.
        # Telegram failing to say is no reason to drop the update: whoever needs it then
        # fails on its own, and the person is told.
        with contextlib.suppress(TelegramAPIError, TelegramNetworkError):
            await bot.me()
        # In an office's group: whether they act as its admins. In a group that a link
        # would bind: whether they administer it (only they may bind it).
        binding = office is None and _binding(event)
        admin = (
            chat is not None
            and (office is not None or binding)
            and who is not None
            and not who.is_bot
            and await self._admins.is_admin(bot, who.id, chat.id)
        )
        data["office_admin"] = admin and office is not None
        data["office_operator"] = (
            data["office_admin"] and who is not None and self._admins.operator(who.id)
        )
        data["group_admin"] = admin and binding
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

    async def _welcome(self, event: TelegramObject, tree: OfficeTree) -> bool:
        """Whether an update from a group that is no office's may go on: with no office
        bound anywhere (nothing to guard yet), a ``/start`` that may bind the group, or
        the bot's being added while an office awaits its group (the ``/start`` follows)."""
        if not any(office.bound for office in tree):
            return True
        if not isinstance(event, Update):
            return False
        if event.message is not None:
            return _binding(event)
        if event.my_chat_member is not None:
            status = event.my_chat_member.new_chat_member.status
            if getattr(status, "value", status) not in ("member", "administrator"):
                return False
            if not all(office.bound for office in tree):
                return True
            # A bound office moving to another group through a new link (/office_link):
            # asked of the database, as the tree does not know of links; joins are rare.
            async with self._sessions() as session, session.begin():
                return await OfficeRepository(session).awaiting_group()
        return False


def _binding(event: TelegramObject) -> bool:
    """Whether ``event`` is a ``/start <code>`` in a group, as an office's link sends."""
    if not isinstance(event, Update) or event.message is None:
        return False
    words = (event.message.text or "").split()
    return len(words) == 2 and words[0].split("@")[0] == "/start"
