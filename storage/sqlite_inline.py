"""SQLite statements run on the event loop's thread, unless they may wait.

aiosqlite hands every statement to a thread of its own and wakes the event loop when it
is done. SQLite answers an update's statements in microseconds; the hand-off costs more
CPU than that, and the task then waits its turn behind every other ready task (40 people
at once) before it can send the next, while a writer holds the writer lock through all
those turns, so everybody else's writes queue behind them.

What cannot wait runs in place: the statements of a write transaction once ``BEGIN
IMMEDIATE`` holds SQLite's write lock (in-process writers take the writer lock first,
so a connection inside one is the lock holder's), the reads of a snapshot (WAL readers
wait for no one), and the calls that touch no lock. What may wait for another process
stays on the thread: a ``BEGIN IMMEDIATE`` that finds the write lock taken (it waits
for up to the busy timeout), and a write attempted in a read-only snapshot.

The price: a long statement holds the loop for its length. Reports and exports read a
whole year of items in the update's transaction, as they held the writer lock before.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import aiosqlite

# What storage.engine begins every transaction that may write with.
BEGIN_IMMEDIATE = "BEGIN IMMEDIATE"
# ... and every read-only snapshot with.
BEGIN_SNAPSHOT = "BEGIN"


class InlineUnlessWaiting(aiosqlite.Connection):
    """An aiosqlite connection that runs on the loop's thread whatever cannot wait on
    another process's lock (see the module's docstring)."""

    _writing = False
    # SQLite's busy timeout, in ms, as the connection was made with.
    busy_ms = 5000

    async def _execute(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        conn = self._connection
        if conn is None or not self._running:
            return await _on_the_thread(self, fn, *args, **kwargs)
        if conn.in_transaction:
            if self._writing or not _writes(args):
                return fn(*args, **kwargs)
            return await _on_the_thread(self, fn, *args, **kwargs)
        self._writing = False
        if args and args[0] == BEGIN_IMMEDIATE:
            if not _begin_if_free(conn, self.busy_ms):
                await _on_the_thread(self, fn, *args, **kwargs)
            self._writing = True
            return None
        if fn == conn.cursor or fn == conn.rollback or (args and args[0] == BEGIN_SNAPSHOT):
            return fn(*args, **kwargs)
        return await _on_the_thread(self, fn, *args, **kwargs)

    async def begin(self, *, read_only: bool) -> None:
        """Begin a transaction: a read-only snapshot, or one that may write."""
        conn = self._connection
        assert conn is not None
        await self._execute(conn.execute, BEGIN_SNAPSHOT if read_only else BEGIN_IMMEDIATE)


def _writes(args: tuple[Any, ...]) -> bool:
    """Whether a call in a snapshot may write (and so wait for the write lock)."""
    return bool(args) and isinstance(args[0], str) and args[0].lstrip()[:6].upper() != "SELECT"


# aiosqlite's own: the statement handed to the connection's thread.
_on_the_thread: Any = aiosqlite.Connection._execute


def _begin_if_free(conn: sqlite3.Connection, busy_ms: int) -> bool:
    """``BEGIN IMMEDIATE`` if no other process holds the write lock; False if one does
    (the caller then waits for it on the thread, up to the busy timeout)."""
    conn.execute("PRAGMA busy_timeout=0")
    try:
        conn.execute(BEGIN_IMMEDIATE)
    except sqlite3.OperationalError as e:
        if "locked" not in str(e) and "busy" not in str(e):
            raise
        return False
    finally:
        conn.execute(f"PRAGMA busy_timeout={busy_ms}")
    return True


def connect(
    database: str | bytes, *, iter_chunk_size: int = 64, **kwargs: Any
) -> InlineUnlessWaiting:
    """What ``aiosqlite.connect`` does, with :class:`InlineUnlessWaiting` (SQLAlchemy's
    ``async_creator_fn`` hook calls it with the arguments the dialect made)."""
    # The connection is made on aiosqlite's thread and used on the loop's too, one call
    # at a time (SQLAlchemy awaits each before the next).
    kwargs["check_same_thread"] = False
    location = database.decode() if isinstance(database, bytes) else str(database)

    def connector() -> sqlite3.Connection:
        made: sqlite3.Connection = sqlite3.connect(location, **kwargs)
        return made

    connection = InlineUnlessWaiting(connector, iter_chunk_size)
    connection.busy_ms = int(float(kwargs.get("timeout", 5.0)) * 1000)
    connection._thread.daemon = True
    return connection
