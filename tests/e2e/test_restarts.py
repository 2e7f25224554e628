"""kill -9 at the worst moments: a draft half-written, an outbox half-sent."""

from __future__ import annotations

import asyncio
import re

from tests.e2e import seed
from tests.e2e.harness import GROUP, BotProcess, Control, bot_said, eventually, text_of
from tests.e2e.loop import cast, finish_filing, rows, set_up_the_office, start_filing


async def test_a_draft_survives_kill_9_and_is_filed_once(control: Control, bot: BotProcess) -> None:
    await bot.start()
    people = await cast(control)
    await set_up_the_office(people)
    olga = people.olga
    await start_filing(olga)

    # Killed right as a message arrives: handled or not, it must count once.
    await olga.say("First part: the lamp at No. 12.")
    bot.kill9()
    # Written while the bot is down: Telegram keeps it.
    await olga.say("Second part: the lamp at No. 16.")
    await bot.start()
    # Updates from one chat are handled in order: Done comes after both parts.
    preview = await finish_filing(olga)
    assert text_of(preview).count("First part: the lamp at No. 12.") == 1
    assert text_of(preview).count("Second part: the lamp at No. 16.") == 1
    await olga.press("✅ Confirm")
    await olga.expect("✅ Sent. The reference is")

    # The reply goes out before the filing commits: wait for the item.
    [(body,)] = await eventually(
        lambda: rows(bot.database, "SELECT body FROM suggestions"), "filed"
    )
    assert str(body).count("First part") == 1
    assert str(body).count("Second part") == 1
    assert await bot.terminate() == 0


async def test_kill_9_in_a_busy_outbox_loses_nothing(control: Control, bot: BotProcess) -> None:
    await bot.start()
    people = await cast(control)
    await set_up_the_office(people)
    many = list(range(20001, 20061))
    await seed.observers(bot.database, many)
    for user_id in many:
        await control.user(user_id, f"O{user_id}")
    # Round trips of half a second: the sender has many messages in flight.
    await control.fault(method="sendMessage", delay=0.5, times=0)

    ada = people.ada
    await ada.say("/broadcast The office is closed on Friday.")
    preview = await ada.expect_button("✅ Send")
    await ada.press("✅ Send", message_id=preview["message_id"])

    async def copies() -> dict[int, int]:
        counts = {}
        for user_id in many:
            said = bot_said(await control.messages(user_id))
            counts[user_id] = sum("closed on Friday" in text_of(m) for m in said)
        return counts

    # Some arrived, most not yet: kill it.
    for _ in range(400):
        delivered = sum(1 for c in (await copies()).values() if c)
        if delivered >= 5:
            break
        await asyncio.sleep(0.05)
    bot.kill9()
    at_kill = await copies()
    assert 5 <= sum(1 for c in at_kill.values() if c) < len(many)

    await control.clear_faults()
    await bot.start()
    await eventually(
        lambda: rows(bot.database, "SELECT count(*) FROM outbox WHERE state = 'pending'") == [(0,)],
        "the outbox drained",
    )
    final = await copies()
    assert all(count >= 1 for count in final.values()), "a message was lost"
    # A send in flight at the kill may be repeated, never more than once per message.
    repeated = [u for u, count in final.items() if count > 1]
    assert all(final[u] == 2 for u in repeated)
    assert len(repeated) <= 16
    report = await ada.expect("Broadcast #1 delivery report")
    # Olga, appointed through the group, hears it too.
    assert re.search(r"Delivered: 61 of 61", text_of(report)), text_of(report)
    reports = [
        m
        for m in bot_said(await control.messages(GROUP))
        if "Broadcast #1 delivery report" in text_of(m)
    ]
    assert len(reports) == 1
    assert await bot.terminate() == 0
