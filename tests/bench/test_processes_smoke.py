"""The several-processes benchmark, run tiny: not its speed, but that three workers on
PostgreSQL and Redis apply every update once and deliver the broadcast to everyone, and
that the line it prints has the form issue 22 gives."""

from __future__ import annotations

import re

import pytest

from bench import processes
from tests.conftest import PG_ADMIN_DSN, PostgresServer, unavailable

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(600)]

LINE = re.compile(
    r"PROCESSES 3 updates (\d+) applied-once (\d+) lost (\d+) broadcast (\d+) "
    r"rate \d+\.\d/s max-1s-window (\d+) 429s (\d+) lost (\d+)"
)


async def test_three_workers_apply_each_update_once_and_reach_everyone(
    postgres: PostgresServer, redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    if postgres.error:
        unavailable(postgres.error)
    redis = redis_url.rsplit("/", 1)[0]
    result = await processes.measure(
        [
            "--people", "4", "--details", "3", "--observers", "40",
            "--pg-dsn", PG_ADMIN_DSN, "--redis-url", redis, "--redis-db", "12",
        ]
    )  # fmt: skip
    assert result is not None
    assert (result.updates, result.applied_once, result.lost_updates) == (4 * 7, 4 * 7, 0)
    assert (result.broadcast, result.lost_copies) == (40, 0)
    printed = capsys.readouterr().out
    found = LINE.search(printed)
    assert found is not None, printed
    assert found.group(1, 2, 3, 4, 7) == ("28", "28", "0", "40", "0")
    # The sandbox holds any second to Telegram's 30.
    assert int(found.group(5)) <= 30
