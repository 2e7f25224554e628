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
from handlers.notices import UnknownNotice
from handlers.ui import MESSAGE_MAX, clip, esc, payload_text, shown_length

_TITLE = 60
_ROOM = MESSAGE_MAX - 300


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


def _lines(items: Any) -> list[str]:
    if not isinstance(items, Sequence) or isinstance(items, str):
        return []
    return [text for text in (_item_line(line) for line in items) if text]


class _Budget:
    """Lines added while they fit one message; the rest are counted."""

    def __init__(self, head: str) -> None:
        self.parts = [head]
        self.used = shown_length(head)
        self.left_out = 0

    def add(self, line: str) -> None:
        size = shown_length(line) + 1
        if self.left_out or self.used + size > _ROOM:
            self.left_out += 1
            return
        self.parts.append(line)
        self.used += size

    def text(self, more: int = 0, foot: str = "") -> str:
        hidden = self.left_out + more
        if hidden > 0:
            self.parts.append(_("… and {count} more").format(count=hidden))
        if foot:
            self.parts.extend(["", foot])
        return "\n".join(self.parts)


def office_text(kind: str, payload: Mapping[str, Any]) -> str:
    """The admin group's text for a scheduler notice."""
    if kind == Notice.DECISION_DUE_SOON:
        budget = _Budget(
            "⏰ "
            + _("<b>First decisions due on {day}</b> ({count}):").format(
                day=payload_text(payload, "day", 10), count=_int(payload, "total")
            )
        )
        shown = _lines(payload.get("items"))
        for line in shown:
            budget.add(line)
        foot = _("<i>/show REF brings up an item's card.</i>")
        return budget.text(max(0, _int(payload, "total") - len(shown)), foot)
    if kind == Notice.OVERDUE_DIGEST:
        return _overdue(payload)
    if kind == Notice.WEEKLY_SUMMARY:
        return _weekly(payload)
    raise UnknownNotice(kind)


def _overdue(payload: Mapping[str, Any]) -> str:
    budget = _Budget(
        "⚠️ "
        + _("<b>Overdue on {day}</b>: {count} items").format(
            day=payload_text(payload, "day", 10), count=_int(payload, "total")
        )
    )
    listed = 0
    for key, heading in (
        ("decisions", _("Decisions past their deadline:")),
        ("implementations", _("Implementations past their due date:")),
        ("city", _("Answers from the city to chase:")),
    ):
        lines = _lines(payload.get(key))
        if not lines:
            continue
        budget.add("")
        budget.add(f"<b>{esc(heading)}</b>")
        for line in lines:
            budget.add(line)
        listed += len(lines)
    foot = _("<i>/overdue lists them all with buttons.</i>")
    return budget.text(max(0, _int(payload, "total") - listed), foot)


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
    budget = _Budget(head)
    shown = _lines(payload.get("items"))
    for line in shown:
        budget.add(line)
    foot = _("<i>/mine lists your department's items with their buttons.</i>")
    return budget.text(max(0, _int(payload, "total") - len(shown)), foot)


OFFICE_KINDS = frozenset(
    {Notice.DECISION_DUE_SOON.value, Notice.OVERDUE_DIGEST.value, Notice.WEEKLY_SUMMARY.value}
)
LIAISON_KINDS = frozenset({Notice.DEPARTMENT_DUE_SOON.value, Notice.DEPARTMENT_OVERDUE.value})
