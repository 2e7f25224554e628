"""The outbox as a queue per chat: what is due, what a claim finds, what becomes of a
row (sent, retried later, held, failed), and the backoff."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from bot.services import notify
from bot.services.broadcasts import BroadcastService
from bot.services.outbox import OutboxService, retry_delay
from storage.models import OutboxMessage
from storage.store import Store
from tests.harness import Harness
from tests.world import ADMIN, ALICE, BOB, FixedClock, actor, build_world


class Env(Harness):
    service = OutboxService


@pytest.fixture
async def env(sessions: Any) -> Env:
    return Env(sessions, await build_world(sessions), FixedClock())


async def queue(env: Env, *chats: int | None) -> list[int]:
    """A notice per chat (None: the admin group), in that order; returns their ids."""

    async def go(store: Store) -> list[int]:
        for chat in chats:
            if chat is None:
                await notify.to_admins(store, "observer.moved", {}, at=env.clock.now)
            else:
                await notify.to_user(store, chat, "observer.moved", {}, at=env.clock.now)
        await store.flush()
        stmt = sa.select(OutboxMessage.id).order_by(OutboxMessage.id.desc()).limit(len(chats))
        return sorted((await store.session.execute(stmt)).scalars())

    return list(await env.run(go))


async def due(env: Env, **kwargs: Any) -> list[int]:
    return [item.id for item in await env.anyone.due(**kwargs)]


async def row(env: Env, row_id: int) -> OutboxMessage:
    found = await env.get(OutboxMessage, row_id)
    assert found is not None
    return found


async def test_only_the_first_pending_row_of_each_chat_is_due(env: Env) -> None:
    a1, b1, g1, a2, g2, b2 = await queue(env, ALICE, BOB, None, ALICE, None, BOB)
    assert await due(env) == [a1, b1, g1]
    assert await due(env, limit=2) == [a1, b1]
    # Chats with a row in flight are left out; None stands for the admin group.
    assert await due(env, busy={ALICE, None}) == [b1]
    assert await due(env, busy={BOB}) == [a1, g1]

    await env.anyone.sent(a1)
    await env.anyone.failed(b1, "Bad Request: no")
    await env.anyone.hold(g1, "whatever")
    # Sent, failed and held rows keep nobody waiting.
    assert await due(env) == [a2, g2, b2]


async def test_a_row_in_backoff_keeps_its_chat_waiting(env: Env) -> None:
    a1, a2, b1 = await queue(env, ALICE, ALICE, BOB)
    again = await env.anyone.retry_later(a1, "TelegramServerError: 500")
    assert again == env.clock.now + timedelta(seconds=2)
    assert await due(env) == [b1]
    env.clock.advance(seconds=2)
    assert await due(env) == [a1, b1]
    assert a2 not in await due(env)


async def test_a_row_not_yet_due_is_not_due(env: Env) -> None:
    [a1] = await queue(env, ALICE)

    async def later(store: Store) -> None:
        found = await store.outbox.get(a1)
        assert found is not None
        found.not_before = env.clock.now + timedelta(minutes=1)

    await env.run(later)
    assert await due(env) == []
    env.clock.advance(minutes=1)
    assert await due(env) == [a1]


async def test_a_claim_finds_a_row_only_while_it_is_due_and_first(env: Env) -> None:
    a1, a2 = await queue(env, ALICE, ALICE)
    assert (await env.anyone.claim(a1)) is not None
    assert await env.anyone.claim(a2) is None  # a1 goes first
    await env.anyone.sent(a1)
    assert await env.anyone.claim(a1) is None  # already sent
    claimed = await env.anyone.claim(a2, lock=True)
    assert claimed is not None
    assert (claimed.id, claimed.chat_id, claimed.attempts) == (a2, ALICE, 0)


async def test_what_becomes_of_a_row(env: Env) -> None:
    sent, retried, held, failed = await queue(env, ALICE, BOB, None, 7)
    await env.anyone.sent(sent)
    await env.anyone.retry_later(retried, "TelegramRetryAfter: wait", wait=45)
    await env.anyone.hold(held, "Forbidden: bot was blocked by the user")
    await env.anyone.hold(failed, "not attempted", attempted=False)
    got = await row(env, sent)
    assert (got.state, got.attempts, got.sent_at, got.last_error) == (
        "sent",
        1,
        env.clock.now,
        None,
    )
    got = await row(env, retried)
    # Telegram asked for 45 s: longer than the backoff, so that is what it waits.
    assert (got.state, got.attempts, got.not_before) == (
        "pending",
        1,
        env.clock.now + timedelta(seconds=45),
    )
    assert got.last_error == "TelegramRetryAfter: wait"
    got = await row(env, held)
    assert (got.state, got.attempts, got.last_error) == (
        "held",
        1,
        "Forbidden: bot was blocked by the user",
    )
    got = await row(env, failed)
    assert (got.state, got.attempts) == ("held", 0)
    await env.anyone.failed(failed, "x" * 2000)
    got = await row(env, failed)
    assert (got.state, len(got.last_error or "")) == ("failed", 500)


async def test_unchanged_notices_another_attempt(env: Env) -> None:
    [a1] = await queue(env, ALICE)
    [item] = await env.anyone.due()
    assert await env.anyone.unchanged(item)
    await env.anyone.retry_later(a1, "500")
    assert not await env.anyone.unchanged(item)


def test_the_backoff_doubles_from_two_seconds_to_ten_minutes() -> None:
    assert [retry_delay(n).total_seconds() for n in range(1, 12)] == [
        2,
        4,
        8,
        16,
        32,
        64,
        128,
        256,
        512,
        600,
        600,
    ]
    assert retry_delay(0) == timedelta(seconds=2)
    assert retry_delay(10_000) == timedelta(minutes=10)


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_the_last_rows_of_a_broadcast_settled_at_once_still_report(env: Env) -> None:
    """Two senders record a broadcast's last two rows in transactions that overlap:
    neither sees the other's outcome until it commits, yet one of them reports."""

    async def send(store: Store) -> int:
        admin = await actor(store, ADMIN, admin=True)
        return (await BroadcastService(store, env.policy, env.clock).send(admin, "Hi")).id

    broadcast_id = await env.run(send)
    alice_row, bob_row = [r.id for r in await env.outbox() if r.broadcast_id == broadcast_id]
    written = {alice_row: asyncio.Event(), bob_row: asyncio.Event()}

    async def settle(row_id: int, other: int) -> bool:
        async with env.sessions() as session, session.begin():
            outbox = OutboxService(Store(session), env.policy, env.clock)
            await outbox.sent(row_id)
            written[row_id].set()
            await written[other].wait()  # both outcomes written, neither committed
            return await outbox.settle_broadcast(broadcast_id)

    reported = await asyncio.gather(settle(alice_row, bob_row), settle(bob_row, alice_row))
    assert sorted(reported) == [False, True]
    reports = [r for r in await env.outbox() if r.kind == "broadcast.report"]
    assert [r.payload["delivered"] for r in reports] == [2]


# Senders compete on PostgreSQL; SQLite has one writer at a time.
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_a_competing_sender_passes_over_a_locked_row_and_leases_a_free_one(
    env: Env, sessions: Any
) -> None:
    """Where senders compete (PostgreSQL), a row another transaction holds is passed
    over at once, not waited for; leasing is one statement either way."""
    a1, b1 = await queue(env, ALICE, BOB)
    async with sessions() as other, other.begin():
        await other.execute(
            sa.select(OutboxMessage.id).where(OutboxMessage.id == a1).with_for_update()
        )
        taken = await asyncio.wait_for(env.anyone.claim(a1, lock=True, by="s2"), 5)
        assert taken is None
        leased = await asyncio.wait_for(env.anyone.claim(b1, lock=True, by="s2"), 5)
        assert leased is not None
        assert leased.id == b1
    got = await row(env, b1)
    assert got.claimed_by == "s2"
    assert got.claimed_until == env.clock.now + timedelta(seconds=300)
    leased = await env.anyone.claim(a1, lock=True, by="s2")
    assert leased is not None
    assert (await row(env, a1)).claimed_by == "s2"
