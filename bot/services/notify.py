"""Writing notifications to the outbox, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from bot.domain.lifecycle import Audience
from storage.models import OutboxMessage, Suggestion
from storage.store import Store

ADMIN_GROUP = "admins"
USER = "user"
# A department's liaison: the same item kinds as the observer's, told differently and
# never with the observer's identity.
LIAISON = "liaison"
# The key of an item's event and notice payloads saying how many files came with it.
FILES = "files"


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
    moment = at or datetime.now(UTC)
    store.session.add(
        OutboxMessage(
            audience=audience,
            broadcast_id=broadcast_id,
            created_at=moment,
            not_before=moment,
            chat_id=chat_id,
            kind=kind,
            payload=payload,
            suggestion_id=suggestion_id,
            event_id=event_id,
        )
    )


async def to_admins(
    store: Store,
    kind: str,
    payload: dict[str, Any],
    *,
    suggestion_id: int | None = None,
    event_id: int | None = None,
    at: datetime | None = None,
) -> None:
    moment = at or datetime.now(UTC)
    store.session.add(
        OutboxMessage(
            audience=ADMIN_GROUP,
            created_at=moment,
            not_before=moment,
            chat_id=None,
            kind=kind,
            payload=payload,
            suggestion_id=suggestion_id,
            event_id=event_id,
        )
    )


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
    """Tell each audience of a move; nobody is told of their own move twice."""
    for audience in sorted(set(audiences)):
        if audience is Audience.ADMINS:
            await to_admins(store, kind, payload, suggestion_id=item.id, event_id=event_id, at=at)
        elif audience is Audience.OBSERVER:
            observer = await store.observers.get(item.observer_id)
            chat = observer.user_id if observer is not None else None
            if chat is not None and chat != skip_user:
                await to_user(
                    store,
                    chat,
                    kind,
                    payload,
                    suggestion_id=item.id,
                    event_id=event_id,
                    at=at,
                )
        elif audience is Audience.LIAISONS and item.department_id is not None:
            for liaison in await store.liaisons.for_department(item.department_id):
                if liaison.user_id != skip_user:
                    await to_user(
                        store,
                        liaison.user_id,
                        kind,
                        payload,
                        suggestion_id=item.id,
                        event_id=event_id,
                        audience=LIAISON,
                        at=at,
                    )
    await store.flush()
