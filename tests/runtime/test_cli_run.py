"""`outpost run` and `outpost webhook` refuse to start, in one line, when they cannot."""

from __future__ import annotations

from pathlib import Path

from storage import migrate
from tests.storage.test_migrations import run_cli

TOKEN = "123456:" + "A" * 35


def test_run_without_a_token_says_so(tmp_path: Path) -> None:
    result = run_cli("run", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == "outpost run: BOT_TOKEN: must be set (a token from @BotFather)\n"


def test_webhook_needs_its_url(tmp_path: Path) -> None:
    result = run_cli("webhook", cwd=tmp_path, BOT_TOKEN=TOKEN)
    assert result.returncode == 2
    assert result.stderr == "outpost webhook: WEBHOOK_URL: must be set for webhook mode\n"


def test_run_on_an_unmigrated_database_says_what_to_do(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/o.db"
    result = run_cli("run", cwd=tmp_path, BOT_TOKEN=TOKEN, DATABASE_URL=url)
    assert result.returncode == 1
    assert result.stderr == (
        f"outpost run: database at {url} is at revision none (empty), "
        f"not {migrate.head()}: run `outpost migrate` first\n"
    )
    assert result.stdout == ""


def test_a_malformed_setting_stops_run_in_one_line(tmp_path: Path) -> None:
    result = run_cli("run", cwd=tmp_path, BOT_TOKEN=TOKEN, LOG_FORMAT="xml")
    assert result.returncode == 2
    assert result.stderr.startswith("outpost run: LOG_FORMAT: Input should be 'json' or 'text'")
    assert result.stderr.count("\n") == 1
