"""The ``outpost`` command: ``migrate``, ``run``, ``webhook``, ``demo``, ``seed-demo``,
``export``, ``report``, ``offices``, ``figures``, ``backup``, ``restore``, ``sandbox``,
``--version``.

Exit codes: 0 done; 1 the command failed (database unreachable, nothing to run);
2 bad usage or a missing or malformed setting (one line on stderr says which).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from bot.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from bot.services.offices import NewOffice
    from storage.store import Store

T = TypeVar("T")

PROG = "outpost"

log = logging.getLogger(__name__)


def _version() -> str:
    try:
        return version("outpost")
    except PackageNotFoundError:
        return "unknown (not installed)"


def masked_url(url: str) -> str:
    """The URL with any password replaced by ``***``, fit for output and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def _settings(command: str) -> Settings | None:
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"{PROG} {command}: {exc}", file=sys.stderr)
        return None
    logging.getLogger().setLevel(settings.log_level)
    if settings.log_level != "DEBUG":
        # Alembic's INFO lines ("Context impl SQLiteImpl.", ...) repeat what the
        # command's own summary line says.
        logging.getLogger("alembic").setLevel(logging.WARNING)
    return settings


def _database_settings(command: str) -> Settings | None:
    """The settings, once DATABASE_URL names a database this process can write to."""
    settings = _settings(command)
    if settings is None:
        return None
    problem = _unwritable(settings.database_url)
    if problem is not None:
        print(f"{PROG} {command}: DATABASE_URL: {problem}", file=sys.stderr)
        return None
    return settings


def _sqlite_file(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    name = parsed.database
    if name.startswith("file:"):
        # A SQLite URI (with ?uri=true): the file is its path.
        name = urlsplit(name).path
    return Path(name).absolute()


def _unwritable(url: str) -> str | None:
    """Why SQLite could not write the database ``url`` names, in the operator's terms;
    None when it can (or the database is not a file here)."""
    path = _sqlite_file(url)
    if path is None:
        return None
    folder = path.parent
    if not folder.is_dir():
        return (
            f"there is no directory {folder} for the database file {path.name}: "
            "create it, or point DATABASE_URL at a file in an existing directory"
        )
    refused = _refused_writing(folder, path)
    if refused is not None:
        return (
            f"cannot write to {refused}: SQLite keeps the database file and its journal "
            "there; make it writable, or point DATABASE_URL at a writable directory"
        )
    return None


def _refused_writing(folder: Path, file: Path | None = None) -> str | None:
    """What refuses a new file in ``folder``, or changes to ``file`` in it: "the place
    (the system's reason)"; None when nothing does."""
    try:
        # SQLite writes its journal beside the file, so the directory must take new
        # files. Trying is the only honest test: a read-only mount, another user's
        # directory, a file system not even root may write to all answer differently.
        with tempfile.TemporaryFile(dir=folder):
            pass
        if file is not None and file.exists():
            with file.open("r+b"):
                pass
    except OSError as exc:
        where = file if file is not None and exc.filename == str(file) else folder
        return f"{where} ({exc.strerror or type(exc).__name__})"
    return None


def _reason(exc: Exception) -> str:
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        # The driver's own words, without SQLAlchemy's statement and help link.
        exc = exc.orig
        text = f"{type(exc).__name__}: {exc}"
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def _migrate(args: argparse.Namespace) -> int:
    settings = _database_settings("migrate")
    if settings is None:
        return 2
    # Imported here: the migration machinery (Alembic) is only needed by this command.
    from alembic.util import CommandError

    from storage import migrate, schema

    url = settings.database_url
    where = masked_url(url)
    try:
        before = migrate.current(url)
        if before is not None and not schema.is_known(before):
            # Alembic would say "Can't locate revision": it has no migration to go from.
            print(f"{PROG} migrate: {_newer_schema(where, before)}", file=sys.stderr)
            return 1
        migrate.upgrade(url)
        after = migrate.current(url)
    except (CommandError, SQLAlchemyError, OSError) as exc:
        # One line, as for settings; the password never appears in ``where``.
        print(f"{PROG} migrate: database at {where}: {_reason(exc)}", file=sys.stderr)
        return 1
    latest = migrate.head()
    state = f"{after} (head)" if after == latest else f"{after} (head is {latest})"
    if before == after:
        change = "already up to date"
    else:
        change = f"upgraded from {before or 'an empty database'}"
    print(f"database at {where} is at revision {state}; {change}")
    return 0 if after == latest else 1


def _run(args: argparse.Namespace) -> int:
    command: str = args.command
    settings = _database_settings(command)
    if settings is None:
        return 2
    if settings.bot_token is None:
        print(
            f"{PROG} {command}: BOT_TOKEN: must be set (a token from @BotFather)",
            file=sys.stderr,
        )
        return 2
    if command == "webhook" and settings.webhook_url is None:
        print(f"{PROG} {command}: WEBHOOK_URL: must be set for webhook mode", file=sys.stderr)
        return 2
    workers = args.workers or settings.workers
    refused = _workers_refused(workers, settings)
    if refused is not None:
        print(f"{PROG} {command}: WORKERS={workers} {refused}", file=sys.stderr)
        return 2
    if not _schema_is_current(command, settings.database_url):
        return 1
    from bot.logs import configure
    from bot.runtime import workers as supervisor

    configure(settings.log_level, settings.log_format)
    if workers > 1 and not supervisor.is_worker():
        log.info(
            "starting %s webhook workers on the database at %s",
            workers,
            masked_url(settings.database_url),
            extra={"mode": "webhook", "workers": workers},
        )
        return asyncio.run(supervisor.supervise(workers))
    # Imported here: the runtime pulls in the whole bot, which `migrate` does not need.
    from bot.runtime.app import serve

    mode: Literal["polling", "webhook"] = "webhook" if settings.webhook_url else "polling"
    # The first line: an operator with several databases sees which one this bot uses.
    log.info(
        "starting on the database at %s",
        masked_url(settings.database_url),
        extra={"mode": mode},
    )
    return asyncio.run(serve(settings, mode))


def _workers_refused(workers: int, settings: Settings) -> str | None:
    """Why ``workers`` processes cannot serve with ``settings``, or None."""
    if workers <= 1:
        return None
    if settings.webhook_url is None:
        return "needs webhook mode (WEBHOOK_URL): long polling serves from one process only"
    if settings.database_url.startswith("sqlite"):
        return "needs PostgreSQL (DATABASE_URL): a SQLite database serves one process"
    if settings.redis_url is None:
        return "needs REDIS_URL: the workers pace their sends to Telegram together through it"
    return None


def _workers(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 1 <= count <= 64:
        raise argparse.ArgumentTypeError("must be between 1 and 64")
    return count


def _schema_is_current(command: str, url: str) -> bool:
    # Not storage.migrate: Alembic would stay loaded in the running bot for nothing.
    from storage import schema

    where = masked_url(url)
    try:
        revision = schema.current(url)
    except (SQLAlchemyError, OSError) as exc:
        print(f"{PROG} {command}: database at {where}: {_reason(exc)}", file=sys.stderr)
        return False
    if revision is not None and not schema.is_known(revision):
        print(f"{PROG} {command}: {_newer_schema(where, revision)}", file=sys.stderr)
        return False
    if revision != schema.HEAD:
        print(
            f"{PROG} {command}: database at {where} is at revision "
            f"{revision or 'none (empty)'}, not {schema.HEAD}: run `{PROG} migrate` first",
            file=sys.stderr,
        )
        return False
    return True


def _newer_schema(where: str, revision: str) -> str:
    """Why a database migrated by a newer release is refused, and the ways out."""
    from storage import schema

    return (
        f"database at {where} is at revision {revision}, newer than this release knows "
        f"(its latest is {schema.HEAD}): run the release that migrated it, or restore a "
        "backup taken before the upgrade"
    )


def _demo(args: argparse.Namespace) -> int:
    # Imported here: the demo pulls in the sandbox and the whole bot.
    from bot.demo.run import DemoOptions, run_demo

    if not 0 <= args.port <= 65535:
        print(f"{PROG} demo: --port must be 0 to 65535, not {args.port}", file=sys.stderr)
        return 2
    # The demo keeps its own database but takes the rest of the environment's settings
    # (time zone, locale, log level), and whoever set DATABASE_URL may well think it is
    # the one the demo uses: a malformed setting stops it as it stops the bot.
    if _settings("demo") is None:
        return 2
    data_dir = Path(args.data_dir)
    problem = _unusable_data_dir(data_dir)
    if problem is not None:
        print(f"{PROG} demo: --data-dir: {problem}", file=sys.stderr)
        return 2
    options = DemoOptions(data_dir=data_dir, host=args.host, port=args.port, reset=args.reset)
    return run_demo(options)


def _unusable_data_dir(data_dir: Path) -> str | None:
    """Why the demo could not keep its database in ``data_dir`` (made if missing)."""
    folder = data_dir.absolute()
    if folder.exists() and not folder.is_dir():
        return f"{folder} is not a directory: choose another --data-dir"
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    if not existing.is_dir():
        return f"{existing} is not a directory: choose another --data-dir"
    refused = _refused_writing(existing)
    if refused is not None:
        return (
            f"cannot write to {refused}, where the demo keeps its database: "
            "choose a writable --data-dir"
        )
    return None


def _seed_demo(args: argparse.Namespace) -> int:
    settings = _database_settings("seed-demo")
    if settings is None:
        return 2
    if not _schema_is_current("seed-demo", settings.database_url):
        return 1
    from bot.demo.seed import SeedRefused, seed_district
    from bot.dispatcher import policy_of
    from storage.engine import create_engine, session_factory

    async def seed() -> list[str]:
        engine = create_engine(settings.database_url)
        try:
            seeded = await seed_district(session_factory(engine), policy=policy_of(settings))
        finally:
            await engine.dispose()
        return seeded.lines()

    where = masked_url(settings.database_url)
    try:
        lines = asyncio.run(seed())
    except SeedRefused as exc:
        print(f"{PROG} seed-demo: database at {where}: {exc}; nothing seeded", file=sys.stderr)
        return 1
    except (SQLAlchemyError, OSError) as exc:
        print(f"{PROG} seed-demo: database at {where}: {_reason(exc)}", file=sys.stderr)
        return 1
    # One line per office, the city first: "  FL 涪陵区, below CQ: 3 points, …".
    print(f"seeded the sample city into {where}:")
    for line in lines:
        print(f"  {line}")
    return 0


def _documents(args: argparse.Namespace) -> int:
    """``outpost export`` and ``outpost report``: the group's documents, on the server."""
    command: str = args.command
    settings = _current_settings(command)
    if isinstance(settings, int):
        return settings
    from bot.dispatcher import policy_of
    from bot.domain.errors import InvalidInput, NotFound
    from bot.domain.offices import HOME
    from bot.i18n import build_i18n
    from bot.services.actors import SYSTEM
    from bot.services.export import ExportService
    from bot.services.figures import FiguresService
    from handlers import documents
    from storage.scope import limit_to_office

    language = args.lang or settings.default_locale
    out = Path(args.out)
    if not out.parent.is_dir():
        print(f"{PROG} {command}: --out: no directory {out.parent}", file=sys.stderr)
        return 2
    policy = policy_of(settings)
    i18n = build_i18n(settings.default_locale)

    async def make(store: Store) -> str:
        # One office's documents, as its group's /export and /report give them.
        tree = await store.offices.tree()
        office = tree.by_code(args.office) if args.office else tree.get(HOME)
        if office is None:
            raise NotFound(f"no office {args.office!r}")
        if len(tree) > 1:
            limit_to_office(store.session, office.id)
        acting = policy
        if office.id != HOME:
            acting = replace(policy, jurisdiction=office.code, office_id=office.id)
        figures = FiguresService(store, acting)
        with i18n.context(), i18n.use_locale(language):
            if command == "export":
                period = figures.period(args.period)
                export = ExportService(store, acting)
                done = await documents.workbook(export, SYSTEM, period, acting, out)
                rows = ", ".join(f"{n} {name}" for name, n in done.rows.items())
                return f"{period.spec}: {rows}; {done.size:,} bytes"
            period = figures.period(str(args.year))
            shown = await figures.stats(SYSTEM, period)
            notable = await figures.notable(SYSTEM, period)
            data = await documents.annual_docx(shown, notable, acting, language)
            await asyncio.to_thread(out.write_bytes, data)
            return f"{period.spec}: {shown.total} items; {len(data):,} bytes"

    where = masked_url(settings.database_url)
    try:
        # A snapshot that never holds up a bot writing to the same database.
        summary = _in_transaction(settings.database_url, make, snapshot=True)
    except InvalidInput:
        shown = args.period if command == "export" else args.year
        print(
            f"{PROG} {command}: {shown!r} is not a period (2026, 2026-06, 2026-Q2, 30d)",
            file=sys.stderr,
        )
        return 2
    except NotFound as exc:
        print(f"{PROG} {command}: {exc}: `outpost offices` lists them", file=sys.stderr)
        return 2
    except (SQLAlchemyError, OSError) as exc:
        print(f"{PROG} {command}: database at {where}: {_reason(exc)}", file=sys.stderr)
        return 1
    print(f"wrote {out} from the database at {where}: {summary}")
    return 0


def _current_settings(command: str) -> Settings | int:
    """The settings of a command that reads the database, or its exit status: 2 for
    settings that cannot be read, 1 for a database not at the latest schema (both said)."""
    settings = _database_settings(command)
    if settings is None:
        return 2
    if not _schema_is_current(command, settings.database_url):
        return 1
    return settings


def _in_transaction(
    url: str, work: Callable[[Store], Awaitable[T]], *, snapshot: bool = False
) -> T:
    """``work`` done in one transaction of the database at ``url`` — a snapshot that
    never holds up a bot writing to it, if ``snapshot`` — and the engine let go after."""
    from storage.engine import create_engine, read_sessions, session_factory
    from storage.store import Store

    async def run() -> T:
        engine = create_engine(url)
        try:
            sessions = session_factory(engine)
            opened = read_sessions(sessions) if snapshot else sessions
            async with opened() as session, session.begin():
                return await work(Store(session))
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _figures(args: argparse.Namespace) -> int:
    """``outpost figures --rebuild``: the figures' summaries counted again from the
    items, and the items' local days worked out again by TIMEZONE."""
    command = "figures"
    if not args.rebuild:
        print(f"{PROG} {command}: say --rebuild to count the figures again", file=sys.stderr)
        return 2
    settings = _current_settings(command)
    if isinstance(settings, int):
        return settings
    from bot.dispatcher import policy_of
    from bot.services.figures import FiguresService

    policy = policy_of(settings)

    async def rebuild(store: Store) -> tuple[int, int]:
        return await FiguresService(store, policy).rebuild()

    where = masked_url(settings.database_url)
    started = time.perf_counter()
    try:
        items, corrected = _in_transaction(settings.database_url, rebuild)
    except (SQLAlchemyError, OSError) as exc:
        print(f"{PROG} {command}: database at {where}: {_reason(exc)}", file=sys.stderr)
        return 1
    print(
        f"FIGURES rebuilt from {items} items ({corrected} with their local days corrected, "
        f"TIMEZONE {policy.tz.key}) in {time.perf_counter() - started:.1f}s"
    )
    return 0


def _backup(args: argparse.Namespace) -> int:
    """``outpost backup --out FILE``: the database copied into FILE, safely while the
    bot runs (SQLite: its online backup API; PostgreSQL: pg_dump)."""
    command = "backup"
    # Not _database_settings: the database is only read.
    settings = _settings(command)
    if settings is None:
        return 2
    out = Path(args.out)
    if not out.parent.is_dir():
        print(f"{PROG} {command}: --out: no directory {out.parent}", file=sys.stderr)
        return 2
    from storage import backup

    url = settings.database_url
    try:
        made = asyncio.run(backup.backup(url, out, force=args.force))
    except backup.BackupError as exc:
        print(f"{PROG} {command}: {exc}", file=sys.stderr)
        return 1
    except (SQLAlchemyError, OSError) as exc:
        print(f"{PROG} {command}: database at {masked_url(url)}: {_reason(exc)}", file=sys.stderr)
        return 1
    print(
        f"BACKUP {made.kind} {out} {made.size} bytes revision {made.revision or 'none'} "
        f"outbox-pending {made.pending}"
    )
    return 0


def _restore(args: argparse.Namespace) -> int:
    """``outpost restore FILE``: a backup put into the database DATABASE_URL names, the
    bot stopped; its leases and claims let go, so that a bot started on it goes on at
    once from where the backup left off."""
    command = "restore"
    settings = _database_settings(command)
    if settings is None:
        return 2
    from storage import backup, schema

    url = settings.database_url
    where = masked_url(url)
    source = Path(args.file)
    try:
        done = asyncio.run(backup.restore(url, source, force=args.force))
    except backup.NewerRevision as exc:
        print(
            f"{PROG} {command}: the backup {source} is at revision {exc.revision}, newer "
            f"than this release knows (its latest is {schema.HEAD}): restore it with the "
            "release that took it; nothing was restored",
            file=sys.stderr,
        )
        return 1
    except backup.BackupError as exc:
        print(f"{PROG} {command}: {exc}", file=sys.stderr)
        return 1
    except (SQLAlchemyError, OSError) as exc:
        print(f"{PROG} {command}: database at {where}: {_reason(exc)}", file=sys.stderr)
        return 1
    line = (
        f"RESTORE {done.kind} {source} into {where} revision {done.revision or 'none'} "
        f"outbox-pending {done.pending} leases-released {done.leases} "
        f"claims-released {done.claims}"
    )
    if done.kept is not None:
        line += f"; the database it replaced is kept as {done.kept}"
    if done.revision != schema.HEAD:
        line += f"; run `{PROG} migrate` before `{PROG} run`"
    print(line)
    return 0


def _offices(args: argparse.Namespace) -> int:
    """``outpost offices``: the tree of offices; ``outpost offices add``: a new office,
    and the link that binds its group. Both first settle the home office from the
    settings (JURISDICTION_CODE, ADMIN_CHAT_ID), as ``outpost run`` does."""
    adding = args.action == "add"
    command = "offices add" if adding else "offices"
    if adding and (args.parent is None) == (args.above is None):
        print(
            f"{PROG} {command}: give --parent CODE (the office it goes below) or "
            "--above CODE (the office without a parent it goes above)",
            file=sys.stderr,
        )
        return 2
    from bot.domain.errors import Conflict, InvalidInput, MissingInput, NotFound
    from bot.domain.offices import office_code, tree_line

    if adding:
        try:
            office_code(args.code)
        except InvalidInput as exc:
            print(f"{PROG} {command}: {exc}", file=sys.stderr)
            return 2
    settings = _current_settings(command)
    if isinstance(settings, int):
        return settings
    from bot.dispatcher import policy_of
    from bot.services.offices import OfficeService

    policy = policy_of(settings)

    async def change(store: Store) -> tuple[list[str], NewOffice | None]:
        offices = OfficeService(store, policy)
        await offices.settle_home(settings.jurisdiction_code, settings.admin_chat_id)
        if not adding:
            return await offices.lines(), None
        tree = await offices.tree()
        parent = above = None
        if args.parent is not None:
            parent = tree.by_code(args.parent)
            if parent is None:
                raise NotFound(f"no office {args.parent!r} to go below")
        else:
            above = tree.by_code(args.above)
            if above is None:
                raise NotFound(f"no office {args.above!r} to go above")
        made = await offices.create(
            None, args.code, " ".join(args.name), parent=parent, above=above
        )
        tree = await offices.tree()
        line = tree_line(made.office, tree, points=0, observers=0, open_items=0)
        return [line], made

    where = masked_url(settings.database_url)
    try:
        lines, made = _in_transaction(settings.database_url, change)
    except (InvalidInput, MissingInput) as exc:
        print(f"{PROG} {command}: {exc}; nothing changed", file=sys.stderr)
        return 2
    except (Conflict, NotFound) as exc:
        print(f"{PROG} {command}: {exc}; nothing changed", file=sys.stderr)
        return 1
    except (SQLAlchemyError, OSError) as exc:
        print(f"{PROG} {command}: database at {where}: {_reason(exc)}", file=sys.stderr)
        return 1
    for line in lines:
        print(line)
    if made is None:
        return 0
    username, unknown = asyncio.run(_bot_username(settings))
    if unknown is not None:
        print(
            f"{PROG} {command}: {unknown}: put your bot's username in the link",
            file=sys.stderr,
        )
    print(f"LINK https://t.me/{username or '<your bot>'}?startgroup={made.bind_code}")
    until = made.expires_at.astimezone(policy.tz)
    print(
        f"VALID until {until:%Y-%m-%d %H:%M} {policy.tz.key}: the first group added "
        f"through the link becomes office {made.office.code}'s"
    )
    return 0


async def _bot_username(settings: Settings) -> tuple[str | None, str | None]:
    """The bot's username (getMe), or why it is unknown."""
    if settings.bot_token is None:
        return None, "the bot's username is unknown without BOT_TOKEN"
    from aiogram.exceptions import TelegramAPIError

    from bot.dispatcher import build_bot

    bot = build_bot(settings)
    try:
        me = await bot.get_me(request_timeout=20)
    except (TelegramAPIError, OSError, TimeoutError) as exc:
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())
        return None, f"could not ask the Bot API server for the bot's username ({reason})"
    finally:
        await bot.session.close()
    if not me.username:
        return None, "the Bot API server names no username for the bot"
    return me.username, None


def _sandbox(argv: Sequence[str]) -> int:
    # The sandbox imports nothing of ours; we only lend it our command name.
    from sandbox.cli import main as sandbox_main

    return sandbox_main(list(argv))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="The Outpost Telegram bot. Configuration comes from the "
        "environment or a .env file (see README).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    migrate = commands.add_parser(
        "migrate",
        help="bring the database named by DATABASE_URL to the latest schema",
        description="Bring the database named by DATABASE_URL to the latest schema. "
        "Running it again when already up to date changes nothing.",
    )
    migrate.set_defaults(handler=_migrate)

    run = commands.add_parser(
        "run",
        help="start the bot: long polling, or a webhook when WEBHOOK_URL is set",
        description="Start the bot and its outbox sender. Long polling by default; "
        "webhook mode when WEBHOOK_URL is set. TELEGRAM_API_URL points it at another "
        "Bot API server. SIGTERM or Ctrl-C stops it cleanly.",
    )
    run.add_argument(
        "--workers",
        type=_workers,
        default=None,
        metavar="N",
        help="webhook mode as N worker processes on WEBHOOK_PORT (default: WORKERS, or 1)",
    )
    run.set_defaults(handler=_run, command="run")
    webhook = commands.add_parser(
        "webhook",
        help="start the bot in webhook mode (needs WEBHOOK_URL and WEBHOOK_SECRET)",
        description="Register WEBHOOK_URL with Telegram and serve it on "
        "WEBHOOK_HOST:WEBHOOK_PORT; requests without WEBHOOK_SECRET are refused.",
    )
    webhook.add_argument(
        "--workers",
        type=_workers,
        default=None,
        metavar="N",
        help="N worker processes on WEBHOOK_PORT (default: WORKERS, or 1)",
    )
    webhook.set_defaults(handler=_run, command="webhook")
    demo = commands.add_parser(
        "demo",
        help="the offline demo: the sandbox, the bot and a sample city, in a browser",
        description="Start the sandbox (a stand-in for Telegram, with a chat page) and "
        "the bot against it, on a SQLite file in --data-dir, seeded once with a sample "
        "district. Needs no token and no network. Ctrl-C stops it.",
    )
    demo.add_argument("--reset", action="store_true", help="start over with a fresh district")
    demo.add_argument("--host", default="127.0.0.1", help="address for the chat page")
    demo.add_argument("--port", type=int, default=8081, help="port for the chat page (0: any)")
    demo.add_argument(
        "--data-dir", default="demo-data", help="where the database and the chats are kept"
    )
    demo.set_defaults(handler=_demo)
    seed_demo = commands.add_parser(
        "seed-demo",
        help="fill the (migrated, empty) database named by DATABASE_URL with the sample "
        "city and its districts, for trying reports and exports",
        description="Seed the database named by DATABASE_URL, already migrated and "
        "holding no points or observers, with the demo's sample city: the city office and "
        "three districts with their points, departments, observers, an application and "
        "items with their history. Its "
        "notices count as sent: a bot started on it later does not write to these "
        "made-up people.",
    )
    seed_demo.set_defaults(handler=_seed_demo)
    export = commands.add_parser(
        "export",
        help="write a period's items, events, observers, points, departments and ratings "
        "to an Excel workbook (what /export sends in the group)",
        description="Write the workbook /export sends in the admin group, for the database "
        "DATABASE_URL names, without Telegram's 50 MB limit.",
    )
    export.add_argument(
        "--period", default="", help="2026, 2026-06, 2026-Q2 or 30d (default: this year)"
    )
    export.add_argument("--out", required=True, help="the .xlsx file to write")
    export.add_argument("--lang", choices=["zh_CN", "en"], help="default: DEFAULT_LOCALE")
    export.add_argument("--office", help="the office's code (default: the home office)")
    export.set_defaults(handler=_documents, command="export")
    report = commands.add_parser(
        "report",
        help="write the year's section on the observation scheme for the work report (Word)",
        description="Write the Word document /report YEAR docx sends in the admin group.",
    )
    report.add_argument("--year", type=int, required=True, help="e.g. 2026")
    report.add_argument("--out", required=True, help="the .docx file to write")
    report.add_argument("--lang", choices=["zh_CN", "en"], help="default: DEFAULT_LOCALE")
    report.add_argument("--office", help="the office's code (default: the home office)")
    report.set_defaults(handler=_documents, command="report")
    offices = commands.add_parser(
        "offices",
        usage=f"{PROG} offices [-h] [add CODE NAME... (--parent CODE | --above CODE)]",
        help="list the offices (the city, its districts), or add one with `offices add`",
        description="List the offices of the database DATABASE_URL names, one line each, "
        "every office above the offices below it: its code, the office above it, whether "
        "a group is bound to it, its active points, appointed observers and open items. "
        "The home office takes its code from JURISDICTION_CODE and, until a group is "
        "bound to it through a link, its group from ADMIN_CHAT_ID.",
    )
    offices.set_defaults(handler=_offices, action=None)
    actions = offices.add_subparsers(title="actions", metavar="ACTION", dest="action")
    add = actions.add_parser(
        "add",
        help="create an office and print the link that binds its group",
        description="Create an office below another (--parent: a district below its "
        "city) or above an office that has none (--above: a city created over the "
        "district that served alone, which keeps its references and history). Prints "
        "the office's line and a one-time link: an administrator of the office's group "
        "adds the bot to it through the link, and the group becomes the office's.",
    )
    add.add_argument(
        "code", metavar="CODE", help="2-6 Latin letters; starts its references (CQ-2026-0007)"
    )
    add.add_argument(
        "name",
        metavar="NAME",
        nargs="+",
        help='its name: 涪陵区, or "涪陵区 | Fuling" with its English name',
    )
    placed = add.add_mutually_exclusive_group()
    placed.add_argument("--parent", metavar="CODE", help="the office it goes below")
    placed.add_argument(
        "--above", metavar="CODE", help="the office without a parent that it goes above"
    )
    figures = commands.add_parser(
        "figures",
        help="count the figures' summaries again from the items (--rebuild)",
        description="The database keeps summaries of the items that /stats and /report "
        "read. --rebuild counts them again from the items and works out again each "
        "item's local days of filing and decision in TIMEZONE: after TIMEZONE changed, "
        "or after items were changed by hand. Safe while the bot runs.",
    )
    figures.add_argument("--rebuild", action="store_true", help="count them again")
    figures.set_defaults(handler=_figures)
    backup = commands.add_parser(
        "backup",
        help="copy the database into a file, safely while the bot runs",
        description="Copy the database DATABASE_URL names into FILE, safely while the bot "
        "runs: SQLite with its online backup API, PostgreSQL with pg_dump (its custom "
        "format; PostgreSQL's client tools must be installed). FILE appears only when the "
        "copy is complete. The copy goes on where the running bot was: a bot started on it "
        "(after `outpost restore`) runs the reminders and sends the waiting notices at "
        "once, without waiting for the running processes' leases to run out.",
    )
    backup.add_argument("--out", required=True, metavar="FILE", help="the file to write")
    backup.add_argument("--force", action="store_true", help="replace FILE if it exists")
    backup.set_defaults(handler=_backup)
    restore = commands.add_parser(
        "restore",
        help="put a backup into the database DATABASE_URL names (stop the bot first)",
        description="Put FILE, written by `outpost backup`, into the database "
        "DATABASE_URL names: SQLite through its backup API, PostgreSQL with pg_restore "
        "(--clean --if-exists --no-owner, in one transaction). Stop the bot first. A "
        "database already there is refused unless --force; SQLite keeps the one replaced "
        "as <name>.before-restore. A backup of a newer release's schema is refused.",
    )
    restore.add_argument("file", metavar="FILE", help="a file `outpost backup` wrote")
    restore.add_argument("--force", action="store_true", help="replace the database already there")
    restore.set_defaults(handler=_restore)
    commands.add_parser(
        "sandbox",
        help="start the local stand-in for the Telegram Bot API (see sandbox/README.md)",
        add_help=False,
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    given = list(sys.argv[1:] if argv is None else argv)
    if given[:1] == ["sandbox"]:
        return _sandbox(given[1:])
    args = _parser().parse_args(given)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)
