from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bot.domain.point_requests import RequestStatus
from bot.domain.statuses import ApplicationStatus, ObserverStatus
from storage.models import (
    Application,
    Invite,
    Liaison,
    Observer,
    PointRequest,
    Suggestion,
)
from storage.repositories.arrival import PERSON, Rank, arrived, rank_of
from storage.repositories.base import Repository

# Run for every update (who is acting): built once (see storage.repositories.cards).
_STANDING: sa.CompoundSelect[Any] = sa.union_all(
    sa.select(Observer.id, Observer.status, sa.null().label("department_id")).where(
        Observer.user_id == sa.bindparam("user")
    ),
    sa.select(sa.null(), sa.null(), Liaison.department_id).where(
        Liaison.user_id == sa.bindparam("user"), Liaison.active.is_(True)
    ),
)


class ObserverRepository(Repository[Observer]):
    model = Observer

    async def person(self, user_id: int) -> Rank | None:
        """In one statement, the user's row (loaded into the session, where the next
        ``get`` finds it) and their standing, as :meth:`standing_of` gives it; None for
        a user not yet recorded (whose standing is then asked apart). Read already if
        the update's conversation was (``storage.repositories.arrival``)."""
        read, rank = arrived(self.session, user_id)
        if read:
            return rank
        return rank_of((await self.session.execute(PERSON, {"user": user_id})).all(), 0)

    async def standing_of(self, user_id: int) -> Rank:
        """In one statement, what a person is: their observer record (id and status),
        if any, and the departments they are an active liaison of."""
        result: sa.Result[Any] = await self.session.execute(_STANDING, {"user": user_id})
        rows: list[tuple[Any, ...]] = [tuple(row) for row in result]
        found = next(((r[0], ObserverStatus(r[1])) for r in rows if r[0] is not None), None)
        return found, frozenset(r[2] for r in rows if r[2] is not None)

    async def by_user(self, user_id: int) -> Observer | None:
        stmt = sa.select(Observer).where(Observer.user_id == user_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def list(
        self, *, point_id: int | None = None, statuses: Sequence[ObserverStatus] = ()
    ) -> Sequence[Observer]:
        stmt = sa.select(Observer).order_by(Observer.id)
        if point_id is not None:
            stmt = stmt.where(Observer.point_id == point_id)
        if statuses:
            stmt = stmt.where(Observer.status.in_(statuses))
        return (await self.session.execute(stmt)).scalars().all()

    async def items_filed(self, observer_ids: Sequence[int] | None = None) -> dict[int, int]:
        """How many items each observer has filed (all statuses), by observer id."""
        stmt = sa.select(Suggestion.observer_id, sa.func.count(Suggestion.id)).group_by(
            Suggestion.observer_id
        )
        if observer_ids is not None:
            stmt = stmt.where(Suggestion.observer_id.in_(list(observer_ids)))
        rows = (await self.session.execute(stmt)).all()
        return {int(observer_id): int(count) for observer_id, count in rows}


class ApplicationRepository(Repository[Application]):
    model = Application

    async def pending_for_user(self, user_id: int) -> Application | None:
        stmt = sa.select(Application).where(
            Application.user_id == user_id, Application.status == ApplicationStatus.PENDING
        )
        return (await self.session.execute(stmt)).scalars().first()

    async def pending(self) -> Sequence[Application]:
        stmt = (
            sa.select(Application)
            .where(Application.status == ApplicationStatus.PENDING)
            .order_by(Application.created_at, Application.id)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def latest_for_user(self, user_id: int) -> Application | None:
        stmt = (
            sa.select(Application)
            .where(Application.user_id == user_id)
            .order_by(Application.created_at.desc(), Application.id.desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalars().first()

    async def settle_pending(
        self,
        user_id: int,
        *,
        observer_id: int,
        how: str,
        by: int | None,
        at: datetime,
        keep: int | None = None,
        only: int | None = None,
    ) -> list[int]:
        """Settle, in one statement, every application of the user still pending (but
        ``keep``; or just ``only``): they are an observer now. One an admin decided
        meanwhile is left as decided. Returns the ids settled."""
        stmt = sa.update(Application).where(
            Application.user_id == user_id, Application.status == ApplicationStatus.PENDING
        )
        if keep is not None:
            stmt = stmt.where(Application.id != keep)
        if only is not None:
            stmt = stmt.where(Application.id == only)
        stmt = stmt.values(
            status=ApplicationStatus.SETTLED,
            reason=how,
            observer_id=observer_id,
            decided_by=by,
            decided_at=at,
            # A card's buttons carry the version: a press on one drawn before is stale.
            version=Application.version + 1,
        ).returning(Application.id)
        result = await self.session.execute(
            stmt, execution_options={"synchronize_session": "fetch"}
        )
        return sorted(int(row_id) for row_id in result.scalars().all())


class InviteRepository(Repository[Invite]):
    model = Invite

    async def by_code(self, code: str) -> Invite | None:
        stmt = sa.select(Invite).where(Invite.code == code)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def claim(self, invite_id: int, user_id: int, at: datetime) -> bool:
        """Mark an invite used, unless someone else got there first."""
        stmt = (
            sa.update(Invite)
            .where(Invite.id == invite_id, Invite.used_at.is_(None))
            .values(used_by=user_id, used_at=at)
            .execution_options(synchronize_session=False)
        )
        result = await self.session.execute(stmt)
        await self.session.flush()
        return bool(getattr(result, "rowcount", 0) == 1)


class PointRequestRepository(Repository[PointRequest]):
    model = PointRequest

    async def pending_for(self, observer_id: int) -> PointRequest | None:
        """The observer's request still awaiting the office, if any (at most one)."""
        stmt = (
            sa.select(PointRequest)
            .where(
                PointRequest.observer_id == observer_id,
                PointRequest.status == RequestStatus.PENDING,
            )
            .order_by(PointRequest.id.desc())
        )
        return (await self.session.execute(stmt)).scalars().first()
