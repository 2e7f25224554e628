"""Webhook delivery: pushed in order with the secret header, retried, dropped, answered."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import MultipartWriter, web

from tests.sandbox.conftest import Client, eventually


@dataclass
class Receiver:
    """A tiny bot webhook: records every push, answers with the statuses it is told."""

    url: str = ""
    pushes: list[tuple[dict[str, Any], str | None]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    reply: Callable[[dict[str, Any]], web.Response] | None = None

    async def handle(self, request: web.Request) -> web.Response:
        update = await request.json()
        self.pushes.append((update, request.headers.get("X-Telegram-Bot-Api-Secret-Token")))
        status = self.statuses.pop(0) if self.statuses else 200
        if status == 200 and self.reply is not None:
            return self.reply(update)
        return web.Response(status=status)

    async def received(self, count: int) -> None:
        async def enough() -> bool:
            return len(self.pushes) >= count

        await eventually(enough)

    @property
    def ids(self) -> list[int]:
        return [update["update_id"] for update, _ in self.pushes]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver()
    app = web.Application()
    app.router.add_post("/hook", hook.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    hook.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    yield hook
    await runner.cleanup()


async def test_updates_are_pushed_with_the_secret_and_confirmed(
    client: Client, receiver: Receiver
) -> None:
    alice = await client.user()
    early = await client.say(alice, "before the webhook")  # pending updates are pushed too
    status, answer = await client.api("setWebhook", url=receiver.url, secret_token="s3cret_-X")
    assert (status, answer["description"]) == (200, "Webhook was set")
    late = await client.say(alice, "after")
    await receiver.received(2)
    assert receiver.ids == [early["update_id"], late["update_id"]]
    assert {secret for _, secret in receiver.pushes} == {"s3cret_-X"}
    assert receiver.pushes[1][0]["message"]["text"] == "after"
    info = await client.ok("getWebhookInfo")
    assert (info["url"], info["pending_update_count"]) == (receiver.url, 0)
    log = (await client.get("/sandbox/updates"))[1]["updates"]
    assert [(u["confirmed"], u["attempts"]) for u in log] == [(True, 1), (True, 1)]


async def test_a_failed_push_is_retried_in_order(client: Client, receiver: Receiver) -> None:
    alice = await client.user()
    receiver.statuses = [500, 502]
    await client.ok("setWebhook", url=receiver.url)  # no secret, no header
    first = await client.say(alice, "one")
    second = await client.say(alice, "two")
    await receiver.received(4)
    # The second update waits until the first got its 2xx.
    assert receiver.ids == [first["update_id"]] * 3 + [second["update_id"]]
    assert {secret for _, secret in receiver.pushes} == {None}
    info = await client.ok("getWebhookInfo")
    assert info["last_error_message"] == "Wrong response from the webhook: 502 Bad Gateway"
    log = (await client.get("/sandbox/updates"))[1]["updates"]
    assert [(u["attempts"], u["confirmed"]) for u in log] == [(3, True), (1, True)]


async def test_an_unreachable_webhook_is_retried_then_the_update_dropped(client: Client) -> None:
    alice = await client.user()
    await client.control("/sandbox/limits", {"webhook_max_attempts": 3})
    with socket.socket() as probe:  # a port nobody listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    await client.ok("setWebhook", url=f"http://127.0.0.1:{port}/closed")
    said = await client.say(alice, "lost")

    async def record() -> dict[str, Any]:
        return dict((await client.get("/sandbox/updates"))[1]["updates"][0])

    async def dropped_yet() -> bool:
        return bool((await record())["dropped"])

    await eventually(dropped_yet)
    dropped = await record()
    assert (dropped["update_id"], dropped["attempts"], dropped["confirmed"]) == (
        said["update_id"],
        3,
        False,
    )
    assert dropped["last_error"].startswith("Connection refused")
    info = await client.ok("getWebhookInfo")
    assert info["pending_update_count"] == 0
    assert info["last_error_message"].startswith("Connection refused")


async def test_a_method_in_the_webhook_answer_is_performed(
    client: Client, receiver: Receiver
) -> None:
    alice = await client.user()

    def as_json(update: dict[str, Any]) -> web.Response:
        chat = update["message"]["chat"]["id"]
        return web.json_response({"method": "sendMessage", "chat_id": chat, "text": "pong"})

    def as_multipart(update: dict[str, Any]) -> web.Response:
        # How aiogram's webhook handler answers with a method.
        writer = MultipartWriter("form-data", boundary="webhookBoundaryX")
        for name, value in (
            ("method", "sendMessage"),
            ("chat_id", str(update["message"]["chat"]["id"])),
            ("text", "<b>pong</b>"),
            ("parse_mode", "HTML"),
        ):
            part = writer.append(value)
            part.set_content_disposition("form-data", name=name)
        return web.Response(body=writer)

    receiver.reply = as_json
    await client.ok("setWebhook", url=receiver.url)
    await client.say(alice, "ping")
    await receiver.received(1)
    receiver.reply = as_multipart
    await client.say(alice, "ping again")
    await receiver.received(2)

    async def answered() -> bool:
        return len(await client.messages(alice)) == 4

    await eventually(answered)
    shown = [(m["from_bot"], m["text"]) for m in await client.messages(alice)]
    assert shown == [(False, "ping"), (True, "pong"), (False, "ping again"), (True, "pong")]
    logged = await client.requests("?method=sendMessage")
    assert [r["params"]["text"] for r in logged] == ["pong", "<b>pong</b>"]


async def test_webhook_settings_are_checked(client: Client, receiver: Receiver) -> None:
    alice = await client.user()
    assert await client.error("setWebhook", url="ftp://example.org/hook") == (
        400,
        "Bad Request: bad webhook: an HTTP or HTTPS URL must be provided for webhook",
    )
    assert await client.error("setWebhook", url=receiver.url, secret_token="no spaces") == (
        400,
        "Bad Request: secret token contains unallowed characters",
    )
    await client.say(alice, "stale")
    await client.ok("setWebhook", url="http://127.0.0.1:9/closed", drop_pending_updates=True)
    _status, answer = await client.api("setWebhook", url="http://127.0.0.1:9/closed")
    assert answer["description"] == "Webhook is already set"
    await client.ok("deleteWebhook")
    assert (await client.api("deleteWebhook"))[1]["description"] == "Webhook is already deleted"
    await client.say(alice, "fresh")
    # Once deleted, updates wait for getUpdates again; the dropped one never comes.
    assert [u["message"]["text"] for u in await client.ok("getUpdates")] == ["fresh"]
    log = (await client.get("/sandbox/updates"))[1]["updates"]
    assert [(json.dumps(u["update"]["message"]["text"]), u["dropped"]) for u in log] == [
        ('"stale"', True),
        ('"fresh"', False),
    ]


async def test_a_redelivered_update_is_pushed_again(client: Client, receiver: Receiver) -> None:
    alice = await client.user()
    await client.ok("setWebhook", url=receiver.url, secret_token="s")
    said = await client.say(alice, "/start")
    await receiver.received(1)
    await client.control("/sandbox/redeliver", {"update_id": said["update_id"]})
    await receiver.received(2)
    assert receiver.pushes[1] == receiver.pushes[0]
    (record,) = (await client.get("/sandbox/updates"))[1]["updates"]
    assert (record["deliveries"], record["confirmed"]) == (2, True)


async def test_a_string_utf8_cannot_hold_is_pushed_as_a_json_escape(
    client: Client, receiver: Receiver
) -> None:
    await client.ok("setWebhook", url=receiver.url)
    odd = {"message": {"text": "lone \ud800 half, NUL \x00, 汉字"}}
    await client.control("/sandbox/updates", {"update": odd})
    await receiver.received(1)
    assert receiver.pushes[0][0]["message"] == odd["message"]
    log = (await client.get("/sandbox/updates"))[1]["updates"]
    assert [(u["confirmed"], u["attempts"]) for u in log] == [(True, 1)]
