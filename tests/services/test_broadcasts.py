"""Broadcasts: who receives them, what is written, who may send them, and the report."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from bot.domain.errors import InvalidInput, MissingInput, NotFound, NotPermitted
from bot.domain.statuses import ObserverCategory
from bot.services.actors import SYSTEM
from bot.services.broadcasts import BROADCAST_MAX, BroadcastService, NoRecipients
from bot.services.outbox import OutboxService
from storage.models import Broadcast, Observer, OutboxMessage, TelegramUser
from storage.store import Store
from tests.harness import Harness
from tests.world import ADMIN, ALICE, BOB, LIAISON, FixedClock, actor, build_world

CAROL, DAVE = 1003, 1004


class Env(Harness):
    service = BroadcastService


@pytest.fixture
async def env(sessions: Any) -> Env:
    return Env(sessions, await build_world(sessions), FixedClock())


async def broadcast_rows(env: Env) -> list[OutboxMessage]:
    return await env.scalars(
        sa.select(OutboxMessage)
        .where(OutboxMessage.kind == "broadcast")
        .order_by(OutboxMessage.chat_id)
    )


async def add_observers(env: Env) -> None:
    """Carol (appointed) and Dave (suspended) at the first point."""
    await env.add(
        TelegramUser(id=CAROL, first_name="Carol"), TelegramUser(id=DAVE, first_name="Dave")
    )
    await env.add(
        Observer(
            name="Carol",
            category=ObserverCategory.OTHER,
            point_id=env.world.point_id,
            status="appointed",
            user_id=CAROL,
        ),
        Observer(
            name="Dave",
            category=ObserverCategory.OTHER,
            point_id=env.world.point_id,
            status="suspended",
            user_id=DAVE,
        ),
    )


async def test_send_to_all_writes_one_row_per_observer(env: Env) -> None:
    await add_observers(env)
    sent = await env.admin.send("  Meeting on Friday\nat 9  ")
    assert sent.recipients == 3
    assert sent.text == "Meeting on Friday\nat 9"
    assert sent.point_id is None
    [row] = await env.scalars(sa.select(Broadcast))
    assert (row.id, row.text, row.point_id, row.created_by, row.recipients) == (
        sent.id,
        "Meeting on Friday\nat 9",
        None,
        ADMIN,
        3,
    )
    assert row.created_at.replace(tzinfo=None) == env.clock.now.replace(tzinfo=None)
    assert row.reported_at is None
    rows = await broadcast_rows(env)
    assert [r.chat_id for r in rows] == [ALICE, BOB, CAROL]  # Dave is suspended
    for r in rows:
        assert r.audience == "user"
        assert r.broadcast_id == sent.id
        assert r.state == "pending"
        assert r.payload == {"text": "Meeting on Friday\nat 9", "broadcast_id": sent.id}
        assert r.suggestion_id is None


async def test_send_to_one_point(env: Env) -> None:
    await add_observers(env)
    sent = await env.admin.send("Water cut", point_id=env.world.point_id)
    assert (sent.recipients, sent.point_code, sent.point_id) == (2, "P01", env.world.point_id)
    assert [r.chat_id for r in await broadcast_rows(env)] == [ALICE, CAROL]


async def test_dismissed_and_unlinked_observers_are_left_out(env: Env) -> None:
    await env.update(Observer, env.world.bob_observer_id, status="dismissed")
    await env.add(
        Observer(
            name="Paper only",
            category=ObserverCategory.OTHER,
            point_id=env.world.other_point_id,
            status="appointed",
        )
    )
    sent = await env.admin.send("Hello")
    assert sent.recipients == 1
    assert [r.chat_id for r in await broadcast_rows(env)] == [ALICE]


async def test_nobody_to_send_to_writes_nothing(env: Env) -> None:
    await env.update(Observer, env.world.bob_observer_id, status="suspended")
    with pytest.raises(NoRecipients):
        await env.admin.send("Hello", point_id=env.world.other_point_id)
    with pytest.raises(NotFound):
        await env.admin.send("Hello", point_id=999)
    assert await env.count(Broadcast) == 0
    assert await broadcast_rows(env) == []


@pytest.mark.parametrize("who", [ALICE, LIAISON, None])
async def test_only_admins_may_broadcast(env: Env, who: int | None) -> None:
    async def go(store: Store) -> None:
        acting = await actor(store, who) if who is not None else SYSTEM
        service = BroadcastService(store, env.policy, env.clock)
        with pytest.raises(NotPermitted):
            await service.send(acting, "Hello")
        with pytest.raises(NotPermitted):
            await service.prepare(acting, "Hello")

    await env.run(go)
    assert await env.count(Broadcast) == 0
    assert await broadcast_rows(env) == []


async def test_text_is_required_and_bounded(env: Env) -> None:
    with pytest.raises(MissingInput):
        await env.admin.send("   \n ")
    with pytest.raises(InvalidInput) as too_long:
        await env.admin.send("x" * (BROADCAST_MAX + 1))
    assert too_long.value.context["limit"] == BROADCAST_MAX
    # Telegram counts UTF-16 units: an emoji outside the BMP counts twice.
    with pytest.raises(InvalidInput):
        await env.admin.send("🎉" * (BROADCAST_MAX // 2 + 1))
    sent = await env.admin.send("x" * BROADCAST_MAX)
    assert sent.recipients == 2


async def test_prepare_reads_an_optional_point_code(env: Env) -> None:
    await add_observers(env)
    everyone = await env.admin.prepare("Hello\nall")
    assert (everyone.text, everyone.point_id, everyone.recipients) == ("Hello\nall", None, 3)
    one = await env.admin.prepare("p01  Hello\n  there")
    assert (one.text, one.point_id, one.point_code, one.recipients) == (
        "Hello\n  there",
        env.world.point_id,
        "P01",
        2,
    )
    assert one.point_name == "城区便民服务中心"
    # Not a point code: part of the text.
    other = await env.admin.prepare("P99 is not a point")
    assert (other.text, other.point_id) == ("P99 is not a point", None)
    with pytest.raises(MissingInput):
        await env.admin.prepare("P01")
    with pytest.raises(MissingInput):
        await env.admin.prepare(None)
    # Preparing writes nothing.
    assert await env.count(Broadcast) == 0


async def test_report_is_queued_once_every_row_is_settled(env: Env) -> None:
    sent = await env.admin.send("Hello")
    alice_row, bob_row = await broadcast_rows(env)

    async def settle(row_id: int, ok: bool) -> bool:
        async def go(store: Store) -> bool:
            outbox = OutboxService(store, env.policy, env.clock)
            if ok:
                await outbox.sent(row_id)
            else:
                await outbox.failed(row_id, "Forbidden: bot was blocked by the user")
            return await outbox.settle_broadcast(sent.id)

        return bool(await env.run(go))

    assert not await settle(alice_row.id, ok=True)
    assert await settle(bob_row.id, ok=False)
    [report] = await env.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.kind == "broadcast.report")
    )
    assert report.audience == "admins"
    assert report.payload == {
        "broadcast_id": sent.id,
        "recipients": 2,
        "delivered": 1,
        "failed": 1,
        "point": None,
    }
