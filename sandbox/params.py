"""Reading a Bot API call's parameters the way Telegram does.

Clients send the same call three ways: a JSON object (values typed), a urlencoded or
multipart form (every value a string; objects such as reply_markup as JSON strings), and
multipart with file parts, referenced as ``attach://<part>`` or sent under the
parameter's own name. ``Params`` hides the difference: each accessor takes whichever
form arrived and answers Telegram's 400 when the value cannot be what it should be.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

from sandbox.errors import bad_request

# Parameters shown as numbers in the request log whatever form they arrived in.
_INTEGER_NAMES = frozenset(
    {
        "chat_id", "from_chat_id", "message_id", "user_id", "offset", "limit", "timeout",
        "reply_to_message_id", "message_thread_id", "cache_time", "max_connections",
    }
)  # fmt: skip
_BOOLEAN_NAMES = frozenset(
    {
        "disable_notification", "protect_content", "show_alert", "drop_pending_updates",
        "disable_web_page_preview", "allow_sending_without_reply", "has_spoiler",
    }
)  # fmt: skip
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart body."""

    part: str
    filename: str
    content_type: str | None
    data: bytes


class Params:
    def __init__(self, values: dict[str, Any], uploads: dict[str, Upload]) -> None:
        self.values = values
        self.uploads = uploads

    def has(self, name: str) -> bool:
        value = self.values.get(name)
        return (value is not None and value != "") or (name in self.uploads)

    def raw(self, name: str) -> Any:
        return self.values.get(name)

    def text(self, name: str, *, required: bool = False) -> str | None:
        value = self.values.get(name)
        if value is None:
            if required:
                raise bad_request(f"{name} is empty")
            return None
        if isinstance(value, (dict, list)):
            raise bad_request(f'field "{name}" must be of type String')
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def integer(self, name: str, *, required: bool = False) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            if required:
                raise bad_request(f"{name} is empty")
            return None
        number = _as_int(value)
        if number is None:
            raise bad_request(f"invalid {name} specified")
        return number

    def number(self, name: str) -> float | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        if value is None:
            return False
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise bad_request(f"invalid {name} specified")

    def json(self, name: str) -> Any:
        """An object parameter; JSON text in a form field is decoded."""
        value = self.values.get(name)
        if isinstance(value, str):
            if value == "":
                return None
            try:
                return json.loads(value)
            except ValueError:
                raise bad_request(f"can't parse {name} JSON object") from None
        return value

    def chat_id(self, name: str = "chat_id", *, required: bool = True) -> int | str | None:
        """A chat id, or an ``@username`` (left for the caller to resolve)."""
        value = self.values.get(name)
        if value is None or value == "":
            if required:
                raise bad_request(f"{name} is empty")
            return None
        number = _as_int(value)
        if number is not None:
            return number
        if isinstance(value, str) and value.startswith("@"):
            return value
        raise bad_request("chat not found")

    def file(self, name: str) -> Upload | str | None:
        """A file parameter: an uploaded part, or a file_id/URL string."""
        value = self.values.get(name)
        if value is None and name in self.uploads:
            return self.uploads[name]
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise bad_request(f"invalid {name} specified")
        return self.attached(value)

    def attached(self, reference: str) -> Upload | str:
        """Resolve ``attach://<part>``; anything else is a file_id or URL, returned as is."""
        if reference.startswith("attach://"):
            part = reference[len("attach://") :]
            if part not in self.uploads:
                raise bad_request(f'wrong HTTP URL specified: file "{part}" is not attached')
            return self.uploads[part]
        return reference

    def for_log(self) -> dict[str, Any]:
        """The parameters as the request log shows them: typed where the name says how,
        JSON decoded, and files replaced by their name and size."""
        shown: dict[str, Any] = {}
        for name, value in self.values.items():
            if isinstance(value, str):
                if name in _INTEGER_NAMES and _as_int(value) is not None:
                    value = _as_int(value)
                elif name in _BOOLEAN_NAMES and value.lower() in _TRUE | _FALSE:
                    value = value.lower() in _TRUE
                elif value[:1] in ("{", "["):
                    with contextlib.suppress(ValueError):
                        value = json.loads(value)
            shown[name] = value
        for part, upload in self.uploads.items():
            shown[part] = {"file": upload.filename, "size": len(upload.data)}
        return shown


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*[-+]?[0-9]+\s*", value):
        return int(value)
    return None


def parse_body(content_type: str, body: bytes, query: dict[str, str] | None = None) -> Params:
    """Parameters from a request's query string and body, whatever its encoding."""
    values: dict[str, Any] = dict(query or {})
    uploads: dict[str, Upload] = {}
    mime, options = _header_value(content_type)
    if not body.strip():
        return Params(values, uploads)
    if mime == "application/json":
        try:
            decoded = json.loads(body)
        except ValueError:
            raise bad_request("can't parse JSON request body") from None
        if not isinstance(decoded, dict):
            raise bad_request("JSON request body must be an object")
        values.update(decoded)
    elif mime == "multipart/form-data":
        boundary = options.get("boundary")
        if not boundary:
            raise bad_request("multipart body without a boundary")
        for headers, content in _multipart_parts(body, boundary.encode("latin-1")):
            disposition, params = _header_value(headers.get("content-disposition", ""))
            name = params.get("name")
            if disposition != "form-data" or name is None:
                continue
            if "filename" in params:
                uploads[name] = Upload(
                    name, params["filename"], headers.get("content-type"), content
                )
            else:
                values[name] = content.decode("utf-8", errors="replace")
    else:
        # urlencoded, or a client that did not say: Telegram reads it as a form.
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise bad_request("request body is not UTF-8") from None
        values.update(parse_qsl(text, keep_blank_values=True))
    return Params(values, uploads)


def _header_value(header: str) -> tuple[str, dict[str, str]]:
    """``type/sub; a=1; b="x y"`` -> ("type/sub", {"a": "1", "b": "x y"})."""
    main, _, rest = header.partition(";")
    options: dict[str, str] = {}
    for match in re.finditer(
        r'\s*([A-Za-z0-9_.*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))\s*;?', rest
    ):
        key = match.group(1).lower()
        if match.group(2) is not None:
            value = re.sub(r"\\(.)", r"\1", match.group(2))
        else:
            value = (match.group(3) or "").strip()
        if key.endswith("*"):
            # RFC 5987: filename*=utf-8''na%C3%AFve.txt
            _charset, _, encoded = value.partition("''")
            key, value = key[:-1], unquote(encoded or value)
        options[key] = value
    return main.strip().lower(), options


def _multipart_parts(body: bytes, boundary: bytes) -> list[tuple[dict[str, str], bytes]]:
    delimiter = b"--" + boundary
    parts: list[tuple[dict[str, str], bytes]] = []
    chunks = body.split(delimiter)
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break  # the closing delimiter
        if chunk.startswith(b"\r\n"):
            chunk = chunk[2:]
        elif chunk.startswith(b"\n"):
            chunk = chunk[1:]
        head, sep, content = chunk.partition(b"\r\n\r\n")
        if not sep:
            head, sep, content = chunk.partition(b"\n\n")
        if content.endswith(b"\r\n"):
            content = content[:-2]
        elif content.endswith(b"\n"):
            content = content[:-1]
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", errors="replace").splitlines():
            key, colon, value = line.partition(":")
            if colon:
                headers[key.strip().lower()] = value.strip()
        parts.append((headers, content))
    return parts
