from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from bot.domain.lifecycle import Action
from bot.domain.statuses import SuggestionStatus
from storage.models import (
    Attachment,
    Department,
    Event,
    Observer,
    Point,
    Rating,
    ReferenceCounter,
    Suggestion,
    TelegramUser,
)
from storage.repositories.arrival import held
from storage.repositories.base import Repository, table_of
from storage.repositories.privacy import nameable

# Statements run for every card shown: built once (see storage.repositories.cards).
# An item with its point, department and observer, in one statement.
_AROUND = (
    sa.select(Suggestion, Point, Department, Observer)
    .outerjoin(Point, Point.id == Suggestion.point_id)
    .outerjoin(Department, Department.id == Suggestion.department_id)
    .outerjoin(Observer, Observer.id == Suggestion.observer_id)
    .where(Suggestion.id == sa.bindparam("item"))
)
# An item about to move, with its observer (whom the move may tell): one statement.
_WITH_OBSERVER = (
    sa.select(Suggestion, Observer)
    .outerjoin(Observer, Observer.id == Suggestion.observer_id)
    .where(Suggestion.id == sa.bindparam("item"))
)
_EVENTS = sa.select(Event).where(Event.suggestion_id == sa.bindparam("item")).order_by(Event.id)
_OPEN_EVENTS = (
    sa.select(Event)
    .where(Event.suggestion_id == sa.bindparam("item"), Event.internal.is_(False))
    .order_by(Event.id)
)


def _named(events: sa.Select[Any]) -> sa.Select[Any]:
    """The events with the names of who made them (none for an anonymised observer),
    in one statement."""
    return events.add_columns(TelegramUser.first_name, TelegramUser.last_name).outerjoin(
        TelegramUser, sa.and_(TelegramUser.id == Event.actor_user_id, nameable())
    )


_NAMED_EVENTS = _named(_EVENTS)
_NAMED_OPEN_EVENTS = _named(_OPEN_EVENTS)
_ATTACHMENTS = (
    sa.select(Attachment)
    .where(Attachment.suggestion_id == sa.bindparam("item"))
    .order_by(Attachment.id)
)
_RATINGS = sa.select(Rating).where(Rating.suggestion_id == sa.bindparam("item")).order_by(Rating.id)


class SuggestionRepository(Repository[Suggestion]):
    model = Suggestion

    async def with_surroundings(
        self, item_id: int
    ) -> tuple[Suggestion | None, Point | None, Department | None, Observer | None]:
        """The item (None: no such item) with its point, department and observer, in
        one statement."""
        if not self.can_hold(item_id):
            return None, None, None, None
        row = (await self.session.execute(_AROUND, {"item": item_id})).first()
        if row is None:
            return None, None, None, None
        return row[0], row[1], row[2], row[3]

    async def with_observer(self, item_id: int) -> Suggestion | None:
        """The item (None: no such item), its observer read with it into the session,
        where ``get`` then finds them."""
        if not self.can_hold(item_id):
            return None
        kept: Suggestion | None = held(self.session, Suggestion, item_id)
        if kept is not None:
            return kept
        row = (await self.session.execute(_WITH_OBSERVER, {"item": item_id})).first()
        return None if row is None else row[0]

    async def by_reference(self, reference: str) -> Suggestion | None:
        stmt = sa.select(Suggestion).where(Suggestion.reference == reference)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def by_draft_key(self, draft_key: str) -> Suggestion | None:
        stmt = sa.select(Suggestion).where(Suggestion.draft_key == draft_key)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def for_observer(
        self, observer_id: int, *, offset: int = 0, limit: int = 10
    ) -> Sequence[Suggestion]:
        stmt = (
            sa.select(Suggestion)
            .where(Suggestion.observer_id == observer_id)
            .order_by(Suggestion.submitted_at.desc(), Suggestion.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def count_for_observer(self, observer_id: int) -> int:
        stmt = sa.select(sa.func.count()).where(Suggestion.observer_id == observer_id)
        return int((await self.session.execute(stmt)).scalar_one())

    async def closable(self) -> Sequence[Suggestion]:
        """Items that close by themselves once their waiting period has passed."""
        stmt = (
            sa.select(Suggestion)
            .where(
                Suggestion.status.in_(
                    [
                        SuggestionStatus.IMPLEMENTED,
                        SuggestionStatus.REFERENCE,
                        SuggestionStatus.DECLINED,
                        SuggestionStatus.DUPLICATE,
                    ]
                )
            )
            .order_by(Suggestion.id)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def with_status(
        self, statuses: Sequence[SuggestionStatus], *, limit: int = 50
    ) -> Sequence[Suggestion]:
        """Items in the given statuses, the longest waiting first."""
        stmt = (
            sa.select(Suggestion)
            .where(Suggestion.status.in_(statuses))
            .order_by(Suggestion.submitted_at, Suggestion.id)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def overdue(self, today: date, *, limit: int = 50) -> Sequence[Suggestion]:
        """Items past their decision deadline undecided, past their implementation
        due date unimplemented, or escalated past the city's answer date; the most
        overdue first."""
        undecided, unimplemented, unanswered = _overdue(today)
        deadline = sa.case(
            (undecided, Suggestion.decision_due),
            (unanswered, Suggestion.city_answer_due),
            else_=Suggestion.implementation_due,
        )
        stmt = (
            sa.select(Suggestion)
            .where(sa.or_(undecided, unimplemented, unanswered))
            .order_by(deadline, Suggestion.id)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def count_with_status(self, statuses: Sequence[SuggestionStatus]) -> int:
        """How many items are in the given statuses (what :meth:`with_status` limits)."""
        stmt = (
            sa.select(sa.func.count())
            .select_from(Suggestion)
            .where(Suggestion.status.in_(statuses))
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def count_overdue(self, today: date) -> int:
        """How many items :meth:`overdue` would list without its limit."""
        stmt = sa.select(sa.func.count()).select_from(Suggestion).where(sa.or_(*_overdue(today)))
        return int((await self.session.execute(stmt)).scalar_one())

    async def for_departments(
        self, department_ids: Sequence[int], statuses: Sequence[SuggestionStatus]
    ) -> Sequence[Suggestion]:
        """A department's items in the given statuses, the earliest due first."""
        stmt = (
            sa.select(Suggestion)
            .where(Suggestion.department_id.in_(department_ids), Suggestion.status.in_(statuses))
            .order_by(
                Suggestion.implementation_due.is_(None),
                Suggestion.implementation_due,
                Suggestion.id,
            )
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def decision_due_between(self, after: date, until: date) -> Sequence[Suggestion]:
        """Undecided items whose decision is due in (after, until], the earliest first."""
        stmt = (
            sa.select(Suggestion)
            .where(
                Suggestion.status.in_([SuggestionStatus.SUBMITTED, SuggestionStatus.IN_REVIEW]),
                Suggestion.decision_due > after,
                Suggestion.decision_due <= until,
            )
            .order_by(Suggestion.decision_due, Suggestion.id)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def implementation_due_by(self, until: date) -> Sequence[Suggestion]:
        """Items with a department, not yet implemented, due on or before ``until``."""
        stmt = (
            sa.select(Suggestion)
            .where(
                Suggestion.status.in_([SuggestionStatus.ADOPTED, SuggestionStatus.IMPLEMENTING]),
                Suggestion.department_id.is_not(None),
                Suggestion.implementation_due <= until,
            )
            .order_by(Suggestion.implementation_due, Suggestion.id)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def waiting_on_observer(self) -> list[tuple[Suggestion, Event | None]]:
        """Items waiting on the observer's answer, each with the office's latest question
        or reminder of it (None if the log has neither)."""
        waiting = sa.select(Suggestion.id).where(Suggestion.status == SuggestionStatus.NEEDS_INFO)
        latest = (
            sa.select(Event.suggestion_id, sa.func.max(Event.id).label("event_id"))
            .where(
                Event.suggestion_id.in_(waiting),
                Event.action.in_([Action.ASK_INFO, Action.CHASE]),
            )
            .group_by(Event.suggestion_id)
            .subquery()
        )
        stmt = (
            sa.select(Suggestion, Event)
            .outerjoin(latest, latest.c.suggestion_id == Suggestion.id)
            .outerjoin(Event, Event.id == latest.c.event_id)
            .where(Suggestion.status == SuggestionStatus.NEEDS_INFO)
            .order_by(Suggestion.id)
        )
        return [(row[0], row[1]) for row in (await self.session.execute(stmt)).all()]

    async def without_due(self, statuses: Sequence[SuggestionStatus]) -> Sequence[Suggestion]:
        """Items with a department in the given statuses that have no due date (a
        reopened one, until the office sets a new date), the longest waiting first."""
        stmt = (
            sa.select(Suggestion)
            .where(
                Suggestion.status.in_(statuses),
                Suggestion.department_id.is_not(None),
                Suggestion.implementation_due.is_(None),
            )
            .order_by(Suggestion.updated_at, Suggestion.id)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def count_between(self, column: str, lo: datetime, hi: datetime) -> int:
        """How many items have ``column`` (a moment: submitted_at, decided_at,
        implemented_at) in [lo, hi)."""
        moment = getattr(Suggestion, column)
        stmt = sa.select(sa.func.count()).select_from(Suggestion).where(moment >= lo, moment < hi)
        return int((await self.session.execute(stmt)).scalar_one())

    async def count_adopted_between(self, lo: datetime, hi: datetime) -> int:
        """Items first decided in [lo, hi) whose decision was to adopt."""
        stmt = (
            sa.select(sa.func.count())
            .select_from(Suggestion)
            .where(
                Suggestion.decided_at >= lo,
                Suggestion.decided_at < hi,
                Suggestion.disposition == SuggestionStatus.ADOPTED,
            )
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def find_matching(self, text: str, *, offset: int = 0, limit: int = 10) -> list[Finding]:
        """Items whose reference, title or text contains ``text``, or whose observer,
        point or department it names (see :func:`_finding`), newest first; each with
        those names and what matched."""
        found, hits = _finding(text)
        stmt = (
            _with_names(
                sa.select(Suggestion, Observer.name, Point.code, Point.name, Department.name, *hits)
            )
            .where(found)
            .order_by(Suggestion.submitted_at.desc(), Suggestion.id.desc())
            .offset(offset)
            .limit(limit)
        )
        rows: Sequence[Any] = (await self.session.execute(stmt)).all()
        return [
            Finding(
                row[0],
                row[1],
                row[2],
                row[3],
                row[4],
                frozenset(name for name, hit in zip(MATCHES, row[5:], strict=True) if hit),
            )
            for row in rows
        ]

    async def count_matching(self, text: str) -> int:
        """How many items :meth:`find_matching` would list without its limit."""
        found, _hits = _finding(text)
        stmt = _with_names(sa.select(sa.func.count(Suggestion.id))).where(found)
        return int((await self.session.execute(stmt)).scalar_one())


# What /find compares its words with, in the order a result names them.
MATCHES = ("reference", "title", "body", "observer", "point", "department")


class Finding(NamedTuple):
    """An item /find found, the names it was compared with, and which matched."""

    item: Suggestion
    observer_name: str | None
    point_code: str | None
    point_name: str | None
    department_name: str | None
    matched: frozenset[str]


def _contains(column: Any, needle: str) -> sa.ColumnElement[bool]:
    # LIKE with escaped wildcards behaves the same on SQLite and PostgreSQL: % and _
    # typed by the office are literal. lower() makes it case-blind for Latin text.
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return sa.func.lower(column).like(f"%{escaped}%", escape="\\")


def _finding(text: str) -> tuple[sa.ColumnElement[bool], list[sa.Label[int]]]:
    """Whether an item matches ``text`` (the observer by a part of their name, the point
    and the department by their code or a part of their name), and one 1/0 column per
    name in :data:`MATCHES` saying which matched."""
    needle = text.strip().lower()
    tests = {
        "reference": _contains(Suggestion.reference, needle),
        "title": _contains(Suggestion.title, needle),
        "body": _contains(Suggestion.body, needle),
        "observer": _contains(Observer.name, needle),
        "point": sa.or_(sa.func.lower(Point.code) == needle, _contains(Point.name, needle)),
        "department": sa.or_(
            sa.func.lower(Department.code) == needle, _contains(Department.name, needle)
        ),
    }
    hits = [sa.case((tests[name], 1), else_=0).label(f"by_{name}") for name in MATCHES]
    return sa.or_(*tests.values()), hits


def _with_names(stmt: Any) -> Any:
    """Items with their observer, point and department (each may be missing), joined
    the ORM's way: an office's limit (``storage.scope``) then holds for the items and
    goes into each join's ON clause, so an item without a point is still found."""
    return (
        stmt.select_from(Suggestion)
        .outerjoin(Observer, Observer.id == Suggestion.observer_id)
        .outerjoin(Point, Point.id == Suggestion.point_id)
        .outerjoin(Department, Department.id == Suggestion.department_id)
    )


def _overdue(
    today: date,
) -> tuple[sa.ColumnElement[bool], sa.ColumnElement[bool], sa.ColumnElement[bool]]:
    """What is overdue today: an undecided item past its decision deadline, an item in
    its department past its due date, an escalated item whose answer from the city is
    late (the office chases it)."""
    undecided = sa.and_(
        Suggestion.status.in_([SuggestionStatus.SUBMITTED, SuggestionStatus.IN_REVIEW]),
        Suggestion.decision_due < today,
    )
    unimplemented = sa.and_(
        Suggestion.status.in_([SuggestionStatus.ADOPTED, SuggestionStatus.IMPLEMENTING]),
        Suggestion.implementation_due < today,
    )
    unanswered = sa.and_(
        Suggestion.status == SuggestionStatus.ESCALATED,
        Suggestion.city_answer_due < today,
    )
    return undecided, unimplemented, unanswered


class EventRepository(Repository[Event]):
    model = Event

    async def for_suggestion(
        self, suggestion_id: int, *, include_internal: bool = False
    ) -> Sequence[Event]:
        stmt = _EVENTS if include_internal else _OPEN_EVENTS
        return (await self.session.execute(stmt, {"item": suggestion_id})).scalars().all()

    async def named_for_suggestion(
        self, suggestion_id: int, *, include_internal: bool = False
    ) -> list[tuple[Event, str | None]]:
        """:meth:`for_suggestion`, each event with the name of who made it (None: no
        one, or someone the bot has no record of)."""
        stmt = _NAMED_EVENTS if include_internal else _NAMED_OPEN_EVENTS
        rows: Sequence[Any] = (await self.session.execute(stmt, {"item": suggestion_id})).all()
        return [
            (event, None if first is None else " ".join(filter(None, [first, last])))
            for event, first, last in rows
        ]


class AttachmentRepository(Repository[Attachment]):
    model = Attachment

    async def for_suggestion(self, suggestion_id: int) -> Sequence[Attachment]:
        return (await self.session.execute(_ATTACHMENTS, {"item": suggestion_id})).scalars().all()


class RatingRepository(Repository[Rating]):
    model = Rating

    async def for_suggestion(self, suggestion_id: int) -> Sequence[Rating]:
        return (await self.session.execute(_RATINGS, {"item": suggestion_id})).scalars().all()


class ReferenceCounterRepository(Repository[ReferenceCounter]):
    model = ReferenceCounter

    async def next_number(self, jurisdiction: str, year: int) -> int:
        """The next number for the year, unique however many processes ask at once.

        The increment is a single UPDATE: PostgreSQL's row lock and SQLite's write lock
        both serialise it, so two transactions can never read the same value.
        """
        table = table_of(ReferenceCounter)
        bump = (
            sa.update(table)
            .where(table.c.jurisdiction == jurisdiction, table.c.year == year)
            .values(last=table.c.last + 1)
            .returning(table.c.last)
        )
        number = (await self.session.execute(bump)).scalar_one_or_none()
        if number is None:
            try:
                async with self.session.begin_nested():
                    await self.session.execute(
                        sa.insert(table).values(jurisdiction=jurisdiction, year=year, last=0)
                    )
            except IntegrityError:
                pass  # another transaction created the year's row first; bump it below
            number = (await self.session.execute(bump)).scalar_one()
        return int(number)
