from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from storage.models import ConversationState, ProcessedUpdate
from storage.repositories.base import Repository


class ProcessedUpdateRepository(Repository[ProcessedUpdate]):
    model = ProcessedUpdate

    async def claim(self, bot_id: int, update_id: int) -> bool:
        """Record an update as handled; False if it was handled before.

        Done inside the update's own transaction, so a crash before commit leaves the
        update unclaimed and a redelivery is handled normally.
        """
        try:
            async with self.session.begin_nested():
                self.session.add(ProcessedUpdate(bot_id=bot_id, update_id=update_id))
                await self.session.flush()
        except IntegrityError:
            return False
        return True


class ConversationStateRepository(Repository[ConversationState]):
    model = ConversationState

    async def load(self, key: str, *, lock: bool = False) -> ConversationState | None:
        if not lock:
            return await self.get(key)
        stmt = (
            sa.select(ConversationState)
            .where(ConversationState.key == key)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def save(self, key: str, *, state: str | None, data: dict[str, object]) -> None:
        row = await self.get(key)
        if row is None:
            self.session.add(ConversationState(key=key, state=state, data=dict(data)))
        else:
            row.state, row.data = state, dict(data)
        await self.session.flush()

    async def delete(self, key: str) -> None:
        await self.session.execute(sa.delete(ConversationState).where(ConversationState.key == key))
