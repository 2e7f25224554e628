"""A test harness for service use cases: one transaction per call, as one Telegram
update would be, and reads in fresh sessions, so tests see what was committed."""

from __future__ import annotations

from typing import Any, ClassVar

import sqlalchemy as sa

from bot.services.actors import SYSTEM
from bot.services.context import Service
from storage.models import OutboxMessage
from storage.store import Store
from tests.world import ADMIN, POLICY, FixedClock, World, actor


class Harness:
    service: ClassVar[type[Service]]
    # What a call "by None" means: the scheduler acting (lifecycle moves) or a call
    # that takes no actor at all (reading, applying, redeeming).
    none_is_system: ClassVar[bool] = False

    def __init__(self, sessions: Any, world: World, clock: FixedClock) -> None:
        self.sessions = sessions
        self.world = world
        self.clock = clock
        self.policy = POLICY

    def by(self, user_id: int | None) -> As:
        return As(self, user_id)

    @property
    def admin(self) -> As:
        return self.by(ADMIN)

    @property
    def anyone(self) -> As:
        return self.by(None)

    async def run(self, fn: Any) -> Any:
        async with self.sessions() as session, session.begin():
            return await fn(Store(session))

    async def call(self, user_id: int | None, method: str, /, *args: Any, **kwargs: Any) -> Any:
        async def go(store: Store) -> Any:
            bound = getattr(self.service(store, self.policy, self.clock), method)
            if user_id is not None:
                return await bound(
                    await actor(store, user_id, admin=user_id == ADMIN), *args, **kwargs
                )
            if self.none_is_system:
                return await bound(SYSTEM, *args, **kwargs)
            return await bound(*args, **kwargs)

        return await self.run(go)

    async def scalars(self, stmt: Any) -> list[Any]:
        async with self.sessions() as session:
            return list((await session.execute(stmt)).scalars().all())

    async def get(self, model: Any, key: Any) -> Any:
        async with self.sessions() as session:
            return await session.get(model, key)

    async def outbox(
        self, *, event_id: int | None = None, item_id: int | None = None
    ) -> list[OutboxMessage]:
        stmt = sa.select(OutboxMessage).order_by(OutboxMessage.id)
        if event_id is not None:
            stmt = stmt.where(OutboxMessage.event_id == event_id)
        if item_id is not None:
            stmt = stmt.where(OutboxMessage.suggestion_id == item_id)
        return await self.scalars(stmt)

    async def count(self, model: Any) -> int:
        async with self.sessions() as session:
            stmt = sa.select(sa.func.count()).select_from(model)
            return int((await session.execute(stmt)).scalar_one())

    async def add(self, *rows: Any) -> None:
        async with self.sessions() as session, session.begin():
            session.add_all(rows)

    async def update(self, model: Any, row_id: int, **values: Any) -> None:
        async with self.sessions() as session, session.begin():
            await session.execute(sa.update(model).where(model.id == row_id).values(**values))


class As:
    """Calls made by one person: ``env.by(ALICE).submit(draft())``."""

    def __init__(self, env: Harness, user_id: int | None) -> None:
        self.env = env
        self.user_id = user_id

    def __getattr__(self, name: str) -> Any:
        async def call(*args: Any, **kwargs: Any) -> Any:
            return await self.env.call(self.user_id, name, *args, **kwargs)

        return call
