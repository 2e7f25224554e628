"""Polling serves from one process: a second one started against the same token makes
Telegram cut the first one's getUpdates short (409), and the first stops, saying why in
one line, while the second goes on serving."""

from __future__ import annotations

from pathlib import Path

from sandbox.server import Sandbox
from tests.e2e.harness import BotProcess, Control, Person, eventually


async def test_a_second_poller_stops_the_first_plainly(
    control: Control, bot: BotProcess, sandbox: Sandbox, tmp_path: Path
) -> None:
    await bot.start()
    other = BotProcess(tmp_path / "other", sandbox.url)
    other.workdir.mkdir()
    other.env["DATABASE_URL"] = f"sqlite+aiosqlite:///{bot.database}"
    await other.start()

    process = bot.process
    assert process is not None
    await eventually(lambda: process.poll() is not None, "the first poller stopped")
    assert process.returncode == 1
    errors = [e["msg"] for e in bot.errors()]
    assert errors == [
        "another process is polling with this bot's token (Telegram: Conflict: terminated "
        "by other getUpdates request; make sure that only one bot instance is running); "
        "long polling serves from one process only: stop the other one, or run webhook "
        "mode with WORKERS for several processes"
    ]

    # The second one serves.
    await control.user(4101, "Wendy")
    wendy = Person(control, 4101, "Wendy", 4101)
    await wendy.say("/help")
    await wendy.expect("")
    assert await other.terminate() == 0
