"""Who is acting: the Telegram user recorded, their standing looked up.

Someone marked unreachable (they had blocked the bot) who writes to it in private, or
presses one of its buttons, can be reached again: their held notices are queued again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Chat, TelegramObject, Update, User

from bot.i18n import locale_for
from bot.logs import about_update
from bot.services.actors import identify
from bot.services.outbox import OutboxService
from bot.services.people import PeopleService
from storage.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CurrentUser:
    id: int
    first_name: str
    full_name: str
    # The language the bot speaks to this person in (zh_CN or en).
    locale: str
    # Whether they act as the office here: an admin, in the admin group.
    admin: bool = False


class ActingUser(BaseMiddleware):
    def __init__(self, default_locale: str) -> None:
        self._default_locale = default_locale

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        who: User | None = data.get("event_from_user")
        store: Store | None = data.get("store")
        if store is None:
            return await handler(event, data)
        if who is None:
            # A channel's post, a poll's tally, a boost: Telegram names a sender for
            # everything a person does, so there is no one here to answer or record.
            about = about_update(event) if isinstance(event, Update) else {}
            log.debug("an update with no sender: nothing to do", extra=about)
            return None
        if who.is_bot:
            # Telegram shows a bot nothing another bot writes; what comes "from a bot"
            # is someone writing as their group (an anonymous admin) or as a channel.
            # Nobody to record or to name: they are met as a stranger is.
            data["user"] = CurrentUser(
                id=who.id,
                first_name=who.first_name,
                full_name=who.full_name,
                locale=locale_for(None, who.language_code, self._default_locale),
            )
            data["actor"] = await identify(store, who.id, standing=(None, frozenset()))
            return await handler(event, data)
        people: PeopleService = data["people"]
        standing = await people.arriving(who.id)
        info = await people.register(
            who.id,
            first_name=who.first_name,
            last_name=who.last_name,
            username=who.username,
            language_code=who.language_code,
        )
        chat: Chat | None = data.get("event_chat")
        if info.blocked and _back_in_touch(event, chat):
            outbox: OutboxService = data["outbox"]
            await outbox.reachable(who.id)
        # The office acts in its group only: elsewhere an admin is whoever else they are.
        # Telegram was asked before the transaction opened (bot.middlewares.standing).
        admin = bool(data.get("office_admin", False))
        data["user"] = CurrentUser(
            id=who.id,
            first_name=who.first_name,
            full_name=who.full_name,
            locale=locale_for(info.locale, who.language_code, self._default_locale),
            admin=admin,
        )
        data["actor"] = await identify(
            store,
            who.id,
            is_admin=admin,
            standing=standing,
            operator=bool(data.get("office_operator", False)),
        )
        return await handler(event, data)


def _back_in_touch(event: TelegramObject, chat: Chat | None) -> bool:
    """A message or a button press in their private chat: they can hear from us again.
    (Their own "blocked"/"unblocked" updates are the membership router's to judge.)"""
    if chat is None or chat.type != "private" or not isinstance(event, Update):
        return False
    return event.message is not None or event.callback_query is not None
