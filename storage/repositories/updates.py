from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm.util import identity_key

from storage.models import ConversationState, ProcessedUpdate
from storage.repositories.base import Repository


def _claim(insert: Any) -> Any:
    return (
        insert(ProcessedUpdate)
        .values(bot_id=sa.bindparam("bot"), update_id=sa.bindparam("update"))
        .on_conflict_do_nothing()
        .returning(ProcessedUpdate.update_id)
    )


# Run for every update: built once (see storage.repositories.cards).
_CLAIM = {"postgresql": _claim(postgresql.insert), "sqlite": _claim(sqlite.insert)}


class ProcessedUpdateRepository(Repository[ProcessedUpdate]):
    model = ProcessedUpdate

    async def claim(self, bot_id: int, update_id: int) -> bool:
        """Record an update as handled; False if it was handled before.

        Done inside the update's own transaction, so a crash before commit leaves the
        update unclaimed and a redelivery is handled normally.
        """
        # One statement, not a savepoint around an insert that may fail: this runs for
        # every update.
        stmt = _CLAIM[
            "postgresql" if self.session.get_bind().dialect.name == "postgresql" else "sqlite"
        ]
        values = {"bot": bot_id, "update": update_id}
        return (await self.session.execute(stmt, values)).first() is not None


_MISSING = "outpost_fsm_missing"
_ADDED = "outpost_fsm_added"
T = TypeVar("T")


class ConversationStateRepository(Repository[ConversationState]):
    model = ConversationState

    async def load(self, key: str, *, lock: bool = False) -> ConversationState | None:
        if not lock:
            # Most people are in no conversation: remember that within the transaction
            # (aiogram asks for the state and the data of every update), as the session
            # remembers rows it found.
            missing = self._missing()
            if key in missing:
                return None
            row = self._added(key) or await self.get(key)
            if row is None:
                missing.add(key)
            return row
        await self.session.flush()  # what this transaction saved, before reading afresh
        stmt = (
            sa.select(ConversationState)
            .where(ConversationState.key == key)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    def _added(self, key: str) -> ConversationState | None:
        """The row of ``key`` this transaction added (written with its commit, or
        with a flush before), if it is still in the session."""
        row = self._added_rows().get(key)
        return row if row is not None and row in self.session else None

    def _added_rows(self) -> dict[str, ConversationState]:
        rows: dict[str, ConversationState] = self._this_transaction(_ADDED, dict)
        return rows

    def _this_transaction(self, name: str, make: Callable[[], T]) -> T:
        """What this transaction keeps under ``name`` (forgotten with it)."""
        transaction = self.session.sync_session.get_transaction()
        cached = self.session.info.get(name)
        if cached is None or cached[0] is not transaction:
            cached = self.session.info[name] = (transaction, make())
        kept: T = cached[1]
        return kept

    def _missing(self) -> set[str]:
        """Keys found absent in this transaction (forgotten with it)."""
        return self._this_transaction(_MISSING, set)

    async def save(self, key: str, *, state: str | None, data: dict[str, object]) -> None:
        missing = self._missing()
        if key in missing:
            missing.discard(key)
            row = None  # found absent in this transaction: no need to look again
        else:
            row = self._added(key) or await self.get(key)
        if row is None:
            # Not flushed either: aiogram sets the data and then the state of a new
            # conversation, and the commit writes the row once (the next load of this
            # key in the transaction finds it among the rows added).
            row = ConversationState(key=key, state=state, data=dict(data))
            self.session.add(row)
            self._added_rows()[key] = row
        else:
            # Not flushed here: aiogram sets the state and the data one after the other,
            # and the commit writes both in one statement.
            row.state, row.data = state, dict(data)

    async def delete(self, key: str) -> None:
        missing = self._missing()
        if key in missing:
            return  # found absent in this transaction, or deleted already
        added = self._added(key)
        if added is not None and added in self.session.new:
            self.session.expunge(added)  # never written: nothing to delete
            missing.add(key)
            return
        row = self.session.sync_session.identity_map.get(identity_key(ConversationState, key))
        if row is not None:
            # Loaded (and perhaps changed, as aiogram's clear() sets the state first):
            # one DELETE, not the pending UPDATE and then a DELETE.
            await self.session.delete(row)
            await self.session.flush()
        else:
            stmt = sa.delete(ConversationState).where(ConversationState.key == key)
            await self.session.execute(stmt)
        missing.add(key)
