"""A DATABASE_URL no bot could live with stops every command that opens a database
before it starts anything, in one line on standard error naming the setting, exit 2;
and every command that opens one says which on its first line."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import cli
from bot.settings import Settings
from storage import migrate
from tests.storage.test_migrations import run_cli

TOKEN = "123456:" + "A" * 35

# How each command is invoked: what it needs besides the setting under test.
COMMANDS = {
    "migrate": ["migrate"],
    "run": ["run"],
    "demo": ["demo", "--port", "0"],
    "export": ["export", "--out", "items.xlsx"],
    "report": ["report", "--year", "2026", "--out", "report.docx"],
}

MALFORMED = {
    "nul": "sqlite+aiosqlite:///out%00post.db",
    "memory": "sqlite+aiosqlite:///:memory:",
    "read-only mode": "sqlite+aiosqlite:///outpost.db?mode=ro",
}


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """Only what the test sets, in an empty working directory (no .env), and the
    logging the CLI reconfigures put back afterwards."""
    names = {name.upper() for name in Settings.model_fields}
    for name in list(os.environ):
        if name.upper() in names:
            monkeypatch.delenv(name)
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    monkeypatch.chdir(tmp_path)
    root, alembic = logging.getLogger(), logging.getLogger("alembic")
    levels = root.level, alembic.level
    yield tmp_path
    root.setLevel(levels[0])
    alembic.setLevel(levels[1])


@pytest.fixture
def unwritable(tmp_path: Path) -> Iterator[Path]:
    """A directory nobody here may create a file in: one of ours with its write bits
    off, or (root ignores those) a file system that takes no files at all."""
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        for candidate in (folder, Path("/sys")):
            try:
                with tempfile.TemporaryFile(dir=candidate):
                    pass
            except OSError:
                yield candidate
                return
        pytest.skip("no directory here refuses to be written to")
    finally:
        folder.chmod(0o755)


def refusal(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Run the CLI; it must refuse with exit 2 and exactly one line, which is returned."""
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    assert code == 2, err
    assert out == ""
    assert err.endswith("\n")
    assert err.count("\n") == 1, err
    return err.rstrip("\n")


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_database_url_stops_the_command_in_one_line(
    environment: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
    case: str,
) -> None:
    monkeypatch.setenv("DATABASE_URL", MALFORMED[case])
    line = refusal(capsys, *COMMANDS[command])
    assert line.startswith(f"outpost {command}: DATABASE_URL: ")
    # Nothing was made of it: no database file, no demo folder, no document.
    assert sorted(p.name for p in environment.iterdir()) == []


def test_each_refusal_says_what_is_wrong_and_what_to_do(
    environment: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    said = {}
    for case, url in MALFORMED.items():
        monkeypatch.setenv("DATABASE_URL", url)
        said[case] = refusal(capsys, "migrate")
    assert said["nul"].startswith(
        "outpost migrate: DATABASE_URL: contains a NUL byte (%00): remove it"
    )
    assert said["memory"].startswith(
        "outpost migrate: DATABASE_URL: names an in-memory database, lost when the bot "
        "stops: name a file instead"
    )
    assert said["read-only mode"].startswith(
        "outpost migrate: DATABASE_URL: opens the database read-only, but the bot must "
        "write to it: remove mode=ro"
    )


@pytest.mark.parametrize("command", ["migrate", "run", "export", "report"])
def test_a_database_in_a_directory_that_cannot_be_written_is_named(
    environment: Path,
    unwritable: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{unwritable}/outpost.db")
    line = refusal(capsys, *COMMANDS[command])
    assert line.startswith(f"outpost {command}: DATABASE_URL: cannot write to {unwritable} (")
    assert line.endswith("point DATABASE_URL at a writable directory")


def test_the_demo_in_a_directory_that_cannot_be_written_says_so(
    environment: Path, unwritable: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The demo keeps its database in --data-dir, whatever DATABASE_URL says.
    line = refusal(capsys, "demo", "--port", "0", "--data-dir", str(unwritable / "demo"))
    assert line.startswith(f"outpost demo: --data-dir: cannot write to {unwritable} (")
    assert line.endswith("choose a writable --data-dir")


def test_a_database_in_no_directory_is_named(
    environment: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{environment}/nowhere/o.db")
    line = refusal(capsys, "migrate")
    assert line == (
        f"outpost migrate: DATABASE_URL: there is no directory {environment}/nowhere for "
        "the database file o.db: create it, or point DATABASE_URL at a file in an "
        "existing directory"
    )


def test_a_nul_in_the_url_is_one_line_from_the_real_process_too(tmp_path: Path) -> None:
    # The case that printed a 90-line traceback from deep inside the driver.
    result = run_cli("migrate", cwd=tmp_path, DATABASE_URL="sqlite+aiosqlite:///a%00b.db")
    assert result.returncode == 2
    assert result.stderr == (
        "outpost migrate: DATABASE_URL: contains a NUL byte (%00): remove it, "
        "got 'sqlite+aiosqlite:///a%00b.db'\n"
    )
    assert result.stdout == ""


@pytest.mark.parametrize("blank", ["", "   "])
def test_an_empty_database_url_means_the_default_file(tmp_path: Path, blank: str) -> None:
    # What docker compose passes for an unset ${DATABASE_URL}.
    result = run_cli("migrate", cwd=tmp_path, DATABASE_URL=blank)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("database at sqlite+aiosqlite:///outpost.db is at revision")
    assert (tmp_path / "outpost.db").is_file()


def test_run_names_its_database_on_its_first_line(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/o.db"
    migrate.upgrade(url)
    names = {name.upper() for name in Settings.model_fields}
    env = {k: v for k, v in os.environ.items() if k.upper() not in names}
    env.update(
        BOT_TOKEN=TOKEN,
        DATABASE_URL=url,
        LOG_FORMAT="text",
        # Nobody answers there: the bot would wait for the Bot API server for ever.
        TELEGRAM_API_URL="http://127.0.0.1:9",
    )
    bot = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert bot.stderr is not None
        first = bot.stderr.readline()
    finally:
        bot.kill()
        bot.communicate(timeout=30)
    assert f"INFO bot.cli: starting on the database at {url} [mode=polling]" in first
