"""Structured logs: one JSON object per line (or ``key=value`` text for a terminal).

Fields passed as ``extra={...}`` (an update's id, an outbox row, a chat) become fields
of the record, so a log collector can filter on them without parsing prose. Secrets
never reach a record: the settings mask them, and the bot's token appears in no URL we
log.

Nor do people's words: a log is read by whoever runs the server, and kept far longer
than the office keeps an applicant's phone number. A line about an update carries its
ids and kinds (:func:`about_update`), never its texts; an error is shown by its class
and message (:func:`describe_error`), with what SQLAlchemy and pydantic quote of the
values they were given left out, tracebacks included.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import traceback
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Literal, TextIO

from pydantic import ValidationError
from sqlalchemy.exc import StatementError

if TYPE_CHECKING:
    from aiogram.types import Update

LogFormat = Literal["json", "text"]

# Attributes every LogRecord has; anything else on a record came from ``extra``.
_STANDARD: Final = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys() | {"message", "asctime"}
)


# A command or a callback-data prefix is ours to name; anything else a person typed is not.
_COMMAND: Final = re.compile(r"/([A-Za-z][A-Za-z0-9_]{0,31})(?:@[A-Za-z0-9_]+)?(?:\s|$)")
_CALLBACK_PREFIX: Final = re.compile(r"([A-Za-z][A-Za-z0-9_-]{0,15})(?::|$)")
_ERROR_CHARS: Final = 300
_CAUSE: Final = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT: Final = "\nDuring handling of the above exception, another exception occurred:\n\n"

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]


def about_update(update: Update) -> dict[str, Any]:
    """What a log line may say about an update: its ids and kinds, and the command or
    the button's family it was, never what anybody wrote, nor their names."""
    fields: dict[str, Any] = {"update_id": update.update_id}
    try:
        kind = update.event_type
        event: Any = getattr(update, kind)
    except LookupError:
        return fields  # a kind this aiogram does not know
    fields["type"] = kind
    user = getattr(event, "from_user", None)
    if user is not None:
        fields["user_id"] = user.id
    message = getattr(event, "message", None) if kind == "callback_query" else event
    chat = getattr(message, "chat", None)
    if chat is not None:
        fields["chat_id"] = chat.id
    text = getattr(event, "text", None)
    found = _COMMAND.match(text) if isinstance(text, str) else None
    if found:
        fields["command"] = "/" + found.group(1)
    data = getattr(event, "data", None) if kind == "callback_query" else None
    found = _CALLBACK_PREFIX.match(data) if isinstance(data, str) else None
    if found:
        fields["callback"] = found.group(1)
    return fields


def describe_error(exc: BaseException) -> str:
    """``Class: message`` on one line, without the values the error quotes."""
    text = " ".join(_message(exc, whole=False).split())
    if len(text) > _ERROR_CHARS:
        text = text[: _ERROR_CHARS - 1] + "…"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _message(exc: BaseException, *, whole: bool) -> str:
    if isinstance(exc, StatementError):
        # str() adds "[parameters: ...]": the values bound to the statement, people's
        # texts among them. The statement itself holds placeholders only.
        said = f"({type(exc.orig).__name__}) {exc.orig}" if exc.orig is not None else exc.args[0]
        return f"{said}\n[SQL: {exc.statement}]" if whole and exc.statement else str(said)
    if isinstance(exc, ValidationError):
        # Its str() repeats every input it was given.
        problems = exc.errors(include_url=False, include_input=False, include_context=False)
        return f"{exc.error_count()} validation error(s) for {exc.title}: " + "; ".join(
            f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}"
            for problem in problems
        )
    return str(exc)


def private_traceback(exc: BaseException) -> str:
    """The traceback as Python prints it, but with :func:`_message`'s messages."""
    lines: list[str] = []
    _chain(exc, lines, set())
    return "".join(lines).rstrip("\n")


def _chain(exc: BaseException, lines: list[str], seen: set[int]) -> None:
    seen.add(id(exc))
    cause, context = exc.__cause__, exc.__context__
    if cause is not None and id(cause) not in seen:
        _chain(cause, lines, seen)
        lines.append(_CAUSE)
    elif context is not None and not exc.__suppress_context__ and id(context) not in seen:
        _chain(context, lines, seen)
        lines.append(_CONTEXT)
    if exc.__traceback__ is not None:
        lines.append("Traceback (most recent call last):\n")
        lines.extend(traceback.format_tb(exc.__traceback__))
    kind = type(exc)
    name = (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )
    message = _message(exc, whole=True)
    lines.append(f"{name}: {message}\n" if message else f"{name}\n")
    if isinstance(exc, BaseExceptionGroup):
        for number, inner in enumerate(exc.exceptions, 1):
            lines.append(f"\n-- sub-exception {number} of {len(exc.exceptions)}:\n")
            if id(inner) not in seen:
                _chain(inner, lines, seen)


def extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


def _plain(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


class _PrivateFormatter(logging.Formatter):
    """Tracebacks without the values errors quote (see :func:`private_traceback`)."""

    def formatException(self, ei: ExcInfo) -> str:
        return private_traceback(ei[1]) if ei[1] is not None else super().formatException(ei)


class JsonFormatter(_PrivateFormatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update({k: _plain(v) for k, v in extras(record).items()})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(_PrivateFormatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        # logging.Formatter reuses the traceback text another handler's formatter left
        # on the record; that one would show what ours leaves out.
        cached, record.exc_text = record.exc_text, None
        try:
            line = super().format(record)
        finally:
            record.exc_text = cached
        fields = " ".join(f"{k}={_plain(v)}" for k, v in extras(record).items())
        if not fields:
            return line
        head, sep, tail = line.partition("\n")
        return f"{head} [{fields}]{sep}{tail}"


# Set by the supervisor of webhook workers (bot.runtime.workers) in each worker.
WORKER_ENV = "OUTPOST_WORKER"


class _Worker(logging.Filter):
    def __init__(self, worker: str) -> None:
        super().__init__()
        self.worker = worker

    def filter(self, record: logging.LogRecord) -> bool:
        record.worker = self.worker
        return True


def configure(level: str, fmt: LogFormat, stream: TextIO | None = None) -> None:
    """Replace the root logger's handlers with one writing ``fmt`` to ``stream``."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    worker = os.environ.get(WORKER_ENV)
    if worker:
        # Several workers write to one journal: each line says whose it is.
        handler.addFilter(_Worker(worker))
    root.addHandler(handler)
    root.setLevel(level)
    if level != "DEBUG":
        # aiogram logs every update at INFO; ours says the same with the fields that
        # matter, and aiohttp's access log repeats each webhook request.
        logging.getLogger("aiogram.event").setLevel(logging.WARNING)
        logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
        logging.getLogger("alembic").setLevel(logging.WARNING)
