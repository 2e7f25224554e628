"""The scheduler's work: reminders, digests and the weekly summary, each queued once.

:meth:`ReminderService.run_due` is called every minute or so by whichever process holds
the scheduler's lease (``bot.runtime.scheduler``). At the office's digest hour on a
working day it queues, through the outbox:

- to the admin group: the items whose first decision is due on the next working day;
  the daily overdue digest (decisions, implementations, the city's answers); on the
  first working day of a week, the summary of the week before. The digest and the
  summary name the years in use whose working-day calendar is not loaded, so that a
  deadline counted over an unknown New Year or Spring Festival does not go unnoticed;
- to each department's liaisons: the items due within ``remind_days_before`` working
  days, and a chase for those past due (on the first working day after the due date
  and every five working days after that, not every day: a chase that comes daily is
  soon ignored).

Each message is keyed (kind, day or week, department): the key is written in the same
transaction as the message, under a unique constraint, so a reminder goes once however
many processes run and however often they restart. A process that was down at the
digest hour sends the day's messages when it comes back, the same day.

Once a day it also closes the items whose waiting period is over
(``bot.services.closing``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from bot.domain.calendar import WorkingCalendar
from bot.domain.limits import TITLE_MAX
from bot.domain.names import carry
from bot.domain.notices import Notice
from bot.domain.offices import HOME
from bot.domain.periods import utc_midnight
from bot.domain.statuses import SuggestionStatus
from bot.services import notify
from bot.services.calendar import missing_calendars
from bot.services.closing import ClosingService
from bot.services.context import Service
from bot.services.notify import LIAISON
from storage.models import Suggestion
from storage.scope import lift_office_limit, limit_to_office

S = SuggestionStatus
# Items listed in one message's payload; the text says how many more there are.
LISTED_MAX = 30
CHASE_EVERY = 5  # working days between two chases of the same overdue item

KIND_CLOSE = "close"


@dataclass
class Queued:
    """What one run queued, by reminder kind (for logs and tests)."""

    kinds: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)


def _line(item: Suggestion, due: date | None, today: date) -> dict[str, Any]:
    return {
        "reference": item.reference,
        "title": item.title[:TITLE_MAX],
        "due": due.isoformat() if due else None,
        "late": (today - due).days if due and due < today else 0,
        "department_id": item.department_id,
    }


def _listing(lines: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {"items": list(lines[:LISTED_MAX]), "total": len(lines)}


@dataclass(frozen=True, slots=True)
class _Office:
    """The office a digest is for, and what its reminder keys end with."""

    id: int
    key: str


class ReminderService(Service):
    async def run_due(self) -> Queued:
        now = self.now()
        local = now.astimezone(self.policy.tz)
        today = local.date()
        calendar = await self.calendar()
        queued = Queued()
        if await self.store.reminders.claim(KIND_CLOSE, today.isoformat(), now):
            closer = ClosingService(self.store, self.policy, self.clock)
            queued.closed = await closer.close_waiting()
            queued.kinds.append(KIND_CLOSE)
        if not calendar.is_working_day(today) or local.hour < self.policy.digest_hour:
            return queued
        # Years whose deadlines are counted without their holidays: said in the digests
        # until the office loads them.
        missing = await missing_calendars(self.store, calendar, today)
        tree = await self.offices()
        # Each office's digests go to its group, of its own items only; the home office's
        # keep the keys they had before there were several offices.
        for office in tree:
            if office.id != HOME and not office.bound:
                continue
            each = _Office(office.id, "" if office.id == HOME else f":{office.code}")
            if len(tree) > 1:
                limit_to_office(self.store.session, office.id)
            try:
                await self._decision_due(calendar, today, now, queued, each)
                await self._overdue(today, now, queued, missing, each)
                await self._weekly(calendar, today, now, queued, missing, each)
            finally:
                lift_office_limit(self.store.session)
        await self._departments(calendar, today, now, queued)
        return queued

    async def _claim(self, notice: Notice, key: str, now: datetime) -> bool:
        return await self.store.reminders.claim(notice.value, key, now)

    async def _decision_due(
        self, calendar: WorkingCalendar, today: date, now: datetime, queued: Queued, of: _Office
    ) -> None:
        if not await self._claim(Notice.DECISION_DUE_SOON, today.isoformat() + of.key, now):
            return
        tomorrow = calendar.add_working_days(today, 1)
        items = await self.store.suggestions.decision_due_between(today, tomorrow)
        if not items:
            return
        lines = [_line(i, i.decision_due, today) for i in items]
        payload = {"day": tomorrow.isoformat(), **_listing(lines)}
        await notify.to_admins(
            self.store, Notice.DECISION_DUE_SOON, payload, at=now, office_id=of.id
        )
        queued.kinds.append(Notice.DECISION_DUE_SOON.value)

    async def _overdue(
        self, today: date, now: datetime, queued: Queued, missing: list[int], of: _Office
    ) -> None:
        if not await self._claim(Notice.OVERDUE_DIGEST, today.isoformat() + of.key, now):
            return
        total = await self.store.suggestions.count_overdue(today)
        # Findings past their due date: the district's to put right, the city's to chase.
        rectifying = await self.store.rectifications.overdue(today)
        if not total and not rectifying:
            return
        items = await self.store.suggestions.overdue(today, limit=LISTED_MAX)
        codes = {office.id: office.code for office in await self.offices()}
        decisions, implementations, city = [], [], []
        for item in items:
            if item.status in (S.SUBMITTED, S.IN_REVIEW):
                decisions.append(_line(item, item.decision_due, today))
            elif item.status is S.ESCALATED:
                city.append(_line(item, item.city_answer_due, today))
            else:
                implementations.append(_line(item, item.implementation_due, today))
        payload = {
            "day": today.isoformat(),
            "total": total,
            "decisions": decisions,
            "implementations": implementations,
            "city": city,
            "calendars_missing": missing,
            "rectifications": [
                {
                    "id": r.id,
                    "office": codes.get(r.office_id, ""),
                    "due": r.due.isoformat(),
                    "late": (today - r.due).days,
                    "text": r.text[:TITLE_MAX],
                }
                for r in rectifying[:LISTED_MAX]
            ],
        }
        await notify.to_admins(self.store, Notice.OVERDUE_DIGEST, payload, at=now, office_id=of.id)
        queued.kinds.append(Notice.OVERDUE_DIGEST.value)

    async def _departments(
        self, calendar: WorkingCalendar, today: date, now: datetime, queued: Queued
    ) -> None:
        until = calendar.add_working_days(today, self.policy.remind_days_before)
        soon: dict[int, list[dict[str, Any]]] = {}
        chase: dict[int, list[dict[str, Any]]] = {}
        for item in await self.store.suggestions.implementation_due_by(until):
            due, owner = item.implementation_due, item.department_id
            if due is None or owner is None:
                continue
            if due >= today:
                soon.setdefault(owner, []).append(_line(item, due, today))
                continue
            late = calendar.working_days_between(due, today)
            if late >= 1 and (late - 1) % CHASE_EVERY == 0:
                chase.setdefault(owner, []).append(_line(item, due, today))
        for notice, groups in (
            (Notice.DEPARTMENT_DUE_SOON, soon),
            (Notice.DEPARTMENT_OVERDUE, chase),
        ):
            for department_id, lines in sorted(groups.items()):
                key = f"{department_id}:{today.isoformat()}"
                if not await self._claim(notice, key, now):
                    continue
                department = await self.store.departments.get(department_id)
                liaisons = await self.store.liaisons.for_department(department_id)
                payload = {
                    "day": today.isoformat(),
                    **carry("department", department.naming if department else None),
                    **_listing(lines),
                }
                for liaison in liaisons:
                    await notify.to_user(
                        self.store,
                        liaison.user_id,
                        notice,
                        payload,
                        audience=LIAISON,
                        at=now,
                    )
                if liaisons:
                    queued.kinds.append(notice.value)

    async def _weekly(
        self,
        calendar: WorkingCalendar,
        today: date,
        now: datetime,
        queued: Queued,
        missing: list[int],
        of: _Office,
    ) -> None:
        monday = today - timedelta(days=today.weekday())
        # The week's first working day: a holiday Monday moves the summary to Tuesday.
        first = monday
        while not calendar.is_working_day(first):
            first += timedelta(days=1)
        if today != first:
            return
        year, week, _ = (monday - timedelta(days=7)).isocalendar()
        if not await self._claim(Notice.WEEKLY_SUMMARY, f"{year}-W{week:02d}{of.key}", now):
            return
        tz = self.policy.tz
        lo, hi = utc_midnight(monday - timedelta(days=7), tz), utc_midnight(monday, tz)
        repo = self.store.suggestions
        payload = {
            "year": year,
            "week": week,
            "from": (monday - timedelta(days=7)).isoformat(),
            "to": (monday - timedelta(days=1)).isoformat(),
            "received": await repo.count_between("submitted_at", lo, hi),
            "decided": await repo.count_between("decided_at", lo, hi),
            "adopted": await repo.count_adopted_between(lo, hi),
            "implemented": await repo.count_between("implemented_at", lo, hi),
            "awaiting": await repo.count_with_status([S.SUBMITTED, S.IN_REVIEW, S.ESCALATED]),
            "overdue": await repo.count_overdue(today),
            "calendars_missing": missing,
        }
        await notify.to_admins(self.store, Notice.WEEKLY_SUMMARY, payload, at=now, office_id=of.id)
        queued.kinds.append(Notice.WEEKLY_SUMMARY.value)
