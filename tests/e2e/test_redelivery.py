"""An update Telegram sends again changes nothing; SIGTERM finishes the update in hand."""

from __future__ import annotations

import asyncio
import signal

from tests.e2e.harness import BotProcess, Control, bot_said, eventually, text_of, updates
from tests.e2e.loop import cast, file_a_problem, rows, set_up_the_office


async def test_a_redelivered_update_changes_nothing(control: Control, bot: BotProcess) -> None:
    await bot.start()
    people = await cast(control)
    await set_up_the_office(people)
    olga = people.olga
    ref = await file_a_problem(olga)
    # The confirming press and a details message, sent again by "Telegram".
    log = await updates(control)
    confirm = max(
        u for u, e in log.items() if e["type"] == "callback_query" and "f:confirm:" in str(e)
    )
    details = max(u for u, e in log.items() if "Three lamps near No. 12" in str(e))
    # The "Sent" reply goes out before the filing commits: wait for the item.
    filed = "SELECT count(*) FROM suggestions"
    await eventually(lambda: rows(bot.database, filed) == [(1,)], "filed")
    before = [m["message_id"] for m in await control.messages(olga.chat_id)]
    events = rows(bot.database, "SELECT count(*) FROM events")

    for update_id in (confirm, details):
        await control.redeliver(update_id)

    async def handed_out_again() -> bool:
        log = await updates(control)
        return all(log[u]["deliveries"] >= 2 and log[u]["confirmed"] for u in (confirm, details))

    for _ in range(200):
        if await handed_out_again():
            break
        await asyncio.sleep(0.05)
    assert await handed_out_again()
    await asyncio.sleep(0.5)
    after = [m["message_id"] for m in await control.messages(olga.chat_id)]
    assert after == before  # no second "Sent", no second reply
    assert rows(bot.database, "SELECT reference FROM suggestions") == [(ref,)]
    assert rows(bot.database, "SELECT count(*) FROM events") == events
    assert await bot.terminate() == 0


async def test_sigterm_finishes_the_update_in_hand(control: Control, bot: BotProcess) -> None:
    await bot.start()
    await control.user(4100, "Sam")
    # Its answer takes two seconds to send: SIGTERM arrives meanwhile.
    await control.fault(method="sendMessage", chat_id=4100, delay=2.0, times=1)
    sent = await control.send(4100, 4100, text="/help")
    for _ in range(200):  # until the bot has fetched it and is answering
        if (await updates(control))[sent["update_id"]]["deliveries"]:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    assert bot_said(await control.messages(4100)) == []  # the answer is still on its way
    assert bot.process is not None
    code = await bot.terminate()
    assert code == 0
    answers = [text_of(m) for m in bot_said(await control.messages(4100))]
    assert len(answers) == 1
    log = await updates(control)
    assert log[sent["update_id"]]["confirmed"]
    # Started again, it does not answer the same update a second time.
    await bot.start()
    await asyncio.sleep(1.0)
    assert len(bot_said(await control.messages(4100))) == 1
    assert await bot.terminate() == 0


async def test_a_stop_signal_delivered_twice_still_stops_cleanly(bot: BotProcess) -> None:
    # A supervisor signalling the process group while the parent passes the signal on:
    # the same request twice, not an impatient second Ctrl-C.
    await bot.start()
    assert bot.process is not None
    bot.process.send_signal(signal.SIGTERM)
    bot.process.send_signal(signal.SIGTERM)
    assert await bot.terminate() == 0
    assert await bot.wait_log("stopped")
