"""Observation points and departments: the office's reference data."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from bot.domain.errors import Conflict, InvalidInput, NotFound
from bot.domain.limits import NAME_MAX, clean_text
from bot.domain.names import Name, carry
from bot.domain.notices import Notice
from bot.domain.permissions import Manage, require_manage
from bot.domain.statuses import FocusDomain, HostKind, ObserverStatus
from bot.services import notify
from bot.services.actors import Actor
from bot.services.context import Service
from storage.models import Department, Point

_CODE_PATTERN = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,15}")


@dataclass(frozen=True, slots=True)
class PointInfo:
    id: int
    code: str
    name: Name
    domain: FocusDomain
    host_kind: HostKind
    host_organisation: str
    town: str
    street: str
    active: bool

    @classmethod
    def of(cls, row: Point) -> PointInfo:
        return cls(
            row.id,
            row.code,
            row.naming,
            row.domain,
            row.host_kind,
            row.host_organisation,
            row.town,
            row.street,
            row.active,
        )


@dataclass(frozen=True, slots=True)
class DepartmentInfo:
    id: int
    code: str
    name: Name
    active: bool

    @classmethod
    def of(cls, row: Department) -> DepartmentInfo:
        return cls(row.id, row.code, row.naming, row.active)


def _english(value: str | None, limit: int) -> str | None:
    return clean_text(value, limit, field="name_en", required=False) or None


def _code(value: str) -> str:
    # ASCII only: codes are typed in commands like /invite P01 and must be easy to type
    # on any keyboard.
    code = value.strip().upper()
    if not _CODE_PATTERN.fullmatch(code):
        raise InvalidInput(f"bad code {value!r}", field="code")
    return code


class PlaceService(Service):
    async def add_point(
        self,
        actor: Actor,
        *,
        code: str,
        name: str,
        domain: FocusDomain,
        host_kind: HostKind,
        host_organisation: str = "",
        town: str = "",
        street: str = "",
        name_en: str | None = None,
    ) -> PointInfo:
        require_manage(actor.view, Manage.MANAGE_POINTS)
        code = _code(code)
        if await self.store.points.by_code(code) is not None:
            raise Conflict(f"point {code} exists", code=code)
        async with _new_code(self, f"point {code} exists", code):
            row = await self.store.points.add(
                Point(
                    office_id=self.policy.office_id,
                    code=code,
                    name=clean_text(name, 200, field="name"),
                    name_en=_english(name_en, 200),
                    domain=domain,
                    host_kind=host_kind,
                    host_organisation=clean_text(
                        host_organisation, 200, field="host", required=False
                    ),
                    town=clean_text(town, 100, field="town", required=False),
                    street=clean_text(street, 200, field="street", required=False),
                    active=True,
                    created_at=self.now(),
                )
            )
        return PointInfo.of(row)

    async def points(self, *, active_only: bool = True) -> list[PointInfo]:
        return [PointInfo.of(p) for p in await self.store.points.list(active_only=active_only)]

    async def point_by_code(self, code: str) -> PointInfo:
        row = await self.store.points.by_code(code.strip())
        if row is None:
            raise NotFound(f"no point {code}", code=code)
        return PointInfo.of(row)

    async def close_point(self, actor: Actor, point_id: int) -> Sequence[int]:
        """Deactivate a point; its observers are asked to choose another one.

        Returns the ids of the observers who were told.
        """
        require_manage(actor.view, Manage.MANAGE_POINTS)
        point = await self.store.points.get(point_id)
        if point is None:
            raise NotFound("no such point", point_id=point_id)
        if not point.active:
            raise Conflict("point already closed", code=point.code)
        point.active = False
        point.closed_at = self.now()
        told = []
        for observer in await self.store.observers.list(
            point_id=point.id, statuses=[ObserverStatus.APPOINTED]
        ):
            if observer.user_id is not None:
                told.append(observer.id)
                await notify.to_user(
                    self.store,
                    observer.user_id,
                    Notice.POINT_CLOSED,
                    {**carry("point", point.naming), "code": point.code},
                    at=self.now(),
                )
        await self.store.flush()
        return told

    async def add_department(
        self, actor: Actor, *, code: str, name: str, name_en: str | None = None
    ) -> DepartmentInfo:
        require_manage(actor.view, Manage.MANAGE_DEPARTMENTS)
        code = _code(code)
        if await self.store.departments.by_code(code) is not None:
            raise Conflict(f"department {code} exists", code=code)
        async with _new_code(self, f"department {code} exists", code):
            row = await self.store.departments.add(
                Department(
                    office_id=self.policy.office_id,
                    code=code,
                    name=clean_text(name, NAME_MAX * 2, field="name"),
                    name_en=_english(name_en, NAME_MAX * 2),
                    active=True,
                    created_at=self.now(),
                )
            )
        return DepartmentInfo.of(row)

    async def departments(self, *, active_only: bool = True) -> list[DepartmentInfo]:
        rows = await self.store.departments.list(active_only=active_only)
        return [DepartmentInfo.of(d) for d in rows]

    async def liaison_counts(self, actor: Actor) -> dict[int, int]:
        """How many active liaisons each department has, by department id."""
        require_manage(actor.view, Manage.MANAGE_DEPARTMENTS)
        return await self.store.liaisons.counts()

    async def department_by_code(self, code: str) -> DepartmentInfo:
        row = await self.store.departments.by_code(code.strip())
        if row is None:
            raise NotFound(f"no department {code}", code=code)
        return DepartmentInfo.of(row)

    async def deactivate_department(self, actor: Actor, department_id: int) -> DepartmentInfo:
        require_manage(actor.view, Manage.MANAGE_DEPARTMENTS)
        row = await self.store.departments.get(department_id)
        if row is None:
            raise NotFound("no such department", department_id=department_id)
        row.active = False
        await self.store.flush()
        return DepartmentInfo.of(row)

    async def rename_point(
        self, actor: Actor, point_id: int, *, name: str, name_en: str | None
    ) -> PointInfo:
        """The point's name and English name (None: it has none), as the office now
        writes them; items and figures show the new names from now on."""
        require_manage(actor.view, Manage.MANAGE_POINTS)
        row = await self.store.points.get(point_id)
        if row is None:
            raise NotFound("no such point", point_id=point_id)
        row.name = clean_text(name, 200, field="name")
        row.name_en = _english(name_en, 200)
        await self.store.flush()
        return PointInfo.of(row)

    async def rename_department(
        self, actor: Actor, department_id: int, *, name: str, name_en: str | None
    ) -> DepartmentInfo:
        require_manage(actor.view, Manage.MANAGE_DEPARTMENTS)
        row = await self.store.departments.get(department_id)
        if row is None:
            raise NotFound("no such department", department_id=department_id)
        row.name = clean_text(name, NAME_MAX * 2, field="name")
        row.name_en = _english(name_en, NAME_MAX * 2)
        await self.store.flush()
        return DepartmentInfo.of(row)


@asynccontextmanager
async def _new_code(service: Service, taken: str, code: str) -> AsyncIterator[None]:
    """Codes are unique across the offices: one another office holds (which this
    office's group does not see) is refused as one of its own would be."""
    try:
        async with service.store.session.begin_nested():
            yield
    except IntegrityError as exc:
        raise Conflict(taken, code=code) from exc
