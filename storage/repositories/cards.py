from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from storage.models import Broadcast, Card, OutboxMessage, UnsurePost
from storage.repositories.base import Repository, per_database, storable, table_of

# Statements run on every update are built once, with their values bound at execution:
# building one costs more than SQLite takes to answer it.
_BY_MESSAGE = sa.select(Card).where(
    Card.chat_id == sa.bindparam("chat_id"), Card.message_id == sa.bindparam("message_id")
)
_OF = sa.select(Card).where(
    Card.subject == sa.bindparam("subject"), Card.subject_id == sa.bindparam("subject_id")
)
_OF_ANYWHERE = _OF.order_by(Card.id)
_OF_IN_CHAT = _OF.where(Card.chat_id == sa.bindparam("chat_id")).order_by(Card.id)


# These two name the table, not the model (see ``table_of``): neither keeps a card the
# session holds in step, as the ORM-enabled ones did not either.
_CARDS = table_of(Card)
# The card shows what ``shows`` describes, up to event ``upto``, in one statement.
_SHOWN = (
    sa.update(_CARDS)
    .where(_CARDS.c.id == sa.bindparam("card"))
    .values(digest=sa.bindparam("shows"), shown_event=sa.bindparam("upto"), resync_at=None)
)
# Every card of a subject due for a re-sync by ``by`` (an earlier time is kept).
_RESYNC = (
    sa.update(_CARDS)
    .where(
        _CARDS.c.subject == sa.bindparam("of_kind"),
        _CARDS.c.subject_id == sa.bindparam("of_id"),
        sa.or_(_CARDS.c.resync_at.is_(None), _CARDS.c.resync_at > sa.bindparam("by")),
    )
    .values(resync_at=sa.bindparam("by"))
)


class CardRepository(Repository[Card]):
    model = Card

    async def by_message(self, chat_id: int, message_id: int) -> Card | None:
        values = {"chat_id": chat_id, "message_id": message_id}
        return (await self.session.execute(_BY_MESSAGE, values)).scalar_one_or_none()

    async def of(
        self, subject: str, subject_id: int, *, chat_id: int | None = None
    ) -> Sequence[Card]:
        """A subject's cards, oldest first (in one chat, if given)."""
        if not storable(subject_id, Card.__table__.c.subject_id.type):
            return []  # a forged id from a button: no card can be of it
        values: dict[str, object] = {"subject": subject, "subject_id": subject_id}
        if chat_id is None:
            return (await self.session.execute(_OF_ANYWHERE, values)).scalars().all()
        values["chat_id"] = chat_id
        return (await self.session.execute(_OF_IN_CHAT, values)).scalars().all()

    async def ids_between(self, chat_id: int, low: int, high: int) -> set[int]:
        stmt = sa.select(Card.message_id).where(
            Card.chat_id == chat_id, Card.message_id > low, Card.message_id < high
        )
        return set((await self.session.execute(stmt)).scalars().all())

    async def shown(self, card_id: int, digest: str, event: int | None) -> None:
        """Record what the card shows now; its re-sync is done."""
        await self.session.execute(_SHOWN, {"card": card_id, "shows": digest, "upto": event})

    async def resync(self, subject: str, subject_id: int, by: datetime) -> int:
        """Every card of the subject re-synced by ``by`` at the latest; how many were
        not due that soon already."""
        values = {"of_kind": subject, "of_id": subject_id, "by": by}
        result = await self.session.execute(_RESYNC, values)
        return int(getattr(result, "rowcount", 0) or 0)

    async def due(self, now: datetime, limit: int) -> Sequence[Card]:
        """Cards whose re-sync has come, the longest waiting first."""
        stmt = (
            sa.select(Card)
            .where(Card.resync_at.is_not(None), Card.resync_at <= now)
            .order_by(Card.resync_at, Card.id)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()


def _note(insert: Any) -> Any:
    stmt = insert(UnsurePost).values(
        chat_id=sa.bindparam("chat"),
        subject=sa.bindparam("kind"),
        subject_id=sa.bindparam("of"),
        since=sa.bindparam("since"),
        created_at=sa.bindparam("at"),
    )
    # The smaller of two values: min() with two arguments in SQLite, least() elsewhere.
    smaller = sa.func.least if insert is postgresql.insert else sa.func.min
    earliest: Any = smaller(UnsurePost.since, stmt.excluded.since)
    return stmt.on_conflict_do_update(
        index_elements=["chat_id", "subject", "subject_id"], set_={"since": earliest}
    )


_NOTE = per_database(_note)


class UnsurePostRepository(Repository[UnsurePost]):
    model = UnsurePost

    async def note(self, chat_id: int, subject: str, subject_id: int, since: int) -> None:
        """Keep the earliest ``since`` for the card, in one statement."""
        stmt = self.ours(_NOTE)
        values = {"chat": chat_id, "kind": subject, "of": subject_id, "since": since,
                  "at": datetime.now(UTC)}  # fmt: skip
        await self.session.execute(stmt, values)

    async def every(self) -> Sequence[UnsurePost]:
        return (await self.session.execute(sa.select(UnsurePost))).scalars().all()

    async def forget(self, chat_id: int, subject: str, subject_id: int) -> None:
        await self.session.execute(
            sa.delete(UnsurePost).where(
                UnsurePost.chat_id == chat_id,
                UnsurePost.subject == subject,
                UnsurePost.subject_id == subject_id,
            )
        )


class BroadcastRepository(Repository[Broadcast]):
    model = Broadcast

    async def tally(self, broadcast_id: int) -> dict[str, int]:
        """How many of the broadcast's outbox rows are in each state."""
        stmt = (
            sa.select(OutboxMessage.state, sa.func.count())
            .where(OutboxMessage.broadcast_id == broadcast_id)
            .group_by(OutboxMessage.state)
        )
        return {state: int(n) for state, n in (await self.session.execute(stmt)).all()}
