"""The language of the reply.

In a private chat: the person's choice (/lang), else their client's, else the default.

In the admin group: the group's own language, which its admins choose with /lang in
the group (else the default). Everything the bot posts there — cards, prompts, lists,
/help, /stats, documents — is for the whole office to read. What it says to the admin
who acted alone — the answer to a button they pressed, a message to their private
chat — is said in that admin's own language: the handler writes it with the group's
messages, like everything else, and it is said again in the admin's language from the
same messages (``bot.i18n.Catalogs.again``) before it is sent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram.methods import AnswerCallbackQuery, SendMessage
from aiogram.types import Chat, TelegramObject, User
from aiogram.utils.i18n import I18nMiddleware

from bot.effects import Call, Effects
from bot.i18n import SUPPORTED, Catalogs, Heard, locale_for
from bot.middlewares.people import CurrentUser
from bot.services.languages import LanguageService

# Telegram shows at most this much of a button's answer.
ANSWER_MAX = 200


class PersonLocale(I18nMiddleware):
    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        user: CurrentUser | None = data.get("user")
        chat: Chat | None = data.get("event_chat")
        if user is not None:
            own = user.locale
        else:
            who: User | None = data.get("event_from_user")
            own = locale_for(None, who.language_code if who else None, self.i18n.default_locale)
        locale = own
        if chat is not None and chat.type != "private":
            # A group is many people: it speaks the language its admins chose for it.
            languages: LanguageService | None = data.get("languages")
            chosen = await languages.of_group(chat.id) if languages is not None else None
            locale = chosen if chosen in SUPPORTED else self.i18n.default_locale
        data["locale"] = locale
        # The acting person's own language, for what is said to them alone.
        data["own_locale"] = own
        return locale

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        locale = await self.get_locale(event=event, data=data)
        own: str = data["own_locale"]
        if self.i18n_key:
            data[self.i18n_key] = self.i18n
        if self.middleware_key:
            data[self.middleware_key] = self
        with self.i18n.context(), self.i18n.use_locale(locale):
            if own == locale or not isinstance(self.i18n, Catalogs):
                return await handler(event, data)
            with self.i18n.hearing() as heard:
                result = await handler(event, data)
            effects: Effects | None = data.get("effects")
            who: User | None = data.get("event_from_user")
            if effects is not None and who is not None:
                _say_to_them(self.i18n, heard, effects, who.id, own)
            return result


def _say_to_them(i18n: Catalogs, heard: Heard, effects: Effects, user_id: int, own: str) -> None:
    """What the update says to the person alone, said again in their own language."""
    for effect in effects.items:
        if not isinstance(effect, Call):
            continue
        method = effect.method
        if isinstance(method, AnswerCallbackQuery) and method.text:
            text = i18n.again(heard, method.text, own)[:ANSWER_MAX]
            effect.method = method.model_copy(update={"text": text})
        elif isinstance(method, SendMessage) and method.chat_id == user_id:
            effect.method = method.model_copy(update={"text": i18n.again(heard, method.text, own)})
