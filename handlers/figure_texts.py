"""The office's figures in words: the /stats answer, in the current locale.

Numbers come from ``bot.domain.figures``; here they get their labels. Names typed by
people (points, departments, observers) are escaped and shortened; the answer is split
into messages Telegram accepts, the per-observer lists last, since they are the part
that grows with the district.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _
from babel.dates import format_skeleton

from bot.domain.figures import OUTCOMES, Figures, ObserverActivity, Rate
from bot.domain.periods import Period, PeriodKind
from bot.domain.statuses import FocusDomain, RatingValue, SuggestionKind, SuggestionStatus
from handlers import labels
from handlers.roster import pages
from handlers.ui import clip, esc

_NAME = 40
# Beyond these, a list says "… and N more": /export has every row.
POINTS_SHOWN = 25
OBSERVERS_SHOWN = 60
IDLE_SHOWN = 80


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
        name = _("the last {days} days").format(days=period.days)
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


def _counts_by_status(by_status: Mapping[SuggestionStatus, int]) -> str:
    return _joined(
        f"{labels.STATUS_EMOJI[s]} {esc(labels.status(s))} {by_status[s]}"
        for s in SuggestionStatus
        if by_status.get(s, 0)
    )


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


def _more_than(count: int, shown: int) -> list[str]:
    """The line that says how many of a list were left out, if any were."""
    if count <= shown:
        return []
    return [_("… and {count} more (/export has them all)").format(count=count - shown)]


def stats_messages(f: Figures, tz: ZoneInfo, unreadable: int = 0) -> list[str]:
    """The /stats answer: the figures, then the points, then the observers.
    ``unreadable``: the updates set aside because they could not be read."""
    head = "📊 " + _("<b>Figures for {period}</b>").format(period=esc(period_title(f.period)))
    lines = [
        *_totals(f),
        *_unreadable(unreadable),
        *_by_domain(f.by_domain),
        *_by_department(f),
        *_satisfaction(f),
        *_by_point(f),
        *_observers(f, tz),
    ]
    return pages(head, lines)


def _totals(f: Figures) -> list[str]:
    lines = [
        _("<i>Items filed in the period, counted where they stand now.</i>"),
        "",
        _("<b>Received: {count}</b>").format(count=f.total) + " — " + _counts_by_kind(f.by_kind),
    ]
    if f.total:
        lines.append(
            _("<b>Outcomes:</b> {outcomes}").format(
                outcomes=_joined(
                    f"{esc(labels.outcome(o))} {f.by_outcome.get(o, 0)}" for o in OUTCOMES
                )
            )
        )
        lines.append(
            _("<b>By status:</b> {statuses}").format(statuses=_counts_by_status(f.by_status))
        )
    return [
        *lines,
        _("Adoption rate (adopted of decided): {rate}").format(rate=rate_text(f.adoption)),
        _(
            "Working days to a first decision: median {median}, 90th percentile {p90} "
            "({count} decided)"
        ).format(median=number(f.decision_median), p90=number(f.decision_p90), count=f.decisions),
        _("First decisions on time: {rate}").format(rate=rate_text(f.decided_on_time)),
        _("Implemented: {count}; on time: {rate}").format(
            count=f.implemented, rate=rate_text(f.implemented_on_time)
        ),
    ]


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


def _by_domain(by_domain: Mapping[FocusDomain, int]) -> list[str]:
    domains = _counts_by_domain(by_domain)
    return ["", _("<b>By domain</b>"), *domains] if domains else []


def _by_department(f: Figures) -> list[str]:
    if not f.departments:
        return []
    lines = ["", _("<b>Implementation by department</b>")]
    for d in f.departments:
        name = esc(clip(d.name, _NAME)) if d.name else _("(no department)")
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
    return lines


def _satisfaction(f: Figures) -> list[str]:
    lines = ["", _("<b>Satisfaction</b> ({count} rated)").format(count=f.rated)]
    if f.rated:
        lines.append(
            _joined(f"{esc(labels.rating(v))} {f.satisfaction.get(v, 0)}" for v in RatingValue)
        )
        lines.append(
            _("Satisfied or basically satisfied: {rate}").format(rate=rate_text(f.satisfied))
        )
    return lines


def _by_point(f: Figures) -> list[str]:
    lines = ["", _("<b>Observation points</b> ({count} open)").format(count=f.active_points)]
    for p in f.points[:POINTS_SHOWN]:
        name = esc(clip(p.name, _NAME)) if p.name else _("(no point)")
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
    return lines + _more_than(len(f.points), POINTS_SHOWN)


def _observers(f: Figures, tz: ZoneInfo) -> list[str]:
    """Who filed, then who did not: the lists that grow with the district, so the last."""
    active, idle = f.active_observers, f.idle_observers
    return [
        "",
        _("<b>Observers who filed</b> ({count} of {appointed} appointed)").format(
            count=len(active), appointed=f.appointed_observers
        ),
        *(_observer_line(a, tz) for a in active[:OBSERVERS_SHOWN]),
        *_more_than(len(active), OBSERVERS_SHOWN),
        "",
        _("<b>Appointed observers who filed nothing in the period</b> ({count})").format(
            count=len(idle)
        ),
        *([] if idle else [_("None: every appointed observer filed something.")]),
        *(_idle_line(a, tz) for a in idle[:IDLE_SHOWN]),
        *_more_than(len(idle), IDLE_SHOWN),
    ]
