"""Application cards in the admin group, through the real Dispatcher: posted by the
outbox, approved (at the desired point or another), rejected with a reason asked by a
force-reply prompt, cancelled halfway, pressed twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from aiogram.types import ForceReply, ReplyKeyboardMarkup
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.statuses import ApplicationStatus, ObserverCategory, ObserverStatus
from bot.services.people import PeopleService
from storage.models import Application, Card, Observer, OutboxMessage
from storage.store import Store
from tests.handlers.conftest import make_settings, new_telegram
from tests.handlers.test_onboarding import SEND, conversation, to_summary
from tests.telegram import Person, Sent, Telegram
from tests.world import ADMIN, ALICE, POLICY, STRANGER, FixedClock, World

Sessions = async_sessionmaker[AsyncSession]
GROUP = -100500
APPROVE, ELSEWHERE, REJECT = "✅ Approve", "📍 Approve at another point", "⛔ Reject"
CANCEL = "✖️ Cancel rejection"
PHONE = "☎️ Show phone number"


@pytest.fixture
async def tg(sessions: Sessions, world: World, clock: FixedClock) -> AsyncIterator[Telegram]:
    tg = new_telegram(sessions, clock, settings=make_settings(default_locale="en"))
    yield tg
    await tg.bot.session.close()
    assert tg.session.problems == []


async def apply(
    sessions: Sessions, clock: FixedClock, point_id: int | None, name: str = "Stan <Lee>"
) -> int:
    async with sessions() as session, session.begin():
        people = PeopleService(Store(session), POLICY, clock)
        application = await people.apply(
            STRANGER,
            name=name,
            phone="+86 138 0000 5555",
            category=ObserverCategory.LAWYER,
            recommending_unit="Chamber & Co",
            desired_point_id=point_id,
            resume="Ten years of <b>practice</b>",
        )
        return application.id


async def application(sessions: Sessions, application_id: int) -> Application:
    async with sessions() as session:
        row = await session.get(Application, application_id)
        assert row is not None
        return row


async def observers_of(sessions: Sessions, user_id: int) -> list[Observer]:
    async with sessions() as session:
        return list(await session.scalars(sa.select(Observer).where(Observer.user_id == user_id)))


async def outbox(sessions: Sessions, kind: str) -> list[OutboxMessage]:
    async with sessions() as session:
        return list(
            await session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == kind))
        )


def labels(sent: Sent) -> list[str]:
    return [text for text, _ in sent.buttons()]


def card_of(tg: Telegram) -> Sent:
    [card] = [s for s in tg.chat(GROUP) if s.plain.startswith("📝 Application #")]
    return card


def admins(tg: Telegram) -> tuple[Person, Person]:
    return (
        # Toasts and alerts are in the admin's own language.
        tg.member(ADMIN, "Ada", GROUP, "administrator", language_code="en"),
        tg.member(9002, "Bo", GROUP, "administrator", language_code="en"),
    )


async def test_card_posted_and_approved_at_the_desired_point(
    tg: Telegram, sessions: Sessions, clock: FixedClock, world: World
) -> None:
    app_id = await apply(sessions, clock, world.point_id)
    await tg.drain()
    card = card_of(tg)
    lines = card.plain.splitlines()
    assert lines[0] == f"📝 Application #{app_id} to become an observer · 🟡 Awaiting a decision"
    # No phone number where the whole group reads it (☎️ shows it to an admin).
    assert lines[1:6] == [
        "Name: Stan <Lee>",
        "Recommending unit: Chamber & Co",
        "Category: Lawyer",
        "Desired point: P01 · 城区便民服务中心",
        lines[5],
    ]
    assert lines[5].startswith("Applied: 20")
    assert lines[6:] == ["Résumé:", "Ten years of <b>practice</b>"]
    assert "Stan &lt;Lee&gt;" in card.text
    assert labels(card) == [APPROVE, ELSEWHERE, REJECT, PHONE]
    async with sessions() as session:
        [row] = await session.scalars(sa.select(Card).where(Card.subject == "application"))
        assert (row.subject_id, row.message_id, row.current) == (app_id, card.message_id, True)

    # The sender delivering the same row again changes nothing.
    await tg.drain()
    assert len([s for s in tg.chat(GROUP) if s.plain.startswith("📝")]) == 1

    ada, _bo = admins(tg)
    await ada.press(APPROVE)
    assert card.edited
    assert card.buttons() == []
    [observer] = await observers_of(sessions, STRANGER)
    assert card.plain.splitlines()[-1] == (
        f"Approved by Ada, 2026-03-02 09:00: observer #{observer.id} at P01 · 城区便民服务中心."
    )
    assert tg.session.alerts[-1][1] == (
        f"Approved: Stan <Lee> is now observer #{observer.id} at P01 · 城区便民服务中心."
    )
    row_app = await application(sessions, app_id)
    assert (row_app.status, row_app.decided_by, row_app.observer_id) == (
        ApplicationStatus.APPROVED,
        ADMIN,
        observer.id,
    )
    assert (observer.status, observer.point_id, observer.name) == (
        ObserverStatus.APPOINTED,
        world.point_id,
        "Stan <Lee>",
    )
    [notice] = await outbox(sessions, "application.approved")
    assert notice.chat_id == STRANGER
    await tg.drain()
    told = tg.chat(STRANGER)[-1]
    assert "城区便民服务中心" in told.plain
    assert "观察员" in told.plain or "observer" in told.plain


async def test_applied_in_telegram_and_approved_at_another_point(
    tg: Telegram, sessions: Sessions, world: World
) -> None:
    stan = tg.person(STRANGER, "Stan", "en")
    await to_summary(stan)  # no preferred point
    await stan.press(SEND)
    await tg.drain()
    card = card_of(tg)
    assert "Desired point: No preference" in card.plain
    assert labels(card) == [ELSEWHERE, REJECT, PHONE]  # nowhere to approve "at the desired point"

    ada, _bo = admins(tg)
    await ada.press(ELSEWHERE)
    assert labels(card) == ["P01 · 城区便民服务中心", "P02 · Chamber of Commerce", "⬅️ Back"]
    await ada.press("⬅️ Back")
    assert labels(card) == [ELSEWHERE, REJECT, PHONE]
    await ada.press(ELSEWHERE)
    await ada.press("P02 · Chamber of Commerce")
    assert card.buttons() == []
    assert "observer #" in card.plain
    assert "at P02 · Chamber of Commerce." in card.plain
    [observer] = await observers_of(sessions, STRANGER)
    assert (observer.status, observer.point_id) == (ObserverStatus.APPOINTED, world.other_point_id)
    await tg.drain()
    assert tg.chat(STRANGER)[-1].plain.startswith(
        "🎉 Your application has been approved. You are now a rule-of-law observer at "
        "Chamber of Commerce"
    )


async def test_rejected_with_a_reason_by_reply_to_the_prompt(
    tg: Telegram, sessions: Sessions, clock: FixedClock, world: World
) -> None:
    app_id = await apply(sessions, clock, world.point_id)
    await tg.drain()
    card = card_of(tg)
    ada, bo = admins(tg)
    [prompt] = [s for s in await ada.press(REJECT) if s is not card]
    assert prompt.plain == (
        f"Ada, why is application #{app_id} (Stan <Lee>) rejected? Reply to this message "
        "with the reason; the applicant will read it. Send /cancel to stop."
    )
    assert f'<a href="tg://user?id={ADMIN}">Ada</a>' in prompt.text
    assert isinstance(prompt.markup, ForceReply)
    assert prompt.markup.selective
    assert labels(card) == [APPROVE, ELSEWHERE, REJECT, CANCEL, PHONE]

    # Someone else's reply and a too long text are not taken, and say why.
    [told] = await bo.reply(prompt, "Because")
    assert told.plain == (
        "That prompt is for Ada, so your reply was not taken. To make this move yourself, "
        "press the button on the application's card."
    )
    [again] = await ada.reply(prompt, "x" * 1501)
    assert again.plain == (
        "⚠️ That text is too long: at most 1500 characters, please.\n\n" + prompt.plain
    )
    assert isinstance(again.markup, ForceReply)
    assert (await application(sessions, app_id)).status is ApplicationStatus.PENDING

    done = await ada.reply(prompt, "Not enough <experience> yet")
    assert done[-1].plain == (
        f"⛔ Application #{app_id} (Stan <Lee>) is rejected; the applicant will be told."
    )
    assert card.buttons() == []
    assert card.plain.splitlines()[-2:] == [
        "Rejected by Ada, 2026-03-02 09:00.",
        "Reason: Not enough <experience> yet",
    ]
    row = await application(sessions, app_id)
    assert (row.status, row.reason, row.decided_by) == (
        ApplicationStatus.REJECTED,
        "Not enough <experience> yet",
        ADMIN,
    )
    assert await observers_of(sessions, STRANGER) == []
    [notice] = await outbox(sessions, "application.rejected")
    assert notice.payload == {"reason": "Not enough <experience> yet"}
    await tg.drain()
    told = tg.chat(STRANGER)[-1]
    assert "Not enough <experience> yet" in told.plain

    # The prompt answered again decides nothing, and says so.
    [told] = await ada.reply(prompt, "Again")
    assert told.plain.startswith("That prompt is closed (its move was finished, cancelled")
    assert again not in tg.chat(GROUP)


async def test_a_rejection_cancelled_halfway_changes_nothing(
    tg: Telegram, sessions: Sessions, clock: FixedClock, world: World
) -> None:
    app_id = await apply(sessions, clock, world.point_id)
    await tg.drain()
    card = card_of(tg)
    ada, bo = admins(tg)
    await ada.press(REJECT)
    await bo.press(CANCEL, message=card)
    assert tg.session.alerts[-1][1:] == (
        "You have no rejection in progress for this application.",
        True,
    )
    await ada.press(CANCEL, message=card)
    assert tg.session.alerts[-1][1] == "Rejection cancelled. Nothing was changed."
    assert labels(card) == [APPROVE, ELSEWHERE, REJECT, PHONE]

    [prompt] = [s for s in await ada.press(REJECT, message=card) if s is not card]
    said = await ada.send("/cancel")
    assert said[-1].plain == "Rejection cancelled. Nothing was changed."
    assert labels(card) == [APPROVE, ELSEWHERE, REJECT, PHONE]
    [told] = await ada.reply(prompt, "Too late")
    assert "Press the button on the application's card to start again." in told.plain
    assert prompt not in tg.chat(GROUP)

    row = await application(sessions, app_id)
    assert (row.status, row.reason, row.decided_by) == (ApplicationStatus.PENDING, None, None)
    assert await outbox(sessions, "application.rejected") == []


async def test_a_stale_prompt_and_a_stale_button_answer_with_the_decision(
    tg: Telegram, sessions: Sessions, clock: FixedClock, world: World
) -> None:
    app_id = await apply(sessions, clock, world.point_id)
    await tg.drain()
    card = card_of(tg)
    old_approve = next(data for text, data in card.buttons() if text == APPROVE)
    ada, bo = admins(tg)
    [prompt] = [s for s in await ada.press(REJECT) if s is not card]
    await bo.press(APPROVE, message=card)
    assert card.buttons() == []

    [said] = await ada.reply(prompt, "No")
    assert said.plain == (
        f"Application #{app_id} (Stan <Lee>) was already decided: Approved. "
        "Your reason was not used."
    )
    assert await ada.callback(old_approve, message=card) == []
    assert tg.session.alerts[-1][1:] == (
        f"Application #{app_id} (Stan <Lee>) was already decided: Approved.",
        True,
    )
    row = await application(sessions, app_id)
    assert (row.status, row.decided_by, row.reason) == (ApplicationStatus.APPROVED, 9002, None)
    assert len(await observers_of(sessions, STRANGER)) == 1
    assert len(await outbox(sessions, "application.approved")) == 1
    assert await outbox(sessions, "application.rejected") == []


async def test_two_admins_press_at_once_one_wins(
    tg: Telegram, sessions: Sessions, clock: FixedClock, world: World
) -> None:
    app_id = await apply(sessions, clock, world.point_id)
    await tg.drain()
    card = card_of(tg)
    data = next(d for text, d in card.buttons() if text == APPROVE)
    ada, bo = admins(tg)
    await asyncio.gather(ada.callback(data, message=card), bo.callback(data, message=card))
    answers = [text for _, text, _ in tg.session.alerts[-2:]]
    assert sum(str(t).startswith("Approved: Stan") for t in answers) == 1
    assert sum("was already decided: Approved" in str(t) for t in answers) == 1
    assert card.buttons() == []
    row = await application(sessions, app_id)
    assert row.status is ApplicationStatus.APPROVED
    assert len(await observers_of(sessions, STRANGER)) == 1
    assert len(await outbox(sessions, "application.approved")) == 1


async def test_non_admins_cannot_decide(
    tg: Telegram, sessions: Sessions, clock: FixedClock, world: World
) -> None:
    app_id = await apply(sessions, clock, world.point_id)
    await tg.drain()
    card = card_of(tg)
    nina = tg.member(9003, "Nina", GROUP, "member", language_code="en")
    await nina.press(APPROVE, message=card)
    assert tg.session.alerts[-1][1:] == (
        "Only this office's admins can do this. Nothing was changed.",
        True,
    )
    await nina.press(REJECT, message=card)
    assert labels(card) == [APPROVE, ELSEWHERE, REJECT, PHONE]
    # An observer forging the button in a private chat gets nowhere either.
    alice = tg.person(ALICE, "Alice", "en")
    await alice.send("/start")
    data = next(d for text, d in card.buttons() if text == APPROVE)
    await alice.callback(data)
    row = await application(sessions, app_id)
    assert (row.status, row.decided_by) == (ApplicationStatus.PENDING, None)
    assert await observers_of(sessions, STRANGER) == []
    assert await outbox(sessions, "application.approved") == []


# ---- the new observer's menu (issue 19, point 17) ---------------------------------------

MENU = ["📝 New suggestion", "📋 My suggestions", "❓ Help"]


async def test_the_approved_applicant_is_welcomed_with_the_observers_menu(
    tg: Telegram, sessions: Sessions, world: World
) -> None:
    stan = tg.person(STRANGER, "Stan", "en")
    await to_summary(stan)
    [*_, sent] = await stan.press(SEND)
    assert sent.keys() == ["📄 My application", "❓ Help"]  # the applicant's, while waiting
    await tg.drain()
    ada, _bo = admins(tg)
    await ada.press(ELSEWHERE, message=card_of(tg))
    await ada.press("P02 · Chamber of Commerce", message=card_of(tg))
    await tg.drain()

    welcome = tg.chat(STRANGER)[-1]
    assert welcome.plain == (
        "🎉 Your application has been approved. You are now a rule-of-law observer at "
        "Chamber of Commerce (P02).\n\n"
        "Your menu is now under the text box: 📝 New suggestion files what you collect, "
        "📋 My suggestions follows it."
    )
    assert "/start" not in welcome.plain
    assert isinstance(welcome.markup, ReplyKeyboardMarkup)
    assert welcome.markup.is_persistent
    assert welcome.keys() == MENU

    # The menu works at once, without /start.
    [domain_q] = await stan.send("📝 New suggestion")
    assert "step 1 of 6" in domain_q.plain
    assert "Choose the focus domain" in domain_q.plain
    assert (await conversation(tg, STRANGER))[0] == "Filing:domain"
    await stan.press("✖️ Cancel", message=domain_q)
    [mine] = await stan.send("📋 My suggestions")
    assert mine.plain.startswith("You have not filed anything yet.")


async def test_the_welcome_menu_speaks_the_applicants_language(
    tg: Telegram, sessions: Sessions, clock: FixedClock, world: World
) -> None:
    wang = tg.person(STRANGER, "王", "zh-hans")
    await wang.send("/start")  # the bot knows whom it speaks to
    app_id = await apply(sessions, clock, world.point_id, name="王伟")
    await tg.drain()
    ada, _bo = admins(tg)
    await ada.press(APPROVE, message=card_of(tg))
    await tg.drain()

    welcome = tg.chat(STRANGER)[-1]
    assert welcome.plain.startswith("🎉 ")
    assert welcome.plain.endswith(
        "菜单已显示在输入框下方：点击📝 提交建议提交您收集的情况，点击📋 我的建议跟踪办理进度。"
    )
    assert welcome.keys() == ["📝 提交建议", "📋 我的建议", "❓ 帮助"]
    [domain_q] = await wang.send("📝 提交建议")
    assert "涉及哪方面工作？请选择关注领域。" in domain_q.plain
    assert (await conversation(tg, STRANGER))[0] == "Filing:domain"
    assert (await application(sessions, app_id)).status is ApplicationStatus.APPROVED
