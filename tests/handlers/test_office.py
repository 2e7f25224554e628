"""The admin group's ground rules: who is an admin, where office commands work, and how
the outbox keeps the group's item cards current."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from aiogram.methods import EditMessageReplyMarkup, EditMessageText, GetChatMember
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.admins import AdminDirectory
from storage.models import Card, OutboxMessage, Suggestion
from tests.handlers.conftest import make_settings, new_telegram
from tests.handlers.test_filing import confirm_data, to_preview
from tests.handlers.test_loop import office
from tests.telegram import BOT_USER, TOKEN, RecordingSession, Telegram
from tests.world import ADMIN, ALICE, DUE, LIAISON, FixedClock, World

Sessions = async_sessionmaker[AsyncSession]
GROUP = -100500
BO, NINA = 9002, 9003


@pytest.fixture
async def tg(sessions: Sessions, world: World, clock: FixedClock) -> AsyncIterator[Telegram]:
    tg = new_telegram(sessions, clock, settings=make_settings(default_locale="en"))
    yield tg
    await tg.bot.session.close()
    assert tg.session.problems == [], "the bot sent what Telegram would refuse"


def member_calls(tg: Telegram) -> list[GetChatMember]:
    return [r for r in tg.session.requests if isinstance(r, GetChatMember)]


async def file_item(tg: Telegram, title: str = "Street lights out") -> None:
    alice = tg.person(ALICE, "Alice", "en")
    preview = await to_preview(alice, title=title, body="Three lamps dark for weeks.")
    await alice.press(confirm_data(preview))


async def item_ids(sessions: Sessions) -> list[int]:
    async with sessions() as session:
        return list(
            (await session.execute(sa.select(Suggestion.id).order_by(Suggestion.id))).scalars()
        )


async def cards(sessions: Sessions) -> list[Card]:
    async with sessions() as session:
        return list((await session.execute(sa.select(Card).order_by(Card.id))).scalars())


# ---- who is an admin ---------------------------------------------------------------------


async def test_admin_ids_need_no_question_to_telegram(tg: Telegram) -> None:
    ada = tg.member(ADMIN, "Ada", GROUP, "member")
    [reply] = await ada.send("/help")
    assert "/queue" in reply.plain
    await ada.send("/frobnicate")
    assert member_calls(tg) == []


REFUSED = "Only this office's admins can use this command."


async def test_group_administrators_are_admins_and_the_answer_is_cached(tg: Telegram) -> None:
    bo = tg.member(BO, "Bo", GROUP, "administrator")
    [first] = await bo.send("/queue")
    [second] = await bo.send("/queue")
    assert first.plain != REFUSED
    assert second.plain == first.plain
    assert len(member_calls(tg)) == 1
    nina = tg.member(NINA, "Nina", GROUP, "member")
    [refused] = await nina.send("/queue")
    assert refused.plain == REFUSED


async def test_the_groups_creator_is_an_admin(tg: Telegram, sessions: Sessions) -> None:
    await file_item(tg)
    await tg.drain()
    owner = tg.member(7777, "Olga", GROUP, "creator")
    await owner.press("🔍 Take")
    [item_id] = await item_ids(sessions)
    async with sessions() as session:
        item = await session.get(Suggestion, item_id)
        assert item is not None
        assert item.status == "in_review"


async def test_a_plain_member_is_refused_and_nothing_changes(
    tg: Telegram, sessions: Sessions
) -> None:
    await file_item(tg)
    await tg.drain()
    nina = tg.member(NINA, "Nina", GROUP, "member", language_code="en")
    [reply] = await nina.send("/queue")
    assert reply.plain == REFUSED
    # The alert is hers alone: in her own language (the group's is English here too).
    await nina.press("🔍 Take")
    assert tg.session.alerts[-1][1] == (
        "Only this office's admins can do this. Nothing was changed."
    )
    assert tg.session.alerts[-1][2] is True
    async with sessions() as session:
        [item] = (await session.execute(sa.select(Suggestion))).scalars()
        assert item.status == "submitted"


async def test_office_commands_elsewhere_get_one_short_line(tg: Telegram) -> None:
    alice = tg.person(ALICE, "Alice", "en")
    [reply] = await alice.send("/queue")
    assert reply.plain == "This command works only in an office's admin group."
    # Even an admin, in private: the office works in its group.
    ada = tg.person(ADMIN, "Ada", "en")
    [reply] = await ada.send("/broadcast hello")
    assert reply.plain == "This command works only in an office's admin group."
    assert member_calls(tg) == []


async def test_when_telegram_cannot_say_only_admin_ids_count(tg: Telegram) -> None:
    tg.session.members_down = True
    bo = tg.member(BO, "Bo", GROUP, "administrator")
    [reply] = await bo.send("/queue")
    assert reply.plain == REFUSED
    ada = tg.member(ADMIN, "Ada", GROUP, "member")
    [reply] = await ada.send("/queue")
    assert reply.plain != REFUSED
    # A failure is not remembered: once Telegram answers again, Bo is an admin.
    tg.session.members_down = False
    [reply] = await bo.send("/queue")
    assert reply.plain != REFUSED


async def test_the_cache_expires() -> None:
    from aiogram import Bot

    session = RecordingSession()
    session.members[(GROUP, BO)] = "administrator"
    bot = Bot(TOKEN, session=session)
    now = [100.0]
    directory = AdminDirectory(GROUP, frozenset(), ttl=60, monotonic=lambda: now[0])
    assert await directory.is_admin(bot, BO)
    session.members[(GROUP, BO)] = "left"
    assert await directory.is_admin(bot, BO)  # still cached
    now[0] += 61
    assert not await directory.is_admin(bot, BO)
    assert not await directory.is_admin(bot, NINA)
    assert len([r for r in session.requests if isinstance(r, GetChatMember)]) == 3
    no_group = AdminDirectory(None, frozenset({ADMIN}))
    assert await no_group.is_admin(bot, ADMIN)
    assert not await no_group.is_admin(bot, BO)


async def test_help_in_the_group_lists_every_command(tg: Telegram) -> None:
    nina = tg.member(NINA, "Nina", GROUP, "member")
    [reply] = await nina.send("/help")
    commands = "queue show find assign due note observers observer invite suspend points"
    commands += " point_add point_close departments dept_add liaison broadcast"
    for command in commands.split():
        assert f"/{command}" in reply.plain, command


async def test_group_chatter_and_other_bots_commands_are_left_alone(tg: Telegram) -> None:
    nina = tg.member(NINA, "Nina", GROUP, "member")
    assert await nina.send("see you at three") == []
    assert await nina.send("/poll@otherbot") == []
    [reply] = await nina.send(f"/frob@{BOT_USER.username}")
    assert reply.plain.startswith("Unknown command")


# ---- cards through the outbox ----------------------------------------------------------


async def test_a_new_item_is_posted_as_a_card_with_its_files(
    tg: Telegram, sessions: Sessions
) -> None:
    alice = tg.person(ALICE, "Alice", "en")
    await alice.send("/new")
    from tests.handlers.test_filing import cb

    await alice.press(cb("domain", "governance"))
    await alice.press(cb("kind", "problem"))
    await alice.send("Street <lights> out")
    await alice.photo("photo-1")
    await alice.document("doc-1", "plan.pdf")
    await alice.send("Three lamps dark for weeks.")
    await alice.press("f:done:")
    await alice.press(cb("behalf", "residents"))
    await alice.send("Skip")
    await alice.press(confirm_data(alice.last))
    done = await tg.drain()
    assert [r.kind for r in done.sent] == ["item.submit"]
    card, *files = tg.chat(GROUP)
    assert card.plain.startswith("🟡 WZ-2026-0001 · Submitted, awaiting review")
    assert "Street <lights> out" in card.plain
    assert "&lt;lights&gt;" in card.text
    assert "Observer: Alice #1 · 📍 城区便民服务中心" in card.plain
    assert "13800000001" not in card.plain  # shown to an admin on request only
    assert "Decision due: 2026-03-09" in card.plain
    assert "Observer Alice filed it" in card.plain
    assert [t for t, _ in card.buttons()] == ["🔍 Take"]
    assert [(f.kind, f.file_id) for f in files] == [("photo", "photo-1"), ("document", "doc-1")]
    [row] = await cards(sessions)
    assert (row.chat_id, row.message_id, row.subject, row.current) == (
        GROUP,
        card.message_id,
        "item",
        True,
    )


async def test_moves_elsewhere_edit_the_card_in_place_once(
    tg: Telegram, sessions: Sessions, clock: FixedClock, world: World
) -> None:
    await file_item(tg)
    await tg.drain()
    [item_id] = await item_ids(sessions)
    await office(sessions, clock, ADMIN, "take", item_id)
    await office(
        sessions, clock, ADMIN, "adopt", item_id, department_id=world.department_id, due=DUE
    )
    await office(sessions, clock, LIAISON, "accept", item_id)
    edits_before = len([r for r in tg.session.requests if isinstance(r, EditMessageText)])
    await tg.drain()
    [card] = [s for s in tg.chat(GROUP) if s.kind == "text"]
    assert card.plain.startswith("🛠 WZ-2026-0001 · Being implemented")
    assert "Office Ada adopted it (区市场监管局, due 2026-03-31)" in card.plain
    assert "Department Li accepted it for implementation" in card.plain
    assert "Department: 区市场监管局" in card.plain
    assert "Implementation due: 2026-03-31" in card.plain
    # Three moves, one card: the first edit shows the final state, the others cost nothing.
    edits = [r for r in tg.session.requests if isinstance(r, EditMessageText)]
    assert len(edits) - edits_before == 1
    assert [t for t, _ in card.buttons()] == ["📅 Set due date", "🎯 Mark implemented"]


async def test_an_item_returning_to_the_office_gets_a_fresh_card(
    tg: Telegram, sessions: Sessions, clock: FixedClock
) -> None:
    await file_item(tg)
    await tg.drain()
    [item_id] = await item_ids(sessions)
    await office(sessions, clock, ADMIN, "take", item_id)
    await office(sessions, clock, ADMIN, "ask_info", item_id, "Which lamps?")
    await tg.drain()
    alice = tg.person(ALICE, "Alice", "en")
    from handlers.callbacks import MineCb

    await alice.press(MineCb(act="answer", item=item_id).pack())
    await alice.send("Numbers 12 to 16.")
    await alice.press(MineCb(act="send", item=item_id).pack())
    await tg.drain()
    old, new = [s for s in tg.chat(GROUP) if s.kind == "text"]
    assert old.markup is None  # the old card gave up its buttons
    assert new.plain.startswith("🟡 WZ-2026-0001 · Submitted, awaiting review")
    assert "Numbers 12 to 16." in new.plain
    assert [t for t, _ in new.buttons()] == ["🔍 Take"]
    first, second = await cards(sessions)
    assert (first.current, second.current) == (False, True)
    assert any(isinstance(r, EditMessageReplyMarkup) for r in tg.session.requests)


async def test_a_card_deleted_in_the_group_is_posted_again(
    tg: Telegram, sessions: Sessions, clock: FixedClock
) -> None:
    await file_item(tg)
    await tg.drain()
    [item_id] = await item_ids(sessions)
    [card] = tg.chat(GROUP)
    tg.chat(GROUP).remove(card)  # somebody deleted it
    await office(sessions, clock, ADMIN, "take", item_id)
    await tg.drain()
    [again] = tg.chat(GROUP)
    assert again.plain.startswith("🔵 WZ-2026-0001 · Under review")


async def test_office_news_are_one_line_each(
    tg: Telegram, sessions: Sessions, clock: FixedClock
) -> None:
    ada = tg.member(ADMIN, "Ada", GROUP, "administrator")
    async with sessions() as session, session.begin():
        from bot.services import notify
        from storage.store import Store

        store = Store(session)
        at = clock.now
        await notify.to_admins(
            store, "observer.appointed", {"observer_id": 7, "name": "<Zoe>", "point": "P"}, at=at
        )
        await notify.to_admins(
            store, "observer.moved", {"observer_id": 7, "name": "Zoe", "point": "Q"}, at=at
        )
        await notify.to_admins(
            store, "liaison.joined", {"department": "Housing", "name": "Li"}, at=at
        )
        await notify.to_admins(store, "no.such.kind", {}, at=at)
    done = await tg.drain()
    assert [m.plain for m in ada.chat] == [
        "🎉 <Zoe> is now an observer at P (observer #7).",
        "📍 Observer Zoe (#7) moved to Q.",
        "🏢 Li is now a liaison of Housing.",
    ]
    [(failed, error)] = done.failed
    assert failed.kind == "no.such.kind"
    assert "UnknownNotice" in error
    async with sessions() as session:
        states = (await session.execute(sa.select(OutboxMessage.state))).scalars().all()
        assert sorted(states) == ["failed", "sent", "sent", "sent"]


async def test_without_an_admin_group_office_rows_fail_loudly(
    sessions: Sessions, world: World, clock: FixedClock
) -> None:
    tg = new_telegram(sessions, clock, settings=make_settings(admin_chat_id=None))
    try:
        await file_item(tg)
        done = await tg.drain()
        [(row, error)] = done.failed
        assert row.kind == "item.submit"
        assert "ADMIN_CHAT_ID" in error
    finally:
        await tg.bot.session.close()


async def test_a_failed_send_leaves_no_card_behind(tg: Telegram, sessions: Sessions) -> None:
    await file_item(tg)
    tg.session.blocked.add(GROUP)
    done = await tg.drain()
    assert len(done.failed) == 1
    assert await cards(sessions) == []


async def test_a_liaison_is_helped_as_a_liaison(tg: Telegram) -> None:
    li = tg.person(LIAISON, "Li", "en")
    [reply] = await li.send("/help")
    assert reply.plain.startswith("For department liaisons")
    assert "/mine" in reply.plain
    alice = tg.person(ALICE, "Alice", "en")
    [reply] = await alice.send("/help")
    assert "For department liaisons" not in reply.plain
