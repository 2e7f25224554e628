"""The languages groups speak (``chat_languages``).

Every update in a group and every row the outbox sends there asks which language the
group speaks, and it changes perhaps once in a deployment's life: the answer is kept
per database for a short while (another process's change is seen within
``KEPT_SECONDS``; this process's at once, when it commits).
"""

from __future__ import annotations

import time
import weakref
from datetime import datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from storage.models import ChatLanguage
from storage.repositories.base import Repository

KEPT_SECONDS = 30.0
_CHANGED = "outpost_languages_changed"

# Per database (engine): chat id -> (its language or None, when it was read).
_KEPT: weakref.WeakKeyDictionary[Any, dict[int, tuple[str | None, float]]] = (
    weakref.WeakKeyDictionary()
)


def _kept(session: Session) -> dict[int, tuple[str | None, float]]:
    bind = session.get_bind()
    engine = getattr(bind, "engine", bind)
    kept = _KEPT.get(engine)
    if kept is None:
        kept = _KEPT[engine] = {}
    return kept


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_changed(session: Session) -> None:
    changed = session.info.pop(_CHANGED, None)
    if changed:
        kept = _kept(session)
        for chat_id in changed:
            kept.pop(chat_id, None)


class ChatLanguageRepository(Repository[ChatLanguage]):
    model = ChatLanguage

    async def of(self, chat_id: int) -> str | None:
        sync = self.session.sync_session
        kept = _kept(sync)
        known = kept.get(chat_id)
        changing = chat_id in sync.info.get(_CHANGED, ())
        if known is not None and not changing and time.monotonic() - known[1] < KEPT_SECONDS:
            return known[0]
        row = await self.get(chat_id)
        locale = row.locale if row is not None else None
        if not changing:  # what this transaction writes is kept once it commits
            kept[chat_id] = (locale, time.monotonic())
        return locale

    async def put(self, chat_id: int, locale: str, *, by: int | None, at: datetime) -> None:
        self.session.sync_session.info.setdefault(_CHANGED, set()).add(chat_id)
        row = await self.get(chat_id)
        if row is None:
            self.session.add(ChatLanguage(chat_id=chat_id, locale=locale, set_by=by, updated_at=at))
        else:
            row.locale, row.set_by, row.updated_at = locale, by, at
        await self.session.flush()
