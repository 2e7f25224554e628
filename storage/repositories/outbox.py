"""The outbox table: each chat's queue, delivered in ``id`` order.

A row is due when it is pending, its ``not_before`` has come, and no earlier row of the
same chat is still pending (even one waiting out its backoff): a chat never receives
a later notice before an earlier one. The admin group's rows have no ``chat_id`` and
make one queue of their own.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from storage.models import QUEUED, Broadcast, OutboxMessage
from storage.repositories.base import Repository, table_of

PENDING, SENT, FAILED, HELD = "pending", "sent", "failed", "held"

# The sender's statements name the table, not the model, in their conditions too (see
# ``table_of``): as an ORM-enabled UPDATE, a lease of the due rows took 0.59 ms of CPU
# in its transaction on SQLite, 0.02 ms of it in SQLite itself. The sender wants the
# rows' values, not entities in its session.
_OUTBOX = table_of(OutboxMessage)
_ROW = _OUTBOX.c


def _not_on_lease(now: datetime | sa.BindParameter[datetime]) -> sa.ColumnElement[bool]:
    """No sender is sending the row now (a lease past its time means the send died)."""
    return sa.or_(_ROW.claimed_until.is_(None), _ROW.claimed_until < now)


# Made once: an alias builds a proxy of every column, which costs more than the query.
_EARLIER = _OUTBOX.alias().c


def _first_of_its_chat() -> sa.ColumnElement[bool]:
    # A chat's rows and the admin group's (no chat) are asked after apart, each by an
    # equality the index ix_outbox_state_chat serves. As one IS NOT DISTINCT FROM, which
    # no index serves, PostgreSQL compared every pending row with every other: 6.6 s a
    # look with a broadcast's 10,000 rows pending (bench/processes.py), 16 ms so.
    earlier = _EARLIER
    before = sa.and_(earlier.state == PENDING, earlier.id < _ROW.id)
    chat_first = ~sa.exists(sa.select(earlier.id).where(before, earlier.chat_id == _ROW.chat_id))
    group_first = ~sa.exists(sa.select(earlier.id).where(before, earlier.chat_id.is_(None)))
    return sa.or_(
        sa.and_(_ROW.chat_id.is_not(None), chat_first),
        sa.and_(_ROW.chat_id.is_(None), group_first),
    )


def _due(now: datetime | sa.BindParameter[datetime]) -> sa.ColumnElement[bool]:
    """Pending, its time come, on no live lease, and first of its chat's queue."""
    return sa.and_(
        _ROW.state == PENDING,
        _ROW.not_before <= now,
        _not_on_lease(now),
        _first_of_its_chat(),
    )


# The sender's statements run for every row it delivers: built once, with their values
# bound at execution (building one costs more than the database takes to answer it).
_NOW: sa.BindParameter[datetime] = sa.bindparam("now")
_DUE_NOW = _due(_NOW)


def _leasing(which: sa.ColumnElement[bool]) -> sa.Update:
    """Lease the row ``which`` picks to ``by`` until ``until``, returning it."""
    return (
        sa.update(_OUTBOX)
        .where(which)
        .values(claimed_by=sa.bindparam("by"), claimed_until=sa.bindparam("until"))
        .returning(*_OUTBOX.c)
    )


_LEASE = _leasing(sa.and_(_ROW.id == sa.bindparam("row"), _DUE_NOW))
# Where senders compete (PostgreSQL): the row locked with SKIP LOCKED, so that no sender
# waits on another, and leased, in one statement.
_LEASE_UNLOCKED = _leasing(
    _ROW.id
    == sa.select(_ROW.id)
    .where(_ROW.id == sa.bindparam("row"), _DUE_NOW)
    .with_for_update(skip_locked=True)
    .correlate(None)
    .scalar_subquery()
)
_SETTLE = (
    sa.update(_OUTBOX)
    .where(
        _ROW.id == sa.bindparam("row"),
        _ROW.state == PENDING,
        _ROW.claimed_by == sa.bindparam("by"),
        _ROW.attempts == sa.bindparam("tried"),
    )
    .values(
        state=sa.bindparam("outcome"),
        attempts=sa.bindparam("tried_now"),
        last_error=None,
        claimed_by=None,
        claimed_until=None,
        sent_at=sa.bindparam("sent"),
    )
)


def _due_rows(stmt: sa.Select[Any], busy: Collection[int | None], limit: int) -> sa.Select[Any]:
    """``stmt`` narrowed to the due rows of chats not ``busy`` (``None``: the admin
    group), oldest first, ``limit`` of them."""
    stmt = stmt.where(_DUE_NOW)
    chats = [c for c in busy if c is not None]
    if chats:
        stmt = stmt.where(
            sa.or_(OutboxMessage.chat_id.is_(None), OutboxMessage.chat_id.not_in(chats))
        )
    if None in busy:
        stmt = stmt.where(OutboxMessage.chat_id.is_not(None))
    return stmt.order_by(OutboxMessage.id).limit(limit)


# take_due's statements, built once per shape: the sender asks several times a second.
_TAKING: dict[tuple[bool, bool, bool], sa.Update] = {}


def _taking(chats_busy: bool, group_busy: bool, skip_locked: bool) -> sa.Update:
    """Lease the due rows of chats not busy (the ``busy`` chat ids, and the admin group
    when ``group_busy``), oldest first, ``limit`` of them."""
    key = (chats_busy, group_busy, skip_locked)
    stmt = _TAKING.get(key)
    if stmt is None:
        pick = sa.select(_ROW.id).where(_DUE_NOW)
        if chats_busy:
            pick = pick.where(
                sa.or_(
                    _ROW.chat_id.is_(None),
                    _ROW.chat_id.not_in(sa.bindparam("busy", expanding=True)),
                )
            )
        if group_busy:
            pick = pick.where(_ROW.chat_id.is_not(None))
        pick = pick.order_by(_ROW.id).limit(sa.bindparam("limit"))
        if skip_locked:
            pick = pick.with_for_update(skip_locked=True)
        stmt = _TAKING[key] = _leasing(_ROW.id.in_(pick.correlate(None).scalar_subquery()))
    return stmt


_INSERT = sa.insert(_OUTBOX)


class OutboxRepository(Repository[OutboxMessage]):
    model = OutboxMessage

    async def queue(self, rows: Sequence[dict[str, Any]]) -> None:
        """Queue ``rows`` (column values) in one statement (one per run of rows that
        name the same columns), after whatever the session has pending (a chat's rows
        go out in id order)."""
        await self.session.flush()
        if not rows:
            return
        # The notices of one move name the same columns, a row without a chat among
        # them: one statement. A column a row leaves out takes its default, which one
        # statement for rows naming different columns could not give.
        run = [rows[0]]
        for row in rows[1:]:
            if row.keys() != run[0].keys():
                await self.session.execute(_INSERT, run)
                run = []
            run.append(row)
        await self.session.execute(_INSERT, run)
        self.session.info[QUEUED] = True  # as storage.models tells of rows added one by one

    async def due(
        self,
        now: datetime,
        *,
        limit: int = 100,
        busy: Collection[int | None] = (),
        skip_locked: bool = False,
    ) -> Sequence[OutboxMessage]:
        """The first pending row of each chat whose time has come, oldest first;
        ``busy`` chats (``None``: the admin group) are left out. With ``skip_locked``
        (PostgreSQL), rows another transaction has locked are left out too."""
        stmt = _due_rows(sa.select(OutboxMessage), busy, limit)
        if skip_locked:
            stmt = stmt.with_for_update(skip_locked=True, of=OutboxMessage)
        rows: Sequence[OutboxMessage] = (
            (await self.session.execute(stmt, {"now": now})).scalars().all()
        )
        return rows

    async def take_due(
        self,
        now: datetime,
        *,
        by: str,
        until: datetime,
        limit: int = 100,
        busy: Collection[int | None] = (),
        skip_locked: bool = False,
    ) -> list[sa.Row[Any]]:
        """Lease to ``by`` until ``until`` the rows :meth:`due` would return, in one
        statement; their values as leased, oldest first."""
        chats = [c for c in busy if c is not None]
        stmt = _taking(bool(chats), None in busy, skip_locked)
        values = {"now": now, "by": by, "until": until, "limit": limit, "busy": chats}
        rows = (await self.session.execute(stmt, values)).all()
        return sorted(rows, key=lambda row: int(row.id))

    async def lease(
        self, row_id: int, now: datetime, *, by: str, until: datetime, skip_locked: bool = False
    ) -> sa.Row[Any] | None:
        """Lease the row to ``by`` until ``until`` if it is still due and first of its
        chat, in one statement; its values as leased, or None. With ``skip_locked``
        (PostgreSQL), a row another transaction has locked is passed over."""
        values = {"row": row_id, "now": now, "by": by, "until": until}
        stmt = _LEASE_UNLOCKED if skip_locked else _LEASE
        return (await self.session.execute(stmt, values)).one_or_none()

    async def settle(
        self, row_id: int, *, by: str, attempts: int, state: str, now: datetime
    ) -> bool:
        """Record a send's outcome on a row still leased to ``by`` with ``attempts``
        attempts, in one statement; False when the row changed hands meanwhile."""
        values = {
            "row": row_id,
            "by": by,
            "tried": attempts,
            "outcome": state,
            "tried_now": attempts + 1,
            "sent": now if state == SENT else None,
        }
        result = await self.session.execute(_SETTLE, values)
        return int(getattr(result, "rowcount", 0) or 0) == 1

    async def claim(self, row_id: int, now: datetime, *, lock: bool) -> OutboxMessage | None:
        """The row, if it is still due and first of its chat; with ``lock``, locked
        for this transaction, or None when another transaction holds it."""
        stmt = (
            sa.select(OutboxMessage)
            .where(
                OutboxMessage.id == row_id,
                _DUE_NOW,
            )
            .execution_options(populate_existing=True)
        )
        if lock:
            stmt = stmt.with_for_update(skip_locked=True, of=OutboxMessage)
        return (await self.session.execute(stmt, {"now": now})).scalar_one_or_none()

    async def lock_broadcast(self, broadcast_id: int) -> Broadcast | None:
        """The broadcast, read afresh and locked until the transaction ends: the
        transactions settling its last rows take turns, so the last one sees the
        others' outcomes and queues the report."""
        stmt = (
            sa.select(Broadcast)
            .where(Broadcast.id == broadcast_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def backlog(self) -> tuple[int, datetime | None]:
        """How many rows are pending, and when the oldest of them was queued."""
        # The (state, not_before) index answers the count; the pending rows are few, so
        # their oldest costs little more.
        stmt = sa.select(sa.func.count(), sa.func.min(OutboxMessage.created_at)).where(
            OutboxMessage.state == PENDING
        )
        pending, oldest = (await self.session.execute(stmt)).one()
        return int(pending), oldest

    async def release_leases(self, holders: str | None = None) -> int:
        """Drop every lease (a sender that died left them), or those whose holder starts
        with ``holders``; returns how many."""
        held = (
            OutboxMessage.claimed_by.is_not(None)
            if holders is None
            else OutboxMessage.claimed_by.startswith(holders, autoescape=True)
        )
        stmt = (
            sa.update(OutboxMessage)
            .where(held)
            .values(claimed_by=None, claimed_until=None)
            .execution_options(synchronize_session=False)
        )
        result = await self.session.execute(stmt)
        return int(getattr(result, "rowcount", 0) or 0)

    async def requeue_held(self, chat_id: int, now: datetime) -> int:
        """Put a chat's held rows back in its queue, due now; returns how many."""
        stmt = (
            sa.update(OutboxMessage)
            .where(OutboxMessage.chat_id == chat_id, OutboxMessage.state == HELD)
            .values(state=PENDING, not_before=now)
            .execution_options(synchronize_session=False)
        )
        result = await self.session.execute(stmt)
        return int(getattr(result, "rowcount", 0) or 0)
