"""Reported to the city (报市级研究): the item goes up to the city's group, the answer
comes down to the district's card and the observer.

The home office WZ (the test world's district, group -100500) is placed under a city CQ
(group -100600) created afterwards, as an operator would: its references and history
stay. The city has a department of its own with a liaison.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.errors import NotFound, NotPermitted
from bot.domain.lifecycle import Action
from bot.domain.offices import HOME
from bot.domain.statuses import SuggestionStatus
from bot.services.reminders import ReminderService
from bot.services.suggestions import SuggestionService
from handlers.deciding import PickCb
from storage.models import Department, Event, Liaison, OutboxMessage, Suggestion, TelegramUser
from storage.scope import limit_to_office
from storage.store import Store
from tests.handlers.conftest import make_settings, new_telegram
from tests.offices import city_above_home
from tests.telegram import Person, Sent, Telegram
from tests.world import ALICE, POLICY, FixedClock, World, actor, draft

Sessions = async_sessionmaker[AsyncSession]
S = SuggestionStatus
DISTRICT, CITY = -100500, -100600
CITY_ADMIN, CITY_LIAISON = 9101, 3101
WZ_ADMIN = 9002  # an administrator of the district's group only (ADMIN is an operator)


@pytest.fixture
async def tg(sessions: Sessions, world: World, clock: FixedClock) -> AsyncIterator[Telegram]:
    tg = new_telegram(sessions, clock, settings=make_settings(default_locale="en"))
    yield tg
    await tg.bot.session.close()
    assert tg.session.problems == []


@pytest.fixture
async def city(sessions: Sessions, clock: FixedClock) -> int:
    """The city office above the home office, bound to its group, with a department
    (CQ-JUSTICE) and its liaison."""
    cq = await city_above_home(sessions, clock, CITY, CITY_ADMIN)
    async with sessions() as session, session.begin():
        session.add(TelegramUser(id=CITY_LIAISON, first_name="Lu", language_code="en"))
        justice = Department(code="CQ-JUSTICE", name="市司法局", office_id=cq.id)
        session.add(justice)
        await session.flush()
        session.add(Liaison(department_id=justice.id, user_id=CITY_LIAISON, name="Lu"))
        return cq.id


# ---- helpers ---------------------------------------------------------------------------


def district_admin(tg: Telegram) -> Person:
    return tg.member(WZ_ADMIN, "Bo", DISTRICT, "administrator", language_code="en")


def city_admin(tg: Telegram) -> Person:
    return tg.member(CITY_ADMIN, "Chen", CITY, "administrator", language_code="en")


def cards(tg: Telegram, chat: int) -> list[Sent]:
    return [s for s in tg.chat(chat) if "<b>History</b>" in s.text]


def acts(sent: Sent) -> list[str]:
    return [data.split(":")[1] for _, data in sent.buttons()]


async def row(sessions: Sessions, item_id: int) -> Suggestion:
    async with sessions() as s:
        found = await s.get(Suggestion, item_id)
        assert found is not None
        return found


async def last_event(sessions: Sessions, item_id: int) -> Event:
    async with sessions() as s:
        q = sa.select(Event).where(Event.suggestion_id == item_id).order_by(Event.id.desc())
        return (await s.scalars(q)).first()  # type: ignore[return-value]


async def reported(tg: Telegram, sessions: Sessions, clock: FixedClock) -> int:
    """Alice's item, taken and reported to the city by the district's admin, through the
    district group's buttons; the outbox drained."""
    async with sessions() as session, session.begin():
        store = Store(session)
        info = await SuggestionService(store, POLICY, clock).submit(
            await actor(store, ALICE), draft("Street lights out on the river road")
        )
    await tg.drain()
    bo = district_admin(tg)
    await bo.press("🔍 Take")
    [prompt] = await bo.press("🏛 Report to the city")
    await bo.reply(prompt, "Needs a city-wide rule on lighting.")
    await tg.drain()
    return int(info.id)


async def city_dept(sessions: Sessions) -> int:
    async with sessions() as s:
        q = sa.select(Department.id).where(Department.code == "CQ-JUSTICE")
        return int((await s.scalars(q)).one())


# ---- up ----------------------------------------------------------------------------------


async def test_reporting_puts_the_item_on_a_card_in_the_city_s_group(
    tg: Telegram, sessions: Sessions, clock: FixedClock, city: int
) -> None:
    item_id = await reported(tg, sessions, clock)
    item = await row(sessions, item_id)
    assert (item.status, item.office_id, item.above_id) == (S.ESCALATED, HOME, city)
    [card] = cards(tg, CITY)
    # The whole history, with the district's note, and the city's two buttons.
    assert "WZ-2026-0001" in card.plain
    assert "Needs a city-wide rule on lighting." in card.plain
    assert "reported it to the city" in card.plain
    assert acts(card) == ["city", "back"]
    # The district waits: its card no longer records the city's answer itself.
    district = cards(tg, DISTRICT)[-1]
    assert acts(district) == []
    assert "The city's answer due" in district.plain


async def test_the_city_adopts_and_gives_it_to_a_city_department(
    tg: Telegram, sessions: Sessions, clock: FixedClock, city: int
) -> None:
    item_id = await reported(tg, sessions, clock)
    chen = city_admin(tg)
    await chen.press("🏛 Record the city's answer")
    await chen.press("✅ Adopted")
    await chen.reply(chen.last, "The city funds new lights this year.")
    picker = chen.last
    # The city's departments, not the district's.
    assert "市司法局" in picker.plain or any("市司法局" in t for t, _ in picker.buttons())
    assert not any("区市场监管局" in t for t, _ in picker.buttons())
    await chen.press(PickCb(step="d", item=item_id, val=str(await city_dept(sessions))).pack())
    await chen.press("📅 Type a date")
    await chen.reply(chen.last, "2026-04-30")
    await chen.press("⏭ No instruction")
    await tg.drain()

    item = await row(sessions, item_id)
    assert item.status is S.ADOPTED
    assert item.department_id == await city_dept(sessions)
    event = await last_event(sessions, item_id)
    assert (event.action, event.text, event.actor_user_id) == (
        Action.CITY_ADOPT,
        "The city funds new lights this year.",
        CITY_ADMIN,
    )
    # Down: the district's card shows the answer, the observer is told, and the city
    # department's liaison has the item.
    assert "recorded the city's answer: adopted" in cards(tg, DISTRICT)[-1].plain
    assert any("The city funds new lights this year." in s.plain for s in tg.chat(ALICE))
    assert any("WZ-2026-0001" in s.plain for s in tg.chat(CITY_LIAISON))
    # The city's card follows the item, without buttons of the district's.
    assert acts(cards(tg, CITY)[-1]) == []


async def test_the_city_hands_it_back_with_a_question(
    tg: Telegram, sessions: Sessions, clock: FixedClock, city: int
) -> None:
    item_id = await reported(tg, sessions, clock)
    chen = city_admin(tg)
    before = cards(tg, DISTRICT)[-1].message_id
    [prompt] = await chen.press("↩️ Back to the district, with a question")
    await chen.reply(prompt, "Which streets, and since when?")
    await tg.drain()
    item = await row(sessions, item_id)
    assert item.status is S.IN_REVIEW
    event = await last_event(sessions, item_id)
    assert (event.action, event.text) == (Action.CITY_RETURN, "Which streets, and since when?")
    # Back before the district: a fresh card there, with the question and its buttons.
    fresh = cards(tg, DISTRICT)[-1]
    assert fresh.message_id != before
    assert "Which streets, and since when?" in fresh.plain
    assert "esc" in acts(fresh)
    # The observer is not told of a question between the offices.
    assert not any("Which streets" in s.plain for s in tg.chat(ALICE))
    assert acts(cards(tg, CITY)[-1]) == []


async def test_each_office_may_make_only_its_own_moves(
    tg: Telegram, sessions: Sessions, clock: FixedClock, city: int
) -> None:
    item_id = await reported(tg, sessions, clock)
    item = await row(sessions, item_id)
    version = item.version

    async def as_office(user_id: int, office_id: int, move: str, *a: Any, **kw: Any) -> Any:
        policy = replace(
            POLICY, office_id=office_id, jurisdiction="WZ" if office_id == HOME else "CQ"
        )
        async with sessions() as session, session.begin():
            limit_to_office(session, office_id)
            store = Store(session)
            who = await actor(store, user_id, admin=True)
            return await getattr(SuggestionService(store, policy, clock), move)(who, *a, **kw)

    # The district may no longer record the city's answer once the city has it.
    with pytest.raises(NotPermitted):
        await as_office(WZ_ADMIN, HOME, "record_city_answer", item_id, S.DECLINED, "no")
    # The city may not make the district's moves on it.
    with pytest.raises(NotPermitted):
        await as_office(CITY_ADMIN, city, "reply", item_id, "hello")
    assert (await row(sessions, item_id)).version == version

    # An item the district never reported: the city does not see it at all.
    async with sessions() as session, session.begin():
        store = Store(session)
        other = await SuggestionService(store, POLICY, clock).submit(
            await actor(store, ALICE), draft("Another one", key="other")
        )
    with pytest.raises(NotFound):
        await as_office(CITY_ADMIN, city, "take", other.id)
    chen = city_admin(tg)
    [said] = await chen.send(f"/show {other.reference}")
    assert other.reference in said.plain
    assert "<b>History</b>" not in said.text
    # Nor the district's observers: their phone numbers stay with the district.
    [said] = await chen.send(f"/observer {item.observer_id}")
    assert "13800000001" not in said.plain
    assert "Alice" not in said.plain


async def test_the_city_s_digest_lists_what_it_owes_its_districts(
    tg: Telegram, sessions: Sessions, clock: FixedClock, city: int
) -> None:
    await reported(tg, sessions, clock)
    clock.advance(days=42)  # a Monday morning, far past the city's 20 working days
    async with sessions() as session, session.begin():
        await ReminderService(Store(session), POLICY, clock).run_due()
    async with sessions() as s:
        q = sa.select(OutboxMessage.office_id, OutboxMessage.payload).where(
            OutboxMessage.kind == "office.overdue"
        )
        digests = dict((await s.execute(q)).all())
    # Both hear of it: the district chases the city, the city sees what it owes.
    assert set(digests) == {HOME, city}
    for payload in digests.values():
        assert [line["reference"] for line in payload["city"]] == ["WZ-2026-0001"]
