"""What every update reads first, in one statement: the conversation and the person.

aiogram asks for the conversation's state before any handler runs, and the next thing
the bot asks is who the person is (their user row and standing). Both are keyed by what
the update carries, so the first question fetches the answer to the second with it, and
the second finds it kept for this transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.util import identity_key

from bot.domain.statuses import ObserverStatus
from storage.models import ConversationState, Liaison, Observer, TelegramUser

T = TypeVar("T")

# What a person is: their observer record (id and status), if any, and the departments
# they are an active liaison of.
Rank = tuple[tuple[int, ObserverStatus] | None, frozenset[int]]

# One row to join from, so that a missing conversation or an unknown user still gives a
# row (with NULLs) and the other half of the answer.
_ONE = sa.select(sa.literal(1).label("one")).subquery("one")


def _with_standing(stmt: Any) -> Any:
    """``stmt`` joined, from its telegram_users, to their observer record and their
    active liaison departments (a row per department)."""
    return stmt.outerjoin(Observer, Observer.user_id == TelegramUser.id).outerjoin(
        Liaison, sa.and_(Liaison.user_id == TelegramUser.id, Liaison.active.is_(True))
    )


# The person who acts, with their standing.
PERSON = _with_standing(
    sa.select(TelegramUser, Observer.id, Observer.status, Liaison.department_id)
).where(TelegramUser.id == sa.bindparam("user"))

# The same, with the conversation of ``key``: run for every update, built once.
_ARRIVAL = _with_standing(
    sa.select(ConversationState, TelegramUser, Observer.id, Observer.status, Liaison.department_id)
    .select_from(_ONE)
    .outerjoin(ConversationState, ConversationState.key == sa.bindparam("key"))
    .outerjoin(TelegramUser, TelegramUser.id == sa.bindparam("user"))
)

_PEOPLE = "outpost_people_arrived"


def this_transaction(session: AsyncSession, name: str, make: Callable[[], T]) -> T:
    """What ``session``'s current transaction keeps under ``name`` (forgotten with it)."""
    transaction = session.sync_session.get_transaction()
    cached = session.info.get(name)
    if cached is None or cached[0] is not transaction:
        cached = session.info[name] = (transaction, make())
    kept: T = cached[1]
    return kept


def held(session: AsyncSession, model: type[Any], key: object) -> Any:
    """The row of ``model`` with primary key ``key`` if the session holds it already
    (no statement), else None."""
    return session.sync_session.identity_map.get(identity_key(model, key))


def rank_of(rows: Sequence[Any], first: int) -> Rank | None:
    """The standing in ``rows`` (user, observer id, status, department from column
    ``first`` on); None when the user is not recorded."""
    if not rows or rows[0][first] is None:
        return None
    observer_id, status = rows[0][first + 1], rows[0][first + 2]
    found = (observer_id, ObserverStatus(status)) if observer_id is not None else None
    return found, frozenset(r[first + 3] for r in rows if r[first + 3] is not None)


async def arrive(session: AsyncSession, key: str, user_id: int) -> ConversationState | None:
    """The conversation of ``key``, or None; the person ``user_id`` is read with it and
    kept for :func:`arrived` (their user row stays in the session)."""
    rows = (await session.execute(_ARRIVAL, {"key": key, "user": user_id})).all()
    people: dict[int, Rank | None] = this_transaction(session, _PEOPLE, dict)
    people[user_id] = rank_of(rows, 1)
    conversation: ConversationState | None = rows[0][0] if rows else None
    return conversation


def arrived(session: AsyncSession, user_id: int) -> tuple[bool, Rank | None]:
    """The person read with the conversation in this transaction, once: (True, their
    standing or None if unknown); (False, None) if they were not read."""
    people: dict[int, Rank | None] = this_transaction(session, _PEOPLE, dict)
    if user_id not in people:
        return False, None
    return True, people.pop(user_id)
