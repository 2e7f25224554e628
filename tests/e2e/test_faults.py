"""The loop again, with Telegram answering 429 and 5xx and dawdling: nothing is lost,
nothing arrives twice."""

from __future__ import annotations

from tests.e2e.harness import GROUP, BotProcess, Control, bot_said, eventually, text_of
from tests.e2e.loop import (
    OLGA,
    cast,
    file_a_problem,
    press_on_card,
    rows,
    set_up_the_office,
    whole_loop,
)


async def test_the_loop_survives_429s_5xx_and_delays(control: Control, bot: BotProcess) -> None:
    people = await cast(control)  # the group exists before the bot starts (see test_loop)
    await bot.start()
    # Spread over the run: the office's first replies, the filing, the notices.
    await control.fault(method="sendMessage", status=429, retry_after=1, times=2)
    await control.fault(method="sendMessage", status=502, description="Bad Gateway", times=2)
    await control.fault(method="sendMessage", delay=0.3, times=6)
    await control.fault(method="editMessageText", status=500, times=1)
    await control.fault(method="sendMessage", chat_id=OLGA, status=429, retry_after=1, times=2)

    # Adopted with ⏭, without an instruction (test_loop gives one).
    _, ref = await whole_loop(control, instruction=None, people=people)

    # A reply is sent before its update's transaction commits: the database may lag it.
    status = "SELECT status FROM suggestions"
    await eventually(lambda: rows(bot.database, status) == [("closed",)], "closed")
    pending = "SELECT count(*) FROM outbox WHERE state = 'pending'"
    await eventually(lambda: rows(bot.database, pending) == [(0,)], "all delivered")
    assert rows(bot.database, "SELECT DISTINCT state FROM outbox") == [("sent",)]

    # The faults were met (each refused call was retried) …
    statuses = [r["status"] for r in await control.requests()]
    assert statuses.count(429) >= 4
    assert statuses.count(502) == 2
    assert statuses.count(500) == 1
    # … and every notice reached Olga exactly once.
    said = [text_of(m) for m in bot_said(await control.messages(OLGA))]
    for fragment in (
        "has been taken up by the district office",
        "has been adopted",
        "has started implementing your suggestion",
        "Two of the three lamps are replaced.",
        f"✅ Sent. The reference is {ref}",
    ):
        assert sum(fragment in text for text in said) == 1, (fragment, said)
    assert await bot.terminate() == 0
    assert bot.errors() == []


async def test_a_blocked_observer_gets_the_news_once_back(
    control: Control, bot: BotProcess
) -> None:
    await bot.start()
    people = await cast(control)
    await set_up_the_office(people)
    olga, ada = people.olga, people.ada
    ref = await file_a_problem(olga)
    await ada.expect(f"{ref} · Submitted, awaiting review")

    await control.block(OLGA, True)
    await press_on_card(ada, ref, "🔍 Take")
    await ada.expect("Observer Olga (#1, Town service centre) cannot be reached")
    held = "SELECT count(*) FROM outbox WHERE state = 'held'"
    await eventually(lambda: rows(bot.database, held) == [(1,)], "the notice held")
    assert not any(
        "has been taken up" in text_of(m) for m in bot_said(await control.messages(OLGA))
    )

    # She unblocks the bot: what was held arrives, once; the office was told once.
    await control.block(OLGA, False)
    await olga.expect("has been taken up by the district office")
    await eventually(lambda: rows(bot.database, held) == [(0,)], "nothing held")
    told = [m for m in bot_said(await control.messages(GROUP)) if "cannot be reached" in text_of(m)]
    assert len(told) == 1
    assert await bot.terminate() == 0
