"""The outbox from the sender's side: what is due, who it is for, what became of it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.domain.notices import Notice
from bot.services import notify
from bot.services.actors import Actor, identify
from bot.services.context import Service
from bot.services.views import AttachmentInfo
from storage.repositories.outbox import FAILED, PENDING, SENT

_ERROR_MAX = 500


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    audience: str
    chat_id: int | None
    kind: str
    payload: dict[str, Any]
    suggestion_id: int | None
    event_id: int | None
    broadcast_id: int | None
    attempts: int


@dataclass(frozen=True, slots=True)
class Recipient:
    user_id: int
    # What the person chose with /lang, and what their client says.
    locale: str | None
    language_code: str | None
    blocked: bool


class OutboxService(Service):
    async def due(self, *, limit: int = 100) -> list[OutboxItem]:
        return [
            OutboxItem(
                r.id,
                r.audience,
                r.chat_id,
                r.kind,
                dict(r.payload),
                r.suggestion_id,
                r.event_id,
                r.broadcast_id,
                r.attempts,
            )
            for r in await self.store.outbox.due(self.now(), limit=limit)
        ]

    async def recipient(self, user_id: int) -> Recipient | None:
        user = await self.store.users.get(user_id)
        if user is None:
            return None
        return Recipient(user.id, user.locale, user.language_code, user.blocked)

    async def recipient_actor(self, user_id: int) -> Actor:
        """The recipient as the rules see them (a liaison's departments, say), so that
        what is sent to them is what they may see."""
        return await identify(self.store, user_id)

    async def attachments(self, item: OutboxItem) -> list[AttachmentInfo]:
        """The files that travel with a notice: the filing's own for a new item or an
        assignment, the move's own (an answer, a progress report) otherwise."""
        if item.suggestion_id is None:
            return []
        rows = await self.store.attachments.for_suggestion(item.suggestion_id)
        if item.event_id is not None and item.kind not in _WITH_FILED_FILES:
            return [AttachmentInfo.of(a) for a in rows if a.event_id == item.event_id]
        if item.kind in _WITH_FILED_FILES:
            return [AttachmentInfo.of(a) for a in rows if a.event_id is None]
        return []

    async def sent(self, item_id: int) -> None:
        await self._finish(item_id, SENT, None)

    async def failed(self, item_id: int, error: str) -> None:
        await self._finish(item_id, FAILED, error[:_ERROR_MAX])

    async def settle_broadcast(self, broadcast_id: int) -> bool:
        """Once every message of a broadcast is sent or failed, queue its report for the
        admin group (once). Returns whether the report was queued now."""
        broadcast = await self.store.broadcasts.get(broadcast_id)
        if broadcast is None or broadcast.reported_at is not None:
            return False
        tally = await self.store.broadcasts.tally(broadcast_id)
        if tally.get(PENDING, 0):
            return False
        broadcast.reported_at = self.now()
        point = await self.store.points.get(broadcast.point_id) if broadcast.point_id else None
        await notify.to_admins(
            self.store,
            Notice.BROADCAST_REPORT,
            {
                "broadcast_id": broadcast.id,
                "recipients": broadcast.recipients,
                "delivered": tally.get(SENT, 0),
                "failed": tally.get(FAILED, 0),
                "point": point.name if point else None,
            },
            at=self.now(),
        )
        await self.store.flush()
        return True

    async def _finish(self, item_id: int, state: str, error: str | None) -> None:
        row = await self.store.outbox.get(item_id)
        if row is None:
            return
        row.state = state
        row.attempts += 1
        row.last_error = error
        if state == SENT:
            row.sent_at = self.now()
        await self.store.flush()


# A new item reaches the office, or a department, with the files it was filed with.
_WITH_FILED_FILES = frozenset({"item.submit", "item.adopt", "item.city_adopt", "item.assign"})
