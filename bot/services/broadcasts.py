"""Messages from the office to every active observer, or to one point's.

A broadcast is prepared (its text checked, its audience counted) for the admin's
preview, then sent: one Broadcast row and one outbox row per recipient, written in the
same transaction. The sender delivers the rows; once each is sent or failed, the
outbox queues the delivery report for the admin group (see
``OutboxService.settle_broadcast``).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.errors import InvalidInput, MissingInput, NotFound
from bot.domain.names import Name
from bot.domain.notices import Notice
from bot.domain.permissions import Manage, require_manage
from bot.domain.statuses import ObserverStatus
from bot.services import notify
from bot.services.actors import Actor
from bot.services.context import Service
from storage.models import Broadcast, Point

# Telegram counts UTF-16 code units; the heading the observers read comes on top.
BROADCAST_MAX = 3500


class NoRecipients(NotFound):
    """Nobody would receive the broadcast: no appointed observer with an account."""


@dataclass(frozen=True, slots=True)
class Prepared:
    """A broadcast as the preview shows it: the text, where it goes, to how many."""

    text: str
    point_id: int | None
    point_code: str | None
    point_name: Name | None
    recipients: int


@dataclass(frozen=True, slots=True)
class Sent:
    """A broadcast queued for delivery."""

    id: int
    text: str
    point_id: int | None
    point_code: str | None
    point_name: Name | None
    recipients: int


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def clean_broadcast(text: str | None) -> str:
    """The broadcast's text, stripped and within bounds; lines are kept."""
    cleaned = (text or "").strip()
    if not cleaned:
        raise MissingInput("broadcast text is required", field="text")
    if _units(cleaned) > BROADCAST_MAX:
        raise InvalidInput(
            f"broadcast longer than {BROADCAST_MAX}", field="text", limit=BROADCAST_MAX
        )
    return cleaned


class BroadcastService(Service):
    async def prepare(self, actor: Actor, args: str | None) -> Prepared:
        """Read ``[POINT] TEXT``: when the first word is an existing point's code, the
        broadcast goes to that point's observers, otherwise to all of them."""
        require_manage(actor.view, Manage.BROADCAST)
        raw = (args or "").strip()
        point: Point | None = None
        parts = raw.split(maxsplit=1)
        if parts:
            point = await self.store.points.by_code(parts[0].upper())
            if point is not None:
                raw = parts[1] if len(parts) > 1 else ""
        text = clean_broadcast(raw)
        point_id = point.id if point is not None else None
        return Prepared(
            text,
            point_id,
            point.code if point else None,
            point.naming if point else None,
            len(await self._recipients(point_id)),
        )

    async def send(self, actor: Actor, text: str, *, point_id: int | None = None) -> Sent:
        """Queue ``text`` for every appointed observer (of one point, if given) who has a
        Telegram account. Suspended and dismissed observers are left out."""
        require_manage(actor.view, Manage.BROADCAST)
        cleaned = clean_broadcast(text)
        point = None
        if point_id is not None:
            point = await self.store.points.get(point_id)
            if point is None:
                raise NotFound(f"point {point_id}")
        chats = await self._recipients(point_id)
        if not chats:
            raise NoRecipients("nobody to send to", point_id=point_id)
        moment = self.now()
        broadcast = Broadcast(
            office_id=self.policy.office_id,
            text=cleaned,
            point_id=point_id,
            created_by=actor.user_id,
            recipients=len(chats),
            created_at=moment,
        )
        self.store.session.add(broadcast)
        await self.store.flush()
        for chat in chats:
            await notify.to_user(
                self.store,
                chat,
                Notice.BROADCAST,
                {"text": cleaned, "broadcast_id": broadcast.id},
                broadcast_id=broadcast.id,
                at=moment,
            )
        await self.store.flush()
        return Sent(
            broadcast.id,
            cleaned,
            point_id,
            point.code if point else None,
            point.naming if point else None,
            len(chats),
        )

    async def _recipients(self, point_id: int | None) -> list[int]:
        observers = await self.store.observers.list(
            point_id=point_id, statuses=(ObserverStatus.APPOINTED,)
        )
        return [o.user_id for o in observers if o.user_id is not None]
