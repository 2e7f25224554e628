"""My suggestions through the real Dispatcher: the list, the card, and what the observer
may do from it (withdraw, answer the office's question, rate), on both databases.

Items are put into the state a test needs with the services directly, one transaction
per call as the office's own updates would be; the observer then acts through the fake
Telegram, and each test checks what the person saw and what the database holds.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from aiogram.fsm.context import FSMContext

from bot.domain.lifecycle import Action
from bot.domain.notices import item_notice
from bot.domain.statuses import RatingValue
from bot.domain.statuses import SuggestionStatus as S
from bot.services.suggestions import SuggestionService
from bot.services.views import SuggestionInfo
from handlers.callbacks import MineCb
from storage.models import Attachment, Event, OutboxMessage, Suggestion
from storage.models import Rating as RatingRow
from tests.harness import As, Harness
from tests.telegram import Person, Sent, Telegram
from tests.world import ADMIN, ALICE, BOB, DUE, LIAISON, STRANGER, FixedClock, World, draft

NOT_FOUND = "That item was not found, or it is not yours."
STALE = "This button is no longer valid. Please start again from the menu."
MENU = "📋 My suggestions"


class Office(Harness):
    service = SuggestionService
    none_is_system = True

    @property
    def alice(self) -> As:
        return self.by(ALICE)

    async def filed(self, title: str = "Street lamps out", **kwargs: Any) -> SuggestionInfo:
        info: SuggestionInfo = await self.by(ALICE).submit(draft(title, **kwargs))
        return info

    async def asking(self, question: str = "Which street exactly?") -> SuggestionInfo:
        info = await self.filed()
        await self.admin.take(info.id)
        await self.admin.ask_info(info.id, question)
        return info

    async def adopted(self, title: str = "Street lamps out") -> SuggestionInfo:
        info = await self.filed(title)
        await self.admin.take(info.id)
        await self.admin.adopt(
            info.id, department_id=self.world.department_id, due=DUE, text="We will fix it"
        )
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

    async def events(self, item_id: int) -> list[Event]:
        return await self.scalars(
            sa.select(Event).where(Event.suggestion_id == item_id).order_by(Event.id)
        )

    async def ratings(self, item_id: int) -> list[RatingRow]:
        return await self.scalars(
            sa.select(RatingRow).where(RatingRow.suggestion_id == item_id).order_by(RatingRow.id)
        )

    async def snapshot(self, item_id: int) -> tuple[Any, ...]:
        """Everything a forged button could change about an item."""
        row = await self.get(Suggestion, item_id)
        assert row is not None
        return (
            row.status,
            row.version,
            len(await self.events(item_id)),
            len(await self.ratings(item_id)),
            await self.count(Attachment),
            await self.count(OutboxMessage),
        )


@pytest.fixture
def office(sessions: Any, world: World, clock: FixedClock) -> Office:
    return Office(sessions, world, clock)


def english(tg: Telegram, user_id: int = ALICE, name: str = "Alice") -> Person:
    return tg.person(user_id, name, "en")


def alerts(tg: Telegram) -> list[str | None]:
    return [text for _, text, _ in tg.session.alerts]


def last_alert(tg: Telegram) -> str:
    return alerts(tg)[-1] or ""


async def open_card(person: Person, item: SuggestionInfo) -> Sent:
    """The list, then a tap on the item: the list message becomes the card."""
    [listing] = await person.send(MENU)
    [card] = await person.press(MineCb(act="show", item=item.id, value="l").pack())
    assert card.message_id == listing.message_id
    assert card.edited
    return card


async def fsm(tg: Telegram, user_id: int) -> FSMContext:
    return tg.dp.fsm.get_context(bot=tg.bot, chat_id=user_id, user_id=user_id)


# ---- 1. the list --------------------------------------------------------------------------


async def test_the_list_pages_through_ten_items_in_place(tg: Telegram, office: Office) -> None:
    for n in range(1, 11):
        await office.filed(f"Item {n:02d}")
        office.clock.advance(minutes=1)
    alice = english(tg)

    [first] = await alice.send(MENU)
    assert first.plain.startswith("My suggestions: 10 in all. Page 1 of 2.")
    # Newest first, one button per item, then the pager.
    items = [text for text, data in first.buttons() if data.startswith("my:show:")]
    assert len(items) == 8
    assert items[0] == "🟡 WZ-2026-0010 Item 10"
    assert "Item 03" in first.plain
    assert "Item 02" not in first.plain
    assert "Submitted, awaiting review" in first.plain
    assert [t for t, _ in first.buttons()[8:]] == ["1/2", "▶"]

    [second] = await alice.press("▶")
    assert second.message_id == first.message_id
    assert second.edited
    assert second.plain.startswith("My suggestions: 10 in all. Page 2 of 2.")
    items = [text for text, data in second.buttons() if data.startswith("my:show:")]
    assert items == ["🟡 WZ-2026-0002 Item 02", "🟡 WZ-2026-0001 Item 01"]
    assert [t for t, _ in second.buttons()[2:]] == ["◀", "2/2"]

    # The page label does nothing but answer; the arrow goes back.
    assert await alice.press("2/2") == []
    [back] = await alice.press("◀")
    assert back.message_id == first.message_id
    assert "Page 1 of 2." in back.plain
    assert len(tg.session.alerts) == 3

    [again] = await alice.send("/mine")
    assert again.plain.startswith("My suggestions: 10 in all.")


async def test_an_empty_list_says_how_to_file(tg: Telegram, office: Office) -> None:
    bob = english(tg, BOB, "Bob")
    [reply] = await bob.send(MENU)
    assert reply.plain == (
        "You have not filed anything yet. To file what you have collected, press "
        "📝 New suggestion in the menu or send /new."
    )
    assert reply.buttons() == []


async def test_a_single_page_has_no_pager_and_long_titles_are_clipped(
    tg: Telegram, office: Office
) -> None:
    await office.filed("A" * 100)
    alice = english(tg)
    [reply] = await alice.send("/mine")
    assert reply.plain.startswith("My suggestions: 1 in all.\n")
    assert "Page" not in reply.plain
    [(text, _)] = reply.buttons()
    assert len(text) <= 40
    assert text.endswith("…")
    assert "A" * 39 + "…" in reply.plain


async def test_strangers_are_told_only_observers_have_a_list(tg: Telegram) -> None:
    stan = english(tg, STRANGER, "Stan")
    [reply] = await stan.send("/mine")
    assert reply.plain.startswith("Only appointed observers can do this.")
    await stan.callback(MineCb(act="list", page=1).pack(), message=reply)
    assert last_alert(tg).startswith("Only appointed observers")


async def test_the_menu_wins_over_another_flow_and_leaves_its_data_alone(
    tg: Telegram, office: Office
) -> None:
    await office.filed()
    context = await fsm(tg, ALICE)
    await context.set_state("Filing:title")
    await context.update_data(draft={"kind": "problem", "title": "half-written"})
    alice = english(tg)

    [reply] = await alice.send(MENU)
    assert reply.plain.startswith("My suggestions: 1 in all.")
    assert await context.get_state() == "Filing:title"
    assert await context.get_data() == {"draft": {"kind": "problem", "title": "half-written"}}


# ---- 2. the card --------------------------------------------------------------------------


async def test_the_card_shows_the_history_with_the_offices_words_and_no_notes(
    tg: Telegram, office: Office
) -> None:
    info = await office.filed("<b>&x", body="Lamps <off> & dark", location_text="Renmin Rd")
    await office.admin.take(info.id)
    office.clock.advance(hours=1)
    await office.admin.ask_info(info.id, "Which street exactly?")
    await office.admin.note(info.id, "INTERNAL: check with the police first")
    await office.alice.answer_info(info.id, "Renmin Road, number 12")
    await office.admin.take(info.id)
    await office.admin.adopt(
        info.id, department_id=office.world.department_id, due=DUE, text="Sensible, adopted"
    )
    await office.by(LIAISON).accept(info.id)
    office.clock.advance(days=1)
    await office.by(LIAISON).report_progress(info.id, "Lamps ordered <today>")
    alice = english(tg)

    [listing] = await alice.send(MENU)
    assert "<b>&x" in listing.plain
    assert "&lt;b&gt;&amp;x" in listing.text
    [(button_text, _)] = listing.buttons()
    assert button_text == "🛠 WZ-2026-0001 <b>&x"
    [card] = await alice.press(button_text)
    assert card.message_id == listing.message_id
    shown = card.plain
    assert shown.startswith("WZ-2026-0001 · 🛠 Being implemented\n<b>&x\n")
    assert "&lt;b&gt;&amp;x" in card.text
    assert "Lamps &lt;off&gt; &amp; dark" in card.text
    for fact in [
        "Kind: Problem",
        "Domain: Grassroots social governance",
        "On whose behalf: On behalf of residents",
        "Location: Renmin Rd",
        "Observation point: 城区便民服务中心",
        "Filed: 2026-03-02 09:00",
        "Department: 区市场监管局",
        "Implementation due: 2026-03-31",
    ]:
        assert fact in shown, fact
    history = shown[shown.index("History") :]
    expected = [
        "2026-03-02 09:00 · Submitted",
        "2026-03-02 09:00 · Taken up by the office for review",
        "2026-03-02 10:00 · The office asked for more information\nWhich street exactly?",
        "You answered the office\nThe office will decide by",
        "Renmin Road, number 12",
        "Adopted\nDepartment: 区市场监管局\nTo be implemented by 2026-03-31\nSensible, adopted",
        "The department started implementing it",
        "2026-03-03 10:00 · Progress report\nLamps ordered <today>",
    ]
    position = 0
    for line in expected:
        found = history.find(line, position)
        assert found >= 0, line
        position = found
    assert "INTERNAL" not in card.text
    assert "Internal note" not in shown
    assert "earlier entries omitted" not in shown
    # Only what an implementing item allows the observer: adding to it, going back.
    assert card.buttons() == [
        ("➕ Add to it", MineCb(act="add", item=info.id).pack()),
        ("⬅️ Back to list", "my:list:0:1:"),
    ]
    # The note is in the database all the same.
    notes = [e for e in await office.events(info.id) if e.internal]
    assert [n.text for n in notes] == ["INTERNAL: check with the police first"]

    [listing_again] = await alice.press("⬅️ Back to list")
    assert listing_again.message_id == card.message_id
    assert listing_again.plain.startswith("My suggestions: 1 in all.")


async def test_a_long_history_keeps_the_newest_entries_within_one_message(
    tg: Telegram, office: Office
) -> None:
    info = await office.filed("T" * 100, body="B" * 2500, location_text="L" * 300)
    for round_ in range(5):
        await office.admin.take(info.id)
        await office.admin.ask_info(info.id, f"Q{round_}" + "q" * 1400)
        office.clock.advance(minutes=5)
        await office.alice.answer_info(info.id, f"A{round_}" + "a" * 1400)
    await office.admin.take(info.id)
    await office.admin.ask_info(info.id, "Last question " + "z" * 1480)
    alice = english(tg)

    card = await open_card(alice, info)
    # The fake Telegram refuses anything over 4096 characters; the newest words are there.
    assert "(earlier entries omitted)" in card.plain
    assert "Last question zzz" in card.plain
    assert "Q0qqq" not in card.plain
    assert "BBBB" in card.plain
    assert "The office needs more information from you" in card.plain


async def test_the_card_from_a_notification_comes_as_a_new_message(
    tg: Telegram, office: Office
) -> None:
    info = await office.filed()
    alice = english(tg)
    [hello] = await alice.send("/start")
    [card] = await alice.callback(MineCb(act="show", item=info.id).pack(), message=hello)
    assert card.message_id != hello.message_id
    assert not card.edited
    assert card.plain.startswith("WZ-2026-0001 · 🟡 Submitted, awaiting review")
    assert "Decision due: 2026-03-09" in card.plain
    assert [t for t, _ in card.buttons()] == ["➕ Add to it", "↩️ Withdraw", "⬅️ Back to list"]


async def test_attachments_are_sent_again_by_file_id(tg: Telegram, office: Office) -> None:
    from bot.domain.statuses import AttachmentKind
    from bot.services.views import AttachmentIn

    files = (
        AttachmentIn(AttachmentKind.PHOTO, "photo-1", "u1"),
        AttachmentIn(AttachmentKind.PHOTO, "photo-2", "u2"),
        AttachmentIn(AttachmentKind.DOCUMENT, "doc-1", "u3", "plan.pdf", "application/pdf"),
    )
    info = await office.filed(attachments=files)
    alice = english(tg)
    card = await open_card(alice, info)
    assert "Attachments: 3" in card.plain
    sent = await alice.press("📎 Show attachments (3)")
    assert [s.kind for s in sent] == ["photo", "photo", "document"]
    assert sent[0].plain == "📎 Attachments of WZ-2026-0001"
    assert sent[2].plain == "📎 Attachments of WZ-2026-0001"
    calls = [type(r).__name__ for r in tg.session.requests]
    assert "SendMediaGroup" in calls
    assert "SendDocument" in calls
    assert alerts(tg)[-1] is None


# ---- 3. withdrawing -----------------------------------------------------------------------


async def test_withdrawing_asks_first_then_tells_the_office(tg: Telegram, office: Office) -> None:
    info = await office.filed()
    alice = english(tg)
    card = await open_card(alice, info)

    [question] = await alice.press("↩️ Withdraw")
    assert question.message_id == card.message_id
    assert question.plain.startswith("Withdraw WZ-2026-0001 “Street lamps out”?")
    [card] = await alice.press("No, keep it")
    assert card.plain.startswith("WZ-2026-0001 · 🟡")
    assert await office.status(info.id) is S.SUBMITTED

    await alice.press("↩️ Withdraw")
    [card] = await alice.press("Yes, withdraw")
    assert card.plain.startswith("WZ-2026-0001 · ↩️ Withdrawn")
    assert "Withdraw" not in [t for t, _ in card.buttons()]
    assert alerts(tg)[-1] == "Withdrawn. The office has been told."
    assert await office.status(info.id) is S.WITHDRAWN
    rows = await office.outbox(item_id=info.id)
    assert [(r.audience, r.kind) for r in rows if r.kind == item_notice(Action.WITHDRAW)] == [
        ("admins", "item.withdraw")
    ]

    # The old confirmation button, pressed again, changes nothing.
    before = await office.snapshot(info.id)
    await alice.callback(MineCb(act="withdraw", item=info.id, value="yes").pack())
    assert last_alert(tg).startswith("That is no longer possible")
    assert await office.snapshot(info.id) == before


async def test_an_adopted_item_cannot_be_withdrawn(tg: Telegram, office: Office) -> None:
    info = await office.adopted()
    alice = english(tg)
    card = await open_card(alice, info)
    assert card.plain.startswith("WZ-2026-0001 · ✅ Adopted")
    assert "↩️ Withdraw" not in [t for t, _ in card.buttons()]

    before = await office.snapshot(info.id)
    for value in ("", "yes"):
        await alice.callback(MineCb(act="withdraw", item=info.id, value=value).pack())
        assert last_alert(tg).startswith("That is no longer possible")
    assert await office.snapshot(info.id) == before


# ---- 4. answering the office's question ---------------------------------------------------


async def test_answering_with_text_and_photos_sends_it_back_to_the_office(
    tg: Telegram, office: Office
) -> None:
    info = await office.asking("Which street exactly?")
    alice = english(tg)
    card = await open_card(alice, info)
    assert card.plain.startswith("WZ-2026-0001 · ❓ More information requested")
    assert [t for t, _ in card.buttons()] == [
        "✍️ Answer the office's question",
        "↩️ Withdraw",
        "⬅️ Back to list",
    ]

    [prompt] = await alice.press("✍️ Answer the office's question")
    assert "The office asks:\nWhich street exactly?" in prompt.plain
    assert [t for t, _ in prompt.buttons()] == ["✅ Send the answer", "✖️ Cancel"]

    # Files alone are not an answer. Only the newest message has the buttons.
    [stripped, ack] = await alice.photo("ph-1")
    assert (stripped.message_id, stripped.buttons()) == (prompt.message_id, [])
    assert ack.plain.startswith("Added to your answer: 0 of 1500 characters, 1 of 10 files.")
    await alice.press("✅ Send the answer")
    assert last_alert(tg).startswith("Please write your answer")
    assert await office.status(info.id) is S.NEEDS_INFO

    [_, ack] = await alice.send("Renmin Road <12>")
    assert ack.plain.startswith("Added to your answer: 16 of 1500 characters, 1 of 10 files.")
    # An album gets one reply, not one per photo (the reply before it loses its buttons).
    assert len(await alice.photo("ph-2", caption="the lamp", media_group_id="g1")) == 2
    assert await alice.photo("ph-3", media_group_id="g1") == []
    # Too much text is refused and the answer so far is kept.
    [refusal] = await alice.send("x" * 1490)
    assert refusal.plain.startswith("That would make it 1518 characters long")

    # The list in the middle of it changes nothing about the answer.
    [listing] = await alice.send(MENU)
    assert listing.plain.startswith("My suggestions: 1 in all.")
    [_, ack] = await alice.send("Near the school")
    assert "43 of 1500 characters, 3 of 10 files" in ack.plain

    # The card it began from is drawn afresh, without the Answer button.
    [card, done] = await alice.press("✅ Send the answer")
    assert "✍️ Answer the office's question" not in [t for t, _ in card.buttons()]
    assert done.message_id == ack.message_id
    assert done.plain.startswith("✅ Your answer about WZ-2026-0001 has been sent to the office.")
    assert done.buttons() == [("📄 Open WZ-2026-0001", MineCb(act="show", item=info.id).pack())]

    assert await office.status(info.id) is S.SUBMITTED
    event = (await office.events(info.id))[-1]
    assert event.action is Action.ANSWER_INFO
    assert event.text == "Renmin Road <12>\n\nthe lamp\n\nNear the school"
    files = await office.scalars(
        sa.select(Attachment).where(Attachment.suggestion_id == info.id).order_by(Attachment.id)
    )
    assert [(f.file_id, f.event_id) for f in files] == [
        ("ph-1", event.id),
        ("ph-2", event.id),
        ("ph-3", event.id),
    ]
    context = await fsm(tg, ALICE)
    assert await context.get_state() is None
    assert "answer" not in await context.get_data()

    # The flow is over: its buttons are gone, and an old one pressed says so.
    assert prompt.buttons() == []
    await alice.callback(MineCb(act="send", item=info.id).pack(), message=prompt)
    assert alerts(tg)[-1] == "Your answer about WZ-2026-0001 has already been sent to the office."


async def test_answering_can_be_cancelled_and_keeps_the_filing_draft(
    tg: Telegram, office: Office
) -> None:
    info = await office.asking()
    context = await fsm(tg, ALICE)
    await context.update_data(draft={"title": "kept"})
    alice = english(tg)
    [hello] = await alice.send("/start")
    # The notification's button starts the flow from any message.
    [prompt] = await alice.callback(MineCb(act="answer", item=info.id).pack(), message=hello)
    assert prompt.plain.startswith("WZ-2026-0001 “Street lamps out”")
    await alice.send("never mind")
    [gone] = await alice.press("✖️ Cancel")
    assert gone.plain == "Your answer was discarded; nothing was sent."
    assert await context.get_state() is None
    assert await context.get_data() == {"draft": {"title": "kept"}}
    assert await office.status(info.id) is S.NEEDS_INFO
    assert [e.action for e in await office.events(info.id)][-1] is Action.ASK_INFO


# ---- 5. rating ----------------------------------------------------------------------------


async def test_rating_satisfied_with_a_comment_closes_the_item(
    tg: Telegram, office: Office
) -> None:
    info = await office.implemented()
    alice = english(tg)
    card = await open_card(alice, info)
    assert card.plain.startswith("WZ-2026-0001 · 🎯 Implemented")
    assert "All lamps replaced" in card.plain
    assert "How satisfied are you with the outcome?" in card.plain
    assert [t for t, _ in card.buttons()][:3] == [
        "😊 Satisfied",
        "🙂 Basically satisfied",
        "🙁 Dissatisfied",
    ]

    [prompt] = await alice.press("😊 Satisfied")
    assert prompt.plain.startswith("You chose 😊 Satisfied for WZ-2026-0001.")
    [refusal] = await alice.send("y" * 501)
    assert refusal.plain.startswith("That would make it 501 characters long, and at most 500")
    # The prompt says what was rated, and the card no longer offers ratings.
    [card, rated, thanks] = await alice.send("Quick & <good> work")
    assert (rated.message_id, rated.buttons()) == (prompt.message_id, [])
    assert rated.plain == "✅ Rated 😊 Satisfied on WZ-2026-0001."
    assert "😊 Satisfied" not in [t for t, _ in card.buttons()]
    assert thanks.plain == (
        "Thank you for rating WZ-2026-0001: 😊 Satisfied. The office will read your comment."
    )

    assert await office.status(info.id) is S.CLOSED
    [rating] = await office.ratings(info.id)
    assert (rating.value, rating.comment) == (RatingValue.SATISFIED, "Quick & <good> work")

    # A second rating of the same outcome is refused, from any button.
    before = await office.snapshot(info.id)
    await alice.callback(MineCb(act="rate", item=info.id, value="dissatisfied").pack())
    assert alerts(tg)[-1] == "You have already rated this outcome. Thank you!"
    assert await office.snapshot(info.id) == before
    card = await open_card(alice, info)
    assert "Your rating\n😊 Satisfied · 2026-03-02 09:00\nQuick & <good> work" in card.plain
    assert "😊 Satisfied" not in [t for t, _ in card.buttons()]


async def test_dissatisfied_reopens_the_item_for_the_department(
    tg: Telegram, office: Office
) -> None:
    info = await office.implemented()
    alice = english(tg)
    [hello] = await alice.send("/start")
    await alice.callback(
        MineCb(act="rate", item=info.id, value="dissatisfied").pack(), message=hello
    )
    [thanks] = await alice.press("Skip")
    assert thanks.plain.startswith(
        "Thank you. As you are not satisfied, WZ-2026-0001 has been reopened and sent back "
        "to the department"
    )
    assert await office.status(info.id) is S.IMPLEMENTING
    [rating] = await office.ratings(info.id)
    assert (rating.value, rating.comment) == (RatingValue.DISSATISFIED, None)
    assert (await office.events(info.id))[-1].action is Action.REOPEN
    rows = await office.outbox(item_id=info.id)
    reopened = {r.audience for r in rows if r.kind == item_notice(Action.REOPEN)}
    assert reopened == {"admins", "liaison"}

    # The old Skip button is gone, and says what it did; rating again is refused.
    assert thanks.buttons() == [("📄 Open WZ-2026-0001", MineCb(act="show", item=info.id).pack())]
    await alice.callback(MineCb(act="skip", item=info.id).pack())
    assert alerts(tg)[-1] == "You have already rated WZ-2026-0001: 🙁 Dissatisfied."
    await alice.callback(MineCb(act="rate", item=info.id, value="satisfied").pack())
    assert alerts(tg)[-1] == "You have already rated WZ-2026-0001: 🙁 Dissatisfied."
    assert len(await office.ratings(info.id)) == 1


async def test_a_rating_chosen_then_cancelled_records_nothing(tg: Telegram, office: Office) -> None:
    info = await office.implemented()
    alice = english(tg)
    await open_card(alice, info)
    await alice.press("🙂 Basically satisfied")
    [gone] = await alice.press("✖️ Cancel")
    assert gone.plain == "Rating cancelled; nothing was recorded."
    assert await office.ratings(info.id) == []
    assert await office.status(info.id) is S.IMPLEMENTED


# ---- 6. forged callbacks ------------------------------------------------------------------


async def test_nobody_else_can_see_or_touch_alices_items(tg: Telegram, office: Office) -> None:
    asking = await office.asking()
    done = await office.implemented("Second")
    # Another observer, and the admin and the liaison, who may see the item elsewhere.
    for who in (BOB, ADMIN, LIAISON):
        await _forge_everything(tg, office, who, asking, done)


async def _forge_everything(
    tg: Telegram, office: Office, who: int, asking: SuggestionInfo, done: SuggestionInfo
) -> None:
    other = english(tg, who, "Mallory")
    [hello] = await other.send("/start")
    before = [await office.snapshot(asking.id), await office.snapshot(done.id)]

    forged = [
        MineCb(act="show", item=asking.id, value="l"),
        MineCb(act="show", item=done.id),
        MineCb(act="withdraw", item=asking.id),
        MineCb(act="withdraw", item=asking.id, value="yes"),
        MineCb(act="answer", item=asking.id),
        MineCb(act="rate", item=done.id, value="dissatisfied"),
        MineCb(act="rate", item=done.id, value="satisfied"),
        MineCb(act="files", item=asking.id),
    ]
    for data in forged:
        assert await other.callback(data.pack(), message=hello) == []
        assert alerts(tg)[-1] == NOT_FOUND, data
    # Flows the forger never started cannot be finished either.
    for data in [
        MineCb(act="send", item=asking.id),
        MineCb(act="skip", item=done.id),
        MineCb(act="quit", item=asking.id, value="answer"),
    ]:
        await other.callback(data.pack(), message=hello)
        assert alerts(tg)[-1] == STALE, data

    assert [await office.snapshot(asking.id), await office.snapshot(done.id)] == before
    assert "Street lamps out" not in " ".join(s.text for s in other.chat)
    context = await fsm(tg, who)
    assert await context.get_state() is None


async def test_garbled_buttons_get_a_short_alert(tg: Telegram, office: Office) -> None:
    info = await office.filed()
    alice = english(tg)
    [hello] = await alice.send("/start")
    before = await office.snapshot(info.id)
    garbled = [
        "my:show:abc:1:",
        "my:nuke:1:1:",
        "my:rate:1:1:excellent",
        "my:show:1",
        "my:list:1:x:",
        "my:",
    ]
    for data in garbled:
        assert await alice.callback(data, message=hello) == []
    assert alerts(tg) == [STALE] * len(garbled)
    assert await office.snapshot(info.id) == before


async def test_an_out_of_range_item_id_is_simply_not_found(tg: Telegram, office: Office) -> None:
    alice = english(tg)
    [hello] = await alice.send("/start")
    for item in (0, -5, 2**40):
        await alice.callback(f"my:show:{item}:1:", message=hello)
        assert alerts(tg)[-1] == NOT_FOUND


# ---- 7. Chinese ---------------------------------------------------------------------------


async def test_the_list_and_card_speak_chinese(tg: Telegram, office: Office) -> None:
    info = await office.adopted("路灯不亮")
    alice = tg.person(ALICE, "Alice", "zh-hans")
    [listing] = await alice.send("/mine")
    assert listing.plain.startswith("我的建议：共 1 件。")
    assert "点击" in listing.plain
    [card] = await alice.press(MineCb(act="show", item=info.id, value="l").pack())
    for fact in [
        "✅ 已采纳",
        "类别：问题",
        "领域：",
        "反映主体：代表群众反映",
        "法治观测点：城区便民服务中心",
        "办理记录",
        "责任单位：区市场监管局",
        "落实期限：2026-03-31",
    ]:
        assert fact in card.plain, fact
    assert "返回列表" in " ".join(t for t, _ in card.buttons())
    for english_word in ["Kind:", "History", "Department:", "Back to list"]:
        assert english_word not in card.plain + " ".join(t for t, _ in card.buttons())
