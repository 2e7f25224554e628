"""``outpost demo``: the sandbox and the bot in one process, on a SQLite file under
``./demo-data/``, with the sample city (a city's office above three districts, the
sample district the home office) seeded once.

The sandbox plays Telegram and serves the chat page where a person plays every user;
the bot is the real one (`bot.runtime.app.serve`), long polling the sandbox. The
terminal gets one line with the page's address; the logs go to ``demo.log`` beside the
database, since the person at the terminal is watching the browser.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bot.demo.city import OFFICES, PEOPLE
from bot.demo.district import ADMIN_GROUP_ID, Person
from bot.demo.seed import AlreadySeeded, Seeded, SeedRefused, seed_district
from bot.settings import Settings, SettingsError, load_settings
from sandbox.server import Sandbox, SandboxConfig

log = logging.getLogger(__name__)

# The digits before the colon are the bot's user id, as with a real token.
DEMO_TOKEN = "7000000001:OfflineDemoTokenForTheSandbox_0000"
BOT_USERNAME = "outpost_bot"
DATABASE = "outpost.db"
SANDBOX_STATE = "sandbox.json"
LOG_FILE = "demo.log"
OK, FAILED, USAGE = 0, 1, 2


@dataclass(frozen=True)
class DemoOptions:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8081
    reset: bool = False


def database_url(data_dir: Path) -> str:
    return f"sqlite+aiosqlite:///{(data_dir / DATABASE).resolve()}"


def demo_settings(data_dir: Path, api_url: str) -> Settings:
    """The environment's settings (time zone, locale, …) with what the demo must own."""
    return load_settings(
        bot_token=DEMO_TOKEN,
        database_url=database_url(data_dir),
        telegram_api_url=api_url,
        admin_chat_id=ADMIN_GROUP_ID,
        admin_ids=[],
        webhook_url=None,
        webhook_secret=None,
        redis_url=None,
        log_format="text",
    )


def forget(data_dir: Path) -> None:
    """``--reset``: the database, the sandbox's chats and the log go; the folder stays."""
    for name in (DATABASE, f"{DATABASE}-wal", f"{DATABASE}-shm", SANDBOX_STATE, LOG_FILE):
        (data_dir / name).unlink(missing_ok=True)


def run_demo(options: DemoOptions) -> int:
    data_dir = options.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    if options.reset:
        forget(data_dir)
    try:
        settings = demo_settings(data_dir, f"http://{options.host}:{options.port}")
    except SettingsError as exc:
        print(f"outpost demo: {exc}", file=sys.stderr)
        return USAGE
    from bot.logs import configure
    from storage import migrate

    log_path = data_dir / LOG_FILE
    with log_path.open("a", encoding="utf-8") as log_stream:
        configure(settings.log_level, "text", log_stream)
        try:
            migrate.upgrade(settings.database_url)
        except Exception as exc:
            print(f"outpost demo: cannot prepare {data_dir / DATABASE}: {exc}", file=sys.stderr)
            return FAILED
        return asyncio.run(_demo(options, settings, log_path))


async def _demo(options: DemoOptions, settings: Settings, log_path: Path) -> int:
    from bot.runtime.app import serve

    stop = asyncio.Event()
    _stop_on_signals(stop)
    try:
        seeded = await _seed_once(settings)
    except SeedRefused as exc:
        print(f"outpost demo: cannot seed the sample city: {exc}", file=sys.stderr)
        return FAILED
    if seeded is not None:
        # A new city: chats kept from an earlier one would show people who no longer
        # exist and cards for other items.
        (options.data_dir / SANDBOX_STATE).unlink(missing_ok=True)
        log.info("seeded the sample city: %s", "; ".join(seeded.lines()))
    config = SandboxConfig(
        host=options.host,
        port=options.port,
        bot_username=BOT_USERNAME,
        bot_first_name="法治观测点",
        bot_id=int(DEMO_TOKEN.split(":", 1)[0]),
        state_file=str(options.data_dir / SANDBOX_STATE),
    )
    try:
        sandbox = Sandbox(config)
        await sandbox.start()
    except OSError as exc:
        print(
            f"outpost demo: cannot listen on {options.host}:{options.port}: {exc.strerror or exc}"
            " (another demo running? try --port)",
            file=sys.stderr,
        )
        return FAILED
    try:
        await cast(sandbox.url)
        settings = settings.model_copy(update={"telegram_api_url": sandbox.url})
        print(
            f"Outpost demo: open {sandbox.url}/ in a browser (Ctrl-C stops it; "
            f"database: {options.data_dir / DATABASE}; log: {log_path})",
            flush=True,
        )
        code = await serve(settings, "polling", stop)
    finally:
        await sandbox.close()
    if code != OK:
        print(f"outpost demo: the bot stopped with an error; see {log_path}", file=sys.stderr)
    else:
        print("Outpost demo stopped.", flush=True)
    return code


def _stop_on_signals(stop: asyncio.Event) -> None:
    # Until the bot runs and installs its own (which also set ``stop``).
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)


async def _seed_once(settings: Settings) -> Seeded | None:
    from bot.dispatcher import policy_of
    from storage.engine import create_engine, session_factory

    engine = create_engine(settings.database_url)
    try:
        return await seed_district(
            session_factory(engine),
            policy=policy_of(settings),
            replay=True,
            home_group=settings.admin_chat_id,
        )
    except AlreadySeeded:
        return None
    finally:
        await engine.dispose()


def _about(person: Person) -> str:
    zh = (person.language_code or "").lower().startswith("zh")
    return person.about_zh if zh else person.about_en


async def cast(url: str) -> None:
    """Make the city's people and every office's group known to the sandbox (each
    group with its admins as its creator and administrators); those it already knows
    (kept from an earlier run) stay as they are."""
    async with aiohttp.ClientSession(base_url=url) as http:
        have = {user["id"] for user in (await _get(http, "/sandbox/users"))["users"]}
        for person in PEOPLE:
            if person.user_id in have:
                continue
            body: dict[str, Any] = {
                "id": person.user_id,
                "first_name": person.first_name,
                "language_code": person.language_code,
                "about": _about(person),
            }
            if person.last_name:
                body["last_name"] = person.last_name
            await _post(http, "/sandbox/users", body)
        chats = {chat["id"] for chat in (await _get(http, "/sandbox/chats"))["chats"]}
        for office in OFFICES:
            if office.group_id in chats:
                continue
            members = [
                {"user_id": user_id, "status": status}
                for user_id, status in office.group_members().items()
            ]
            await _post(
                http,
                "/sandbox/chats",
                {
                    "id": office.group_id,
                    "type": "supergroup",
                    "title": office.group_title,
                    "members": members,
                },
            )


async def _get(http: aiohttp.ClientSession, path: str) -> Any:
    async with http.get(path) as response:
        response.raise_for_status()
        return await response.json()


async def _post(http: aiohttp.ClientSession, path: str, body: Any) -> Any:
    async with http.post(path, json=body) as response:
        if response.status >= 400:
            raise RuntimeError(f"sandbox refused {path}: {await response.text()}")
        return await response.json()
