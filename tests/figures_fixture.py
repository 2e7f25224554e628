"""A quarter of items whose figures were worked out by hand (2026-Q2, in Shanghai).

The rows are written directly, each fact chosen, so that every figure below can be
checked on paper. The calendar is the State Council's 2026 schedule (as the migration
ships it): 4-6 April, 1-5 May and 19-21 June off, Saturday 9 May worked.

    item  observer point kind        domain      filed (local)     outcome    wd  on time
    A1    alice    P01   suggestion  business    Wed 1 Apr 10:00   adopted    2   yes
    A2    alice    P01   problem     governance  Fri 3 Apr 16:00   adopted    3   yes
    A3    bob      P02   opinion     disputes    Thu 30 Apr 23:30  reference  3   yes
    A12   bob      P02   problem     disputes    Mon 20 Apr 10:00  duplicate  1   yes
    A4    bob      P02   problem     disputes    Wed 20 May 09:00  declined   8   no
    A8    alice    P01   problem     governance  Wed 6 May 10:00   withdrawn
    A9    alice    P01   opinion     business    Mon 1 Jun 10:00   adopted    1   yes
    A5    alice    P01   suggestion  business    Wed 10 Jun 10:00  pending (in review)
    A7    bob      P02   suggestion  youth       Mon 15 Jun 10:00  escalated  2   yes
    A6    bob      P02   suggestion  villages    Tue 30 Jun 23:30  pending (submitted)
    A10   bob      P02   (Wed 1 Jul 00:30: July, outside the quarter)
    A11   alice    P01   (Tue 31 Mar 23:59: March, outside)
    A13   carol    P02   (Thu 15 Jan: outside; Carol files nothing in the quarter)

Implementation: A1 (MARKET, due 15 May, done 12 May: on time), A2 (MARKET, due 20 May,
done 25 May: late), A9 (HOUSING, due 10 Jun, still implementing on 6 Jul: overdue).
Ratings (the latest counts): A1 satisfied; A2 dissatisfied, then basically satisfied;
A3 dissatisfied. Dave is a suspended observer at P02.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.calendar import local_day_number
from bot.domain.lifecycle import Action
from bot.domain.roles import Role
from bot.domain.statuses import (
    Behalf,
    DayKind,
    FocusDomain,
    ObserverCategory,
    ObserverStatus,
    RatingValue,
    SuggestionKind,
    SuggestionStatus,
)
from storage.models import CalendarDay, Event, Observer, Rating, Suggestion, TelegramUser
from tests.world import ALICE, World

SHANGHAI = ZoneInfo("Asia/Shanghai")
S = SuggestionStatus
K = SuggestionKind
D = FocusDomain
TODAY = datetime(2026, 7, 6, 2, 0, tzinfo=UTC)  # Monday 6 July, 10:00 in Shanghai
CAROL, DAVE = 1003, 1004

HOLIDAYS_2026 = [
    *(date(2026, 1, d) for d in (1, 2, 3)),
    *(date(2026, 2, d) for d in range(15, 24)),
    *(date(2026, 4, d) for d in (4, 5, 6)),
    *(date(2026, 5, d) for d in (1, 2, 3, 4, 5)),
    *(date(2026, 6, d) for d in (19, 20, 21)),
    *(date(2026, 9, d) for d in (25, 26, 27)),
    *(date(2026, 10, d) for d in range(1, 8)),
]
WORKDAYS_2026 = [
    date(2026, 1, 4),
    date(2026, 2, 14),
    date(2026, 2, 28),
    date(2026, 5, 9),
    date(2026, 9, 20),
    date(2026, 10, 10),
]


def at(month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    """A Shanghai wall-clock moment of 2026, as the UTC instant the database keeps."""
    return datetime.combine(date(2026, month, day), time(hour, minute), SHANGHAI).astimezone(UTC)


@dataclass
class Quarter:
    world: World
    ids: dict[str, int]
    carol_observer_id: int
    dave_observer_id: int


async def seed_quarter(sessions: async_sessionmaker[AsyncSession], world: World) -> Quarter:
    async with sessions() as session, session.begin():
        session.add_all(CalendarDay(day=d, kind=DayKind.HOLIDAY) for d in HOLIDAYS_2026)
        session.add_all(CalendarDay(day=d, kind=DayKind.WORKDAY) for d in WORKDAYS_2026)
        session.add_all(
            [
                TelegramUser(id=CAROL, first_name="Carol"),
                TelegramUser(id=DAVE, first_name="Dave"),
            ]
        )
        await session.flush()
        carol = Observer(
            name="Carol",
            category=ObserverCategory.LAWYER,
            point_id=world.other_point_id,
            status=ObserverStatus.APPOINTED,
            user_id=CAROL,
        )
        dave = Observer(
            name="Dave",
            category=ObserverCategory.OTHER,
            point_id=world.other_point_id,
            status=ObserverStatus.SUSPENDED,
            user_id=DAVE,
        )
        session.add_all([carol, dave])
        await session.flush()
        alice, bob = world.alice_observer_id, world.bob_observer_id
        p1, p2 = world.point_id, world.other_point_id
        market, housing = world.department_id, world.other_department_id

        def item(
            ref: str,
            observer: int,
            point: int,
            kind: SuggestionKind,
            domain: FocusDomain,
            filed: datetime,
            status: SuggestionStatus,
            *,
            disposition: SuggestionStatus | None = None,
            decided: datetime | None = None,
            on_time: bool | None = None,
            department: int | None = None,
            due: date | None = None,
            implemented: datetime | None = None,
            implemented_on_time: bool | None = None,
            title: str | None = None,
        ) -> Suggestion:
            return Suggestion(
                reference=f"WZ-2026-{ref}",
                kind=kind,
                domain=domain,
                observer_id=observer,
                point_id=point,
                title=title or f"Item {ref}",
                body=f"Details of {ref}",
                behalf=Behalf.RESIDENTS,
                status=status,
                disposition=disposition,
                submitted_at=filed,
                submitted_day=local_day_number(filed, SHANGHAI),
                created_at=filed,
                updated_at=filed,
                decision_due=filed.astimezone(SHANGHAI).date(),
                decided_at=decided,
                decided_day=None if decided is None else local_day_number(decided, SHANGHAI),
                decided_on_time=on_time,
                department_id=department,
                implementation_due=due,
                implemented_at=implemented,
                implemented_on_time=implemented_on_time,
                closed_at=implemented if status is S.CLOSED else None,
            )

        rows = {
            "A1": item(
                "0001",
                alice,
                p1,
                K.SUGGESTION,
                D.BUSINESS_ENVIRONMENT,
                at(4, 1),
                S.CLOSED,
                disposition=S.ADOPTED,
                decided=at(4, 3),
                on_time=True,
                department=market,
                due=date(2026, 5, 15),
                implemented=at(5, 12),
                implemented_on_time=True,
                title='=HYPERLINK("http://evil.example","click")',
            ),
            "A2": item(
                "0002",
                alice,
                p1,
                K.PROBLEM,
                D.GRASSROOTS_GOVERNANCE,
                at(4, 3, 16),
                S.IMPLEMENTED,
                disposition=S.ADOPTED,
                decided=at(4, 9),
                on_time=True,
                department=market,
                due=date(2026, 5, 20),
                implemented=at(5, 25),
                implemented_on_time=False,
                title="路灯不亮",
            ),
            "A3": item(
                "0003",
                bob,
                p2,
                K.OPINION,
                D.DISPUTE_RESOLUTION,
                at(4, 30, 23, 30),
                S.CLOSED,
                disposition=S.REFERENCE,
                decided=at(5, 8),
                on_time=True,
            ),
            "A12": item(
                "0004",
                bob,
                p2,
                K.PROBLEM,
                D.DISPUTE_RESOLUTION,
                at(4, 20),
                S.CLOSED,
                disposition=S.DUPLICATE,
                decided=at(4, 21),
                on_time=True,
            ),
            "A4": item(
                "0005",
                bob,
                p2,
                K.PROBLEM,
                D.DISPUTE_RESOLUTION,
                at(5, 20, 9),
                S.DECLINED,
                disposition=S.DECLINED,
                decided=at(6, 1),
                on_time=False,
            ),
            "A8": item(
                "0006", alice, p1, K.PROBLEM, D.GRASSROOTS_GOVERNANCE, at(5, 6), S.WITHDRAWN
            ),
            "A9": item(
                "0007",
                alice,
                p1,
                K.OPINION,
                D.BUSINESS_ENVIRONMENT,
                at(6, 1),
                S.IMPLEMENTING,
                disposition=S.ADOPTED,
                decided=at(6, 2),
                on_time=True,
                department=housing,
                due=date(2026, 6, 10),
            ),
            "A5": item(
                "0008", alice, p1, K.SUGGESTION, D.BUSINESS_ENVIRONMENT, at(6, 10), S.IN_REVIEW
            ),
            "A7": item(
                "0009",
                bob,
                p2,
                K.SUGGESTION,
                D.YOUTH_LEGAL_EDUCATION,
                at(6, 15),
                S.ESCALATED,
                disposition=S.ESCALATED,
                decided=at(6, 17),
                on_time=True,
            ),
            "A6": item(
                "0010",
                bob,
                p2,
                K.SUGGESTION,
                D.RULE_OF_LAW_VILLAGES,
                at(6, 30, 23, 30),
                S.SUBMITTED,
            ),
            "A10": item("0011", bob, p2, K.SUGGESTION, D.OTHER, at(7, 1, 0, 30), S.SUBMITTED),
            "A11": item("0012", alice, p1, K.SUGGESTION, D.OTHER, at(3, 31, 23, 59), S.SUBMITTED),
            "A13": item("0013", carol.id, p2, K.SUGGESTION, D.OTHER, at(1, 15), S.SUBMITTED),
        }
        session.add_all(rows.values())
        await session.flush()
        ids = {name: row.id for name, row in rows.items()}

        def rating(name: str, value: RatingValue, moment: datetime, comment: str | None) -> Rating:
            row = rows[name]
            return Rating(
                suggestion_id=row.id,
                observer_id=row.observer_id,
                value=value,
                comment=comment,
                created_at=moment,
            )

        # Added in this order, so ids follow it: A2's basically-satisfied is its latest.
        session.add(rating("A1", RatingValue.SATISFIED, at(5, 13), "很好"))
        session.add(rating("A2", RatingValue.DISSATISFIED, at(5, 26), "@mention 不满意"))
        session.add(rating("A3", RatingValue.DISSATISFIED, at(5, 9), None))
        await session.flush()
        session.add(rating("A2", RatingValue.BASICALLY_SATISFIED, at(6, 5), None))
        session.add_all(
            [
                Event(
                    suggestion_id=rows["A1"].id,
                    action=Action.SUBMIT,
                    actor_user_id=ALICE,
                    actor_role=Role.OBSERVER,
                    from_status=None,
                    to_status=S.SUBMITTED,
                    created_at=at(4, 1),
                ),
                Event(
                    suggestion_id=rows["A1"].id,
                    action=Action.MARK_IMPLEMENTED,
                    actor_user_id=3001,
                    actor_role=Role.LIAISON,
                    from_status=S.IMPLEMENTING,
                    to_status=S.IMPLEMENTED,
                    text="-路灯已全部更换",
                    created_at=at(5, 12),
                ),
            ]
        )
    return Quarter(world, ids, carol.id, dave.id)
