"""The language a group speaks: the admin group's own, chosen by its admins.

What the bot posts in the admin group (cards, prompts, lists, figures, documents) is
written in the group's language; what it says to one admin alone (the answer to a
button they pressed, a private message) is written in that admin's own language
(``bot.middlewares.locale``).
"""

from __future__ import annotations

from bot.domain.errors import InvalidInput, NotPermitted
from bot.domain.roles import Role
from bot.services.actors import Actor
from bot.services.context import Service

# The languages the catalogs hold (bot.i18n.SUPPORTED, which services may not import).
LOCALES = ("zh_CN", "en")


class LanguageService(Service):
    async def of_group(self, chat_id: int) -> str | None:
        """The language the group's admins chose; None: the deployment's default."""
        return await self.store.languages.of(chat_id)

    async def set_for_group(self, actor: Actor, chat_id: int, locale: str) -> None:
        if Role.ADMIN not in actor.roles:
            raise NotPermitted("only the office sets its group's language", action="group_language")
        if locale not in LOCALES:
            raise InvalidInput(f"no catalog for {locale!r}", field="locale")
        await self.store.languages.put(chat_id, locale, by=actor.user_id, at=self.now())
