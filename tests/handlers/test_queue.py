"""The office's item commands in the admin group: /queue /overdue /show /find /assign
/due /note, by an admin, with bad arguments, and by people who may not use them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.suggestions import SuggestionService
from handlers.callbacks import MineCb
from handlers.queue import FindCb, OpenCb
from storage.models import Event, OutboxMessage, Suggestion
from storage.store import Store
from tests.handlers.conftest import make_settings, new_telegram
from tests.telegram import Person, Sent, Telegram
from tests.world import ADMIN, ALICE, BOB, LIAISON, POLICY, FixedClock, World, actor, draft

Sessions = async_sessionmaker[AsyncSession]
GROUP = -100500


@pytest.fixture
async def tg(sessions: Sessions, world: World, clock: FixedClock) -> AsyncIterator[Telegram]:
    tg = new_telegram(sessions, clock, settings=make_settings(default_locale="en"))
    yield tg
    await tg.bot.session.close()
    assert tg.session.problems == []


# ---- helpers --------------------------------------------------------------------------


async def office(
    sessions: Sessions, clock: FixedClock, user_id: int, move: str, *a: Any, **kw: Any
) -> Any:
    async with sessions() as session, session.begin():
        store = Store(session)
        service = SuggestionService(store, POLICY, clock)
        who = await actor(store, user_id, admin=user_id == ADMIN)
        return await getattr(service, move)(who, *a, **kw)


async def file(
    sessions: Sessions, clock: FixedClock, title: str, *, by: int = ALICE, **kw: Any
) -> tuple[int, str]:
    info = await office(sessions, clock, by, "submit", draft(title, **kw))
    return info.id, info.reference


async def adopted(
    sessions: Sessions, clock: FixedClock, title: str, department_id: int, due: date
) -> tuple[int, str]:
    item_id, ref = await file(sessions, clock, title)
    await office(sessions, clock, ADMIN, "take", item_id)
    await office(sessions, clock, ADMIN, "adopt", item_id, department_id=department_id, due=due)
    return item_id, ref


async def item(sessions: Sessions, item_id: int) -> Suggestion:
    async with sessions() as session:
        row = await session.get(Suggestion, item_id)
        assert row is not None
        return row


async def outbox(sessions: Sessions, item_id: int) -> list[OutboxMessage]:
    async with sessions() as session:
        stmt = (
            sa.select(OutboxMessage)
            .where(OutboxMessage.suggestion_id == item_id)
            .order_by(OutboxMessage.id)
        )
        return list((await session.execute(stmt)).scalars().all())


async def events(sessions: Sessions, item_id: int) -> list[Event]:
    async with sessions() as session:
        stmt = sa.select(Event).where(Event.suggestion_id == item_id).order_by(Event.id)
        return list((await session.execute(stmt)).scalars().all())


def admin(tg: Telegram) -> Person:
    return tg.member(ADMIN, "Ada", GROUP, "administrator", language_code="en")


def card_of(tg: Telegram, ref: str) -> Sent:
    """The newest card of an item in the group (the one with buttons, if any)."""
    return next(
        s
        for s in reversed(tg.chat(GROUP))
        if ref in s.plain.split("\n")[0] and "History" in s.plain
    )


# ---- /queue ---------------------------------------------------------------------------


async def test_queue_lists_what_awaits_a_decision_oldest_first(
    tg: Telegram, sessions: Sessions, world: World, clock: FixedClock
) -> None:
    first, ref1 = await file(sessions, clock, "Street lamps out on Renmin Road")
    clock.advance(hours=2)
    second, ref2 = await file(sessions, clock, "Noise <b>at night</b>", by=BOB)
    clock.advance(hours=2)
    third, ref3 = await file(sessions, clock, "Already decided")
    await office(sessions, clock, ADMIN, "take", second)
    await office(sessions, clock, ADMIN, "take", third)
    await office(sessions, clock, ADMIN, "decline", third, "Outside our remit.")
    ada = admin(tg)

    [listed] = await ada.send("/queue")
    lines = listed.plain.split("\n")
    assert "Awaiting a decision: 2" in lines[0]
    assert ref1 in lines[1]
    assert "Street lamps out on Renmin Road" in lines[1]
    assert lines[1].startswith("🟡")
    assert "📍 P01" in lines[1]
    assert "⏰ 2026-03-09" in lines[1]
    assert ref2 in lines[2]
    assert lines[2].startswith("🔵")
    assert "📍 P02" in lines[2]
    assert "Noise <b>at night</b>" in lines[2]  # shown as typed, escaped
    assert ref3 not in listed.plain
    assert "⚠️" not in listed.plain
    assert [d for _, d in listed.buttons()] == [
        OpenCb(item=first).pack(),
        OpenCb(item=second).pack(),
    ]

    # A reference button posts the card at the bottom of the group.
    [card] = await ada.press(ref2)
    assert card.plain.startswith(f"🔵 {ref2}")
    assert "🔍 Take" not in [t for t, _ in card.buttons()]
    assert ada.last is card


async def test_queue_when_nothing_waits(tg: Telegram, world: World) -> None:
    [said] = await admin(tg).send("/queue")
    assert said.plain == "Nothing is waiting for a decision."
    assert said.buttons() == []


async def test_a_long_queue_stays_in_one_message_and_says_how_many_more(
    tg: Telegram, sessions: Sessions, world: World, clock: FixedClock
) -> None:
    async with sessions() as session, session.begin():
        store = Store(session)
        service = SuggestionService(store, POLICY, clock)
        alice = await actor(store, ALICE)
        for n in range(45):
            await service.submit(alice, draft(f"Item number {n:02d} " + "很长的标题" * 12))
    [listed] = await admin(tg).send("/queue")
    assert "Awaiting a decision: 45" in listed.plain
    shown = [line for line in listed.plain.split("\n") if line.startswith("🟡")]
    assert 20 < len(shown) < 45
    assert shown[0].startswith("🟡 WZ-2026-0001 Item number 00")
    assert f"… and {45 - len(shown)} more" in listed.plain
    assert len(listed.buttons()) == 10


# ---- /overdue -------------------------------------------------------------------------


async def test_overdue_says_which_deadline_was_missed_and_by_how_much(
    tg: Telegram, sessions: Sessions, world: World, clock: FixedClock
) -> None:
    ada = admin(tg)
    [said] = await ada.send("/overdue")
    assert said.plain == "Nothing is overdue."

    undecided, ref1 = await file(sessions, clock, "Undecided item")  # decision due 03-09
    late, ref2 = await adopted(
        sessions, clock, "Slow repair", world.department_id, date(2026, 3, 4)
    )
    _on_time, ref3 = await adopted(
        sessions, clock, "Far off", world.department_id, date(2026, 4, 30)
    )
    clock.advance(days=10)  # 2026-03-12 in Shanghai

    [listed] = await ada.send("/overdue")
    text = listed.plain
    assert "Overdue: 2" in text
    assert ref3 not in text
    # The most overdue first: the implementation, 8 days late, then the decision, 3.
    assert text.index(ref2) < text.index(ref1)
    assert "Implementation was due 2026-03-04, 8 days late · 🏢 区市场监管局" in text
    assert "Decision was due 2026-03-09, 3 days late" in text
    assert {d for _, d in listed.buttons()} == {
        OpenCb(item=undecided).pack(),
        OpenCb(item=late).pack(),
    }

    # The queue marks the missed decision deadline too.
    [queued] = await ada.send("/queue")
    [line] = [x for x in queued.plain.split("\n") if ref1 in x]
    assert line.endswith("⏰ 2026-03-09 ⚠️")


# ---- /show ----------------------------------------------------------------------------


async def test_show_posts_the_card_again_below_and_strips_the_old_one(
    tg: Telegram, sessions: Sessions, world: World, clock: FixedClock
) -> None:
    item_id, ref = await file(sessions, clock, "Street lamps out")
    await tg.drain()  # the card arrives in the group
    ada = admin(tg)
    old = card_of(tg, ref)
    assert old.buttons()

    await ada.send("Meanwhile, some chatter")
    said = await ada.send("/show " + ref.lower())
    card = said[-1]
    assert card.plain.startswith(f"🟡 {ref}")
    assert "🔍 Take" in [t for t, _ in card.buttons()]
    assert ada.last is card
    assert old.buttons() == []  # the old card lost its buttons
    # The card works from its new place.
    await ada.press("🔍 Take", message=card)
    assert (await item(sessions, item_id)).status.value == "in_review"
    assert card.plain.startswith(f"🔵 {ref}")


async def test_show_with_bad_arguments(tg: Telegram, world: World) -> None:
    ada = admin(tg)
    [said] = await ada.send("/show")
    assert said.plain.startswith("Usage: /show REF")
    [said] = await ada.send("/show WZ-2026-0001 extra")
    assert said.plain.startswith("Usage: /show REF")
    [said] = await ada.send("/show <nonsense>")
    assert "“<nonsense>” is not a reference" in said.plain
    assert "Usage: /show REF" in said.plain
    [said] = await ada.send("/show WZ-2026-0099")
    assert said.plain == "There is no item WZ-2026-0099."


# ---- /find ----------------------------------------------------------------------------


async def test_find_pages_through_matches_in_place(
    tg: Telegram, sessions: Sessions, world: World, clock: FixedClock
) -> None:
    async with sessions() as session, session.begin():
        store = Store(session)
        service = SuggestionService(store, POLICY, clock)
        alice = await actor(store, ALICE)
        for n in range(11):
            clock.advance(minutes=1)
            await service.submit(alice, draft(f"Lamp {n:02d} broken", body="Dark street."))
        await service.submit(alice, draft("Something else", body="Potholes."))
    ada = admin(tg)

    [listed] = await ada.send("/find LAMP")
    assert "LAMP: 11 found · page 1/2" in listed.plain
    lines = [x for x in listed.plain.split("\n") if x.startswith("🟡")]
    assert len(lines) == 8
    assert "Lamp 10 broken" in lines[0]  # newest first
    assert "Something else" not in listed.plain
    assert ("▶️", FindCb(page=2).pack()) in listed.buttons()
    assert "◀️" not in [t for t, _ in listed.buttons()]

    # ▶️ edits the list in place; another admin may turn the pages back.
    [edited] = await ada.press("▶️")
    assert edited is listed
    assert edited.edited
    assert "page 2/2" in edited.plain
    lines = [x for x in edited.plain.split("\n") if x.startswith("🟡")]
    assert [x.split(" ")[2:4] for x in lines] == [["Lamp", "02"], ["Lamp", "01"], ["Lamp", "00"]]
    bo = tg.member(9002, "Bo", GROUP, "administrator", language_code="en")
    [back] = await bo.press("◀️", message=listed)
    assert "page 1/2" in back.plain

    # A reference button under the list posts that item's card.
    ref, data = back.buttons()[0]
    [card] = await ada.press(data, message=back)
    assert card.plain.startswith(f"🟡 {ref}")
    assert "Lamp 10 broken" in card.plain


async def test_find_with_nothing_found_or_no_words(
    tg: Telegram, sessions: Sessions, world: World, clock: FixedClock
) -> None:
    ref = (await file(sessions, clock, "Street lamps"))[1]
    ada = admin(tg)
    [said] = await ada.send("/find")
    assert said.plain.startswith("Usage: /find TEXT")
    [said] = await ada.send("/find <b>zebra</b>")
    assert said.plain == "Nothing matches “<b>zebra</b>”."
    [listed] = await ada.send("/find " + ref.lower())
    assert "1 found · page 1/1" in listed.plain
    assert [t for t, _ in listed.buttons()] == [ref]  # no page buttons for one page
    # A page button whose search was never kept says so and changes nothing.
    await ada.callback(FindCb(page=2).pack(), message=listed)
    assert tg.session.alerts[-1][1] == "This search has expired: search again with /find."


# ---- /assign --------------------------------------------------------------------------


async def test_assign_moves_the_item_and_tells_the_new_liaison(
    tg: Telegram, sessions: Sessions, world: World, clock: FixedClock
) -> None:
    item_id, ref = await adopted(
        sessions, clock, "Market stalls", world.other_department_id, date(2026, 3, 31)
    )
    await tg.drain()
    ada = admin(tg)
    before = len(await outbox(sessions, item_id))

    done = await ada.send(f"/assign {ref.lower()} market")
    assert done[-1].plain == (
        f"🏢 {ref} is reassigned from District Housing Bureau to 区市场监管局; the liaisons "
        "of both and the observer are told."
    )
    row = await item(sessions, item_id)
    assert row.department_id == world.department_id
    rows = (await outbox(sessions, item_id))[before:]
    assert {(r.kind, r.chat_id) for r in rows if r.audience == "liaison"} == {
        ("item.assign", LIAISON)
    }
    # The observer hears whose hands it is in now (issue 19).
    assert [r.kind for r in rows if r.chat_id == ALICE] == ["item.assign"]
    card = card_of(tg, ref)
    assert "Department: 区市场监管局" in card.plain
    assert "assigned a department (区市场监管局)" in card.plain

    # The same department again, a department that does not exist: nothing changes.
    [said] = await ada.send(f"/assign {ref} MARKET")
    assert said.plain == f"{ref} is already assigned to 区市场监管局."
    [said] = await ada.send(f"/assign {ref} NOPE")
    assert said.plain == "There is no department “NOPE”. /departments lists them."
    assert len(await events(sessions, item_id)) == 4


async def test_assign_with_bad_arguments_or_in_the_wrong_state(
    tg: Telegram, sessions: Sessions, world: World, clock: FixedClock
) -> None:
    item_id, ref = await file(sessions, clock, "Not decided yet")
    ada = admin(tg)
    for args in ("", ref, f"{ref} MARKET extra"):
        [said] = await ada.send(f"/assign {args}".strip())
        assert said.plain.startswith("Usage: /assign REF DEPT")
    [said] = await ada.send("/assign WZ-2026-0042 MARKET")
    assert said.plain == "There is no item WZ-2026-0042."
    [said] = await ada.send("/assign 42 MARKET")
    assert "“42” is not a reference" in said.plain
    [said] = await ada.send(f"/assign {ref} MARKET")
    assert said.plain == (
        "A department can be assigned only to an adopted item that is not yet being "
        f"implemented; {ref} is: 🟡 Submitted, awaiting review."
    )
    row = await item(sessions, item_id)
    assert row.department_id is None
    assert row.status.value == "submitted"
    assert len(await events(sessions, item_id)) == 1


# ---- /due -----------------------------------------------------------------------------


async def test_due_sets_the_date_and_tells_the_liaison(
    tg: Telegram, sessions: Sessions, world: World, clock: FixedClock
) -> None:
    item_id, ref = await adopted(
        sessions, clock, "Market stalls", world.department_id, date(2026, 3, 31)
    )
    await tg.drain()
    ada = admin(tg)
    before = len(await outbox(sessions, item_id))

    done = await ada.send(f"/due {ref} 2026-04-15")
    assert done[-1].plain.startswith(f"📅 {ref} is now due on 2026-04-15, a Wednesday.")
    assert (await item(sessions, item_id)).implementation_due == date(2026, 4, 15)
    rows = (await outbox(sessions, item_id))[before:]
    assert {(r.kind, r.chat_id) for r in rows if r.audience == "liaison"} == {
        ("item.set_due", LIAISON)
    }
    assert not [r for r in rows if r.chat_id == ALICE]
    assert "Implementation due: 2026-04-15" in card_of(tg, ref).plain

    [said] = await ada.send(f"/due {ref} 2026-04-15")
    assert said.plain == f"{ref} is already due on 2026-04-15."


async def test_due_refuses_nonsense_and_past_dates(
    tg: Telegram, sessions: Sessions, world: World, clock: FixedClock
) -> None:
    item_id, ref = await adopted(
        sessions, clock, "Market stalls", world.department_id, date(2026, 3, 31)
    )
    submitted, ref2 = await file(sessions, clock, "Undecided")
    ada = admin(tg)
    for args in ("", ref):
        [said] = await ada.send(f"/due {args}".strip())
        assert said.plain.startswith("Usage: /due REF DATE")
    # The date prompts' reasons, with the forms to write a date in when it was unreadable.
    for bad in ("tomorrow", "2026-04-15 extra", "next Friday"):
        [said] = await ada.send(f"/due {ref} {bad}")
        assert said.plain.startswith(f"I cannot read “{bad}” as a date.\n")
        assert "Write the date e.g. as 2026-04-01, 4-1 or 1.4." in said.plain
        assert "Usage: /due REF DATE" in said.plain
    [said] = await ada.send(f"/due {ref} 04/15/2026")
    assert said.plain.startswith("“04/15/2026” can be read two ways (month/day or day/month).")
    assert "Write the date e.g. as" in said.plain
    for no_such_day in ("2026-02-30", "2026-13-01", "31.4"):
        [said] = await ada.send(f"/due {ref} {no_such_day}")
        assert said.plain == (
            f"There is no such day as “{no_such_day}”: please check the month and the day."
        )
    [said] = await ada.send(f"/due {ref} 2026-03-01")
    assert said.plain == "2026-03-01 is in the past: the due date must be today or later."
    [said] = await ada.send(f"/due {ref} 2099-01-01")
    assert said.plain == "2099-01-01 is too far ahead: please check the year."
    [said] = await ada.send("/due WZ-2026-0077 2026-04-15")
    assert said.plain == "There is no item WZ-2026-0077."
    [said] = await ada.send(f"/due {ref2} 2026-04-15")
    assert said.plain == (
        "A due date can be set only on an adopted item or one being implemented; "
        f"{ref2} is: 🟡 Submitted, awaiting review."
    )
    assert (await item(sessions, item_id)).implementation_due == date(2026, 3, 31)
    assert (await item(sessions, submitted)).implementation_due is None


MISSING_2026 = (
    "📅 No holiday calendar is loaded for 2026: its working days are counted Monday to "
    "Friday, without public holidays or make-up working days. Load it with /holidays "
    "(send /holidays 2026 to see the format)."
)


async def test_due_takes_the_forms_the_date_prompts_take_and_warns_as_they_do(
    tg: Telegram, sessions: Sessions, world: World, clock: FixedClock
) -> None:
    item_id, ref = await adopted(
        sessions, clock, "Market stalls", world.department_id, date(2026, 3, 31)
    )
    ada = admin(tg)

    async def due(typed: str, expected: date) -> str:
        # The answer to the command, beside the card refreshed.
        [said] = [s for s in await ada.send(f"/due {ref} {typed}") if s.reply_to]
        assert (await item(sessions, item_id)).implementation_due == expected, typed
        return said.plain

    # Day first with dots is 15 April, not a refusal; the calendar's year is not loaded.
    said = await due("15.04.2026", date(2026, 4, 15))
    assert said == f"📅 {ref} is now due on 2026-04-15, a Wednesday.\n{MISSING_2026}"
    assert "Implementation due: 2026-04-15" in card_of(tg, ref).plain

    await ada.send("/holidays\n2026-05-01..2026-05-05 off 劳动节\n2026-05-09 work 劳动节调休")
    # A year-less date gets its year, shown back with its weekday.
    assert await due("4-20", date(2026, 4, 20)) == f"📅 {ref} is now due on 2026-04-20, a Monday."
    said = await due("5月1日", date(2026, 5, 1))
    assert "2026-05-01 is a holiday in the office's calendar." in said
    assert "No holiday calendar" not in said
    said = await due("18 Apr", date(2026, 4, 18))
    assert "2026-04-18 is a Saturday, not a working day." in said
    assert "press “📅 Set due date” on the card to change it" in said
    said = await due("May 9, 2026", date(2026, 5, 9))  # a Saturday worked (调休)
    assert "⚠️" not in said
    assert await due("２０２６／４／２１", date(2026, 4, 21)) == (
        f"📅 {ref} is now due on 2026-04-21, a Tuesday."
    )
    # Refused as the prompts refuse, the date kept.
    [said] = await ada.send(f"/due {ref} 4/22")
    assert said.plain.startswith("“4/22” can be read two ways (month/day or day/month).")
    assert (await item(sessions, item_id)).implementation_due == date(2026, 4, 21)


# ---- /note ----------------------------------------------------------------------------


async def test_a_note_is_on_the_card_and_never_reaches_the_observer(
    tg: Telegram, sessions: Sessions, world: World, clock: FixedClock
) -> None:
    alice = tg.person(ALICE, "Alice", "en")
    item_id, ref = await file(sessions, clock, "Street lamps out")
    await tg.drain()
    ada = admin(tg)
    before = len(await outbox(sessions, item_id))

    done = await ada.send(f"/note {ref} Called the <street> office;\nthey know.")
    assert done[-1].plain == f"📝 Note added to {ref} (for the office only)."
    card = card_of(tg, ref)
    assert "📝 internal note" in card.plain
    assert "Called the <street> office;\nthey know." in card.plain
    [note] = [e for e in await events(sessions, item_id) if e.action.value == "note"]
    assert note.internal
    assert note.text == "Called the <street> office;\nthey know."
    assert (await outbox(sessions, item_id))[before:] == []
    await tg.drain()
    assert not any("street" in s.plain for s in alice.chat)

    # Her own view of the item knows nothing of it.
    await alice.send("/mine")
    [shown] = await alice.press(MineCb(act="show", item=item_id, page=1, value="l").pack())
    assert "Street lamps out" in shown.plain
    assert "Called" not in shown.plain
    assert "note" not in shown.plain.lower()


async def test_note_with_bad_arguments_or_on_a_withdrawn_item(
    tg: Telegram, sessions: Sessions, world: World, clock: FixedClock
) -> None:
    item_id, ref = await file(sessions, clock, "Taken back")
    await office(sessions, clock, ALICE, "withdraw", item_id)
    ada = admin(tg)
    for args in ("", ref, f"{ref}   "):
        [said] = await ada.send(f"/note {args}")
        assert said.plain.startswith("Usage: /note REF TEXT")
    [said] = await ada.send("/note WZ-2026-0050 hello")
    assert said.plain == "There is no item WZ-2026-0050."
    [said] = await ada.send(f"/note {ref} hello")
    assert said.plain == f"{ref} takes no notes in its state: ↩️ Withdrawn."
    [said] = await ada.send(f"/note {ref.replace('0001', '1')}x hello")
    assert "is not a reference" in said.plain
    live, ref2 = await file(sessions, clock, "Open item")
    [said] = await ada.send(f"/note {ref2} " + "x" * 2000)
    assert said.plain.startswith("That text is too long")
    assert [e.action.value for e in await events(sessions, live)] == ["submit"]


# ---- people who may not ---------------------------------------------------------------


async def test_members_and_observers_are_refused_and_nothing_changes(
    tg: Telegram, sessions: Sessions, world: World, clock: FixedClock
) -> None:
    item_id, ref = await adopted(
        sessions, clock, "Market stalls", world.other_department_id, date(2026, 3, 31)
    )
    nina = tg.member(9003, "Nina", GROUP, "member", language_code="en")
    alice = tg.person(ALICE, "Alice", "en")
    commands = [
        "/queue",
        "/overdue",
        f"/show {ref}",
        "/find market",
        f"/assign {ref} MARKET",
        f"/due {ref} 2026-04-15",
        f"/note {ref} secret",
    ]
    for n, command in enumerate(commands):
        # Told once; after that her tries cost the group's few messages a minute nothing.
        if n == 0:
            [said] = await nina.send(command)
            assert said.plain == "Only this office's admins can use this command."
        else:
            assert await nina.send(command) == []
        [said] = await alice.send(command)
        assert said.plain == "This command works only in an office's admin group."
    await nina.callback(OpenCb(item=item_id).pack(), message=nina.last)
    assert tg.session.alerts[-1][1] == (
        "Only this office's admins can do this. Nothing was changed."
    )
    await nina.callback(FindCb(page=2).pack(), message=nina.last)
    assert tg.session.alerts[-1][2] is True
    row = await item(sessions, item_id)
    assert row.department_id == world.other_department_id
    assert row.implementation_due == date(2026, 3, 31)
    assert len(await events(sessions, item_id)) == 3
    assert [s for s in tg.chat(GROUP) if s.plain.startswith("✅")] == []
