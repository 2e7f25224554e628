"""The running bot: updates in (long polling or a webhook), the outbox sender out.

Start-up checks what would otherwise fail later and less clearly: the schema is at the
latest revision, and the Bot API server accepts the token. It settles the home office
once, before the first update: its code from JURISDICTION_CODE and, until a group is
bound to it through a link, its group from ADMIN_CHAT_ID. Shutdown (SIGTERM, SIGINT)
stops taking updates, lets the ones in hand finish and commit, lets the sender finish
the sends in flight and record them, then closes the connections. A second signal
during shutdown exits at once; nothing is lost even then, since an unfinished update
is not confirmed and an unrecorded send is still pending.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal, cast
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.exceptions import (
    TelegramConflictError,
    TelegramNetworkError,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.fsm.storage.base import BaseEventIsolation
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.types import Update
from aiogram.utils.token import extract_bot_id
from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.delivery.holders import holder_prefix, replaced_pids
from bot.delivery.limits import Pacer
from bot.delivery.sender import OutboxSender
from bot.delivery.shared_limits import close_limiter, limiter_for
from bot.dispatcher import build_bot, build_dispatcher, policy_of
from bot.domain.errors import DomainError
from bot.effects import Speaker
from bot.i18n import build_i18n
from bot.runtime import metrics
from bot.runtime.clock import running_clock, scheduler_seconds
from bot.runtime.intake import Unreadable, read, read_all, update_id_of
from bot.runtime.polling import HasUpdateId, Poller
from bot.runtime.scheduler import Scheduler
from bot.runtime.status import Status, start_status_server
from bot.runtime.webhook import NotAnUpdate, webhook_app
from bot.runtime.workers import is_worker
from bot.services.context import Clock, system_clock
from bot.services.dead_letters import record_unreadable
from bot.services.offices import OfficeService
from bot.settings import Settings
from handlers.privacy import group_census
from storage.engine import create_engine, is_sqlite, pool_for, session_factory
from storage.store import Store

log = logging.getLogger(__name__)

Mode = Literal["polling", "webhook"]
# One update, handled to the end (committed, or its error answered).
HandleUpdate = Callable[[Update], Awaitable[None]]
# One update that could not be read, recorded and logged.
SetAside = Callable[[Unreadable], Awaitable[None]]

# Exit codes, as the CLI documents them.
OK, FAILED = 0, 1


@dataclass
class Parts:
    engine: AsyncEngine
    bot: Bot
    dp: Dispatcher
    sender: OutboxSender
    scheduler: Scheduler
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    limiter: Pacer


def build(settings: Settings) -> Parts:
    pool = {} if is_sqlite(settings.database_url) else pool_for(settings.workers)
    engine = create_engine(settings.database_url, **pool)
    sessions = session_factory(engine)
    i18n = build_i18n(settings.default_locale)
    clock = running_clock()
    token = settings.bot_token.get_secret_value() if settings.bot_token else ""
    limiter = limiter_for(settings, extract_bot_id(token) if token else 0)
    bot = build_bot(settings, limiter=limiter)
    dp = build_dispatcher(settings, sessions=sessions, i18n=i18n, clock=clock)
    policy = policy_of(settings)
    sender = OutboxSender(bot, sessions, settings=settings, i18n=i18n, policy=policy, clock=clock)
    census = group_census(bot, settings.admin_chat_id, dp["office_groups"])
    rounds = scheduler_seconds()
    timing: dict[str, Any] = (
        {}
        if rounds is None
        else {
            "interval": rounds,
            "ttl": timedelta(seconds=3 * rounds),
        }
    )
    scheduler = Scheduler(
        sessions, policy, clock=clock, on_queued=sender.kick, census=census, **timing
    )
    return Parts(engine, bot, dp, sender, scheduler, sessions, clock, limiter)


async def serve(settings: Settings, mode: Mode, stop: asyncio.Event | None = None) -> int:
    """Run until ``stop`` is set or a signal arrives; returns the exit code."""
    stop = stop or asyncio.Event()
    _on_signals(stop)
    parts = build(settings)
    try:
        if not await _settle_home(parts.sessions, settings):
            return FAILED
        if not await _ready(parts.bot, stop):
            # Stopped while starting (Ctrl-C before the first update) is a clean stop.
            return OK if stop.is_set() else FAILED
        return await _serve(parts, settings, mode, stop)
    finally:
        await parts.bot.session.close()
        with contextlib.suppress(Exception):
            await parts.dp["isolation"].close()
        await close_limiter(parts.limiter)
        await parts.engine.dispose()


async def _serve(parts: Parts, settings: Settings, mode: Mode, stop: asyncio.Event) -> int:
    bot, dp, sender = parts.bot, parts.dp, parts.sender
    allowed = dp.resolve_used_update_types()
    # Counted from the start, start-up's own sends among them; prometheus_client is
    # loaded only by a bot that serves /metrics.
    if mode == "webhook" or settings.status_port is not None:
        metrics.enable()
    dp.errors.outer_middleware(metrics.note_failures)
    # The lease is judged by the clock the scheduler writes it with.
    status = Status(parts.sessions, settings.redis_url, clock=parts.clock)
    try:
        await dp.emit_startup(bot=bot, dispatcher=dp, bots=[bot], **dp.workflow_data)
    except Exception as exc:
        # The command menu is a convenience; the bot works without it.
        log.warning("start-up hooks failed", extra={"error": f"{type(exc).__name__}: {exc}"})
    # Start-up objects live as long as the process: keep the collector off them.
    gc.collect()
    gc.freeze()
    # An update is confirmed at its commit; what it says goes on in the chats' queues,
    # so a chat that must wait for its turn holds up neither the poller nor anyone else.
    dp["transaction"].detach = True
    # The sender looks when an update queued something (and on its own, now and then).
    dp["transaction"].on_queued = sender.kick
    speaker: Speaker = dp["speaker"]
    await _free_what_the_dead_held(parts.sessions, parts.clock, dp["isolation"])
    sending = asyncio.create_task(sender.run(), name="outbox-sender")
    scheduling = asyncio.create_task(parts.scheduler.run(stop), name="scheduler")

    async def handle(update: Update) -> None:
        started = time.monotonic()
        with metrics.timing():
            response = await dp.feed_update(bot, update)
            if isinstance(response, TelegramMethod):
                await dp.silent_call_request(bot, response)
        log.debug(
            "update handled",
            extra={
                "update_id": update.update_id,
                "type": update.event_type,
                "ms": round((time.monotonic() - started) * 1000, 1),
            },
        )

    async def set_aside(letter: Unreadable) -> None:
        again = not await record_unreadable(
            parts.sessions, bot.id, letter.update_id, letter.kind, letter.error
        )
        if not again:
            metrics.dead_lettered()
        # The error's locations and types only: the update's content is someone's words.
        log.error(
            "dead-lettered update %s (%s): %s",
            letter.update_id,
            letter.kind,
            letter.error,
            extra={"update_id": letter.update_id, "type": letter.kind, "again": again},
        )

    code = OK
    try:
        if mode == "webhook":
            await _webhook(bot, settings, allowed, handle, set_aside, stop, status)
        else:
            runner = (
                await start_status_server(settings.webhook_host, settings.status_port, status)
                if settings.status_port is not None
                else None
            )
            try:
                code = await _polling(bot, allowed, handle, set_aside, stop)
            finally:
                if runner is not None:
                    await runner.cleanup()
    finally:
        # The scheduler watches ``stop`` too; a round under way finishes and commits.
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(scheduling, 20.0)
        if not await speaker.settle(timeout=15.0):
            log.warning("stopped with replies unsaid", extra={"unsaid": speaker.busy})
        log.info("stopping the outbox sender")
        await sender.stop()
        sending.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sending
        with contextlib.suppress(Exception):
            await dp.emit_shutdown(bot=bot, dispatcher=dp, bots=[bot], **dp.workflow_data)
    log.info("stopped")
    return code


async def _free_what_the_dead_held(
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock = system_clock,
    isolation: BaseEventIsolation | None = None,
) -> None:
    """A worker started in place of one that died frees the outbox rows, the
    scheduler's lease and the conversation locks the dead one held: its sends in flight
    go again now, and its chats' next updates are handled now, not when the leases and
    locks run out (bot.delivery.holders)."""
    for pid in replaced_pids():
        prefix = holder_prefix(pid)
        locks = 0
        try:
            async with sessions() as session, session.begin():
                store = Store(session)
                rows = await store.outbox.release_leases(prefix)
                leases = await store.leases.release_held_by(prefix, clock())
            free_locks = getattr(isolation, "free_held_by", None)
            if free_locks is not None:
                locks = await free_locks(prefix)
        except Exception as exc:
            log.warning("could not free what a dead worker held", extra={"error": repr(exc)})
            continue
        log.info(
            "freed what the worker before this one held",
            extra={"dead_pid": pid, "outbox_rows": rows, "leases": leases, "locks": locks},
        )


async def _settle_home(sessions: async_sessionmaker[AsyncSession], settings: Settings) -> bool:
    """The home office as the settings name it, in a transaction of its own."""
    try:
        async with sessions() as session, session.begin():
            offices = OfficeService(Store(session), policy_of(settings))
            home = await offices.settle_home(settings.jurisdiction_code, settings.admin_chat_id)
    except (DomainError, SQLAlchemyError, OSError) as exc:
        log.error(
            "could not settle the home office",
            extra={"error": " ".join(f"{type(exc).__name__}: {exc}".split())},
        )
        return False
    group = "bound" if home.bound else "unbound"
    log.info(
        "home office %s, its group %s",
        home.code,
        group,
        extra={"office": home.code, "group": group},
    )
    return True


async def _ready(bot: Bot, stop: asyncio.Event) -> bool:
    """Ask the Bot API who we are, waiting out a server that is not up yet."""
    delay = 1.0
    while not stop.is_set():
        try:
            # bot.me() remembers the answer: no update asks Telegram again.
            me = await bot.me()
        except TelegramUnauthorizedError:
            log.error("the Bot API server refused BOT_TOKEN (401 Unauthorized)")
            return False
        except (TelegramNetworkError, TelegramServerError) as exc:
            log.warning(
                "the Bot API server is not answering; retrying",
                extra={"error": f"{type(exc).__name__}: {exc}", "retry_in": delay},
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(delay * 2, 30.0)
            continue
        log.info("connected", extra={"bot_id": me.id, "username": me.username})
        return True
    return False


class RawUpdates(GetUpdates):
    """getUpdates with its answer left as JSON: each update is read on its own
    (bot.runtime.intake), so one that cannot be read fails only itself."""

    __returning__ = list[Any]


async def _polling(
    bot: Bot,
    allowed: list[str],
    handle: HandleUpdate,
    set_aside: SetAside,
    stop: asyncio.Event,
    poll_seconds: int = 30,
) -> int:
    """Polls until ``stop``; FAILED when another process polls with the same token."""
    # getUpdates is refused while a webhook is set; the pending updates are kept.
    await bot.delete_webhook(drop_pending_updates=False)
    request_timeout = int((bot.session.timeout or 60) + poll_seconds)
    conflict: list[str] = []

    async def fetch(offset: int | None, wait: int) -> Sequence[HasUpdateId]:
        method = RawUpdates(offset=offset, timeout=wait, allowed_updates=allowed)
        try:
            raws = cast(list[Any], await bot(method, request_timeout=request_timeout))
        except TelegramConflictError as exc:
            # Two pollers would take turns being cut off by Telegram, each handling
            # some of the updates: this one stops and says why, once.
            if not conflict:
                conflict.append(exc.message)
                log.error(
                    "another process is polling with this bot's token (Telegram: %s); "
                    "long polling serves from one process only: stop the other one, or "
                    "run webhook mode with WORKERS for several processes",
                    exc.message,
                )
                stop.set()
            raise
        return read_all(raws, bot)

    async def handle_any(update: HasUpdateId) -> None:
        if isinstance(update, Unreadable):
            await set_aside(update)
            return
        assert isinstance(update, Update)
        await handle(update)

    log.info("polling for updates", extra={"allowed_updates": ",".join(allowed)})
    poller = Poller(fetch, handle_any, timeout=poll_seconds)
    await poller.run(stop)
    log.info("polling stopped", extra={"handled": poller.handled})
    return FAILED if conflict else OK


async def _webhook(
    bot: Bot,
    settings: Settings,
    allowed: list[str],
    handle: HandleUpdate,
    set_aside: SetAside,
    stop: asyncio.Event,
    status: Status,
) -> None:
    url, secret = settings.webhook_url, settings.webhook_secret
    # The settings insist on both.
    assert url is not None
    assert secret is not None
    path = urlsplit(url).path or "/"

    async def handle_raw(raw: dict[str, Any]) -> None:
        if update_id_of(raw) is None:
            raise NotAnUpdate("update_id is not a 64-bit integer")
        update = read(raw, bot)
        # Answered 200 either way: Telegram would send an unreadable one again forever.
        if isinstance(update, Unreadable):
            await set_aside(update)
        else:
            await handle(update)

    runner = web.AppRunner(webhook_app(path, secret, handle_raw, status), shutdown_timeout=20.0)
    await runner.setup()
    # Workers share the port (bot.runtime.workers); a lone process keeps it to itself,
    # so that a second one started by mistake fails to bind instead of sharing quietly.
    site = web.TCPSite(
        runner, settings.webhook_host, settings.webhook_port, reuse_port=is_worker() or None
    )
    await site.start()
    try:
        # Telegram keeps what arrives while we restart; nothing pending is dropped.
        await bot.set_webhook(
            url, secret_token=secret, allowed_updates=allowed, drop_pending_updates=False
        )
        log.info(
            "webhook listening",
            extra={"listen": f"{settings.webhook_host}:{settings.webhook_port}", "path": path},
        )
        await stop.wait()
    finally:
        # Stops listening, then waits for the requests in hand (their updates commit).
        await runner.cleanup()


# A signal repeated within this many seconds is the same request arriving twice (a
# supervisor signalling the whole process group and the parent passing it on).
_SAME_REQUEST = 2.0


def _on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    first: list[float] = []

    def signalled(sig: signal.Signals) -> None:
        now = time.monotonic()
        if first and now - first[0] < _SAME_REQUEST:
            return
        if first:
            log.warning("second signal: exiting now", extra={"signal": sig.name})
            os._exit(FAILED)
        first.append(now)
        log.info("shutting down", extra={"signal": sig.name})
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, signalled, sig)
