"""Webhook pushes as telegram-bot-api makes them: one update at a time per queue (a
chat's messages, a user's presses), queues at once up to max_connections; and a long
poll ended with 409 when the same bot polls again.

The webhook here holds every push until the test answers it, so what is in flight at
once is seen, never guessed from timings. The sandbox, the webhook and the test share
one event loop.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import telegram
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramConflictError
from aiohttp import web
from telegram.error import Conflict

from sandbox.delivery import TERMINATED, queue_of
from sandbox.records import UpdateRecord
from sandbox.server import SandboxConfig
from tests.sandbox.conformance import TOKEN as CONFORMANCE_TOKEN
from tests.sandbox.conformance import Stage, open_stage
from tests.sandbox.conftest import BOT_ID, Client, eventually

HANG = 20  # bounds a hang only; nothing here depends on how fast anything is
CARD = {"inline_keyboard": [[{"text": "Take", "callback_data": "take:1"}]]}


@dataclass
class Push:
    update: dict[str, Any]
    queue: str
    answer: asyncio.Future[int]

    @property
    def update_id(self) -> int:
        return int(self.update["update_id"])

    @property
    def text(self) -> str | None:
        message = self.update.get("message") or {}
        return message.get("text")

    def reply(self, status: int = 200) -> None:
        self.answer.set_result(status)


def numbered(update_id: int) -> Callable[[Push], bool]:
    return lambda push: push.update_id == update_id


def queue_key(update: dict[str, Any]) -> str:
    """The queue the test expects an update in, worked out apart from the sandbox's."""
    if "message" in update:
        return f"chat {update['message']['chat']['id']}"
    if "callback_query" in update:
        return f"presses of {update['callback_query']['from']['id']}"
    return f"update {update['update_id']}"


@dataclass
class HoldingHook:
    """A bot's webhook that answers each push only when the test says (``reply``), and
    notes how many it held at once: overall, per queue, and over how many connections."""

    url: str = ""
    pushes: list[Push] = field(default_factory=list)
    in_flight: int = 0
    most_in_flight: int = 0
    per_queue: Counter[str] = field(default_factory=Counter)
    # Queues that ever had two pushes in flight at once (none should).
    doubled: list[str] = field(default_factory=list)
    connections: set[Any] = field(default_factory=set)
    arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def handle(self, request: web.Request) -> web.Response:
        update = await request.json()
        push = Push(update, queue_key(update), asyncio.get_running_loop().create_future())
        self.connections.add(
            request.transport.get_extra_info("peername") if request.transport else None
        )
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        if self.per_queue[push.queue]:
            self.doubled.append(push.queue)
        self.per_queue[push.queue] += 1
        async with self.arrived:
            self.pushes.append(push)
            self.arrived.notify_all()
        try:
            status = await push.answer
        finally:
            self.in_flight -= 1
            self.per_queue[push.queue] -= 1
        return web.Response(status=status)

    async def wait_for(self, count: int) -> list[Push]:
        """Once ``count`` pushes have arrived (answered or not): all that arrived."""

        async def enough() -> None:
            async with self.arrived:
                await self.arrived.wait_for(lambda: len(self.pushes) >= count)

        await asyncio.wait_for(enough(), HANG)
        return list(self.pushes)

    async def next_where(self, wanted: Callable[[Push], bool], after: int = 0) -> Push:
        """The first push past the first ``after`` that ``wanted`` picks, once it came."""

        def found() -> Push | None:
            return next((p for p in self.pushes[after:] if wanted(p)), None)

        async def arrival() -> Push:
            async with self.arrived:
                await self.arrived.wait_for(lambda: found() is not None)
            push = found()
            assert push is not None
            return push

        return await asyncio.wait_for(arrival(), HANG)

    def held(self) -> list[Push]:
        return [p for p in self.pushes if not p.answer.done()]

    def release_all(self) -> None:
        for push in self.held():
            push.reply()


@pytest.fixture
async def hook() -> AsyncIterator[HoldingHook]:
    holding = HoldingHook()
    app = web.Application()
    app.router.add_post("/hook", holding.handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    holding.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        yield holding
    finally:
        holding.release_all()  # nothing held keeps the sandbox's shutdown waiting
        await runner.cleanup()


async def attempts(client: Client) -> dict[int, int]:
    """update_id -> webhook pushes the sandbox has begun for it."""
    status, answer = await client.get("/sandbox/updates")
    assert status == 200, answer
    return {u["update_id"]: u["attempts"] for u in answer["updates"]}


async def pending(client: Client) -> int:
    return int((await client.ok("getWebhookInfo"))["pending_update_count"])


# ---- queues in parallel, up to max_connections -----------------------------------------


@pytest.mark.parametrize(("max_connections", "chats"), [(None, 45), (3, 5)])
async def test_different_chats_are_pushed_at_once_up_to_max_connections(
    client: Client, hook: HoldingHook, max_connections: int | None, chats: int
) -> None:
    limit = max_connections or 40  # Telegram's default
    people = [await client.user(f"P{i}") for i in range(chats)]
    said = [await client.say(person, f"hello {i}") for i, person in enumerate(people)]
    settings = {} if max_connections is None else {"max_connections": max_connections}
    await client.ok("setWebhook", url=hook.url, **settings)
    assert (await client.ok("getWebhookInfo"))["max_connections"] == limit

    first = await hook.wait_for(limit)
    # Every push the sandbox began has counted an attempt by now (one loop runs both):
    # exactly ``limit`` of them, the oldest, and the rest wait for a free connection.
    tried = await attempts(client)
    assert sorted(u for u, n in tried.items() if n) == [s["update_id"] for s in said[:limit]]
    assert len(hook.held()) == hook.most_in_flight == limit
    assert await pending(client) == chats

    # Each answer frees a connection for the next chat, never more than the limit.
    for push in first:
        push.reply()
    await hook.wait_for(chats)
    hook.release_all()

    async def all_confirmed() -> bool:
        return await pending(client) == 0

    await eventually(all_confirmed)
    assert sorted(p.update_id for p in hook.pushes) == [s["update_id"] for s in said]
    assert hook.most_in_flight == limit
    assert hook.doubled == []
    # Over a pool of at most that many connections, kept alive between pushes.
    assert len(hook.connections) <= limit
    log = (await client.get("/sandbox/updates"))[1]["updates"]
    assert {(u["attempts"], u["deliveries"], u["confirmed"]) for u in log} == {(1, 1, True)}


async def test_one_chat_is_pushed_one_update_at_a_time_in_order(
    client: Client, hook: HoldingHook
) -> None:
    alice = await client.user("Alice")
    bob = await client.user("Bob")
    office = await client.group({alice: "creator", bob: "member"})
    card = await client.ok("sendMessage", chat_id=office, text="WZ-1", reply_markup=CARD)
    await client.ok("setWebhook", url=hook.url)
    said = [
        await client.say(speaker, f"#{n}", office)
        for n, speaker in enumerate((alice, bob, alice, bob))
    ]
    # A press is the presser's queue, not the chat's: it goes alongside the messages.
    pressed = await client.control(
        "/sandbox/callbacks",
        {"from_id": alice, "chat_id": office, "message_id": card["message_id"], "data": "take:1"},
    )

    # Held unanswered while the chat's messages go one by one.
    press = await hook.next_where(lambda p: "callback_query" in p.update)
    assert press.update_id == pressed["update_id"]
    for n, expected in enumerate(said):
        push = await hook.next_where(numbered(expected["update_id"]))
        # While it is held, the chat's later messages are not begun.
        tried = await attempts(client)
        assert [tried[s["update_id"]] for s in said] == [1] * (n + 1) + [0] * (3 - n)
        push.reply()
    press.reply()
    await eventually(lambda: _no_pending(client))
    assert [p.text for p in hook.pushes if p.text] == ["#0", "#1", "#2", "#3"]
    assert hook.doubled == []


async def test_a_failing_chat_keeps_its_order_and_holds_up_no_other(
    client: Client, hook: HoldingHook
) -> None:
    alice = await client.user("Alice")
    bob = await client.user("Bob")
    await client.ok("setWebhook", url=hook.url)
    a1 = (await client.say(alice, "a1"))["update_id"]
    a2 = (await client.say(alice, "a2"))["update_id"]
    b1 = (await client.say(bob, "b1"))["update_id"]
    b2 = (await client.say(bob, "b2"))["update_id"]

    first_a1 = await hook.next_where(numbered(a1))
    first_b1 = await hook.next_where(numbered(b1))
    first_a1.reply(500)
    # a1 is tried again (after webhook_retry_delay); that try is held, unanswered.
    retried_a1 = await hook.next_where(numbered(a1), after=hook.pushes.index(first_a1) + 1)

    # Bob's chat carries on all the while.
    first_b1.reply()
    (await hook.next_where(numbered(b2))).reply()

    async def bob_done() -> bool:
        tried = await attempts(client)
        return (tried[b2], await pending(client)) == (1, 2)  # a1 and a2 still to come

    await eventually(bob_done)
    # Alice's a2 waits behind a1: never begun while a1 is unconfirmed.
    assert (await attempts(client))[a2] == 0
    info = await client.ok("getWebhookInfo")
    assert (
        info["last_error_message"] == "Wrong response from the webhook: 500 Internal Server Error"
    )

    retried_a1.reply()
    (await hook.next_where(numbered(a2))).reply()
    await eventually(lambda: _no_pending(client))
    by_chat: dict[int, list[int]] = {}
    for push in hook.pushes:
        by_chat.setdefault(push.update["message"]["chat"]["id"], []).append(push.update_id)
    assert by_chat == {alice: [a1, a1, a2], bob: [b1, b2]}
    log = {u["update_id"]: u for u in (await client.get("/sandbox/updates"))[1]["updates"]}
    assert [(log[u]["attempts"], log[u]["confirmed"]) for u in (a1, a2, b1, b2)] == [
        (2, True),
        (1, True),
        (1, True),
        (1, True),
    ]
    assert hook.doubled == []


async def test_a_chat_waiting_to_retry_holds_up_no_other(client: Client, hook: HoldingHook) -> None:
    # So long a wait that the retry never comes within the test.
    await client.control("/sandbox/limits", {"webhook_retry_delay": 3600})
    alice = await client.user("Alice")
    bob = await client.user("Bob")
    await client.ok("setWebhook", url=hook.url)
    a1 = (await client.say(alice, "a1"))["update_id"]
    a2 = (await client.say(alice, "a2"))["update_id"]
    b1 = (await client.say(bob, "b1"))["update_id"]
    b2 = (await client.say(bob, "b2"))["update_id"]
    (await hook.next_where(numbered(a1))).reply(503)
    (await hook.next_where(numbered(b1))).reply()
    (await hook.next_where(numbered(b2))).reply()

    async def only_alice_left() -> bool:
        return await pending(client) == 2

    await eventually(only_alice_left)
    tried = await attempts(client)
    assert [tried[u] for u in (a1, a2, b1, b2)] == [1, 0, 1, 1]
    assert [p.update_id for p in hook.pushes if p.update["message"]["chat"]["id"] == alice] == [a1]


async def _no_pending(client: Client) -> bool:
    return await pending(client) == 0


async def test_a_dropped_update_lets_its_chat_move_on(client: Client, hook: HoldingHook) -> None:
    await client.control("/sandbox/limits", {"webhook_max_attempts": 2})
    alice = await client.user("Alice")
    await client.ok("setWebhook", url=hook.url)
    lost = (await client.say(alice, "lost"))["update_id"]
    kept = (await client.say(alice, "kept"))["update_id"]
    (await hook.wait_for(1))[0].reply(502)
    (await hook.wait_for(2))[1].reply(502)
    (await hook.wait_for(3))[2].reply()
    await eventually(lambda: _no_pending(client))
    assert [p.update_id for p in hook.pushes] == [lost, lost, kept]
    log = {u["update_id"]: u for u in (await client.get("/sandbox/updates"))[1]["updates"]}
    assert (log[lost]["dropped"], log[lost]["attempts"], log[lost]["confirmed"]) == (True, 2, False)
    assert log[lost]["last_error"] == "Wrong response from the webhook: 502 Bad Gateway"
    assert (log[kept]["dropped"], log[kept]["confirmed"]) == (False, True)


def test_queues_follow_telegram_bot_api() -> None:
    def queue(kind: str, body: Any, update_id: int = 7) -> tuple[str, int | str]:
        return queue_of(UpdateRecord(update_id, kind, {"update_id": update_id, kind: body}, 0.0))

    chat = {"chat": {"id": -100}, "from": {"id": 5}}
    assert queue("message", chat) == queue("edited_message", chat) == ("chat", -100)
    assert queue("my_chat_member", chat) == ("my_chat_member", -100)
    assert queue("callback_query", {"from": {"id": 5}}) == ("callback_query", 5)
    assert queue("chat_join_request", chat) == ("member", 5)
    assert queue("chat_member", {"new_chat_member": {"user": {"id": 6}}}) == ("member", 6)
    assert queue("poll_answer", {"poll_id": "p1"}) == queue("poll", {"id": "p1"})
    # Anything else, or too malformed to tell, is a queue of its own.
    assert queue("business_connection", {"id": "b"}) == ("update", 7)
    assert queue("message", {"chat": {"id": True}}, 8) == ("update", 8)
    assert queue("message", "not an object", 9) == ("update", 9)


# ---- two getUpdates at once -------------------------------------------------------------


async def _polling(client: Client, bot: str = str(BOT_ID)) -> None:
    async def begun() -> bool:
        return client.world.latest_poll(bot) is not None

    await eventually(begun)


async def test_a_waiting_long_poll_ends_with_409_when_another_arrives(client: Client) -> None:
    alice = await client.user()
    waiting = asyncio.create_task(client.api("getUpdates", timeout=30))
    await _polling(client)
    newer = asyncio.create_task(client.api("getUpdates", timeout=30))
    assert await asyncio.wait_for(waiting, HANG) == (
        409,
        {"ok": False, "error_code": 409, "description": TERMINATED},
    )
    # The newer one goes on waiting, and gets what comes.
    said = await client.say(alice, "hi")
    status, answer = await asyncio.wait_for(newer, HANG)
    assert status == 200
    assert [u["update_id"] for u in answer["result"]] == [said["update_id"]]
    logged = await client.requests("?method=getUpdates")
    assert [(r["status"], r["error"]) for r in logged] == [(409, TERMINATED), (200, None)]


async def test_a_poll_that_returned_is_not_terminated_and_other_bots_are_apart(
    client: Client,
) -> None:
    assert await client.ok("getUpdates") == []
    assert await client.ok("getUpdates") == []  # one after the other: no conflict
    other = "43:OTHER-TOKEN-abcdefghijklmnopqrstuvwxyz"
    theirs = asyncio.create_task(client.api("getUpdates", token=other, timeout=30))
    await _polling(client, "43")
    assert await client.ok("getUpdates", timeout=0) == []
    assert not theirs.done()
    assert await client.api("getUpdates", token=other, timeout=0) == (
        200,
        {"ok": True, "result": []},
    )
    assert (await asyncio.wait_for(theirs, HANG))[0] == 409


@pytest.fixture
async def stage() -> AsyncIterator[Stage]:
    async with open_stage() as opened:
        yield opened


async def _stage_polling(stage: Stage) -> None:
    bot_id = CONFORMANCE_TOKEN.partition(":")[0]

    async def begun() -> bool:
        return stage.sandbox.state.latest_poll(bot_id) is not None

    await eventually(begun)


async def test_aiogram_sees_the_conflict(stage: Stage) -> None:
    # Two instances of one bot, as when an old process is still polling.
    sessions = [AiohttpSession(api=TelegramAPIServer.from_base(stage.url)) for _ in range(2)]
    old, new = (Bot(CONFORMANCE_TOKEN, session=session) for session in sessions)
    try:
        waiting = asyncio.create_task(old.get_updates(timeout=30))
        await _stage_polling(stage)
        assert await new.get_updates(timeout=0) == []
        with pytest.raises(TelegramConflictError) as conflict:
            await asyncio.wait_for(waiting, HANG)
        assert conflict.value.message == TERMINATED
    finally:
        for session in sessions:
            await session.close()


async def test_python_telegram_bot_sees_the_conflict(stage: Stage) -> None:
    # Two instances: one telegram.Bot polls over a single connection, never twice at once.
    old, new = (
        telegram.Bot(
            CONFORMANCE_TOKEN, base_url=f"{stage.url}/bot", base_file_url=f"{stage.url}/file/bot"
        )
        for _ in range(2)
    )
    async with old, new:
        waiting = asyncio.create_task(old.get_updates(timeout=30))
        await _stage_polling(stage)
        assert await new.get_updates(timeout=0) == ()
        with pytest.raises(Conflict) as conflict:
            await asyncio.wait_for(waiting, HANG)
        assert conflict.value.message == TERMINATED


# ---- the request log, for a bench -------------------------------------------------------


@pytest.mark.parametrize("config", [SandboxConfig(port=0, limits=True, group_per_minute=1)])
async def test_the_log_says_when_each_call_came_and_how_it_was_answered(
    client: Client, config: SandboxConfig
) -> None:
    alice = await client.user("Alice")
    office = await client.group({alice: "creator"})
    before = time.time()
    await client.ok("sendMessage", chat_id=office, text="one")
    status, _answer = await client.api("sendMessage", chat_id=office, text="two")
    after = time.time()
    assert status == 429
    logged = await client.requests("?method=sendMessage")
    assert [set(r) for r in logged] == [
        {"seq", "method", "params", "status", "ok", "error", "at", "fault", "fault_id",
         "retry_after"}
    ] * 2  # fmt: skip
    assert [(r["status"], r["ok"], r["retry_after"]) for r in logged] == [
        (200, True, None),
        (429, False, _answer["parameters"]["retry_after"]),
    ]
    assert all(isinstance(r["at"], float) and before <= r["at"] <= after for r in logged)
    assert logged[0]["at"] <= logged[1]["at"]


async def test_the_log_keeps_its_latest_entries_and_reads_from_any_seq(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sandbox.world.REQUEST_LOG_LIMIT", 10)
    monkeypatch.setattr("sandbox.world._REQUEST_LOG_SLACK", 5)
    for n in range(40):
        client.world.log_request("getMe", {"n": n}, 200, None, float(n))
    assert 10 <= len(client.world.requests) <= 15
    seqs = [r["seq"] for r in await client.requests()]
    assert seqs == list(range(41 - len(seqs), 41))
    assert [r["seq"] for r in await client.requests("?since=37")] == [38, 39, 40]
    assert [r["seq"] for r in await client.requests("?since=1")] == seqs
    assert await client.requests("?since=40") == []
