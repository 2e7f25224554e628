"""`outpost backup` and `outpost restore`, on SQLite and PostgreSQL: a copy taken
mid-run, put back, holds no lease or claim of the processes that ran; files already
there are refused; and a schema newer than this release knows stops `run`, `migrate`
and `restore` in one line. The commands run in-process (``bot.cli.main``); the one that
must find no pg_dump runs as the operator runs it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shutil
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from bot import cli
from bot.settings import Settings
from storage import migrate, schema
from storage.engine import create_engine, session_factory
from storage.models import Lease, OutboxMessage, utcnow
from tests.conftest import PostgresServer
from tests.runtime.test_cli_offices import Ran
from tests.storage.test_migrations import run_cli

TOKEN = "123456:" + "A" * 35
GONE = "gone-host:4242:deadbeef"  # a process that ran on the database and is no more
FUTURE = "9001_from_a_newer_release"
BACKUP = re.compile(
    r"^BACKUP (sqlite|postgresql) (\S+) (\d+) bytes revision (\S+) outbox-pending (\d+)$"
)


def test_the_known_revisions_are_alembics() -> None:
    # `outpost run` tells an older schema from a newer one by storage.schema's list.
    script = ScriptDirectory.from_config(migrate.make_config())
    walked = [revision.revision for revision in script.walk_revisions()]
    assert list(schema.REVISIONS) == walked[::-1], (
        "a new migration: add it to storage/schema.py's REVISIONS"
    )


# -- the database in the middle of a run ------------------------------------------------


async def _mid_run(url: str) -> None:
    """What a running bot leaves: the scheduler's lease, a row being sent (claimed), a
    row waiting behind it, a row sent."""
    engine = create_engine(url)
    now = utcnow()
    try:
        async with session_factory(engine)() as session, session.begin():
            session.add(Lease(name="scheduler", holder=GONE, expires_at=now + timedelta(minutes=3)))
            session.add_all(
                [
                    OutboxMessage(
                        audience="person",
                        chat_id=7001,
                        kind="broadcast",
                        claimed_by=GONE,
                        claimed_until=now + timedelta(minutes=5),
                    ),
                    OutboxMessage(audience="person", chat_id=7001, kind="broadcast"),
                    OutboxMessage(audience="person", chat_id=7002, kind="broadcast", state="sent"),
                ]
            )
    finally:
        await engine.dispose()


def _held(url: str) -> tuple[list[str], list[str], int]:
    """The lease holders, the outbox's claimants and the pending rows."""

    async def read() -> tuple[list[str], list[str], int]:
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                leases = await connection.execute(sa.text("SELECT holder FROM leases"))
                claims = await connection.execute(
                    sa.text("SELECT claimed_by FROM outbox WHERE claimed_until IS NOT NULL")
                )
                pending = await connection.execute(
                    sa.text("SELECT count(*) FROM outbox WHERE state = 'pending'")
                )
                return (
                    list(leases.scalars()),
                    [str(c) for c in claims.scalars()],
                    int(pending.scalar_one()),
                )
        finally:
            await engine.dispose()

    return asyncio.run(read())


def _stamp(url: str, revision: str) -> None:
    """The version table as a newer release's migration would leave it."""

    async def write() -> None:
        engine = create_engine(url)
        try:
            async with engine.begin() as connection:
                await connection.execute(
                    sa.text("UPDATE alembic_version SET version_num = :r"), {"r": revision}
                )
        finally:
            await engine.dispose()

    asyncio.run(write())


def _sqlite(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def _newer(command: str, where: str) -> str:
    return (
        f"outpost {command}: database at {where} is at revision {FUTURE}, newer than this "
        f"release knows (its latest is {schema.HEAD}): run the release that migrated it, "
        "or restore a backup taken before the upgrade\n"
    )


Outpost = Callable[..., Ran]


@pytest.fixture
def outpost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Outpost]:
    """``outpost(url, *argv)``: the command on the database ``url``, with nothing else of
    the developer's settings (the working directory, where a .env is read, is the
    test's)."""
    names = {name.upper() for name in Settings.model_fields}
    for name in list(os.environ):
        if name.upper() in names or name == "OUTPOST_GUARD_CALLS":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    # The command sets these loggers' levels from LOG_LEVEL: put them back afterwards.
    root, alembic = logging.getLogger(), logging.getLogger("alembic")
    levels = root.level, alembic.level

    def run(url: str, *argv: str) -> Ran:
        monkeypatch.setenv("DATABASE_URL", url)
        capsys.readouterr()
        code = cli.main(list(argv))
        done = capsys.readouterr()
        return Ran(code, done.out.splitlines(), done.err)

    yield run
    root.setLevel(levels[0])
    alembic.setLevel(levels[1])


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file at the latest schema, migrated once: each test copies it."""
    path = tmp_path_factory.mktemp("template") / "o.db"
    migrate.upgrade(_sqlite(path))
    return path


@pytest.fixture
def db(template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "o.db"
    shutil.copyfile(template, path)
    return path


# -- SQLite -----------------------------------------------------------------------------


def test_a_backup_taken_mid_run_restores_ready_to_go_on(
    outpost: Outpost, db: Path, tmp_path: Path
) -> None:
    asyncio.run(_mid_run(_sqlite(db)))
    ran = outpost(_sqlite(db), "backup", "--out", "copy.db")
    assert ran.code == 0, ran.err
    [line] = ran.out
    found = BACKUP.match(line)
    assert found is not None, line
    kind, file, size, revision, pending = found.groups()
    copy = tmp_path / "copy.db"
    assert (kind, file, revision, pending) == ("sqlite", "copy.db", schema.HEAD, "2")
    assert int(size) == copy.stat().st_size
    # The copy lets the gone processes' lease and claim go; the live database keeps them
    # (its bot is still running), and nothing half-made is left beside the copy.
    assert _held(_sqlite(copy)) == ([], [], 2)
    assert _held(_sqlite(db)) == ([GONE], [GONE], 2)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("copy")) == ["copy.db"]
    # People's words and numbers: the copy is for its owner's eyes.
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600

    fresh = tmp_path / "restored" / "outpost.db"
    fresh.parent.mkdir()
    ran = outpost(_sqlite(fresh), "restore", "copy.db")
    assert ran.code == 0, ran.err
    assert ran.out == [
        f"RESTORE sqlite copy.db into {_sqlite(fresh)} revision {schema.HEAD} "
        "outbox-pending 2 leases-released 0 claims-released 0"
    ]
    assert _held(_sqlite(fresh)) == ([], [], 2)
    assert schema.current(_sqlite(fresh)) == schema.HEAD
    # A bot started on it finds the schema it knows.
    assert cli._schema_is_current("run", _sqlite(fresh))


def test_a_restore_lets_go_of_what_the_backup_holds(
    outpost: Outpost, db: Path, tmp_path: Path
) -> None:
    # A copy made otherwise (the file copied with the bot stopped, or killed): the
    # restore lets go all the same.
    asyncio.run(_mid_run(_sqlite(db)))
    with (
        contextlib.closing(sqlite3.connect(db)) as source,
        contextlib.closing(sqlite3.connect(tmp_path / "raw.db")) as copy,
    ):
        source.backup(copy)
    fresh = tmp_path / "fresh.db"
    ran = outpost(_sqlite(fresh), "restore", "raw.db")
    assert ran.code == 0, ran.err
    assert ran.out[0].endswith("outbox-pending 2 leases-released 1 claims-released 1")
    assert _held(_sqlite(fresh)) == ([], [], 2)


def test_a_backup_while_the_bot_writes(outpost: Outpost, db: Path, tmp_path: Path) -> None:
    stop = threading.Event()
    written = [0]

    def write() -> None:
        with contextlib.closing(sqlite3.connect(db, timeout=30)) as live:
            while not stop.is_set():
                written[0] += 1
                live.execute(
                    "INSERT INTO processed_updates (bot_id, update_id, processed_at) "
                    "VALUES (1, ?, '2026-03-02 01:00:00.000000')",
                    (written[0],),
                )
                live.commit()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        while written[0] < 50:
            time.sleep(0.01)
        ran = outpost(_sqlite(db), "backup", "--out", "busy.db")
    finally:
        stop.set()
        writer.join()
    assert ran.code == 0, ran.err
    with contextlib.closing(sqlite3.connect(tmp_path / "busy.db")) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        (copied,) = copy.execute("SELECT count(*) FROM processed_updates").fetchone()
        # A snapshot: every update written before it, in order, none after.
        ids = [i for (i,) in copy.execute("SELECT update_id FROM processed_updates")]
    assert copied >= 50
    assert sorted(ids) == list(range(1, copied + 1))


def test_a_backup_never_replaces_a_file_unasked(outpost: Outpost, db: Path, tmp_path: Path) -> None:
    kept = tmp_path / "kept.db"
    kept.write_bytes(b"last week's backup")
    ran = outpost(_sqlite(db), "backup", "--out", "kept.db")
    assert (ran.code, ran.out) == (1, [])
    assert ran.err == "outpost backup: kept.db exists: say --force to replace it\n"
    assert kept.read_bytes() == b"last week's backup"
    ran = outpost(_sqlite(db), "backup", "--out", "kept.db", "--force")
    assert ran.code == 0, ran.err
    assert kept.read_bytes().startswith(b"SQLite format 3\x00")
    ran = outpost(_sqlite(db), "backup", "--out", "nowhere/copy.db")
    assert (ran.code, ran.err) == (2, "outpost backup: --out: no directory nowhere\n")
    assert not any(p.name.endswith(".partial") for p in tmp_path.iterdir())


def test_a_restore_never_replaces_a_database_unasked(
    outpost: Outpost, db: Path, tmp_path: Path
) -> None:
    assert outpost(_sqlite(db), "backup", "--out", "copy.db").code == 0
    asyncio.run(_mid_run(_sqlite(db)))  # the database goes on after the backup
    ran = outpost(_sqlite(db), "restore", "copy.db")
    assert (ran.code, ran.out) == (1, [])
    assert ran.err == (
        f"outpost restore: DATABASE_URL's file {db} exists: say --force to replace it "
        "(it is kept as o.db.before-restore)\n"
    )
    assert _held(_sqlite(db)) == ([GONE], [GONE], 2)

    ran = outpost(_sqlite(db), "restore", "copy.db", "--force")
    assert ran.code == 0, ran.err
    kept = tmp_path / "o.db.before-restore"
    assert ran.out[0].endswith(f"; the database it replaced is kept as {kept}")
    assert _held(_sqlite(db)) == ([], [], 0)
    # What was replaced is whole, as it was.
    assert _held(_sqlite(kept)) == ([GONE], [GONE], 2)

    ran = outpost(_sqlite(db), "restore", "copy.db", "--force")
    assert (ran.code, ran.out) == (1, [])
    assert ran.err == (
        f"outpost restore: {kept} is there from an earlier restore: move it away first\n"
    )


def test_a_restore_of_what_is_not_a_backup(outpost: Outpost, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a database at all, but long enough to read")
    fresh = tmp_path / "fresh.db"
    ran = outpost(_sqlite(fresh), "restore", "notes.txt")
    assert ran.code == 1
    assert ran.err.startswith("outpost restore: notes.txt is not a SQLite backup (")
    assert ran.err.count("\n") == 1
    ran = outpost(_sqlite(fresh), "restore", "missing.db")
    assert (ran.code, ran.err) == (1, "outpost restore: no file missing.db\n")
    assert not fresh.exists()


def test_a_backup_of_an_older_schema_says_to_migrate(
    outpost: Outpost, db: Path, tmp_path: Path
) -> None:
    migrate.downgrade(_sqlite(db), "-1")
    assert outpost(_sqlite(db), "backup", "--out", "old.db").code == 0
    fresh = tmp_path / "fresh.db"
    ran = outpost(_sqlite(fresh), "restore", "old.db")
    assert ran.code == 0, ran.err
    assert ran.out[0].endswith(
        f"revision {schema.REVISIONS[-2]} outbox-pending 0 leases-released 0 "
        "claims-released 0; run `outpost migrate` before `outpost run`"
    )


# -- a schema newer than this release --------------------------------------------------


def test_a_backup_of_a_newer_schema_is_not_restored(
    outpost: Outpost, db: Path, tmp_path: Path
) -> None:
    _stamp(_sqlite(db), FUTURE)
    ran = outpost(_sqlite(db), "backup", "--out", "new.db")
    assert ran.code == 0, ran.err
    assert f" revision {FUTURE} " in ran.out[0]
    fresh = tmp_path / "fresh.db"
    ran = outpost(_sqlite(fresh), "restore", "new.db")
    assert (ran.code, ran.out) == (1, [])
    assert ran.err == (
        f"outpost restore: the backup new.db is at revision {FUTURE}, newer than this "
        f"release knows (its latest is {schema.HEAD}): restore it with the release that "
        "took it; nothing was restored\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("fresh")) == []


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def migrated(request: pytest.FixtureRequest) -> str:
    """A database at the latest schema: its own SQLite file, or a fresh PostgreSQL one."""
    if request.param == "sqlite":
        return _sqlite(request.getfixturevalue("db"))
    server: PostgresServer = request.getfixturevalue("postgres")
    url = server.new_database()
    migrate.upgrade(url)
    return url


def test_run_and_migrate_refuse_a_newer_schema(
    outpost: Outpost, migrated: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _stamp(migrated, FUTURE)
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    for command in ("run", "migrate"):
        ran = outpost(migrated, command)
        assert (ran.code, ran.out) == (1, [])
        assert ran.err == _newer(command, cli.masked_url(migrated))
    # Not touched: the newer release finds its database as it left it.
    assert schema.current(migrated) == FUTURE


def test_an_older_schema_still_says_to_migrate(
    outpost: Outpost, migrated: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    migrate.downgrade(migrated, "-1")
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    ran = outpost(migrated, "run")
    assert ran.code == 1
    assert ran.err == (
        f"outpost run: database at {cli.masked_url(migrated)} is at revision "
        f"{schema.REVISIONS[-2]}, not {schema.HEAD}: run `outpost migrate` first\n"
    )


# -- PostgreSQL -------------------------------------------------------------------------


@pytest.fixture
def pg_pair(postgres: PostgresServer) -> tuple[str, str]:
    """A migrated database in the middle of a run, and an empty one to restore into."""
    source, target = postgres.new_database(), postgres.new_database()
    migrate.upgrade(source)
    asyncio.run(_mid_run(source))
    return source, target


@pytest.mark.postgres
def test_postgresql_backup_and_restore(
    outpost: Outpost, pg_pair: tuple[str, str], tmp_path: Path
) -> None:
    source, target = pg_pair
    ran = outpost(source, "backup", "--out", "pg.dump")
    assert ran.code == 0, ran.err
    [line] = ran.out
    found = BACKUP.match(line)
    assert found is not None, line
    assert found.groups() == (
        "postgresql",
        "pg.dump",
        str((tmp_path / "pg.dump").stat().st_size),
        schema.HEAD,
        "2",
    )
    assert (tmp_path / "pg.dump").read_bytes().startswith(b"PGDMP")
    # pg_dump copies what is there; the restore lets it go.
    assert _held(source) == ([GONE], [GONE], 2)

    ran = outpost(target, "restore", "pg.dump")
    assert ran.code == 0, ran.err
    assert ran.out == [
        f"RESTORE postgresql pg.dump into {cli.masked_url(target)} revision {schema.HEAD} "
        "outbox-pending 2 leases-released 1 claims-released 1"
    ]
    assert _held(target) == ([], [], 2)
    assert schema.current(target) == schema.HEAD

    # A database that holds tables is not replaced unasked; asked, it is.
    ran = outpost(target, "restore", "pg.dump")
    assert (ran.code, ran.out) == (1, [])
    assert ran.err.startswith(f"outpost restore: the database at {cli.masked_url(target)} ")
    assert ran.err.endswith("tables: say --force to replace them (take `outpost backup` "
                            "of it first if it may be needed)\n")  # fmt: skip
    asyncio.run(_mid_run(target))
    ran = outpost(target, "restore", "pg.dump", "--force")
    assert ran.code == 0, ran.err
    assert _held(target) == ([], [], 2)

    # The backup file is not replaced unasked either.
    ran = outpost(source, "backup", "--out", "pg.dump")
    assert (ran.code, ran.err) == (1, "outpost backup: pg.dump exists: say --force to replace it\n")


@pytest.mark.postgres
def test_a_newer_postgresql_backup_is_not_restored(
    outpost: Outpost, pg_pair: tuple[str, str]
) -> None:
    source, target = pg_pair
    _stamp(source, FUTURE)
    assert outpost(source, "backup", "--out", "new.dump").code == 0
    ran = outpost(target, "restore", "new.dump")
    assert (ran.code, ran.out) == (1, [])
    assert f"the backup new.dump is at revision {FUTURE}, newer than this release" in ran.err
    assert schema.current(target) is None


@pytest.fixture
def fake_tools(tmp_path: Path) -> Path:
    """A pg_dump that writes down how it was called, where PATH finds it first."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tool = bin_dir / "pg_dump"
    tool.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$@" > "{tmp_path}/argv"\n'
        f'printf "%s" "$PGPASSWORD" > "{tmp_path}/password"\n'
        'for a in "$@"; do case "$a" in --file=*) printf PGDMP > "${a#--file=}";; esac; done\n'
    )
    tool.chmod(0o755)
    return bin_dir


@pytest.mark.postgres
def test_the_password_goes_to_pg_dump_in_its_environment(
    outpost: Outpost,
    pg_pair: tuple[str, str],
    fake_tools: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source, _ = pg_pair
    secret = "n0t-on-the-command-line"
    # The server trusts the machine: the password is carried, not checked.
    with_password = source.replace("postgres@", f"postgres:{secret}@")
    monkeypatch.setenv("PATH", f"{fake_tools}{os.pathsep}{os.environ['PATH']}")
    ran = outpost(with_password, "backup", "--out", "pg.dump")
    assert ran.code == 0, ran.err
    argv = (tmp_path / "argv").read_text().splitlines()
    assert argv[0] == "--format=custom"
    assert argv[1].startswith(f"--file={tmp_path}/.pg.dump.")
    assert any(a.startswith("--snapshot=") for a in argv)
    assert not any(secret in a for a in argv)
    assert (tmp_path / "password").read_text() == secret
    assert secret not in " ".join(ran.out) + ran.err


@pytest.mark.postgres
def test_without_pg_dump_it_says_what_to_run(pg_pair: tuple[str, str], tmp_path: Path) -> None:
    source, _ = pg_pair
    with_password = source.replace("postgres@", "postgres:s3cret@")
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_cli(
        "backup", "--out", "pg.dump", cwd=tmp_path, DATABASE_URL=with_password, PATH=str(empty)
    )
    assert (result.returncode, result.stdout) == (1, "")
    database = source.rsplit("/", 1)[1]
    assert result.stderr == (
        "outpost backup: pg_dump is not installed here: install PostgreSQL's client tools "
        "of the server's version or newer (Debian: apt-get install postgresql-client), or "
        "run where they are: `pg_dump --format=custom --file=pg.dump --host=127.0.0.1 "
        f"--port=5432 --username=postgres --dbname={database}` (the password from "
        "PGPASSWORD or ~/.pgpass)\n"
    )
    assert not (tmp_path / "pg.dump").exists()
