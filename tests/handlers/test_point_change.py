"""A change of observation point is a request the office decides (issue 19, point 3).

The observer chooses with /point, confirms (or cancels), and files a request; the
office's group gets a card "X asks to move from P01 to P16" with Approve / Refuse; only
approval changes the observer's point, and the observer is told either way, in their
language. One request waits per observer: asking again replaces it, and it can be
withdrawn. Played through the Dispatcher, the outbox sender and the fake Telegram.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.point_requests import RequestStatus
from bot.domain.statuses import FocusDomain, HostKind
from bot.services.places import PlaceService
from handlers.moving import AskCb, MoveCb
from handlers.point_change import PointReqCb
from storage.models import Observer, OutboxMessage, Point, PointRequest
from tests.handlers.conftest import make_settings, new_telegram
from tests.harness import Harness
from tests.telegram import Person, Sent, Telegram
from tests.world import ADMIN, ALICE, BOB, FixedClock, World

Sessions = async_sessionmaker[AsyncSession]
GROUP = -100500
CANCEL = AskCb(act="x").pack()


@pytest.fixture
async def tg(sessions: Sessions, world: World, clock: FixedClock) -> AsyncIterator[Telegram]:
    # The office's group reads English here; Alice reads Chinese, Bob English.
    tg = new_telegram(sessions, clock, settings=make_settings(default_locale="en"))
    yield tg
    await tg.bot.session.close()
    assert tg.session.problems == []


class Places(Harness):
    service = PlaceService


def admin(tg: Telegram) -> Person:
    return tg.member(ADMIN, "Ada", GROUP, "administrator", language_code="en")


def second(tg: Telegram) -> Person:
    return tg.member(9002, "Bo", GROUP, "administrator", language_code="en")


def cards(tg: Telegram) -> list[Sent]:
    return [s for s in tg.chat(GROUP) if "Change of point #" in s.plain]


async def point_of(sessions: Sessions, observer_id: int) -> int | None:
    async with sessions() as session:
        observer = await session.get(Observer, observer_id)
        assert observer is not None
        return observer.point_id


async def requests(sessions: Sessions) -> list[PointRequest]:
    async with sessions() as session:
        stmt = sa.select(PointRequest).order_by(PointRequest.id)
        return list((await session.execute(stmt)).scalars().all())


async def outbox(sessions: Sessions, kind: str) -> list[OutboxMessage]:
    async with sessions() as session:
        stmt = sa.select(OutboxMessage).where(OutboxMessage.kind == kind)
        return list((await session.execute(stmt.order_by(OutboxMessage.id))).scalars().all())


async def third_point(sessions: Sessions) -> int:
    async with sessions() as session, session.begin():
        point = Point(
            code="P16",
            name="Riverside <Market> & Co",
            domain=FocusDomain.BUSINESS_ENVIRONMENT,
            host_kind=HostKind.ENTERPRISE,
        )
        session.add(point)
        await session.flush()
        return point.id


async def test_bob_asks_to_move_and_only_the_office_s_approval_moves_him(
    tg: Telegram, sessions: Sessions, world: World
) -> None:
    bob = tg.person(BOB, "Bob", "en")
    [where] = await bob.send("/point")
    assert "Your observation point is P02 · Chamber of Commerce." in where.plain
    assert "Your point changes only once the office approves." in where.plain
    assert where.buttons() == [
        ("P01 · 城区便民服务中心", MoveCb(point=world.point_id).pack()),
        ("✖️ Cancel", CANCEL),
    ]

    # The picker's Cancel: nothing is asked.
    [cancelled] = await bob.press("✖️ Cancel")
    assert cancelled.message_id == where.message_id
    assert cancelled.plain == (
        "Cancelled: nothing was sent. Your observation point stays P02 · Chamber of Commerce."
    )
    assert cancelled.buttons() == []
    assert await requests(sessions) == []

    # Choosing asks to confirm, in place; Back returns to the list.
    [where] = await bob.send("/point")
    [confirm] = await bob.press("P01 · 城区便民服务中心")
    assert confirm.message_id == where.message_id
    assert confirm.plain.startswith(
        "Ask the district office to move you from P02 · Chamber of Commerce to "
        "P01 · 城区便民服务中心?"
    )
    assert [text for text, _ in confirm.buttons()] == ["✅ Send the request", "⬅️ Back", "✖️ Cancel"]
    assert await requests(sessions) == []
    [back] = await bob.press("⬅️ Back")
    assert back.buttons() == where.buttons()

    await bob.press("P01 · 城区便民服务中心")
    [sent] = await bob.press("✅ Send the request")
    assert sent.plain == (
        "📨 Your request to move to P01 · 城区便民服务中心 has been sent to the district "
        "office. You will be told of its decision; until then your observation point stays "
        "P02 · Chamber of Commerce."
    )
    assert sent.buttons() == []
    assert tg.session.alerts[-1][1] == "Request sent."
    [asked] = await requests(sessions)
    assert (asked.observer_id, asked.from_point_id, asked.to_point_id, asked.status) == (
        world.bob_observer_id,
        world.other_point_id,
        world.point_id,
        RequestStatus.PENDING,
    )
    # Nothing moved yet: the figures stay with the point he files from.
    assert await point_of(sessions, world.bob_observer_id) == world.other_point_id
    [queued] = await outbox(sessions, "point_request.new")
    assert (queued.audience, queued.payload) == ("admins", {"request_id": asked.id})

    # The office's card.
    await tg.drain()
    [card] = cards(tg)
    assert (
        f"Bob (observer #{world.bob_observer_id}) asks to move from P02 · Chamber of "
        "Commerce to P01 · 城区便民服务中心." in card.plain
    )
    assert "🟡 Awaiting a decision" in card.plain
    assert card.buttons() == [
        ("✅ Approve the move", PointReqCb(act="ok", req=asked.id, v=1).pack()),
        ("⛔ Refuse", PointReqCb(act="no", req=asked.id, v=1).pack()),
    ]
    # /point tells Bob it is waiting, and offers to withdraw it.
    [waiting] = await bob.send("/point")
    assert "You have asked to move to P01 · 城区便民服务中心" in waiting.plain
    assert ("↩️ Withdraw my request", AskCb(act="w").pack()) in waiting.buttons()

    ada = admin(tg)
    await ada.press("✅ Approve the move", message=card)
    [card] = cards(tg)
    assert card.edited
    assert "✅ Approved" in card.plain
    assert "Approved by Ada" in card.plain
    assert "the observer is now at P01 · 城区便民服务中心" in card.plain
    assert card.buttons() == []
    assert tg.session.alerts[-1][1] == (
        "Approved: Bob is now at P01 · 城区便民服务中心; they will be told."
    )
    [decided] = await requests(sessions)
    assert (decided.status, decided.decided_by) == (RequestStatus.APPROVED, ADMIN)
    assert await point_of(sessions, world.bob_observer_id) == world.point_id

    # Bob hears of it in English; a second admin's late press changes nothing.
    await tg.drain()
    assert bob.last.plain.startswith(
        "📍 The district office has approved your request: your observation point is now "
        "城区便民服务中心 (P01)."
    )
    bo = second(tg)
    await bo.callback(PointReqCb(act="no", req=asked.id, v=1).pack(), message=card)
    assert tg.session.alerts[-1][1:] == (
        f"Change of point #{asked.id} was already settled: Approved.",
        True,
    )
    [still] = await requests(sessions)
    assert still.status is RequestStatus.APPROVED
    assert await point_of(sessions, world.bob_observer_id) == world.point_id


async def test_alice_is_refused_and_told_in_chinese(
    tg: Telegram, sessions: Sessions, world: World
) -> None:
    alice = tg.person(ALICE, "Alice", "zh-hans")
    await alice.send("/point")
    [confirm] = await alice.press("P02 · Chamber of Commerce")
    assert "是否向依法治区办申请" in confirm.plain
    [sent] = await alice.press("✅ 提交申请")
    assert "申请已提交依法治区办" in sent.plain
    await tg.drain()
    [card] = cards(tg)
    await second(tg).press("⛔ Refuse", message=card)
    [card] = cards(tg)
    assert "⛔ Refused" in card.plain
    assert "Refused by Bo" in card.plain
    assert card.buttons() == []
    assert tg.session.alerts[-1][1] == "Refused; the observer will be told."
    [refused] = await requests(sessions)
    assert (refused.status, refused.decided_by) == (RequestStatus.REFUSED, 9002)
    assert await point_of(sessions, world.alice_observer_id) == world.point_id

    await tg.drain()
    assert alice.last.plain.startswith(
        "📍 依法治区办未批准您调整至Chamber of Commerce（P02）的申请，您的观测点保持不变。"
    )
    [told] = await outbox(sessions, "point_request.refused")
    assert told.chat_id == ALICE


async def test_one_request_waits_per_observer(
    tg: Telegram, sessions: Sessions, world: World, clock: FixedClock
) -> None:
    p16 = await third_point(sessions)
    bob = tg.person(BOB, "Bob", "en")
    await bob.send("/point")
    await bob.press("P01 · 城区便民服务中心")
    await bob.press("✅ Send the request")
    await tg.drain()
    [first_card] = cards(tg)

    # Asking for another point replaces the request waiting; the confirmation says so.
    [where] = await bob.send("/point")
    assert ("P01 · 城区便民服务中心", MoveCb(point=world.point_id).pack()) not in where.buttons()
    [confirm] = await bob.press("P16 · Riverside <Market> & Co")
    assert "This replaces your request to move to P01 · 城区便民服务中心." in confirm.plain
    await bob.press("✅ Send the request")
    first, latest = await requests(sessions)
    assert (first.status, first.decided_by) == (RequestStatus.WITHDRAWN, BOB)
    assert (latest.status, latest.to_point_id) == (RequestStatus.PENDING, p16)
    await tg.drain()
    first_card, second_card = cards(tg)
    assert "↩️ Withdrawn" in first_card.plain
    assert first_card.buttons() == []
    assert "P16 · Riverside &lt;Market&gt; &amp; Co" in second_card.text

    # The same point again is refused; the old card's button too.
    await bob.callback(MoveCb(point=p16).pack(), message=where)
    assert tg.session.alerts[-1][1] == (
        "You have asked to move there already; the district office will decide."
    )
    await admin(tg).callback(PointReqCb(act="ok", req=first.id, v=1).pack(), message=first_card)
    assert "was already settled: Withdrawn" in (tg.session.alerts[-1][1] or "")
    assert await point_of(sessions, world.bob_observer_id) == world.other_point_id

    # The point asked for closes: the office can only refuse; approving is refused.
    await Places(sessions, world, clock).admin.close_point(p16)
    await admin(tg).press("✅ Approve the move", message=second_card)
    assert tg.session.alerts[-1][1:] == (
        "P16 · Riverside <Market> & Co has been closed since. Please refuse the request.",
        True,
    )
    [*_, second_card] = cards(tg)
    assert "has been closed since: refuse the request" in second_card.plain
    assert [text for text, _ in second_card.buttons()] == ["⛔ Refuse"]
    assert await point_of(sessions, world.bob_observer_id) == world.other_point_id
    assert (await requests(sessions))[-1].status is RequestStatus.PENDING

    # Bob withdraws it himself.
    [where] = await bob.send("/point")
    [withdrawn] = await bob.press("↩️ Withdraw my request")
    assert withdrawn.message_id == where.message_id
    assert withdrawn.plain == (
        "Your request to move to P16 · Riverside <Market> & Co is withdrawn. Your "
        "observation point stays P02 · Chamber of Commerce."
    )
    assert (await requests(sessions))[-1].status is RequestStatus.WITHDRAWN
    await bob.callback(AskCb(act="w").pack(), message=withdrawn)
    assert tg.session.alerts[-1][1:] == ("You have no request waiting.", True)
    assert await point_of(sessions, world.bob_observer_id) == world.other_point_id


async def test_only_the_office_decides(tg: Telegram, sessions: Sessions, world: World) -> None:
    bob = tg.person(BOB, "Bob", "en")
    await bob.send("/point")
    await bob.press("P01 · 城区便民服务中心")
    await bob.press("✅ Send the request")
    await tg.drain()
    [card] = cards(tg)
    [asked] = await requests(sessions)
    # A member of the group who is no admin, and Bob forging the button in private.
    member = tg.member(7777, "Mo", GROUP, "member", language_code="en")
    await member.press("✅ Approve the move", message=card)
    await bob.callback(PointReqCb(act="ok", req=asked.id, v=1).pack())
    [still] = await requests(sessions)
    assert still.status is RequestStatus.PENDING
    assert await point_of(sessions, world.bob_observer_id) == world.other_point_id
