from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from sandbox.server import Sandbox, SandboxConfig
from tests.e2e.harness import BotProcess, Control


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(SandboxConfig(port=0)) as running:
        yield running


@pytest.fixture
async def control(sandbox: Sandbox) -> AsyncIterator[Control]:
    async with aiohttp.ClientSession() as http:
        yield Control(sandbox.url, http)


@pytest.fixture
async def bot(tmp_path: Path, sandbox: Sandbox) -> AsyncIterator[BotProcess]:
    process = BotProcess(tmp_path, sandbox.url)
    process.migrate()
    yield process
    if process.process is not None and process.process.poll() is None:
        process.process.kill()
        process.process.wait(10)
