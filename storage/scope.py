"""An office's group sees only its own office's rows.

In a deployment of several offices, the transaction of an update from an office's
group is limited to that office (:func:`limit_to_office`): every ORM statement it runs
(select, update, delete) reads and changes only the points, observers, applications,
departments, items and broadcasts of that office (and the items reported to it: the
city's), whichever repository or service built the statement. A district's admins
cannot see or move another district's item, even by typing its reference.

The limit is SQLAlchemy's documented global filter (``with_loader_criteria`` added in
``do_orm_execute``); statements on plain tables (``Model.__table__``) are not limited,
and the repositories that use them take the office themselves.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from storage.models import (
    Application,
    Broadcast,
    Department,
    FigureDecisions,
    FigureDepartments,
    FigureDomains,
    FigureKinds,
    FigureObservers,
    FigurePoints,
    FigureRatings,
    Observer,
    Point,
    Rectification,
    Suggestion,
)

_OFFICE = "outpost_office"
SCOPED: tuple[type[Any], ...] = (Application, Broadcast, Department, Observer, Point, Suggestion)
_OWNED: tuple[type[Any], ...] = (
    *(model for model in SCOPED if model is not Suggestion),
    FigureObservers,
)
# The figures' summaries count items, and are seen as their items are.
_AS_ITEMS: tuple[type[Any], ...] = (
    FigurePoints,
    FigureDomains,
    FigureKinds,
    FigureRatings,
    FigureDecisions,
    FigureDepartments,
)


def limit_to_office(session: AsyncSession | Session, office_id: int) -> None:
    """From now on, ``session`` sees only the office ``office_id``'s rows."""
    target = session.sync_session if isinstance(session, AsyncSession) else session
    target.info[_OFFICE] = office_id


def lift_office_limit(session: AsyncSession | Session) -> None:
    target = session.sync_session if isinstance(session, AsyncSession) else session
    target.info.pop(_OFFICE, None)


def office_limit(session: AsyncSession | Session) -> int | None:
    target = session.sync_session if isinstance(session, AsyncSession) else session
    found = target.info.get(_OFFICE)
    return found if isinstance(found, int) else None


# An execution option for the few reads that must cross offices: the observer of an
# item reported to the city, to be told of the city's answer.
ANYWHERE = "outpost_anywhere"


@event.listens_for(Session, "do_orm_execute")
def _within_the_office(state: ORMExecuteState) -> None:
    office = state.session.info.get(_OFFICE)
    if office is None or state.is_column_load or state.is_relationship_load:
        return
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.execution_options.get(ANYWHERE):
        return
    state.statement = state.statement.options(
        # An item is its office's, and the office's it was reported to (the city's).
        with_loader_criteria(
            Suggestion,
            lambda cls: sa.or_(cls.office_id == office, cls.above_id == office),
            include_aliases=True,
        ),
        *(
            with_loader_criteria(
                model,
                lambda cls: sa.or_(cls.office_id == office, cls.above_id == office),
                include_aliases=True,
            )
            for model in _AS_ITEMS
        ),
        # A finding is the district's to put right and the city's that raised it.
        with_loader_criteria(
            Rectification,
            lambda cls: sa.or_(cls.office_id == office, cls.raised_by_id == office),
            include_aliases=True,
        ),
        *(
            with_loader_criteria(model, lambda cls: cls.office_id == office, include_aliases=True)
            for model in _OWNED
        ),
    )
