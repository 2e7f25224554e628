"""/find in the admin group (issue 19, point 11): besides titles, texts and references,
an item is found by its observer's name, its point (code or name) and its department
(code or name); each result says what matched, in English and Chinese, escaped, a page
at a time within one message, and the words are matched literally (% and _ too)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.suggestions import SuggestionService
from bot.services.views import SuggestionInfo
from handlers.queue import FindCb, OpenCb, snippet
from storage.models import Observer
from tests.handlers.conftest import make_settings, new_telegram
from tests.harness import Harness
from tests.telegram import Person, Sent, Telegram
from tests.world import ALICE, BOB, DUE, FixedClock, World, draft

Sessions = async_sessionmaker[AsyncSession]
GROUP = -100500


@pytest.fixture
async def tg(sessions: Sessions, world: World, clock: FixedClock) -> AsyncIterator[Telegram]:
    tg = new_telegram(sessions, clock, settings=make_settings(default_locale="en"))
    yield tg
    await tg.bot.session.close()
    assert tg.session.problems == []


class Office(Harness):
    service = SuggestionService

    async def filed(self, title: str, *, by: int = ALICE, **kwargs: Any) -> SuggestionInfo:
        self.clock.advance(minutes=1)  # newest first: each a minute after the last
        info: SuggestionInfo = await self.by(by).submit(draft(title, **kwargs))
        return info

    async def adopted(self, title: str, department_id: int) -> SuggestionInfo:
        info = await self.filed(title)
        await self.admin.take(info.id)
        await self.admin.adopt(info.id, department_id=department_id, due=DUE)
        return info

    async def rename(self, observer_id: int, name: str) -> None:
        await self.update(Observer, observer_id, name=name)


@pytest.fixture
def office(sessions: Sessions, world: World, clock: FixedClock) -> Office:
    return Office(sessions, world, clock)


def admin(tg: Telegram, language: str = "en") -> Person:
    return tg.member(9001, "Ada", GROUP, "administrator", language_code=language)


def entries(listed: Sent) -> dict[str, str]:
    """Each result's reference and the line under it that says what matched."""
    lines = listed.plain.split("\n")
    found: dict[str, str] = {}
    for n, line in enumerate(lines):
        words = line.split(" ")
        if len(words) > 1 and words[1].startswith("WZ-"):
            below = lines[n + 1].strip() if n + 1 < len(lines) else ""
            found[words[1]] = below if below.startswith("🔹") else ""
    return found


async def test_find_by_observer_point_and_department_says_what_matched(
    tg: Telegram, office: Office, world: World
) -> None:
    lamps = await office.filed("Street lamps out")
    noise = await office.filed(
        "Noise at night", by=BOB, body="Loud bars after midnight near the square."
    )
    market = await office.adopted("Market stalls on the pavement", world.department_id)
    ada = admin(tg)

    # The observer, by a part of their name, in any case.
    [listed] = await ada.send("/find ALI")
    assert "ALI: 2 found · page 1/1" in listed.plain
    found = entries(listed)
    assert list(found) == [market.reference, lamps.reference]  # newest first
    assert found[lamps.reference] == "🔹 matched: observer Alice"
    assert [t for t, _ in listed.buttons()] == [market.reference, lamps.reference]

    # The point, by its code (exactly) or a part of its name.
    [listed] = await ada.send("/find p02")
    assert entries(listed) == {noise.reference: "🔹 matched: point P02 Chamber of Commerce"}
    [listed] = await ada.send("/find 便民")
    found = entries(listed)
    assert set(found) == {lamps.reference, market.reference}
    assert found[lamps.reference] == "🔹 matched: point P01 城区便民服务中心"
    [said] = await ada.send("/find P0")
    assert said.plain == "Nothing matches “P0”."

    # The department, by its code or a part of its name; the title matched too.
    [listed] = await ada.send("/find market")
    assert entries(listed) == {
        market.reference: "🔹 matched: title · department 区市场监管局",
    }
    [by_department] = await ada.send("/find 市场监管")
    assert entries(by_department) == {market.reference: "🔹 matched: department 区市场监管局"}

    # The text, with the words around the match; the reference.
    [listed] = await ada.send("/find midnight")
    assert entries(listed) == {
        noise.reference: "🔹 matched: text “Loud bars after midnight near the square.”"
    }
    [listed] = await ada.send(f"/find {lamps.reference.lower()}")
    assert entries(listed) == {lamps.reference: "🔹 matched: reference"}

    # A result's button still posts its card.
    [card] = await ada.press(OpenCb(item=market.id).pack(), message=by_department)
    assert market.reference in card.plain.split("\n")[0]


async def test_find_by_a_chinese_name_in_chinese(
    sessions: Sessions, world: World, clock: FixedClock, office: Office
) -> None:
    tg = new_telegram(sessions, clock, settings=make_settings(default_locale="zh_CN"))
    try:
        await office.rename(world.bob_observer_id, "王小明")
        noise = await office.filed("夜间噪音扰民", by=BOB)
        await office.filed("路灯不亮")
        ada = admin(tg, "zh-hans")
        [listed] = await ada.send("/find 小明")
        assert "共 1 件" in listed.plain
        assert entries(listed) == {noise.reference: "🔹 匹配：观察员 王小明"}
        [listed] = await ada.send("/find p02")
        assert entries(listed)[noise.reference].startswith("🔹 匹配：观测点 P02")
        assert tg.session.problems == []
    finally:
        await tg.bot.session.close()


async def test_percent_and_underscore_are_literal(tg: Telegram, office: Office) -> None:
    fees = await office.filed("Fees up 100% this year")
    await office.filed("Fees up 1000 yuan")
    road = await office.filed("Road_works all summer")
    await office.filed("Roadxworks all summer")
    ada = admin(tg)
    [listed] = await ada.send("/find 100%")
    assert list(entries(listed)) == [fees.reference]
    [listed] = await ada.send("/find d_w")
    assert list(entries(listed)) == [road.reference]
    [said] = await ada.send("/find %%")
    assert said.plain == "Nothing matches “%%”."


async def test_names_are_escaped_and_a_long_result_is_paged_within_one_message(
    tg: Telegram, office: Office, world: World
) -> None:
    await office.rename(world.bob_observer_id, "<b>Bob</b> & Co " + "长" * 80)
    long_body = "前" * 300 + " needle " + "后" * 300
    for n in range(20):
        await office.filed(f"<i>{n:02d}</i> " + "标题" * 45, by=BOB, body=long_body)
    ada = admin(tg)

    [listed] = await ada.send("/find <b>bob")
    assert "20 found · page 1/3" in listed.plain
    assert "&lt;b&gt;Bob&lt;/b&gt; &amp; Co" in listed.text
    assert "&lt;i&gt;19&lt;/i&gt;" in listed.text
    assert len(listed.plain) <= 4096
    assert len(listed.text) <= 4096
    assert ("▶️", FindCb(page=2).pack()) in listed.buttons()
    found = entries(listed)
    assert len(found) == 8
    assert all(
        line.startswith("🔹 matched: observer <b>Bob</b> & Co 长") for line in found.values()
    )

    [listed] = await ada.send("/find needle")
    [line] = set(entries(listed).values())
    assert line.startswith("🔹 matched: text “…前")
    assert "前 needle 后" in line
    assert line.endswith("后…”")
    [last] = await ada.press("▶️", message=listed)
    [last] = await ada.press("▶️", message=last)
    assert "page 3/3" in last.plain
    assert len(entries(last)) == 4


def test_a_snippet_is_the_words_around_the_match_on_one_line() -> None:
    assert snippet("Short\ntext with a Needle.", "needle") == "Short text with a Needle."
    text = "a" * 50 + " the word " + "b" * 50
    assert snippet(text, "WORD", around=5) == "…the word bbbb…"
    # Matched elsewhere (a name): the text's start.
    assert snippet("x" * 100, "zzz", around=5) == "xxxxxxxxx…"


async def test_only_admins_may_find(tg: Telegram, office: Office) -> None:
    await office.filed("Street lamps out")
    nina = tg.member(9003, "Nina", GROUP, "member", language_code="en")
    [said] = await nina.send("/find alice")
    assert said.plain == "Only this office's admins can use this command."
    alice = tg.person(ALICE, "Alice", "en")
    [said] = await alice.send("/find alice")
    assert said.plain == "This command works only in an office's admin group."
