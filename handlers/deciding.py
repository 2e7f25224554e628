"""Moves from the item card's buttons in the admin group, with the prompts that
ask for a reason, a question, a department or a date."""

from __future__ import annotations

from aiogram import Router
from aiogram.utils.i18n import I18n

from bot.settings import Settings
from handlers.office import office_router


def setup(i18n: I18n, settings: Settings) -> Router:
    router = office_router("deciding", settings.admin_chat_id)
    return router
