"""Sharing the database: one writer lock per SQLite engine, and read-only sessions that
never wait for the writer nor write themselves."""

from __future__ import annotations

import asyncio
from contextlib import nullcontext

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.engine import (
    MoreThanOneStatement,
    ReadOnlySession,
    glance_sessions,
    read_sessions,
    statement_sessions,
    writer,
)
from storage.models import TelegramUser
from tests.world import ALICE, World


def test_one_writer_lock_per_sqlite_engine(engine: AsyncEngine) -> None:
    lock = writer(engine)
    if engine.dialect.name == "sqlite":
        assert not isinstance(lock, nullcontext)
        assert writer(engine) is lock
    else:
        assert isinstance(lock, nullcontext)


async def _renaming_alice_is_refused(session: AsyncSession) -> None:
    user = await session.get(TelegramUser, ALICE)
    assert user is not None
    user.first_name = "Changed"
    with pytest.raises(ReadOnlySession):
        await session.flush()
    await session.rollback()


async def test_a_read_only_session_refuses_to_write(
    sessions: async_sessionmaker[AsyncSession], world: World
) -> None:
    reads = read_sessions(sessions)
    async with reads() as session:
        await _renaming_alice_is_refused(session)
        session.add(TelegramUser(id=77, first_name="New"))
        with pytest.raises(ReadOnlySession):
            await session.flush()
        await session.rollback()
    async with sessions() as session:
        user = await session.get(TelegramUser, ALICE)
        assert user is not None
        assert user.first_name == "Alice"
        assert await session.get(TelegramUser, 77) is None


async def test_a_read_only_session_reads_beside_an_open_write(
    sessions: async_sessionmaker[AsyncSession], world: World
) -> None:
    async with sessions() as writing, writing.begin():
        await writing.execute(
            sa.update(TelegramUser).where(TelegramUser.id == ALICE).values(first_name="Ally")
        )

        async def read() -> str:
            async with read_sessions(sessions)() as session, session.begin():
                user = await session.get(TelegramUser, ALICE)
                assert user is not None
                return user.first_name

        # On SQLite a BEGIN IMMEDIATE would wait here for the writer; a snapshot does not.
        assert await asyncio.wait_for(read(), 10) == "Alice"
    assert await asyncio.wait_for(read(), 10) == "Ally"


async def test_a_glance_reads_without_a_transaction_on_postgresql_and_refuses_to_write(
    sessions: async_sessionmaker[AsyncSession], world: World
) -> None:
    glances = glance_sessions(sessions)
    async with glances() as session:
        user = await session.get(TelegramUser, ALICE)
        assert user is not None
        connection = await session.connection()
        driver = (await connection.get_raw_connection()).driver_connection
        if connection.dialect.name == "postgresql":
            # No BEGIN went to the server: nothing holds a snapshot, nothing to commit.
            assert driver is not None
            assert not driver.is_in_transaction()
        await _renaming_alice_is_refused(session)
    # The connection went back to the pool as it was: a write session's transaction.
    async with sessions() as session, session.begin():
        connection = await session.connection()
        await session.execute(sa.select(TelegramUser.id).where(TelegramUser.id == ALICE))
        driver = (await connection.get_raw_connection()).driver_connection
        if connection.dialect.name == "postgresql":
            assert driver is not None
            assert driver.is_in_transaction()
        user = await session.get(TelegramUser, ALICE)
        assert user is not None
        assert user.first_name == "Alice"


async def test_a_one_statement_session_writes_its_statement_alone_and_refuses_a_second(
    sessions: async_sessionmaker[AsyncSession], world: World
) -> None:
    rename = (
        sa.update(TelegramUser)
        .where(TelegramUser.id == ALICE)
        .values(first_name="Ally")
        .execution_options(synchronize_session=False)
    )
    statements = statement_sessions(sessions)
    async with statements() as session, session.begin():
        await session.execute(rename)
        connection = await session.connection()
        driver = (await connection.get_raw_connection()).driver_connection
        if connection.dialect.name == "postgresql":
            # Written on its own: no BEGIN went to the server, nothing to commit.
            assert driver is not None
            assert not driver.is_in_transaction()
    async with sessions() as session:
        user = await session.get(TelegramUser, ALICE)
        assert user is not None
        assert user.first_name == "Ally"
    # A second statement would not be atomic with the first: refused.
    async with statements() as session:
        await session.execute(rename.values(first_name="Twice"))
        with pytest.raises(MoreThanOneStatement):
            await session.execute(sa.select(TelegramUser.id))
        await session.rollback()
    async with statements() as session:
        session.add(TelegramUser(id=78, first_name="New"))
        with pytest.raises(MoreThanOneStatement):
            await session.flush()
        await session.rollback()
    async with sessions() as session:
        assert await session.get(TelegramUser, 78) is None
    # Each session counts its own statement.
    async with statements() as session, session.begin():
        await session.execute(rename.values(first_name="Alice"))
