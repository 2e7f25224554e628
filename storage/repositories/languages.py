"""The languages groups speak (``chat_languages``)."""

from __future__ import annotations

from datetime import datetime

from storage.models import ChatLanguage
from storage.repositories.base import Repository


class ChatLanguageRepository(Repository[ChatLanguage]):
    model = ChatLanguage

    async def of(self, chat_id: int) -> str | None:
        row = await self.get(chat_id)
        return row.locale if row is not None else None

    async def put(self, chat_id: int, locale: str, *, by: int | None, at: datetime) -> None:
        row = await self.get(chat_id)
        if row is None:
            self.session.add(ChatLanguage(chat_id=chat_id, locale=locale, set_by=by, updated_at=at))
        else:
            row.locale, row.set_by, row.updated_at = locale, by, at
        await self.session.flush()
