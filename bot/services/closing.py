"""Closing items nobody closes by hand.

An implemented item waits for the observer's rating; one kept for reference, declined
or marked duplicate waits for the observer to see the answer. After
``Policy.close_after_days`` working days the system closes it, so the office's open
list only holds work that is really open.
"""

from __future__ import annotations

from bot.domain.calendar import local_date
from bot.domain.errors import DomainError
from bot.domain.statuses import SuggestionStatus
from bot.services.actors import SYSTEM
from bot.services.context import Service
from bot.services.suggestions import SuggestionService


class ClosingService(Service):
    async def close_waiting(self) -> list[str]:
        """Close every item whose waiting period is over; returns their references."""
        calendar = await self.calendar()
        today = self.today()
        moves = SuggestionService(self.store, self.policy, self.clock)
        closed: list[str] = []
        for item in await self.store.suggestions.closable():
            started = (
                item.implemented_at
                if item.status is SuggestionStatus.IMPLEMENTED
                else item.decided_at
            )
            if started is None:
                continue
            start_day = local_date(started, self.policy.tz)
            if calendar.working_days_between(start_day, today) < self.policy.close_after_days:
                continue
            try:
                await moves.close(SYSTEM, item.id, version=item.version)
            except DomainError:
                continue  # moved meanwhile (rated, reopened): nothing to close
            closed.append(item.reference)
        return closed
