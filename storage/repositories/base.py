"""What every repository shares: a session it flushes and never commits."""

from __future__ import annotations

from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Base

M = TypeVar("M", bound=Base)


class Repository(Generic[M]):
    model: type[M]

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, id_: object) -> M | None:
        return await self.session.get(self.model, id_)

    async def add(self, row: M) -> M:
        self.session.add(row)
        await self.session.flush()
        return row
