"""A locked database: another process holds a write transaction on the SQLite file.
Updates wait, each conversation's in the order they came, and are applied once it frees;
whoever pressed or sent something meanwhile is told it is delayed rather than lost;
nothing is dropped."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from aiogram.types import ForceReply
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.domain.lifecycle import Action
from bot.domain.statuses import SuggestionStatus
from bot.services.suggestions import SuggestionService
from handlers.cards import CardCb
from storage.engine import read_sessions
from storage.models import Event, ProcessedUpdate, Suggestion
from storage.store import Store
from tests.handlers.conftest import make_settings, new_telegram
from tests.telegram import Person, Sent, Telegram
from tests.world import ADMIN, ALICE, POLICY, FixedClock, World, actor, draft

Sessions = async_sessionmaker[AsyncSession]
S = SuggestionStatus
GROUP = -100500
BO = 9002
DELAYED = (
    "⏳ The bot is busy right now. What you sent is kept and will be handled in a moment; "
    "nothing is lost."
)
WORKING = "⏳ Working on it…"
HOLD = 2.5  # seconds the other process keeps its write transaction

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture
async def tg(sessions: Sessions, world: World, clock: FixedClock) -> AsyncIterator[Telegram]:
    tg = new_telegram(sessions, clock, settings=make_settings(default_locale="en"))
    await tg.bot.me()
    yield tg
    await tg.dp["speaker"].settle(5)
    await tg.bot.session.close()
    assert tg.session.problems == []


@contextmanager
def another_process_writing(db_url: str) -> Iterator[None]:
    """A write transaction on the database file from another connection (another
    process, as far as the bot can tell), held until the block ends."""
    path = db_url.split(":///", 1)[1]
    conn = sqlite3.connect(path, timeout=5, isolation_level=None, check_same_thread=False)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE telegram_users SET first_name = first_name WHERE id = ?", (ALICE,))
        yield
        conn.execute("COMMIT")
    finally:
        conn.close()


def busy_timeout(engine: AsyncEngine, ms: int) -> None:
    """Connections of ``engine`` give up on a locked database after ``ms``."""

    def shorter(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={ms}")
        finally:
            cursor.close()

    event.listen(engine.sync_engine, "connect", shorter)


async def filed(sessions: Sessions, clock: FixedClock, title: str, *, take: bool) -> int:
    async with sessions() as session, session.begin():
        store = Store(session)
        service = SuggestionService(store, POLICY, clock)
        info = await service.submit(await actor(store, ALICE), draft(title))
        if take:
            await service.take(await actor(store, ADMIN, admin=True), info.id)
        return int(info.id)


async def item(sessions: Sessions, item_id: int) -> Suggestion:
    async with read_sessions(sessions)() as session:
        row = await session.get(Suggestion, item_id)
        assert row is not None
        return row


async def actions(sessions: Sessions, item_id: int) -> list[tuple[Action, int | None]]:
    async with read_sessions(sessions)() as session:
        q = sa.select(Event).where(Event.suggestion_id == item_id).order_by(Event.id)
        return [(e.action, e.actor_user_id) for e in (await session.scalars(q)).all()]


async def handled(sessions: Sessions) -> set[int]:
    async with read_sessions(sessions)() as session:
        return set((await session.scalars(sa.select(ProcessedUpdate.update_id))).all())


def card_of(tg: Telegram, reference: str) -> Sent:
    return [s for s in tg.chat(GROUP) if "<b>History</b>" in s.text and reference in s.text][-1]


def fresh(tg: Telegram, known: set[int]) -> list[Sent]:
    """What the bot said in the group since ``known`` (by id: deletions shift places)."""
    return [s for s in tg.chat(GROUP) if s.message_id not in known]


def member(tg: Telegram, user_id: int, name: str) -> Person:
    return tg.member(user_id, name, GROUP, "administrator", language_code="en")


@pytest.mark.parametrize(
    "give_up_after_ms",
    [
        pytest.param(None, id="waits-in-sqlite"),
        pytest.param(50, id="retried-by-the-bot"),
    ],
)
async def test_updates_wait_for_a_locked_database_are_told_and_all_applied_in_order(
    tg: Telegram,
    sessions: Sessions,
    engine: AsyncEngine,
    clock: FixedClock,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    give_up_after_ms: int | None,
) -> None:
    if give_up_after_ms is not None:
        busy_timeout(engine, give_up_after_ms)
        await engine.dispose()  # the pool's connections are made afresh, with it
    first = await filed(sessions, clock, "Street lights out", take=True)
    second = await filed(sessions, clock, "Bus stop flooded", take=False)
    await tg.drain()
    ada, bo = member(tg, ADMIN, "Ada"), member(tg, BO, "Bo")
    [prompt] = await ada.press("⛔ Decline", message=card_of(tg, "WZ-2026-0001"))
    assert await tg.dp["admins"].is_admin(tg.bot, BO)  # asked of Telegram before the lock
    bos_card = card_of(tg, "WZ-2026-0002")
    transaction = tg.dp["transaction"]
    monkeypatch.setattr(transaction, "tell_after", 0.3)
    monkeypatch.setattr(transaction, "answer_within", 0.3)
    before = await handled(sessions)
    known = {s.message_id for s in tg.chat(GROUP)}

    loop = asyncio.get_running_loop()
    with another_process_writing(db_url):
        started = loop.time()
        doing = []
        for act in (
            lambda: ada.reply(prompt, "Out of our remit."),
            lambda: bo.press("🔍 Take", message=bos_card),
            lambda: ada.send("/cancel"),
            # Bo's next press, on the card as the take will have left it (version 2).
            lambda: bo.callback(CardCb(act="decl", item=second, v=2).pack(), message=bos_card),
        ):
            doing.append(asyncio.create_task(act()))
            await asyncio.sleep(0.05)
        await asyncio.sleep(HOLD - (loop.time() - started))

        # Nothing applied yet, nothing dropped: every update still in hand, and every
        # person told (a message with a reply, a press with an answer).
        assert not any(task.done() for task in doing)
        assert (await item(sessions, first)).status is S.IN_REVIEW
        assert (await item(sessions, second)).status is S.SUBMITTED
        # Ada sent two messages meanwhile and is told once; Bo's presses are answered.
        notices = [s for s in fresh(tg, known) if s.plain == DELAYED]
        assert len(notices) == 1
        assert [text for _, text, _ in tg.session.alerts[-2:]] == [WORKING, WORKING]
        assert len(await handled(sessions) - before) == 0

    await asyncio.wait_for(asyncio.gather(*doing), 30)

    # All four applied, once each.
    assert len(await handled(sessions) - before) == 4
    assert await actions(sessions, first) == [
        (Action.SUBMIT, ALICE),
        (Action.TAKE, ADMIN),
        (Action.DECLINE, ADMIN),
    ]
    assert (await item(sessions, first)).status is S.DECLINED
    assert await actions(sessions, second) == [(Action.SUBMIT, ALICE), (Action.TAKE, BO)]
    said = [s for s in fresh(tg, known) if s.plain != DELAYED]
    plain = [s.plain for s in said]
    # Ada's in her order: the decline, then /cancel finds nothing left to cancel.
    assert plain.index("✅ WZ-2026-0001: Not adopted.") < plain.index("There is nothing to cancel.")
    assert prompt not in tg.chat(GROUP)
    # Bo's in his: taken, then the decline press found it taken and asked for a reason.
    [bos_prompt] = [s for s in said if isinstance(s.markup, ForceReply)]
    assert f'<a href="tg://user?id={BO}">Bo</a>' in bos_prompt.text
    assert "WZ-2026-0002" in bos_prompt.plain
    assert not any("has already moved" in p for p in plain)
    assert "Office Bo took it for review" in card_of(tg, "WZ-2026-0002").plain
    assert "Not adopted" in card_of(tg, "WZ-2026-0001").plain

    # Each person waiting was told once: Ada by one reply to her first message, each of
    # Bo's presses by one answer (the answer it would have had is not given twice).
    notices = [s for s in fresh(tg, known) if s.plain == DELAYED]
    replied = [s.reply_to for s in notices]
    assert len(replied) == len(set(replied)) == 1
    assert all(ADMIN * 1000 <= (r or 0) < ADMIN * 1000 + 1000 for r in replied)
    bos_answers = [text for _, text, _ in tg.session.alerts[-2:]]
    assert bos_answers == [WORKING, WORKING]


async def test_someone_who_sends_several_messages_meanwhile_is_told_once(
    tg: Telegram,
    sessions: Sessions,
    clock: FixedClock,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await filed(sessions, clock, "Street lights out", take=True)
    await tg.drain()
    ada = member(tg, ADMIN, "Ada")
    monkeypatch.setattr(tg.dp["transaction"], "tell_after", 0.2)
    known = {s.message_id for s in tg.chat(GROUP)}
    with another_process_writing(db_url):
        doing = [asyncio.create_task(ada.send("/help"))]
        await asyncio.sleep(0.05)
        doing.append(asyncio.create_task(ada.send("/cancel")))
        await asyncio.sleep(0.6)
    await asyncio.wait_for(asyncio.gather(*doing), 30)
    plain = [s.plain for s in fresh(tg, known)]
    assert "There is nothing to cancel." in plain
    assert plain.count(DELAYED) == 1
