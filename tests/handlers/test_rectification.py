"""Rectification (整改), both groups through the fake Telegram: the city raises a finding
for its district, the district accepts it, reports progress and marks it done, the city
sends it back once and then accepts it; overdue ones are in both digests."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import openpyxl
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.offices import HOME
from bot.domain.rectifications import RectStatus
from bot.services.reminders import ReminderService
from storage.models import OutboxMessage, Rectification
from storage.store import Store
from tests.handlers.conftest import make_settings, new_telegram
from tests.offices import city_above_home
from tests.telegram import Person, Sent, Telegram
from tests.world import POLICY, FixedClock, World

Sessions = async_sessionmaker[AsyncSession]
DISTRICT, CITY = -100500, -100600
CITY_ADMIN, WZ_ADMIN = 9101, 9002


@pytest.fixture
async def tg(sessions: Sessions, world: World, clock: FixedClock) -> AsyncIterator[Telegram]:
    tg = new_telegram(sessions, clock, settings=make_settings(default_locale="en"))
    yield tg
    await tg.bot.session.close()
    assert tg.session.problems == []


@pytest.fixture
async def city(sessions: Sessions, clock: FixedClock) -> int:
    return (await city_above_home(sessions, clock, CITY, CITY_ADMIN)).id


def chen(tg: Telegram) -> Person:
    return tg.member(CITY_ADMIN, "Chen", CITY, "administrator", language_code="en")


def bo(tg: Telegram) -> Person:
    return tg.member(WZ_ADMIN, "Bo", DISTRICT, "administrator", language_code="en")


def card(tg: Telegram, chat: int) -> Sent:
    return [s for s in tg.chat(chat) if "Rectification #" in s.text and "History" in s.text][-1]


async def status(sessions: Sessions) -> RectStatus:
    async with sessions() as s:
        return (await s.scalars(sa.select(Rectification.status))).one()


async def test_a_finding_put_right_sent_back_once_then_accepted(
    tg: Telegram, sessions: Sessions, clock: FixedClock, city: int
) -> None:
    shown = await chen(tg).send("/rectify WZ 2026-03-20 The points' registers are incomplete")
    assert any("Rectification #1 raised for WZ" in s.plain for s in shown)
    await tg.drain()
    assert "Raised, awaiting the district" in card(tg, CITY).plain
    assert card(tg, CITY).buttons() == []  # nothing for the city to press yet
    theirs = card(tg, DISTRICT)
    assert "The points' registers are incomplete" in theirs.plain
    assert "due 2026-03-20" in theirs.plain

    await bo(tg).press("✅ Accept the finding", message=theirs)
    assert await status(sessions) is RectStatus.ACCEPTED
    assert "/rect_progress 1" in card(tg, DISTRICT).plain
    shown = await bo(tg).send("/rect_progress 1 Three registers done")
    assert any("Progress recorded" in s.plain for s in shown)
    await bo(tg).send("/rect_done 1 All sixteen registers are complete")
    assert await status(sessions) is RectStatus.DONE
    await tg.drain()
    city_card = card(tg, CITY)
    assert "Three registers done" in city_card.plain
    assert "All sixteen registers are complete" in city_card.plain
    assert [t for t, _ in city_card.buttons()] == ["✅ Accept the rectification"]

    # Not yet: the city sends it back; the district goes on.
    shown = await chen(tg).send("/rect_back 1 Two registers lack signatures")
    assert any("Sent back" in s.plain for s in shown)
    assert await status(sessions) is RectStatus.ACCEPTED
    await tg.drain()
    assert "Two registers lack signatures" in card(tg, DISTRICT).plain
    await bo(tg).send("/rect_done 1 Signed")
    await tg.drain()
    await chen(tg).press("✅ Accept the rectification", message=card(tg, CITY))
    assert await status(sessions) is RectStatus.CLOSED
    await tg.drain()
    assert "Accepted by the city" in card(tg, DISTRICT).plain
    async with sessions() as s:
        row = (await s.scalars(sa.select(Rectification))).one()
    assert [step["move"] for step in row.log] == [
        "raised", "accept", "progress", "done", "send_back", "done", "approve",
    ]  # fmt: skip
    assert row.closed_at is not None


async def test_each_side_makes_only_its_own_steps(
    tg: Telegram, sessions: Sessions, clock: FixedClock, city: int
) -> None:
    # The district cannot raise one for the city above it.
    [said] = await bo(tg).send("/rectify CQ 2026-03-20 Nothing")
    assert "There is no office CQ directly below this one" in said.plain
    await chen(tg).send(
        "/rectify WZ 2026-03-20 Registers incomplete; see wz-2026-0001, WZ-2026-0001"
    )
    await tg.drain()
    # The items it names are a command away, each once.
    assert "Items named: /show WZ-2026-0001" in card(tg, DISTRICT).plain
    assert card(tg, DISTRICT).plain.count("/show WZ-2026-0001") == 1
    # The city cannot accept the finding for the district, nor report its progress.
    forged = card(tg, DISTRICT).buttons()[0][1]
    await chen(tg).callback(forged, message=card(tg, CITY))
    assert tg.session.alerts[-1][1] == "This button is not for this group."
    [said] = await chen(tg).send("/rect_progress 1 done by the city")
    assert "no such rectification for this group to move" in said.plain
    # The district cannot send it back, nor skip accepting it.
    [said] = await bo(tg).send("/rect_back 1 no")
    assert "no such rectification for this group to move" in said.plain
    [said] = await bo(tg).send("/rect_done 1 quickly")
    assert "Not now" in said.plain
    assert await status(sessions) is RectStatus.RAISED
    # Bad input is told plainly.
    [said] = await chen(tg).send("/rectify WZ someday Registers")
    assert "is not a due date" in said.plain
    [said] = await chen(tg).send("/rectify WZ")
    assert "Usage:" in said.plain


async def test_an_overdue_finding_is_in_both_digests(
    tg: Telegram, sessions: Sessions, clock: FixedClock, city: int
) -> None:
    await chen(tg).send("/rectify WZ 2026-03-04 Registers incomplete")
    clock.advance(days=7)  # the next Monday morning, past its due date
    async with sessions() as session, session.begin():
        await ReminderService(Store(session), POLICY, clock).run_due()
    async with sessions() as s:
        q = sa.select(OutboxMessage.office_id, OutboxMessage.payload).where(
            OutboxMessage.kind == "office.overdue"
        )
        digests = dict((await s.execute(q)).all())
    assert set(digests) == {HOME, city}
    for payload in digests.values():
        [line] = payload["rectifications"]
        assert (line["id"], line["office"], line["late"]) == (1, "WZ", 5)
    await tg.drain()
    told = [s for s in tg.chat(CITY) if "Rectifications past their due date" in s.plain]
    assert told
    assert "#1 WZ, due 2026-03-04 (5 days late)" in told[-1].plain


async def test_both_offices_exports_hold_the_rectification(
    tg: Telegram, sessions: Sessions, clock: FixedClock, city: int
) -> None:
    await chen(tg).send("/rectify WZ 2026-03-20 Registers incomplete")
    await tg.drain()
    for person in (chen(tg), bo(tg)):
        shown = await person.send("/export 2026 en")
        [book] = [s for s in shown if s.kind == "document"]
        assert book.data is not None
        sheet = openpyxl.load_workbook(io.BytesIO(book.data))["Rectifications"]
        rows = [[c.value for c in row] for row in sheet.iter_rows()]
        assert rows[0][:6] == ["No.", "District", "Raised by", "Finding", "Due", "Status"]
        assert rows[1][:4] == [1, "WZ", "CQ", "Registers incomplete"]
        assert rows[1][5] == "Raised, awaiting the district"
