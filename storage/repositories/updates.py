from __future__ import annotations

import copy
import weakref
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from storage.models import ConversationState, ProcessedUpdate, utcnow
from storage.repositories.arrival import arrive, held, this_transaction
from storage.repositories.base import Repository, per_database, table_of

# The claim and the rewrite name the tables, not the models (see ``table_of``): a claim
# in its transaction took 0.56-0.70 ms of CPU on SQLite as an ORM-enabled INSERT, 0.35
# ms so. Neither returns an entity or keeps a row the session holds in step.
_PROCESSED = table_of(ProcessedUpdate)
_CONVERSATIONS = table_of(ConversationState)


def _claim(insert: Any) -> Any:
    return (
        insert(_PROCESSED)
        .values(bot_id=sa.bindparam("bot"), update_id=sa.bindparam("update"))
        .on_conflict_do_nothing()
        .returning(_PROCESSED.c.update_id)
    )


# Run for every update: built once (see storage.repositories.cards).
_CLAIM = per_database(_claim)


class ProcessedUpdateRepository(Repository[ProcessedUpdate]):
    model = ProcessedUpdate

    async def claim(self, bot_id: int, update_id: int) -> bool:
        """Record an update as handled; False if it was handled before.

        Done inside the update's own transaction, so a crash before commit leaves the
        update unclaimed and a redelivery is handled normally.
        """
        # One statement, not a savepoint around an insert that may fail: this runs for
        # every update.
        stmt = self.ours(_CLAIM)
        values = {"bot": bot_id, "update": update_id}
        return (await self.session.execute(stmt, values)).first() is not None

    async def prune(self, before: datetime) -> int:
        """Forget the updates handled before ``before``: Telegram redelivers an update
        for a day at most, so older ids only fill the table. How many were removed."""
        stmt = sa.delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < before)
        return int(getattr(await self.session.execute(stmt), "rowcount", 0) or 0)


_MISSING = "outpost_fsm_missing"
_ADDED = "outpost_fsm_added"
_SAVED = "outpost_fsm_saved"
T = TypeVar("T")

# The conversations this process wrote last, as committed, per database (engine):
# key -> (updated_at, data). Work done after an update changes the conversation it just
# wrote (the id of the question it sent): knowing the row, it writes only if the row is
# still that one.
Written = dict[str, tuple[datetime, dict[str, Any]]]
_WRITTEN: weakref.WeakKeyDictionary[Any, Written] = weakref.WeakKeyDictionary()
# As many as people in a conversation at once, and some.
_WRITTEN_AT_MOST = 4096


@event.listens_for(Session, "after_commit")
def _remember_written(session: Session) -> None:
    kept = session.info.pop(_SAVED, None)
    if kept is None:
        return
    written = _written(session.get_bind())
    for key, row in kept[1].items():
        written.pop(key, None)
        if row is not None and row in session and row.updated_at is not None:
            if len(written) >= _WRITTEN_AT_MOST:
                written.pop(next(iter(written)))
            written[key] = (row.updated_at, copy.deepcopy(row.data))


def _written(bind: Any) -> Written:
    engine = getattr(bind, "engine", bind)
    written = _WRITTEN.get(engine)
    if written is None:
        written = _WRITTEN[engine] = {}
    return written


@event.listens_for(Session, "after_rollback")
def _forget_unwritten(session: Session) -> None:
    session.info.pop(_SAVED, None)


# change_as_written's statement: the row rewritten only if it is still as written.
_REWRITE = (
    sa.update(_CONVERSATIONS)
    .where(
        _CONVERSATIONS.c.key == sa.bindparam("row_key"),
        _CONVERSATIONS.c.updated_at == sa.bindparam("seen"),
    )
    .values(data=sa.bindparam("new_data"), updated_at=sa.bindparam("now"))
)


class ConversationStateRepository(Repository[ConversationState]):
    model = ConversationState

    async def load(
        self, key: str, *, lock: bool = False, user_id: int | None = None
    ) -> ConversationState | None:
        """The conversation of ``key``; the first load of an update, which names the
        person (``user_id``), reads them with it (``storage.repositories.arrival``)."""
        if not lock:
            # Most people are in no conversation: remember that within the transaction
            # (aiogram asks for the state and the data of every update), as the session
            # remembers rows it found.
            missing = self._missing()
            if key in missing:
                return None
            row = self._added(key) or await self._first_or_get(key, user_id)
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

    async def _first_or_get(self, key: str, user_id: int | None) -> ConversationState | None:
        if user_id is None or held(self.session, ConversationState, key) is not None:
            return await self.get(key)
        return await arrive(self.session, key, user_id)

    def _added(self, key: str) -> ConversationState | None:
        """The row of ``key`` this transaction added (written with its commit, or
        with a flush before), if it is still in the session."""
        row = self._added_rows().get(key)
        return row if row is not None and row in self.session else None

    def _added_rows(self) -> dict[str, ConversationState]:
        rows: dict[str, ConversationState] = self._this_transaction(_ADDED, dict)
        return rows

    def _this_transaction(self, name: str, make: Callable[[], T]) -> T:
        return this_transaction(self.session, name, make)

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
        self._saved()[key] = row

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
        self._saved()[key] = None

    async def change_as_written(
        self, key: str, change: Callable[[dict[str, Any]], dict[str, Any] | None]
    ) -> bool | None:
        """``change`` the conversation's data as this process last wrote it, in one
        statement that writes only if the row is still as written: whether it was
        changed, or None when that cannot be told (not written here, or written since
        by someone else: the caller reads the row afresh)."""
        written = _written(self.session.sync_session.get_bind())
        known = written.get(key)
        if known is None:
            return None
        seen, data = known
        changed = change(dict(data))  # the top level: see DatabaseStorage.modify
        if changed is None:
            # The row is at least as new as what this process wrote: what ``change``
            # looked for is gone from it too.
            return False
        now = utcnow()
        values = {"row_key": key, "seen": seen, "new_data": changed, "now": now}
        result = await self.session.execute(_REWRITE, values)
        if getattr(result, "rowcount", 0) != 1:
            written.pop(key, None)
            return None
        # ``changed`` was made from a copy and is no one else's: kept as it is.
        written[key] = (now, changed)
        return True

    def _saved(self) -> dict[str, ConversationState | None]:
        """Rows this transaction saved or deleted, remembered once it commits."""
        saved: dict[str, ConversationState | None] = self._this_transaction(_SAVED, dict)
        return saved
