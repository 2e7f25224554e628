"""Random action sequences through the services never break the lifecycle's promises.

Hypothesis draws a list of steps — who acts, what they try, on which item, with which
inputs — and each step runs in its own transaction on a fresh SQLite file, rolled back
on error as the bot's per-update middleware does. Refusals (domain errors) are allowed
outcomes. After every step, for every item:

- its status is a status the transition table can reach from the initial one;
- replaying its event log through ``lifecycle.replay`` gives its current status;
- every event the table says the observer is told of (and that the observer did not
  make) queued exactly one notification to the observer's chat, carrying its
  event id; every other event, internal notes above all, queued none to them;
- a refused step wrote nothing: no event, no notification, no rating, no change.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections import deque
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain import lifecycle
from bot.domain.errors import DomainError
from bot.domain.lifecycle import Audience
from bot.domain.limits import TEXT_MAX
from bot.domain.roles import Role
from bot.domain.statuses import RatingValue, SuggestionStatus
from bot.services.actors import SYSTEM, Actor, identify
from bot.services.suggestions import SuggestionService
from bot.services.views import SuggestionInfo
from storage.engine import create_engine, session_factory
from storage.models import (
    Base,
    Event,
    Liaison,
    Observer,
    OutboxMessage,
    Rating,
    Suggestion,
    TelegramUser,
)
from storage.store import Store
from tests.figure_summaries import mismatches
from tests.world import ADMIN, ALICE, BOB, DUE, LIAISON, POLICY, FixedClock, build_world, draft

OTHER_LIAISON = 3002  # the liaison of the other department

ACTORS: dict[str, int | None] = {
    "alice": ALICE,
    "bob": BOB,
    "liaison": LIAISON,
    "other_liaison": OTHER_LIAISON,
    "admin": ADMIN,
    "system": None,
}
# Every service call a step can make (the table's actions, as the methods are named).
ACTIONS = (
    "submit",
    "take",
    "ask_info",
    "answer_info",
    "withdraw",
    "adopt",
    "keep_for_reference",
    "decline",
    "escalate",
    "city_answer",
    "city_return",
    "mark_duplicate",
    "assign",
    "set_due",
    "note",
    "close",
    "accept",
    "report_progress",
    "hand_back",
    "mark_implemented",
    "rate",
    "add",
    "reply",
    "reconsider",
    "chase",
    "decide_anyway",
    "close_unanswered",
)
# Mostly usable inputs, some that must be refused (missing, blank, too long).
# (Repeats weight the draw; the first entry is where a shrunk example ends up.)
GOOD_TEXTS = ("原因说明: 需要进一步核实", "ok", "已整改")
TEXTS = (*GOOD_TEXTS * 4, "", "   ", "x" * (TEXT_MAX + 1))
DEPARTMENTS = ("main", "main", "main", "other", "other", "none", "missing")
DUES = (DUE, DUE, DUE, DUE, None, date(2026, 2, 27))  # in time, missing, in the past
VERSIONS = ("none", "none", "none", "current", "current", "stale")
CITY_OUTCOMES = (
    SuggestionStatus.ADOPTED,
    SuggestionStatus.REFERENCE,
    SuggestionStatus.DECLINED,
    SuggestionStatus.IN_REVIEW,  # not an answer the city can give
)
# The table's actions as the service methods the steps call.
METHOD = {
    lifecycle.Action.KEEP_REFERENCE: "keep_for_reference",
    lifecycle.Action.CITY_ADOPT: "city_answer",
    lifecycle.Action.CITY_REFERENCE: "city_answer",
    lifecycle.Action.CITY_DECLINE: "city_answer",
    lifecycle.Action.PROGRESS: "report_progress",
    lifecycle.Action.REOPEN: "rate",
    lifecycle.Action.DISPUTE: "rate",
}
MAIN_ROAD = frozenset(
    {
        lifecycle.Action.TAKE,
        lifecycle.Action.ANSWER_INFO,
        lifecycle.Action.ADOPT,
        lifecycle.Action.CITY_ADOPT,
        lifecycle.Action.ACCEPT,
        lifecycle.Action.PROGRESS,
        lifecycle.Action.MARK_IMPLEMENTED,
        lifecycle.Action.REOPEN,
    }
)
CITY = {
    lifecycle.Action.CITY_ADOPT: SuggestionStatus.ADOPTED,
    lifecycle.Action.CITY_REFERENCE: SuggestionStatus.REFERENCE,
    lifecycle.Action.CITY_DECLINE: SuggestionStatus.DECLINED,
}


@dataclass(frozen=True)
class Step:
    who: str
    action: str
    item: int  # index into the items filed so far
    text: str
    department: str
    due: date | None
    rating: RatingValue
    version: str
    city: SuggestionStatus
    duplicate_of: int  # index of the original; -1 for a reference that does not exist


def filing(title: str) -> Step:
    """Alice files a new item (titles drawn from TEXTS may be refused)."""
    return Step(
        who="alice",
        action="submit",
        item=0,
        text=title,
        department="none",
        due=None,
        rating=RatingValue.SATISFIED,
        version="none",
        city=SuggestionStatus.ADOPTED,
        duplicate_of=0,
    )


def draw_step(data: st.DataObject, items: list[Any], other_department: int | None) -> Step:
    """Four steps in five are moves the table offers from the item's status, by the
    role it names (so that items travel deep into the lifecycle); the rest are any
    action by anyone. Inputs are drawn independently, good ones more often."""
    known = len(items)
    item = data.draw(st.integers(0, known - 1), label="item")
    _, status, _, department_id, owner = items[item]
    city = data.draw(st.sampled_from(CITY_OUTCOMES), label="city")
    rating = data.draw(st.sampled_from(RatingValue), label="rating")
    offered = [r for r in lifecycle.TRANSITIONS if r.source is status]  # none if withdrawn
    # The main road (take, adopt, accept, implement, reopen) counts thrice, so that
    # items get past the first decision often enough to reach implementation.
    offered += [r for r in offered if r.action in MAIN_ROAD] * 2
    if offered and data.draw(st.integers(0, 4), label="implausible") < 4:
        row = data.draw(st.sampled_from(offered), label="move")
        action = METHOD.get(row.action, row.action.value)
        city = CITY.get(row.action, city)
        if row.action in (lifecycle.Action.REOPEN, lifecycle.Action.DISPUTE):
            rating = RatingValue.DISSATISFIED
        who_for = {
            Role.ADMIN: "admin",
            Role.SYSTEM: "system",
            Role.OBSERVER: "alice" if owner == ALICE else "bob",
            Role.LIAISON: "other_liaison" if department_id == other_department else "liaison",
        }
        who = data.draw(st.sampled_from(sorted(who_for[r] for r in row.roles)), label="who")
    else:
        action = data.draw(st.sampled_from(ACTIONS), label="action")
        who = data.draw(st.sampled_from(tuple(ACTORS)), label="who")
    return Step(
        who=who,
        action=action,
        item=item,
        text=data.draw(st.sampled_from(TEXTS), label="text"),
        department=data.draw(st.sampled_from(DEPARTMENTS), label="department"),
        due=data.draw(st.sampled_from(DUES), label="due"),
        rating=rating,
        version=data.draw(st.sampled_from(VERSIONS), label="version"),
        city=city,
        duplicate_of=data.draw(st.integers(-1, known - 1), label="duplicate_of"),
    )


def _reachable() -> frozenset[SuggestionStatus]:
    seen = {lifecycle.INITIAL_STATUS}
    todo = deque(seen)
    while todo:
        status = todo.popleft()
        for row in lifecycle.TRANSITIONS:
            if row.source is status and row.target not in seen:
                seen.add(row.target)
                todo.append(row.target)
    return frozenset(seen)


REACHABLE = _reachable()


class Scenario:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self.clock = FixedClock()
        self.items: list[int] = []
        self.references: list[str] = []
        self.departments: dict[str, int | None] = {}

    async def setup(self) -> None:
        world = await build_world(self.sessions)
        self.departments = {
            "main": world.department_id,
            "other": world.other_department_id,
            "none": None,
            "missing": 999_999,
        }
        async with self.sessions() as session, session.begin():
            session.add(TelegramUser(id=OTHER_LIAISON, first_name="Ola", language_code="en"))
            await session.flush()
            session.add(
                Liaison(department_id=world.other_department_id, user_id=OTHER_LIAISON, name="Ola")
            )
        for title in ("路灯不亮", "夜市噪音"):
            await self.run(filing(title))

    async def actor(self, store: Store, who: str) -> Actor:
        user_id = ACTORS[who]
        if user_id is None:
            return SYSTEM
        return await identify(store, user_id, is_admin=who == "admin")

    async def run(self, step: Step) -> SuggestionInfo:
        """One step in one transaction; any error rolls the whole of it back."""
        self.clock.advance(hours=5)
        async with self.sessions() as session, session.begin():
            store = Store(session)
            svc = SuggestionService(store, POLICY, self.clock)
            who = await self.actor(store, step.who)
            if step.action == "submit":
                info = await svc.submit(who, draft(step.text or "标题"))
                self.items.append(info.id)
                self.references.append(info.reference)
                return info
            item_id = self.items[step.item % len(self.items)]
            current = await store.suggestions.get(item_id)
            assert current is not None
            version = {
                "none": None,
                "current": current.version,
                "stale": current.version - 1,
            }[step.version]
            return await self.call(svc, who, item_id, step, version)

    async def call(
        self, svc: SuggestionService, who: Actor, item_id: int, step: Step, version: int | None
    ) -> SuggestionInfo:
        text, due, dept = step.text, step.due, self.departments[step.department]
        match step.action:
            case "take":
                return await svc.take(who, item_id, version=version)
            case "ask_info":
                return await svc.ask_info(who, item_id, text, version=version)
            case "answer_info":
                return await svc.answer_info(who, item_id, text)
            case "withdraw":
                return await svc.withdraw(who, item_id, text or None)
            case "adopt":
                return await svc.adopt(who, item_id, department_id=dept, due=due, version=version)
            case "keep_for_reference":
                return await svc.keep_for_reference(who, item_id, text, version=version)
            case "decline":
                return await svc.decline(who, item_id, text, version=version)
            case "escalate":
                return await svc.escalate(who, item_id, text, to_whom="市司法局", version=version)
            case "city_answer":
                return await svc.record_city_answer(
                    who, item_id, step.city, text, department_id=dept, due=due, version=version
                )
            case "city_return":
                return await svc.city_return(who, item_id, text, version=version)
            case "mark_duplicate":
                of = (
                    self.references[step.duplicate_of % len(self.references)]
                    if step.duplicate_of >= 0
                    else "WZ-2026-9999"
                )
                return await svc.mark_duplicate(who, item_id, of, version=version)
            case "assign":
                return await svc.assign(who, item_id, dept or 0, version=version)
            case "set_due":
                return await svc.set_due(who, item_id, due or DUE, version=version)
            case "note":
                return await svc.note(who, item_id, text)
            case "close":
                return await svc.close(who, item_id, version=version)
            case "accept":
                return await svc.accept(who, item_id, version=version)
            case "report_progress":
                return await svc.report_progress(who, item_id, text)
            case "hand_back":
                return await svc.hand_back(who, item_id, text, version=version)
            case "mark_implemented":
                return await svc.mark_implemented(who, item_id, text, version=version)
            case "rate":
                return await svc.rate(who, item_id, step.rating, text or None)
            case "add":
                return await svc.add(who, item_id, text or None)
            case "reply":
                return await svc.reply(who, item_id, text)
            case "reconsider":
                return await svc.reconsider(who, item_id, version=version)
            case "chase":
                return await svc.chase(who, item_id, version=version)
            case "decide_anyway":
                return await svc.decide_anyway(who, item_id, version=version)
            case "close_unanswered":
                return await svc.close_unanswered(who, item_id, text, version=version)
        raise AssertionError(step.action)

    async def state(self) -> dict[str, Any]:
        """Everything a step may change, read in one transaction."""
        async with self.sessions() as session, session.begin():

            async def rows(stmt: Any) -> list[Any]:
                return list((await session.execute(stmt)).all())

            return {
                "items": await rows(
                    sa.select(
                        Suggestion.id,
                        Suggestion.status,
                        Suggestion.version,
                        Suggestion.department_id,
                        Observer.user_id,
                    )
                    .join(Observer, Observer.id == Suggestion.observer_id)
                    .order_by(Suggestion.id)
                ),
                "events": await rows(sa.select(Event).order_by(Event.id)),
                "outbox": await rows(
                    sa.select(OutboxMessage.event_id, OutboxMessage.chat_id).order_by(
                        OutboxMessage.id
                    )
                ),
                "ratings": await rows(sa.select(Rating.id)),
            }


def check_invariants(state: dict[str, Any]) -> None:
    events: list[Event] = [row[0] for row in state["events"]]
    outbox: list[tuple[int | None, int | None]] = [tuple(r) for r in state["outbox"]]
    for item_id, status, _version, _dept, observer_user in state["items"]:
        assert isinstance(status, SuggestionStatus)
        assert status in REACHABLE
        log = [e for e in events if e.suggestion_id == item_id]
        assert log
        assert log[0].action is lifecycle.Action.SUBMIT
        replayed = lifecycle.replay([(e.from_status, e.action, e.to_status) for e in log])
        assert replayed is status, (item_id, [(e.from_status, e.action, e.to_status) for e in log])
        for e in log:
            to_observer = outbox.count((e.id, observer_user))
            row = lifecycle.find(e.from_status, e.action) if e.from_status is not None else None
            told = (
                row is not None
                and Audience.OBSERVER in row.tell
                and e.actor_user_id != observer_user
            )
            assert to_observer == (1 if told else 0), (e.action, e.from_status, to_observer)
            # Internal notes are marked so (kept off the observer's timeline) and
            # queue nothing to anyone, the observer least of all.
            assert e.internal is (row is not None and row.internal)
            if e.internal:
                assert not any(event_id == e.id for event_id, _ in outbox)
    # Every notification about an item names the event that caused it.
    known = {e.id for e in events}
    assert all(event_id in known for event_id, _ in outbox)


async def play(url: str, data: st.DataObject, most_steps: int = 40) -> None:
    """One drawn sequence of steps, checked after each; also what the figures' summary
    tests (tests/storage/test_figure_summaries.py) play on PostgreSQL."""
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.drop_all)
            await conn.run_sync(Base.metadata.create_all)
        scenario = Scenario(session_factory(engine))
        await scenario.setup()
        before = await scenario.state()
        check_invariants(before)
        for _ in range(data.draw(st.integers(1, most_steps), label="steps")):
            if data.draw(st.integers(0, 19), label="file") == 19:
                step = filing(data.draw(st.sampled_from(TEXTS), label="title"))
            else:
                step = draw_step(data, before["items"], scenario.departments["other"])
            try:
                await scenario.run(step)
            except DomainError:
                after = await scenario.state()
                # A refused step left no trace at all.
                assert after["items"] == before["items"]
                assert len(after["events"]) == len(before["events"])
                assert after["outbox"] == before["outbox"]
                assert after["ratings"] == before["ratings"]
            else:
                after = await scenario.state()
                # A step that took effect wrote exactly one event, by whoever acted.
                assert len(after["events"]) == len(before["events"]) + 1
                event = after["events"][-1][0]
                assert event.actor_user_id == ACTORS[step.who]
            check_invariants(after)
            # Whatever the move, the figures' summaries are what a recount gives.
            assert await mismatches(engine) == []
            before = after
    finally:
        await engine.dispose()


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_random_action_sequences_keep_the_lifecycle_promises(data: st.DataObject) -> None:
    # The database is built inside the test, a fresh file per example: no
    # function-scoped fixture is shared between examples. Steps are drawn as the
    # example runs, so that most of them fit the item's current status.
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(play(f"sqlite+aiosqlite:///{Path(tmp) / 'outpost.db'}", data))
