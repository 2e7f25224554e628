"""Who takes part: users, observers, applications, invites and liaisons.

Each step is one transaction, as one Telegram update would be; a refused step rolls
back, and the tests read what the database then holds.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from bot.domain.errors import (
    AlreadyMoved,
    Conflict,
    InvalidInput,
    InviteExpired,
    InviteInvalid,
    InviteUsed,
    MissingInput,
    NotAppointed,
    NotFound,
    NotPermitted,
    PointInactive,
)
from bot.domain.roles import Role
from bot.domain.statuses import (
    ApplicationStatus,
    InviteKind,
    ObserverCategory,
    ObserverStatus,
)
from bot.domain.statuses import SuggestionStatus as S
from bot.services.actors import Actor
from bot.services.people import PeopleService
from bot.services.suggestions import SuggestionService
from storage.models import (
    Application,
    Department,
    Invite,
    Liaison,
    Observer,
    OutboxMessage,
    Point,
    Suggestion,
    TelegramUser,
)
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

NEWCOMER = 7777  # a Telegram user the bot has never seen


class Env(Harness):
    service = PeopleService

    async def identify(self, user_id: int) -> Actor:
        async def go(store: Store) -> Actor:
            return await actor(store, user_id)

        return await self.run(go)

    async def submit(self, user_id: int) -> Any:
        async def go(store: Store) -> Any:
            svc = SuggestionService(store, POLICY, self.clock)
            return await svc.submit(await actor(store, user_id), draft())

        return await self.run(go)


@pytest.fixture
async def env(sessions: Any) -> Env:
    return Env(sessions, await build_world(sessions), FixedClock())


def rows_of(rows: list[OutboxMessage]) -> list[tuple[str, int | None, str, dict[str, Any]]]:
    return [(r.audience, r.chat_id, r.kind, r.payload) for r in rows]


async def stranger_applies(env: Env, **kwargs: Any) -> Any:
    fields: dict[str, Any] = {
        "name": "Stan",
        "phone": "13900000009",
        "category": ObserverCategory.PRIVATE_ENTREPRENEUR,
        "recommending_unit": "区工商联",
        "desired_point_id": env.world.other_point_id,
        "resume": "从事餐饮业十年",
    }
    fields.update(kwargs)
    return await env.anyone.apply(fields.pop("user_id", STRANGER), **fields)


# ---- Telegram users ---------------------------------------------------------------------


async def test_register_records_and_refreshes_a_user(env):
    await env.anyone.register(NEWCOMER, first_name="New", username="new", language_code="en")
    user = await env.get(TelegramUser, NEWCOMER)
    assert (user.first_name, user.username, user.language_code, user.blocked) == (
        "New",
        "new",
        "en",
        False,
    )
    await env.anyone.register(NEWCOMER, first_name="Renamed", username=None)
    user = await env.get(TelegramUser, NEWCOMER)
    assert (user.first_name, user.username, user.language_code) == ("Renamed", None, "en")


async def test_set_locale(env):
    await env.anyone.set_locale(ALICE, "en")
    assert (await env.get(TelegramUser, ALICE)).locale == "en"
    await env.anyone.set_locale(ALICE, None)
    assert (await env.get(TelegramUser, ALICE)).locale is None
    with pytest.raises(NotFound):
        await env.anyone.set_locale(NEWCOMER, "en")


# ---- observers ----------------------------------------------------------------------------


async def test_the_office_puts_a_nominee_on_file_and_appoints_them(env):
    nominee = await env.admin.add_observer(
        name=" 张三 ",
        category=ObserverCategory.NPC_DEPUTY,
        point_id=env.world.point_id,
        phone=" 138-0000-0002 ",
        recommending_unit="城关镇人大",
    )
    assert nominee.status is ObserverStatus.NOMINATED
    assert (nominee.name, nominee.phone, nominee.user_id) == ("张三", "138-0000-0002", None)

    env.clock.advance(hours=2)
    appointed = await env.admin.appoint(nominee.id)
    assert appointed.status is ObserverStatus.APPOINTED
    assert appointed.point_id == env.world.point_id
    assert (appointed.term_start, appointed.term_end) == (date(2026, 3, 2), date(2028, 3, 1))
    row = await env.get(Observer, nominee.id)
    assert row.appointed_at == env.clock.now
    assert await env.outbox() == []  # no Telegram account to tell yet


async def test_appoint_with_a_term_and_another_point(env):
    nominee = await env.admin.add_observer(
        name="李四", category=ObserverCategory.LAWYER, point_id=None
    )
    with pytest.raises(NotFound):  # no point anywhere
        await env.admin.appoint(nominee.id)
    with pytest.raises(InvalidInput):
        await env.admin.appoint(
            nominee.id,
            point_id=env.world.point_id,
            term_start=date(2026, 6, 1),
            term_end=date(2026, 5, 31),
        )
    appointed = await env.admin.appoint(
        nominee.id,
        point_id=env.world.other_point_id,
        term_start=date(2026, 4, 1),
        term_end=date(2027, 3, 31),
    )
    assert appointed.point_id == env.world.other_point_id
    assert (appointed.term_start, appointed.term_end) == (date(2026, 4, 1), date(2027, 3, 31))


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"name": "  "}, MissingInput),
        ({"name": "名" * 101}, InvalidInput),
        ({"phone": "call me"}, InvalidInput),
        ({"phone": "1234"}, InvalidInput),
        ({"phone": "1-2-3-4-5-6-7-8-9-0-1-2-3-4-5-6-7"}, InvalidInput),  # wider than the column
        ({"resume": "x" * 1001}, InvalidInput),
        ({"point_id": 999}, NotFound),
    ],
)
async def test_add_observer_refuses_bad_input(env, fields, error):
    values: dict[str, Any] = {
        "name": "张三",
        "category": ObserverCategory.OTHER,
        "point_id": env.world.point_id,
    }
    values.update(fields)
    with pytest.raises(error):
        await env.admin.add_observer(**values)
    assert await env.count(Observer) == 2


async def test_observers_at_a_closed_point_cannot_be_added(env):
    await env.update(Point, env.world.point_id, active=False)
    with pytest.raises(PointInactive):
        await env.admin.add_observer(
            name="张三", category=ObserverCategory.OTHER, point_id=env.world.point_id
        )


@pytest.mark.parametrize("who", [ALICE, LIAISON, STRANGER])
async def test_managing_observers_is_for_the_office(env, who):
    person = env.by(who)
    with pytest.raises(NotPermitted):
        await person.add_observer(name="x", category=ObserverCategory.OTHER, point_id=None)
    with pytest.raises(NotPermitted):
        await person.appoint(env.world.bob_observer_id)
    with pytest.raises(NotPermitted):
        await person.suspend(env.world.bob_observer_id)
    with pytest.raises(NotPermitted):
        await person.dismiss(env.world.bob_observer_id)
    with pytest.raises(NotPermitted):
        await person.move(env.world.bob_observer_id, env.world.point_id)
    with pytest.raises(NotPermitted):
        await person.observers()
    with pytest.raises(NotPermitted):
        await person.observer(env.world.bob_observer_id)
    assert (await env.get(Observer, env.world.bob_observer_id)).status is ObserverStatus.APPOINTED
    assert await env.outbox() == []


async def test_the_office_lists_observers(env):
    everyone = await env.admin.observers()
    assert [o.name for o in everyone] == ["Alice", "Bob"]
    at_p01 = await env.admin.observers(point_id=env.world.point_id)
    assert [o.id for o in at_p01] == [env.world.alice_observer_id]
    alice = await env.admin.observer(env.world.alice_observer_id)
    assert (alice.name, alice.user_id, alice.phone, alice.category) == (
        "Alice",
        ALICE,
        "13800000001",
        ObserverCategory.LAWYER,
    )
    with pytest.raises(NotFound):
        await env.admin.observer(999)


async def test_a_suspended_observer_files_nothing_but_is_told_why(env):
    env.clock.advance(hours=1)
    suspended = await env.admin.suspend(env.world.alice_observer_id, " 连续三月未履职 ")
    assert suspended.status is ObserverStatus.SUSPENDED
    assert (await env.get(Observer, env.world.alice_observer_id)).suspended_at == env.clock.now
    assert rows_of(await env.outbox()) == [
        ("user", ALICE, "observer.suspended", {"reason": "连续三月未履职"}),
    ]
    with pytest.raises(NotAppointed):
        await env.submit(ALICE)
    # Still an observer for following what they filed.
    assert Role.OBSERVER in (await env.identify(ALICE)).roles
    with pytest.raises(Conflict):
        await env.admin.suspend(env.world.alice_observer_id)
    with pytest.raises(NotFound):
        await env.admin.suspend(999)

    # Appointed again: filing works, and Alice is told.
    again = await env.admin.appoint(env.world.alice_observer_id)
    assert again.status is ObserverStatus.APPOINTED
    assert (await env.get(Observer, env.world.alice_observer_id)).suspended_at is None
    assert rows_of(await env.outbox())[-1] == (
        "user",
        ALICE,
        "observer.appointed",
        {"point": "城区便民服务中心", "code": "P01"},
    )
    assert (await env.submit(ALICE)).status is S.SUBMITTED


async def test_a_dismissed_observer_is_no_observer_and_cannot_be_appointed(env):
    dismissed = await env.admin.dismiss(env.world.bob_observer_id)
    assert dismissed.status is ObserverStatus.DISMISSED
    assert dismissed.term_end == date(2026, 3, 2)
    assert Role.OBSERVER not in (await env.identify(BOB)).roles
    with pytest.raises(NotPermitted):
        await env.submit(BOB)
    with pytest.raises(Conflict):
        await env.admin.appoint(env.world.bob_observer_id)


async def test_the_office_moves_an_observer(env):
    moved = await env.admin.move(env.world.alice_observer_id, env.world.other_point_id)
    assert moved.point_id == env.world.other_point_id
    assert (await env.get(Observer, env.world.alice_observer_id)).point_id == (
        env.world.other_point_id
    )
    moved_payload = {
        "observer_id": env.world.alice_observer_id,
        "name": "Alice",
        "point": "Chamber of Commerce",
    }
    # The office and Alice herself both hear where she now belongs.
    assert rows_of(await env.outbox()) == [
        ("admins", None, "observer.moved", moved_payload),
        ("user", ALICE, "observer.moved", moved_payload),
    ]
    item = await env.submit(ALICE)
    assert item.point_id == env.world.other_point_id


async def test_an_observer_moves_themself_when_their_point_closes(env):
    await env.update(Point, env.world.point_id, active=False)
    with pytest.raises(PointInactive):
        await env.submit(ALICE)
    with pytest.raises(PointInactive):  # to a closed point
        await env.by(ALICE).move(env.world.alice_observer_id, env.world.point_id)
    with pytest.raises(NotFound):
        await env.by(ALICE).move(env.world.alice_observer_id, 999)
    with pytest.raises(NotPermitted):  # nobody else's observer
        await env.by(ALICE).move(env.world.bob_observer_id, env.world.point_id)

    moved = await env.by(ALICE).move(env.world.alice_observer_id, env.world.other_point_id)
    assert moved.point_id == env.world.other_point_id
    # The office hears of it; Alice is not told of her own move.
    assert [(r.audience, r.chat_id, r.kind) for r in await env.outbox()] == [
        ("admins", None, "observer.moved"),
    ]
    with pytest.raises(Conflict):
        await env.by(ALICE).move(env.world.alice_observer_id, env.world.other_point_id)
    assert (await env.submit(ALICE)).point_id == env.world.other_point_id


# ---- applications -----------------------------------------------------------------------


async def test_a_stranger_applies_and_the_office_is_told(env):
    application = await stranger_applies(env, name=" Stan ")
    assert application.status is ApplicationStatus.PENDING
    assert (application.user_id, application.name, application.phone) == (
        STRANGER,
        "Stan",
        "13900000009",
    )
    assert application.desired_point_id == env.world.other_point_id
    assert application.observer_id is None
    assert rows_of(await env.outbox()) == [
        ("admins", None, "application.new", {"application_id": application.id}),
    ]
    pending = await env.admin.pending_applications()
    assert [a.id for a in pending] == [application.id]

    with pytest.raises(Conflict):
        await stranger_applies(env)
    assert await env.count(Application) == 1
    assert len(await env.outbox()) == 1


async def test_someone_the_bot_never_saw_may_apply(env):
    application = await stranger_applies(env, user_id=NEWCOMER, desired_point_id=None)
    assert application.user_id == NEWCOMER
    assert await env.get(TelegramUser, NEWCOMER) is not None


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"user_id": ALICE}, Conflict),  # already an observer
        ({"name": ""}, MissingInput),
        ({"phone": "n/a"}, InvalidInput),
        ({"phone": ""}, InvalidInput),
        ({"desired_point_id": 999}, NotFound),
    ],
)
async def test_a_bad_application_is_refused(env, fields, error):
    with pytest.raises(error):
        await stranger_applies(env, **fields)
    assert await env.count(Application) == 0
    assert await env.outbox() == []


async def test_an_application_for_a_closed_point_is_refused(env):
    await env.update(Point, env.world.other_point_id, active=False)
    with pytest.raises(PointInactive):
        await stranger_applies(env)


async def test_approval_appoints_the_applicant_and_tells_them(env):
    application = await stranger_applies(env)
    env.clock.advance(days=1)
    observer = await env.admin.approve(application.id, version=application.version)

    assert observer.status is ObserverStatus.APPOINTED
    assert observer.user_id == STRANGER
    assert observer.point_id == env.world.other_point_id
    assert (observer.name, observer.phone, observer.category, observer.recommending_unit) == (
        "Stan",
        "13900000009",
        ObserverCategory.PRIVATE_ENTREPRENEUR,
        "区工商联",
    )
    assert observer.term_start == date(2026, 3, 3)
    row = await env.get(Application, application.id)
    assert row.status is ApplicationStatus.APPROVED
    assert (row.observer_id, row.decided_by, row.decided_at) == (
        observer.id,
        ADMIN,
        env.clock.now,
    )
    assert rows_of(await env.outbox())[1:] == [
        ("user", STRANGER, "application.approved", {"point": "Chamber of Commerce", "code": "P02"}),
    ]
    assert await env.admin.pending_applications() == []

    # Now an observer: identified as one, and filing at the point.
    who = await env.identify(STRANGER)
    assert who.roles == {Role.OBSERVER}
    assert who.observer_id == observer.id
    assert (await env.submit(STRANGER)).point_id == env.world.other_point_id


async def test_the_office_may_approve_for_another_point(env):
    application = await stranger_applies(env, desired_point_id=None)
    with pytest.raises(NotFound):  # no point asked for, none given
        await env.admin.approve(application.id)
    observer = await env.admin.approve(application.id, point_id=env.world.point_id)
    assert observer.point_id == env.world.point_id


async def test_an_application_is_decided_once(env):
    application = await stranger_applies(env)
    with pytest.raises(AlreadyMoved):
        await env.admin.approve(application.id, version=application.version + 1)
    await env.admin.approve(application.id, version=application.version)
    outbox = len(await env.outbox())
    with pytest.raises(AlreadyMoved):
        await env.admin.approve(application.id)
    with pytest.raises(AlreadyMoved):
        await env.admin.reject(application.id, "已批准")
    assert len(await env.outbox()) == outbox
    assert await env.count(Observer) == 3
    with pytest.raises(NotFound):
        await env.admin.approve(999)


async def test_approval_to_a_closed_point_is_refused(env):
    application = await stranger_applies(env)
    await env.update(Point, env.world.other_point_id, active=False)
    with pytest.raises(PointInactive):
        await env.admin.approve(application.id)
    assert (await env.get(Application, application.id)).status is ApplicationStatus.PENDING


async def test_rejection_needs_a_reason_and_tells_the_applicant(env):
    application = await stranger_applies(env)
    with pytest.raises(MissingInput):
        await env.admin.reject(application.id, "  ")
    rejected = await env.admin.reject(application.id, "本期名额已满")
    assert rejected.status is ApplicationStatus.REJECTED
    assert rejected.reason == "本期名额已满"
    row = await env.get(Application, application.id)
    assert (row.decided_by, row.decided_at) == (ADMIN, env.clock.now)
    assert rows_of(await env.outbox())[1:] == [
        ("user", STRANGER, "application.rejected", {"reason": "本期名额已满"}),
    ]
    with pytest.raises(AlreadyMoved):
        await env.admin.approve(application.id)
    assert Role.OBSERVER not in (await env.identify(STRANGER)).roles
    # A rejected applicant may try again later.
    again = await stranger_applies(env)
    assert again.id != application.id


@pytest.mark.parametrize("who", [ALICE, LIAISON, STRANGER])
async def test_deciding_applications_is_for_the_office(env, who):
    application = await stranger_applies(env)
    with pytest.raises(NotPermitted):
        await env.by(who).approve(application.id)
    with pytest.raises(NotPermitted):
        await env.by(who).reject(application.id, "no")
    with pytest.raises(NotPermitted):
        await env.by(who).pending_applications()
    assert (await env.get(Application, application.id)).status is ApplicationStatus.PENDING


async def test_a_dismissed_observer_may_apply_again_and_be_appointed(env):
    await env.admin.dismiss(env.world.bob_observer_id)
    env.clock.advance(days=30)
    application = await stranger_applies(env, user_id=BOB, name="Bob")
    observer = await env.admin.approve(application.id)
    # The same person, on a new term.
    assert observer.id == env.world.bob_observer_id
    assert observer.status is ObserverStatus.APPOINTED
    assert observer.term_start == date(2026, 4, 1)
    assert observer.term_end == date(2028, 3, 31)
    assert (await env.submit(BOB)).status is S.SUBMITTED


# ---- invites ----------------------------------------------------------------------------


async def test_an_observer_invite_appoints_whoever_redeems_it(env):
    invite = await env.admin.invite_observer(env.world.point_id)
    assert invite.kind is InviteKind.OBSERVER
    assert invite.point_id == env.world.point_id
    assert invite.expires_at == env.clock.now + POLICY.invite_ttl
    # A Telegram deep-link payload: at most 64 characters of [A-Za-z0-9_-].
    assert 16 <= len(invite.code) <= 64
    assert set(invite.code) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
    )
    second = await env.admin.invite_observer(env.world.point_id)
    assert second.code != invite.code

    env.clock.advance(hours=3)
    redeemed = await env.anyone.redeem(STRANGER, f" {invite.code} ", name="Stan Li")
    assert redeemed.kind is InviteKind.OBSERVER
    assert redeemed.point_id == env.world.point_id
    observer = await env.get(Observer, redeemed.observer_id)
    assert (observer.user_id, observer.name, observer.status, observer.point_id) == (
        STRANGER,
        "Stan Li",
        ObserverStatus.APPOINTED,
        env.world.point_id,
    )
    assert observer.appointed_at == env.clock.now
    row = (await env.scalars(sa.select(Invite).where(Invite.code == invite.code)))[0]
    assert (row.used_by, row.used_at, row.created_by) == (STRANGER, env.clock.now, ADMIN)
    assert rows_of(await env.outbox()) == [
        (
            "admins",
            None,
            "observer.appointed",
            {"observer_id": observer.id, "name": "Stan Li", "point": "城区便民服务中心"},
        ),
    ]
    assert (await env.identify(STRANGER)).roles == {Role.OBSERVER}
    assert (await env.submit(STRANGER)).point_id == env.world.point_id


async def test_an_invite_is_used_once(env):
    invite = await env.admin.invite_observer(env.world.point_id)
    await env.anyone.redeem(STRANGER, invite.code)
    with pytest.raises(InviteUsed):
        await env.anyone.redeem(NEWCOMER, invite.code)
    with pytest.raises(InviteUsed):
        await env.anyone.redeem(STRANGER, invite.code)
    assert await env.get(TelegramUser, NEWCOMER) is None
    assert await env.count(Observer) == 3


async def test_an_invite_expires_after_its_ttl(env):
    late = await env.admin.invite_observer(env.world.point_id)
    in_time = await env.admin.invite_observer(env.world.point_id)
    env.clock.advance(seconds=POLICY.invite_ttl.total_seconds() - 60)
    await env.anyone.redeem(STRANGER, in_time.code)
    env.clock.advance(seconds=60)
    with pytest.raises(InviteExpired):
        await env.anyone.redeem(NEWCOMER, late.code)
    assert await env.get(TelegramUser, NEWCOMER) is None
    row = (await env.scalars(sa.select(Invite).where(Invite.code == late.code)))[0]
    assert row.used_at is None


@pytest.mark.parametrize("code", ["", "   ", "not-a-real-code", "x" * 200])
async def test_a_forged_invite_is_invalid(env, code):
    await env.admin.invite_observer(env.world.point_id)
    with pytest.raises(InviteInvalid):
        await env.anyone.redeem(STRANGER, code)
    assert await env.count(Observer) == 2


@pytest.mark.parametrize("who", [ALICE, BOB, LIAISON, STRANGER])
async def test_only_the_office_creates_invites(env, who):
    with pytest.raises(NotPermitted):
        await env.by(who).invite_observer(env.world.point_id)
    with pytest.raises(NotPermitted):
        await env.by(who).invite_liaison(env.world.department_id)
    assert await env.count(Invite) == 0


async def test_invites_need_an_open_point_or_an_active_department(env):
    with pytest.raises(NotFound):
        await env.admin.invite_observer(999)
    with pytest.raises(NotFound):
        await env.admin.invite_observer(env.world.point_id, observer_id=999)
    with pytest.raises(NotFound):
        await env.admin.invite_liaison(999)
    await env.update(Point, env.world.point_id, active=False)
    await env.update(Department, env.world.other_department_id, active=False)
    with pytest.raises(PointInactive):
        await env.admin.invite_observer(env.world.point_id)
    with pytest.raises(NotFound):
        await env.admin.invite_liaison(env.world.other_department_id)
    assert await env.count(Invite) == 0


async def test_an_invite_to_a_point_closed_since_is_invalid(env):
    invite = await env.admin.invite_observer(env.world.point_id)
    await env.update(Point, env.world.point_id, active=False)
    with pytest.raises(InviteInvalid):
        await env.anyone.redeem(STRANGER, invite.code)
    assert await env.count(Observer) == 2


async def test_an_invite_for_a_nominee_on_file_links_their_account(env):
    nominee = await env.admin.add_observer(
        name="王五", category=ObserverCategory.COMMUNITY_STAFF, point_id=None
    )
    invite = await env.admin.invite_observer(env.world.other_point_id, observer_id=nominee.id)
    redeemed = await env.anyone.redeem(NEWCOMER, invite.code, name="Wang")
    assert redeemed.observer_id == nominee.id
    observer = await env.get(Observer, nominee.id)
    assert (observer.user_id, observer.name, observer.status, observer.point_id) == (
        NEWCOMER,
        "王五",  # the name on file, not the Telegram name
        ObserverStatus.APPOINTED,
        env.world.other_point_id,
    )
    assert (await env.get(TelegramUser, NEWCOMER)).first_name == "Wang"
    assert await env.count(Observer) == 3


async def test_an_invite_for_a_nominee_refuses_another_observers_account(env):
    nominee = await env.admin.add_observer(
        name="王五", category=ObserverCategory.COMMUNITY_STAFF, point_id=None
    )
    invite = await env.admin.invite_observer(env.world.point_id, observer_id=nominee.id)
    with pytest.raises(Conflict):
        await env.anyone.redeem(BOB, invite.code)
    await env.anyone.redeem(NEWCOMER, invite.code)
    # An invite made for an observer whose account is already linked.
    again = await env.admin.invite_observer(env.world.point_id, observer_id=nominee.id)
    with pytest.raises(InviteInvalid):
        await env.anyone.redeem(STRANGER, again.code)


async def test_a_dismissed_observer_cannot_come_back_by_invite(env):
    await env.admin.dismiss(env.world.bob_observer_id)
    invite = await env.admin.invite_observer(env.world.point_id)
    with pytest.raises(InviteInvalid):
        await env.anyone.redeem(BOB, invite.code)
    assert (await env.get(Observer, env.world.bob_observer_id)).status is (ObserverStatus.DISMISSED)


async def test_a_liaison_invite_makes_a_liaison_of_the_department(env):
    invite = await env.admin.invite_liaison(env.world.other_department_id)
    assert invite.kind is InviteKind.LIAISON
    assert invite.department_id == env.world.other_department_id
    assert Role.LIAISON not in (await env.identify(NEWCOMER)).roles

    redeemed = await env.anyone.redeem(NEWCOMER, invite.code, name="Hu")
    assert redeemed.kind is InviteKind.LIAISON
    assert redeemed.department_id == env.world.other_department_id
    liaison = await env.get(Liaison, redeemed.liaison_id)
    assert (liaison.user_id, liaison.department_id, liaison.name, liaison.active) == (
        NEWCOMER,
        env.world.other_department_id,
        "Hu",
        True,
    )
    assert rows_of(await env.outbox()) == [
        (
            "admins",
            None,
            "liaison.joined",
            {"department": "District Housing Bureau", "name": "Hu"},
        ),
    ]
    who = await env.identify(NEWCOMER)
    assert who.roles == {Role.LIAISON}
    assert who.view.department_ids == {env.world.other_department_id}
    assert who.observer_id is None

    # The new liaison sees what the office adopts for the department.
    item = await env.submit(ALICE)

    async def adopt(store: Store) -> Any:
        svc = SuggestionService(store, POLICY, env.clock)
        admin = await actor(store, ADMIN, admin=True)
        await svc.take(admin, item.id)
        await svc.adopt(admin, item.id, department_id=env.world.other_department_id, due=DUE)
        return await svc.accept(await actor(store, NEWCOMER), item.id)

    assert (await env.run(adopt)).status is S.IMPLEMENTING
    told = await env.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "item.adopt"))
    assert NEWCOMER in {r.chat_id for r in told}


async def test_a_liaison_invite_reactivates_a_former_liaison(env):
    (old,) = await env.scalars(sa.select(Liaison).where(Liaison.user_id == LIAISON))
    await env.update(Liaison, old.id, active=False)
    assert Role.LIAISON not in (await env.identify(LIAISON)).roles
    invite = await env.admin.invite_liaison(env.world.department_id)
    redeemed = await env.anyone.redeem(LIAISON, invite.code, name="Li")
    assert redeemed.liaison_id == old.id
    assert await env.count(Liaison) == 1
    assert (await env.identify(LIAISON)).view.department_ids == {env.world.department_id}


async def test_a_liaison_invite_for_a_department_closed_since_is_invalid(env):
    invite = await env.admin.invite_liaison(env.world.other_department_id)
    await env.update(Department, env.world.other_department_id, active=False)
    with pytest.raises(InviteInvalid):
        await env.anyone.redeem(NEWCOMER, invite.code)
    assert await env.count(Liaison) == 1


async def test_the_invite_ttl_follows_the_policy(env):
    env.clock.advance(days=1)
    invite = await env.admin.invite_liaison(env.world.department_id)
    assert invite.expires_at - env.clock.now == timedelta(days=7)
    row = (await env.scalars(sa.select(Invite)))[0]
    assert row.expires_at == invite.expires_at
    assert row.kind is InviteKind.LIAISON
    assert row.point_id is None


async def test_nothing_here_touches_items(env):
    """People management writes no item, event or item notification."""
    application = await stranger_applies(env)
    await env.admin.approve(application.id)
    await env.admin.suspend(env.world.alice_observer_id)
    assert await env.count(Suggestion) == 0
    assert all(r.suggestion_id is None for r in await env.outbox())
