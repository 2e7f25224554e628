"""The whole loop over HTTP: the real bot process, the sandbox as Telegram."""

from __future__ import annotations

from tests.e2e.harness import BotProcess, Control, eventually
from tests.e2e.loop import cast, rows, whole_loop


async def test_from_invite_to_a_rated_closed_item(control: Control, bot: BotProcess) -> None:
    # As in a deployment, the office's group exists before the bot starts: its weekly
    # summary, due at start on a Monday, reaches it.
    people = await cast(control)
    await bot.start()
    _, ref = await whole_loop(control, people=people)

    # A reply is sent before its update's transaction commits: the database may lag it.
    status = "SELECT reference, status FROM suggestions"
    await eventually(lambda: rows(bot.database, status) == [(ref, "closed")], "closed")
    actions = [a for (a,) in rows(bot.database, "SELECT action FROM events ORDER BY id")]
    assert actions == ["submit", "take", "adopt", "accept", "progress", "mark_implemented", "rate"]
    pending = "SELECT count(*) FROM outbox WHERE state = 'pending'"
    await eventually(lambda: rows(bot.database, pending) == [(0,)], "all delivered")
    assert rows(bot.database, "SELECT state, count(*) FROM outbox GROUP BY state") == [
        ("sent", rows(bot.database, "SELECT count(*) FROM outbox")[0][0])
    ]
    assert await bot.terminate() == 0
    assert bot.errors() == []
