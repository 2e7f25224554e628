"""Engines and sessions for SQLite (embedded default) and PostgreSQL.

SQLite gets WAL (readers never wait for the writer), enforced foreign keys and a busy
timeout. Python's sqlite3 driver starts transactions lazily, only before a write, so a
read-then-write sequence would not be isolated; we take over and begin every
transaction with ``BEGIN IMMEDIATE``: writers queue on the busy timeout instead of
failing half-way with "database is locked".

SQLite has one writer at a time. Within a process, everything that writes (the update
handlers, the outbox sender) queues for it on :func:`writer`, in arrival order, instead
of on SQLite's busy timeout. Work that only reads (the sender rendering and sending a
notice) uses :func:`read_sessions`: a deferred ``BEGIN`` that takes a WAL snapshot,
never waits for the writer and never makes it wait; such a session refuses to write.
PostgreSQL needs neither: row locks do the work there.
"""

from __future__ import annotations

import asyncio
import weakref
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine
from sqlalchemy.orm import Session
from sqlalchemy.util.concurrency import await_

from storage import guard, sqlite_inline

SQLITE_BUSY_TIMEOUT_MS = 30_000
# PostgreSQL: the outbox sender keeps up to 16 sends in flight, each in a transaction of
# its own, beside the updates being handled (40 people at once and more). Connections
# beyond the kept ones are closed on return, so a pool smaller than the usual load made
# a connection (and prepared its statements afresh) for every few updates.
PG_POOL_SIZE = 30
PG_MAX_OVERFLOW = 20
# SQLite: every person acting at once, and the sender's sends, read through a connection
# of their own. With SQLAlchemy's default (5 kept, 10 more) the writer waited for a free
# connection, or made a new one (a thread and four pragmas), while holding the lock.
SQLITE_POOL_SIZE = 20
SQLITE_MAX_OVERFLOW = 60

# The execution option that makes a SQLite transaction deferred (see read_sessions).
_READ_ONLY = "outpost_read_only"
_WRITERS: weakref.WeakKeyDictionary[Any, _Writer] = weakref.WeakKeyDictionary()


class ReadOnlySession(RuntimeError):
    """Something tried to write in a read-only session."""


def pool_for(workers: int) -> dict[str, int]:
    """A PostgreSQL pool for one of ``workers`` processes: together they keep and open
    what one process would, within a server's usual 100 connections."""
    if workers <= 1:
        return {}
    return {
        "pool_size": max(8, PG_POOL_SIZE // workers),
        "max_overflow": max(4, PG_MAX_OVERFLOW // workers),
    }


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    # A database error names its statement, never the values bound to it: those are
    # people's words, names and phone numbers, and errors end up in logs.
    kwargs.setdefault("hide_parameters", True)
    if not is_sqlite(url):
        # No ping before every transaction (a round trip each, 4 % of the bot's CPU):
        # a connection found dead when used invalidates the pool, and the update's
        # transaction is tried again on a fresh one (bot.middlewares.transaction).
        kwargs.setdefault("pool_pre_ping", False)
        if "poolclass" not in kwargs:
            kwargs.setdefault("pool_size", PG_POOL_SIZE)
            kwargs.setdefault("max_overflow", PG_MAX_OVERFLOW)
        return _create_async_engine(url, **kwargs)

    if "poolclass" not in kwargs and make_url(url).database not in (None, "", ":memory:"):
        kwargs.setdefault("pool_size", SQLITE_POOL_SIZE)
        kwargs.setdefault("max_overflow", SQLITE_MAX_OVERFLOW)
    connect_args = kwargs.pop("connect_args", {})
    connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
    if not __import__("os").environ.get("OUTPOST_NOINLINE"):
        connect_args.setdefault("async_creator_fn", sqlite_inline.connect)
    engine = _create_async_engine(url, connect_args=connect_args, **kwargs)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Autocommit at the driver level: SQLAlchemy's "begin" hook below decides.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        read_only = bool(connection.get_execution_options().get(_READ_ONLY))
        driver = getattr(connection.connection.dbapi_connection, "_connection", None)
        if isinstance(driver, sqlite_inline.InlineUnlessWaiting):
            # Straight to the driver: through exec_driver_sql, SQLAlchemy's statement
            # machinery cost a sixth of a short transaction's CPU, for one word.
            await_(driver.begin(read_only=read_only))
        elif read_only:
            connection.exec_driver_sql(sqlite_inline.BEGIN_SNAPSHOT)
        else:
            connection.exec_driver_sql(sqlite_inline.BEGIN_IMMEDIATE)

    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # Objects stay readable after commit: handlers render them after the middleware
    # has committed.
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def engine_of(sessions: async_sessionmaker[AsyncSession]) -> AsyncEngine:
    engine = sessions.kw.get("bind")
    if not isinstance(engine, AsyncEngine):
        raise TypeError("the session factory is not bound to an AsyncEngine")
    return engine


def writer(engine: AsyncEngine) -> AbstractAsyncContextManager[Any]:
    """What to hold while writing: on SQLite the engine's one in-process writer lock
    (shared by everything that writes through this engine), elsewhere nothing.

    Take it inside the session and around its transaction (``async with sessions() as
    session, writer(engine), session.begin()``): closing an AsyncSession waits a turn
    of the event loop, which the lock need not be held through."""
    if engine.dialect.name != "sqlite":
        return nullcontext()
    key = engine.sync_engine
    lock = _WRITERS.get(key)
    if lock is None:
        lock = _WRITERS[key] = _Writer(asyncio.Lock())
    return lock


class _Writer:
    """The writer lock, marked on the task that holds it (see storage.guard)."""

    __slots__ = ("_lock",)

    def __init__(self, lock: asyncio.Lock) -> None:
        self._lock = lock

    async def __aenter__(self) -> None:
        await self._lock.acquire()
        guard.writer_taken()

    async def __aexit__(self, *_exc: object) -> None:
        guard.writer_released()
        self._lock.release()


def read_sessions(sessions: async_sessionmaker[AsyncSession]) -> async_sessionmaker[AsyncSession]:
    """Sessions like ``sessions``' that only read: on SQLite their transactions are
    deferred snapshots that neither wait for the writer nor hold it up."""
    return _made(engine_of(sessions), {_READ_ONLY: True}, autocommit=False)


def _made(
    engine: AsyncEngine, info: dict[str, Any], *, autocommit: bool
) -> async_sessionmaker[AsyncSession]:
    """Sessions on ``engine`` marked with ``info`` (on their connections too); with
    ``autocommit``, each statement on its own on PostgreSQL (SQLite keeps its BEGIN)."""
    options: dict[str, Any] = dict(info)
    if autocommit and engine.dialect.name != "sqlite":
        options["isolation_level"] = "AUTOCOMMIT"
    return async_sessionmaker(
        engine.execution_options(**options), expire_on_commit=False, autoflush=False, info=info
    )


def glance_sessions(
    sessions: async_sessionmaker[AsyncSession],
) -> async_sessionmaker[AsyncSession]:
    """Sessions like those of :func:`read_sessions`, for reads that need no snapshot
    across their statements. On PostgreSQL each statement runs on its own (autocommit):
    what it sees is what it would see in a READ COMMITTED transaction, without the BEGIN
    and COMMIT round trips (about 0.2 ms of CPU each time). On SQLite, the same
    snapshot."""
    return _made(engine_of(sessions), {_READ_ONLY: True}, autocommit=True)


class MoreThanOneStatement(RuntimeError):
    """Work given a session of :func:`statement_sessions` sent a second statement."""


# The session option of statement_sessions, and the note that its statement was sent.
_ONE_STATEMENT = "outpost_one_statement"
_SENT_ONE = "outpost_sent_one"


def statement_sessions(
    sessions: async_sessionmaker[AsyncSession],
) -> async_sessionmaker[AsyncSession]:
    """Sessions like those of ``sessions``, for work that is one statement, atomic by
    itself (a row leased, or its send recorded, in one UPDATE). On PostgreSQL the
    statement runs on its own (autocommit), without the BEGIN and COMMIT round trips,
    which cost more than the statement; on SQLite it is the usual write transaction. A
    second statement, or a flush, is refused on both: it would not be atomic with the
    first."""
    return _made(engine_of(sessions), {_ONE_STATEMENT: True}, autocommit=True)


@event.listens_for(Session, "do_orm_execute")
def _only_one(state: Any) -> None:
    info = state.session.info
    if info.get(_ONE_STATEMENT):
        if info.get(_SENT_ONE):
            raise MoreThanOneStatement("a second statement in a one-statement session")
        info[_SENT_ONE] = True


@event.listens_for(Session, "before_flush")
def _refuse_writes(session: Session, _context: Any, _instances: Any) -> None:
    read_only, one_statement = session.info.get(_READ_ONLY), session.info.get(_ONE_STATEMENT)
    if not (read_only or one_statement):
        return  # every other flush: not worth looking at what it holds
    if not (session.new or session.deleted or any(session.is_modified(o) for o in session.dirty)):
        return
    if one_statement:
        raise MoreThanOneStatement("a flush in a one-statement session")
    # A deferred SQLite transaction that writes after another writer committed fails at
    # once with "database is locked"; better a clear error where the mistake is made.
    raise ReadOnlySession("a read-only session tried to write")


_KEPT = "outpost_kept"
# An update loads a few dozen rows; a report or an export streams far more, and those
# are read once: past this many, nothing more is held.
_KEEP_AT_MOST = 512


@event.listens_for(Session, "loaded_as_persistent")
@event.listens_for(Session, "pending_to_persistent")
def _keep_loaded(session: Session, instance: Any) -> None:
    # The identity map holds rows weakly: a row a service loaded (or added) and let go
    # would be selected again by the next ``session.get`` of the same update. A session
    # lives for one update (or one short delivery step), so holding its rows is cheap.
    kept = session.info.get(_KEPT)
    if kept is None:
        kept = session.info[_KEPT] = []
    if len(kept) < _KEEP_AT_MOST:
        kept.append(instance)
