"""Choosing another observation point after the office closes one, and /point."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from bot.domain.statuses import FocusDomain, HostKind
from bot.i18n import EN, ZH, build_i18n
from bot.services.places import PlaceService
from handlers.moving import AskCb, MoveCb
from handlers.notices import render
from storage.models import Observer, OutboxMessage, Point
from tests.harness import Harness
from tests.telegram import Telegram
from tests.world import ALICE, BOB, STRANGER, FixedClock, World

I18N = build_i18n(ZH)
CANCEL = AskCb(act="x").pack()


class Places(Harness):
    service = PlaceService


async def close(sessions: Any, world: World, clock: FixedClock, point_id: int) -> None:
    await Places(sessions, world, clock).admin.close_point(point_id)


async def point_of(sessions: Any, observer_id: int) -> int | None:
    async with sessions() as session:
        observer = await session.get(Observer, observer_id)
        assert observer is not None
        return observer.point_id


async def outbox(sessions: Any, kind: str) -> list[OutboxMessage]:
    async with sessions() as session:
        stmt = sa.select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
        return list((await session.execute(stmt)).scalars().all())


async def notice_button(sessions: Any, chat_id: int, locale: str) -> str:
    """The callback data of the point.closed notice the sender will deliver."""
    [row] = [r for r in await outbox(sessions, "point.closed") if r.chat_id == chat_id]
    with I18N.context(), I18N.use_locale(locale):
        rendered = render(row.kind, row.payload, suggestion_id=row.suggestion_id)
    assert rendered.markup is not None
    [[choose]] = rendered.markup.inline_keyboard
    assert choose.callback_data is not None
    return choose.callback_data


async def test_alice_chooses_a_new_point_after_hers_closes(
    tg: Telegram, sessions: Any, world: World, clock: FixedClock
) -> None:
    await close(sessions, world, clock, world.point_id)
    alice = tg.person(ALICE, "Alice", "en")

    [where] = await alice.send("/point")
    assert "Your observation point 城区便民服务中心 has been closed" in where.plain
    assert where.buttons() == [
        ("P02 · Chamber of Commerce", MoveCb(point=world.other_point_id).pack()),
        ("✖️ Cancel", CANCEL),
    ]

    # The notice's button, pressed on a message in the chat.
    data = await notice_button(sessions, ALICE, EN)
    assert data == MoveCb().pack()
    [choice] = await alice.callback(data)
    assert tg.session.alerts[-1][1] is None  # answered, silently
    assert "has been closed" in choice.plain
    assert "choose it below" in choice.plain
    assert choice.buttons() == where.buttons()

    [done] = await alice.press("P02 · Chamber of Commerce")
    assert done.message_id == choice.message_id
    assert done.edited
    assert done.plain == (
        "Done: your observation point is now Chamber of Commerce. "
        "The items you file from now on belong to it."
    )
    assert done.buttons() == []
    assert tg.session.alerts[-1][1] == "Point changed."

    assert await point_of(sessions, world.alice_observer_id) == world.other_point_id
    [moved] = await outbox(sessions, "observer.moved")
    assert (moved.audience, moved.chat_id) == ("admins", None)
    assert moved.payload == {
        "observer_id": world.alice_observer_id,
        "name": "Alice",
        "point": "Chamber of Commerce",
    }

    # Where she stands now; there is nowhere else open to go.
    [now] = await alice.send("/point")
    assert "Your observation point is P02 · Chamber of Commerce." in now.plain
    assert "no other open observation point" in now.plain
    assert now.buttons() == []

    # Pressing again the point she is at changes nothing.
    await alice.callback(MoveCb(point=world.other_point_id).pack(), message=choice)
    assert tg.session.alerts[-1][1] == "You are already at that point."
    assert len(await outbox(sessions, "observer.moved")) == 1


async def test_a_closed_or_unknown_point_is_refused(
    tg: Telegram, sessions: Any, world: World, clock: FixedClock
) -> None:
    await close(sessions, world, clock, world.point_id)
    alice = tg.person(ALICE, "Alice", "en")
    [where] = await alice.send("/point")
    for forged in (world.point_id, 999_999):
        changed = await alice.callback(MoveCb(point=forged).pack(), message=where)
        assert tg.session.alerts[-1] == (
            tg.session.alerts[-1][0],
            "That point is not open any more. Please choose another one.",
            True,
        )
        # The list was already right, so it is left alone.
        assert changed == []
    assert await point_of(sessions, world.alice_observer_id) == world.point_id
    assert await outbox(sessions, "observer.moved") == []


async def test_a_point_that_closes_while_listed_is_taken_off_the_list(
    tg: Telegram, sessions: Any, world: World, clock: FixedClock
) -> None:
    async with sessions() as session, session.begin():
        third = Point(
            code="P03",
            name="Youth <School> & Co",
            domain=FocusDomain.YOUTH_LEGAL_EDUCATION,
            host_kind=HostKind.SCHOOL,
        )
        session.add(third)
        await session.flush()
        third_id = third.id
    await close(sessions, world, clock, world.point_id)
    alice = tg.person(ALICE, "Alice", "en")
    [where] = await alice.send("/point")
    assert [text for text, _ in where.buttons()] == [
        "P02 · Chamber of Commerce",
        "P03 · Youth <School> & Co",
        "✖️ Cancel",
    ]
    await close(sessions, world, clock, third_id)

    [redrawn] = await alice.press("P03 · Youth <School> & Co")
    assert tg.session.alerts[-1][1] == "That point is not open any more. Please choose another one."
    assert redrawn.message_id == where.message_id
    assert redrawn.buttons() == [
        ("P02 · Chamber of Commerce", MoveCb(point=world.other_point_id).pack()),
        ("✖️ Cancel", CANCEL),
    ]
    assert await point_of(sessions, world.alice_observer_id) == world.point_id


async def test_a_forged_choice_on_the_notice_leaves_it_alone(
    tg: Telegram, sessions: Any, world: World, clock: FixedClock
) -> None:
    await close(sessions, world, clock, world.point_id)
    alice = tg.person(ALICE, "Alice", "en")
    [greeting] = await alice.send("/start")
    changed = await alice.callback(MoveCb(point=world.point_id).pack(), message=greeting)
    assert changed == []
    assert tg.session.alerts[-1][2] is True
    # A valid choice pressed there is confirmed in a message of its own.
    [done] = await alice.callback(MoveCb(point=world.other_point_id).pack(), message=greeting)
    assert done.message_id != greeting.message_id
    assert not greeting.edited
    assert "Chamber of Commerce" in done.plain
    assert await point_of(sessions, world.alice_observer_id) == world.other_point_id


async def test_only_observers_have_a_point(
    tg: Telegram, sessions: Any, world: World, clock: FixedClock
) -> None:
    stan = tg.person(STRANGER, "Stan", "en")
    [reply] = await stan.send("/point")
    assert reply.plain == "Only observers have an observation point."
    assert reply.buttons() == []
    for data in (MoveCb().pack(), MoveCb(point=world.other_point_id).pack()):
        assert await stan.callback(data, message=reply) == []
        assert tg.session.alerts[-1][1:] == ("Only observers have an observation point.", True)
    assert await outbox(sessions, "observer.moved") == []


async def test_bob_sees_his_point_and_asks_to_move_in_chinese(
    tg: Telegram, sessions: Any, world: World, clock: FixedClock
) -> None:
    bob = tg.person(BOB, "Bob", "zh-hans")
    [where] = await bob.send("/point")
    assert "Chamber of Commerce" in where.plain
    assert "观测点" in where.plain
    assert where.buttons() == [
        ("P01 · 城区便民服务中心", MoveCb(point=world.point_id).pack()),
        ("✖️ 取消", CANCEL),
    ]
    # His point is open: leaving it is a request, confirmed first (tests/handlers/
    # test_point_change.py follows it to the office).
    [asking] = await bob.press("P01 · 城区便民服务中心")
    assert asking.message_id == where.message_id
    assert "城区便民服务中心" in asking.plain
    assert "观测点" in asking.plain
    assert await point_of(sessions, world.bob_observer_id) == world.other_point_id
    # Alice stays where she was: the service moves only the person pressing.
    assert await point_of(sessions, world.alice_observer_id) == world.point_id


async def test_a_message_from_an_account_flagged_as_a_bot_is_met_as_a_strangers(
    tg: Telegram, sessions: Any
) -> None:
    """Telegram shows a bot nothing another bot writes, but an update may still say
    "from a bot" (someone writing as a group or a channel, an odd API server): the bot
    answers as it would a stranger, and records nobody."""
    from aiogram.types import User

    from storage.models import TelegramUser
    from tests.telegram import Person

    robot = Person(tg, User(id=5_550_001, is_bot=True, first_name="Robo", language_code="en"))
    stan = tg.person(STRANGER, "Stan", "en")
    [as_stranger] = await stan.send("/point")
    [answer] = await robot.send("/point")
    assert answer.plain == as_stranger.plain == "Only observers have an observation point."
    assert await robot.send("hello") != []
    async with sessions() as session:
        assert await session.get(TelegramUser, 5_550_001) is None
