"""The statements run for every update and every delivered row name tables, not models.

An INSERT or UPDATE named by a model (or with a model's attribute anywhere in it) goes
through the ORM's bulk machinery, which cost more than the database took to answer it
(issue 17). These tests keep the hot ones plain, and check that they still do what the
ORM-enabled ones did, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from storage.models import Card, ConversationState, OutboxMessage
from storage.store import Store

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@contextmanager
def executed() -> Iterator[list[tuple[str, bool]]]:
    """Each statement a session executes meanwhile: its kind, and whether the ORM
    handled it."""
    seen: list[tuple[str, bool]] = []

    def note(state: ORMExecuteState) -> None:
        seen.append((type(state.statement).__name__, state.is_orm_statement))

    event.listen(Session, "do_orm_execute", note)
    try:
        yield seen
    finally:
        event.remove(Session, "do_orm_execute", note)


def _row(chat_id: int | None, **more: Any) -> dict[str, Any]:
    return {
        "audience": "user" if chat_id else "admins",
        "chat_id": chat_id,
        "kind": "item.adopted",
        "payload": {"reference": "R-1"},
        "suggestion_id": None,
        "event_id": None,
        "office_id": None,
        "broadcast_id": None,
        "created_at": NOW,
        "not_before": NOW,
        **more,
    }


async def test_the_senders_statements_skip_the_orm_and_lease_queue_and_settle_rows(sessions):
    async with sessions() as session, session.begin():
        with executed() as seen:
            # A chat's row, the admin group's (no chat), and one that names a column
            # the others leave to its default: each keeps its place in the queue.
            await Store(session).outbox.queue(
                [_row(501), _row(None), _row(501, attempts=2), _row(502)]
            )
        assert seen
        assert not any(orm for _sql, orm in seen)
    async with sessions() as session, session.begin():
        rows = (
            (await session.execute(sa.select(OutboxMessage).order_by(OutboxMessage.id)))
            .scalars()
            .all()
        )
        assert [(r.chat_id, r.attempts, r.state) for r in rows] == [
            (501, 0, "pending"),
            (None, 0, "pending"),
            (501, 2, "pending"),
            (502, 0, "pending"),
        ]
        first, group, later, other = (r.id for r in rows)
    until = NOW + timedelta(minutes=5)
    async with sessions() as session, session.begin():
        outbox = Store(session).outbox
        with executed() as seen:
            taken = await outbox.take_due(NOW, by="me", until=until, busy=[502])
            # One by one: a row behind a pending one of its chat is not due.
            assert await outbox.lease(later, NOW, by="me", until=until) is None
            leased = await outbox.lease(other, NOW, by="me", until=until)
        assert seen
        assert not any(orm for _sql, orm in seen)
        # The first row of each free chat, oldest first; the chat's later row waits.
        assert [(r.id, r.chat_id, r.claimed_by) for r in taken] == [
            (first, 501, "me"),
            (group, None, "me"),
        ]
        assert taken[0].claimed_until == until
        assert taken[0].payload == {"reference": "R-1"}
        assert leased is not None
        assert (leased.id, leased.claimed_by) == (other, "me")
    async with sessions() as session, session.begin():
        outbox = Store(session).outbox
        with executed() as seen:
            assert await outbox.settle(first, by="me", attempts=0, state="sent", now=NOW)
            assert not await outbox.settle(group, by="another", attempts=0, state="sent", now=NOW)
        assert seen
        assert not any(orm for _sql, orm in seen)
    async with sessions() as session:
        states = dict(
            (await session.execute(sa.select(OutboxMessage.id, OutboxMessage.state))).all()
        )
        when = sa.select(OutboxMessage.sent_at).where(OutboxMessage.id == first)
        sent = await session.scalar(when)
    assert states == {first: "sent", group: "pending", later: "pending", other: "pending"}
    assert sent == NOW


async def test_the_per_update_statements_skip_the_orm_and_still_claim_rewrite_and_mark(sessions):
    async with sessions() as session, session.begin():
        store = Store(session)
        await store.conversations.save("fsm:1:7:7", state="Filing:title", data={"step": 1})
        session.add(Card(chat_id=-100, message_id=9, subject="item", subject_id=3, digest="old"))
    async with sessions() as session, session.begin():
        store = Store(session)
        card = (await session.execute(sa.select(Card))).scalar_one()
        with executed() as seen:
            assert await store.updates.claim(1, 77) is True
            assert await store.updates.claim(1, 77) is False
            assert await store.conversations.change_as_written("fsm:1:7:7", _next_step) is True
            assert await store.cards.resync("item", 3, NOW) == 1
            await store.cards.shown(card.id, "new", 12)
        assert seen
        assert not any(orm for _sql, orm in seen)
    async with sessions() as session:
        row = await session.get(ConversationState, "fsm:1:7:7")
        assert row is not None
        assert row.data == {"step": 2}
        card = (await session.execute(sa.select(Card))).scalar_one()
        assert (card.digest, card.shown_event, card.resync_at) == ("new", 12, None)


def _next_step(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "step": data["step"] + 1}
