"""The suggestion lifecycle as use cases: filing, deciding, implementing, rating.

Every move goes through :meth:`SuggestionService._move`, which asks the domain's
transition table, writes the new status under the item's version (so two people
pressing at once cannot both win), appends one event and queues the notifications
the table asks for — all in the caller's transaction.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from bot.domain.calendar import due_after, local_date, local_day_number, on_time
from bot.domain.errors import (
    AlreadyMoved,
    AlreadyRated,
    Conflict,
    InvalidInput,
    MissingInput,
    NotAppointed,
    NotFound,
    NotPermitted,
    PointInactive,
)
from bot.domain.lifecycle import (
    DECISIONS,
    INITIAL_STATUS,
    SUBMIT_TELLS,
    Action,
    Need,
    Transition,
    allowed_actions,
    find,
    transition,
)
from bot.domain.limits import (
    ATTACHMENTS_MAX,
    BODY_MAX,
    COMMENT_MAX,
    LOCATION_MAX,
    TEXT_MAX,
    TITLE_MAX,
    clean_text,
)
from bot.domain.names import carry
from bot.domain.notices import Notice, item_notice
from bot.domain.permissions import (
    ItemView,
    Manage,
    acting_roles,
    may_view,
    relations,
    require_manage,
)
from bot.domain.references import make_reference, parse_reference
from bot.domain.roles import Role
from bot.domain.statuses import DECIDED, ObserverStatus, RatingValue, SuggestionStatus
from bot.services import notify
from bot.services.actors import Actor
from bot.services.cards import ITEM, RESYNC_GRACE, CardService
from bot.services.context import Service
from bot.services.views import (
    AttachmentIn,
    AttachmentInfo,
    Draft,
    Found,
    FoundPage,
    Page,
    RatingInfo,
    SuggestionDetail,
    SuggestionInfo,
    TimelineEntry,
)
from storage.models import Attachment, Event, Rating, Suggestion

PAGE_SIZE = 8
_FILE_ID_MAX, _FILE_UNIQUE_ID_MAX, _FILE_NAME_MAX, _MIME_MAX = 256, 64, 256, 128
ESCALATED_TO_MAX = 200  # the width of suggestions.escalated_to
# The key of an adoption's event payload holding the office's instruction to the
# department (never part of what the observer is shown).
INSTRUCTION = "instruction"
# The outcomes an observer is asked to rate.
_RATEABLE = frozenset(
    {SuggestionStatus.IMPLEMENTED, SuggestionStatus.REFERENCE, SuggestionStatus.DECLINED}
)
_AWAITING = (SuggestionStatus.SUBMITTED, SuggestionStatus.IN_REVIEW, SuggestionStatus.ESCALATED)


def _may_have_files(events: Sequence[Event]) -> bool:
    """Whether an item may have attachments: its filing says how many files came with
    it and every move that added some says so (an item filed before they did is looked
    up all the same)."""
    filed = next((e for e in events if e.action is Action.SUBMIT), None)
    if filed is None or notify.FILES not in filed.payload:
        return True
    return any(e.payload.get(notify.FILES) for e in events)


# Keys of event payloads: the date the observer is to answer the office's question by
# (asking, chasing), the question a reminder repeats, and the due date a reopening
# dropped.
ANSWER_DUE = "answer_due"
QUESTION = "question"
PREVIOUS_DUE = "previous_due"


class AlreadyChased(Conflict):
    """The observer was reminded of the office's question today already."""


@dataclass(frozen=True, slots=True)
class Waiting:
    """An item waiting on its observer's answer, and the date it was due by."""

    info: SuggestionInfo
    answer_due: date


def answer_due(payloads: Iterable[Mapping[str, Any]], fallback: date) -> date:
    """The date the observer is to answer by: the latest question's or reminder's (of
    their payloads, oldest first); ``fallback`` (the decision deadline the item had) for
    a question asked before the dates were recorded."""
    for payload in reversed(list(payloads)):
        raw = payload.get(ANSWER_DUE)
        if isinstance(raw, str):
            try:
                return date.fromisoformat(raw)
            except ValueError:
                continue
    return fallback


# The moves that record a rating.
_RATING_MOVES = frozenset({Action.RATE, Action.REOPEN, Action.DISPUTE})
# What "dissatisfied" does, by the outcome rated (elsewhere it is a rating like any).
_DISSATISFIED = {
    SuggestionStatus.IMPLEMENTED: Action.REOPEN,
    SuggestionStatus.REFERENCE: Action.DISPUTE,
    SuggestionStatus.DECLINED: Action.DISPUTE,
}
# The key of a rating move's event payload naming the rating (cards show it).
RATING = "rating"


def _rated_since_outcome(events: Sequence[Event], ratings: Sequence[Rating]) -> bool:
    """One rating per outcome: whether the latest outcome (a move into a rateable
    status; internal notes never move an item) has been rated."""
    outcome = max(
        (e.id for e in events if e.to_status in _RATEABLE and e.from_status != e.to_status),
        default=0,
    )
    return any((r.event_id or 0) > outcome for r in ratings)


_IN_DEPARTMENT = (SuggestionStatus.ADOPTED, SuggestionStatus.IMPLEMENTING)
# The answers of the office an item was reported to (the city's), and its question back.
_ANSWERS = frozenset(
    {Action.CITY_ADOPT, Action.CITY_REFERENCE, Action.CITY_DECLINE, Action.CITY_RETURN}
)
_RETURN = Action.CITY_RETURN
# Roles that act as themselves, not as an office (an observer's, a liaison's moves).
_NOT_AN_OFFICE = frozenset({Role.OBSERVER, Role.LIAISON, Role.SYSTEM})
# When one person holds several roles, the event records the most specific one.
_ROLE_PRECEDENCE = (Role.OBSERVER, Role.LIAISON, Role.ADMIN, Role.SYSTEM)


def _item_view(item: Suggestion) -> ItemView:
    return ItemView(item.observer_id, item.department_id, item.status)


# The key of an event's payload marking a move an operator made (ADMIN_IDS).
OPERATOR = "operator"


class SuggestionService(Service):
    # ---- filing ---------------------------------------------------------------------

    async def submit(self, actor: Actor, draft: Draft) -> SuggestionInfo:
        """File a confirmed draft. Confirming the same draft again returns the same item."""
        require_manage(actor.view, Manage.FILE)
        if (filed := await self._filed(actor, draft.key)) is not None:
            return filed
        observer = await self.store.observers.get(actor.observer_id or 0)
        if observer is None or observer.status is not ObserverStatus.APPOINTED:
            raise NotAppointed("only appointed observers file items")
        if observer.point_id is not None:
            point = await self.store.points.get(observer.point_id)
            if point is None or not point.active:
                raise PointInactive("the observer's point is closed; choose another")
        title = clean_text(draft.title, TITLE_MAX, field="title")
        body = clean_text(draft.body, BODY_MAX, field="body")
        location = clean_text(draft.location_text, LOCATION_MAX, field="location", required=False)
        if len(draft.attachments) > ATTACHMENTS_MAX:
            raise InvalidInput("too many attachments", limit=ATTACHMENTS_MAX)
        if (draft.latitude is None) != (draft.longitude is None):
            raise InvalidInput("a location needs both latitude and longitude")

        now = self.now()
        year = now.astimezone(self.policy.tz).year
        decision_due = due_after(
            await self.calendar(), now, self.policy.decision_days, self.policy.tz
        )
        try:
            # If a concurrent confirmation of the same draft commits first, the unique
            # draft key stops this insert; rolling back to the savepoint also takes
            # back the reference number, so references stay gap-free.
            async with self.store.session.begin_nested():
                # The observer's office handles the item, and its code starts the reference.
                code = await self.office_code(observer.office_id)
                number = await self.store.counters.next_number(code, year)
                reference = make_reference(code, year, number)
                item = Suggestion(
                    office_id=observer.office_id,
                    reference=str(reference),
                    draft_key=draft.key,
                    kind=draft.kind,
                    domain=draft.domain,
                    observer_id=observer.id,
                    point_id=observer.point_id,
                    title=title,
                    body=body,
                    behalf=draft.behalf,
                    location_text=location or None,
                    latitude=draft.latitude,
                    longitude=draft.longitude,
                    status=INITIAL_STATUS,
                    submitted_at=now,
                    submitted_day=local_day_number(now, self.policy.tz),
                    created_at=now,
                    updated_at=now,
                    decision_due=decision_due,
                )
                await self.store.suggestions.add(item)
        except IntegrityError:
            if (filed := await self._filed(actor, draft.key)) is None:
                raise
            return filed
        # How many files were filed (a move that adds some says so too): an item's
        # detail reads its attachments only when there are some.
        files = {notify.FILES: len(draft.attachments)}
        event = await self._event(
            item, actor, Action.SUBMIT, None, Role.OBSERVER, text=None, payload=files
        )
        await self._attach(item, draft.attachments, actor, event_id=None)
        await notify.about_item(
            self.store,
            item,
            SUBMIT_TELLS,
            Notice.ITEM_SUBMITTED,
            self._payload(item, event),
            event_id=event.id,
            at=self.now(),
        )
        return SuggestionInfo.of(item)

    async def filed(self, actor: Actor, key: str) -> SuggestionInfo | None:
        """The item filed from the draft ``key`` (a second Confirm finds it here)."""
        return await self._filed(actor, key)

    async def _filed(self, actor: Actor, key: str | None) -> SuggestionInfo | None:
        """The item already filed from this draft, if any (and only if it is the actor's)."""
        if key is None:
            return None
        existing = await self.store.suggestions.by_draft_key(key)
        if existing is None:
            return None
        if existing.observer_id != actor.observer_id:
            raise NotPermitted("draft key belongs to someone else")
        return SuggestionInfo.of(existing)

    # ---- the office's decisions -------------------------------------------------------

    async def take(
        self, actor: Actor, item_id: int, *, version: int | None = None
    ) -> SuggestionInfo:
        return await self._move(actor, item_id, Action.TAKE, version=version)

    async def ask_info(
        self, actor: Actor, item_id: int, question: str, *, version: int | None = None
    ) -> SuggestionInfo:
        return await self._move(actor, item_id, Action.ASK_INFO, version=version, text=question)

    async def adopt(
        self,
        actor: Actor,
        item_id: int,
        *,
        department_id: int | None,
        due: date | None,
        text: str | None = None,
        instruction: str | None = None,
        version: int | None = None,
    ) -> SuggestionInfo:
        """Adopt it for a department, by a date; ``instruction`` is the office's word to
        the department (kept in the event's payload: the observer is not shown it)."""
        return await self._move(
            actor,
            item_id,
            Action.ADOPT,
            version=version,
            text=text,
            department_id=department_id,
            due=due,
            instruction=instruction,
        )

    async def keep_for_reference(
        self, actor: Actor, item_id: int, reason: str, *, version: int | None = None
    ) -> SuggestionInfo:
        return await self._move(actor, item_id, Action.KEEP_REFERENCE, version=version, text=reason)

    async def decline(
        self, actor: Actor, item_id: int, reason: str, *, version: int | None = None
    ) -> SuggestionInfo:
        return await self._move(actor, item_id, Action.DECLINE, version=version, text=reason)

    async def escalate(
        self,
        actor: Actor,
        item_id: int,
        note: str,
        *,
        to_whom: str | None = None,
        version: int | None = None,
    ) -> SuggestionInfo:
        # Bounded here: the column is 200 wide, and PostgreSQL refuses longer values.
        to_whom = clean_text(to_whom, ESCALATED_TO_MAX, field="to_whom", required=False) or None
        return await self._move(
            actor, item_id, Action.ESCALATE, version=version, text=note, escalated_to=to_whom
        )

    async def record_city_answer(
        self,
        actor: Actor,
        item_id: int,
        outcome: SuggestionStatus,
        answer: str,
        *,
        department_id: int | None = None,
        due: date | None = None,
        instruction: str | None = None,
        version: int | None = None,
    ) -> SuggestionInfo:
        actions = {
            SuggestionStatus.ADOPTED: Action.CITY_ADOPT,
            SuggestionStatus.REFERENCE: Action.CITY_REFERENCE,
            SuggestionStatus.DECLINED: Action.CITY_DECLINE,
        }
        if outcome not in actions:
            raise InvalidInput(f"the city's answer cannot be {outcome}")
        return await self._move(
            actor,
            item_id,
            actions[outcome],
            version=version,
            text=answer,
            department_id=department_id,
            due=due,
            instruction=instruction,
        )

    async def city_return(
        self, actor: Actor, item_id: int, question: str, *, version: int | None = None
    ) -> SuggestionInfo:
        """The city hands an item reported to it back to its district, with a question."""
        return await self._move(actor, item_id, Action.CITY_RETURN, version=version, text=question)

    def _office_allowed(self, item: Suggestion, action: Action) -> bool:
        try:
            self._office_may(item, action)
        except (NotPermitted, NotFound):
            return False
        return True

    def _office_may(self, item: Suggestion, action: Action) -> None:
        """An office's admins make an item's moves in their own office's group; the
        office it was reported to (the city) only answers it or hands it back, and is
        then the only one that may. Without an office above (``above_id`` None), the
        district records the city's answer itself, as before."""
        acting = self.policy.office_id
        if action in _ANSWERS:
            if item.above_id is not None and acting != item.above_id:
                raise NotPermitted("the city answers it", action=action)
            if item.above_id is None and (acting != item.office_id or action is _RETURN):
                # No office above here: the district records the city's answer, and
                # there is nobody to hand it back.
                raise NotPermitted("no office above to answer", action=action)
            return
        if acting != item.office_id and action is not Action.NOTE:
            raise NotPermitted("the district's move", action=action)

    async def mark_duplicate(
        self,
        actor: Actor,
        item_id: int,
        of_reference: str,
        *,
        text: str | None = None,
        version: int | None = None,
    ) -> SuggestionInfo:
        # The item first: someone else's item is "not found", whatever reference is given.
        item = await self._load(actor, item_id)
        original = await self.store.suggestions.by_reference(str(parse_reference(of_reference)))
        if original is None:
            raise NotFound(f"no item {of_reference}", reference=of_reference)
        if original.id == item.id:
            raise InvalidInput("an item cannot duplicate itself")
        return await self._move(
            actor,
            item_id,
            Action.MARK_DUPLICATE,
            version=version,
            text=text,
            duplicate_of=original.id,
            item=item,
        )

    async def assign(
        self, actor: Actor, item_id: int, department_id: int, *, version: int | None = None
    ) -> SuggestionInfo:
        return await self._move(
            actor, item_id, Action.ASSIGN, version=version, department_id=department_id
        )

    async def set_due(
        self, actor: Actor, item_id: int, due: date, *, version: int | None = None
    ) -> SuggestionInfo:
        return await self._move(actor, item_id, Action.SET_DUE, version=version, due=due)

    async def note(self, actor: Actor, item_id: int, text: str) -> SuggestionInfo:
        return await self._move(actor, item_id, Action.NOTE, text=text)

    async def close(
        self, actor: Actor, item_id: int, *, version: int | None = None
    ) -> SuggestionInfo:
        return await self._move(actor, item_id, Action.CLOSE, version=version)

    # ---- waiting on the observer ------------------------------------------------------

    async def chase(
        self, actor: Actor, item_id: int, *, version: int | None = None
    ) -> SuggestionInfo:
        """Remind the observer of the office's question, with a new date to answer by;
        once a day at most (raises :class:`AlreadyChased`)."""
        return await self._move(actor, item_id, Action.CHASE, version=version)

    async def decide_anyway(
        self, actor: Actor, item_id: int, *, version: int | None = None
    ) -> SuggestionInfo:
        """Stop waiting on the observer's answer: back to the office's decisions."""
        return await self._move(actor, item_id, Action.DECIDE_ANYWAY, version=version)

    async def close_unanswered(
        self, actor: Actor, item_id: int, reason: str, *, version: int | None = None
    ) -> SuggestionInfo:
        """Close an item whose observer never answered the office's question."""
        return await self._move(
            actor, item_id, Action.CLOSE_UNANSWERED, version=version, text=reason
        )

    async def waiting_on_observer(self, actor: Actor) -> list[Waiting]:
        """Items whose observer has not answered the office's question by the date they
        were given, the longest overdue first."""
        require_manage(actor.view, Manage.OVERSEE)
        today = self.today()
        waiting = []
        for item, asked in await self.store.suggestions.waiting_on_observer():
            due = answer_due([asked.payload] if asked is not None else [], item.decision_due)
            if due < today:
                waiting.append(Waiting(SuggestionInfo.of(item), due))
        return sorted(waiting, key=lambda w: (w.answer_due, w.info.id))

    async def reopened_without_due(self, actor: Actor) -> list[SuggestionInfo]:
        """Reopened items the office has not given a new implementation due date yet."""
        require_manage(actor.view, Manage.OVERSEE)
        rows = await self.store.suggestions.without_due(_IN_DEPARTMENT)
        return [SuggestionInfo.of(r) for r in rows]

    async def _waiting_facts(
        self, item: Suggestion, row: Transition, payload: dict[str, Any]
    ) -> None:
        """What asking, chasing, deciding anyway and reopening change besides the status."""
        now = self.now()
        if row.action is Action.CHASE:
            events = await self.store.events.for_suggestion(item.id)
            today = self.today()
            if any(
                e.action is Action.CHASE and local_date(e.created_at, self.policy.tz) == today
                for e in events
            ):
                raise AlreadyChased("the observer was reminded today already")
            question = next((e.text for e in reversed(events) if e.action is Action.ASK_INFO), None)
            payload[QUESTION] = question
        if row.action in (Action.ASK_INFO, Action.CHASE):
            # The observer is given as long to answer as the office has to decide.
            due = due_after(await self.calendar(), now, self.policy.decision_days, self.policy.tz)
            payload[ANSWER_DUE] = due.isoformat()
        if row.action is Action.DECIDE_ANYWAY:
            # The office stops waiting on the observer: its own clock restarts now.
            item.decision_due = due_after(
                await self.calendar(), now, self.policy.decision_days, self.policy.tz
            )
            payload["decision_due"] = item.decision_due.isoformat()
        if row.action is Action.REOPEN:
            # The date met or missed is gone with the outcome: the office sets a new one,
            # and until it does the item cannot be overdue.
            due_was = item.implementation_due
            payload[PREVIOUS_DUE] = due_was.isoformat() if due_was else None
            item.implementation_due = None

    # ---- the department -------------------------------------------------------------

    async def accept(
        self, actor: Actor, item_id: int, *, version: int | None = None
    ) -> SuggestionInfo:
        return await self._move(actor, item_id, Action.ACCEPT, version=version)

    async def report_progress(
        self,
        actor: Actor,
        item_id: int,
        text: str,
        attachments: Sequence[AttachmentIn] = (),
    ) -> SuggestionInfo:
        return await self._move(actor, item_id, Action.PROGRESS, text=text, attachments=attachments)

    async def hand_back(
        self, actor: Actor, item_id: int, reason: str, *, version: int | None = None
    ) -> SuggestionInfo:
        return await self._move(actor, item_id, Action.HAND_BACK, version=version, text=reason)

    async def mark_implemented(
        self,
        actor: Actor,
        item_id: int,
        summary: str | None = None,
        attachments: Sequence[AttachmentIn] = (),
        *,
        version: int | None = None,
    ) -> SuggestionInfo:
        return await self._move(
            actor,
            item_id,
            Action.MARK_IMPLEMENTED,
            version=version,
            text=summary,
            attachments=attachments,
        )

    # ---- the observer ---------------------------------------------------------------

    async def answer_info(
        self,
        actor: Actor,
        item_id: int,
        answer: str,
        attachments: Sequence[AttachmentIn] = (),
    ) -> SuggestionInfo:
        return await self._move(
            actor, item_id, Action.ANSWER_INFO, text=answer, attachments=attachments
        )

    async def withdraw(
        self, actor: Actor, item_id: int, reason: str | None = None
    ) -> SuggestionInfo:
        return await self._move(actor, item_id, Action.WITHDRAW, text=reason)

    async def rate(
        self, actor: Actor, item_id: int, value: RatingValue, comment: str | None = None
    ) -> SuggestionInfo:
        """Record satisfaction. "Dissatisfied" with an implementation reopens it; with a
        decision not to adopt, it leaves the item open for the office to answer."""
        item = await self._load(actor, item_id)
        action = Action.RATE
        if value is RatingValue.DISSATISFIED:
            action = _DISSATISFIED.get(item.status, Action.RATE)
        return await self._move(actor, item_id, action, text=comment, rating=value, item=item)

    async def add(
        self,
        actor: Actor,
        item_id: int,
        text: str | None,
        attachments: Sequence[AttachmentIn] = (),
    ) -> SuggestionInfo:
        """The observer's addition to their open item: words, files or both."""
        if not (text or "").strip() and not attachments:
            raise MissingInput("an addition needs words or files", field="text")
        return await self._move(actor, item_id, Action.ADD, text=text, attachments=attachments)

    # ---- the office's word to the observer ------------------------------------------

    async def reply(self, actor: Actor, item_id: int, text: str) -> SuggestionInfo:
        """The office's answer to the observer (to an addition, a rating's comment)."""
        return await self._move(actor, item_id, Action.REPLY, text=text)

    async def reconsider(
        self, actor: Actor, item_id: int, *, version: int | None = None
    ) -> SuggestionInfo:
        """Reopen a decision not to adopt for review; the decision deadline restarts."""
        return await self._move(actor, item_id, Action.RECONSIDER, version=version)

    # ---- reading --------------------------------------------------------------------

    async def get(self, actor: Actor, item_id: int) -> SuggestionInfo:
        return SuggestionInfo.of(await self._load(actor, item_id))

    async def find_reference(self, actor: Actor, reference: str) -> SuggestionInfo:
        item = await self.store.suggestions.by_reference(str(parse_reference(reference)))
        if item is None or not may_view(actor.view, _item_view(item)):
            raise NotFound(f"no item {reference}", reference=reference)
        return SuggestionInfo.of(item)

    async def detail(self, actor: Actor, item_id: int) -> SuggestionDetail:
        found, point, department, observer = await self.store.suggestions.with_surroundings(item_id)
        item = self._visible(actor, item_id, found)
        held = relations(actor.view, _item_view(item))
        office = Role.ADMIN in held or Role.SYSTEM in held
        if office:
            # The office's view names who made each move: read with the events.
            named = await self.store.events.named_for_suggestion(item.id, include_internal=True)
        else:
            named = [(e, None) for e in await self.store.events.for_suggestion(item.id)]
        events = [event for event, _name in named]
        attachments = (
            await self.store.attachments.for_suggestion(item.id) if _may_have_files(events) else ()
        )
        # A rating is recorded with the (never internal) event of its move: without
        # one there is nothing to look up.
        rated = any(e.action in _RATING_MOVES for e in events)
        ratings = await self.store.ratings.for_suggestion(item.id) if rated else ()
        observer_name = None
        if office or Role.OBSERVER in held:
            observer_name = observer.name if observer else None
        actions = allowed_actions(item.status, held)
        if Role.ADMIN in held and not held & _NOT_AN_OFFICE:
            actions = [a for a in actions if self._office_allowed(item, a)]
        if _RATING_MOVES & set(actions) and _rated_since_outcome(events, ratings):
            # One rating per outcome, whichever move it would be.
            actions = [a for a in actions if a not in _RATING_MOVES]
        return SuggestionDetail(
            info=SuggestionInfo.of(item),
            timeline=tuple(TimelineEntry.of(e, name) for e, name in named),
            attachments=tuple(AttachmentInfo.of(a) for a in attachments),
            ratings=tuple(RatingInfo.of(r) for r in ratings),
            actions=tuple(actions),
            point_name=point.naming if point else None,
            department_name=department.naming if department else None,
            observer_name=observer_name,
        )

    async def mine(self, actor: Actor, page: int = 1) -> Page:
        """The observer's own items, newest first, a page at a time."""
        if actor.observer_id is None:
            raise NotAppointed("not an observer")
        total = await self.store.suggestions.count_for_observer(actor.observer_id)
        pages = max(1, math.ceil(total / PAGE_SIZE))
        page = min(max(1, page), pages)
        rows = await self.store.suggestions.for_observer(
            actor.observer_id, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
        )
        return Page(tuple(SuggestionInfo.of(r) for r in rows), page, pages, total)

    # ---- the office's lists ---------------------------------------------------------

    async def queue(self, actor: Actor, *, limit: int = 50) -> list[SuggestionInfo]:
        """What awaits the office: new, under review and escalated, oldest first."""
        require_manage(actor.view, Manage.OVERSEE)
        rows = await self.store.suggestions.with_status(_AWAITING, limit=limit)
        return [SuggestionInfo.of(r) for r in rows]

    async def overdue(self, actor: Actor, *, limit: int = 50) -> list[SuggestionInfo]:
        """Undecided past the decision deadline, or unimplemented past the due date."""
        require_manage(actor.view, Manage.OVERSEE)
        rows = await self.store.suggestions.overdue(self.today(), limit=limit)
        return [SuggestionInfo.of(r) for r in rows]

    async def queue_size(self, actor: Actor) -> int:
        """How many items await the office in all (:meth:`queue` returns a limited list)."""
        require_manage(actor.view, Manage.OVERSEE)
        return await self.store.suggestions.count_with_status(_AWAITING)

    async def overdue_size(self, actor: Actor) -> int:
        """How many items are overdue in all (:meth:`overdue` returns a limited list)."""
        require_manage(actor.view, Manage.OVERSEE)
        return await self.store.suggestions.count_overdue(self.today())

    async def search(self, actor: Actor, text: str, page: int = 1) -> FoundPage:
        """Items whose title, text or reference contains ``text``, or whose observer,
        point or department it names; newest first, each with what matched."""
        require_manage(actor.view, Manage.OVERSEE)
        needle = clean_text(text, TITLE_MAX, field="text")
        total = await self.store.suggestions.count_matching(needle)
        pages = max(1, math.ceil(total / PAGE_SIZE))
        page = min(max(1, page), pages)
        rows = await self.store.suggestions.find_matching(
            needle, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
        )
        return FoundPage(tuple(Found.of(r) for r in rows), page, pages, total)

    async def department_items(self, actor: Actor) -> list[SuggestionInfo]:
        """The open items of the liaison's departments, the earliest due first."""
        if not actor.view.department_ids:
            raise NotPermitted("not a liaison", action="department_items")
        rows = await self.store.suggestions.for_departments(
            sorted(actor.view.department_ids), _IN_DEPARTMENT
        )
        return [SuggestionInfo.of(r) for r in rows]

    # ---- the machinery --------------------------------------------------------------

    async def _load(self, actor: Actor, item_id: int) -> Suggestion:
        return self._visible(actor, item_id, await self.store.suggestions.with_observer(item_id))

    @staticmethod
    def _visible(actor: Actor, item_id: int, item: Suggestion | None) -> Suggestion:
        # Someone else's item is reported as missing, not as forbidden: a forged
        # callback learns nothing about what exists.
        if item is None or not may_view(actor.view, _item_view(item)):
            raise NotFound(f"no item {item_id}", item_id=item_id)
        return item

    async def _move(
        self,
        actor: Actor,
        item_id: int,
        action: Action,
        *,
        version: int | None = None,
        text: str | None = None,
        department_id: int | None = None,
        due: date | None = None,
        duplicate_of: int | None = None,
        escalated_to: str | None = None,
        rating: RatingValue | None = None,
        attachments: Sequence[AttachmentIn] = (),
        item: Suggestion | None = None,
        instruction: str | None = None,
    ) -> SuggestionInfo:
        item = item or await self._load(actor, item_id)
        if version is not None and version != item.version:
            raise AlreadyMoved("the item moved since it was shown", status=item.status)
        source = item.status
        roles = acting_roles(actor.view, _item_view(item), action)
        if not roles and find(source, action) is not None:
            raise NotPermitted(f"{action} on {item.reference}", action=action)
        if Role.ADMIN in roles and not roles & _NOT_AN_OFFICE:
            self._office_may(item, action)

        limit = COMMENT_MAX if action in _RATING_MOVES else TEXT_MAX
        text = clean_text(text, limit, field="text", required=False) or None
        instruction = clean_text(instruction, TEXT_MAX, field="instruction", required=False)
        if len(attachments) > ATTACHMENTS_MAX:
            raise InvalidInput("too many attachments", limit=ATTACHMENTS_MAX)
        provided = {
            need
            for need, value in (
                (Need.TEXT, text),
                (Need.DEPARTMENT, department_id),
                (Need.DUE_DATE, due),
                (Need.DUPLICATE_OF, duplicate_of),
                (Need.RATING, rating),
            )
            if value is not None
        }
        row = transition(source, action, roles, provided)
        if rating is not None:
            await self._ensure_unrated(item)
        payload: dict[str, Any] = {INSTRUCTION: instruction} if instruction else {}
        if rating is not None:
            payload[RATING] = rating.value
        await self._apply(item, row, payload, department_id, due, duplicate_of, escalated_to)
        item.status = row.target
        if rating is not None:
            # A rating of a closed item keeps the status; touching the row still bumps
            # the version, so two ratings at once cannot both count. Notes and progress
            # reports leave the version alone: they must not make open cards stale.
            item.updated_at = self.now()
        try:
            await self.store.flush()
        except StaleDataError as exc:
            raise AlreadyMoved("someone else moved the item first", status=source) from exc

        role = next(r for r in _ROLE_PRECEDENCE if r in roles)
        if attachments:
            payload[notify.FILES] = len(attachments)
        event = await self._event(
            item, actor, action, source, role, text=text, internal=row.internal, payload=payload
        )
        await self._attach(item, attachments, actor, event_id=event.id)
        if rating is not None:
            await self.store.ratings.add(
                Rating(
                    suggestion_id=item.id,
                    observer_id=item.observer_id,
                    value=rating,
                    comment=text,
                    event_id=event.id,
                    created_at=self.now(),
                )
            )
        await notify.about_item(
            self.store,
            item,
            row.tell,
            item_notice(action),
            {
                **self._payload(item, event),
                notify.FILES: len(attachments),
                **(await self._by_liaison(actor) if role is Role.LIAISON else {}),
            },
            event_id=event.id,
            skip_user=actor.user_id,
            at=self.now(),
        )
        former = payload.get("previous_department_id")
        if row.action is Action.ASSIGN and former is not None:
            await notify.to_former_department(
                self.store,
                item,
                former,
                self._payload(item, event),
                event_id=event.id,
                skip_user=actor.user_id,
                at=self.now(),
            )
        # Every card of the item (the office's, the departments') must come to show
        # this; whoever speaks next brings them up to date, the sender if nobody does.
        await CardService(self.store, self.policy, self.clock).resync(
            ITEM, item.id, later=RESYNC_GRACE
        )
        return SuggestionInfo.of(item)

    async def _apply(
        self,
        item: Suggestion,
        row: Transition,
        payload: dict[str, Any],
        department_id: int | None,
        due: date | None,
        duplicate_of: int | None,
        escalated_to: str | None,
    ) -> None:
        """The facts a move changes besides the status: deadlines, department, flags."""
        now = self.now()
        if Need.DEPARTMENT in row.needs and department_id is not None:
            department = await self.store.departments.get(department_id)
            if department is None or not department.active:
                raise NotFound("no such department", department_id=department_id)
            if row.action is Action.ASSIGN and department.id == item.department_id:
                # Nothing would change, yet its liaisons and the observer would be told.
                raise InvalidInput("the item is with that department already")
            payload["previous_department_id"] = item.department_id
            item.department_id = department.id
            payload["department_id"] = department.id
            payload.update(carry("department", department.naming))
        if Need.DUE_DATE in row.needs and due is not None:
            if due < self.today():
                raise InvalidInput("the due date is in the past", due=due.isoformat())
            item.implementation_due = due
            payload["due"] = due.isoformat()
        if row.action is Action.MARK_DUPLICATE:
            item.duplicate_of_id = duplicate_of
            original = await self.store.suggestions.get(duplicate_of or 0)
            payload["duplicate_of"] = original.reference if original else None
        if row.action in DECISIONS:
            item.disposition = row.target
        if row.action is Action.ESCALATE:
            item.escalated_to = escalated_to
            payload["escalated_to"] = escalated_to
            # Reported to the office above (the city), when there is one here: it sees
            # the item, and answers it or hands it back.
            office = (await self.offices()).get(item.office_id)
            item.above_id = office.parent_id if office is not None else None
            item.city_answer_due = due_after(
                await self.calendar(), now, self.policy.city_answer_days, self.policy.tz
            )
            payload["city_answer_due"] = item.city_answer_due.isoformat()
        if row.source is SuggestionStatus.IN_REVIEW and row.target in DECIDED:
            # The first decision: the figure the office is judged on.
            item.decided_at = now
            item.decided_day = local_day_number(now, self.policy.tz)
            item.decided_on_time = on_time(now, item.decision_due, self.policy.tz)
        if row.action in (Action.ANSWER_INFO, Action.RECONSIDER, Action.CITY_RETURN):
            # The office asked, took its decision back, or has the city's question to
            # answer: its clock restarts now.
            item.decision_due = due_after(
                await self.calendar(), now, self.policy.decision_days, self.policy.tz
            )
            payload["decision_due"] = item.decision_due.isoformat()
        if row.action is Action.HAND_BACK:
            payload["previous_department_id"] = item.department_id
            item.department_id = None
        if row.target is SuggestionStatus.IMPLEMENTED:
            item.implemented_at = now
            item.implemented_on_time = on_time(now, item.implementation_due, self.policy.tz)
        if row.action is Action.REOPEN:
            item.implemented_at = None
            item.implemented_on_time = None
        if row.target is SuggestionStatus.CLOSED and item.closed_at is None:
            item.closed_at = now
        await self._waiting_facts(item, row, payload)

    async def _outcome_rated(self, item: Suggestion) -> bool:
        """One rating per outcome: a new outcome (implemented again after a reopening, say)
        may be rated afresh, even once the item has closed."""
        events = await self.store.events.for_suggestion(item.id)
        ratings = await self.store.ratings.for_suggestion(item.id)
        return _rated_since_outcome(events, ratings)

    async def _ensure_unrated(self, item: Suggestion) -> None:
        if await self._outcome_rated(item):
            raise AlreadyRated("this outcome has been rated")

    async def _event(
        self,
        item: Suggestion,
        actor: Actor,
        action: Action,
        source: SuggestionStatus | None,
        role: Role,
        *,
        text: str | None,
        internal: bool = False,
        payload: dict[str, Any] | None = None,
    ) -> Event:
        return await self.store.events.add(
            Event(
                suggestion_id=item.id,
                action=action,
                actor_user_id=actor.user_id,
                actor_role=role,
                from_status=source,
                to_status=item.status,
                text=text,
                internal=internal,
                # An operator's move says so in the record (``ADMIN_IDS``).
                payload={**(payload or {}), OPERATOR: True} if actor.operator else payload or {},
                created_at=self.now(),
            )
        )

    async def _attach(
        self,
        item: Suggestion,
        attachments: Sequence[AttachmentIn],
        actor: Actor,
        *,
        event_id: int | None,
    ) -> None:
        for a in attachments:
            if not a.file_id:
                raise MissingInput("attachment without a file id", field="file_id")
            # Telegram's ids and names are short, but they arrive from outside: keep
            # them within the columns rather than fail on PostgreSQL alone.
            if (
                len(a.file_id) > _FILE_ID_MAX
                or len(a.file_unique_id) > _FILE_UNIQUE_ID_MAX
                or len(a.file_name or "") > _FILE_NAME_MAX
                or len(a.mime_type or "") > _MIME_MAX
            ):
                raise InvalidInput("attachment fields too long", field="attachment")
            self.store.session.add(
                Attachment(
                    suggestion_id=item.id,
                    event_id=event_id,
                    kind=a.kind,
                    file_id=a.file_id,
                    file_unique_id=a.file_unique_id,
                    file_name=a.file_name,
                    mime_type=a.mime_type,
                    added_by=actor.user_id,
                    created_at=self.now(),
                )
            )
        await self.store.flush()

    async def _by_liaison(self, actor: Actor) -> dict[str, Any]:
        """Who in the department made the move, for their colleagues' notices (the row
        of the person acting is in the session already: no statement)."""
        user = await self.store.users.get(actor.user_id)
        name = " ".join(p for p in (user.first_name, user.last_name) if p) if user else ""
        return {notify.BY: Role.LIAISON.value, notify.BY_NAME: name[:64]}

    @staticmethod
    def _payload(item: Suggestion, event: Event) -> dict[str, Any]:
        """What a notification needs to be rendered later, without the observer's identity
        (liaisons receive the same payload)."""
        return {
            "reference": item.reference,
            "title": item.title,
            "action": event.action.value,
            "from": event.from_status.value if event.from_status else None,
            "to": event.to_status.value,
            "text": event.text,
            **event.payload,
        }
