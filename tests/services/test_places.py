"""Observation points and departments: the office's reference data.

Each step is one transaction, as one Telegram update would be.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.domain.errors import (
    Conflict,
    InvalidInput,
    MissingInput,
    NotFound,
    NotPermitted,
    PointInactive,
)
from bot.domain.statuses import FocusDomain, HostKind, ObserverCategory, ObserverStatus
from bot.services.people import PeopleService
from bot.services.places import PlaceService
from bot.services.suggestions import SuggestionService
from storage.models import Department, Observer, Point, TelegramUser
from storage.store import Store
from tests.harness import Harness
from tests.world import (
    ADMIN,
    ALICE,
    BOB,
    DUE,
    LIAISON,
    POLICY,
    STRANGER,
    FixedClock,
    actor,
    build_world,
    draft,
)

CAROL, DAVE = 1003, 1004  # more observers at the first point


class Env(Harness):
    service = PlaceService


@pytest.fixture
async def env(sessions: Any) -> Env:
    return Env(sessions, await build_world(sessions), FixedClock())


async def add_point(env: Env, who: int = ADMIN, **kwargs: Any) -> Any:
    fields: dict[str, Any] = {
        "code": "P03",
        "name": "龙都街道商会",
        "domain": FocusDomain.BUSINESS_ENVIRONMENT,
        "host_kind": HostKind.CHAMBER_OF_COMMERCE,
    }
    fields.update(kwargs)
    return await env.by(who).add_point(**fields)


# ---- points ---------------------------------------------------------------------------------


async def test_the_office_adds_a_point(env):
    point = await add_point(
        env,
        code=" p03 ",
        name=" 龙都街道商会 ",
        host_organisation="龙都街道商会",
        town="龙都街道",
        street="  白岩路 8 号 ",
    )
    assert point.code == "P03"
    assert (point.name, point.town, point.street, point.active) == (
        "龙都街道商会",
        "龙都街道",
        "白岩路 8 号",
        True,
    )
    row = await env.get(Point, point.id)
    assert (row.code, row.domain, row.host_kind, row.active, row.closed_at) == (
        "P03",
        FocusDomain.BUSINESS_ENVIRONMENT,
        HostKind.CHAMBER_OF_COMMERCE,
        True,
        None,
    )
    assert (await env.anyone.point_by_code("p03")).id == point.id
    assert [p.code for p in await env.anyone.points()] == ["P01", "P02", "P03"]


@pytest.mark.parametrize("code", ["P01", "p01", " P02 "])
async def test_point_codes_are_unique_whatever_the_case(env, code):
    with pytest.raises(Conflict):
        await add_point(env, code=code)
    assert len(await env.anyone.points(active_only=False)) == 2


@pytest.mark.parametrize("code", ["", "   ", "P 03", "P/03", "P03!", "X" * 17])
async def test_a_bad_point_code_is_refused(env, code):
    with pytest.raises(InvalidInput):
        await add_point(env, code=code)
    assert len(await env.anyone.points(active_only=False)) == 2


async def test_a_point_code_may_use_dashes_and_underscores_up_to_16_characters(env):
    assert (await add_point(env, code="wz-p_03")).code == "WZ-P_03"
    assert (await add_point(env, code="A" * 16)).code == "A" * 16


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"name": " "}, MissingInput),
        ({"name": "名" * 201}, InvalidInput),
        ({"town": "镇" * 101}, InvalidInput),
        ({"street": "路" * 201}, InvalidInput),
        ({"host_organisation": "会" * 201}, InvalidInput),
    ],
)
async def test_a_point_with_bad_fields_is_refused(env, fields, error):
    with pytest.raises(error):
        await add_point(env, **fields)


@pytest.mark.parametrize("who", [ALICE, LIAISON, STRANGER])
async def test_managing_points_is_for_the_office(env, who):
    with pytest.raises(NotPermitted):
        await add_point(env, who=who)
    with pytest.raises(NotPermitted):
        await env.by(who).close_point(env.world.point_id)
    assert (await env.get(Point, env.world.point_id)).active is True
    assert len(await env.anyone.points(active_only=False)) == 2
    assert await env.outbox() == []


async def test_point_lookups(env):
    p01 = await env.anyone.point_by_code(" p01")
    assert (p01.id, p01.name, p01.domain, p01.host_kind) == (
        env.world.point_id,
        "城区便民服务中心",
        FocusDomain.BUSINESS_ENVIRONMENT,
        HostKind.SERVICE_CENTRE,
    )
    with pytest.raises(NotFound):
        await env.anyone.point_by_code("P99")


async def test_closing_a_point_asks_its_appointed_observers_to_move(env):
    await env.add(
        TelegramUser(id=CAROL, first_name="Carol"), TelegramUser(id=DAVE, first_name="Dave")
    )
    p01 = env.world.point_id
    carol = Observer(
        name="Carol",
        category=ObserverCategory.OTHER,
        point_id=p01,
        status=ObserverStatus.APPOINTED,
        user_id=CAROL,
    )
    suspended = Observer(
        name="Dave",
        category=ObserverCategory.OTHER,
        point_id=p01,
        status=ObserverStatus.SUSPENDED,
        user_id=DAVE,
    )
    nominee = Observer(name="Nominee", category=ObserverCategory.OTHER, point_id=p01, user_id=None)
    await env.add(carol, suspended, nominee)

    env.clock.advance(days=1)
    told = await env.admin.close_point(p01)

    assert list(told) == [env.world.alice_observer_id, carol.id]
    rows = await env.outbox()
    assert [(r.audience, r.chat_id, r.kind, r.payload) for r in rows] == [
        ("user", ALICE, "point.closed", {"point": "城区便民服务中心", "code": "P01"}),
        ("user", CAROL, "point.closed", {"point": "城区便民服务中心", "code": "P01"}),
    ]
    point = await env.get(Point, p01)
    assert point.active is False
    assert point.closed_at == env.clock.now
    # Observers stay attached until they choose another point.
    assert (await env.get(Observer, env.world.alice_observer_id)).point_id == p01

    assert [p.code for p in await env.anyone.points()] == ["P02"]
    assert [p.code for p in await env.anyone.points(active_only=False)] == ["P01", "P02"]
    # Looking a closed point up by code still works (for history and reports).
    assert (await env.anyone.point_by_code("P01")).active is False

    with pytest.raises(Conflict):
        await env.admin.close_point(p01)
    with pytest.raises(NotFound):
        await env.admin.close_point(999)
    assert len(await env.outbox()) == 2


async def test_an_observer_without_a_telegram_account_is_not_counted_as_told(env):
    nominee = Observer(
        name="Offline",
        category=ObserverCategory.OTHER,
        point_id=env.world.point_id,
        status=ObserverStatus.APPOINTED,
        user_id=None,
    )
    await env.add(nominee)
    told = await env.admin.close_point(env.world.point_id)
    assert list(told) == [env.world.alice_observer_id]
    assert [r.chat_id for r in await env.outbox()] == [ALICE]


async def test_after_a_point_closes_its_observers_move_and_file_again(env):
    await env.admin.close_point(env.world.point_id)

    async def submit(store: Store) -> Any:
        svc = SuggestionService(store, POLICY, env.clock)
        return await svc.submit(await actor(store, ALICE), draft())

    async def move(store: Store) -> Any:
        svc = PeopleService(store, POLICY, env.clock)
        alice = await actor(store, ALICE)
        return await svc.move(alice, env.world.alice_observer_id, env.world.other_point_id)

    with pytest.raises(PointInactive):
        await env.run(submit)
    await env.run(move)
    assert (await env.run(submit)).point_id == env.world.other_point_id


async def test_closing_one_point_leaves_the_other_alone(env):
    await env.admin.close_point(env.world.point_id)
    assert (await env.get(Point, env.world.other_point_id)).active is True
    assert BOB not in {r.chat_id for r in await env.outbox()}


# ---- departments ----------------------------------------------------------------------------


async def test_the_office_adds_a_department(env):
    dept = await env.admin.add_department(code=" urban ", name=" 区城市管理局 ")
    assert (dept.code, dept.name, dept.active) == ("URBAN", "区城市管理局", True)
    row = await env.get(Department, dept.id)
    assert (row.code, row.name, row.active) == ("URBAN", "区城市管理局", True)
    assert (await env.anyone.department_by_code("Urban")).id == dept.id
    assert [d.code for d in await env.anyone.departments()] == ["HOUSING", "MARKET", "URBAN"]


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"code": "market"}, Conflict),
        ({"code": "HOUSING"}, Conflict),
        ({"code": ""}, InvalidInput),
        ({"code": "CITY MGMT"}, InvalidInput),
        ({"code": "D" * 17}, InvalidInput),
        ({"name": ""}, MissingInput),
        ({"name": "局" * 201}, InvalidInput),
    ],
)
async def test_a_bad_department_is_refused(env, fields, error):
    values = {"code": "URBAN", "name": "区城市管理局"}
    values.update(fields)
    with pytest.raises(error):
        await env.admin.add_department(**values)
    assert len(await env.anyone.departments(active_only=False)) == 2


@pytest.mark.parametrize("who", [ALICE, LIAISON, STRANGER])
async def test_managing_departments_is_for_the_office(env, who):
    with pytest.raises(NotPermitted):
        await env.by(who).add_department(code="URBAN", name="区城市管理局")
    with pytest.raises(NotPermitted):
        await env.by(who).deactivate_department(env.world.department_id)
    assert (await env.get(Department, env.world.department_id)).active is True
    assert len(await env.anyone.departments(active_only=False)) == 2


async def test_a_deactivated_department_takes_no_new_items(env):
    gone = await env.admin.deactivate_department(env.world.other_department_id)
    assert gone.active is False
    assert [d.code for d in await env.anyone.departments()] == ["MARKET"]
    assert [d.code for d in await env.anyone.departments(active_only=False)] == [
        "HOUSING",
        "MARKET",
    ]
    # Its code stays taken.
    with pytest.raises(Conflict):
        await env.admin.add_department(code="HOUSING", name="新住建委")
    with pytest.raises(NotFound):
        await env.admin.deactivate_department(999)
    with pytest.raises(NotFound):
        await env.anyone.department_by_code("NOPE")

    async def adopt(store: Store) -> Any:
        svc = SuggestionService(store, POLICY, env.clock)
        item = await svc.submit(await actor(store, ALICE), draft())
        admin = await actor(store, ADMIN, admin=True)
        await svc.take(admin, item.id)
        return await svc.adopt(admin, item.id, department_id=env.world.other_department_id, due=DUE)

    with pytest.raises(NotFound):
        await env.run(adopt)


@pytest.mark.parametrize("code", ["观测点", "P²", "-P1", "P 1", "A" * 17])
async def test_codes_are_plain_ascii(sessions, code):
    await build_world(sessions)
    async with sessions() as session, session.begin():
        store = Store(session)
        svc = PlaceService(store, POLICY, FixedClock())
        admin = await actor(store, ADMIN, admin=True)
        with pytest.raises(InvalidInput):
            await svc.add_department(admin, code=code, name="x")
