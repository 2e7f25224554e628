"""The rows of the office's workbook (/export, ``outpost export``), a partition at a time.

What the rows hold is what the database hands over, for speed (a busy city's year is
45 million values; see ``storage.repositories.export_rows``): moments as serial dates
(days since 1899-12-30, floats) in the office's time zone when :class:`Shown` gives its
offset, else in UTC; dates as whole serial days; enums and flags in the words
:class:`Shown` gives for each stored value, else as stored.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from bot.domain.periods import Period
from bot.domain.permissions import Manage, require_manage
from bot.services.actors import Actor
from bot.services.context import Clock, Policy, Service
from storage.repositories.export_rows import ExportRowsRepository, Shown
from storage.scope import limit_to_office, office_limit
from storage.store import Store

__all__ = ["AS_STORED", "ExportService", "Shown", "export_in", "office_of"]

# Values as stored, moments in UTC.
AS_STORED = Shown()


class ExportService(Service):
    @property
    def _rows(self) -> ExportRowsRepository:
        return ExportRowsRepository(self.store.session)

    @staticmethod
    def _require(actor: Actor) -> None:
        require_manage(actor.view, Manage.VIEW_FIGURES)

    def item_rows(
        self, actor: Actor, period: Period, shown: Shown = AS_STORED
    ) -> AsyncIterator[Sequence[Any]]:
        """reference, submitted_at, kind, domain, point code, point name, observer id,
        observer name, title, body, behalf, location text, latitude, longitude, status,
        disposition, department, decision_due, decided_at, decided_on_time,
        implementation_due, implemented_at, implemented_on_time, escalated_to,
        city_answer_due, duplicate of, closed_at — the period's items, by filing time."""
        self._require(actor)
        return self._rows.item_rows(*period.bounds(self.policy.tz), shown)

    def event_rows(
        self, actor: Actor, period: Period, shown: Shown = AS_STORED
    ) -> AsyncIterator[Sequence[Any]]:
        """reference, created_at, action, actor role, actor user id, from, to, text,
        internal — of the period's items."""
        self._require(actor)
        return self._rows.event_rows(*period.bounds(self.policy.tz), shown)

    def rating_rows(
        self, actor: Actor, period: Period, shown: Shown = AS_STORED
    ) -> AsyncIterator[Sequence[Any]]:
        """reference, created_at, value, comment — of the period's items."""
        self._require(actor)
        return self._rows.rating_rows(*period.bounds(self.policy.tz), shown)

    def rectification_rows(
        self, actor: Actor, shown: Shown = AS_STORED
    ) -> AsyncIterator[Sequence[Any]]:
        """id, district, raised by, finding, due, status, raised at, closed at."""
        self._require(actor)
        return self._rows.rectification_rows(shown)

    async def any_rectification(self, actor: Actor) -> bool:
        self._require(actor)
        return await self._rows.any_rectification()

    def observer_rows(self, actor: Actor, shown: Shown = AS_STORED) -> AsyncIterator[Sequence[Any]]:
        """id, name, whether a phone number is on file, category, point code, status,
        recommending unit, term start, term end, appointed_at, suspended_at, Telegram
        username, when the observer was anonymised."""
        self._require(actor)
        return self._rows.observer_rows(shown)

    def point_rows(self, actor: Actor, shown: Shown = AS_STORED) -> AsyncIterator[Sequence[Any]]:
        """code, name, domain, host kind, host organisation, town, street, active,
        closed_at, appointed observers."""
        self._require(actor)
        return self._rows.point_rows(shown)

    def department_rows(
        self, actor: Actor, shown: Shown = AS_STORED
    ) -> AsyncIterator[Sequence[Any]]:
        """code, name, active, active liaisons."""
        self._require(actor)
        return self._rows.department_rows(shown)


def office_of(service: Service) -> int | None:
    """The office ``service``'s transaction is limited to (None: every office's rows)."""
    return office_limit(service.store.session)


@asynccontextmanager
async def export_in(
    reading: AbstractAsyncContextManager[Store], office: int | None, policy: Policy, clock: Clock
) -> AsyncIterator[ExportService]:
    """The export's rows read in a transaction of their own (``reading``: a snapshot,
    after the update committed), limited to ``office`` as the update's was."""
    async with reading as store:
        if office is not None:
            limit_to_office(store.session, office)
        yield ExportService(store, policy, clock)
