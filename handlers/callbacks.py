"""Callback data of every inline button. Prefixes are short: Telegram allows 64 bytes.

Nothing here is trusted: every id that arrives in callback data is checked again by
the services against the person pressing the button.
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class LangCb(CallbackData, prefix="lang"):
    locale: str


class MenuCb(CallbackData, prefix="menu"):
    # "new", "mine", "help", "apply"
    go: str


class FileCb(CallbackData, prefix="f"):
    """A step of the filing conversation: ``step`` names it, ``value`` is the choice."""

    step: str
    value: str = ""


class ApplyCb(CallbackData, prefix="ap"):
    """A step of the application conversation."""

    step: str
    value: str = ""


class MineCb(CallbackData, prefix="my"):
    """My suggestions: ``act`` is list, show, withdraw, answer, rate, ...;
    ``page`` is the list page to return to."""

    act: str
    item: int = 0
    page: int = 1
    value: str = ""


class ExportCb(CallbackData, prefix="ex"):
    """/export for the period ``period`` spells, in the language ``lang``: offered by
    the quarter or the month when the whole period's workbook is too big to send."""

    period: str
    lang: str


class StatsCb(CallbackData, prefix="st"):
    """The office's /stats for the period ``period`` spells (2026, 2026-06, 2026-Q2,
    30d): one ``section`` of it, or (empty) the summary with the sections' buttons."""

    period: str
    section: str = ""
