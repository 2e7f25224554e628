"""Whether the figures' summaries, as the triggers kept them, equal a recount from the
items: the check the property tests run after every move."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.figure_triggers import SUMMARIES, Summary, columns, recount_query


def _plain(value: Any) -> Any:
    # SQLite hands dates and datetimes back as text, PostgreSQL as objects.
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


def _rows(rows: Any) -> set[tuple[Any, ...]]:
    return {tuple(_plain(v) for v in row) for row in rows}


async def _kept(conn: AsyncConnection, s: Summary) -> set[tuple[Any, ...]]:
    # Rows whose counts fell to nothing are kept by the triggers; a recount has none.
    counted = " OR ".join(f"{c} <> 0" for c, _e in s.sums)
    stmt = sa.text(f"SELECT {', '.join(columns(s))} FROM {s.table} WHERE {counted}")
    return _rows((await conn.execute(stmt)).all())


async def mismatches(bind: AsyncEngine | AsyncConnection) -> list[str]:
    """Each summary row the triggers kept that a recount does not give, or the other way."""
    found: list[str] = []

    async def check(conn: AsyncConnection) -> None:
        latest = (
            "SELECT s.id, s.rating, (SELECT value FROM ratings r WHERE r.suggestion_id = s.id "
            "ORDER BY r.id DESC LIMIT 1) FROM suggestions s"
        )
        for item, kept, latest_value in (await conn.execute(sa.text(latest))).all():
            if kept != latest_value:
                found.append(f"item {item}: rating {kept!r}, latest {latest_value!r}")
        for s in SUMMARIES:
            kept = await _kept(conn, s)
            counted = _rows((await conn.execute(sa.text(recount_query(s)))).all())
            # The greatest seen (an observer's last filing) is never lowered, by design
            # (storage.figure_triggers): when an item leaves a row, by an operator's SQL,
            # it may stay above the recount's, never below.
            size = len(s.keys) + len(s.sums)
            kept_greatest = {row[:size]: row[size:] for row in kept}
            counted_greatest = {row[:size]: row[size:] for row in counted}
            kept = {row[:size] for row in kept}
            counted = {row[:size] for row in counted}
            found.extend(f"{s.table} kept, not counted: {row}" for row in sorted(kept - counted))
            found.extend(f"{s.table} counted, not kept: {row}" for row in sorted(counted - kept))
            found.extend(
                f"{s.table} {row}: greatest kept {kept_greatest[row]} below the recount's "
                f"{counted_greatest[row]}"
                for row in sorted(kept & counted)
                if any(
                    k < c for k, c in zip(kept_greatest[row], counted_greatest[row], strict=True)
                )
            )

    if isinstance(bind, AsyncConnection):
        await check(bind)
    else:
        async with bind.connect() as conn:
            await check(conn)
    return found


async def summary_rows(bind: AsyncEngine) -> int:
    async with bind.connect() as conn:
        return sum(
            int((await conn.execute(sa.text(f"SELECT COUNT(*) FROM {s.table}"))).scalar_one())
            for s in SUMMARIES
        )
