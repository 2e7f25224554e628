"""The sample city: the city's office above the sample district and two more districts,
each office with its group, and each district's items under its own office and code."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.demo import city, district
from bot.demo.district import ADMIN_GROUP_ID, OfficeSpec
from bot.demo.seed import SeedRefused, seed_district
from bot.domain.lifecycle import Action
from bot.domain.notices import Notice
from bot.domain.offices import HOME
from bot.domain.rectifications import RectStatus
from bot.domain.statuses import ObserverStatus
from bot.services.actors import Actor
from bot.services.context import Policy
from bot.services.offices import OfficeService
from bot.services.suggestions import SuggestionService
from bot.services.views import Draft
from storage.models import (
    Base,
    Department,
    Event,
    Liaison,
    Observer,
    Office,
    OutboxMessage,
    Point,
    Rectification,
    Suggestion,
)
from storage.store import Store

SHANGHAI = ZoneInfo("Asia/Shanghai")
POLICY = Policy(jurisdiction="WZ", decision_days=5, tz=SHANGHAI)
NOW = datetime(2026, 3, 20, 10, 0, tzinfo=UTC)
OTHER_DISTRICTS = (city.FULING, city.QIANJIANG)


async def _all(sessions: async_sessionmaker[AsyncSession], stmt: sa.Select[tuple[object]]) -> list:
    async with sessions() as session:
        return list((await session.execute(stmt)).scalars().all())


async def _offices(sessions: async_sessionmaker[AsyncSession]) -> dict[str, Office]:
    return {o.code: o for o in await _all(sessions, sa.select(Office))}


async def _counts(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sessions() as session:
        return {
            table.name: int(
                await session.scalar(sa.select(sa.func.count()).select_from(table)) or 0
            )
            for table in Base.metadata.sorted_tables
        }


# ---- the tree ---------------------------------------------------------------------------


async def test_the_city_is_above_its_three_districts(sessions):
    await seed_district(sessions, policy=POLICY, now=NOW, home_group=ADMIN_GROUP_ID)
    async with sessions() as session:
        lines = await OfficeService(Store(session), POLICY).lines()

    # What `outpost offices` prints: the city, then each district naming it as parent.
    assert lines == [
        "OFFICE CQ parent - group bound points 0 observers 0 open 0",
        "OFFICE FL parent CQ group bound points 3 observers 4 open 5",
        "OFFICE QJ parent CQ group bound points 2 observers 3 open 4",
        "OFFICE WZ parent CQ group bound points 16 observers 20 open 11",
    ]
    offices = await _offices(sessions)
    assert offices["WZ"].id == HOME  # the sample district stays the home office
    assert {code: (o.name, o.name_en) for code, o in offices.items()} == {
        "CQ": ("重庆市", "Chongqing"),
        "WZ": ("万州区", "Wanzhou"),
        "FL": ("涪陵区", "Fuling"),
        "QJ": ("黔江区", "Qianjiang"),
    }


async def test_seeded_says_what_each_office_holds(sessions):
    seeded = await seed_district(sessions, policy=POLICY, now=NOW)

    assert [o.code for o in seeded.offices] == ["CQ", "FL", "QJ", "WZ"]
    assert seeded.lines()[:3] == [
        "CQ 重庆市: 0 points, 2 departments (2 liaisons), 0 observers, "
        "0 pending applications, 0 items, 0 events",
        "FL 涪陵区, below CQ: 3 points, 3 departments (3 liaisons), 4 observers, "
        "0 pending applications, 6 items (1 submitted, 1 in review, 1 adopted, "
        "1 escalated, 1 implementing, 1 closed), 20 events",
        "QJ 黔江区, below CQ: 2 points, 2 departments (2 liaisons), 3 observers, "
        "0 pending applications, 4 items (1 submitted, 1 reference, 1 implementing, "
        "1 implemented), 15 events",
    ]
    assert seeded.lines()[3].startswith("WZ 万州区, below CQ: 16 points, 5 departments")
    assert seeded.summary() == "\n".join(seeded.lines())
    for spec in city.OFFICES:
        share = seeded.office(spec.code)
        assert share.points == len(spec.points)
        assert share.departments == len(spec.departments)
        assert share.liaisons == len(spec.liaisons)
        assert share.observers == len(spec.observers)
        assert sum(share.items.values()) == len(spec.items)
        assert share.events == sum(len(item.steps) for item in spec.items)


async def test_the_home_office_takes_its_code_from_the_settings(sessions):
    elsewhere = Policy(jurisdiction="WX", decision_days=5, tz=SHANGHAI)
    seeded = await seed_district(sessions, policy=elsewhere, now=NOW)

    assert [(o.code, o.parent) for o in seeded.offices] == [
        ("CQ", None),
        ("FL", "CQ"),
        ("QJ", "CQ"),
        ("WX", "CQ"),
    ]
    references = await _all(
        sessions, sa.select(Suggestion.reference).where(Suggestion.office_id == HOME)
    )
    assert references
    assert all(r.startswith("WX-2026-") for r in references)


@pytest.mark.parametrize("code", ["CQ", "fl"])
async def test_a_home_code_the_city_gives_another_office_is_refused(sessions, code):
    before = await _counts(sessions)
    clashing = Policy(jurisdiction=code, decision_days=5, tz=SHANGHAI)

    with pytest.raises(SeedRefused, match="must be none of them"):
        await seed_district(sessions, policy=clashing, now=NOW)

    assert await _counts(sessions) == before


# ---- each district's own ---------------------------------------------------------------


@pytest.mark.parametrize("spec", city.DISTRICTS, ids=lambda spec: spec.code)
async def test_each_district_has_its_own_places_people_and_items(sessions, spec: OfficeSpec):
    await seed_district(sessions, policy=POLICY, now=NOW)
    office = (await _offices(sessions))[spec.code]
    points = await _all(sessions, sa.select(Point).where(Point.office_id == office.id))
    departments = await _all(
        sessions, sa.select(Department).where(Department.office_id == office.id)
    )
    observers = await _all(sessions, sa.select(Observer).where(Observer.office_id == office.id))
    items = await _all(
        sessions,
        sa.select(Suggestion).where(Suggestion.office_id == office.id).order_by(Suggestion.id),
    )
    events = await _all(sessions, sa.select(Event).order_by(Event.id))
    liaisons = await _all(sessions, sa.select(Liaison))

    assert sorted(p.code for p in points) == sorted(p.code for p in spec.points)
    assert sorted(d.code for d in departments) == sorted(d.code for d in spec.departments)
    mine = {d.id for d in departments}
    assert Counter(d_id for d_id in (x.department_id for x in liaisons) if d_id in mine) == (
        Counter(
            next(d.id for d in departments if d.code == liaison.department)
            for liaison in spec.liaisons
        )
    )
    assert sorted(o.user_id for o in observers) == sorted(o.user_id for o in spec.observers)
    assert all(o.status is ObserverStatus.APPOINTED for o in observers)
    assert {o.point_id for o in observers} <= {p.id for p in points}

    # Its items: filed by its observers at its points, numbered under its own code.
    assert [i.reference for i in items] == [
        f"{spec.code}-2026-{n:04d}" for n in range(1, len(spec.items) + 1)
    ]
    assert {i.title for i in items} == {item.title for item in spec.items}
    assert {i.observer_id for i in items} <= {o.id for o in observers}
    assert {i.point_id for i in items} <= {p.id for p in points}
    assert {i.department_id for i in items} - {None} <= mine
    for item in items:
        history = [e for e in events if e.suggestion_id == item.id]
        assert history[0].action is Action.SUBMIT
        assert history[-1].to_status is item.status


async def test_the_other_districts_have_items_at_every_stage(sessions):
    await seed_district(sessions, policy=POLICY, now=NOW)
    offices = await _offices(sessions)
    others = {offices[spec.code].id for spec in OTHER_DISTRICTS}
    items = await _all(sessions, sa.select(Suggestion).where(Suggestion.office_id.in_(others)))
    statuses = {i.status.value for i in items}

    assert statuses >= {
        "submitted",
        "in_review",
        "adopted",
        "implementing",
        "implemented",
        "reference",
        "escalated",
        "closed",
    }
    [adopted] = [i for i in items if i.status.value == "adopted"]
    assert adopted.implementation_due is not None
    [closed] = [i for i in items if i.status.value == "closed"]
    rated = await _all(
        sessions,
        sa.select(Event.action).where(
            Event.suggestion_id == closed.id, Event.action == Action.RATE
        ),
    )
    assert rated == [Action.RATE]
    [escalated] = [i for i in items if i.status.value == "escalated"]
    assert escalated.escalated_to == city.TO_THE_CITY
    assert escalated.city_answer_due is not None


async def test_the_city_has_departments_but_no_points_or_items(sessions):
    await seed_district(sessions, policy=POLICY, now=NOW)
    capital = (await _offices(sessions))["CQ"]
    departments = await _all(
        sessions, sa.select(Department).where(Department.office_id == capital.id)
    )
    liaisons = await _all(
        sessions,
        sa.select(Liaison).where(Liaison.department_id.in_([d.id for d in departments])),
    )

    assert sorted(d.code for d in departments) == ["CQ-JUSTICE", "CQ-MARKET"]
    assert sorted(x.user_id for x in liaisons) == sorted(x.user_id for x in city.CITY.liaisons)
    for model in (Point, Observer, Suggestion):
        assert await _all(sessions, sa.select(model).where(model.office_id == capital.id)) == []


async def test_a_rectification_of_fuling_is_under_way(sessions):
    await seed_district(sessions, policy=POLICY, now=NOW)
    offices = await _offices(sessions)
    [row] = await _all(sessions, sa.select(Rectification))
    assert (row.office_id, row.raised_by_id) == (offices["FL"].id, offices["CQ"].id)
    assert row.status is RectStatus.ACCEPTED
    assert [step["move"] for step in row.log] == ["raised", "accept", "progress"]
    assert row.due > NOW.date()  # under way, not overdue


# ---- the groups ---------------------------------------------------------------------------


async def test_every_office_has_its_group_bound(sessions):
    await seed_district(sessions, policy=POLICY, now=NOW, home_group=ADMIN_GROUP_ID)
    offices = await _offices(sessions)
    async with sessions() as session:
        tree = await Store(session).offices.tree()

    for spec in city.OFFICES:
        assert offices[spec.code].chat_id == spec.group_id
        found = tree.of_chat(spec.group_id)
        assert found is not None
        assert found.code == spec.code
    # The city's and the other districts' by the link each office's creator used; the
    # home office's is the settings' (ADMIN_CHAT_ID).
    for spec in (city.CITY, *OTHER_DISTRICTS):
        row = offices[spec.code]
        assert row.bound_at is not None
        assert row.bound_at <= NOW
        assert row.bound_by == spec.admins[0].user_id
        assert row.bind_expires_at is None  # the link is used
    assert offices["WZ"].bound_at is None
    # The city's group heard of each district's group as it was bound.
    told = await _all(
        sessions,
        sa.select(OutboxMessage).where(
            OutboxMessage.office_id == offices["CQ"].id,
            OutboxMessage.kind == Notice.OFFICE_BOUND,
        ),
    )
    assert sorted(row.payload["code"] for row in told) == ["FL", "QJ"]


async def test_without_a_home_group_the_settings_give_it_later(sessions):
    await seed_district(sessions, policy=POLICY, now=NOW)
    offices = await _offices(sessions)

    assert offices["WZ"].chat_id is None
    for spec in (city.CITY, *OTHER_DISTRICTS):
        assert offices[spec.code].chat_id == spec.group_id


def test_every_group_has_admins_who_are_its_people():
    by_id = {p.user_id: p for p in city.PEOPLE}
    assert len(by_id) == len(city.PEOPLE)
    groups = [spec.group_id for spec in city.OFFICES]
    assert len(set(groups)) == len(groups)
    assert ADMIN_GROUP_ID in groups
    assert all(group < -1_000_000_000_000 for group in groups)
    for spec in city.OFFICES:
        members = spec.group_members()
        assert "administrator" in members.values(), spec.code
        assert sorted(members.values()) == ["administrator", "creator"], spec.code
        for user_id in members:
            assert by_id[user_id].role == "admin"
            assert by_id[user_id].about_zh == f"{spec.office} · 管理员"
        assert spec.group_title.startswith(spec.office)
    assert city.CITY.group_title.startswith("重庆市依法治市办")
    assert city.FULING.group_title == "涪陵区依法治区办 · 法治观测点工作群"


def test_everyone_says_where_they_belong():
    for spec in city.OFFICES:
        ids = {o.user_id for o in spec.observers} | {x.user_id for x in spec.liaisons}
        for user_id in ids:
            who = city.person(user_id)
            assert who.about_zh.startswith(f"{spec.place} · "), who
            assert who.about_en.startswith(f"{spec.place_en} · "), who
    # Codes are unique across the offices: each district's are its own.
    points = [p.code for spec in city.OFFICES for p in spec.points]
    departments = [d.code for spec in city.OFFICES for d in spec.departments]
    assert len(set(points)) == len(points)
    assert len(set(departments)) == len(departments)
    phones = [o.phone for spec in city.OFFICES for o in spec.observers]
    assert len(set(phones)) == len(phones)
    assert all(phone.startswith("138 0000 ") for phone in phones)
    # Each item is filed by one of its office's observers, acted on by its people.
    for spec in city.OFFICES:
        own = {o.user_id for o in spec.observers}
        acting = own | set(spec.admin_ids) | {x.user_id for x in spec.liaisons}
        for item in spec.items:
            assert item.observer in own, item.key
            assert {step.by for step in item.steps} <= acting, item.key


# ---- all or nothing -----------------------------------------------------------------------


@pytest.mark.parametrize("where", ["binding", "filing"])
async def test_a_failure_in_any_office_leaves_nothing_behind(sessions, monkeypatch, where):
    submit = SuggestionService.submit
    bind = OfficeService.bind

    async def failing_submit(self: SuggestionService, actor: Actor, draft: Draft) -> object:
        # Qianjiang's last item: filed on the story's last day, after most of the city.
        if draft.key == "demo-qj-night-market":
            raise RuntimeError("the story broke off")
        return await submit(self, actor, draft)

    async def failing_bind(self: OfficeService, code: str, chat_id: int, by: int) -> object:
        if chat_id == city.QIANJIANG.group_id:
            raise RuntimeError("the story broke off")
        return await bind(self, code, chat_id, by)

    with monkeypatch.context() as patch:
        if where == "filing":
            patch.setattr(SuggestionService, "submit", failing_submit)
        else:
            patch.setattr(OfficeService, "bind", failing_bind)
        with pytest.raises(RuntimeError, match="broke off"):
            await seed_district(sessions, policy=POLICY, now=NOW, home_group=ADMIN_GROUP_ID)

    left = await _counts(sessions)
    assert left.pop("offices") == 1  # the home office every database starts with
    assert set(left.values()) == {0}
    [home] = (await _offices(sessions)).values()
    # As the schema made it: not renamed, not placed under a city, no group.
    assert (home.id, home.code, home.name, home.parent_id, home.chat_id) == (
        HOME,
        "WZ",
        "",
        None,
        None,
    )

    seeded = await seed_district(sessions, policy=POLICY, now=NOW)
    assert [o.code for o in seeded.offices] == ["CQ", "FL", "QJ", "WZ"]
    assert seeded.office("WZ").observers == len(district.OBSERVERS)
