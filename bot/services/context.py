"""What every use case needs besides the store: the office's policy and a clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.calendar import WorkingCalendar, local_date
from bot.domain.offices import HOME, OfficeTree
from storage.store import Store

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Policy:
    """The office's rules of practice, taken from the settings at start-up; each office
    has its own (its code and id), the rest is the deployment's."""

    jurisdiction: str = "WZ"
    # The office acting (in its group), or the home office's (in private chats).
    office_id: int = HOME
    decision_days: int = 5
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    invite_ttl: timedelta = timedelta(days=7)
    # Implemented items close by themselves after this many working days unrated.
    close_after_days: int = 10
    # Working days the city has to answer an escalated item before the office chases.
    city_answer_days: int = 20
    # Working days before a due date that a department's liaisons are reminded.
    remind_days_before: int = 1
    # The local hour of the daily digest, the reminders and the weekly summary.
    digest_hour: int = 9
    # Days an application not approved is kept (after its rejection, or after it was
    # filed while nobody decided it) before the scheduler erases it.
    applications_kept_days: int = 90


class Service:
    def __init__(self, store: Store, policy: Policy | None = None, clock: Clock = system_clock):
        self.store = store
        self.policy = policy or Policy()
        self.clock = clock

    def now(self) -> datetime:
        moment = self.clock()
        if moment.tzinfo is None:
            raise ValueError("the clock must give aware datetimes")
        return moment

    def today(self) -> date:
        return local_date(self.now(), self.policy.tz)

    async def offices(self) -> OfficeTree:
        """Every office (kept a while: ``storage.kept``)."""
        return await self.store.offices.tree()

    async def office_code(self, office_id: int) -> str:
        """The code that starts the references of the office ``office_id``."""
        if office_id == self.policy.office_id:
            return self.policy.jurisdiction
        office = (await self.offices()).get(office_id)
        return office.code if office is not None else self.policy.jurisdiction

    async def calendar(self) -> WorkingCalendar:
        holidays, workdays = await self.store.calendar.exceptions()
        return WorkingCalendar.of(holidays=holidays, workdays=workdays)
