"""`outpost demo` and `outpost seed-demo` as a newcomer meets them: one process, one line
with the page's address, a district seeded once, chats that survive a restart, Ctrl-C."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.demo.district import ADMIN_GROUP_ID, PEOPLE
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

    # Everyone the page lists is in the sandbox, and the office has its group.
    users = {user["id"] for user in demo.get("/sandbox/users")["users"]}
    assert {person.user_id for person in PEOPLE} <= users
    items = demo.rows("SELECT count(*) FROM suggestions")[0][0]
    assert items >= 10

    # The seeded history reaches the chats: cards in the group, notices to observers.
    eventually(lambda: settled(demo), "every seeded notice delivered", 90)
    unfinished = demo.rows(
        "SELECT count(*) FROM suggestions WHERE status NOT IN ('closed', 'withdrawn')"
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

    # Started again: the same district (not seeded twice), the same chats, nothing resent.
    demo.start()
    assert demo.rows("SELECT count(*) FROM suggestions")[0][0] == items
    assert demo.rows("SELECT count(*) FROM points")[0][0] == 16
    eventually(lambda: settled(demo), "nothing left to send after a restart")
    assert chat_sizes(demo) == before
    assert demo.interrupt() == 0

    # --reset: a fresh district and fresh chats; the stranger is a stranger again.
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
    assert seeded.stdout.startswith("seeded the sample district into sqlite+aiosqlite:///")
    assert "16 points" in seeded.stdout

    again = _outpost(tmp_path, "seed-demo", database=database)
    assert again.returncode == 1
    assert "nothing seeded" in again.stderr

    import sqlite3

    with sqlite3.connect(database) as db:
        assert db.execute("SELECT count(*) FROM points").fetchone()[0] == 16
        # Its notices are the story's past: a real bot on this database sends none.
        pending = db.execute("SELECT count(*) FROM outbox WHERE state != 'sent'").fetchone()[0]
        assert pending == 0
