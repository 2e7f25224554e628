"""The notification texts observers and applicants receive, in both languages.

Realistic payloads come from the services themselves (every move that tells the
observer, every people notice), rendered row by row as the outbox sender will; hostile
payloads check that nothing a payload holds can break the HTML or the length limit.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from aiogram.types import InlineKeyboardMarkup

from bot.domain.lifecycle import TRANSITIONS, Action, Audience
from bot.domain.notices import Notice, item_notice
from bot.domain.statuses import ObserverCategory, RatingValue
from bot.domain.statuses import SuggestionStatus as S
from bot.i18n import EN, ZH, build_i18n
from bot.services.people import PeopleService
from bot.services.places import PlaceService
from bot.services.suggestions import SuggestionService
from handlers import labels
from handlers.callbacks import MineCb
from handlers.moving import MoveCb
from handlers.notices import Rendered, UnknownNotice, kinds, render
from handlers.ui import esc
from storage.models import OutboxMessage
from tests.harness import Harness
from tests.telegram_html import plain_text, telegram_length
from tests.world import ALICE, BOB, DUE, LIAISON, STRANGER, FixedClock, World, draft

I18N = build_i18n(ZH)
LOCALES = (ZH, EN)
CJK = re.compile(r"[\u4e00-\u9fff]")

# Every kind an observer hears of an item, straight from the lifecycle table: a new
# transition that tells the observer fails these tests until it has a text.
ITEM_KINDS = frozenset(item_notice(t.action) for t in TRANSITIONS if Audience.OBSERVER in t.tell)
PEOPLE_KINDS = frozenset(
    {
        Notice.APPLICATION_APPROVED.value,
        Notice.APPLICATION_REJECTED.value,
        Notice.OBSERVER_APPOINTED.value,
        Notice.OBSERVER_SUSPENDED.value,
        Notice.OBSERVER_MOVED.value,
        Notice.POINT_CLOSED.value,
        Notice.POINT_REQUEST_APPROVED.value,
        Notice.POINT_REQUEST_REFUSED.value,
    }
)
OBSERVER_KINDS = ITEM_KINDS | PEOPLE_KINDS
# Moves after which the observer is asked to rate the outcome.
RATED = frozenset(
    item_notice(a)
    for a in (
        Action.MARK_IMPLEMENTED,
        Action.KEEP_REFERENCE,
        Action.DECLINE,
        Action.CITY_REFERENCE,
        Action.CITY_DECLINE,
    )
)
APPLICANT = 5556
# Where the office's words are in people notices (item notices: "text").
WORDS_KEY = {"application.rejected": "reason", "observer.suspended": "reason"}
TITLE = "路灯不亮 <b>&"
TITLE_ESCAPED = "路灯不亮 &lt;b&gt;&amp;"


@contextmanager
def speaking(locale: str) -> Iterator[None]:
    with I18N.context(), I18N.use_locale(locale):
        yield


def shown(rendered: Rendered) -> str:
    """What Telegram would show; fails where Telegram would refuse the message."""
    plain = plain_text(rendered.text)  # raises BadHTML
    assert plain.strip()
    assert telegram_length(plain) <= 4096
    for text, data in buttons(rendered):
        assert text.strip()
        assert 0 < len(data.encode()) <= 64
    return plain


def buttons(rendered: Rendered) -> list[tuple[str, str]]:
    # A welcome carries the menu under the text box instead: keys, no callback data.
    if not isinstance(rendered.markup, InlineKeyboardMarkup):
        return []
    return [(b.text, b.callback_data or "") for row in rendered.markup.inline_keyboard for b in row]


def rating_data(item: int) -> list[str]:
    return [MineCb(act="rate", item=item, value=v).pack() for v in RatingValue]


# ---- the set of kinds ------------------------------------------------------------------


def test_the_computed_kinds_are_the_ones_expected() -> None:
    # A sanity check of the computation itself, so an empty set cannot pass silently.
    assert {
        "item.take",
        "item.ask_info",
        "item.adopt",
        "item.mark_implemented",
        "item.close",
    } <= ITEM_KINDS
    assert "item.submit" not in ITEM_KINDS
    assert "item.withdraw" not in ITEM_KINDS


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", sorted(OBSERVER_KINDS))
def test_every_kind_that_reaches_an_observer_has_a_text(kind: str, locale: str) -> None:
    assert kind in kinds()
    with speaking(locale):
        for payload in ({}, {"reference": "WZ-2026-0001", "title": "t", "text": "x"}):
            shown(render(kind, payload, suggestion_id=7))
            shown(render(kind, payload))


@pytest.mark.parametrize(
    "kind",
    [
        "item.submit",
        "item.answer_info",
        "item.withdraw",
        "item.rate",
        "item.note",
        "item.hand_back",
        # Only liaisons and the office hear of these: their texts come later.
        "item.set_due",
        "item.reassigned",
        "item.reopen",
        "application.new",
        "liaison.joined",
        "item.bogus",
        "bogus",
        "",
    ],
)
def test_kinds_for_others_are_refused(kind: str) -> None:
    with speaking(EN), pytest.raises(UnknownNotice) as refused:
        render(kind, {"reference": "WZ-2026-0001"}, suggestion_id=1)
    assert isinstance(refused.value, ValueError)
    assert refused.value.kind == kind
    assert kind not in kinds()


# ---- realistic payloads from the services ----------------------------------------------


class Items(Harness):
    service = SuggestionService
    none_is_system = True


class People(Harness):
    service = PeopleService


class Places(Harness):
    service = PlaceService


async def produce_every_notice(sessions: Any, world: World, clock: FixedClock) -> dict[str, Any]:
    """Drive the services through every move that tells an observer or applicant."""
    items = Items(sessions, world, clock)
    alice, admin, liaison = items.by(ALICE), items.admin, items.by(LIAISON)

    async def under_review(title: str) -> Any:
        info = await alice.submit(draft(title))
        await admin.take(info.id)
        return info

    a = await under_review(TITLE)
    await admin.ask_info(a.id, "请补充具体位置 & 现场照片 <i>")
    await alice.answer_info(a.id, "人民路 12 号南侧")
    await admin.take(a.id)
    await admin.adopt(
        a.id, department_id=world.department_id, due=DUE, text="同意，请区市场监管局落实"
    )
    await liaison.accept(a.id)
    await liaison.report_progress(a.id, "已更换灯泡 3 个，剩余 2 个本周完成")
    await liaison.mark_implemented(a.id, "已全部修复 <ok>")
    await admin.close(a.id)

    # Passed to another department: the one it left hears of it too (issue 19).
    d = await under_review("人民路路灯归属住建局")
    await admin.adopt(d.id, department_id=world.department_id, due=DUE)
    await admin.assign(d.id, world.other_department_id)

    b = await under_review("菜市场占道经营")
    await admin.keep_for_reference(b.id, "已纳入明年城市管理计划")
    await admin.close(b.id)

    c = await under_review("希望增设夜间公交")
    await admin.decline(c.id, "线路规划属市级事权，本区无权调整")
    # Not satisfied with the decision: the office answers, then reopens it (issue 19).
    await alice.rate(c.id, RatingValue.DISSATISFIED, "能否先试点？")
    await admin.reply(c.id, "试点需报市级 <b> & 批准")
    await admin.reconsider(c.id)

    escalated = {}
    for outcome in (S.ADOPTED, S.REFERENCE, S.DECLINED):
        info = await under_review(f"跨区执法协作 {outcome.value}")
        await admin.escalate(info.id, "涉及市级统筹", to_whom="市司法局")
        extra: dict[str, Any] = (
            {"department_id": world.department_id, "due": DUE} if outcome is S.ADOPTED else {}
        )
        await admin.record_city_answer(info.id, outcome, "市级研究意见如下 & 说明", **extra)
        escalated[outcome] = info

    # Waiting on the observer's answer: reminded, then decided without it; another
    # closed for want of one (issue 19).
    w = await under_review("井盖缺失")
    await admin.ask_info(w.id, "请说明具体路段")
    await admin.chase(w.id)
    await admin.decide_anyway(w.id)
    u = await under_review("夜间噪音扰民")
    await admin.ask_info(u.id, "请说明时间段")
    await admin.close_unanswered(u.id, "未收到补充信息 <b>")

    g = await under_review("路灯问题（重复）")
    await admin.mark_duplicate(g.id, a.reference, text="与前项相同")
    await admin.close(g.id)

    people = People(sessions, world, clock)
    application = await people.anyone.apply(
        STRANGER,
        name="Stan",
        phone="13800000009",
        category=ObserverCategory.LAWYER,
        desired_point_id=world.point_id,
    )
    await people.admin.approve(application.id)
    refused = await people.anyone.apply(
        APPLICANT, name="Ann", phone="13800000010", category=ObserverCategory.OTHER
    )
    await people.admin.reject(refused.id, "名额已满 <script>alert(1)</script>")
    await people.admin.suspend(world.bob_observer_id, "任期考核 & 暂停")
    await people.admin.appoint(world.bob_observer_id)
    # Bob asks to move to another point: refused, then asked again and approved; the
    # office moves him back.
    bob = people.by(BOB)
    for approve in (False, True):
        asked = await bob.ask_to_move(world.point_id)
        await people.admin.decide_point_request(asked.request.id, approve=approve)
    await people.admin.move(world.bob_observer_id, world.other_point_id)
    await people.admin.move(world.alice_observer_id, world.other_point_id)
    await Places(sessions, world, clock).admin.close_point(world.other_point_id)
    return {"a": a, "b": b, "c": c, "g": g, "escalated": escalated}


async def user_rows(sessions: Any) -> list[OutboxMessage]:
    async with sessions() as session:
        stmt = (
            sa.select(OutboxMessage)
            .where(OutboxMessage.audience.in_(["user", "liaison"]))
            .order_by(OutboxMessage.id)
        )
        return list((await session.execute(stmt)).scalars().all())


async def test_every_real_notice_renders_in_both_languages(
    sessions: Any, world: World, clock: FixedClock
) -> None:
    made = await produce_every_notice(sessions, world, clock)
    rows = await user_rows(sessions)
    observer_rows = [r for r in rows if r.chat_id != LIAISON]
    # The scenario reaches every kind, so each one is checked on a real payload.
    assert {r.kind for r in observer_rows} == OBSERVER_KINDS
    # Liaisons hear of these, and get no observer text for them (handlers.department).
    assert {r.kind for r in rows if r.chat_id == LIAISON} == {
        "item.adopt",
        "item.city_adopt",
        "item.reassigned",
    }

    for row in observer_rows:
        texts = {}
        for locale in LOCALES:
            with speaking(locale):
                rendered = render(row.kind, row.payload, suggestion_id=row.suggestion_id)
                rating_labels = {labels.rating(v) for v in RatingValue}
            plain = shown(rendered)
            texts[locale] = rendered.text
            data = [d for _, d in buttons(rendered)]
            words = row.payload.get("text") or row.payload.get("reason")
            if words:  # the office's own words, as typed
                assert words in plain, (row.kind, plain)
            if row.suggestion_id is not None:
                assert row.payload["reference"] in plain
                assert MineCb(act="show", item=row.suggestion_id).pack() in data
                rated = row.kind in RATED or (
                    row.kind == "item.close" and row.suggestion_id != made["g"].id
                )
                assert (set(rating_data(row.suggestion_id)) <= set(data)) is rated, row.kind
                if rated:
                    assert rating_labels <= {t for t, _ in buttons(rendered)}
                # Asked, or reminded of the question: the observer may answer.
                assert (row.kind in ("item.ask_info", "item.chase")) is (
                    MineCb(act="answer", item=row.suggestion_id).pack() in data
                )
        assert texts[ZH] != texts[EN], row.kind
        if row.payload.get("title") == TITLE:
            for text in texts.values():
                assert TITLE_ESCAPED in text
                assert TITLE not in text

    def one(kind: str, item: int | None = None) -> OutboxMessage:
        [row] = [r for r in observer_rows if r.kind == kind and r.suggestion_id == item]
        return row

    a, ref = made["a"].id, made["a"].reference
    with speaking(EN):
        adopted = plain_text(render("item.adopt", one("item.adopt", a).payload).text)
        assert "区市场监管局" in adopted
        assert "2026-03-31" in adopted
        escalated = made["escalated"][S.ADOPTED].id
        assert "市司法局" in plain_text(
            render("item.escalate", one("item.escalate", escalated).payload).text
        )
        dup = one("item.mark_duplicate", made["g"].id)
        assert ref in plain_text(render(dup.kind, dup.payload).text)
        rejected = render("application.rejected", one("application.rejected").payload)
        assert "&lt;script&gt;" in rejected.text
        assert "<script>" in plain_text(rejected.text)
        closed = [r for r in observer_rows if r.kind == "point.closed"]
        assert sorted(r.chat_id for r in closed) == [ALICE, BOB]
        for row in closed:
            rendered = render(row.kind, row.payload)
            assert buttons(rendered) == [("📍 Choose another point", MoveCb().pack())]
            assert "Chamber of Commerce" in plain_text(rendered.text)
    with speaking(ZH):
        adopted_zh = plain_text(render("item.adopt", one("item.adopt", a).payload).text)
        assert "采纳" in adopted_zh
        assert "区市场监管局" in adopted_zh


# ---- hostile payloads ------------------------------------------------------------------

LONG = "长" * 3000 + "<b>&" * 250  # 4000 characters, many of them escaped
EMOJI = "😀" * 4000  # 8000 UTF-16 units
HOSTILE: dict[str, dict[str, Any]] = {
    "markup": {
        "reference": "WZ-2026-<b>",
        "title": "<script>alert('x')</script> & <b>bold",
        "text": "</blockquote><b>not bold & <i>",
        "department": "<a href='x'>dept</a>",
        "due": "<due>",
        "escalated_to": "City & <u>",
        "duplicate_of": "<WZ>",
        "point": "<b>Point</b> & Co",
        "code": "<P01>",
        "reason": "<script>no</script>",
        "from": "<implemented>",
    },
    "long": {
        "reference": "WZ-2026-0001" * 20,
        "title": "T" * 4000,
        "text": LONG,
        "department": "D" * 4000,
        "due": "2026-03-31T00:00:00+08:00",
        "escalated_to": "E&" * 2000,
        "duplicate_of": "X" * 4000,
        "point": "P<" * 2000,
        "code": "C" * 4000,
        "reason": LONG,
        "from": "implemented",
    },
    "emoji": {"title": EMOJI, "text": EMOJI, "reason": EMOJI, "point": EMOJI},
    "none": dict.fromkeys(
        [
            "reference",
            "title",
            "text",
            "department",
            "due",
            "escalated_to",
            "duplicate_of",
            "point",
            "code",
            "reason",
            "from",
        ]
    ),
    "odd types": {
        "reference": 42,
        "title": ["a", "<b>"],
        "text": {"x": "<b>"},
        "department": True,
        "due": 20260331,
        "point": 3.5,
        "reason": ["<i>"],
        "from": ["implemented"],
    },
    "empty": {"reference": "", "title": "   ", "text": "\n", "reason": ""},
}


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_payloads_never_break_a_message(case: str, locale: str) -> None:
    payload = HOSTILE[case]
    with speaking(locale):
        for kind in sorted(OBSERVER_KINDS):
            rendered = render(kind, payload, suggestion_id=2**31)
            plain = shown(rendered)
            assert "<script>" not in rendered.text
            assert "<a " not in rendered.text
            words_key = WORDS_KEY.get(kind, "text" if kind.startswith("item.") else None)
            shown_field = "title" if kind.startswith("item.") else words_key or "point"
            if case == "markup":
                # What the payload holds is shown as typed, escaped in the markup.
                assert payload[shown_field] in plain, (kind, shown_field)
                assert esc(payload[shown_field]) in rendered.text
            if case in ("long", "emoji") and words_key:
                # The words fill what room there is: clipped, never dropped.
                assert payload[words_key][:100] in plain
                assert payload[words_key] in plain or "…" in plain
                assert telegram_length(plain) > 3000


def test_the_office_words_are_clipped_to_exactly_fit() -> None:
    with speaking(EN):
        rendered = render(
            "item.decline",
            {"reference": "WZ-2026-0001", "title": "t", "text": "&" * 5000},
            suggestion_id=1,
        )
    plain = shown(rendered)
    assert telegram_length(plain) == 4096
    assert plain.count("&") + 1 >= 4096 - 400  # nearly all of the room went to the words


def test_markup_in_the_payload_is_shown_as_text() -> None:
    with speaking(EN):
        rendered = render("item.ask_info", HOSTILE["markup"], suggestion_id=3)
    plain = shown(rendered)
    assert "<script>alert('x')</script> & <b>bold" in plain
    assert "</blockquote><b>not bold & <i>" in plain
    assert "&lt;/blockquote&gt;" in rendered.text


def test_dates_are_shown_as_days() -> None:
    with speaking(EN):
        plain = shown(render("item.adopt", {"due": "2026-03-31T00:00:00+08:00", "department": "D"}))
    assert "2026-03-31" in plain
    assert "T00:00" not in plain


def test_closing_rates_only_what_can_be_rated() -> None:
    with speaking(EN):
        for source, rated in [
            ("implemented", True),
            ("reference", True),
            ("declined", True),
            ("duplicate", False),
            (None, False),
        ]:
            rendered = render("item.close", {"from": source}, suggestion_id=5)
            assert (set(rating_data(5)) <= {d for _, d in buttons(rendered)}) is rated
            assert ("rate" in shown(rendered)) is rated


def test_no_item_no_buttons_but_a_point_can_still_be_chosen() -> None:
    with speaking(EN):
        assert render("item.decline", {"text": "x"}).markup is None
        assert render("item.decline", {"text": "x"}, suggestion_id=0).markup is None
        closed = render("point.closed", {})
    assert buttons(closed) == [("📍 Choose another point", MoveCb().pack())]


@pytest.mark.parametrize("kind", sorted(OBSERVER_KINDS))
def test_chinese_texts_are_chinese(kind: str) -> None:
    # ASCII payloads, so any Chinese comes from the catalog.
    payload = {
        "reference": "WZ-2026-0001",
        "title": "Street lights",
        "text": "Because",
        "department": "Market",
        "due": "2026-03-31",
        "point": "Centre",
        "code": "P01",
        "reason": "Because",
        "duplicate_of": "WZ-2026-0002",
        "from": "implemented",
    }
    with speaking(ZH):
        zh = render(kind, payload, suggestion_id=1)
    with speaking(EN):
        en = render(kind, payload, suggestion_id=1)
    for text, _ in [(zh.text, None), *buttons(zh)]:
        assert CJK.search(text), (kind, text)
    assert zh.text != en.text
    assert not CJK.search(en.text)
    assert [d for _, d in buttons(zh)] == [d for _, d in buttons(en)]


# ---- what liaisons receive (handlers.department) -----------------------------------------

# Every kind a liaison hears of an item, straight from the lifecycle table.
LIAISON_KINDS = frozenset(item_notice(t.action) for t in TRANSITIONS if Audience.LIAISONS in t.tell)


def test_every_kind_that_reaches_a_liaison_is_handled() -> None:
    from handlers.department import notice_kinds

    assert notice_kinds() >= LIAISON_KINDS
    assert {"item.adopt", "item.city_adopt", "item.assign"} <= LIAISON_KINDS


async def produce_liaison_notices(sessions: Any, world: World, clock: FixedClock) -> None:
    """Every liaison kind on a real payload, with hostile words in each."""
    items = Items(sessions, world, clock)
    alice, admin = items.by(ALICE), items.admin
    b = await alice.submit(draft("直接采纳"))
    await admin.take(b.id)
    await admin.adopt(b.id, department_id=world.department_id, due=DUE)
    a = await alice.submit(draft(TITLE, location_text="人民路 <12> & 号"))
    await admin.take(a.id)
    await admin.adopt(a.id, department_id=world.other_department_id, due=DUE, text="先给住建局 <b>")
    await admin.assign(a.id, world.department_id)
    await admin.set_due(a.id, DUE.replace(day=20))
    await items.by(LIAISON).accept(a.id)
    # The observer adds to it while the department works on it (issue 19).
    await alice.add(a.id, "补充：南侧 <b> & 也有两盏")
    await admin.mark_implemented(a.id, "已全部修复 <ok> & 验收")
    await alice.rate(a.id, RatingValue.DISSATISFIED, "还有两盏不亮 <i>")
    c = await alice.submit(draft("跨区执法协作"))
    await admin.take(c.id)
    await admin.escalate(c.id, "涉及市级统筹", to_whom="市司法局")
    await admin.record_city_answer(
        c.id, S.ADOPTED, "市级意见 & <说明>", department_id=world.department_id, due=DUE
    )


async def test_every_liaison_notice_renders_in_both_languages(
    sessions: Any, world: World, clock: FixedClock
) -> None:
    from bot.services.actors import SYSTEM
    from handlers.department import department_card, notice_text

    await produce_liaison_notices(sessions, world, clock)
    async with sessions() as session:
        stmt = (
            sa.select(OutboxMessage)
            .where(OutboxMessage.audience == "liaison")
            .order_by(OutboxMessage.id)
        )
        rows = list((await session.execute(stmt)).scalars().all())
    assert {r.kind for r in rows} == LIAISON_KINDS
    assert {r.chat_id for r in rows} == {LIAISON}
    items = Items(sessions, world, clock)
    for row in rows:
        assert row.suggestion_id is not None
        for locale in LOCALES:
            with speaking(locale):
                if row.kind in ("item.adopt", "item.city_adopt", "item.assign"):
                    detail = await items.run(
                        lambda store, row=row: SuggestionService(store, items.policy, clock).detail(
                            SYSTEM, row.suggestion_id
                        )
                    )
                    card = department_card(detail, items.policy, today="2026-03-02")
                    rendered = Rendered(card.text, card.markup)
                else:
                    rendered = Rendered(notice_text(row.kind, row.payload), None)
            plain = shown(rendered)
            assert row.payload["reference"] in plain
            assert TITLE_ESCAPED in rendered.text or row.payload["title"] != TITLE
            assert TITLE not in rendered.text
            # Never the observer's name or phone.
            assert "Alice" not in plain
            assert "13800000001" not in plain
            words = row.payload.get("text")
            if words and row.kind in ("item.mark_implemented", "item.reopen"):
                assert words in plain, (row.kind, plain)


def test_liaison_notices_survive_hostile_payloads() -> None:
    from handlers.department import notice_kinds, notice_text

    hostile = {
        "reference": "<b>WZ",
        "title": "<i>" * 200,
        "text": "&<>" * 3000,
        "due": {"not": "a date"},
    }
    for kind in sorted(notice_kinds() - {"item.adopt", "item.city_adopt", "item.assign"}):
        for locale in LOCALES:
            with speaking(locale):
                for payload in (hostile, {}):
                    shown(Rendered(notice_text(kind, payload), None))
    with speaking(EN), pytest.raises(UnknownNotice):
        notice_text("item.take", {})
