"""/broadcast in the admin group: preview, Send or Cancel, delivery and the report."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.statuses import ObserverCategory
from handlers.broadcast import CANCEL, SEND, BroadcastCb
from storage.models import Broadcast, Observer, OutboxMessage, TelegramUser
from tests.handlers.conftest import make_settings, new_telegram
from tests.telegram import Telegram
from tests.world import ADMIN, ALICE, BOB, LIAISON, FixedClock, World

Sessions = async_sessionmaker[AsyncSession]
GROUP = -100500
BO, NINA = 9002, 9003
CAROL, DAVE, ERIN = 1003, 1004, 1005


@pytest.fixture
async def tg(sessions: Sessions, world: World, clock: FixedClock) -> AsyncIterator[Telegram]:
    tg = new_telegram(sessions, clock, settings=make_settings(default_locale="en"))
    yield tg
    await tg.bot.session.close()
    assert tg.session.problems == [], "the bot sent what Telegram would refuse"


async def english(sessions: Sessions, *user_ids: int) -> None:
    """The observers read English, so the tests do not depend on the catalogs."""
    async with sessions() as session, session.begin():
        await session.execute(
            sa.update(TelegramUser).where(TelegramUser.id.in_(user_ids)).values(locale="en")
        )


async def more_observers(sessions: Sessions, world: World) -> None:
    """At P01 besides Alice: Carol (appointed), Dave (suspended), Erin (dismissed) and
    one appointed observer who never linked a Telegram account."""
    async with sessions() as session, session.begin():
        for uid, name in [(CAROL, "Carol"), (DAVE, "Dave"), (ERIN, "Erin")]:
            session.add(TelegramUser(id=uid, first_name=name, language_code="en"))
        await session.flush()
        people: list[tuple[int | None, str, str]] = [
            (CAROL, "Carol", "appointed"),
            (DAVE, "Dave", "suspended"),
            (ERIN, "Erin", "dismissed"),
            (None, "Nobody", "appointed"),
        ]
        for user_id, name, status in people:
            session.add(
                Observer(
                    name=name,
                    category=ObserverCategory.OTHER,
                    point_id=world.point_id,
                    status=status,
                    user_id=user_id,
                )
            )


async def rows(sessions: Sessions) -> list[OutboxMessage]:
    async with sessions() as session:
        stmt = (
            sa.select(OutboxMessage)
            .where(OutboxMessage.kind == "broadcast")
            .order_by(OutboxMessage.id)
        )
        return list((await session.execute(stmt)).scalars())


async def broadcasts(sessions: Sessions) -> list[Broadcast]:
    async with sessions() as session:
        return list((await session.execute(sa.select(Broadcast).order_by(Broadcast.id))).scalars())


async def test_preview_then_send_to_all_then_report(
    tg: Telegram, sessions: Sessions, world: World
) -> None:
    await english(sessions, ALICE, BOB)
    ada = tg.member(ADMIN, "Ada", GROUP, "administrator", language_code="en")
    [preview] = await ada.send("/broadcast Training on Friday <9:00>\nBring your ID & badge.")
    assert "Broadcast preview: to all active observers (2)." in preview.plain
    assert "📢 Message from the district office" in preview.plain
    assert "Training on Friday <9:00>\nBring your ID & badge." in preview.plain
    assert "&lt;9:00&gt;" in preview.text
    assert preview.buttons() == [
        ("✅ Send", BroadcastCb(act=SEND, by=ADMIN).pack()),
        ("✖️ Cancel", BroadcastCb(act=CANCEL, by=ADMIN).pack()),
    ]
    assert await rows(sessions) == []  # nothing before Send

    [done] = await ada.press("✅ Send")
    assert done.message_id == preview.message_id
    assert done.edited
    [sent] = await broadcasts(sessions)
    assert done.plain.startswith(
        f"✅ Broadcast #{sent.id} queued for 2 observers (all points); "
        "a delivery report will follow."
    )
    assert "Training on Friday <9:00>" in done.plain
    assert done.buttons() == []
    assert (sent.text, sent.point_id, sent.created_by, sent.recipients) == (
        "Training on Friday <9:00>\nBring your ID & badge.",
        None,
        ADMIN,
        2,
    )
    queued = await rows(sessions)
    assert sorted(r.chat_id or 0 for r in queued) == [ALICE, BOB]
    assert all(r.broadcast_id == sent.id and r.state == "pending" for r in queued)
    assert queued[0].payload == {"text": sent.text, "broadcast_id": sent.id}

    await tg.drain()
    for chat in (ALICE, BOB):
        [got] = tg.chat(chat)
        assert got.plain == (
            "📢 Message from the district office\n\n"
            "Training on Friday <9:00>\nBring your ID & badge."
        )
    report = ada.last
    assert report.plain == (
        f"📊 Broadcast #{sent.id} delivery report (all points)\nDelivered: 2 of 2\nFailed: 0"
    )
    assert [r.state for r in await rows(sessions)] == ["sent", "sent"]
    [after] = await broadcasts(sessions)
    assert after.reported_at is not None
    # The report comes once.
    await tg.drain()
    assert ada.last.message_id == report.message_id


async def test_point_broadcast_leaves_out_suspended_dismissed_and_unlinked(
    tg: Telegram, sessions: Sessions, world: World
) -> None:
    await more_observers(sessions, world)
    await english(sessions, ALICE, BOB, CAROL)
    ada = tg.member(ADMIN, "Ada", GROUP, "administrator", language_code="en")
    [preview] = await ada.send("/broadcast p01 Water cut tomorrow")
    assert (
        "Broadcast preview: to the observers of point P01 · 城区便民服务中心 (2)." in preview.plain
    )
    assert preview.plain.endswith("Water cut tomorrow")
    assert "p01" not in preview.plain

    [done] = await ada.press("✅ Send")
    assert "queued for 2 observers (point P01 · 城区便民服务中心)" in done.plain
    [sent] = await broadcasts(sessions)
    assert (sent.point_id, sent.recipients) == (world.point_id, 2)
    assert sorted(r.chat_id or 0 for r in await rows(sessions)) == [ALICE, CAROL]

    await tg.drain()
    assert tg.chat(ALICE)
    assert tg.chat(CAROL)
    assert tg.chat(BOB) == []
    assert tg.chat(DAVE) == []
    assert tg.chat(ERIN) == []
    assert "(point 城区便民服务中心)" in ada.last.plain
    assert "Delivered: 2 of 2" in ada.last.plain


async def test_a_blocked_observer_counts_as_not_delivered(
    tg: Telegram, sessions: Sessions, world: World
) -> None:
    await english(sessions, ALICE, BOB)
    ada = tg.member(ADMIN, "Ada", GROUP, "administrator", language_code="en")
    await ada.send("/broadcast Meeting moved to 3 pm")
    await ada.press("✅ Send")
    tg.session.blocked.add(BOB)
    await tg.drain()
    assert tg.chat(ALICE)[-1].plain.endswith("Meeting moved to 3 pm")
    assert tg.chat(BOB) == []
    # The office hears that Bob is cut off, then the report.
    told, report = (m.plain for m in ada.chat[-2:])
    assert told.startswith("🚫 Observer Bob (#")
    assert "Delivered: 1 of 2" in report
    assert "Failed: 1" in report
    assert "did not get the message" in report
    # Bob's copy is held, not failed: he gets it if he unblocks the bot.
    states = {r.chat_id: r.state for r in await rows(sessions)}
    assert states == {ALICE: "sent", BOB: "held"}


async def test_cancel_queues_nothing(tg: Telegram, sessions: Sessions) -> None:
    ada = tg.member(ADMIN, "Ada", GROUP, "administrator", language_code="en")
    [preview] = await ada.send("/broadcast Never mind")
    [done] = await ada.press("✖️ Cancel")
    assert done.message_id == preview.message_id
    assert done.plain == "✖️ Broadcast cancelled. Nothing was sent."
    assert done.buttons() == []
    # Send pressed on the cancelled preview (a stale client) sends nothing.
    await ada.callback(BroadcastCb(act=SEND, by=ADMIN).pack(), message=preview)
    assert "no longer pending" in (tg.session.alerts[-1][1] or "")
    assert await broadcasts(sessions) == []
    assert await rows(sessions) == []
    await tg.drain()
    assert tg.chat(ALICE) == []
    assert tg.chat(BOB) == []


async def test_a_second_send_sends_nothing_more(tg: Telegram, sessions: Sessions) -> None:
    ada = tg.member(ADMIN, "Ada", GROUP, "administrator", language_code="en")
    [preview] = await ada.send("/broadcast Once only")
    data = BroadcastCb(act=SEND, by=ADMIN).pack()
    await ada.callback(data, message=preview)
    said = len(ada.chat)
    # The double tap: the same button, pressed again on the same preview.
    assert await ada.callback(data, message=preview) == []
    assert tg.session.alerts[-1][1] == ("This preview is no longer pending: nothing more was sent.")
    assert tg.session.alerts[-1][2] is True
    assert len(ada.chat) == said
    assert len(await broadcasts(sessions)) == 1
    assert len(await rows(sessions)) == 2


async def test_a_newer_preview_makes_the_older_stale(tg: Telegram, sessions: Sessions) -> None:
    ada = tg.member(ADMIN, "Ada", GROUP, "administrator", language_code="en")
    [old] = await ada.send("/broadcast First draft")
    [new] = await ada.send("/broadcast Second draft")
    [stale] = await ada.press("✅ Send", message=old)
    assert stale.message_id == old.message_id
    assert stale.buttons() == []
    assert "no longer pending" in (tg.session.alerts[-1][1] or "")
    assert await broadcasts(sessions) == []
    await ada.press("✅ Send", message=new)
    [sent] = await broadcasts(sessions)
    assert sent.text == "Second draft"


async def test_only_the_author_sends_their_preview(
    sessions: Sessions, world: World, clock: FixedClock
) -> None:
    # Bo is an admin by ADMIN_IDS, so that this test asks nothing of getChatMember.
    tg = new_telegram(
        sessions, clock, settings=make_settings(default_locale="en", admin_ids=[ADMIN, BO])
    )
    ada = tg.member(ADMIN, "Ada", GROUP, "administrator", language_code="en")
    bo = tg.member(BO, "Bo", GROUP, "administrator", language_code="en")
    [preview] = await ada.send("/broadcast From Ada")
    assert await bo.press("✅ Send", message=preview) == []
    assert tg.session.alerts[-1][1] == (
        "Only the admin who wrote this broadcast can send or cancel it."
    )
    assert await broadcasts(sessions) == []
    await ada.press("✅ Send", message=preview)
    assert len(await broadcasts(sessions)) == 1
    await tg.bot.session.close()
    assert tg.session.problems == []


async def test_zero_recipients_says_so_without_buttons(
    tg: Telegram, sessions: Sessions, world: World
) -> None:
    async with sessions() as session, session.begin():
        await session.execute(
            sa.update(Observer)
            .where(Observer.id == world.bob_observer_id)
            .values(status="suspended")
        )
    ada = tg.member(ADMIN, "Ada", GROUP, "administrator", language_code="en")
    [reply] = await ada.send("/broadcast P02 Hello chamber")
    assert reply.plain == (
        "Nobody would receive this: the observers of point P02 · Chamber of Commerce (0). "
        "Nothing was queued."
    )
    assert reply.buttons() == []
    assert await broadcasts(sessions) == []
    assert await rows(sessions) == []


async def test_bad_arguments_get_usage_or_the_limit(tg: Telegram, sessions: Sessions) -> None:
    ada = tg.member(ADMIN, "Ada", GROUP, "administrator", language_code="en")
    for text in ("/broadcast", "/broadcast   ", "/broadcast P01"):
        [reply] = await ada.send(text)
        assert reply.plain.startswith("Usage: /broadcast [POINT] TEXT"), text
    [reply] = await ada.send("/broadcast " + "长" * 3501)
    assert reply.plain.startswith("That text is too long: at most 3500 characters, please.")
    assert "Usage: /broadcast" in reply.plain
    # Exactly at the limit: a preview that Telegram accepts.
    [preview] = await ada.send("/broadcast " + "长" * 3500)
    assert preview.buttons()
    assert await broadcasts(sessions) == []


async def test_others_are_refused(tg: Telegram, sessions: Sessions) -> None:
    ada = tg.member(ADMIN, "Ada", GROUP, "administrator", language_code="en")
    [preview] = await ada.send("/broadcast Hello")
    nina = tg.member(NINA, "Nina", GROUP, "member", language_code="en")
    [no] = await nina.send("/broadcast Hi all")
    assert no.plain == "Only this office's admins can use this command."
    assert await nina.press("✅ Send", message=preview) == []
    assert tg.session.alerts[-1][1] == (
        "Only this office's admins can do this. Nothing was changed."
    )
    alice = tg.person(ALICE, "Alice", "en")
    [no] = await alice.send("/broadcast Hi all")
    assert no.plain == "This command works only in an office's admin group."
    liaison = tg.person(LIAISON, "Li", "en")
    [no] = await liaison.send("/broadcast Hi all")
    assert no.plain == "This command works only in an office's admin group."
    assert await broadcasts(sessions) == []
    assert await rows(sessions) == []
