"""/stats's numbers against the quarter worked out by hand (tests/figures_fixture.py),
on SQLite and PostgreSQL: the same figures from both databases."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain.errors import NotPermitted
from bot.domain.figures import Outcome
from bot.domain.periods import month_period, parse_period, quarter_period, year_period
from bot.domain.statuses import DayKind, FocusDomain, RatingValue, SuggestionKind, SuggestionStatus
from bot.services.actors import SYSTEM
from bot.services.figures import FiguresService
from storage.models import CalendarDay
from storage.store import Store
from tests.figures_fixture import TODAY, at, seed_quarter
from tests.world import ADMIN, ALICE, POLICY, FixedClock, actor, build_world

S = SuggestionStatus
OC = Outcome


@pytest.fixture
async def quarter(sessions):
    world = await build_world(sessions)
    return await seed_quarter(sessions, world)


async def stats(sessions, period, who=ADMIN):
    async with sessions() as session, session.begin():
        store = Store(session)
        service = FiguresService(store, POLICY, FixedClock(TODAY))
        person = SYSTEM if who is None else await actor(store, who, admin=who == ADMIN)
        return await service.stats(person, period)


async def test_the_quarter_by_hand(sessions, quarter):
    f = await stats(sessions, quarter_period(2026, 2))

    assert f.total == 10
    assert dict(f.by_outcome) == {
        OC.PENDING: 2,
        OC.ADOPTED: 3,
        OC.REFERENCE: 1,
        OC.DECLINED: 1,
        OC.ESCALATED: 1,
        OC.DUPLICATE: 1,
        OC.WITHDRAWN: 1,
    }
    assert dict(f.by_status) == {
        S.CLOSED: 3,
        S.IMPLEMENTED: 1,
        S.DECLINED: 1,
        S.WITHDRAWN: 1,
        S.IMPLEMENTING: 1,
        S.IN_REVIEW: 1,
        S.ESCALATED: 1,
        S.SUBMITTED: 1,
    }
    assert dict(f.by_kind) == {
        SuggestionKind.SUGGESTION: 4,
        SuggestionKind.OPINION: 2,
        SuggestionKind.PROBLEM: 4,
    }
    assert dict(f.by_domain) == {
        FocusDomain.BUSINESS_ENVIRONMENT: 3,
        FocusDomain.GRASSROOTS_GOVERNANCE: 2,
        FocusDomain.DISPUTE_RESOLUTION: 3,
        FocusDomain.RULE_OF_LAW_VILLAGES: 1,
        FocusDomain.YOUTH_LEGAL_EDUCATION: 1,
    }
    assert f.domain_outcomes[FocusDomain.DISPUTE_RESOLUTION][OC.REFERENCE] == 1
    assert f.domain_outcomes[FocusDomain.DISPUTE_RESOLUTION][OC.DECLINED] == 1
    assert f.domain_outcomes[FocusDomain.DISPUTE_RESOLUTION][OC.DUPLICATE] == 1
    assert f.domain_outcomes[FocusDomain.BUSINESS_ENVIRONMENT][OC.ADOPTED] == 2

    # The month is the office's: A3 at 23:30 on 30 April is April's, A6 at 23:30 on
    # 30 June is June's; A10 (00:30 on 1 July) and A11 (23:59 on 31 March) are out.
    assert [(m.year, m.month, m.total) for m in f.months] == [
        (2026, 4, 4),
        (2026, 5, 2),
        (2026, 6, 4),
    ]
    april, may, june = (dict(m.outcomes) for m in f.months)
    assert {o: n for o, n in april.items() if n} == {
        OC.ADOPTED: 2,
        OC.REFERENCE: 1,
        OC.DUPLICATE: 1,
    }
    assert {o: n for o, n in may.items() if n} == {OC.DECLINED: 1, OC.WITHDRAWN: 1}
    assert {o: n for o, n in june.items() if n} == {OC.PENDING: 2, OC.ESCALATED: 1, OC.ADOPTED: 1}

    # Adopted 3 of the 7 decided; working days to a first decision 1,1,2,2,3,3,8.
    assert (f.adoption.part, f.adoption.whole, f.adoption.percent) == (3, 7, 42.9)
    assert f.decisions == 7
    assert f.decision_median == 2
    assert f.decision_p90 == 8
    assert (f.decided_on_time.part, f.decided_on_time.whole) == (6, 7)
    assert f.decided_on_time.percent == 85.7

    market, housing = f.departments
    assert (market.code, market.assigned, market.implemented, market.overdue) == (
        "MARKET",
        2,
        2,
        0,
    )
    assert (market.on_time.part, market.on_time.whole) == (1, 2)
    assert (housing.code, housing.assigned, housing.implemented, housing.overdue) == (
        "HOUSING",
        1,
        0,
        1,
    )
    assert housing.on_time.whole == 0
    assert housing.on_time.percent is None
    assert (f.implemented, f.implemented_on_time.part, f.implemented_on_time.whole) == (2, 1, 2)

    assert dict(f.satisfaction) == {
        RatingValue.SATISFIED: 1,
        RatingValue.BASICALLY_SATISFIED: 1,
        RatingValue.DISSATISFIED: 1,
    }
    assert (f.satisfied.part, f.satisfied.whole) == (2, 3)

    p01, p02 = sorted(f.points, key=lambda p: p.code)
    assert (p01.code, p01.observers, p01.items, p01.adopted) == ("P01", 1, 5, 3)
    assert (p02.code, p02.observers, p02.items, p02.adopted) == ("P02", 2, 5, 0)
    assert f.active_points == 2
    assert f.appointed_observers == 3  # Alice, Bob, Carol; Dave is suspended

    assert [(a.name, a.filed, a.adopted) for a in f.active_observers] == [
        ("Alice", 5, 3),
        ("Bob", 5, 0),
    ]
    assert f.active_observers[0].last_filed == at(6, 10)
    assert f.active_observers[1].last_filed == at(6, 30, 23, 30)
    # Carol filed only in January; Dave is suspended, so not listed as idle.
    assert [(a.name, a.point_code, a.last_filed) for a in f.idle_observers] == [
        ("Carol", "P02", at(1, 15))
    ]


async def test_a_month_and_an_empty_period(sessions, quarter):
    may = await stats(sessions, month_period(2026, 5))
    assert may.total == 2
    assert [(m.month, m.total) for m in may.months] == [(5, 2)]
    assert may.decision_median == 8  # A4 alone was decided among May's items
    assert may.adoption.whole == 1
    assert may.adoption.part == 0

    empty = await stats(sessions, year_period(2025))
    assert empty.total == 0
    assert empty.adoption.percent is None
    assert empty.decision_median is None
    assert empty.decision_p90 is None
    assert len(empty.months) == 12
    assert all(m.total == 0 for m in empty.months)
    assert empty.departments == []
    # Everyone appointed is idle in a year nobody filed.
    assert {a.name for a in empty.idle_observers} == {"Alice", "Bob", "Carol"}


async def test_a_changed_calendar_counts_at_once(sessions, quarter):
    # Working days are counted when read, from the summaries' (filed, decided) days:
    # holidays added afterwards change the figure with no recount.
    assert (await stats(sessions, month_period(2026, 5))).decision_median == 8
    async with sessions() as session, session.begin():
        for day in (21, 22):
            session.add(CalendarDay(day=date(2026, 5, day), kind=DayKind.HOLIDAY, name="x"))
    assert (await stats(sessions, month_period(2026, 5))).decision_median == 6


async def test_the_last_30_days_by_the_office_clock(sessions, quarter):
    # 6 July: the last 30 days are 7 June to 6 July, A5 A6 A7 and A10 (1 July).
    period = parse_period("30d", date(2026, 7, 6))
    f = await stats(sessions, period)
    assert f.total == 4
    assert [(m.month, m.total) for m in f.months] == [(6, 3), (7, 1)]


async def test_the_system_may_count_and_others_may_not(sessions, quarter):
    assert (await stats(sessions, quarter_period(2026, 2), who=None)).total == 10
    with pytest.raises(NotPermitted):
        await stats(sessions, quarter_period(2026, 2), who=ALICE)


async def test_notable_items_are_the_implemented_ones_best_rated_first(sessions, quarter):
    async with sessions() as session, session.begin():
        service = FiguresService(Store(session), POLICY, FixedClock(TODAY))
        notable = await service.notable(SYSTEM, year_period(2026))
    assert [(n.reference, n.rating) for n in notable] == [
        ("WZ-2026-0001", RatingValue.SATISFIED),
        ("WZ-2026-0002", RatingValue.BASICALLY_SATISFIED),
    ]
    assert notable[0].report == "-路灯已全部更换"
    assert notable[0].department == "区市场监管局"
    assert notable[1].report is None
