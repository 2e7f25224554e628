"""The last resort: every failed update gets an answer in the person's language.

The transaction has already been rolled back when this runs, so the person is told
that nothing was changed; the failure is logged for the developers once, by the
update's ids and kinds and the error, never by what the person wrote (bot.logs).
"""

from __future__ import annotations

import asyncio
import logging

from aiogram import Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, ErrorEvent, Message, TelegramObject, Update, User
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.domain.errors import DomainError
from bot.i18n import locale_for
from bot.logs import about_update, describe_error
from bot.settings import Settings
from handlers.ui import N_

log = logging.getLogger(__name__)

# How long an update's failure may wait for its apology to be taken.
APOLOGY_SECONDS = 10.0

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
    """Tell the person that nothing was changed; log the failure for the developers."""
    update, error = event.update, event.exception
    about = about_update(update)
    if isinstance(error, DomainError):
        log.info("update %s refused: %r", update.update_id, error, extra=about)
    else:
        log.error(
            "update %s failed (%s): %s",
            update.update_id,
            _kind(about),
            describe_error(error),
            exc_info=error,
            extra=about,
        )
    try:
        # Within a bound: the update is not confirmed to Telegram until this returns,
        # and an apology paced behind a flood of the chat's replies would hold every
        # update after it.
        async with asyncio.timeout(APOLOGY_SECONDS):
            await _apologise(update, error, i18n, settings.default_locale, locale)
    except (TelegramAPIError, TimeoutError) as exc:
        # Blocked, the chat gone, Telegram unreachable: the failure is logged above, and
        # raising would only have it logged again, as a failure of the update's.
        log.warning(
            "update %s: the apology was not delivered: %s",
            update.update_id,
            describe_error(exc),
            extra=about,
        )


async def _apologise(
    update: Update, error: Exception, i18n: I18n, default_locale: str, locale: str | None
) -> None:
    shown = _event(update)
    who: User | None = getattr(shown, "from_user", None)
    chosen = locale or locale_for(None, who.language_code if who else None, default_locale)
    with i18n.context(), i18n.use_locale(chosen):
        where = shown.message if isinstance(shown, CallbackQuery) else shown
        chat = getattr(where, "chat", None)
        text = explain(error, in_group=chat is not None and chat.type != "private")
        if isinstance(shown, CallbackQuery):
            await shown.answer(text, show_alert=True)
        elif isinstance(shown, Message):
            await shown.answer(text)


def _kind(about: dict[str, object]) -> str:
    """Say "message /new" or "callback_query card": enough to find the handler."""
    return " ".join(str(about[k]) for k in ("type", "command", "callback") if k in about) or "?"


def _event(update: Update) -> TelegramObject | None:
    try:
        return update.event
    except LookupError:
        # A kind of update this aiogram does not know: there is nobody to answer.
        return None


def setup(_i18n: I18n, _default_locale: str) -> Router:
    # The catalogs and the default locale come with the error's data, from the
    # Dispatcher (the same ones).
    router = Router(name="errors")
    router.errors.register(on_error)
    return router
