"""A rating the office should read reaches it (issue 19, point 2): any rating with a
comment, and every dissatisfied one, whatever the item came to, is shown on the card
and posted in the group as a reply to it, with "answer the observer" (a force-reply
prompt; the answer reaches the observer through the outbox) and, where the lifecycle
allows, "reopen for review" (a declined or kept-for-reference item the observer is not
satisfied with stays open for the office until then).

The demo's case first: an English-speaking observer rated 🙁 "Could a trial…be
considered?" on a declined item, and it closed without anyone reading it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from aiogram.types import ForceReply
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.lifecycle import Action
from bot.domain.statuses import RatingValue
from bot.domain.statuses import SuggestionStatus as S
from bot.services.suggestions import SuggestionService
from bot.services.views import SuggestionInfo
from handlers.callbacks import MineCb
from handlers.feedback import FeedbackCb
from storage.models import Event, Rating, Suggestion
from tests.handlers.conftest import make_settings, new_telegram
from tests.harness import Harness
from tests.telegram import Person, Sent, Telegram
from tests.world import ADMIN, ALICE, DUE, LIAISON, FixedClock, World, draft

Sessions = async_sessionmaker[AsyncSession]
GROUP = -100500
TRIAL = "Could a trial <in one street> be considered?"


class Office(Harness):
    service = SuggestionService
    none_is_system = True

    async def declined(self) -> SuggestionInfo:
        info: SuggestionInfo = await self.by(ALICE).submit(draft("Night bus to the port"))
        await self.admin.take(info.id)
        await self.admin.decline(info.id, "Bus routes are the city's to plan")
        return info

    async def implemented(self) -> SuggestionInfo:
        info: SuggestionInfo = await self.by(ALICE).submit(draft("Street lamps out"))
        await self.admin.take(info.id)
        await self.admin.adopt(info.id, department_id=self.world.department_id, due=DUE)
        await self.by(LIAISON).accept(info.id)
        await self.by(LIAISON).mark_implemented(info.id, "All lamps replaced")
        return info

    async def item(self, item_id: int) -> Suggestion:
        row = await self.get(Suggestion, item_id)
        assert row is not None
        return row

    async def events(self, item_id: int) -> list[Event]:
        return await self.scalars(
            sa.select(Event).where(Event.suggestion_id == item_id).order_by(Event.id)
        )

    async def ratings(self, item_id: int) -> list[Rating]:
        return await self.scalars(sa.select(Rating).where(Rating.suggestion_id == item_id))


@pytest.fixture
def office(sessions: Sessions, world: World, clock: FixedClock) -> Office:
    return Office(sessions, world, clock)


@pytest.fixture
async def tg(sessions: Sessions, world: World, clock: FixedClock) -> AsyncIterator[Telegram]:
    tg = new_telegram(sessions, clock, settings=make_settings(default_locale="en"))
    yield tg
    await tg.bot.session.close()
    assert tg.session.problems == [], "the bot sent what Telegram would refuse"


async def english_observer(tg: Telegram) -> Person:
    alice = tg.person(ALICE, "Alice", "en")
    await alice.send("/start")
    return alice


def admin(tg: Telegram) -> Person:
    return tg.member(ADMIN, "Ada", GROUP, "administrator", language_code="en")


def card(tg: Telegram) -> Sent:
    return [s for s in tg.chat(GROUP) if "<b>History</b>" in s.text][-1]


def rating_words(tg: Telegram) -> list[Sent]:
    return [s for s in tg.chat(GROUP) if s.plain.startswith("⭐ The observer rated")]


def buttons(sent: Sent) -> list[str]:
    return [text for text, _ in sent.buttons()]


async def rate(alice: Person, item: SuggestionInfo, value: str, comment: str | None) -> Sent:
    """The observer rates from the notice's buttons, with a comment or without."""
    await alice.callback(MineCb(act="rate", item=item.id, value=value).pack())
    sent = await (alice.send(comment) if comment else alice.press("Skip"))
    return sent[-1]


# ---- the demo's case ------------------------------------------------------------------


async def test_dissatisfied_with_a_decline_reaches_the_office_which_answers(
    tg: Telegram, office: Office
) -> None:
    alice = await english_observer(tg)
    info = await office.declined()
    await tg.drain()
    thanks = await rate(alice, info, "dissatisfied", TRIAL)
    assert thanks.plain == (
        "Thank you. The office has been told that you are not satisfied with its decision "
        "on WZ-2026-0001. It will answer you here."
    )
    # The item does not close: it stays for the office.
    row = await office.item(info.id)
    assert (row.status, row.closed_at) == (S.DECLINED, None)
    [rating] = await office.ratings(info.id)
    assert (rating.value, rating.comment) == (RatingValue.DISSATISFIED, TRIAL)
    disputed = (await office.events(info.id))[-1]
    assert (disputed.action, disputed.payload["rating"]) == (Action.DISPUTE, "dissatisfied")

    await tg.drain()
    # The card shows the rating and the comment ...
    shown = card(tg)
    assert "Rating: 🙁 Dissatisfied · “Could a trial <in one street> be considered?”" in (
        shown.plain
    )
    assert "Observer Alice was dissatisfied with the decision (🙁 Dissatisfied)" in shown.plain
    # ... and the group reads it beside the card, with what it can do.
    [word] = rating_words(tg)
    assert word.reply_to == shown.message_id
    assert word.plain.startswith(
        "⭐ The observer rated WZ-2026-0001 “Night bus to the port”: 🙁 Dissatisfied"
    )
    assert f"The observer's comment:\n{TRIAL}" in word.plain
    assert "Could a trial &lt;in one street&gt; be considered?" in word.text
    assert buttons(word) == ["💬 Answer the observer", "🔄 Reopen for review"]

    # An admin answers the observer, by replying to the prompt.
    ada = admin(tg)
    [prompt] = await ada.press("💬 Answer the observer", message=word)
    assert isinstance(prompt.markup, ForceReply)
    assert prompt.markup.selective
    assert f'<a href="tg://user?id={ADMIN}">Ada</a>' in prompt.text
    assert "your answer to the observer about WZ-2026-0001" in prompt.plain
    assert prompt.reply_to == word.message_id
    await ada.reply(prompt, "A trial needs the city's approval; we have asked for it.")
    assert ada.last.plain == "✅ WZ-2026-0001: your answer has been sent to the observer."
    assert prompt.message_id not in [s.message_id for s in tg.chat(GROUP)]  # deleted
    answered = (await office.events(info.id))[-1]
    assert (answered.action, answered.actor_user_id, answered.text) == (
        Action.REPLY,
        ADMIN,
        "A trial needs the city's approval; we have asked for it.",
    )
    assert (await office.item(info.id)).status is S.DECLINED
    assert "Office Ada 💬 answered the observer" in card(tg).plain

    await tg.drain()
    told = alice.last
    assert told.plain.startswith(
        "💬 The district office has answered you about your suggestion WZ-2026-0001"
    )
    assert "The office's answer:\nA trial needs the city's approval" in told.plain
    # The observer's timeline keeps it.
    [opened] = await alice.callback(MineCb(act="show", item=info.id).pack())
    assert "The office's answer\nA trial needs the city's approval" in opened.plain


async def test_the_office_reopens_a_disputed_decision_for_review(
    tg: Telegram, office: Office, clock: FixedClock
) -> None:
    alice = await english_observer(tg)
    info = await office.declined()
    await tg.drain()
    await rate(alice, info, "dissatisfied", TRIAL)
    await tg.drain()
    [word] = rating_words(tg)
    before = await office.item(info.id)
    clock.advance(days=9)  # the first decision's deadline is long past

    ada = admin(tg)
    await ada.press("🔄 Reopen for review", message=word)
    assert tg.session.alerts[-1][1] == "Reopened for review; the observer has been told."
    row = await office.item(info.id)
    assert row.status is S.IN_REVIEW
    # Its decision deadline restarts: it is not overdue the moment it is reopened.
    assert row.decision_due > before.decision_due
    assert row.decision_due > clock.now.date()
    reopened = (await office.events(info.id))[-1]
    assert (reopened.action, reopened.from_status) == (Action.RECONSIDER, S.DECLINED)
    # A fresh card with the moves of an item under review; the word keeps "answer" only.
    assert "⛔ Decline" in buttons(card(tg))
    assert buttons(word) == ["💬 Answer the observer"]

    # The old button, pressed again, changes nothing.
    await ada.callback(FeedbackCb(act="re", item=info.id, v=before.version).pack(), message=word)
    assert "has already moved" in (tg.session.alerts[-1][1] or "")
    assert (await office.item(info.id)).version == row.version

    await tg.drain()
    assert alice.last.plain.startswith(
        "🔵 The district office has reopened your suggestion WZ-2026-0001"
    )


# ---- other ratings --------------------------------------------------------------------


async def test_a_comment_with_any_rating_is_read_by_the_office(
    tg: Telegram, office: Office
) -> None:
    alice = await english_observer(tg)
    info = await office.implemented()
    await tg.drain()
    await rate(alice, info, "satisfied", "Quick work, thank you")
    assert (await office.item(info.id)).status is S.CLOSED
    await tg.drain()
    [word] = rating_words(tg)
    assert "😊 Satisfied" in word.plain
    assert "The observer's comment:\nQuick work, thank you" in word.plain
    # A closed item is not reopened by the office; it can still be answered.
    assert buttons(word) == ["💬 Answer the observer"]
    assert "Rating: 😊 Satisfied · “Quick work, thank you”" in card(tg).plain


async def test_a_dissatisfied_implementation_is_reopened_and_the_office_reads_it(
    tg: Telegram, office: Office
) -> None:
    alice = await english_observer(tg)
    info = await office.implemented()
    await tg.drain()
    await rate(alice, info, "dissatisfied", None)
    assert (await office.item(info.id)).status is S.IMPLEMENTING
    await tg.drain()
    [word] = rating_words(tg)
    assert "🙁 Dissatisfied" in word.plain
    assert "The item has been reopened: the department continues the work." in word.plain
    assert buttons(word) == ["💬 Answer the observer"]


async def test_a_plain_rating_without_a_comment_is_only_on_the_card(
    tg: Telegram, office: Office
) -> None:
    alice = await english_observer(tg)
    info = await office.implemented()
    await tg.drain()
    await rate(alice, info, "basically_satisfied", None)
    await tg.drain()
    assert rating_words(tg) == []
    assert "Rating: 🙂 Basically satisfied" in card(tg).plain


async def test_the_answer_can_be_cancelled_and_others_replies_are_not_taken(
    tg: Telegram, office: Office
) -> None:
    alice = await english_observer(tg)
    info = await office.declined()
    await tg.drain()
    await rate(alice, info, "dissatisfied", TRIAL)
    await tg.drain()
    [word] = rating_words(tg)
    ada = admin(tg)
    [prompt] = await ada.press("💬 Answer the observer", message=word)
    # Another admin's reply to Ada's prompt is not taken for hers.
    bo = tg.member(9002, "Bo", GROUP, "administrator", language_code="en")
    await bo.reply(prompt, "not mine to answer")
    await ada.send("/cancel")
    assert ada.last.plain == "Cancelled. Nothing was sent."
    assert prompt.message_id not in [s.message_id for s in tg.chat(GROUP)]
    assert [e.action for e in await office.events(info.id)][-1] is Action.DISPUTE


async def test_forged_or_foreign_presses_change_nothing(tg: Telegram, office: Office) -> None:
    alice = await english_observer(tg)
    info = await office.declined()
    await tg.drain()
    await rate(alice, info, "dissatisfied", TRIAL)
    await tg.drain()
    [word] = rating_words(tg)
    before = await office.item(info.id)
    ada = admin(tg)
    for forged in (0, -1, 2**31, 2**40, info.id + 100):
        await ada.callback(FeedbackCb(act="re", item=forged, v=1).pack(), message=word)
        assert tg.session.alerts[-1][1] == "That item was not found, or it is not yours."
        await ada.callback(FeedbackCb(act="ans", item=forged).pack(), message=word)
        assert tg.session.alerts[-1][1] == "That item was not found, or it is not yours."
    # Someone in the group who is not an admin cannot reopen it either.
    guest = tg.member(7777, "Guest", GROUP, "member", language_code="en")
    await guest.press("🔄 Reopen for review", message=word)
    assert "Only this office's admins" in (tg.session.alerts[-1][1] or "")
    after = await office.item(info.id)
    assert (after.status, after.version) == (before.status, before.version)
