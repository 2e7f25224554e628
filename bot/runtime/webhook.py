"""The webhook endpoint: Telegram POSTs each update; we answer once it is handled.

A 200 tells Telegram the update is delivered and will not be sent again, so it is
given only after the update's transaction committed (or its error was answered to
the person). Anything else makes Telegram retry later, which the durable update claim
makes harmless. An update that cannot be read is set aside by ``handle`` (recorded as a
dead letter, bot.runtime.intake) and answered 200 as well: Telegram would otherwise
send it again and again, for nothing. A request without the secret header we gave
Telegram is refused before its body is read: whoever learns the URL cannot forge updates.

Given a :class:`~bot.runtime.status.Status`, the app also serves ``/healthz`` (the
database and Redis answering) and ``/metrics`` (bot.runtime.status); without one, a
``/healthz`` that only says the process listens.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

from aiohttp import web

from bot.runtime.status import Status, status_routes

log = logging.getLogger(__name__)

SECRET_HEADER: Final = "X-Telegram-Bot-Api-Secret-Token"
_MAX_BODY: Final = 2 * 1024 * 1024


class NotAnUpdate(ValueError):
    """The body is JSON but not an update with an id we could record: retrying it would
    not help."""


# A raw update (the JSON object Telegram sent) -> handled.
HandleRaw = Callable[[dict[str, Any]], Awaitable[None]]


def webhook_app(
    path: str, secret: str, handle: HandleRaw, status: Status | None = None
) -> web.Application:
    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            log.warning(
                "webhook request refused: wrong or missing secret",
                extra={"remote": request.remote},
            )
            return web.json_response({"ok": False, "error": "unauthorized"}, status=401)
        try:
            update = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            return web.json_response({"ok": False, "error": "body is not JSON"}, status=400)
        if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
            return web.json_response({"ok": False, "error": "not an update"}, status=400)
        try:
            await handle(update)
        except NotAnUpdate as exc:
            log.warning("webhook update rejected", extra={"error": str(exc)[:300]})
            return web.json_response({"ok": False, "error": "not an update"}, status=400)
        except Exception:
            log.exception("webhook update failed", extra={"update_id": update["update_id"]})
            return web.json_response({"ok": False, "error": "failed"}, status=500)
        return web.json_response({"ok": True})

    async def health(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application(client_max_size=_MAX_BODY)
    app.router.add_post(path, receive)
    if status is None:
        app.router.add_get("/healthz", health)
    else:
        status_routes(app, status)
    return app
