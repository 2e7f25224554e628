"""The admin group's own language (issue 19, point 15): an admin sets it with /lang in
the group; cards, prompts, /help, /stats, /queue, /export and /report follow it; what
is said to one admin alone (a button's answer) is in that admin's own language; and
people who read English see the English names of points and departments."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.cards import CardCb
from storage.models import ChatLanguage, Department, Point, TelegramUser
from tests.handlers.conftest import make_settings, new_telegram
from tests.handlers.test_deciding import by, filed
from tests.telegram import Person, Sent, Telegram
from tests.world import ADMIN, ALICE, DUE, LIAISON, FixedClock, World

Sessions = async_sessionmaker[AsyncSession]
GROUP = -100500
BO = 9002


@pytest.fixture
async def tg(sessions: Sessions, world: World, clock: FixedClock) -> AsyncIterator[Telegram]:
    # The office's deployment speaks Chinese, as the district's does.
    tg = new_telegram(sessions, clock, settings=make_settings(default_locale="zh_CN"))
    yield tg
    await tg.bot.session.close()
    assert tg.session.problems == [], "the bot sent what Telegram would refuse"


def ada(tg: Telegram) -> Person:
    """An admin who reads English."""
    return tg.member(ADMIN, "Ada", GROUP, "administrator", language_code="en")


def bo(tg: Telegram) -> Person:
    """An admin who reads Chinese."""
    return tg.member(BO, "Bo", GROUP, "administrator", language_code="zh-hans")


def card(tg: Telegram) -> Sent:
    """The newest item card in the group (in whichever language)."""
    return [s for s in tg.chat(GROUP) if "<b>WZ-2026-" in s.text and "<blockquote" in s.text][-1]


def answers(tg: Telegram) -> list[tuple[str | None, bool]]:
    return [(text, alert) for _, text, alert in tg.session.alerts]


async def group_language(sessions: Sessions) -> str | None:
    async with sessions() as session:
        row = await session.get(ChatLanguage, GROUP)
        return row.locale if row is not None else None


# ---- the group's language ---------------------------------------------------------------


async def test_an_admin_sets_the_groups_language_and_the_group_reads_it(
    tg: Telegram, sessions: Sessions, clock: FixedClock
) -> None:
    item_id = await filed(tg, sessions, clock, title="路灯不亮")
    assert card(tg).plain.startswith("🟡 WZ-2026-0001 · 已提交，待研判")
    english = ada(tg)

    [said] = await english.send("/lang en")
    assert said.plain.startswith("This group now speaks English")
    assert await group_language(sessions) == "en"

    # The next card the group reads is English, and so are the office's commands.
    await by(sessions, clock, ADMIN, "take", item_id)
    await tg.drain()
    assert card(tg).plain.startswith("🔵 WZ-2026-0001 · Under review")
    [helped] = await english.send("/help")
    assert "The office's commands" in helped.plain
    stats = await english.send("/stats")
    assert stats
    assert "Figures for" in stats[0].plain
    [queue] = await english.send("/queue")
    assert "Awaiting a decision" in queue.plain or "Nothing is waiting" in queue.plain

    # A Chinese admin in the English group reads the same group, in English.
    [chinese_help] = await bo(tg).send("/help")
    assert "The office's commands" in chinese_help.plain

    # Back to Chinese, with the picker this time.
    [picker] = await bo(tg).send("/lang")
    assert [text for text, _ in picker.buttons()] == ["中文", "English"]
    [shown] = await bo(tg).press("中文")
    assert shown.plain.startswith("本群现使用中文")
    assert shown.buttons() == []
    assert await group_language(sessions) == "zh_CN"
    [helped] = await english.send("/help")
    assert "本办" in helped.plain


async def test_a_group_without_a_choice_speaks_the_default_language(tg: Telegram) -> None:
    # An English admin in a group nobody chose a language for reads Chinese there.
    [helped] = await ada(tg).send("/help")
    assert "本办" in helped.plain
    assert "commands" not in helped.plain


async def test_only_the_office_sets_the_groups_language(tg: Telegram, sessions: Sessions) -> None:
    member = tg.member(7777, "Mo", GROUP, "member", language_code="en")
    [said] = await member.send("/lang en")
    assert "只有本办管理员" in said.plain
    assert await group_language(sessions) is None
    [said] = await ada(tg).send("/lang fr")
    assert "/lang zh" in said.plain
    assert await group_language(sessions) is None


async def test_the_private_lang_is_the_persons_own(tg: Telegram, sessions: Sessions) -> None:
    alice = tg.person(ALICE, "Alice")
    [picker] = await alice.send("/lang")
    await alice.press("English", message=picker)
    assert alice.last.plain == "Language set: English."
    assert await group_language(sessions) is None


# ---- what is said to one admin alone -----------------------------------------------------


async def test_each_admin_reads_the_answer_to_their_press_in_their_own_language(
    tg: Telegram, sessions: Sessions, clock: FixedClock
) -> None:
    await ada(tg).send("/lang en")
    item_id = await filed(tg, sessions, clock)
    shown = card(tg)
    assert shown.plain.startswith("🟡 WZ-2026-0001 · Submitted, awaiting review")

    # The Chinese admin takes it: the card is the group's (English), the toast is hers.
    await bo(tg).press("🔍 Take")
    assert card(tg).plain.startswith("🔵 WZ-2026-0001 · Under review")
    assert answers(tg)[-1] == ("已受理，进入分析研判。", False)

    # The English admin presses the old button: the alert, with the item's status in
    # it, is said to him in English.
    await ada(tg).callback(CardCb(act="take", item=item_id, v=1).pack(), message=shown)
    assert answers(tg)[-1] == (
        "WZ-2026-0001 has already moved: it is now “Under review”. Nothing was changed; "
        "the card shows where it stands.",
        True,
    )
    # The Chinese admin pressing the same, in Chinese.
    await bo(tg).callback(CardCb(act="take", item=item_id, v=1).pack(), message=shown)
    text, alert = answers(tg)[-1]
    assert alert
    assert text is not None
    assert text.startswith("WZ-2026-0001 已被他人处理，当前状态为“分析研判中”")


async def test_a_prompt_is_the_groups_and_its_toast_the_admins(
    tg: Telegram, sessions: Sessions, clock: FixedClock
) -> None:
    await filed(tg, sessions, clock, "take")
    chinese = bo(tg)
    [prompt] = await chinese.press("❓ 退回补充")
    assert "question" not in prompt.plain  # the group reads Chinese
    await ada(tg).send("/lang en")
    await chinese.send("/cancel")
    [prompt] = await chinese.press("❓ Ask for information")
    assert "reply to this message with your question" in prompt.plain
    assert answers(tg)[-1] == ("请回复下方机器人的消息。", False)


# ---- documents ---------------------------------------------------------------------------


async def test_export_and_report_come_in_the_groups_language(
    tg: Telegram, sessions: Sessions, clock: FixedClock
) -> None:
    await filed(tg, sessions, clock)
    english = ada(tg)
    [exported] = await english.send("/export")
    assert exported.kind == "document"
    assert "事项" in exported.plain  # the Chinese group's caption
    [exported] = await english.send("/export en")
    assert "items" in exported.plain  # asked for in English


# ---- English names -----------------------------------------------------------------------


async def name_in_english(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        await session.execute(
            sa.update(Point).where(Point.code == "P01").values(name_en="Town Service Centre")
        )
        await session.execute(
            sa.update(Department)
            .where(Department.code == "MARKET")
            .values(name_en="Market Regulation Bureau")
        )


async def test_an_english_observer_reads_the_points_english_name(
    tg: Telegram, sessions: Sessions
) -> None:
    await name_in_english(sessions)
    alice = tg.person(ALICE, "Alice", language_code="en")
    [greeting] = await alice.send("/start")
    assert "You are an observer at Town Service Centre" in greeting.plain
    chinese = tg.person(ALICE, "Alice", language_code="zh-hans")
    [greeting] = await chinese.send("/start")
    assert "城区便民服务中心" in greeting.plain


async def test_the_group_and_the_liaison_read_names_in_their_language(
    tg: Telegram, sessions: Sessions, clock: FixedClock
) -> None:
    await name_in_english(sessions)
    async with sessions() as session, session.begin():
        liaison = await session.get(TelegramUser, LIAISON)
        assert liaison is not None
        liaison.locale = "en"
    item_id = await filed(tg, sessions, clock, "take", "adopt")
    assert "城区便民服务中心" in card(tg).plain
    assert "区市场监管局" in card(tg).plain
    # The liaison, who reads English, got the department's card with English names.
    [sent] = [s for s in tg.chat(LIAISON) if "WZ-2026-0001" in s.text][-1:]
    assert "Market Regulation Bureau" in sent.plain
    assert "区市场监管局" not in sent.plain

    await ada(tg).send("/lang en")
    await by(sessions, clock, ADMIN, "set_due", item_id, DUE)
    await tg.drain()
    assert "Town Service Centre" in card(tg).plain
    assert "Market Regulation Bureau" in card(tg).plain


async def test_points_and_departments_take_an_english_name(
    tg: Telegram, sessions: Sessions
) -> None:
    english = ada(tg)
    await english.send("/lang en")
    [added] = await english.send(
        "/point_add P17 disputes other 万州区调解中心 | Wanzhou Mediation Centre"
    )
    assert "Wanzhou Mediation Centre" in added.plain
    [added] = await english.send("/dept_add JUSTICE 区司法局 | District Justice Bureau")
    assert "District Justice Bureau" in added.plain
    # Without an English name, as before.
    await english.send("/dept_add TAX 区税务局")
    async with sessions() as session:
        point = (await session.scalars(sa.select(Point).where(Point.code == "P17"))).one()
        justice, tax = (
            await session.scalars(
                sa.select(Department)
                .where(Department.code.in_(["JUSTICE", "TAX"]))
                .order_by(Department.code)
            )
        ).all()
    assert (point.name, point.name_en) == ("万州区调解中心", "Wanzhou Mediation Centre")
    assert (justice.name, justice.name_en) == ("区司法局", "District Justice Bureau")
    assert (tax.name, tax.name_en) == ("区税务局", None)
    # An existing one is named in English (or renamed) afterwards.
    [renamed] = await english.send("/dept_rename TAX 区税务局 | District Tax Bureau")
    assert "District Tax Bureau" in renamed.plain
    [renamed] = await english.send("/point_rename P01 城区便民服务中心 | Town Service Centre")
    assert "Town Service Centre" in renamed.plain
    async with sessions() as session:
        tax_row = (
            await session.scalars(sa.select(Department).where(Department.code == "TAX"))
        ).one()
        p01 = (await session.scalars(sa.select(Point).where(Point.code == "P01"))).one()
    assert tax_row.name_en == "District Tax Bureau"
    assert (p01.name, p01.name_en) == ("城区便民服务中心", "Town Service Centre")
