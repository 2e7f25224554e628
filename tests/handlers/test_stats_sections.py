"""/stats in sections (issue 19, point 11): a short summary with a button for each
section; a press turns the message to that section with a "back" button, for any
admin of the group; the period travels in the buttons; every message fits Telegram."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.domain.statuses import ObserverCategory, ObserverStatus
from handlers.callbacks import StatsCb
from storage.models import Observer
from tests.figures_fixture import TODAY, seed_quarter
from tests.handlers.conftest import make_settings, new_telegram
from tests.telegram import Person, Sent, Telegram
from tests.world import ADMIN, ALICE, FixedClock, World

GROUP = -100500
SECTIONS = [
    "📋 By status",
    "🗂 By domain",
    "⏱ Timeliness",
    "🏢 Departments",
    "⭐ Ratings",
    "📍 Points",
    "👤 Observers who filed",
    "💤 Filed nothing",
]
BACK = "◀️ Back to the summary"
OUT_OF_DATE = "This button is out of date: send /stats again."


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(TODAY)


@pytest.fixture
async def quarter(sessions: Any, world: World) -> Any:
    return await seed_quarter(sessions, world)


@pytest.fixture
async def tg(sessions: Any, world: World, clock: FixedClock) -> AsyncIterator[Telegram]:
    tg = new_telegram(sessions, clock, settings=make_settings(default_locale="en"))
    yield tg
    await tg.bot.session.close()
    assert tg.session.problems == []


def admin(tg: Telegram, user_id: int = ADMIN, name: str = "Ada") -> Person:
    return tg.member(user_id, name, GROUP, "administrator", language_code="en")


def labels(sent: Sent) -> list[str]:
    return [text for text, _data in sent.buttons()]


async def test_stats_is_a_summary_and_each_section_a_press_away(tg: Telegram, quarter: Any) -> None:
    ada = admin(tg)
    replies = await ada.send("/stats 2026-Q2")
    [summary] = replies  # one message, no longer a run of them
    text = summary.plain
    assert text.startswith("📊 Figures for Q2 2026 (2026-04-01 to 2026-06-30)")
    for headline in [
        "Received: 10",
        "Adoption rate (adopted of decided): 42.9% (3/7)",
        "First decisions on time: 85.7% (6/7)",
        "Implemented: 2; on time: 50.0% (1/2)",
        "Satisfied or basically satisfied: 66.7% (2/3)",
        "Observers who filed: 2 of 3 appointed",
    ]:
        assert headline in text
    # The lists are behind the buttons.
    assert "Alice (P01)" not in text
    assert "区市场监管局" not in text
    assert len(text.split("\n")) <= 15
    assert labels(summary) == SECTIONS
    for _label, data in summary.buttons():
        assert len(data.encode()) <= 64
        assert StatsCb.unpack(data).period == "2026-Q2"

    # A section replaces the summary in place, with a way back.
    [shown] = await ada.press("🏢 Departments", message=summary)
    assert shown is summary
    assert shown.edited
    assert "Implementation by department" in shown.plain
    assert (
        "区市场监管局: adopted 2, implemented 2, on time 50.0% (1/2), overdue now 0" in shown.plain
    )
    assert "Received: 10" not in shown.plain
    assert labels(shown) == [BACK]

    # Another admin may go back and on.
    bo = admin(tg, 9002, "Bo")
    [back] = await bo.press(BACK, message=summary)
    assert "Observers who filed: 2 of 3 appointed" in back.plain
    assert labels(back) == SECTIONS
    [timeliness] = await bo.press("⏱ Timeliness", message=summary)
    assert "median 2, 90th percentile 8 (7 decided)" in timeliness.plain
    assert "Overdue in the departments now: 1" in timeliness.plain
    [observers] = await bo.press(BACK, message=summary)
    [observers] = await ada.press("👤 Observers who filed", message=summary)
    assert "Alice (P01): filed 5, adopted 3, last 2026-06-10" in observers.plain
    [back] = await ada.press(BACK, message=summary)
    [idle] = await ada.press("💤 Filed nothing", message=summary)
    assert "Carol (P02): last filed 2026-01-15" in idle.plain

    # Someone who is not an admin may not turn it.
    before = summary.text
    nina = tg.member(9003, "Nina", GROUP, "member", language_code="en")
    await nina.callback(StatsCb(period="2026-Q2", section="status").pack(), message=summary)
    assert tg.session.alerts[-1][1] == (
        "Only this office's admins can do this. Nothing was changed."
    )
    assert summary.text == before


async def test_the_period_travels_with_the_buttons(tg: Telegram, quarter: Any) -> None:
    ada = admin(tg)
    [summary] = await ada.send("/stats")
    assert "Figures for 2026 (2026-01-01 to 2026-12-31)" in summary.plain
    [section] = await ada.press("📋 By status", message=summary)
    assert section.plain.startswith("📊 Figures for 2026 (2026-01-01 to 2026-12-31)")
    assert "By status" in section.plain

    [summary] = await ada.send("/stats 30d")
    assert all(StatsCb.unpack(d).period == "30d" for _t, d in summary.buttons())
    [section] = await ada.press("⭐ Ratings", message=summary)
    assert "30 days, " in section.plain
    assert "Satisfaction (0 rated)" in section.plain
    assert "Nothing in this period." in section.plain

    # A garbled period or an unknown section changes nothing and says so.
    before = section.text
    for forged in (
        StatsCb(period="2026-13", section="status"),
        StatsCb(period="2026", section="nope"),
    ):
        assert await ada.callback(forged.pack(), message=section) == []
        assert tg.session.alerts[-1][1] == OUT_OF_DATE
    assert section.text == before


async def test_a_long_list_fits_one_message_and_counts_the_rest(
    tg: Telegram, quarter: Any, sessions: Any, world: World
) -> None:
    many = 300
    async with sessions() as session, session.begin():
        session.add_all(
            Observer(
                name=f"Observer number {n:03d} " + "名" * 60,
                category=ObserverCategory.OTHER,
                point_id=world.point_id,
                status=ObserverStatus.APPOINTED,
            )
            for n in range(many)
        )
    ada = admin(tg)
    [summary] = await ada.send("/stats 2026-Q2")
    assert f"Observers who filed: 2 of {many + 3} appointed" in summary.plain
    [idle] = await ada.press("💤 Filed nothing", message=summary)
    assert len(idle.plain) <= 4096
    assert len(idle.text) <= 4096
    shown = [line for line in idle.plain.split("\n") if line.startswith("•")]
    [more] = [line for line in idle.plain.split("\n") if line.startswith("… and")]
    left = int(more.split(" ")[2])
    assert more == f"… and {left} more (/export has them all)"
    assert len(shown) + left == many + 1  # Carol too
    assert labels(idle) == [BACK]


async def test_stats_in_chinese(
    sessions: Any, world: World, clock: FixedClock, quarter: Any
) -> None:
    tg = new_telegram(sessions, clock, settings=make_settings(default_locale="zh_CN"))
    try:
        ada = tg.member(ADMIN, "Ada", GROUP, "administrator", language_code="zh-hans")
        [summary] = await ada.send("/stats 2026-Q2")
        assert "提交事项的观察员：2 名（受聘共 3 名）" in summary.plain
        assert "📋 按状态" in labels(summary)
        [section] = await ada.press("⏱ 办理时效", message=summary)
        assert "首次研判用时（工作日）：中位数 2，90% 分位 8（已研判 7 件）" in section.plain
        assert labels(section) == ["◀️ 返回概览"]
        assert tg.session.problems == []
    finally:
        await tg.bot.session.close()


async def test_an_observer_cannot_see_the_figures(tg: Telegram, quarter: Any) -> None:
    alice = tg.person(ALICE, "Alice", "en")
    [said] = await alice.send("/stats")
    assert said.plain == "This command works only in an office's admin group."
    await alice.callback(StatsCb(period="2026", section="status").pack(), message=said)
    assert "42.9" not in alice.last.plain
