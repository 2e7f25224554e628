"""Items waiting on the observer's answer are not stuck (issue 19, point 9).

The office asks; the observer is given a date to answer by; past it the card offers
"remind the observer", "decide anyway" and "close: no answer", and /overdue lists the
item in a section of its own. Played through the Dispatcher, the outbox sender and
the fake Telegram, checking what each person sees and what the database holds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import pytest
import sqlalchemy as sa
from aiogram.types import ForceReply
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.lifecycle import Action
from bot.domain.statuses import SuggestionStatus as S
from bot.services.suggestions import SuggestionService, answer_due
from handlers.callbacks import MineCb
from handlers.queue import OpenCb
from storage.models import Event, OutboxMessage, Suggestion
from tests.handlers.conftest import make_settings, new_telegram
from tests.harness import Harness
from tests.telegram import Person, Sent, Telegram
from tests.world import ADMIN, ALICE, FixedClock, World, draft

Sessions = async_sessionmaker[AsyncSession]
GROUP = -100500
ANSWER_BY = date(2026, 3, 9)  # five working days on


@pytest.fixture
async def tg(sessions: Sessions, world: World, clock: FixedClock) -> AsyncIterator[Telegram]:
    tg = new_telegram(sessions, clock, settings=make_settings(default_locale="en"))
    yield tg
    await tg.bot.session.close()
    assert tg.session.problems == []


class Office(Harness):
    service = SuggestionService
    none_is_system = True

    async def asked(self, question: str = "Which lamps, <exactly>?") -> int:
        info = await self.by(ALICE).submit(draft("Street lights out"))
        await self.admin.take(info.id)
        await self.admin.ask_info(info.id, question)
        return int(info.id)

    async def item(self, item_id: int) -> Suggestion:
        row: Suggestion | None = await self.get(Suggestion, item_id)
        assert row is not None
        return row

    async def events(self, item_id: int) -> list[Event]:
        stmt = sa.select(Event).where(Event.suggestion_id == item_id).order_by(Event.id)
        return await self.scalars(stmt)

    async def told(self, item_id: int, kind: str) -> list[OutboxMessage]:
        return [r for r in await self.outbox(item_id=item_id) if r.kind == kind]


@pytest.fixture
def office(sessions: Sessions, world: World, clock: FixedClock) -> Office:
    return Office(sessions, world, clock)


def admin(tg: Telegram) -> Person:
    return tg.member(ADMIN, "Ada", GROUP, "administrator", language_code="en")


def card(tg: Telegram) -> Sent:
    return [s for s in tg.chat(GROUP) if "History" in s.plain][-1]


def acts(sent: Sent) -> list[str]:
    return [data.split(":")[1] for _, data in sent.buttons()]


def alert(tg: Telegram) -> tuple[str | None, bool | None]:
    return tg.session.alerts[-1][1], tg.session.alerts[-1][2]


def days_on(clock: FixedClock, day: date) -> None:
    """The clock set to the same hour of ``day``."""
    clock.now = clock.now.replace(year=day.year, month=day.month, day=day.day)


async def test_past_the_date_the_office_reminds_then_decides_anyway(
    tg: Telegram, office: Office, clock: FixedClock
) -> None:
    alice = tg.person(ALICE, "Alice", "en")
    await alice.send("/start")  # she reads English
    item_id = await office.asked()
    [ask] = (await office.events(item_id))[-1:]
    assert (ask.action, ask.payload["answer_due"]) == (Action.ASK_INFO, ANSWER_BY.isoformat())
    await tg.drain()
    assert "Please answer by: 2026-03-09" in alice.last.plain

    # The card says when the observer's answer is due, not the office's own deadline,
    # and offers a way on; /overdue has nothing yet.
    shown = card(tg)
    assert "The observer's answer due: 2026-03-09" in shown.plain
    assert "Decision due" not in shown.plain
    assert "overdue" not in shown.plain
    assert acts(shown) == ["chase", "anyway", "unans"]
    ada = admin(tg)
    [reply] = await ada.send("/overdue")
    assert reply.plain == "Nothing is overdue."

    # Two days past the date.
    days_on(clock, date(2026, 3, 11))
    [reply] = await ada.send("/overdue")
    assert "Waiting on the observer past the date to answer by: 1" in reply.plain
    assert "WZ-2026-0001 Street lights out" in reply.plain
    assert "The observer's answer was due 2026-03-09, 2 days late" in reply.plain
    assert ("WZ-2026-0001", OpenCb(item=item_id).pack()) in reply.buttons()

    # Remind: recorded, the observer hears the question again with a new date.
    await ada.press("🔔 Remind the observer", message=card(tg))
    assert alert(tg) == ("The observer has been reminded of the question.", False)
    chase = (await office.events(item_id))[-1]
    assert (chase.action, chase.actor_user_id, chase.from_status, chase.to_status) == (
        Action.CHASE,
        ADMIN,
        S.NEEDS_INFO,
        S.NEEDS_INFO,
    )
    assert chase.payload["answer_due"] == "2026-03-18"
    assert chase.payload["question"] == "Which lamps, <exactly>?"
    assert "reminded the observer of the question (answer by 2026-03-18)" in card(tg).plain
    await tg.drain()
    assert alice.last.plain.startswith(
        "❓ Reminder: the district office is still waiting for your answer about your "
        "suggestion WZ-2026-0001"
    )
    assert "Which lamps, <exactly>?" in alice.last.plain
    assert "Please answer by: 2026-03-18" in alice.last.plain
    assert ("✍️ Answer", MineCb(act="answer", item=item_id).pack()) in alice.last.buttons()
    # Once a day: a second press is refused and nothing is recorded.
    await ada.press("🔔 Remind the observer", message=card(tg))
    assert alert(tg) == ("The observer was already reminded today. Try again tomorrow.", True)
    assert len(await office.told(item_id, "item.chase")) == 2  # the observer and the group
    assert [e.action for e in await office.events(item_id)].count(Action.CHASE) == 1
    [reply] = await ada.send("/overdue")
    assert reply.plain == "Nothing is overdue."

    # Still no answer by the new date: the office decides without it.
    days_on(clock, date(2026, 3, 20))
    await ada.press("⚖️ Decide anyway", message=card(tg))
    assert alert(tg) == ("Back to the decision: the observer's answer is no longer awaited.", False)
    row = await office.item(item_id)
    assert row.status is S.IN_REVIEW
    assert row.decision_due > clock.now.date()  # the office's clock restarted
    assert acts(card(tg)) == ["ask", "adopt", "ref", "decl", "esc", "dup"]
    assert "went on to decide without the observer's answer" in card(tg).plain
    await tg.drain()
    assert alice.last.plain.startswith(
        "🔵 The district office will decide on your suggestion WZ-2026-0001"
    )
    assert "without waiting for your answer any longer" in alice.last.plain


async def test_closed_for_no_answer_with_the_office_s_reason(
    tg: Telegram, office: Office, clock: FixedClock
) -> None:
    alice = tg.person(ALICE, "Alice", "en")
    await alice.send("/start")  # she reads English
    item_id = await office.asked()
    await tg.drain()
    days_on(clock, date(2026, 3, 16))
    ada = admin(tg)
    [prompt] = await ada.press("🔒 Close: no answer", message=card(tg))
    assert isinstance(prompt.markup, ForceReply)
    assert "reason for closing" in prompt.plain
    assert (await office.item(item_id)).status is S.NEEDS_INFO  # nothing until the reply
    await ada.reply(prompt, "No details came in <two weeks>.")
    assert ada.last.plain == (
        "✅ WZ-2026-0001: Closed for want of an answer; the observer will be told."
    )
    row = await office.item(item_id)
    assert row.status is S.CLOSED
    assert row.closed_at is not None
    last = (await office.events(item_id))[-1]
    assert (last.action, last.text) == (Action.CLOSE_UNANSWERED, "No details came in <two weeks>.")
    assert acts(card(tg)) == []
    assert "closed it: the observer did not answer" in card(tg).plain

    await tg.drain()
    told = alice.last
    assert "has been closed: the district office did not receive the information" in told.plain
    assert "No details came in <two weeks>." in told.plain
    assert "You are welcome to file it again" in told.plain
    assert [text for text, _ in told.buttons()] == ["📄 Open"]  # nothing to rate
    [reply] = await ada.send("/overdue")
    assert reply.plain == "Nothing is overdue."


async def test_the_observer_s_answer_date_in_the_card_and_the_list_agree(
    tg: Telegram, office: Office, clock: FixedClock
) -> None:
    # The date is the latest question's or reminder's; a question from before the dates
    # were recorded is due by the decision deadline the item had.
    assert answer_due([{"answer_due": "2026-03-09"}, {}], date(2026, 3, 1)) == ANSWER_BY
    assert answer_due([{}, {"answer_due": "not a date"}], date(2026, 3, 1)) == date(2026, 3, 1)
    assert answer_due([], date(2026, 3, 1)) == date(2026, 3, 1)
    await office.asked()
    clock.advance(days=1)
    await office.asked("When did it start?")
    await tg.drain()
    days_on(clock, date(2026, 3, 10))
    [reply] = await admin(tg).send("/overdue")
    assert "Waiting on the observer past the date to answer by: 1" in reply.plain
    assert "The observer's answer was due 2026-03-09, 1 day late" in reply.plain
    assert [t for t, _ in reply.buttons()] == ["WZ-2026-0001"]
    # The second was asked a day later: its date has not passed, and its card says so.
    assert "The observer's answer due: 2026-03-10" in card(tg).plain
    assert "overdue" not in card(tg).plain


async def test_the_observer_s_own_card_shows_the_date_to_answer_by(
    tg: Telegram, office: Office, clock: FixedClock
) -> None:
    # Under My suggestions, an item waiting on the observer shows when their answer is
    # due, not the office's decision date, which stands still meanwhile.
    alice = tg.person(ALICE, "Alice", "en")
    await alice.send("/start")
    await office.asked()
    await tg.drain()
    await alice.send("/mine")
    [shown] = await alice.press("❓ WZ-2026-0001 Street lights out")
    assert "Your answer is due by: 2026-03-09" in shown.plain
    assert "Decision due" not in shown.plain
