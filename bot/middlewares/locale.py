"""The language of the reply: the person's choice, else their client's, else the default."""

from __future__ import annotations

from typing import Any

from aiogram.types import Chat, TelegramObject, User
from aiogram.utils.i18n import I18nMiddleware

from bot.i18n import locale_for
from bot.middlewares.people import CurrentUser


class PersonLocale(I18nMiddleware):
    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        user: CurrentUser | None = data.get("user")
        chat: Chat | None = data.get("event_chat")
        if chat is not None and chat.type != "private":
            # A group is many people: the admin group speaks the office's language.
            locale = self.i18n.default_locale
        elif user is not None:
            locale = user.locale
        else:
            who: User | None = data.get("event_from_user")
            locale = locale_for(None, who.language_code if who else None, self.i18n.default_locale)
        data["locale"] = locale
        return locale
