"""The request middleware against the recording session with faults injected: what is
retried, how long it waits, when it gives up; the limiter is asked for sends only."""

from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import GetUpdates
from aiogram.types import InputMediaPhoto

from bot.delivery.limits import Limiter
from bot.delivery.session import PacedRetries, limiter_of, pace, sends, sightings_of
from bot.delivery.sightings import watching
from bot.dispatcher import build_bot
from tests.delivery.clocks import InstantTime
from tests.handlers.conftest import make_settings
from tests.telegram import TOKEN, RecordingSession

ALICE, GROUP = 1001, -100500


class CountingLimiter(Limiter):
    """A limiter that says who asked it for what."""

    def __init__(self, time: InstantTime) -> None:
        super().__init__(clock=time.clock, sleep=time.sleep)
        self.asked: list[tuple[int | str | None, int]] = []

    async def acquire(self, chat_id: int | str | None = None, count: int = 1) -> None:
        self.asked.append((chat_id, count))
        await super().acquire(chat_id, count)


@pytest.fixture
def time() -> InstantTime:
    return InstantTime()


@pytest.fixture
def session() -> RecordingSession:
    return RecordingSession()


@pytest.fixture
def limiter(time: InstantTime) -> CountingLimiter:
    return CountingLimiter(time)


@pytest.fixture
def bot(session: RecordingSession, limiter: CountingLimiter) -> Bot:
    bot = Bot(TOKEN, session=session)
    # Jitter at its middle: the backoff is exactly 0.5 s, then 1 s.
    pace(bot, limiter, jitter=lambda: 0.5)
    return bot


def calls(session: RecordingSession, name: str) -> int:
    return sum(1 for r in session.requests if type(r).__name__ == name)


async def test_a_429_waits_retry_after_and_sends_once(
    bot: Bot, session: RecordingSession, time: InstantTime, limiter: CountingLimiter
) -> None:
    session.fail("SendMessage", "retry_after", retry_after=5)
    sent = await bot.send_message(ALICE, "hello")
    assert [m.text for m in session.chats[ALICE]] == ["hello"]
    assert sent.text == "hello"
    assert calls(session, "SendMessage") == 2
    assert time.now == pytest.approx(5.0, abs=1e-3)
    # Another chat is not held up by Alice's pause (only by the overall pace).
    before = time.now
    await bot.send_message(GROUP, "office")
    assert time.now - before < 0.05


async def test_5xx_and_network_errors_are_retried_with_growing_waits(
    bot: Bot, session: RecordingSession, time: InstantTime
) -> None:
    session.fail("SendMessage", "server")
    session.fail("SendMessage", "network")
    await bot.send_message(ALICE, "hello")
    assert [m.text for m in session.chats[ALICE]] == ["hello"]
    assert calls(session, "SendMessage") == 3
    assert time.sleeps == [0.5, 1.0]


async def test_5xx_gives_up_after_three_tries(
    bot: Bot, session: RecordingSession, time: InstantTime
) -> None:
    fault = session.fail("SendMessage", "server", times=5)
    with pytest.raises(TelegramServerError):
        await bot.send_message(ALICE, "hello")
    assert calls(session, "SendMessage") == 3
    assert fault.times == 2
    assert ALICE not in session.chats
    assert time.sleeps == [0.5, 1.0]


async def test_retry_after_gives_up_beyond_a_minute_in_all(
    bot: Bot, session: RecordingSession, limiter: CountingLimiter
) -> None:
    session.fail("SendMessage", "retry_after", times=3, retry_after=40)
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(ALICE, "hello")
    assert calls(session, "SendMessage") == 2
    # The last pause still holds for whoever sends there next.
    assert limiter.paused_for(ALICE) == pytest.approx(40.0, abs=1e-3)


async def test_a_bad_request_is_not_retried(bot: Bot, session: RecordingSession) -> None:
    session.fail("SendMessage", "bad_request")
    with pytest.raises(TelegramBadRequest):
        await bot.send_message(ALICE, "hello")
    assert calls(session, "SendMessage") == 1


async def test_the_limiter_is_asked_for_sends_only(
    bot: Bot, session: RecordingSession, limiter: CountingLimiter
) -> None:
    sent = await bot.send_message(ALICE, "hello")
    await bot.send_media_group(ALICE, [InputMediaPhoto(media=f"p{n}") for n in range(3)])
    await bot.edit_message_text("hello again", chat_id=ALICE, message_id=sent.message_id)
    await bot.answer_callback_query("cb1")
    await bot.send_chat_action(ALICE, "typing")
    await bot.copy_message(ALICE, GROUP, 7)
    assert limiter.asked == [
        (ALICE, 1),
        (ALICE, 3),  # an album counts as its items
        (ALICE, 0),  # an edit only waits out a pause
        ("method:AnswerCallbackQuery", 0),  # an answer has a scope of its own
        (ALICE, 0),
        (ALICE, 1),
    ]


async def test_a_429_on_an_edit_waits_and_tries_again(
    bot: Bot, session: RecordingSession, time: InstantTime
) -> None:
    sent = await bot.send_message(GROUP, "card")
    session.fail("EditMessageText", "retry_after", retry_after=7)
    await bot.edit_message_text("card, edited", chat_id=GROUP, message_id=sent.message_id)
    assert session.chats[GROUP][0].text == "card, edited"
    assert time.now == pytest.approx(7.0, abs=1e-3)


async def test_a_429_on_an_answer_pauses_answers_only_and_briefly(
    bot: Bot, session: RecordingSession, time: InstantTime, limiter: CountingLimiter
) -> None:
    # A short pause is waited out: the press is still answered within two seconds.
    session.fail("AnswerCallbackQuery", "retry_after", retry_after=1)
    await bot.answer_callback_query("cb1")
    assert time.now == pytest.approx(1.0, abs=1e-3)
    assert calls(session, "AnswerCallbackQuery") == 2
    # A longer one is not: the answer would come too late to matter. Nobody else waits.
    session.fail("AnswerCallbackQuery", "retry_after", retry_after=12)
    with pytest.raises(TelegramRetryAfter):
        await bot.answer_callback_query("cb2")
    assert calls(session, "AnswerCallbackQuery") == 3
    assert limiter.paused_for(ALICE) == pytest.approx(0.0, abs=1e-3)
    assert limiter.paused_for("method:AnswerCallbackQuery") == pytest.approx(12.0, abs=1e-3)
    await bot.send_message(ALICE, "not held up")
    assert time.now == pytest.approx(1.0, abs=1e-3)


async def test_get_updates_is_neither_paced_nor_retried(
    bot: Bot, session: RecordingSession, limiter: CountingLimiter
) -> None:
    session.fail("GetUpdates", "server")
    with pytest.raises(TelegramServerError):
        await bot(GetUpdates(timeout=30))
    assert calls(session, "GetUpdates") == 1
    assert limiter.asked == []


async def test_a_network_error_gives_up_too(bot: Bot, session: RecordingSession) -> None:
    session.fail("GetChatMember", "network", times=3)
    with pytest.raises(TelegramNetworkError):
        await bot.get_chat_member(GROUP, ALICE)
    assert calls(session, "GetChatMember") == 3


def test_what_counts_as_a_send() -> None:
    from aiogram.methods import EditMessageText, SendChatAction, SendMessage, SendPhoto

    assert sends(SendMessage(chat_id=1, text="x")) == 1
    assert sends(SendPhoto(chat_id=1, photo="p")) == 1
    assert sends(SendChatAction(chat_id=1, action="typing")) == 0
    assert sends(EditMessageText(chat_id=1, message_id=1, text="x")) == 0


def test_build_bot_paces_only_when_given_a_limiter(session: RecordingSession) -> None:
    settings = make_settings()
    plain = build_bot(settings, session)
    assert limiter_of(plain) is None
    limiter = Limiter()
    other = RecordingSession()
    paced = build_bot(settings, other, limiter=limiter)
    assert limiter_of(paced) is limiter
    assert [type(m) for m in other.middleware] == [PacedRetries]


async def test_the_session_knows_which_messages_are_the_bots_and_which_sends_were_unsure(
    bot: Bot, session: RecordingSession
) -> None:
    sightings = sightings_of(bot)
    assert sightings is not None
    assert sightings.newest(ALICE) is None
    first = await bot.send_message(ALICE, "one")
    assert (sightings.newest(ALICE), sightings.ours(ALICE)) == (
        first.message_id,
        {first.message_id},
    )
    # A send that may have reached the chat unheard is reported to whoever watches,
    # with the newest id known before it.
    session.fail("SendMessage", "lost", chat_id=ALICE)
    with watching() as watch:
        again = await bot.send_message(ALICE, "two")
    assert watch.since == first.message_id
    copy = next(
        m for m in session.chats[ALICE] if m.text == "two" and m.message_id != again.message_id
    )
    assert sightings.ours(ALICE) == {first.message_id, again.message_id}
    # An edit coming back with a message does not make it known: it may be a copy
    # being looked at.
    await bot.edit_message_text("two, edited", chat_id=ALICE, message_id=copy.message_id)
    assert copy.message_id not in sightings.ours(ALICE)
    # A sure send reports nothing.
    with watching() as watch:
        await bot.send_message(ALICE, "three")
    assert watch.since is None
