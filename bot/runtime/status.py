"""``/healthz`` and ``/metrics``: on the webhook's port beside the webhook, or on
STATUS_PORT for a polling bot (:func:`start_status_server`).

``/healthz`` answers 200 when the database answers ``SELECT 1`` and, with REDIS_URL
set, Redis answers PING, each within a short timeout; else 503. Its body says which,
who holds the scheduler's lease and which worker answered (the workers share a port,
and each answers for itself). ``/metrics`` is :func:`bot.runtime.metrics.render` with
the database's figures read at that moment.

Both only read, in read-only sessions (on SQLite a snapshot: never the writer's lock,
never waiting for it). Neither says anything of the settings: an error is reported by
its type alone, since a driver's message may carry a host, a user or a statement.
Neither asks for credentials, so neither port should be reachable from outside: the
reverse proxy in front forwards the webhook's path only.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import TYPE_CHECKING, Final, TypedDict

import sqlalchemy as sa
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.runtime import metrics
from bot.runtime.scheduler import LEASE
from bot.services.context import Clock, system_clock
from bot.services.dead_letters import count_unreadable
from storage.engine import read_sessions
from storage.store import Store

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

# A health check that waits longer than its prober tells nobody anything.
CHECK_SECONDS: Final = 2.0
# A scrape's reads: Prometheus' own timeout is 10 s by default.
FIGURES_SECONDS: Final = 5.0


class Health(TypedDict):
    ok: bool
    database: str
    redis: str
    lease_holder: str | None
    worker: int


class Status:
    """What /healthz and /metrics read: the database and, when set, Redis."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        redis_url: str | None,
        *,
        clock: Clock = system_clock,
        check_seconds: float = CHECK_SECONDS,
        figures_seconds: float = FIGURES_SECONDS,
    ) -> None:
        self._reads = read_sessions(sessions)
        self._redis_url = redis_url
        # The bot's own clock: the lease's expiry was written by it.
        self._clock = clock
        self._redis: Redis | None = None
        self._check_seconds = check_seconds
        self._figures_seconds = figures_seconds

    async def health(self) -> Health:
        (database, holder), redis = await asyncio.gather(self._database(), self._ping_redis())
        return {
            "ok": database == "ok" and redis in ("ok", "off"),
            "database": database,
            "redis": redis,
            "lease_holder": holder,
            "worker": os.getpid(),
        }

    async def figures(self) -> metrics.Figures:
        """The database's figures for a scrape; raises when it does not answer in time."""
        async with asyncio.timeout(self._figures_seconds):
            now = self._clock()
            async with self._reads() as session, session.begin():
                store = Store(session)
                pending, oldest = await store.outbox.backlog()
                holder = await store.leases.holder(LEASE, now)
                dead = await count_unreadable(store)
        # The rows' created_at is the system's time (storage.models.utcnow), whatever
        # clock the bot runs on.
        age = max(0.0, (system_clock() - oldest).total_seconds()) if oldest is not None else 0.0
        return metrics.Figures(int(pending), age, holder, dead)

    async def close(self) -> None:
        if self._redis is not None:
            redis, self._redis = self._redis, None
            await redis.aclose()

    async def _database(self) -> tuple[str, str | None]:
        answered = False
        try:
            async with asyncio.timeout(self._check_seconds):
                async with self._reads() as session, session.begin():
                    await session.execute(sa.text("SELECT 1"))
                    answered = True
                    holder = await Store(session).leases.holder(LEASE, self._clock())
        except TimeoutError:
            return ("ok" if answered else "error: timeout"), None
        except Exception as exc:
            # A database that answers but has no leases table (not migrated) still
            # answers: the lease is then not known.
            return ("ok" if answered else _error(exc)), None
        return "ok", holder

    async def _ping_redis(self) -> str:
        if not self._redis_url:
            return "off"
        try:
            if self._redis is None:
                # Imported here: the redis client is only loaded for a bot that uses it.
                from redis.asyncio import Redis

                self._redis = Redis.from_url(
                    self._redis_url,
                    socket_connect_timeout=self._check_seconds,
                    socket_timeout=self._check_seconds,
                )
            async with asyncio.timeout(self._check_seconds):
                await self._redis.ping()
        except TimeoutError:
            return "error: timeout"
        except Exception as exc:
            return _error(exc)
        return "ok"


def _error(exc: BaseException) -> str:
    """An error by its type, and the driver's beneath it: never its message, which may
    name the host, the user or the statement."""
    name = type(exc).__name__
    cause = getattr(exc, "orig", None) or exc.__cause__
    if cause is not None and type(cause).__name__ != name:
        name = f"{name} ({type(cause).__name__})"
    return f"error: {name}"


def status_routes(app: web.Application, status: Status) -> None:
    """Add GET /healthz and GET /metrics to ``app`` (and start counting)."""
    metrics.enable()

    async def healthz(request: web.Request) -> web.Response:
        health = await status.health()
        return web.json_response(health, status=200 if health["ok"] else 503)

    async def scrape(request: web.Request) -> web.Response:
        figures: metrics.Figures | None
        try:
            figures = await status.figures()
        except Exception as exc:
            log.warning("metrics: the database's figures were not read: %s", _error(exc))
            figures = None
        return web.Response(
            body=metrics.render(figures), headers={"Content-Type": metrics.CONTENT_TYPE}
        )

    async def close(_app: web.Application) -> None:
        await status.close()

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", scrape)
    app.on_cleanup.append(close)


async def start_status_server(host: str, port: int, status: Status) -> web.AppRunner:
    """Serve /healthz and /metrics on ``host:port`` (a polling bot's STATUS_PORT);
    ``await runner.cleanup()`` stops it."""
    app = web.Application()
    status_routes(app, status)
    # A scrape every few seconds is not worth a log line each.
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    log.info("status server listening", extra={"listen": f"{host}:{port}"})
    return runner
