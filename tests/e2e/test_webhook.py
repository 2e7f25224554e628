"""Webhook mode: Telegram pushes updates with the secret; anyone else is refused."""

from __future__ import annotations

import asyncio

import aiohttp

from tests.e2e.harness import BotProcess, Control, Person, bot_said, free_port, text_of

SECRET = "e2e-webhook-secret"


async def test_webhook_mode_with_the_secret_and_without(control: Control, bot: BotProcess) -> None:
    port = free_port()
    hook = f"http://127.0.0.1:{port}/telegram/hook"
    bot.env.update(
        WEBHOOK_URL=hook, WEBHOOK_SECRET=SECRET, WEBHOOK_HOST="127.0.0.1", WEBHOOK_PORT=str(port)
    )
    await bot.start(ready="webhook listening")
    info = await control._call("GET", "/sandbox/bot")
    assert info["webhook"]["url"] == hook
    assert info["webhook"]["secret_token"] == SECRET

    await control.user(4001, "Wendy")
    wendy = Person(control, 4001, "Wendy", 4001)
    await wendy.say("/help")
    await wendy.expect("")  # any answer: the update came by webhook and was handled

    # A forged update straight to the bot: refused, and nothing happens.
    await control.user(4002, "Mallory")
    forged = {
        "update_id": 999_999,
        "message": {
            "message_id": 1,
            "date": 1_795_000_000,
            "chat": {"id": 4002, "type": "private", "first_name": "Mallory"},
            "from": {"id": 4002, "is_bot": False, "first_name": "Mallory"},
            "text": "/help",
            "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
        },
    }
    async with aiohttp.ClientSession() as http:
        for headers in ({"X-Telegram-Bot-Api-Secret-Token": "guess"}, {}):
            async with http.post(hook, json=forged, headers=headers) as response:
                assert response.status == 401
        await asyncio.sleep(1.0)
        assert bot_said(await control.messages(4002)) == []
        # The very same update with the secret is handled: the secret was the only reason.
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        async with http.post(hook, json=forged, headers=headers) as response:
            assert response.status == 200
    # 200 came once the update committed; the answer follows it (decide, commit, speak).
    for _ in range(200):
        if bot_said(await control.messages(4002)):
            break
        await asyncio.sleep(0.05)
    assert [text_of(m) for m in bot_said(await control.messages(4002))] != []
    assert await bot.terminate() == 0
    refused = [e for e in bot.lines() if "refused" in str(e.get("msg"))]
    assert len(refused) == 2
