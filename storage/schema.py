"""Is the database at the latest schema? Asked at every start, without Alembic.

``outpost run`` and the commands that read the database refuse one that is not at the
latest migration. Alembic would answer, but loading it costs the running bot some 10 MB
it never needs again; the answer is one row of Alembic's version table, read here with
plain SQL, and the latest revision is :data:`HEAD`, kept equal to the migrations' head
by a test (tests/storage/test_migrations.py): a new migration must update it. Migrating is
``storage.migrate``'s.

Like ``storage.migrate.current``, :func:`current` runs an event loop of its own: call it
from plain synchronous code.
"""

from __future__ import annotations

import asyncio
from typing import Final

import sqlalchemy as sa
from sqlalchemy import pool
from sqlalchemy.engine import Connection

from storage.engine import create_engine

__all__ = ["HEAD", "VERSION_TABLE", "current"]

#: The newest revision in storage/migrations/versions.
HEAD: Final = "0015_figure_summaries"
#: Where Alembic records the revision a database is at (its default name).
VERSION_TABLE: Final = "alembic_version"


def current(url: str) -> str | None:
    """The database's revision, or None for a database never migrated.

    A version table holding several revisions (branched migrations, which this project
    does not have) reads as them all, comma-separated: never :data:`HEAD`.
    """
    return asyncio.run(_current(url))


async def _current(url: str) -> str | None:
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            revisions = await connection.run_sync(_revisions)
    finally:
        await engine.dispose()
    return ", ".join(sorted(revisions)) or None


def _revisions(connection: Connection) -> list[str]:
    if not sa.inspect(connection).has_table(VERSION_TABLE):
        return []
    query = sa.select(sa.column("version_num", sa.String)).select_from(sa.table(VERSION_TABLE))
    return list(connection.execute(query).scalars())
