from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from storage.models import TelegramUser, utcnow
from storage.repositories.base import Repository, per_database

# Run for every card shown: built once (see storage.repositories.cards).
_SOME = sa.select(TelegramUser).where(TelegramUser.id.in_(sa.bindparam("ids", expanding=True)))


def _first_seen(insert: Any) -> Any:
    names = ("id", "first_name", "last_name", "username", "language_code")
    return (
        insert(TelegramUser)
        .values(
            {name: sa.bindparam(name) for name in names}
            | {
                "blocked": False,
                "created_at": sa.bindparam("when"),
                "updated_at": sa.bindparam("when"),
            }
        )
        .on_conflict_do_nothing(index_elements=["id"])
    )


# Someone's first update: two at once (in two chats) both find nobody, and the second
# insert gives way to the first instead of failing its update.
_FIRST_SEEN = per_database(_first_seen)


class UserRepository(Repository[TelegramUser]):
    model = TelegramUser

    async def upsert(
        self,
        user_id: int,
        *,
        first_name: str = "",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
        at: datetime | None = None,
    ) -> TelegramUser:
        """Record who wrote to us; names change, so they are refreshed each time.
        ``at`` dates a new record (the caller's clock; the wall clock if not given)."""
        row = await self.get(user_id)
        if row is None:
            values = {"id": user_id, "first_name": first_name, "last_name": last_name,
                      "username": username, "language_code": language_code,
                      "when": at if at is not None else utcnow()}  # fmt: skip
            await self.session.execute(self.ours(_FIRST_SEEN), values)
            row = await self.get(user_id)
            assert row is not None, "inserted, or found inserted meanwhile"
            return row
        now = {
            "first_name": first_name or row.first_name,
            "last_name": last_name,
            "username": username,
            "language_code": language_code or row.language_code,
        }
        changed = {name: value for name, value in now.items() if getattr(row, name) != value}
        if changed:
            # Only what changed: an attribute set to the value it has still marks the
            # row dirty, and the flush then weighs it for nothing, on every update.
            for name, value in changed.items():
                setattr(row, name, value)
            await self.session.flush()
        return row

    async def some(self, user_ids: Collection[int]) -> dict[int, TelegramUser]:
        """The users of ``user_ids`` that are known, by id, in one statement."""
        if not user_ids:
            return {}
        result = await self.session.execute(_SOME, {"ids": sorted(user_ids)})
        return {row.id: row for row in result.scalars()}

    async def set_blocked(self, user_id: int, blocked: bool, at: datetime | None = None) -> None:
        row = await self.get(user_id)
        if row is None:
            return
        row.blocked = blocked
        row.blocked_at = (at or utcnow()) if blocked else None
        await self.session.flush()

    async def mark_blocked(self, user_id: int, blocked: bool, at: datetime) -> bool:
        """Flip ``blocked``; True only for the one transaction that changed it, however
        many try at once (the row lock decides on PostgreSQL, the writer on SQLite)."""
        stmt = (
            sa.update(TelegramUser)
            .where(TelegramUser.id == user_id, TelegramUser.blocked.is_(not blocked))
            .values(blocked=blocked, blocked_at=at if blocked else None)
            .execution_options(synchronize_session="fetch")
        )
        result = await self.session.execute(stmt)
        return bool(getattr(result, "rowcount", 0))

    async def is_blocked(self, user_id: int, *, lock: bool = False) -> bool:
        """Whether the user is marked unreachable, read afresh (and, with ``lock``,
        locked until the transaction ends, on databases that lock rows)."""
        stmt = sa.select(TelegramUser.blocked).where(TelegramUser.id == user_id)
        if lock:
            stmt = stmt.with_for_update()
        return bool((await self.session.execute(stmt)).scalar_one_or_none())
