"""/mine for someone who is both an observer and a liaison (issue 19, point 6): both
lists, apart and headed — "My own suggestions", then "My department's items" — each
with its buttons working as they do on their own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa

from bot.domain.statuses import SuggestionStatus as S
from bot.services.suggestions import SuggestionService
from bot.services.views import SuggestionInfo
from handlers.callbacks import MenuCb, MineCb
from handlers.department import DeptCb
from storage.models import Liaison, Suggestion, TelegramUser
from tests.handlers.conftest import make_settings, new_telegram
from tests.harness import Harness
from tests.telegram import Person, Sent, Telegram
from tests.world import ALICE, BOB, DUE, LIAISON, FixedClock, World, draft

OWN = "📋 My own suggestions"
DEPARTMENTS = "🏢 My department's items"


class Office(Harness):
    service = SuggestionService
    none_is_system = True

    async def adopted_from(self, by: int, title: str) -> SuggestionInfo:
        info: SuggestionInfo = await self.by(by).submit(draft(title))
        await self.admin.take(info.id)
        await self.admin.adopt(info.id, department_id=self.world.department_id, due=DUE)
        return info

    async def status(self, item_id: int) -> S:
        row = await self.get(Suggestion, item_id)
        assert row is not None
        return row.status


@pytest.fixture
async def office(sessions: Any, world: World, clock: FixedClock) -> Office:
    office = Office(sessions, world, clock)
    # Alice, an observer, is also a liaison of MARKET.
    await office.add(Liaison(department_id=world.department_id, user_id=ALICE, name="Alice"))
    for uid in (ALICE, LIAISON):
        await office.update(TelegramUser, uid, language_code="en")
    return office


@pytest.fixture
async def tg(sessions: Any, world: World, clock: FixedClock) -> AsyncIterator[Telegram]:
    tg = new_telegram(sessions, clock, settings=make_settings(default_locale="en"))
    yield tg
    await tg.bot.session.close()
    assert tg.session.problems == []


def alice(tg: Telegram) -> Person:
    return tg.person(ALICE, "Alice", "en")


def data(sent: Sent) -> list[str]:
    return [d for _t, d in sent.buttons()]


async def test_both_lists_apart_each_actionable(tg: Telegram, office: Office) -> None:
    own = await office.by(ALICE).submit(draft("Street lamps out"))
    theirs = await office.adopted_from(BOB, "Market stalls on the pavement")
    al = alice(tg)

    [mine, department] = await al.send("/mine")
    assert mine.plain.startswith(f"{OWN}: 1 in all.")
    assert own.reference in mine.plain
    assert theirs.reference not in mine.plain
    assert data(mine) == [MineCb(act="show", item=own.id, page=1, value="l").pack()]

    assert department.plain.startswith(DEPARTMENTS + "\n")
    assert "Your department's open items: 1" in department.plain
    assert theirs.reference in department.plain
    assert own.reference not in department.plain
    # Both are on screen: no button from one list to the other.
    assert data(department) == [DeptCb(act="open", item=theirs.id).pack()]
    assert MenuCb(go="mine").pack() not in data(department)

    # The menu's button shows the same two.
    [again, again_department] = await al.send("📋 My suggestions")
    assert (again.plain, again_department.plain) == (mine.plain, department.plain)

    # Her own item: the list turns into its card, and back to the list, still headed.
    [card] = await al.press(data(mine)[0], message=mine)
    assert card is mine
    assert card.plain.startswith(f"{own.reference} · ")
    [withdrawing] = await al.press("↩️ Withdraw", message=card)
    await al.press("Yes, withdraw", message=withdrawing)
    assert await office.status(own.id) is S.WITHDRAWN
    assert "Withdrawn" in mine.plain.split("\n")[0]
    [listed] = await al.press("⬅️ Back to list", message=mine)
    assert listed.plain.startswith(f"{OWN}: 1 in all.")

    # The department's item: its card comes with the liaison's moves.
    [dept_card] = await al.press(data(department)[0], message=department)
    assert dept_card.plain.startswith(f"✅ {theirs.reference} · Adopted")
    assert "Bob" not in dept_card.plain  # the observer stays unnamed to the department
    changed = await al.press("✅ Accept", message=dept_card)
    assert changed
    assert await office.status(theirs.id) is S.IMPLEMENTING


async def test_an_empty_own_list_is_still_shown_apart(tg: Telegram, office: Office) -> None:
    [mine, department] = await alice(tg).send("/mine")
    assert mine.plain.startswith(OWN + "\nYou have not filed anything yet.")
    assert mine.buttons() == []
    assert department.plain.startswith(DEPARTMENTS + "\nYour department has no open items")


async def test_a_liaison_alone_or_an_observer_alone_sees_one_list(
    tg: Telegram, office: Office, sessions: Any
) -> None:
    await office.adopted_from(BOB, "Market stalls")
    [department] = await tg.person(LIAISON, "Li", "en").send("/mine")
    assert department.plain.startswith("Your department's open items: 1")
    assert DEPARTMENTS not in department.plain
    [mine] = await tg.person(BOB, "Bob", "en").send("/mine")
    assert mine.plain.startswith("My suggestions: 1 in all.")
    assert OWN not in mine.plain
    # Once she is no longer a liaison, Alice's /mine is her own list again, as before.
    async with sessions() as session, session.begin():
        await session.execute(sa.delete(Liaison).where(Liaison.user_id == ALICE))
    [only] = await alice(tg).send("/mine")
    assert only.plain.startswith("You have not filed anything yet.")


async def test_both_lists_in_chinese(
    sessions: Any, world: World, clock: FixedClock, office: Office
) -> None:
    tg = new_telegram(sessions, clock)
    try:
        await office.update(TelegramUser, ALICE, language_code="zh-hans")
        await office.by(ALICE).submit(draft("路灯不亮"))
        await office.adopted_from(BOB, "占道经营")
        [mine, department] = await tg.person(ALICE, "Alice", "zh-hans").send("/mine")
        assert mine.plain.startswith("📋 本人提交的事项：共 1 件。")
        assert department.plain.startswith("🏢 本部门的事项\n贵部门待办事项：共 1 件")
        assert tg.session.problems == []
    finally:
        await tg.bot.session.close()
