"""The department liaison's private chat."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiogram import F, Router
from aiogram.utils.i18n import I18n

from bot.settings import Settings

if TYPE_CHECKING:
    from bot.services.outbox import OutboxItem
    from handlers.outgoing import Outgoing


async def deliver(out: Outgoing, row: OutboxItem) -> None:
    raise NotImplementedError("liaison notices")


def setup(i18n: I18n, settings: Settings) -> Router:
    router = Router(name="department")
    router.message.filter(F.chat.type == "private")
    router.callback_query.filter(F.message.chat.type == "private")
    return router
