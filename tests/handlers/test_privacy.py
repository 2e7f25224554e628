"""Personal data through the real Dispatcher: phone numbers only on an admin's request
(and recorded), the group told how many of its members are not admins, anonymous
admins' moves refused, observers anonymised (asked or removed), applications erased,
and what /observer and the export show of it all."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import openpyxl
import pytest
import sqlalchemy as sa
from aiogram.methods import GetChatMemberCount
from aiogram.types import Chat, User
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery.sender import OutboxSender
from bot.dispatcher import policy_of
from bot.domain.statuses import ApplicationStatus, ObserverStatus
from bot.domain.statuses import SuggestionStatus as S
from bot.i18n import build_i18n
from bot.runtime.scheduler import Scheduler
from handlers.privacy import ANONYMOUS_ADMIN, group_census
from storage.models import (
    Application,
    Observer,
    PrivacyRecord,
    ProcessedUpdate,
    Suggestion,
    TelegramUser,
)
from tests.handlers.conftest import make_settings, new_telegram
from tests.handlers.test_admission import apply, card_of
from tests.handlers.test_deciding import admin, card, filed, item
from tests.telegram import Person, Telegram
from tests.world import ADMIN, ALICE, LIAISON, POLICY, STRANGER, FixedClock, World

Sessions = async_sessionmaker[AsyncSession]
GROUP = -100500
NINA = 9003
PHONE = "☎️ Show phone number"
APPLICANT_PHONE = "+86 138 0000 5555"
ALICE_PHONE = "13800000001"
ONLY_ADMINS = "Only this office's admins can see phone numbers."


@pytest.fixture
async def tg(sessions: Sessions, world: World, clock: FixedClock) -> AsyncIterator[Telegram]:
    tg = new_telegram(sessions, clock, settings=make_settings(default_locale="en"))
    yield tg
    await tg.bot.session.close()
    assert tg.session.problems == []


def nina(tg: Telegram) -> Person:
    """A member of the office's group who is not an admin."""
    return tg.member(NINA, "Nina", GROUP, "member", language_code="en")


async def resync(tg: Telegram, sessions: Sessions, clock: FixedClock) -> None:
    """What the outbox sender does now and then: cards marked for a re-sync redrawn."""
    settings = make_settings(default_locale="en")
    sender = OutboxSender(
        tg.bot, sessions, settings=settings, i18n=build_i18n("en"),
        policy=policy_of(settings), clock=clock,
    )  # fmt: skip
    await sender.resync_cards()


def last_alert(tg: Telegram) -> tuple[str | None, bool]:
    _id, text, alert = tg.session.alerts[-1]
    return text, alert


async def log(sessions: Sessions) -> list[tuple[str, str, int, int | None, dict[str, object]]]:
    async with sessions() as session:
        rows = await session.scalars(sa.select(PrivacyRecord).order_by(PrivacyRecord.id))
        return [(r.action, r.subject, r.subject_id, r.actor_user_id, r.payload) for r in rows]


async def observer(sessions: Sessions, observer_id: int) -> Observer:
    async with sessions() as session:
        row = await session.get(Observer, observer_id)
        assert row is not None
        return row


# ---- phone numbers ------------------------------------------------------------------------


async def test_an_application_card_shows_the_phone_number_to_an_admin_who_asks(
    tg: Telegram, sessions: Sessions, clock: FixedClock, world: World
) -> None:
    app_id = await apply(sessions, clock, world.point_id)
    await tg.drain()
    application_card = card_of(tg)
    assert APPLICANT_PHONE not in application_card.plain
    assert "Phone" not in application_card.plain
    assert [t for t, _ in application_card.buttons()][-1] == PHONE

    # A member who is not an admin is refused, and nothing is recorded.
    await nina(tg).press(PHONE)
    assert last_alert(tg) == (ONLY_ADMINS, True)
    # A liaison in the group neither.
    await tg.member(LIAISON, "Li", GROUP, "member", language_code="en").press(PHONE)
    assert last_alert(tg) == (ONLY_ADMINS, True)
    assert await log(sessions) == []

    said = len(tg.chat(GROUP))
    await admin(tg).press(PHONE)
    text, alert = last_alert(tg)
    assert alert
    assert text == (
        f"☎️ Stan <Lee> (application #{app_id}): {APPLICANT_PHONE}\n"
        "For you only; the office's log records that you looked."
    )
    assert len(tg.chat(GROUP)) == said  # nothing posted where everyone reads it
    assert APPLICANT_PHONE not in application_card.plain
    assert await log(sessions) == [("phone_shown", "application", app_id, ADMIN, {})]


async def test_observer_phone_numbers_are_on_no_card_and_shown_on_request(
    tg: Telegram, sessions: Sessions, clock: FixedClock, world: World
) -> None:
    await filed(tg, sessions, clock)
    item_card = card(tg)
    assert ALICE_PHONE not in item_card.plain
    assert f"Observer: Alice #{world.alice_observer_id} · 📍 城区便民服务中心" in item_card.plain

    ada = admin(tg)
    [shown] = await ada.send(f"/observer {world.alice_observer_id}")
    assert ALICE_PHONE not in shown.plain
    assert "Phone: on file, shown by ☎️ below" in shown.plain
    assert "Personal data held: name · phone number · Telegram account" in shown.plain
    assert [t for t, _ in shown.buttons()] == [PHONE, "🗑 Remove and anonymise"]

    await nina(tg).press(PHONE, message=shown)
    assert last_alert(tg) == (ONLY_ADMINS, True)
    await ada.press(PHONE, message=shown)
    assert last_alert(tg) == (
        f"☎️ Alice (observer #{world.alice_observer_id}): {ALICE_PHONE}\n"
        "For you only; the office's log records that you looked.",
        True,
    )
    assert await log(sessions) == [("phone_shown", "observer", world.alice_observer_id, ADMIN, {})]

    # Bob has no number on file: no button, nothing to record.
    [bob] = await ada.send(f"/observer {world.bob_observer_id}")
    assert "Phone: —" in bob.plain
    assert "Personal data held: name · Telegram account" in bob.plain
    assert [t for t, _ in bob.buttons()] == ["🗑 Remove and anonymise"]


# ---- who reads the group --------------------------------------------------------------------


def counted(tg: Telegram) -> int:
    return len([r for r in tg.session.requests if isinstance(r, GetChatMemberCount)])


async def test_help_tells_an_admin_how_many_members_are_not_admins(
    tg: Telegram, sessions: Sessions
) -> None:
    ada = admin(tg)
    nina(tg)
    tg.session.unnamed_members[GROUP] = 2  # people the bot never heard from
    warning = (
        "⚠️ Members of this group who are not its admins: 3. They see everything the group "
        "shows — cards, applicants' and observers' names, what liaisons' own cards leave "
        "out. Check the member list and remove whoever should not read the office's work."
    )
    [reply] = await ada.send("/help")
    assert "/queue" in reply.plain
    assert reply.plain.endswith(warning)
    # Said on every /help, noted once.
    [again] = await ada.send("/help")
    assert again.plain.endswith(warning)
    assert await log(sessions) == [("outsiders", "chat", GROUP, None, {"count": 3})]

    # A member who is not an admin gets the commands, and Telegram is not asked.
    before = counted(tg)
    [plain] = await nina(tg).send("/help")
    assert "/queue" in plain.plain
    assert "⚠️" not in plain.plain
    assert counted(tg) == before


async def test_the_scheduler_warns_the_group_when_the_number_changes(
    tg: Telegram, sessions: Sessions, clock: FixedClock
) -> None:
    admin(tg)
    nina(tg)
    census = group_census(tg.bot, GROUP)

    def scheduler() -> Scheduler:
        # A new one counts at its first round, as a bot does when it starts.
        return Scheduler(sessions, POLICY, clock=clock, holder="p1", interval=0, census=census)

    running = scheduler()
    await running.tick()
    await tg.drain()
    assert tg.chat(GROUP)[-1].plain.startswith("⚠️ Members of this group who are not its admins: 1.")
    # Counted once an hour: the next rounds ask nothing.
    asked = counted(tg)
    await running.tick()
    assert counted(tg) == asked

    # The same number again: no second warning.
    said = len(tg.chat(GROUP))
    await scheduler().tick()
    await tg.drain()
    assert len(tg.chat(GROUP)) == said

    tg.session.unnamed_members[GROUP] = 4
    await scheduler().tick()
    await tg.drain()
    assert tg.chat(GROUP)[-1].plain.startswith("⚠️ Members of this group who are not its admins: 5.")
    assert [p for a, _s, _i, _b, p in await log(sessions) if a == "outsiders"] == [
        {"count": 1},
        {"count": 5},
    ]


# ---- anonymous admins ----------------------------------------------------------------------


def anonymous(tg: Telegram) -> Person:
    """An admin writing as the group: Telegram's GroupAnonymousBot, with sender_chat."""
    user = User(id=ANONYMOUS_ADMIN, is_bot=True, first_name="Group", username="GroupAnonymousBot")
    return Person(tg, user, chat_id=GROUP)


ANONYMOUS_REFUSED = (
    "🕶 You are writing anonymously, as the group: a move made so could not be recorded "
    "under anyone's name, so nothing was done. To act under your own name, open the "
    "group's settings → Administrators → yourself, turn off “Remain anonymous”, and "
    "send it again."
)


async def test_an_anonymous_admin_is_told_how_to_act_under_their_own_name(
    tg: Telegram, sessions: Sessions, clock: FixedClock
) -> None:
    item_id = await filed(tg, sessions, clock, "take")
    [prompt] = await admin(tg).press("⛔ Decline")
    group = Chat(id=GROUP, type="supergroup", title="Office")
    ghost = anonymous(tg)

    [refused] = await ghost.send("/queue", sender_chat=group)
    assert refused.plain == ANONYMOUS_REFUSED
    # An answer to the bot's question: refused too, and the item has not moved.
    [refused] = await ghost.reply(prompt, "Not within our remit.")
    assert refused.plain == ANONYMOUS_REFUSED
    assert (await item(sessions, item_id)).status is S.IN_REVIEW
    # Chatter that asks nothing of the bot gets no answer.
    assert await ghost.send("Good morning", sender_chat=group) == []


# ---- being forgotten -----------------------------------------------------------------------


async def test_an_observer_who_asks_is_forgotten_and_their_items_stay(
    tg: Telegram, sessions: Sessions, clock: FixedClock, world: World
) -> None:
    item_id = await filed(tg, sessions, clock, "take")
    assert "Observer Alice filed it" in card(tg).plain
    alice = tg.person(ALICE, "Alice", "en")

    [question] = await alice.send("/forget")
    assert question.plain.startswith(
        "Do you want to leave the scheme and have your personal data erased?"
    )
    await alice.press("✖️ No, keep it")
    assert (await observer(sessions, world.alice_observer_id)).user_id == ALICE

    await alice.send("/forget")
    said = await alice.press("🗑 Yes, erase my data")
    assert said[-1].plain == (
        "Done: you are no longer an observer, and your personal data has been erased. "
        "Thank you for your work for the scheme."
    )
    gone = await observer(sessions, world.alice_observer_id)
    assert (gone.name, gone.phone, gone.resume, gone.user_id, gone.status) == (
        "Anonymised observer",
        "",
        "",
        None,
        ObserverStatus.DISMISSED,
    )
    async with sessions() as session:
        account = await session.get(TelegramUser, ALICE)
        assert account is not None
        assert (account.first_name, account.last_name, account.username) == ("", None, None)
        kept = await session.get(Suggestion, item_id)
        assert kept is not None
        assert kept.observer_id == world.alice_observer_id
    assert await log(sessions) == [
        ("anonymised", "observer", world.alice_observer_id, None, {"why": "asked"})
    ]

    # The office hears of it, and the item's card no longer names her.
    await tg.drain()
    await resync(tg, sessions, clock)
    assert any(
        s.plain.startswith(f"🗑 Observer #{world.alice_observer_id} left the scheme")
        for s in tg.chat(GROUP)
    )
    shown = card(tg).plain
    assert f"Observer: Anonymised observer #{world.alice_observer_id}" in shown
    assert "Alice" not in shown
    assert "Observer filed it" in shown

    # Writing again records her name as anyone's, and it leads nowhere.
    [nothing] = await alice.send("/forget")
    assert nothing.plain == (
        "You are not on file as an observer or an applicant: there is nothing to erase."
    )
    said = await admin(tg).send(f"/show {kept.reference}")
    assert "Observer filed it" in card(tg).plain
    assert not [s for s in said if "Alice" in s.plain]


async def test_the_office_removes_an_observer_and_anonymises_them(
    tg: Telegram, sessions: Sessions, world: World
) -> None:
    ada = admin(tg)
    [shown] = await ada.send(f"/observer {world.bob_observer_id}")
    # Only admins may begin it.
    await nina(tg).press("🗑 Remove and anonymise", message=shown)
    assert last_alert(tg) == (
        "Only this office's admins can do this. Nothing was changed.",
        True,
    )

    await ada.press("🗑 Remove and anonymise", message=shown)
    assert shown.plain.endswith(
        f"Remove observer #{world.bob_observer_id} from the scheme and erase their name, "
        "phone number, résumé and Telegram account? Their items and the figures stay, under "
        "an anonymous name. This cannot be undone."
    )
    await ada.press("✖️ No, keep them", message=shown)
    assert last_alert(tg) == ("Nothing was changed.", False)
    assert (await observer(sessions, world.bob_observer_id)).name == "Bob"

    await ada.press("🗑 Remove and anonymise", message=shown)
    await ada.press("🗑 Yes, remove and anonymise", message=shown)
    assert last_alert(tg) == (
        f"Observer #{world.bob_observer_id} is removed from the scheme and anonymised.",
        False,
    )
    assert f"#{world.bob_observer_id} Anonymised observer" in shown.plain
    assert (
        "Personal data: anonymised 2026-03-02 09:00; name, phone number, résumé and "
        "Telegram account erased, items and figures kept."
    ) in shown.plain
    assert shown.buttons() == []
    bob = await observer(sessions, world.bob_observer_id)
    assert (bob.name, bob.user_id, bob.status) == ("Anonymised observer", None, "dismissed")
    assert await log(sessions) == [
        ("anonymised", "observer", world.bob_observer_id, ADMIN, {"why": "removed"})
    ]

    # The export says what is kept, and holds no phone number.
    replies = await ada.send("/export 2026 en")
    [document] = [r for r in replies if r.kind == "document"]
    book = openpyxl.load_workbook(io.BytesIO(document.data or b""))
    rows = list(book["Observers"].iter_rows(values_only=True))
    header = rows[0]
    by_id = {r[0]: dict(zip(header, r, strict=True)) for r in rows[1:]}
    assert "Phone" not in header
    alice, gone = by_id[world.alice_observer_id], by_id[world.bob_observer_id]
    assert (alice["Name"], alice["Phone on file"], alice["Anonymised"]) == ("Alice", "yes", None)
    assert (gone["Name"], gone["Phone on file"], gone["Telegram username"]) == (
        "Anonymised observer",
        "no",
        None,
    )
    assert gone["Anonymised"] == datetime(2026, 3, 2, 9, 0)
    assert ALICE_PHONE not in str(rows)


# ---- applications not approved -------------------------------------------------------------


async def test_applications_not_approved_are_erased_after_the_period(
    tg: Telegram, sessions: Sessions, clock: FixedClock, world: World
) -> None:
    app_id = await apply(sessions, clock, world.point_id)
    await tg.drain()
    application_card = card_of(tg)
    scheduler = Scheduler(sessions, POLICY, clock=clock, holder="p1", interval=0)

    # Kept for 90 days (POLICY's default): a day short of it, nothing goes.
    clock.advance(days=89)
    await scheduler.tick()
    assert (await application(sessions, app_id)) is not None
    clock.advance(days=2)
    await scheduler.tick()
    assert await application(sessions, app_id) is None
    assert await log(sessions) == [
        ("erased", "application", app_id, None, {"status": ApplicationStatus.PENDING.value})
    ]
    # The card in the group keeps nothing of the applicant.
    await resync(tg, sessions, clock)
    assert application_card.plain == (
        f"📝 Application #{app_id} · 🗑 Erased\nThe applicant's personal data is no longer kept."
    )
    assert application_card.buttons() == []


def test_the_period_applications_are_kept_is_a_setting() -> None:
    assert policy_of(make_settings()).applications_kept_days == 90
    settings = make_settings(applications_kept_days=30)
    assert policy_of(settings).applications_kept_days == 30


async def test_an_applicant_who_asks_is_forgotten(
    tg: Telegram, sessions: Sessions, clock: FixedClock, world: World
) -> None:
    app_id = await apply(sessions, clock, world.point_id)
    stan = tg.person(STRANGER, "Stan", "en")
    [question] = await stan.send("/forget")
    assert question.plain == (
        "Do you want your application withdrawn and erased, with your name, phone number "
        "and résumé? This cannot be undone."
    )
    said = await stan.press("🗑 Yes, erase my data")
    assert said[-1].plain == "Done: your application and the personal data in it have been erased."
    assert await application(sessions, app_id) is None
    assert await log(sessions) == [
        ("erased", "application", app_id, None, {"status": "pending"}),
    ]


async def application(sessions: Sessions, app_id: int) -> Application | None:
    async with sessions() as session:
        return await session.get(Application, app_id)


# ---- update ids ------------------------------------------------------------------------------


async def test_handled_update_ids_are_kept_a_week(sessions: Sessions, clock: FixedClock) -> None:
    now = clock()
    async with sessions() as session, session.begin():
        for update_id, age in [(1, 8), (2, 6), (3, 0)]:
            at = now - timedelta(days=age)
            session.add(ProcessedUpdate(bot_id=42, update_id=update_id, processed_at=at))
    await Scheduler(sessions, POLICY, clock=clock, holder="p1", interval=0).tick()
    async with sessions() as session:
        kept = await session.scalars(
            sa.select(ProcessedUpdate.update_id).order_by(ProcessedUpdate.update_id)
        )
        assert list(kept) == [2, 3]
