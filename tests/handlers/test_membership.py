"""Blocking and unblocking the bot, as Telegram reports it (my_chat_member), and
writing to it again: who is marked unreachable, what the office reads, what is held
and when it goes out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from aiogram.types import Chat, ChatMemberLeft, ChatMemberMember, ChatMemberUpdated, Update, User
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services import notify
from handlers.callbacks import MineCb
from storage.models import Observer, OutboxMessage, TelegramUser
from storage.store import Store
from tests.handlers.conftest import make_settings, new_telegram
from tests.telegram import BOT_USER, Sent, Telegram
from tests.world import ALICE, LIAISON, STRANGER, FixedClock, World

Sessions = async_sessionmaker[AsyncSession]
GROUP = -100500


@pytest.fixture
async def tg(sessions: Sessions, world: World, clock: FixedClock) -> AsyncIterator[Telegram]:
    tg = new_telegram(sessions, clock, settings=make_settings(default_locale="en"))
    async with sessions() as session, session.begin():
        await session.execute(sa.update(TelegramUser).values(locale="en"))
    yield tg
    await tg.bot.session.close()
    assert tg.session.problems == [], "the bot sent what Telegram would refuse"


async def blocked(sessions: Sessions, user_id: int) -> bool:
    async with sessions() as session:
        user = await session.get(TelegramUser, user_id)
        assert user is not None
        return user.blocked


async def queue(sessions: Sessions, clock: FixedClock, chat: int, *points: str) -> None:
    async with sessions() as session, session.begin():
        for point in points:
            await notify.to_user(
                Store(session), chat, "observer.moved", {"point": point}, at=clock.now
            )


async def states(sessions: Sessions, chat: int) -> list[str]:
    async with sessions() as session:
        stmt = (
            sa.select(OutboxMessage.state)
            .where(OutboxMessage.chat_id == chat)
            .order_by(OutboxMessage.id)
        )
        return list((await session.execute(stmt)).scalars())


def office(tg: Telegram) -> list[str]:
    return [s.plain for s in tg.chat(GROUP)]


async def test_blocking_marks_the_observer_and_tells_the_office_once(
    tg: Telegram, sessions: Sessions, world: World
) -> None:
    async with sessions() as session, session.begin():
        alice = await session.get(Observer, world.alice_observer_id)
        assert alice is not None
        alice.name = "Alice <b>&"
    person = tg.person(ALICE, "Alice", "en")
    await person.block_bot()
    await person.block_bot()  # Telegram may say so twice
    assert await blocked(sessions, ALICE)
    assert tg.chat(ALICE) == []  # nothing can be said in a blocked chat
    await tg.drain()
    assert office(tg) == [
        f"🚫 Observer Alice <b>& (#{world.alice_observer_id}, 城区便民服务中心) cannot be "
        "reached: they have blocked the bot. Messages to them are held and will be "
        "delivered when they start the bot again."
    ]
    assert "Alice &lt;b&gt;&amp;" in tg.chat(GROUP)[0].text


async def test_a_liaison_is_named_with_their_department(tg: Telegram) -> None:
    await tg.person(LIAISON, "Li", "en").block_bot()
    await tg.drain()
    assert office(tg) == [
        "🚫 Liaison Li of 区市场监管局 cannot be reached: they have blocked the bot. "
        "Messages to them are held and will be delivered when they start the bot again."
    ]


async def test_a_stranger_blocking_the_bot_is_no_news_for_the_office(
    tg: Telegram, sessions: Sessions
) -> None:
    await tg.person(STRANGER, "Stan", "en").block_bot()
    assert await blocked(sessions, STRANGER)
    await tg.drain()
    assert office(tg) == []


async def test_held_notices_go_out_in_order_when_the_bot_is_unblocked(
    tg: Telegram, sessions: Sessions, clock: FixedClock
) -> None:
    alice = tg.person(ALICE, "Alice", "en")
    await alice.block_bot()
    await queue(sessions, clock, ALICE, "First point", "Second point")
    done = await tg.drain()
    assert [r.chat_id for r in done.held] == [ALICE, ALICE]
    assert await states(sessions, ALICE) == ["held", "held"]
    assert tg.chat(ALICE) == []

    await alice.unblock_bot()
    assert not await blocked(sessions, ALICE)
    assert await states(sessions, ALICE) == ["pending", "pending"]
    assert tg.chat(ALICE) == []  # the update itself says nothing
    await tg.drain()
    first, second = tg.chat(ALICE)
    assert "First point" in first.plain
    assert "Second point" in second.plain
    # The office heard of the block once, and nothing of the return.
    assert len(office(tg)) == 1


async def test_a_403_while_draining_holds_the_row_and_tells_the_office(
    tg: Telegram, sessions: Sessions, clock: FixedClock
) -> None:
    tg.session.blocked.add(ALICE)
    await queue(sessions, clock, ALICE, "Somewhere")
    done = await tg.drain()
    assert [r.chat_id for r in done.held] == [ALICE]
    assert done.failed == []
    assert await blocked(sessions, ALICE)
    [told] = office(tg)
    assert told.startswith("🚫 Observer Alice")


async def test_pressing_a_button_after_unblocking_requeues_too(
    tg: Telegram, sessions: Sessions, clock: FixedClock
) -> None:
    alice = tg.person(ALICE, "Alice", "en")
    await alice.block_bot()
    await queue(sessions, clock, ALICE, "Somewhere")
    await tg.drain()
    tg.session.blocked.discard(ALICE)
    await alice.callback(MineCb(act="list", item=0).pack(), message=_old_message(ALICE))
    assert not await blocked(sessions, ALICE)
    assert await states(sessions, ALICE) == ["pending"]


async def test_writing_in_the_group_is_no_return(
    tg: Telegram, sessions: Sessions, clock: FixedClock
) -> None:
    await tg.person(ALICE, "Alice", "en").block_bot()
    await queue(sessions, clock, ALICE, "Somewhere")
    await tg.drain()
    await tg.member(ALICE, "Alice", GROUP, "member", "en").send("hello all")
    assert await blocked(sessions, ALICE)
    assert await states(sessions, ALICE) == ["held"]


async def test_the_bot_leaving_a_group_is_not_a_person_blocking_it(
    tg: Telegram, sessions: Sessions
) -> None:
    change = ChatMemberUpdated(
        chat=Chat(id=-100777, type="supergroup", title="Elsewhere"),
        from_user=User(id=ALICE, is_bot=False, first_name="Alice"),
        date=datetime.now(UTC),
        old_chat_member=ChatMemberMember(user=BOT_USER),
        new_chat_member=ChatMemberLeft(user=BOT_USER),
    )
    await tg.feed(Update(update_id=next(tg.updates), my_chat_member=change))
    assert not await blocked(sessions, ALICE)
    assert tg.session.requests == []


def _old_message(chat_id: int) -> Sent:
    """A message of the bot's from before she blocked it, with a button on it."""
    return Sent(chat_id, 1, "My suggestions", None)
