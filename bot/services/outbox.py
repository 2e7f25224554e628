"""The outbox from the sender's side: what is due, who it is for, what became of it.

Outcomes of a delivery attempt:

- sent;
- retried later (a transient error: flood control, a server error, a timeout): the row
  stays pending with a backoff, so it is never lost nor failed for a passing trouble;
- held (the person blocked the bot, or left Telegram): the row waits, the person is
  marked unreachable and the office is told once; when they return (unblock, write to
  the bot) their held rows are queued again, in order;
- failed (a permanent error: the message itself is wrong).

A chat's rows go out in order (see ``storage.repositories.outbox``).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row

from bot.domain.names import carry
from bot.domain.notices import Notice
from bot.domain.statuses import ObserverStatus
from bot.services import notify
from bot.services.actors import Actor, identify
from bot.services.context import Service
from bot.services.views import AttachmentInfo
from storage.models import OutboxMessage
from storage.repositories.outbox import FAILED, HELD, PENDING, SENT

_ERROR_MAX = 500
# Backoff of a row whose delivery failed for a passing reason: 2 s, doubling, at most
# ten minutes between attempts, for as long as it takes.
RETRY_FIRST = timedelta(seconds=2)
RETRY_MAX = timedelta(minutes=10)
# Observers who can still file or follow items: the office wants to know they are cut off.
_ACTIVE_OBSERVER = (ObserverStatus.APPOINTED, ObserverStatus.SUSPENDED)


def retry_delay(attempts: int) -> timedelta:
    """How long a row waits after its ``attempts``-th failed attempt (1, 2, ...)."""
    exponent = min(max(attempts, 1) - 1, 20)
    delay: timedelta = RETRY_FIRST * 2**exponent
    return min(delay, RETRY_MAX)


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
    # The office whose group an admin-group row goes to (None: the home office's).
    office_id: int | None = None

    @classmethod
    def of(cls, r: OutboxMessage | Row[Any]) -> OutboxItem:
        """From the row, or from its values as a lease returned them."""
        return cls(
            r.id,
            r.audience,
            r.chat_id,
            r.kind,
            dict(r.payload),
            r.suggestion_id,
            r.event_id,
            r.broadcast_id,
            r.attempts,
            r.office_id,
        )

    @property
    def to_person(self) -> bool:
        """Addressed to one person's private chat (not the admin group)."""
        return self.audience in (notify.USER, notify.LIAISON) and self.chat_id is not None


@dataclass(frozen=True, slots=True)
class Recipient:
    user_id: int
    # What the person chose with /lang, and what their client says.
    locale: str | None
    language_code: str | None
    blocked: bool


# In what _who finds: the office that hears of the person (taken out before the notice).
_OFFICE = "office_id"


class OutboxService(Service):
    # ---- what to send ---------------------------------------------------------------

    async def due(
        self, *, limit: int = 100, busy: Collection[int | None] = (), skip_locked: bool = False
    ) -> list[OutboxItem]:
        """The first due row of each chat not ``busy`` (``None``: the admin group)."""
        rows = await self.store.outbox.due(
            self.now(), limit=limit, busy=busy, skip_locked=skip_locked
        )
        return [OutboxItem.of(r) for r in rows]

    async def take(
        self,
        *,
        by: str,
        lease: float = 300.0,
        limit: int = 100,
        busy: Collection[int | None] = (),
        skip_locked: bool = False,
    ) -> list[OutboxItem]:
        """The rows :meth:`due` would return, leased to ``by`` for ``lease`` seconds in
        the same statement (see :meth:`claim`)."""
        until = self.now() + timedelta(seconds=lease)
        rows = await self.store.outbox.take_due(
            self.now(), by=by, until=until, limit=limit, busy=busy, skip_locked=skip_locked
        )
        return [OutboxItem.of(r) for r in rows]

    async def claim(
        self, item_id: int, *, lock: bool = False, by: str | None = None, lease: float = 300.0
    ) -> OutboxItem | None:
        """The row if it is still due, first in its chat's queue and on no live lease;
        with ``lock`` it is locked for this transaction, and None if another sender
        holds it. With ``by``, it is leased to that sender for ``lease`` seconds: the
        send happens after this transaction, and other senders leave the row (and the
        rows of its chat behind it) alone meanwhile."""
        until = self.now() + timedelta(seconds=lease)
        if by is not None:
            # Checked and leased in one statement. Where senders compete (``lock``),
            # a row another transaction has locked is passed over, so none waits.
            leased = await self.store.outbox.lease(
                item_id, self.now(), by=by, until=until, skip_locked=lock
            )
            return OutboxItem.of(leased) if leased is not None else None
        row = await self.store.outbox.claim(item_id, self.now(), lock=lock)
        if row is None:
            return None
        if by is not None:
            row.claimed_by, row.claimed_until = by, until
            await self.store.flush()
        return OutboxItem.of(row)

    async def release_leases(self, holders: str | None = None) -> int:
        """Every row on lease (or on lease to a holder starting with ``holders``) is
        free to go again (see OutboxSender.run)."""
        return await self.store.outbox.release_leases(holders)

    async def still_ours(self, item: OutboxItem, by: str) -> bool:
        """Whether the row is still pending and leased to ``by`` (the outcome of its
        send can be recorded)."""
        row = await self.store.outbox.get(item.id)
        return (
            row is not None
            and row.state == PENDING
            and row.claimed_by == by
            and row.attempts == item.attempts
        )

    async def sent_if_ours(self, item: OutboxItem, by: str) -> bool:
        """Record the row sent if it is still pending and leased to ``by``, as it was
        claimed; False when it changed hands meanwhile."""
        return await self.store.outbox.settle(
            item.id, by=by, attempts=item.attempts, state=SENT, now=self.now()
        )

    async def release(self, item_id: int) -> None:
        row = await self.store.outbox.get(item_id)
        if row is not None:
            row.claimed_by = None
            row.claimed_until = None
            await self.store.flush()

    async def unchanged(self, item: OutboxItem) -> bool:
        """Whether the row is still as ``item`` was read: pending, no attempt since."""
        row = await self.store.outbox.get(item.id)
        return row is not None and row.state == PENDING and row.attempts == item.attempts

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
        if item.kind in _WITH_FILED_FILES:
            if item.audience == notify.USER:
                # The observer filed them: only the office and the department need them.
                return []
            rows = await self.store.attachments.for_suggestion(item.suggestion_id)
            return [AttachmentInfo.of(a) for a in rows if a.event_id is None]
        # A move's notice says how many files the move carried (rows queued before it
        # did so say nothing, and are looked up).
        if item.event_id is None or item.payload.get(notify.FILES) == 0:
            return []
        rows = await self.store.attachments.for_suggestion(item.suggestion_id)
        return [AttachmentInfo.of(a) for a in rows if a.event_id == item.event_id]

    # ---- what became of it ----------------------------------------------------------

    async def sent(self, item_id: int) -> None:
        await self._finish(item_id, SENT, None)

    async def failed(self, item_id: int, error: str) -> None:
        await self._finish(item_id, FAILED, error[:_ERROR_MAX])

    async def retry_later(self, item_id: int, error: str, *, wait: float = 0.0) -> datetime | None:
        """A passing failure: the row stays pending, its next attempt after the backoff
        (or after ``wait`` seconds, Telegram's retry_after, if that is longer). Returns
        when it is due again."""
        row = await self.store.outbox.get(item_id)
        if row is None:
            return None
        row.attempts += 1
        row.last_error = error[:_ERROR_MAX]
        row.not_before = self.now() + max(retry_delay(row.attempts), timedelta(seconds=wait))
        row.claimed_by = row.claimed_until = None
        await self.store.flush()
        return row.not_before

    async def hold(self, item_id: int, error: str, *, attempted: bool = True) -> None:
        """Keep the row until its recipient can be reached again; ``attempted`` says
        whether Telegram was asked (and refused) this time."""
        row = await self.store.outbox.get(item_id)
        if row is None:
            return
        row.state = HELD
        row.last_error = error[:_ERROR_MAX]
        row.claimed_by = row.claimed_until = None
        if attempted:
            row.attempts += 1
        await self.store.flush()

    async def settle_broadcast(self, broadcast_id: int) -> bool:
        """Once no message of a broadcast is pending, queue its report for the admin
        group (once); held messages count as not delivered. Returns whether the report
        was queued now. Senders settling its last rows at once take turns on the
        broadcast's row, so the last of them sees every outcome."""
        broadcast = await self.store.outbox.lock_broadcast(broadcast_id)
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
                "failed": tally.get(FAILED, 0) + tally.get(HELD, 0),
                **carry("point", point.naming if point else None),
            },
            at=self.now(),
            office_id=broadcast.office_id,
        )
        await self.store.flush()
        return True

    # ---- people who cannot be reached -------------------------------------------------

    async def unreachable(self, user_id: int) -> bool:
        """Mark the person unreachable (they blocked the bot, or are gone); the office
        hears of it once, not again until they have been reachable in between. Returns
        whether this call marked them."""
        if not await self.store.users.mark_blocked(user_id, True, self.now()):
            return False
        who = await self._who(user_id)
        if who is not None:
            office_id = who.pop(_OFFICE)
            await notify.to_admins(
                self.store, Notice.OBSERVER_UNREACHABLE, who, at=self.now(), office_id=office_id
            )
        await self.store.flush()
        return True

    async def still_unreachable(self, user_id: int) -> bool:
        """Whether the person is marked unreachable now, read afresh with their row
        locked, so that a concurrent return cannot leave a row held behind it."""
        return await self.store.users.is_blocked(user_id, lock=True)

    async def reachable(self, user_id: int) -> int:
        """The person can be reached again: their held rows go back to their queue,
        due now and in their original order. Returns how many were queued again."""
        if not await self.store.users.mark_blocked(user_id, False, self.now()):
            return 0
        count = await self.store.outbox.requeue_held(user_id, self.now())
        await self.store.flush()
        return count

    async def _who(self, user_id: int) -> dict[str, Any] | None:
        """Who the office should hear is cut off: an observer or a liaison, or nobody
        (an applicant, a passer-by); under ``_OFFICE``, the office to tell."""
        observer = await self.store.observers.by_user(user_id)
        if observer is not None and observer.status in _ACTIVE_OBSERVER:
            point = await self.store.points.get(observer.point_id) if observer.point_id else None
            return {
                _OFFICE: observer.office_id,
                "user_id": user_id,
                "observer_id": observer.id,
                "name": observer.name,
                **carry("point", point.naming if point else None),
            }
        for liaison in await self.store.liaisons.for_user(user_id):
            department = await self.store.departments.get(liaison.department_id)
            if department is None or not department.active:
                continue
            user = await self.store.users.get(user_id)
            return {
                _OFFICE: department.office_id,
                "user_id": user_id,
                "name": liaison.name or (user.first_name if user else "") or str(user_id),
                **carry("department", department.naming),
            }
        return None

    async def _finish(self, item_id: int, state: str, error: str | None) -> None:
        row = await self.store.outbox.get(item_id)
        if row is None:
            return
        row.state = state
        row.attempts += 1
        row.last_error = error
        row.claimed_by = row.claimed_until = None
        if state == SENT:
            row.sent_at = self.now()
        await self.store.flush()


# A new item reaches the office, or a department, with the files it was filed with.
_WITH_FILED_FILES = frozenset({"item.submit", "item.adopt", "item.city_adopt", "item.assign"})
