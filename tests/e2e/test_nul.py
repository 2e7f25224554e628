"""NUL and broken unicode in what people send: stored without them, on both databases.

PostgreSQL's text cannot hold NUL (asyncpg refuses it), and a lone surrogate (JSON may
carry "\\ud800") has no UTF-8 form for either database. Both are cleaned where updates
are read, so a draft with them files and a name with them is greeted as any other.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import pytest

from tests.e2e.databases import DATABASES, bot_database, query
from tests.e2e.harness import WAIT, BotProcess, Control, Person, text_of
from tests.e2e.loop import cast, finish_filing, set_up_the_office

NULLA = 7301


@pytest.fixture(params=DATABASES)
def database(request: pytest.FixtureRequest, bot: BotProcess) -> str:
    return bot_database(request, bot)


async def test_a_draft_with_nul_files_and_a_name_with_nul_is_greeted(
    control: Control, bot: BotProcess, database: str
) -> None:
    await bot.start()
    people = await cast(control)
    await set_up_the_office(people)
    olga = people.olga
    await olga.say("/new")
    await olga.expect("step 1 of 6")
    await olga.press("Grassroots social governance")
    await olga.expect("step 2 of 6")
    await olga.press("Problem")
    await olga.expect("step 3 of 6")
    await olga.say("Lamps\x00 out \ud800 on People's Road")
    await olga.expect("step 4 of 6")
    await olga.say("Dark\x00\x00 for three weeks.")
    await olga.expect("Added to the details.")
    preview = await finish_filing(olga)
    assert "Lamps out \ufffd on People's Road" in text_of(preview)
    await olga.press("✅ Confirm")
    sent = await olga.expect("✅ Sent. The reference is")
    match = re.search(r"WZ-\d{4}-\d{4}", text_of(sent))
    assert match

    # "Sent" is said before the filing commits.
    filed = await rows_soon(database, "SELECT reference, title, body FROM suggestions")
    assert filed == [(match.group(0), "Lamps out \ufffd on People's Road", "Dark for three weeks.")]

    # Someone whose name holds a NUL is answered as anyone is, and recorded without it.
    await control._call("POST", "/sandbox/users", {"id": NULLA, "first_name": "Nul\x00la"})
    nulla = Person(control, NULLA, "Nulla", NULLA)
    await nulla.say("/start")
    welcome = await nulla.expect("")
    assert "went wrong" not in text_of(welcome)
    names = await rows_soon(database, f"SELECT first_name FROM telegram_users WHERE id = {NULLA}")
    assert names == [("Nulla",)]
    assert await bot.terminate() == 0
    assert bot.errors() == []


async def rows_soon(url: str, sql: str) -> list[tuple[Any, ...]]:
    """What ``sql`` finds once it finds anything (a reply may precede its commit)."""
    deadline = time.monotonic() + WAIT
    while True:
        found = await query(url, sql)
        if found or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.1)
