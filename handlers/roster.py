"""The office's people and places commands: observers, points, departments, invites."""

from __future__ import annotations

from aiogram import Router
from aiogram.utils.i18n import I18n

from bot.settings import Settings
from handlers.office import office_router


def setup(i18n: I18n, settings: Settings) -> Router:
    router = office_router("roster", settings.admin_chat_id)
    return router
