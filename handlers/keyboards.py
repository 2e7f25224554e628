"""Keyboards shared by several conversations."""

from __future__ import annotations

from aiogram.types import (
    InlineKeyboardButton,
    KeyboardButton,
    ReplyKeyboardMarkup,
)
from aiogram.utils.i18n import gettext as _

from handlers.ui import N_

NEW = N_("📝 New suggestion")
MINE = N_("📋 My suggestions")
HELP = N_("❓ Help")
BACK = N_("⬅️ Back")
CANCEL = N_("✖️ Cancel")
SKIP = N_("Skip")


def main_menu() -> ReplyKeyboardMarkup:
    """The persistent menu under the observer's text box."""
    return ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=_(NEW)), KeyboardButton(text=_(MINE))],
            [KeyboardButton(text=_(HELP))],
        ],
        resize_keyboard=True,
        is_persistent=True,
    )


def button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data)
