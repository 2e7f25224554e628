"""The Telegram-facing layer: routers built by functions, in one ordered list.

Order matters: commands and menu buttons come before the conversations, so that
``/cancel`` or "My suggestions" typed in the middle of filing is never taken for an
answer to the question on screen.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.utils.i18n import I18n

from bot.settings import Settings


def routers(i18n: I18n, settings: Settings) -> list[Router]:
    from handlers import (
        admission,
        broadcast,
        deciding,
        department,
        errors,
        fallback,
        feedback,
        figures,
        filing,
        membership,
        mine,
        moving,
        office,
        offices,
        onboarding,
        point_change,
        privacy,
        prompts,
        queue,
        roster,
        start,
    )

    return [
        errors.setup(i18n, settings.default_locale),
        # Blocked and unblocked: updates no other router takes.
        membership.setup(i18n),
        office.setup_help(i18n),
        # /lang in the group is the group's language, before the private /lang.
        start.setup_group(i18n),
        # Before any move in the group: one made anonymously is refused; ☎️ for anyone.
        privacy.setup_group(i18n, settings),
        onboarding.setup(i18n),
        start.setup(i18n),
        privacy.setup_private(i18n),
        # Before "mine": a liaison's /mine lists their department's items.
        department.setup(i18n, settings),
        moving.setup(i18n),
        mine.setup(i18n),
        filing.setup(i18n),
        # The office, in its group: a pending prompt's answer before any command.
        deciding.setup(i18n, settings),
        # The office's answer to an observer's addition or rating: its prompt's reply.
        feedback.setup(i18n, settings),
        admission.setup(i18n, settings),
        # After every router with force-reply prompts: a reply none of them took.
        prompts.setup(i18n, settings),
        point_change.setup(i18n, settings),
        queue.setup(i18n, settings),
        roster.setup(i18n, settings),
        offices.setup(i18n, settings),
        broadcast.setup(i18n, settings),
        figures.setup(i18n, settings),
        # What the office's routers did not take: someone who may not, or somewhere else.
        office.setup_guard(i18n),
        # Keep last: it answers whatever no router above understood.
        fallback.setup(i18n),
    ]
