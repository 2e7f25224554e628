"""Buttons go once used (issue 19, point 4): the liaison's progress, hand-back and
closing prompts, the observer's answer, addition and rating prompts, and the notices
and cards those began from. After use the message has no buttons (or only those still
meaningful) and says what happened; a button of it pressed again — an old client still
shows it — is told what happened already, in the person's language, and changes
nothing in the database.

Each flow is played through the real Dispatcher and the fake Telegram, which keeps
every message with its edits applied.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa

from bot.domain.statuses import RatingValue
from bot.domain.statuses import SuggestionStatus as S
from bot.services.suggestions import SuggestionService
from bot.services.views import SuggestionInfo
from handlers.callbacks import MineCb
from handlers.department import DeptCb
from storage.models import (
    Attachment,
    ConversationState,
    Event,
    OutboxMessage,
    Rating,
    Suggestion,
    TelegramUser,
)
from tests.handlers.conftest import make_settings, new_telegram
from tests.harness import Harness
from tests.telegram import Person, Sent, Telegram
from tests.world import ALICE, DUE, LIAISON, FixedClock, World, draft


class Office(Harness):
    service = SuggestionService
    none_is_system = True

    async def filed(self, title: str = "Street lamps out") -> SuggestionInfo:
        info: SuggestionInfo = await self.by(ALICE).submit(draft(title))
        return info

    async def asking(self, title: str = "Street lamps out") -> SuggestionInfo:
        info = await self.filed(title)
        await self.admin.take(info.id)
        await self.admin.ask_info(info.id, "Which street exactly?")
        return info

    async def adopted(self, title: str = "Street lamps out") -> SuggestionInfo:
        info = await self.filed(title)
        await self.admin.take(info.id)
        await self.admin.adopt(info.id, department_id=self.world.department_id, due=DUE)
        return info

    async def implemented(self, title: str = "Street lamps out") -> SuggestionInfo:
        info = await self.adopted(title)
        await self.by(LIAISON).accept(info.id)
        await self.by(LIAISON).mark_implemented(info.id, "All lamps replaced")
        return info

    async def status(self, item_id: int) -> S:
        row = await self.get(Suggestion, item_id)
        assert row is not None
        return row.status

    async def snapshot(self) -> tuple[Any, ...]:
        """Everything a press could change: the items, their history, ratings, files,
        what is queued to be sent, and every conversation's state and data."""
        items = await self.scalars(sa.select(Suggestion).order_by(Suggestion.id))
        conversations = await self.scalars(
            sa.select(ConversationState).order_by(ConversationState.key)
        )
        return (
            [(i.status, i.version) for i in items],
            await self.count(Event),
            await self.count(Rating),
            await self.count(Attachment),
            await self.count(OutboxMessage),
            [(c.key, c.state, c.data) for c in conversations],
        )


@pytest.fixture
async def office(sessions: Any, world: World, clock: FixedClock) -> Office:
    # The observer and the liaison read English, so notices come in English too.
    async with sessions() as session, session.begin():
        await session.execute(
            sa.update(TelegramUser)
            .where(TelegramUser.id.in_([ALICE, LIAISON]))
            .values(language_code="en")
        )
    return Office(sessions, world, clock)


@pytest.fixture
async def tg(sessions: Any, world: World, clock: FixedClock) -> AsyncIterator[Telegram]:
    tg = new_telegram(sessions, clock, settings=make_settings(default_locale="en"))
    yield tg
    await tg.bot.session.close()
    assert tg.session.problems == []


def alerts(tg: Telegram) -> list[str | None]:
    return [text for _, text, _ in tg.session.alerts]


def labels_of(sent: Sent) -> list[str]:
    return [text for text, _ in sent.buttons()]


def find(sent: list[Sent], needle: str) -> Sent:
    [one] = [s for s in sent if needle in s.plain]
    return one


async def pressed_again(
    tg: Telegram, office: Office, person: Person, data: str, message: Sent
) -> str:
    """Press ``data`` on ``message`` (whose buttons are gone: an old client's press);
    what the person is told. Nothing in the database may change."""
    before = await office.snapshot()
    mark = len(person.chat)
    changed = await person.callback(data, message=message)
    assert changed == [], "a used button changed a message"
    assert len(person.chat) == mark
    assert await office.snapshot() == before
    return alerts(tg)[-1] or ""


# ---- the liaison ------------------------------------------------------------------------


async def card_of(tg: Telegram, office: Office, li: Person, info: SuggestionInfo) -> None:
    await tg.drain()
    await li.press("✅ Accept")


async def test_a_progress_report_keeps_buttons_only_on_its_newest_message(
    tg: Telegram, office: Office
) -> None:
    info = await office.adopted()
    li = tg.person(LIAISON, "Li", "en")
    await card_of(tg, office, li, info)

    [prompt] = await li.press("📝 Report progress")
    assert labels_of(prompt) == ["✅ Send the report", "✖️ Cancel"]
    # Each message written is answered with the buttons; the one before loses them.
    [stripped, first] = await li.send("Three lamps replaced")
    assert (stripped.message_id, stripped.buttons()) == (prompt.message_id, [])
    assert stripped.plain == prompt.plain  # superseded, not rewritten
    [stripped, second] = await li.photo("progress-photo")
    assert (stripped.message_id, stripped.buttons()) == (first.message_id, [])
    assert labels_of(second) == ["✅ Send the report", "✖️ Cancel"]

    changed = await li.press("✅ Send the report")
    done = find(changed, "Your progress report on")
    assert done.message_id == second.message_id
    assert done.buttons() == []
    sent = "✅ Your progress report on WZ-2026-0001 has been sent to the observer and the office."
    assert done.plain == sent
    # Only the card keeps buttons: every message of the report has none.
    report = [s for s in li.chat if s.message_id >= prompt.message_id]
    assert [s.buttons() for s in report] == [[], [], []]

    # Old buttons pressed again: what happened, and nothing more.
    send = DeptCb(act="send", item=info.id).pack()
    said = "This progress report on WZ-2026-0001 has already been sent."
    assert await pressed_again(tg, office, li, send, done) == said
    assert await pressed_again(tg, office, li, send, prompt) == said
    quit_ = DeptCb(act="quit", item=info.id).pack()
    assert await pressed_again(tg, office, li, quit_, first) == said
    progress = [e for e in await office.scalars(sa.select(Event)) if e.action == "progress"]
    assert len(progress) == 1


async def test_a_hand_back_cancelled_says_so_where_its_buttons_were(
    tg: Telegram, office: Office
) -> None:
    info = await office.adopted()
    li = tg.person(LIAISON, "Li", "en")
    await card_of(tg, office, li, info)

    [prompt] = await li.press("↩️ Hand back")
    [_, written] = await li.send("Not ours")
    [cancelled] = await li.press("✖️ Cancel")
    assert cancelled.message_id == written.message_id
    assert (cancelled.plain, cancelled.buttons()) == ("Cancelled. Nothing was sent.", [])
    assert prompt.buttons() == []

    said = await pressed_again(tg, office, li, DeptCb(act="send", item=info.id).pack(), prompt)
    assert said == "Cancelled. Nothing was sent."
    assert await office.status(info.id) is S.IMPLEMENTING

    # A report begun and then left for another: its buttons go, and say why.
    [report] = await li.press("📝 Report progress")
    [stripped, _hand_back] = await li.press("↩️ Hand back")
    assert (stripped.message_id, stripped.buttons()) == (report.message_id, [])
    said = await pressed_again(tg, office, li, DeptCb(act="send", item=info.id).pack(), report)
    assert said == (
        "This was left unfinished when you started something else; nothing was sent from it."
    )


async def test_marking_implemented_confirms_in_place_then_says_it_is_done(
    tg: Telegram, office: Office
) -> None:
    info = await office.adopted()
    li = tg.person(LIAISON, "Li", "en")
    await card_of(tg, office, li, info)

    [prompt] = await li.press("🎯 Implemented")
    [_, written] = await li.send("All lamps replaced")
    [confirmation] = await li.press("Continue ➡️")
    assert confirmation.message_id == written.message_id
    assert labels_of(confirmation) == ["🎯 Yes, it is implemented", "⬅️ Back", "✖️ Cancel"]
    # Back and forth in place: still one message with the buttons.
    [back] = await li.press("⬅️ Back")
    assert back.message_id == written.message_id
    await li.press("Continue ➡️")

    changed = await li.press("🎯 Yes, it is implemented")
    done = find(changed, "has been marked implemented")
    assert done.message_id == written.message_id
    assert done.buttons() == []
    assert prompt.buttons() == []
    assert await office.status(info.id) is S.IMPLEMENTED

    yes = DeptCb(act="yes", item=info.id).pack()
    said = await pressed_again(tg, office, li, yes, done)
    assert said == "WZ-2026-0001 has already been marked implemented."


# ---- the observer -----------------------------------------------------------------------


async def test_an_answer_takes_the_buttons_off_its_prompts_and_the_question(
    tg: Telegram, office: Office
) -> None:
    info = await office.asking()
    await tg.drain()
    alice = tg.person(ALICE, "Alice", "en")
    [question] = [s for s in alice.chat if "needs more information" in s.plain]
    assert labels_of(question) == ["✍️ Answer", "📄 Open"]

    [prompt] = await alice.press("✍️ Answer", message=question)
    [stripped, ack] = await alice.send("Renmin Road 12")
    assert (stripped.message_id, stripped.buttons()) == (prompt.message_id, [])
    changed = await alice.press("✅ Send the answer")
    done = find(changed, "Your answer about")
    assert done.message_id == ack.message_id
    assert labels_of(done) == ["📄 Open WZ-2026-0001"]
    # The question itself keeps only what still means something.
    assert find(changed, "needs more information").message_id == question.message_id
    assert labels_of(question) == ["📄 Open"]
    assert await office.status(info.id) is S.SUBMITTED

    said = "Your answer about WZ-2026-0001 has already been sent to the office."
    send = MineCb(act="send", item=info.id).pack()
    assert await pressed_again(tg, office, alice, send, prompt) == said
    assert await pressed_again(tg, office, alice, send, done) == said
    answer = MineCb(act="answer", item=info.id).pack()
    assert await pressed_again(tg, office, alice, answer, question) == said


async def test_a_rating_says_what_was_chosen_on_its_prompt_and_its_notice(
    tg: Telegram, office: Office
) -> None:
    info = await office.implemented()
    await tg.drain()
    alice = tg.person(ALICE, "Alice", "en")
    [notice] = [s for s in alice.chat if "has been implemented" in s.plain]
    assert labels_of(notice)[:3] == ["😊 Satisfied", "🙂 Basically satisfied", "🙁 Dissatisfied"]

    # Cancelled: the prompt says so, the notice keeps its ratings.
    [first] = await alice.press("🙂 Basically satisfied", message=notice)
    [cancelled] = await alice.press("✖️ Cancel")
    assert cancelled.message_id == first.message_id
    assert (cancelled.plain, cancelled.buttons()) == (
        "Rating cancelled; nothing was recorded.",
        [],
    )
    assert "🙂 Basically satisfied" in labels_of(notice)
    skip = MineCb(act="skip", item=info.id).pack()
    said = await pressed_again(tg, office, alice, skip, first)
    assert said == "Rating cancelled; nothing was recorded."

    # A choice made again replaces the one before it.
    [second] = await alice.press("😊 Satisfied", message=notice)
    [stripped, prompt] = await alice.press("🙂 Basically satisfied", message=notice)
    assert (stripped.message_id, stripped.buttons()) == (second.message_id, [])

    # Rated with a comment typed: the prompt says what was rated, the notice keeps only
    # its Open button, and the thanks come below.
    changed = await alice.send("Quick work")
    rated = find(changed, "Rated")
    assert rated.message_id == prompt.message_id
    assert (rated.plain, rated.buttons()) == (
        "✅ Rated 🙂 Basically satisfied on WZ-2026-0001.",
        [],
    )
    assert labels_of(notice) == ["📄 Open"]
    find(changed, "Thank you for rating WZ-2026-0001")
    [rating] = await office.scalars(sa.select(Rating))
    assert (rating.value, rating.comment) == (RatingValue.BASICALLY_SATISFIED, "Quick work")

    said = "You have already rated WZ-2026-0001: 🙂 Basically satisfied."
    assert await pressed_again(tg, office, alice, skip, rated) == said
    assert await pressed_again(tg, office, alice, skip, second) == (
        "This was left unfinished when you started something else; nothing was sent from it."
    )
    rate = MineCb(act="rate", item=info.id, value="dissatisfied").pack()
    assert await pressed_again(tg, office, alice, rate, notice) == said


async def test_a_rating_from_the_card_draws_the_card_afresh(tg: Telegram, office: Office) -> None:
    info = await office.implemented()
    alice = tg.person(ALICE, "Alice", "en")
    await alice.send("📋 My suggestions")
    [card] = await alice.press(MineCb(act="show", item=info.id, value="l").pack())
    assert "😊 Satisfied" in labels_of(card)

    [prompt] = await alice.press("😊 Satisfied", message=card)
    changed = await alice.press("Skip", message=prompt)
    assert card in changed
    assert "Your rating\n😊 Satisfied" in card.plain
    assert "😊 Satisfied" not in labels_of(card)
    assert labels_of(prompt) == ["📄 Open WZ-2026-0001"]
    assert prompt.plain == "Thank you for rating WZ-2026-0001: 😊 Satisfied."

    said = await pressed_again(tg, office, alice, MineCb(act="skip", item=info.id).pack(), prompt)
    assert said == "You have already rated WZ-2026-0001: 😊 Satisfied."


async def test_an_addition_sent_leaves_no_buttons_behind(tg: Telegram, office: Office) -> None:
    info = await office.filed()
    alice = tg.person(ALICE, "Alice", "en")
    await alice.send("📋 My suggestions")
    await alice.press(MineCb(act="show", item=info.id, value="l").pack())

    [prompt] = await alice.press("➕ Add to it")
    [stripped, ack] = await alice.send("It is the lamp by the school")
    assert (stripped.message_id, stripped.buttons()) == (prompt.message_id, [])
    [done] = await alice.press("✅ Send the addition")
    assert done.message_id == ack.message_id
    assert labels_of(done) == ["📄 Open WZ-2026-0001"]

    said = await pressed_again(
        tg, office, alice, MineCb(act="addsend", item=info.id).pack(), prompt
    )
    assert said == "Your addition to WZ-2026-0001 has already been sent to the office."


async def test_an_answer_left_for_a_rating_of_another_item_loses_its_buttons(
    tg: Telegram, office: Office
) -> None:
    asked = await office.asking("Street lamps out")
    done = await office.implemented("Broken bench")
    alice = tg.person(ALICE, "Alice", "en")
    [hello] = await alice.send("/start")
    [prompt] = await alice.callback(MineCb(act="answer", item=asked.id).pack(), message=hello)
    [_, ack] = await alice.send("Renmin Road")
    # Rating the other item ends the answer: its buttons go.
    rate = MineCb(act="rate", item=done.id, value=RatingValue.SATISFIED.value).pack()
    [stripped, _rating] = await alice.callback(rate, message=hello)
    assert (stripped.message_id, stripped.buttons()) == (ack.message_id, [])

    said = await pressed_again(tg, office, alice, MineCb(act="send", item=asked.id).pack(), prompt)
    assert said == (
        "This was left unfinished when you started something else; nothing was sent from it."
    )
    assert await office.status(asked.id) is S.NEEDS_INFO


async def test_a_used_button_is_answered_in_chinese(
    sessions: Any, world: World, clock: FixedClock
) -> None:
    office = Office(sessions, world, clock)
    tg = new_telegram(sessions, clock)  # the default locale: zh_CN
    try:
        info = await office.implemented()
        alice = tg.person(ALICE, "Alice")
        [hello] = await alice.send("/start")
        rate = MineCb(act="rate", item=info.id, value=RatingValue.SATISFIED.value).pack()
        [prompt] = await alice.callback(rate, message=hello)
        [rated, _thanks] = await alice.send("很好")
        assert (rated.plain, rated.buttons()) == ("✅ 已对 WZ-2026-0001 作出评价：😊 满意。", [])
        said = await pressed_again(
            tg, office, alice, MineCb(act="skip", item=info.id).pack(), prompt
        )
        assert said == "您已对 WZ-2026-0001 作出评价：😊 满意。"
    finally:
        await tg.bot.session.close()
    assert tg.session.problems == []
