"""Seeding the sample district: the story of ``bot.demo.district`` played through the
services, so its events, references, deadlines and notifications are exactly what
the bot would have made had these people used it over the last six weeks.

The story runs on a clock of its own that starts about six weeks before ``now`` and
moves forward from one scene to the next, in office hours on working days (by the
office's own calendar), ending on the last working day before ``now``. The whole
seed is one transaction: all of it or nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import partial

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.demo import district
from bot.demo.district import ItemSpec, Step
from bot.domain.calendar import WorkingCalendar
from bot.domain.known_holidays import schedule
from bot.domain.lifecycle import Action
from bot.domain.notices import Notice
from bot.domain.statuses import TERMINAL, ApplicationStatus, ObserverStatus, SuggestionStatus
from bot.services import notify
from bot.services.actors import Actor, identify
from bot.services.context import Policy, Service
from bot.services.people import PeopleService
from bot.services.places import PlaceService
from bot.services.suggestions import SuggestionService
from bot.services.views import Draft
from storage.engine import engine_of, writer
from storage.models import (
    Application,
    Base,
    CalendarDay,
    Department,
    Event,
    Liaison,
    Observer,
    OutboxMessage,
    Point,
    Suggestion,
)
from storage.repositories.outbox import PENDING, SENT
from storage.store import Store

# The story's office hours end before this; a "now" later in the day on a working day
# lets that day be the story's last.
_DAY_ENDS = time(18, 0)


class AlreadySeeded(Exception):
    """The database already holds a district; seeding it again would mix two."""


@dataclass(frozen=True)
class Seeded:
    """What the database holds once seeded."""

    points: int
    departments: int
    liaisons: int
    observers: int
    applications: int  # pending
    items: dict[str, int]  # status value -> count
    events: int

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
            f"{_count(total, 'item')} ({statuses}), {_count(self.events, 'event')}"
        )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


async def seed_district(
    sessions: async_sessionmaker[AsyncSession],
    *,
    policy: Policy,
    now: datetime | None = None,
    replay: bool = False,
) -> Seeded:
    """Seed an empty, migrated database with the sample district.

    ``replay`` leaves the notices to people pending (and, for the admin group, the
    latest one of each open item and the pending application's card), so a bot started
    next delivers them and each chat shows its history; otherwise every notice of the
    story counts as sent long ago. Raises :class:`AlreadySeeded`, changing nothing, if
    the database already holds points, departments or observers.
    """
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    async with sessions() as session, writer(engine_of(sessions)), session.begin():
        store = Store(session)
        await _refuse_if_seeded(session)
        await _load_known_calendars(store, now.astimezone(policy.tz).year)
        outbox_before = await session.scalar(sa.select(sa.func.max(OutboxMessage.id))) or 0
        story = await _Story.begin(store, policy, now)
        await story.play()
        await _settle_outbox(session, outbox_before, replay, story.pending_application)
        return await _census(session)


async def _refuse_if_seeded(session: AsyncSession) -> None:
    held = []
    for model, noun in ((Point, "point"), (Department, "department"), (Observer, "observer")):
        n = await session.scalar(sa.select(sa.func.count()).select_from(model)) or 0
        if n:
            held.append(_count(n, noun))
    if held:
        raise AlreadySeeded("the database already holds " + ", ".join(held))


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
    def __init__(
        self,
        store: Store,
        policy: Policy,
        now: datetime,
        calendar: WorkingCalendar,
        days: list[date],
    ) -> None:
        self.store = store
        self.policy = policy
        self.now = now
        self.calendar = calendar
        # days[n] is the working day n working days before the story's last.
        self.days = days
        self.clock = _StoryClock(self.moment(len(days) - 1, "00:00"))
        self.people = PeopleService(store, policy, self.clock)
        self.places = PlaceService(store, policy, self.clock)
        self.items = SuggestionService(store, policy, self.clock)
        self.point_ids: dict[str, int] = {}
        self.department_ids: dict[str, int] = {}
        self.observer_ids: dict[int, int] = {}  # user id -> observer id
        self.invites: dict[int, str] = {}  # user id -> invite code
        self.applications: dict[int, int] = {}  # user id -> application id
        self.item_ids: dict[str, int] = {}
        self.pending_application: int | None = None

    @classmethod
    async def begin(cls, store: Store, policy: Policy, now: datetime) -> _Story:
        calendar = await Service(store, policy).calendar()
        local = now.astimezone(policy.tz)
        last = local.date()
        if not (calendar.is_working_day(last) and local.time() >= _DAY_ENDS):
            last = _working_day_before(calendar, last)
        days = [last]
        for _ in range(district.STORY_DAYS):
            days.append(_working_day_before(calendar, days[-1]))
        return cls(store, policy, now, calendar, days)

    def moment(self, days_ago: int, at: str) -> datetime:
        local = datetime.combine(self.days[days_ago], time.fromisoformat(at), self.policy.tz)
        return local.astimezone(UTC)

    async def play(self) -> None:
        scenes = [*self._setting_up(), *self._filing_and_deciding()]
        # Stable: scenes at the same moment keep the order they were written in.
        scenes.sort(key=lambda scene: scene[0])
        for moment, act in scenes:
            if moment > self.now:
                raise ValueError(f"a scene at {moment} would be after now ({self.now})")
            self.clock.move_to(moment)
            await act()

    # ---- the scenes -----------------------------------------------------------------

    def _setting_up(self) -> list[Scene]:
        """The first two days: the office sets up points and departments, appoints the
        observers (invited, or applying themselves) and invites the liaisons."""
        start = district.STORY_DAYS
        scenes: list[Scene] = [(self.moment(start, "08:45"), self._office_arrives)]
        for i, point in enumerate(district.POINTS):
            scenes.append((self._at(start, 9, i), partial(self._add_point, point)))
        for i, department in enumerate(district.DEPARTMENTS):
            scenes.append((self._at(start, 9, 40 + i), partial(self._add_department, department)))
        invited = [o for o in district.OBSERVERS if not o.applied]
        applied = [o for o in district.OBSERVERS if o.applied]
        for i, observer in enumerate(invited):
            scenes.append((self._at(start, 10, 3 * i), partial(self._nominate, observer)))
        for i, liaison in enumerate(district.LIAISONS):
            scenes.append((self._at(start, 11, 5 * i), partial(self._invite_liaison, liaison)))
        for i, observer in enumerate(applied):
            scenes.append((self._at(start, 14, 9 * i), partial(self._apply, observer)))
        for i, observer in enumerate(invited):
            # Half join the same afternoon, the rest the next morning.
            day, hour = (start, 15) if i % 2 == 0 else (start - 1, 9)
            scenes.append((self._at(day, hour, 4 * i), partial(self._redeem, observer)))
        for i, liaison in enumerate(district.LIAISONS):
            scenes.append((self._at(start - 1, 11, 6 * i), partial(self._join, liaison)))
        for i, observer in enumerate(applied):
            scenes.append((self._at(start - 1, 15, 10 * i), partial(self._approve, observer)))
        days_ago, at = district.APPLICATION_AT
        scenes.append((self.moment(days_ago, at), self._pending_application))
        return scenes

    def _filing_and_deciding(self) -> list[Scene]:
        return [
            (self.moment(step.days_ago, step.at), partial(self._step, item, step))
            for item in district.ITEMS
            for step in item.steps
        ]

    def _at(self, days_ago: int, hour: int, minutes: int) -> datetime:
        return self.moment(days_ago, f"{hour:02d}:00") + timedelta(minutes=minutes)

    # ---- people and places ----------------------------------------------------------

    async def _register(self, user_id: int) -> None:
        """What the bot records of anyone who writes to it."""
        who = district.person(user_id)
        await self.people.register(
            user_id,
            first_name=who.first_name,
            last_name=who.last_name,
            language_code=who.language_code,
        )

    async def _admin(self, user_id: int = district.ADMIN_CHEN) -> Actor:
        return await identify(self.store, user_id, is_admin=True)

    async def _office_arrives(self) -> None:
        for user_id in district.ADMINS:
            await self._register(user_id)

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
        admin = await self._admin(district.ADMIN_LIU)
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
        await self._register(spec.user_id)
        redeemed = await self.people.redeem(
            spec.user_id, self.invites[spec.user_id], name=spec.first_name
        )
        assert redeemed.observer_id is not None
        self.observer_ids[spec.user_id] = redeemed.observer_id

    async def _apply(self, spec: district.ObserverSpec) -> None:
        self.applications[spec.user_id] = await self._application(spec)

    async def _application(self, spec: district.ObserverSpec | district.ApplicationSpec) -> int:
        await self._register(spec.user_id)
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
        self.pending_application = await self._application(district.APPLICATION)

    async def _invite_liaison(self, spec: district.LiaisonSpec) -> None:
        invite = await self.people.invite_liaison(
            await self._admin(), self.department_ids[spec.department]
        )
        self.invites[spec.user_id] = invite.code

    async def _join(self, spec: district.LiaisonSpec) -> None:
        await self._register(spec.user_id)
        await self.people.redeem(spec.user_id, self.invites[spec.user_id], name=spec.name)

    # ---- the items ------------------------------------------------------------------

    async def _step(self, item: ItemSpec, step: Step) -> None:
        actor = await identify(self.store, step.by, is_admin=step.by in district.ADMINS)
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
        return self.calendar.add_working_days(self.days[step.days_ago], step.due_in)


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
    session: AsyncSession, after: int, replay: bool, application_id: int | None
) -> None:
    """Mark what the story's notices became: sent long ago, or (``replay``) some still
    to deliver.

    The outbox repository has no bulk "mark sent" (the sender settles one row at a
    time), so the update is written here against the model.
    """
    keep: set[int] = set()
    if replay:
        keep = await _to_replay(session, after, application_id)
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


async def _to_replay(session: AsyncSession, after: int, application_id: int | None) -> set[int]:
    """The rows a demo's bot should deliver at start: everything to people (each chat
    then shows its history), but for the admin group, which takes about twenty messages
    a minute, only the latest row of each open item (it posts the item's card) and the
    pending application's card."""
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
            )
            .where(OutboxMessage.id > after)
            .order_by(OutboxMessage.id)
        )
    ).all()
    keep: set[int] = set()
    latest: dict[int, int] = {}  # item id -> its last admin row
    for row_id, audience, kind, item_id, payload in rows:
        if audience in (notify.USER, notify.LIAISON):
            keep.add(row_id)
        elif audience != notify.ADMIN_GROUP:
            continue
        elif item_id is not None:
            if item_id not in finished:
                latest[item_id] = row_id
        elif kind == Notice.APPLICATION_NEW and payload.get("application_id") == application_id:
            keep.add(row_id)
    return keep | set(latest.values())


# ---- what is there now ----------------------------------------------------------------


async def _census(session: AsyncSession) -> Seeded:
    async def count(stmt: sa.Select[int]) -> int:
        return int(await session.scalar(stmt) or 0)

    def total(model: type[Base]) -> sa.Select[int]:
        return sa.select(sa.func.count()).select_from(model)

    statuses = await session.execute(
        sa.select(Suggestion.status, sa.func.count()).group_by(Suggestion.status)
    )
    return Seeded(
        points=await count(total(Point).where(Point.active.is_(True))),
        departments=await count(total(Department).where(Department.active.is_(True))),
        liaisons=await count(total(Liaison).where(Liaison.active.is_(True))),
        observers=await count(total(Observer).where(Observer.status == ObserverStatus.APPOINTED)),
        applications=await count(
            total(Application).where(Application.status == ApplicationStatus.PENDING)
        ),
        items={status.value: int(n) for status, n in statuses.all()},
        events=await count(total(Event)),
    )
