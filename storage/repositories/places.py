from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from storage.models import Department, Liaison, Point
from storage.repositories.base import Repository


class PointRepository(Repository[Point]):
    model = Point

    async def by_code(self, code: str) -> Point | None:
        stmt = sa.select(Point).where(sa.func.upper(Point.code) == code.upper())
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def list(self, *, active_only: bool = False) -> Sequence[Point]:
        stmt = sa.select(Point).order_by(Point.code)
        if active_only:
            stmt = stmt.where(Point.active.is_(True))
        return (await self.session.execute(stmt)).scalars().all()


class DepartmentRepository(Repository[Department]):
    model = Department

    async def by_code(self, code: str) -> Department | None:
        stmt = sa.select(Department).where(sa.func.upper(Department.code) == code.upper())
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def list(self, *, active_only: bool = False) -> Sequence[Department]:
        stmt = sa.select(Department).order_by(Department.code)
        if active_only:
            stmt = stmt.where(Department.active.is_(True))
        return (await self.session.execute(stmt)).scalars().all()


class LiaisonRepository(Repository[Liaison]):
    model = Liaison

    async def for_user(self, user_id: int) -> Sequence[Liaison]:
        stmt = sa.select(Liaison).where(Liaison.user_id == user_id, Liaison.active.is_(True))
        return (await self.session.execute(stmt)).scalars().all()

    async def for_department(self, department_id: int) -> Sequence[Liaison]:
        stmt = (
            sa.select(Liaison)
            .where(Liaison.department_id == department_id, Liaison.active.is_(True))
            .order_by(Liaison.id)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def find(self, department_id: int, user_id: int) -> Liaison | None:
        stmt = sa.select(Liaison).where(
            Liaison.department_id == department_id, Liaison.user_id == user_id
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def counts(self) -> dict[int, int]:
        """How many active liaisons each department has, by department id."""
        stmt = (
            sa.select(Liaison.department_id, sa.func.count(Liaison.id))
            .where(Liaison.active.is_(True))
            .group_by(Liaison.department_id)
        )
        rows = (await self.session.execute(stmt)).all()
        return {int(department_id): int(count) for department_id, count in rows}
