"""Rectification (整改): the city raises a finding for a district, the district puts it
right, the city accepts it or sends it back (``bot.domain.rectifications``).

Each step is kept in the rectification's log and told to the other office's group,
where its card follows it; the district's and the city's digests list the overdue
ones. Who moves is decided by where: in the district's group its admins act as the
district, in the city's as the city.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm.exc import StaleDataError

from bot.domain.errors import AlreadyMoved, InvalidInput, NotFound
from bot.domain.limits import TEXT_MAX, clean_text
from bot.domain.offices import OfficeInfo, OfficeTree
from bot.domain.permissions import Manage, require_manage
from bot.domain.rectifications import RectMove, RectStatus, Side, moves_for, settle
from bot.services import notify
from bot.services.actors import Actor
from bot.services.context import Service
from storage.models import Rectification

# A card's subject, and the notices' kinds ("rectification.raised", ".accept", ...).
RECTIFICATION = "rectification"
RAISED = "raised"
KIND = "rectification."


@dataclass(frozen=True, slots=True)
class RectStep:
    at: datetime
    move: str  # "raised" or a RectMove
    by: int | None
    by_name: str
    office: str  # the code of the office that made it
    text: str | None


@dataclass(frozen=True, slots=True)
class RectView:
    id: int
    district: OfficeInfo
    city: OfficeInfo
    text: str
    due: date
    status: RectStatus
    log: tuple[RectStep, ...]
    version: int
    created_at: datetime

    def overdue(self, today: date) -> bool:
        return self.status is not RectStatus.CLOSED and self.due < today

    def overdue_on(self, today: str) -> bool:
        """As :meth:`overdue`, for a day written as the cards write it (ISO)."""
        return self.overdue(date.fromisoformat(today))

    def moves(self, side: Side | None) -> list[RectMove]:
        return moves_for(self.status, side) if side is not None else []

    def side_of(self, office_id: int | None) -> Side | None:
        """Which side an office's group is of this rectification (None: neither)."""
        if office_id == self.district.id:
            return Side.DISTRICT
        if office_id == self.city.id:
            return Side.CITY
        return None


def _step(
    at: datetime, move: str, by: int | None, name: str, office: str, text: str | None
) -> dict[str, Any]:
    return {
        "at": at.isoformat(),
        "move": move,
        "by": by,
        "by_name": name,
        "office": office,
        "text": text,
    }


def view_of(row: Rectification, tree: OfficeTree) -> RectView:
    district, city = tree.get(row.office_id), tree.get(row.raised_by_id)
    if district is None or city is None:
        raise NotFound(f"no rectification {row.id}", rectification_id=row.id)
    log = tuple(
        RectStep(
            datetime.fromisoformat(s["at"]),
            str(s["move"]),
            s.get("by"),
            str(s.get("by_name") or ""),
            str(s.get("office") or ""),
            s.get("text"),
        )
        for s in row.log
    )
    return RectView(
        row.id, district, city, row.text, row.due, row.status, log, row.version, row.created_at
    )


class RectificationService(Service):
    async def raise_finding(
        self, actor: Actor, district_code: str, due: date, text: str, *, by_name: str = ""
    ) -> RectView:
        """The city (this office) raises a finding for one of the offices directly below
        it, due on ``due``; the district's group gets its card."""
        require_manage(actor.view, Manage.RECTIFY)
        tree = await self.offices()
        me = tree.get(self.policy.office_id)
        district = tree.by_code(district_code)
        if me is None or district is None or district.parent_id != me.id:
            raise NotFound(f"no office {district_code} below this one", code=district_code)
        if due < self.today():
            raise InvalidInput("the due date is in the past", due=due.isoformat())
        words = clean_text(text, TEXT_MAX, field="text")
        now = self.now()
        row = Rectification(
            office_id=district.id,
            raised_by_id=me.id,
            text=words,
            due=due,
            status=RectStatus.RAISED,
            log=[_step(now, RAISED, actor.user_id, by_name, me.code, None)],
            created_by=actor.user_id,
            created_at=now,
        )
        await self.store.rectifications.add(row)
        await self._tell(row, RAISED, district.id)
        return view_of(row, tree)

    async def move(
        self,
        actor: Actor,
        rectification_id: int,
        move: RectMove,
        text: str | None = None,
        *,
        version: int | None = None,
        by_name: str = "",
    ) -> RectView:
        """A step on the rectification, by the office whose group this is: the
        district's (accept, progress, done) or the city's (approve, send back)."""
        require_manage(actor.view, Manage.RECTIFY)
        row = await self._row(rectification_id)
        tree = await self.offices()
        view = view_of(row, tree)
        side = view.side_of(self.policy.office_id)
        if side is None:
            raise NotFound(f"no rectification {rectification_id}")
        if version is not None and version != row.version:
            raise AlreadyMoved("the rectification moved since it was shown", status=row.status)
        words = clean_text(text, TEXT_MAX, field="text", required=False) or None
        target = settle(row.status, move, side, words)
        now = self.now()
        acting = view.district if side is Side.DISTRICT else view.city
        row.status = target
        row.log = [*row.log, _step(now, move.value, actor.user_id, by_name, acting.code, words)]
        if target is RectStatus.CLOSED:
            row.closed_at = now
        try:
            await self.store.flush()
        except StaleDataError as exc:
            raise AlreadyMoved("someone else moved it first", status=row.status) from exc
        other = view.city if side is Side.DISTRICT else view.district
        await self._tell(row, move.value, other.id)
        return view_of(row, tree)

    async def get(self, actor: Actor, rectification_id: int) -> RectView:
        require_manage(actor.view, Manage.RECTIFY)
        return view_of(await self._row(rectification_id), await self.offices())

    async def open(self, actor: Actor) -> list[RectView]:
        """The open rectifications this office's group sees: its own to put right, and
        those it raised."""
        require_manage(actor.view, Manage.RECTIFY)
        tree = await self.offices()
        return [view_of(row, tree) for row in await self.store.rectifications.open()]

    async def _row(self, rectification_id: int) -> Rectification:
        row = await self.store.rectifications.get(rectification_id)
        if row is None:
            raise NotFound(f"no rectification {rectification_id}")
        return row

    async def _tell(self, row: Rectification, move: str, office_id: int) -> None:
        payload = {"rectification_id": row.id, "move": move}
        await notify.to_admins(self.store, KIND + move, payload, at=self.now(), office_id=office_id)
