"""Observers written straight into the bot's database, for tests that need many."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from bot.domain.statuses import ObserverCategory
from storage.engine import create_engine, session_factory
from storage.models import Observer, Point, TelegramUser


async def observers(database: Path | str, user_ids: list[int], point_code: str = "P01") -> None:
    """``database``: the bot's SQLite file, or a database URL."""
    url = database if isinstance(database, str) else f"sqlite+aiosqlite:///{database}"
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session, session.begin():
            point = (
                await session.execute(sa.select(Point).where(Point.code == point_code))
            ).scalar_one()
            for user_id in user_ids:
                session.add(TelegramUser(id=user_id, first_name=f"O{user_id}", language_code="en"))
            await session.flush()
            session.add_all(
                Observer(
                    name=f"Observer {user_id}",
                    category=ObserverCategory.OTHER,
                    point_id=point.id,
                    status="appointed",
                    user_id=user_id,
                )
                for user_id in user_ids
            )
    finally:
        await engine.dispose()
