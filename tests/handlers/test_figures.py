"""/stats, /report, /export and /holidays in the admin group, through the real
Dispatcher: what the admins read, the workbook read back cell by cell, the Word
section read back, and the calendar the office imports."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import date, datetime

import docx
import openpyxl
import pytest
import sqlalchemy as sa
from PIL import Image

from bot.domain.statuses import DayKind
from storage.models import CalendarDay
from tests.figures_fixture import CAROL, TODAY, seed_quarter
from tests.handlers.conftest import make_settings, new_telegram
from tests.telegram import Person, Telegram
from tests.world import ADMIN, ALICE, FixedClock, World

GROUP = -100500


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(TODAY)


@pytest.fixture
async def quarter(sessions, world: World):
    return await seed_quarter(sessions, world)


@pytest.fixture(params=["en", "zh_CN"])
async def tg(request, sessions, world: World, clock: FixedClock) -> AsyncIterator[Telegram]:
    tg = new_telegram(sessions, clock, settings=make_settings(default_locale=request.param))
    yield tg
    await tg.bot.session.close()
    assert tg.session.problems == []


def admin(tg: Telegram, language: str = "en") -> Person:
    return tg.member(ADMIN, "Ada", GROUP, "administrator", language_code=language)


def english(tg: Telegram) -> bool:
    return tg.dp["i18n"].default_locale == "en"


# ---- /stats ------------------------------------------------------------------------------


async def test_stats_for_the_quarter(tg: Telegram, quarter) -> None:
    # The summary, then each section its button turns the message to (issue 19, 11).
    ada = admin(tg)
    [summary] = await ada.send("/stats 2026-Q2")
    texts, shown = [summary.text], [summary.plain]
    for data in [d for _label, d in summary.buttons()]:
        [section] = await ada.callback(data, message=summary)
        texts.append(section.text)
        shown.append(section.plain)
        await ada.press(section.buttons()[0][1], message=section)  # back to the summary
    text = "\n".join(shown)
    if english(tg):
        assert "Figures for Q2 2026 (2026-04-01 to 2026-06-30)" in text
        assert "Received: 10" in text
        assert "Adoption rate (adopted of decided): 42.9% (3/7)" in text
        assert "median 2, 90th percentile 8 (7 decided)" in text
        assert "First decisions on time: 85.7% (6/7)" in text
        assert "Implemented: 2; on time: 50.0% (1/2)" in text
        assert "区市场监管局: adopted 2, implemented 2, on time 50.0% (1/2), overdue now 0" in text
        assert "P01 城区便民服务中心: 1 observers, 5 items, 3 adopted" in text
        assert "Alice (P01): filed 5, adopted 3, last 2026-06-10" in text
        assert "Bob (P02): filed 5, adopted 0, last 2026-06-30" in text
        assert "Appointed observers who filed nothing in the period (1)" in text
        assert "Carol (P02): last filed 2026-01-15" in text
        assert "Satisfied or basically satisfied: 66.7% (2/3)" in text
    else:
        assert "2026年第2季度（2026-04-01 至 2026-06-30）统计" in text
        assert "收到事项：10 件 — 建议 4 · 意见 2 · 问题 4" in text
        assert "采纳率（采纳数 / 已研判数）：42.9% (3/7)" in text
        assert "首次研判用时（工作日）：中位数 2，90% 分位 8（已研判 7 件）" in text
        assert "按时研判率：85.7% (6/7)" in text
        assert "• 优化营商环境：3" in text
        assert "区市场监管局：采纳交办 2 件，已落实 2 件，按时 50.0% (1/2)，当前逾期 0 件" in text
        assert "Alice（P01）：提交 5 件，采纳 3 件，最近提交 2026-06-10" in text
        assert "本期未提交事项的受聘观察员（1 名）" in text
        assert "Carol（P02）：最近提交 2026-01-15" in text
    assert all(len(t) <= 4096 for t in texts)


async def test_stats_with_a_bad_period_says_how_to_write_one(tg: Telegram, quarter) -> None:
    [reply] = await admin(tg).send("/stats 2026-13")
    if english(tg):
        assert "“2026-13” is not a period" in reply.plain
        assert "2026-Q2" in reply.plain
    else:
        assert "“2026-13”不是有效的统计期间" in reply.plain


async def test_stats_is_for_admins_in_the_group(tg: Telegram, quarter) -> None:
    stranger = tg.member(ALICE, "Alice", GROUP, "member", language_code="en")
    [reply] = await stranger.send("/stats")
    assert "42.9" not in reply.plain


# ---- /export -----------------------------------------------------------------------------


async def test_export_reads_back_cell_by_cell(tg: Telegram, quarter) -> None:
    replies = await admin(tg).send("/export 2026-Q2 en")
    [document] = [r for r in replies if r.kind == "document"]
    assert document.file_name == "outpost-export-2026-Q2-en.xlsx"
    assert "10 items" in document.plain or "10" in document.plain
    book = openpyxl.load_workbook(io.BytesIO(document.data or b""))
    assert book.sheetnames == ["Items", "Events", "Observers", "Points", "Departments", "Ratings"]

    items = book["Items"]
    header = [c.value for c in items[1]]
    assert header[:4] == ["Reference", "Filed", "Kind", "Domain"]
    rows = list(items.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 10
    first = dict(zip(header, rows[0], strict=False))
    assert first["Reference"] == "WZ-2026-0001"
    # Filed 10:00 in Shanghai: shown in the office's time zone, not UTC.
    assert first["Filed"] == datetime(2026, 4, 1, 10, 0)
    assert first["Kind"] == "Suggestion"
    assert first["Domain"] == "Optimising the business environment"
    assert first["Point code"] == "P01"
    assert first["Observer"] == "Alice"
    # The title began with "=": written as text, never as a formula.
    assert first["Title"] == '\'=HYPERLINK("http://evil.example","click")'
    assert first["Status"] == "Closed"
    assert first["Decision"] == "Adopted"
    assert first["Department"] == "区市场监管局"
    assert first["Decision due"] == datetime(2026, 4, 1)
    assert first["Decided on time"] == "yes"
    assert first["Implemented by the due date"] == "yes"
    a3 = dict(zip(header, rows[2], strict=False))
    assert a3["Reference"] == "WZ-2026-0004"  # ordered by filing: A12 on 20 April
    last = dict(zip(header, rows[-1], strict=False))
    assert last["Reference"] == "WZ-2026-0010"
    assert last["Filed"] == datetime(2026, 6, 30, 23, 30)
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{sheet.title}!{cell.coordinate} is a formula"

    events = list(book["Events"].iter_rows(values_only=True))
    assert events[0][:3] == ("Reference", "Time", "Action")
    assert events[1][:3] == ("WZ-2026-0001", datetime(2026, 4, 1, 10, 0), "Submitted")
    assert events[2][2] == "Implemented"
    assert events[2][7] == "'-路灯已全部更换"

    ratings = list(book["Ratings"].iter_rows(values_only=True))
    assert [r[2] for r in ratings[1:]] == [
        "Satisfied",
        "Dissatisfied",
        "Dissatisfied",
        "Basically satisfied",
    ]
    assert ratings[2][3] == "'@mention 不满意"

    observers = list(book["Observers"].iter_rows(values_only=True))
    assert {r[1] for r in observers[1:]} == {"Alice", "Bob", "Carol", "Dave"}
    points = list(book["Points"].iter_rows(values_only=True))
    assert points[1][:2] == ("P01", "城区便民服务中心")
    assert points[1][-1] == 1  # appointed observers
    departments = list(book["Departments"].iter_rows(values_only=True))
    assert [r[0] for r in departments[1:]] == ["HOUSING", "MARKET"]


async def test_export_headers_in_the_groups_language(tg: Telegram, quarter) -> None:
    chinese = admin(tg, "zh-hans")
    # The workbook is the group's: in its language, whoever asks (issue 19, point 15).
    replies = await chinese.send("/export 2026")
    [document] = [r for r in replies if r.kind == "document"]
    book = openpyxl.load_workbook(io.BytesIO(document.data or b""))
    assert book.sheetnames[0] == ("Items" if english(tg) else "事项")
    # Asked for in Chinese, it is Chinese.
    replies = await chinese.send("/export 2026 zh")
    [document] = [r for r in replies if r.kind == "document"]
    book = openpyxl.load_workbook(io.BytesIO(document.data or b""))
    assert book.sheetnames == ["事项", "办理记录", "观察员", "观测点", "部门", "满意度评价"]
    items = book["事项"]
    assert [c.value for c in items[1]][:4] == ["编号", "提交时间", "类别", "领域"]
    assert [c.value for c in items[2]][2:4] == ["建议", "其他"]  # A13, filed in January
    assert len(list(items.iter_rows(min_row=2))) == 13


# ---- /report -----------------------------------------------------------------------------


async def test_report_sends_four_charts(tg: Telegram, quarter) -> None:
    replies = await admin(tg).send("/report 2026-Q2")
    photos = [r for r in replies if r.kind == "photo"]
    assert len(photos) == 4
    assert photos[0].text  # the summary, as the first picture's caption
    for photo in photos:
        image = Image.open(io.BytesIO(photo.data or b""))
        assert image.format == "PNG"
        assert image.width >= 900


async def test_report_for_an_empty_period_still_draws(tg: Telegram, quarter) -> None:
    replies = await admin(tg).send("/report 2025")
    photos = [r for r in replies if r.kind == "photo"]
    assert len(photos) == 4


async def test_the_annual_word_section(tg: Telegram, quarter) -> None:
    replies = await admin(tg).send("/report 2026 docx en")
    [document] = [r for r in replies if r.kind == "document"]
    assert document.file_name == "outpost-report-2026-en.docx"
    word = docx.Document(io.BytesIO(document.data or b""))
    text = "\n".join(p.text for p in word.paragraphs)
    assert "The rule-of-law observation scheme in 2026" in text
    assert "filed 13 problems, opinions and suggestions" in text
    assert "1. Overview" in text
    assert "6. Notable adopted items" in text
    assert "=HYPERLINK" in text  # the notable item's title, as text
    assert "The department reported: -路灯已全部更换" in text
    table = word.tables[0]
    cells = {row.cells[0].text: row.cells[1].text for row in table.rows}
    assert cells["Items received"] == "13"
    assert cells["Adopted"] == "3"
    assert len(word.inline_shapes) == 4


async def test_the_word_section_is_for_a_year(tg: Telegram, quarter) -> None:
    [reply] = await admin(tg).send("/report 2026-Q2 docx")
    assert "2026" in reply.plain
    assert reply.kind == "text"


# ---- /holidays ---------------------------------------------------------------------------


async def test_holidays_lists_the_year_in_the_import_format(tg: Telegram, quarter) -> None:
    [reply] = await admin(tg).send("/holidays 2026")
    assert "2026-10-01..2026-10-07 off" in reply.plain
    assert "2026-05-09 work" in reply.plain


async def test_holidays_import_replaces_the_year(tg: Telegram, sessions, quarter) -> None:
    text = "/holidays\n2027-01-01..2027-01-03 off 元旦\n2027-02-06 work 春节调休"
    [reply] = await admin(tg).send(text)
    if english(tg):
        assert "Imported for 2027: 3 days off and 1 make-up working days" in reply.plain
    else:
        assert "已导入 2027 年：放假 3 天，调休上班 1 天" in reply.plain
    async with sessions() as session:
        days = (
            await session.execute(
                sa.select(CalendarDay.day, CalendarDay.kind)
                .where(CalendarDay.day >= date(2027, 1, 1))
                .order_by(CalendarDay.day)
            )
        ).all()
    assert [(d, k) for d, k in days] == [
        (date(2027, 1, 1), DayKind.HOLIDAY),
        (date(2027, 1, 2), DayKind.HOLIDAY),
        (date(2027, 1, 3), DayKind.HOLIDAY),
        (date(2027, 2, 6), DayKind.WORKDAY),
    ]
    # Again, corrected: the year's days are replaced, not added to.
    await admin(tg).send("/holidays\n2027-01-01 off 元旦")
    async with sessions() as session:
        count = await session.scalar(
            sa.select(sa.func.count()).where(CalendarDay.day >= date(2027, 1, 1))
        )
    assert count == 1


async def test_a_bad_holiday_line_imports_nothing(tg: Telegram, sessions, quarter) -> None:
    [reply] = await admin(tg).send("/holidays\n2027-01-01 off 元旦\n2027-01-04 work 周一")
    if english(tg):
        assert "Nothing was imported. Line 2" in reply.plain
        assert "already a working day" in reply.plain
    else:
        assert "未导入任何内容。第 2 行“2027-01-04 work 周一”：该日为周一至周五" in reply.plain
    async with sessions() as session:
        count = await session.scalar(
            sa.select(sa.func.count()).where(CalendarDay.day >= date(2027, 1, 1))
        )
    assert count == 0


async def test_carol_is_not_an_admin(tg: Telegram, quarter) -> None:
    carol = tg.member(CAROL, "Carol", GROUP, "member", language_code="en")
    [reply] = await carol.send("/export 2026")
    assert reply.kind == "text"
