"""`outpost run` loads no library that only reports, charts, workbooks, documents,
migrations or Redis need: together some 80 MB of an idle bot (issue 17). They are
imported where they are used, when they are used."""

from __future__ import annotations

from pathlib import Path

from storage import migrate
from tests.storage.test_migrations import run_python
from tests.telegram import TOKEN

# Charts, the workbook, the Word document, Redis (REDIS_URL unset), migrations,
# PostgreSQL's driver on a SQLite database, and Prometheus' client (no status server).
LAZY = (
    "matplotlib",
    "numpy",
    "openpyxl",
    "docx",
    "redis",
    "alembic",
    "asyncpg",
    "prometheus_client",
)

# What `outpost run` does before it serves (bot/cli.py): the settings from the
# environment, the start-up check of the schema, then the runtime's parts, the
# Dispatcher with every router among them (bot/runtime/app.py).
START = """
import sys

from bot import cli
from bot.runtime import app
from bot.settings import load_settings

settings = load_settings()
assert cli._schema_is_current("run", settings.database_url)
app.build(settings)
print(" ".join(name for name in sys.argv[1:] if name in sys.modules))
"""


def test_outpost_run_starts_without_the_lazy_libraries(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/outpost.db"
    migrate.upgrade(url)
    result = run_python(
        "-c", START, *LAZY, cwd=tmp_path, BOT_TOKEN=TOKEN, DATABASE_URL=url, ADMIN_CHAT_ID="-100500"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == []
