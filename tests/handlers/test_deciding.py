"""The item card's buttons in the admin group: every move, its prompts and pickers,
cancelled halfway, raced by two admins, pressed on an old card, and pressed by people
who may not."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from aiogram.types import ForceReply
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.lifecycle import Action
from bot.domain.statuses import SuggestionStatus
from bot.services.suggestions import SuggestionService
from handlers.cards import CardCb
from handlers.deciding import PickCb
from storage.models import Event, OutboxMessage, Suggestion
from storage.store import Store
from tests.handlers.conftest import make_settings, new_telegram
from tests.telegram import Person, Sent, Telegram
from tests.world import ADMIN, ALICE, DUE, LIAISON, POLICY, FixedClock, World, actor, draft

Sessions = async_sessionmaker[AsyncSession]
S = SuggestionStatus
GROUP = -100500


@pytest.fixture
async def tg(sessions: Sessions, world: World, clock: FixedClock) -> AsyncIterator[Telegram]:
    tg = new_telegram(sessions, clock, settings=make_settings(default_locale="en"))
    yield tg
    await tg.bot.session.close()
    assert tg.session.problems == []


# ---- helpers ---------------------------------------------------------------------------


async def by(
    sessions: Sessions, clock: FixedClock, user_id: int, move: str, *a: Any, **kw: Any
) -> Any:
    async with sessions() as session, session.begin():
        service = SuggestionService(Store(session), POLICY, clock)
        who = await actor(Store(session), user_id, admin=user_id == ADMIN)
        return await getattr(service, move)(who, *a, **kw)


async def filed(
    tg: Telegram,
    sessions: Sessions,
    clock: FixedClock,
    *moves: str,
    title: str = "Street lights out",
) -> int:
    """An item filed by Alice, moved by the office through the services, its card posted."""
    info = await by(sessions, clock, ALICE, "submit", draft(title))
    for move in moves:
        if move == "adopt":
            world_dept = await dept_id(sessions, "MARKET")
            await by(sessions, clock, ADMIN, "adopt", info.id, department_id=world_dept, due=DUE)
        elif move in ("escalate", "decline"):
            await by(sessions, clock, ADMIN, move, info.id, "for the record")
        else:
            await by(sessions, clock, LIAISON if move == "accept" else ADMIN, move, info.id)
    await tg.drain()
    return int(info.id)


async def dept_id(sessions: Sessions, code: str) -> int:
    from storage.models import Department

    async with sessions() as s:
        return int((await s.scalars(sa.select(Department.id).where(Department.code == code))).one())


async def item(sessions: Sessions, item_id: int) -> Suggestion:
    async with sessions() as s:
        row = await s.get(Suggestion, item_id)
        assert row is not None
        return row


async def events(sessions: Sessions, item_id: int) -> list[Event]:
    async with sessions() as s:
        q = sa.select(Event).where(Event.suggestion_id == item_id).order_by(Event.id)
        return list((await s.scalars(q)).all())


async def outbox(sessions: Sessions, item_id: int) -> list[OutboxMessage]:
    async with sessions() as s:
        q = sa.select(OutboxMessage).where(OutboxMessage.suggestion_id == item_id)
        return list((await s.scalars(q.order_by(OutboxMessage.id))).all())


def cards(tg: Telegram) -> list[Sent]:
    return [s for s in tg.chat(GROUP) if "<b>History</b>" in s.text]


def card(tg: Telegram) -> Sent:
    return cards(tg)[-1]


def acts(sent: Sent) -> list[str]:
    return [data.split(":")[1] for _, data in sent.buttons()]


def alerts(tg: Telegram) -> list[tuple[str | None, bool]]:
    return [(text, alert) for _, text, alert in tg.session.alerts]


def is_prompt(sent: Sent) -> bool:
    return isinstance(sent.markup, ForceReply)


def admin(tg: Telegram) -> Person:
    return tg.member(ADMIN, "Ada", GROUP, "administrator", language_code="en")


def second(tg: Telegram) -> Person:
    return tg.member(9002, "Bo", GROUP, "administrator", language_code="en")


async def state_of(sessions: Sessions, item_id: int) -> tuple[S, int]:
    row = await item(sessions, item_id)
    return row.status, row.version


# ---- moves at once ---------------------------------------------------------------------


async def test_take_edits_the_card_in_place_with_who_did_it(
    tg: Telegram, sessions: Sessions, clock: FixedClock
) -> None:
    item_id = await filed(tg, sessions, clock)
    ada = admin(tg)
    assert acts(card(tg)) == ["take"]
    await ada.press("🔍 Take")
    assert len(cards(tg)) == 1  # edited, not posted again
    shown = card(tg)
    assert shown.edited
    assert "Under review" in shown.plain
    assert "Office Ada took it for review" in shown.plain
    assert acts(shown) == ["ask", "adopt", "ref", "decl", "esc", "dup"]
    assert alerts(tg)[-1] == ("Taken for review.", False)
    row = await item(sessions, item_id)
    assert row.status is S.IN_REVIEW
    last = (await events(sessions, item_id))[-1]
    assert (last.action, last.actor_user_id) == (Action.TAKE, ADMIN)
    # The outbox's own refresh of the card later costs nothing and changes nothing.
    await tg.drain()
    assert card(tg).text == shown.text


async def test_mark_implemented_then_close(
    tg: Telegram, sessions: Sessions, clock: FixedClock
) -> None:
    item_id = await filed(tg, sessions, clock, "take", "adopt", "accept")
    ada = admin(tg)
    assert acts(card(tg)) == ["due", "done"]
    await ada.press("🎯 Mark implemented")
    assert (await item(sessions, item_id)).status is S.IMPLEMENTED
    assert "Office Ada marked it implemented" in card(tg).plain
    assert alerts(tg)[-1] == ("Marked implemented.", False)
    kinds = [(r.audience, r.chat_id, r.kind) for r in await outbox(sessions, item_id)]
    assert ("user", ALICE, "item.mark_implemented") in kinds
    assert ("liaison", LIAISON, "item.mark_implemented") in kinds
    await ada.press("🔒 Close")
    row = await item(sessions, item_id)
    assert row.status is S.CLOSED
    assert row.closed_at is not None
    assert acts(card(tg)) == []
    assert "Office Ada closed it" in card(tg).plain


# ---- moves with words --------------------------------------------------------------------


async def test_ask_prompts_and_the_reply_reaches_the_observer(
    tg: Telegram, sessions: Sessions, clock: FixedClock
) -> None:
    item_id = await filed(tg, sessions, clock, "take")
    ada = admin(tg)
    alice = tg.person(ALICE, "Alice", "en")
    [prompt] = await ada.press("❓ Ask for information")
    assert is_prompt(prompt)
    assert isinstance(prompt.markup, ForceReply)
    assert prompt.markup.selective
    assert f'<a href="tg://user?id={ADMIN}">Ada</a>' in prompt.text
    assert "WZ-2026-0001" in prompt.plain
    assert "question" in prompt.plain
    assert prompt.reply_to == card(tg).message_id
    assert (await item(sessions, item_id)).status is S.IN_REVIEW  # nothing yet
    await ada.reply(prompt, "Which lamps, <exactly>?")
    assert prompt.message_id not in [s.message_id for s in tg.chat(GROUP)]  # deleted
    assert ada.last.plain == "✅ WZ-2026-0001: Question recorded; the observer will be asked."
    row = await item(sessions, item_id)
    assert row.status is S.NEEDS_INFO
    last = (await events(sessions, item_id))[-1]
    assert (last.action, last.actor_user_id, last.text) == (
        Action.ASK_INFO,
        ADMIN,
        "Which lamps, <exactly>?",
    )
    assert "Which lamps, &lt;exactly&gt;?" in card(tg).text
    # Waiting on the observer: the office may remind them, decide anyway or close it.
    assert acts(card(tg)) == ["chase", "anyway", "unans"]
    await tg.drain()
    assert "Which lamps, <exactly>?" in alice.last.plain


@pytest.mark.parametrize(
    ("label", "status", "action"),
    [
        ("📁 Keep for reference", S.REFERENCE, Action.KEEP_REFERENCE),
        ("⛔ Decline", S.DECLINED, Action.DECLINE),
    ],
)
async def test_reference_and_decline_need_a_reason(
    tg: Telegram, sessions: Sessions, clock: FixedClock, label: str, status: S, action: Action
) -> None:
    item_id = await filed(tg, sessions, clock, "take")
    ada = admin(tg)
    [prompt] = await ada.press(label)
    assert "reason" in prompt.plain
    await ada.reply(prompt, "Already planned for next year.")
    row = await item(sessions, item_id)
    assert row.status is status
    assert row.decided_at is not None
    last = (await events(sessions, item_id))[-1]
    assert (last.action, last.actor_user_id, last.text) == (
        action,
        ADMIN,
        "Already planned for next year.",
    )
    assert "Already planned for next year." in card(tg).plain
    assert acts(card(tg)) == ["close"]
    told = [r.kind for r in await outbox(sessions, item_id) if r.chat_id == ALICE]
    assert told[-1] == f"item.{action.value}"


async def test_too_long_reason_keeps_the_prompt_open(
    tg: Telegram, sessions: Sessions, clock: FixedClock
) -> None:
    item_id = await filed(tg, sessions, clock, "take")
    ada = admin(tg)
    [prompt] = await ada.press("⛔ Decline")
    await ada.reply(prompt, "x" * 1501)
    assert "at most 1500 characters, yours has 1501" in ada.last.plain
    assert prompt in tg.chat(GROUP)
    assert await state_of(sessions, item_id) == (S.IN_REVIEW, 2)
    await ada.reply(prompt, "Out of the district's remit.")
    assert (await item(sessions, item_id)).status is S.DECLINED


async def test_chatter_and_replies_to_other_messages_are_ignored(
    tg: Telegram, sessions: Sessions, clock: FixedClock
) -> None:
    item_id = await filed(tg, sessions, clock, "take")
    ada = admin(tg)
    [prompt] = await ada.press("⛔ Decline")
    said = len(tg.chat(GROUP))
    await ada.send("Let me think about this one.")
    await ada.reply(card(tg), "Looks like a duplicate to me")
    assert len(tg.chat(GROUP)) == said  # the bot said nothing
    assert await state_of(sessions, item_id) == (S.IN_REVIEW, 2)
    # Commands still work with a prompt open, and the prompt is still there.
    await ada.send("/help")
    assert prompt in tg.chat(GROUP)
    await ada.reply(prompt, "Not within our remit.")
    assert (await item(sessions, item_id)).status is S.DECLINED


async def test_escalate_then_the_city_keeps_it_for_reference(
    tg: Telegram, sessions: Sessions, clock: FixedClock
) -> None:
    item_id = await filed(tg, sessions, clock, "take")
    ada = admin(tg)
    [prompt] = await ada.press("🏛 Report to the city")
    await ada.reply(prompt, "Needs a city-wide rule.")
    row = await item(sessions, item_id)
    assert row.status is S.ESCALATED
    assert row.disposition is S.ESCALATED
    assert acts(card(tg)) == ["city"]
    # The card says when the office will chase the city (20 working days).
    assert f"The city's answer due: {row.city_answer_due.isoformat()}" in card(tg).plain
    [picker] = await ada.press("🏛 Record the city's answer")
    assert [t for t, _ in picker.buttons()] == [
        "✅ Adopted",
        "📁 Kept for reference",
        "⛔ Not adopted",
        "✖️ Cancel",
    ]
    await ada.press("📁 Kept for reference")
    assert picker not in tg.chat(GROUP)
    prompt = ada.last
    assert is_prompt(prompt)
    assert "city's answer" in prompt.plain
    await ada.reply(prompt, "The city will study it in the next plan.")
    row = await item(sessions, item_id)
    assert row.status is S.REFERENCE
    assert row.disposition is S.REFERENCE  # the city's answer is what it came to
    assert "The city's answer due" not in card(tg).plain
    last = (await events(sessions, item_id))[-1]
    assert (last.action, last.text) == (
        Action.CITY_REFERENCE,
        "The city will study it in the next plan.",
    )
    assert "recorded the city's answer: kept for reference" in card(tg).plain


async def test_the_city_declines(tg: Telegram, sessions: Sessions, clock: FixedClock) -> None:
    item_id = await filed(tg, sessions, clock, "take", "escalate")
    ada = admin(tg)
    await ada.press("🏛 Record the city's answer")
    await ada.press("⛔ Not adopted")
    await ada.reply(ada.last, "Not feasible this year.")
    assert (await item(sessions, item_id)).status is S.DECLINED
    assert (await events(sessions, item_id))[-1].action is Action.CITY_DECLINE


async def test_the_city_adopts_with_department_and_typed_date(
    tg: Telegram, sessions: Sessions, world: World, clock: FixedClock
) -> None:
    item_id = await filed(tg, sessions, clock, "take", "escalate")
    ada = admin(tg)
    await ada.press("🏛 Record the city's answer")
    await ada.press("✅ Adopted")
    await ada.reply(ada.last, "The city funds it.")
    picker = ada.last
    assert "choose the department" in picker.plain
    await ada.press(PickCb(step="d", item=item_id, val=str(world.department_id)).pack())
    assert "due date" in picker.plain
    assert "区市场监管局" in picker.plain
    await ada.press("📅 Type a date")
    assert picker not in tg.chat(GROUP)
    prompt = ada.last
    assert is_prompt(prompt)
    await ada.reply(prompt, "next month")
    assert "I cannot read “next month” as a date." in ada.last.plain
    assert is_prompt(ada.last)  # asked again (tests/handlers/test_date_prompts.py)
    await ada.reply(prompt, "2026-02-01")
    assert "2026-02-01 is in the past" in ada.last.plain
    assert (await item(sessions, item_id)).status is S.ESCALATED
    await ada.reply(prompt, "2026-04-30")
    # Adopting asks for the office's instruction to the department (tests/handlers/
    # test_adopt_instruction.py): none is needed here.
    assert (await item(sessions, item_id)).status is S.ESCALATED
    await ada.press("⏭ No instruction")
    row = await item(sessions, item_id)
    assert row.status is S.ADOPTED
    assert (row.department_id, row.implementation_due) == (world.department_id, date(2026, 4, 30))
    last = (await events(sessions, item_id))[-1]
    assert (last.action, last.text) == (Action.CITY_ADOPT, "The city funds it.")
    assert "Implementation due: 2026-04-30" in card(tg).plain
    assert prompt not in tg.chat(GROUP)


# ---- pickers -------------------------------------------------------------------------------


async def test_adopt_with_department_and_due_pickers(
    tg: Telegram, sessions: Sessions, world: World, clock: FixedClock
) -> None:
    item_id = await filed(tg, sessions, clock, "take")
    ada = admin(tg)
    [picker] = await ada.press("✅ Adopt")
    assert [t for t, _ in picker.buttons()] == [
        "HOUSING · District Housing Bureau",
        "MARKET · 区市场监管局",
        "✖️ Cancel",
    ]
    await ada.press("MARKET · 区市场监管局")
    assert [t for t, _ in picker.buttons()] == [
        "5 working days · 2026-03-09",
        "10 working days · 2026-03-16",
        "20 working days · 2026-03-30",
        "📅 Type a date",
        "✖️ Cancel",
    ]
    await ada.press("10 working days · 2026-03-16")
    assert picker not in tg.chat(GROUP)
    # The office's instruction to the department is asked for; it may be skipped.
    assert (await item(sessions, item_id)).status is S.IN_REVIEW
    await ada.press("⏭ No instruction")
    assert alerts(tg)[-1] == ("Adopted.", False)
    row = await item(sessions, item_id)
    assert row.status is S.ADOPTED
    assert (row.department_id, row.implementation_due) == (world.department_id, date(2026, 3, 16))
    last = (await events(sessions, item_id))[-1]
    assert (last.action, last.actor_user_id) == (Action.ADOPT, ADMIN)
    shown = card(tg).plain
    assert "Department: 区市场监管局" in shown
    assert "Implementation due: 2026-03-16" in shown
    assert acts(card(tg)) == ["dept", "due"]
    told = {(r.chat_id, r.kind) for r in await outbox(sessions, item_id)}
    assert {(ALICE, "item.adopt"), (LIAISON, "item.adopt")} <= told


async def test_assign_and_set_due_on_an_adopted_item(
    tg: Telegram, sessions: Sessions, world: World, clock: FixedClock
) -> None:
    item_id = await filed(tg, sessions, clock, "take", "adopt")
    ada = admin(tg)
    [picker] = await ada.press("🏢 Assign department")
    assert picker.buttons()[1][0] == "• MARKET · 区市场监管局"  # the current one
    await ada.press("HOUSING · District Housing Bureau")
    assert picker not in tg.chat(GROUP)
    assert alerts(tg)[-1] == ("Department assigned.", False)
    row = await item(sessions, item_id)
    assert row.department_id == world.other_department_id
    assert "Department: District Housing Bureau" in card(tg).plain
    await ada.press("📅 Set due date")
    await ada.press("20 working days · 2026-03-30")
    row = await item(sessions, item_id)
    assert row.implementation_due == date(2026, 3, 30)
    assert row.status is S.ADOPTED
    assert [e.action for e in await events(sessions, item_id)][-2:] == [
        Action.ASSIGN,
        Action.SET_DUE,
    ]
    assert "Implementation due: 2026-03-30" in card(tg).plain


async def test_duplicate_needs_an_existing_other_reference(
    tg: Telegram, sessions: Sessions, clock: FixedClock
) -> None:
    first = await filed(tg, sessions, clock, title="Lamps out on Renmin Road")
    item_id = await filed(tg, sessions, clock, "take", title="Renmin Road is dark")
    ada = admin(tg)
    [prompt] = await ada.press("🔁 Duplicate", message=card(tg))
    await ada.reply(prompt, "the one from Monday")
    assert "not a reference" in ada.last.plain
    await ada.reply(prompt, "WZ-2026-0099")
    assert "no item with that reference" in ada.last.plain
    await ada.reply(prompt, "WZ-2026-0002")
    assert "cannot duplicate itself" in ada.last.plain
    assert (await item(sessions, item_id)).status is S.IN_REVIEW
    await ada.reply(prompt, "wz-2026-1")
    row = await item(sessions, item_id)
    assert (row.status, row.duplicate_of_id) == (S.DUPLICATE, first)
    assert "marked it a duplicate (WZ-2026-0001)" in card(tg).plain


# ---- cancelled halfway ----------------------------------------------------------------------


async def test_cancel_on_a_picker_and_cancel_command_after_a_prompt(
    tg: Telegram, sessions: Sessions, clock: FixedClock
) -> None:
    item_id = await filed(tg, sessions, clock, "take")
    ada = admin(tg)
    before = await state_of(sessions, item_id)
    shown = card(tg).text

    [picker] = await ada.press("✅ Adopt")
    await ada.press("MARKET · 区市场监管局")
    await ada.press("✖️ Cancel")
    assert picker not in tg.chat(GROUP)
    assert (GROUP, picker.message_id) in tg.session.deleted
    assert alerts(tg)[-1] == ("Cancelled; nothing was changed.", False)
    assert await state_of(sessions, item_id) == before

    [prompt] = await ada.press("⛔ Decline")
    await ada.send("/cancel")
    assert prompt not in tg.chat(GROUP)
    assert ada.last.plain == "Cancelled: WZ-2026-0001 is unchanged."
    await ada.send("/cancel")
    assert ada.last.plain == "There is nothing to cancel."
    # A reply to the deleted prompt is not taken either.
    await ada.reply(prompt, "Too late")
    assert await state_of(sessions, item_id) == before
    assert card(tg).text == shown
    assert len(await events(sessions, item_id)) == 2


async def test_a_new_move_replaces_the_pending_prompt(
    tg: Telegram, sessions: Sessions, clock: FixedClock
) -> None:
    item_id = await filed(tg, sessions, clock, "take")
    ada = admin(tg)
    [first] = await ada.press("⛔ Decline")
    [second_prompt] = await ada.press("📁 Keep for reference")
    assert first not in tg.chat(GROUP)
    await ada.reply(first, "Old reason")
    assert (await item(sessions, item_id)).status is S.IN_REVIEW
    await ada.reply(second_prompt, "For the annual plan.")
    assert (await item(sessions, item_id)).status is S.REFERENCE


# ---- races and stale cards ------------------------------------------------------------------


async def test_two_admins_press_at_once(
    tg: Telegram, sessions: Sessions, clock: FixedClock
) -> None:
    item_id = await filed(tg, sessions, clock)
    ada, bo = admin(tg), second(tg)
    shown = card(tg)
    data = CardCb(act="take", item=item_id, v=1).pack()
    await ada.callback(data, message=shown)
    await bo.callback(data, message=shown)
    assert alerts(tg)[-1] == (
        "WZ-2026-0001 has already moved: it is now “Under review”. "
        "Nothing was changed; the card shows where it stands.",
        True,
    )
    assert [e.action for e in await events(sessions, item_id)] == [Action.SUBMIT, Action.TAKE]
    assert (await events(sessions, item_id))[-1].actor_user_id == ADMIN
    assert "Office Ada took it for review" in card(tg).plain


async def test_two_admins_press_in_the_same_instant(
    tg: Telegram, sessions: Sessions, clock: FixedClock
) -> None:
    """Both updates in flight together: on PostgreSQL both read version 1 and the
    database lets one write win; on SQLite the one writer takes them in turn."""
    item_id = await filed(tg, sessions, clock)
    ada, bo = admin(tg), second(tg)
    shown = card(tg)
    adopt = CardCb(act="take", item=item_id, v=1).pack()
    before = len(alerts(tg))
    await asyncio.gather(ada.callback(adopt, message=shown), bo.callback(adopt, message=shown))
    takes = [e for e in await events(sessions, item_id) if e.action is Action.TAKE]
    assert len(takes) == 1
    answers = alerts(tg)[before:]
    assert len(answers) == 2
    # The loser is told, in an alert, that the item moved on; nothing else changed.
    refused = [text or "" for text, alert in answers if alert]
    assert len(refused) == 1
    assert refused[0] in (
        # Seen before writing (SQLite's one writer serialises the two updates) ...
        "WZ-2026-0001 has already moved: it is now “Under review”. "
        "Nothing was changed; the card shows where it stands.",
        # ... or caught by the database's version check (PostgreSQL, truly at once).
        "Another admin moved this item a moment ago. Nothing was changed; the card shows "
        "where it stands.",
    )
    assert (await item(sessions, item_id)).status is S.IN_REVIEW


async def test_a_stale_card_answers_with_the_state_and_refreshes(
    tg: Telegram, sessions: Sessions, clock: FixedClock
) -> None:
    item_id = await filed(tg, sessions, clock)
    ada = admin(tg)
    # Taken elsewhere; the card has not caught up yet (the outbox has not run).
    await by(sessions, clock, ADMIN, "take", item_id)
    assert acts(card(tg)) == ["take"]
    await ada.press("🔍 Take")
    assert alerts(tg)[-1][1] is True
    assert "Under review" in (alerts(tg)[-1][0] or "")
    assert acts(card(tg)) == ["ask", "adopt", "ref", "decl", "esc", "dup"]
    assert len(await events(sessions, item_id)) == 2

    # An old card that still has its buttons (say Telegram refused to take them off).
    old = card(tg)
    kept = old.markup
    await by(sessions, clock, ADMIN, "ask_info", item_id, "Which lamps?")
    await by(sessions, clock, ALICE, "answer_info", item_id, "Numbers 12 to 16.")
    await tg.drain()  # the item returns to the office: a new card
    [new] = cards(tg)
    assert new.message_id != old.message_id
    # The old card points to the new one, with a link, and offers nothing to press.
    assert old.markup is None
    assert "WZ-2026-0001" in old.plain
    assert "the current card" in old.plain
    assert f"https://t.me/c/500/{new.message_id}" in old.text
    old.markup = kept
    await ada.press("⛔ Decline", message=old)
    assert "Submitted" in (alerts(tg)[-1][0] or "")
    assert old.markup is None  # its buttons taken off
    assert acts(card(tg)) == ["take"]
    assert (await item(sessions, item_id)).status is S.SUBMITTED


async def test_a_prompt_answered_after_someone_else_moved_the_item(
    tg: Telegram, sessions: Sessions, clock: FixedClock
) -> None:
    item_id = await filed(tg, sessions, clock, "take")
    ada, bo = admin(tg), second(tg)
    [prompt] = await ada.press("⛔ Decline")
    [bos] = await bo.press("📁 Keep for reference", message=card(tg))
    await bo.reply(bos, "Kept for the annual plan.")
    await ada.reply(prompt, "Not within our remit.")
    assert "has already moved: it is now “Kept for reference”" in ada.last.plain
    assert prompt not in tg.chat(GROUP)
    row = await item(sessions, item_id)
    assert row.status is S.REFERENCE
    last = (await events(sessions, item_id))[-1]
    assert (last.actor_user_id, last.text) == (9002, "Kept for the annual plan.")
    assert "Office Bo kept it for reference" in card(tg).plain
    await ada.send("/cancel")
    assert ada.last.plain == "There is nothing to cancel."  # the state was cleared


async def test_another_admins_picker_is_not_yours(
    tg: Telegram, sessions: Sessions, clock: FixedClock
) -> None:
    item_id = await filed(tg, sessions, clock, "take")
    ada, bo = admin(tg), second(tg)
    [picker] = await ada.press("✅ Adopt")
    await bo.press("MARKET · 区市场监管局", message=picker)
    assert "another admin's move" in (alerts(tg)[-1][0] or "")
    assert await state_of(sessions, item_id) == (S.IN_REVIEW, 2)
    assert "choose the department" in picker.plain


# ---- people who may not ---------------------------------------------------------------------


async def test_a_non_admin_member_gets_an_alert(
    tg: Telegram, sessions: Sessions, clock: FixedClock
) -> None:
    item_id = await filed(tg, sessions, clock)
    nina = tg.member(9003, "Nina", GROUP, "member", language_code="en")
    await nina.press("🔍 Take")
    assert alerts(tg)[-1] == (
        "Only this office's admins can do this. Nothing was changed.",
        True,
    )
    assert await state_of(sessions, item_id) == (S.SUBMITTED, 1)
    assert acts(card(tg)) == ["take"]


async def test_an_observer_forging_card_data_in_private(
    tg: Telegram, sessions: Sessions, clock: FixedClock
) -> None:
    item_id = await filed(tg, sessions, clock)
    alice = tg.person(ALICE, "Alice", "en")
    await alice.send("/start")
    await alice.callback(CardCb(act="take", item=item_id, v=1).pack())
    assert alerts(tg)[-1] == (
        "This button is no longer valid. Please start again from the menu.",
        True,
    )
    assert await state_of(sessions, item_id) == (S.SUBMITTED, 1)


async def test_when_get_chat_member_fails_only_admin_ids_count(
    tg: Telegram, sessions: Sessions, clock: FixedClock
) -> None:
    item_id = await filed(tg, sessions, clock)
    ada, bo = admin(tg), second(tg)
    tg.session.members_down = True
    await bo.press("🔍 Take")
    assert alerts(tg)[-1][1] is True
    assert "Only this office" in (alerts(tg)[-1][0] or "")
    assert await state_of(sessions, item_id) == (S.SUBMITTED, 1)
    await ada.press("🔍 Take")
    assert (await item(sessions, item_id)).status is S.IN_REVIEW


async def test_a_card_the_bot_never_knew_of_points_to_the_current_one_once_pressed(
    tg: Telegram, sessions: Sessions, clock: FixedClock
) -> None:
    # Telegram took a card's post although the bot saw a timeout, and the bot posted it
    # again: the first copy is in the group with live buttons, unknown to the database.
    item_id = await filed(tg, sessions, clock)
    known = card(tg)
    tg.session._record(GROUP, known.text, known.markup, "text")
    orphan = tg.chat(GROUP)[-1]
    ada = admin(tg)
    await ada.press("🔍 Take", message=orphan)
    # The press counted (the copy showed the item's state), and the copy now points to
    # the card the bot keeps current, which shows the move.
    assert await state_of(sessions, item_id) == (S.IN_REVIEW, 2)
    assert orphan.markup is None
    assert "the current card" in orphan.plain
    assert f"https://t.me/c/500/{known.message_id}" in orphan.text
    assert acts(known) == ["ask", "adopt", "ref", "decl", "esc", "dup"]
