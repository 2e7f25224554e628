"""What the running task holds: open database transactions and the SQLite writer lock.

The rule the bot lives by is *decide, commit, then speak*: no Bot API call while the
calling task holds a transaction or the writer lock, since a round trip to Telegram
(50–300 ms, or a minute of flood control) would hold every other update up behind it.
This module keeps the bookkeeping that lets the rule be checked where calls are made
(``held()``): connection-level begin/commit/rollback events and the writer lock mark
the task that did them. It is kept per task rather than in a context variable, so a
task started inside a transaction does not inherit its parent's.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

# Task -> {"transaction": open connection transactions, "writer": writer locks held}.
_HELD: weakref.WeakKeyDictionary[asyncio.Task[Any], dict[str, int]] = weakref.WeakKeyDictionary()
# Connection -> the task that began its transaction. Kept here, not in ``conn.info``:
# reading that on a connection found dead raises, and the rollback must go through.
_OWNER: weakref.WeakKeyDictionary[Connection, asyncio.Task[Any]] = weakref.WeakKeyDictionary()


def _task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:
        return None


def _count(task: asyncio.Task[Any] | None, what: str, step: int) -> None:
    if task is None:
        return
    held = _HELD.setdefault(task, {})
    held[what] = max(0, held.get(what, 0) + step)


def held(task: asyncio.Task[Any] | None = None) -> list[str]:
    """What ``task`` (the running one by default) holds now: e.g. ``["transaction"]``."""
    task = task or _task()
    if task is None:
        return []
    return [what for what, n in sorted(_HELD.get(task, {}).items()) if n > 0]


def writer_taken() -> None:
    _count(_task(), "writer", 1)


def writer_released() -> None:
    _count(_task(), "writer", -1)


def _began(conn: Connection) -> None:
    task = _task()
    if task is None:
        return
    _OWNER[conn] = task
    _count(task, "transaction", 1)


def _ended(conn: Connection) -> None:
    task = _OWNER.pop(conn, None)
    if task is not None:
        _count(task, "transaction", -1)


def _on_begin(conn: Connection) -> None:
    _began(conn)


def _on_end(conn: Connection, *_args: Any) -> None:
    _ended(conn)


def watch() -> None:
    """Track every engine's transactions (idempotent)."""
    if not event.contains(Engine, "begin", _on_begin):
        event.listen(Engine, "begin", _on_begin)
        event.listen(Engine, "commit", _on_end)
        event.listen(Engine, "rollback", _on_end)


watch()
