"""Several offices in one database: each office's group sees and moves only its own.

A second district (FL) is brought in beside the home office (WZ) of the test world; a
transaction limited to one office (``storage.scope``), as an update from that office's
group is, reads and changes only that office's points, observers, departments, items
and broadcasts, whatever service or repository asks.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
import sqlalchemy as sa

from bot.domain.errors import Conflict, NotFound
from bot.domain.offices import HOME, OfficeInfo
from bot.domain.periods import year_period
from bot.domain.statuses import FocusDomain, HostKind, ObserverStatus
from bot.services.actors import identify
from bot.services.context import Policy
from bot.services.figures import FiguresService
from bot.services.offices import OfficeService
from bot.services.people import PeopleService
from bot.services.places import PlaceService
from bot.services.reminders import ReminderService
from bot.services.suggestions import SuggestionService
from storage.models import Observer, OutboxMessage, Point, Suggestion, TelegramUser
from storage.scope import limit_to_office
from storage.store import Store
from tests.world import ADMIN, ALICE, POLICY, FixedClock, World, build_world, draft

FRANK = 1077  # an observer of the second district
FL_GROUP, WZ_GROUP = -100777, -100500


@pytest.fixture
async def world(sessions: Any) -> World:
    return await build_world(sessions)


async def bring_in(sessions: Any, clock: FixedClock) -> tuple[OfficeInfo, Policy]:
    """A district FL below the home office, bound to its group, with one point and one
    appointed observer (Frank) — all made through the services, as its admins would."""
    async with sessions() as session, session.begin():
        offices = OfficeService(Store(session), POLICY, clock)
        made = await offices.create(None, "FL", "涪陵区 | Fuling", parent=None)
        office = await offices.bind(made.bind_code, FL_GROUP, ADMIN)
        session.add(TelegramUser(id=FRANK, first_name="Frank", language_code="zh-hans"))
    policy = replace(POLICY, jurisdiction="FL", office_id=office.id)
    async with sessions() as session, session.begin():
        limit_to_office(session, office.id)
        store = Store(session)
        admin = await identify(store, ADMIN, is_admin=True)
        point = await PlaceService(store, policy, clock).add_point(
            admin,
            code="FL01",
            name="涪陵区公共法律服务中心",
            domain=FocusDomain.BUSINESS_ENVIRONMENT,
            host_kind=HostKind.SERVICE_CENTRE,
        )
        people = PeopleService(store, policy, clock)
        frank = await people.add_observer(admin, name="Frank", category="lawyer", point_id=point.id)
        observer = await store.observers.get(frank.id)
        assert observer is not None
        observer.user_id = FRANK
        await people.appoint(admin, frank.id)
    return office, policy


async def test_an_observer_of_a_district_files_in_it_with_its_code(
    sessions: Any, world: World
) -> None:
    clock = FixedClock()
    office, _policy = await bring_in(sessions, clock)
    async with sessions() as session, session.begin():
        store = Store(session)
        # In a private chat: the home office's policy, yet the item is the observer's
        # office's, numbered by its own counter.
        frank = await identify(store, FRANK)
        filed = await SuggestionService(store, POLICY, clock).submit(frank, draft(key="f1"))
        alice = await identify(store, ALICE)
        home = await SuggestionService(store, POLICY, clock).submit(alice, draft(key="a1"))
    assert filed.reference == "FL-2026-0001"
    assert home.reference == "WZ-2026-0001"
    async with sessions() as session:
        rows = dict(
            (await session.execute(sa.select(Suggestion.reference, Suggestion.office_id))).all()
        )
        told = (
            (
                await session.execute(
                    sa.select(OutboxMessage.office_id).where(OutboxMessage.audience == "admins")
                )
            )
            .scalars()
            .all()
        )
    assert rows == {"FL-2026-0001": office.id, "WZ-2026-0001": HOME}
    # Each office's group hears of its own new item.
    assert sorted(told) == sorted([office.id, HOME])


async def test_a_group_sees_and_moves_only_its_office_s_items(sessions: Any, world: World) -> None:
    clock = FixedClock()
    office, fl_policy = await bring_in(sessions, clock)
    async with sessions() as session, session.begin():
        store = Store(session)
        filed = await SuggestionService(store, POLICY, clock).submit(
            await identify(store, FRANK), draft(key="f1")
        )
        mine = await SuggestionService(store, POLICY, clock).submit(
            await identify(store, ALICE), draft(key="a1")
        )

    # The home office's group: its own item, never the district's, even by reference.
    async with sessions() as session, session.begin():
        limit_to_office(session, HOME)
        store = Store(session)
        admin = await identify(store, ADMIN, is_admin=True)
        service = SuggestionService(store, POLICY, clock)
        assert (await service.find_reference(admin, mine.reference)).id == mine.id
        with pytest.raises(NotFound):
            await service.find_reference(admin, filed.reference)
        with pytest.raises(NotFound):
            await service.take(admin, filed.id)
        points = [p.code for p in await PlaceService(store, POLICY, clock).points()]
        assert "FL01" not in points
        assert points
        observers = await store.observers.list()
        assert FRANK not in [o.user_id for o in observers]

    # The district's group: its own item only.
    async with sessions() as session, session.begin():
        limit_to_office(session, office.id)
        store = Store(session)
        admin = await identify(store, ADMIN, is_admin=True)
        service = SuggestionService(store, fl_policy, clock)
        taken = await service.take(admin, filed.id)
        assert taken.reference == filed.reference
        with pytest.raises(NotFound):
            await service.find_reference(admin, mine.reference)
        assert [p.code for p in await PlaceService(store, fl_policy, clock).points()] == ["FL01"]

    async with sessions() as session:
        statuses = dict(
            (await session.execute(sa.select(Suggestion.reference, Suggestion.status))).all()
        )
    assert statuses[filed.reference] == "in_review"
    assert statuses[mine.reference] == "submitted"


async def test_codes_stay_unique_across_offices(sessions: Any, world: World) -> None:
    clock = FixedClock()
    office, fl_policy = await bring_in(sessions, clock)
    async with sessions() as session, session.begin():
        limit_to_office(session, office.id)
        store = Store(session)
        admin = await identify(store, ADMIN, is_admin=True)
        # P01 is the home office's, which this group cannot see: refused all the same.
        with pytest.raises(Conflict):
            await PlaceService(store, fl_policy, clock).add_point(
                admin,
                code="P01",
                name="重名的点",
                domain=FocusDomain.BUSINESS_ENVIRONMENT,
                host_kind=HostKind.SERVICE_CENTRE,
            )
    async with sessions() as session:
        n = await session.scalar(sa.select(sa.func.count()).select_from(Point))
    assert n == 3  # P01, P02 and FL01


async def test_an_observer_cannot_ask_to_move_to_another_office_s_point(
    sessions: Any, world: World
) -> None:
    clock = FixedClock()
    await bring_in(sessions, clock)
    async with sessions() as session, session.begin():
        store = Store(session)
        fl_point = (
            await session.execute(sa.select(Point.id).where(Point.code == "FL01"))
        ).scalar_one()
        alice = await identify(store, ALICE)
        with pytest.raises(NotFound):
            await PeopleService(store, POLICY, clock).ask_to_move(alice, fl_point)
    async with sessions() as session:
        alice_row = (
            await session.execute(sa.select(Observer).where(Observer.user_id == ALICE))
        ).scalar_one()
    assert alice_row.office_id == HOME
    assert alice_row.status is ObserverStatus.APPOINTED


async def test_each_bound_office_gets_its_own_digest(sessions: Any, world: World) -> None:
    clock = FixedClock()
    office, _fl_policy = await bring_in(sessions, clock)
    async with sessions() as session, session.begin():
        store = Store(session)
        await SuggestionService(store, POLICY, clock).submit(
            await identify(store, FRANK), draft(key="f1")
        )
    clock.advance(days=14)  # the decision is long overdue
    async with sessions() as session, session.begin():
        await ReminderService(Store(session), POLICY, clock).run_due()
    async with sessions() as session:
        digests = (
            await session.execute(
                sa.select(OutboxMessage.office_id, OutboxMessage.payload).where(
                    OutboxMessage.kind == "office.overdue"
                )
            )
        ).all()
    # Only the district has an overdue item: only its group is told, of that item.
    assert [(o, p["total"]) for o, p in digests] == [(office.id, 1)]
    assert digests[0][1]["decisions"][0]["reference"] == "FL-2026-0001"


async def test_each_group_s_figures_count_only_its_office(sessions: Any, world: World) -> None:
    clock = FixedClock()
    office, fl_policy = await bring_in(sessions, clock)
    async with sessions() as session, session.begin():
        store = Store(session)
        for n in range(3):
            await SuggestionService(store, POLICY, clock).submit(
                await identify(store, FRANK), draft(key=f"f{n}")
            )
        await SuggestionService(store, POLICY, clock).submit(
            await identify(store, ALICE), draft(key="a1")
        )
    period = year_period(2026)
    counted = {}
    for office_id, policy in ((HOME, POLICY), (office.id, fl_policy)):
        async with sessions() as session, session.begin():
            limit_to_office(session, office_id)
            store = Store(session)
            admin = await identify(store, ADMIN, is_admin=True)
            figures = await FiguresService(store, policy, clock).stats(admin, period)
            counted[office_id] = (figures.total, figures.appointed_observers)
    # The home office: Alice's item, Alice and Bob; the district: Frank's three, Frank.
    assert counted == {HOME: (1, 2), office.id: (3, 1)}
