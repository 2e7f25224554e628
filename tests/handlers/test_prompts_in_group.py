"""The force-reply prompts of the admin group beyond an item's moves (issue 19, point 8):
the reason for rejecting an application and the office's answer to an observer. An
answer that cannot be taken is asked for again without losing the step; a reply that
is not taken (another admin's prompt, or one closed) is told why, pointing to where the
move starts; a command stays a command."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram.types import ForceReply
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.lifecycle import Action
from bot.domain.statuses import ApplicationStatus
from tests.handlers.conftest import make_settings, new_telegram
from tests.handlers.test_admission import application, apply, card_of
from tests.handlers.test_rating_reaches_office import (
    TRIAL,
    Office,
    english_observer,
    rate,
    rating_words,
)
from tests.telegram import Person, Sent, Telegram
from tests.world import ADMIN, ALICE, FixedClock, World

Sessions = async_sessionmaker[AsyncSession]
GROUP = -100500


@pytest.fixture
async def tg(sessions: Sessions, world: World, clock: FixedClock) -> AsyncIterator[Telegram]:
    tg = new_telegram(sessions, clock, settings=make_settings(default_locale="en"))
    yield tg
    await tg.bot.session.close()
    assert tg.session.problems == []


@pytest.fixture
def office(sessions: Sessions, world: World, clock: FixedClock) -> Office:
    return Office(sessions, world, clock)


def admins(tg: Telegram, language: str = "en") -> tuple[Person, Person]:
    return (
        tg.member(ADMIN, "Ada", GROUP, "administrator", language_code=language),
        tg.member(9002, "Bo", GROUP, "administrator", language_code=language),
    )


def is_prompt(sent: Sent) -> bool:
    return isinstance(sent.markup, ForceReply)


# ---- rejecting an application ---------------------------------------------------------


async def test_a_rejection_reason_not_taken_is_asked_again_and_others_are_told(
    tg: Telegram, sessions: Sessions, clock: FixedClock, world: World
) -> None:
    app_id = await apply(sessions, clock, world.point_id)
    await tg.drain()
    card = card_of(tg)
    ada, bo = admins(tg)
    [prompt] = [s for s in await ada.press("⛔ Reject") if s is not card]

    # Nothing typed (a photo, a sticker): asked again under the answer, the step kept.
    [again] = await ada.reply(prompt, "")
    assert is_prompt(again)
    assert again.reply_to == ada.user.id * 1000  # under Ada's reply
    assert again.plain.startswith("⚠️ Please reply with text.\n\nAda, why is application")
    assert prompt in tg.chat(GROUP)  # the first prompt still stands

    # Bo's reply, to either prompt, is not taken for Ada's: he is told why, and where the
    # move starts.
    for asked in (prompt, again):
        [told] = await bo.reply(asked, "No experience")
        assert told.reply_to is not None
        assert told.chat_id == GROUP
        assert told.plain == (
            "That prompt is for Ada, so your reply was not taken. To make this move "
            "yourself, press the button on the application's card."
        )
    # A command stays a command, even as a reply to the prompt.
    [queue] = await ada.reply(again, "/queue")
    assert not queue.plain.startswith("⛔")
    assert (await application(sessions, app_id)).status is ApplicationStatus.PENDING

    # The newest prompt's answer is taken; every prompt of the step goes with it.
    [done] = [s for s in await ada.reply(again, "Not enough experience yet") if s.reply_to]
    assert done.plain.startswith(f"⛔ Application #{app_id} (Stan <Lee>) is rejected")
    row = await application(sessions, app_id)
    assert (row.status, row.reason) == (ApplicationStatus.REJECTED, "Not enough experience yet")
    assert prompt not in tg.chat(GROUP)
    assert again not in tg.chat(GROUP)
    [told] = await ada.reply(prompt, "Once more")
    assert told.plain == (
        "That prompt is closed (its move was finished, cancelled or replaced), so your "
        "reply was not taken. Press the button on the application's card to start again."
    )


async def test_the_group_in_chinese_is_told_in_chinese(
    sessions: Sessions, world: World, clock: FixedClock
) -> None:
    tg = new_telegram(sessions, clock, settings=make_settings(default_locale="zh_CN"))
    try:
        await apply(sessions, clock, world.point_id)
        await tg.drain()
        [card] = [s for s in tg.chat(GROUP) if s.plain.startswith("📝")]
        ada, bo = admins(tg, "zh-hans")
        [prompt] = [s for s in await ada.press("⛔ 不予批准") if s is not card]
        [told] = await bo.reply(prompt, "不符合条件")
        assert told.plain == (
            "该提示是发给 Ada 的，您的回复未被采用。如需亲自办理，请点击申请卡片上的按钮。"
        )
        [again] = await ada.reply(prompt, "x" * 1501)
        assert is_prompt(again)
        assert again.plain.startswith("⚠️ ")
        assert tg.session.problems == []
    finally:
        await tg.bot.session.close()


# ---- answering the observer -----------------------------------------------------------


async def test_an_answer_to_the_observer_not_taken_is_asked_again_and_others_are_told(
    tg: Telegram, office: Office
) -> None:
    alice = await english_observer(tg)
    info = await office.declined()
    await tg.drain()
    await rate(alice, info, "dissatisfied", TRIAL)
    await tg.drain()
    [word] = rating_words(tg)
    ada, bo = admins(tg)
    [prompt] = await ada.press("💬 Answer the observer", message=word)

    [again] = await ada.reply(prompt, "x" * 1501)
    assert is_prompt(again)
    assert again.plain.startswith(
        "⚠️ That is too long: at most 1500 characters, yours has 1501. "
        "Reply to my message again with a shorter text.\n\nAda, reply to this message with "
        "your answer to the observer about WZ-2026-0001"
    )
    [told] = await bo.reply(again, "Not mine to answer")
    assert told.plain == (
        "That prompt is for Ada, so your reply was not taken. To make this move yourself, "
        "press the button on the observer's message."
    )
    assert [e.action for e in await office.events(info.id)][-1] is Action.DISPUTE

    # The first prompt's answer is taken as well as one to the newest.
    await ada.reply(prompt, "A trial needs the city's approval; we have asked for it.")
    assert [e.action for e in await office.events(info.id)][-1] is Action.REPLY
    assert prompt not in tg.chat(GROUP)
    assert again not in tg.chat(GROUP)
    await tg.drain()
    assert "we have asked for it" in tg.chat(ALICE)[-1].plain
