"""The messages that show an item or an application and are kept current.

Telegram allows about twenty messages a minute into a group, so a card is edited in
place rather than posted again; the digest of what it shows lets a repeated refresh
(the handler's, then the outbox's) cost no call at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.services.context import Service
from storage.models import Card

ITEM = "item"
APPLICATION = "application"


@dataclass(frozen=True, slots=True)
class CardInfo:
    id: int
    chat_id: int
    message_id: int
    subject: str
    subject_id: int
    digest: str
    current: bool

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
        )


class CardService(Service):
    async def posted(
        self, chat_id: int, message_id: int, subject: str, subject_id: int, digest: str
    ) -> list[CardInfo]:
        """Record a new card; returns the cards in that chat it replaces as current."""
        replaced = []
        for row in await self.store.cards.of(subject, subject_id, chat_id=chat_id):
            if row.current:
                row.current = False
                replaced.append(CardInfo.of(row))
        await self.store.cards.add(
            Card(
                chat_id=chat_id,
                message_id=message_id,
                subject=subject,
                subject_id=subject_id,
                digest=digest,
                current=True,
            )
        )
        return replaced

    async def current(self, subject: str, subject_id: int, chat_id: int) -> CardInfo | None:
        rows = await self.store.cards.of(subject, subject_id, chat_id=chat_id)
        return next((CardInfo.of(r) for r in reversed(rows) if r.current), None)

    async def at(self, chat_id: int, message_id: int) -> CardInfo | None:
        row = await self.store.cards.by_message(chat_id, message_id)
        return CardInfo.of(row) if row is not None else None

    async def shown(self, card_id: int, digest: str) -> None:
        """The card now shows what ``digest`` describes."""
        row = await self.store.cards.get(card_id)
        if row is not None:
            row.digest = digest
            await self.store.flush()
