"""Updates that could not be read: recorded once each, and counted for the office."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from storage.models import DeadLetter
from storage.repositories.base import Repository, per_database


def _record(insert: Any) -> Any:
    return (
        insert(DeadLetter)
        .values(
            bot_id=sa.bindparam("bot"),
            update_id=sa.bindparam("update"),
            kind=sa.bindparam("kind"),
            error=sa.bindparam("error"),
        )
        .on_conflict_do_nothing()
        .returning(DeadLetter.id)
    )


_RECORD = per_database(_record)


class DeadLetterRepository(Repository[DeadLetter]):
    model = DeadLetter

    async def record(self, bot_id: int, update_id: int, kind: str, error: str) -> bool:
        """Record an unreadable update; False if it was recorded before (Telegram sent
        it again, e.g. when the webhook's answer was lost)."""
        stmt = self.ours(_RECORD)
        values = {"bot": bot_id, "update": update_id, "kind": kind, "error": error}
        return (await self.session.execute(stmt, values)).first() is not None

    async def count(self) -> int:
        stmt = sa.select(sa.func.count()).select_from(DeadLetter)
        return int(await self.session.scalar(stmt) or 0)
