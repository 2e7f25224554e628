"""What an item's card or list line says about it, the same wherever it is shown.

The office's card (handlers.cards), the liaison's card (handlers.department) and the
observer's own card (handlers.mine) each choose which facts to show, and in what
order; the wording of a fact, and how the newest history is fitted into the one
message a card has, are written once here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from aiogram.types import InlineKeyboardButton
from aiogram.utils.i18n import gettext as _

from bot.domain.statuses import SuggestionStatus
from bot.services.context import Policy
from bot.services.views import SuggestionDetail, SuggestionInfo, TimelineEntry
from handlers import labels
from handlers.keyboards import button
from handlers.ui import BUTTON_TEXT_MAX, clip, day, esc, local_time, shown_length

S = SuggestionStatus

# How much of the title a list line shows; the card shows it whole.
LIST_TITLE_MAX = 40
# Statuses in which the department's due date can pass unmet.
_IMPLEMENTING = (S.ADOPTED, S.IMPLEMENTING)


def _bounded(text: str, limit: int | None) -> str:
    # The observer's own card shows their words as they wrote them (None: no bound).
    return esc(text if limit is None else clip(text, limit))


def overdue(text: str, late: bool) -> str:
    return text + (" " + _("⚠️ overdue") if late else "")


def headline(info: SuggestionInfo) -> list[str]:
    """The status with the reference, then the title."""
    emoji = labels.STATUS_EMOJI[info.status]
    return [
        f"{emoji} <b>{esc(info.reference)}</b> · {esc(labels.status(info.status))}",
        f"<b>{esc(info.title)}</b>",
    ]


def place(info: SuggestionInfo, limit: int | None) -> list[str]:
    """Where it is: the place as written, and the point on the map."""
    lines = []
    if info.location_text:
        lines.append(
            _("<b>Location:</b> {place}").format(place=_bounded(info.location_text, limit))
        )
    if info.latitude is not None and info.longitude is not None:
        lines.append(
            _("<b>Map point:</b> {lat}, {lon}").format(
                lat=f"{info.latitude:.5f}", lon=f"{info.longitude:.5f}"
            )
        )
    return lines


def point(detail: SuggestionDetail, limit: int | None) -> list[str]:
    if not detail.point_name:
        return []
    name = _bounded(labels.place(detail.point_name), limit)
    return [_("<b>Observation point:</b> {point}").format(point=name)]


def filed(info: SuggestionInfo, policy: Policy) -> str:
    return _("<b>Filed:</b> {moment}").format(moment=local_time(info.submitted_at, policy.tz))


def reported_to(info: SuggestionInfo, limit: int | None) -> list[str]:
    if not info.escalated_to:
        return []
    return [_("<b>Reported to:</b> {whom}").format(whom=_bounded(info.escalated_to, limit))]


def department(detail: SuggestionDetail, limit: int | None) -> list[str]:
    if not detail.department_name:
        return []
    name = _bounded(labels.place(detail.department_name), limit)
    return [_("<b>Department:</b> {department}").format(department=name)]


def implementation_due(info: SuggestionInfo, today: str | None) -> list[str]:
    """The department's due date; marked overdue when ``today`` (if given) is past it."""
    if info.implementation_due is None:
        return []
    due = day(info.implementation_due)
    late = today is not None and due < today and info.status in _IMPLEMENTING
    return [overdue(_("<b>Implementation due:</b> {date}").format(date=due), late)]


def implemented(info: SuggestionInfo, policy: Policy) -> list[str]:
    if info.implemented_at is None:
        return []
    moment = local_time(info.implemented_at, policy.tz)
    return [_("<b>Implemented:</b> {moment}").format(moment=moment)]


def attachments(detail: SuggestionDetail) -> list[str]:
    if not detail.attachments:
        return []
    return [_("<b>Attachments:</b> {count}").format(count=len(detail.attachments))]


def newest_that_fit(
    entries: Sequence[TimelineEntry],
    room: int,
    draw: Callable[..., str],
    cut: Callable[[TimelineEntry], int],
) -> tuple[list[str], int]:
    """The lines (``draw(entry)``) of the newest entries that fit in ``room``, oldest
    first, and the room they take. The newest is always there: when it alone is too
    long, its words are cut to ``cut(entry)`` (``draw(entry, words_max=...)``)."""
    chosen: list[str] = []
    used = 0
    for entry in reversed(entries):
        line = draw(entry)
        size = shown_length(line) + 1
        if used + size > room:
            if chosen:
                break
            line = draw(entry, words_max=cut(entry))
            size = shown_length(line) + 1
        chosen.append(line)
        used += size
    chosen.reverse()
    return chosen, used


def list_entry(info: SuggestionInfo, state: str, data: str) -> tuple[str, InlineKeyboardButton]:
    """An item in a list: its reference and title over ``state`` (HTML), and the button
    (``data``) that opens it."""
    emoji = labels.STATUS_EMOJI[info.status]
    line = (
        f"{emoji} <b>{esc(info.reference)}</b> {esc(clip(info.title, LIST_TITLE_MAX))}\n"
        f"      <i>{state}</i>"
    )
    return line, button(clip(f"{emoji} {info.reference} {info.title}", BUTTON_TEXT_MAX), data)
