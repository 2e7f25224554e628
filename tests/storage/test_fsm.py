"""Conversation state: the database storage (SQLite and PostgreSQL), and with Redis the
lock that keeps one conversation's updates apart across processes."""

from __future__ import annotations

import asyncio
import logging
import random
import socket
from collections.abc import Callable
from typing import Any

import pytest
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage, StorageKey
from aiogram.fsm.storage.redis import RedisEventIsolation
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.dispatcher import conversation_storage
from bot.settings import load_settings
from storage.engine import create_engine, session_factory
from storage.fsm import DatabaseStorage, storage_key
from storage.models import ConversationState
from tests.statements import statements_about


class Filing(StatesGroup):
    title = State()


KEY = StorageKey(bot_id=42, chat_id=1001, user_id=1001)
OTHER = StorageKey(bot_id=42, chat_id=1002, user_id=1002)


async def rows(sessions: async_sessionmaker[AsyncSession]) -> dict[str, ConversationState]:
    from sqlalchemy import select

    async with sessions() as session:
        found = (await session.execute(select(ConversationState))).scalars().all()
        return {row.key: row for row in found}


async def roundtrip(storage: BaseStorage, key: StorageKey = KEY, other: StorageKey = OTHER) -> None:
    assert await storage.get_state(key) is None
    assert await storage.get_data(key) == {}
    await storage.set_state(key, Filing.title)
    await storage.set_data(key, {"draft": {"title": "路灯不亮", "attachments": [{"id": "x"}]}})
    assert await storage.get_state(key) == "Filing:title"
    data = await storage.get_data(key)
    assert data == {"draft": {"title": "路灯不亮", "attachments": [{"id": "x"}]}}
    data["draft"]["title"] = "changed without saving"
    assert (await storage.get_data(key))["draft"]["title"] == "路灯不亮"
    merged = await storage.update_data(key, {"answer": {"item": 3}})
    assert set(merged) == {"draft", "answer"}
    assert await storage.get_state(other) is None  # keys never leak into each other
    await storage.set_state(key, None)
    assert await storage.get_state(key) is None
    assert set(await storage.get_data(key)) == {"draft", "answer"}  # data outlives state


async def test_database_storage_round_trip(sessions: async_sessionmaker[AsyncSession]) -> None:
    storage = DatabaseStorage(sessions)
    await roundtrip(storage)
    stored = await rows(sessions)
    assert set(stored) == {storage_key(KEY)}
    assert stored[storage_key(KEY)].state is None
    await storage.set_data(KEY, {})
    assert await rows(sessions) == {}  # an empty conversation leaves no row


async def test_database_storage_survives_a_new_instance(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await DatabaseStorage(sessions).set_state(KEY, Filing.title)
    await DatabaseStorage(sessions).update_data(KEY, {"draft": {"title": "t"}})
    fresh = DatabaseStorage(sessions)
    assert await fresh.get_state(KEY) == "Filing:title"
    assert await fresh.get_data(KEY) == {"draft": {"title": "t"}}


async def test_bound_writes_commit_or_roll_back_with_the_update(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    storage = DatabaseStorage(sessions)
    async with sessions() as session, session.begin():
        with storage.bind(session):
            await storage.set_state(KEY, Filing.title)
            assert await storage.get_state(KEY) == "Filing:title"

    async def failing_update() -> None:
        async with sessions() as session, session.begin():
            with storage.bind(session):
                await storage.set_data(KEY, {"draft": {"title": "lost"}})
                raise RuntimeError("the handler failed")

    with pytest.raises(RuntimeError):
        await failing_update()
    assert await storage.get_state(KEY) == "Filing:title"
    assert await storage.get_data(KEY) == {}


async def test_clearing_a_conversation_in_an_update_deletes_its_row_in_one_statement(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """aiogram's clear() sets the state, then the data: the row goes with one DELETE,
    and a conversation already gone costs no statement at all."""
    storage = DatabaseStorage(sessions)
    await storage.set_state(KEY, Filing.title)
    await storage.set_data(KEY, {"draft": {"title": "路灯不亮"}})
    with statements_about(sessions) as sent:
        async with sessions() as session, session.begin():
            with storage.bind(session):
                assert await storage.get_state(KEY) == "Filing:title"
                await storage.set_state(KEY, None)
                await storage.set_data(KEY, {})
                await storage.set_state(KEY, None)
                await storage.set_data(KEY, {})
    assert [s.split()[0].upper() for s in sent] == ["SELECT", "DELETE"]
    assert await rows(sessions) == {}


async def test_a_conversation_started_in_an_update_is_written_once_and_one_ended_at_once_not_at_all(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """aiogram sets the data, then the state, of a new conversation: one INSERT at the
    commit, and what the update reads back is what it set. A conversation begun and
    ended in the same update leaves no statement behind its first look."""
    storage = DatabaseStorage(sessions)
    with statements_about(sessions) as sent:
        async with sessions() as session, session.begin():
            with storage.bind(session):
                assert await storage.get_state(KEY) is None
                await storage.set_data(KEY, {"draft": {"title": "路灯不亮"}})
                await storage.set_state(KEY, Filing.title)
                assert await storage.get_state(KEY) == "Filing:title"
                assert await storage.get_data(KEY) == {"draft": {"title": "路灯不亮"}}
    assert [s.split()[0].upper() for s in sent] == ["SELECT", "INSERT"]
    assert await storage.get_state(KEY) == "Filing:title"
    assert await storage.get_data(KEY) == {"draft": {"title": "路灯不亮"}}

    other = StorageKey(bot_id=KEY.bot_id, chat_id=KEY.chat_id + 1, user_id=KEY.user_id + 1)
    with statements_about(sessions) as sent:
        async with sessions() as session, session.begin():
            with storage.bind(session):
                await storage.set_data(other, {"draft": {}})
                await storage.set_state(other, Filing.title)
                await storage.set_state(other, None)
                await storage.set_data(other, {})
    assert [s.split()[0].upper() for s in sent] == ["SELECT"]
    assert await storage.get_state(other) is None


def _put_prompt(message_id: int, asked: str) -> Callable[[dict[str, Any]], dict[str, Any] | None]:
    """What remembering a question's message does: only while the flow still asks it."""

    def change(data: dict[str, Any]) -> dict[str, Any] | None:
        flow = data.get("filing")
        if not isinstance(flow, dict) or flow.get("ask") != asked:
            return None
        return {**data, "filing": {**flow, "prompt": message_id}}

    return change


async def _an_update_writes(storage: DatabaseStorage, sessions: Any, ask: str) -> None:
    async with sessions() as session, session.begin():
        with storage.bind(session):
            await storage.get_state(KEY)
            await storage.set_state(KEY, Filing.title)
            await storage.set_data(KEY, {"filing": {"ask": ask, "title": "路灯"}})


async def test_after_an_update_its_conversation_is_changed_in_one_statement_if_unchanged(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The id of the question an update sent goes into the conversation it wrote: one
    UPDATE that holds only if the row is as the update left it; nothing at all if the
    flow had already moved on in what this process wrote."""
    storage = DatabaseStorage(sessions)
    await _an_update_writes(storage, sessions, "a1")
    with statements_about(sessions) as sent:
        assert await storage.modify(KEY, _put_prompt(77, "a1"))
    assert [s.split()[0].upper() for s in sent] == ["UPDATE"], sent
    assert await storage.get_data(KEY) == {"filing": {"ask": "a1", "title": "路灯", "prompt": 77}}
    assert await storage.get_state(KEY) == "Filing:title"
    # Again, on what it wrote itself: still one statement.
    with statements_about(sessions) as sent:
        assert await storage.modify(KEY, _put_prompt(78, "a1"))
    assert len(sent) == 1
    assert (await storage.get_data(KEY))["filing"]["prompt"] == 78

    await _an_update_writes(storage, sessions, "b2")
    with statements_about(sessions) as sent:
        assert not await storage.modify(KEY, _put_prompt(79, "a1"))
    assert sent == []
    assert "prompt" not in (await storage.get_data(KEY))["filing"]


async def test_a_conversation_written_elsewhere_meanwhile_is_read_afresh_and_kept(
    sessions: async_sessionmaker[AsyncSession], db_url: str
) -> None:
    """Another process (its own engine) moved the flow on after this one wrote it: the
    one-statement write does not hold, the row is read afresh, and what the other
    process wrote is neither overwritten nor given the old question's id."""
    storage = DatabaseStorage(sessions)
    await _an_update_writes(storage, sessions, "a1")
    other_engine = create_engine(db_url)
    try:
        other = DatabaseStorage(session_factory(other_engine))
        await other.set_data(KEY, {"filing": {"ask": "c3", "title": "换了"}})
        with statements_about(sessions) as sent:
            assert not await storage.modify(KEY, _put_prompt(80, "a1"))
        assert [s.split()[0].upper() for s in sent] == ["UPDATE", "SELECT"], sent
        assert await storage.get_data(KEY) == {"filing": {"ask": "c3", "title": "换了"}}
        # The question the other process asked gets its id, read afresh.
        assert await storage.modify(KEY, _put_prompt(81, "c3"))
        assert await other.get_data(KEY) == {"filing": {"ask": "c3", "title": "换了", "prompt": 81}}
    finally:
        await other_engine.dispose()


async def _forget_locks(isolation: BaseEventIsolation, bot_id: int) -> None:
    assert isinstance(isolation, RedisEventIsolation)
    keys = [k async for k in isolation.redis.scan_iter(match=f"outpost:{bot_id}:*")]
    if keys:
        await isolation.redis.delete(*keys)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_with_redis_the_state_stays_in_the_database_and_the_lock_is_redis_s(
    sessions: async_sessionmaker[AsyncSession], redis_url: str
) -> None:
    settings = load_settings(redis_url=redis_url)
    bot_id = random.randint(10**9, 2 * 10**9)  # keys of this test only
    key = StorageKey(bot_id=bot_id, chat_id=1001, user_id=1001)
    storage, isolation = conversation_storage(settings, sessions)
    # Another process of the same bot.
    _, other = conversation_storage(settings, sessions)
    try:
        assert isinstance(storage, DatabaseStorage)
        await roundtrip(storage, key, StorageKey(bot_id=bot_id, chat_id=1002, user_id=1002))
        assert set(await DatabaseStorage(sessions).get_data(key)) == {"draft", "answer"}

        async def other_update() -> None:
            async with other.lock(key):
                pass

        async with isolation.lock(key):
            waiting = asyncio.create_task(other_update())
            await asyncio.sleep(0.3)
            assert not waiting.done(), "two processes handled one conversation at once"
            # Another conversation is not held up.
            async with other.lock(StorageKey(bot_id=bot_id, chat_id=1002, user_id=1002)):
                pass
        await asyncio.wait_for(waiting, 10)
    finally:
        await _forget_locks(isolation, bot_id)
        await isolation.close()
        await other.close()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_while_redis_is_down_updates_go_on_with_the_process_s_own_lock(
    sessions: async_sessionmaker[AsyncSession], caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = load_settings(redis_url=f"redis://127.0.0.1:{port}/0")
    storage, isolation = conversation_storage(settings, sessions)
    held: list[str] = []

    async def update(number: int) -> None:
        async with isolation.lock(KEY):
            held.append(f"in {number}")
            await asyncio.sleep(0.01)
            held.append(f"out {number}")

    try:
        with caplog.at_level(logging.INFO, logger="bot.delivery.shared_limits"):
            await asyncio.gather(*(update(n) for n in range(3)))
            await update(3)
    finally:
        await isolation.close()
    assert isinstance(storage, DatabaseStorage)
    # Kept apart still, within this process.
    assert all(a.split()[1] == b.split()[1] for a, b in zip(held[::2], held[1::2], strict=True))
    assert len(held) == 8
    logged = [r for r in caplog.records if r.name == "bot.delivery.shared_limits"]
    assert [r.levelname for r in logged] == ["WARNING"]


async def test_a_dead_workers_conversation_locks_are_freed(redis_url: str) -> None:
    """A worker started in place of a dead one lets go of the dead one's locks at once;
    a live worker's stay."""
    from aiogram.fsm.storage.base import StorageKey

    from bot.delivery.holders import holder_prefix
    from bot.middlewares.redis_isolation import FallbackIsolation

    isolation = FallbackIsolation.from_url(redis_url)
    bot_id = random.randint(10**9, 2 * 10**9)
    dead = isolation.key_builder.build(StorageKey(bot_id=bot_id, chat_id=1, user_id=1), "lock")
    alive = isolation.key_builder.build(StorageKey(bot_id=bot_id, chat_id=2, user_id=2), "lock")
    try:
        await isolation.redis.set(dead, holder_prefix(1_000_001) + "aaaa1111", px=60_000)
        await isolation.redis.set(alive, holder_prefix(1_000_002) + "bbbb2222", px=60_000)
        assert await isolation.free_held_by(holder_prefix(1_000_001)) == 1
        assert await isolation.redis.get(dead) is None
        assert await isolation.redis.get(alive) is not None
        # And a lock taken now carries this process's holder.
        async with isolation.lock(StorageKey(bot_id=bot_id, chat_id=3, user_id=3)):
            key = isolation.key_builder.build(
                StorageKey(bot_id=bot_id, chat_id=3, user_id=3), "lock"
            )
            token = await isolation.redis.get(key)
            assert token is not None
            assert token.decode().startswith(holder_prefix())
    finally:
        await isolation.redis.delete(dead, alive)
        await isolation.close()
