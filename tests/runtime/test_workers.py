"""The supervisor of webhook workers (bot.runtime.workers), with stand-in workers: small
Python programs that say who they are and stop on SIGTERM as a worker does."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bot.runtime.workers import METRICS_DIR_ENV, OK, Supervisor
from tests.e2e.harness import TOKEN

# A worker that records its number, pid and what it was told to free, then waits for
# SIGTERM (exit 0) or dies as ``OUTPOST_TEST_DIE`` says.
WORKER = """
import json, os, signal, sys, time
from pathlib import Path
folder = Path(sys.argv[1])
me = {"worker": os.environ["OUTPOST_WORKER"], "pid": os.getpid(),
      "workers": os.environ["WORKERS"], "replaces": os.environ.get("OUTPOST_REPLACES", ""),
      "metrics": os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")}
(folder / f"{os.getpid()}.json").write_text(json.dumps(me))
if os.environ.get("OUTPOST_TEST_DIE") == me["worker"]:
    sys.exit(3)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
while True:
    time.sleep(0.05)
"""


def started(folder: Path) -> list[dict[str, str]]:
    found = []
    for path in folder.glob("*.json"):
        try:
            found.append(json.loads(path.read_text()))
        except ValueError:
            continue  # being written
    return found


async def eventually(check, what: str, within: float = 30.0):  # type: ignore[no-untyped-def]
    for _ in range(int(within / 0.05)):
        value = check()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"not {what}")


def supervisor(folder: Path, count: int, **env: str) -> Supervisor:
    script = folder / "worker.py"
    script.write_text(WORKER)
    return Supervisor(
        count,
        [sys.executable, str(script), str(folder)],
        drain_seconds=20.0,
        env={**os.environ, **env},
    )


async def test_a_killed_worker_is_started_again_and_told_what_the_dead_held(
    tmp_path: Path,
) -> None:
    running = supervisor(tmp_path, 3)
    task = asyncio.create_task(running.run())
    first = await eventually(lambda: len(started(tmp_path)) == 3 and started(tmp_path), "3 up")
    assert sorted(w["worker"] for w in first) == ["1", "2", "3"]
    assert {w["workers"] for w in first} == {"3"}
    # One directory for the run's metrics, made by the supervisor, the same for all.
    metrics = {w["metrics"] for w in first}
    assert len(metrics) == 1
    assert os.path.isdir(metrics.pop())  # noqa: ASYNC240

    victim = next(int(w["pid"]) for w in first if w["worker"] == "2")
    os.kill(victim, signal.SIGKILL)
    again = await eventually(
        lambda: [w for w in started(tmp_path) if w["replaces"]], "worker 2 started again"
    )
    assert again == [
        {**again[0], "worker": "2", "replaces": str(victim)},
    ]
    assert int(again[0]["pid"]) != victim

    running.stop.set()
    assert await task == OK
    # Every worker got SIGTERM and stopped; none is left.
    for worker in started(tmp_path):
        with pytest.raises(ProcessLookupError):
            os.kill(int(worker["pid"]), 0)
    assert not os.path.exists(first[0]["metrics"])  # noqa: ASYNC240
    # ... nor named any longer in this process, where the next supervisor would take it
    # for an operator's and hand its workers a directory that is gone.
    assert os.environ.get(METRICS_DIR_ENV) != first[0]["metrics"]


async def test_a_worker_that_keeps_dying_at_start_stops_the_run(tmp_path: Path) -> None:
    running = supervisor(tmp_path, 2, OUTPOST_TEST_DIE="1")
    # The pauses between attempts grow (1, 2, 4, 8 s): made short for the test.
    code = await asyncio.wait_for(_quick_pauses(running), 120)
    assert code != OK
    ones = [w for w in started(tmp_path) if w["worker"] == "1"]
    assert len(ones) == 5
    # The healthy worker was stopped too.
    for worker in started(tmp_path):
        with pytest.raises(ProcessLookupError):
            os.kill(int(worker["pid"]), 0)


async def _quick_pauses(running: Supervisor) -> int:
    import bot.runtime.workers as workers

    saved = workers._PAUSE_MAX
    workers._PAUSE_MAX = 0.01
    try:
        return await running.run()
    finally:
        workers._PAUSE_MAX = saved


def test_an_operators_metrics_directory_is_kept(tmp_path: Path) -> None:
    kept = tmp_path / "metrics"
    kept.mkdir()
    running = supervisor(tmp_path, 1, **{METRICS_DIR_ENV: str(kept)})
    running._metrics_dir()
    assert running.env[METRICS_DIR_ENV] == str(kept)
    assert running._made_metrics_dir is None


def _outpost(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.isupper() or k in ("PATH", "HOME")}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env={**clean, "BOT_TOKEN": TOKEN, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_polling_refuses_workers_in_one_line(tmp_path: Path) -> None:
    result = _outpost("run", "--workers", "3", DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/o.db")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "outpost run: WORKERS=3 needs webhook mode (WEBHOOK_URL): "
        "long polling serves from one process only"
    ]


def test_sqlite_refuses_workers_in_one_line(tmp_path: Path) -> None:
    result = _outpost(
        "run",
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/o.db",
        WORKERS="2",
        WEBHOOK_URL="https://bot.example.org/hook",
        WEBHOOK_SECRET="s3cret",
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "outpost run: WORKERS=2 needs PostgreSQL (DATABASE_URL): "
        "a SQLite database serves one process"
    ]


def test_workers_without_redis_refused_in_one_line(tmp_path: Path) -> None:
    result = _outpost(
        "run",
        "--workers",
        "3",
        DATABASE_URL="postgresql://postgres@127.0.0.1:5432/nowhere",
        WEBHOOK_URL="https://bot.example.org/hook",
        WEBHOOK_SECRET="s3cret",
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "outpost run: WORKERS=3 needs REDIS_URL: the workers pace their sends to Telegram "
        "together through it"
    ]


def test_workers_must_be_a_sensible_number(tmp_path: Path) -> None:
    result = _outpost("run", "--workers", "0")
    assert result.returncode == 2
    assert "--workers: must be between 1 and 64" in result.stderr
