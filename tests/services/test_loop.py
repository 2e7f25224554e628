"""The whole loop through the services, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa

from bot.domain.statuses import RatingValue
from bot.domain.statuses import SuggestionStatus as S
from bot.services.suggestions import SuggestionService
from storage.models import Event, OutboxMessage, Suggestion
from storage.store import Store
from tests.world import ADMIN, ALICE, DUE, LIAISON, POLICY, FixedClock, actor, build_world, draft


async def test_full_loop_from_filing_to_rating(sessions):
    world = await build_world(sessions)
    clock = FixedClock()

    async def run(fn):
        async with sessions() as session, session.begin():
            store = Store(session)
            svc = SuggestionService(store, POLICY, clock)
            return await fn(store, svc)

    async def submit(store, svc):
        return await svc.submit(await actor(store, ALICE), draft())

    item = await run(submit)
    assert item.reference == "WZ-2026-0001"
    assert item.status is S.SUBMITTED

    async def decide(store, svc):
        admin = await actor(store, ADMIN, admin=True)
        await svc.take(admin, item.id)
        return await svc.adopt(admin, item.id, department_id=world.department_id, due=DUE)

    adopted = await run(decide)
    assert adopted.status is S.ADOPTED
    assert adopted.decided_on_time is True

    async def implement(store, svc):
        li = await actor(store, LIAISON)
        await svc.accept(li, item.id)
        await svc.report_progress(li, item.id, "已更换灯泡 3 盏")
        return await svc.mark_implemented(li, item.id, "全部修好")

    done = await run(implement)
    assert done.status is S.IMPLEMENTED
    assert done.implemented_on_time is True

    async def rate(store, svc):
        return await svc.rate(await actor(store, ALICE), item.id, RatingValue.SATISFIED)

    closed = await run(rate)
    assert closed.status is S.CLOSED

    async with sessions() as session:
        events = (await session.execute(sa.select(Event).order_by(Event.id))).scalars().all()
        assert [e.action.value for e in events] == [
            "submit",
            "take",
            "adopt",
            "accept",
            "progress",
            "mark_implemented",
            "rate",
        ]
        to_alice = (
            (
                await session.execute(
                    sa.select(OutboxMessage.kind)
                    .where(OutboxMessage.chat_id == ALICE)
                    .order_by(OutboxMessage.id)
                )
            )
            .scalars()
            .all()
        )
        assert to_alice == [
            "item.take",
            "item.adopt",
            "item.accept",
            "item.progress",
            "item.mark_implemented",
        ]
        row = await session.get(Suggestion, item.id)
        assert row is not None
        assert row.status is S.CLOSED
