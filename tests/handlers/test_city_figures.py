"""The city's evaluation of its districts: /stats in the city's group puts them side by
side — items received, adoption, timeliness, satisfaction, the observers and points
that were active (each counted once), what each reported to the city and how soon the
city answered."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from dataclasses import replace

import docx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.offices import HOME
from bot.domain.statuses import FocusDomain, HostKind, ObserverCategory, SuggestionStatus
from bot.services.actors import identify
from bot.services.offices import OfficeService
from bot.services.people import PeopleService
from bot.services.places import PlaceService
from bot.services.suggestions import SuggestionService
from storage.models import TelegramUser
from storage.scope import limit_to_office
from storage.store import Store
from tests.handlers.conftest import make_settings, new_telegram
from tests.offices import city_above_home
from tests.telegram import Telegram
from tests.world import ALICE, BOB, POLICY, FixedClock, World, actor, draft

Sessions = async_sessionmaker[AsyncSession]
DISTRICT, CITY, FULING = -100500, -100600, -100700
CITY_ADMIN, FL_ADMIN, FRANK = 9101, 9201, 1077


@pytest.fixture
async def tg(sessions: Sessions, world: World, clock: FixedClock) -> AsyncIterator[Telegram]:
    tg = new_telegram(sessions, clock, settings=make_settings(default_locale="en"))
    yield tg
    await tg.bot.session.close()
    assert tg.session.problems == []


@pytest.fixture
async def city(sessions: Sessions, clock: FixedClock) -> dict[str, int]:
    """CQ above the home office WZ, and FL below CQ with a point and one observer
    (Frank); every group bound."""
    cq = await city_above_home(sessions, clock, CITY, CITY_ADMIN)
    async with sessions() as session, session.begin():
        offices = OfficeService(Store(session), POLICY, clock)
        fl = await offices.create(None, "FL", "涪陵区 | Fuling", parent=cq)
        await offices.bind(fl.bind_code, FULING, FL_ADMIN)
        session.add_all(
            [
                TelegramUser(id=FRANK, first_name="Frank", language_code="en"),
                TelegramUser(id=FL_ADMIN, first_name="Fei", language_code="en"),
            ]
        )
    fl_policy = replace(POLICY, jurisdiction="FL", office_id=fl.office.id)
    async with sessions() as session, session.begin():
        limit_to_office(session, fl.office.id)
        store = Store(session)
        admin = await identify(store, FL_ADMIN, is_admin=True)
        point = await PlaceService(store, fl_policy, clock).add_point(
            admin,
            code="FL01",
            name="涪陵区公共法律服务中心",
            domain=FocusDomain.BUSINESS_ENVIRONMENT,
            host_kind=HostKind.SERVICE_CENTRE,
        )
        people = PeopleService(store, fl_policy, clock)
        frank = await people.add_observer(
            admin, name="Frank", category=ObserverCategory.LAWYER, point_id=point.id
        )
        row = await store.observers.get(frank.id)
        assert row is not None
        row.user_id = FRANK
        await people.appoint(admin, frank.id)
    return {"CQ": cq.id, "FL": fl.office.id}


async def file(sessions: Sessions, clock: FixedClock, who: int, key: str) -> int:
    async with sessions() as session, session.begin():
        store = Store(session)
        info = await SuggestionService(store, POLICY, clock).submit(
            await actor(store, who), draft(f"Item {key}", key=key)
        )
        return int(info.id)


async def move(
    sessions: Sessions, clock: FixedClock, office: int, code: str, name: str, *a: object
) -> None:
    policy = replace(POLICY, jurisdiction=code, office_id=office)
    async with sessions() as session, session.begin():
        limit_to_office(session, office)
        store = Store(session)
        admin = await identify(store, 9001, is_admin=True)
        await getattr(SuggestionService(store, policy, clock), name)(admin, *a)


async def test_the_city_s_group_sees_its_districts_side_by_side(
    tg: Telegram, sessions: Sessions, clock: FixedClock, city: dict[str, int]
) -> None:
    # WZ: Alice files twice, Bob once; one of Alice's is reported to the city, which
    # answers three working days later. FL: Frank files once.
    first = await file(sessions, clock, ALICE, "a1")
    await file(sessions, clock, ALICE, "a2")
    await file(sessions, clock, BOB, "b1")
    await file(sessions, clock, FRANK, "f1")
    await move(sessions, clock, HOME, "WZ", "take", first)
    await move(sessions, clock, HOME, "WZ", "escalate", first, "A city-wide rule is needed.")
    clock.advance(days=3)  # Monday to Thursday: three working days
    await move(
        sessions, clock, city["CQ"], "CQ", "record_city_answer", first,
        SuggestionStatus.REFERENCE, "Kept for the next plan.",
    )  # fmt: skip
    await tg.drain()

    chen = tg.member(CITY_ADMIN, "Chen", CITY, "administrator", language_code="en")
    [said] = await chen.send("/stats 2026")
    text = said.plain
    assert "Districts side by side: 2026" in text
    wz = next(line for line in text.splitlines() if "(WZ)" in line or line.startswith("• WZ"))
    fl = next(line for line in text.splitlines() if "(FL)" in line)
    assert "received 3" in wz
    # Two observers filed, however many items each: counted once each.
    assert "observers who filed 2 of 2" in wz
    assert "points with items 2" in wz
    assert "reported to the city 1, answered 1 (median 3 working days)" in wz
    assert "received 1" in fl
    assert "observers who filed 1 of 1" in fl
    assert "reported to the city 0, answered 0 (median — working days)" in fl
    assert "Fuling" in fl  # the reader's language

    # The city's own items are a press away: its usual figures.
    await chen.press("📊 This office's own items")
    assert "Figures for 2026" in said.plain

    # A district's /stats is its own, as before.
    bo = tg.member(9002, "Bo", DISTRICT, "administrator", language_code="en")
    [own] = await bo.send("/stats 2026")
    assert "Districts side by side" not in own.plain
    assert "Received: 3" in own.plain


async def test_the_city_s_report_charts_its_districts(
    tg: Telegram, sessions: Sessions, clock: FixedClock, city: dict[str, int]
) -> None:
    await file(sessions, clock, ALICE, "a1")
    await file(sessions, clock, FRANK, "f1")
    await tg.drain()
    chen = tg.member(CITY_ADMIN, "Chen", CITY, "administrator", language_code="en")
    [chart] = await chen.send("/report 2026")
    assert chart.kind == "photo"
    assert chart.data is not None
    assert chart.data.startswith(b"\x89PNG")
    assert "2 districts, 2 items received, 0 reported to the city" in chart.plain


async def test_the_city_s_annual_report_compares_its_districts(
    tg: Telegram, sessions: Sessions, clock: FixedClock, city: dict[str, int]
) -> None:
    await file(sessions, clock, ALICE, "a1")
    await file(sessions, clock, FRANK, "f1")
    await tg.drain()
    chen = tg.member(CITY_ADMIN, "Chen", CITY, "administrator", language_code="en")
    [word] = await chen.send("/report 2026 docx")
    assert word.kind == "document"
    assert word.data is not None
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(word.data)).paragraphs)
    assert "The city rule-of-law office" in text
    assert "The districts compared" in text
    tables = docx.Document(io.BytesIO(word.data)).tables
    compared = [[c.text for c in r.cells] for r in tables[0].rows]
    assert compared[0][0] == "District"
    assert [r[0] for r in compared[1:]] == ["Fuling", "WZ"]
    assert [r[1] for r in compared[1:]] == ["1", "1"]
    # A district's annual section is its own, as before.
    bo = tg.member(9002, "Bo", DISTRICT, "administrator", language_code="en")
    [own] = await bo.send("/report 2026 docx")
    assert own.data is not None
    own_text = "\n".join(p.text for p in docx.Document(io.BytesIO(own.data)).paragraphs)
    assert "The districts compared" not in own_text
    assert "The district rule-of-law office" in own_text
