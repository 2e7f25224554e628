"""Adopting gives the department its instructions (issue 19, point 5), through the real
Dispatcher: after the department and the due date, a force-reply prompt asks for the
office's instruction, with ⏭ on a message beside it to go without; the instruction is
kept with the adoption's event, and the department's card (and the card it opens from
its list) shows it with every question the office asked the observer and every answer
— never who the observer is. The observer is not shown the instruction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from aiogram.types import ForceReply

from bot.domain.lifecycle import Action
from bot.domain.limits import BODY_MAX, TEXT_MAX
from bot.domain.statuses import AttachmentKind
from bot.domain.statuses import SuggestionStatus as S
from bot.services.suggestions import SuggestionService
from bot.services.views import AttachmentIn, SuggestionInfo
from handlers.department import DeptCb
from storage.models import Event, Suggestion, TelegramUser
from tests.handlers.conftest import make_settings, new_telegram
from tests.harness import Harness
from tests.telegram import Person, Sent, Telegram
from tests.world import ADMIN, ALICE, DUE, LIAISON, FixedClock, World, draft

GROUP = -100500
SECOND_ADMIN = 9002
INSTRUCTION = "Replace lamps 3–7 & check the cabling <before dark>"
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

    async def item(self, item_id: int) -> Suggestion:
        row: Suggestion | None = await self.get(Suggestion, item_id)
        assert row is not None
        return row

    async def events(self, item_id: int) -> list[Event]:
        return await self.scalars(
            sa.select(Event).where(Event.suggestion_id == item_id).order_by(Event.id)
        )

    async def clarified(self, *, body: str | None = None) -> SuggestionInfo:
        """Filed by Alice; the office asked twice and she answered twice (once with a
        photo); under review again."""
        extra = {"body": body} if body else {}
        info: SuggestionInfo = await self.by(ALICE).submit(draft("Street lamps out", **extra))
        photo = AttachmentIn(AttachmentKind.PHOTO, "answer-photo", "u-answer")
        await self.admin.take(info.id)
        await self.admin.ask_info(info.id, "Which lamps, exactly?")
        await self.by(ALICE).answer_info(info.id, "Lamps 3 to 7 <south side>", (photo,))
        await self.admin.take(info.id)
        await self.admin.ask_info(info.id, "Since when?")
        await self.by(ALICE).answer_info(info.id, "Since the storm on 1 February")
        await self.admin.take(info.id)
        return info


@pytest.fixture
async def office(sessions: Any, world: World, clock: FixedClock) -> Office:
    # The liaison and the observer read English here.
    async with sessions() as session, session.begin():
        await session.execute(
            sa.update(TelegramUser)
            .where(TelegramUser.id.in_([ALICE, LIAISON]))
            .values(language_code="en")
        )
    return Office(sessions, world, clock)


def admin(tg: Telegram) -> Person:
    return tg.member(ADMIN, "Ada", GROUP, "administrator", language_code="en")


def liaison(tg: Telegram) -> Person:
    return tg.person(LIAISON, "Li", "en")


def department_cards(tg: Telegram, reference: str) -> list[Sent]:
    return [s for s in tg.chat(LIAISON) if s.kind == "text" and f" {reference} · " in s.plain[:40]]


def alerts(tg: Telegram) -> list[tuple[str | None, bool]]:
    return [(text, alert) for _, text, alert in tg.session.alerts]


async def to_the_instruction(tg: Telegram, ada: Person) -> tuple[Sent, Sent]:
    """Adopt pressed on the card, the department and the due date chosen: the message
    with ⏭ and the instruction's prompt."""
    await ada.press("✅ Adopt")
    await ada.press("MARKET · 区市场监管局")
    shown = await ada.press("10 working days · 2026-03-16")
    beside, prompt = shown[-2:]
    return beside, prompt


async def test_the_instruction_and_the_observers_answers_reach_the_department(
    tg: Telegram, office: Office, world: World
) -> None:
    info = await office.clarified()
    await tg.drain()
    ada = admin(tg)
    beside, prompt = await to_the_instruction(tg, ada)
    ref = info.reference

    # Asked in the admin's flow: a force-reply prompt that mentions her, and beside it
    # what was chosen, with ⏭ and Cancel. Nothing is decided yet.
    assert isinstance(prompt.markup, ForceReply)
    assert prompt.markup.selective
    assert f'<a href="tg://user?id={ADMIN}">Ada</a>' in prompt.text
    assert f"instruction to the department on {ref}" in prompt.plain
    assert "the observer is not shown it" in prompt.plain
    assert f"{ref} “Street lamps out” goes to 区市场监管局." in beside.plain
    assert f"{ref}: due on 2026-03-16, a Monday." in beside.plain
    assert [t for t, _ in beside.buttons()] == ["⏭ No instruction", "✖️ Cancel"]
    assert alerts(tg)[-1] == ("Reply to the bot's message below, or press ⏭ to go without.", False)
    assert (await office.item(info.id)).status is S.IN_REVIEW

    # Another admin's press is not taken; a too long instruction is asked for again.
    bo = tg.member(SECOND_ADMIN, "Bo", GROUP, "administrator", language_code="en")
    await bo.press("⏭ No instruction", message=beside)
    assert "belongs to another admin's move" in (alerts(tg)[-1][0] or "")
    [again] = await ada.reply(prompt, "x" * (TEXT_MAX + 1))
    assert "That is too long: at most 1500 characters" in again.plain
    assert isinstance(again.markup, ForceReply)
    assert (await office.item(info.id)).status is S.IN_REVIEW

    await ada.reply(prompt, INSTRUCTION)
    # (with what is odd about the date: no calendar for 2026 is loaded here)
    assert ada.last.plain.startswith(f"✅ {ref}: Adopted.\n📅 No holiday calendar")
    shown_ids = {s.message_id for s in tg.chat(GROUP)}
    for gone in (beside, prompt, again):
        assert gone.message_id not in shown_ids  # the prompts and ⏭ are gone
    row = await office.item(info.id)
    assert (row.status, row.department_id) == (S.ADOPTED, world.department_id)
    assert row.implementation_due == date(2026, 3, 16)
    adopted = (await office.events(info.id))[-1]
    assert (adopted.action, adopted.actor_user_id, adopted.text) == (Action.ADOPT, ADMIN, None)
    assert adopted.payload["instruction"] == INSTRUCTION
    # The office's card says what the department was told.
    [card] = [s for s in tg.chat(GROUP) if "<b>History</b>" in s.text]
    assert f"To the department:\n{INSTRUCTION}" in card.plain

    await tg.drain()
    [dept_card] = department_cards(tg, ref)
    text = dept_card.plain
    assert f"The office's instruction:\n{INSTRUCTION}" in text
    assert "The office's questions and the observer's answers" in text
    exchange = text[text.index("The office's questions") :]
    for said in (
        "the office asked\nWhich lamps, exactly?",
        "the observer answered · 📎 1 file(s)\nLamps 3 to 7 <south side>",
        "the office asked\nSince when?",
        "the observer answered\nSince the storm on 1 February",
    ):
        assert said in exchange, said
    assert exchange.index("Which lamps") < exchange.index("Since when?")
    assert [t for t, _ in dept_card.buttons()] == ["✅ Accept", "📎 Files (1)"]
    # Never who the observer is.
    everything = "\n".join(s.plain for s in tg.chat(LIAISON))
    assert "Alice" not in everything
    assert ALICE_PHONE not in everything

    # The item as the department opens it from its list shows the same.
    li = liaison(tg)
    await li.send("/mine")
    *_older, opened = await li.press(DeptCb(act="open", item=info.id).pack())
    assert opened.message_id != dept_card.message_id  # posted anew at the bottom
    assert opened.plain == text

    # The observer hears of the adoption, not of the instruction.
    told = [s.plain for s in tg.chat(ALICE) if "has been adopted" in s.plain]
    assert told
    assert all("cabling" not in t for t in told)


async def test_adopting_without_an_instruction_or_cancelling_at_it(
    tg: Telegram, office: Office, world: World
) -> None:
    info = await office.clarified()
    await tg.drain()
    ada = admin(tg)

    # ✖️ Cancel beside the prompt: nothing changes, and both messages go.
    beside, prompt = await to_the_instruction(tg, ada)
    events = len(await office.events(info.id))
    await ada.press("✖️ Cancel", message=beside)
    assert alerts(tg)[-1] == ("Cancelled; nothing was changed.", False)
    shown_ids = {s.message_id for s in tg.chat(GROUP)}
    assert beside.message_id not in shown_ids
    assert prompt.message_id not in shown_ids
    assert (await office.item(info.id)).status is S.IN_REVIEW
    assert len(await office.events(info.id)) == events
    # A reply to the cancelled prompt is not taken.
    await ada.reply(prompt, "Too late")
    assert (await office.item(info.id)).status is S.IN_REVIEW

    # ⏭: adopted as it is, with no instruction.
    beside, _prompt = await to_the_instruction(tg, ada)
    await ada.press("⏭ No instruction", message=beside)
    assert alerts(tg)[-1] == ("Adopted.", False)
    row = await office.item(info.id)
    assert (row.status, row.department_id) == (S.ADOPTED, world.department_id)
    adopted = (await office.events(info.id))[-1]
    assert adopted.action is Action.ADOPT
    assert "instruction" not in adopted.payload
    await tg.drain()
    [dept_card] = department_cards(tg, info.reference)
    assert "The office's instruction" not in dept_card.plain
    # The observer's answers reach the department all the same.
    assert "Since the storm on 1 February" in dept_card.plain


async def test_the_citys_adoption_takes_an_instruction_too(
    tg: Telegram, office: Office, world: World
) -> None:
    info: SuggestionInfo = await office.by(ALICE).submit(draft("Cross-district patrols"))
    await office.admin.take(info.id)
    await office.admin.escalate(info.id, "Needs the city")
    await tg.drain()
    ada = admin(tg)
    await ada.press("🏛 Record the city's answer")
    await ada.press("✅ Adopted")
    await ada.reply(ada.last, "The city funds it.")
    await ada.press("MARKET · 区市场监管局")
    [*_, prompt] = await ada.press("20 working days · 2026-03-30")
    assert isinstance(prompt.markup, ForceReply)
    await ada.reply(prompt, "Coordinate with the city's bureau")
    row = await office.item(info.id)
    assert (row.status, row.department_id) == (S.ADOPTED, world.department_id)
    adopted = (await office.events(info.id))[-1]
    assert (adopted.action, adopted.text) == (Action.CITY_ADOPT, "The city funds it.")
    assert adopted.payload["instruction"] == "Coordinate with the city's bureau"
    await tg.drain()
    [dept_card] = department_cards(tg, info.reference)
    assert "The office's decision:\nThe city funds it." in dept_card.plain
    assert "The office's instruction:\nCoordinate with the city's bureau" in dept_card.plain


async def test_every_answer_fits_the_card_however_long(
    tg: Telegram, office: Office, world: World
) -> None:
    """The longest text, instruction and answers the bot takes still make one message,
    with every question and answer on it (their words cut shorter)."""
    info: SuggestionInfo = await office.by(ALICE).submit(
        draft("Street lamps out", body="正文" * (BODY_MAX // 2))
    )
    await office.admin.take(info.id)
    for round_ in range(4):
        question = (f"Question {round_}: " + "?" * TEXT_MAX)[:TEXT_MAX]
        await office.admin.ask_info(info.id, question)
        answer = (f"Answer {round_}: " + "&" * TEXT_MAX)[:TEXT_MAX]
        await office.by(ALICE).answer_info(info.id, answer)
        await office.admin.take(info.id)
    await office.admin.adopt(
        info.id, department_id=world.department_id, due=DUE, instruction="<" * TEXT_MAX
    )
    await tg.drain()
    [dept_card] = department_cards(tg, info.reference)
    for round_ in range(4):
        assert f"Question {round_}: " in dept_card.plain
        assert f"Answer {round_}: " in dept_card.plain
    assert "The office's instruction:" in dept_card.plain
    assert "✅ Accept" in [t for t, _ in dept_card.buttons()]
