"""The last router: whatever nobody else understood gets an answer, never silence."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _


def setup(i18n: I18n) -> Router:
    router = Router(name="fallback")

    @router.message(F.chat.type == "private")
    async def not_understood(message: Message) -> None:
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
