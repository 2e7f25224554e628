"""The scheduler's messages: the decision reminder, the overdue digest and the weekly
summary in the admin group, the due-date reminder and the chase in a liaison's chat.

Rendered at delivery, in the recipient's language, from a payload written by
``bot.services.reminders``; the payload may be old or hostile, so every value is
optional, escaped and bounded, and a long list stops before Telegram's 4096
characters with a count of what is left out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aiogram.utils.i18n import gettext as _

from bot.domain.notices import Notice
from handlers import labels
from handlers.due_dates import calendar_missing
from handlers.notices import UnknownNotice
from handlers.queue import compose
from handlers.ui import clip, esc, payload_text

_TITLE = 60


def _int(payload: Mapping[str, Any], key: str) -> int:
    value = payload.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _item_line(line: Any) -> str:
    if not isinstance(line, Mapping):
        return ""
    reference = payload_text(line, "reference", 32)
    title = esc(clip(str(line.get("title") or ""), _TITLE))
    text = f"• <code>{reference}</code> {title}"
    due = line.get("due")
    late = _int(line, "late")
    if due:
        text += " · ⏰ " + esc(clip(str(due), 10))
    if late > 0:
        text += " · ⚠️ " + labels.late(late)
    return text


def _calendars(payload: Mapping[str, Any]) -> str:
    """The warning that years in use have no working-day calendar, or ""."""
    years = payload.get("calendars_missing")
    if not isinstance(years, Sequence) or isinstance(years, str):
        return ""
    shown = sorted({y for y in years if isinstance(y, int) and 1900 <= y <= 2200})[:5]
    return calendar_missing(shown) if shown else ""


def _lines(items: Any) -> list[str]:
    if not isinstance(items, Sequence) or isinstance(items, str):
        return []
    return [text for text in (_item_line(line) for line in items) if text]


def _fitted(head: str, lines: list[str], unlisted: int, foot: str) -> str:
    """The lines that fit one message, then how many are left out: those that did not
    fit and those the payload only counted."""
    text, _shown = compose(head, lines, len(lines) + max(0, unlisted), foot)
    return text


def office_text(kind: str, payload: Mapping[str, Any]) -> str:
    """The admin group's text for a scheduler notice."""
    if kind == Notice.DECISION_DUE_SOON:
        head = "⏰ " + _("<b>First decisions due on {day}</b> ({count}):").format(
            day=payload_text(payload, "day", 10), count=_int(payload, "total")
        )
        lines = _lines(payload.get("items"))
        foot = _("<i>/show REF brings up an item's card.</i>")
        return _fitted(head, lines, _int(payload, "total") - len(lines), foot)
    if kind == Notice.OVERDUE_DIGEST:
        return _overdue(payload)
    if kind == Notice.WEEKLY_SUMMARY:
        return _weekly(payload)
    raise UnknownNotice(kind)


def _overdue(payload: Mapping[str, Any]) -> str:
    head = "⚠️ " + _("<b>Overdue on {day}</b>: {count} items").format(
        day=payload_text(payload, "day", 10), count=_int(payload, "total")
    )
    body: list[str] = []
    listed = 0
    for key, heading in (
        ("decisions", _("Decisions past their deadline:")),
        ("implementations", _("Implementations past their due date:")),
        ("city", _("Answers from the city to chase:")),
    ):
        lines = _lines(payload.get(key))
        if not lines:
            continue
        body += ["", f"<b>{esc(heading)}</b>", *lines]
        listed += len(lines)
    rectifying = payload.get("rectifications")
    if isinstance(rectifying, list) and rectifying:
        body += ["", "<b>" + esc(_("Rectifications past their due date:")) + "</b>"]
        body += [_rectification_line(r) for r in rectifying if isinstance(r, Mapping)]
    foot = _("<i>/overdue lists them all with buttons.</i>")
    calendars = _calendars(payload)
    if calendars:
        foot = f"{calendars}\n\n{foot}"
    return _fitted(head, body, _int(payload, "total") - listed, foot)


def _rectification_line(r: Mapping[str, Any]) -> str:
    return "• " + _("#{id} {office}, due {due} ({late} days late): {text}").format(
        id=_int(r, "id"),
        office=payload_text(r, "office", 8),
        due=payload_text(r, "due", 10),
        late=_int(r, "late"),
        text=payload_text(r, "text", 80),
    )


def _weekly(payload: Mapping[str, Any]) -> str:
    head = "📊 " + _("<b>The week of {start} to {end}</b>").format(
        start=payload_text(payload, "from", 10), end=payload_text(payload, "to", 10)
    )
    rows = [
        _("Received: {count}").format(count=_int(payload, "received")),
        _("First decisions: {count}").format(count=_int(payload, "decided")),
        _("Adopted: {count}").format(count=_int(payload, "adopted")),
        _("Implemented: {count}").format(count=_int(payload, "implemented")),
        "",
        _("Awaiting a decision now: {count}").format(count=_int(payload, "awaiting")),
        _("Overdue now: {count}").format(count=_int(payload, "overdue")),
        "",
        _("<i>/stats 30d and /report give the figures and charts.</i>"),
    ]
    calendars = _calendars(payload)
    if calendars:
        rows += ["", calendars]
    return "\n".join([head, "", *rows])


def liaison_text(kind: str, payload: Mapping[str, Any]) -> str:
    """A department liaison's text for a scheduler notice."""
    department = payload_text(payload, "department")
    if kind == Notice.DEPARTMENT_DUE_SOON:
        head = "⏰ " + _(
            "<b>{department}</b>: these items are due soon ({count}). Please implement them "
            "by their due date, or tell the office why not."
        ).format(department=department, count=_int(payload, "total"))
    elif kind == Notice.DEPARTMENT_OVERDUE:
        head = "⚠️ " + _(
            "<b>{department}</b>: these items are past their due date ({count}). Please "
            "report progress, mark them implemented, or hand them back with a reason."
        ).format(department=department, count=_int(payload, "total"))
    else:
        raise UnknownNotice(kind)
    lines = _lines(payload.get("items"))
    foot = _("<i>/mine lists your department's items with their buttons.</i>")
    return _fitted(head, lines, _int(payload, "total") - len(lines), foot)


OFFICE_KINDS = frozenset(
    {Notice.DECISION_DUE_SOON.value, Notice.OVERDUE_DIGEST.value, Notice.WEEKLY_SUMMARY.value}
)
LIAISON_KINDS = frozenset({Notice.DEPARTMENT_DUE_SOON.value, Notice.DEPARTMENT_OVERDUE.value})
