"""The last router: whatever nobody else understood gets an answer, never silence."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.middlewares.people import CurrentUser
from bot.services.actors import Actor
from bot.services.people import PeopleService
from handlers.onboarding import for_strangers


def setup(i18n: I18n) -> Router:
    router = Router(name="fallback")

    @router.message(F.chat.type == "private")
    async def not_understood(
        message: Message, actor: Actor, people: PeopleService, user: CurrentUser
    ) -> None:
        sorry = _("Sorry, I did not understand that.")
        if not actor.roles:
            # No menu to point to: what they can do here, and where else to turn.
            text, markup = for_strangers(await people.standing(user.id))
            await message.answer(sorry + "\n\n" + text, reply_markup=markup)
            return
        await message.answer(
            _(
                "Sorry, I did not understand that. Use the menu below, or /help to see "
                "what I can do."
            )
        )

    @router.callback_query()
    async def stale_button(query: CallbackQuery) -> None:
        # Buttons outlive the conversations that made them (and data can be forged).
        await query.answer(
            _("This button is no longer valid. Please start again from the menu."),
            show_alert=True,
        )

    return router
