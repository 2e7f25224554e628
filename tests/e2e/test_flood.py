"""A stranger's group floods the bot while everyone else is served.

A stranger makes a group of their own, adds the bot and sends /queue there, 60 times
over the run; 300 other updates (observers asking for /help and /mine) come behind
and beside the flood, and an observer files an item through the whole conversation
meanwhile. The bot says once, in the stranger's group, that it serves only the
office's group, leaves it, and answers nothing more there; everyone else gets every
answer; the item is filed once; the log holds no error.

Half the flood is queued while the bot is away (stopped with SIGTERM after the office
is set up), with one update of each of the others behind it, so that the bot meets a
flood at the head of its queue; the rest of the flood (which, the bot gone from the
group, Telegram no longer delivers) and of the others' updates (about 18 a second)
come live, with the observer's conversation. The 30 seconds are compressed to 15, the
counts kept: the others' replies then come close to Telegram's 30 messages a second
overall, which the bot and the sandbox keep. The observer reads each answer for a
moment before the next step. Their reply latency — from the sandbox receiving the
message or the press to the bot's first message or edit in their chat, both on the
sandbox's records — is printed, not asserted:

    flood: observer replies p50 0.12s p99 0.40s over 10 steps
"""

from __future__ import annotations

import asyncio
import math
import re
from typing import Any

from tests.e2e import seed
from tests.e2e.harness import (
    BotProcess,
    Control,
    Person,
    bot_said,
    eventually,
    every_error,
    text_of,
    updates,
)
from tests.e2e.loop import OLGA, cast, rows, set_up_the_office

STRANGER = 6001
OTHERS = list(range(31001, 31031))  # 30 observers, 10 updates each
FLOOD = 60
OTHER_UPDATES = 300
LIVE_SECONDS = 15.0
# The observer reads each answer before the next step, as a person does (and as
# Telegram's one message a second into a private chat, after a burst of three, expects).
READING = 1.2
TITLE = "Bus shelter roof leaks at Binjiang Road"
# What the bot does in a chat that a person sees: a message, or a message changed.
_SHOWN = {"sendmessage", "editmessagetext", "editmessagereplymarkup", "sendphoto", "senddocument"}


def nearest_rank(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(pct / 100 * len(ordered))) - 1]


async def stranger_group(control: Control) -> int:
    """The stranger's own group, with the bot added by them (a my_chat_member update)."""
    await control.user(STRANGER, "Stranger")
    made = await control._call(
        "POST",
        "/sandbox/chats",
        {
            "type": "group",
            "title": "Stranger's friends",
            "added_by": STRANGER,
            "members": [{"user_id": STRANGER, "status": "creator"}],
        },
    )
    assert made["update_id"] is not None
    return int(made["id"])


async def flood(control: Control, group: int, count: int, seconds: float) -> list[Any]:
    sent = []
    for _ in range(count):
        sent.append((await control.send(group, STRANGER, text="/queue"))["update_id"])
        await asyncio.sleep(seconds / count)
    return sent


async def others(control: Control, per_person: int, seconds: float, first: int = 0) -> None:
    """Each of the others sends ``per_person`` updates, /help and /mine in turn (from
    the ``first``-th), everyone side by side, spread over ``seconds``."""

    async def one(user_id: int, offset: float) -> None:
        await asyncio.sleep(offset)
        for k in range(first, first + per_person):
            await control.send(user_id, user_id, text="/help" if k % 2 == 0 else "/mine")
            await asyncio.sleep(seconds / per_person)

    step = seconds / per_person / len(OTHERS)
    await asyncio.gather(*(one(u, i * step) for i, u in enumerate(OTHERS)))


async def file_through(olga: Person) -> list[int]:
    """The whole filing conversation; returns the update id of every step. Each step
    waits for a message that did not show its words before the step (an older answer
    edited only to lose its buttons is not the answer)."""
    steps: list[int] = []

    async def step(sent: Any, reply: str) -> None:
        steps.append(sent["update_id"])
        await olga.control.wait_for(
            olga.chat_id,
            lambda messages: [
                m
                for m in bot_said(messages)
                if reply in text_of(m) and (m["message_id"], text_of(m)) not in before
            ],
            f"answer {reply!r}",
        )

    async def snapshot() -> set[tuple[int, str]]:
        return {(m["message_id"], text_of(m)) for m in await olga.bot_messages()}

    script: list[tuple[str, str, str]] = [
        ("say", "/new", "step 1 of 6"),
        ("press", "Grassroots social governance", "step 2 of 6"),
        ("press", "Problem", "step 3 of 6"),
        ("say", TITLE, "step 4 of 6"),
        ("say", "The roof of the shelter at stop No. 7 leaks.", "Added to the details."),
        ("say", "It has leaked onto the bench since May.", "Added to the details."),
        ("press", "✅ Done", "step 5 of 6"),
        ("press", "On behalf of residents", "step 6 of 6"),
        ("say", "Skip", "Preview."),
        ("press", "✅ Confirm", "✅ Sent. The reference is"),
    ]
    for k, (how, what, reply) in enumerate(script):
        if k:
            await asyncio.sleep(READING)
        before = await snapshot()
        await step(await (olga.say(what) if how == "say" else olga.press(what)), reply)
    return steps


def reply_latencies(
    steps: list[int], log: dict[int, dict[str, Any]], calls: list[dict[str, Any]], chat: int
) -> list[float]:
    """Per step: from the sandbox receiving the update to the bot's first message or
    edit in ``chat`` after it."""
    shown = sorted(
        float(c["at"])
        for c in calls
        if c["method"].lower() in _SHOWN and c.get("ok") and c["params"].get("chat_id") == chat
    )
    out = []
    for update_id in steps:
        at = float(log[update_id]["at"])
        reply = next(t for t in shown if t >= at)
        out.append(reply - at)
    return out


async def test_a_strangers_flood_keeps_nobody_waiting(control: Control, bot: BotProcess) -> None:
    await bot.start()
    people = await cast(control)
    await set_up_the_office(people)
    await seed.observers(bot.database, OTHERS)
    for user_id in OTHERS:
        await control.user(user_id, f"O{user_id}")
    # The bot is away a moment: the stranger adds it and floods, the others write.
    assert await bot.terminate() == 0
    group = await stranger_group(control)
    half = 1  # each of the others has one update queued behind the flood
    queued_flood = await flood(control, group, FLOOD // 2, 1.0)
    await others(control, half, 2.0)
    assert all(u is not None for u in queued_flood)  # the bot was still in the group

    await bot.start()
    olga = people.olga
    live = await asyncio.gather(
        flood(control, group, FLOOD - FLOOD // 2, LIVE_SECONDS),
        others(control, OTHER_UPDATES // len(OTHERS) - half, LIVE_SECONDS, first=half),
        file_through(olga),
    )
    steps = live[2]

    # Everyone got every answer: one reply per /help and /mine.
    async def answered() -> bool:
        for user_id in OTHERS:
            if len(bot_said(await control.messages(user_id))) < OTHER_UPDATES // len(OTHERS):
                return False
        return True

    for _ in range(600):
        if await answered():
            break
        await asyncio.sleep(0.1)
    for user_id in OTHERS:
        said = [text_of(m) for m in bot_said(await control.messages(user_id))]
        assert len(said) == OTHER_UPDATES // len(OTHERS), (user_id, said)
        assert sum("How it works" in t for t in said) == len(said) // 2, said

    # The stranger's group: told once, left once, nothing more.
    told = bot_said(await control.messages(group))
    assert [text_of(m) for m in told] == [
        "This bot works only in its district office's group and in private chats. "
        "It is leaving this group."
    ]
    calls = await control.requests()
    there = [c for c in calls if c["params"].get("chat_id") == group]
    assert [c["method"].lower() for c in there] == ["sendmessage", "leavechat"], there
    assert all(c["ok"] for c in there)

    # Filed once, and the observer was told once.
    filed = "SELECT count(*) FROM suggestions"
    await eventually(lambda: rows(bot.database, filed) == [(1,)], "filed")
    sent = [t for t in map(text_of, await olga.bot_messages()) if "✅ Sent." in t]
    assert len(sent) == 1
    assert re.search(r"WZ-\d{4}-\d{4}", sent[0])

    # Nothing lost: every update was confirmed, nothing waits.
    log = await updates(control)
    assert [u for u in log.values() if not u["skipped"] and not u["confirmed"]] == []
    pending = (await control._call("GET", "/sandbox/updates"))["pending"]
    assert pending == []
    flood_ids = [u for u in (*queued_flood, *live[0]) if u is not None]

    latencies = reply_latencies(steps, log, calls, OLGA)
    print(
        f"\nflood: observer replies p50 {nearest_rank(latencies, 50):.2f}s "
        f"p99 {nearest_rank(latencies, 99):.2f}s over {len(latencies)} steps "
        f"(flood updates the bot received {len(flood_ids)} of {FLOOD}; "
        f"each {[round(x, 2) for x in latencies]})"
    )
    assert await bot.terminate() == 0
    assert bot.errors() == []
    assert every_error(bot) == []
