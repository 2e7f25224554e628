"""The control API under /sandbox/: its routes, and the stage machinery a test works
(faults, limits, redelivery, the logs, reset). The people are in ``sandbox.people``.

JSON in, JSON out. A refused call answers ``{"error": "..."}`` with 400 (invalid), 404
(no such thing) or 409 (already exists), saying exactly what is wrong.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from sandbox.control_input import (
    get_bool,
    get_int,
    get_number,
    get_object,
    get_required_int,
    get_str,
    path_int,
    query_int,
    read_body,
    reply,
    world_of,
)
from sandbox.delivery import DELIVERY_METHODS
from sandbox.errors import ControlError
from sandbox.limits import RateLimiter
from sandbox.methods import METHODS
from sandbox.page import change_events, file_content
from sandbox.people import (
    block,
    callback_answer,
    change_user,
    chat_messages,
    create_chat,
    create_user,
    list_callbacks,
    list_chats,
    list_users,
    press_button,
    send_message,
    set_bot_status,
    set_member,
)
from sandbox.records import Fault
from sandbox.world import WORLD_KEY, World

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_METHOD_NAMES = {name.lower() for name in (*METHODS, *DELIVERY_METHODS)}
# Run-time settings /sandbox/limits may change, with the type each must have.
_SETTINGS: dict[str, type] = {
    "latency": float,
    "global_per_second": int,
    "private_per_second": float,
    "private_burst": int,
    "group_per_minute": int,
    "long_poll_max": int,
    "webhook_retry_delay": float,
    "webhook_max_attempts": int,
    "webhook_timeout": float,
    "callback_answer_timeout": float,
}


def add_control_routes(app: web.Application) -> None:
    routes: list[tuple[str, str, Handler]] = [
        ("POST", "/sandbox/users", create_user),
        ("GET", "/sandbox/users", list_users),
        ("PATCH", "/sandbox/users/{user_id}", change_user),
        ("POST", "/sandbox/chats", create_chat),
        ("GET", "/sandbox/chats", list_chats),
        ("POST", "/sandbox/chats/{chat_id}/members", set_member),
        ("POST", "/sandbox/chats/{chat_id}/bot", set_bot_status),
        ("GET", "/sandbox/chats/{chat_id}/messages", chat_messages),
        ("POST", "/sandbox/messages", send_message),
        ("POST", "/sandbox/callbacks", press_button),
        ("GET", "/sandbox/callbacks", list_callbacks),
        ("GET", "/sandbox/callbacks/{query_id}", callback_answer),
        ("POST", "/sandbox/block", block),
        ("POST", "/sandbox/faults", add_fault),
        ("GET", "/sandbox/faults", list_faults),
        ("DELETE", "/sandbox/faults", clear_faults),
        ("DELETE", "/sandbox/faults/{fault_id}", remove_fault),
        ("POST", "/sandbox/limits", set_limits),
        ("GET", "/sandbox/limits", get_limits),
        ("POST", "/sandbox/redeliver", redeliver),
        ("GET", "/sandbox/requests", requests_log),
        ("GET", "/sandbox/updates", updates_log),
        ("POST", "/sandbox/updates", inject_update),
        ("GET", "/sandbox/bot", bot_settings),
        ("POST", "/sandbox/reset", reset),
        ("GET", "/sandbox/events", change_events),
        ("GET", "/sandbox/files/{file_id}", file_content),
    ]
    for method, path, handler in routes:
        app.router.add_route(method, path, _guarded(handler))
    app.on_shutdown.append(_end_event_streams)


async def _end_event_streams(app: web.Application) -> None:
    # An open event stream would otherwise hold the shutdown for its whole timeout.
    app[WORLD_KEY].changes.close()


def _guarded(handler: Handler) -> Handler:
    async def guarded(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except ControlError as exc:
            return web.json_response({"error": exc.message}, status=exc.status)

    return guarded


# ---- faults, limits, updates, the log -------------------------------------------------


async def add_fault(request: web.Request) -> web.Response:
    world = world_of(request)
    body = await read_body(request)
    method = get_str(body, "method", required=True)
    assert method is not None
    method = method.lower()
    if method != "*" and method not in _METHOD_NAMES:
        raise ControlError(400, f'"method" {body["method"]!r} is not a Bot API method the '
                                "sandbox answers (or \"*\" for any)")  # fmt: skip
    status = get_int(body, "status")
    if status is not None and not 400 <= status <= 599:
        raise ControlError(400, f'"status" must be an HTTP error status (400-599), not {status}')
    delay = get_number(body, "delay")
    if delay is not None and delay < 0:
        raise ControlError(400, '"delay" must not be negative')
    timeout = body.get("timeout")
    if timeout is not None and timeout not in ("before", "after"):
        raise ControlError(400, f'"timeout" must be "before" or "after", not {timeout!r}')
    if timeout is not None and status is not None:
        raise ControlError(400, 'a "timeout" fault has no "status": no answer comes at all')
    if status is None and not delay and timeout is None:
        raise ControlError(400, 'a fault needs a "status" to fail with, a "delay", or a "timeout"')
    retry_after = get_int(body, "retry_after")
    if retry_after is not None and retry_after < 0:
        raise ControlError(400, '"retry_after" must not be negative')
    probability = get_number(body, "probability")
    if probability is not None and not 0 < probability <= 1:
        raise ControlError(400, f'"probability" must be above 0 and at most 1, not {probability}')
    # A fault with a chance lasts until cleared unless told otherwise ("20% of calls").
    default_times = 1 if probability is None else None
    times = get_int(body, "times") if "times" in body else default_times
    if times is not None and times < 0:
        raise ControlError(400, '"times" must not be negative')
    fault_id = world.new_fault_id()
    seed = get_int(body, "seed")
    if seed is None:
        # Reproducible by default: the same faults in the same order draw the same.
        seed = world.config.fault_seed * 1_000_003 + fault_id
    fault = Fault(
        id=fault_id,
        method=method,
        status=status,
        description=get_str(body, "description"),
        retry_after=retry_after,
        times=times or None,  # 0 or null: until cleared
        delay=delay,
        chat_id=get_int(body, "chat_id"),
        probability=probability,
        seed=seed,
        timeout=timeout,
        rng=random.Random(seed),
    )
    world.faults.append(fault)
    return reply(fault.json())


async def list_faults(request: web.Request) -> web.Response:
    """The faults still armed, and how many calls faults have hit since the last reset:
    by kind, and by method and kind (a timeout_after performed the call it hid)."""
    world = world_of(request)
    return reply(
        {
            "faults": [f.json() for f in world.faults],
            "applied": dict(world.faults_applied),
            "applied_by_method": {
                method: dict(kinds) for method, kinds in world.faults_applied_by_method.items()
            },
        }
    )


async def clear_faults(request: web.Request) -> web.Response:
    world = world_of(request)
    cleared = len(world.faults)
    world.faults.clear()
    return reply({"cleared": cleared})


async def remove_fault(request: web.Request) -> web.Response:
    world = world_of(request)
    fault_id = path_int(request, "fault_id")
    for fault in world.faults:
        if fault.id == fault_id:
            world.faults.remove(fault)
            return reply({"cleared": 1})
    raise ControlError(404, f"no fault {fault_id} (spent, cleared, or never made)")


def _limits_json(world: World) -> dict[str, Any]:
    config = world.config
    return {"enabled": config.limits, **{key: getattr(config, key) for key in _SETTINGS}}


async def set_limits(request: web.Request) -> web.Response:
    world = world_of(request)
    body = await read_body(request)
    unknown = sorted(set(body) - set(_SETTINGS) - {"enabled"})
    if unknown:
        raise ControlError(
            400, f"unknown setting {', '.join(unknown)}; known: enabled, {', '.join(_SETTINGS)}"
        )
    enabled = get_bool(body, "enabled")
    changes: dict[str, Any] = {}
    for key, kind in _SETTINGS.items():
        value = get_int(body, key) if kind is int else get_number(body, key)
        if value is None:
            continue
        if value < 0 or (value == 0 and key not in ("latency", "long_poll_max",
                                                      "webhook_retry_delay")):  # fmt: skip
            raise ControlError(400, f'"{key}" must be positive, not {value}')
        changes[key] = value
    if enabled is not None:
        world.config.limits = enabled
    for key, value in changes.items():
        setattr(world.config, key, value)
    # New figures start from fresh windows and full buckets.
    world.limiter = RateLimiter(world.limit_settings(), world.clock)
    return reply(_limits_json(world))


async def get_limits(request: web.Request) -> web.Response:
    return reply(_limits_json(world_of(request)))


async def redeliver(request: web.Request) -> web.Response:
    world = world_of(request)
    body = await read_body(request)
    update_id = get_required_int(body, "update_id")
    record = world.updates.get(update_id)
    if record is None:
        raise ControlError(404, f"no update {update_id}")
    world.redeliver(record)
    return reply({"update_id": update_id, "queued": True})


async def requests_log(request: web.Request) -> web.Response:
    """The calls after ``?since=`` (a seq), of ``?method=`` if given; see RequestEntry.
    One pass over what is asked for: a bench reads tens of thousands at a time."""
    world = world_of(request)
    method = (request.query.get("method") or "").lower()
    since = query_int(request, "since") or 0
    # The log is in seq order, so the first entry past ``since`` is found by halving.
    start = bisect.bisect_right(world.requests, since, key=lambda entry: entry.seq)
    return reply(
        {
            "requests": [
                entry.json()
                for entry in itertools.islice(world.requests, start, None)
                if not method or entry.method.lower() == method
            ]
        }
    )


async def updates_log(request: web.Request) -> web.Response:
    world = world_of(request)
    since = query_int(request, "since") or 0
    return reply(
        {
            "updates": [r.json() for r in world.updates.values() if r.update_id > since],
            "pending": [entry.update_id for entry in world.queue],
        }
    )


async def inject_update(request: web.Request) -> web.Response:
    """An update exactly as given, malformed or not: what an older or misbehaving Bot API
    server might send. Only its update_id is the sandbox's."""
    world = world_of(request)
    body = await read_body(request)
    unknown = sorted(set(body) - {"update", "ignore_allowed"})
    if unknown:
        raise ControlError(
            400, f"unknown field {', '.join(unknown)}; known: update, ignore_allowed"
        )
    fields = get_object(body, "update")
    if not fields:
        raise ControlError(400, '"update" must be a non-empty object, e.g. {"message": {...}}')
    if "update_id" in fields:
        raise ControlError(400, '"update_id" is the sandbox\'s to give (ids keep increasing)')
    ignore_allowed = bool(get_bool(body, "ignore_allowed"))
    record = world.emit_raw(fields, ignore_allowed=ignore_allowed)
    return reply({"update_id": record.update_id, "type": record.kind, "skipped": record.skipped})


async def bot_settings(request: web.Request) -> web.Response:
    world = world_of(request)
    hook = world.webhook
    return reply(
        {
            "bot": world.me_json(),
            "webhook": None
            if hook is None
            else {
                "url": hook.url,
                "secret_token": hook.secret_token,
                "last_error_message": hook.last_error_message,
            },
            "allowed_updates": world.allowed_updates,
            "commands": [
                {"scope": scope, "language_code": language, "commands": commands}
                for (scope, language), commands in world.commands.items()
            ],
        }
    )


async def reset(request: web.Request) -> web.Response:
    world_of(request).reset()
    return reply({"ok": True})
