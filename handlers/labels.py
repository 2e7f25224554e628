"""What people read for each stored value, in their language."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from aiogram.utils.i18n import gettext as _

from bot.domain.figures import Outcome
from bot.domain.lifecycle import Action
from bot.domain.names import Name, carried
from bot.domain.offices import OfficeInfo
from bot.domain.roles import Role
from bot.domain.statuses import (
    Behalf,
    FocusDomain,
    ObserverCategory,
    RatingValue,
    SuggestionKind,
    SuggestionStatus,
)
from handlers.ui import N_, clip, esc, reading

S = SuggestionStatus
K = TypeVar("K")

STATUS_EMOJI: dict[SuggestionStatus, str] = {
    S.SUBMITTED: "🟡",
    S.IN_REVIEW: "🔵",
    S.NEEDS_INFO: "❓",
    S.ADOPTED: "✅",
    S.REFERENCE: "📁",
    S.DECLINED: "⛔",
    S.ESCALATED: "🏛",
    S.DUPLICATE: "🔁",
    S.IMPLEMENTING: "🛠",
    S.IMPLEMENTED: "🎯",
    S.CLOSED: "🔒",
    S.WITHDRAWN: "↩️",
}

_STATUS: dict[SuggestionStatus, str] = {
    S.SUBMITTED: N_("Submitted, awaiting review"),
    S.IN_REVIEW: N_("Under review"),
    S.NEEDS_INFO: N_("More information requested"),
    S.ADOPTED: N_("Adopted"),
    S.REFERENCE: N_("Kept for reference"),
    S.DECLINED: N_("Not adopted"),
    S.ESCALATED: N_("Reported to the city for study"),
    S.DUPLICATE: N_("Duplicate of another item"),
    S.IMPLEMENTING: N_("Being implemented"),
    S.IMPLEMENTED: N_("Implemented"),
    S.CLOSED: N_("Closed"),
    S.WITHDRAWN: N_("Withdrawn"),
}

_DOMAIN: dict[FocusDomain, str] = {
    FocusDomain.BUSINESS_ENVIRONMENT: N_("Optimising the business environment"),
    FocusDomain.GRASSROOTS_GOVERNANCE: N_("Grassroots social governance"),
    FocusDomain.DISPUTE_RESOLUTION: N_("Dispute resolution"),
    FocusDomain.RULE_OF_LAW_VILLAGES: N_("Rule-of-law villages"),
    FocusDomain.YOUTH_LEGAL_EDUCATION: N_("Youth legal education"),
    FocusDomain.OTHER: N_("Other"),
}

_KIND: dict[SuggestionKind, str] = {
    SuggestionKind.SUGGESTION: N_("Suggestion"),
    SuggestionKind.OPINION: N_("Opinion"),
    SuggestionKind.PROBLEM: N_("Problem"),
}

_BEHALF: dict[Behalf, str] = {
    Behalf.RESIDENTS: N_("On behalf of residents"),
    Behalf.BUSINESS: N_("On behalf of a business"),
    Behalf.OWN: N_("My own observation"),
}

_CATEGORY: dict[ObserverCategory, str] = {
    ObserverCategory.PARTY_CONGRESS_DEPUTY: N_("Party congress deputy"),
    ObserverCategory.NPC_DEPUTY: N_("People's congress deputy"),
    ObserverCategory.CPPCC_MEMBER: N_("CPPCC member"),
    ObserverCategory.COMMUNITY_STAFF: N_("Village or community committee staff"),
    ObserverCategory.LAWYER: N_("Lawyer"),
    ObserverCategory.PRIVATE_ENTREPRENEUR: N_("Private entrepreneur"),
    ObserverCategory.FRONTLINE_BUSINESS: N_("Front-line business worker"),
    ObserverCategory.FRONTLINE_GOVERNANCE: N_("Front-line social governance worker"),
    ObserverCategory.TRADE_ASSOCIATION_MANAGER: N_("Trade association manager"),
    ObserverCategory.OTHER: N_("Other"),
}

_RATING: dict[RatingValue, str] = {
    RatingValue.SATISFIED: N_("😊 Satisfied"),
    RatingValue.BASICALLY_SATISFIED: N_("🙂 Basically satisfied"),
    RatingValue.DISSATISFIED: N_("🙁 Dissatisfied"),
}

# How a move reads in the observer's timeline.
_ACTION: dict[Action, str] = {
    Action.SUBMIT: N_("Submitted"),
    Action.TAKE: N_("Taken up by the office for review"),
    Action.ASK_INFO: N_("The office asked for more information"),
    Action.ANSWER_INFO: N_("You answered the office"),
    Action.WITHDRAW: N_("Withdrawn"),
    Action.ADOPT: N_("Adopted"),
    Action.KEEP_REFERENCE: N_("Kept for reference"),
    Action.DECLINE: N_("Not adopted"),
    Action.ESCALATE: N_("Reported to the city for study"),
    Action.MARK_DUPLICATE: N_("Marked as a duplicate"),
    Action.CITY_ADOPT: N_("The city's answer: adopted"),
    Action.CITY_REFERENCE: N_("The city's answer: kept for reference"),
    Action.CITY_DECLINE: N_("The city's answer: not adopted"),
    Action.ASSIGN: N_("Assigned to a department"),
    Action.SET_DUE: N_("Due date set"),
    Action.ACCEPT: N_("The department started implementing it"),
    Action.PROGRESS: N_("Progress report"),
    Action.HAND_BACK: N_("Handed back to the office"),
    Action.MARK_IMPLEMENTED: N_("Implemented"),
    Action.RATE: N_("Rated"),
    Action.REOPEN: N_("Reopened after a dissatisfied rating"),
    Action.CLOSE: N_("Closed"),
    Action.NOTE: N_("Internal note"),
    Action.ADD: N_("Addition from the observer"),
    Action.DISPUTE: N_("Rated: dissatisfied with the decision"),
    Action.RECONSIDER: N_("Reopened by the office for review"),
    Action.REPLY: N_("The office's answer"),
    Action.CHASE: N_("The office reminded you of its question"),
    Action.DECIDE_ANYWAY: N_("The office went on without your answer"),
    Action.CLOSE_UNANSWERED: N_("Closed: the office's question was not answered"),
}


# What an item came to, in the office's figures.
_OUTCOME: dict[Outcome, str] = {
    Outcome.PENDING: N_("Pending a decision"),
    Outcome.ADOPTED: N_("Adopted"),
    Outcome.REFERENCE: N_("Kept for reference"),
    Outcome.DECLINED: N_("Not adopted"),
    Outcome.ESCALATED: N_("Reported to the city"),
    Outcome.DUPLICATE: N_("Duplicate"),
    Outcome.WITHDRAWN: N_("Withdrawn"),
}

_ROLE: dict[Role, str] = {
    Role.OBSERVER: N_("Observer"),
    Role.ADMIN: N_("Office"),
    Role.LIAISON: N_("Department liaison"),
    Role.SYSTEM: N_("System"),
}


def late(days: int) -> str:
    """How late something is, in days."""
    if days == 1:
        return _("1 day late")
    return _("{days} days late").format(days=days)


def _translated(table: Mapping[K, str]) -> Callable[[K], str]:
    """What people read for a value of ``table``'s kind, in the current locale."""

    def label(value: K) -> str:
        return _(table[value])

    return label


outcome = _translated(_OUTCOME)
role = _translated(_ROLE)
status = _translated(_STATUS)
domain = _translated(_DOMAIN)
kind = _translated(_KIND)
behalf = _translated(_BEHALF)
category = _translated(_CATEGORY)
rating = _translated(_RATING)
action = _translated(_ACTION)


def status_with_emoji(value: SuggestionStatus) -> str:
    return f"{STATUS_EMOJI[value]} {status(value)}"


def place(name: str | None, empty: str = "") -> str:
    """A point's or a department's name as the reader reads it: its English name for
    someone reading English, when it has one (``bot.domain.names``). Every name of a
    place shown to people goes through here."""
    if not name:
        return empty
    return name.name_for(reading()) if isinstance(name, Name) else name


def carried_place(payload: Mapping[str, Any], key: str, empty: str = "") -> str:
    """A place's name that an outbox row or an event carries (``names.carry``)."""
    return place(carried(payload, key), empty)


def office(office: OfficeInfo, width: int = 100) -> str:
    """An office as lines show it, escaped: its name in the reader's language and its
    code, or the code alone for an office named by it (the home office, unnamed)."""
    name = clip(office.name.name_for(reading()), width)
    if name == office.code:
        return esc(office.code)
    return f"{esc(name)} ({esc(office.code)})"


def unknown_office(code: str) -> str:
    """A code typed that names no office directly below the one asking."""
    return _("There is no office {code} directly below this one. /offices lists them.").format(
        code=f"<code>{esc(clip(code, 40))}</code>"
    )
