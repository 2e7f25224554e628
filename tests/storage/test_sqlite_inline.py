"""SQLite statements run on the event loop's thread; what may wait on another process
(a ``BEGIN IMMEDIATE`` that finds the write lock taken) stays on aiosqlite's thread, so
a database locked by another process never blocks the loop."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.engine import create_engine, read_sessions, session_factory, writer
from storage.models import Base, TelegramUser


@pytest.fixture
async def engine(sqlite_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(sqlite_url)

    @event.listens_for(eng.sync_engine, "connect")
    def _thread_function(dbapi_connection: Any, _record: Any) -> None:
        # What thread SQLite runs a statement on, as seen from inside the statement.
        dbapi_connection.create_function("thread_of_call", 0, threading.get_ident)

    async with eng.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield eng
    await eng.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)


THREAD = sa.text("SELECT thread_of_call()")


async def test_writes_and_snapshot_reads_run_on_the_loops_thread(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    loop_thread = threading.get_ident()
    async with sessions() as session, writer(engine), session.begin():
        session.add(TelegramUser(id=5, first_name="Wen"))
        await session.flush()
        in_write = await session.scalar(THREAD)
    async with read_sessions(sessions)() as session, session.begin():
        in_read = await session.scalar(THREAD)
        assert (await session.get(TelegramUser, 5)) is not None
    assert in_write == loop_thread
    assert in_read == loop_thread


async def test_a_database_locked_by_another_process_is_waited_for_off_the_loop(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], sqlite_url: str
) -> None:
    other = sqlite3.connect(sqlite_url.split("///", 1)[1], isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("CREATE TABLE other_work (x INTEGER)")
    other.execute("INSERT INTO other_work VALUES (7)")

    async def write() -> Any:
        async with sessions() as session, writer(engine), session.begin():
            session.add(TelegramUser(id=8, first_name="Mine"))
            await session.flush()
            return await session.scalar(THREAD)

    writing = asyncio.create_task(write())
    ticks = 0
    for _ in range(20):
        await asyncio.sleep(0.01)
        ticks += 1
    # The loop went on turning while the write waited for the other process.
    assert ticks == 20
    assert not writing.done()
    # A snapshot reads beside the other process's write, at once.
    async with read_sessions(sessions)() as session, session.begin():
        assert await session.scalar(THREAD) == threading.get_ident()
    assert not writing.done()
    other.execute("COMMIT")
    other.close()
    in_write = await asyncio.wait_for(writing, 10)
    assert in_write == threading.get_ident()
    async with sessions() as session:
        names = (await session.scalars(sa.select(TelegramUser.first_name))).all()
        theirs = (await session.scalars(sa.text("SELECT x FROM other_work"))).all()
    assert list(names) == ["Mine"]
    assert list(theirs) == [7]


async def test_a_failed_write_rolls_back_and_the_connection_writes_again(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async def twice() -> None:
        async with sessions() as session, writer(engine), session.begin():
            session.add(TelegramUser(id=9, first_name="A"))
            await session.flush()
            # The same key again, straight to the database (the session would refuse it).
            await session.execute(sa.insert(TelegramUser).values(id=9, first_name="B"))

    with pytest.raises(sa.exc.IntegrityError):
        await twice()
    async with sessions() as session, writer(engine), session.begin():
        session.add(TelegramUser(id=10, first_name="C"))
    async with sessions() as session:
        ids = (await session.scalars(sa.select(TelegramUser.id))).all()
    assert list(ids) == [10]
