"""The clock end-to-end tests share between worker processes (bot.runtime.clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.runtime.clock import CLOCK_FILE_ENV, FileClock, running_clock
from bot.services.context import system_clock


def test_the_system_clock_unless_a_file_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CLOCK_FILE_ENV, raising=False)
    assert running_clock() is system_clock


def test_the_files_offset_is_added_and_read_again_when_it_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "clock"
    monkeypatch.setenv(CLOCK_FILE_ENV, str(path))
    clock = running_clock()
    assert isinstance(clock, FileClock)
    # No file yet: the system's time.
    assert abs(clock() - datetime.now(UTC)) < timedelta(minutes=1)
    path.write_text(str(14 * 86400))
    assert abs(clock() - (datetime.now(UTC) + timedelta(days=14))) < timedelta(minutes=1)
    path.write_text("-3600.5")
    assert abs(clock() - (datetime.now(UTC) - timedelta(hours=1))) < timedelta(minutes=1)
    # A file being written (not a number yet) leaves the last offset standing.
    path.write_text("not a num")
    assert abs(clock() - (datetime.now(UTC) - timedelta(hours=1))) < timedelta(minutes=1)
