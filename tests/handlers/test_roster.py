"""The office's people and places commands in the admin group, through the real
Dispatcher: observers, invites, suspension, points and departments."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.statuses import (
    FocusDomain,
    HostKind,
    InviteKind,
    ObserverCategory,
    ObserverStatus,
)
from bot.services.suggestions import SuggestionService
from storage.models import Department, Invite, Liaison, Observer, OutboxMessage, Point
from storage.store import Store
from tests.handlers.conftest import make_settings, new_telegram
from tests.telegram import Person, Sent, Telegram
from tests.world import ADMIN, ALICE, POLICY, FixedClock, World, actor, draft

Sessions = async_sessionmaker[AsyncSession]
GROUP = -100500
NEWCOMER = 6001
ONLY_ADMINS = "Only this office's admins can use this command."


@pytest.fixture
async def tg(sessions: Sessions, world: World, clock: FixedClock) -> AsyncIterator[Telegram]:
    tg = new_telegram(sessions, clock, settings=make_settings(default_locale="en"))
    yield tg
    await tg.bot.session.close()
    assert tg.session.problems == []


def admin(tg: Telegram) -> Person:
    return tg.member(ADMIN, "Ada", GROUP, "administrator")


def one(sent: list[Sent]) -> Sent:
    assert len(sent) == 1, [s.plain for s in sent]
    return sent[0]


async def rows(sessions: Sessions, model: type, *where: Any) -> list[Any]:
    async with sessions() as session:
        return list(await session.scalars(sa.select(model).where(*where)))


async def observer(sessions: Sessions, observer_id: int) -> Observer:
    async with sessions() as session:
        row = await session.get(Observer, observer_id)
        assert row is not None
        return row


# ---- observers -------------------------------------------------------------------------


async def test_observers_listed_all_and_by_point_and_one_shown(
    tg: Telegram, sessions: Sessions, world: World, clock: FixedClock
) -> None:
    async with sessions() as session, session.begin():
        store = Store(session)
        alice = await actor(store, ALICE)
        await SuggestionService(store, POLICY, clock).submit(alice, draft("Dark street"))
    ada = admin(tg)

    listing = one(await ada.send("/observers"))
    assert listing.plain.splitlines() == [
        "Observers (2)",
        f"🟢 #{world.alice_observer_id} Alice · appointed · P01 · 城区便民服务中心 · Lawyer · "
        "items: 1",
        f"🟢 #{world.bob_observer_id} Bob · appointed · P02 · Chamber of Commerce · Other · "
        "items: 0",
    ]
    at_p02 = one(await ada.send("/observers p02"))
    assert at_p02.plain.splitlines()[0] == "Observers at P02 · Chamber of Commerce (1)"
    assert len(at_p02.plain.splitlines()) == 2
    assert "Bob" in at_p02.plain

    assert one(await ada.send("/observers P99")).plain == (
        "There is no observation point with the code P99. /points lists them."
    )
    bad = one(await ada.send("/observers P01 P02"))
    assert bad.plain.startswith("Usage: /observers [POINT]")

    shown = one(await ada.send(f"/observer {world.alice_observer_id}"))
    assert shown.plain.splitlines() == [
        f"🟢 #{world.alice_observer_id} Alice",
        "Status: appointed",
        "Phone: on file, shown by ☎️ below",
        "Category: Lawyer",
        "Point: P01 · 城区便民服务中心",
        "Recommending unit: —",
        "Term: —",
        "Appointed: —",
        "Items filed: 1",
        "Personal data held: name · phone number · Telegram account",
    ]
    assert one(await ada.send("/observer 999")).plain == (
        "There is no observer #999. /observers lists them."
    )
    assert one(await ada.send("/observer")).plain.startswith("Usage: /observer ID")
    assert one(await ada.send("/observer Alice")).plain.startswith("Usage: /observer ID")


async def test_a_long_list_is_split_into_messages(
    tg: Telegram, sessions: Sessions, world: World
) -> None:
    async with sessions() as session, session.begin():
        session.add_all(
            Observer(
                name=f"观察员{n:03d}" + "名" * 60,
                category=ObserverCategory.OTHER,
                point_id=world.point_id,
                status=ObserverStatus.NOMINATED,
            )
            for n in range(120)
        )
    sent = await admin(tg).send("/observers")
    assert len(sent) > 1
    lines = [line for s in sent for line in s.plain.splitlines()]
    assert lines[0] == "Observers (122)"
    assert len(lines) == 123
    assert sum("观察员" in line for line in lines) == 120


# ---- invites ---------------------------------------------------------------------------


def link_code(sent: Sent) -> str:
    [line] = [x for x in sent.plain.splitlines() if x.startswith("https://t.me/")]
    assert line.startswith("https://t.me/outpost_bot?start=")
    return line.split("=", 1)[1]


async def test_invite_link_makes_an_observer_at_the_point(
    tg: Telegram, sessions: Sessions, world: World
) -> None:
    ada = admin(tg)
    sent = one(await ada.send("/invite p02"))
    lines = sent.plain.splitlines()
    assert lines[0] == "🔗 One-time invite link for a new observer at P02 · Chamber of Commerce:"
    assert lines[2] == "Valid until 2026-03-09 09:00 (Asia/Shanghai), for one person only."
    code = link_code(sent)
    [invite] = await rows(sessions, Invite)
    assert (invite.code, invite.kind, invite.point_id, invite.created_by) == (
        code,
        InviteKind.OBSERVER,
        world.other_point_id,
        ADMIN,
    )

    newcomer = tg.person(NEWCOMER, "Nora", "en")
    [welcome] = await newcomer.send(f"/start {code}")
    assert welcome.plain.startswith("Welcome, Nora! You are now an observer at Chamber of Commerce")
    [row] = await rows(sessions, Observer, Observer.user_id == NEWCOMER)
    assert (row.status, row.point_id) == (ObserverStatus.APPOINTED, world.other_point_id)

    assert one(await ada.send("/invite")).plain.startswith("Usage: /invite POINT")
    assert one(await ada.send("/invite P01 P02")).plain.startswith("Usage: /invite POINT")
    assert "no observation point with the code NOPE" in one(await ada.send("/invite NOPE")).plain
    await ada.send("/point_close P01")
    assert one(await ada.send("/invite P01")).plain == (
        "Point P01 · 城区便民服务中心 is closed already."
    )
    assert len(await rows(sessions, Invite)) == 1


async def test_liaison_link_makes_a_liaison(tg: Telegram, sessions: Sessions, world: World) -> None:
    ada = admin(tg)
    sent = one(await ada.send("/liaison housing"))
    assert sent.plain.splitlines()[0] == (
        "🔗 One-time invite link for a liaison of HOUSING · District Housing Bureau:"
    )
    code = link_code(sent)
    newcomer = tg.person(NEWCOMER, "Hu", "en")
    await newcomer.send(f"/start {code}")
    [liaison] = await rows(sessions, Liaison, Liaison.user_id == NEWCOMER)
    assert liaison.department_id == world.other_department_id
    [invite] = await rows(sessions, Invite)
    assert (invite.kind, invite.used_by) == (InviteKind.LIAISON, NEWCOMER)

    assert one(await ada.send("/liaison")).plain.startswith("Usage: /liaison DEPT")
    assert one(await ada.send("/liaison NOPE")).plain == (
        "There is no department with the code NOPE. /departments lists them."
    )
    async with sessions() as session, session.begin():
        await session.execute(
            sa.update(Department).where(Department.code == "MARKET").values(active=False)
        )
    assert one(await ada.send("/liaison MARKET")).plain == (
        "Department MARKET · 区市场监管局 is no longer active."
    )
    assert len(await rows(sessions, Invite)) == 1


# ---- suspension ------------------------------------------------------------------------


async def test_suspend_tells_the_observer(tg: Telegram, sessions: Sessions, world: World) -> None:
    ada = admin(tg)
    alice_id = world.alice_observer_id
    done = one(await ada.send(f"/suspend #{alice_id} Did not attend <any> meeting"))
    assert done.plain == (
        f"⏸ Observer Alice (#{alice_id}) is suspended. They will be told in their private chat."
    )
    row = await observer(sessions, alice_id)
    assert row.status is ObserverStatus.SUSPENDED
    [notice] = await rows(sessions, OutboxMessage, OutboxMessage.kind == "observer.suspended")
    assert notice.chat_id == ALICE
    assert notice.payload["reason"] == "Did not attend <any> meeting"

    await tg.drain()
    told = tg.chat(ALICE)[-1]
    assert "has been suspended" in told.plain or "暂停" in told.plain
    assert "Did not attend <any> meeting" in told.plain

    again = one(await ada.send(f"/suspend {alice_id}"))
    assert again.plain == (
        f"Observer Alice (#{alice_id}) is suspended, not appointed: nothing was changed."
    )
    assert one(await ada.send("/suspend")).plain.startswith("Usage: /suspend ID")
    assert one(await ada.send("/suspend Bob")).plain.startswith("Usage: /suspend ID")
    assert one(await ada.send("/suspend 999")).plain == (
        "There is no observer #999. /observers lists them."
    )
    too_long = one(await ada.send(f"/suspend {world.bob_observer_id} " + "x" * 1600))
    assert too_long.plain == "That text is too long: at most 1500 characters, please."
    assert (await observer(sessions, world.bob_observer_id)).status is ObserverStatus.APPOINTED
    assert len(await rows(sessions, OutboxMessage, OutboxMessage.kind == "observer.suspended")) == 1


# ---- points ----------------------------------------------------------------------------


async def test_points_added_listed_and_closed(
    tg: Telegram, sessions: Sessions, world: World
) -> None:
    ada = admin(tg)
    listing = one(await ada.send("/points"))
    assert listing.plain.splitlines() == [
        "Observation points (2)",
        "🟢 P01 · 城区便民服务中心 · Optimising the business environment · Service centre · "
        "observers: 1",
        "🟢 P02 · Chamber of Commerce · Dispute resolution · Chamber of commerce · observers: 1",
    ]

    bad = one(await ada.send("/point_add P03 business"))
    assert bad.plain.startswith("Usage: /point_add CODE DOMAIN HOST NAME")
    assert "DOMAIN is one of: business (Optimising the business environment), governance" in (
        bad.plain
    )
    assert "HOST is one of: service_centre (Service centre), trade_association" in bad.plain
    wrong = one(await ada.send("/point_add P03 commerce school Some school"))
    assert wrong.plain.startswith("commerce is not one of the allowed values.\nUsage:")
    wrong = one(await ada.send("/point_add P03 youth castle Some school"))
    assert wrong.plain.startswith("castle is not one of the allowed values.")
    code = one(await ada.send("/point_add P#3 youth school Some school"))
    assert code.plain.startswith("P#3 is not a valid code")
    dup = one(await ada.send("/point_add p01 youth school Some school"))
    assert dup.plain == "A point with the code P01 already exists."

    added = one(await ada.send("/point_add p03 Youth school 第一中学 <法治> 观测点"))
    assert added.plain.splitlines() == [
        "✅ Point added: P03 · 第一中学 <法治> 观测点 · Youth legal education · School.",
        "/invite P03 makes an invite link for its observers.",
    ]
    [point] = await rows(sessions, Point, Point.code == "P03")
    assert (point.name, point.domain, point.host_kind, point.active) == (
        "第一中学 <法治> 观测点",
        FocusDomain.YOUTH_LEGAL_EDUCATION,
        HostKind.SCHOOL,
        True,
    )

    closed = one(await ada.send("/point_close P01"))
    assert closed.plain.splitlines() == [
        "⚪ Point P01 · 城区便民服务中心 is closed.",
        "Observers asked to choose another point: 1.",
    ]
    [p01] = await rows(sessions, Point, Point.code == "P01")
    assert p01.active is False
    [notice] = await rows(sessions, OutboxMessage, OutboxMessage.kind == "point.closed")
    assert (notice.chat_id, notice.payload["code"]) == (ALICE, "P01")
    await tg.drain()
    told = tg.chat(ALICE)[-1]
    assert "城区便民服务中心" in told.plain
    assert len(told.buttons()) == 1
    assert told.buttons()[0][1] == "mv:0"

    assert "⚪ P01 · 城区便民服务中心" in one(await ada.send("/points")).plain
    assert one(await ada.send("/points")).plain.count("closed") == 1
    assert one(await ada.send("/point_close P01")).plain == (
        "Point P01 · 城区便民服务中心 is closed already."
    )
    assert one(await ada.send("/point_close")).plain.startswith("Usage: /point_close POINT")
    assert "code NOPE" in one(await ada.send("/point_close NOPE")).plain
    assert one(await ada.send("/points all")).plain.startswith("Usage: /points")
    assert len(await rows(sessions, OutboxMessage, OutboxMessage.kind == "point.closed")) == 1


# ---- departments -----------------------------------------------------------------------


async def test_departments_listed_and_added(tg: Telegram, sessions: Sessions) -> None:
    ada = admin(tg)
    assert one(await ada.send("/departments")).plain.splitlines() == [
        "Departments (2)",
        "🏢 HOUSING · District Housing Bureau · liaisons: 0",
        "🏢 MARKET · 区市场监管局 · liaisons: 1",
    ]
    assert one(await ada.send("/dept_add EDU")).plain.startswith("Usage: /dept_add CODE NAME")
    assert one(await ada.send("/dept_add E*U Education")).plain.startswith(
        "E*U is not a valid code"
    )
    assert one(await ada.send("/dept_add market Market")).plain == (
        "A department with the code MARKET already exists."
    )
    added = one(await ada.send("/dept_add edu 区教育委员会 & <Schools>"))
    assert added.plain.splitlines() == [
        "✅ Department added: EDU · 区教育委员会 & <Schools>.",
        "/liaison EDU makes an invite link for its liaison.",
    ]
    [row] = await rows(sessions, Department, Department.code == "EDU")
    assert (row.name, row.active) == ("区教育委员会 & <Schools>", True)
    assert "🏢 EDU · 区教育委员会 & <Schools> · liaisons: 0" in (
        one(await ada.send("/departments")).plain
    )
    assert one(await ada.send("/departments x")).plain.startswith("Usage: /departments")


# ---- who may ---------------------------------------------------------------------------


async def test_others_are_refused_and_nothing_changes(
    tg: Telegram, sessions: Sessions, world: World
) -> None:
    nina = tg.member(9003, "Nina", GROUP, "member")
    # Told once; after that her tries cost the group's few messages a minute nothing.
    assert one(await nina.send("/observers")).plain == ONLY_ADMINS
    for command in (
        f"/observer {world.alice_observer_id}",
        "/invite P01",
        "/liaison MARKET",
        f"/suspend {world.alice_observer_id}",
        "/points",
        "/point_add P09 youth school X",
        "/point_close P01",
        "/departments",
        "/dept_add EDU Education",
    ):
        assert await nina.send(command) == []
    alice = tg.person(ALICE, "Alice", "en")
    for command in (f"/suspend {world.bob_observer_id}", "/point_close P02", "/invite P01"):
        assert one(await alice.send(command)).plain == (
            "This command works only in an office's admin group."
        )
    assert await rows(sessions, Invite) == []
    assert len(await rows(sessions, Point)) == 2
    assert all(p.active for p in await rows(sessions, Point))
    assert len(await rows(sessions, Department)) == 2
    assert (await observer(sessions, world.alice_observer_id)).status is ObserverStatus.APPOINTED
    assert (await observer(sessions, world.bob_observer_id)).status is ObserverStatus.APPOINTED
    assert await rows(sessions, OutboxMessage) == []
