"""Benchmark: the memory ``outpost run`` holds while idle, against a bare aiogram bot.

Two bots are run, one after the other, each as a process of its own polling the same
sandbox (``sandbox.server.Sandbox``, in this process: its memory is not counted) with
the same environment (``BOT_TOKEN``, ``TELEGRAM_API_URL``, ``DATABASE_URL``, as the
end-to-end tests give the bot, tests/e2e/harness.py):

- **outpost** is ``python -m bot run``, what ``outpost run`` runs, on a SQLite file
  brought to the latest schema first with ``python -m bot migrate``: the whole bot, its
  outbox sender and its scheduler, long polling;
- **bare-aiogram** is the least a bot on the same aiogram is: a Dispatcher with one
  handler echoing every message, polling with aiogram's own ``start_polling`` (this file
  run with ``--bare-bot``, which imports nothing but the standard library and aiogram).

Once a bot says it is polling, nothing is sent to it for ``--idle`` seconds (30 by
default); its resident set (``VmRSS`` in ``/proc/<pid>/status``) is read every half
second, and the figure is the one read at the end of the idle period. Printed per bot:
that figure, the most read while idle, and the peak since start (``VmHWM``, start-up
included); then, last, a line

    MEMORY outpost 205 MB bare-aiogram 160 MB ratio 1.28

MB are 2**20 bytes; the ratio is outpost's figure over the bare bot's (issue 17's
target: at most 1.3). Linux only: it reads ``/proc``.

Run from the repository root:

    .venv/bin/python bench/memory.py
    .venv/bin/python bench/memory.py --idle 5
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import asyncio
import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass

HERE = Path(__file__).resolve()
MB = 2**20
SAMPLE_SECONDS = 0.5
# A loaded machine (the test suite beside it) may take a while to start a bot.
START_SECONDS = 60.0
STOP_SECONDS = 20.0
# What the bare bot prints once aiogram polls, and the outpost runtime logs.
BARE_READY = "bare bot polling"
OUTPOST_READY = "polling for updates"


@dataclass(frozen=True)
class Rss:
    """One bot's memory, in bytes: at the end of the idle period, the most read while
    idle, and the peak since the process started."""

    name: str
    end: int
    idle_max: int
    peak: int

    def line(self) -> str:
        return (
            f"{self.name}: RSS {self.end / MB:.1f} MB after the idle period "
            f"(max {self.idle_max / MB:.1f} MB while idle; peak {self.peak / MB:.1f} MB "
            "since start)"
        )


@dataclass(frozen=True)
class Result:
    idle: float
    outpost: Rss
    bare: Rss

    @property
    def ratio(self) -> float:
        return self.outpost.end / self.bare.end

    def line(self) -> str:
        return (
            f"MEMORY outpost {round(self.outpost.end / MB)} MB "
            f"bare-aiogram {round(self.bare.end / MB)} MB ratio {self.ratio:.2f}"
        )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument(
        "--idle",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="how long each bot is left idle before its RSS is read (default: %(default)s)",
    )
    # The bare bot itself, as the benchmark starts it; not for use by hand.
    p.add_argument("--bare-bot", action="store_true", help=argparse.SUPPRESS)
    return p


def status_bytes(pid: int, field: str) -> int:
    """A ``kB`` field of ``/proc/<pid>/status`` (``VmRSS``, ``VmHWM``), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name == field:
            return int(value.split()[0]) * 1024
    raise LookupError(f"no {field} in /proc/{pid}/status")


async def idle_rss(name: str, process: subprocess.Popen[bytes], seconds: float) -> Rss:
    """Leave the process alone for ``seconds``, reading its RSS as it goes."""
    deadline = time.monotonic() + seconds
    most = status_bytes(process.pid, "VmRSS")
    while (left := deadline - time.monotonic()) > 0:
        await asyncio.sleep(min(SAMPLE_SECONDS, left))
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited ({process.returncode}) while idle")
        most = max(most, status_bytes(process.pid, "VmRSS"))
    end = status_bytes(process.pid, "VmRSS")
    return Rss(name, end, max(most, end), status_bytes(process.pid, "VmHWM"))


async def wait_for_line(process: subprocess.Popen[bytes], log: Path, text: str) -> None:
    deadline = time.monotonic() + START_SECONDS
    while text not in (said := await asyncio.to_thread(log.read_text, errors="replace")):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"no {text!r} from the bot (exit {process.poll()}):\n{said[-3000:]}")
        await asyncio.sleep(0.05)


async def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, as a supervisor stops a bot; SIGKILL if it is not gone in time."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(asyncio.to_thread(process.wait), STOP_SECONDS)
    except TimeoutError:
        process.kill()
        await asyncio.to_thread(process.wait)


async def run_outpost(workdir: Path, api_url: str, idle: float) -> tuple[Rss, dict[str, str]]:
    """``outpost run`` idle; also the environment it was given, for the bare bot."""
    from tests.e2e.harness import BotProcess

    # As in production: no check on the Bot API calls made inside a transaction.
    bot = BotProcess(workdir, api_url, env={"OUTPOST_GUARD_CALLS": "0"})
    await asyncio.to_thread(bot.migrate)
    await bot.start(OUTPOST_READY)
    assert bot.process is not None
    try:
        rss = await idle_rss("outpost", bot.process, idle)
    finally:
        await stop(bot.process)
    return rss, bot.environment()


async def run_bare(workdir: Path, env: dict[str, str], idle: float) -> Rss:
    log = workdir / "bare-bot.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: ASYNC220 -- returns at once; the waits are async
            [sys.executable, str(HERE), "--bare-bot"],
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        await wait_for_line(process, log, BARE_READY)
        return await idle_rss("bare-aiogram", process, idle)
    finally:
        await stop(process)


async def measure(argv: list[str] | None = None) -> Result:
    from sandbox.server import Sandbox, SandboxConfig

    args = parser().parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="outpost-memory-") as tmp:
        async with Sandbox(SandboxConfig(port=0)) as sandbox:
            outpost, env = await run_outpost(Path(tmp), sandbox.url, args.idle)
            bare = await run_bare(Path(tmp), env, args.idle)
    result = Result(args.idle, outpost, bare)
    print(f"each bot idle {args.idle:g} s against the sandbox, RSS from /proc/<pid>/status")
    print(outpost.line())
    print(bare.line())
    print(result.line(), flush=True)
    return result


async def bare_bot() -> None:
    """A Dispatcher with one echo handler, polling TELEGRAM_API_URL as BOT_TOKEN."""
    from aiogram import Bot, Dispatcher
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.types import Message

    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "…")

    async def polling(bot: Bot) -> None:
        # The bot has asked who it is; aiogram's next call is its first getUpdates.
        await bot.me()
        print(BARE_READY, flush=True)

    dp.startup.register(polling)
    api = TelegramAPIServer.from_base(os.environ["TELEGRAM_API_URL"])
    bot = Bot(os.environ["BOT_TOKEN"], session=AiohttpSession(api=api))
    await dp.start_polling(bot)


def main(argv: list[str] | None = None) -> int:
    if parser().parse_args(argv).bare_bot:
        asyncio.run(bare_bot())
        return 0
    asyncio.run(measure(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
