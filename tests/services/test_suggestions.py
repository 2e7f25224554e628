"""The suggestion use cases, on SQLite and PostgreSQL.

Each step runs in its own transaction, as one Telegram update would: a step that
raises rolls back, and the tests then read what the database holds — the item, its
events and the outbox rows the move queued.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from bot.domain.errors import (
    AlreadyMoved,
    AlreadyRated,
    DomainError,
    IllegalTransition,
    InvalidInput,
    MissingInput,
    NotAppointed,
    NotFound,
    NotPermitted,
    PointInactive,
)
from bot.domain.lifecycle import Action
from bot.domain.limits import ATTACHMENTS_MAX, COMMENT_MAX, TEXT_MAX, TITLE_MAX
from bot.domain.roles import Role
from bot.domain.statuses import (
    AttachmentKind,
    DayKind,
    ObserverStatus,
    RatingValue,
)
from bot.domain.statuses import SuggestionStatus as S
from bot.services.context import Policy
from bot.services.suggestions import PAGE_SIZE, SuggestionService
from bot.services.views import AttachmentIn, SuggestionInfo
from storage.models import (
    Attachment,
    CalendarDay,
    Department,
    Event,
    Liaison,
    Observer,
    OutboxMessage,
    Point,
    Rating,
    ReferenceCounter,
    Suggestion,
    TelegramUser,
)
from storage.store import Store
from tests.harness import As, Harness
from tests.statements import statements_about
from tests.world import (
    ADMIN,
    ALICE,
    BOB,
    DUE,
    LIAISON,
    POLICY,
    STRANGER,
    FixedClock,
    actor,
    build_world,
    draft,
)

# A liaison of the other department (HOUSING), added by the tests that need one.
HOUSING_LIAISON = 3002
NAMES = {
    ALICE: "alice",
    BOB: "bob",
    LIAISON: "liaison",
    HOUSING_LIAISON: "housing",
    ADMIN: "admin",
    STRANGER: "stranger",
}


class Env(Harness):
    """The world plus one helper per person; each call is one transaction."""

    service = SuggestionService
    none_is_system = True

    @property
    def alice(self) -> As:
        return self.by(ALICE)

    @property
    def bob(self) -> As:
        return self.by(BOB)

    @property
    def liaison(self) -> As:
        return self.by(LIAISON)

    @property
    def stranger(self) -> As:
        return self.by(STRANGER)

    @property
    def system(self) -> As:
        return self.by(None)

    async def item(self, item_id: int) -> Suggestion:
        row = await self.get(Suggestion, item_id)
        assert row is not None
        return row

    async def events(self, item_id: int) -> list[Event]:
        return await self.scalars(
            sa.select(Event).where(Event.suggestion_id == item_id).order_by(Event.id)
        )

    async def last_event(self, item_id: int) -> Event:
        return (await self.events(item_id))[-1]

    async def add_housing_liaison(self) -> None:
        await self.add(TelegramUser(id=HOUSING_LIAISON, first_name="Hu"))
        await self.add(
            Liaison(department_id=self.world.other_department_id, user_id=HOUSING_LIAISON)
        )

    async def snapshot(self, item_id: int) -> tuple[Any, ...]:
        """What a refused step must leave untouched."""
        row = await self.item(item_id)
        return (
            row.status,
            row.version,
            row.department_id,
            row.implementation_due,
            len(await self.events(item_id)),
            len(await self.outbox()),
            await self.count(Rating),
            await self.count(Attachment),
        )


@pytest.fixture
async def env(sessions: Any) -> Env:
    return Env(sessions, await build_world(sessions), FixedClock())


def told(rows: list[OutboxMessage]) -> list[str]:
    """Who the rows go to, by name: 'admins' for the group, else the person."""
    out = []
    for row in rows:
        if row.audience == "admins":
            assert row.chat_id is None
            out.append("admins")
        else:
            # Liaisons are told in their own words, so their rows say they are for one.
            liaison = row.chat_id in (LIAISON, HOUSING_LIAISON)
            assert row.audience == ("liaison" if liaison else "user")
            assert row.chat_id is not None
            out.append(NAMES[row.chat_id])
    return sorted(out)


async def check_move(
    env: Env,
    info: SuggestionInfo,
    action: Action,
    *,
    role: Role,
    source: S,
    target: S,
    text: str | None = None,
    tell: list[str],
    by: int | None,
    rows: list[OutboxMessage] | None = None,
) -> tuple[Event, list[OutboxMessage]]:
    """The move's event row and outbox rows (``rows``: those of them that are the
    move's own) say what happened, to whom, in whose words."""
    assert info.status is target
    row = await env.item(info.id)
    assert row.status is target
    assert row.version == info.version
    event = await env.last_event(info.id)
    assert (
        event.action,
        event.actor_role,
        event.actor_user_id,
        event.from_status,
        event.to_status,
        event.text,
    ) == (action, role, by, source, target, text)
    if rows is None:
        rows = await env.outbox(event_id=event.id)
    assert told(rows) == sorted(tell)
    for out in rows:
        assert out.kind == f"item.{action.value}"
        assert out.suggestion_id == info.id
        assert out.state == "pending"
        assert out.payload["reference"] == info.reference
        assert out.payload["title"] == row.title
        assert out.payload["action"] == action.value
        assert out.payload["from"] == source.value
        assert out.payload["to"] == target.value
        # The office's own words, as typed.
        assert out.payload["text"] == text
    return event, rows


async def file_item(env: Env, status: S = S.SUBMITTED, *, by: int = ALICE, **kw: Any) -> Any:
    """An item of ``by`` driven to ``status`` by the usual people."""
    item = await env.by(by).submit(draft(**kw))
    dept = env.world.department_id
    steps: dict[S, list[tuple[int, str, tuple[Any, ...], dict[str, Any]]]] = {
        S.SUBMITTED: [],
        S.WITHDRAWN: [(by, "withdraw", (), {})],
        S.IN_REVIEW: [(ADMIN, "take", (), {})],
        S.NEEDS_INFO: [(ADMIN, "take", (), {}), (ADMIN, "ask_info", ("哪一段?",), {})],
        S.ADOPTED: [
            (ADMIN, "take", (), {}),
            (ADMIN, "adopt", (), {"department_id": dept, "due": DUE}),
        ],
        S.REFERENCE: [(ADMIN, "take", (), {}), (ADMIN, "keep_for_reference", ("参考",), {})],
        S.DECLINED: [(ADMIN, "take", (), {}), (ADMIN, "decline", ("不属于本区",), {})],
        S.ESCALATED: [(ADMIN, "take", (), {}), (ADMIN, "escalate", ("报市级",), {})],
        S.CLOSED: [
            (ADMIN, "take", (), {}),
            (ADMIN, "keep_for_reference", ("参考",), {}),
            (ADMIN, "close", (), {}),
        ],
    }
    steps[S.IMPLEMENTING] = [*steps[S.ADOPTED], (LIAISON, "accept", (), {})]
    steps[S.IMPLEMENTED] = [*steps[S.IMPLEMENTING], (LIAISON, "mark_implemented", ("已修好",), {})]
    if status is S.DUPLICATE:
        original = await env.bob.submit(draft("同一盏路灯"))
        steps[S.DUPLICATE] = [
            (ADMIN, "take", (), {}),
            (ADMIN, "mark_duplicate", (original.reference,), {}),
        ]
    for user_id, name, args, kwargs in steps[status]:
        item = await env.call(user_id, name, item.id, *args, **kwargs)
    assert item.status is status
    return item


def photos(n: int) -> tuple[AttachmentIn, ...]:
    return tuple(
        AttachmentIn(AttachmentKind.PHOTO, f"photo-{i}", f"u{i}", mime_type="image/jpeg")
        for i in range(n)
    )


def at_shanghai(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


# ---- filing ---------------------------------------------------------------------------


async def test_submit_files_an_item_with_an_event_and_tells_the_office(env):
    item = await env.alice.submit(
        draft(location_text=" 人民路 12 号 ", latitude=30.8, longitude=108.4)
    )

    assert item.reference == "WZ-2026-0001"
    assert item.status is S.SUBMITTED
    assert item.observer_id == env.world.alice_observer_id
    assert item.point_id == env.world.point_id
    assert item.department_id is None
    assert item.version == 1
    assert item.submitted_at == env.clock.now
    assert item.decision_due == date(2026, 3, 9)
    assert item.decided_at is None
    assert item.decided_on_time is None
    assert item.location_text == "人民路 12 号"
    assert (item.latitude, item.longitude) == (30.8, 108.4)

    row = await env.item(item.id)
    assert row.title == "路灯不亮"
    assert row.status is S.SUBMITTED
    events = await env.events(item.id)
    assert len(events) == 1
    event = events[0]
    assert (event.action, event.actor_role, event.actor_user_id) == (
        Action.SUBMIT,
        Role.OBSERVER,
        ALICE,
    )
    assert (event.from_status, event.to_status, event.text) == (None, S.SUBMITTED, None)
    rows = await env.outbox()
    assert told(rows) == ["admins"]  # the observer is not told of their own filing
    assert rows[0].kind == "item.submit"
    assert rows[0].event_id == event.id
    assert rows[0].suggestion_id == item.id
    assert rows[0].payload["reference"] == "WZ-2026-0001"
    assert rows[0].payload["from"] is None
    assert rows[0].payload["to"] == "submitted"


async def test_only_appointed_observers_file(env):
    with pytest.raises(NotPermitted):
        await env.stranger.submit(draft())
    with pytest.raises(NotPermitted):  # an admin is not an observer
        await env.admin.submit(draft())
    with pytest.raises(NotPermitted):  # nor is a liaison
        await env.liaison.submit(draft())

    await env.update(Observer, env.world.alice_observer_id, status=ObserverStatus.SUSPENDED)
    with pytest.raises(NotAppointed):
        await env.alice.submit(draft())
    await env.update(Observer, env.world.alice_observer_id, status=ObserverStatus.DISMISSED)
    with pytest.raises(NotPermitted):  # dismissed: no longer an observer at all
        await env.alice.submit(draft())

    assert await env.count(Suggestion) == 0
    assert await env.count(Event) == 0
    assert await env.count(OutboxMessage) == 0


async def test_a_closed_point_files_nothing(env):
    await env.update(Point, env.world.point_id, active=False)
    with pytest.raises(PointInactive):
        await env.alice.submit(draft())
    assert await env.count(Suggestion) == 0
    # Bob's point is open.
    assert (await env.bob.submit(draft())).reference == "WZ-2026-0001"


async def test_confirming_the_same_draft_twice_files_once(env):
    first = await env.alice.submit(draft(key="draft-42"))
    again = await env.alice.submit(draft(key="draft-42"))
    changed = await env.alice.submit(draft("another title", key="draft-42"))

    assert again == first
    assert changed == first
    assert await env.count(Suggestion) == 1
    assert await env.count(Event) == 1
    assert told(await env.outbox()) == ["admins"]
    assert (await env.item(first.id)).draft_key == "draft-42"
    # A different draft is a different item.
    other = await env.alice.submit(draft(key="draft-43"))
    assert other.reference == "WZ-2026-0002"


async def test_a_draft_key_of_someone_else_is_refused(env):
    await env.alice.submit(draft(key="draft-42"))
    with pytest.raises(NotPermitted):
        await env.bob.submit(draft(key="draft-42"))
    assert await env.count(Suggestion) == 1


async def test_attachments_are_stored_up_to_the_limit(env):
    files = (
        *photos(ATTACHMENTS_MAX - 1),
        AttachmentIn(AttachmentKind.DOCUMENT, "doc-1", "ud1", "合同.pdf", "application/pdf"),
    )
    item = await env.alice.submit(draft(attachments=files))

    rows = await env.scalars(sa.select(Attachment).order_by(Attachment.id))
    assert len(rows) == ATTACHMENTS_MAX
    assert {r.suggestion_id for r in rows} == {item.id}
    assert {r.event_id for r in rows} == {None}  # filed with the item, not with a later step
    assert {r.added_by for r in rows} == {ALICE}
    assert [r.file_id for r in rows] == [f.file_id for f in files]
    assert (rows[-1].kind, rows[-1].file_name, rows[-1].mime_type) == (
        AttachmentKind.DOCUMENT,
        "合同.pdf",
        "application/pdf",
    )

    detail = await env.alice.detail(item.id)
    assert [a.file_id for a in detail.attachments] == [f.file_id for f in files]


async def test_too_many_attachments_files_nothing(env):
    with pytest.raises(InvalidInput):
        await env.alice.submit(draft(attachments=photos(ATTACHMENTS_MAX + 1)))
    with pytest.raises(MissingInput):
        await env.alice.submit(draft(attachments=(AttachmentIn(AttachmentKind.PHOTO, ""),)))
    assert await env.count(Suggestion) == 0
    assert await env.count(Attachment) == 0
    # The refused filings used no reference number.
    assert (await env.alice.submit(draft())).reference == "WZ-2026-0001"


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"title": "   "}, MissingInput),
        ({"title": "x" * (TITLE_MAX + 1)}, InvalidInput),
        ({"body": ""}, MissingInput),
        ({"body": "x" * 2501}, InvalidInput),
        ({"location_text": "x" * 301}, InvalidInput),
        ({"latitude": 30.8}, InvalidInput),
        ({"longitude": 108.4}, InvalidInput),
    ],
)
async def test_a_bad_draft_is_refused(env, fields, error):
    with pytest.raises(error):
        await env.alice.submit(draft(**fields))
    assert await env.count(Suggestion) == 0


async def test_the_title_is_trimmed_and_may_be_as_long_as_the_limit(env):
    item = await env.alice.submit(draft("  " + "题" * TITLE_MAX + "  "))
    assert item.title == "题" * TITLE_MAX


# ---- references -------------------------------------------------------------------------


async def test_references_count_up_per_year_and_are_unique(env):
    refs = [
        (await env.alice.submit(draft())).reference,
        (await env.bob.submit(draft())).reference,
        (await env.alice.submit(draft())).reference,
    ]
    assert refs == ["WZ-2026-0001", "WZ-2026-0002", "WZ-2026-0003"]

    # 2026-12-31 23:30 in Shanghai is still 2026 ...
    env.clock.now = at_shanghai(2026, 12, 31, 23, 30)
    assert (await env.alice.submit(draft())).reference == "WZ-2026-0004"
    # ... and 00:30 on New Year's Day is 2027 there, though still 2026 in UTC.
    env.clock.now = at_shanghai(2027, 1, 1, 0, 30)
    assert env.clock.now.year == 2026
    assert (await env.alice.submit(draft())).reference == "WZ-2027-0001"
    assert (await env.bob.submit(draft())).reference == "WZ-2027-0002"

    all_refs = await env.scalars(sa.select(Suggestion.reference))
    assert len(all_refs) == len(set(all_refs)) == 6
    counters = await env.scalars(sa.select(ReferenceCounter).order_by(ReferenceCounter.year))
    assert [(c.jurisdiction, c.year, c.last) for c in counters] == [
        ("WZ", 2026, 4),
        ("WZ", 2027, 2),
    ]


async def test_each_jurisdiction_counts_on_its_own(env):
    assert (await env.alice.submit(draft())).reference == "WZ-2026-0001"
    env.policy = Policy(jurisdiction="QJ", decision_days=5)
    assert (await env.alice.submit(draft())).reference == "QJ-2026-0001"
    env.policy = POLICY
    assert (await env.alice.submit(draft())).reference == "WZ-2026-0002"


async def test_find_reference_reads_what_people_type(env):
    item = await env.alice.submit(draft())
    assert (await env.alice.find_reference(" wz-2026-1 ")).id == item.id
    assert (await env.admin.find_reference("WZ-2026-0001")).id == item.id
    with pytest.raises(NotFound):
        await env.bob.find_reference("WZ-2026-0001")
    with pytest.raises(NotFound):
        await env.liaison.find_reference("WZ-2026-0001")
    with pytest.raises(NotFound):
        await env.admin.find_reference("WZ-2026-0002")
    with pytest.raises(InvalidInput):
        await env.admin.find_reference("路灯")


# ---- deadlines --------------------------------------------------------------------------


async def test_the_decision_is_due_five_working_days_after_filing(env):
    # Monday 2 March 09:00 -> Monday 9 March.
    assert (await env.alice.submit(draft())).decision_due == date(2026, 3, 9)
    # Friday 6 March -> Friday 13 March, over the weekend.
    env.clock.now = at_shanghai(2026, 3, 6, 17)
    assert (await env.alice.submit(draft())).decision_due == date(2026, 3, 13)
    # Filed on a Saturday: counted from Monday, the fifth working day is Friday.
    env.clock.now = at_shanghai(2026, 3, 7, 10)
    assert (await env.alice.submit(draft())).decision_due == date(2026, 3, 13)


async def test_the_decision_clock_counts_in_shanghai_time(env):
    # Monday 23:30 in Shanghai: counted from Monday.
    env.clock.now = at_shanghai(2026, 3, 2, 23, 30)
    assert (await env.alice.submit(draft())).decision_due == date(2026, 3, 9)
    # Tuesday 00:30 in Shanghai, still Monday in UTC: counted from Tuesday.
    env.clock.now = at_shanghai(2026, 3, 3, 0, 30)
    assert env.clock.now.date() == date(2026, 3, 2)
    assert (await env.alice.submit(draft())).decision_due == date(2026, 3, 10)


async def test_holidays_and_make_up_days_move_the_decision_deadline(env):
    await env.add(CalendarDay(day=date(2026, 3, 4), kind=DayKind.HOLIDAY, name="test holiday"))
    item = await env.alice.submit(draft())
    assert item.decision_due == date(2026, 3, 10)
    assert (await env.item(item.id)).decision_due == date(2026, 3, 10)

    await env.add(CalendarDay(day=date(2026, 3, 7), kind=DayKind.WORKDAY, name="调休"))
    assert (await env.alice.submit(draft())).decision_due == date(2026, 3, 9)


async def test_decided_on_time_until_the_end_of_the_due_day_in_shanghai(env):
    early = await file_item(env, S.IN_REVIEW)
    late = await file_item(env, S.IN_REVIEW)
    assert early.decision_due == late.decision_due == date(2026, 3, 9)

    env.clock.now = at_shanghai(2026, 3, 9, 23, 59)
    done = await env.admin.decline(early.id, "不属于本区职责")
    assert done.decided_at == env.clock.now
    assert done.decided_on_time is True

    env.clock.now = at_shanghai(2026, 3, 10, 0, 0)
    done = await env.admin.adopt(late.id, department_id=env.world.department_id, due=DUE)
    assert done.decided_on_time is False
    row = await env.item(late.id)
    assert row.decided_at == env.clock.now
    assert row.decided_on_time is False


async def test_asking_for_information_is_not_a_decision_and_the_answer_restarts_the_clock(env):
    item = await file_item(env, S.NEEDS_INFO)
    assert (await env.item(item.id)).decided_at is None

    env.clock.now = at_shanghai(2026, 3, 11)  # past the first due date (9 March)
    answered = await env.alice.answer_info(item.id, "人民路 10-14 号一段")
    assert answered.decision_due == date(2026, 3, 18)
    event = await env.last_event(item.id)
    assert event.payload["decision_due"] == "2026-03-18"
    (row,) = await env.outbox(event_id=event.id)
    assert row.payload["decision_due"] == "2026-03-18"

    await env.admin.take(item.id)
    env.clock.now = at_shanghai(2026, 3, 16)
    decided = await env.admin.keep_for_reference(item.id, "纳入年度计划参考")
    assert decided.decided_on_time is True


async def test_escalation_is_the_decision_and_the_city_answer_keeps_it(env):
    item = await file_item(env, S.IN_REVIEW)
    env.clock.advance(days=1)
    escalated = await env.admin.escalate(item.id, "涉及市级权限")
    decided_at = escalated.decided_at
    assert decided_at == env.clock.now
    assert escalated.decided_on_time is True

    env.clock.advance(days=30)
    answered = await env.admin.record_city_answer(item.id, S.DECLINED, "市里不予采纳")
    assert answered.decided_at == decided_at
    assert answered.decided_on_time is True


async def test_implemented_on_time_against_the_due_date_set_at_adoption(env):
    on_time = await file_item(env, S.IMPLEMENTING)
    late = await file_item(env, S.IMPLEMENTING)
    assert on_time.implementation_due == DUE

    env.clock.now = at_shanghai(2026, 3, 31, 23, 0)
    done = await env.liaison.mark_implemented(on_time.id, "已修好")
    assert done.implemented_at == env.clock.now
    assert done.implemented_on_time is True

    env.clock.now = at_shanghai(2026, 4, 1, 8, 0)
    done = await env.liaison.mark_implemented(late.id, "已修好")
    assert done.implemented_on_time is False
    assert (await env.item(late.id)).implemented_on_time is False


async def test_a_later_due_date_counts_for_implemented_on_time(env):
    item = await file_item(env, S.IMPLEMENTING)
    moved = await env.admin.set_due(item.id, date(2026, 4, 30))
    assert moved.implementation_due == date(2026, 4, 30)
    env.clock.now = at_shanghai(2026, 4, 20)
    assert (await env.liaison.mark_implemented(item.id, "完成")).implemented_on_time is True


# ---- the office's first decision ------------------------------------------------------


async def test_take_puts_the_item_in_review_and_tells_the_observer(env):
    item = await env.alice.submit(draft())
    taken = await env.admin.take(item.id, version=item.version)
    assert taken.version == item.version + 1
    await check_move(
        env,
        taken,
        Action.TAKE,
        role=Role.ADMIN,
        source=S.SUBMITTED,
        target=S.IN_REVIEW,
        tell=["admins", "alice"],
        by=ADMIN,
    )


async def test_take_is_for_the_office_and_others_cannot_see_the_item(env):
    item = await env.alice.submit(draft())
    before = await env.snapshot(item.id)
    with pytest.raises(NotPermitted):
        await env.alice.take(item.id)
    for who in (env.bob, env.stranger, env.liaison):
        with pytest.raises(NotFound):
            await who.take(item.id)
    with pytest.raises(NotFound):
        await env.admin.take(item.id + 100)
    assert await env.snapshot(item.id) == before


async def test_a_stale_version_is_already_moved(env):
    item = await env.alice.submit(draft())
    await env.admin.take(item.id, version=item.version)
    before = await env.snapshot(item.id)
    with pytest.raises(AlreadyMoved):
        await env.admin.take(item.id, version=item.version)  # the second admin's press
    with pytest.raises(AlreadyMoved):
        await env.admin.decline(item.id, "重复", version=item.version)
    assert await env.snapshot(item.id) == before


async def test_ask_info_needs_a_question_and_tells_the_observer_in_the_office_words(env):
    item = await file_item(env, S.IN_REVIEW)
    for blank in ("", "   "):
        with pytest.raises(MissingInput):
            await env.admin.ask_info(item.id, blank)
    with pytest.raises(InvalidInput):
        await env.admin.ask_info(item.id, "问" * (TEXT_MAX + 1))
    with pytest.raises(NotPermitted):
        await env.alice.ask_info(item.id, "?")

    question = "请补充具体路段和照片<b>"
    asked = await env.admin.ask_info(item.id, f"  {question}\n")
    await check_move(
        env,
        asked,
        Action.ASK_INFO,
        role=Role.ADMIN,
        source=S.IN_REVIEW,
        target=S.NEEDS_INFO,
        text=question,
        tell=["admins", "alice"],
        by=ADMIN,
    )


async def test_a_text_exactly_at_the_limit_is_accepted(env):
    item = await file_item(env, S.IN_REVIEW)
    asked = await env.admin.ask_info(item.id, "问" * TEXT_MAX)
    assert (await env.last_event(asked.id)).text == "问" * TEXT_MAX


async def test_answer_info_goes_back_to_the_office_with_attachments(env):
    item = await file_item(env, S.NEEDS_INFO)
    with pytest.raises(MissingInput):
        await env.alice.answer_info(item.id, " ")
    with pytest.raises(NotPermitted):
        await env.admin.answer_info(item.id, "代答")
    with pytest.raises(NotFound):
        await env.bob.answer_info(item.id, "代答")
    with pytest.raises(InvalidInput):
        await env.alice.answer_info(item.id, "见图", photos(ATTACHMENTS_MAX + 1))

    answered = await env.alice.answer_info(item.id, "人民路 10-14 号", photos(2))
    event, _ = await check_move(
        env,
        answered,
        Action.ANSWER_INFO,
        role=Role.OBSERVER,
        source=S.NEEDS_INFO,
        target=S.SUBMITTED,
        text="人民路 10-14 号",
        tell=["admins"],  # the observer is never told of their own move
        by=ALICE,
    )
    rows = await env.scalars(sa.select(Attachment))
    assert [(r.file_id, r.event_id, r.added_by) for r in rows] == [
        ("photo-0", event.id, ALICE),
        ("photo-1", event.id, ALICE),
    ]


@pytest.mark.parametrize("status", [S.SUBMITTED, S.NEEDS_INFO])
async def test_the_observer_withdraws_before_a_decision(env, status):
    item = await file_item(env, status)
    with pytest.raises(NotPermitted):
        await env.admin.withdraw(item.id)
    with pytest.raises(NotFound):
        await env.bob.withdraw(item.id)
    withdrawn = await env.alice.withdraw(item.id, "已由街道解决")
    await check_move(
        env,
        withdrawn,
        Action.WITHDRAW,
        role=Role.OBSERVER,
        source=status,
        target=S.WITHDRAWN,
        text="已由街道解决",
        tell=["admins"],
        by=ALICE,
    )
    assert withdrawn.decided_at is None


async def test_withdraw_needs_no_reason(env):
    item = await env.alice.submit(draft())
    await env.alice.withdraw(item.id)
    assert (await env.last_event(item.id)).text is None


async def test_adopt_assigns_a_department_and_tells_observer_office_and_its_liaisons(env):
    item = await file_item(env, S.IN_REVIEW)
    adopted = await env.admin.adopt(
        item.id, department_id=env.world.department_id, due=DUE, text="请市场监管局落实"
    )
    assert adopted.department_id == env.world.department_id
    assert adopted.implementation_due == DUE
    assert adopted.decided_at == env.clock.now
    assert adopted.decided_on_time is True
    event, rows = await check_move(
        env,
        adopted,
        Action.ADOPT,
        role=Role.ADMIN,
        source=S.IN_REVIEW,
        target=S.ADOPTED,
        text="请市场监管局落实",
        tell=["admins", "alice", "liaison"],
        by=ADMIN,
    )
    assert event.payload == {
        "previous_department_id": None,
        "department_id": env.world.department_id,
        "department": "区市场监管局",
        "due": "2026-03-31",
    }
    for row in rows:
        assert row.payload["department"] == "区市场监管局"
        assert row.payload["due"] == "2026-03-31"
        # Liaisons get the same payload: it never names the observer.
        assert "Alice" not in str(row.payload)
        assert "observer" not in str(row.payload)


async def test_adopting_for_a_department_without_liaisons_tells_no_liaison(env):
    item = await file_item(env, S.IN_REVIEW)
    adopted = await env.admin.adopt(item.id, department_id=env.world.other_department_id, due=DUE)
    assert told(await env.outbox(event_id=(await env.last_event(adopted.id)).id)) == [
        "admins",
        "alice",
    ]


async def test_adopt_refuses_what_it_cannot_use(env):
    item = await file_item(env, S.IN_REVIEW)
    dept = env.world.department_id
    before = await env.snapshot(item.id)
    with pytest.raises(MissingInput):
        await env.admin.adopt(item.id, department_id=None, due=DUE)
    with pytest.raises(MissingInput):
        await env.admin.adopt(item.id, department_id=dept, due=None)
    with pytest.raises(NotFound):
        await env.admin.adopt(item.id, department_id=dept + 100, due=DUE)
    with pytest.raises(InvalidInput):
        await env.admin.adopt(item.id, department_id=dept, due=date(2026, 3, 1))
    with pytest.raises(InvalidInput):
        await env.admin.adopt(item.id, department_id=dept, due=DUE, text="x" * (TEXT_MAX + 1))
    with pytest.raises(NotPermitted):
        await env.alice.adopt(item.id, department_id=dept, due=DUE)
    with pytest.raises(NotFound):
        await env.liaison.adopt(item.id, department_id=dept, due=DUE)
    with pytest.raises(NotFound):
        await env.bob.adopt(item.id, department_id=dept, due=DUE)
    await env.update(Department, dept, active=False)
    with pytest.raises(NotFound):
        await env.admin.adopt(item.id, department_id=dept, due=DUE)
    assert await env.snapshot(item.id) == before

    # Due today is not in the past.
    adopted = await env.admin.adopt(
        item.id, department_id=env.world.other_department_id, due=date(2026, 3, 2)
    )
    assert adopted.implementation_due == date(2026, 3, 2)


@pytest.mark.parametrize(
    ("method", "action", "target"),
    [
        ("keep_for_reference", Action.KEEP_REFERENCE, S.REFERENCE),
        ("decline", Action.DECLINE, S.DECLINED),
        ("escalate", Action.ESCALATE, S.ESCALATED),
    ],
)
async def test_dispositions_that_need_a_reason(env, method, action, target):
    item = await file_item(env, S.IN_REVIEW)
    before = await env.snapshot(item.id)
    with pytest.raises(MissingInput):
        await getattr(env.admin, method)(item.id, "  ")
    with pytest.raises(InvalidInput):
        await getattr(env.admin, method)(item.id, "理" * (TEXT_MAX + 1))
    with pytest.raises(NotPermitted):
        await getattr(env.alice, method)(item.id, "理由")
    with pytest.raises(NotFound):
        await getattr(env.bob, method)(item.id, "理由")
    assert await env.snapshot(item.id) == before

    reason = "依据《优化营商环境条例》第十条"
    moved = await getattr(env.admin, method)(item.id, reason)
    assert moved.decided_at == env.clock.now
    assert moved.decided_on_time is True
    assert moved.department_id is None
    await check_move(
        env,
        moved,
        action,
        role=Role.ADMIN,
        source=S.IN_REVIEW,
        target=target,
        text=reason,
        tell=["admins", "alice"],
        by=ADMIN,
    )


async def test_escalate_records_to_whom(env):
    item = await file_item(env, S.IN_REVIEW)
    moved = await env.admin.escalate(item.id, "涉及市级审批", to_whom="市司法局")
    assert moved.escalated_to == "市司法局"
    # The city has 20 working days (the default) from Monday 2 March: Monday 30 March.
    assert moved.city_answer_due == date(2026, 3, 30)
    assert moved.disposition is S.ESCALATED
    event = await env.last_event(item.id)
    assert event.payload == {"escalated_to": "市司法局", "city_answer_due": "2026-03-30"}
    for row in await env.outbox(event_id=event.id):
        assert row.payload["escalated_to"] == "市司法局"


async def test_escalate_refuses_an_overlong_addressee(env):
    item = await file_item(env, S.IN_REVIEW)
    with pytest.raises(InvalidInput):
        await env.admin.escalate(item.id, "涉及市级审批", to_whom="市" * 201)
    moved = await env.admin.escalate(item.id, "涉及市级审批", to_whom="  市司法局 ")
    assert moved.escalated_to == "市司法局"


@pytest.mark.parametrize(
    ("outcome", "action"),
    [(S.REFERENCE, Action.CITY_REFERENCE), (S.DECLINED, Action.CITY_DECLINE)],
)
async def test_the_city_answer_without_adoption(env, outcome, action):
    item = await file_item(env, S.ESCALATED)
    with pytest.raises(MissingInput):
        await env.admin.record_city_answer(item.id, outcome, "")
    with pytest.raises(NotPermitted):
        await env.alice.record_city_answer(item.id, outcome, "市里答复")
    answered = await env.admin.record_city_answer(item.id, outcome, "市里答复: 暂缓")
    await check_move(
        env,
        answered,
        action,
        role=Role.ADMIN,
        source=S.ESCALATED,
        target=outcome,
        text="市里答复: 暂缓",
        tell=["admins", "alice"],
        by=ADMIN,
    )


async def test_the_city_adopts_with_a_department_and_a_due_date(env):
    item = await file_item(env, S.ESCALATED)
    dept = env.world.department_id
    with pytest.raises(MissingInput):
        await env.admin.record_city_answer(item.id, S.ADOPTED, "市里同意")
    with pytest.raises(MissingInput):
        await env.admin.record_city_answer(item.id, S.ADOPTED, "市里同意", department_id=dept)
    with pytest.raises(MissingInput):
        await env.admin.record_city_answer(item.id, S.ADOPTED, " ", department_id=dept, due=DUE)
    with pytest.raises(InvalidInput):
        await env.admin.record_city_answer(item.id, S.IMPLEMENTED, "市里同意")
    answered = await env.admin.record_city_answer(
        item.id, S.ADOPTED, "市里同意", department_id=dept, due=DUE
    )
    assert answered.department_id == dept
    assert answered.implementation_due == DUE
    await check_move(
        env,
        answered,
        Action.CITY_ADOPT,
        role=Role.ADMIN,
        source=S.ESCALATED,
        target=S.ADOPTED,
        text="市里同意",
        tell=["admins", "alice", "liaison"],
        by=ADMIN,
    )


async def test_mark_duplicate_points_at_the_original(env):
    original = await env.bob.submit(draft("同一盏路灯"))
    item = await file_item(env, S.IN_REVIEW)
    with pytest.raises(NotFound):
        await env.admin.mark_duplicate(item.id, "WZ-2026-0099")
    with pytest.raises(InvalidInput):
        await env.admin.mark_duplicate(item.id, item.reference)
    with pytest.raises(InvalidInput):
        await env.admin.mark_duplicate(item.id, "not a reference")
    with pytest.raises(NotPermitted):
        await env.alice.mark_duplicate(item.id, original.reference)

    marked = await env.admin.mark_duplicate(item.id, original.reference.lower())
    assert marked.duplicate_of_id == original.id
    assert marked.decided_on_time is True
    event, rows = await check_move(
        env,
        marked,
        Action.MARK_DUPLICATE,
        role=Role.ADMIN,
        source=S.IN_REVIEW,
        target=S.DUPLICATE,
        tell=["admins", "alice"],
        by=ADMIN,
    )
    assert event.payload == {"duplicate_of": original.reference}
    assert all(r.payload["duplicate_of"] == original.reference for r in rows)
    # Bob's original is untouched, and Bob is not told of Alice's item.
    assert (await env.item(original.id)).status is S.SUBMITTED
    assert "bob" not in told(await env.outbox())


async def test_marking_someone_elses_item_as_a_duplicate_of_itself_reveals_nothing(env):
    item = await file_item(env, S.IN_REVIEW)
    with pytest.raises(NotFound):
        await env.bob.mark_duplicate(item.id, item.reference)


# ---- implementation ---------------------------------------------------------------------


async def test_assign_moves_an_adopted_item_to_another_department(env):
    await env.add_housing_liaison()
    item = await file_item(env, S.ADOPTED)
    with pytest.raises(NotPermitted):
        await env.liaison.assign(item.id, env.world.other_department_id)
    with pytest.raises(NotFound):
        await env.admin.assign(item.id, env.world.other_department_id + 100)

    with pytest.raises(InvalidInput):  # it is there already: nobody is told anything
        await env.admin.assign(item.id, env.world.department_id)

    moved = await env.admin.assign(item.id, env.world.other_department_id)
    assert moved.department_id == env.world.other_department_id
    event = await env.last_event(item.id)
    rows = await env.outbox(event_id=event.id)
    # The department it left hears that it has gone, in a notice of its own (issue 19).
    [gone] = [r for r in rows if r.kind == "item.reassigned"]
    assert (gone.audience, gone.chat_id) == ("liaison", LIAISON)
    assert gone.payload["department"] == "District Housing Bureau"
    # The office, the new department's liaisons and the observer hear of the move.
    await check_move(
        env,
        moved,
        Action.ASSIGN,
        role=Role.ADMIN,
        source=S.ADOPTED,
        target=S.ADOPTED,
        tell=["admins", "alice", "housing"],
        by=ADMIN,
        rows=[r for r in rows if r is not gone],
    )
    assert event.payload["previous_department_id"] == env.world.department_id
    assert event.payload["department_id"] == env.world.other_department_id
    # The first department's liaison no longer sees it.
    with pytest.raises(NotFound):
        await env.liaison.get(item.id)
    assert (await env.by(HOUSING_LIAISON).get(item.id)).id == item.id


async def test_set_due_changes_the_implementation_deadline(env):
    item = await file_item(env, S.ADOPTED)
    with pytest.raises(InvalidInput):
        await env.admin.set_due(item.id, date(2026, 3, 1))
    with pytest.raises(NotPermitted):
        await env.liaison.set_due(item.id, date(2026, 4, 30))
    with pytest.raises(NotPermitted):
        await env.alice.set_due(item.id, date(2026, 4, 30))
    moved = await env.admin.set_due(item.id, date(2026, 4, 30))
    assert moved.implementation_due == date(2026, 4, 30)
    event, _ = await check_move(
        env,
        moved,
        Action.SET_DUE,
        role=Role.ADMIN,
        source=S.ADOPTED,
        target=S.ADOPTED,
        tell=["admins", "liaison"],
        by=ADMIN,
    )
    assert event.payload == {"due": "2026-04-30"}


async def test_accept_starts_implementation(env):
    await env.add_housing_liaison()
    item = await file_item(env, S.ADOPTED)
    with pytest.raises(NotPermitted):
        await env.admin.accept(item.id)
    with pytest.raises(NotPermitted):
        await env.alice.accept(item.id)
    with pytest.raises(NotFound):  # a liaison of another department
        await env.by(HOUSING_LIAISON).accept(item.id)
    accepted = await env.liaison.accept(item.id)
    await check_move(
        env,
        accepted,
        Action.ACCEPT,
        role=Role.LIAISON,
        source=S.ADOPTED,
        target=S.IMPLEMENTING,
        tell=["admins", "alice"],
        by=LIAISON,
    )


async def test_progress_reports_reach_the_observer(env):
    item = await file_item(env, S.IMPLEMENTING)
    with pytest.raises(MissingInput):
        await env.liaison.report_progress(item.id, "")
    with pytest.raises(NotPermitted):
        await env.alice.report_progress(item.id, "我看见修了")

    reported = await env.liaison.report_progress(item.id, "已更换灯泡 3 盏", photos(1))
    assert reported.version == item.version  # nothing but the timeline changed
    event, _ = await check_move(
        env,
        reported,
        Action.PROGRESS,
        role=Role.LIAISON,
        source=S.IMPLEMENTING,
        target=S.IMPLEMENTING,
        text="已更换灯泡 3 盏",
        tell=["admins", "alice"],
        by=LIAISON,
    )
    (attachment,) = await env.scalars(sa.select(Attachment))
    assert attachment.event_id == event.id
    assert attachment.added_by == LIAISON

    by_office = await env.admin.report_progress(item.id, "办公室督办中")
    await check_move(
        env,
        by_office,
        Action.PROGRESS,
        role=Role.ADMIN,
        source=S.IMPLEMENTING,
        target=S.IMPLEMENTING,
        text="办公室督办中",
        tell=["admins", "alice"],
        by=ADMIN,
    )


async def test_set_due_while_implementing(env):
    item = await file_item(env, S.IMPLEMENTING)
    moved = await env.admin.set_due(item.id, date(2026, 5, 15))
    await check_move(
        env,
        moved,
        Action.SET_DUE,
        role=Role.ADMIN,
        source=S.IMPLEMENTING,
        target=S.IMPLEMENTING,
        tell=["admins", "liaison"],
        by=ADMIN,
    )


async def test_hand_back_clears_the_department_and_tells_the_office(env):
    item = await file_item(env, S.IMPLEMENTING)
    with pytest.raises(MissingInput):
        await env.liaison.hand_back(item.id, "")
    with pytest.raises(NotPermitted):
        await env.admin.hand_back(item.id, "不归我们")
    handed = await env.liaison.hand_back(item.id, "路灯归城管局管理")
    assert handed.department_id is None
    assert handed.implementation_due == DUE
    event, _ = await check_move(
        env,
        handed,
        Action.HAND_BACK,
        role=Role.LIAISON,
        source=S.IMPLEMENTING,
        target=S.ADOPTED,
        text="路灯归城管局管理",
        tell=["admins"],
        by=LIAISON,
    )
    assert event.payload == {"previous_department_id": env.world.department_id}
    with pytest.raises(NotFound):
        await env.liaison.get(item.id)
    # The office gives it to someone else.
    again = await env.admin.assign(item.id, env.world.other_department_id)
    assert again.department_id == env.world.other_department_id


async def test_mark_implemented_by_the_department(env):
    item = await file_item(env, S.IMPLEMENTING)
    with pytest.raises(NotPermitted):
        await env.alice.mark_implemented(item.id, "好了")
    done = await env.liaison.mark_implemented(item.id, "全部修好", photos(2))
    event, _ = await check_move(
        env,
        done,
        Action.MARK_IMPLEMENTED,
        role=Role.LIAISON,
        source=S.IMPLEMENTING,
        target=S.IMPLEMENTED,
        text="全部修好",
        tell=["admins", "alice"],  # the liaison is not told of their own move
        by=LIAISON,
    )
    rows = await env.scalars(sa.select(Attachment))
    assert {r.event_id for r in rows} == {event.id}


async def test_mark_implemented_by_the_office_tells_the_liaison(env):
    item = await file_item(env, S.IMPLEMENTING)
    done = await env.admin.mark_implemented(item.id, "办公室核实已完成")
    await check_move(
        env,
        done,
        Action.MARK_IMPLEMENTED,
        role=Role.ADMIN,
        source=S.IMPLEMENTING,
        target=S.IMPLEMENTED,
        text="办公室核实已完成",
        tell=["admins", "alice", "liaison"],
        by=ADMIN,
    )


# ---- notes and closing -------------------------------------------------------------------


async def test_a_note_is_internal_and_tells_nobody(env):
    item = await file_item(env, S.IN_REVIEW)
    with pytest.raises(NotPermitted):
        await env.alice.note(item.id, "备注")
    with pytest.raises(MissingInput):
        await env.admin.note(item.id, " ")
    noted = await env.admin.note(item.id, "与去年 WZ-2025-0101 类似")
    assert noted.status is S.IN_REVIEW
    assert noted.version == item.version  # a note does not make open cards stale
    event = await env.last_event(item.id)
    assert (event.action, event.internal, event.text, event.actor_role) == (
        Action.NOTE,
        True,
        "与去年 WZ-2025-0101 类似",
        Role.ADMIN,
    )
    assert await env.outbox(event_id=event.id) == []
    # The item can still be decided with the version the admin saw.
    await env.admin.decline(item.id, "不属于本区", version=item.version)


@pytest.mark.parametrize("status", [S.IMPLEMENTED, S.REFERENCE, S.DECLINED, S.DUPLICATE])
async def test_the_office_closes_an_item(env, status):
    item = await file_item(env, status)
    with pytest.raises(NotPermitted):
        await env.alice.close(item.id)
    env.clock.advance(days=3)
    closed = await env.admin.close(item.id)
    assert closed.closed_at == env.clock.now
    await check_move(
        env,
        closed,
        Action.CLOSE,
        role=Role.ADMIN,
        source=status,
        target=S.CLOSED,
        tell=["admins", "alice"],
        by=ADMIN,
    )


async def test_the_scheduler_closes_an_unrated_item(env):
    item = await file_item(env, S.IMPLEMENTED)
    closed = await env.system.close(item.id)
    await check_move(
        env,
        closed,
        Action.CLOSE,
        role=Role.SYSTEM,
        source=S.IMPLEMENTED,
        target=S.CLOSED,
        tell=["admins", "alice"],
        by=None,
    )


# ---- rating -------------------------------------------------------------------------------


async def test_satisfied_closes_an_implemented_item(env):
    item = await file_item(env, S.IMPLEMENTED)
    env.clock.advance(days=1)
    rated = await env.alice.rate(item.id, RatingValue.SATISFIED, "  很及时 ")
    assert rated.closed_at == env.clock.now
    event, _ = await check_move(
        env,
        rated,
        Action.RATE,
        role=Role.OBSERVER,
        source=S.IMPLEMENTED,
        target=S.CLOSED,
        text="很及时",
        tell=["admins"],
        by=ALICE,
    )
    (rating,) = await env.scalars(sa.select(Rating))
    assert (rating.value, rating.comment, rating.event_id, rating.observer_id) == (
        RatingValue.SATISFIED,
        "很及时",
        event.id,
        env.world.alice_observer_id,
    )
    assert rated.implemented_on_time is True  # the rating keeps the implementation figures


async def test_dissatisfied_reopens_an_implemented_item(env):
    item = await file_item(env, S.IMPLEMENTED)
    reopened = await env.alice.rate(item.id, RatingValue.DISSATISFIED, "只修了一盏")
    assert reopened.implemented_at is None
    assert reopened.implemented_on_time is None
    assert reopened.department_id == env.world.department_id
    assert reopened.closed_at is None
    event, _ = await check_move(
        env,
        reopened,
        Action.REOPEN,
        role=Role.OBSERVER,
        source=S.IMPLEMENTED,
        target=S.IMPLEMENTING,
        text="只修了一盏",
        tell=["admins", "liaison"],
        by=ALICE,
    )
    (rating,) = await env.scalars(sa.select(Rating))
    assert rating.value is RatingValue.DISSATISFIED
    assert rating.event_id == event.id

    # The department finishes the job; the observer rates again.
    await env.liaison.mark_implemented(item.id, "其余两盏也修好")
    closed = await env.alice.rate(item.id, RatingValue.BASICALLY_SATISFIED)
    assert closed.status is S.CLOSED
    assert await env.count(Rating) == 2


@pytest.mark.parametrize("status", [S.REFERENCE, S.DECLINED])
async def test_rating_a_decision_without_adoption_closes_it(env, status):
    item = await file_item(env, status)
    # Dissatisfied leaves it open for the office (tests/handlers/test_rating_reaches_office).
    rated = await env.alice.rate(item.id, RatingValue.BASICALLY_SATISFIED, "理由不充分")
    await check_move(
        env,
        rated,
        Action.RATE,
        role=Role.OBSERVER,
        source=status,
        target=S.CLOSED,
        text="理由不充分",
        tell=["admins"],
        by=ALICE,
    )


async def test_a_closed_item_is_rated_once(env):
    item = await file_item(env, S.CLOSED)
    closed_at = (await env.item(item.id)).closed_at
    env.clock.advance(days=2)
    rated = await env.alice.rate(item.id, RatingValue.BASICALLY_SATISFIED)
    assert rated.status is S.CLOSED
    assert rated.closed_at == closed_at
    await check_move(
        env,
        rated,
        Action.RATE,
        role=Role.OBSERVER,
        source=S.CLOSED,
        target=S.CLOSED,
        tell=["admins"],
        by=ALICE,
    )
    before = await env.snapshot(item.id)
    with pytest.raises(AlreadyRated):
        await env.alice.rate(item.id, RatingValue.SATISFIED)
    assert await env.snapshot(item.id) == before


async def test_rating_an_implemented_item_twice_is_refused(env):
    item = await file_item(env, S.IMPLEMENTED)
    await env.alice.rate(item.id, RatingValue.SATISFIED)
    with pytest.raises(AlreadyRated):
        await env.alice.rate(item.id, RatingValue.DISSATISFIED)
    assert await env.count(Rating) == 1


async def test_only_the_observer_rates_their_own_item(env):
    item = await file_item(env, S.IMPLEMENTED)
    before = await env.snapshot(item.id)
    with pytest.raises(NotPermitted):
        await env.admin.rate(item.id, RatingValue.SATISFIED)
    with pytest.raises(NotPermitted):
        await env.liaison.rate(item.id, RatingValue.SATISFIED)
    with pytest.raises(NotFound):
        await env.bob.rate(item.id, RatingValue.SATISFIED)
    with pytest.raises(InvalidInput):
        await env.alice.rate(item.id, RatingValue.SATISFIED, "评" * (COMMENT_MAX + 1))
    assert await env.snapshot(item.id) == before


# ---- the transition table, use case by use case ----------------------------------------

# Each use case with the arguments of a legal call; who makes it.
CALLS: dict[str, tuple[int, tuple[Any, ...], dict[str, Any]]] = {
    "take": (ADMIN, (), {}),
    "ask_info": (ADMIN, ("问题",), {}),
    "answer_info": (ALICE, ("回答",), {}),
    "withdraw": (ALICE, (), {}),
    "adopt": (ADMIN, (), {"department_id": "D", "due": DUE}),
    "keep_for_reference": (ADMIN, ("参考",), {}),
    "decline": (ADMIN, ("不予采纳",), {}),
    "escalate": (ADMIN, ("报市级",), {}),
    "record_city_answer": (ADMIN, (S.REFERENCE, "市级答复"), {}),
    "mark_duplicate": (ADMIN, ("ORIGINAL",), {}),
    "assign": (ADMIN, ("D",), {}),
    "set_due": (ADMIN, (DUE,), {}),
    "note": (ADMIN, ("备注",), {}),
    "close": (ADMIN, (), {}),
    "accept": (LIAISON, (), {}),
    "report_progress": (ADMIN, ("进展",), {}),
    "hand_back": (LIAISON, ("退回",), {}),
    "mark_implemented": (ADMIN, ("完成",), {}),
    "rate": (ALICE, (RatingValue.SATISFIED,), {}),
}
# What docs/design.md part C allows from each status; everything else is illegal.
LEGAL: dict[S, set[str]] = {
    S.SUBMITTED: {"take", "withdraw", "note"},
    S.IN_REVIEW: {
        "withdraw",
        "ask_info",
        "adopt",
        "keep_for_reference",
        "decline",
        "escalate",
        "mark_duplicate",
        "note",
    },
    S.NEEDS_INFO: {"answer_info", "withdraw", "note"},
    S.ADOPTED: {"assign", "set_due", "accept", "note"},
    S.IMPLEMENTING: {"report_progress", "set_due", "hand_back", "mark_implemented", "note"},
    S.IMPLEMENTED: {"rate", "close", "note"},
    S.REFERENCE: {"rate", "close", "note"},
    S.DECLINED: {"rate", "close", "note"},
    S.ESCALATED: {"record_city_answer", "note"},
    S.DUPLICATE: {"close", "note"},
    S.CLOSED: {"rate", "note"},
    S.WITHDRAWN: set(),
}


@pytest.mark.parametrize("status", list(S))
async def test_every_use_case_from_every_status(env, status):
    """Legal calls succeed (and are rolled back); all others are IllegalTransition and
    leave no trace."""
    original = await env.bob.submit(draft("另一件"))
    item = await file_item(env, status)
    before = await env.snapshot(item.id)

    async def attempt(name: str) -> Any:
        user_id, args, kwargs = CALLS[name]
        if user_id == LIAISON and name not in LEGAL[status]:
            user_id = ADMIN  # liaisons see only adopted items; the office sees all
        args = tuple(original.reference if a == "ORIGINAL" else a for a in args)
        args = tuple(env.world.other_department_id if a == "D" else a for a in args)
        kwargs = {k: env.world.other_department_id if v == "D" else v for k, v in kwargs.items()}
        async with env.sessions() as session:
            store = Store(session)
            svc = SuggestionService(store, POLICY, env.clock)
            who = await actor(store, user_id, admin=user_id == ADMIN)
            try:
                return await getattr(svc, name)(who, item.id, *args, **kwargs)
            except DomainError as exc:
                return exc
            finally:
                await session.rollback()

    for name in CALLS:
        outcome = await attempt(name)
        if name in LEGAL[status]:
            assert isinstance(outcome, SuggestionInfo), (name, outcome)
        else:
            assert isinstance(outcome, IllegalTransition), (name, outcome)
    assert await env.snapshot(item.id) == before


# ---- reading ------------------------------------------------------------------------------


async def test_the_observer_sees_their_timeline_without_internal_notes(env):
    item = await env.alice.submit(draft())
    await env.admin.take(item.id)
    await env.admin.note(item.id, "内部: 联系过街道")
    await env.admin.ask_info(item.id, "请补充照片")

    mine = await env.alice.detail(item.id)
    assert [e.action for e in mine.timeline] == [Action.SUBMIT, Action.TAKE, Action.ASK_INFO]
    assert not any(e.internal for e in mine.timeline)
    assert mine.timeline[-1].text == "请补充照片"
    assert mine.timeline[-1].actor_role is Role.ADMIN
    assert (mine.timeline[0].from_status, mine.timeline[0].to_status) == (None, S.SUBMITTED)
    assert mine.actions == (Action.ANSWER_INFO, Action.WITHDRAW)
    assert mine.observer_name == "Alice"
    assert mine.point_name == "城区便民服务中心"
    assert mine.department_name is None
    assert mine.info.reference == item.reference

    office = await env.admin.detail(item.id)
    assert [e.action for e in office.timeline] == [
        Action.SUBMIT,
        Action.TAKE,
        Action.NOTE,
        Action.ASK_INFO,
    ]
    assert [e.internal for e in office.timeline] == [False, False, True, False]
    assert office.observer_name == "Alice"
    # Waiting for Alice: the office may remind her, decide anyway or close it.
    assert office.actions == (
        Action.CHASE,
        Action.DECIDE_ANYWAY,
        Action.CLOSE_UNANSWERED,
        Action.REPLY,
        Action.NOTE,
    )

    with pytest.raises(NotFound):
        await env.bob.detail(item.id)
    with pytest.raises(NotFound):
        await env.stranger.detail(item.id)


async def test_the_liaison_sees_the_department_item_without_the_observer(env):
    await env.add_housing_liaison()
    item = await file_item(env, S.ADOPTED)
    await env.admin.note(item.id, "内部备注")
    seen = await env.liaison.detail(item.id)
    assert seen.observer_name is None
    assert seen.department_name == "区市场监管局"
    assert seen.actions == (Action.ACCEPT,)
    assert Action.NOTE not in [e.action for e in seen.timeline]
    with pytest.raises(NotFound):
        await env.by(HOUSING_LIAISON).detail(item.id)

    await env.liaison.accept(item.id)
    assert (await env.liaison.detail(item.id)).actions == (
        Action.PROGRESS,
        Action.HAND_BACK,
        Action.MARK_IMPLEMENTED,
    )


@pytest.mark.parametrize(
    ("status", "observer", "office"),
    [
        (S.SUBMITTED, (Action.WITHDRAW, Action.ADD), (Action.TAKE, Action.REPLY, Action.NOTE)),
        (
            S.IN_REVIEW,
            (Action.WITHDRAW, Action.ADD),
            (
                Action.ASK_INFO,
                Action.ADOPT,
                Action.KEEP_REFERENCE,
                Action.DECLINE,
                Action.ESCALATE,
                Action.MARK_DUPLICATE,
                Action.REPLY,
                Action.NOTE,
            ),
        ),
        (
            S.NEEDS_INFO,
            (Action.ANSWER_INFO, Action.WITHDRAW),
            (
                Action.CHASE,
                Action.DECIDE_ANYWAY,
                Action.CLOSE_UNANSWERED,
                Action.REPLY,
                Action.NOTE,
            ),
        ),
        (S.ADOPTED, (Action.ADD,), (Action.ASSIGN, Action.SET_DUE, Action.REPLY, Action.NOTE)),
        (
            S.IMPLEMENTING,
            (Action.ADD,),
            (
                Action.PROGRESS,
                Action.SET_DUE,
                Action.MARK_IMPLEMENTED,
                Action.REPLY,
                Action.NOTE,
            ),
        ),
        (S.IMPLEMENTED, (Action.RATE, Action.REOPEN), (Action.CLOSE, Action.REPLY, Action.NOTE)),
        (
            S.REFERENCE,
            (Action.RATE, Action.DISPUTE),
            (Action.CLOSE, Action.RECONSIDER, Action.REPLY, Action.NOTE),
        ),
        (
            S.ESCALATED,
            (Action.ADD,),
            (
                Action.CITY_ADOPT,
                Action.CITY_REFERENCE,
                Action.CITY_DECLINE,
                Action.REPLY,
                Action.NOTE,
            ),
        ),
        (S.CLOSED, (Action.RATE,), (Action.REPLY, Action.NOTE)),
        (S.WITHDRAWN, (), ()),
    ],
)
async def test_the_actions_offered_match_the_state(env, status, observer, office):
    item = await file_item(env, status)
    assert (await env.alice.detail(item.id)).actions == observer
    assert (await env.admin.detail(item.id)).actions == office


async def test_a_rated_closed_item_offers_no_more_rating(env):
    item = await file_item(env, S.IMPLEMENTED)
    await env.alice.rate(item.id, RatingValue.SATISFIED, "好")
    detail = await env.alice.detail(item.id)
    assert detail.actions == ()
    assert [(r.value, r.comment) for r in detail.ratings] == [(RatingValue.SATISFIED, "好")]


async def test_mine_pages_through_the_observers_own_items_newest_first(env):
    refs = []
    for i in range(PAGE_SIZE + 2):
        refs.append((await env.alice.submit(draft(f"第 {i} 件"))).reference)
        env.clock.advance(minutes=5)
    bobs = await env.bob.submit(draft())
    newest_first = refs[::-1]

    first = await env.alice.mine()
    assert (first.page, first.pages, first.total) == (1, 2, PAGE_SIZE + 2)
    assert [i.reference for i in first.items] == newest_first[:PAGE_SIZE]
    second = await env.alice.mine(2)
    assert (second.page, second.pages) == (2, 2)
    assert [i.reference for i in second.items] == newest_first[PAGE_SIZE:]
    # Out-of-range pages are clamped.
    assert (await env.alice.mine(99)).items == second.items
    assert (await env.alice.mine(0)).items == first.items

    theirs = await env.bob.mine()
    assert [i.reference for i in theirs.items] == [bobs.reference]
    assert (theirs.pages, theirs.total) == (1, 1)

    with pytest.raises(NotAppointed):
        await env.stranger.mine()
    with pytest.raises(NotAppointed):
        await env.admin.mine()


async def test_mine_of_an_observer_with_nothing_filed(env):
    page = await env.alice.mine()
    assert (page.items, page.page, page.pages, page.total) == ((), 1, 1, 0)


async def test_a_suspended_observer_still_follows_their_items(env):
    item = await file_item(env, S.NEEDS_INFO)
    await env.update(Observer, env.world.alice_observer_id, status=ObserverStatus.SUSPENDED)
    assert (await env.alice.mine()).total == 1
    answered = await env.alice.answer_info(item.id, "补充")
    assert answered.status is S.SUBMITTED


async def test_get_hides_other_peoples_items(env):
    item = await env.alice.submit(draft())
    assert (await env.alice.get(item.id)) == item
    assert (await env.admin.get(item.id)).id == item.id
    assert (await env.system.get(item.id)).id == item.id
    for who in (env.bob, env.liaison, env.stranger):
        with pytest.raises(NotFound):
            await who.get(item.id)


async def test_a_new_outcome_after_a_reopening_may_be_rated_once_closed(env):
    item = await file_item(env, S.IMPLEMENTED)
    await env.alice.rate(item.id, RatingValue.DISSATISFIED, "灯又坏了")
    await env.liaison.mark_implemented(item.id, "换了整套线路")
    await env.system.close(item.id)
    assert Action.RATE in (await env.alice.detail(item.id)).actions
    rated = await env.alice.rate(item.id, RatingValue.SATISFIED)
    assert rated.status is S.CLOSED
    assert Action.RATE not in (await env.alice.detail(item.id)).actions
    values = await env.scalars(sa.select(Rating.value).order_by(Rating.id))
    assert values == [RatingValue.DISSATISFIED, RatingValue.SATISFIED]
    with pytest.raises(AlreadyRated):
        await env.alice.rate(item.id, RatingValue.SATISFIED)


async def test_the_office_rating_a_rated_closed_item_is_not_permitted(env):
    item = await file_item(env, S.IMPLEMENTED)
    await env.alice.rate(item.id, RatingValue.SATISFIED)
    with pytest.raises(NotPermitted):
        await env.admin.rate(item.id, RatingValue.SATISFIED)


async def test_a_closed_item_rating_bumps_the_version(env):
    item = await file_item(env, S.CLOSED)
    rated = await env.alice.rate(item.id, RatingValue.SATISFIED)
    assert rated.version == item.version + 1


async def test_events_and_ratings_carry_the_service_clock(env):
    env.clock.now = at_shanghai(2026, 3, 4, 10, 30)
    item = await file_item(env, S.IMPLEMENTED)
    env.clock.advance(days=1)
    await env.alice.rate(item.id, RatingValue.SATISFIED)
    stamps = await env.scalars(sa.select(Event.created_at).order_by(Event.id))
    assert stamps[0] == at_shanghai(2026, 3, 4, 10, 30)
    assert stamps[-1] == at_shanghai(2026, 3, 5, 10, 30)
    assert await env.scalars(sa.select(Rating.created_at)) == [at_shanghai(2026, 3, 5, 10, 30)]
    row = await env.item(item.id)
    assert row.created_at == at_shanghai(2026, 3, 4, 10, 30)


@pytest.mark.parametrize(
    "attachment",
    [
        AttachmentIn(AttachmentKind.PHOTO, "f" * 257),
        AttachmentIn(AttachmentKind.PHOTO, "f", file_unique_id="u" * 65),
        AttachmentIn(AttachmentKind.DOCUMENT, "f", file_name="n" * 257),
        AttachmentIn(AttachmentKind.DOCUMENT, "f", mime_type="m" * 129),
    ],
)
async def test_overlong_attachment_fields_file_nothing(env, attachment):
    with pytest.raises(InvalidInput):
        await env.alice.submit(draft(attachments=(attachment,)))
    assert await env.count(Suggestion) == 0
    assert await env.count(Attachment) == 0


async def test_a_moves_notices_say_how_many_files_it_carried_and_none_are_sought_without(
    env: Env, sessions: Any
) -> None:
    from bot.services.outbox import OutboxItem, OutboxService

    item = await file_item(env, S.NEEDS_INFO)
    await env.alice.answer_info(item.id, "见照片", photos(2))
    answered = await env.last_event(item.id)
    await env.admin.take(item.id)
    taken = await env.last_event(item.id)

    async def files_of(event_id: int) -> tuple[list[int], list[list[str]]]:
        rows = await env.outbox(event_id=event_id)

        async def go(store: Store) -> list[list[str]]:
            service = OutboxService(store, POLICY, env.clock)
            return [[f.file_id for f in await service.attachments(OutboxItem.of(r))] for r in rows]

        return [r.payload["files"] for r in rows], await env.run(go)

    with statements_about(sessions, "FROM attachments") as sought:
        counts, files = await files_of(answered.id)
        assert counts
        assert set(counts) == {2}
        assert ["photo-0", "photo-1"] in files
        assert sought
        sought.clear()
        counts, files = await files_of(taken.id)
        assert counts
        assert set(counts) == {0}
        assert all(f == [] for f in files)
        assert sought == []


async def detail_reading(who: As, sessions: Any, item_id: int, table: str) -> tuple[Any, int]:
    """The item's detail as ``who`` sees it, and how many statements read ``table``."""
    with statements_about(sessions, f"FROM {table}") as read:
        detail = await who.detail(item_id)
    return detail, len(read)


async def test_an_item_never_rated_reads_no_ratings_and_a_rated_one_offers_no_second(
    env: Env, sessions: Any
) -> None:
    item = await file_item(env, S.REFERENCE)
    detail, reads = await detail_reading(env.alice, sessions, item.id, "ratings")
    assert (reads, detail.ratings) == (0, ())
    assert Action.RATE in detail.actions
    await env.alice.rate(item.id, RatingValue.SATISFIED)
    detail, reads = await detail_reading(env.alice, sessions, item.id, "ratings")
    assert reads == 1
    assert [r.value for r in detail.ratings] == [RatingValue.SATISFIED]
    assert Action.RATE not in detail.actions


async def test_an_item_without_files_reads_no_attachments_and_one_with_them_shows_them(
    env: Env, sessions: Any
) -> None:
    bare = await file_item(env, S.NEEDS_INFO)
    detail, reads = await detail_reading(env.admin, sessions, bare.id, "attachments")
    assert (reads, detail.attachments) == (0, ())
    # Files added by a move are read, and shown.
    await env.alice.answer_info(bare.id, "见照片", photos(1))
    detail, reads = await detail_reading(env.admin, sessions, bare.id, "attachments")
    assert reads == 1
    assert [a.file_id for a in detail.attachments] == ["photo-0"]
    # And files filed with the item.
    filed = await env.alice.submit(draft("有照片", attachments=photos(2)))
    detail = await env.admin.detail(filed.id)
    assert [a.file_id for a in detail.attachments] == ["photo-0", "photo-1"]


def test_an_item_filed_before_filings_counted_their_files_is_read_all_the_same() -> None:
    from bot.services.suggestions import _may_have_files

    def event(action: Action, **payload: Any) -> Event:
        return Event(action=action, payload=payload)

    assert _may_have_files([event(Action.SUBMIT), event(Action.TAKE)])
    assert not _may_have_files([event(Action.SUBMIT, files=0), event(Action.TAKE)])
    assert _may_have_files([event(Action.SUBMIT, files=2)])
    assert _may_have_files([event(Action.SUBMIT, files=0), event(Action.PROGRESS, files=1)])
    assert _may_have_files([])


async def test_the_offices_detail_reads_the_item_and_its_timeline_with_names_in_two_statements(
    env: Env, sessions: Any
) -> None:
    item = await file_item(env, S.IN_REVIEW)
    with statements_about(sessions) as sent:
        detail = await env.admin.detail(item.id)
    # (The test's own lookup of the acting person aside.) The item with its point,
    # department and observer; the events with who made them.
    read = [s for s in sent if "WHERE observers.user_id" not in s]
    assert len(read) == 2, read
    assert "FROM suggestions" in read[0]
    assert "JOIN points" in read[0]
    assert "FROM events" in read[1]
    assert "JOIN telegram_users" in read[1]
    assert [(e.action, e.actor_name) for e in detail.timeline] == [
        (Action.SUBMIT, "Alice"),
        (Action.TAKE, "Ada"),
    ]
    assert detail.point_name == "城区便民服务中心"
    assert detail.observer_name is not None
    # The observer sees no names, and no internal event.
    mine = await env.alice.detail(item.id)
    assert [e.actor_name for e in mine.timeline] == [None, None]
