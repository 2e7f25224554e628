"""Shared fixtures: a database per test on SQLite, and on PostgreSQL where reachable.

PostgreSQL tests skip with a reason when no server answers, unless
OUTPOST_REQUIRE_SERVICES=1 (set by .ci/run), which turns that skip into a failure.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import sqlalchemy as sa
from hypothesis import settings
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.engine import create_engine, session_factory
from storage.models import Base, home_office

# CI runs the property tests on a fixed seed, so a red run is reproducible and never a
# coin toss; developers' runs keep exploring new examples.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

PG_ADMIN_DSN = os.environ.get(
    "OUTPOST_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def services_required() -> bool:
    return os.environ.get("OUTPOST_REQUIRE_SERVICES", "") not in ("", "0")


def unavailable(reason: str) -> None:
    """Skip, or fail when the run demands the machine's services."""
    if services_required():
        pytest.fail(f"{reason} (OUTPOST_REQUIRE_SERVICES=1 forbids skipping)")
    pytest.skip(reason)


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


class PostgresServer:
    """Creates throw-away databases on the machine's PostgreSQL and drops only those."""

    def __init__(self) -> None:
        self.created: list[str] = []
        self.error: str | None = None
        try:
            asyncio.run(_pg_admin("SELECT 1"))
        except Exception as exc:
            self.error = f"PostgreSQL at {PG_ADMIN_DSN} is unreachable: {exc!r}"

    def new_database(self) -> str:
        if self.error:
            unavailable(self.error)
        name = f"outpost_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
        return f"{base}/{name}"

    def drop_all(self) -> None:
        for name in self.created:
            asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.created.clear()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    yield server
    server.drop_all()


@pytest.fixture(scope="session")
def pg_url(postgres: PostgresServer) -> str:
    """One database for the session; each test resets the schema in it."""
    return postgres.new_database()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: object) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/outpost.db"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def sqlite_url(tmp_path: object) -> str:
    return f"sqlite+aiosqlite:///{tmp_path}/outpost.db"


# PostgreSQL databases whose schema this session has built: later tests only empty them.
_BUILT: set[str] = set()


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(db_url)
    async with eng.begin() as conn:
        if conn.dialect.name == "postgresql" and db_url in _BUILT:
            # Emptying is many times cheaper than dropping and creating every table, and
            # RESTART IDENTITY gives each test the ids a fresh schema would.
            tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            await conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            for statement in home_office("postgresql"):
                await conn.execute(sa.text(statement))
        else:
            await conn.run_sync(Base.metadata.drop_all)
            await conn.run_sync(Base.metadata.create_all)
            if conn.dialect.name == "postgresql":
                _BUILT.add(db_url)
    yield eng
    await eng.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)


REDIS_URL = os.environ.get("OUTPOST_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
async def redis_url() -> str:
    """The machine's Redis; tests use keys of their own and delete only those."""
    from redis.asyncio import Redis
    from redis.exceptions import RedisError

    client = Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        unavailable(f"no Redis at {REDIS_URL}: {exc}")
    finally:
        await client.aclose()
    return REDIS_URL
