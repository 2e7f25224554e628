"""The sample district: what seeding leaves in the database, on SQLite and PostgreSQL,
and what a bot started on it would deliver. The district is the home office of the
sample city, whose other offices tests/demo/test_city.py looks at."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.enums import ParseMode
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery.drain import drain
from bot.demo import city, district
from bot.demo.district import (
    ADMIN_GROUP_ID,
    DEMO_ADMIN,
    DEMO_LIAISON,
    DEMO_OBSERVER,
    PEOPLE,
    group_members,
)
from bot.demo.seed import AlreadySeeded, OfficeSeeded, seed_district
from bot.domain.calendar import DayOff, WorkingCalendar, local_date
from bot.domain.lifecycle import Action, replay
from bot.domain.offices import HOME
from bot.domain.references import parse_reference
from bot.domain.roles import Role
from bot.domain.statuses import (
    TERMINAL,
    ApplicationStatus,
    DayKind,
    FocusDomain,
    HostKind,
    ObserverStatus,
    SuggestionStatus,
)
from bot.i18n import build_i18n
from bot.services.actors import identify
from bot.services.calendar import CalendarService, DayEntry, missing_calendars
from bot.services.closing import ClosingService
from bot.services.context import Policy, Service
from bot.services.suggestions import SuggestionService
from bot.settings import load_settings
from storage.engine import create_engine, session_factory
from storage.models import (
    Application,
    Base,
    Department,
    Event,
    Invite,
    Liaison,
    Observer,
    Office,
    OutboxMessage,
    Point,
    Suggestion,
    TelegramUser,
)
from storage.store import Store
from tests.telegram import TOKEN, RecordingSession

SHANGHAI = ZoneInfo("Asia/Shanghai")
POLICY = Policy(jurisdiction="WZ", decision_days=5, tz=SHANGHAI)
# A Friday, 18:00 in Shanghai: the story's last day is that Friday.
NOW = datetime(2026, 3, 20, 10, 0, tzinfo=UTC)
LAST_DAY = date(2026, 3, 20)

S = SuggestionStatus
DESIGNED = {
    "submitted": 2,
    "in_review": 1,
    "needs_info": 1,
    "adopted": 1,
    "implementing": 2,
    "implemented": 1,
    "closed": 3,
    "reference": 1,
    "declined": 1,
    "escalated": 1,
    "withdrawn": 1,
}
STEPS = sum(len(item.steps) for item in district.ITEMS)
# The home office's rows, among the whole city's.
HOME_POINTS = sa.select(Point).where(Point.office_id == HOME)
HOME_ITEMS = sa.select(Suggestion).where(Suggestion.office_id == HOME)


async def _all(sessions: async_sessionmaker[AsyncSession], stmt: sa.Select[tuple[object]]) -> list:
    async with sessions() as session:
        return list((await session.execute(stmt)).scalars().all())


async def _counts(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sessions() as session:
        return {
            table.name: int(
                await session.scalar(sa.select(sa.func.count()).select_from(table)) or 0
            )
            for table in Base.metadata.sorted_tables
        }


async def _office_ids(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sessions() as session:
        return {
            code: id_ for id_, code in (await session.execute(sa.select(Office.id, Office.code)))
        }


# ---- the district in the database --------------------------------------------------------


async def test_the_district_is_seeded_as_designed(sessions):
    seeded = await seed_district(sessions, policy=POLICY, now=NOW)

    assert seeded.office("WZ") == OfficeSeeded(
        code="WZ",
        name="万州区",
        parent="CQ",
        points=16,
        departments=5,
        liaisons=6,
        observers=20,
        applications=1,
        items=DESIGNED,
        events=STEPS,
    )
    assert seeded.office("WZ").summary() == (
        "16 points, 5 departments (6 liaisons), 20 observers, 1 pending application, "
        "15 items (2 submitted, 1 in review, 1 needs info, 1 adopted, 1 reference, "
        f"1 declined, 1 escalated, 2 implementing, 1 implemented, 3 closed, 1 withdrawn), "
        f"{STEPS} events"
    )

    points = await _all(sessions, HOME_POINTS)
    assert len(points) == 16
    assert all(p.active for p in points)
    assert sorted(p.code for p in points) == [f"P{n:02d}" for n in range(1, 17)]
    assert {p.host_kind for p in points} == set(HostKind) - {HostKind.OTHER}
    assert {p.domain for p in points} == set(FocusDomain) - {FocusDomain.OTHER}

    departments = await _all(sessions, sa.select(Department).where(Department.office_id == HOME))
    liaisons = await _all(sessions, sa.select(Liaison).where(Liaison.active.is_(True)))
    per_department = Counter(row.department_id for row in liaisons)
    assert sorted(d.code for d in departments) == ["EDU", "HOUSING", "HRSS", "JUSTICE", "MARKET"]
    assert all(per_department[d.id] >= 1 for d in departments)
    market = next(d for d in departments if d.code == "MARKET")
    assert per_department[market.id] == 2

    observers = await _all(sessions, sa.select(Observer).where(Observer.office_id == HOME))
    active_points = {p.id for p in points if p.active}
    assert len(observers) == 20
    assert all(o.status is ObserverStatus.APPOINTED for o in observers)
    assert all(o.point_id in active_points and o.user_id is not None for o in observers)
    per_point = Counter(o.point_id for o in observers)
    assert sum(1 for p in points if per_point[p.id] == 0) == 2
    assert sum(1 for p in points if per_point[p.id] == 2) == 6
    assert all(o.phone.startswith("138 0000 ") for o in observers)

    applications = await _all(sessions, sa.select(Application).where(Application.office_id == HOME))
    pending = [a for a in applications if a.status is ApplicationStatus.PENDING]
    assert [a.user_id for a in pending] == [district.APPLICANT]
    assert {a.status for a in applications} == {
        ApplicationStatus.PENDING,
        ApplicationStatus.APPROVED,
    }

    # Every row is dated within the story, not by the wall clock at seeding.
    for model in (TelegramUser, Point, Department, Observer, Application, Liaison, Invite):
        for row in await _all(sessions, sa.select(model)):
            assert row.created_at <= NOW, (model.__name__, row.created_at)
    users = {u.id: u for u in await _all(sessions, sa.select(TelegramUser))}
    assert district.STRANGER not in users
    assert users[7100015].language_code == "en"
    # Everyone in the city the story has write to the bot, the stranger excepted.
    assert set(users) == {p.user_id for p in city.PEOPLE if p.role != "stranger"}


async def test_every_item_has_a_history_that_leads_to_its_status(sessions):
    await seed_district(sessions, policy=POLICY, now=NOW)
    items = await _all(sessions, HOME_ITEMS.order_by(Suggestion.id))
    events = await _all(sessions, sa.select(Event).order_by(Event.id))

    assert Counter(i.status.value for i in items) == DESIGNED
    references = [i.reference for i in items]
    assert len(set(references)) == len(items)
    assert [str(parse_reference(r)) for r in references] == [
        f"WZ-2026-{n:04d}" for n in range(1, len(items) + 1)
    ]
    for item in items:
        history = [e for e in events if e.suggestion_id == item.id]
        moments = [e.created_at for e in history]
        assert moments == sorted(moments), item.reference
        assert moments[-1] <= NOW
        assert history[0].action is Action.SUBMIT
        assert history[0].created_at == item.submitted_at
        assert replay((e.from_status, e.action, e.to_status) for e in history) is item.status
    # The offices work on their working days (a Saturday worked in exchange, 调休, too),
    # in office hours, the other districts as this one.
    async with sessions() as session:
        calendar = await Service(Store(session), POLICY).calendar()
    for event in events:
        local = event.created_at.astimezone(SHANGHAI)
        assert calendar.is_working_day(local.date()), event.created_at
        assert 8 <= local.hour < 18, event.created_at
    assert local_date(max(e.created_at for e in events), SHANGHAI) == LAST_DAY

    by_status: dict[S, list[Suggestion]] = {}
    for item in items:
        by_status.setdefault(item.status, []).append(item)
    implemented = by_status[S.IMPLEMENTED][0]
    assert implemented.implementation_due is not None
    assert implemented.implemented_on_time is True
    actions = [e.action for e in events if e.suggestion_id == implemented.id]
    assert Action.PROGRESS in actions
    for item in by_status[S.IMPLEMENTING]:
        assert item.implementation_due is not None
        assert item.department_id is not None
        assert Action.PROGRESS in [e.action for e in events if e.suggestion_id == item.id]
    assert by_status[S.ESCALATED][0].escalated_to == "市依法治市办"
    asked = [e for e in events if e.suggestion_id == by_status[S.NEEDS_INFO][0].id]
    assert asked[-1].action is Action.ASK_INFO
    assert asked[-1].text
    # One of the new items is due for a decision on the next working day.
    assert sorted(i.decision_due for i in by_status[S.SUBMITTED])[0] == date(2026, 3, 23)
    closed = by_status[S.CLOSED]
    assert {e.from_status for e in events if e.suggestion_id in {i.id for i in closed}} >= {
        S.IMPLEMENTED,
        S.REFERENCE,
    }


async def test_nothing_closes_by_itself_when_the_bot_starts(sessions):
    await seed_district(sessions, policy=POLICY, now=NOW)
    async with sessions() as session, session.begin():
        # The next working morning: the implemented, reference and declined items still
        # wait for their observers rather than being closed by the clock.
        monday = datetime(2026, 3, 23, 1, 0, tzinfo=UTC)
        closed = await ClosingService(Store(session), POLICY, lambda: monday).close_waiting()
    assert closed == []


async def test_the_demo_people_are_who_a_browser_test_needs(sessions):
    await seed_district(sessions, policy=POLICY, now=NOW)
    async with sessions() as session:
        store = Store(session)
        observer = await identify(store, DEMO_OBSERVER)
        liaison = await identify(store, DEMO_LIAISON)
        market = await store.departments.by_code("MARKET")
        row = await store.observers.by_user(DEMO_OBSERVER)
        assert row is not None
        assert row.point_id is not None
        point = await store.points.get(row.point_id)
        user = await store.users.get(DEMO_OBSERVER)
    assert observer.roles == {Role.OBSERVER}
    assert row.status is ObserverStatus.APPOINTED
    assert point is not None
    assert point.domain is FocusDomain.BUSINESS_ENVIRONMENT
    assert user is not None
    assert (user.language_code or "").startswith("zh")
    assert market is not None
    assert liaison.view.department_ids == {market.id}
    assert group_members()[DEMO_ADMIN] in ("creator", "administrator")


# ---- once only, all or nothing ---------------------------------------------------------


async def test_seeding_twice_changes_nothing(sessions):
    await seed_district(sessions, policy=POLICY, now=NOW)
    before = await _counts(sessions)

    with pytest.raises(AlreadySeeded) as refused:
        await seed_district(sessions, policy=POLICY, now=NOW + timedelta(days=1), replay=True)

    assert str(refused.value) == (
        "the database already holds 21 points, 12 departments, 27 observers, 3 other offices"
    )
    assert await _counts(sessions) == before
    pending = await _all(
        sessions, sa.select(OutboxMessage.id).where(OutboxMessage.state == "pending")
    )
    assert pending == []


async def test_a_failure_half_way_leaves_nothing_behind(sessions, monkeypatch):
    async def city_is_unreachable(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the story broke off")

    with monkeypatch.context() as patch:
        patch.setattr(SuggestionService, "escalate", city_is_unreachable)
        with pytest.raises(RuntimeError, match="broke off"):
            await seed_district(sessions, policy=POLICY, now=NOW)

    left = await _counts(sessions)
    assert left.pop("offices") == 1  # the home office every database starts with
    assert set(left.values()) == {0}
    seeded = await seed_district(sessions, policy=POLICY, now=NOW)
    assert seeded.office("WZ").items == DESIGNED


# ---- the outbox --------------------------------------------------------------------------


async def test_without_replay_every_notice_counts_as_sent(sessions):
    await seed_district(sessions, policy=POLICY, now=NOW)
    rows = await _all(sessions, sa.select(OutboxMessage))
    assert rows, "the story should have queued notices"
    assert {r.state for r in rows} == {"sent"}
    assert all(r.sent_at == r.created_at for r in rows)


async def test_replay_leaves_the_history_to_deliver(sessions):
    await seed_district(sessions, policy=POLICY, now=NOW, replay=True)
    rows = await _all(sessions, sa.select(OutboxMessage).order_by(OutboxMessage.id))
    items = {i.id: i for i in await _all(sessions, sa.select(Suggestion))}
    pending = await _all(
        sessions, sa.select(Application.id).where(Application.status == ApplicationStatus.PENDING)
    )

    to_people = [r for r in rows if r.audience in ("user", "liaison")]
    assert to_people
    assert all(r.state == "pending" for r in to_people)
    assert {r.audience for r in to_people} == {"user", "liaison"}

    groups = [r for r in rows if r.audience == "admins"]
    offices = await _office_ids(sessions)
    assert {r.office_id for r in groups} == set(offices.values())  # every group is told
    for office_id in offices.values():
        office = [r for r in groups if r.office_id == office_id]
        kept = [r for r in office if r.state == "pending"]
        open_items = {
            i.id
            for i in items.values()
            if i.status not in TERMINAL and office_id in (i.office_id, i.above_id)
        }
        last_of_item = {r.suggestion_id: r.id for r in office if r.suggestion_id is not None}
        assert sorted(r.id for r in kept if r.suggestion_id is not None) == sorted(
            last_of_item[item_id] for item_id in open_items
        )
        # The rectification under way: its card in the city's group and Fuling's.
        rectifying = [r for r in kept if r.kind.startswith("rectification.")]
        assert len(rectifying) == (office_id in (offices["CQ"], offices["FL"]))
        cards = [r for r in kept if r not in rectifying]
        applications = [(r.kind, r.payload) for r in cards if r.suggestion_id is None]
        if office_id == HOME:
            assert applications == [("application.new", {"application_id": pending[0]})]
            assert len(cards) == len(open_items) + 1
        else:
            assert applications == []
            assert len(cards) == len(open_items)
        assert len(kept) <= 20  # what a group takes in a minute
        assert all(r.state == "sent" for r in office if r not in kept)


async def test_a_bot_started_on_the_replay_shows_every_chat_its_history(sessions):
    await seed_district(sessions, policy=POLICY, now=NOW, replay=True)
    telegram = RecordingSession()
    bot = Bot(TOKEN, session=telegram, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
    settings = load_settings(
        bot_token=TOKEN,
        admin_chat_id=ADMIN_GROUP_ID,
        admin_ids=[],
        default_locale="zh_CN",
        jurisdiction_code="WZ",
        redis_url=None,
    )
    try:
        done = await drain(
            bot, sessions, settings=settings, i18n=build_i18n("zh_CN"), policy=POLICY,
            clock=lambda: NOW,
        )  # fmt: skip
    finally:
        await bot.session.close()

    assert (done.failed, done.held, done.retried) == ([], [], [])
    assert telegram.problems == []
    items = await _all(sessions, sa.select(Suggestion))
    open_items = [i for i in items if i.status not in TERMINAL and i.office_id == HOME]
    group = telegram.chats[ADMIN_GROUP_ID]
    # One card per open item, and the application's card; nothing of finished items,
    # nor of the other districts'.
    assert len(group) == len(open_items) + 1
    for item in open_items:
        assert sum(item.reference in sent.plain for sent in group) == 1, item.reference
    for item in open_items:
        [card] = [sent for sent in group if item.reference in sent.plain]
        # Even one awaiting the observer's answer offers the office a way on (issue 19);
        # one reported to the city waits for the city's answer, which the city gives.
        assert bool(card.buttons()) is (item.above_id is None), item.reference
    # Each other district's group shows its own open items' cards, and nothing else.
    offices = await _office_ids(sessions)
    for spec in (city.FULING, city.QIANJIANG):
        office_id = offices[spec.code]
        theirs = [i for i in items if i.status not in TERMINAL and i.office_id == office_id]
        # Besides the rectification of Fuling under way (its card, in Chinese).
        rectifying = [s for s in telegram.chats[spec.group_id] if "整改 #" in s.plain]
        assert len(rectifying) == (spec is city.FULING), spec.code
        posted = [s for s in telegram.chats[spec.group_id] if s not in rectifying]
        assert len(posted) == len(theirs), spec.code
        for item in theirs:
            assert item.reference.startswith(f"{spec.code}-2026-")
            [card] = [sent for sent in posted if item.reference in sent.plain]
            assert bool(card.buttons()) is (item.above_id is None), item.reference
    # The city's group: the cards of the items reported to it, each with its answers.
    reported = [i for i in items if i.status is SuggestionStatus.ESCALATED]
    assert reported
    assert all(i.above_id == offices[city.CHONGQING.code] for i in reported)
    posted = telegram.chats[city.CHONGQING.group_id]
    for item in reported:
        [card] = [sent for sent in posted if item.reference in sent.plain]
        assert [data.split(":")[1] for _, data in card.buttons()] == ["city", "back"]
    [application] = [sent for sent in group if district.APPLICATION.name in sent.plain]
    assert application.buttons()
    assert "2026-03-19 14:30" in application.plain  # applied in the story, not today

    # The demo observer's chat holds their welcome and nothing else: a browser test
    # finds there only what it did itself.
    [welcome] = [sent.plain for sent in telegram.chats[DEMO_OBSERVER]]
    assert welcome.startswith("🎉 您的申请已通过审核，现为高笋塘街道便民服务中心（P01）")
    colleague = " ".join(sent.plain for sent in telegram.chats[7100002])
    assert "建议便民服务中心午间延时办理营业执照业务" in colleague
    english = " ".join(sent.plain for sent in telegram.chats[7100015])
    assert "Allow heavy trucks on Binjiang Road at night" in english
    assert "has not been adopted" in english
    assert telegram.chats[DEMO_LIAISON], "the liaison's chat shows the department's items"
    assert district.STRANGER not in telegram.chats
    left = await _all(sessions, sa.select(OutboxMessage.id).where(OutboxMessage.state == "pending"))
    assert left == []


# ---- when "now" is ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "last_day"),
    [
        # Monday 07:00 in Shanghai (Sunday in UTC): the story ends on the Friday before.
        (datetime(2026, 3, 22, 23, 0, tzinfo=UTC), date(2026, 3, 20)),
        # Friday 17:59: the office is still at work, so the story ends on Thursday.
        (datetime(2026, 3, 20, 9, 59, tzinfo=UTC), date(2026, 3, 19)),
        # Saturday afternoon: Friday.
        (datetime(2026, 3, 21, 6, 0, tzinfo=UTC), date(2026, 3, 20)),
    ],
)
async def test_the_story_always_ends_before_now(sqlite_url, now, last_day):
    engine = create_engine(sqlite_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        sessions = session_factory(engine)
        await seed_district(sessions, policy=POLICY, now=now)
        moments = await _all(sessions, sa.select(Event.created_at))
        filed = await _all(sessions, sa.select(OutboxMessage.created_at))
    finally:
        await engine.dispose()
    assert max(moments) <= now
    assert max(filed) <= now
    assert local_date(max(moments), SHANGHAI) == last_day


async def test_the_story_keeps_the_office_calendar(sessions):
    # A three-day holiday in the middle of the story: nobody works, and deadlines skip it.
    holidays = [date(2026, 3, 4), date(2026, 3, 5), date(2026, 3, 6)]
    async with sessions() as session, session.begin():
        store = Store(session)
        admin = await identify(store, DEMO_ADMIN, is_admin=True)
        entries = [DayEntry(day, DayKind.HOLIDAY, "假日") for day in holidays]
        await CalendarService(store, POLICY).set_days(admin, entries)

    await seed_district(sessions, policy=POLICY, now=NOW)

    events = await _all(sessions, sa.select(Event))
    assert not {local_date(e.created_at, SHANGHAI) for e in events} & set(holidays)
    async with sessions() as session:
        calendar = await Service(Store(session), POLICY).calendar()
    answered = {e.suggestion_id for e in events if e.action is Action.ANSWER_INFO}
    plain_week = WorkingCalendar()
    moved = 0
    for item in await _all(sessions, sa.select(Suggestion)):
        if item.id in answered:
            continue
        filed = local_date(item.submitted_at, SHANGHAI)
        assert item.decision_due == calendar.add_working_days(filed, 5), item.reference
        moved += item.decision_due != plain_week.add_working_days(filed, 5)
    assert moved, "some decision deadline should have moved past the holiday"


@pytest.mark.parametrize(
    ("now", "missing"),
    [
        (NOW, []),
        # January 2027: the story begins in 2026, whose schedule is loaded; the project
        # has no 2027 schedule, so that year stays unloaded and the bot says so.
        (datetime(2027, 1, 15, 10, 0, tzinfo=UTC), [2027]),
    ],
)
async def test_the_demo_has_the_calendars_the_project_knows(sessions, now, missing):
    await seed_district(sessions, policy=POLICY, now=now)
    async with sessions() as session:
        store = Store(session)
        calendar = await Service(store, POLICY).calendar()
        today = local_date(now, SHANGHAI)
        assert await missing_calendars(store, calendar, today) == missing
    assert calendar.years == {2026}
    assert calendar.day_off(date(2026, 10, 1)) is DayOff.HOLIDAY  # 国庆节
    assert calendar.is_working_day(date(2026, 2, 28))  # a Saturday worked (调休)
    # The story's days are the office's: nothing happened on the Spring Festival.
    events = await _all(sessions, sa.select(Event.created_at))
    spring_festival = {date(2026, 2, 15) + timedelta(days=n) for n in range(9)}
    assert not {local_date(moment, SHANGHAI) for moment in events} & spring_festival


async def test_now_must_say_its_time_zone(sessions):
    with pytest.raises(ValueError, match="aware"):
        await seed_district(sessions, policy=POLICY, now=datetime(2026, 3, 20, 18, 0))


# ---- the district's constants ------------------------------------------------------------


def test_every_person_is_someone_else():
    ids = [p.user_id for p in city.PEOPLE]
    assert len(ids) == len(set(ids))
    roles = Counter(p.role for p in PEOPLE)
    assert roles == {"observer": 20, "admin": 2, "liaison": 6, "applicant": 1, "stranger": 1}
    assert all(p.about_zh and p.about_en for p in PEOPLE)
    assert {p.language_code for p in PEOPLE} == {"zh-hans", "en"}


def test_the_demo_people_and_the_group():
    by_id = {p.user_id: p for p in PEOPLE}
    assert by_id[DEMO_OBSERVER].role == "observer"
    assert DEMO_OBSERVER not in {item.observer for item in district.ITEMS}
    assert by_id[DEMO_OBSERVER].language_code.startswith("zh")
    assert by_id[DEMO_ADMIN].role == "admin"
    assert by_id[DEMO_LIAISON].role == "liaison"
    assert by_id[DEMO_LIAISON].about_zh == "万州区 · 联络员 · 区市场监管局"
    assert by_id[DEMO_OBSERVER].about_zh == "万州区 · 观察员 · P01 高笋塘街道便民服务中心"
    assert by_id[DEMO_ADMIN].about_zh == "万州区依法治区办 · 管理员"
    members = group_members()
    assert sorted(members.values()) == ["administrator", "creator"]
    assert DEMO_ADMIN in members
    assert all(by_id[user_id].role == "admin" for user_id in members)
    assert district.ADMIN_GROUP_ID < -1_000_000_000_000


def test_the_story_is_told_in_order():
    items = [item for office in city.OFFICES for item in office.items]
    assert len({item.key for item in items}) == len(items)
    for item in items:
        steps = item.steps
        assert steps[0].action is Action.SUBMIT
        assert steps[0].by == item.observer
        when = [(-s.days_ago, s.at) for s in steps]
        assert when == sorted(when), item.key
        assert len(set(when)) == len(when), item.key
        assert all("08:00" <= s.at < "18:00" for s in steps), item.key
        assert all(0 <= s.days_ago < district.STORY_DAYS - 1 for s in steps), item.key
