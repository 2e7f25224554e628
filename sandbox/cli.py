"""``outpost sandbox`` / ``python -m sandbox``: the sandbox alone, until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from sandbox.server import Sandbox, SandboxConfig


def _parser() -> argparse.ArgumentParser:
    defaults = SandboxConfig()
    parser = argparse.ArgumentParser(
        prog="sandbox",
        description="A local stand-in for the Telegram Bot API (see sandbox/README.md).",
    )
    parser.add_argument("--host", default=defaults.host, help="address to listen on")
    parser.add_argument(
        "--port", type=int, default=defaults.port, help="port to listen on (0: any free one)"
    )
    parser.add_argument("--bot-username", default=defaults.bot_username, help="the bot's @username")
    parser.add_argument(
        "--no-limits", action="store_true", help="do not enforce Telegram's flood limits"
    )
    parser.add_argument(
        "--latency",
        type=float,
        default=defaults.latency,
        metavar="SECONDS",
        help="seconds added to every Bot API call, to imitate real round trips",
    )
    parser.add_argument(
        "--callback-answer-window",
        type=float,
        default=defaults.callback_answer_timeout,
        metavar="SECONDS",
        help="answers to a callback query later than this after the press are refused "
        "as too old (default: %(default)s, as Telegram in practice)",
    )
    parser.add_argument(
        "--fault-seed",
        type=int,
        default=defaults.fault_seed,
        metavar="N",
        help="seed for faults injected with a probability (default: %(default)s)",
    )
    parser.add_argument(
        "--state",
        metavar="FILE",
        help="keep the world in FILE between runs (loaded at start, saved while running)",
    )
    return parser


async def _serve(config: SandboxConfig) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # not on Windows
            loop.add_signal_handler(sig, stop.set)
    async with Sandbox(config) as sandbox:
        print(f"sandbox listening on {sandbox.url}", flush=True)
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.latency < 0:
        print("sandbox: --latency must not be negative", file=sys.stderr)
        return 2
    if args.callback_answer_window <= 0:
        print("sandbox: --callback-answer-window must be positive", file=sys.stderr)
        return 2
    config = SandboxConfig(
        host=args.host,
        port=args.port,
        bot_username=args.bot_username.lstrip("@"),
        limits=not args.no_limits,
        latency=args.latency,
        callback_answer_timeout=args.callback_answer_window,
        fault_seed=args.fault_seed,
        state_file=args.state,
    )
    try:
        asyncio.run(_serve(config))
    except OSError as exc:
        print(f"sandbox: cannot listen on {config.host}:{config.port}: {exc}", file=sys.stderr)
        return 1
    return 0
