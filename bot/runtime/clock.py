"""The running bot's clock: the system's, or, for end-to-end tests, one every worker
process shares.

A test that plays days in minutes (one digest per day with three workers competing for
the scheduler's lease) cannot move the system clock; it writes an offset in seconds to
the file ``OUTPOST_CLOCK_FILE`` names, and every process reading it sees the same moment.
The offset is read again only when the file changes. Never set in production.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

from bot.services.context import Clock, system_clock

CLOCK_FILE_ENV = "OUTPOST_CLOCK_FILE"
# The scheduler's round, in seconds, for the same tests (its lease lasts three rounds).
SCHEDULER_SECONDS_ENV = "OUTPOST_SCHEDULER_SECONDS"


class FileClock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: tuple[int, int] | None = None
        self._offset = timedelta()

    def __call__(self) -> datetime:
        try:
            stat = self.path.stat()
        except OSError:
            return system_clock() + self._offset
        seen = (stat.st_mtime_ns, stat.st_size)
        if seen != self._seen:
            try:
                self._offset = timedelta(seconds=float(self.path.read_text().strip() or 0))
                self._seen = seen
            except (OSError, ValueError):
                pass  # half-written: the previous offset stands until the next read
        return system_clock() + self._offset


def running_clock() -> Clock:
    path = os.environ.get(CLOCK_FILE_ENV)
    return FileClock(Path(path)) if path else system_clock


def scheduler_seconds() -> float | None:
    value = os.environ.get(SCHEDULER_SECONDS_ENV)
    return float(value) if value else None
