"""The last resort: every failed update gets an answer in the person's language.

The transaction has already been rolled back when this runs, so the person is told
that nothing was changed; the update is logged for the developers.
"""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.types import CallbackQuery, ErrorEvent, Message, User
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.domain.errors import DomainError
from bot.i18n import locale_for
from bot.settings import Settings
from handlers.ui import N_

log = logging.getLogger(__name__)

_BY_CODE: dict[str, str] = {
    "not_found": N_("That item was not found, or it is not yours."),
    "not_permitted": N_("You are not allowed to do that."),
    "illegal_transition": N_(
        "That is no longer possible: the item has moved on. Open it again to see where it stands."
    ),
    "already_moved": N_(
        "Someone changed this item a moment ago. Open it again to see where it stands."
    ),
    "missing_input": N_("Something required is missing. Please fill it in and try again."),
    "invalid_input": N_("That input is not valid. Please check it and try again."),
    "already_rated": N_("You have already rated this outcome. Thank you!"),
    "invite_invalid": N_(
        "This invite link is not valid. Please ask the district office for a new one."
    ),
    "invite_expired": N_(
        "This invite link has expired. Please ask the district office for a new one."
    ),
    "invite_used": N_(
        "This invite link has already been used. Please ask the district office for a new one."
    ),
    "not_appointed": N_(
        "Only appointed observers can do this. If you have applied, the office will tell "
        "you when your application is decided."
    ),
    "point_inactive": N_(
        "Your observation point has been closed. Please choose another point first."
    ),
    "conflict": N_("That already exists or is already in progress."),
}
# In the admin group the other party is a colleague, and the card is there to look at.
_MOVED_IN_GROUP = N_(
    "Another admin moved this item a moment ago. Nothing was changed; the card shows "
    "where it stands."
)
_TOO_LONG = N_("That text is too long: at most {limit} characters, please.")
_UNEXPECTED = N_("Sorry, something went wrong and nothing was changed. Please try again.")


def explain(error: Exception, *, in_group: bool = False) -> str:
    """The translated sentence for an error, in the current locale."""
    if in_group and isinstance(error, DomainError) and error.code == "already_moved":
        return _(_MOVED_IN_GROUP)
    if isinstance(error, DomainError):
        limit = error.context.get("limit")
        if error.code == "invalid_input" and isinstance(limit, int):
            return _(_TOO_LONG).format(limit=limit)
        return _(_BY_CODE.get(error.code, _UNEXPECTED))
    return _(_UNEXPECTED)


async def on_error(
    event: ErrorEvent, i18n: I18n, settings: Settings, locale: str | None = None
) -> None:
    """Tell the person that nothing was changed; log the update for the developers."""
    update = event.update
    if isinstance(event.exception, DomainError):
        log.info("update %s refused: %r", update.update_id, event.exception)
    else:
        log.error(
            "update %s failed: %s",
            update.update_id,
            update.model_dump_json(exclude_none=True),
            exc_info=event.exception,
        )
    who: User | None = update.event.from_user if hasattr(update.event, "from_user") else None
    chosen = locale or locale_for(None, who.language_code if who else None, settings.default_locale)
    with i18n.context(), i18n.use_locale(chosen):
        shown = update.event.message if isinstance(update.event, CallbackQuery) else update.event
        chat = getattr(shown, "chat", None)
        text = explain(event.exception, in_group=chat is not None and chat.type != "private")
        if isinstance(update.event, CallbackQuery):
            await update.event.answer(text, show_alert=True)
        elif isinstance(update.event, Message):
            await update.event.answer(text)


def setup(_i18n: I18n, _default_locale: str) -> Router:
    # The catalogs and the default locale come with the error's data, from the
    # Dispatcher (the same ones).
    router = Router(name="errors")
    router.errors.register(on_error)
    return router
