"""The department liaison's private chat through the real Dispatcher: the department
card (without the observer's identity), accepting, progress with files, handing back,
marking implemented, the department's list, and what forged or stale buttons do.

Items are put into the state a test needs with the services directly, as the office's
own updates would; the outbox is delivered with ``tg.drain()``; the liaison then acts
through the fake Telegram, in English.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa

from bot.domain.statuses import AttachmentKind
from bot.domain.statuses import SuggestionStatus as S
from bot.services.suggestions import SuggestionService
from bot.services.views import AttachmentIn, SuggestionInfo
from handlers.department import DeptCb
from storage.models import Attachment, Event, Liaison, OutboxMessage, Suggestion, TelegramUser
from tests.handlers.conftest import make_settings, new_telegram
from tests.harness import Harness
from tests.telegram import Person, Sent, Telegram
from tests.world import ALICE, DUE, LIAISON, FixedClock, World, draft

OTHER_LIAISON = 3002  # a liaison of HOUSING, added by the tests that need one
NOT_FOUND = "That item was not found, or it is not yours."
OUT_OF_DATE = (
    "This card was out of date: the item has moved on. It now shows where the item "
    "stands; nothing was done."
)
ALICE_PHONE = "13800000001"


@pytest.fixture
async def tg(sessions: Any, world: World, clock: FixedClock) -> AsyncIterator[Telegram]:
    tg = new_telegram(sessions, clock, settings=make_settings(default_locale="en"))
    yield tg
    await tg.bot.session.close()
    assert tg.session.problems == []


class Office(Harness):
    service = SuggestionService
    none_is_system = True

    async def adopted(self, title: str = "Street lamps out", **kwargs: Any) -> SuggestionInfo:
        info: SuggestionInfo = await self.by(ALICE).submit(draft(title, **kwargs))
        await self.admin.take(info.id)
        await self.admin.adopt(
            info.id,
            department_id=self.world.department_id,
            due=DUE,
            text="Replace the lamps on Renmin Road",
        )
        return info

    async def item(self, item_id: int) -> Suggestion:
        row: Suggestion | None = await self.get(Suggestion, item_id)
        assert row is not None
        return row

    async def events(self, item_id: int) -> list[Event]:
        return await self.scalars(
            sa.select(Event).where(Event.suggestion_id == item_id).order_by(Event.id)
        )

    async def snapshot(self, item_id: int) -> tuple[Any, ...]:
        row = await self.item(item_id)
        return (
            row.status,
            row.version,
            row.department_id,
            len(await self.events(item_id)),
            await self.count(Attachment),
            await self.count(OutboxMessage),
        )


@pytest.fixture
async def office(sessions: Any, world: World, clock: FixedClock) -> Office:
    office = Office(sessions, world, clock)
    # Everyone here reads English, so the tests do not depend on the catalogs.
    for uid in (ALICE, LIAISON):
        async with sessions() as session, session.begin():
            await session.execute(
                sa.update(TelegramUser).where(TelegramUser.id == uid).values(language_code="en")
            )
    return office


def liaison(tg: Telegram) -> Person:
    return tg.person(LIAISON, "Li", "en")


def alerts(tg: Telegram) -> list[str | None]:
    return [text for _, text, _ in tg.session.alerts]


def cards_of(person: Person, reference: str) -> list[Sent]:
    """The department cards of the item in the person's chat (edits applied)."""
    return [s for s in person.chat if s.kind == "text" and f" {reference} · " in s.plain[:40]]


def find(sent: list[Sent], needle: str) -> Sent:
    [one] = [s for s in sent if needle in s.plain]
    return one


def button_data(sent: Sent) -> list[str]:
    return [d for _, d in sent.buttons()]


async def card_delivered(
    tg: Telegram, office: Office, **kwargs: Any
) -> tuple[SuggestionInfo, Sent]:
    info = await office.adopted(**kwargs)
    await tg.drain()
    li = liaison(tg)
    [card] = cards_of(li, info.reference)
    return info, card


# ---- the card ----------------------------------------------------------------------------


async def test_an_adopted_item_reaches_the_liaison_as_a_card_without_the_observer(
    tg: Telegram, office: Office
) -> None:
    files = (
        AttachmentIn(AttachmentKind.PHOTO, "photo-1", "u1"),
        AttachmentIn(AttachmentKind.DOCUMENT, "doc-1", "u2", "plan.pdf", "application/pdf"),
    )
    info = await office.adopted(location_text="Renmin Road 12", attachments=files)
    await office.admin.note(info.id, "Internal: the observer is a lawyer")
    await tg.drain()
    li = liaison(tg)
    [card] = cards_of(li, info.reference)
    text = card.plain
    assert text.startswith(f"✅ {info.reference} · Adopted")
    for shown in (
        "Street lamps out",
        "Problem · Grassroots social governance",
        "Observation point: 城区便民服务中心",
        "Location: Renmin Road 12",
        "Department: 区市场监管局",
        "Implementation due: 2026-03-31",
        "Attachments: 2",
        "The office's decision:",
        "Replace the lamps on Renmin Road",
        "人民路 12 号附近路灯三周不亮",
    ):
        assert shown in text, shown
    assert button_data(card)[0] == DeptCb(act="ok", item=info.id, v=card_version(card)).pack()
    assert [t for t, _ in card.buttons()] == ["✅ Accept", "📎 Files (2)"]
    # The files filed with the item come along, by file id.
    assert [(s.kind, s.file_id) for s in li.chat[-2:]] == [
        ("photo", "photo-1"),
        ("document", "doc-1"),
    ]
    # The observer is told of the adoption without her own files sent back to her.
    assert any("adopted" in s.plain for s in tg.chat(ALICE))
    assert [s.file_id for s in tg.chat(ALICE) if s.kind in ("photo", "document")] == []
    # Nothing in the liaison's chat names the observer, or shows the internal note.
    everything = "\n".join(s.plain for s in li.chat)
    assert "Alice" not in everything
    assert ALICE_PHONE not in everything
    assert "Internal" not in everything
    # The card is recorded, so later moves edit it in place.
    [row] = [r for r in await office.outbox(item_id=info.id) if r.audience == "liaison"]
    assert row.state == "sent"


def card_version(card: Sent) -> int:
    data = next(d for d in button_data(card) if d.startswith("dp:ok:"))
    return DeptCb.unpack(data).v


async def test_accepting_edits_the_card_and_tells_the_observer(
    tg: Telegram, office: Office
) -> None:
    info, card = await card_delivered(tg, office)
    li = liaison(tg)
    changed = await li.press("✅ Accept")
    assert [c.message_id for c in changed] == [card.message_id]
    [now] = changed
    assert now.edited
    assert now.plain.startswith(f"🛠 {info.reference} · Being implemented")
    assert [t for t, _ in now.buttons()] == ["📝 Report progress", "↩️ Hand back", "🎯 Implemented"]
    assert "Accepted" in (alerts(tg)[-1] or "")
    assert (await office.item(info.id)).status is S.IMPLEMENTING

    await tg.drain()
    alice = tg.chat(ALICE)
    assert "The responsible department has started implementing" in alice[-1].plain
    # The liaison is not told of their own move.
    assert [
        r.audience for r in await office.outbox(item_id=info.id) if r.kind == "item.accept"
    ] == [
        "admins",
        "user",
    ]


async def test_progress_with_text_and_a_photo_reaches_the_observer(
    tg: Telegram, office: Office
) -> None:
    info, _ = await card_delivered(tg, office)
    li = liaison(tg)
    await li.press("✅ Accept")
    [prompt] = await li.press("📝 Report progress")
    assert f"Progress report on {info.reference}" in prompt.plain
    # The prompt gives its buttons to the newest message (handlers.used_prompts).
    [stripped, said] = await li.send("Three lamps replaced")
    assert (stripped.message_id, stripped.buttons()) == (prompt.message_id, [])
    assert "So far: 20 of 1500 characters, 0 of 10 files" in said.plain
    await li.photo("progress-photo", caption="Before and after")
    changed = await li.press("✅ Send the report")
    find(changed, f"Your progress report on {info.reference} has been sent")
    assert find(changed, "Being implemented").edited
    events = await office.events(info.id)
    assert events[-1].action == "progress"
    assert events[-1].text == "Three lamps replaced\n\nBefore and after"
    files = await office.scalars(sa.select(Attachment).where(Attachment.event_id == events[-1].id))
    assert [f.file_id for f in files] == ["progress-photo"]
    # The card now shows the report under the department's work.
    [card] = cards_of(li, info.reference)
    assert "Three lamps replaced" in card.plain

    await tg.drain()
    alice = tg.chat(ALICE)
    assert "Three lamps replaced" in alice[-2].plain
    assert (alice[-1].kind, alice[-1].file_id) == ("photo", "progress-photo")
    # Labelled as the department's, not like the observer's own files.
    assert alice[-1].plain == f"📎 From the responsible department, on {info.reference}"


async def test_handing_back_with_a_reason_clears_the_department(
    tg: Telegram, office: Office
) -> None:
    info, _ = await card_delivered(tg, office)
    li = liaison(tg)
    await li.press("✅ Accept")
    [prompt] = await li.press("↩️ Hand back")
    assert "write the reason" in prompt.plain
    # A reason is words: a photo is refused, and the empty reason cannot be sent.
    [refused] = await li.photo("x")
    assert "text only" in refused.plain
    await li.press("✅ Hand back", message=prompt)
    assert alerts(tg)[-1] == "Please write a few words first: the text is required."
    await li.send("This road belongs to the county, not the district")
    changed = await li.press("✅ Hand back")
    find(changed, "handed back to the office")
    card = find(changed, "Adopted")
    row = await office.item(info.id)
    assert (row.status, row.department_id) == (S.ADOPTED, None)
    assert card.plain.startswith(f"✅ {info.reference} · Adopted")
    assert "This item is no longer with your department." in card.plain
    assert button_data(card) == []
    rows = [r for r in await office.outbox(item_id=info.id) if r.kind == "item.hand_back"]
    assert [r.audience for r in rows] == ["admins"]
    assert rows[0].payload["text"] == "This road belongs to the county, not the district"
    # The department's list no longer has it.
    [listing] = await li.send("/mine")
    assert info.reference not in listing.plain


async def test_marking_implemented_asks_first_and_the_observer_is_asked_to_rate(
    tg: Telegram, office: Office
) -> None:
    info, _ = await card_delivered(tg, office)
    li = liaison(tg)
    await li.press("✅ Accept")
    await li.press("🎯 Implemented")
    await li.send("All five lamps replaced")
    [confirm] = await li.press("Continue ➡️")
    assert f"Mark {info.reference} implemented?" in confirm.plain
    assert "All five lamps replaced" in confirm.plain
    # Back to writing keeps what was written; adding more, then confirming.
    [back] = await li.press("⬅️ Back")
    assert "So far: 23 of 1500" in back.plain
    await li.document("report-1", "acceptance.pdf")
    await li.press("Continue ➡️")
    assert (await office.item(info.id)).status is S.IMPLEMENTING
    changed = await li.press("🎯 Yes, it is implemented")
    find(changed, "has been marked implemented")
    card = find(changed, "· Implemented")
    assert card.plain.startswith(f"🎯 {info.reference} · Implemented")
    assert "the observer is asked to rate" in card.plain
    assert [t for t, _ in card.buttons()] == ["📎 Files (1)"]
    row = await office.item(info.id)
    assert row.status is S.IMPLEMENTED
    assert (await office.events(info.id))[-1].text == "All five lamps replaced"

    await tg.drain()
    alice = tg.chat(ALICE)
    told = next(s for s in alice if "has been implemented" in s.plain)
    assert "Please rate the outcome" in told.plain
    assert "😊 Satisfied" in [t for t, _ in told.buttons()]
    assert (alice[-1].kind, alice[-1].file_id) == ("document", "report-1")


# ---- the list --------------------------------------------------------------------------------


async def test_mine_lists_the_departments_open_items_earliest_due_first(
    tg: Telegram, office: Office, clock: FixedClock
) -> None:
    late = await office.adopted("Late one")
    early = await office.by(ALICE).submit(draft("Early one"))
    await office.admin.take(early.id)
    await office.admin.adopt(
        early.id, department_id=office.world.department_id, due=DUE.replace(day=10)
    )
    other = await office.by(ALICE).submit(draft("Housing matter"))
    await office.admin.take(other.id)
    await office.admin.adopt(other.id, department_id=office.world.other_department_id, due=DUE)
    clock.advance(days=12)  # past the early one's due date
    li = liaison(tg)
    [listing] = await li.send("/mine")
    text = listing.plain
    assert "Your department's open items: 2" in text
    assert text.index(early.reference) < text.index(late.reference)
    assert "due 2026-03-10 ⚠️ overdue" in text
    assert "due 2026-03-31" in text
    assert "2026-03-31 ⚠️" not in text
    assert other.reference not in text
    [card] = await li.press(DeptCb(act="open", item=early.id).pack())
    assert card.plain.startswith(f"✅ {early.reference} · Adopted")
    assert "Implementation due: 2026-03-10 ⚠️ overdue" in card.plain
    # The menu's "My suggestions" shows the same to a liaison.
    [again] = await li.send("📋 My suggestions")
    assert again.plain == listing.plain


async def test_an_observer_still_gets_their_own_list(tg: Telegram, office: Office) -> None:
    await office.adopted()
    alice = tg.person(ALICE, "Alice", "en")
    [listing] = await alice.send("/mine")
    assert "My suggestions" in listing.plain
    assert "department" not in listing.plain


async def test_an_empty_department_list(tg: Telegram, office: Office) -> None:
    [listing] = await liaison(tg).send("/mine")
    assert "Your department has no open items" in listing.plain


# ---- what others and old buttons do -----------------------------------------------------------


async def test_a_liaison_of_another_department_is_refused(
    tg: Telegram, office: Office, sessions: Any
) -> None:
    info, card = await card_delivered(tg, office)
    await office.add(TelegramUser(id=OTHER_LIAISON, first_name="Hu", language_code="en"))
    await office.add(Liaison(department_id=office.world.other_department_id, user_id=OTHER_LIAISON))
    before = await office.snapshot(info.id)
    hu = tg.person(OTHER_LIAISON, "Hu", "en")
    await hu.send("/mine")
    for act in ("ok", "pr", "hb", "im", "open", "files"):
        data = DeptCb(act=act, item=info.id, v=card_version(card)).pack()
        await hu.callback(data)
        assert alerts(tg)[-1] == NOT_FOUND, act
    # The observer of the item, pressing a forged button, is refused the same way.
    alice = tg.person(ALICE, "Alice", "en")
    await alice.send("/start")
    await alice.callback(DeptCb(act="ok", item=info.id, v=card_version(card)).pack())
    assert alerts(tg)[-1] == NOT_FOUND
    # Garbled data under the prefix is answered, not acted on.
    await hu.callback("dp:ok:notanumber")
    await hu.callback(DeptCb(act="ok", item=2**40).pack())
    assert await office.snapshot(info.id) == before
    assert (await office.item(info.id)).status is S.ADOPTED


async def test_a_stale_button_shows_the_current_state_and_does_nothing(
    tg: Telegram, office: Office
) -> None:
    info, card = await card_delivered(tg, office)
    stale_accept = DeptCb(act="ok", item=info.id, v=card_version(card)).pack()
    li = liaison(tg)
    # Someone else of the department accepted it meanwhile (through the services).
    await office.by(LIAISON).accept(info.id)
    before = await office.snapshot(info.id)
    [now] = await li.callback(stale_accept, message=card)
    assert alerts(tg)[-1] == OUT_OF_DATE
    assert now.message_id == card.message_id
    assert now.plain.startswith(f"🛠 {info.reference} · Being implemented")
    assert await office.snapshot(info.id) == before
    # Pressing it again changes nothing and edits nothing.
    assert await li.callback(stale_accept, message=card) == []
    assert await office.snapshot(info.id) == before


async def test_a_report_cancelled_halfway_sends_nothing(tg: Telegram, office: Office) -> None:
    info, _ = await card_delivered(tg, office)
    li = liaison(tg)
    await li.press("✅ Accept")
    before = await office.snapshot(info.id)
    await li.press("📝 Report progress")
    await li.send("Half a report")
    [cancelled] = await li.press("✖️ Cancel")
    assert cancelled.plain == "Cancelled. Nothing was sent."
    assert await office.snapshot(info.id) == before
    # The old Send button is gone; pressed all the same, it says what became of it.
    assert cancelled.buttons() == []
    await li.callback(DeptCb(act="send", item=info.id).pack(), message=cancelled)
    assert alerts(tg)[-1] == "Cancelled. Nothing was sent."
    # /cancel ends the flow too, keeping nothing.
    await li.press("🎯 Implemented")
    await li.send("Done, I think")
    [stripped, said] = await li.send("/cancel")
    assert stripped.buttons() == []
    assert said.plain == "Cancelled. Nothing was sent."
    assert await office.snapshot(info.id) == before
    [text] = await li.send("stray text")
    assert "Cancelled" not in text.plain
    assert await office.snapshot(info.id) == before


async def test_a_due_date_change_while_writing_keeps_the_text(tg: Telegram, office: Office) -> None:
    info, _ = await card_delivered(tg, office)
    li = liaison(tg)
    await li.press("✅ Accept")
    await li.press("↩️ Hand back")
    await li.send("Not ours")
    await office.admin.set_due(info.id, DUE.replace(day=20))
    await li.press("✅ Hand back")
    assert "The item changed while you were writing" in (alerts(tg)[-1] or "")
    assert (await office.item(info.id)).status is S.IMPLEMENTING
    find(await li.press("✅ Hand back"), "handed back to the office")
    assert (await office.item(info.id)).status is S.ADOPTED


# ---- notices other than cards ---------------------------------------------------------------


async def test_office_moves_reach_the_liaison_as_short_notices_and_edit_the_card(
    tg: Telegram, office: Office
) -> None:
    info, card = await card_delivered(tg, office)
    li = liaison(tg)
    await li.press("✅ Accept")
    await office.admin.set_due(info.id, DUE.replace(day=25))
    await office.admin.mark_implemented(info.id, "Checked on site <ok>")
    await tg.drain()
    texts = [s.plain for s in li.chat]
    assert any("new implementation due date" in t and "2026-03-25" in t for t in texts)
    assert any("The office has marked" in t and "Checked on site <ok>" in t for t in texts)
    [now] = cards_of(li, info.reference)
    assert now.message_id == card.message_id
    assert now.plain.startswith(f"🎯 {info.reference} · Implemented")

    # A dissatisfied observer reopens it: the liaison is told and the card has buttons again.
    from bot.domain.statuses import RatingValue

    await office.by(ALICE).rate(info.id, RatingValue.DISSATISFIED, "Two lamps still out")
    await tg.drain()
    assert any("not satisfied" in s.plain and "Two lamps still out" in s.plain for s in li.chat)
    [now] = cards_of(li, info.reference)
    assert now.plain.startswith(f"🛠 {info.reference} · Being implemented")
    assert "📝 Report progress" in [t for t, _ in now.buttons()]


async def test_an_item_handed_back_before_delivery_gets_no_card(
    tg: Telegram, office: Office
) -> None:
    info = await office.adopted()
    await office.by(LIAISON).accept(info.id)
    await office.by(LIAISON).hand_back(info.id, "Not ours")
    await tg.drain()
    li = liaison(tg)
    assert cards_of(li, info.reference) == []
    assert "it has moved on since" in li.chat[-1].plain


async def test_a_colleague_is_told_who_in_the_department_marked_it_implemented(
    tg: Telegram, office: Office
) -> None:
    """Another liaison of the same department hears that their colleague did it, by
    name, not that the office did; when the office does it, the office is named."""
    colleague = 3003
    await office.add(TelegramUser(id=colleague, first_name="Mei", language_code="en"))
    await office.add(Liaison(department_id=office.world.department_id, user_id=colleague))
    info, _card = await card_delivered(tg, office)
    li = liaison(tg)
    await li.press("✅ Accept")
    await li.press("🎯 Implemented")
    await li.send("All five lamps replaced")
    await li.press("Continue ➡️")
    await li.press("🎯 Yes, it is implemented")
    await tg.drain()
    told = [s.plain for s in tg.chat(colleague) if "implemented" in s.plain]
    assert told == [
        f"🎯 Li of your department has marked {info.reference} “Street lamps out” "
        "implemented. The observer is asked to rate the outcome.\n\n"
        "What was done:\nAll five lamps replaced"
    ]
    assert not any("The office has marked" in s.plain for s in tg.chat(colleague))
    # The observer is never told who in the department it was.
    assert not any("Li of your department" in s.plain for s in tg.chat(ALICE))
