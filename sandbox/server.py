"""The sandbox server: the Bot API at ``/bot<token>/<method>``, file downloads, and the
control API under ``/sandbox/`` (see sandbox/README.md)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any

from aiohttp import web

from sandbox.config import SandboxConfig
from sandbox.control import add_control_routes
from sandbox.delivery import DELIVERY_METHODS, WebhookPusher
from sandbox.errors import ApiError, Dropped, too_many_requests
from sandbox.limits import ARRIVED, Clock
from sandbox.methods import METHODS, Call, Described, Method
from sandbox.page import add_page_routes
from sandbox.params import Params, parse_body
from sandbox.persist import add_persistence
from sandbox.records import Fault
from sandbox.world import WORLD_KEY, World

__all__ = ["WORLD_KEY", "Sandbox", "SandboxConfig", "World", "create_app"]

BOT_API: dict[str, Method] = {**METHODS, **DELIVERY_METHODS}
# Telegram's method names are case-insensitive.
_CANONICAL = {name.lower(): name for name in BOT_API}
_TOKEN = re.compile(r"([0-9]{1,20}):[A-Za-z0-9_-]{20,}")
# Telegram takes uploads up to 50 MB; a little more for the multipart framing.
MAX_BODY = 52 * 1024 * 1024
_STATUS_TEXT = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def create_app(config: SandboxConfig, *, clock: Clock | None = None) -> web.Application:
    """The sandbox as an aiohttp application; its world is ``app[WORLD_KEY]``.

    ``clock`` (monotonic seconds) drives the flood limits and callback query ages, so
    tests can make time pass without waiting.
    """
    app = web.Application(client_max_size=MAX_BODY)
    world = World(config, clock or time.monotonic)
    app[WORLD_KEY] = world

    async def run(token: str, method: str, params: Params) -> tuple[int, dict[str, Any]]:
        try:
            return await execute(world, token, method, params)
        except Dropped:
            return 0, {"ok": False, "description": "no answer (a timeout fault)"}

    pusher = WebhookPusher(world, run)

    async def webhook_pusher(_app: web.Application) -> AsyncIterator[None]:
        await pusher.start()
        yield
        await pusher.stop()

    async def closing(_app: web.Application) -> None:
        # Long polls answer at once instead of holding the shutdown for their timeout.
        world.closing = True
        world.notify()

    app.router.add_route("*", "/bot{token}/{method}", _bot_api)
    app.router.add_get("/file/bot{token}/{path:.+}", _download)
    add_control_routes(app)
    if config.page:
        add_page_routes(app)
    if config.state_file:
        add_persistence(app, world, config.state_file)
    app.cleanup_ctx.append(webhook_pusher)
    app.on_shutdown.append(closing)
    return app


async def execute(
    world: World, token: str, name: str, params: Params
) -> tuple[int, dict[str, Any]]:
    """Run one Bot API call and log it: (HTTP status, Telegram's answer). Raises
    ``Dropped`` when a timeout fault withholds the answer (logged all the same)."""
    at = time.time()
    arrived = ARRIVED.set(world.limiter.clock())
    try:
        return await _execute(world, token, name, params, at)
    finally:
        ARRIVED.reset(arrived)


async def _execute(
    world: World, token: str, name: str, params: Params, at: float
) -> tuple[int, dict[str, Any]]:
    canonical = _CANONICAL.get(name.lower())
    if world.config.latency > 0:
        await asyncio.sleep(world.config.latency)
    fault = _pick_fault(world, name, params)
    answer: dict[str, Any]
    if fault is not None and fault.timeout == "before":
        # Held, then the connection dropped; nothing was performed.
        if fault.delay:
            await asyncio.sleep(fault.delay)
        status, answer = 0, {"ok": False, "description": _DROPPED}
    else:
        status, answer = await _answer(world, token, canonical, params, fault)
    parameters = answer.get("parameters") or {}
    world.log_request(
        canonical or name,
        params.for_log(),
        status,
        None if answer.get("ok") else answer.get("description"),
        at,
        fault,
        parameters.get("retry_after"),
    )
    if fault is not None and fault.timeout is not None:
        if fault.timeout == "after" and fault.delay:
            # Performed (and logged); then the answer is held, and lost.
            await asyncio.sleep(fault.delay)
        raise Dropped
    return status, answer


_DROPPED = "no answer: the connection was dropped (a timeout fault)"


async def _answer(
    world: World, token: str, canonical: str | None, params: Params, fault: Fault | None
) -> tuple[int, dict[str, Any]]:
    try:
        if fault is not None and fault.timeout is None:
            await _apply_fault(fault)
        match = _TOKEN.fullmatch(token)
        if match is None:
            raise ApiError(401, "Unauthorized")
        if canonical is None:
            raise ApiError(404, "Not Found")
        world.seen_token(int(match.group(1)))
        result = await BOT_API[canonical](Call(world, params, token, canonical))
    except ApiError as exc:
        return exc.code, exc.payload()
    if isinstance(result, Described):
        return 200, {"ok": True, "result": result.result, "description": result.description}
    return 200, {"ok": True, "result": result}


def _fault_chat(world: World, method: str, params: Params) -> int | None:
    """The chat a call is about, for faults aimed at one chat."""
    if method == "answercallbackquery":
        query = world.callbacks.get(params.text("callback_query_id") or "")
        return query.chat_id if query is not None else None
    raw_chat = params.raw("chat_id")
    try:
        return int(raw_chat) if raw_chat is not None else None
    except (TypeError, ValueError):
        return None


def _pick_fault(world: World, name: str, params: Params) -> Fault | None:
    """The first fault that matches the call and fires (a fault with a probability draws
    from its own seeded generator); it is counted, and spent when its times run out."""
    method = name.lower()
    chat_id = _fault_chat(world, method, params)
    for fault in world.faults:
        if fault.method not in (method, "*"):
            continue
        if fault.chat_id is not None and fault.chat_id != chat_id:
            continue
        if not fault.fires():
            continue
        if fault.times is not None:
            fault.times -= 1
            if fault.times <= 0:
                world.faults.remove(fault)
        world.count_fault(fault, _CANONICAL.get(method, name))
        return fault
    return None


async def _apply_fault(fault: Fault) -> None:
    """A delay, then (with a status) Telegram's kind of error."""
    if fault.delay:
        await asyncio.sleep(fault.delay)
    if fault.status is None:
        return
    if fault.status == 429:
        retry_after = fault.retry_after if fault.retry_after is not None else 1
        error = too_many_requests(retry_after)
        if fault.description:
            error.description = fault.description
        raise error
    description = fault.description or _STATUS_TEXT.get(fault.status, "Error")
    parameters = {"retry_after": fault.retry_after} if fault.retry_after else None
    raise ApiError(fault.status, description, parameters)


async def _bot_api(request: web.Request) -> web.Response:
    world = request.app[WORLD_KEY]
    token, name = request.match_info["token"], request.match_info["method"]
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return web.json_response(ApiError(413, "Request Entity Too Large").payload(), status=413)
    try:
        params = parse_body(request.headers.get("Content-Type", ""), body, dict(request.query))
    except ApiError as exc:
        world.log_request(name, {}, exc.code, exc.description, time.time())
        return web.json_response(exc.payload(), status=exc.code)
    try:
        status, answer = await execute(world, token, name, params)
    except Dropped:
        # No answer at all: the client sees the connection drop, as after a timeout.
        if request.transport is not None:
            request.transport.abort()
        return web.Response()
    return web.json_response(answer, status=status)


async def _download(request: web.Request) -> web.StreamResponse:
    world = request.app[WORLD_KEY]
    if world.config.latency > 0:
        await asyncio.sleep(world.config.latency)
    if _TOKEN.fullmatch(request.match_info["token"]) is None:
        return web.json_response(ApiError(401, "Unauthorized").payload(), status=401)
    found = world.file_paths.get(request.match_info["path"])
    if found is None:
        return web.json_response(ApiError(404, "Not Found").payload(), status=404)
    content_type = found.mime_type or ("image/jpeg" if found.kind == "photo" else None)
    return web.Response(body=found.data, content_type=content_type or "application/octet-stream")


class Sandbox:
    """The sandbox served on ``config.host:config.port`` (0: a free port) while in use.

    ``async with Sandbox(SandboxConfig(port=0)) as sb:`` then talk to ``sb.url``;
    ``sb.state`` is the in-memory world.
    """

    def __init__(self, config: SandboxConfig | None = None, *, clock: Clock | None = None):
        self.config = config or SandboxConfig()
        self.app = create_app(self.config, clock=clock)
        self.url = ""
        self._runner: web.AppRunner | None = None

    @property
    def state(self) -> World:
        return self.app[WORLD_KEY]

    async def start(self) -> None:
        # Handlers still running at shutdown (a long poll, a delayed fault) get a second
        # to finish; the sandbox holds nothing worth waiting longer for.
        runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.config.host, self.config.port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        port = runner.addresses[0][1]
        host = self.config.host
        if host in ("", "0.0.0.0", "::"):
            host = "127.0.0.1"
        elif ":" in host:
            host = f"[{host}]"
        self.url = f"http://{host}:{port}"

    async def close(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
