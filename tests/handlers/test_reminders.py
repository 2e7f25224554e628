"""The scheduler's messages as the office and the liaisons read them, delivered through
the outbox: in the group's and the liaison's language, escaped, within 4096 characters."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.services.reminders import ReminderService
from bot.services.suggestions import SuggestionService
from handlers.reminders import liaison_text, office_text
from handlers.ui import shown_length
from storage.store import Store
from tests.handlers.conftest import _I18N, make_settings, new_telegram
from tests.world import ADMIN, ALICE, LIAISON, POLICY, FixedClock, actor, draft

GROUP = -100500


def shanghai(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC) - timedelta(hours=8)


async def office(sessions, clock, who, move, *args, **kwargs):
    async with sessions() as session, session.begin():
        store = Store(session)
        person = await actor(store, who, admin=who == ADMIN)
        return await getattr(SuggestionService(store, POLICY, clock), move)(person, *args, **kwargs)


async def remind(sessions, clock) -> None:
    async with sessions() as session, session.begin():
        await ReminderService(Store(session), POLICY, clock).run_due()


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
async def test_the_digest_and_the_chase_as_they_are_read(sessions, world, locale) -> None:
    clock = FixedClock(shanghai(date(2026, 3, 2), 10))
    tg = new_telegram(sessions, clock, settings=make_settings(default_locale=locale))
    try:
        late = await office(sessions, clock, ALICE, "submit", draft("<b>路灯</b> & 井盖"))
        adopted = await office(sessions, clock, ALICE, "submit", draft("占道经营"))
        await office(sessions, clock, ADMIN, "take", adopted.id)
        await office(
            sessions,
            clock,
            ADMIN,
            "adopt",
            adopted.id,
            department_id=world.department_id,
            due=date(2026, 3, 9),
        )
        await tg.drain()
        before = len(tg.chat(GROUP)), len(tg.chat(LIAISON))

        clock.now = shanghai(date(2026, 3, 10), 9)  # Tuesday: both are overdue
        await remind(sessions, clock)
        await tg.drain()
        group = tg.chat(GROUP)[before[0] :]
        liaison = tg.chat(LIAISON)[before[1] :]
        [digest] = [m for m in group if late.reference in m.plain and "⚠" in m.plain[:2]]
        assert "<b>路灯</b> & 井盖" in digest.plain  # shown as typed, escaped in the HTML
        assert adopted.reference in digest.plain
        [chase] = liaison
        assert adopted.reference in chase.plain
        assert late.reference not in chase.plain
        if locale == "en":
            assert "Overdue on 2026-03-10: 2 items" in digest.plain
            assert "Decisions past their deadline:" in digest.plain
            assert "1 day late" in digest.plain
        else:
            assert "2026-03-10 逾期事项：2 件" in digest.plain
            assert "超过研判期限：" in digest.plain
        # The liaison reads it in their own language (Li's client says zh-hans).
        assert "已超过落实期限" in chase.plain
        assert "逾期 1 天" in chase.plain
    finally:
        await tg.bot.session.close()
    assert tg.session.problems == []


def test_a_hostile_or_huge_payload_stays_within_a_message() -> None:
    items = [
        {"reference": f"WZ-2026-{i:04d}", "title": "<i>" * 40, "due": "2026-03-01", "late": 3}
        for i in range(400)
    ]
    with english():
        text = office_text(
            "office.overdue",
            {"day": "2026-03-10", "total": 999, "decisions": items, "city": "nonsense"},
        )
        assert shown_length(text) <= 4096  # what Telegram counts: the text, not the HTML
        assert "<i><i>" not in text
        assert "more" in text
        weekly = office_text("office.weekly", {"received": "x", "from": None})
        assert "Received: 0" in weekly
        soon = liaison_text("department.due_soon", {"items": items[:3], "total": 3})
        assert "WZ-2026-0002" in soon


@contextmanager
def english() -> Iterator[None]:
    i18n = _I18N["en"]
    with i18n.context(), i18n.use_locale("en"):
        yield
