"""The office's force-reply prompts for a due date, played through the dispatcher
(issue 19, point 8): the forms people type, a reply the bot cannot read asked again
without losing the step, another admin's reply answered, a day off accepted with a
warning, and a year without its working-day calendar warned of when a date is picked
and in the office's digest."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from aiogram.types import ForceReply
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.notices import Notice
from bot.domain.statuses import DayKind
from bot.domain.statuses import SuggestionStatus as S
from bot.services.reminders import ReminderService
from bot.services.suggestions import SuggestionService
from handlers.reminders import office_text
from storage.models import CalendarDay, Department, Suggestion
from storage.store import Store
from tests.handlers.conftest import _I18N, make_settings, new_telegram
from tests.telegram import Person, Sent, Telegram
from tests.world import ADMIN, ALICE, POLICY, FixedClock, World, actor, draft

Sessions = async_sessionmaker[AsyncSession]
GROUP = -100500
MARCH_END = date(2026, 3, 31)
# 2026's days off as the State Council announced them (元旦, 春节, 清明, 劳动节), enough
# for these tests: a year counts as loaded once any day of it is recorded.
HOLIDAYS_2026 = """/holidays
2026-01-01..2026-01-03 off 元旦
2026-01-04 work 元旦调休
2026-02-15..2026-02-23 off 春节
2026-04-04..2026-04-06 off 清明节
2026-05-01..2026-05-05 off 劳动节
2026-05-09 work 劳动节调休"""


def shanghai(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC) - timedelta(hours=8)


@pytest.fixture
async def tg(sessions: Sessions, world: World, clock: FixedClock) -> AsyncIterator[Telegram]:
    tg = new_telegram(sessions, clock, settings=make_settings(default_locale="en"))
    yield tg
    await tg.bot.session.close()
    assert tg.session.problems == []


async def by(sessions: Sessions, clock: FixedClock, who: int, move: str, *a: Any) -> Any:
    async with sessions() as session, session.begin():
        store = Store(session)
        person = await actor(store, who, admin=who == ADMIN)
        return await getattr(SuggestionService(store, POLICY, clock), move)(person, *a)


async def taken(tg: Telegram, sessions: Sessions, clock: FixedClock) -> int:
    """An item filed by Alice and taken for review, its card in the group."""
    info = await by(sessions, clock, ALICE, "submit", draft("Street lights out"))
    await by(sessions, clock, ADMIN, "take", info.id)
    await tg.drain()
    return int(info.id)


async def adopted(
    tg: Telegram, sessions: Sessions, clock: FixedClock, due: date = date(2026, 3, 31)
) -> int:
    """An item adopted for the market bureau, its card in the group with its
    "📅 Set due date" button."""
    item_id = await taken(tg, sessions, clock)
    async with sessions() as session, session.begin():
        store = Store(session)
        market = (
            await session.scalars(sa.select(Department.id).where(Department.code == "MARKET"))
        ).one()
        who = await actor(store, ADMIN, admin=True)
        service = SuggestionService(store, POLICY, clock)
        await service.adopt(who, item_id, department_id=market, due=due, version=2)
    await tg.drain()
    return item_id


async def item(sessions: Sessions, item_id: int) -> Suggestion:
    async with sessions() as s:
        row = await s.get(Suggestion, item_id)
        assert row is not None
        return row


async def load_calendar(sessions: Sessions, days: dict[date, DayKind]) -> None:
    async with sessions() as session, session.begin():
        for day, kind in days.items():
            session.add(CalendarDay(day=day, kind=kind, name="test"))


def admin(tg: Telegram, language: str = "en") -> Person:
    return tg.member(ADMIN, "Ada", GROUP, "administrator", language_code=language)


def second(tg: Telegram) -> Person:
    return tg.member(9002, "Bo", GROUP, "administrator", language_code="en")


def is_prompt(sent: Sent) -> bool:
    return isinstance(sent.markup, ForceReply)


def card(tg: Telegram) -> Sent:
    return [s for s in tg.chat(GROUP) if "<b>History</b>" in s.text][-1]


async def type_a_date(ada: Person) -> Sent:
    """Set the due date of the newest card's item by typing it."""
    await ada.press("📅 Set due date")
    await ada.press("📅 Type a date")
    prompt = ada.last
    assert is_prompt(prompt)
    return prompt


# ---- the forms people type ------------------------------------------------------------


@pytest.mark.parametrize("typed", ["2026-12-25", "12月25日", "12-25", "25.12", "２０２６/12/25"])
async def test_the_common_forms_of_a_date_are_taken(
    tg: Telegram, sessions: Sessions, clock: FixedClock, typed: str
) -> None:
    item_id = await adopted(tg, sessions, clock)
    ada = admin(tg)
    prompt = await type_a_date(ada)
    assert "e.g. 2026-04-01, 4-1 or 1.4" in prompt.plain
    [done] = [s for s in await ada.reply(prompt, typed) if s.reply_to]
    assert (await item(sessions, item_id)).implementation_due == date(2026, 12, 25)
    # The date as it was read, with its weekday: a year-less one shows the year taken.
    assert done.plain.startswith("✅ WZ-2026-0001: Due date set.")
    assert "📅 WZ-2026-0001: due on 2026-12-25, a Friday." in done.plain
    assert prompt not in tg.chat(GROUP)
    assert "Implementation due: 2026-12-25" in card(tg).plain


# ---- asked again, nothing lost ----------------------------------------------------------


async def test_a_date_not_read_is_asked_again_and_either_prompt_takes_the_answer(
    tg: Telegram, sessions: Sessions, clock: FixedClock
) -> None:
    item_id = await adopted(tg, sessions, clock)
    ada = admin(tg)
    first = await type_a_date(ada)

    [again] = await ada.reply(first, "12/25")
    assert is_prompt(again)  # a new prompt, under the admin's reply
    assert again.reply_to == ada.user.id * 1000  # their first message in the group
    assert "“12/25” can be read two ways (month/day or day/month)." in again.plain
    assert "reply to this message with the due date for WZ-2026-0001" in again.plain
    assert first in tg.chat(GROUP)  # the first prompt still stands

    [third] = await ada.reply(again, "2026-02-30")
    assert is_prompt(third)
    assert "There is no such day as “2026-02-30”" in third.plain
    [fourth] = await ada.reply(third, "2026-03-01")
    assert "2026-03-01 is in the past: the due date must be today or later." in fourth.plain
    [fifth] = await ada.reply(first, "2031-01-01")
    assert "2031-01-01 is too far ahead: please check the year." in fifth.plain
    [sixth] = await ada.reply(fifth, "")
    assert "Please reply with text." in sixth.plain
    assert (await item(sessions, item_id)).implementation_due == MARCH_END

    # The answer to the old prompt is taken as well as one to the newest.
    await ada.reply(first, "4月30日")
    assert (await item(sessions, item_id)).implementation_due == date(2026, 4, 30)
    # Every prompt of the step is gone with it.
    for prompt in (first, again, third, fourth, fifth, sixth):
        assert prompt not in tg.chat(GROUP)
    assert "Implementation due: 2026-04-30" in card(tg).plain


async def test_the_group_in_chinese_asks_again_in_chinese(
    sessions: Sessions, world: World, clock: FixedClock
) -> None:
    tg = new_telegram(sessions, clock, settings=make_settings(default_locale="zh_CN"))
    try:
        item_id = await adopted(tg, sessions, clock)
        ada = admin(tg, "zh-hans")
        await ada.press("📅 设定期限")
        await ada.press("📅 输入日期")
        prompt = ada.last
        assert "如 2026-04-01、4月1日 或 4-1" in prompt.plain
        [again] = await ada.reply(prompt, "下个月")
        assert is_prompt(again)
        assert "无法将“下个月”识别为日期。" in again.plain
        [done] = [s for s in await ada.reply(again, "12月25日") if s.reply_to]
        assert "落实期限为 2026-12-25（星期五）" in done.plain
        assert (await item(sessions, item_id)).implementation_due == date(2026, 12, 25)
        assert tg.session.problems == []
    finally:
        await tg.bot.session.close()


async def test_a_reason_too_long_is_asked_again_too(
    tg: Telegram, sessions: Sessions, clock: FixedClock
) -> None:
    item_id = await taken(tg, sessions, clock)
    ada = admin(tg)
    [prompt] = await ada.press("⛔ Decline")
    [again] = await ada.reply(prompt, "x" * 1501)
    assert is_prompt(again)
    assert "at most 1500 characters, yours has 1501" in again.plain
    # Answering the newest prompt, as people do, is taken.
    await ada.reply(again, "Out of the district's remit.")
    assert (await item(sessions, item_id)).status is S.DECLINED
    assert again not in tg.chat(GROUP)
    assert prompt not in tg.chat(GROUP)


# ---- someone else's prompt --------------------------------------------------------------


async def test_another_admins_reply_is_told_why_it_was_not_taken(
    tg: Telegram, sessions: Sessions, clock: FixedClock
) -> None:
    item_id = await adopted(tg, sessions, clock)
    ada, bo = admin(tg), second(tg)
    prompt = await type_a_date(ada)

    [told] = await bo.reply(prompt, "2026-04-30")
    assert told.reply_to == bo.user.id * 1000  # under Bo's message, in the group
    assert told.chat_id == GROUP
    assert told.plain == (
        "That prompt is for Ada, so your reply was not taken. To make this move "
        "yourself, press the button on the item's card."
    )
    assert (await item(sessions, item_id)).implementation_due == MARCH_END
    assert prompt in tg.chat(GROUP)
    # Ada's own answer still goes through.
    await ada.reply(prompt, "2026-04-30")
    assert (await item(sessions, item_id)).implementation_due == date(2026, 4, 30)


async def test_a_reply_to_a_prompt_already_closed_is_told_so(
    tg: Telegram, sessions: Sessions, clock: FixedClock
) -> None:
    item_id = await taken(tg, sessions, clock)
    ada = admin(tg)
    [prompt] = await ada.press("⛔ Decline")
    tg.session.fail("DeleteMessage", "bad_request")  # the prompt stays on screen
    await ada.send("/cancel")
    assert prompt in tg.chat(GROUP)
    [told] = await ada.reply(prompt, "Out of remit")
    assert told.plain.startswith("That prompt is closed (its move was finished, cancelled")
    assert (await item(sessions, item_id)).status is S.IN_REVIEW
    # Replies to other messages of the bot are left alone.
    said = len(tg.chat(GROUP))
    await ada.reply(card(tg), "Looks like a duplicate")
    assert len(tg.chat(GROUP)) == said


# ---- days off ---------------------------------------------------------------------------


async def test_a_day_off_is_taken_with_a_warning(
    tg: Telegram, sessions: Sessions, clock: FixedClock
) -> None:
    ada = admin(tg)
    await ada.send(HOLIDAYS_2026)
    assert "Imported for 2026" in ada.last.plain

    sunday = await adopted(tg, sessions, clock)
    [done] = [s for s in await ada.reply(await type_a_date(ada), "2026-04-26") if s.reply_to]
    assert (await item(sessions, sunday)).implementation_due == date(2026, 4, 26)
    assert "2026-04-26 is a Sunday, not a working day." in done.plain
    assert "press “📅 Set due date” on the card to change it" in done.plain
    assert "No holiday calendar" not in done.plain  # 2026 is loaded

    may_day = await adopted(tg, sessions, clock)
    [done] = [s for s in await ada.reply(await type_a_date(ada), "1.5") if s.reply_to]
    assert (await item(sessions, may_day)).implementation_due == date(2026, 5, 1)
    assert "2026-05-01 is a holiday in the office's calendar." in done.plain

    worked = await adopted(tg, sessions, clock)
    [done] = [s for s in await ada.reply(await type_a_date(ada), "5月9日") if s.reply_to]
    assert (await item(sessions, worked)).implementation_due == date(2026, 5, 9)
    assert "⚠️" not in done.plain  # a Saturday worked (调休)


# ---- a year without its calendar ----------------------------------------------------------

WARNING_2027 = (
    "📅 No holiday calendar is loaded for 2027: its working days are counted Monday to "
    "Friday, without public holidays or make-up working days. Load it with /holidays "
    "(send /holidays 2027 to see the format)."
)


async def test_a_year_without_its_calendar_is_warned_of_at_the_pick_and_in_the_digest(
    tg: Telegram, sessions: Sessions, clock: FixedClock
) -> None:
    ada = admin(tg)
    await ada.send(HOLIDAYS_2026)
    clock.now = shanghai(date(2026, 12, 4), 10)  # a Friday: 20 working days is 2027-01-01
    item_id = await adopted(tg, sessions, clock, due=date(2026, 12, 18))
    [picker] = await ada.press("📅 Set due date")
    assert "20 working days · 2027-01-01" in [t for t, _ in picker.buttons()]
    assert WARNING_2027 in picker.plain  # before the pick

    said = await ada.press("20 working days · 2027-01-01")
    assert tg.session.alerts[-1][1:] == ("Due date set.", False)
    [note] = [s for s in said if s.reply_to is not None]
    assert note.reply_to == card(tg).message_id  # under the card, for the whole office
    assert note.plain == "📅 WZ-2026-0001: due on 2027-01-01, a Friday.\n" + WARNING_2027
    assert (await item(sessions, item_id)).implementation_due == date(2027, 1, 1)

    # The office's weekly summary on Monday says so too, until 2027 is loaded.
    monday = date(2026, 12, 7)
    summary = await digest_on(tg, sessions, clock, monday)
    assert WARNING_2027 in summary.plain
    await ada.send("/holidays\n2027-01-01 off 元旦")
    summary = await digest_on(tg, sessions, clock, monday + timedelta(days=7))
    assert "No holiday calendar" not in summary.plain


async def test_adopting_into_a_year_without_its_calendar_is_warned_of(
    tg: Telegram, sessions: Sessions, clock: FixedClock
) -> None:
    ada = admin(tg)
    await ada.send(HOLIDAYS_2026)
    clock.now = shanghai(date(2026, 12, 4), 10)
    await taken(tg, sessions, clock)
    await ada.press("✅ Adopt")
    [picker] = await ada.press("MARKET · 区市场监管局")
    assert WARNING_2027 in picker.plain
    said = await ada.press("20 working days · 2027-01-01")
    assert any(WARNING_2027 in s.plain for s in said)


async def digest_on(tg: Telegram, sessions: Sessions, clock: FixedClock, monday: date) -> Sent:
    clock.now = shanghai(monday, 9)
    mark = len(tg.chat(GROUP))
    async with sessions() as session, session.begin():
        await ReminderService(Store(session), POLICY, clock).run_due()
    await tg.drain()
    [summary] = [s for s in tg.chat(GROUP)[mark:] if s.plain.startswith("📊")]
    return summary


async def test_the_years_in_use_are_this_one_and_those_of_open_deadlines(
    sessions: Sessions, world: World, clock: FixedClock
) -> None:
    from bot.services.calendar import missing_calendars

    async def missing(today: date) -> list[int]:
        async with sessions() as session:
            store = Store(session)
            calendar = await SuggestionService(store, POLICY, clock).calendar()
            return await missing_calendars(store, calendar, today)

    assert await missing(date(2026, 3, 2)) == [2026]
    await load_calendar(sessions, {date(2026, 1, 1): DayKind.HOLIDAY})
    assert await missing(date(2026, 3, 2)) == []
    info = await by(sessions, clock, ALICE, "submit", draft())
    await by(sessions, clock, ADMIN, "take", info.id)
    async with sessions() as session, session.begin():
        market = (await session.scalars(sa.select(Department.id))).first()
        service = SuggestionService(Store(session), POLICY, clock)
        who = await actor(Store(session), ADMIN, admin=True)
        await service.adopt(who, info.id, department_id=market, due=date(2028, 2, 1), version=2)
    assert await missing(date(2026, 3, 2)) == [2028]
    assert await missing(date(2029, 1, 5)) == [2029]  # a deadline past is no longer counted


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_the_digest_renders_the_warning_and_ignores_a_hostile_payload(locale: str) -> None:
    with _I18N[locale].context(), _I18N[locale].use_locale(locale):
        base = {"day": "2026-12-07", "total": 0, "decisions": [], "implementations": []}
        shown = office_text(Notice.OVERDUE_DIGEST, {**base, "calendars_missing": [2027]})
        assert "/holidays 2027" in shown
        assert "2027" in shown.split("\n\n")[-2]  # above the digest's last line
        for hostile in ("2027", [True, "x", 1, 99999], None, {"a": 1}):
            shown = office_text(Notice.OVERDUE_DIGEST, {**base, "calendars_missing": hostile})
            assert "/holidays" not in shown
        weekly = office_text(Notice.WEEKLY_SUMMARY, {"calendars_missing": [2027, 2028]})
        assert "2027, 2028" in weekly
