"""The messages that show an item or an application and are kept current.

Telegram allows about twenty messages a minute into a group, so a card is edited in
place rather than posted again; the digest of what it shows lets a repeated refresh
(the handler's, then the outbox's) cost no call at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.services.context import Service
from storage.models import Card

ITEM = "item"
APPLICATION = "application"
# A move marks its item's cards for a re-sync this many seconds on: its own effect
# brings them up to date at once and clears the mark; the sender comes by only if that
# never happened (the process died between commit and speech, or the edit failed).
RESYNC_GRACE = 30.0


@dataclass(frozen=True, slots=True)
class CardInfo:
    id: int
    chat_id: int
    message_id: int
    subject: str
    subject_id: int
    digest: str
    current: bool
    # Due for a re-sync: the message may not show what the database says.
    stale: bool = False
    # The newest event of the subject the message shows (None: not known).
    shown_event: int | None = None

    def shows(self, event: int) -> bool:
        """Whether the message shows ``event`` of its subject, and nothing since has
        marked it for a re-sync."""
        return not self.stale and self.shown_event is not None and self.shown_event >= event

    @classmethod
    def of(cls, row: Card) -> CardInfo:
        return cls(
            row.id,
            row.chat_id,
            row.message_id,
            row.subject,
            row.subject_id,
            row.digest,
            row.current,
            row.resync_at is not None,
            row.shown_event,
        )


class CardService(Service):
    async def posted(
        self,
        chat_id: int,
        message_id: int,
        subject: str,
        subject_id: int,
        digest: str,
        *,
        event: int | None = None,
    ) -> list[CardInfo]:
        """Record a new card; returns the cards in that chat it replaces as current."""
        replaced = []
        known = None
        for row in await self.store.cards.of(subject, subject_id, chat_id=chat_id):
            if row.message_id == message_id:
                known = row
            elif row.current:
                row.current = False
                replaced.append(CardInfo.of(row))
        if known is not None:
            # Adopted from a press before its post was recorded (see adopt).
            known.current, known.digest, known.resync_at = True, digest, None
            known.shown_event = event
            await self.store.flush()
            return replaced
        await self.store.cards.add(
            Card(chat_id=chat_id, message_id=message_id, subject=subject,
                 subject_id=subject_id, digest=digest, current=True, shown_event=event)
        )  # fmt: skip
        return replaced

    async def current(self, subject: str, subject_id: int, chat_id: int) -> CardInfo | None:
        rows = await self.store.cards.of(subject, subject_id, chat_id=chat_id)
        return next((CardInfo.of(r) for r in reversed(rows) if r.current), None)

    async def at(self, chat_id: int, message_id: int) -> CardInfo | None:
        row = await self.store.cards.by_message(chat_id, message_id)
        return CardInfo.of(row) if row is not None else None

    async def shown(self, card_id: int, digest: str, *, event: int | None = None) -> None:
        """The card now shows what ``digest`` describes (and, for a card of the
        subject itself, its events up to ``event``)."""
        await self.store.cards.shown(card_id, digest, event)

    async def ids_between(self, chat_id: int, low: int, high: int) -> set[int]:
        """The message ids of the cards in the chat strictly between ``low`` and ``high``."""
        return await self.store.cards.ids_between(chat_id, low, high)

    async def unsure(self, chat_id: int, subject: str, subject_id: int, since: int) -> None:
        """A post of the card may have reached the chat unseen, after message ``since``."""
        await self.store.unsure_posts.note(chat_id, subject, subject_id, since)

    async def unsure_posts(self) -> dict[tuple[int, str, int], int]:
        """Every card whose post may have reached its chat unseen, and since when."""
        rows = await self.store.unsure_posts.every()
        return {(r.chat_id, r.subject, r.subject_id): r.since for r in rows}

    async def looked(self, chat_id: int, subject: str, subject_id: int) -> None:
        """The ids after the card's unsure post were looked at."""
        await self.store.unsure_posts.forget(chat_id, subject, subject_id)

    async def of(self, subject: str, subject_id: int, chat_id: int) -> list[CardInfo]:
        """The subject's cards in a chat, oldest first."""
        rows = await self.store.cards.of(subject, subject_id, chat_id=chat_id)
        return [CardInfo.of(r) for r in rows]

    async def resync(self, subject: str, subject_id: int, *, later: float = 0.0) -> int:
        """Mark every card of the subject, in every chat, for a re-sync (``later``
        seconds from now); written with the move, so that a card converges even if the
        process dies before it speaks. Returns how many were not due that soon."""
        return await self.store.cards.resync(
            subject, subject_id, self.now() + timedelta(seconds=later)
        )

    async def adopt(self, chat_id: int, message_id: int, subject: str, subject_id: int) -> bool:
        """A button was pressed on a card of the subject the bot has no record of (its
        post reached Telegram although the bot saw a timeout, and was made again): keep
        it as an older card, due for a re-sync now, so that it comes to point to the
        current one. Returns whether it was unknown."""
        if await self.store.cards.by_message(chat_id, message_id) is not None:
            return False
        await self.store.cards.add(
            Card(chat_id=chat_id, message_id=message_id, subject=subject,
                 subject_id=subject_id, digest="", current=False, resync_at=self.now())
        )  # fmt: skip
        return True

    async def doubted(self, chat_id: int, message_id: int) -> None:
        """The message was seen to show something else than its digest says (a button
        pressed on a card that should have none): show it afresh."""
        row = await self.store.cards.by_message(chat_id, message_id)
        if row is not None and not row.current:
            row.digest = ""
            row.resync_at = self.now()
            await self.store.flush()

    async def stale(self, card_id: int, *, retry_in: float = 30.0) -> None:
        """An edit of the card failed for a passing reason: try again later."""
        row = await self.store.cards.get(card_id)
        if row is not None:
            row.resync_at = self.now() + timedelta(seconds=retry_in)
            await self.store.flush()

    async def due(self, limit: int = 20) -> list[CardInfo]:
        """Cards due for a re-sync now, oldest first."""
        rows = await self.store.cards.due(self.now(), limit)
        return [CardInfo.of(r) for r in rows]
