"""Who is acting: the Telegram user recorded, their standing looked up."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, User

from bot.i18n import locale_for
from bot.services.actors import identify
from bot.services.people import PeopleService
from storage.store import Store

AdminCheck = Callable[[int], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class CurrentUser:
    id: int
    first_name: str
    full_name: str
    # The language the bot speaks to this person in (zh_CN or en).
    locale: str


class ActingUser(BaseMiddleware):
    def __init__(self, default_locale: str, is_admin: AdminCheck) -> None:
        self._default_locale = default_locale
        self._is_admin = is_admin

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        who: User | None = data.get("event_from_user")
        store: Store | None = data.get("store")
        if who is None or store is None or who.is_bot:
            return await handler(event, data)
        people: PeopleService = data["people"]
        info = await people.register(
            who.id,
            first_name=who.first_name,
            last_name=who.last_name,
            username=who.username,
            language_code=who.language_code,
        )
        data["user"] = CurrentUser(
            id=who.id,
            first_name=who.first_name,
            full_name=who.full_name,
            locale=locale_for(info.locale, who.language_code, self._default_locale),
        )
        data["actor"] = await identify(store, who.id, is_admin=await self._is_admin(who.id))
        return await handler(event, data)
