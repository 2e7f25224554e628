"""Is the database at the latest schema? Asked at every start, without Alembic.

``outpost run`` and the commands that read the database refuse one that is not at the
latest migration. Alembic would answer, but loading it costs the running bot some 10 MB
it never needs again; the answer is one row of Alembic's version table, read here with
plain SQL. The revisions this release knows are :data:`REVISIONS`, oldest first, kept
equal to the migrations' by tests (tests/storage/test_migrations.py,
tests/runtime/test_cli_backup.py): a new migration must be added to it. A revision not
among them was written by a newer release, which the bot must not run on (nor migrate
"down" to what it knows). Migrating is ``storage.migrate``'s.

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

__all__ = ["HEAD", "REVISIONS", "VERSION_TABLE", "current", "is_known", "revision_of"]

#: The revisions in storage/migrations/versions, oldest first.
REVISIONS: Final = (
    "0001",
    "0002",
    "0003",
    "0004",
    "0005",
    "0006",
    "0007",
    "0008",
    "0009",
    "0010_languages",
    "0011_point_requests",
    "0012_offices",
    "0013_reported_above",
    "0014_rectifications",
    "0015_figure_summaries",
)
#: The newest of them.
HEAD: Final = REVISIONS[-1]
#: Where Alembic records the revision a database is at (its default name).
VERSION_TABLE: Final = "alembic_version"


def is_known(revision: str) -> bool:
    """Whether this release has the migration ``revision`` (several revisions,
    comma-separated as :func:`current` gives them, are not one it has)."""
    return revision in REVISIONS


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
            return await connection.run_sync(revision_of)
    finally:
        await engine.dispose()


def revision_of(connection: Connection) -> str | None:
    """:func:`current`, on a connection already open."""
    if not sa.inspect(connection).has_table(VERSION_TABLE):
        return None
    query = sa.select(sa.column("version_num", sa.String)).select_from(sa.table(VERSION_TABLE))
    return ", ".join(sorted(connection.execute(query).scalars())) or None
