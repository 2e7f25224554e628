"""The offices (``bot.domain.offices``): the tree, kept a while, and its changes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.names import Name
from bot.domain.offices import OfficeInfo, OfficeTree
from bot.domain.statuses import TERMINAL, ObserverStatus
from storage.engine import engine_of
from storage.kept import Kept, database_of
from storage.models import Observer, Office, Point, Suggestion
from storage.repositories.base import Repository

# Every update asks which office its chat is: the tree is kept per database.
KEPT: Kept[OfficeTree] = Kept("offices", Office)


def info(office: Office) -> OfficeInfo:
    return OfficeInfo(
        id=office.id,
        code=office.code,
        name=Name(office.name or office.code, office.name_en),
        parent_id=office.parent_id,
        chat_id=office.chat_id,
    )


class OfficeRepository(Repository[Office]):
    model = Office

    async def tree(self) -> OfficeTree:
        """Every office (kept a short while: see ``storage.kept``)."""
        sync = self.session.sync_session
        found = KEPT.kept(sync)
        if found is not None:
            return found
        rows = (await self.session.execute(sa.select(Office))).scalars().all()
        return KEPT.keep(sync, OfficeTree(info(o) for o in rows))

    async def all(self) -> Sequence[Office]:
        stmt = sa.select(Office).order_by(Office.code)
        return (await self.session.execute(stmt)).scalars().all()

    async def by_code(self, code: str) -> Office | None:
        stmt = sa.select(Office).where(Office.code == code.upper())
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def by_chat(self, chat_id: int) -> Office | None:
        stmt = sa.select(Office).where(Office.chat_id == chat_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def by_bind_code(self, code: str) -> Office | None:
        stmt = sa.select(Office).where(Office.bind_code == code).with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def awaiting_group(self) -> bool:
        """Whether some office has a link out that was not used yet (one never bound,
        or one moving to another group): a group the bot is added to may be its."""
        stmt = sa.select(Office.id).where(Office.bind_expires_at.is_not(None)).limit(1)
        return (await self.session.execute(stmt)).first() is not None

    async def create(
        self,
        code: str,
        name: str,
        name_en: str | None,
        *,
        parent_id: int | None,
        created_by: int | None,
        bind_code: str | None,
        bind_expires_at: datetime | None,
    ) -> Office:
        office = Office(
            code=code,
            name=name,
            name_en=name_en,
            parent_id=parent_id,
            created_by=created_by,
            bind_code=bind_code,
            bind_expires_at=bind_expires_at,
        )
        self.session.add(office)
        await self.session.flush()
        return office

    async def holdings(self) -> dict[int, tuple[int, int, int]]:
        """Per office: its active points, its appointed observers, its open items."""
        found: dict[int, list[int]] = {}
        queries = (
            sa.select(Point.office_id, sa.func.count())
            .where(Point.active.is_(True))
            .group_by(Point.office_id),
            sa.select(Observer.office_id, sa.func.count())
            .where(Observer.status == ObserverStatus.APPOINTED)
            .group_by(Observer.office_id),
            sa.select(Suggestion.office_id, sa.func.count())
            .where(Suggestion.status.not_in(TERMINAL))
            .group_by(Suggestion.office_id),
        )
        for at, stmt in enumerate(queries):
            for office_id, n in (await self.session.execute(stmt)).all():
                found.setdefault(office_id, [0, 0, 0])[at] = n
        return {office: (p, o, i) for office, (p, o, i) in found.items()}


# The last tree given the home office's group from the settings, and the result.
_PLACED: dict[int | None, tuple[OfficeTree, OfficeTree]] = {}


async def office_tree(
    sessions: async_sessionmaker[AsyncSession], home_group: int | None = None
) -> OfficeTree:
    """The tree, from outside any transaction (kept; read afresh now and then), with
    ``home_group`` (``ADMIN_CHAT_ID``) as the home office's group if it has none bound."""
    found = KEPT.kept_in(database_of(engine_of(sessions)))
    if found is None:
        async with sessions() as session, session.begin():
            found = await OfficeRepository(session).tree()
    if home_group is None:
        return found
    placed = _PLACED.get(home_group)
    if placed is None or placed[0] is not found:
        placed = _PLACED[home_group] = (found, found.with_home_group(home_group))
    return placed[1]
