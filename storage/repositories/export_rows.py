"""The workbook's rows, read as cheaply as the database can hand them over.

/export reads every item of a period with its events and ratings: at a million items,
45 million values. So:

* the statements are built with Core and run on the driver's own connection (the
  session's, in its transaction): no ORM, no SQLAlchemy row processing, nothing made
  per value but what the driver makes (``sqlite3`` tuples, ``asyncpg`` records);
* moments come as **serial dates** (days since 1899-12-30, a float: Excel's own
  numbers), computed by the database, in the office's time zone when it keeps one
  offset (:class:`Shown`; otherwise in UTC, for ``bot.reports.workbook.LocalSerial``),
  and dates as whole serial days (an int), so no Python ``datetime`` is made at all;
* enum columns and flags come in the words the caller gives for each stored value
  (a ``CASE``: each word is made once, not once per row), or as the strings stored.

Rows are streamed in partitions, never loaded whole.

The office's scope (``storage.scope``) is an ORM hook, which these statements do not
pass through; so, as the scope's docstring asks of such statements, they take the
office themselves, exactly as the hook would have limited them
(``tests/storage/test_export_rows.py`` runs each one both ways and compares).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from bot.domain.lifecycle import Action
from bot.domain.rectifications import RectStatus
from bot.domain.roles import Role
from bot.domain.statuses import (
    Behalf,
    FocusDomain,
    HostKind,
    ObserverCategory,
    ObserverStatus,
    RatingValue,
    SuggestionKind,
    SuggestionStatus,
)
from storage.models import (
    Department,
    Event,
    Liaison,
    Observer,
    Office,
    Point,
    PrivacyRecord,
    Rating,
    Rectification,
    Suggestion,
    TelegramUser,
)
from storage.scope import office_limit

PARTITION = 5000


class utc_serial(FunctionElement[float]):
    """A stored UTC moment as Excel's serial date, in UTC: days since 1899-12-30."""

    type = sa.Float()
    inherit_cache = True
    name = "utc_serial"


class day_serial(FunctionElement[int]):
    """A stored date as Excel's serial day: whole days since 1899-12-30."""

    type = sa.Integer()
    inherit_cache = True
    name = "day_serial"


def _argument(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> str:
    (column,) = element.clauses
    return compiler.process(column, **kw)


@compiles(utc_serial, "sqlite")
def _utc_serial_sqlite(element: utc_serial, compiler: SQLCompiler, **kw: Any) -> str:
    # The Julian day of 1899-12-30 00:00 is 2415018.5.
    return f"(julianday({_argument(element, compiler, **kw)}) - 2415018.5)"


@compiles(utc_serial)
def _utc_serial_postgresql(element: utc_serial, compiler: SQLCompiler, **kw: Any) -> str:
    # PostgreSQL's (and standard SQL's). Naive UTC timestamps: the epoch counts from
    # 1970-01-01, serial 25569.
    column = _argument(element, compiler, **kw)
    return f"CAST(EXTRACT(EPOCH FROM {column}) / 86400 + 25569 AS DOUBLE PRECISION)"


@compiles(day_serial, "sqlite")
def _day_serial_sqlite(element: day_serial, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(julianday({_argument(element, compiler, **kw)}) - 2415018.5 AS INTEGER)"


@compiles(day_serial)
def _day_serial_postgresql(element: day_serial, compiler: SQLCompiler, **kw: Any) -> str:
    return f"({_argument(element, compiler, **kw)} - DATE '1899-12-30')"


def _stored(column: Any) -> Any:
    """An enum column as the string stored, not made into the enum row by row."""
    return sa.type_coerce(column, sa.String())


@dataclass(frozen=True)
class Shown:
    """How the rows show what is stored: the words for each stored value of an enum
    (``bool`` for flags), and the office's offset from UTC in days, if its zone keeps
    one (None: moments in UTC). Without words, values come as stored."""

    words: Mapping[type[Enum] | type[bool], Mapping[Any, str]] = field(default_factory=dict)
    offset: float | None = None

    def said(self, column: Any, kind: type[Enum]) -> Any:
        """An enum column in words (a value without one: as stored)."""
        words = self.words.get(kind)
        stored = _stored(column)
        if not words:
            return stored
        said = {str(value): text for value, text in words.items()}
        return sa.case(said, value=stored, else_=stored)

    def flag(self, condition: Any) -> Any:
        """A flag (or a condition) in words: yes, no, or nothing for NULL."""
        words = self.words.get(bool)
        if not words:
            return condition
        return sa.case({True: words[True], False: words[False]}, value=condition)

    def moment(self, column: Any) -> Any:
        serial = utc_serial(column)
        return serial if self.offset is None else serial + self.offset


def _in(lo: datetime, hi: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(Suggestion.submitted_at >= lo, Suggestion.submitted_at < hi)


def _item_seen(item: Any, office: int | None) -> sa.ColumnElement[bool]:
    """An item is its office's, and the office's it was reported to (the city's)."""
    if office is None:
        return sa.true()
    return sa.or_(item.office_id == office, item.above_id == office)


def _owned(model: Any, office: int | None) -> sa.ColumnElement[bool]:
    return sa.true() if office is None else model.office_id == office


class ExportRowsRepository:
    """The statements of the workbook's sheets. Each ``*_statement`` takes the office
    to limit it to (None: every office's) and how to show values; each ``*_rows`` runs
    it for the office the session is limited to, if any."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def office(self) -> int | None:
        return office_limit(self.session)

    async def _stream(self, stmt: Any) -> AsyncIterator[Sequence[Sequence[Any]]]:
        """The statement's rows, a partition at a time, read by the driver itself on
        the session's connection, in its transaction."""
        connection = await self.session.connection()
        dialect = connection.dialect
        # Values are the statement's own (moments, offices, words), never a person's
        # typing: written into the SQL, which the driver then runs as it is.
        sql = str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
        driver: Any = (await connection.get_raw_connection()).driver_connection
        if dialect.name == "postgresql":
            if not driver.is_in_transaction():
                # SQLAlchemy begins the session's transaction with its first statement.
                await connection.exec_driver_sql("SELECT 1")
            # A server-side cursor, in the transaction: a million rows are never in
            # memory at once.
            cursor = await driver.cursor(sql)
            while part := await cursor.fetch(PARTITION):
                yield part
            return
        cursor = await driver.execute(sql)
        try:
            while part := await cursor.fetchmany(PARTITION):
                yield part
        finally:
            await cursor.close()

    # ---- the period's items, their events and ratings ---------------------------------

    def item_statement(
        self, lo: datetime, hi: datetime, office: int | None, shown: Shown
    ) -> sa.Select[Any]:
        original = aliased(Suggestion)
        s = Suggestion
        return (
            sa.select(
                s.reference,
                shown.moment(s.submitted_at),
                shown.said(s.kind, SuggestionKind),
                shown.said(s.domain, FocusDomain),
                Point.code,
                Point.name,
                s.observer_id,
                Observer.name,
                s.title,
                s.body,
                shown.said(s.behalf, Behalf),
                s.location_text,
                s.latitude,
                s.longitude,
                shown.said(s.status, SuggestionStatus),
                shown.said(s.disposition, SuggestionStatus),
                Department.name,
                day_serial(s.decision_due),
                shown.moment(s.decided_at),
                shown.flag(s.decided_on_time),
                day_serial(s.implementation_due),
                shown.moment(s.implemented_at),
                shown.flag(s.implemented_on_time),
                s.escalated_to,
                day_serial(s.city_answer_due),
                original.reference,
                shown.moment(s.closed_at),
            )
            .outerjoin(Point, sa.and_(Point.id == s.point_id, _owned(Point, office)))
            .outerjoin(Observer, sa.and_(Observer.id == s.observer_id, _owned(Observer, office)))
            .outerjoin(
                Department, sa.and_(Department.id == s.department_id, _owned(Department, office))
            )
            .outerjoin(
                original,
                sa.and_(original.id == s.duplicate_of_id, _item_seen(original, office)),
            )
            .where(_in(lo, hi), _item_seen(s, office))
            .order_by(s.submitted_at, s.id)
        )

    def item_rows(self, lo: datetime, hi: datetime, shown: Shown) -> AsyncIterator[Sequence[Any]]:
        return self._stream(self.item_statement(lo, hi, self.office, shown))

    def event_statement(
        self, lo: datetime, hi: datetime, office: int | None, shown: Shown
    ) -> sa.Select[Any]:
        # An anonymised observer's Telegram id stays in the event log, not here: the
        # maker of a move is named unless an observer no longer linked to a record
        # (storage.repositories.privacy.nameable, with the office's observers only).
        linked = sa.exists(
            sa.select(Observer.id).where(
                Event.actor_user_id == Observer.user_id, _owned(Observer, office)
            )
        )
        nameable = sa.or_(Event.actor_role != Role.OBSERVER, linked)
        return (
            sa.select(
                Suggestion.reference,
                shown.moment(Event.created_at),
                shown.said(Event.action, Action),
                shown.said(Event.actor_role, Role),
                sa.case((nameable, Event.actor_user_id), else_=None),
                shown.said(Event.from_status, SuggestionStatus),
                shown.said(Event.to_status, SuggestionStatus),
                Event.text,
                shown.flag(Event.internal),
            )
            .join(Suggestion, Suggestion.id == Event.suggestion_id)
            .where(_in(lo, hi), _item_seen(Suggestion, office))
            .order_by(Event.id)
        )

    def event_rows(self, lo: datetime, hi: datetime, shown: Shown) -> AsyncIterator[Sequence[Any]]:
        return self._stream(self.event_statement(lo, hi, self.office, shown))

    def rating_statement(
        self, lo: datetime, hi: datetime, office: int | None, shown: Shown
    ) -> sa.Select[Any]:
        return (
            sa.select(
                Suggestion.reference,
                shown.moment(Rating.created_at),
                shown.said(Rating.value, RatingValue),
                Rating.comment,
            )
            .join(Suggestion, Suggestion.id == Rating.suggestion_id)
            .where(_in(lo, hi), _item_seen(Suggestion, office))
            .order_by(Rating.id)
        )

    def rating_rows(self, lo: datetime, hi: datetime, shown: Shown) -> AsyncIterator[Sequence[Any]]:
        return self._stream(self.rating_statement(lo, hi, self.office, shown))

    # ---- as things stand today --------------------------------------------------------

    def _rectification_seen(self, office: int | None) -> sa.ColumnElement[bool]:
        # A finding is the district's to put right and the city's that raised it.
        if office is None:
            return sa.true()
        return sa.or_(Rectification.office_id == office, Rectification.raised_by_id == office)

    def rectification_statement(self, office: int | None, shown: Shown) -> sa.Select[Any]:
        district, city = aliased(Office), aliased(Office)
        return (
            sa.select(
                Rectification.id,
                district.code,
                city.code,
                Rectification.text,
                day_serial(Rectification.due),
                shown.said(Rectification.status, RectStatus),
                shown.moment(Rectification.created_at),
                shown.moment(Rectification.closed_at),
            )
            .join(district, district.id == Rectification.office_id)
            .join(city, city.id == Rectification.raised_by_id)
            .where(self._rectification_seen(office))
            .order_by(Rectification.id)
        )

    def rectification_rows(self, shown: Shown) -> AsyncIterator[Sequence[Any]]:
        return self._stream(self.rectification_statement(self.office, shown))

    async def any_rectification(self) -> bool:
        stmt = sa.select(Rectification.id).where(self._rectification_seen(self.office)).limit(1)
        connection = await self.session.connection()
        return (await connection.execute(stmt)).first() is not None

    def observer_statement(self, office: int | None, shown: Shown) -> sa.Select[Any]:
        anonymised = (
            sa.select(sa.func.min(PrivacyRecord.created_at))
            .where(
                PrivacyRecord.subject == "observer",
                PrivacyRecord.subject_id == Observer.id,
                PrivacyRecord.action == "anonymised",
            )
            .scalar_subquery()
        )
        return (
            sa.select(
                Observer.id,
                Observer.name,
                # Whether one is on file: the number itself only on request (/observer).
                shown.flag(Observer.phone != ""),
                shown.said(Observer.category, ObserverCategory),
                Point.code,
                shown.said(Observer.status, ObserverStatus),
                Observer.recommending_unit,
                day_serial(Observer.term_start),
                day_serial(Observer.term_end),
                shown.moment(Observer.appointed_at),
                shown.moment(Observer.suspended_at),
                TelegramUser.username,
                shown.moment(anonymised),
            )
            .outerjoin(Point, sa.and_(Point.id == Observer.point_id, _owned(Point, office)))
            .outerjoin(TelegramUser, TelegramUser.id == Observer.user_id)
            .where(_owned(Observer, office))
            .order_by(Observer.id)
        )

    def observer_rows(self, shown: Shown) -> AsyncIterator[Sequence[Any]]:
        return self._stream(self.observer_statement(self.office, shown))

    def point_statement(self, office: int | None, shown: Shown) -> sa.Select[Any]:
        staffed = (
            sa.select(sa.func.count())
            .where(
                Observer.point_id == Point.id,
                Observer.status == "appointed",
                _owned(Observer, office),
            )
            .scalar_subquery()
        )
        return (
            sa.select(
                Point.code,
                Point.name,
                shown.said(Point.domain, FocusDomain),
                shown.said(Point.host_kind, HostKind),
                Point.host_organisation,
                Point.town,
                Point.street,
                shown.flag(Point.active),
                shown.moment(Point.closed_at),
                staffed,
            )
            .where(_owned(Point, office))
            .order_by(Point.code)
        )

    def point_rows(self, shown: Shown) -> AsyncIterator[Sequence[Any]]:
        return self._stream(self.point_statement(self.office, shown))

    def department_statement(self, office: int | None, shown: Shown) -> sa.Select[Any]:
        liaisons = (
            sa.select(sa.func.count())
            .where(Liaison.department_id == Department.id, Liaison.active.is_(True))
            .scalar_subquery()
        )
        return (
            sa.select(Department.code, Department.name, shown.flag(Department.active), liaisons)
            .where(_owned(Department, office))
            .order_by(Department.code)
        )

    def department_rows(self, shown: Shown) -> AsyncIterator[Sequence[Any]]:
        return self._stream(self.department_statement(self.office, shown))
