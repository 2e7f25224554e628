"""The bot's database in an end-to-end test: its own SQLite file, or a fresh PostgreSQL
database made for the test (skipped when no server answers, unless the run demands
it: tests/conftest.py)."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from storage.engine import create_engine
from tests.conftest import PostgresServer
from tests.e2e.harness import BotProcess

DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def bot_database(request: pytest.FixtureRequest, bot: BotProcess) -> str:
    """The URL of the database ``bot`` runs on, migrated; ``request.param`` chooses."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{bot.database}"
    server: PostgresServer = request.getfixturevalue("postgres")
    url = server.new_database()
    bot.env["DATABASE_URL"] = url
    bot.migrate()
    return url


async def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return [tuple(row) for row in await connection.execute(sa.text(sql))]
    finally:
        await engine.dispose()
