"""Joining the scheme through the real Dispatcher: the application conversation and
one-time invite links."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from aiogram.types import InlineKeyboardMarkup, ReplyKeyboardMarkup, ReplyKeyboardRemove
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.statuses import ApplicationStatus, ObserverCategory, ObserverStatus
from bot.services.actors import Actor
from bot.services.people import PeopleService
from storage.models import Application, Liaison, Observer, OutboxMessage
from storage.store import Store
from tests.telegram import Person, Sent, Telegram
from tests.world import ADMIN, ALICE, BOB, POLICY, STRANGER, FixedClock, World, actor

T = TypeVar("T")
Sessions = async_sessionmaker[AsyncSession]

NEWCOMER, OTHER = 6001, 6002
APPLY = "📝 Apply to become an observer"
SEND = "✅ Send application"
EDIT = "✏️ Edit"
MY_APPLICATION = "📄 My application"
BACK, CANCEL, SKIP = "⬅️ Back", "✖️ Cancel", "Skip"
SHARE = "📱 Share my phone number"


# ---- helpers ---------------------------------------------------------------------------


async def as_admin(
    sessions: Sessions, clock: FixedClock, work: Callable[[PeopleService, Actor], Awaitable[T]]
) -> T:
    """One office action in its own committed transaction."""
    async with sessions() as session, session.begin():
        store = Store(session)
        admin = await actor(store, ADMIN, admin=True)
        return await work(PeopleService(store, POLICY, clock), admin)


async def applications(sessions: Sessions, user_id: int) -> list[Application]:
    async with sessions() as session:
        rows = await session.scalars(sa.select(Application).where(Application.user_id == user_id))
        return list(rows)


async def outbox(sessions: Sessions, kind: str) -> list[OutboxMessage]:
    async with sessions() as session:
        return list(
            await session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == kind))
        )


async def observer_of(sessions: Sessions, user_id: int) -> Observer | None:
    async with sessions() as session:
        return await session.scalar(sa.select(Observer).where(Observer.user_id == user_id))


async def conversation(tg: Telegram, user_id: int) -> tuple[str | None, dict[str, Any]]:
    context = tg.dp.fsm.get_context(tg.bot, chat_id=user_id, user_id=user_id)
    return await context.get_state(), await context.get_data()


def last(sent: list[Sent]) -> Sent:
    """The newest message of a reply; a pressed question's buttons are taken away by an
    edit that comes first."""
    assert sent, "the bot said nothing"
    return sent[-1]


def phone_keyboard(sent: Sent) -> ReplyKeyboardMarkup:
    assert isinstance(sent.markup, ReplyKeyboardMarkup)
    return sent.markup


async def to_phone_step(person: Person, name: str = "Stan Lee") -> None:
    await person.send("/apply")
    await person.send(name)


async def to_summary(person: Person) -> Sent:
    """A quick run through every question, typed phone, no preference."""
    await to_phone_step(person)
    await person.send("13800005555")
    await person.send("Chamber of Commerce")
    await person.press("Lawyer")
    await person.press("No preference")
    return last(await person.press(SKIP))


# ---- 1, 2: the whole conversation ------------------------------------------------------


async def test_whole_application_in_english_with_the_contact_button(
    tg: Telegram, sessions: Sessions, world: World
) -> None:
    stan = tg.person(STRANGER, "Stan", "en")
    await stan.send("/start")
    name_q = last(await stan.press(APPLY))
    assert "Apply to become an observer" in name_q.plain
    assert "1/6 What is your full name" in name_q.plain
    assert name_q.keys() == [CANCEL]

    [phone_q] = await stan.send("  Stan <Lee>   & Co ")
    assert "2/6 Your mobile phone number" in phone_q.plain
    assert phone_q.keys() == [SHARE, BACK, CANCEL]
    assert phone_keyboard(phone_q).keyboard[0][0].request_contact is True

    noted, unit_q = await stan.contact("+86 138 0000 5555")
    assert noted.plain == "📱 Phone number noted: +86 138 0000 5555"
    assert isinstance(noted.markup, ReplyKeyboardRemove)  # the contact keyboard goes
    assert "3/6 Which unit recommends you" in unit_q.plain
    assert [text for text, _ in unit_q.buttons()] == [SKIP, BACK, CANCEL]

    [category_q] = await stan.send("<Chamber> of Commerce")
    assert "4/6 Which of these describes you best?" in category_q.plain
    categories = [text for text, data in category_q.buttons() if data.startswith("ap:cat:")]
    assert len(categories) == 10
    assert categories[4] == "Lawyer"
    assert isinstance(category_q.markup, InlineKeyboardMarkup)
    assert [len(row) for row in category_q.markup.inline_keyboard] == [2, 2, 2, 2, 2, 2]

    point_q = last(await stan.press("Lawyer"))
    assert "5/6 Which observation point" in point_q.plain
    assert [text for text, _ in point_q.buttons()] == [
        "城区便民服务中心",
        "Chamber of Commerce",
        "No preference",
        BACK,
        CANCEL,
    ]
    resume_q = last(await stan.press("Chamber of Commerce"))
    assert "6/6 Finally, a short résumé" in resume_q.plain
    assert "at most 1000 characters" in resume_q.plain

    [summary] = await stan.send("Ten years of <b>practice</b> & teaching")
    assert summary.plain == (
        "Please check your application\n\n"
        "Name: Stan <Lee> & Co\n"
        "Phone: +86 138 0000 5555\n"
        "Recommending unit: <Chamber> of Commerce\n"
        "Category: Lawyer\n"
        "Desired point: Chamber of Commerce\n"
        "Résumé: Ten years of <b>practice</b> & teaching\n\n"
        "If everything is right, send it to the district office."
    )
    assert "Stan &lt;Lee&gt; &amp; Co" in summary.text
    assert "&lt;b&gt;practice&lt;/b&gt;" in summary.text
    assert [text for text, _ in summary.buttons()] == [SEND, EDIT, BACK, CANCEL]

    sent = await stan.press(SEND)
    assert sent[-1].plain == (
        "Your application has been sent to the district office; you will be told here "
        "when it is decided."
    )
    # The applicant's own menu, at once: no /start needed.
    assert sent[-1].keys() == [MY_APPLICATION, "❓ Help"]
    assert summary.buttons() == []  # the summary cannot be confirmed again

    [row] = await applications(sessions, STRANGER)
    assert row.status is ApplicationStatus.PENDING
    assert (row.name, row.phone, row.recommending_unit) == (
        "Stan <Lee> & Co",
        "+86 138 0000 5555",
        "<Chamber> of Commerce",
    )
    assert row.category is ObserverCategory.LAWYER
    assert row.desired_point_id == world.other_point_id
    assert row.resume == "Ten years of <b>practice</b> & teaching"
    [notice] = await outbox(sessions, "application.new")
    assert (notice.audience, notice.chat_id) == ("admins", None)
    assert notice.payload == {"application_id": row.id}
    assert await conversation(tg, STRANGER) == (None, {})

    # A second tap on the old summary finds the conversation over: nothing more is filed.
    assert await stan.callback("ap:confirm:", message=summary) == []
    assert tg.session.alerts[-1][1:] == ("Your application has already been sent.", True)
    assert len(await applications(sessions, STRANGER)) == 1
    assert len(await outbox(sessions, "application.new")) == 1

    # /start now says the application is with the office.
    [greeting] = await stan.send("/start")
    assert "Your application is with the district office" in greeting.plain
    assert greeting.buttons() == []


async def test_whole_application_in_chinese_with_a_typed_phone(
    tg: Telegram, sessions: Sessions, world: World
) -> None:
    wang = tg.person(NEWCOMER, "王", "zh-hans")
    [name_q] = await wang.send("/apply")
    assert "申请成为法治观察员" in name_q.plain
    assert "1/6 请填写您的姓名" in name_q.plain
    assert name_q.keys() == ["✖️ 取消"]

    [phone_q] = await wang.send("王小明")
    assert "2/6" in phone_q.plain
    assert "手机号码" in phone_q.plain
    assert phone_q.keys() == ["📱 发送本人手机号码", "⬅️ 上一步", "✖️ 取消"]

    noted, unit_q = await wang.send("138-0000-6001")
    assert noted.plain == "📱 已记录手机号码：138-0000-6001"
    assert "3/6 请填写推荐单位" in unit_q.plain
    assert [text for text, _ in unit_q.buttons()] == ["跳过", "⬅️ 上一步", "✖️ 取消"]

    [category_q] = await wang.send("区工商联")
    assert "4/6 请选择最符合您情况的身份类别" in category_q.plain
    assert "村（社区）两委干部" in [text for text, _ in category_q.buttons()]

    point_q = last(await wang.press("村（社区）两委干部"))
    assert "5/6 您希望加入哪个法治观测点" in point_q.plain
    resume_q = last(await wang.press("城区便民服务中心"))
    assert "6/6 最后，请简要介绍" in resume_q.plain

    [summary] = await wang.send("社区工作十年")
    assert summary.plain == (
        "请核对您的申请\n\n"
        "姓名：王小明\n"
        "手机号码：138-0000-6001\n"
        "推荐单位：区工商联\n"
        "身份类别：村（社区）两委干部\n"
        "意向观测点：城区便民服务中心\n"
        "个人简历：社区工作十年\n\n"
        "确认无误后，请提交依法治区办。"
    )
    [*_, done] = await wang.press("✅ 提交申请")
    assert done.plain == "您的申请已提交依法治区办，审核结果将在此通知您。"

    [row] = await applications(sessions, NEWCOMER)
    assert row.status is ApplicationStatus.PENDING
    assert (row.name, row.phone, row.recommending_unit, row.resume) == (
        "王小明",
        "138-0000-6001",
        "区工商联",
        "社区工作十年",
    )
    assert row.category is ObserverCategory.COMMUNITY_STAFF
    assert row.desired_point_id == world.point_id
    assert len(await outbox(sessions, "application.new")) == 1

    await wang.callback("ap:confirm:", message=summary)
    assert tg.session.alerts[-1][1:] == ("您的申请已提交，请勿重复提交。", True)


# ---- 3: going back, cancelling, refusing bad answers -----------------------------------


async def test_back_at_every_step_and_bad_answers(tg: Telegram, sessions: Sessions) -> None:
    stan = tg.person(STRANGER, "Stan", "en")
    await stan.send("/apply")

    [too_long] = await stan.send("N" * 101)
    assert too_long.plain == "That text is too long: at most 100 characters, please."
    assert (await conversation(tg, STRANGER))[0] == "Applying:name"
    [same] = await stan.send(BACK)  # nothing before the first question: asked again
    assert "1/6" in same.plain
    [phone_q] = await stan.send("N" * 100)
    assert "2/6" in phone_q.plain

    [bad] = await stan.send("call me maybe")
    assert bad.plain.startswith("That does not look like a phone number.")
    [theirs] = await stan.contact("+8613912345678", user_id=ALICE)
    assert theirs.plain.startswith("Please share your own phone number")
    [typed_only] = await stan.sticker_like()
    assert typed_only.plain.startswith("Please answer with a text message.")
    assert "2/6" in typed_only.plain
    assert (await conversation(tg, STRANGER))[0] == "Applying:phone"
    assert "phone" not in (await conversation(tg, STRANGER))[1]["application"]

    [name_q] = await stan.send(BACK)
    assert "1/6" in name_q.plain
    assert name_q.keys() == [CANCEL]
    await stan.send("Stan")
    _noted, unit_q = await stan.send("13800005555")
    phone_again = last(await stan.press(BACK, message=unit_q))
    assert "2/6" in phone_again.plain
    assert phone_again.keys() == [SHARE, BACK, CANCEL]
    assert unit_q.buttons() == []  # pressed buttons go away
    _noted, unit_q = await stan.contact("+8613800005555")

    [too_long_unit] = await stan.send("U" * 201)
    assert too_long_unit.plain == "That text is too long: at most 200 characters, please."
    [category_q] = await stan.send("Old unit")
    unit_again = last(await stan.press(BACK, message=category_q))
    assert "3/6" in unit_again.plain
    category_q = last(await stan.press(SKIP, message=unit_again))

    [use_buttons] = await stan.send("a lawyer")
    assert use_buttons.plain.startswith("Please choose with the buttons below.")
    assert "4/6" in use_buttons.plain
    point_q = last(await stan.press("Lawyer"))
    category_q = last(await stan.press(BACK, message=point_q))
    point_q = last(await stan.press("Private entrepreneur", message=category_q))
    resume_q = last(await stan.press("No preference", message=point_q))
    point_q = last(await stan.press(BACK, message=resume_q))
    resume_q = last(await stan.press("城区便民服务中心", message=point_q))

    # An old button (the unit question's Back) does not answer the résumé question.
    await stan.callback("ap:back:unit", message=resume_q)
    assert tg.session.alerts[-1][1:] == (
        "That button belongs to an earlier question. Please answer the latest one.",
        True,
    )
    # A forged point id is refused while the question is open.
    await stan.callback("ap:point:999999", message=resume_q)
    assert (
        tg.session.alerts[-1][1]
        == "That button belongs to an earlier question. Please answer the latest one."
    )

    [too_long_resume] = await stan.send("R" * 1001)
    assert too_long_resume.plain == "That text is too long: at most 1000 characters, please."
    [summary] = await stan.send("A résumé")
    assert "Recommending unit: —" in summary.plain
    assert "Category: Private entrepreneur" in summary.plain
    assert "Desired point: 城区便民服务中心" in summary.plain
    resume_q = last(await stan.press(BACK, message=summary))
    assert "6/6" in resume_q.plain
    summary = last(await stan.press(SKIP, message=resume_q))
    assert "Résumé: —" in summary.plain
    state, data = await conversation(tg, STRANGER)
    assert state == "Applying:confirm"
    assert data["application"]["phone"] == "+8613800005555"

    cancelled = last(await stan.press(CANCEL, message=summary))
    assert cancelled.plain == "Application cancelled. Nothing was sent to the office."
    assert await conversation(tg, STRANGER) == (None, {})
    assert await applications(sessions, STRANGER) == []
    await stan.callback("ap:confirm:", message=summary)
    assert (
        tg.session.alerts[-1][1]
        == "This application is no longer open. Send /apply to start again."
    )
    assert await applications(sessions, STRANGER) == []


async def test_cancel_from_the_phone_keyboard_keeps_other_flows(tg: Telegram) -> None:
    stan = tg.person(STRANGER, "Stan", "en")
    context = tg.dp.fsm.get_context(tg.bot, chat_id=STRANGER, user_id=STRANGER)
    await context.update_data({"draft": {"title": "kept"}})
    await to_phone_step(stan)
    [cancelled] = await stan.send(CANCEL)
    assert cancelled.plain == "Application cancelled. Nothing was sent to the office."
    assert isinstance(cancelled.markup, ReplyKeyboardRemove)
    assert await conversation(tg, STRANGER) == (None, {"draft": {"title": "kept"}})

    await to_phone_step(stan)
    [cancelled] = await stan.send("/cancel")
    assert cancelled.plain == "Application cancelled. Nothing was sent to the office."
    assert await conversation(tg, STRANGER) == (None, {"draft": {"title": "kept"}})


async def test_commands_and_the_menu_still_work_mid_application(tg: Telegram) -> None:
    stan = tg.person(STRANGER, "Stan", "en")
    await to_phone_step(stan)
    [help_text] = await stan.send("/help")
    assert help_text.plain.startswith("How it works")
    [greeting] = await stan.send("/start")
    resumed = last(await stan.press(APPLY, message=greeting))
    assert resumed.plain.startswith(
        "You have an application in progress; here is where you left off."
    )
    assert "2/6" in resumed.plain
    assert (await conversation(tg, STRANGER))[1]["application"]["name"] == "Stan Lee"


# ---- 4: who may not apply ----------------------------------------------------------------


async def test_observers_and_applicants_are_refused(
    tg: Telegram, sessions: Sessions, clock: FixedClock, world: World
) -> None:
    alice = tg.person(ALICE, "Alice", "en")
    [refused] = await alice.send("/apply")
    assert refused.plain == (
        "You are already an observer at 城区便民服务中心, so there is no need to apply."
    )
    assert (await conversation(tg, ALICE))[0] is None

    await as_admin(
        sessions, clock, lambda people, admin: people.suspend(admin, world.bob_observer_id)
    )
    bob = tg.person(BOB, "Bob", "en")
    [refused] = await bob.send("/apply")
    assert refused.plain.startswith("You are already on file as an observer; your appointment")

    stan = tg.person(STRANGER, "Stan", "en")
    await to_summary(stan)
    await stan.press(SEND)
    [refused] = await stan.send("/apply")
    assert refused.plain == (
        "Your application is with the district office. You will be told here as soon as it "
        "is decided."
    )
    assert (await conversation(tg, STRANGER))[0] is None
    assert len(await applications(sessions, STRANGER)) == 1


async def test_an_application_sent_meanwhile_is_not_sent_twice(
    tg: Telegram, sessions: Sessions, clock: FixedClock
) -> None:
    stan = tg.person(STRANGER, "Stan", "en")
    summary = await to_summary(stan)

    async def elsewhere(people: PeopleService, admin: Actor) -> object:
        return await people.apply(
            STRANGER, name="Stan", phone="13800005555", category=ObserverCategory.OTHER
        )

    await as_admin(sessions, clock, elsewhere)
    told = last(await stan.press(SEND, message=summary))
    assert told.plain.startswith("Your application is with the district office.")
    assert await conversation(tg, STRANGER) == (None, {})
    assert len(await applications(sessions, STRANGER)) == 1


# ---- 5: invite links -------------------------------------------------------------------


async def test_observer_invite_appoints_at_the_point(
    tg: Telegram, sessions: Sessions, clock: FixedClock, world: World
) -> None:
    invite = await as_admin(
        sessions, clock, lambda people, admin: people.invite_observer(admin, world.point_id)
    )
    stan = tg.person(STRANGER, "Stan", "en")
    [welcome] = await stan.send(f"/start {invite.code}")
    assert welcome.plain.startswith("Welcome, Stan! You are now an observer at 城区便民服务中心.")
    assert welcome.keys() == ["📝 New suggestion", "📋 My suggestions", "❓ Help"]
    observer = await observer_of(sessions, STRANGER)
    assert observer is not None
    assert (observer.status, observer.point_id) == (ObserverStatus.APPOINTED, world.point_id)

    # Used: the same link opened by someone else appoints nobody.
    other = tg.person(OTHER, "Olga", "en")
    [used] = await other.send(f"/start {invite.code}")
    assert used.plain.startswith(
        "This invite link has already been used. Please ask the district office for a new one."
    )
    assert "You can also apply to become an observer" in used.plain
    assert [text for text, _ in used.buttons()] == [APPLY]
    assert await observer_of(sessions, OTHER) is None

    # The observer who opens it again is told the same, without the stranger's options.
    [again] = await stan.send(f"/start {invite.code}")
    assert again.plain.startswith("This invite link has already been used.")
    assert again.buttons() == []


async def test_liaison_invite_makes_a_liaison(
    tg: Telegram, sessions: Sessions, clock: FixedClock, world: World
) -> None:
    invite = await as_admin(
        sessions, clock, lambda people, admin: people.invite_liaison(admin, world.department_id)
    )
    zhou = tg.person(NEWCOMER, "周", "zh-hans")
    [welcome] = await zhou.send(f"/start {invite.code}")
    assert welcome.plain == (
        "欢迎，周！您已成为区市场监管局的联络员。依法治区办交办给贵部门的事项将发送到此对话。"
    )
    async with sessions() as session:
        liaison = await session.scalar(sa.select(Liaison).where(Liaison.user_id == NEWCOMER))
    assert liaison is not None
    assert liaison.department_id == world.department_id
    assert await observer_of(sessions, NEWCOMER) is None


async def test_expired_and_forged_codes(
    tg: Telegram, sessions: Sessions, clock: FixedClock, world: World
) -> None:
    invite = await as_admin(
        sessions, clock, lambda people, admin: people.invite_observer(admin, world.point_id)
    )
    clock.advance(days=7, seconds=1)
    stan = tg.person(STRANGER, "Stan", "en")
    [expired] = await stan.send(f"/start {invite.code}")
    assert expired.plain.startswith(
        "This invite link has expired. Please ask the district office for a new one."
    )
    assert [text for text, _ in expired.buttons()] == [APPLY]
    [zh_expired] = await tg.person(OTHER, "Olga", "zh-hans").send(f"/start {invite.code}")
    assert zh_expired.plain.startswith("该邀请链接已过期，请向依法治区办重新索取。")
    assert [text for text, _ in zh_expired.buttons()] == ["📝 申请成为法治观察员"]

    for forged in ("NoSuchCode123", "bad!code", "x" * 65):
        [refused] = await stan.send(f"/start {forged}")
        assert refused.plain.startswith(
            "This invite link is not valid. Please ask the district office for a new one."
        )
    [zh_forged] = await tg.person(OTHER, "Olga", "zh-hans").send("/start 伪造")
    assert zh_forged.plain.startswith("该邀请链接无效，请向依法治区办重新索取。")
    assert "您也可以申请成为法治观察员" in zh_forged.plain
    assert await observer_of(sessions, STRANGER) is None
    assert await observer_of(sessions, OTHER) is None

    # The refused link left the Apply button, and it works.
    name_q = last(await stan.press(APPLY, message=expired))
    assert "1/6" in name_q.plain


async def test_a_refused_redemption_leaves_nothing_behind(
    tg: Telegram, sessions: Sessions, clock: FixedClock, world: World
) -> None:
    """The service refuses an invite for a dismissed observer on file only after it has
    attached the account: the refusal must not keep that half-change."""

    async def nominate_invite_dismiss(people: PeopleService, admin: Actor) -> str:
        on_file = await people.add_observer(
            admin, name="Nominee", category=ObserverCategory.LAWYER, point_id=world.point_id
        )
        invite = await people.invite_observer(admin, world.point_id, observer_id=on_file.id)
        await people.dismiss(admin, on_file.id)
        return invite.code

    code = await as_admin(sessions, clock, nominate_invite_dismiss)
    stan = tg.person(STRANGER, "Stan", "en")
    [refused] = await stan.send(f"/start {code}")
    assert refused.plain.startswith("This invite link is not valid.")
    assert await observer_of(sessions, STRANGER) is None
    assert await outbox(sessions, "observer.appointed") == []
