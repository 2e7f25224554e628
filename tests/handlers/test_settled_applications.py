"""An application is settled when its person becomes an observer another way (issue 19,
point 7), through the real Dispatcher: joined by an invite link, appointed by the
office, another application approved, or found an observer already when the office
decides. The application is marked so in the same transaction, its card in the group
loses its buttons and says how and where the person joined, and pressing an old
Approve (or answering an old rejection prompt) moves nobody and welcomes nobody twice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery.sender import OutboxSender
from bot.dispatcher import policy_of
from bot.domain.notices import Notice
from bot.domain.statuses import ApplicationStatus, ObserverCategory, ObserverStatus
from bot.i18n import build_i18n
from bot.services import notify
from bot.services.actors import Actor
from bot.services.people import PeopleService
from storage.models import Application, Card, Observer, OutboxMessage
from storage.store import Store
from tests.handlers.conftest import make_settings, new_telegram
from tests.handlers.test_onboarding import as_admin, conversation
from tests.telegram import Person, Sent, Telegram
from tests.world import ADMIN, ALICE, STRANGER, FixedClock, World

Sessions = async_sessionmaker[AsyncSession]
Row = TypeVar("Row", Application, Card, Observer, OutboxMessage)
GROUP = -100500
APPROVE, REJECT = "✅ Approve", "⛔ Reject"
SETTLED = "☑️ Joined already: no decision needed"


@pytest.fixture
async def tg(sessions: Sessions, world: World, clock: FixedClock) -> AsyncIterator[Telegram]:
    tg = new_telegram(sessions, clock, settings=make_settings(default_locale="en"))
    yield tg
    await tg.bot.session.close()
    assert tg.session.problems == []


def admins(tg: Telegram) -> tuple[Person, Person]:
    return (
        tg.member(ADMIN, "Ada", GROUP, "administrator", language_code="en"),
        tg.member(9002, "Bo", GROUP, "administrator", language_code="en"),
    )


async def resync(tg: Telegram, sessions: Sessions, clock: FixedClock) -> None:
    """What the outbox sender does every second: cards marked for a re-sync redrawn."""
    settings = make_settings(default_locale="en")
    sender = OutboxSender(
        tg.bot, sessions, settings=settings, i18n=build_i18n("en"),
        policy=policy_of(settings), clock=clock,
    )  # fmt: skip
    await sender.resync_cards()


async def applied_in_telegram(stan: Person) -> None:
    """Stan applies for P01 (城区便民服务中心), answering every question."""
    await stan.send("/apply")
    await stan.send("Stan Lee")
    await stan.send("13800005555")
    await stan.send("Law firm")
    await stan.press("Lawyer")
    await stan.press("城区便民服务中心")
    await stan.press("Skip")
    await stan.press("✅ Send application")


def cards(tg: Telegram) -> list[Sent]:
    return [s for s in tg.chat(GROUP) if s.plain.startswith("📝 Application #")]


def data_of(card: Sent, label: str) -> str:
    return next(data for text, data in card.buttons() if text == label)


async def rows(sessions: Sessions, model: type[Row], *where: Any) -> list[Row]:
    async with sessions() as session:
        stmt = sa.select(model).where(*where).order_by(model.id)
        return list(await session.scalars(stmt))


async def add_pending(sessions: Sessions, clock: FixedClock, user_id: int, name: str) -> int:
    """An application left pending from before applications were settled (or by a
    race), written as the database would hold it, with its card to be posted."""
    async with sessions() as session, session.begin():
        row = Application(
            user_id=user_id,
            name=name,
            phone="13800000009",
            category=ObserverCategory.OTHER,
            status=ApplicationStatus.PENDING,
            created_at=clock(),
        )
        session.add(row)
        await session.flush()
        new = {"application_id": row.id}
        await notify.to_admins(Store(session), Notice.APPLICATION_NEW, new, at=clock())
        return row.id


async def test_joining_by_invite_settles_the_application_and_its_card(
    tg: Telegram, sessions: Sessions, clock: FixedClock, world: World
) -> None:
    stan = tg.person(STRANGER, "Stan", "en")
    await applied_in_telegram(stan)
    await tg.drain()
    [card] = cards(tg)
    old_approve = data_of(card, APPROVE)
    ada, bo = admins(tg)
    # Bo starts rejecting it; meanwhile the office sends Stan an invite to P02.
    [prompt] = [s for s in await bo.press(REJECT, message=card) if s is not card]
    invite = await as_admin(
        sessions,
        clock,
        lambda people, admin: people.invite_observer(admin, world.other_point_id),
    )
    clock.advance(minutes=5)
    [welcome] = await stan.send(f"/start {invite.code}")
    assert welcome.plain.startswith(
        "Welcome, Stan! You are now an observer at Chamber of Commerce."
    )

    # Settled in the same transaction as the redemption.
    [observer] = await rows(sessions, Observer, Observer.user_id == STRANGER)
    [application] = await rows(sessions, Application, Application.user_id == STRANGER)
    assert (observer.status, observer.point_id) == (ObserverStatus.APPOINTED, world.other_point_id)
    # On file with what they told the office when applying.
    assert (observer.name, observer.phone, observer.category, observer.recommending_unit) == (
        "Stan Lee",
        "13800005555",
        ObserverCategory.LAWYER,
        "Law firm",
    )
    assert (application.status, application.reason, application.observer_id) == (
        ApplicationStatus.SETTLED,
        "invite",
        observer.id,
    )
    assert application.decided_by is None
    assert application.decided_at is not None
    [mark] = await rows(sessions, Card, Card.subject == "application")
    assert mark.resync_at is not None  # the sender redraws it, in the group's language

    await resync(tg, sessions, clock)
    assert card.buttons() == []
    lines = card.plain.splitlines()
    assert lines[0] == f"📝 Application #{application.id} to become an observer · {SETTLED}"
    assert lines[-1] == (
        f"Joined by an invite link, 2026-03-02 09:05: observer #{observer.id} at "
        "P02 · Chamber of Commerce. This application needs no decision."
    )

    # The old Approve moves nobody and welcomes nobody; the admin is told why.
    assert await ada.callback(old_approve, message=card) == []
    assert tg.session.alerts[-1][1:] == (
        f"Application #{application.id} (Stan Lee) needs no decision: they are observer "
        f"#{observer.id} at P02 · Chamber of Commerce already. Nothing was changed.",
        True,
    )
    # So is Bo's reason, given after the person joined.
    [said] = await bo.reply(prompt, "No experience")
    assert said.plain == (
        f"Application #{application.id} (Stan Lee) needs no decision: they are observer "
        f"#{observer.id} at P02 · Chamber of Commerce already. Nothing was changed. "
        "Your reason was not used."
    )
    [observer] = await rows(sessions, Observer, Observer.user_id == STRANGER)
    assert observer.point_id == world.other_point_id
    [application] = await rows(sessions, Application, Application.user_id == STRANGER)
    assert application.status is ApplicationStatus.SETTLED
    kinds = [r.kind for r in await rows(sessions, OutboxMessage, OutboxMessage.chat_id == STRANGER)]
    assert kinds == []  # the welcome was the redemption's own answer; nothing else to say

    await tg.drain()
    welcomes = [s for s in stan.chat if "You are now" in s.plain or "approved" in s.plain]
    assert welcomes == [welcome]
    assert tg.chat(GROUP)[-1].plain == (
        f"🎉 Stan Lee is now an observer at Chamber of Commerce (observer #{observer.id})."
    )


async def test_an_applicant_found_an_observer_already_is_not_moved(
    tg: Telegram, sessions: Sessions, clock: FixedClock, world: World
) -> None:
    """An application pending from before settling existed, of someone who joined."""
    app_id = await add_pending(sessions, clock, ALICE, "Alice")
    await tg.drain()
    [card] = cards(tg)
    ada, _bo = admins(tg)
    # Approving "at another point" is as refused as approving at the desired one.
    await ada.press("📍 Approve at another point", message=card)
    await ada.press("P02 · Chamber of Commerce", message=card)
    assert tg.session.alerts[-1][1:] == (
        f"Application #{app_id} (Alice) needs no decision: they are observer "
        f"#{world.alice_observer_id} at P01 · 城区便民服务中心 already. Nothing was changed.",
        True,
    )
    assert card.buttons() == []
    assert card.plain.splitlines()[-1] == (
        f"Already an observer when Ada came to decide, 2026-03-02 09:00: observer "
        f"#{world.alice_observer_id} at P01 · 城区便民服务中心. This application needs no "
        "decision."
    )
    [alice] = await rows(sessions, Observer, Observer.user_id == ALICE)
    assert alice.point_id == world.point_id
    [application] = await rows(sessions, Application, Application.id == app_id)
    assert (application.status, application.reason, application.decided_by) == (
        ApplicationStatus.SETTLED,
        "before",
        ADMIN,
    )
    assert await rows(sessions, OutboxMessage, OutboxMessage.kind == "application.approved") == []


async def test_approving_one_application_settles_the_others(
    tg: Telegram, sessions: Sessions, clock: FixedClock, world: World
) -> None:
    first = await add_pending(sessions, clock, STRANGER, "Stan")
    second = await add_pending(sessions, clock, STRANGER, "Stan L.")
    await tg.drain()
    one, other = cards(tg)
    ada, _bo = admins(tg)
    await ada.press("📍 Approve at another point", message=one)
    await ada.press("P01 · 城区便民服务中心", message=one)
    [observer] = await rows(sessions, Observer, Observer.user_id == STRANGER)
    settled = await rows(sessions, Application, Application.user_id == STRANGER)
    assert [(a.id, a.status, a.reason) for a in settled] == [
        (first, ApplicationStatus.APPROVED, None),
        (second, ApplicationStatus.SETTLED, "approval"),
    ]
    await resync(tg, sessions, clock)
    assert other.buttons() == []
    assert other.plain.splitlines()[-1] == (
        f"Joined when another application was approved, 2026-03-02 09:00: observer "
        f"#{observer.id} at P01 · 城区便民服务中心. This application needs no decision."
    )
    await tg.drain()
    approved = await rows(sessions, OutboxMessage, OutboxMessage.kind == "application.approved")
    assert len(approved) == 1


async def test_an_appointment_by_the_office_settles_the_application(
    tg: Telegram, sessions: Sessions, clock: FixedClock, world: World
) -> None:
    app_id = await add_pending(sessions, clock, STRANGER, "Stan")
    async with sessions() as session, session.begin():
        on_file = Observer(
            name="Stan",
            category=ObserverCategory.OTHER,
            status=ObserverStatus.NOMINATED,
            user_id=STRANGER,
            point_id=world.other_point_id,
        )
        session.add(on_file)
        await session.flush()
        observer_id = on_file.id
    await tg.drain()
    [card] = cards(tg)

    async def appoint(people: PeopleService, admin: Actor) -> object:
        return await people.appoint(admin, observer_id)

    await as_admin(sessions, clock, appoint)
    [application] = await rows(sessions, Application, Application.id == app_id)
    assert (application.status, application.reason, application.observer_id) == (
        ApplicationStatus.SETTLED,
        "appointment",
        observer_id,
    )
    await resync(tg, sessions, clock)
    assert card.buttons() == []
    assert card.plain.splitlines()[-1] == (
        f"Appointed by the office, 2026-03-02 09:00: observer #{observer_id} at "
        "P02 · Chamber of Commerce. This application needs no decision."
    )
    ada, _bo = admins(tg)
    await ada.callback(f"ad:ok:{app_id}:1:0", message=card)
    assert "needs no decision" in str(tg.session.alerts[-1][1])
    [observer] = await rows(sessions, Observer, Observer.id == observer_id)
    assert observer.point_id == world.other_point_id


# ---- the new observer's menu, however they joined (issue 19, point 17) ------------------

MENU = ["📝 New suggestion", "📋 My suggestions", "❓ Help"]


async def test_an_applicant_joining_by_invite_gets_the_observers_menu_at_once(
    tg: Telegram, sessions: Sessions, clock: FixedClock, world: World
) -> None:
    stan = tg.person(STRANGER, "Stan", "en")
    await applied_in_telegram(stan)
    assert stan.last.keys() == ["📄 My application", "❓ Help"]
    invite = await as_admin(
        sessions, clock, lambda people, admin: people.invite_observer(admin, world.point_id)
    )
    [welcome] = await stan.send(f"/start {invite.code}")
    assert welcome.plain.startswith("Welcome, Stan! You are now an observer at 城区便民服务中心.")
    assert welcome.keys() == MENU  # in place of the applicant's menu

    [domain_q] = await stan.send("📝 New suggestion")
    assert "step 1 of 6" in domain_q.plain
    assert (await conversation(tg, STRANGER))[0] == "Filing:domain"
    # The applicant's old button, should they still see it, hands the menu over too.
    await stan.send("/cancel")
    [joined] = await stan.send("📄 My application")
    assert joined.keys() == MENU


async def test_an_appointment_by_the_office_is_welcomed_with_the_observers_menu(
    tg: Telegram, sessions: Sessions, clock: FixedClock, world: World
) -> None:
    stan = tg.person(STRANGER, "Stan", "en")
    await applied_in_telegram(stan)
    async with sessions() as session, session.begin():
        on_file = Observer(
            name="Stan Lee",
            category=ObserverCategory.OTHER,
            status=ObserverStatus.NOMINATED,
            user_id=STRANGER,
            point_id=world.other_point_id,
        )
        session.add(on_file)
        await session.flush()
        observer_id = on_file.id

    async def appoint(people: PeopleService, admin: Actor) -> object:
        return await people.appoint(admin, observer_id)

    await as_admin(sessions, clock, appoint)
    await tg.drain()
    welcome = stan.last
    assert welcome.plain == (
        "🎉 You have been appointed a rule-of-law observer at Chamber of Commerce (P02).\n\n"
        "Your menu is now under the text box: 📝 New suggestion files what you collect, "
        "📋 My suggestions follows it."
    )
    assert welcome.keys() == MENU
    [domain_q] = await stan.send("📝 New suggestion")
    assert "step 1 of 6" in domain_q.plain
    assert (await conversation(tg, STRANGER))[0] == "Filing:domain"
