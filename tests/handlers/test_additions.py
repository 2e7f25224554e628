"""The observer adds to a filed item (issue 19, point 1): from My suggestions, or by
replying to any notice about it; the addition reaches the office's card and group, and
the department's card and chat without the observer's name, and stands in the
timeline. Withdrawing is offered until the office decides.

Items are moved with the services (one transaction per call, as the office's own
updates would be); the observer, the office and the liaison then act through the real
Dispatcher and the fake Telegram, and the outbox is delivered as the sender would.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from aiogram.types import PhotoSize
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.lifecycle import Action
from bot.domain.statuses import SuggestionStatus as S
from bot.services.suggestions import SuggestionService
from bot.services.views import SuggestionInfo
from handlers.callbacks import MineCb
from storage.models import Attachment, Event, OutboxMessage, Suggestion
from tests.handlers.conftest import make_settings, new_telegram
from tests.harness import Harness
from tests.telegram import Person, RecordingSession, Sent, Telegram
from tests.world import ALICE, BOB, DUE, LIAISON, FixedClock, World, draft

Sessions = async_sessionmaker[AsyncSession]
GROUP = -100500


class Office(Harness):
    service = SuggestionService
    none_is_system = True

    async def filed(self, title: str = "Street lamps out") -> SuggestionInfo:
        info: SuggestionInfo = await self.by(ALICE).submit(draft(title))
        return info

    async def taken(self) -> SuggestionInfo:
        info = await self.filed()
        await self.admin.take(info.id)
        return info

    async def implementing(self) -> SuggestionInfo:
        info = await self.taken()
        await self.admin.adopt(
            info.id, department_id=self.world.department_id, due=DUE, text="Fix them"
        )
        await self.by(LIAISON).accept(info.id)
        return info

    async def item(self, item_id: int) -> Suggestion:
        row = await self.get(Suggestion, item_id)
        assert row is not None
        return row

    async def events(self, item_id: int) -> list[Event]:
        return await self.scalars(
            sa.select(Event).where(Event.suggestion_id == item_id).order_by(Event.id)
        )

    async def files(self, item_id: int) -> list[Attachment]:
        return await self.scalars(
            sa.select(Attachment).where(Attachment.suggestion_id == item_id).order_by(Attachment.id)
        )

    async def told(self, event_id: int) -> list[tuple[str, int | None]]:
        rows = await self.outbox(event_id=event_id)
        return sorted((r.audience, r.chat_id) for r in rows)


@pytest.fixture
def office(sessions: Sessions, world: World, clock: FixedClock) -> Office:
    return Office(sessions, world, clock)


@pytest.fixture
async def tg(sessions: Sessions, world: World, clock: FixedClock) -> AsyncIterator[Telegram]:
    # The group reads English, as the observer does.
    tg = new_telegram(sessions, clock, settings=make_settings(default_locale="en"))
    yield tg
    await tg.bot.session.close()
    assert tg.session.problems == [], "the bot sent what Telegram would refuse"


async def english(tg: Telegram, user_id: int = ALICE, name: str = "Alice") -> Person:
    person = tg.person(user_id, name, "en")
    await person.send("/start")  # the language is known from the first update
    return person


async def open_card(person: Person, item: SuggestionInfo) -> Sent:
    [card] = await person.callback(MineCb(act="show", item=item.id).pack(), message=person.last)
    return card


async def reply_with_photo(person: Person, to: Sent, file_id: str, caption: str) -> list[Sent]:
    """A photo sent as a reply to one of the bot's messages."""
    size = PhotoSize(file_id=file_id, file_unique_id=f"u-{file_id}", width=800, height=600)
    return await person._message(
        photo=[size], caption=caption, reply_to_message=RecordingSession._message(to)
    )


def group(tg: Telegram) -> list[Sent]:
    return tg.chat(GROUP)


def office_card(tg: Telegram) -> Sent:
    return [s for s in group(tg) if "<b>History</b>" in s.text][-1]


def buttons(sent: Sent) -> list[str]:
    return [text for text, _ in sent.buttons()]


# ---- from My suggestions --------------------------------------------------------------


async def test_adding_from_my_suggestions_reaches_office_and_department(
    tg: Telegram, office: Office
) -> None:
    alice = await english(tg)
    await english(tg, LIAISON, "Li")
    info = await office.implementing()
    await tg.drain()  # the office's card, the department's card, the observer's notices
    card = await open_card(alice, info)
    assert "➕ Add to it" in buttons(card)
    # Withdrawing is not offered once the office has decided.
    assert "↩️ Withdraw" not in buttons(card)

    [prompt] = await alice.press("➕ Add to it")
    assert prompt.plain.startswith("WZ-2026-0001 “Street lamps out”\nWrite what you want to add")
    assert buttons(prompt) == ["✅ Send the addition", "✖️ Cancel"]
    # Nothing to send yet.
    await alice.press("✅ Send the addition")
    assert tg.session.alerts[-1][1] == (
        "Nothing to send yet: please write something or send a photo or document."
    )
    await alice.send("Two more lamps are out <near> the school")
    # Each new prompt takes the buttons off the one before (edited), and comes last.
    ack = (await alice.photo("ph-lamp", caption="the corner"))[-1]
    assert "Your addition so far: 52 of 1500 characters, 1 of 10 files." in ack.plain
    before = (await office.item(info.id)).version

    sent = await alice.press("✅ Send the addition")
    assert sent[-1].plain.startswith(
        "✅ Your addition to WZ-2026-0001 has been sent to the office. The department "
        "working on it has it too, without your name."
    )
    row = await office.item(info.id)
    # An addition moves nothing, and leaves the office's open cards valid.
    assert (row.status, row.version) == (S.IMPLEMENTING, before)
    added = (await office.events(info.id))[-1]
    assert (added.action, added.actor_user_id, added.from_status, added.to_status) == (
        Action.ADD,
        ALICE,
        S.IMPLEMENTING,
        S.IMPLEMENTING,
    )
    assert added.text == "Two more lamps are out <near> the school\n\nthe corner"
    assert [(f.file_id, f.event_id) for f in await office.files(info.id)] == [("ph-lamp", added.id)]
    # The office and the department's liaison hear of it; the observer does not.
    assert await office.told(added.id) == [("admins", None), ("liaison", LIAISON)]

    await tg.drain()
    # The office's card shows it, and a short notice follows the card, with the photo.
    card_now = office_card(tg)
    assert "Observer Alice ➕ added to it (📎 1)" in card_now.plain
    assert "Two more lamps are out &lt;near&gt; the school" in card_now.text
    notice = next(s for s in group(tg) if s.plain.startswith("➕ The observer has added to"))
    assert notice.reply_to == card_now.message_id
    assert "The addition:\nTwo more lamps are out <near> the school" in notice.plain
    assert "📎 Files: 1 (below)" in notice.plain
    assert buttons(notice) == ["💬 Answer the observer"]
    assert [s.file_id for s in group(tg) if s.kind == "photo"] == ["ph-lamp"]

    # The department: a line and the photo, its card's history, never who filed it.
    liaison_chat = tg.chat(LIAISON)
    line = next(s for s in liaison_chat if "has added to" in s.plain)
    assert line.plain.startswith("➕ The observer has added to WZ-2026-0001 “Street lamps out”.")
    assert "The addition:\nTwo more lamps are out <near> the school" in line.plain
    department_card = [s for s in liaison_chat if "Implementation so far" in s.plain][-1]
    assert "Addition from the observer" in department_card.plain
    assert "ph-lamp" in [s.file_id for s in liaison_chat]
    assert not any("Alice" in s.plain for s in liaison_chat)

    # The observer's own timeline shows it.
    card = await open_card(alice, info)
    assert "Addition from the observer\nTwo more lamps are out <near> the school" in card.plain


async def test_an_addition_in_progress_can_be_cancelled(tg: Telegram, office: Office) -> None:
    info = await office.filed()
    alice = await english(tg)
    await open_card(alice, info)
    await alice.press("➕ Add to it")
    await alice.send("never mind")
    [gone] = await alice.press("✖️ Cancel")
    assert gone.plain == "Your addition was discarded; nothing was sent."
    # /cancel ends one begun again just as well.
    await open_card(alice, info)
    await alice.press("➕ Add to it")
    await alice.send("second thoughts")
    said = await alice.send("/cancel")
    assert said[-1].plain == "Cancelled. Nothing was sent."
    assert [e.action for e in await office.events(info.id)] == [Action.SUBMIT]


# ---- a reply to a notice --------------------------------------------------------------


async def test_a_reply_to_a_notice_becomes_an_addition_once_confirmed(
    tg: Telegram, office: Office
) -> None:
    alice = await english(tg)
    info = await office.taken()
    await tg.drain()
    notice = alice.last
    assert notice.plain.startswith("🔵 Your suggestion WZ-2026-0001")

    # The reply is taken in, and nothing is filed until it is confirmed.
    [ask] = await alice.reply(notice, "Also: the lamp at no. 14 flickers")
    assert ask.plain.startswith(
        "Add this to WZ-2026-0001 “Street lamps out”? Nothing is sent until you press "
        "✅ Send the addition"
    )
    assert "Your addition so far: 33 of 1500 characters, 0 of 10 files." in ask.plain
    assert buttons(ask) == ["✅ Send the addition", "✖️ Cancel"]
    assert [e.action for e in await office.events(info.id)] == [Action.SUBMIT, Action.TAKE]
    # More may follow before sending: a photo replying to the same notice.
    await reply_with_photo(alice, notice, "ph-14", "no. 14")

    await alice.press("✅ Send the addition")
    added = (await office.events(info.id))[-1]
    assert (added.action, added.text) == (Action.ADD, "Also: the lamp at no. 14 flickers\n\nno. 14")
    assert [f.file_id for f in await office.files(info.id)] == ["ph-14"]
    assert (await office.item(info.id)).status is S.IN_REVIEW
    # Not assigned to a department yet: the office alone hears of it.
    assert await office.told(added.id) == [("admins", None)]


async def test_an_accidental_reply_is_not_filed(tg: Telegram, office: Office) -> None:
    alice = await english(tg)
    info = await office.taken()
    await tg.drain()
    await alice.reply(alice.last, "oops")
    [gone] = await alice.press("✖️ Cancel")
    assert gone.plain == "Your addition was discarded; nothing was sent."
    assert [e.action for e in await office.events(info.id)] == [Action.SUBMIT, Action.TAKE]
    assert await office.count(OutboxMessage) == len(await office.outbox())


async def test_a_reply_while_the_office_asks_is_the_answer(tg: Telegram, office: Office) -> None:
    alice = await english(tg)
    info = await office.taken()
    await office.admin.ask_info(info.id, "Which street exactly?")
    await tg.drain()
    question = alice.last
    assert "Which street exactly?" in question.plain

    [ask] = await alice.reply(question, "Renmin Road 12")
    assert ask.plain.startswith(
        "Is this your answer to the office's question about WZ-2026-0001 “Street lamps out”?"
    )
    assert "The office asks:\nWhich street exactly?" in ask.plain
    await alice.press("✅ Send the answer")
    answered = (await office.events(info.id))[-1]
    assert (answered.action, answered.text) == (Action.ANSWER_INFO, "Renmin Road 12")
    assert (await office.item(info.id)).status is S.SUBMITTED


async def test_a_reply_about_a_decided_item_says_what_can_be_done(
    tg: Telegram, office: Office
) -> None:
    alice = await english(tg)
    info = await office.taken()
    await office.admin.decline(info.id, "Not within the district's remit")
    await tg.drain()
    [told] = await alice.reply(alice.last, "But why?")
    assert told.plain.startswith(
        "WZ-2026-0001 “Street lamps out” is “Not adopted”: nothing can be added to it now."
    )
    assert "rate it with the buttons on its card" in told.plain
    assert buttons(told) == ["📄 Open WZ-2026-0001"]
    assert [e.action for e in await office.events(info.id)][-1] is Action.DECLINE


async def test_replies_that_are_not_about_ones_own_item_are_not_taken(
    tg: Telegram, office: Office
) -> None:
    alice = await english(tg)
    info = await office.taken()
    await tg.drain()
    notice = alice.last
    # Bob replies to (a copy of) Alice's notice: it is not his item, so not an addition.
    bob = await english(tg, BOB, "Bob")
    [answer] = await bob.reply(notice, "me too")
    assert answer.plain.startswith("Sorry")
    # A reply to a message of the bot's that names no item is not one either.
    [hello] = await alice.send("/help")
    [answer] = await alice.reply(hello, "thanks")
    assert answer.plain.startswith("Sorry")
    assert [e.action for e in await office.events(info.id)] == [Action.SUBMIT, Action.TAKE]


# ---- withdrawing until the office decides ---------------------------------------------


async def test_withdrawing_is_offered_while_under_review(tg: Telegram, office: Office) -> None:
    info = await office.taken()
    alice = await english(tg)
    card = await open_card(alice, info)
    assert buttons(card)[:2] == ["➕ Add to it", "↩️ Withdraw"]
    await alice.press("↩️ Withdraw")
    [done] = await alice.press("Yes, withdraw")
    assert done.plain.startswith("WZ-2026-0001 · ↩️ Withdrawn")
    row = await office.item(info.id)
    assert row.status is S.WITHDRAWN
    withdrawn = (await office.events(info.id))[-1]
    assert (withdrawn.action, withdrawn.from_status) == (Action.WITHDRAW, S.IN_REVIEW)
    # Once withdrawn, nothing can be added any more.
    assert "➕ Add to it" not in buttons(done)


# ---- Chinese ---------------------------------------------------------------------------


async def test_adding_speaks_chinese(sessions: Sessions, world: World, clock: FixedClock) -> None:
    tg = new_telegram(sessions, clock)
    try:
        office = Office(sessions, world, clock)
        info = await office.filed("路灯不亮")
        alice = tg.person(ALICE, "Alice", "zh-hans")
        [hello] = await alice.send("/start")
        [card] = await alice.callback(MineCb(act="show", item=info.id).pack(), message=hello)
        add = next(text for text in buttons(card) if text.startswith("➕"))
        [prompt] = await alice.press(add)
        assert "补充" in prompt.plain
        await alice.send("南侧也有两盏")
        sent = await alice.press(MineCb(act="addsend", item=info.id).pack())
        assert "依法治区办" in sent[-1].plain
        assert (await office.events(info.id))[-1].action is Action.ADD
        assert tg.session.problems == []
    finally:
        await tg.bot.session.close()
