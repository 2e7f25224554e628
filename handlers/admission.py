"""Applications in the admin group: the card with Approve / Reject."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiogram import Router
from aiogram.utils.i18n import I18n

from bot.settings import Settings
from handlers.office import office_router

if TYPE_CHECKING:
    from handlers.outgoing import Outgoing


async def post_card(out: Outgoing, chat_id: int, application_id: int) -> None:
    raise NotImplementedError("application cards")


def setup(i18n: I18n, settings: Settings) -> Router:
    router = office_router("admission", settings.admin_chat_id)
    return router
