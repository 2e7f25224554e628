"""How updates reach the bot: getUpdates long polling, or webhook pushes.

Polling follows Telegram's offset rule (an update is confirmed once getUpdates is called
with a higher offset); a long poll still waiting when the same bot calls getUpdates again
ends with 409, as Telegram ends it.

Pushing follows telegram-bot-api's WebhookActor: updates fall into queues (``queue_of``:
a chat's messages, a user's button presses, ...). A queue has at most one update in
flight and keeps its order; different queues are pushed at once, up to the webhook's
``max_connections``, over a pool of that many connections. A push answered with
anything but 2xx, or not answered, holds its queue: it is retried after
``webhook_retry_delay`` while the other queues carry on, up to ``webhook_max_attempts``
times, then dropped and recorded, as Telegram gives up too.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from sandbox.errors import ApiError, bad_request
from sandbox.methods import Call, Described, Method
from sandbox.params import Params, parse_body
from sandbox.records import QueuedUpdate, UpdateRecord, Webhook, utf8_json
from sandbox.world import World

# Runs a Bot API call as the server would: (token, method, params) -> (status, answer).
Execute = Callable[[str, str, Params], Awaitable[tuple[int, dict[str, Any]]]]

_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
TERMINATED = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)


def _allowed_updates(call: Call) -> None:
    """Remember allowed_updates when given, as Telegram does (an empty list: the default)."""
    if call.params.raw("allowed_updates") is None:
        return
    allowed = call.params.json("allowed_updates")
    if allowed is None:
        return
    if not isinstance(allowed, list) or not all(isinstance(a, str) for a in allowed):
        raise bad_request("can't parse allowed_updates JSON object")
    call.world.allowed_updates = list(allowed) or None


def _confirm(world: World, offset: int) -> None:
    if offset < 0:
        # A negative offset keeps only the last -offset updates; the rest are forgotten.
        keep = world.queue[offset:] if -offset < len(world.queue) else world.queue
        for entry in world.queue:
            if not any(entry is kept for kept in keep):
                world.updates[entry.update_id].confirmed = True
        world.queue = list(keep)
        return
    remaining: list[QueuedUpdate] = []
    for entry in world.queue:
        below = entry.update_id < offset
        if below and (not entry.redelivered or entry.handed_out):
            world.updates[entry.update_id].confirmed = True
        else:
            remaining.append(entry)
    world.queue = remaining


async def get_updates(call: Call) -> Any:
    world = call.world
    if world.webhook is not None:
        raise ApiError(409, WEBHOOK_ACTIVE)
    params = call.params
    offset = params.integer("offset")
    limit = min(max(params.integer("limit") or 100, 1), 100)
    timeout = min(max(params.integer("timeout") or 0, 0), world.config.long_poll_max)
    _allowed_updates(call)
    bot = call.token.partition(":")[0]
    poll = world.begin_poll(bot)
    deadline = time.monotonic() + timeout
    while True:
        if world.poll_superseded(bot, poll):
            # Two instances of one bot polling: the waiting one is told, the newer goes on.
            raise ApiError(409, TERMINATED)
        if offset is not None:
            _confirm(world, offset)
        batch = world.queue[:limit]
        remaining = deadline - time.monotonic()
        if batch or remaining <= 0 or world.closing or world.webhook is not None:
            break
        await world.wait_for_change(remaining)
    updates = []
    for entry in batch:
        entry.handed_out = True
        record = world.updates[entry.update_id]
        record.deliveries += 1
        updates.append(record.payload)
    return updates


async def set_webhook(call: Call) -> Any:
    world = call.world
    params = call.params
    url = params.text("url") or ""
    if not url:
        return await delete_webhook(call)
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise bad_request("bad webhook: an HTTP or HTTPS URL must be provided for webhook")
    secret = params.text("secret_token")
    if secret is not None and not _SECRET.fullmatch(secret):
        raise bad_request("secret token contains unallowed characters")
    max_connections = params.integer("max_connections") or 40
    if not 1 <= max_connections <= 100:
        raise bad_request("bad webhook: max_connections must be between 1 and 100")
    _allowed_updates(call)
    if params.flag("drop_pending_updates"):
        world.drop_pending()
    same = world.webhook is not None and world.webhook.url == url
    world.webhook = Webhook(
        url=url,
        secret_token=secret or None,
        max_connections=max_connections,
        token=call.token,
    )
    world.notify()
    return Described(True, "Webhook is already set" if same else "Webhook was set")


async def delete_webhook(call: Call) -> Any:
    world = call.world
    had = world.webhook is not None
    world.webhook = None
    if call.params.flag("drop_pending_updates"):
        world.drop_pending()
    world.notify()
    return Described(True, "Webhook was deleted" if had else "Webhook is already deleted")


async def get_webhook_info(call: Call) -> Any:
    world = call.world
    hook = world.webhook
    info: dict[str, Any] = {
        "url": hook.url if hook else "",
        "has_custom_certificate": False,
        "pending_update_count": len(world.queue),
    }
    if hook is not None:
        info["max_connections"] = hook.max_connections
        info["ip_address"] = "127.0.0.1"
        if hook.last_error_date is not None:
            info["last_error_date"] = hook.last_error_date
            info["last_error_message"] = hook.last_error_message
    if world.allowed_updates:
        info["allowed_updates"] = world.allowed_updates
    return info


DELIVERY_METHODS: dict[str, Method] = {
    "getUpdates": get_updates,
    "setWebhook": set_webhook,
    "deleteWebhook": delete_webhook,
    "getWebhookInfo": get_webhook_info,
}


# ---- webhook pushes -------------------------------------------------------------------

# Which queue an update waits in, as telegram-bot-api's Client.cpp files them: a name for
# the queue family (each family is its own set of queues, as the source keeps them
# apart by the high bits of the queue id) and the path to the id within the update's
# body. A chat's messages and posts, edited or not, share one queue; the bot's own
# membership changes in a chat are another; a user's button presses another, and so on.
_QUEUES: dict[str, tuple[str, tuple[str, ...]]] = {
    "message": ("chat", ("chat", "id")),
    "edited_message": ("chat", ("chat", "id")),
    "channel_post": ("chat", ("chat", "id")),
    "edited_channel_post": ("chat", ("chat", "id")),
    "inline_query": ("inline_query", ("from", "id")),
    "chosen_inline_result": ("chosen_inline_result", ("from", "id")),
    "callback_query": ("callback_query", ("from", "id")),
    "shipping_query": ("payment", ("from", "id")),
    "pre_checkout_query": ("payment", ("from", "id")),
    "my_chat_member": ("my_chat_member", ("chat", "id")),
    "chat_member": ("member", ("new_chat_member", "user", "id")),
    "chat_join_request": ("member", ("from", "id")),
    "chat_boost": ("boost", ("chat", "id")),
    "removed_chat_boost": ("boost", ("chat", "id")),
    "message_reaction": ("reaction", ("chat", "id")),
    "message_reaction_count": ("reaction_count", ("chat", "id")),
    "poll": ("poll", ("id",)),
    "poll_answer": ("poll", ("poll_id",)),
}
# Webhook answers Telegram does not perform (WebhookActor::handle): reads, and changes to
# the webhook itself.
_NOT_FROM_WEBHOOK = frozenset({"setwebhook", "deletewebhook", "close", "logout"})

QueueId = tuple[str, int | str]


def queue_of(record: UpdateRecord) -> QueueId:
    """The queue ``record`` waits in; an update of any other kind, or one too malformed
    to say (an injected update may be), is a queue of its own."""
    family = _QUEUES.get(record.kind)
    if family is not None:
        name, path = family
        value: Any = record.payload.get(record.kind)
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, int | str) and not isinstance(value, bool):
            return name, value
    return "update", record.update_id


class _Pool:
    """The connections pushes to one webhook setting go over: at most its
    ``max_connections``, kept alive between pushes, as Telegram keeps them."""

    def __init__(self, hook: Webhook) -> None:
        self.hook = hook
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=hook.max_connections)
        )
        self.pushes = 0


class WebhookPusher:
    """Pushes queued updates to the webhook: one at a time per queue, in order; queues in
    parallel up to the webhook's ``max_connections``."""

    def __init__(self, world: World, execute: Execute) -> None:
        self.world = world
        self.execute = execute
        self._task: asyncio.Task[None] | None = None
        self._pool: _Pool | None = None
        # Pools of a webhook since replaced, closed once their last push is over.
        self._retired: list[_Pool] = []
        self._pushing: dict[QueueId, asyncio.Task[None]] = {}
        # Queues held back after a failed push: the loop time they may push again.
        self._resting: dict[QueueId, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="sandbox-webhook-pusher")

    async def stop(self) -> None:
        tasks = [task for task in (self._task, *self._tasks) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        pools = [*self._retired, *([self._pool] if self._pool is not None else [])]
        self._retired, self._pool = [], None
        for pool in pools:
            await pool.session.close()

    async def _run(self) -> None:
        world = self.world
        loop = asyncio.get_running_loop()
        while not world.closing:
            await self._close_idle_pools()
            # From here to the wait nothing awaits, so no push can end unnoticed.
            hook = world.webhook
            wait = 1.0
            if hook is not None and world.queue:
                due = self._dispatch(hook, self._pool_for(hook), loop.time())
                if due is not None:
                    wait = min(wait, due - loop.time())
            await world.wait_for_change(wait)

    def _pool_for(self, hook: Webhook) -> _Pool:
        if self._pool is None or self._pool.hook is not hook:
            if self._pool is not None:
                self._retired.append(self._pool)
            self._pool = _Pool(hook)
            # A new setting starts afresh, as Telegram restarts its webhook actor.
            self._resting.clear()
        return self._pool

    async def _close_idle_pools(self) -> None:
        for pool in [pool for pool in self._retired if pool.pushes == 0]:
            self._retired.remove(pool)
            await pool.session.close()

    def _dispatch(self, hook: Webhook, pool: _Pool, now: float) -> float | None:
        """Start a push for each queue free to push (oldest first) while connections are
        free; the loop time the next held-back queue may push, if one waits."""
        world = self.world
        busy = set(self._pushing)
        next_due: float | None = None
        for entry in world.queue:
            if len(self._pushing) >= hook.max_connections:
                break
            record = world.updates.get(entry.update_id)
            if record is None:
                continue
            queue = queue_of(record)
            if queue in busy:
                continue
            # Only a queue's first update may go; the ones behind it wait their turn.
            busy.add(queue)
            due = self._resting.get(queue)
            if due is not None:
                if due > now:
                    next_due = due if next_due is None else min(next_due, due)
                    continue
                del self._resting[queue]
            pool.pushes += 1
            task = asyncio.create_task(self._deliver(pool, queue, entry, record))
            self._pushing[queue] = task
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return next_due

    async def _deliver(
        self, pool: _Pool, queue: QueueId, entry: QueuedUpdate, record: UpdateRecord
    ) -> None:
        world = self.world
        hook = pool.hook
        answer: tuple[str, bytes] | None = None
        try:
            record.attempts += 1
            error, answer = await self._push(pool, record)
            if error is None:
                record.deliveries += 1
                record.confirmed = True
                record.last_error = None
                self._unqueue(entry)
            else:
                record.last_error = error
                hook.last_error_date = int(time.time())
                hook.last_error_message = error
                if record.attempts >= world.config.webhook_max_attempts:
                    record.dropped = True
                    self._unqueue(entry)
                elif pool is self._pool:
                    # A webhook set since then starts afresh: its queues wait for nothing.
                    self._resting[queue] = (
                        asyncio.get_running_loop().time() + world.config.webhook_retry_delay
                    )
        finally:
            pool.pushes -= 1
            self._pushing.pop(queue, None)
            world.notify()
        if answer is not None:
            # Performed after the queue moves on: Telegram hands the method over and
            # carries on pushing.
            await self._answer(hook, *answer)

    def _unqueue(self, entry: QueuedUpdate) -> None:
        # Gone already when the pending updates were dropped or the world reset.
        with contextlib.suppress(ValueError):
            self.world.queue.remove(entry)

    async def _push(
        self, pool: _Pool, record: UpdateRecord
    ) -> tuple[str | None, tuple[str, bytes] | None]:
        """Push one update: (None, the answer's content type and body) when the webhook
        took it, else (Telegram's kind of reason, None)."""
        hook = pool.hook
        headers = {"Content-Type": "application/json"}
        if hook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
        try:
            async with pool.session.post(
                hook.url,
                data=utf8_json(record.payload),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.world.config.webhook_timeout),
            ) as response:
                body = await response.read()
                if not 200 <= response.status < 300:
                    reason = f"{response.status} {response.reason}"
                    return f"Wrong response from the webhook: {reason}", None
                content_type = response.headers.get("Content-Type", "")
        except TimeoutError:
            return "Read timeout expired", None
        except aiohttp.ClientConnectorError as exc:
            return f"Connection refused: {exc.os_error or exc}", None
        except aiohttp.ClientError as exc:
            return f"Connection failed: {type(exc).__name__}: {exc}", None
        return None, (content_type, body)

    async def _answer(self, hook: Webhook, content_type: str, body: bytes) -> None:
        """A webhook may answer with one Bot API call; Telegram performs it, unless it
        only reads or changes the webhook."""
        try:
            params = parse_body(content_type, body)
        except ApiError:
            return
        method = params.text("method")
        if not method:
            return
        name = method.lower()
        if name in _NOT_FROM_WEBHOOK or name.startswith("get"):
            return
        del params.values["method"]
        await self.execute(hook.token, method, params)
