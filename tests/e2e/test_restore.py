"""A backup taken while the bot runs, put back after the bot is gone: the bot started
on it sends what was waiting and runs the scheduler at once, without waiting for the
dead process's lease and claims to run out."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.server import Sandbox
from tests.conftest import PostgresServer
from tests.e2e.databases import DATABASES, bot_database, query
from tests.e2e.harness import GROUP, WAIT, BotProcess, Control, bot_said, text_of
from tests.e2e.loop import OLGA, cast, set_up_the_office

FRIDAY = "The office is closed on Friday."
MONDAY = "The office opens at nine on Monday."
BACKUP = re.compile(r"^BACKUP (sqlite|postgresql) \S+ \d+ bytes revision \S+ outbox-pending (\d+)$")
TO_OLGA = f"FROM outbox WHERE chat_id = {OLGA} AND state = 'pending'"


@pytest.fixture(params=DATABASES)
def database(request: pytest.FixtureRequest, bot: BotProcess) -> str:
    return bot_database(request, bot)


@pytest.fixture
def restored(tmp_path: Path, sandbox: Sandbox) -> Iterator[BotProcess]:
    """The bot to start on the restored database, in a directory of its own."""
    process = BotProcess(tmp_path / "restored", sandbox.url)
    process.workdir.mkdir()
    yield process
    if process.process is not None and process.process.poll() is None:
        process.process.kill()
        process.process.wait(10)


async def outpost(process: BotProcess, *argv: str) -> subprocess.CompletedProcess[str]:
    """An `outpost` command beside the bot, with the bot's settings."""
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot", *argv],
        cwd=process.workdir,
        env=process.environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def until(url: str, sql: str, expected: list[tuple[Any, ...]], what: str) -> None:
    """Wait for ``sql`` on the database at ``url`` to give ``expected``."""
    found: list[tuple[Any, ...]] = []

    async def look() -> bool:
        found[:] = await query(url, sql)
        return found == expected

    deadline = asyncio.get_running_loop().time() + WAIT
    while not await look():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not {what} after {WAIT}s: {sql} gave {found}")
        await asyncio.sleep(0.05)


async def test_a_backup_taken_mid_run_goes_on_where_it_left_off(
    request: pytest.FixtureRequest,
    control: Control,
    bot: BotProcess,
    database: str,
    restored: BotProcess,
    tmp_path: Path,
) -> None:
    await bot.start()
    first = (await bot.wait_log("scheduler started"))["holder"]
    people = await cast(control)
    await set_up_the_office(people)
    ada, olga = people.ada, people.olga
    await until(database, "SELECT holder FROM leases", [(first,)], "the scheduler's lease held")

    # Olga's side stops answering: the send to her hangs with its row claimed, and
    # the next notice waits behind it.
    await control.fault(method="sendMessage", chat_id=OLGA, timeout="before", delay=600, times=0)
    for text in (FRIDAY, MONDAY):
        await ada.say(f"/broadcast {text}")
        preview = await ada.expect_button("✅ Send")
        await ada.press("✅ Send", message_id=preview["message_id"])
        # Queued, its preview says so: the next /broadcast's preview is the newest.
        await control.wait_for(
            GROUP,
            lambda messages, text=text: any(
                "queued for" in text_of(m) and text in text_of(m) for m in bot_said(messages)
            ),
            f"broadcast {text!r} queued",
        )
    await until(database, f"SELECT count(*) {TO_OLGA}", [(2,)], "both notices queued")
    await until(database, f"SELECT count(claimed_by) {TO_OLGA}", [(1,)], "the first one being sent")

    backup = tmp_path / "outpost.backup"
    taken = await outpost(bot, "backup", "--out", str(backup))
    assert taken.returncode == 0, taken.stderr
    found = BACKUP.match(taken.stdout.strip())
    assert found is not None, taken.stdout
    kind, pending = found.groups()
    assert int(pending) >= 2
    # Gone in the middle of it all: its lease and its claim are left as they were.
    bot.kill9()
    await control.clear_faults()

    url = f"sqlite+aiosqlite:///{restored.database}"
    if kind == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres")
        url = restored.env["DATABASE_URL"] = await asyncio.to_thread(server.new_database)
    put = await outpost(restored, "restore", str(backup))
    assert put.returncode == 0, put.stderr
    assert put.stdout.startswith(f"RESTORE {kind} {backup} into ")
    assert f" outbox-pending {pending} " in put.stdout
    # Nothing held: not the dead process's lease, nor its claim of Olga's first notice.
    assert await query(url, "SELECT count(*) FROM leases") == [(0,)]
    assert await query(url, "SELECT count(*) FROM outbox WHERE claimed_by IS NOT NULL") == [(0,)]
    assert await query(url, f"SELECT count(*) {TO_OLGA}") == [(2,)]

    await restored.start()
    second = (await restored.wait_log("scheduler started"))["holder"]
    assert second != first
    await until(url, "SELECT holder FROM leases", [(second,)], "the lease taken by the new bot")
    await olga.expect(FRIDAY)
    await olga.expect(MONDAY)
    await until(url, f"SELECT count(*) {TO_OLGA}", [(0,)], "Olga's notices sent")
    # Once each, in order: the hung send was never made.
    said = [text_of(m) for m in bot_said(await control.messages(OLGA))]
    news = [t for t in said if FRIDAY in t or MONDAY in t]
    assert len(news) == 2
    assert FRIDAY in news[0]
    assert MONDAY in news[1]
    assert await restored.terminate() == 0
    assert restored.errors() == []
