"""The office's documents, in the current locale: charts, the workbook, the annual section.

``bot.reports`` draws and writes; this module decides what they say. The /report and
/export commands and the ``outpost report`` / ``outpost export`` commands share it, so
a document made on the server reads exactly like one sent in the group. CPU-heavy
rendering runs in a worker thread; the translations are looked up before, in the
calling task, where the locale is set.
"""

from __future__ import annotations

import asyncio
import enum
import os
import tempfile
import weakref
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import IO, Any, NamedTuple

from aiogram.utils.i18n import gettext as _
from babel.dates import format_skeleton

from bot.domain.figures import OUTCOMES, DepartmentFigures, Figures, Outcome
from bot.domain.lifecycle import Action
from bot.domain.periods import Period
from bot.domain.rectifications import RectStatus
from bot.domain.roles import Role
from bot.domain.statuses import (
    Behalf,
    FocusDomain,
    HostKind,
    ObserverCategory,
    ObserverStatus,
    RatingValue,
    SuggestionKind,
    SuggestionStatus,
)
from bot.i18n import EN, ZH
from bot.reports import annual, charts
from bot.reports.workbook import (
    DATE_FORMAT,
    DATETIME_FORMAT,
    LocalSerial,
    WorkbookWriter,
    steady_offset,
)
from bot.services.actors import Actor
from bot.services.context import Policy
from bot.services.export import ExportService, Shown
from bot.services.figures import DistrictFigures, NotableItem
from handlers import labels
from handlers.figure_texts import number, percent, period_title, rate_text, short_month
from handlers.rectifications import rectification_status
from handlers.roster import host_kind, observer_status
from handlers.ui import N_, clip, reading

# What Telegram lets a bot upload.
UPLOAD_MAX = 50 * 1000 * 1000

OUTCOME_COLOURS: dict[Outcome, str] = {
    Outcome.PENDING: "#9e9e9e",
    Outcome.ADOPTED: "#2e7d32",
    Outcome.REFERENCE: "#1565c0",
    Outcome.DECLINED: "#c62828",
    Outcome.ESCALATED: "#6a1b9a",
    Outcome.DUPLICATE: "#8d6e63",
    Outcome.WITHDRAWN: "#cfd8dc",
}


# ---- charts -----------------------------------------------------------------------------


def _outcome_series(values: Callable[[Outcome], Sequence[float]]) -> list[charts.Series]:
    return [charts.Series(labels.outcome(o), values(o), OUTCOME_COLOURS[o]) for o in OUTCOMES]


Chart = tuple[str, Callable[[], bytes]]


def chart_specs(f: Figures) -> list[Chart]:
    """The four charts of /report, each as a name and a function that draws it (the
    texts already translated, so the drawing may happen in another thread)."""
    note = period_title(f.period)
    empty = _("Nothing was filed in this period.")
    return [
        _per_month_chart(f, note, empty),
        _per_domain_chart(f, note, empty),
        _per_point_chart(f, note, empty),
        _on_time_chart(f, note),
    ]


def districts_chart(rows: Sequence[DistrictFigures], period: Period) -> Chart:
    """The offices below this one (a city's districts) side by side: each one's items
    of the period, by outcome."""
    names = [row.office.name.name_for(reading()) for row in rows]
    by_outcome = _outcome_series(lambda o: [row.figures.by_outcome.get(o, 0) for row in rows])
    return "districts", partial(
        charts.stacked_bars,
        _("Items filed in each district, by outcome"),
        names,
        by_outcome,
        empty_text=_("Nothing was filed in this period."),
        value_label=_("Items"),
        horizontal=True,
        note=period_title(period),
    )


async def draw(chart: Chart) -> bytes:
    """One chart drawn in a worker thread (matplotlib is CPU work)."""
    return await asyncio.to_thread(chart[1])


def districts_caption(rows: Sequence[DistrictFigures], period: Period) -> str:
    return _(
        "🏙 {period}: {count} districts, {total} items received, {reported} reported to "
        "the city. /stats has each district's figures side by side."
    ).format(
        period=period_title(period),
        count=len(rows),
        total=sum(row.figures.total for row in rows),
        reported=sum(row.reported for row in rows),
    )


def _per_month_chart(f: Figures, note: str, empty: str) -> Chart:
    # An empty period draws its charts' titles and a sentence instead of empty axes.
    shown = f.months if f.total else []
    years = {m.year for m in shown}
    months = [short_month(m.year, m.month, with_year=len(years) > 1) for m in shown]
    monthly = _outcome_series(lambda o: [m.outcomes.get(o, 0) for m in shown])
    title = _("Items filed per month, by outcome")
    return "items-per-month", partial(
        charts.stacked_bars,
        title,
        months,
        monthly,
        empty_text=empty,
        value_label=_("Items"),
        note=note,
    )


def _per_domain_chart(f: Figures, note: str, empty: str) -> Chart:
    domains = [d for d in FocusDomain if f.by_domain.get(d, 0)]
    names = [labels.domain(d) for d in domains]
    shares = _outcome_series(lambda o: [f.domain_outcomes.get(d, {}).get(o, 0) for d in domains])
    title = _("Outcomes by focus domain (share of items)")
    return "outcomes-per-domain", partial(
        charts.stacked_bars,
        title,
        names,
        shares,
        empty_text=empty,
        horizontal=True,
        percent=True,
        note=note,
    )


def _per_point_chart(f: Figures, note: str, empty: str) -> Chart:
    points = [p for p in f.points if p.items or p.active] if f.total else []
    names = [f"{p.code} {clip(labels.place(p.name), 18)}".strip() for p in points]
    adopted = charts.Series(
        labels.outcome(Outcome.ADOPTED),
        [p.adopted for p in points],
        OUTCOME_COLOURS[Outcome.ADOPTED],
    )
    other = charts.Series(_("Other items"), [p.items - p.adopted for p in points], "#90a4ae")
    title = _("Items filed per observation point")
    return "items-per-point", partial(
        charts.stacked_bars,
        title,
        names,
        [adopted, other],
        empty_text=empty,
        value_label=_("Items"),
        horizontal=True,
        note=note,
    )


def _on_time_note(d: DepartmentFigures) -> str:
    done = f"{d.on_time.part}/{d.on_time.whole}"
    if not d.overdue:
        return done
    return _("{done} · {overdue} overdue").format(done=done, overdue=d.overdue)


def _on_time_chart(f: Figures, note: str) -> Chart:
    # Every department with adopted items, finished or not: one with nothing done yet
    # and items overdue reads 0 %, with its overdue count, never missing from the chart.
    departments = [d for d in f.departments if d.department_id is not None and d.assigned]
    names = [clip(labels.place(d.name), 24) for d in departments]
    on_time = [d.on_time.percent or 0.0 for d in departments]
    notes = [_on_time_note(d) for d in departments]
    title = _("Implemented on time, by department")
    empty = _("No department was given an adopted item in this period.")
    return "on-time-per-department", partial(
        charts.bars,
        title,
        names,
        on_time,
        empty_text=empty,
        horizontal=True,
        percent=True,
        annotations=notes,
        note=note,
    )


async def charts_of(f: Figures) -> list[tuple[str, bytes]]:
    specs = chart_specs(f)

    def draw() -> list[tuple[str, bytes]]:
        return [(name, make()) for name, make in specs]

    return await asyncio.to_thread(draw)


def charts_caption(f: Figures) -> str:
    return _(
        "📊 {period}: {total} items received, {adopted} adopted (adoption rate {adoption}), "
        "first decisions on time {decided}, implemented on time {implemented}. /stats has "
        "the details, /export the data, /report {year} docx the annual section."
    ).format(
        period=period_title(f.period),
        total=f.total,
        adopted=f.adopted,
        adoption=percent(f.adoption),
        decided=percent(f.decided_on_time),
        implemented=percent(f.implemented_on_time),
        year=f.period.year,
    )


# ---- the annual section -------------------------------------------------------------------


def _count_of(f: Figures, outcome: Outcome) -> int:
    return f.by_outcome.get(outcome, 0)


def annual_blocks(
    f: Figures,
    notable: Sequence[NotableItem],
    pictures: dict[str, bytes],
    policy: Policy,
    language: str,
) -> list[annual.Block]:
    """The year's section, part by part, as the office's work report sets it out."""
    return [
        *_overview(f),
        *_analysis(f, pictures, policy),
        *_implementation(f, pictures),
        *_satisfaction(f),
        *_points_and_observers(f, pictures),
        *_notable_items(notable, policy, language),
    ]


def districts_blocks(rows: Sequence[DistrictFigures], chart: bytes) -> list[annual.Block]:
    """A city's districts compared, before its own section (以评促建设)."""
    header = [
        _("District"),
        _("Received"),
        _("Adoption rate"),
        _("Decided on time"),
        _("Implemented on time"),
        _("Satisfied"),
        _("Observers who filed"),
        _("Points with items"),
        _("Reported to the city"),
        _("Answered (median working days)"),
    ]
    table = [
        [
            labels.place(row.office.name.name_for(reading())) or row.office.code,
            str(row.figures.total),
            rate_text(row.figures.adoption),
            rate_text(row.figures.decided_on_time),
            rate_text(row.figures.implemented_on_time),
            rate_text(row.figures.satisfied),
            f"{len(row.figures.active_observers)}/{row.figures.appointed_observers}",
            str(row.figures.active_points),
            str(row.reported),
            f"{row.answered} ({number(row.answer_days)})",
        ]
        for row in rows
    ]
    told = _(
        "The {count} districts side by side: what their observers filed, how their "
        "offices decided and implemented, how satisfied observers were, and what each "
        "reported to the city and how soon the city answered."
    ).format(count=len(rows))
    return [
        annual.Heading(_("The districts compared")),
        annual.Paragraph(told),
        *_table(header, table, _("Table 0. The districts side by side")),
        annual.Picture(chart, _("Figure 0. Items filed in each district, by outcome")),
    ]


def _table(header: list[str], rows: list[list[str]], caption: str) -> list[annual.Block]:
    """The table, unless it would have no rows."""
    return [annual.Table(header, rows, caption=caption)] if rows else []


def _picture(pictures: dict[str, bytes], name: str, caption: str) -> list[annual.Block]:
    """The chart ``name`` with its caption, if it was drawn."""
    return [annual.Picture(pictures[name], caption)] if name in pictures else []


def _overview(f: Figures) -> list[annual.Block]:
    year = f.period.year
    told = _(
        "In {year} the district had {points} rule-of-law observation points and "
        "{observers} appointed rule-of-law observers. Through the points, observers "
        "filed {total} problems, opinions and suggestions: {suggestions} suggestions, "
        "{opinions} opinions and {problems} problems."
    ).format(
        year=year,
        points=f.active_points,
        observers=f.appointed_observers,
        total=f.total,
        suggestions=f.by_kind.get(SuggestionKind.SUGGESTION, 0),
        opinions=f.by_kind.get(SuggestionKind.OPINION, 0),
        problems=f.by_kind.get(SuggestionKind.PROBLEM, 0),
    )
    return [
        annual.Heading(_("1. Overview")),
        annual.Paragraph(told),
        annual.Table(
            [_("Indicator"), str(year)], _key_figures(f), caption=_("Table 1. The year's figures")
        ),
    ]


def _key_figures(f: Figures) -> list[tuple[str, str]]:
    return [
        (_("Observation points"), str(f.active_points)),
        (_("Appointed observers"), str(f.appointed_observers)),
        (_("Items received"), str(f.total)),
        (_("Adopted"), str(f.adopted)),
        (_("Kept for reference"), str(_count_of(f, Outcome.REFERENCE))),
        (_("Reported to the city"), str(_count_of(f, Outcome.ESCALATED))),
        (_("Not adopted"), str(_count_of(f, Outcome.DECLINED))),
        (_("Implemented"), str(f.implemented)),
        (_("Adoption rate"), rate_text(f.adoption)),
        (_("First decisions on time"), rate_text(f.decided_on_time)),
        (_("Implemented on time"), rate_text(f.implemented_on_time)),
        (_("Satisfied or basically satisfied"), rate_text(f.satisfied)),
    ]


def _analysis(f: Figures, pictures: dict[str, bytes], policy: Policy) -> list[annual.Block]:
    decisions = _(
        "The office made a first decision on {decided} items: {adopted} adopted, "
        "{reference} kept for reference, {declined} not adopted, {escalated} "
        "reported to the city for study and {duplicate} found to duplicate "
        "another item; {pending} still await a decision and {withdrawn} were "
        "withdrawn by the observer. The adoption rate was {adoption}."
    ).format(
        decided=f.decided,
        adopted=f.adopted,
        reference=_count_of(f, Outcome.REFERENCE),
        declined=_count_of(f, Outcome.DECLINED),
        escalated=_count_of(f, Outcome.ESCALATED),
        duplicate=_count_of(f, Outcome.DUPLICATE),
        pending=_count_of(f, Outcome.PENDING),
        withdrawn=_count_of(f, Outcome.WITHDRAWN),
        adoption=percent(f.adoption),
    )
    timing = _(
        "A first decision took a median of {median} working days (90th percentile "
        "{p90}); {on_time} of first decisions were made within the {days} working "
        "days allowed."
    ).format(
        median=number(f.decision_median),
        p90=number(f.decision_p90),
        on_time=percent(f.decided_on_time),
        days=policy.decision_days,
    )
    return [
        annual.Heading(_("2. Review and decisions")),
        annual.Paragraph(decisions),
        annual.Paragraph(timing),
        *_picture(pictures, "items-per-month", _("Figure 1. Items filed per month")),
        *_picture(pictures, "outcomes-per-domain", _("Figure 2. Outcomes by focus domain")),
    ]


def _implementation(f: Figures, pictures: dict[str, bytes]) -> list[annual.Block]:
    told = _(
        "Of the adopted items, {implemented} have been implemented by the responsible "
        "departments, {on_time} of them by their due date."
    ).format(implemented=f.implemented, on_time=percent(f.implemented_on_time))
    rows = [
        [
            labels.place(d.name) or _("(no department)"),
            str(d.assigned),
            str(d.implemented),
            rate_text(d.on_time),
            str(d.overdue),
        ]
        for d in f.departments
    ]
    header = [_("Department"), _("Adopted"), _("Implemented"), _("On time"), _("Overdue")]
    return [
        annual.Heading(_("3. Implementation and supervision")),
        annual.Paragraph(told),
        *_table(header, rows, _("Table 2. Implementation by department")),
        *_picture(
            pictures, "on-time-per-department", _("Figure 3. Implemented on time, by department")
        ),
    ]


def _satisfaction(f: Figures) -> list[annual.Block]:
    if not f.rated:
        told = _("No outcome of the year has been rated yet.")
    else:
        told = _(
            "Observers rated {rated} outcomes: {satisfied} satisfied, {basic} "
            "basically satisfied and {dissatisfied} dissatisfied, so {rate} were "
            "satisfied or basically satisfied. A dissatisfied rating of an "
            "implementation reopens it."
        ).format(
            rated=f.rated,
            satisfied=f.satisfaction.get(RatingValue.SATISFIED, 0),
            basic=f.satisfaction.get(RatingValue.BASICALLY_SATISFIED, 0),
            dissatisfied=f.satisfaction.get(RatingValue.DISSATISFIED, 0),
            rate=percent(f.satisfied),
        )
    return [annual.Heading(_("4. Satisfaction")), annual.Paragraph(told)]


def _points_and_observers(f: Figures, pictures: dict[str, bytes]) -> list[annual.Block]:
    told = _(
        "{active} observers filed at least one item in the year; {idle} appointed "
        "observers filed none. The items per point below are the basis for "
        "consolidating points and for the observers' yearly evaluation."
    ).format(active=len(f.active_observers), idle=len(f.idle_observers))
    rows = [
        [f"{pt.code} {pt.name}".strip(), str(pt.observers), str(pt.items), str(pt.adopted)]
        for pt in f.points
    ]
    header = [_("Point"), _("Observers"), _("Items"), _("Adopted")]
    return [
        annual.Heading(_("5. Points and observers")),
        annual.Paragraph(told),
        *_table(header, rows, _("Table 3. Activity per observation point")),
        *_picture(pictures, "items-per-point", _("Figure 4. Items filed per observation point")),
    ]


def _notable_items(
    notable: Sequence[NotableItem], policy: Policy, language: str
) -> list[annual.Block]:
    if not notable:
        told = [_("No adopted item of the year has been implemented yet.")]
    else:
        told = [_notable(n, item, policy, language) for n, item in enumerate(notable, start=1)]
    return [annual.Heading(_("6. Notable adopted items")), *map(annual.Paragraph, told)]


def _notable(n: int, item: NotableItem, policy: Policy, language: str) -> str:
    parts = [
        _("({n}) {title} ({reference}, {domain})").format(
            n=n, title=item.title, reference=item.reference, domain=labels.domain(item.domain)
        )
    ]
    when = format_skeleton(
        "yMMMMd", item.implemented_at.astimezone(policy.tz).date(), locale=language
    )
    parts.append(
        _("Implemented by {department} on {date}.").format(
            department=item.department or _("the responsible department"), date=when
        )
    )
    if item.report:
        parts.append(_("The department reported: {report}").format(report=item.report))
    if item.rating is not None:
        parts.append(_("The observer's rating: {rating}.").format(rating=_rating_word(item.rating)))
    # Chinese sentences follow each other without a space.
    return ("" if language == ZH else " ").join(parts)


def _rating_word(value: RatingValue) -> str:
    # The labels carry an emoji for the chat; a report reads without it.
    text = labels.rating(value)
    return text.split(" ", 1)[1] if " " in text else text


async def annual_docx(
    f: Figures,
    notable: Sequence[NotableItem],
    policy: Policy,
    language: str,
    *,
    today: date | None = None,
    districts: Sequence[DistrictFigures] = (),
) -> bytes:
    """The year's section of the office's work report, as a Word document, in
    ``language`` (which the caller has made the current locale); a city's compares its
    ``districts`` first."""
    pictures = dict(await charts_of(f))
    blocks = annual_blocks(f, notable, pictures, policy, language)
    if districts:
        chart = await draw(districts_chart(districts, f.period))
        blocks = [*districts_blocks(districts, chart), *blocks]
    day = today or datetime.now(policy.tz).date()
    doc = annual.Document(
        title=_("The rule-of-law observation scheme in {year}").format(year=f.period.year),
        subtitle=(
            _("The city rule-of-law office · {date}")
            if districts
            else _("The district rule-of-law office · {date}")
        ).format(date=format_skeleton("yMMMMd", day, locale=language)),
        blocks=blocks,
        language=EN if language == EN else ZH,
    )
    return await asyncio.to_thread(annual.build_docx, doc)


def report_caption(f: Figures) -> str:
    return _("📄 The {year} section on the observation scheme, for the work report.").format(
        year=f.period.year
    )


def _filename(what: str, period: Period, language: str, suffix: str) -> str:
    return f"outpost-{what}-{period.spec}-{'en' if language == EN else 'zh'}.{suffix}"


def report_filename(period: Period, language: str) -> str:
    return _filename("report", period, language, "docx")


def export_filename(period: Period, language: str) -> str:
    return _filename("export", period, language, "xlsx")


# ---- the workbook -------------------------------------------------------------------------


class TooBig(Exception):
    """The workbook passed the size it was allowed (Telegram's upload limit)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the workbook is larger than {limit:,} bytes")
        self.limit = limit


class Exported:
    """A workbook written: its size and rows per sheet, and the file, when
    :func:`workbook` chose it (a temporary file, removed by :meth:`remove` or, at the
    latest, when this is forgotten)."""

    def __init__(self, size: int, rows: dict[str, int], path: Path | None = None) -> None:
        self.size = size
        self.rows = rows
        self.path = path
        self._finalizer = weakref.finalize(self, _remove, path) if path is not None else None

    def remove(self) -> None:
        if self._finalizer is not None:
            self._finalizer()


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)


def _words_for(fn: Callable[[Any], str], kind: type[enum.Enum]) -> dict[Any, str]:
    said: dict[Any, str] = {}
    for member in kind:
        try:
            said[member.value] = fn(member)
        except (KeyError, ValueError):
            said[member.value] = str(member.value)
    return said


def _shown(policy: Policy) -> Shown:
    """The words of every stored value the workbook shows, each translated once, here,
    where the locale is set; and the office's offset from UTC, if its zone keeps one
    (else the moments are made local as they are written, by :class:`LocalSerial`)."""
    offset = steady_offset(policy.tz)
    words: dict[type[enum.Enum] | type[bool], Mapping[Any, str]] = {
        SuggestionKind: _words_for(labels.kind, SuggestionKind),
        FocusDomain: _words_for(labels.domain, FocusDomain),
        Behalf: _words_for(labels.behalf, Behalf),
        SuggestionStatus: _words_for(labels.status, SuggestionStatus),
        Action: _words_for(labels.action, Action),
        Role: _words_for(labels.role, Role),
        ObserverCategory: _words_for(labels.category, ObserverCategory),
        ObserverStatus: _words_for(observer_status, ObserverStatus),
        HostKind: _words_for(host_kind, HostKind),
        RatingValue: _words_for(_rating_word, RatingValue),
        RectStatus: _words_for(rectification_status, RectStatus),
        bool: {True: _("yes"), False: _("no")},
    }
    return Shown(words, None if offset is None else offset / timedelta(days=1))


class Column(NamedTuple):
    header: str  # an N_() message
    width: int
    # DATETIME_FORMAT or DATE_FORMAT: the column's numbers are serial dates.
    number_format: str | None = None


@dataclass
class Sheet:
    key: str  # for the row counts
    title: str  # an N_() message
    rows: AsyncIterator[Sequence[Any]]
    columns: list[Column]
    # What the columns are made of, if not the row read as it is.
    reshape: Callable[[Sequence[Any]], list[Any]] | None = None


async def workbook(
    export: ExportService,
    actor: Actor,
    period: Period,
    policy: Policy,
    target: str | os.PathLike[str] | IO[bytes] | None = None,
    *,
    limit: int | None = None,
) -> Exported:
    """The period's items, events, observers, points, departments and ratings, one sheet
    each, with headers and values in the current locale, written to ``target`` — or to
    a temporary file, which the result names and removes. Past ``limit`` bytes the
    writing stops and :class:`TooBig` is raised."""
    shown = _shown(policy)
    sheets = [
        Sheet("items", N_("Items"), export.item_rows(actor, period, shown), ITEM_COLUMNS, _place),
        Sheet("events", N_("Events"), export.event_rows(actor, period, shown), EVENT_COLUMNS),
        Sheet("observers", N_("Observers"), export.observer_rows(actor, shown), OBSERVER_COLUMNS),
        Sheet("points", N_("Points"), export.point_rows(actor, shown), POINT_COLUMNS),
        Sheet("departments", N_("Departments"), export.department_rows(actor, shown), DEPARTMENTS),
        Sheet("ratings", N_("Ratings"), export.rating_rows(actor, period, shown), RATING_COLUMNS),
    ]
    if await export.any_rectification(actor):
        # The city's, and a district's that has any: the findings and where they stand.
        rows = export.rectification_rows(actor, shown)
        sheets.append(Sheet("rectifications", N_("Rectifications"), rows, RECTIFICATIONS))
    wb = WorkbookWriter(
        policy.tz,
        # A sheet holds 1,048,576 rows: a year of a busy city's events take more.
        continues=_("Continued on the sheet “{sheet}”."),
        continued=_("Continued from the sheet “{sheet}”."),
    )
    local = None if shown.offset is not None else LocalSerial(policy.tz)
    try:
        counts = {}
        for sheet in sheets:
            counts[sheet.key] = await _write_sheet(wb, sheet, local, limit)
        return await _saved(wb, counts, target, limit)
    except BaseException:
        wb.discard()
        raise
    finally:
        for sheet in sheets:
            await _close(sheet.rows)


async def _close(rows: AsyncIterator[Sequence[Any]]) -> None:
    close = getattr(rows, "aclose", None)
    if close is not None:
        await close()


Rows = Callable[[Sequence[Sequence[Any]]], Iterable[Sequence[Any]]]


def _converted(sheet: Sheet, local: LocalSerial | None) -> Rows:
    """Turns a partition of rows as read into the sheet's rows: reshaped, and their
    moments made local if the database could not."""
    reshape = sheet.reshape or list
    moments: list[int] = []
    made_local: Callable[[Any], Any] = local or (lambda value: value)
    if local is not None:
        moments = [i for i, c in enumerate(sheet.columns) if c.number_format == DATETIME_FORMAT]
    if sheet.reshape is None and not moments:
        return lambda part: part

    def rows(part: Sequence[Sequence[Any]]) -> Iterator[Sequence[Any]]:
        for read in part:
            row = reshape(read)
            for index in moments:
                row[index] = made_local(row[index])
            yield row

    return rows


async def _write_sheet(
    wb: WorkbookWriter, sheet: Sheet, local: LocalSerial | None, limit: int | None
) -> int:
    """Write one sheet; how many rows it has. Each partition is written in a thread, so
    other chats are not kept waiting. (Not while the next is read: SQLite's driver lets
    go of the interpreter's lock for each row, and waits to have it back each time.)"""
    out = wb.sheet(
        _(sheet.title),
        [_(c.header) for c in sheet.columns],
        [c.width for c in sheet.columns],
        [c.number_format for c in sheet.columns],
    )
    rows = _converted(sheet, local)

    def write(part: Sequence[Sequence[Any]]) -> None:
        out.extend(rows(part))

    async for part in sheet.rows:
        await asyncio.to_thread(write, part)
        if limit is not None and wb.compressed_size > limit:
            raise TooBig(limit)
    return out.rows


async def _saved(
    wb: WorkbookWriter,
    counts: dict[str, int],
    target: str | os.PathLike[str] | IO[bytes] | None,
    limit: int | None,
) -> Exported:
    if target is not None and not isinstance(target, str | os.PathLike):
        await asyncio.to_thread(wb.save, target)
        return Exported(target.tell() if target.seekable() else 0, counts)
    if target is None:
        handle, name = await asyncio.to_thread(
            tempfile.mkstemp, prefix="outpost-export-", suffix=".xlsx"
        )
        os.close(handle)
        exported = Exported(0, counts, Path(name))
        path = Path(name)
    else:
        path = Path(target)
    try:
        await asyncio.to_thread(wb.save, path)
        size = (await asyncio.to_thread(path.stat)).st_size
        if limit is not None and size > limit:
            raise TooBig(limit)
    except BaseException:
        if target is None:
            exported.remove()
        raise
    if target is None:
        exported.size = size
        return exported
    return Exported(size, counts)


def _place(read: Sequence[Any]) -> list[Any]:
    """An item's row with its place as written, or its shared location's coordinates,
    and a link to the point on the map."""
    row = list(read)
    text, latitude, longitude = row[11:14]
    if latitude is None or longitude is None:
        row[11:14] = [text, None]
        return row
    lat, lon = f"{latitude:.5f}", f"{longitude:.5f}"
    link = f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=17/{lat}/{lon}"
    row[11:14] = [text or f"{lat}, {lon}", link]
    return row


ITEM_COLUMNS = [
    Column(N_("Reference"), 16),
    Column(N_("Filed"), 17, DATETIME_FORMAT),
    Column(N_("Kind"), 10),
    Column(N_("Domain"), 18),
    Column(N_("Point code"), 10),
    Column(N_("Point"), 24),
    Column(N_("Observer ID"), 10),
    Column(N_("Observer"), 14),
    Column(N_("Title"), 36),
    Column(N_("Details"), 60),
    Column(N_("On behalf of"), 14),
    # The place as written, or the coordinates of a location shared from the map.
    Column(N_("Location"), 24),
    Column(N_("Map"), 24),
    Column(N_("Status"), 18),
    Column(N_("Decision"), 18),
    Column(N_("Department"), 24),
    Column(N_("Decision due"), 12, DATE_FORMAT),
    Column(N_("First decision"), 17, DATETIME_FORMAT),
    Column(N_("Decided on time"), 10),
    Column(N_("Implementation due"), 12, DATE_FORMAT),
    Column(N_("Implemented"), 17, DATETIME_FORMAT),
    # Whether this item was (yes or no): the rate is /stats' and the annual report's.
    Column(N_("Implemented by the due date"), 12),
    Column(N_("Escalated to"), 20),
    Column(N_("City's answer due"), 12, DATE_FORMAT),
    Column(N_("Duplicate of"), 16),
    Column(N_("Closed"), 17, DATETIME_FORMAT),
]

EVENT_COLUMNS = [
    Column(N_("Reference"), 16),
    Column(N_("Time"), 17, DATETIME_FORMAT),
    Column(N_("Action"), 28),
    Column(N_("By"), 16),
    Column(N_("User ID"), 12),
    Column(N_("From"), 18),
    Column(N_("To"), 18),
    Column(N_("Text"), 60),
    Column(N_("Internal"), 8),
]

OBSERVER_COLUMNS = [
    Column(N_("Observer ID"), 10),
    Column(N_("Name"), 14),
    Column(N_("Phone on file"), 10),
    Column(N_("Category"), 22),
    Column(N_("Point code"), 10),
    Column(N_("Status"), 10),
    Column(N_("Recommending unit"), 24),
    Column(N_("Term starts"), 12, DATE_FORMAT),
    Column(N_("Term ends"), 12, DATE_FORMAT),
    Column(N_("Appointed"), 17, DATETIME_FORMAT),
    Column(N_("Suspended"), 17, DATETIME_FORMAT),
    Column(N_("Telegram username"), 18),
    Column(N_("Anonymised"), 17, DATETIME_FORMAT),
]

POINT_COLUMNS = [
    Column(N_("Point code"), 10),
    Column(N_("Name"), 28),
    Column(N_("Domain"), 18),
    Column(N_("Host"), 16),
    Column(N_("Host organisation"), 24),
    Column(N_("Town"), 12),
    Column(N_("Street"), 20),
    Column(N_("Open"), 6),
    Column(N_("Closed"), 17, DATETIME_FORMAT),
    Column(N_("Appointed observers"), 10),
]

DEPARTMENTS = [
    Column(N_("Department code"), 14),
    Column(N_("Name"), 28),
    Column(N_("Active"), 6),
    Column(N_("Liaisons"), 8),
]

RATING_COLUMNS = [
    Column(N_("Reference"), 16),
    Column(N_("Time"), 17, DATETIME_FORMAT),
    Column(N_("Rating"), 16),
    Column(N_("Comment"), 60),
]

RECTIFICATIONS = [
    Column(N_("No."), 8),
    Column(N_("District"), 10),
    Column(N_("Raised by"), 10),
    Column(N_("Finding"), 60),
    Column(N_("Due"), 12, DATE_FORMAT),
    Column(N_("Status"), 24),
    Column(N_("Raised"), 17, DATETIME_FORMAT),
    Column(N_("Closed"), 17, DATETIME_FORMAT),
]


def export_caption(period: Period, exported: Exported) -> str:
    return _(
        "📑 {period}: {items} items, {events} events, {ratings} ratings; observers, "
        "points and departments as they stand today."
    ).format(
        period=period_title(period),
        items=exported.rows.get("items", 0),
        events=exported.rows.get("events", 0),
        ratings=exported.rows.get("ratings", 0),
    )
