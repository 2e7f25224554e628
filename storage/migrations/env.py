"""Alembic environment for Outpost: async engines, SQLite and PostgreSQL alike.

The database URL is ``sqlalchemy.url`` when the configuration sets it (as
``storage.migrate`` does), otherwise ``DATABASE_URL`` through the bot's settings
(as when a developer runs ``.venv/bin/alembic`` from the repository root).

Engines come from ``storage.engine.create_engine`` so SQLite gets the same pragmas
as the bot and every transaction starts with ``BEGIN IMMEDIATE``. Alembic begins its
transactions through SQLAlchemy, which fires that hook exactly once per
transaction; the driver itself never emits a BEGIN (its isolation level is None),
so there is no nesting.

On SQLite, foreign keys are switched off for the run and checked at the end:
"batch" migrations rebuild a table by copying it, dropping the original and
renaming the copy, which enforced foreign keys would refuse (see "Dealing with
Referencing Foreign Keys" in Alembic's batch documentation). The pragma is a no-op
inside a transaction, so it is set on the driver connection before Alembic begins,
and ``PRAGMA foreign_key_check`` runs at the end of each migration's transaction.

This runs its own event loop (``asyncio.run``), so Alembic commands must not be
called from a thread that is already running one; see ``storage.migrate``.
"""

from __future__ import annotations

import asyncio
from logging.config import fileConfig
from typing import Any, Literal

import sqlalchemy as sa
from alembic import context
from alembic.autogenerate.api import AutogenContext
from alembic.util import CommandError
from sqlalchemy import pool
from sqlalchemy.engine import Connection

from storage.engine import create_engine, is_sqlite
from storage.models import Base

config = context.config
target_metadata = Base.metadata

# Only the alembic command line has an ini file; programmatic runs (the CLI, the
# tests) leave logging to the caller.
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def database_url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from bot.settings import SettingsError, load_settings

    try:
        return load_settings().database_url
    except SettingsError as exc:
        # Alembic's command line prints a CommandError as one "FAILED:" line.
        raise CommandError(str(exc)) from None


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Render the project's column types as plain SQLAlchemy ones.

    Migrations must not import the project, and these types differ from their
    database-level types only in Python-side conversion.
    """
    if type_ != "type":
        return False
    if isinstance(obj, sa.Enum) and not obj.native_enum and not obj.create_constraint:
        # storage.types.enum_column: a VARCHAR without a CHECK constraint.
        return f"sa.String(length={obj.length})"
    if isinstance(obj, sa.TypeDecorator):
        impl = obj.impl_instance
        if type(impl).__module__.startswith("sqlalchemy.sql."):
            # e.g. storage.types.UTCDateTime -> sa.DateTime()
            return f"sa.{impl!r}"
    return False


def _configure(**kwargs: Any) -> None:
    context.configure(
        target_metadata=target_metadata,
        compare_type=True,
        render_item=render_item,
        **kwargs,
    )


def run_migrations_offline() -> None:
    """Emit SQL to standard output instead of connecting (``alembic upgrade --sql``)."""
    url = database_url()
    _configure(
        url=url,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=is_sqlite(url),
    )
    with context.begin_transaction():
        context.run_migrations()


def _sqlite_foreign_keys(connection: Connection, enabled: bool) -> None:
    # Straight to the driver: going through SQLAlchemy would begin a transaction
    # first, and SQLite ignores this pragma inside one.
    cursor = connection.connection.cursor()
    try:
        cursor.execute(f"PRAGMA foreign_keys={'ON' if enabled else 'OFF'}")
    finally:
        cursor.close()


def _check_sqlite_foreign_keys(connection: Connection) -> None:
    problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if problems:
        # Raised inside the migration's transaction, which is rolled back.
        shown = ", ".join(f"{row[0]} rowid {row[1]} -> {row[2]}" for row in problems[:5])
        raise CommandError(f"migration left {len(problems)} broken foreign key(s): {shown}")


def do_run_migrations(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        if connection.in_transaction():
            raise CommandError("SQLite migrations need a connection outside a transaction")
        _sqlite_foreign_keys(connection, enabled=False)
    try:
        # Called inside each migration's transaction, after it has run.
        checks = [lambda **_: _check_sqlite_foreign_keys(connection)] if sqlite else []
        _configure(connection=connection, render_as_batch=sqlite, on_version_apply=checks)
        with context.begin_transaction():
            context.run_migrations()
        # Alembic leaves SQLite's reads (and a version table created by a run with
        # nothing to apply) in an autobegun transaction; finish it.
        if connection.in_transaction():
            connection.commit()
    finally:
        if sqlite:
            if connection.in_transaction():
                connection.rollback()
            _sqlite_foreign_keys(connection, enabled=True)


async def run_async_migrations() -> None:
    engine = create_engine(database_url(), poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    asyncio.run(run_async_migrations())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
