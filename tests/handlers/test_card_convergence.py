"""Cards are views of the database (docs/design.md §2), whatever Telegram does to the
calls that bring them up to date.

A failure is injected into each Bot API method a card move uses — answerCallbackQuery,
editMessageText, editMessageReplyMarkup, deleteMessage, sendMessage — one fault kind
at a time, before each move of an item's life in the admin group (take, a question
with its prompt, the observer's answer that brings a fresh card, take again, a decline
with its prompt). After each move the outbox sender and the cards' re-sync run, and
every card of the item must show exactly what the database says: the current one the
item card rendered from the database, the older ones a pointer to it without buttons,
each card row's digest what its message shows."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from aiogram.types import ForceReply
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery.limits import Limiter
from bot.delivery.sender import OutboxSender
from bot.delivery.session import PacedRetries, pace
from bot.dispatcher import policy_of
from bot.domain.statuses import SuggestionStatus
from bot.i18n import build_i18n
from bot.services.actors import SYSTEM
from bot.services.suggestions import SuggestionService
from handlers.card_sync import message_link, pointer
from handlers.cards import Shown, item_card
from handlers.ui import day
from storage.engine import read_sessions
from storage.models import Card, Suggestion, UnsurePost
from storage.store import Store
from tests.delivery.clocks import InstantTime
from tests.handlers.conftest import make_settings, new_telegram
from tests.telegram import Person, Sent, Telegram
from tests.world import ADMIN, ALICE, POLICY, FixedClock, World, actor, draft

Sessions = async_sessionmaker[AsyncSession]
S = SuggestionStatus
GROUP = -100500
SETTINGS = make_settings(default_locale="en", admin_chat_id=GROUP)
I18N = build_i18n("en")
METHODS = [
    "AnswerCallbackQuery",
    "EditMessageText",
    "EditMessageReplyMarkup",
    "DeleteMessage",
    "SendMessage",
]
KINDS = ["retry_after", "server", "network", "bad_request", "lost"]
FAULTS = [
    pytest.param(
        method,
        kind,
        id=f"{method}-{kind}",
    )
    for method in METHODS
    for kind in KINDS
]


@pytest.fixture
async def tg(sessions: Sessions, world: World, clock: FixedClock) -> AsyncIterator[Telegram]:
    tg = new_telegram(sessions, clock, settings=SETTINGS)
    yield tg
    await tg.bot.session.close()
    assert tg.session.problems == []


@pytest.fixture
def sender(tg: Telegram, sessions: Sessions, clock: FixedClock) -> OutboxSender:
    return OutboxSender(
        tg.bot, sessions, settings=SETTINGS, i18n=I18N, policy=policy_of(SETTINGS), clock=clock
    )


# ---- what the database says, and what the group shows ----------------------------------


@dataclass
class Truth:
    card: Shown
    pointer: Shown
    current: Card
    older: list[Card]


async def truth(sessions: Sessions, clock: FixedClock, item_id: int) -> Truth:
    policy = policy_of(SETTINGS)
    async with read_sessions(sessions)() as session:
        suggestions = SuggestionService(Store(session), policy, clock)
        detail = await suggestions.detail(SYSTEM, item_id)
        today = day(suggestions.today())
        q = sa.select(Card).where(
            Card.subject == "item", Card.subject_id == item_id, Card.chat_id == GROUP
        )
        rows = list((await session.scalars(q.order_by(Card.id))).all())
    [current] = [r for r in rows if r.current]
    with I18N.context(), I18N.use_locale("en"):
        shown = item_card(detail, policy, today=today)
        form = pointer(shown.label, GROUP, current.message_id)
    return Truth(shown, form, current, [r for r in rows if not r.current])


def shown_in_group(tg: Telegram) -> dict[int, Sent]:
    return {s.message_id: s for s in tg.chat(GROUP)}


async def assert_converged(
    tg: Telegram, sessions: Sessions, clock: FixedClock, item_id: int
) -> Truth:
    """Every card of the item shows what the database says, and its row knows it."""
    said = await truth(sessions, clock, item_id)
    messages = shown_in_group(tg)
    now = messages[said.current.message_id]
    assert (now.text, now.markup) == (said.card.text, said.card.markup)
    assert (said.current.digest, said.current.resync_at) == (said.card.digest, None)
    for old in said.older:
        assert (old.digest, old.resync_at) == (said.pointer.digest, None)
        if old.message_id in messages:
            shown = messages[old.message_id]
            assert (shown.text, shown.markup) == (said.pointer.text, None)
    # No other message in the group shows the item's card, with buttons or without.
    full = [s.message_id for s in tg.chat(GROUP) if "<b>History</b>" in s.text]
    assert full == [said.current.message_id]
    return said


async def recover(tg: Telegram, sender: OutboxSender, clock: FixedClock) -> None:
    """Time passes (past any backoff, Telegram's retry_after and the re-sync delay):
    the outbox is delivered and the cards due for a re-sync brought up to date."""
    for _ in range(4):
        clock.advance(seconds=700)
        drained = await tg.drain()
        synced = 0
        for _ in range(10):
            tried = await sender.resync_cards()
            if not tried:
                break
            synced += tried
        if not (drained.sent or drained.retried or drained.failed or synced):
            return


# ---- the moves -------------------------------------------------------------------------


def admin(tg: Telegram) -> Person:
    return tg.member(ADMIN, "Ada", GROUP, "administrator", language_code="en")


async def current_card(tg: Telegram, sessions: Sessions, clock: FixedClock, item_id: int) -> Sent:
    said = await truth(sessions, clock, item_id)
    return shown_in_group(tg)[said.current.message_id]


def prompts(tg: Telegram) -> list[Sent]:
    return [s for s in tg.chat(GROUP) if isinstance(s.markup, ForceReply)]


async def by(sessions: Sessions, clock: FixedClock, user_id: int, move: str, *args: object) -> int:
    async with sessions() as session, session.begin():
        store = Store(session)
        who = await actor(store, user_id, admin=user_id == ADMIN)
        info = await getattr(SuggestionService(store, POLICY, clock), move)(who, *args)
        return int(info.id)


async def press(
    tg: Telegram, sessions: Sessions, clock: FixedClock, item_id: int, label: str
) -> None:
    await admin(tg).press(label, message=await current_card(tg, sessions, clock, item_id))


async def with_words(
    tg: Telegram, sessions: Sessions, clock: FixedClock, item_id: int, label: str, words: str
) -> None:
    """Press a move that asks for words, and reply to its prompt; a prompt that never
    came (its sendMessage failed) is asked for again, as the admin would."""
    before = {s.message_id for s in prompts(tg)}
    await press(tg, sessions, clock, item_id, label)
    fresh = [s for s in prompts(tg) if s.message_id not in before]
    if not fresh:
        await press(tg, sessions, clock, item_id, label)
        fresh = [s for s in prompts(tg) if s.message_id not in before]
    # A prompt whose post took effect unheard was posted again: the newest is the one.
    assert 1 <= len(fresh) <= 2
    await admin(tg).reply(fresh[-1], words)


async def life(
    tg: Telegram,
    sessions: Sessions,
    clock: FixedClock,
    sender: OutboxSender,
    arm: Callable[[], object] | None = None,
) -> int:
    """An item's life in the group, each move made with ``arm()`` called first, then
    recovered and checked; returns the item's id."""
    item_id = await by(sessions, clock, ALICE, "submit", draft("Street lights out"))
    await tg.drain()
    await assert_converged(tg, sessions, clock, item_id)

    async def take() -> None:
        await press(tg, sessions, clock, item_id, "🔍 Take")

    async def ask() -> None:
        await with_words(tg, sessions, clock, item_id, "❓ Ask for information", "Which lamps?")

    async def answer() -> None:
        await by(sessions, clock, ALICE, "answer_info", item_id, "Numbers 12 to 16.")
        await tg.drain()

    async def decline() -> None:
        await with_words(tg, sessions, clock, item_id, "⛔ Decline", "Out of our remit.")

    expected = [S.IN_REVIEW, S.NEEDS_INFO, S.SUBMITTED, S.IN_REVIEW, S.DECLINED]
    for move, status in zip([take, ask, answer, take, decline], expected, strict=True):
        if arm is not None:
            arm()
        await move()
        tg.session.faults.clear()
        await recover(tg, sender, clock)
        await assert_converged(tg, sessions, clock, item_id)
        async with read_sessions(sessions)() as session:
            row = await session.get(Suggestion, item_id)
        assert row is not None
        assert row.status is status
    return item_id


# ---- every method, every fault -----------------------------------------------------------


async def test_the_cards_follow_an_items_life_when_telegram_fails_nothing(
    tg: Telegram, sessions: Sessions, clock: FixedClock, sender: OutboxSender
) -> None:
    item_id = await life(tg, sessions, clock, sender)
    said = await truth(sessions, clock, item_id)
    # The answer brought a fresh card; the first one points to it.
    assert len(said.older) == 1
    assert "Not adopted" in said.card.text


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("method", "kind"), FAULTS)
async def test_the_cards_converge_whatever_call_fails(
    tg: Telegram,
    sessions: Sessions,
    clock: FixedClock,
    sender: OutboxSender,
    method: str,
    kind: str,
) -> None:
    if kind == "lost":
        # A call that timed out is made again by the bot's session, as in production.
        time = InstantTime()
        pace(tg.bot, Limiter(clock=time.clock, sleep=time.sleep))

    def arm() -> None:
        # The move's first call of that method fails (in the group, where it has a chat).
        chat = None if method == "AnswerCallbackQuery" else GROUP
        tg.session.fail(method, kind, chat_id=chat, retry_after=600)

    item_id = await life(tg, sessions, clock, sender, arm)
    said = await truth(sessions, clock, item_id)
    assert "Not adopted" in said.card.text


# ---- two cards, and a card deleted by hand ------------------------------------------------


async def test_an_item_back_in_the_office_gets_a_new_card_and_the_old_one_points_to_it(
    tg: Telegram, sessions: Sessions, clock: FixedClock, sender: OutboxSender
) -> None:
    item_id = await by(sessions, clock, ALICE, "submit", draft("Street lights out"))
    await tg.drain()
    await by(sessions, clock, ADMIN, "take", item_id)
    await by(sessions, clock, ADMIN, "ask_info", item_id, "Which lamps?")
    await tg.drain()
    [first] = [s for s in tg.chat(GROUP) if "<b>History</b>" in s.text]
    await by(sessions, clock, ALICE, "answer_info", item_id, "Numbers 12 to 16.")
    await tg.drain()
    said = await assert_converged(tg, sessions, clock, item_id)
    [old] = said.older
    assert old.message_id == first.message_id
    newest = said.current.message_id
    assert newest != first.message_id
    # The old card is a pointer with a link that opens the current card.
    link = message_link(GROUP, newest)
    assert link == f"https://t.me/c/500/{newest}"
    assert first.markup is None
    assert f'<a href="{link}">' in first.text
    assert "WZ-2026-0001" in first.plain
    target = int(link.rsplit("/", 1)[1])
    assert "<b>History</b>" in shown_in_group(tg)[target].text
    assert first.message_id < target
    # Pressing on it is not possible any more: it has nothing to press.
    assert first.buttons() == []


async def test_a_card_deleted_by_hand_is_posted_again_at_the_next_move(
    tg: Telegram, sessions: Sessions, clock: FixedClock, sender: OutboxSender
) -> None:
    item_id = await by(sessions, clock, ALICE, "submit", draft("Street lights out"))
    await tg.drain()
    [gone] = [s for s in tg.chat(GROUP) if "<b>History</b>" in s.text]
    tg.chat(GROUP).remove(gone)  # someone in the group deleted it
    await by(sessions, clock, ADMIN, "take", item_id)
    await tg.drain()
    said = await assert_converged(tg, sessions, clock, item_id)
    assert said.current.message_id != gone.message_id
    assert [o.message_id for o in said.older] == [gone.message_id]
    assert "Under review" in shown_in_group(tg)[said.current.message_id].plain


async def test_a_card_deleted_while_a_prompt_is_open_is_posted_again_by_the_reply(
    tg: Telegram, sessions: Sessions, clock: FixedClock, sender: OutboxSender
) -> None:
    item_id = await by(sessions, clock, ALICE, "submit", draft("Street lights out"))
    await by(sessions, clock, ADMIN, "take", item_id)
    await tg.drain()
    ada = admin(tg)
    [prompt] = await ada.press("⛔ Decline")
    [gone] = [s for s in tg.chat(GROUP) if "<b>History</b>" in s.text]
    tg.chat(GROUP).remove(gone)
    await ada.reply(prompt, "Out of our remit.")
    said = await assert_converged(tg, sessions, clock, item_id)
    assert said.current.message_id != gone.message_id
    assert "Not adopted" in shown_in_group(tg)[said.current.message_id].plain
    await recover(tg, sender, clock)
    await assert_converged(tg, sessions, clock, item_id)


# ---- a post that reached the group although the bot heard a timeout ---------------------


@pytest.mark.parametrize(
    ("tries", "look_fails"),
    [(1, False), (3, False), (1, True)],
    ids=["tried-again-later", "tried-again-at-once", "the-first-look-fails"],
)
async def test_a_card_posted_unheard_is_found_and_points_to_the_current_one(
    tg: Telegram,
    sessions: Sessions,
    clock: FixedClock,
    sender: OutboxSender,
    tries: int,
    look_fails: bool,
) -> None:
    # tries=1: the post fails, the sender posts again later; tries=3: the bot's session
    # makes the call again at once. Either way Telegram took the first post.
    time = InstantTime()
    pace(tg.bot, Limiter(clock=time.clock, sleep=time.sleep), tries=tries)
    tg.session.fail("SendMessage", "lost", chat_id=GROUP)
    if look_fails:
        # Looking at the copy fails too: the card is re-synced later and looked at again.
        look = tg.session.fail("EditMessageReplyMarkup", "server", chat_id=GROUP)
    item_id = await by(sessions, clock, ALICE, "submit", draft("Street lights out"))
    await tg.drain()
    await recover(tg, sender, clock)
    copies = [s for s in tg.chat(GROUP) if "WZ-2026-0001" in s.plain]
    assert len(copies) == 2  # the one the bot never heard of, and the one it posted again
    said = await assert_converged(tg, sessions, clock, item_id)
    unheard, posted = copies
    assert said.current.message_id == posted.message_id
    assert [o.message_id for o in said.older] == [unheard.message_id]
    assert (unheard.text, unheard.markup) == (said.pointer.text, None)
    # Pressing a button is only possible on the current card.
    assert [s.message_id for s in tg.chat(GROUP) if s.buttons()] == [posted.message_id]
    if look_fails:
        assert look.times == 0


@pytest.mark.parametrize("how", ["lost", "dies"], ids=["it-failed-first", "killed-mid-call"])
async def test_a_card_posted_unheard_before_a_restart_is_found_after_it(
    tg: Telegram, sessions: Sessions, clock: FixedClock, how: str
) -> None:
    time = InstantTime()
    pace(tg.bot, Limiter(clock=time.clock, sleep=time.sleep), tries=1)
    tg.session.fail("SendMessage", how, chat_id=GROUP)
    item_id = await by(sessions, clock, ALICE, "submit", draft("Street lights out"))
    if how == "dies":
        with pytest.raises(asyncio.CancelledError):
            await tg.drain()
    else:
        await tg.drain()
    [unheard] = [s for s in tg.chat(GROUP) if "WZ-2026-0001" in s.plain]
    async with read_sessions(sessions)() as session:
        noted = (await session.scalars(sa.select(UnsurePost))).all()
    assert [(n.chat_id, n.subject_id) for n in noted] == [(GROUP, item_id)]
    # The process dies; a new one, with a new bot, takes over the same chats (the fake
    # Telegram's session is kept for its chats; what the old bot knew goes).
    middlewares = tg.session.middleware._middlewares
    middlewares[:] = [m for m in middlewares if not isinstance(m, PacedRetries)]
    again = new_telegram(sessions, clock, session=tg.session, settings=SETTINGS)
    pace(again.bot, Limiter(clock=time.clock, sleep=time.sleep))
    sender = OutboxSender(
        again.bot, sessions, settings=SETTINGS, i18n=I18N, policy=policy_of(SETTINGS), clock=clock
    )
    await recover(again, sender, clock)
    said = await assert_converged(again, sessions, clock, item_id)
    assert [o.message_id for o in said.older] == [unheard.message_id]
    assert (unheard.text, unheard.markup) == (said.pointer.text, None)
    async with read_sessions(sessions)() as session:
        assert (await session.scalars(sa.select(UnsurePost))).all() == []


async def test_two_copies_of_a_card_posted_unheard_are_both_taken_in(
    tg: Telegram, sessions: Sessions, clock: FixedClock, sender: OutboxSender
) -> None:
    # The card's post reaches the group unheard twice; the third is heard. A second
    # card, behind it in the group's queue, is posted once.
    time = InstantTime()
    pace(tg.bot, Limiter(clock=time.clock, sleep=time.sleep), tries=1)
    tg.session.fail("SendMessage", "lost", chat_id=GROUP, times=2)
    first = await by(sessions, clock, ALICE, "submit", draft("Street lights out"))
    second = await by(sessions, clock, ALICE, "submit", draft("Bus stop sign missing"))
    await tg.drain()
    await recover(tg, sender, clock)
    for item_id, ref, copies in [(first, "WZ-2026-0001", 2), (second, "WZ-2026-0002", 0)]:
        said = await truth(sessions, clock, item_id)
        shown = [s for s in tg.chat(GROUP) if ref in s.plain]
        assert len(shown) == copies + 1
        assert [o.message_id for o in said.older] == [s.message_id for s in shown[:copies]]
        for copy in shown[:copies]:
            assert (copy.text, copy.markup) == (said.pointer.text, None)
        now = shown_in_group(tg)[said.current.message_id]
        assert (now.text, now.markup) == (said.card.text, said.card.markup)
    # Only the two current cards have buttons.
    assert len([s for s in tg.chat(GROUP) if s.buttons()]) == 2
