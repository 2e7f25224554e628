"""A reopened item is not overdue at once (issue 19, point 10).

The observer's 🙁 on an implemented item reopens it: the due date the department met
or missed goes with the outcome, the item comes back to the office's group asking for
a new one (the due-date picker of adopting), /overdue lists it apart until it has one,
and the liaison's notice of the reopening has a button that opens the item. Played
through the Dispatcher, the outbox sender and the fake Telegram.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.lifecycle import Action
from bot.domain.statuses import SuggestionStatus as S
from bot.services.suggestions import SuggestionService
from handlers.callbacks import MineCb
from handlers.department import DeptCb
from storage.models import Event, Suggestion
from tests.handlers.conftest import make_settings, new_telegram
from tests.harness import Harness
from tests.telegram import Person, Sent, Telegram
from tests.world import ADMIN, ALICE, DUE, LIAISON, FixedClock, World, draft

Sessions = async_sessionmaker[AsyncSession]
GROUP = -100500


@pytest.fixture
async def tg(sessions: Sessions, world: World, clock: FixedClock) -> AsyncIterator[Telegram]:
    tg = new_telegram(sessions, clock, settings=make_settings(default_locale="en"))
    yield tg
    await tg.bot.session.close()
    assert tg.session.problems == []


class Office(Harness):
    service = SuggestionService
    none_is_system = True

    async def implemented(self) -> int:
        info = await self.by(ALICE).submit(draft("Street lights out"))
        await self.admin.take(info.id)
        await self.admin.adopt(info.id, department_id=self.world.department_id, due=DUE)
        await self.by(LIAISON).accept(info.id)
        await self.by(LIAISON).mark_implemented(info.id, "All lamps replaced")
        return int(info.id)

    async def item(self, item_id: int) -> Suggestion:
        row: Suggestion | None = await self.get(Suggestion, item_id)
        assert row is not None
        return row

    async def last_event(self, item_id: int) -> Event:
        stmt = sa.select(Event).where(Event.suggestion_id == item_id).order_by(Event.id)
        last: Event = (await self.scalars(stmt))[-1]
        return last


@pytest.fixture
def office(sessions: Sessions, world: World, clock: FixedClock) -> Office:
    return Office(sessions, world, clock)


def admin(tg: Telegram) -> Person:
    return tg.member(ADMIN, "Ada", GROUP, "administrator", language_code="en")


def card(tg: Telegram) -> Sent:
    return [s for s in tg.chat(GROUP) if "History" in s.plain][-1]


def acts(sent: Sent) -> list[str]:
    return [data.split(":")[1] for _, data in sent.buttons()]


async def test_a_reopened_item_gets_a_new_due_date_before_it_can_be_overdue(
    tg: Telegram, office: Office, clock: FixedClock
) -> None:
    alice = tg.person(ALICE, "Alice", "en")
    li = tg.person(LIAISON, "Li", "en")
    [hello] = await alice.send("/start")
    await li.send("/start")
    item_id = await office.implemented()
    await tg.drain()
    # The department met its date; the observer is not satisfied, a few days after it.
    clock.now = clock.now.replace(month=4, day=2)
    assert clock.now.date() > DUE
    await alice.callback(
        MineCb(act="rate", item=item_id, value="dissatisfied").pack(), message=hello
    )
    [thanks] = await alice.press("Skip")
    assert "has been reopened" in thanks.plain

    row = await office.item(item_id)
    assert (row.status, row.implementation_due) == (S.IMPLEMENTING, None)
    reopened = await office.last_event(item_id)
    assert (reopened.action, reopened.payload["previous_due"]) == (Action.REOPEN, DUE.isoformat())

    # Back before the office, asking for a new date, and not overdue.
    await tg.drain()
    shown = card(tg)
    assert "was dissatisfied: reopened" in shown.plain
    assert "Implementation due: none since it was reopened; set a new date with 📅." in shown.plain
    assert "overdue" not in shown.plain
    assert acts(shown) == ["due", "done"]
    ada = admin(tg)
    [listed] = await ada.send("/overdue")
    assert listed.plain.startswith("Reopened, waiting for a new due date: 1")
    assert "Overdue:" not in listed.plain
    assert "Reopened; no due date set · 🏢 区市场监管局" in listed.plain

    # The liaison's notice opens the item.
    [notice] = [s for s in li.chat if "is not satisfied with the outcome" in s.plain]
    assert "the office will set a new due date" in notice.plain
    assert notice.buttons() == [("📄 Open the item", DeptCb(act="open", item=item_id).pack())]
    said = await li.press("📄 Open the item", message=notice)
    # Posted at the bottom of the chat; the card posted before points to it.
    opened = said[-1]
    assert not opened.edited
    assert opened.message_id > notice.message_id
    assert all("the current card" in s.plain for s in said[:-1])
    assert "WZ-2026-0001" in opened.plain
    assert "Street lights out" in opened.plain

    # The same picker as adopting: working days from today.
    [picker] = await ada.press("📅 Set due date", message=card(tg))
    choices = [(t, d) for t, d in picker.buttons() if d.startswith("dk:t:")]
    assert choices[0][0].startswith("5 working days · ")
    new_due = date.fromisoformat(choices[0][1].rsplit(":", 1)[1])
    assert new_due > clock.now.date()
    await ada.press(choices[0][0], message=picker)
    row = await office.item(item_id)
    assert (row.status, row.implementation_due) == (S.IMPLEMENTING, new_due)
    assert f"Implementation due: {new_due.isoformat()}" in card(tg).plain
    assert "none since it was reopened" not in card(tg).plain
    [listed] = await ada.send("/overdue")
    assert listed.plain == "Nothing is overdue."
    await tg.drain()
    assert "The office has set a new implementation due date for WZ-2026-0001" in li.last.plain
    assert li.last.plain.endswith(f": {new_due.isoformat()}.")
