"""A copy of the database in a file, and the database put back from one: ``outpost
backup`` and ``outpost restore``.

SQLite is copied with its online backup API, which reads one consistent snapshot while
the bot goes on writing (WAL: the copy never holds the bot up), into a file beside the
one asked for and renamed onto it when complete. PostgreSQL is copied by ``pg_dump``
(its custom format) and put back by ``pg_restore``, as PostgreSQL documents; the
password goes to them in ``PGPASSWORD``, never on a command line.

A copy taken while the bot runs holds the bot's claims of that moment: the
``scheduler`` lease (``leases``) and the outbox rows a sender was sending
(``claimed_by``, ``claimed_until``). Left in, a bot started on the copy would wait for
them to run out (three and five minutes) before it ran the reminders or sent those
rows again. The processes that held them are not running on the copy, so they are let
go: in the SQLite copy itself, and in every restored database.

The functions here run their own event loop's work (``asyncio.run`` them from plain
code); the SQLite copying is done in a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import sqlalchemy as sa
from sqlalchemy import pool
from sqlalchemy.engine import Connection, make_url

from storage import schema
from storage.engine import create_engine

__all__ = [
    "BackupError",
    "Copied",
    "NewerRevision",
    "Restored",
    "backup",
    "restore",
]

Kind = Literal["sqlite", "postgresql"]

# What a file starts with: SQLite's header, and pg_dump's custom format.
_SQLITE_MAGIC: Final = b"SQLite format 3\x00"
_PGDUMP_MAGIC: Final = b"PGDMP"
# libpq's names for what asyncpg calls ``ssl`` in a URL's query.
_SSL_MODES: Final = frozenset({"disable", "allow", "prefer", "require", "verify-ca", "verify-full"})


class BackupError(Exception):
    """The backup or restore was refused or failed; the message, one line, says why
    in the operator's terms."""


class NewerRevision(BackupError):
    """The backup was taken of a database migrated by a newer release."""

    def __init__(self, source: Path, revision: str) -> None:
        super().__init__(f"{source} is at revision {revision}")
        self.source = source
        self.revision = revision


@dataclass(frozen=True)
class Copied:
    """What a backup (or a restored database) holds."""

    kind: Kind
    #: The backup file.
    path: Path
    size: int
    #: The schema's revision; None for a database never migrated.
    revision: str | None
    #: Outbox rows waiting to be sent.
    pending: int
    #: Leases let go (the scheduler's), and outbox rows whose sender's claim was dropped.
    leases: int
    claims: int


@dataclass(frozen=True)
class Restored(Copied):
    #: Where the database that was replaced is kept (SQLite, with ``force``).
    kept: Path | None = None


# -- both databases ---------------------------------------------------------------------


def _release(connection: Connection) -> tuple[int, int]:
    """Let go of every lease and outbox claim: (leases, claimed rows). Plain SQL over
    what the schema has, so a copy of an older revision is let go of as well."""
    inspector = sa.inspect(connection)
    leases = claims = 0
    if inspector.has_table("leases"):
        leases = connection.execute(sa.text("DELETE FROM leases")).rowcount
    if inspector.has_table("outbox") and "claimed_by" in {
        column["name"] for column in inspector.get_columns("outbox")
    }:
        claims = connection.execute(
            sa.text(
                "UPDATE outbox SET claimed_by = NULL, claimed_until = NULL "
                "WHERE claimed_by IS NOT NULL OR claimed_until IS NOT NULL"
            )
        ).rowcount
    return leases, claims


def _state(connection: Connection) -> tuple[str | None, int]:
    """The revision and the number of pending outbox rows."""
    revision = schema.revision_of(connection)
    pending = 0
    if sa.inspect(connection).has_table("outbox"):
        pending = connection.execute(
            sa.text("SELECT count(*) FROM outbox WHERE state = 'pending'")
        ).scalar_one()
    return revision, int(pending)


def _refuse_newer(source: Path, revision: str | None) -> None:
    if revision is not None and not schema.is_known(revision):
        raise NewerRevision(source, revision)


def _refuse_existing(out: Path, force: bool) -> None:
    if not force and (out.exists() or out.is_symlink()):
        raise BackupError(f"{out} exists: say --force to replace it")


def _beside(path: Path) -> Path:
    """A new empty file in ``path``'s directory: renaming it onto ``path`` is atomic,
    so ``path`` is never seen half-written."""
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    os.close(handle)
    return Path(name)


def _remove(path: Path) -> None:
    for name in (path, *(path.with_name(path.name + end) for end in ("-journal", "-wal", "-shm"))):
        name.unlink(missing_ok=True)


def _size(path: Path) -> int:
    return path.stat().st_size


def _magic(path: Path) -> bytes:
    try:
        with path.open("rb") as file:
            return file.read(len(_SQLITE_MAGIC))
    except FileNotFoundError:
        raise BackupError(f"no file {path}") from None
    except IsADirectoryError:
        raise BackupError(f"{path} is a directory, not a backup") from None


async def backup(url: str, out: Path, *, force: bool = False) -> Copied:
    """Copy the database at ``url`` into ``out`` (refused if it exists, unless
    ``force``), safely while the bot runs."""
    _refuse_existing(out, force)
    path = _sqlite_path(url)
    if path is not None:
        return await asyncio.to_thread(_sqlite_backup, path, out, force)
    return await _pg_backup(url, out, force)


async def restore(url: str, source: Path, *, force: bool = False) -> Restored:
    """Put the backup ``source`` into the database at ``url``: a database already there
    is refused unless ``force`` (SQLite keeps it as ``<name>.before-restore``). The bot
    must be stopped. Leases and claims are let go in the database restored."""
    path = _sqlite_path(url)
    magic = _magic(source)
    if path is not None:
        if magic.startswith(_PGDUMP_MAGIC):
            raise BackupError(
                f"{source} is a PostgreSQL backup (pg_dump), and DATABASE_URL names a "
                "SQLite file: restore it into a PostgreSQL database"
            )
        return await asyncio.to_thread(_sqlite_restore, source, path, force)
    if magic == _SQLITE_MAGIC:
        raise BackupError(
            f"{source} is a SQLite backup, and DATABASE_URL names a PostgreSQL database: "
            "restore it into a SQLite file"
        )
    return await _pg_restore(url, source, force)


# -- SQLite -----------------------------------------------------------------------------


def _sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    name = parsed.database or ""
    if name.startswith("file:"):
        # A SQLite URI (with ?uri=true): the file is its path.
        name = name[len("file:") :].split("?", 1)[0]
    if name in ("", ":memory:"):
        raise BackupError("DATABASE_URL names an in-memory SQLite database: nothing to copy")
    return Path(name).absolute()


def _connect(
    path: Path, *, mode: Literal["ro", "rw"], autocommit: bool = True
) -> sqlite3.Connection:
    # A URI, so that a file that is not there is an error, never a new empty database;
    # as_uri() escapes what a URI would misread (?, #, %).
    return sqlite3.connect(
        f"{path.absolute().as_uri()}?mode={mode}",
        uri=True,
        timeout=30,
        # None: no transaction of the driver's around the backup API's own.
        isolation_level=None if autocommit else "DEFERRED",
    )


@contextlib.contextmanager
def _transaction(path: Path) -> Iterator[Connection]:
    """One transaction on the SQLite file ``path`` through SQLAlchemy, for the plain SQL
    the two databases share."""

    def connect() -> sqlite3.Connection:
        return _connect(path, mode="rw", autocommit=False)

    engine = sa.create_engine("sqlite://", creator=connect, poolclass=pool.NullPool)
    try:
        with engine.begin() as connection:
            yield connection
    finally:
        engine.dispose()


def _copy(source: sqlite3.Connection, target: sqlite3.Connection) -> None:
    # All pages in one step: one read transaction, one snapshot of the source, however
    # much the bot writes meanwhile (copied step by step, a write would restart it).
    source.backup(target)


def _sqlite_error(path: Path, exc: sqlite3.Error) -> BackupError:
    return BackupError(f"{path}: {' '.join(str(exc).split()) or type(exc).__name__}")


def _sqlite_backup(database: Path, out: Path, force: bool) -> Copied:
    if not database.is_file():
        raise BackupError(f"no database file {database}")
    partial = _beside(out)
    try:
        try:
            with (
                contextlib.closing(_connect(database, mode="ro")) as source,
                contextlib.closing(_connect(partial, mode="rw")) as copy,
            ):
                _copy(source, copy)
        except sqlite3.Error as exc:
            raise _sqlite_error(database, exc) from None
        with _transaction(partial) as connection:
            leases, claims = _release(connection)
            revision, pending = _state(connection)
        with contextlib.closing(_connect(partial, mode="rw")) as copy:
            # One self-contained file, no -wal beside it (the bot turns WAL on again).
            copy.execute("PRAGMA journal_mode=DELETE")
        _refuse_existing(out, force)
        partial.replace(out)
    except BaseException:
        _remove(partial)
        raise
    return Copied("sqlite", out, out.stat().st_size, revision, pending, leases, claims)


def _sqlite_restore(source: Path, target: Path, force: bool) -> Restored:
    exists = target.exists()
    if exists and not force:
        raise BackupError(
            f"DATABASE_URL's file {target} exists: say --force to replace it "
            f"(it is kept as {target.name}.before-restore)"
        )
    for end in ("-wal", "-journal"):
        stray = target.with_name(target.name + end)
        if not exists and stray.exists():
            # SQLite would play it into the restored file as if it were that file's.
            raise BackupError(
                f"{stray} is left from a database file that is gone: move it away first"
            )
    kept = target.with_name(target.name + ".before-restore") if exists else None
    if kept is not None and kept.exists():
        raise BackupError(f"{kept} is there from an earlier restore: move it away first")
    partial = _beside(target)
    try:
        try:
            with (
                contextlib.closing(_connect(source, mode="ro")) as backup_file,
                contextlib.closing(_connect(partial, mode="rw")) as copy,
            ):
                _copy(backup_file, copy)
        except sqlite3.Error as exc:
            if getattr(exc, "sqlite_errorname", None) == "SQLITE_NOTADB":
                raise BackupError(f"{source} is not a SQLite backup ({exc})") from None
            raise _sqlite_error(source, exc) from None
        with _transaction(partial) as connection:
            _refuse_newer(source, schema.revision_of(connection))
            leases, claims = _release(connection)
            revision, pending = _state(connection)
        if kept is None:
            partial.replace(target)
        else:
            _replace_keeping(partial, target, kept)
    finally:
        _remove(partial)
    return Restored(
        "sqlite", source, source.stat().st_size, revision, pending, leases, claims, kept
    )


def _replace_keeping(restored: Path, target: Path, kept: Path) -> None:
    """Put ``restored`` into ``target``, ``target`` kept as ``kept`` first. Both through
    the backup API, not renames: ``target`` may have a -wal beside it (a bot killed) that
    holds part of it, and would be played into a file renamed in its place."""
    keeping = _beside(kept)
    try:
        with (
            contextlib.closing(_connect(target, mode="rw")) as old,
            contextlib.closing(_connect(keeping, mode="rw")) as copy,
        ):
            _copy(old, copy)
            copy.execute("PRAGMA journal_mode=DELETE")
        keeping.replace(kept)
    except sqlite3.Error as exc:
        _remove(keeping)
        raise _sqlite_error(target, exc) from None
    except BaseException:
        _remove(keeping)
        raise
    try:
        with (
            contextlib.closing(_connect(restored, mode="ro")) as new,
            contextlib.closing(_connect(target, mode="rw")) as live,
        ):
            # Written in one transaction of the target's: all of it, or (a crash) none.
            _copy(new, live)
    except sqlite3.Error as exc:
        raise _sqlite_error(target, exc) from None


# -- PostgreSQL -------------------------------------------------------------------------


def _pg_env(url: str) -> dict[str, str]:
    """libpq's environment for the database at ``url``: the client tools connect where
    the bot does, and the password stays off their command lines."""
    parsed = make_url(url)
    env = {
        "PGHOST": parsed.host,
        "PGPORT": str(parsed.port) if parsed.port else None,
        "PGUSER": parsed.username,
        "PGPASSWORD": parsed.password,
        "PGDATABASE": parsed.database,
    }
    query = {
        key: value if isinstance(value, str) else value[-1] for key, value in parsed.query.items()
    }
    if "host" in query:
        env["PGHOST"] = query["host"]  # a Unix socket's directory
    ssl = query.get("sslmode") or query.get("ssl")
    if ssl in _SSL_MODES:
        env["PGSSLMODE"] = ssl
    return {key: str(value) for key, value in env.items() if value}


def _pg_command(tool: str, url: str, *args: str) -> str:
    """The command an operator can run by hand: where to connect, never the password."""
    env = _pg_env(url)
    where = [
        f"--{option}={env[name]}"
        for option, name in (("host", "PGHOST"), ("port", "PGPORT"), ("username", "PGUSER"))
        if name in env
    ]
    return shlex.join([tool, *args, *where, f"--dbname={env.get('PGDATABASE', '')}"])


def _tool(name: str, url: str, *args: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} is not installed here: install PostgreSQL's client tools of the "
            f"server's version or newer (Debian: apt-get install postgresql-client), or run "
            f"where they are: `{_pg_command(name, url, *args)}` (the password from "
            "PGPASSWORD or ~/.pgpass)"
        )
    return found


async def _run(url: str, *argv: str) -> str:
    """Run a client tool against the database at ``url``; its standard output."""
    process = await asyncio.create_subprocess_exec(
        *argv,
        env={**os.environ, **_pg_env(url)},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        said = [line.strip() for line in err.decode(errors="replace").splitlines()]
        name = Path(argv[0]).name
        last = next((line for line in reversed(said) if line), "no message")
        raise BackupError(
            f"{name} failed (exit {process.returncode}): {last.removeprefix(f'{name}: ')}"
        )
    return out.decode(errors="replace")


async def _pg_backup(url: str, out: Path, force: bool) -> Copied:
    pg_dump = _tool("pg_dump", url, "--format=custom", f"--file={out}")
    engine = create_engine(url, poolclass=pool.NullPool)
    partial = _beside(out)
    try:
        async with engine.connect() as connection:
            snapshot_reads = await connection.execution_options(isolation_level="REPEATABLE READ")
            async with snapshot_reads.begin():
                # The transaction's snapshot, handed to pg_dump: the revision and the
                # pending rows said are those of the dump.
                snapshot = (
                    await snapshot_reads.execute(sa.text("SELECT pg_export_snapshot()"))
                ).scalar_one()
                revision, pending = await snapshot_reads.run_sync(_state)
                await _run(
                    url,
                    pg_dump,
                    "--format=custom",
                    f"--file={partial}",
                    f"--snapshot={snapshot}",
                    "--no-password",
                )
        _refuse_existing(out, force)
        partial.replace(out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        await engine.dispose()
    # The leases and claims are in the dump as they were: pg_restore cannot be told to
    # leave them out, so `outpost restore` lets them go.
    return Copied("postgresql", out, _size(out), revision, pending, 0, 0)


async def _archive_revision(pg_restore: str, url: str, source: Path) -> str | None:
    """The revision in a pg_dump archive, read without restoring anything."""
    listed = await _run(
        url, pg_restore, "--data-only", f"--table={schema.VERSION_TABLE}", "--file=-", str(source)
    )
    revisions: list[str] = []
    copying = False
    for line in listed.splitlines():
        if line.startswith("COPY ") and schema.VERSION_TABLE in line:
            copying = True
        elif copying and line == "\\.":
            copying = False
        elif copying and line:
            revisions.append(line)
    return ", ".join(sorted(revisions)) or None


def _tables(connection: Connection) -> list[str]:
    return list(sa.inspect(connection).get_table_names())


async def _pg_restore(url: str, source: Path, force: bool) -> Restored:
    args = ("--clean", "--if-exists", "--no-owner")
    pg_restore = _tool("pg_restore", url, *args, str(source))
    _refuse_newer(source, await _archive_revision(pg_restore, url, source))
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            tables = await connection.run_sync(_tables)
        if tables and not force:
            where = make_url(url).render_as_string(hide_password=True)
            raise BackupError(
                f"the database at {where} already holds {len(tables)} tables: say --force "
                "to replace them (take `outpost backup` of it first if it may be needed)"
            )
        await _run(
            url,
            pg_restore,
            *args,
            # All of it or nothing: a restore that fails half-way leaves the database
            # as it was, not half-replaced.
            "--single-transaction",
            "--exit-on-error",
            "--no-password",
            f"--dbname={make_url(url).database or ''}",
            str(source),
        )
        async with engine.begin() as connection:
            leases, claims = await connection.run_sync(_release)
            revision, pending = await connection.run_sync(_state)
    finally:
        await engine.dispose()
    return Restored("postgresql", source, _size(source), revision, pending, leases, claims)
