"""Personal data and what is kept of it: the privacy log, the rows an anonymisation or
an erasure touches, and the pruning of bookkeeping nobody needs after a while."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bot.domain.roles import Role
from bot.domain.statuses import ApplicationStatus
from storage.models import (
    Application,
    Event,
    Observer,
    OutboxMessage,
    PrivacyRecord,
    Suggestion,
)
from storage.repositories.base import Repository


def nameable(event: Any = Event) -> sa.ColumnElement[bool]:
    """Whether the maker of a move may be named: anyone but an observer no longer
    linked to an observer record (anonymised). The event log is append-only and keeps
    the Telegram id of each move's maker; this keeps the id from leading back to a
    name, should the person write to the bot again."""
    linked = sa.exists(sa.select(Observer.id).where(event.actor_user_id == Observer.user_id))
    return sa.or_(event.actor_role != Role.OBSERVER, linked)


class PrivacyRepository(Repository[PrivacyRecord]):
    model = PrivacyRecord

    async def record(
        self,
        action: str,
        subject: str,
        subject_id: int,
        *,
        actor_user_id: int | None,
        at: datetime,
        payload: dict[str, Any] | None = None,
    ) -> PrivacyRecord:
        row = PrivacyRecord(
            action=action,
            subject=subject,
            subject_id=subject_id,
            actor_user_id=actor_user_id,
            payload=payload or {},
            created_at=at,
        )
        self.session.add(row)
        await self.session.flush()
        return row

    async def latest(self, action: str, subject: str, subject_id: int) -> PrivacyRecord | None:
        stmt = (
            sa.select(PrivacyRecord)
            .where(
                PrivacyRecord.subject == subject,
                PrivacyRecord.subject_id == subject_id,
                PrivacyRecord.action == action,
            )
            .order_by(PrivacyRecord.id.desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def of(self, subject: str, subject_id: int) -> Sequence[PrivacyRecord]:
        """Everything recorded about one subject, oldest first."""
        stmt = (
            sa.select(PrivacyRecord)
            .where(PrivacyRecord.subject == subject, PrivacyRecord.subject_id == subject_id)
            .order_by(PrivacyRecord.id)
        )
        return (await self.session.execute(stmt)).scalars().all()

    # ---- what an anonymisation or an erasure touches --------------------------------

    async def applications_of(self, user_id: int) -> Sequence[Application]:
        stmt = sa.select(Application).where(Application.user_id == user_id).order_by(Application.id)
        return (await self.session.execute(stmt)).scalars().all()

    async def expired_applications(self, before: datetime) -> Sequence[Application]:
        """Applications not approved that the office no longer keeps: rejected before
        ``before``, or filed before it and never decided."""
        stmt = (
            sa.select(Application)
            .where(
                sa.or_(
                    sa.and_(
                        Application.status == ApplicationStatus.REJECTED,
                        Application.decided_at < before,
                    ),
                    sa.and_(
                        Application.status == ApplicationStatus.PENDING,
                        Application.created_at < before,
                    ),
                )
            )
            .order_by(Application.id)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def items_of(self, observer_id: int) -> list[int]:
        stmt = sa.select(Suggestion.id).where(Suggestion.observer_id == observer_id)
        return list((await self.session.execute(stmt)).scalars().all())

    async def drop_undelivered(self, chat_id: int, *, why: str) -> int:
        """Give up on the messages not yet delivered to a private chat (pending or
        held); a send under way finishes. How many were dropped."""
        stmt = (
            sa.update(OutboxMessage)
            .where(
                OutboxMessage.chat_id == chat_id,
                OutboxMessage.state.in_(("pending", "held")),
                OutboxMessage.claimed_until.is_(None),
            )
            .values(state="failed", last_error=why)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(await self.session.execute(stmt), "rowcount", 0) or 0)

    async def office_notices_naming(
        self, kinds: Collection[str], observer_id: int
    ) -> list[OutboxMessage]:
        """The admin group's notices of these kinds about one observer (their payload
        names them)."""
        stmt = sa.select(OutboxMessage).where(
            OutboxMessage.chat_id.is_(None), OutboxMessage.kind.in_(list(kinds))
        )
        rows = (await self.session.execute(stmt)).scalars().all()
        return [r for r in rows if str(r.payload.get("observer_id")) == str(observer_id)]
