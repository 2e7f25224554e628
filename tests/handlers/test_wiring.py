"""The Dispatcher's plumbing: dedupe, one transaction per update, errors, language,
throttling — checked through what the person sees and what the database holds."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Chat, Message, Update, User
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.errors import NotFound
from bot.middlewares.people import CurrentUser
from bot.middlewares.throttling import ThrottlePolicy
from bot.services.people import PeopleService
from storage.models import ProcessedUpdate, TelegramUser
from storage.store import Store
from tests.handlers.conftest import make_settings, new_telegram
from tests.telegram import Telegram
from tests.world import ALICE, STRANGER, FixedClock


def first(tg: Telegram, router: Router) -> None:
    """Put a test router in front of the real ones."""
    tg.dp.include_router(router)
    tg.dp.sub_routers.remove(router)
    tg.dp.sub_routers.insert(0, router)


def failing_router() -> Router:
    router = Router(name="failing")

    @router.message(Command("boom"))
    async def boom(message: Message, user: CurrentUser, people: PeopleService) -> None:
        await people.set_locale(user.id, "en")  # written, then rolled back
        raise RuntimeError("handler bug")

    @router.message(Command("missing"))
    async def missing(message: Message) -> None:
        raise NotFound("no item 77", item_id=77)

    return router


def update(
    update_id: int, user_id: int, text: str, language_code: str | None = "zh-hans"
) -> Update:
    who = User(id=user_id, is_bot=False, first_name="Stan", language_code=language_code)
    return Update(
        update_id=update_id,
        message=Message(
            message_id=update_id,
            date=datetime.now(UTC),
            chat=Chat(id=user_id, type="private"),
            from_user=who,
            text=text,
        ),
    )


async def claimed(sessions: async_sessionmaker[AsyncSession], update_id: int) -> bool:
    async with sessions() as session:
        return await session.get(ProcessedUpdate, (42, update_id)) is not None


async def test_a_repeated_update_is_handled_once(
    tg: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    same = update(500, STRANGER, "/start")
    await tg.feed(same)
    await tg.feed(same)
    assert len(tg.session.chats[STRANGER]) == 1
    assert await claimed(sessions, 500)


async def test_a_repeated_update_is_ignored_after_a_restart_too(
    tg: Telegram, sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    same = update(501, STRANGER, "/start")
    await tg.feed(same)
    restarted = new_telegram(sessions, clock, session=tg.session)
    await restarted.feed(same)
    assert len(tg.session.chats[STRANGER]) == 1


async def test_a_failing_handler_rolls_back_and_apologises_in_the_persons_language(
    tg: Telegram, sessions: async_sessionmaker[AsyncSession], caplog: pytest.LogCaptureFixture
) -> None:
    first(tg, failing_router())
    with caplog.at_level(logging.ERROR, logger="handlers.errors"):
        await tg.feed(update(600, STRANGER, "/boom"))
    [reply] = tg.session.chats[STRANGER]
    assert reply.plain == "抱歉，处理时出现问题，未作任何更改。请稍后重试。"
    async with sessions() as session:
        user = await session.get(TelegramUser, STRANGER)
        assert user is not None
        assert user.locale is None  # the handler's write was undone
    # Not claimed either: a redelivery is handled again rather than lost.
    assert not await claimed(sessions, 600)
    assert "update 600 failed" in caplog.text
    assert "/boom" in caplog.text


async def test_a_domain_error_gets_its_own_message(tg: Telegram) -> None:
    first(tg, failing_router())
    await tg.feed(update(601, STRANGER, "/missing", language_code="en"))
    [reply] = tg.session.chats[STRANGER]
    assert reply.plain == "That item was not found, or it is not yours."


@pytest.mark.parametrize(
    ("language_code", "expected"),
    [("zh-hans", "zh"), ("zh-TW", "zh"), ("en-GB", "en"), ("fr", "en"), (None, "default")],
)
async def test_the_reply_language_follows_the_client(
    tg: Telegram, language_code: str | None, expected: str
) -> None:
    await tg.feed(update(700, STRANGER, "/help", language_code=language_code))
    text = tg.session.chats[STRANGER][0].plain
    chinese = "使用说明" in text
    assert chinese == (expected in ("zh", "default"))  # DEFAULT_LOCALE is zh_CN here
    assert ("How it works" in text) == (expected == "en")


async def test_the_default_locale_applies_when_the_client_says_nothing(
    sessions: async_sessionmaker[AsyncSession], world: object, clock: FixedClock
) -> None:
    tg = new_telegram(sessions, clock, settings=make_settings(default_locale="en"))
    await tg.feed(update(701, STRANGER, "/help", language_code=None))
    assert "How it works" in tg.session.chats[STRANGER][0].plain


async def test_lang_switch_persists_over_the_client_language(
    tg: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    alice = tg.person(ALICE, "Alice", "zh-hans")
    await alice.send("/lang")
    [done] = await alice.press("English")
    assert done.plain == "Language set: English."
    assert done.keys()[0] == "📝 New suggestion"
    [help_text] = await alice.send("/help")
    assert "How it works" in help_text.plain
    async with sessions() as session:
        user = await Store(session).users.get(ALICE)
        assert user is not None
        assert user.locale == "en"
    await alice.send("/lang")
    [back] = await alice.press("中文")
    assert back.plain == "语言已设置为：中文。"


async def test_throttling_says_slow_down_once_and_spares_albums(
    sessions: async_sessionmaker[AsyncSession], world: object, clock: FixedClock
) -> None:
    tg = new_telegram(sessions, clock, throttle=ThrottlePolicy(rate=0.001, burst=2))
    stan = tg.person(STRANGER, "Stan", "en")
    await stan.send("/help")
    await stan.send("/help")
    [warning] = await stan.send("/help")
    assert warning.plain.startswith("You are sending messages too quickly")
    assert await stan.send("/help") == []  # told once, not every time
    # An album's parts are never dropped, however fast they come.
    for n in range(3):
        replies = await stan.photo(f"ph{n}", media_group_id="album-1")
        assert replies, "an album part was throttled"


async def test_unknown_text_and_stale_buttons_get_an_answer(tg: Telegram) -> None:
    stan = tg.person(STRANGER, "Stan", "en")
    [reply] = await stan.send("hello?")
    assert reply.plain.startswith("Sorry, I did not understand that.")
    await stan.callback("zz:from-an-old-version", message=reply)
    assert tg.session.alerts[-1][1] == (
        "This button is no longer valid. Please start again from the menu."
    )


async def test_updates_from_one_chat_run_one_after_another(tg: Telegram) -> None:
    """An album arrives as simultaneous updates; each must see what the previous
    one saved, or parts of the draft would be lost."""
    import asyncio

    from aiogram.fsm.context import FSMContext

    router = Router(name="counting")

    @router.message(Command("count"))
    async def count(message: Message, state: FSMContext) -> None:
        seen = (await state.get_data()).get("count", 0)
        await asyncio.sleep(0.01)  # give a racing update every chance to interleave
        await state.update_data(count=seen + 1)
        await message.answer(str(seen + 1))

    first(tg, router)
    await asyncio.gather(*(tg.feed(update(800 + n, STRANGER, "/count")) for n in range(5)))
    assert sorted(s.plain for s in tg.session.chats[STRANGER]) == ["1", "2", "3", "4", "5"]


async def test_plain_function_filters_run_on_the_loop_not_in_a_thread(tg: Telegram) -> None:
    """aiogram would hand every plain-function filter (``F`` magic filters among them)
    to a thread, a hop per filter per update inside the update's transaction."""
    import threading

    from aiogram import F

    from bot.dispatcher import filters_on_the_loop

    checks = [
        check
        for router in tg.dp.chain_tail
        for observer in router.observers.values()
        for handler in [observer._handler, *observer.handlers]
        for check in handler.filters or ()
    ]
    assert any(check.magic is not None for check in checks)
    assert all(check.awaitable for check in checks)

    seen: list[int] = []

    def where(message: Message) -> bool:
        seen.append(threading.get_ident())
        return message.text == "/where"

    router = Router(name="where")

    @router.message(F.text.startswith("/wh"), where)
    async def answer(message: Message) -> None:
        await message.answer("here")

    first(tg, router)
    filters_on_the_loop(tg.dp)
    await tg.feed(update(900, STRANGER, "/where"))
    assert seen == [threading.get_ident()]
    assert [s.plain for s in tg.session.chats[STRANGER]] == ["here"]
