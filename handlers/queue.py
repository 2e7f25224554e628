"""The office's item commands: /queue /overdue /show /find /assign /due /note."""

from __future__ import annotations

from aiogram import Router
from aiogram.utils.i18n import I18n

from bot.settings import Settings
from handlers.office import office_router


def setup(i18n: I18n, settings: Settings) -> Router:
    router = office_router("queue", settings.admin_chat_id)
    return router
