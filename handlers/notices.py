"""The texts of the notifications that reach observers and applicants.

The outbox sender calls :func:`render` for each row addressed to a person, inside
``i18n.use_locale(recipient_locale)``; the text is chosen at delivery time, never at
the time of the move. Payloads come from the database and may be old, partial or
hostile: every value is optional, escaped, and bounded so that the whole message stays
within Telegram's 4096 characters.

Only the observer's (and applicant's) side is rendered here. Rows of the same item
kinds addressed to liaisons (``item.adopt``, ``item.city_adopt``,
``item.assign``, ``item.mark_implemented``) and the liaison-only kinds
(``item.set_due``, ``item.reopen``, ``item.reassigned``) need texts of their own: these
say "your suggestion" and offer ratings. Admin-group kinds are rendered elsewhere too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
)
from aiogram.utils.i18n import gettext as _

from bot.domain.lifecycle import Action
from bot.domain.limits import TITLE_MAX
from bot.domain.notices import Notice
from bot.domain.statuses import RatingValue, SuggestionStatus
from handlers import labels
from handlers.callbacks import MineCb
from handlers.keyboards import MINE, NEW, button, main_menu
from handlers.moving import MoveCb
from handlers.ui import MESSAGE_MAX, N_, clip, esc, read_payload, shown_length

S = SuggestionStatus

# Names of departments, points and the like: generous, but a hostile payload cannot
# crowd out the office's words.
_NAME_LIMIT = 200
_ITEM_PREFIX = "item."
# Outcomes the observer is asked to rate; an item closed from one of them may still be.
_RATEABLE = frozenset({S.IMPLEMENTED.value, S.REFERENCE.value, S.DECLINED.value})


class UnknownNotice(ValueError):
    """A kind this module has no text for (admin-group and liaison kinds)."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"no observer text for notice {kind!r}")
        self.kind = kind


@dataclass(frozen=True)
class Rendered:
    text: str
    # A message carries inline buttons or a keyboard under the text box, never both.
    markup: InlineKeyboardMarkup | ReplyKeyboardMarkup | None


@dataclass(frozen=True)
class _ItemText:
    emoji_of: SuggestionStatus
    # What happened, with {subject}: the reference and title.
    headline: str
    # The heading over the office's own words, when the move carries any.
    words: str
    # What happens next, if anything.
    after: str | None = None
    # Whether the observer may now rate the outcome.
    rate: bool = False
    # In place of the status's emoji, for a move that leaves the status as it was.
    emoji: str | None = None


_COMMENTS = N_("The office's comments:")
_RATE_HANDLING = N_("Please rate how your suggestion was handled, using the buttons below.")
_PROGRESS_NEXT = N_("You will be told of the progress here.")

_ITEMS: dict[Action, _ItemText] = {
    Action.TAKE: _ItemText(
        S.IN_REVIEW,
        N_("Your suggestion {subject} has been taken up by the district office for review."),
        _COMMENTS,
        N_("You will be told of the decision here."),
    ),
    Action.ASK_INFO: _ItemText(
        S.NEEDS_INFO,
        N_("The district office needs more information about your suggestion {subject}."),
        N_("The office asks:"),
        N_(
            "Please answer with the button below; you can send text, photos and documents. "
            "The office's analysis continues once you have answered."
        ),
    ),
    Action.ADOPT: _ItemText(
        S.ADOPTED,
        N_("Your suggestion {subject} has been adopted."),
        _COMMENTS,
        N_("The responsible department will now implement it; you will be told of the progress."),
    ),
    Action.KEEP_REFERENCE: _ItemText(
        S.REFERENCE,
        N_("Your suggestion {subject} has been kept for reference."),
        N_("Reason:"),
        _RATE_HANDLING,
        rate=True,
    ),
    Action.DECLINE: _ItemText(
        S.DECLINED,
        N_("Your suggestion {subject} has not been adopted."),
        N_("Reason:"),
        _RATE_HANDLING,
        rate=True,
    ),
    Action.ESCALATE: _ItemText(
        S.ESCALATED,
        N_("Your suggestion {subject} has been reported to the city for study."),
        N_("The office's note:"),
        N_("You will be told here when the city answers."),
    ),
    Action.MARK_DUPLICATE: _ItemText(
        S.DUPLICATE,
        N_("Your suggestion {subject} duplicates {original}, which is already being handled."),
        _COMMENTS,
        N_("It will be followed up together with that item."),
    ),
    Action.CITY_ADOPT: _ItemText(
        S.ADOPTED,
        N_("The city has answered on your suggestion {subject}: it has been adopted."),
        N_("The city's answer:"),
        N_("The responsible department will now implement it; you will be told of the progress."),
    ),
    Action.CITY_REFERENCE: _ItemText(
        S.REFERENCE,
        N_("The city has answered on your suggestion {subject}: it has been kept for reference."),
        N_("The city's answer:"),
        _RATE_HANDLING,
        rate=True,
    ),
    Action.CITY_DECLINE: _ItemText(
        S.DECLINED,
        N_("The city has answered on your suggestion {subject}: it has not been adopted."),
        N_("The city's answer:"),
        _RATE_HANDLING,
        rate=True,
    ),
    Action.ASSIGN: _ItemText(
        S.ADOPTED,
        N_("Your suggestion {subject} has been passed to another department."),
        _COMMENTS,
        N_("That department will implement it now; you will be told of the progress."),
    ),
    Action.ACCEPT: _ItemText(
        S.IMPLEMENTING,
        N_("The responsible department has started implementing your suggestion {subject}."),
        _COMMENTS,
        _PROGRESS_NEXT,
    ),
    Action.PROGRESS: _ItemText(
        S.IMPLEMENTING,
        N_("Progress on your suggestion {subject}."),
        N_("Progress report:"),
    ),
    Action.MARK_IMPLEMENTED: _ItemText(
        S.IMPLEMENTED,
        N_("Your suggestion {subject} has been implemented."),
        N_("What was done:"),
        N_(
            "Please rate the outcome with the buttons below. If you are dissatisfied, the "
            "item will be reopened."
        ),
        rate=True,
    ),
    Action.CLOSE: _ItemText(
        S.CLOSED,
        N_("Your suggestion {subject} has been closed."),
        _COMMENTS,
        N_("If you have not rated the outcome yet, you can still do so with the buttons below."),
        rate=True,
    ),
    # After a dissatisfied rating (or an addition), the office's own word.
    Action.RECONSIDER: _ItemText(
        S.IN_REVIEW,
        N_("The district office has reopened your suggestion {subject} for review."),
        _COMMENTS,
        N_("You will be told of the decision here."),
    ),
    Action.REPLY: _ItemText(
        S.IN_REVIEW,
        N_("The district office has answered you about your suggestion {subject}."),
        N_("The office's answer:"),
        emoji="💬",
    ),
    # While the office waits on the observer's answer (the reminder repeats the question).
    Action.CHASE: _ItemText(
        S.NEEDS_INFO,
        N_(
            "Reminder: the district office is still waiting for your answer about your "
            "suggestion {subject}."
        ),
        N_("The office asked:"),
        N_("Please answer with the button below; you can send text, photos and documents."),
    ),
    Action.DECIDE_ANYWAY: _ItemText(
        S.IN_REVIEW,
        N_(
            "The district office will decide on your suggestion {subject} without waiting "
            "for your answer any longer."
        ),
        _COMMENTS,
        N_("You will be told of the decision here."),
    ),
    Action.CLOSE_UNANSWERED: _ItemText(
        S.CLOSED,
        N_(
            "Your suggestion {subject} has been closed: the district office did not receive "
            "the information it asked for."
        ),
        N_("Reason:"),
        N_("You are welcome to file it again, with those details, whenever you can."),
    ),
}
# When the original's reference is missing from an old payload.
_DUPLICATE_UNNAMED = N_(
    "Your suggestion {subject} duplicates an item that is already being handled."
)


# ---- reading payloads ------------------------------------------------------------------


def payload_value(payload: Mapping[str, Any], key: str, limit: int) -> str | None:
    """A payload value as plain, stripped, bounded text; None when missing or odd."""
    raw = read_payload(payload, key)
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        return None
    text = str(raw).strip()
    return clip(text, limit) if text else None


def _day(payload: Mapping[str, Any], key: str) -> str | None:
    raw = payload_value(payload, key, 40)
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw[:10]).isoformat()
    except ValueError:
        return raw


def _subject(payload: Mapping[str, Any]) -> str:
    reference = payload_value(payload, "reference", 40)
    title = payload_value(payload, "title", TITLE_MAX)
    ref_html = f"<b>{esc(reference)}</b>" if reference else None
    if ref_html and title:
        return _("{reference} “{title}”").format(reference=ref_html, title=esc(title))
    if ref_html:
        return ref_html
    if title:
        # Both languages quote alike (docs/glossary.md): nothing to translate.
        return f"“{esc(title)}”"
    return _("(no reference)")


def compose(
    head: list[str],
    heading: str | None,
    words: str | None,
    tail: list[str] | None = None,
    *,
    slack: int = 0,
) -> str:
    """The sections, with the office's words between ``head`` and ``tail``, clipped to
    the room the rest of the message leaves (less ``slack``)."""
    tail = tail or []
    if heading is None or words is None:
        return "\n\n".join([*head, *tail])
    block = "<b>{heading}</b>\n<blockquote>{words}</blockquote>"
    skeleton = "\n\n".join([*head, block.format(heading=esc(heading), words=""), *tail])
    room = MESSAGE_MAX - shown_length(skeleton) - slack
    if room < 2:
        return "\n\n".join([*head, *tail])
    quoted = block.format(heading=esc(heading), words=esc(clip(words, room)))
    return "\n\n".join([*head, quoted, *tail])


# ---- keyboards -------------------------------------------------------------------------


def _open(item: int) -> InlineKeyboardButton:
    return button(_("📄 Open"), MineCb(act="show", item=item).pack())


def _item_markup(action: Action, item: int | None, rate: bool) -> InlineKeyboardMarkup | None:
    if item is None or item <= 0:
        return None
    rows: list[list[InlineKeyboardButton]] = []
    if action in (Action.ASK_INFO, Action.CHASE):
        rows.append([button(_("✍️ Answer"), MineCb(act="answer", item=item).pack())])
    if rate:
        rows.extend(
            [button(labels.rating(value), MineCb(act="rate", item=item, value=value).pack())]
            for value in RatingValue
        )
    rows.append([_open(item)])
    return InlineKeyboardMarkup(inline_keyboard=rows)


# ---- item notices ----------------------------------------------------------------------


def _render_item(action: Action, payload: Mapping[str, Any], item: int | None) -> Rendered:
    spec = _ITEMS[action]
    subject = _subject(payload)
    if action is Action.MARK_DUPLICATE:
        original = payload_value(payload, "duplicate_of", 40)
        headline = (
            _(spec.headline).format(subject=subject, original=f"<b>{esc(original)}</b>")
            if original
            else _(_DUPLICATE_UNNAMED).format(subject=subject)
        )
    else:
        headline = _(spec.headline).format(subject=subject)
    sections = [f"{spec.emoji or labels.STATUS_EMOJI[spec.emoji_of]} {headline}"]

    details = []
    if department := payload_value(payload, "department", _NAME_LIMIT):
        details.append(_("Responsible department: {department}").format(department=esc(department)))
    if due := _day(payload, "due"):
        details.append(_("To be implemented by: {due}").format(due=esc(due)))
    if answer_by := _day(payload, "answer_due"):
        details.append(_("Please answer by: {date}").format(date=esc(answer_by)))
    if escalated_to := payload_value(payload, "escalated_to", _NAME_LIMIT):
        details.append(_("Reported to: {to}").format(to=esc(escalated_to)))
    if details:
        sections.append("\n".join(details))

    # Closing a duplicate (or an item whose past is unknown) asks for no rating.
    rate = spec.rate and (
        action is not Action.CLOSE or payload_value(payload, "from", 40) in _RATEABLE
    )
    tail = [_(spec.after)] if spec.after is not None and (rate or not spec.rate) else []

    # The office's words have the most room, so they are measured last.
    # A reminder repeats the question it reminds of.
    words = payload_value(payload, "text", MESSAGE_MAX)
    if action is Action.CHASE:
        words = payload_value(payload, "question", MESSAGE_MAX) or words
    text = compose(sections, _(spec.words), words, tail)
    return Rendered(text, _item_markup(action, item, rate))


# ---- people notices --------------------------------------------------------------------


def _point(payload: Mapping[str, Any]) -> str:
    name = payload_value(payload, "point", _NAME_LIMIT)
    code = payload_value(payload, "code", 40)
    if name and code:
        return _("<b>{point}</b> ({code})").format(point=esc(name), code=esc(code))
    if name or code:
        return f"<b>{esc(name or code)}</b>"
    return _("an observation point")


def _menu_below() -> str:
    """The new observer's menu comes with their welcome: no /start needed to act."""
    return _(
        "Your menu is now under the text box: <b>{new}</b> files what you collect, "
        "<b>{mine}</b> follows it."
    ).format(new=esc(_(NEW)), mine=esc(_(MINE)))


def _approved(payload: Mapping[str, Any]) -> Rendered:
    text = "\n\n".join(
        [
            "🎉 "
            + _(
                "Your application has been approved. You are now a rule-of-law observer at {point}."
            ).format(point=_point(payload)),
            _menu_below(),
        ]
    )
    return Rendered(text, main_menu())


def _appointed(payload: Mapping[str, Any]) -> Rendered:
    text = "\n\n".join(
        [
            "🎉 "
            + _("You have been appointed a rule-of-law observer at {point}.").format(
                point=_point(payload)
            ),
            _menu_below(),
        ]
    )
    return Rendered(text, main_menu())


def _rejected(payload: Mapping[str, Any]) -> Rendered:
    head = [_("Your application to become an observer has not been approved.")]
    tail = [_("Thank you for your interest. If anything changes, you may apply again.")]
    reason = payload_value(payload, "reason", MESSAGE_MAX)
    return Rendered(compose(head, _("Reason:"), reason, tail), None)


def _suspended(payload: Mapping[str, Any]) -> Rendered:
    head = ["⏸ " + _("Your appointment as an observer has been suspended.")]
    tail = [
        _(
            "You cannot file new items for now, but you can still follow, answer and rate "
            "the ones you filed under <b>My suggestions</b>."
        )
    ]
    reason = payload_value(payload, "reason", MESSAGE_MAX)
    return Rendered(compose(head, _("Reason:"), reason, tail), None)


def _moved(payload: Mapping[str, Any]) -> Rendered:
    text = "\n\n".join(
        [
            "📍 "
            + _("The district office has moved you to the observation point {point}.").format(
                point=_point(payload)
            ),
            _("The items you file from now on belong to this point. /point shows it."),
        ]
    )
    return Rendered(text, None)


def _move_approved(payload: Mapping[str, Any]) -> Rendered:
    text = "\n\n".join(
        [
            "📍 "
            + _(
                "The district office has approved your request: your observation point is "
                "now {point}."
            ).format(point=_point(payload)),
            _("The items you file from now on belong to this point. /point shows it."),
        ]
    )
    return Rendered(text, None)


def _move_refused(payload: Mapping[str, Any]) -> Rendered:
    text = "\n\n".join(
        [
            "📍 "
            + _(
                "The district office has not approved your request to move to {point}; "
                "your observation point stays as it was."
            ).format(point=_point(payload)),
            _("Please contact the district office with any questions. /point shows your point."),
        ]
    )
    return Rendered(text, None)


def choose_point_button() -> InlineKeyboardButton:
    return button(_("📍 Choose another point"), MoveCb().pack())


def _point_closed(payload: Mapping[str, Any]) -> Rendered:
    text = "\n\n".join(
        [
            "📍 "
            + _("Your observation point {point} has been closed.").format(point=_point(payload)),
            _(
                "Please choose another point with the button below; until then you cannot "
                "file new items. What you filed before stays under <b>My suggestions</b>."
            ),
        ]
    )
    return Rendered(text, InlineKeyboardMarkup(inline_keyboard=[[choose_point_button()]]))


_PEOPLE: dict[str, Callable[[Mapping[str, Any]], Rendered]] = {
    Notice.APPLICATION_APPROVED.value: _approved,
    Notice.APPLICATION_REJECTED.value: _rejected,
    Notice.OBSERVER_APPOINTED.value: _appointed,
    Notice.OBSERVER_SUSPENDED.value: _suspended,
    Notice.OBSERVER_MOVED.value: _moved,
    Notice.POINT_REQUEST_APPROVED.value: _move_approved,
    Notice.POINT_REQUEST_REFUSED.value: _move_refused,
    Notice.POINT_CLOSED.value: _point_closed,
}


# ---- a reply to a notice ---------------------------------------------------------------

# An item's reference inside a message: every notice about an item names it first.
_REFERENCE = re.compile(r"\b[A-Za-z]{2,6}-\d{4}-\d{1,9}\b")


def reference_in(message: Message | None) -> str | None:
    """The first item reference a message of the bot's shows (its text, or a file's
    caption), so that a reply to a notice can be taken as being about that item."""
    if message is None:
        return None
    found = _REFERENCE.search(message.text or message.caption or "")
    return found.group(0) if found else None


# ---- the entry point -------------------------------------------------------------------


def kinds() -> frozenset[str]:
    """Every kind :func:`render` has a text for."""
    return frozenset({f"{_ITEM_PREFIX}{a.value}" for a in _ITEMS} | set(_PEOPLE))


def render(kind: str, payload: Mapping[str, Any], *, suggestion_id: int | None = None) -> Rendered:
    """The message for one outbox row to an observer or applicant, in the current locale."""
    data: Mapping[str, Any] = payload if isinstance(payload, Mapping) else {}
    if kind in _PEOPLE:
        return _PEOPLE[kind](data)
    if kind.startswith(_ITEM_PREFIX):
        try:
            action = Action(kind.removeprefix(_ITEM_PREFIX))
        except ValueError:
            raise UnknownNotice(kind) from None
        if action in _ITEMS:
            return _render_item(action, data, suggestion_id)
    raise UnknownNotice(kind)
