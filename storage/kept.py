"""Small tables read on every update and changed a few times a year, kept a while.

The working-day calendar and the tree of offices are read by nearly every update and
change rarely (``/holidays``, a district brought in). A :class:`Kept` holds one such
read per database (engine) for ``seconds``: another process's change is seen within
that time, this process's at once, when it commits (a transaction that changes the
table reads it afresh until then, and a rolled-back change is never kept).
"""

from __future__ import annotations

import time
import weakref
from typing import Any, Generic, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session, object_session

T = TypeVar("T")


def _database(session: Session) -> Any:
    # The pool: an engine with other execution options (read_sessions') shares it.
    bind = session.get_bind()
    return bind.engine.pool


def database_of(engine: Any) -> Any:
    """What :meth:`Kept.kept_in` takes for an engine (sync or async)."""
    return getattr(engine, "sync_engine", engine).pool


class Kept(Generic[T]):
    def __init__(self, name: str, *models: type, seconds: float = 30.0) -> None:
        self.seconds = seconds
        self._changed = f"outpost_{name}_changed"
        self._kept: weakref.WeakKeyDictionary[Any, tuple[T, float]] = weakref.WeakKeyDictionary()
        for model in models:
            # A row added, changed or removed through a session, by any code.
            for moment in ("before_insert", "before_update", "before_delete"):
                event.listen(model, moment, self._note_change)
        event.listen(Session, "after_commit", self._forget_changed)
        event.listen(Session, "after_rollback", self._forget_changed)

    def changing(self, session: Session) -> bool:
        return bool(session.info.get(self._changed))

    def mark_changed(self, session: Session) -> None:
        """For a change made without the ORM's unit of work (a bulk statement)."""
        session.info[self._changed] = True

    def kept(self, session: Session) -> T | None:
        if self.changing(session):
            return None
        return self.kept_in(_database(session))

    def kept_in(self, database: Any) -> T | None:
        """What is kept for ``database`` (see :func:`database_of`), read outside any
        session."""
        found = self._kept.get(database)
        if found is None or time.monotonic() - found[1] >= self.seconds:
            return None
        return found[0]

    def keep(self, session: Session, value: T) -> T:
        if not self.changing(session):  # what this transaction writes is kept once it commits
            self._kept[_database(session)] = (value, time.monotonic())
        return value

    def forget(self, engine: Any) -> None:
        self._kept.pop(database_of(engine), None)

    def _note_change(self, _mapper: Any, _connection: Any, row: Any) -> None:
        session = object_session(row)
        if session is not None:
            self.mark_changed(session)

    def _forget_changed(self, session: Session) -> None:
        if session.info.pop(self._changed, None):
            self._kept.pop(_database(session), None)
