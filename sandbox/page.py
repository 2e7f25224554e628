"""The chat page: people play the users by hand in a browser (sandbox/web/).

The page itself is static (HTML, CSS and JavaScript, no build step, nothing from
outside); it talks to the control API like any test does, and hears about changes
through ``GET /sandbox/events`` (Server-Sent Events). The two endpoints it needs beside
the control API, the event stream and the files' bytes, are registered with the
control routes (sandbox.control) so that they exist whether the page is served or not.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import quote

from aiohttp import web

from sandbox.changes import Change
from sandbox.control_input import world_of
from sandbox.errors import ControlError

WEB = Path(__file__).with_name("web")
# A comment line now and then keeps proxies and the browser from calling the stream dead.
HEARTBEAT_SECONDS = 15.0
_STATIC_TYPES = {
    ".html": "text/html",
    ".css": "text/css",
    ".js": "text/javascript",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}
_STATIC_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}")
# The page loads nothing from elsewhere, and nothing a message carries can run in it.
_PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_MIME = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*")
_IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def add_page_routes(app: web.Application) -> None:
    """Serve the page at ``/`` (and ``/chat``) and its files under ``/web/``."""
    app.router.add_get("/", index)
    app.router.add_get("/chat", index)
    app.router.add_get("/web/{name}", static_file)


async def index(_request: web.Request) -> web.Response:
    return _static(WEB / "index.html", "text/html", {"Content-Security-Policy": _PAGE_POLICY})


async def static_file(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    content_type = _STATIC_TYPES.get(Path(name).suffix)
    # Only plain names of files in web/ itself: no path can lead out of it.
    if content_type is None or not _STATIC_NAME.fullmatch(name) or ".." in name:
        raise web.HTTPNotFound()
    return _static(WEB / name, content_type, {})


def _static(path: Path, content_type: str, extra: dict[str, str]) -> web.Response:
    if not path.is_file():
        raise web.HTTPNotFound()
    return web.Response(
        body=path.read_bytes(),
        content_type=content_type,
        charset="utf-8" if not content_type.startswith("image/") else None,
        # Someone editing the page sees the change on reload.
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff", **extra},
    )


# ---- the change feed ------------------------------------------------------------------


async def change_events(request: web.Request) -> web.StreamResponse:
    """Server-Sent Events: one ``data:`` line of JSON per change, until the client goes
    or the server shuts down."""
    world = world_of(request)
    subscription = world.changes.subscribe()
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    try:
        await response.prepare(request)
        # A lost stream is retried after a second; the page reloads what it shows then.
        await response.write(b"retry: 1000\n: connected\n\n")
        while not world.closing:
            batch = await subscription.next(HEARTBEAT_SECONDS)
            if batch is None:
                break
            await response.write(_frames(batch) if batch else b": heartbeat\n\n")
    except ConnectionResetError:
        pass  # the page went away
    finally:
        world.changes.unsubscribe(subscription)
    return response


def _frames(batch: list[Change]) -> bytes:
    return "".join(
        f"id: {change['seq']}\ndata: {json.dumps(change, ensure_ascii=False)}\n\n"
        for change in batch
    ).encode("utf-8")


# ---- files ----------------------------------------------------------------------------


async def file_content(request: web.Request) -> web.Response:
    """A file's bytes by file_id, for the page's <img> and downloads (the Bot API's
    download path needs the bot's token, which the page does not have)."""
    world = world_of(request)
    file_id = request.match_info["file_id"]
    found = world.files.get(file_id)
    if found is None:
        raise ControlError(404, f"no file {file_id}")
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600"}
    if found.kind == "photo":
        content_type = image_type(found.data)
    else:
        mime = (found.mime_type or "").split(";")[0].strip()
        content_type = mime if _MIME.fullmatch(mime) else "application/octet-stream"
        # Downloaded, never shown in the page's origin: a document may be HTML.
        headers["Content-Disposition"] = _attachment(found.file_name or found.file_path)
    return web.Response(body=found.data, content_type=content_type, headers=headers)


def image_type(data: bytes) -> str:
    """The type a photo's bytes say they are; anything unrecognised is not shown inline."""
    for magic, content_type in _IMAGE_MAGIC:
        if data.startswith(magic):
            return content_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


def _attachment(name: str) -> str:
    name = name.rsplit("/", 1)[-1]
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\' else "_" for ch in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
