"""`outpost demo` and `outpost seed-demo` as a newcomer meets them: one process, one line
with the page's address, a city seeded once, chats that survive a restart, Ctrl-C."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import _parser
from bot.demo.city import OFFICES, PEOPLE
from bot.demo.district import ADMIN_GROUP_ID
from tests.demo.harness import Demo, eventually

STRANGER = next(p.user_id for p in PEOPLE if p.role == "stranger")
OBSERVERS = [p.user_id for p in PEOPLE if p.role == "observer"]


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    running = Demo(tmp_path / "demo-data")
    yield running
    running.kill()


def settled(demo: Demo) -> bool:
    """The seed's notices all delivered: nothing pending, nothing failed."""
    states = dict(demo.rows("SELECT state, count(*) FROM outbox GROUP BY state"))
    return states.get("pending", 0) == 0 and states.get("failed", 0) == 0


# How the scheduler's messages in the group begin (handlers/reminders.py).
DIGEST_MARKS = frozenset({"⏰", "⚠", "📊"})


def chat_sizes(demo: Demo) -> dict[int, int]:
    return {chat["id"]: chat["message_count"] for chat in demo.get("/sandbox/chats")["chats"]}


def test_the_demo_starts_seeds_once_keeps_its_chats_and_stops_on_ctrl_c(demo: Demo):
    url = demo.start()
    assert [line for line in demo.output if line.strip()] == [
        f"Outpost demo: open {url}/ in a browser (Ctrl-C stops it; database: "
        f"{demo.data_dir / 'outpost.db'}; log: {demo.data_dir / 'demo.log'})"
    ]
    with urllib.request.urlopen(url + "/", timeout=10) as page:
        assert page.status == 200
        assert "text/html" in page.headers["Content-Type"]

    # Everyone the page lists is in the sandbox, and every office has its group: the
    # city's beside the districts', each with its title and its admins.
    users = {user["id"] for user in demo.get("/sandbox/users")["users"]}
    assert {person.user_id for person in PEOPLE} <= users
    chats = {chat["id"]: chat for chat in demo.get("/sandbox/chats")["chats"]}
    for office in OFFICES:
        assert chats[office.group_id]["title"] == office.group_title
    bound = dict(demo.rows("SELECT code, chat_id FROM offices"))
    assert bound == {office.code: office.group_id for office in OFFICES}
    items = demo.rows("SELECT count(*) FROM suggestions")[0][0]
    assert items >= 10

    # The seeded history reaches the chats: cards in the group, notices to observers.
    eventually(lambda: settled(demo), "every seeded notice delivered", 90)
    # The home office's (id 1): the other offices' cards go to their own groups.
    unfinished = demo.rows(
        "SELECT count(*) FROM suggestions "
        "WHERE status NOT IN ('closed', 'withdrawn') AND office_id = 1"
    )[0][0]
    group = demo.messages(ADMIN_GROUP_ID)
    # The scheduler's messages, on a working day after the digest hour: the decision
    # reminder, the overdue digest, the weekly summary; each once at most.
    digests = [m for m in group if m["from_bot"] and (m["text"] or "")[:1] in DIGEST_MARKS]
    assert len(digests) == len({(m["text"] or "")[:1] for m in digests}) <= 3
    cards = [m for m in group if m["from_bot"] and m not in digests]
    # One card per item before the office or its departments, and the application's.
    assert len(cards) == unfinished + 1, [m["text"][:40] for m in cards]
    assert any("申请" in (m["text"] or "") for m in cards)
    told = [uid for uid in OBSERVERS if any(m["from_bot"] for m in demo.messages(uid))]
    assert len(told) >= 5
    assert demo.messages(STRANGER) == []
    # Another district's group shows its own open items' cards, by its references.
    fuling = next(office for office in OFFICES if office.code == "FL")
    open_there = [
        reference
        for (reference,) in demo.rows(
            "SELECT s.reference FROM suggestions s JOIN offices o ON o.id = s.office_id "
            "WHERE o.code = 'FL' AND s.status NOT IN ('closed', 'withdrawn')"
        )
    ]
    posted = " ".join(m["text"] or "" for m in demo.messages(fuling.group_id) if m["from_bot"])
    assert open_there
    assert all(reference in posted for reference in open_there)
    assert "WZ-2026-" not in posted

    # A stranger says hello; the bot answers in their private chat.
    demo.post("/sandbox/messages", {"chat_id": STRANGER, "from_id": STRANGER, "text": "/start"})
    eventually(
        lambda: any(m["from_bot"] for m in demo.messages(STRANGER)), "the bot answers a stranger"
    )
    before = chat_sizes(demo)

    assert demo.interrupt() == 0
    assert demo.output[-1] == "Outpost demo stopped."
    assert demo.errors == []
    assert demo.log_errors() == []

    # Started again: the same city (not seeded twice), the same chats, nothing resent.
    demo.start()
    assert demo.rows("SELECT count(*) FROM suggestions")[0][0] == items
    assert demo.rows("SELECT count(*) FROM points WHERE office_id = 1")[0][0] == 16
    assert demo.rows("SELECT count(*) FROM offices")[0][0] == len(OFFICES)
    eventually(lambda: settled(demo), "nothing left to send after a restart")
    assert chat_sizes(demo) == before
    assert demo.interrupt() == 0

    # --reset: a fresh city and fresh chats; the stranger is a stranger again.
    demo.start("--reset")
    assert demo.rows("SELECT count(*) FROM suggestions")[0][0] == items
    assert demo.rows(f"SELECT count(*) FROM telegram_users WHERE id = {STRANGER}")[0][0] == 0
    assert demo.messages(STRANGER) == []
    assert demo.interrupt() == 0
    assert demo.log_errors() == []


def test_a_second_demo_on_a_taken_port_says_so(demo: Demo, tmp_path: Path):
    url = demo.start()
    port = url.rsplit(":", 1)[1]
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--port", port, "--data-dir", str(tmp_path / "b")],
        env=demo.environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "try --port" in result.stderr
    assert demo.interrupt() == 0


def _outpost(tmp_path: Path, *args: str, database: Path) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k.upper() not in {"BOT_TOKEN", "DATABASE_URL", "ADMIN_CHAT_ID"}
    }
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{database}"
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_seed_demo_fills_a_migrated_empty_database_once(tmp_path: Path):
    database = tmp_path / "reports.db"
    refused = _outpost(tmp_path, "seed-demo", database=database)
    assert refused.returncode == 1
    assert "run `outpost migrate` first" in refused.stderr

    assert _outpost(tmp_path, "migrate", database=database).returncode == 0
    seeded = _outpost(tmp_path, "seed-demo", database=database)
    assert seeded.returncode == 0, seeded.stderr
    header, *offices = seeded.stdout.splitlines()
    assert header.startswith("seeded the sample city into sqlite+aiosqlite:///")
    # One line per office, the city first, each district below it.
    assert [line.split(":")[0] for line in offices] == [
        "  CQ 重庆市",
        "  FL 涪陵区, below CQ",
        "  QJ 黔江区, below CQ",
        "  WZ 万州区, below CQ",
    ]
    assert offices[3].startswith("  WZ 万州区, below CQ: 16 points, 5 departments")

    again = _outpost(tmp_path, "seed-demo", database=database)
    assert again.returncode == 1
    assert "nothing seeded" in again.stderr

    import sqlite3

    with sqlite3.connect(database) as db:
        assert db.execute("SELECT count(*) FROM points WHERE office_id = 1").fetchone()[0] == 16
        # Its notices are the story's past: a real bot on this database sends none.
        pending = db.execute("SELECT count(*) FROM outbox WHERE state != 'sent'").fetchone()[0]
        assert pending == 0


def _has_offices_command() -> bool:
    commands = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    return "offices" in commands.choices


_OFFICE_LINE = re.compile(r"^OFFICE (?P<code>[A-Z]+) parent (?P<parent>[A-Z]+|-) ")


@pytest.mark.skipif(not _has_offices_command(), reason="`outpost offices` is not there yet")
def test_seed_demo_then_offices_prints_the_city_and_its_districts(tmp_path: Path):
    database = tmp_path / "city.db"
    assert _outpost(tmp_path, "migrate", database=database).returncode == 0
    seeded = _outpost(tmp_path, "seed-demo", database=database)
    assert seeded.returncode == 0, seeded.stderr

    listed = _outpost(tmp_path, "offices", database=database)

    assert listed.returncode == 0, listed.stderr
    lines = [line for line in listed.stdout.splitlines() if line.startswith("OFFICE ")]
    tree = [match.groups() for match in map(_OFFICE_LINE.match, lines) if match]
    assert len(tree) == len(lines), listed.stdout
    # The city above, then each of its three districts, each naming the city as parent.
    assert tree == [("CQ", "-"), ("FL", "CQ"), ("QJ", "CQ"), ("WZ", "CQ")]
