"""Webhook mode as N worker processes on one port, kept running by a small supervisor.

Every worker is the very process ``outpost run`` is alone: the same start-up checks, the
same signal handling and drain, its own outbox sender, and its own bid for the
scheduler's lease (bot.runtime.scheduler). The workers listen on WEBHOOK_PORT together
with ``SO_REUSEPORT``: the kernel spreads Telegram's connections across them, and a
worker that dies stops being given any. We chose that over gunicorn with aiohttp's
worker because nothing of a worker differs from the single process the tests run end to
end, and because it adds no server to install and configure: the supervisor only starts
the workers, starts again one that died (at once if it had run a while, with a growing
pause if it keeps dying at start), and on SIGTERM or SIGINT passes SIGTERM on and waits
for every worker to drain — updates in hand committed, sends in flight recorded.

The workers share what must be shared through PostgreSQL (updates' claims, the outbox's
rows, the lease) and Redis (event isolation, Telegram's rate limits); see
docs/operations.md. Each worker's log lines carry its number (bot.logs). With
prometheus_client, the workers write their counters to one directory for the run, which
the supervisor makes and removes, and marks a dead worker's files as such.

The supervisor imports no part of the bot beyond the settings and the logs: it holds a
few megabytes while the workers hold the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.delivery.holders import REPLACES_ENV
from bot.logs import WORKER_ENV

log = logging.getLogger("bot.workers")

OK, FAILED = 0, 1
# The directory prometheus_client's multi-process mode writes to.
METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
# A worker that ran this long before it died had started well: start it again at once.
_STARTED_WELL = 10.0
# A worker dying this many times in a row without starting well stops the whole run:
# the cause (a setting, the database) will not go away by itself.
_GIVE_UP_AFTER = 5
_PAUSE_MAX = 30.0


@dataclass
class Worker:
    index: int
    process: asyncio.subprocess.Process | None = None
    started: float = 0.0
    # Deaths in a row, each before the worker had started well.
    failures: int = 0
    # The pids this worker had before, dead.
    dead: list[int] = field(default_factory=list)


class Supervisor:
    def __init__(
        self,
        count: int,
        argv: Sequence[str],
        *,
        drain_seconds: float = 60.0,
        env: dict[str, str] | None = None,
    ) -> None:
        if count < 1:
            raise ValueError("at least one worker")
        self.count = count
        self.argv = list(argv)
        self.drain_seconds = drain_seconds
        self.env = dict(os.environ if env is None else env)
        self.workers = [Worker(index) for index in range(1, count + 1)]
        self.stop = asyncio.Event()
        self._exited: asyncio.Queue[Worker] = asyncio.Queue()
        self._made_metrics_dir: str | None = None
        self._waits: set[asyncio.Task[None]] = set()

    async def run(self) -> int:
        self._metrics_dir()
        try:
            for worker in self.workers:
                await self._start(worker)
            log.info(
                "workers started",
                extra={"workers": self.count, "pids": ",".join(self._pids())},
            )
            code = await self._watch()
            return await self._drain(code)
        finally:
            if self._made_metrics_dir is not None:
                shutil.rmtree(self._made_metrics_dir, ignore_errors=True)
                # Named no longer: a supervisor started later in this process would take
                # it for an operator's directory and hand it, gone, to its workers.
                if os.environ.get(METRICS_DIR_ENV) == self._made_metrics_dir:
                    del os.environ[METRICS_DIR_ENV]

    def _pids(self) -> list[str]:
        return [str(w.process.pid) for w in self.workers if w.process is not None]

    def _metrics_dir(self) -> None:
        if self.env.get(METRICS_DIR_ENV):
            return
        # One directory per run: counters of an earlier run must not be added to this one.
        self._made_metrics_dir = tempfile.mkdtemp(prefix="outpost-metrics-")
        self.env[METRICS_DIR_ENV] = self._made_metrics_dir
        # The supervisor marks dead workers' files there too.
        os.environ[METRICS_DIR_ENV] = self._made_metrics_dir

    async def _start(self, worker: Worker) -> None:
        env = {**self.env, WORKER_ENV: str(worker.index), "WORKERS": str(self.count)}
        if worker.dead:
            # What the dead held is freed by the new one (bot.delivery.holders).
            env[REPLACES_ENV] = ",".join(str(pid) for pid in worker.dead[-5:])
        worker.process = await asyncio.create_subprocess_exec(*self.argv, env=env)
        worker.started = time.monotonic()
        log.info(
            "worker started",
            extra={"worker": worker.index, "pid": worker.process.pid},
        )
        self._waits.add(
            asyncio.create_task(self._wait(worker, worker.process), name=f"worker-{worker.index}")
        )

    async def _wait(self, worker: Worker, process: asyncio.subprocess.Process) -> None:
        await process.wait()
        if worker.process is process:
            await self._exited.put(worker)

    async def _watch(self) -> int:
        """Start again each worker that exits, until asked to stop; FAILED when a worker
        keeps dying at start."""
        stopping = asyncio.create_task(self.stop.wait())
        try:
            while not self.stop.is_set():
                exited = asyncio.create_task(self._exited.get())
                await asyncio.wait([stopping, exited], return_when=asyncio.FIRST_COMPLETED)
                if not exited.done():
                    exited.cancel()
                    break
                worker = exited.result()
                if not await self._restart(worker):
                    return FAILED
            return OK
        finally:
            stopping.cancel()

    async def _restart(self, worker: Worker) -> bool:
        process = worker.process
        assert process is not None
        assert process.returncode is not None
        code = process.returncode
        worker.dead.append(process.pid)
        _forget(process.pid)
        lived = time.monotonic() - worker.started
        worker.failures = 0 if lived >= _STARTED_WELL else worker.failures + 1
        how = f"signal {signal.Signals(-code).name}" if code < 0 else f"code {code}"
        log.warning(
            "worker exited (%s); starting it again",
            how,
            extra={"worker": worker.index, "pid": process.pid, "lived": round(lived, 1)},
        )
        if worker.failures >= _GIVE_UP_AFTER:
            log.error(
                "worker %s died %s times in a row at start: stopping every worker",
                worker.index,
                worker.failures,
                extra={"worker": worker.index},
            )
            return False
        pause = 0.0 if worker.failures == 0 else min(_PAUSE_MAX, 2.0 ** (worker.failures - 1))
        if pause:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), pause)
            if self.stop.is_set():
                return True
        await self._start(worker)
        return True

    async def _drain(self, code: int) -> int:
        """SIGTERM to every worker, then wait for them all (SIGKILL after
        ``drain_seconds``): each finishes its updates in hand and sends in flight."""
        running = [w.process for w in self.workers if w.process and w.process.returncode is None]
        log.info("stopping the workers", extra={"workers": len(running)})
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        waiting = [asyncio.create_task(p.wait()) for p in running]
        if waiting:
            _, late = await asyncio.wait(waiting, timeout=self.drain_seconds)
            if late:
                log.error(
                    "workers still running after the drain: killed", extra={"late": len(late)}
                )
                for process in running:
                    if process.returncode is None:
                        with contextlib.suppress(ProcessLookupError):
                            process.kill()
                await asyncio.wait(late)
                code = FAILED
        for process in running:
            _forget(process.pid)
            # A worker still starting when SIGTERM came had nothing in hand yet.
            if process.returncode not in (0, -signal.SIGTERM):
                code = FAILED
        log.info("workers stopped", extra={"code": code})
        return code


def _forget(pid: int) -> None:
    """A dead worker's live gauges no longer count (prometheus_client's multi-process
    mode keeps its files for the counters)."""
    if not os.environ.get(METRICS_DIR_ENV):
        return
    with contextlib.suppress(Exception):
        from bot.runtime.metrics import mark_dead

        mark_dead(pid)


def worker_argv() -> list[str]:
    """The command each worker runs: this interpreter, ``outpost run``."""
    return [sys.executable, "-m", "bot", "run"]


def is_worker() -> bool:
    return bool(os.environ.get(WORKER_ENV))


async def supervise(count: int, argv: Sequence[str] | None = None) -> int:
    supervisor = Supervisor(count, argv or worker_argv())
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, _stopping, supervisor, sig)
    return await supervisor.run()


def _stopping(supervisor: Supervisor, sig: signal.Signals) -> None:
    if not supervisor.stop.is_set():
        log.info("shutting down the workers", extra={"signal": sig.name})
    supervisor.stop.set()
