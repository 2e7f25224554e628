"""`python -m sandbox` (and `outpost sandbox`, which calls sandbox.cli.main)."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys

import aiohttp
import pytest

from sandbox.cli import main
from tests.sandbox.conftest import TOKEN

HANG = 20


async def test_the_module_serves_until_sigterm() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sandbox",
        "--port",
        "0",
        "--bot-username",
        "@demo_bot",
        "--no-limits",
        "--latency",
        "0",
        "--callback-answer-window",
        "3",
        "--fault-seed",
        "7",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), HANG)).decode()
        assert line.startswith("sandbox listening on http://127.0.0.1:")
        url = line.split()[-1]
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{url}/bot{TOKEN}/getMe") as resp,
        ):
            assert (await resp.json())["result"]["username"] == "demo_bot"
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{url}/sandbox/limits") as resp:
                limits = await resp.json()
            assert (limits["enabled"], limits["callback_answer_timeout"]) == (False, 3.0)
            fault = {"method": "getMe", "status": 500, "probability": 0.5}
            async with http.post(f"{url}/sandbox/faults", json=fault) as resp:
                assert (await resp.json())["seed"] == 7 * 1_000_003 + 1
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), HANG) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def test_a_busy_port_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["--port", str(port)]) == 1
    assert f"sandbox: cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def test_a_negative_latency_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--latency", "-1"]) == 2
    assert "--latency must not be negative" in capsys.readouterr().err


def test_a_callback_answer_window_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--callback-answer-window", "0"]) == 2
    assert "--callback-answer-window must be positive" in capsys.readouterr().err
