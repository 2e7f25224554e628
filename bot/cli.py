"""The ``outpost`` command: ``outpost migrate``, ``outpost run``, ``outpost --version``.

Exit codes: 0 done; 1 the command failed (database unreachable, nothing to run);
2 bad usage or a missing or malformed setting (one line on stderr says which).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version

from alembic.util import CommandError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from bot.settings import Settings, SettingsError, load_settings

PROG = "outpost"

RUN_NOT_BUILT = (
    "outpost run: the runtime (polling, webhook, the outbox sender) is not built yet; "
    "the conversations are built and tested through the Dispatcher (see README). "
    "Nothing was started."
)

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


def _reason(exc: Exception) -> str:
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        # The driver's own words, without SQLAlchemy's statement and help link.
        exc = exc.orig
        text = f"{type(exc).__name__}: {exc}"
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def _migrate(args: argparse.Namespace) -> int:
    settings = _settings("migrate")
    if settings is None:
        return 2
    # Imported here: the migration machinery is only needed by this command.
    from storage import migrate

    url = settings.database_url
    where = masked_url(url)
    try:
        before = migrate.current(url)
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
    print(RUN_NOT_BUILT, file=sys.stderr)
    return 1


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

    run = commands.add_parser("run", help="start the bot")
    run.set_defaults(handler=_run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)
