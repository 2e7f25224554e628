"""Three webhook workers on PostgreSQL and Redis, one killed with kill -9 mid-run.

`outpost run` with WORKERS=3 starts three workers on one port; the sandbox pushes
updates to them as Telegram does, up to 40 at once, one at a time per chat. Fifty
observers start filing (4 updates each, each step waiting for the bot's answer), then
send 16 lines of details each as fast as they can — 1,000 updates in all with the
office's set-up left out — while the office broadcasts to every observer. When a third
of the details are handled, one worker is killed with kill -9; the supervisor starts it
again. Then, on a clock the workers share, three working days pass.

What must hold: every update applied exactly once (each observer's draft holds each of
their lines once, in the order sent, and every update is claimed once); per-chat order
by update_id (the claims' order in each chat), except in a chat whose update was in
hand at the killed worker; every notice delivered, repeats no more than the sends the
killed worker had in flight; one overdue digest per day; no error in the log.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import PostgresServer
from tests.e2e import seed
from tests.e2e.databases import query
from tests.e2e.harness import (
    GROUP,
    BotProcess,
    Control,
    Person,
    bot_said,
    eventually,
    every_error,
    free_port,
    text_of,
)
from tests.e2e.loop import cast, file_a_problem, set_up_the_office, start_filing

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(600)]

SECRET = "e2e-workers-secret"
PEOPLE = list(range(41001, 41051))
DETAILS = 16
BROADCAST = "The office is closed on Friday."
# The bot's keys in a Redis database of this test's own (rate limits, event isolation).
REDIS_DB = 13
LONG = 180.0


def worker_pids(bot: BotProcess) -> dict[int, int]:
    """Each worker's newest pid, from the supervisor's log."""
    pids: dict[int, int] = {}
    for entry in bot.lines():
        if entry.get("msg") == "worker started":
            pids[int(entry["worker"])] = int(entry["pid"])
    return pids


def count_lines(bot: BotProcess, message: str) -> int:
    return sum(1 for entry in bot.lines() if entry.get("msg") == message)


async def listening(bot: BotProcess, count: int) -> None:
    await eventually(
        lambda: count_lines(bot, "webhook listening") >= count,
        f"{count} workers listening",
        within=LONG,
    )


async def claimed(url: str) -> int:
    return int((await query(url, "SELECT count(*) FROM processed_updates"))[0][0])


async def tell_details(person: Person) -> list[int]:
    """16 lines, one after another as fast as the sandbox takes them; their update ids."""
    ids = []
    for k in range(1, DETAILS + 1):
        sent = await person.say(f"detail {person.user_id} #{k:02d}")
        ids.append(int(sent["update_id"]))
    return ids


def working_days_ahead(start: datetime, tz: ZoneInfo, count: int) -> list[datetime]:
    """``count`` weekdays two weeks on or later, at 10:00 local."""
    day = start.astimezone(tz).date() + timedelta(days=14)
    days = []
    while len(days) < count:
        if day.weekday() < 5:
            days.append(datetime(day.year, day.month, day.day, 10, tzinfo=tz))
        day += timedelta(days=1)
    return days


async def test_three_workers_one_killed_with_kill_9(
    control: Control,
    bot: BotProcess,
    postgres: PostgresServer,
    redis_url: str,
    tmp_path: Path,
) -> None:
    url = await asyncio.to_thread(postgres.new_database)
    port = free_port()
    clock = tmp_path / "clock"
    clock.write_text("0")
    bot.env.update(
        DATABASE_URL=url,
        REDIS_URL=redis_url.rsplit("/", 1)[0] + f"/{REDIS_DB}",
        WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram/hook",
        WEBHOOK_SECRET=SECRET,
        WEBHOOK_HOST="127.0.0.1",
        WEBHOOK_PORT=str(port),
        WORKERS="3",
        OUTPOST_CLOCK_FILE=str(clock),
        OUTPOST_SCHEDULER_SECONDS="1",
        TIMEZONE="Asia/Shanghai",
    )
    bot.migrate()
    await bot.start(ready="workers started")
    await listening(bot, 3)
    assert len(worker_pids(bot)) == 3

    people = await cast(control)
    await set_up_the_office(people)
    # An item that will be overdue once the days pass: the digest has something to say.
    await file_a_problem(people.olga)
    await seed.observers(url, PEOPLE)
    for user_id in PEOPLE:
        await control.user(user_id, f"O{user_id}")
    observers = [Person(control, uid, f"O{uid}", uid) for uid in PEOPLE]

    # 4 updates each, every step waiting for the bot's answer.
    await asyncio.gather(*(start_filing(person) for person in observers))
    before_flood = await claimed(url)

    ada = people.ada
    await ada.say(f"/broadcast {BROADCAST}")
    preview = await ada.expect_button("✅ Send")
    # 16 updates each, all 50 at once, while the broadcast goes out.
    flood = asyncio.gather(*(tell_details(person) for person in observers))
    await ada.press("✅ Send", message_id=preview["message_id"])

    victim = worker_pids(bot)[2]
    for _ in range(int(LONG / 0.05)):
        if await claimed(url) - before_flood >= DETAILS * len(PEOPLE) // 3:
            break
        await asyncio.sleep(0.05)
    os.kill(victim, signal.SIGKILL)
    killed_at = datetime.now(UTC)
    # What the dead worker had leased and not recorded: the sends that may go twice.
    holder = f"{socket.gethostname()[:32]}:{victim}:%"
    in_flight = int(
        (
            await query(
                url,
                "SELECT count(*) FROM outbox WHERE state = 'pending' "
                f"AND claimed_by LIKE '{holder}'",
            )
        )[0][0]
    )
    details_ids = await flood
    await listening(bot, 4)
    assert worker_pids(bot)[2] != victim

    # Every update the people sent is confirmed to the sandbox and claimed once.
    sent_ids = {i for ids in details_ids for i in ids}
    assert len(sent_ids) == DETAILS * len(PEOPLE)

    async def all_confirmed() -> bool:
        data = await control._call("GET", "/sandbox/updates")
        records = {u["update_id"]: u for u in data["updates"]}
        return not data["pending"] and all(records[i]["confirmed"] for i in sent_ids)

    for _ in range(int(LONG / 0.2)):
        if await all_confirmed():
            break
        await asyncio.sleep(0.2)
    assert await all_confirmed(), "an update was never confirmed"
    records = {
        u["update_id"]: u for u in (await control._call("GET", "/sandbox/updates"))["updates"]
    }
    assert not any(r["dropped"] for r in records.values())
    claims = await query(
        url, "SELECT update_id, processed_at FROM processed_updates ORDER BY processed_at"
    )
    claimed_ids = [int(row[0]) for row in claims]
    claimed_at = {int(row[0]): row[1] for row in claims}
    assert sent_ids <= set(claimed_ids)
    assert len(claimed_ids) == len(set(claimed_ids))

    # Applied exactly once, in order: each draft holds each line once, as sent.
    states = await query(url, "SELECT data FROM conversation_states")
    lines: dict[int, list[str]] = {}
    for (data,) in states:
        for user_id, number in re.findall(r"detail (\d+) #(\d+)", str(data)):
            lines.setdefault(int(user_id), []).append(number)
    wanted = [f"{k:02d}" for k in range(1, DETAILS + 1)]
    wrong = {uid: lines.get(uid) for uid in PEOPLE if lines.get(uid) != wanted}
    trail = {
        uid: [
            (
                i,
                records[i]["attempts"],
                records[i]["deliveries"],
                str(claimed_at.get(i))[11:23],
            )
            for i in ids
        ]
        for uid, ids in zip(PEOPLE, details_ids, strict=True)
        if uid in wrong
    }
    assert wrong == {}, f"victim {victim} killed {killed_at}; their lines: {wrong} {trail}"

    # Per-chat order: each chat's updates were claimed in update_id order, but in a chat
    # whose update was in hand at the killed worker (pushed more than once).
    chat_of = {
        update_id: records[update_id]["update"]["message"]["chat"]["id"] for update_id in sent_ids
    }
    retried = {chat_of[i] for i in sent_ids if records[i]["attempts"] > 1}
    order: dict[int, list[int]] = {}
    for update_id in claimed_ids:
        if update_id in chat_of:
            order.setdefault(chat_of[update_id], []).append(update_id)
    out_of_order = [
        chat for chat, ids in order.items() if ids != sorted(ids) and chat not in retried
    ]
    assert out_of_order == []

    # Every notice delivered; repeats only of what was in flight at the killed worker.
    for _ in range(int(LONG / 0.2)):
        pending = await query(url, "SELECT count(*) FROM outbox WHERE state = 'pending'")
        if pending[0][0] == 0:
            break
        await asyncio.sleep(0.2)
    everyone = [*PEOPLE, people.olga.user_id]
    copies = {}
    for user_id in everyone:
        said = bot_said(await control.messages(user_id))
        copies[user_id] = sum(BROADCAST in text_of(m) for m in said)
    assert all(count >= 1 for count in copies.values()), "a notice was lost"
    repeats = sum(count - 1 for count in copies.values())
    assert repeats <= in_flight

    # Three working days pass on the workers' shared clock: one digest a day.
    tz = ZoneInfo("Asia/Shanghai")
    days = working_days_ahead(datetime.now(UTC), tz, 3)
    for day in days:
        clock.write_text(str((day - datetime.now(UTC)).total_seconds()))
        heading = f"Overdue on {day.date().isoformat()}"
        await ada.expect(heading, within=LONG)
    # A few more rounds of the scheduler, in every worker, change nothing.
    await asyncio.sleep(3)
    group = bot_said(await control.messages(GROUP))
    digests = {
        day.date(): sum(f"Overdue on {day.date().isoformat()}" in text_of(m) for m in group)
        for day in days
    }
    assert digests == {day.date(): 1 for day in days}

    assert await bot.terminate(within=90) == 0
    assert every_error(bot) == []
    exits = [e for e in bot.lines() if str(e.get("msg", "")).startswith("worker exited")]
    assert [e["worker"] for e in exits] == [2]
