"""What every repository shares: a session it flushes and never commits."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import instance_state

from storage.models import Base
from storage.repositories.arrival import held
from storage.scope import ANYWHERE

M = TypeVar("M", bound=Base)
T = TypeVar("T")

# Each model's primary key column types, looked up once (get runs for every update).
_KEY_TYPES: dict[type[Base], tuple[sa.types.TypeEngine[object], ...]] = {}


def storable(value: object, column_type: sa.types.TypeEngine[object]) -> bool:
    """Whether ``value`` could be in a column of ``column_type`` at all.

    An id from outside (a button's callback data, a command's argument) may be any
    integer; asyncpg refuses one beyond the column's range, and SQLite one beyond 64
    bits, each with its own error. PostgreSQL's ranges hold on both databases, since
    no row anywhere can have such an id: it is simply not found.
    """
    if not isinstance(value, int) or isinstance(value, bool):
        return True
    if isinstance(column_type, sa.BigInteger):
        bits = 64
    elif isinstance(column_type, sa.SmallInteger):
        bits = 16
    elif isinstance(column_type, sa.Integer):
        bits = 32
    else:
        return True
    limit = 1 << (bits - 1)
    return -limit <= value < limit


def per_database(build: Callable[[Any], T]) -> dict[str, T]:
    """A statement built once for each database, from its dialect's ``insert`` (the two
    spell ``ON CONFLICT`` apart); :meth:`Repository.ours` picks the session's. Built
    once: building one costs more than SQLite takes to answer it."""
    return {"postgresql": build(postgresql.insert), "sqlite": build(sqlite.insert)}


def table_of(model: type[Any]) -> sa.Table:
    """The model's table, for statements that need no ORM: an INSERT or UPDATE named by
    the model (or with a model's attribute anywhere in it) goes through the ORM's bulk
    machinery, which costs more than SQLite takes to answer it."""
    table = model.__table__
    assert isinstance(table, sa.Table)
    return table


class Repository(Generic[M]):
    model: type[M]

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def can_hold(self, id_: object) -> bool:
        """Whether a row of this model could have ``id_`` as its primary key at all; a
        lookup of one that could not is "not found" without asking the database."""
        types = _KEY_TYPES.get(self.model)
        if types is None:
            types = _KEY_TYPES[self.model] = tuple(
                column.type for column in sa.inspect(self.model).primary_key
            )
        values = id_ if isinstance(id_, tuple) else (id_,)
        return len(values) != len(types) or all(
            storable(value, kind) for value, kind in zip(values, types, strict=True)
        )

    def ours(self, built: Mapping[str, T]) -> T:
        """Of statements built :func:`per_database`, the one for this session's."""
        name = self.session.get_bind().dialect.name
        return built["postgresql" if name == "postgresql" else "sqlite"]

    async def get(self, id_: object, *, anywhere: bool = False) -> M | None:
        """The row with this primary key; None when there is none or there cannot be.
        ``anywhere``: whichever office's it is (``storage.scope``)."""
        if not self.can_hold(id_):
            return None
        kept = held(self.session, self.model, id_)
        if isinstance(kept, self.model) and not instance_state(kept).expired:
            # What session.get returns for a row it holds, without its greenlet and
            # machinery: most lookups of an update find a row it loaded already.
            return kept
        if anywhere:
            return await self.session.get(self.model, id_, execution_options={ANYWHERE: True})
        return await self.session.get(self.model, id_)

    async def add(self, row: M) -> M:
        self.session.add(row)
        await self.session.flush()
        return row
