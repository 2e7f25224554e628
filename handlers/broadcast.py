"""/broadcast: the office writes to every active observer, or to one point's."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aiogram import Router
from aiogram.utils.i18n import I18n

from bot.settings import Settings
from handlers.office import office_router

if TYPE_CHECKING:
    from bot.services.outbox import OutboxItem
    from handlers.outgoing import Outgoing


async def deliver(out: Outgoing, row: OutboxItem) -> None:
    raise NotImplementedError("broadcast messages")


def report_text(payload: Mapping[str, Any]) -> str:
    raise NotImplementedError("broadcast reports")


def setup(i18n: I18n, settings: Settings) -> Router:
    router = office_router("broadcast", settings.admin_chat_id)
    return router
