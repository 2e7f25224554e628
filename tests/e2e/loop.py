"""The scheme's loop, played through the sandbox by everyone involved.

An admin group with two admins and a member who is not one; the office adds a point
and a department, invites an observer and a liaison; the observer files a problem with
a photo; an admin takes it and adopts it for the department, with an instruction to
the department or without; the liaison accepts it, reports progress and marks it
implemented; the observer rates it and it closes. Every step is a message typed or a
button pressed in the sandbox, and the feedback each party sees is checked where they
would see it.
"""

from __future__ import annotations

import base64
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.harness import GROUP, Control, Person, bot_said, buttons, text_of

ADA, BEN, MAX = 9001, 9002, 9003
OLGA, LI = 7001, 7002
TITLE = "Street lights out on People's Road"
INSTRUCTION = "Replace all three lamps & check the cabling <before winter>"
PHOTO = base64.b64encode(b"\xff\xd8\xff\xe0 a photo of the dark lamp").decode()


@dataclass
class Cast:
    ada: Person
    ben: Person
    max: Person
    olga: Person
    li: Person


async def cast(control: Control) -> Cast:
    for user_id, name in ((ADA, "Ada"), (BEN, "Ben"), (MAX, "Max"), (OLGA, "Olga"), (LI, "Li")):
        await control.user(user_id, name)
    await control.group(
        GROUP, "District office", {ADA: "creator", BEN: "administrator", MAX: "member"}
    )
    return Cast(
        ada=Person(control, ADA, "Ada", GROUP),
        ben=Person(control, BEN, "Ben", GROUP),
        max=Person(control, MAX, "Max", GROUP),
        olga=Person(control, OLGA, "Olga", OLGA),
        li=Person(control, LI, "Li", LI),
    )


def link_code(message: dict[str, object]) -> str:
    match = re.search(r"https://t\.me/outpost_bot\?start=(\S+)", text_of(message))
    assert match, text_of(message)
    return match.group(1)


async def set_up_the_office(people: Cast) -> None:
    """A point and a department, an observer and a liaison, all through the group."""
    ada, olga, li = people.ada, people.olga, people.li
    await ada.say("/point_add P01 governance service_centre Town service centre")
    await ada.expect("Point added: P01 · Town service centre")
    await ada.say("/dept_add MARKET Market bureau")
    await ada.expect("Department added: MARKET · Market bureau")

    # A member who is not an admin cannot use the office's commands.
    await people.max.say("/invite P01")
    await ada.expect("Only this office's admins can use this command.")

    await ada.say("/invite P01")
    invite = await ada.expect("One-time invite link for a new observer at P01")
    await olga.say(f"/start {link_code(invite)}")
    await olga.expect("Welcome, Olga! You are now an observer at Town service centre.")
    await ada.expect("Olga is now an observer at Town service centre")

    ben = people.ben  # the other admin
    await ben.say("/liaison MARKET")
    invite = await ben.expect("One-time invite link for a liaison of MARKET")
    await li.say(f"/start {link_code(invite)}")
    await li.expect("Welcome, Li! You are now the liaison of Market bureau.")


async def start_filing(olga: Person) -> None:
    """From /new to the details step."""
    await olga.say("/new")
    await olga.expect("step 1 of 6")
    await olga.press("Grassroots social governance")
    await olga.expect("step 2 of 6")
    await olga.press("Problem")
    await olga.expect("step 3 of 6")
    await olga.say(TITLE)
    await olga.expect("step 4 of 6")


async def finish_filing(olga: Person) -> dict[str, object]:
    """From the details to the preview; returns the preview."""
    await olga.press_when_shown("✅ Done")
    await olga.expect("step 5 of 6")
    await olga.press("On behalf of residents")
    await olga.expect("step 6 of 6")
    await olga.say("Skip")
    preview: dict[str, object] = await olga.expect("Preview.")
    return preview


async def file_a_problem(olga: Person) -> str:
    """Filed with a photo; returns the item's reference."""
    await start_filing(olga)
    await olga.say("Three lamps near No. 12 have been dark for three weeks.")
    await olga.expect("Added to the details.")
    await olga.control.send(
        olga.chat_id,
        olga.user_id,
        photo={"file_name": "lamp.jpg", "base64": PHOTO},
        caption="The lamp at No. 14",
    )
    await olga.expect("Photo added.")
    await finish_filing(olga)
    await olga.press("✅ Confirm")
    sent = await olga.expect("✅ Sent. The reference is")
    match = re.search(r"WZ-\d{4}-\d{4}", text_of(sent))
    assert match
    return match.group(0)


async def card_of(ada: Person, ref: str) -> dict[str, object]:
    """The group's current card of the item: the newest with buttons, or the newest."""

    def found(messages: list[dict[str, object]]) -> dict[str, object] | None:
        cards = [m for m in bot_said(messages) if text_of(m).startswith(("🟡", "🔵", "🟢"))]
        cards = [m for m in cards if ref in text_of(m)]
        return cards[-1] if cards else None

    card: dict[str, object] = await ada.control.wait_for(GROUP, found, f"card of {ref}")
    return card


async def press_on_card(ada: Person, ref: str, label: str) -> None:
    card = await card_of(ada, ref)
    assert any(label == text for text, _ in buttons(card)), buttons(card)
    await ada.press(label, message_id=int(card["message_id"]))  # type: ignore[call-overload]


async def adopt(ada: Person, ref: str, instruction: str | None) -> None:
    """Adopt the taken item for the Market bureau, due in 5 working days; then give the
    department ``instruction`` in reply to the bot's prompt, or go without it (⏭)."""
    await press_on_card(ada, ref, "✅ Adopt")
    picker = await ada.expect("choose the department that will implement")
    await ada.press("MARKET · Market bureau", message_id=picker["message_id"])
    due = await ada.expect_button("working days ·")
    label = next(t for t, _ in buttons(due) if t.startswith("5 working days"))
    await ada.press(label, message_id=due["message_id"])

    # Nothing is decided yet: the bot asks for the office's instruction to the department.
    beside = await ada.expect_button("⏭ No instruction")
    assert f"{ref} “{TITLE}” goes to Market bureau." in text_of(beside)
    assert [t for t, _ in buttons(beside)] == ["⏭ No instruction", "✖️ Cancel"]
    prompt = await ada.expect(f"instruction to the department on {ref}")
    assert (prompt.get("reply_markup") or {}).get("force_reply"), prompt
    if instruction is None:
        await ada.press("⏭ No instruction", message_id=beside["message_id"])
    else:
        await ada.say(instruction, reply_to_message_id=prompt["message_id"])
        await ada.expect(f"✅ {ref}: Adopted.")

    # The prompt and the message beside it go once the item is adopted.
    def gone(messages: list[dict[str, object]]) -> bool:
        left = {m["message_id"] for m in bot_said(messages)}
        return beside["message_id"] not in left and prompt["message_id"] not in left

    await ada.control.wait_for(GROUP, gone, "the instruction's prompts removed")


async def decide_and_implement(people: Cast, ref: str, instruction: str | None) -> None:
    ada, olga, li = people.ada, people.olga, people.li
    card = await ada.expect(f"{ref} · Submitted, awaiting review")
    assert TITLE in text_of(card)
    assert [t for t, _ in buttons(card)] == ["🔍 Take"]

    # The member who is not an admin presses: refused, nothing changes.
    await people.max.press("🔍 Take", message_id=card["message_id"])
    await press_on_card(ada, ref, "🔍 Take")
    await olga.expect("has been taken up by the district office")

    await adopt(ada, ref, instruction)
    await olga.expect("Market bureau")

    # The liaison's chat: the item arrives without the observer's name, with the
    # office's instruction; the observer is never shown the instruction.
    card = await li.expect(ref)
    assert "Olga" not in text_of(card)
    if instruction is None:
        assert "The office's instruction" not in text_of(card)
    else:
        assert f"The office's instruction:\n{instruction}" in text_of(card)
        assert not any(instruction in text_of(m) for m in await olga.bot_messages())
    await li.press("✅ Accept", message_id=card["message_id"])
    await li.expect(f"{ref} · Being implemented")  # the card, edited
    await olga.expect("has started implementing your suggestion")

    progress = await li.expect_button("📝 Report progress")
    await li.press("📝 Report progress", message_id=progress["message_id"])
    await li.expect_button("✅ Send the report")
    await li.say("Two of the three lamps are replaced.")
    await li.press("✅ Send the report")
    await olga.expect("Two of the three lamps are replaced.")

    done = await li.expect_button("🎯 Implemented")
    await li.press("🎯 Implemented", message_id=done["message_id"])
    await li.expect_button("Continue ➡️")
    await li.say("All three lamps work again.")
    await li.press("Continue ➡️")
    confirm = await li.expect_button("🎯 Yes, it is implemented")
    await li.press("🎯 Yes, it is implemented", message_id=confirm["message_id"])
    await li.expect(f"{ref} · Implemented")


async def rate(olga: Person) -> None:
    ask = await olga.expect_button("😊 Satisfied")
    assert "All three lamps work again." in text_of(ask)
    await olga.press("😊 Satisfied", message_id=ask["message_id"])
    await olga.expect_button("Skip")
    await olga.press("Skip")
    await olga.expect("Thank you")


async def whole_loop(
    control: Control, instruction: str | None = INSTRUCTION, people: Cast | None = None
) -> tuple[Cast, str]:
    """The loop; the office adopts with ``instruction`` to the department, or without
    one (None). ``people``: the cast, if already made (see :func:`cast`)."""
    people = people or await cast(control)
    await set_up_the_office(people)
    ref = await file_a_problem(people.olga)
    await decide_and_implement(people, ref, instruction)
    await rate(people.olga)
    return people, ref


def rows(database: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        return db.execute(sql).fetchall()
