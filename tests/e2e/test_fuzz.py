"""Thousands of random and malformed updates to the running bot, on each database.

The office is set up and an item filed, as people do; then a seeded fuzzer sends at
least FUZZ_UPDATES updates through the sandbox (see tests/e2e/fuzz.py for what they
are). The bot must go on as if nothing happened: no traceback and no ERROR line in its
log but the notices of updates set aside as unreadable, every update confirmed, as many
dead letters recorded as unreadable updates were sent, and an observer's /mine
answered afterwards. ``pytest -m fuzz`` runs these; ``-s`` shows their counts.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from typing import Any

import pytest

from tests.e2e.databases import DATABASES, bot_database, query
from tests.e2e.fuzz import Fuzzer
from tests.e2e.harness import GROUP, BotProcess, Control, Person, text_of, updates
from tests.e2e.loop import cast, file_a_problem, link_code, set_up_the_office

pytestmark = pytest.mark.fuzz

SEED = int(os.environ.get("OUTPOST_FUZZ_SEED", "20261208"))
FUZZ_UPDATES = int(os.environ.get("OUTPOST_FUZZ_UPDATES", "2000"))
DEAD_LETTER = "dead-lettered update "
VERA = 7201
# People besides the loop's cast: no username or last name, a NUL in the name, an
# account flagged as a bot (also in the office's group), right-to-left and emoji
# names, and an id beyond 64 bits (whatever such a person sends cannot be read).
ODD_PEOPLE: list[dict[str, Any]] = [
    {"id": 7101, "first_name": "No\x00Name"},
    {"id": 7102, "first_name": "Botty", "is_bot": True, "username": "botty_bot"},
    {"id": 7103, "first_name": "\u202eLTR", "last_name": "李\u0301", "username": "rtl"},
    {"id": 7104, "first_name": "🙂" * 30, "language_code": "zh-hans"},
    {"id": 2**64 + 1, "first_name": "Huge"},
]


@pytest.fixture(params=DATABASES)
def database(request: pytest.FixtureRequest, bot: BotProcess) -> str:
    return bot_database(request, bot)


async def settled(control: Control, within: float = 180.0) -> dict[int, dict[str, Any]]:
    """The sandbox's updates once every one the bot was sent is confirmed."""
    deadline = time.monotonic() + within
    while True:
        log = await updates(control)
        waiting = [u for u, e in log.items() if not e["skipped"] and not e["confirmed"]]
        if not waiting:
            return log
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(waiting)} updates never confirmed: {waiting[:20]}")
        await asyncio.sleep(0.25)


async def test_the_bot_survives_random_and_malformed_updates(
    control: Control, bot: BotProcess, database: str
) -> None:
    started = time.monotonic()
    await control.limits(enabled=False)
    await bot.start()
    people = await cast(control)
    await set_up_the_office(people)
    await file_a_problem(people.olga)
    vera = await an_observer_the_fuzzing_leaves_alone(control, people.ada)
    for person in ODD_PEOPLE:
        await control._call("POST", "/sandbox/users", person)
    for member in (7101, 7102, 7104):
        body = {"user_id": member, "status": "administrator" if member == 7102 else "member"}
        await control._call("POST", f"/sandbox/chats/{GROUP}/members", body)
    everyone = (await control._call("GET", "/sandbox/users"))["users"]
    private = ("blocked", "about", "phone")  # the sandbox's own notes, not the Bot API's
    fuzzer = Fuzzer(
        control,
        random.Random(SEED),
        users=[
            {k: v for k, v in u.items() if k not in private} for u in everyone if u["id"] != VERA
        ],
        members={9001, 9002, 9003, 7101, 7102, 7104},
    )
    before = max(await updates(control))
    await fuzzer.look()

    fuzzing = time.monotonic()
    await fuzzer.sweep()
    steps = 0
    while fuzzer.tally.sent < FUZZ_UPDATES:
        await fuzzer.step()
        steps += 1
        if steps % 100 == 0:
            await fuzzer.look()
    sent_in = time.monotonic() - fuzzing
    log = await settled(control)
    handled_in = time.monotonic() - fuzzing

    # Afterwards an observer is answered at once, as ever.
    await vera.say("/mine")
    answer = await vera.expect("You have not filed anything yet", within=15.0)
    assert "went wrong" not in text_of(answer)
    # SIGTERM stops it though minutes of replies to the office's group are still queued
    # (paced at Telegram's 20 a minute): those waiting for their turn are cancelled.
    assert await bot.terminate() == 0

    lines = [entry for start in range(1, bot.starts + 1) for entry in bot_log(bot, start)]
    notices = [e for e in lines if str(e.get("msg", "")).startswith(DEAD_LETTER)]
    errors = [
        e for e in lines if e.get("level") in ("ERROR", "CRITICAL", "RAW") and e not in notices
    ]
    tracebacks = [e for e in lines if "exc" in e or "Traceback" in str(e.get("msg", ""))]
    sent = [u for u, e in log.items() if u > before and not e["skipped"]]
    unreadable = fuzzer.unreadable(log, before)
    recorded = {int(row[0]) for row in await query(database, "SELECT update_id FROM dead_letters")}
    print(  # the counts the issue asks for, shown with -s
        f"\nfuzz [{database.split(':', 1)[0]}] seed {SEED}: {len(sent)} updates sent "
        f"({len(unreadable)} unreadable; besides, {fuzzer.tally.skipped} skipped by "
        f"allowed_updates, {fuzzer.tally.refused} control calls refused) in {steps} steps; "
        f"dead-lettered {len(recorded)}; ERROR lines {len(errors) + len(notices)} "
        f"({len(notices)} dead-letter notices); tracebacks {len(tracebacks)}; sent in "
        f"{sent_in:.1f} s, handled in {handled_in:.1f} s, {time.monotonic() - started:.1f} s "
        f"in all; by kind {dict(sorted(fuzzer.tally.by_kind.items()))}"
    )
    assert errors == [], described(errors, log)
    assert tracebacks == [], described(tracebacks, log)
    assert len(sent) >= FUZZ_UPDATES
    assert unreadable
    assert recorded == unreadable
    assert len(notices) == len(recorded)
    # Every update the bot was sent was confirmed (settled() waited for it), the ones set
    # aside as well, and none is pending.
    assert (await control._call("GET", "/sandbox/updates"))["pending"] == []
    assert all(e["confirmed"] for e in log.values() if not e["skipped"])


async def an_observer_the_fuzzing_leaves_alone(control: Control, ada: Person) -> Person:
    await control.user(VERA, "Vera")
    vera = Person(control, VERA, "Vera", VERA)
    await ada.say("/invite P01")
    invite = await ada.expect("One-time invite link for a new observer at P01")
    await vera.say(f"/start {link_code(invite)}")
    await vera.expect("Welcome, Vera!")
    return vera


def bot_log(bot: BotProcess, start: int) -> list[dict[str, Any]]:
    path = bot.workdir / f"bot-{start}.log"
    entries = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            entries.append(json.loads(line))
        except ValueError:
            entries.append({"msg": line, "level": "RAW"})
    return entries


def described(entries: list[dict[str, Any]], log: dict[int, dict[str, Any]]) -> str:
    """Log entries, each with the outline of the update it names (not its text)."""
    out = []
    for entry in entries[:10]:
        update = log.get(int(entry.get("update_id") or 0), {}).get("update") or {}
        kind = next((k for k in update if k != "update_id"), None)
        body = update.get(kind) if kind else None
        outline = ""
        if isinstance(body, dict):
            sender = body.get("from") or {}
            chat = body.get("chat") or (body.get("message") or {}).get("chat") or {}
            outline = (
                f"{kind} in {chat.get('type')} {chat.get('id')} from {sender.get('id')} "
                f"is_bot={sender.get('is_bot')} sender_chat={'sender_chat' in body} "
                f"starts={str(body.get('text') or body.get('data') or '')[:30]!r}"
            )
        message = str(entry.get("msg"))[:200]
        error = str(entry.get("exc", "")).strip().splitlines()[-1:] or [""]
        out.append(f"{message} | {outline} | {error[0][:200]}")
    return "\n".join(out)
