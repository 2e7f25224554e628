"""The Telegram-facing layer: routers built by functions, in one ordered list.

Order matters: commands and menu buttons come before the conversations, so that
``/cancel`` or "My suggestions" typed in the middle of filing is never taken for an
answer to the question on screen.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.utils.i18n import I18n


def routers(i18n: I18n, default_locale: str) -> list[Router]:
    from handlers import errors, fallback, filing, mine, moving, onboarding, start

    return [
        errors.setup(i18n, default_locale),
        onboarding.setup(i18n),
        start.setup(i18n),
        moving.setup(i18n),
        mine.setup(i18n),
        filing.setup(i18n),
        # Keep last: it answers whatever no router above understood.
        fallback.setup(i18n),
    ]
