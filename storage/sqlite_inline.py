"""SQLite statements run on the event loop while the writer lock is held.

aiosqlite hands every statement to a thread of its own and wakes the event loop when it
is done. For the task holding the writer lock, that hand-off is the whole cost: SQLite
answers a statement of an update in microseconds, but the task then waits its turn
behind every other ready task (40 people at once) before it can send the next, and the
writer lock stays held through all those turns, so everybody else's writes queue behind
them. Holding the lock inside ``BEGIN IMMEDIATE``, the connection already owns SQLite's
write lock and no statement can wait on another process, so it is run right away, in
the loop's thread.

What may wait stays on the thread: ``BEGIN IMMEDIATE`` itself (another process may hold
the database for as long as the busy timeout), and every read-only snapshot (they may be
long reports). In-process writers take the writer lock before ``BEGIN IMMEDIATE``, so a
connection inside one is the lock holder's.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import aiosqlite

# What storage.engine begins every transaction that may write with.
BEGIN_IMMEDIATE = "BEGIN IMMEDIATE"


class InlineWhileWriting(aiosqlite.Connection):
    """An aiosqlite connection that runs on the loop's thread what cannot wait: the
    statements of a write transaction (once ``BEGIN IMMEDIATE`` took SQLite's write
    lock), a ``BEGIN IMMEDIATE`` that gets the lock at once, and the bookkeeping calls
    that touch no lock (making a cursor, the pool's rollback of a finished transaction).
    """

    _writing = False
    # SQLite's busy timeout, in ms, as the connection was made with.
    busy_ms = 5000

    async def _execute(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        conn = self._connection
        if conn is None or not self._running:
            return await _on_the_thread(self, fn, *args, **kwargs)
        if conn.in_transaction:
            if self._writing:
                return fn(*args, **kwargs)
        else:
            self._writing = False
            if fn == conn.cursor or fn == conn.rollback:
                return fn(*args, **kwargs)
            if args and args[0] == BEGIN_IMMEDIATE:
                if _begin_if_free(conn, self.busy_ms):
                    self._writing = True
                    return None
                result = await _on_the_thread(self, fn, *args, **kwargs)
                self._writing = True
                return result
        return await _on_the_thread(self, fn, *args, **kwargs)


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
) -> InlineWhileWriting:
    """What ``aiosqlite.connect`` does, with :class:`InlineWhileWriting` (SQLAlchemy's
    ``async_creator_fn`` hook calls it with the arguments the dialect made)."""
    # The connection is made on aiosqlite's thread and used on the loop's too, one call
    # at a time (SQLAlchemy awaits each before the next).
    kwargs["check_same_thread"] = False
    location = database.decode() if isinstance(database, bytes) else str(database)

    def connector() -> sqlite3.Connection:
        made: sqlite3.Connection = sqlite3.connect(location, **kwargs)
        return made

    connection = InlineWhileWriting(connector, iter_chunk_size)
    connection.busy_ms = int(float(kwargs.get("timeout", 5.0)) * 1000)
    connection._thread.daemon = True
    return connection
