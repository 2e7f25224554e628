"""A webhook retry of an update still in hand in this process (bot.middlewares.dedupe):
answered once the first delivery has ended, not at once; handled again if it failed."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from aiogram.types import Update

from bot.middlewares.dedupe import UpdateDedupe

BOT = SimpleNamespace(id=42)


async def test_a_retry_waits_for_the_delivery_in_hand() -> None:
    dedupe = UpdateDedupe()
    release = asyncio.Event()
    handled: list[str] = []

    async def slow(event: Any, data: dict[str, Any]) -> str:
        await release.wait()
        handled.append("first")
        return "done"

    async def again(event: Any, data: dict[str, Any]) -> str:
        handled.append("again")
        return "done again"

    update = Update(update_id=7)
    first = asyncio.create_task(dedupe(slow, update, {"bot": BOT}))
    await asyncio.sleep(0)
    retry = asyncio.create_task(dedupe(again, update, {"bot": BOT}))
    await asyncio.sleep(0.05)
    # Not answered while the first is in hand: Telegram would move on to the next.
    assert not retry.done()
    release.set()
    assert await first == "done"
    # Then answered as handled, without handling it twice.
    assert await retry is None
    assert handled == ["first"]


async def test_a_retry_handles_the_update_when_the_first_delivery_failed() -> None:
    dedupe = UpdateDedupe()
    release = asyncio.Event()

    async def failing(event: Any, data: dict[str, Any]) -> str:
        await release.wait()
        raise RuntimeError("the database went away")

    async def works(event: Any, data: dict[str, Any]) -> str:
        return "handled by the retry"

    update = Update(update_id=8)
    first = asyncio.create_task(dedupe(failing, update, {"bot": BOT}))
    await asyncio.sleep(0)
    retry = asyncio.create_task(dedupe(works, update, {"bot": BOT}))
    release.set()
    with pytest.raises(RuntimeError):
        await first
    assert await retry == "handled by the retry"
    # And a later one is dropped: it was handled.
    assert await dedupe(works, update, {"bot": BOT}) is None
