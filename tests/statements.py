"""What SQL a piece of work sends, for the tests that hold a statement count down."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event


@contextmanager
def statements_about(sessions: Any, fragment: str = "") -> Iterator[list[str]]:
    """The SQL statements sent meanwhile that contain ``fragment``; ``BEGIN`` and
    ``COMMIT`` are not counted."""
    sent: list[str] = []
    engine = sessions.kw["bind"].sync_engine

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if fragment in statement and statement.split()[0].upper() not in ("BEGIN", "COMMIT"):
            sent.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", count)
