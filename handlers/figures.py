"""The office's figures in its group: /stats, /report, /export, and /holidays.

/stats answers with the headline figures and a button for each section; a press turns
the message to that section (and "back" to the summary) for any admin, the period
travelling in the button. It answers in the group's language; the documents
(/report's charts and Word section, /export's workbook) are made in the language of
the admin who asked — a colleague who reads English gets English headers — unless
``zh`` or ``en`` is given. Rendering is CPU work (matplotlib, the workbook): it runs in a
worker thread, so other chats are not kept waiting while a year's charts are drawn.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject, Filter
from aiogram.methods import SendDocument, SendMessage
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    FSInputFile,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    Message,
    ReplyParameters,
)
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.domain.errors import InvalidInput
from bot.domain.figures import Figures
from bot.domain.holidays import BadHolidayLine
from bot.domain.offices import HOME
from bot.domain.periods import Period, PeriodKind, month_period, quarter_period, year_period
from bot.domain.statuses import DayKind
from bot.effects import Speech, later
from bot.i18n import EN, ZH
from bot.reports.charts import MissingFont
from bot.services.actors import Actor
from bot.services.calendar import CalendarService, DayEntry
from bot.services.context import Policy
from bot.services.export import export_in, office_of
from bot.services.figures import FiguresService
from bot.settings import Settings
from handlers import documents
from handlers.callbacks import ExportCb, StatsCb
from handlers.desks import Desks, from_data
from handlers.figure_texts import (
    SECTIONS,
    districts_text,
    month_name,
    period_title,
    stats_section,
    stats_summary,
)
from handlers.keyboards import button
from handlers.office import office_router, usage
from handlers.ui import CAPTION_MAX, N_, clip, esc, shown_length

_LANGUAGES = {"zh": ZH, "zh_cn": ZH, "中文": ZH, "en": EN, "english": EN}
_BAD_LINE: dict[str, str] = {
    "format": N_("write a date or range, then off or work, then a name"),
    "date": N_("that is not a real date"),
    "kind": N_("say off (a holiday) or work (a make-up working day)"),
    "order": N_("the range ends before it starts"),
    "range": N_("a range longer than a month is surely a typing mistake"),
    "weekday": N_("that day is a weekday, already a working day"),
    "twice": N_("that day is listed twice"),
    "too_many": N_("too many lines: import one year at a time"),
}
HOLIDAY_EXAMPLE = "/holidays\n2027-01-01..2027-01-03 off 元旦\n2027-02-06 work 春节调休"

log = logging.getLogger("handlers.figures")


def _words(command: CommandObject) -> list[str]:
    return (command.args or "").split()


def _bad_period(text: str, name: str) -> str:
    return (
        _("“{text}” is not a period. Periods look like 2026, 2026-06, 2026-Q2 or 30d.").format(
            text=esc(clip(text, 30))
        )
        + "\n"
        + usage(name)
    )


@dataclass(frozen=True)
class Asked:
    """What /report or /export asks for: the period, the documents' language and the
    other words (``docx``)."""

    period: Period
    language: str
    flags: frozenset[str]


def _split(words: Sequence[str], locale: str, figures: FiguresService) -> Asked:
    """The words read; InvalidInput (its ``spec`` the words) when they name no period."""
    language = locale
    rest: list[str] = []
    flags: set[str] = set()
    for word in words:
        lowered = word.lower()
        if lowered in _LANGUAGES:
            language = _LANGUAGES[lowered]
        elif lowered in ("docx", "word"):
            flags.add("docx")
        else:
            rest.append(word)
    if len(rest) > 1:
        raise InvalidInput("too many words", spec=" ".join(rest))
    return Asked(figures.period(rest[0] if rest else None), language, frozenset(flags))


class Asks(Filter):
    """/report's or /export's words, read once: the handler is given them as ``asked``.
    Words that name no period do not match; :func:`bad_period` answers them."""

    async def __call__(
        self, message: Message, command: CommandObject, locale: str, figures: FiguresService
    ) -> dict[str, Asked] | bool:
        # The documents are the group's: in its language unless the words ask otherwise.
        try:
            return {"asked": _split(_words(command), locale, figures)}
        except InvalidInput:
            return False


@dataclass(frozen=True)
class Desk:
    """Who asks for the documents, and what makes and sends them: handed to /report and
    /export by :class:`~handlers.desks.Desks`."""

    bot: Bot
    actor: Actor
    figures: FiguresService
    policy: Policy
    i18n: I18n


def setup(i18n: I18n, settings: Settings) -> Router:
    router = office_router("figures")
    router.message.middleware(Desks(from_data(Desk)))
    router.callback_query.middleware(Desks(from_data(Desk)))
    router.message.register(show_stats, Command("stats"))
    router.callback_query.register(stats_page, StatsCb.filter())
    router.callback_query.register(export_part, ExportCb.filter())
    router.message.register(send_report, Command("report"), Asks())
    router.message.register(send_export, Command("export"), Asks())
    router.message.register(bad_period, Command("report", "export"))
    router.message.register(holidays, Command("holidays"))
    return router


async def show_stats(
    message: Message,
    command: CommandObject,
    actor: Actor,
    figures: FiguresService,
    policy: Policy,
) -> None:
    words = _words(command)
    if len(words) > 1:
        await message.reply(usage("stats"))
        return
    try:
        period = figures.period(words[0] if words else None)
    except InvalidInput:
        await message.reply(_bad_period(words[0], "stats"))
        return
    districts = await figures.districts(actor, period)
    if districts:
        # A city's group: its districts side by side first; its own items a press away.
        own = StatsCb(period=period.spec).pack()
        markup = InlineKeyboardMarkup(
            inline_keyboard=[[button(_("📊 This office's own items"), own)]]
        )
        await message.reply(districts_text(districts, period), reply_markup=markup)
        return
    shown = await figures.stats(actor, period)
    unreadable = await figures.unreadable_updates(actor)
    await message.reply(stats_summary(shown, unreadable), reply_markup=_sections(period))


def _sections(period: Period) -> InlineKeyboardMarkup:
    """A button for each section of /stats; the period goes with each press."""
    buttons = [
        button(_(section.label), StatsCb(period=period.spec, section=name).pack())
        for name, section in SECTIONS.items()
    ]
    return InlineKeyboardMarkup(
        inline_keyboard=[buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    )


def _back(period: Period) -> InlineKeyboardMarkup:
    data = StatsCb(period=period.spec).pack()
    return InlineKeyboardMarkup(inline_keyboard=[[button(_("◀️ Back to the summary"), data)]])


async def stats_page(
    query: CallbackQuery,
    callback_data: StatsCb,
    actor: Actor,
    figures: FiguresService,
    policy: Policy,
) -> None:
    """A section button, or "back", under /stats: the message turns to it, for
    whichever admin pressed it."""
    message = query.message
    name = callback_data.section
    try:
        period = figures.period(callback_data.period)
    except InvalidInput:
        period = None
    if period is None or (name and name not in SECTIONS):
        # Garbled, forged or from a version with other sections.
        await query.answer(_("This button is out of date: send /stats again."), show_alert=True)
        return
    if not isinstance(message, Message):
        await query.answer(
            _("This message is too old to change: send /stats again."), show_alert=True
        )
        return
    shown = await figures.stats(actor, period)
    if name:
        text, markup = stats_section(name, shown, policy.tz), _back(period)
    else:
        unreadable = await figures.unreadable_updates(actor)
        text, markup = stats_summary(shown, unreadable), _sections(period)
    # After commit; "not modified" (a double tap) is no failure.
    await message.edit_text(text, reply_markup=markup)
    await query.answer()


async def bad_period(
    message: Message, command: CommandObject, locale: str, figures: FiguresService
) -> None:
    """/report or /export with words :class:`Asks` could not read: what is wrong."""
    spec = ""
    try:
        _split(_words(command), locale, figures)
    except InvalidInput as exc:
        spec = str(exc.context.get("spec", ""))
    await message.reply(_bad_period(spec, command.command))


async def send_report(message: Message, asked: Asked, desk: Desk) -> None:
    period, language, flags = asked.period, asked.language, asked.flags
    if "docx" in flags and period.kind is not PeriodKind.YEAR:
        await message.reply(
            _("The Word report covers a whole year, e.g. /report {year} docx.").format(
                year=period.year
            )
        )
        return
    await desk.bot.send_chat_action(message.chat.id, "upload_document" if flags else "upload_photo")
    shown = await desk.figures.stats(desk.actor, period)
    try:
        with desk.i18n.use_locale(language):
            if "docx" in flags:
                await _send_annual(message, desk, asked, shown)
                return
            districts = await desk.figures.districts(desk.actor, period)
            if districts:
                # A city's group: its districts side by side.
                png = await documents.draw(documents.districts_chart(districts, period))
                said = clip(documents.districts_caption(districts, period), CAPTION_MAX)
            else:
                drawn = await documents.charts_of(shown)
                caption = clip(documents.charts_caption(shown), CAPTION_MAX)
    except MissingFont:
        await message.reply(_no_font())
        return
    if districts:
        await message.reply_photo(BufferedInputFile(png, "districts.png"), caption=said)
        return
    await message.reply_media_group(_album(drawn, caption))


def _no_font() -> str:
    return _(
        "The charts cannot be drawn: the server has no Chinese font. Install "
        "Debian's fonts-noto-cjk (make run does) and ask again."
    )


async def _send_annual(message: Message, desk: Desk, asked: Asked, shown: Figures) -> None:
    """The year's section for the work report, as a Word document."""
    notable = await desk.figures.notable(desk.actor, asked.period)
    districts = await desk.figures.districts(desk.actor, asked.period)
    data = await documents.annual_docx(
        shown, notable, desk.policy, asked.language, districts=districts
    )
    name = documents.report_filename(asked.period, asked.language)
    await message.reply_document(
        BufferedInputFile(data, name), caption=documents.report_caption(shown)
    )


def _album(drawn: Sequence[tuple[str, bytes]], caption: str) -> list[Any]:
    """The charts as one album, the caption under the first."""
    return [
        InputMediaPhoto(
            media=BufferedInputFile(png, f"{name}.png"),
            caption=caption if i == 0 else None,
        )
        for i, (name, png) in enumerate(drawn)
    ]


async def send_export(message: Message, asked: Asked, desk: Desk) -> None:
    if asked.flags:
        await message.reply(usage("export"))
        return
    await _export(message, desk, asked.period, asked.language)


async def export_part(query: CallbackQuery, callback_data: ExportCb, desk: Desk) -> None:
    """A button under "too big to send": the workbook of one quarter or month."""
    message = query.message
    try:
        period = desk.figures.period(callback_data.period)
    except InvalidInput:
        period = None
    if period is None or callback_data.lang not in (ZH, EN) or not isinstance(message, Message):
        await query.answer(_("This button is out of date: send /export again."), show_alert=True)
        return
    await query.answer()
    await _export(message, desk, period, callback_data.lang)


async def _export(message: Message, desk: Desk, period: Period, language: str) -> None:
    """The workbook made after the update commits, from a snapshot that waits for no
    one and keeps no one waiting (a year of a big city's takes seconds: it must not
    hold the database's writer meanwhile), written to a temporary file, sent and
    removed; or, when it would be more than Telegram takes, shorter periods offered."""
    await desk.bot.send_chat_action(message.chat.id, "upload_document")
    figures, actor, i18n = desk.figures, desk.actor, desk.i18n
    policy, clock, office = figures.policy, figures.clock, office_of(figures)
    reply = ReplyParameters(message_id=message.message_id, allow_sending_without_reply=True)

    async def export(speech: Speech) -> None:
        try:
            with i18n.use_locale(language):
                async with export_in(speech.read(), office, policy, clock) as rows:
                    exported = await documents.workbook(
                        rows,
                        actor,
                        period,
                        policy,
                        limit=documents.UPLOAD_MAX,
                    )
                name = documents.export_filename(period, language)
                caption = documents.export_caption(period, exported)
        except documents.TooBig:
            text, markup = _too_big(period, language, policy)
            await speech.call(
                SendMessage(
                    chat_id=message.chat.id,
                    text=text,
                    reply_markup=markup,
                    reply_parameters=reply,
                )
            )
            return
        except Exception:
            log.exception("the export of %s failed", period.spec)
            await speech.call(
                SendMessage(chat_id=message.chat.id, text=_(_FAILED), reply_parameters=reply)
            )
            return
        assert exported.path is not None
        try:
            await speech.call(
                SendDocument(
                    chat_id=message.chat.id,
                    document=FSInputFile(exported.path, name),
                    caption=caption,
                    reply_parameters=reply,
                )
            )
        finally:
            exported.remove()

    later(message.chat.id, export, name="export")


_FAILED = N_("Sorry, something went wrong and nothing was changed. Please try again.")


def _parts(period: Period) -> list[tuple[Period, str]]:
    """Shorter periods that together cover ``period``, each with its button's label: a
    year's quarters, a quarter's months, the months (or years) a run of days touches;
    none for a month, the shortest period there is."""
    if period.kind is PeriodKind.YEAR:
        return [
            (
                quarter_period(period.year, q),
                _("Q{quarter} {year}").format(quarter=q, year=period.year),
            )
            for q in range(1, 5)
        ]
    if period.kind is PeriodKind.MONTH:
        return []
    months = period.months()
    if len(months) > 13:
        years = sorted({year for year, _month in months})
        return [(year_period(year), str(year)) for year in years]
    return [(month_period(year, month), month_name(year, month)) for year, month in months]


def _too_big(
    period: Period, language: str, policy: Policy
) -> tuple[str, InlineKeyboardMarkup | None]:
    """What the office is told when the period's workbook is too big to send, with a
    button (and a command to copy) for each shorter period, and the server's command
    for the whole."""
    word = "en" if language == EN else "zh"
    parts = _parts(period)
    lines = [
        "📦 "
        + _(
            "The workbook for {period} would be more than {limit} MB, more than Telegram "
            "lets a bot send."
        ).format(period=esc(period_title(period)), limit=documents.UPLOAD_MAX // 1_000_000)
    ]
    if parts:
        if parts[0][0].kind is PeriodKind.QUARTER:
            ask = _("Ask for it a quarter at a time: tap a button below, or send")
        elif parts[0][0].kind is PeriodKind.YEAR:
            ask = _("Ask for it a year at a time: tap a button below, or send")
        else:
            ask = _("Ask for it a month at a time: tap a button below, or send")
        lines += ["", ask]
        lines += [f"<code>/export {part.spec} {word}</code>" for part, _label in parts]
    office = f" --office {esc(policy.jurisdiction)}" if policy.office_id != HOME else ""
    command = (
        f"outpost export --period {esc(period.spec)} --lang {language}{office} "
        f"--out {documents.export_filename(period, language)}"
    )
    lines += [
        "",
        _("For the whole period in one file, run this on the server:"),
        f"<code>{command}</code>",
    ]
    if not parts:
        return "\n".join(lines), None
    buttons = [
        button(label, ExportCb(period=part.spec, lang=language).pack()) for part, label in parts
    ]
    rows = [buttons[i : i + 4] for i in range(0, len(buttons), 4)]
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


async def holidays(
    message: Message,
    command: CommandObject,
    actor: Actor,
    calendar: CalendarService,
    policy: Policy,
) -> None:
    text = command.args or ""
    words = text.split()
    if len(words) > 1:
        # Lines of days (one is enough): an import.
        await _import(message, actor, calendar, text)
        return
    if not words:
        year = calendar.today().year
    elif len(words[0]) == 4 and words[0].isdigit():
        year = int(words[0])
    else:
        await message.reply(usage("holidays") + "\n\n" + _holiday_format())
        return
    days = await calendar.year(actor, year)
    await message.reply(holiday_listing(year, days))


async def _import(message: Message, actor: Actor, calendar: CalendarService, text: str) -> None:
    try:
        done = await calendar.import_text(actor, text)
    except BadHolidayLine as exc:
        reason = _BAD_LINE.get(exc.reason, _BAD_LINE["format"])
        await message.reply(
            _("Nothing was imported. Line {line}, “{text}”: {reason}.").format(
                line=exc.line, text=esc(clip(exc.text, 80)), reason=_(reason)
            )
            + "\n\n"
            + _holiday_format()
        )
        return
    except InvalidInput:
        await message.reply(
            _("Nothing was imported: no days were given.") + "\n\n" + _holiday_format()
        )
        return
    years = ", ".join(str(y) for y in done.years)
    await message.reply(
        "📅 "
        + _(
            "Imported for {years}: {holidays} days off and {workdays} make-up working days "
            "(replacing the {replaced} days recorded before). Deadlines set from now on "
            "count by this calendar."
        ).format(
            years=years, holidays=done.holidays, workdays=done.workdays, replaced=done.replaced
        )
    )


def _holiday_format() -> str:
    return (
        _(
            "One line per day or range: the date (or first..last), then <code>off</code> for a "
            "holiday or <code>work</code> for a make-up working day, then a name. Importing "
            "replaces what the calendar holds for that year. For example:"
        )
        + f"\n<pre>{esc(HOLIDAY_EXAMPLE)}</pre>"
    )


def holiday_listing(year: int, days: Sequence[DayEntry]) -> str:
    """The year's calendar in the import format, so it can be copied, edited and sent back."""
    if not days:
        return (
            _("📅 No holidays are recorded for {year}: deadlines count Monday to Friday.").format(
                year=year
            )
            + "\n\n"
            + _holiday_format()
        )
    lines = [_run_line(run) for run in _runs(days)]
    off = sum(1 for d in days if d.kind is DayKind.HOLIDAY)
    work = len(days) - off
    head = "📅 " + _("<b>{year}</b>: {off} days off, {work} make-up working days").format(
        year=year, off=off, work=work
    )
    body = "\n".join(lines)
    foot = _("To change them, send /holidays with the corrected lines (the whole year).")
    text = f"{head}\n<pre>{esc(body)}</pre>\n{foot}"
    if shown_length(text) > 4000:
        text = f"{head}\n{foot}"
    return text


def _runs(days: Sequence[DayEntry]) -> list[list[DayEntry]]:
    """The days in runs of one kind and name on consecutive dates: one line each."""
    runs: list[list[DayEntry]] = []
    for entry in days:
        run = runs[-1] if runs else []
        if (
            run
            and entry.kind is run[-1].kind
            and entry.name == run[-1].name
            and entry.day == run[-1].day + timedelta(days=1)
        ):
            run.append(entry)
        else:
            runs.append([entry])
    return runs


def _run_line(run: Sequence[DayEntry]) -> str:
    word = "off" if run[0].kind is DayKind.HOLIDAY else "work"
    span = run[0].day.isoformat()
    if len(run) > 1:
        span += ".." + run[-1].day.isoformat()
    return f"{span} {word} {run[0].name}".rstrip()
