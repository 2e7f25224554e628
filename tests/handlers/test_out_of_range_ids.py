"""Forged callback data with ids no row can have: "not found", never a traceback.

A button's data is the presser's to forge. An id of 2**63 or more, below -2**63, past
a 32-bit column's range, negative or not a number at all must end as the usual answer
to a stale or unknown button, on SQLite and PostgreSQL alike (asyncpg and SQLite each
refuse such numbers with an error of their own).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.suggestions import SuggestionService
from storage.models import Event
from storage.store import Store
from tests.handlers.conftest import make_settings, new_telegram
from tests.telegram import Telegram
from tests.world import ADMIN, ALICE, LIAISON, POLICY, FixedClock, World, actor, draft

Sessions = async_sessionmaker[AsyncSession]
GROUP = -100500
IDS = [2**63, 2**64 + 1, 2**80, -(2**63) - 1, 2**31, 2**63 - 1, -1]
NOT_FOUND = {
    "That item was not found, or it is not yours.",
    "That item no longer exists.",
    "This button is no longer valid. Please start again from the menu.",
    "This choice belongs to another admin's move, or it has expired. Use the buttons on "
    "the item's card.",
}
GARBAGE = ["", "x", "1.5", "１２", "0x10", "1e3", "9" * 40]


@pytest.fixture
async def tg(sessions: Sessions, world: World, clock: FixedClock) -> AsyncIterator[Telegram]:
    tg = new_telegram(sessions, clock, settings=make_settings(default_locale="en"))
    yield tg
    await tg.bot.session.close()
    assert tg.session.problems == []


async def filed(tg: Telegram, sessions: Sessions, clock: FixedClock) -> int:
    async with sessions() as session, session.begin():
        service = SuggestionService(Store(session), POLICY, clock)
        info = await service.submit(await actor(Store(session), ALICE), draft("Lamps"))
    await tg.drain()
    return int(info.id)


def answers(tg: Telegram) -> list[tuple[str | None, bool]]:
    return [(text, alert) for _, text, alert in tg.session.alerts]


@pytest.mark.parametrize("forged", [*map(str, IDS), *GARBAGE])
async def test_forged_ids_on_every_kind_of_button_are_not_found(
    tg: Telegram,
    sessions: Sessions,
    clock: FixedClock,
    caplog: pytest.LogCaptureFixture,
    forged: str,
) -> None:
    await filed(tg, sessions, clock)
    ada = tg.member(ADMIN, "Ada", GROUP, "administrator", language_code="en")
    alice = tg.person(ALICE, "Alice", "en")
    li = tg.person(LIAISON, "Li", "en")
    await alice.send("/mine")
    await li.send("/mine")
    card = tg.chat(GROUP)[-1]
    # Shaped as the bot packs them (every field there), with the id forged.
    presses = [
        (ada, f"c:take:{forged}:1:", card),
        (ada, f"c:adopt:{forged}:1:", card),
        (ada, f"dk:d:{forged}:1", card),
        (ada, f"dk:t:{forged}:", card),
        (ada, f"ad:ok:{forged}:1:0", card),
        (ada, f"q:{forged}", card),
        (alice, f"my:show:{forged}:1:", alice.last),
        (alice, f"my:withdraw:{forged}:1:", alice.last),
        (li, f"dp:ok:{forged}:1", li.last),
        (li, f"dp:open:{forged}:0", li.last),
    ]
    for person, data, message in presses:
        before = len(answers(tg))
        said = len(person.chat)
        await person.callback(data, message=message)
        # Answered once, as a button that leads nowhere is: no apology, no new message.
        got = answers(tg)[before:]
        assert len(got) == 1, (data, got)
        assert got[0][0] in NOT_FOUND, (data, got)
        assert len(person.chat) == said, (data, person.chat[said:])
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    async with sessions() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(Event)) == 1
