"""Strangers and applicants through the real Dispatcher (issue 19, point 17): what a
stranger's free text is answered with, the applicant's menu from the moment the
application is sent, changing an answer from the summary, and the phone number's
form (mainland mobiles taken, other numbers confirmed, "12345" refused)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from aiogram.types import ReplyKeyboardMarkup, ReplyKeyboardRemove
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.statuses import ApplicationStatus, ObserverCategory
from bot.services.actors import Actor
from bot.services.people import PeopleService, PhoneKind, phone_kind
from storage.models import Application, Observer
from tests.handlers.conftest import make_settings, new_telegram
from tests.handlers.test_onboarding import as_admin, conversation, last, to_phone_step
from tests.telegram import Person, Sent, Telegram
from tests.world import ALICE, STRANGER, FixedClock, World

Sessions = async_sessionmaker[AsyncSession]
NEWCOMER = 6001
APPLY = "📝 Apply to become an observer"
SEND, EDIT, SKIP, BACK = "✅ Send application", "✏️ Edit", "Skip", "⬅️ Back"
MY_APPLICATION, HELP = "📄 My application", "❓ Help"
HOTLINE = (
    "To report a problem, ask for help or make a complaint yourself, call the 12345 "
    "citizens' service hotline."
)
ANYWAY, RETYPE = "✅ Use it anyway", "✏️ Type another number"


@pytest.fixture
async def tg(sessions: Sessions, world: World, clock: FixedClock) -> AsyncIterator[Telegram]:
    tg = new_telegram(sessions, clock, settings=make_settings(default_locale="en"))
    yield tg
    await tg.bot.session.close()
    assert tg.session.problems == []


async def applications(sessions: Sessions, user_id: int) -> list[Application]:
    async with sessions() as session:
        stmt = sa.select(Application).where(Application.user_id == user_id)
        return list(await session.scalars(stmt.order_by(Application.id)))


async def to_summary(stan: Person) -> Sent:
    """Every question answered: a mobile typed, P01, a résumé."""
    await to_phone_step(stan)
    await stan.send("+86 138-0000-5555")
    await stan.send("Law firm")
    await stan.press("Lawyer")
    await stan.press("城区便民服务中心")
    [summary] = await stan.send("Ten years of practice")
    return summary


# ---- a stranger's free text ------------------------------------------------------------


async def test_a_strangers_free_text_is_told_what_they_can_do(
    tg: Telegram, sessions: Sessions
) -> None:
    stan = tg.person(STRANGER, "Stan", "en")
    [told] = await stan.send("The street lamp on my road is broken")
    assert told.plain == (
        "Sorry, I did not understand that.\n\n"
        "This chat is for the district's rule-of-law observers, who collect the problems, "
        "opinions and suggestions of residents and businesses. You can apply to become one."
        f"\n\n{HOTLINE}"
    )
    assert "menu" not in told.plain
    assert [text for text, _ in told.buttons()] == [APPLY]
    assert await applications(sessions, STRANGER) == []
    # The button starts the application.
    name_q = last(await stan.press(APPLY, message=told))
    assert "1/6 What is your full name" in name_q.plain
    assert (await conversation(tg, STRANGER))[0] == "Applying:name"

    # In Chinese, with the 12345 hotline.
    wang = tg.person(NEWCOMER, "王", "zh-hans")
    [told] = await wang.send("你好")
    assert told.plain.startswith("抱歉，没有理解您的意思。\n\n本对话供区法治观察员使用")
    assert "12345 政务服务便民热线" in told.plain
    assert "请使用下方菜单" not in told.plain
    assert [text for text, _ in told.buttons()] == ["📝 申请成为法治观察员"]

    # An observer has a menu, and is pointed to it.
    [told] = await tg.person(ALICE, "Alice", "en").send("hello?")
    assert told.plain == (
        "Sorry, I did not understand that. Use the menu below, or /help to see what I can do."
    )


# ---- the applicant's menu --------------------------------------------------------------


async def test_the_applicant_gets_a_menu_as_soon_as_the_application_is_sent(
    tg: Telegram, sessions: Sessions, clock: FixedClock, world: World
) -> None:
    stan = tg.person(STRANGER, "Stan", "en")
    await to_summary(stan)
    [*_, sent] = await stan.press(SEND)
    assert sent.plain.startswith("Your application has been sent to the district office")
    assert isinstance(sent.markup, ReplyKeyboardMarkup)
    assert sent.keys() == [MY_APPLICATION, HELP]
    [row] = await applications(sessions, STRANGER)

    [shown] = await stan.send(MY_APPLICATION)
    assert shown.plain == (
        f"Your application #{row.id} is with the district office; you will be told here as "
        "soon as it is decided.\n\n"
        "Name: Stan Lee\n"
        "Phone: +86 138-0000-5555\n"
        "Recommending unit: Law firm\n"
        "Category: Lawyer\n"
        "Desired point: 城区便民服务中心\n"
        "Résumé: Ten years of practice"
    )
    assert shown.keys() == [MY_APPLICATION, HELP]
    [helped] = await stan.send(HELP)
    assert helped.plain.startswith("How it works")
    # Free text: the application, and where else to turn; the menu stays.
    [told] = await stan.send("any news?")
    assert told.plain == (
        "Sorry, I did not understand that.\n\n"
        "Your application is with the district office; you will be told here as soon as it "
        f"is decided. {MY_APPLICATION} shows what you sent.\n\n{HOTLINE}"
    )
    assert told.keys() == [MY_APPLICATION, HELP]
    # /start gives the same menu.
    [greeting] = await stan.send("/start")
    assert greeting.keys() == [MY_APPLICATION, HELP]

    # Approved: the button now hands over the observer's menu.
    async def approve(people: PeopleService, admin: Actor) -> object:
        return await people.approve(admin, row.id)

    await as_admin(sessions, clock, approve)
    [now] = await stan.send(MY_APPLICATION)
    assert now.plain == (
        "You are already an observer at 城区便民服务中心, so there is no need to apply."
    )
    assert now.keys() == ["📝 New suggestion", "📋 My suggestions", HELP]


async def test_a_rejected_applicant_sees_the_reason_and_may_apply_again(
    tg: Telegram, sessions: Sessions, clock: FixedClock
) -> None:
    stan = tg.person(STRANGER, "Stan", "en")
    await to_summary(stan)
    await stan.press(SEND)
    [row] = await applications(sessions, STRANGER)

    async def reject(people: PeopleService, admin: Actor) -> object:
        return await people.reject(admin, row.id, "No <vacancy> at that point")

    await as_admin(sessions, clock, reject)
    [shown] = await stan.send(MY_APPLICATION)
    assert shown.plain == (
        f"Your application #{row.id} was not approved. The district office's reason: "
        "No <vacancy> at that point\n\nYou may apply again."
    )
    name_q = last(await stan.press(APPLY, message=shown))
    assert "1/6" in name_q.plain


# ---- changing an answer from the summary -----------------------------------------------


async def test_an_answer_is_changed_from_the_summary_keeping_the_others(
    tg: Telegram, sessions: Sessions, world: World
) -> None:
    stan = tg.person(STRANGER, "Stan", "en")
    summary = await to_summary(stan)
    assert [text for text, _ in summary.buttons()] == [SEND, EDIT, BACK, "✖️ Cancel"]

    choices = last(await stan.press(EDIT, message=summary))
    assert summary.buttons() == []
    assert choices.plain == "Which answer would you like to change? The other answers are kept."
    assert [text for text, _ in choices.buttons()] == [
        "✏️ Name",
        "✏️ Phone",
        "✏️ Recommending unit",
        "✏️ Category",
        "✏️ Desired point",
        "✏️ Résumé",
        "⬅️ Back to the summary",
    ]
    # Back to the summary changes nothing.
    again = last(await stan.press("⬅️ Back to the summary", message=choices))
    assert again.plain == summary.plain

    # The category: its question, then the summary with only that answer changed.
    last(await stan.press(EDIT, message=again))
    category_q = last(await stan.press("✏️ Category"))
    assert "4/6 Which of these describes you best?" in category_q.plain
    changed = last(await stan.press("Private entrepreneur", message=category_q))
    assert changed.plain == summary.plain.replace(
        "Category: Lawyer", "Category: Private entrepreneur"
    )

    # The phone, typed: the contact keyboard comes and goes, then the summary.
    last(await stan.press(EDIT, message=changed))
    phone_q = last(await stan.press("✏️ Phone"))
    assert "2/6" in phone_q.plain
    noted, changed = await stan.send("139 1234 5678")
    assert noted.plain == "📱 Phone number noted: 139 1234 5678"
    assert isinstance(noted.markup, ReplyKeyboardRemove)
    assert "Phone: 139 1234 5678" in changed.plain
    assert "Category: Private entrepreneur" in changed.plain
    assert "Résumé: Ten years of practice" in changed.plain

    # Back while changing an answer returns to the summary, not to the question before.
    last(await stan.press(EDIT, message=changed))
    name_q = last(await stan.press("✏️ Name"))
    assert "1/6 What is your full name" in name_q.plain
    assert "Six short questions" not in name_q.plain
    assert name_q.keys() == [BACK, "✖️ Cancel"]
    [back] = await stan.send(BACK)
    assert back.plain == changed.plain
    state, data = await conversation(tg, STRANGER)
    assert state == "Applying:confirm"
    assert data["application"]["editing"] is False

    # The point, then sent: the office has every answer as it was last given.
    last(await stan.press(EDIT, message=back))
    point_q = last(await stan.press("✏️ Desired point"))
    final = last(await stan.press("Chamber of Commerce", message=point_q))
    assert "Desired point: Chamber of Commerce" in final.plain
    await stan.press(SEND, message=final)
    [row] = await applications(sessions, STRANGER)
    assert (row.name, row.phone, row.recommending_unit, row.resume) == (
        "Stan Lee",
        "139 1234 5678",
        "Law firm",
        "Ten years of practice",
    )
    assert (row.category, row.desired_point_id, row.status) == (
        ObserverCategory.PRIVATE_ENTREPRENEUR,
        world.other_point_id,
        ApplicationStatus.PENDING,
    )

    # A change button left on an old message does nothing once the summary is sent.
    await stan.callback("ap:fix:name", message=choices)
    assert tg.session.alerts[-1][1] == (
        "This application is no longer open. Send /apply to start again."
    )


# ---- the phone number's form -----------------------------------------------------------


def test_phone_numbers_are_told_apart() -> None:
    mobiles = ["13800005555", "+86 138 0000 5555", "138-0000-6001", "0086 139 1234 5678"]
    assert {phone_kind(n) for n in mobiles} == {PhoneKind.MOBILE}
    others = ["0571-8888 8888", "(010) 12345678", "88886666", "+44 20 7946 0958"]
    assert {phone_kind(n) for n in others} == {PhoneKind.OTHER}
    invalid = ["12345", "12345678901", "1380000555", "138000055556", "call me", "+", "12345678"]
    assert {phone_kind(n) for n in invalid} == {PhoneKind.INVALID}


async def test_12345_is_refused_and_a_landline_taken_once_confirmed(
    tg: Telegram, sessions: Sessions
) -> None:
    stan = tg.person(STRANGER, "Stan", "en")
    await to_phone_step(stan)

    [refused] = await stan.send("12345")
    assert refused.plain.startswith(
        "12345 is not a phone number the office can call. A mainland mobile number has 11 "
        "digits and starts with 1 (for example 138 0000 0000); a landline needs its area "
        "code (for example 0571-8888 8888).\n\n2/6 Your mobile phone number"
    )
    assert refused.keys() == ["📱 Share my phone number", BACK, "✖️ Cancel"]
    state, data = await conversation(tg, STRANGER)
    assert state == "Applying:phone"
    assert "phone" not in data["application"]

    [unsure] = await stan.send("0571-8888 8888")
    assert unsure.plain == (
        "0571-8888 8888 is not a mainland mobile number. If the office can reach you on it "
        "(a landline, a number abroad), use it anyway; otherwise type your mobile number."
    )
    assert [text for text, _ in unsure.buttons()] == [ANYWAY, RETYPE]
    assert (await conversation(tg, STRANGER))[0] == "Applying:phone"
    assert "phone" not in (await conversation(tg, STRANGER))[1]["application"]

    # Type another: the question again; the number is not kept.
    asked = last(await stan.press(RETYPE, message=unsure))
    assert "2/6 Your mobile phone number" in asked.plain
    assert unsure.buttons() == []
    [unsure] = await stan.send("0571-8888 8888")
    said = await stan.press(ANYWAY, message=unsure)
    noted, unit_q = said[-2:]
    assert noted.plain == "📱 Phone number noted: 0571-8888 8888"
    assert "3/6 Which unit recommends you" in unit_q.plain
    assert (await conversation(tg, STRANGER))[1]["application"]["phone"] == "0571-8888 8888"

    # A Use-it-anyway left behind answers no later question.
    await stan.callback("ap:anyway:88886666", message=unsure)
    assert tg.session.alerts[-1][1] == (
        "That button belongs to an earlier question. Please answer the latest one."
    )
    assert (await conversation(tg, STRANGER))[1]["application"]["phone"] == "0571-8888 8888"

    await stan.press(SKIP, message=unit_q)
    await stan.press("Lawyer")
    await stan.press("No preference")
    await stan.press(SKIP)
    await stan.press(SEND)
    [row] = await applications(sessions, STRANGER)
    assert row.phone == "0571-8888 8888"


async def test_a_bad_phone_in_chinese(tg: Telegram, sessions: Sessions) -> None:
    wang = tg.person(NEWCOMER, "王", "zh-hans")
    await to_phone_step(wang, "王小明")
    [refused] = await wang.send("12345")
    assert refused.plain.startswith(
        "12345 不是可以拨通的电话号码。中国大陆手机号码为以 1 开头的 11 位数字"
    )
    assert "2/6" in refused.plain
    [unsure] = await wang.send("+44 20 7946 0958")
    assert unsure.plain.startswith("+44 20 7946 0958 不是中国大陆手机号码。")
    assert [text for text, _ in unsure.buttons()] == ["✅ 仍使用该号码", "✏️ 重新输入号码"]
    noted, _unit_q = await wang.send("13912345678")
    assert noted.plain == "📱 已记录手机号码：13912345678"
    assert await applications(sessions, NEWCOMER) == []
    async with sessions() as session:
        assert await session.scalar(sa.select(Observer).where(Observer.user_id == NEWCOMER)) is None
