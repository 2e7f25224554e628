"""People who cannot be reached: marked once (the office told once), their held rows
queued again, in order, when they return; broadcasts count held rows as not delivered."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa

from bot.domain.statuses import ObserverCategory
from bot.services import notify
from bot.services.broadcasts import BroadcastService
from bot.services.outbox import OutboxService
from storage.models import Observer, OutboxMessage, TelegramUser
from storage.store import Store
from tests.harness import Harness
from tests.world import ADMIN, ALICE, BOB, LIAISON, STRANGER, FixedClock, actor, build_world

UNREACHABLE = "observer.unreachable"


class Env(Harness):
    service = OutboxService


@pytest.fixture
async def env(sessions: Any) -> Env:
    return Env(sessions, await build_world(sessions), FixedClock())


async def notices(env: Env) -> list[OutboxMessage]:
    return await env.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.kind == UNREACHABLE).order_by(OutboxMessage.id)
    )


async def user(env: Env, user_id: int) -> TelegramUser:
    found = await env.get(TelegramUser, user_id)
    assert found is not None
    return found


async def queue(env: Env, chat: int, count: int) -> list[int]:
    async def go(store: Store) -> list[int]:
        for n in range(count):
            await notify.to_user(store, chat, "observer.moved", {"n": n}, at=env.clock.now)
        await store.flush()
        stmt = sa.select(OutboxMessage.id).where(OutboxMessage.chat_id == chat)
        return sorted((await store.session.execute(stmt)).scalars())

    return list(await env.run(go))


async def test_an_observer_is_marked_once_and_the_office_told_once(env: Env) -> None:
    assert await env.anyone.unreachable(ALICE) is True
    assert await env.anyone.unreachable(ALICE) is False
    alice = await user(env, ALICE)
    assert alice.blocked is True
    assert alice.blocked_at == env.clock.now
    [told] = await notices(env)
    assert told.audience == "admins"
    assert told.payload == {
        "user_id": ALICE,
        "observer_id": env.world.alice_observer_id,
        "name": "Alice",
        "point": "城区便民服务中心",
    }


async def test_a_liaison_is_named_with_their_department(env: Env) -> None:
    await env.anyone.unreachable(LIAISON)
    [told] = await notices(env)
    assert told.payload == {"user_id": LIAISON, "name": "Li", "department": "区市场监管局"}


async def test_strangers_and_former_observers_are_marked_without_telling_the_office(
    env: Env,
) -> None:
    await env.update(Observer, env.world.bob_observer_id, status="dismissed")
    assert await env.anyone.unreachable(STRANGER) is True
    assert await env.anyone.unreachable(BOB) is True
    assert (await user(env, STRANGER)).blocked
    assert await notices(env) == []
    # Nobody on file at all: nothing to mark.
    assert await env.anyone.unreachable(424242) is False


async def test_a_return_requeues_the_held_rows_due_now_in_order(env: Env) -> None:
    first, second, third = await queue(env, ALICE, 3)
    [bobs] = await queue(env, BOB, 1)
    await env.anyone.unreachable(ALICE)
    for row_id in (first, second, third, bobs):
        await env.anyone.hold(row_id, "Forbidden")
    env.clock.advance(hours=3)

    assert await env.anyone.reachable(ALICE) == 3
    alice = await user(env, ALICE)
    assert (alice.blocked, alice.blocked_at) == (False, None)
    rows = await env.outbox()
    mine = [(r.id, r.state, r.not_before) for r in rows if r.chat_id == ALICE]
    assert mine == [(n, "pending", env.clock.now) for n in (first, second, third)]
    # Someone else's held row stays held.
    assert [r.state for r in rows if r.chat_id == BOB] == ["held"]
    assert [i.id for i in await env.anyone.due() if i.chat_id == ALICE] == [first]
    # Returning twice changes nothing more.
    assert await env.anyone.reachable(ALICE) == 0


async def test_told_again_only_after_a_return(env: Env) -> None:
    await env.anyone.unreachable(ALICE)
    await env.anyone.unreachable(ALICE)
    await env.anyone.reachable(ALICE)
    await env.anyone.unreachable(ALICE)
    assert len(await notices(env)) == 2


async def test_two_at_once_mark_once(env: Env) -> None:
    """Two 403s for the same person, recorded in two transactions at the same time:
    the second waits for the first (a row lock, or SQLite's one writer) and finds the
    person already marked."""
    first_marked = asyncio.Event()
    release = asyncio.Event()

    async def first() -> bool:
        async with env.sessions() as session, session.begin():
            marked = await OutboxService(Store(session), env.policy, env.clock).unreachable(ALICE)
            first_marked.set()
            await release.wait()
            return marked

    async def second() -> bool:
        await first_marked.wait()
        async with env.sessions() as session, session.begin():
            return await OutboxService(Store(session), env.policy, env.clock).unreachable(ALICE)

    one = asyncio.create_task(first())
    two = asyncio.create_task(second())
    await first_marked.wait()
    for _ in range(10):
        await asyncio.sleep(0.01)
    assert not two.done()  # waiting for the first transaction
    release.set()
    assert (await one, await two) == (True, False)
    assert len(await notices(env)) == 1


async def test_a_held_row_is_still_unreachable_only_while_marked(env: Env) -> None:
    assert await env.anyone.still_unreachable(ALICE) is False
    await env.anyone.unreachable(ALICE)
    assert await env.anyone.still_unreachable(ALICE) is True
    assert await env.anyone.still_unreachable(424242) is False


async def test_a_broadcast_counts_held_rows_as_not_delivered(env: Env) -> None:
    async def send(store: Store) -> int:
        admin = await actor(store, ADMIN, admin=True)
        sent = await BroadcastService(store, env.policy, env.clock).send(admin, "Hello")
        return sent.id

    broadcast_id = await env.run(send)
    alice_row, bob_row = [r.id for r in await env.outbox() if r.broadcast_id == broadcast_id]
    await env.anyone.sent(alice_row)
    await env.anyone.hold(bob_row, "Forbidden")
    assert await env.anyone.settle_broadcast(broadcast_id) is True
    [report] = await env.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.kind == "broadcast.report")
    )
    assert report.payload == {
        "broadcast_id": broadcast_id,
        "recipients": 2,
        "delivered": 1,
        "failed": 1,
        "point": None,
    }


async def test_a_suspended_observer_is_still_one_the_office_hears_about(env: Env) -> None:
    await env.add(TelegramUser(id=1003, first_name="Carol"))
    await env.add(
        Observer(
            name="Carol",
            category=ObserverCategory.OTHER,
            point_id=None,
            status="suspended",
            user_id=1003,
        )
    )
    await env.anyone.unreachable(1003)
    [told] = await notices(env)
    assert (told.payload["name"], told.payload["point"]) == ("Carol", None)
