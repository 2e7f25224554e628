"""How updates reach the bot: getUpdates long polling, or webhook pushes.

Polling follows Telegram's offset rule (an update is confirmed once getUpdates is called
with a higher offset). Pushing is in order, one update at a time: a push answered with
anything but 2xx, or not answered, is retried after ``webhook_retry_delay`` up to
``webhook_max_attempts`` times, then dropped and recorded, as Telegram gives up too.
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
    deadline = time.monotonic() + timeout
    while True:
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


class WebhookPusher:
    """Pushes queued updates to the webhook, one at a time, in order."""

    def __init__(self, world: World, execute: Execute) -> None:
        self.world = world
        self.execute = execute
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession()
        self._task = asyncio.create_task(self._run(), name="sandbox-webhook-pusher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._session is not None:
            await self._session.close()

    async def _run(self) -> None:
        world = self.world
        while not world.closing:
            hook = world.webhook
            if hook is None or not world.queue:
                await world.wait_for_change(1.0)
                continue
            entry = world.queue[0]
            record = world.updates[entry.update_id]
            record.attempts += 1
            error = await self._push(hook, record)
            still_queued = any(e is entry for e in world.queue)
            if error is None:
                record.deliveries += 1
                record.confirmed = True
                record.last_error = None
                if still_queued:
                    world.queue.remove(entry)
                continue
            record.last_error = error
            hook.last_error_date = int(time.time())
            hook.last_error_message = error
            if record.attempts >= world.config.webhook_max_attempts:
                record.dropped = True
                if still_queued:
                    world.queue.remove(entry)
                continue
            await asyncio.sleep(world.config.webhook_retry_delay)

    async def _push(self, hook: Webhook, record: UpdateRecord) -> str | None:
        """Push one update; None when the webhook took it, else Telegram's kind of reason."""
        assert self._session is not None
        headers = {"Content-Type": "application/json"}
        if hook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
        try:
            async with self._session.post(
                hook.url,
                data=utf8_json(record.payload),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.world.config.webhook_timeout),
            ) as response:
                body = await response.read()
                if not 200 <= response.status < 300:
                    return f"Wrong response from the webhook: {response.status} {response.reason}"
                content_type = response.headers.get("Content-Type", "")
        except TimeoutError:
            return "Read timeout expired"
        except aiohttp.ClientConnectorError as exc:
            return f"Connection refused: {exc.os_error or exc}"
        except aiohttp.ClientError as exc:
            return f"Connection failed: {type(exc).__name__}: {exc}"
        await self._answer(hook, content_type, body)
        return None

    async def _answer(self, hook: Webhook, content_type: str, body: bytes) -> None:
        """A webhook may answer with one Bot API call; Telegram performs it."""
        try:
            params = parse_body(content_type, body)
        except ApiError:
            return
        method = params.text("method")
        if method:
            del params.values["method"]
            await self.execute(hook.token, method, params)
