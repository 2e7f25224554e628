"""The office's figures in words: the /stats answer, in the current locale.

Numbers come from ``bot.domain.figures``; here they get their labels. Names typed by
people (points, departments, observers) are escaped and shortened. /stats answers with
the headline figures; each section (by status, by domain, timeliness, departments,
ratings, points, observers) is a button away and fits one message: the lists that grow
with the district say how many they left out, and /export has every row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _
from babel.dates import format_skeleton

from bot.domain.figures import OUTCOMES, Figures, ObserverActivity, Rate
from bot.domain.periods import Period, PeriodKind
from bot.domain.statuses import FocusDomain, RatingValue, SuggestionKind, SuggestionStatus
from bot.services.figures import DistrictFigures
from handlers import labels
from handlers.ui import MESSAGE_MAX, N_, clip, esc, shown_length

_NAME = 40
# What a section's text may use; a list longer than that says "… and N more": /export
# has every row.
_ROOM = MESSAGE_MAX - 400


def percent(rate: Rate) -> str:
    value = rate.percent
    return "—" if value is None else f"{value:.1f}%"


def rate_text(rate: Rate) -> str:
    """ "60.0% (6/10)", or a dash when there is nothing to divide."""
    if rate.whole == 0:
        return "—"
    return f"{percent(rate)} ({rate.part}/{rate.whole})"


def number(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _babel_locale() -> str:
    i18n = get_i18n()
    return i18n.current_locale if i18n is not None else "zh_CN"


def period_title(period: Period) -> str:
    if period.kind is PeriodKind.YEAR:
        name = str(period.year)
    elif period.kind is PeriodKind.QUARTER:
        name = _("Q{quarter} {year}").format(quarter=period.quarter, year=period.year)
    elif period.kind is PeriodKind.MONTH:
        name = month_name(period.year, period.start.month)
    else:
        # Not "the last 30 days": the title may begin a caption or a chart's note.
        return _("{days} days, {start} to {end}").format(
            days=period.days, start=period.start.isoformat(), end=period.last.isoformat()
        )
    return _("{name} ({start} to {end})").format(
        name=name, start=period.start.isoformat(), end=period.last.isoformat()
    )


def month_name(year: int, month: int) -> str:
    """ "2026年6月", "June 2026": Babel knows how each language writes it."""
    return format_skeleton("yMMMM", date(year, month, 1), locale=_babel_locale())


def short_month(year: int, month: int, *, with_year: bool = False) -> str:
    """A month on a chart's axis: "6月", "Jun"; with the year when a chart spans two."""
    skeleton = "yyMMM" if with_year else "MMM"
    return format_skeleton(skeleton, date(year, month, 1), locale=_babel_locale())


def _joined(parts: Iterable[str]) -> str:
    return " · ".join(parts)


def _counts_by_kind(by_kind: Mapping[SuggestionKind, int]) -> str:
    return _joined(f"{esc(labels.kind(k))} {by_kind.get(k, 0)}" for k in SuggestionKind)


def _counts_by_domain(by_domain: Mapping[FocusDomain, int]) -> list[str]:
    return [
        "• " + _("{name}: {count}").format(name=esc(labels.domain(d)), count=by_domain[d])
        for d in FocusDomain
        if by_domain.get(d, 0)
    ]


def _day(moment: datetime | None, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).date().isoformat() if moment is not None else "—"


def _observer_line(a: ObserverActivity, tz: ZoneInfo) -> str:
    name = esc(clip(a.name, _NAME)) or f"#{a.observer_id}"
    return "• " + _("{name} ({point}): filed {filed}, adopted {adopted}, last {last}").format(
        name=name,
        point=esc(clip(a.point_code, 16)),
        filed=a.filed,
        adopted=a.adopted,
        last=_day(a.last_filed, tz),
    )


def _idle_line(a: ObserverActivity, tz: ZoneInfo) -> str:
    name = esc(clip(a.name, _NAME)) or f"#{a.observer_id}"
    if a.last_filed is None:
        return "• " + _("{name} ({point}): never filed").format(
            name=name, point=esc(clip(a.point_code, 16))
        )
    return "• " + _("{name} ({point}): last filed {last}").format(
        name=name, point=esc(clip(a.point_code, 16)), last=_day(a.last_filed, tz)
    )


def _more_than(count: int) -> list[str]:
    """The line that says how many of a list were left out, if any were."""
    if not count:
        return []
    return [_("… and {count} more (/export has them all)").format(count=count)]


# ---- /stats: a summary, and a section at a time -----------------------------------------


@dataclass(frozen=True)
class Section:
    """A part of /stats behind a button: its label and what it shows."""

    label: str
    lines: Callable[[Figures, ZoneInfo], list[str]]


def _head(f: Figures) -> str:
    return "📊 " + _("<b>Figures for {period}</b>").format(period=esc(period_title(f.period)))


def stats_summary(f: Figures, unreadable: int = 0) -> str:
    """The headline figures of the period; the sections are a button away.
    ``unreadable``: the updates set aside because they could not be read."""
    lines = [
        _head(f),
        _("<i>Items filed in the period, counted where they stand now.</i>"),
        "",
        _("<b>Received: {count}</b>").format(count=f.total) + " — " + _counts_by_kind(f.by_kind),
        _("Adoption rate (adopted of decided): {rate}").format(rate=rate_text(f.adoption)),
        _("First decisions on time: {rate}").format(rate=rate_text(f.decided_on_time)),
        _("Implemented: {count}; on time: {rate}").format(
            count=f.implemented, rate=rate_text(f.implemented_on_time)
        ),
        _("Satisfied or basically satisfied: {rate}").format(rate=rate_text(f.satisfied)),
        _("Observers who filed: {count} of {appointed} appointed").format(
            count=len(f.active_observers), appointed=f.appointed_observers
        ),
        *_unreadable(unreadable),
        "",
        _("<i>Press a button below for the details.</i>"),
    ]
    return "\n".join(lines)


def stats_section(name: str, f: Figures, tz: ZoneInfo) -> str:
    """One section of /stats (a name of :data:`SECTIONS`), within one message: a list
    too long for it says how many were left out."""
    return "\n".join(_fit([_head(f), ""], SECTIONS[name].lines(f, tz)))


def _fit(fixed: list[str], lines: list[str]) -> list[str]:
    """``fixed`` and as many of ``lines`` as fit in a message (a list's heading, then its
    entries); the ones left out are counted."""
    used = sum(shown_length(line) + 1 for line in fixed)
    kept: list[str] = []
    for n, line in enumerate(lines):
        size = shown_length(line) + 1
        if used + size > _ROOM:
            entries = sum(1 for rest in lines[n:] if rest.startswith("•"))
            return [*fixed, *kept, *_more_than(entries)]
        kept.append(line)
        used += size
    return [*fixed, *kept]


def _status_lines(f: Figures, _tz: ZoneInfo) -> list[str]:
    lines = [
        _("<b>By status</b>"),
        _("<b>Received: {count}</b>").format(count=f.total) + " — " + _counts_by_kind(f.by_kind),
    ]
    if not f.total:
        return [*lines, _none()]
    return [
        *lines,
        _("<b>Outcomes:</b> {outcomes}").format(
            outcomes=_joined(f"{esc(labels.outcome(o))} {f.by_outcome.get(o, 0)}" for o in OUTCOMES)
        ),
        "",
        *(
            f"• {labels.STATUS_EMOJI[s]} "
            + _("{name}: {count}").format(name=esc(labels.status(s)), count=f.by_status[s])
            for s in SuggestionStatus
            if f.by_status.get(s, 0)
        ),
    ]


def _domain_lines(f: Figures, _tz: ZoneInfo) -> list[str]:
    return [_("<b>By domain</b>"), *(_counts_by_domain(f.by_domain) or [_none()])]


def _timeliness_lines(f: Figures, _tz: ZoneInfo) -> list[str]:
    return [
        _("<b>Timeliness</b>"),
        _(
            "Working days to a first decision: median {median}, 90th percentile {p90} "
            "({count} decided)"
        ).format(median=number(f.decision_median), p90=number(f.decision_p90), count=f.decisions),
        _("First decisions on time: {rate}").format(rate=rate_text(f.decided_on_time)),
        _("Implemented: {count}; on time: {rate}").format(
            count=f.implemented, rate=rate_text(f.implemented_on_time)
        ),
        _("Overdue in the departments now: {count}").format(
            count=sum(d.overdue for d in f.departments)
        ),
    ]


def _department_lines(f: Figures, _tz: ZoneInfo) -> list[str]:
    lines = [_("<b>Implementation by department</b>")]
    for d in f.departments:
        name = esc(clip(labels.place(d.name), _NAME)) if d.name else _("(no department)")
        lines.append(
            "• "
            + _(
                "{name}: adopted {assigned}, implemented {implemented}, on time {rate}, "
                "overdue now {overdue}"
            ).format(
                name=name,
                assigned=d.assigned,
                implemented=d.implemented,
                rate=rate_text(d.on_time),
                overdue=d.overdue,
            )
        )
    return lines if f.departments else [*lines, _none()]


def _rating_lines(f: Figures, _tz: ZoneInfo) -> list[str]:
    lines = [_("<b>Satisfaction</b> ({count} rated)").format(count=f.rated)]
    if not f.rated:
        return [*lines, _none()]
    return [
        *lines,
        *(
            "• "
            + _("{name}: {count}").format(
                name=esc(labels.rating(v)), count=f.satisfaction.get(v, 0)
            )
            for v in RatingValue
        ),
        _("Satisfied or basically satisfied: {rate}").format(rate=rate_text(f.satisfied)),
    ]


def _point_lines(f: Figures, _tz: ZoneInfo) -> list[str]:
    lines = [_("<b>Observation points</b> ({count} open)").format(count=f.active_points)]
    for p in f.points:
        name = esc(clip(labels.place(p.name), _NAME)) if p.name else _("(no point)")
        closed = " " + _("(closed)") if not p.active and p.name else ""
        lines.append(
            "• "
            + _(
                "{code} {name}{closed}: {observers} observers, {items} items, {adopted} adopted"
            ).format(
                code=esc(p.code),
                name=name,
                closed=closed,
                observers=p.observers,
                items=p.items,
                adopted=p.adopted,
            )
        )
    return lines if f.points else [*lines, _none()]


def _filed_lines(f: Figures, tz: ZoneInfo) -> list[str]:
    active = f.active_observers
    return [
        _("<b>Observers who filed</b> ({count} of {appointed} appointed)").format(
            count=len(active), appointed=f.appointed_observers
        ),
        *([] if active else [_none()]),
        *(_observer_line(a, tz) for a in active),
    ]


def _idle_lines(f: Figures, tz: ZoneInfo) -> list[str]:
    idle = f.idle_observers
    return [
        _("<b>Appointed observers who filed nothing in the period</b> ({count})").format(
            count=len(idle)
        ),
        *([] if idle else [_("None: every appointed observer filed something.")]),
        *(_idle_line(a, tz) for a in idle),
    ]


def _none() -> str:
    return _("<i>Nothing in this period.</i>")


def _unreadable(count: int) -> list[str]:
    # Not of the period: each one is something someone sent that nobody saw.
    if not count:
        return []
    return [
        "",
        "⚠️ "
        + _(
            "Updates that could not be read: {count} (since the bot began; set aside "
            "and recorded, see the bot's log)"
        ).format(count=count),
    ]


# The sections in the order of their buttons; the names travel in callback data.
SECTIONS: dict[str, Section] = {
    "status": Section(N_("📋 By status"), _status_lines),
    "domain": Section(N_("🗂 By domain"), _domain_lines),
    "time": Section(N_("⏱ Timeliness"), _timeliness_lines),
    "dept": Section(N_("🏢 Departments"), _department_lines),
    "rating": Section(N_("⭐ Ratings"), _rating_lines),
    "points": Section(N_("📍 Points"), _point_lines),
    "filed": Section(N_("👤 Observers who filed"), _filed_lines),
    "idle": Section(N_("💤 Filed nothing"), _idle_lines),
}


def districts_text(rows: Sequence[DistrictFigures], period: Period) -> str:
    """The offices below this one side by side (a city's districts), each on one line;
    what does not fit one message is counted (/export in each district's group has the
    rows)."""
    head = [
        "🏙 "
        + _("<b>Districts side by side: {period}</b>").format(period=esc(period_title(period))),
        _(
            "<i>Items filed in the period, counted where they stand now; observers and "
            "points are counted once each.</i>"
        ),
        "",
    ]
    if not rows:
        return "\n".join([*head, _("No office below this one yet. /office_add adds one.")])
    lines = []
    for row in rows:
        f = row.figures
        label = labels.office(row.office, _NAME)
        lines.append(
            "• "
            + _(
                "<b>{office}</b>: received {received} · adopted {adopted} · first decisions "
                "on time {decided} · implemented on time {implemented} · satisfied "
                "{satisfied} · observers who filed {observers} of {appointed} · points with "
                "items {points} · reported to the city {reported}, answered {answered} "
                "(median {days} working days)"
            ).format(
                office=label,
                received=f.total,
                adopted=rate_text(f.adoption),
                decided=rate_text(f.decided_on_time),
                implemented=rate_text(f.implemented_on_time),
                satisfied=rate_text(f.satisfied),
                observers=len(f.active_observers),
                appointed=f.appointed_observers,
                points=f.active_points,
                reported=row.reported,
                answered=row.answered,
                days=number(row.answer_days),
            )
        )
    return "\n".join(_fit(head, lines))
