"""Writing notifications to the outbox, in the caller's transaction."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from bot.domain.lifecycle import Audience
from bot.domain.notices import Notice
from bot.domain.offices import HOME
from storage.models import OutboxMessage, Suggestion
from storage.store import Store

ADMIN_GROUP = "admins"
USER = "user"
# A department's liaison: the same item kinds as the observer's, told differently and
# never with the observer's identity.
LIAISON = "liaison"
# The key of an item's event and notice payloads saying how many files came with it.
FILES = "files"
# The key of an item notice's payload for the office it was reported to (the city),
# whose card of it is not the item's own office's.
ABOVE = "above"
# Keys of a notice's payload saying that a liaison made the move, and their name (for
# their department's colleagues; never shown to the observer).
BY = "by"
BY_NAME = "by_name"


def _row(
    audience: str,
    chat_id: int | None,
    kind: str,
    payload: dict[str, Any],
    *,
    suggestion_id: int | None,
    event_id: int | None,
    broadcast_id: int | None = None,
    at: datetime | None = None,
    office_id: int | None = None,
) -> dict[str, Any]:
    moment = at or datetime.now(UTC)
    return {
        "audience": audience,
        "office_id": office_id,
        "broadcast_id": broadcast_id,
        "created_at": moment,
        "not_before": moment,
        "chat_id": chat_id,
        "kind": kind,
        "payload": payload,
        "suggestion_id": suggestion_id,
        "event_id": event_id,
    }


async def to_user(
    store: Store,
    chat_id: int,
    kind: str,
    payload: dict[str, Any],
    *,
    suggestion_id: int | None = None,
    event_id: int | None = None,
    audience: str = USER,
    broadcast_id: int | None = None,
    at: datetime | None = None,
) -> None:
    row = _row(
        audience, chat_id, kind, payload,
        suggestion_id=suggestion_id, event_id=event_id, broadcast_id=broadcast_id, at=at,
    )  # fmt: skip
    store.session.add(OutboxMessage(**row))


async def to_admins(
    store: Store,
    kind: str,
    payload: dict[str, Any],
    *,
    suggestion_id: int | None = None,
    event_id: int | None = None,
    at: datetime | None = None,
    office_id: int = HOME,
) -> None:
    """Tell the group of the office ``office_id`` (the home office's by default)."""
    row = _row(
        ADMIN_GROUP, None, kind, payload,
        suggestion_id=suggestion_id, event_id=event_id, at=at, office_id=office_id,
    )  # fmt: skip
    store.session.add(OutboxMessage(**row))


def above(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, ABOVE: True}


async def about_item(
    store: Store,
    item: Suggestion,
    audiences: Iterable[Audience],
    kind: str,
    payload: dict[str, Any],
    *,
    event_id: int,
    skip_user: int | None = None,
    at: datetime | None = None,
) -> None:
    """Tell each audience of a move; nobody is told of their own move twice. The rows
    go in with one statement, after whatever was queued before them (a chat's rows go
    out in id order)."""
    about = functools.partial(_row, kind=kind, payload=payload, suggestion_id=item.id,
                              event_id=event_id, at=at)  # fmt: skip
    rows: list[dict[str, Any]] = []
    for audience in sorted(set(audiences)):
        if audience is Audience.ADMINS:
            rows.append(about(ADMIN_GROUP, None, office_id=item.office_id))
            if item.above_id is not None and item.above_id != item.office_id:
                # The office it was reported to (the city) follows it on its own card.
                rows.append(
                    about(ADMIN_GROUP, None, office_id=item.above_id, payload=above(payload))
                )
        elif audience is Audience.OBSERVER:
            # Told of the city's answer too, from the city's group: whichever office's.
            observer = await store.observers.get(item.observer_id, anywhere=True)
            chat = observer.user_id if observer is not None else None
            if chat is not None and chat != skip_user:
                rows.append(about(USER, chat))
        elif audience is Audience.LIAISONS and item.department_id is not None:
            for liaison in await store.liaisons.for_department(item.department_id):
                if liaison.user_id != skip_user:
                    rows.append(about(LIAISON, liaison.user_id))
    await store.outbox.queue(rows)


async def to_former_department(
    store: Store,
    item: Suggestion,
    department_id: int,
    payload: dict[str, Any],
    *,
    event_id: int,
    skip_user: int | None = None,
    at: datetime | None = None,
) -> None:
    """Tell the liaisons of the department an item was taken from that it has gone to
    another one (the table's audiences are the item's department of now)."""
    gone = functools.partial(_row, kind=Notice.ITEM_REASSIGNED.value, payload=payload,
                             suggestion_id=item.id, event_id=event_id, at=at)  # fmt: skip
    rows = [
        gone(LIAISON, liaison.user_id)
        for liaison in await store.liaisons.for_department(department_id)
        if liaison.user_id != skip_user
    ]
    await store.outbox.queue(rows)
