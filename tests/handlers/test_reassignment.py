"""Reassignment remembers the old department (issue 19, point 12), through the real
Dispatcher: when the office gives an adopted item to another department, the former
department's cards say where it went and lose their buttons, its liaisons are told,
the new department gets its card as before, and the observer hears (in their own
language) that their item was passed on. A button pressed on an old card answers
clearly, never "not found", and changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa

from bot.domain.lifecycle import Action
from bot.domain.statuses import AttachmentKind
from bot.domain.statuses import SuggestionStatus as S
from bot.services.suggestions import SuggestionService
from bot.services.views import AttachmentIn, SuggestionInfo
from handlers.callbacks import MineCb
from handlers.department import DeptCb
from storage.models import Event, Liaison, OutboxMessage, Suggestion, TelegramUser
from tests.handlers.conftest import make_settings, new_telegram
from tests.harness import Harness
from tests.telegram import Person, Sent, Telegram
from tests.world import ADMIN, ALICE, DUE, LIAISON, FixedClock, World, draft

GROUP = -100500
HOUSING_LIAISON = 3002  # a liaison of HOUSING, the department the item goes to
NOT_FOUND = "That item was not found, or it is not yours."


@pytest.fixture
async def tg(sessions: Any, world: World, clock: FixedClock) -> AsyncIterator[Telegram]:
    tg = new_telegram(sessions, clock, settings=make_settings(default_locale="en"))
    yield tg
    await tg.bot.session.close()
    assert tg.session.problems == []


class Office(Harness):
    service = SuggestionService
    none_is_system = True

    async def adopted(self) -> SuggestionInfo:
        """Alice's item with a photo, adopted for MARKET with an instruction."""
        photo = AttachmentIn(AttachmentKind.PHOTO, "lamp-photo", "u-lamp")
        info: SuggestionInfo = await self.by(ALICE).submit(
            draft("Street lamps out", attachments=(photo,))
        )
        await self.admin.take(info.id)
        await self.admin.adopt(
            info.id, department_id=self.world.department_id, due=DUE, instruction="Fix by Friday"
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
        return (row.status, row.version, row.department_id, len(await self.events(item_id)))


@pytest.fixture
async def office(sessions: Any, world: World, clock: FixedClock) -> Office:
    office = Office(sessions, world, clock)
    # The liaisons read English; Alice, the observer, reads Chinese (the world's own).
    async with sessions() as session, session.begin():
        await session.execute(
            sa.update(TelegramUser).where(TelegramUser.id == LIAISON).values(language_code="en")
        )
    await office.add(TelegramUser(id=HOUSING_LIAISON, first_name="Hu", language_code="en"))
    await office.add(Liaison(department_id=world.other_department_id, user_id=HOUSING_LIAISON))
    return office


def admin(tg: Telegram) -> Person:
    return tg.member(ADMIN, "Ada", GROUP, "administrator", language_code="en")


def cards_of(tg: Telegram, chat_id: int, reference: str) -> list[Sent]:
    """The department cards of the item in the chat (edits applied)."""
    return [s for s in tg.chat(chat_id) if s.kind == "text" and f" {reference} · " in s.plain[:40]]


def alerts(tg: Telegram) -> list[str | None]:
    return [text for _, text, _ in tg.session.alerts]


def accept_data(card: Sent) -> str:
    return next(d for _, d in card.buttons() if d.startswith("dp:ok:"))


async def delivered(tg: Telegram, office: Office) -> tuple[SuggestionInfo, Sent]:
    info = await office.adopted()
    await tg.drain()
    [card] = cards_of(tg, LIAISON, info.reference)
    assert [t for t, _ in card.buttons()] == ["✅ Accept", "📎 Files (1)"]
    return info, card


async def test_reassigning_from_the_card_updates_the_old_department_and_tells_everyone(
    tg: Telegram, office: Office, world: World
) -> None:
    info, old_card = await delivered(tg, office)
    ref = info.reference
    old_accept = accept_data(old_card)
    ada = admin(tg)

    # The department it is with already is no choice; another one is.
    [picker] = await ada.press("🏢 Assign department")
    await ada.press("• MARKET · 区市场监管局", message=picker)
    assert alerts(tg)[-1] == (f"{ref} is with 区市场监管局 already. Choose another department.")
    assert (await office.item(info.id)).department_id == world.department_id
    await ada.press("HOUSING · District Housing Bureau", message=picker)
    assert alerts(tg)[-1] == "Department assigned."

    row = await office.item(info.id)
    assert (row.status, row.department_id) == (S.ADOPTED, world.other_department_id)
    assign = (await office.events(info.id))[-1]
    assert assign.action is Action.ASSIGN
    assert assign.payload["previous_department_id"] == world.department_id
    told = await office.scalars(sa.select(OutboxMessage).where(OutboxMessage.event_id == assign.id))
    assert sorted((r.audience, r.chat_id, r.kind) for r in told) == [
        ("admins", None, "item.assign"),
        ("liaison", LIAISON, "item.reassigned"),
        ("liaison", HOUSING_LIAISON, "item.assign"),
        ("user", ALICE, "item.assign"),
    ]

    await tg.drain()
    # The former department: told where it went; its card, edited in place, says so
    # and has no buttons left.
    assert (
        f"🔀 The office has reassigned {ref} “Street lamps out” to District Housing Bureau. "
        "Your department no longer handles it: there is nothing more for you to do."
    ) in [s.plain for s in tg.chat(LIAISON)]
    [card] = cards_of(tg, LIAISON, ref)
    assert card.message_id == old_card.message_id
    assert card.edited
    assert "🔀 Reassigned to District Housing Bureau: your department no longer handles it." in (
        card.plain
    )
    assert card.buttons() == []
    assert "Fix by Friday" not in card.plain  # the department's work is no longer shown

    # The new department gets its card, with the office's instruction and the files.
    [new_card] = cards_of(tg, HOUSING_LIAISON, ref)
    assert [t for t, _ in new_card.buttons()] == ["✅ Accept", "📎 Files (1)"]
    assert "Department: District Housing Bureau" in new_card.plain
    assert "The office's instruction:\nFix by Friday" in new_card.plain
    assert [s.file_id for s in tg.chat(HOUSING_LIAISON) if s.kind == "photo"] == ["lamp-photo"]

    # The observer hears of it in her language, without her files sent back to her.
    [passed] = [s for s in tg.chat(ALICE) if "District Housing Bureau" in s.plain]
    assert "已转交其他责任单位办理" in passed.plain
    assert "Fix by Friday" not in passed.plain
    assert MineCb(act="show", item=info.id).pack() in [d for _, d in passed.buttons()]
    assert [s for s in tg.chat(ALICE) if s.kind == "photo"] == []

    # The old card's buttons, pressed all the same, say where it went and do nothing.
    before = await office.snapshot(info.id)
    li = tg.person(LIAISON, "Li", "en")
    for data in (old_accept, DeptCb(act="files", item=info.id).pack()):
        await li.callback(data, message=card)
        gone = alerts(tg)[-1]
        assert gone == (
            f"{ref} has been reassigned to District Housing Bureau: your department no "
            "longer handles it. Nothing was done."
        )
        assert gone != NOT_FOUND
    assert await office.snapshot(info.id) == before
    # The new department's liaison accepts it as usual.
    hu = tg.person(HOUSING_LIAISON, "Hu", "en")
    await hu.press("✅ Accept")
    assert (await office.item(info.id)).status is S.IMPLEMENTING


async def test_an_old_button_pressed_before_the_news_arrives(
    tg: Telegram, office: Office, world: World
) -> None:
    """The issue's own case: /assign, then the former liaison presses ✅ Accept before
    the outbox has told them. The press is answered clearly, the card is brought up to
    date at once, and nothing changes."""
    info, old_card = await delivered(tg, office)
    ref = info.reference
    ada = admin(tg)
    await ada.send(f"/assign {ref} HOUSING")
    assert ada.last.plain == (
        f"🏢 {ref} is reassigned from 区市场监管局 to District Housing Bureau; the liaisons "
        "of both and the observer are told."
    )
    before = await office.snapshot(info.id)
    assert before[2] == world.other_department_id

    li = tg.person(LIAISON, "Li", "en")
    changed = await li.press("✅ Accept", message=old_card)
    assert alerts(tg)[-1] == (
        f"{ref} has been reassigned to District Housing Bureau: your department no longer "
        "handles it. Nothing was done."
    )
    [card] = changed
    assert card.message_id == old_card.message_id
    assert "🔀 Reassigned to District Housing Bureau" in card.plain
    assert card.buttons() == []
    assert await office.snapshot(info.id) == before

    # The news arrives after: one line, and the card stays as it is.
    await tg.drain()
    assert sum("The office has reassigned" in s.plain for s in tg.chat(LIAISON)) == 1
    assert cards_of(tg, LIAISON, ref) == [card]
    assert await office.snapshot(info.id) == before


async def test_a_liaison_never_shown_the_item_is_not_told_where_it_went(
    tg: Telegram, office: Office
) -> None:
    """Only a liaison shown the item as their department's learns where it went: to
    anyone else a forged button is "not found", as before."""
    info, _card = await delivered(tg, office)
    # To HOUSING and back before anything was delivered: Hu never had a card of it.
    await office.admin.assign(info.id, office.world.other_department_id)
    await office.admin.assign(info.id, office.world.department_id)
    hu = tg.person(HOUSING_LIAISON, "Hu", "en")
    await hu.send("/mine")
    before = await office.snapshot(info.id)
    await hu.callback(DeptCb(act="ok", item=info.id, v=before[1]).pack())
    assert alerts(tg)[-1] == NOT_FOUND
    assert await office.snapshot(info.id) == before
