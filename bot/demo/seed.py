"""Seeding the sample city: the stories of ``bot.demo.district`` and ``bot.demo.city``
played through the services, so their events, references, deadlines and notifications
are exactly what the bot would have made had these people used it over the last six
weeks.

First the offices: the sample district is the home office (its code from the
settings), the city's office is created above it and two more districts below the
city, and each office's group is bound. Then every office's story, each through the
services acting for that office (its policy), so a district's items carry its code.

The story runs on a clock of its own that starts about six weeks before ``now`` and
moves forward from one scene to the next, in office hours on working days (by the
office's own calendar), ending on the last working day before ``now``. The whole
seed is one transaction: all of it or nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import partial

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.demo import city, district
from bot.demo.district import ItemSpec, OfficeSpec, Step
from bot.domain.calendar import WorkingCalendar
from bot.domain.known_holidays import schedule
from bot.domain.lifecycle import Action
from bot.domain.notices import Notice
from bot.domain.offices import HOME, OfficeInfo, office_code
from bot.domain.rectifications import RectMove
from bot.domain.statuses import TERMINAL, ApplicationStatus, ObserverStatus, SuggestionStatus
from bot.services import notify
from bot.services.actors import Actor, identify
from bot.services.context import Policy, Service
from bot.services.offices import NewOffice, OfficeService
from bot.services.people import PeopleService
from bot.services.places import PlaceService
from bot.services.rectifications import KIND as RECTIFYING
from bot.services.rectifications import RectificationService
from bot.services.suggestions import SuggestionService
from bot.services.views import Draft
from storage.engine import engine_of, writer
from storage.models import (
    Application,
    CalendarDay,
    Department,
    Event,
    Liaison,
    Observer,
    Office,
    OutboxMessage,
    Point,
    Suggestion,
)
from storage.repositories.outbox import PENDING, SENT
from storage.store import Store

# The story's office hours end before this; a "now" later in the day on a working day
# lets that day be the story's last.
_DAY_ENDS = time(18, 0)


class SeedRefused(Exception):
    """The sample city cannot go into this database; nothing was changed."""


class AlreadySeeded(SeedRefused):
    """The database already holds a district; seeding it again would mix two."""


@dataclass(frozen=True)
class OfficeSeeded:
    """What one office holds once seeded."""

    code: str
    name: str
    parent: str | None  # the code of the office above it
    points: int = 0
    departments: int = 0
    liaisons: int = 0
    observers: int = 0
    applications: int = 0  # pending
    items: dict[str, int] = field(default_factory=dict)  # status value -> count
    events: int = 0

    def summary(self) -> str:
        total = sum(self.items.values())
        statuses = ", ".join(
            f"{self.items[s.value]} {s.value.replace('_', ' ')}"
            for s in SuggestionStatus
            if self.items.get(s.value)
        )
        return (
            f"{self.points} points, {self.departments} departments ({self.liaisons} liaisons), "
            f"{self.observers} observers, {_count(self.applications, 'pending application')}, "
            f"{_count(total, 'item')}{f' ({statuses})' if statuses else ''}, "
            f"{_count(self.events, 'event')}"
        )


@dataclass(frozen=True)
class Seeded:
    """What the database holds once seeded: each office's share, the city first and
    each office above the offices below it."""

    offices: tuple[OfficeSeeded, ...]

    def office(self, code: str) -> OfficeSeeded:
        return next(o for o in self.offices if o.code == code)

    def lines(self) -> list[str]:
        """One line per office: "FL 涪陵区, below CQ: 3 points, …"."""
        return [
            f"{o.code} {o.name}{f', below {o.parent}' if o.parent else ''}: {o.summary()}"
            for o in self.offices
        ]

    def summary(self) -> str:
        return "\n".join(self.lines())


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


async def seed_district(
    sessions: async_sessionmaker[AsyncSession],
    *,
    policy: Policy,
    now: datetime | None = None,
    replay: bool = False,
    home_group: int | None = None,
) -> Seeded:
    """Seed an empty, migrated database with the sample city: the sample district as
    the home office (``policy.jurisdiction`` its code, ``home_group`` its group unless
    one is bound), the city's office above it and two more districts below the city.

    ``replay`` leaves the notices to people pending (and, for each office's group, the
    latest one of each open item and the pending application's card), so a bot started
    next delivers them and each chat shows its history; otherwise every notice of the
    story counts as sent long ago. Raises :class:`AlreadySeeded`, changing nothing, if
    the database already holds points, departments, observers or offices besides the
    home office, and :class:`SeedRefused` if the home office's code is one the sample
    city gives another office.
    """
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    async with sessions() as session, writer(engine_of(sessions)), session.begin():
        store = Store(session)
        await _refuse_if_seeded(session, policy)
        await _load_known_calendars(store, now.astimezone(policy.tz).year)
        outbox_before = await session.scalar(sa.select(sa.func.max(OutboxMessage.id))) or 0
        story = await _Story.begin(store, policy, now, home_group)
        await story.play()
        await _settle_outbox(session, outbox_before, replay, story.pending_applications)
        return await _census(store)


async def _refuse_if_seeded(session: AsyncSession, policy: Policy) -> None:
    held = []
    for model, noun in ((Point, "point"), (Department, "department"), (Observer, "observer")):
        n = await session.scalar(sa.select(sa.func.count()).select_from(model)) or 0
        if n:
            held.append(_count(n, noun))
    offices = await session.scalar(sa.select(sa.func.count()).select_from(Office)) or 0
    if offices > 1:
        held.append(_count(offices - 1, "other office"))
    if held:
        raise AlreadySeeded("the database already holds " + ", ".join(held))
    home = office_code(policy.jurisdiction)
    others = [spec.code for spec in city.OFFICES if spec is not city.HOME]
    if home in others:
        raise SeedRefused(
            f"the sample city's other offices are {', '.join(others)}: the home office's "
            f"code (JURISDICTION_CODE, {home}) must be none of them"
        )


async def _load_known_calendars(store: Store, this_year: int) -> None:
    """The holiday schedules the project ships (``bot.domain.known_holidays``) for last
    year (the story may begin in it), this year and the next, each where the database
    has no day of that year yet: what the office loaded stays. A year the project has
    no schedule for stays unloaded, so the bot warns of it, as it would the office."""
    for year in (this_year - 1, this_year, this_year + 1):
        lines = schedule(year)
        if not lines or await store.calendar.between(date(year, 1, 1), date(year + 1, 1, 1)):
            continue
        store.session.add_all(CalendarDay(day=x.day, kind=x.kind, name=x.name) for x in lines)
    await store.session.flush()


class _StoryClock:
    """The services' clock during the story: set scene by scene, never backwards."""

    def __init__(self, start: datetime) -> None:
        self.moment = start

    def __call__(self) -> datetime:
        return self.moment

    def move_to(self, moment: datetime) -> None:
        if moment < self.moment:
            raise ValueError(f"the story went back in time: {moment} < {self.moment}")
        self.moment = moment


Scene = tuple[datetime, Callable[[], Awaitable[None]]]


class _Story:
    """The city's story: the offices first, then each office's scenes, all on one
    clock."""

    def __init__(
        self,
        store: Store,
        policy: Policy,
        now: datetime,
        calendar: WorkingCalendar,
        days: list[date],
        home_group: int | None,
    ) -> None:
        self.store = store
        self.policy = policy
        self.now = now
        self.calendar = calendar
        # days[n] is the working day n working days before the story's last.
        self.days = days
        self.home_group = home_group
        self.clock = _StoryClock(self.moment(len(days) - 1, "00:00"))
        self.people = PeopleService(store, policy, self.clock)
        self.offices = OfficeService(store, policy, self.clock)
        self.pending_applications: set[int] = set()

    @classmethod
    async def begin(
        cls, store: Store, policy: Policy, now: datetime, home_group: int | None
    ) -> _Story:
        calendar = await Service(store, policy).calendar()
        local = now.astimezone(policy.tz)
        last = local.date()
        if not (calendar.is_working_day(last) and local.time() >= _DAY_ENDS):
            last = _working_day_before(calendar, last)
        days = [last]
        for _ in range(district.STORY_DAYS):
            days.append(_working_day_before(calendar, days[-1]))
        return cls(store, policy, now, calendar, days, home_group)

    def moment(self, days_ago: int, at: str) -> datetime:
        local = datetime.combine(self.days[days_ago], time.fromisoformat(at), self.policy.tz)
        return local.astimezone(UTC)

    def at(self, days_ago: int, hour: int, minutes: int) -> datetime:
        return self.moment(days_ago, f"{hour:02d}:00") + timedelta(minutes=minutes)

    async def play(self) -> None:
        # The first morning, before anyone's work: the offices as the city has them.
        self.clock.move_to(self.moment(district.STORY_DAYS, "08:30"))
        placed = await self._offices()
        casts = [_Office(self, spec, policy) for spec, policy in placed]
        # Stable: scenes at the same moment keep the order they were written in (the
        # home office's first).
        written = [*(s for cast in casts for s in cast.scenes()), *self._finding(placed)]
        scenes = sorted(written, key=lambda s: s[0])
        for moment, act in scenes:
            if moment > self.now:
                raise ValueError(f"a scene at {moment} would be after now ({self.now})")
            self.clock.move_to(moment)
            await act()
        self.pending_applications = {
            cast.pending_application for cast in casts if cast.pending_application is not None
        }

    def _finding(self, placed: list[tuple[OfficeSpec, Policy]]) -> list[Scene]:
        """The city's rectification of Fuling, under way: raised after the city's
        evaluation, accepted, progress reported; due a fortnight after today."""
        policies = {spec.code: (spec, policy) for spec, policy in placed}
        (cq, cq_policy), (fl, fl_policy) = policies[city.CITY.code], policies[city.FULING.code]
        finding = "观测点台账不全：部分观察员未按月提交活动记录。请补齐台账，并建立月度检查制度。"
        due = self.now.astimezone(self.policy.tz).date() + timedelta(days=14)
        found: dict[str, int] = {}

        async def move(spec: OfficeSpec, policy: Policy, step: str, text: str | None) -> None:
            admin = spec.admins[0]
            actor = await identify(self.store, admin.user_id, is_admin=True)
            service = RectificationService(self.store, policy, self.clock)
            if step == "raise":
                raised = await service.raise_finding(
                    actor, fl.code, due, text or "", by_name=admin.name
                )
                found["id"] = raised.id
            else:
                await service.move(actor, found["id"], RectMove(step), text, by_name=admin.name)

        return [
            (self.moment(9, "10:00"), partial(move, cq, cq_policy, "raise", finding)),
            (self.moment(8, "15:30"), partial(move, fl, fl_policy, "accept", None)),
            (
                self.moment(4, "11:00"),
                partial(
                    move,
                    fl,
                    fl_policy,
                    "progress",
                    "已补齐两个观测点的台账，月度检查制度正在起草。",
                ),
            ),
        ]

    async def register(self, user_id: int) -> None:
        """What the bot records of anyone who writes to it."""
        who = city.person(user_id)
        await self.people.register(
            user_id,
            first_name=who.first_name,
            last_name=who.last_name,
            language_code=who.language_code,
        )

    # ---- the offices ----------------------------------------------------------------

    async def _offices(self) -> list[tuple[OfficeSpec, Policy]]:
        """The home office as the settings name it, the city's office above it, the
        other districts below the city, each office's group bound by its creator; each
        office with the policy the services act for it with."""
        for spec in city.OFFICES:
            for admin in spec.admins:
                await self.register(admin.user_id)
        home = await self.offices.settle_home(self.policy.jurisdiction, self.home_group)
        await self._name_home()
        placed = [(city.HOME, replace(self.policy, jurisdiction=home.code, office_id=home.id))]
        above = await self.offices.create(None, city.CITY.code, city.CITY.name, above=home)
        placed.append((city.CITY, await self._bind(city.CITY, above)))
        for spec in city.DISTRICTS:
            if spec is not city.HOME:
                made = await self.offices.create(None, spec.code, spec.name, parent=above.office)
                placed.append((spec, await self._bind(spec, made)))
        return placed

    async def _name_home(self) -> None:
        """The home office has the sample district's name, unless it has one already."""
        row = await self.store.offices.get(HOME)
        assert row is not None, "settle_home found the home office"
        if not row.name:
            chinese, _, english = city.HOME.name.partition("|")
            row.name, row.name_en = chinese.strip(), english.strip() or None
            await self.store.session.flush()

    async def _bind(self, spec: OfficeSpec, made: NewOffice) -> Policy:
        """Its creator adds the bot to the office's group by the office's link."""
        bound: OfficeInfo = await self.offices.bind(
            made.bind_code, spec.group_id, spec.admins[0].user_id
        )
        return replace(self.policy, jurisdiction=bound.code, office_id=bound.id)


class _Office:
    """One office's story, told through the services acting for it."""

    def __init__(self, story: _Story, spec: OfficeSpec, policy: Policy) -> None:
        self.story = story
        self.spec = spec
        self.store = story.store
        self.people = PeopleService(story.store, policy, story.clock)
        self.places = PlaceService(story.store, policy, story.clock)
        self.items = SuggestionService(story.store, policy, story.clock)
        self.point_ids: dict[str, int] = {}
        self.department_ids: dict[str, int] = {}
        self.observer_ids: dict[int, int] = {}  # user id -> observer id
        self.invites: dict[int, str] = {}  # user id -> invite code
        self.applications: dict[int, int] = {}  # user id -> application id
        self.item_ids: dict[str, int] = {}
        self.pending_application: int | None = None

    def scenes(self) -> list[Scene]:
        return [*self._setting_up(), *self._filing_and_deciding()]

    # ---- the scenes -----------------------------------------------------------------

    def _setting_up(self) -> list[Scene]:
        """The first two days: the office sets up points and departments, appoints the
        observers (invited, or applying themselves) and invites the liaisons."""
        spec, at = self.spec, self.story.at
        start = district.STORY_DAYS
        scenes: list[Scene] = []
        for i, point in enumerate(spec.points):
            scenes.append((at(start, 9, i), partial(self._add_point, point)))
        for i, department in enumerate(spec.departments):
            scenes.append((at(start, 9, 40 + i), partial(self._add_department, department)))
        invited = [o for o in spec.observers if not o.applied]
        applied = [o for o in spec.observers if o.applied]
        for i, observer in enumerate(invited):
            scenes.append((at(start, 10, 3 * i), partial(self._nominate, observer)))
        for i, liaison in enumerate(spec.liaisons):
            scenes.append((at(start, 11, 5 * i), partial(self._invite_liaison, liaison)))
        for i, observer in enumerate(applied):
            scenes.append((at(start, 14, 9 * i), partial(self._apply, observer)))
        for i, observer in enumerate(invited):
            # Half join the same afternoon, the rest the next morning.
            day, hour = (start, 15) if i % 2 == 0 else (start - 1, 9)
            scenes.append((at(day, hour, 4 * i), partial(self._redeem, observer)))
        for i, liaison in enumerate(spec.liaisons):
            scenes.append((at(start - 1, 11, 6 * i), partial(self._join, liaison)))
        for i, observer in enumerate(applied):
            scenes.append((at(start - 1, 15, 10 * i), partial(self._approve, observer)))
        if spec.application is not None:
            days_ago, when = spec.application_at
            scenes.append((self.story.moment(days_ago, when), self._pending_application))
        return scenes

    def _filing_and_deciding(self) -> list[Scene]:
        return [
            (self.story.moment(step.days_ago, step.at), partial(self._step, item, step))
            for item in self.spec.items
            for step in item.steps
        ]

    # ---- people and places ----------------------------------------------------------

    async def _admin(self, user_id: int | None = None) -> Actor:
        """One of the office's admins (its group's creator, unless said)."""
        chosen = user_id if user_id is not None else self.spec.admins[0].user_id
        return await identify(self.store, chosen, is_admin=True)

    async def _add_point(self, spec: district.PointSpec) -> None:
        point = await self.places.add_point(
            await self._admin(),
            code=spec.code,
            name=spec.name,
            name_en=spec.name_en,
            domain=spec.domain,
            host_kind=spec.host_kind,
            host_organisation=spec.host_organisation,
            town=spec.town,
            street=spec.street,
        )
        self.point_ids[spec.code] = point.id

    async def _add_department(self, spec: district.DepartmentSpec) -> None:
        department = await self.places.add_department(
            await self._admin(), code=spec.code, name=spec.name, name_en=spec.name_en
        )
        self.department_ids[spec.code] = department.id

    async def _nominate(self, spec: district.ObserverSpec) -> None:
        """A unit nominated them: the office puts them on file and invites them."""
        admin = await self._admin(self.spec.admins[-1].user_id)
        point_id = self.point_ids[spec.point]
        observer = await self.people.add_observer(
            admin,
            name=spec.name,
            category=spec.category,
            point_id=point_id,
            phone=spec.phone,
            recommending_unit=spec.recommending_unit,
            resume=spec.resume,
        )
        invite = await self.people.invite_observer(admin, point_id, observer_id=observer.id)
        self.invites[spec.user_id] = invite.code

    async def _redeem(self, spec: district.ObserverSpec) -> None:
        await self.story.register(spec.user_id)
        redeemed = await self.people.redeem(
            spec.user_id, self.invites[spec.user_id], name=spec.first_name
        )
        assert redeemed.observer_id is not None
        self.observer_ids[spec.user_id] = redeemed.observer_id

    async def _apply(self, spec: district.ObserverSpec) -> None:
        self.applications[spec.user_id] = await self._application(spec)

    async def _application(self, spec: district.ObserverSpec | district.ApplicationSpec) -> int:
        await self.story.register(spec.user_id)
        application = await self.people.apply(
            spec.user_id,
            name=spec.name,
            phone=spec.phone,
            category=spec.category,
            recommending_unit=spec.recommending_unit,
            desired_point_id=self.point_ids[spec.point],
            resume=spec.resume,
        )
        return application.id

    async def _approve(self, spec: district.ObserverSpec) -> None:
        observer = await self.people.approve(await self._admin(), self.applications[spec.user_id])
        self.observer_ids[spec.user_id] = observer.id

    async def _pending_application(self) -> None:
        assert self.spec.application is not None
        self.pending_application = await self._application(self.spec.application)

    async def _invite_liaison(self, spec: district.LiaisonSpec) -> None:
        invite = await self.people.invite_liaison(
            await self._admin(), self.department_ids[spec.department]
        )
        self.invites[spec.user_id] = invite.code

    async def _join(self, spec: district.LiaisonSpec) -> None:
        await self.story.register(spec.user_id)
        await self.people.redeem(spec.user_id, self.invites[spec.user_id], name=spec.name)

    # ---- the items ------------------------------------------------------------------

    async def _step(self, item: ItemSpec, step: Step) -> None:
        actor = await identify(self.store, step.by, is_admin=step.by in self.spec.admin_ids)
        if step.action is Action.SUBMIT:
            filed = await self.items.submit(actor, self._draft(item))
            self.item_ids[item.key] = filed.id
            return
        item_id = self.item_ids[item.key]
        moves = self.items
        match step.action:
            case Action.TAKE:
                await moves.take(actor, item_id)
            case Action.ASK_INFO:
                await moves.ask_info(actor, item_id, _text(step))
            case Action.ANSWER_INFO:
                await moves.answer_info(actor, item_id, _text(step))
            case Action.ADOPT:
                await moves.adopt(
                    actor,
                    item_id,
                    department_id=self._department(step),
                    due=self._due(step),
                    text=step.text,
                )
            case Action.KEEP_REFERENCE:
                await moves.keep_for_reference(actor, item_id, _text(step))
            case Action.DECLINE:
                await moves.decline(actor, item_id, _text(step))
            case Action.ESCALATE:
                await moves.escalate(actor, item_id, _text(step), to_whom=step.to_whom)
            case Action.ASSIGN:
                await moves.assign(actor, item_id, self._department(step))
            case Action.SET_DUE:
                await moves.set_due(actor, item_id, self._due(step))
            case Action.ACCEPT:
                await moves.accept(actor, item_id)
            case Action.PROGRESS:
                await moves.report_progress(actor, item_id, _text(step))
            case Action.HAND_BACK:
                await moves.hand_back(actor, item_id, _text(step))
            case Action.MARK_IMPLEMENTED:
                await moves.mark_implemented(actor, item_id, step.text)
            case Action.RATE:
                assert step.rating is not None, f"{item.key}: a rating needs a value"
                await moves.rate(actor, item_id, step.rating, step.text)
            case Action.WITHDRAW:
                await moves.withdraw(actor, item_id, step.text)
            case Action.NOTE:
                await moves.note(actor, item_id, _text(step))
            case Action.CLOSE:
                await moves.close(actor, item_id)
            case _:
                raise ValueError(f"{item.key}: the story has no scene for {step.action}")

    @staticmethod
    def _draft(item: ItemSpec) -> Draft:
        return Draft(
            kind=item.kind,
            domain=item.domain,
            title=item.title,
            body=item.body,
            behalf=item.behalf,
            location_text=item.location,
            key=f"demo-{item.key}",
        )

    def _department(self, step: Step) -> int:
        assert step.department is not None, f"{step.action} needs a department"
        return self.department_ids[step.department]

    def _due(self, step: Step) -> date:
        """``due_in`` working days after the day of the move, by the office's calendar."""
        assert step.due_in is not None, f"{step.action} needs a due date"
        return self.story.calendar.add_working_days(self.story.days[step.days_ago], step.due_in)


def _text(step: Step) -> str:
    assert step.text, f"{step.action} needs words"
    return step.text


def _working_day_before(calendar: WorkingCalendar, day: date) -> date:
    day -= timedelta(days=1)
    while not calendar.is_working_day(day):
        day -= timedelta(days=1)
    return day


# ---- the outbox -------------------------------------------------------------------------


async def _settle_outbox(
    session: AsyncSession, after: int, replay: bool, applications: set[int]
) -> None:
    """Mark what the story's notices became: sent long ago, or (``replay``) some still
    to deliver.

    The outbox repository has no bulk "mark sent" (the sender settles one row at a
    time), so the update is written here against the model.
    """
    keep: set[int] = set()
    if replay:
        keep = await _to_replay(session, after, applications)
    await session.execute(
        sa.update(OutboxMessage)
        .where(
            OutboxMessage.id > after,
            OutboxMessage.state == PENDING,
            OutboxMessage.id.not_in(keep),
        )
        .values(state=SENT, sent_at=OutboxMessage.created_at)
        .execution_options(synchronize_session=False)
    )


async def _to_replay(session: AsyncSession, after: int, applications: set[int]) -> set[int]:
    """The rows a demo's bot should deliver at start: everything to people (each chat
    then shows its history), but for the offices' groups, which take about twenty
    messages a minute each, only the latest row of each open item (it posts the item's
    card, in its office's group, and in the city's it was reported to) and the pending
    applications' cards."""
    finished = set(
        (
            await session.scalars(
                sa.select(Suggestion.id).where(Suggestion.status.in_(sorted(TERMINAL)))
            )
        ).all()
    )
    rows = (
        await session.execute(
            sa.select(
                OutboxMessage.id,
                OutboxMessage.audience,
                OutboxMessage.kind,
                OutboxMessage.suggestion_id,
                OutboxMessage.payload,
                OutboxMessage.office_id,
            )
            .where(OutboxMessage.id > after)
            .order_by(OutboxMessage.id)
        )
    ).all()
    keep: set[int] = set()
    # (item id, office) -> its last row to that office's group: its own office's, and
    # the city's it was reported to.
    latest: dict[tuple[int, int | None], int] = {}
    for row_id, audience, kind, item_id, payload, office_id in rows:
        if audience in (notify.USER, notify.LIAISON):
            keep.add(row_id)
        elif audience != notify.ADMIN_GROUP:
            continue
        elif item_id is not None:
            if item_id not in finished:
                latest[(item_id, office_id)] = row_id
        elif kind.startswith(RECTIFYING):
            # A rectification's card, in each of its two groups (ids apart from items').
            latest[(-int(payload.get("rectification_id") or 0), office_id)] = row_id
        elif kind == Notice.APPLICATION_NEW and payload.get("application_id") in applications:
            keep.add(row_id)
    return keep | set(latest.values())


# ---- what is there now ----------------------------------------------------------------


async def _census(store: Store) -> Seeded:
    """Each office's share of what the database holds, in the tree's order."""
    session = store.session

    async def per_office(stmt: sa.Select[int, int]) -> dict[int, int]:
        return {office: int(n) for office, n in (await session.execute(stmt)).all()}

    n = sa.func.count()
    points = await per_office(
        sa.select(Point.office_id, n).where(Point.active.is_(True)).group_by(Point.office_id)
    )
    departments = await per_office(
        sa.select(Department.office_id, n)
        .where(Department.active.is_(True))
        .group_by(Department.office_id)
    )
    liaisons = await per_office(
        sa.select(Department.office_id, n)
        .select_from(Liaison)
        .join(Department, Department.id == Liaison.department_id)
        .where(Liaison.active.is_(True))
        .group_by(Department.office_id)
    )
    observers = await per_office(
        sa.select(Observer.office_id, n)
        .where(Observer.status == ObserverStatus.APPOINTED)
        .group_by(Observer.office_id)
    )
    applications = await per_office(
        sa.select(Application.office_id, n)
        .where(Application.status == ApplicationStatus.PENDING)
        .group_by(Application.office_id)
    )
    events = await per_office(
        sa.select(Suggestion.office_id, n)
        .select_from(Event)
        .join(Suggestion, Suggestion.id == Event.suggestion_id)
        .group_by(Suggestion.office_id)
    )
    items: dict[int, dict[str, int]] = {}
    statuses = await session.execute(
        sa.select(Suggestion.office_id, Suggestion.status, n).group_by(
            Suggestion.office_id, Suggestion.status
        )
    )
    for office_id, status, count in statuses.all():
        items.setdefault(office_id, {})[status.value] = int(count)
    tree = await store.offices.tree()
    seeded = []
    for _depth, office in tree.walk():
        parent = tree.parent(office)
        seeded.append(
            OfficeSeeded(
                code=office.code,
                name=str(office.name),
                parent=parent.code if parent is not None else None,
                points=points.get(office.id, 0),
                departments=departments.get(office.id, 0),
                liaisons=liaisons.get(office.id, 0),
                observers=observers.get(office.id, 0),
                applications=applications.get(office.id, 0),
                items=items.get(office.id, {}),
                events=events.get(office.id, 0),
            )
        )
    return Seeded(tuple(seeded))
