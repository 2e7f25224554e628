"""Storage details the services rely on, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from aiogram.fsm.storage.base import StorageKey

from bot.domain.statuses import (
    Behalf,
    FocusDomain,
    ObserverStatus,
    SuggestionKind,
    SuggestionStatus,
)
from bot.services.suggestions import SuggestionService
from storage.engine import create_engine
from storage.models import AppendOnlyError, Event, Suggestion, TelegramUser
from storage.store import Store
from tests.statements import statements_about
from tests.world import ALICE, LIAISON, POLICY, STRANGER, FixedClock, actor, build_world, draft


async def test_an_update_is_claimed_once(sessions):
    async with sessions() as session, session.begin():
        store = Store(session)
        assert await store.updates.claim(42, 1000) is True
        assert await store.updates.claim(42, 1000) is False
        assert await store.updates.claim(42, 1001) is True
        assert await store.updates.claim(43, 1000) is True  # another bot's numbering
    async with sessions() as session, session.begin():
        assert await Store(session).updates.claim(42, 1000) is False


async def test_a_claim_rolled_back_is_no_claim(sessions):
    async with sessions() as session, session.begin():
        assert await Store(session).updates.claim(42, 7) is True
        await session.rollback()
    async with sessions() as session, session.begin():
        assert await Store(session).updates.claim(42, 7) is True


async def test_conversation_state_survives_a_new_session(sessions):
    key = "fsm:1:1001:1001"
    draft_data = {"title": "路灯不亮", "photos": ["a", "b"], "step": 3}
    async with sessions() as session, session.begin():
        await Store(session).conversations.save(key, state="Filing:details", data=draft_data)
    async with sessions() as session, session.begin():
        row = await Store(session).conversations.load(key)
        assert row is not None
        assert (row.state, row.data) == ("Filing:details", draft_data)
        await Store(session).conversations.save(key, state=None, data={})
    async with sessions() as session, session.begin():
        row = await Store(session).conversations.load(key)
        assert row is not None
        assert (row.state, row.data) == (None, {})
        await Store(session).conversations.delete(key)
    async with sessions() as session:
        assert await Store(session).conversations.load(key) is None


async def test_users_are_upserted_and_blocked(sessions):
    async with sessions() as session, session.begin():
        users = Store(session).users
        await users.upsert(7, first_name="李", language_code="zh-hans")
        await users.upsert(7, first_name="李雷", username="lilei")
        await users.set_blocked(7, True)
    async with sessions() as session:
        row = await Store(session).users.get(7)
        assert row is not None
        assert (row.first_name, row.username, row.language_code) == ("李雷", "lilei", "zh-hans")
        assert row.blocked is True
        assert row.blocked_at is not None


async def test_a_user_whose_names_did_not_change_is_not_written_again(sessions):
    async with sessions() as session, session.begin():
        await Store(session).users.upsert(8, first_name="韩梅梅", username="hmm")
    async with sessions() as session, session.begin():
        users = Store(session).users
        flushes: list[object] = []
        sa.event.listen(session.sync_session, "before_flush", lambda *a: flushes.append(a))
        with statements_about(sessions, "telegram_users") as sent:
            row = await users.upsert(8, first_name="韩梅梅", username="hmm")
        # Read, and nothing else: no UPDATE, and no flush weighing the row for nothing.
        assert [sql.split()[0] for sql in sent] == ["SELECT"]
        assert flushes == []
        assert row not in session.dirty
        with statements_about(sessions, "telegram_users") as sent:
            await users.upsert(8, first_name="韩梅梅", username="meimei")
        assert [sql.split()[0] for sql in sent] == ["UPDATE"]
    async with sessions() as session:
        row = await Store(session).users.get(8)
        assert row is not None
        assert (row.first_name, row.username) == ("韩梅梅", "meimei")


async def test_search_treats_wildcards_as_text(sessions):
    await build_world(sessions)
    async with sessions() as session, session.begin():
        store = Store(session)
        svc = SuggestionService(store, POLICY, FixedClock())
        alice = await actor(store, ALICE)
        await svc.submit(alice, draft("折扣 100% 虚假宣传"))
        await svc.submit(alice, draft("Street_Light out"))
        await svc.submit(alice, draft("路灯不亮"))
    async with sessions() as session:
        repository = Store(session).suggestions

        async def search(text: str) -> list[str]:
            found = await repository.find_matching(text)
            assert await repository.count_matching(text) == len(found)
            return [f.item.title for f in found]

        assert await search("100%") == ["折扣 100% 虚假宣传"]
        assert await search("street_light") == ["Street_Light out"]
        assert await search("%") == ["折扣 100% 虚假宣传"]
        assert len(await search("wz-2026-000")) == 3


async def test_events_cannot_be_edited_or_deleted(sessions):
    await build_world(sessions)
    async with sessions() as session, session.begin():
        session.add(
            Suggestion(
                reference="WZ-2026-0001",
                kind=SuggestionKind.PROBLEM,
                domain=FocusDomain.OTHER,
                observer_id=1,
                title="t",
                body="b",
                behalf=Behalf.OWN,
                status=SuggestionStatus.SUBMITTED,
                submitted_at=FixedClock()(),
                submitted_day=20260101,
                decision_due=FixedClock()().date(),
            )
        )
        await session.flush()
        session.add(
            Event(
                suggestion_id=1,
                action="submit",
                actor_role="observer",
                to_status=SuggestionStatus.SUBMITTED,
            )
        )
    async with sessions() as session:
        event = (await session.execute(sa.select(Event))).scalar_one()
        event.text = "rewritten"
        with pytest.raises(AppendOnlyError):
            await session.flush()
        await session.rollback()
        event = (await session.execute(sa.select(Event))).scalar_one()
        await session.delete(event)
        with pytest.raises(AppendOnlyError):
            await session.flush()


async def test_sqlite_connections_get_the_pragmas(sqlite_url):
    engine = create_engine(sqlite_url)
    try:
        async with engine.connect() as conn:
            mode = (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar()
            fks = (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar()
            busy = (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar()
        assert (mode, fks, busy) == ("wal", 1, 30_000)
    finally:
        await engine.dispose()


async def test_foreign_keys_are_enforced(sessions):
    with pytest.raises(sa.exc.IntegrityError):
        async with sessions() as session, session.begin():
            session.add(
                Event(
                    suggestion_id=999,
                    action="submit",
                    actor_role="observer",
                    to_status=SuggestionStatus.SUBMITTED,
                )
            )


async def test_the_acting_person_and_their_standing_are_read_in_one_statement(sessions):
    """Alice is an observer, and made a liaison of both departments here; Li a liaison,
    one of whose posts has ended; Stan nothing; 4242 has never written."""
    from storage.models import Liaison

    world = await build_world(sessions)
    async with sessions() as session, session.begin():
        session.add_all(
            [
                Liaison(department_id=world.department_id, user_id=ALICE, name="A"),
                Liaison(department_id=world.other_department_id, user_id=ALICE, name="A"),
                Liaison(
                    department_id=world.other_department_id,
                    user_id=LIAISON,
                    name="Li",
                    active=False,
                ),
            ]
        )
    for uid in (ALICE, LIAISON, STRANGER, 4242):
        async with sessions() as session, session.begin():
            store = Store(session)
            with statements_about(sessions) as sent:
                found = await store.observers.person(uid)
                user = await store.users.get(uid)
            # A known person's row is not read again; an unknown one is looked for.
            assert len(sent) == (2 if uid == 4242 else 1), sent
            if uid == 4242:
                assert found is None
                assert user is None
            else:
                assert found == await store.observers.standing_of(uid)
                assert user is not None
                assert user.id == uid
    async with sessions() as session:
        store = Store(session)
        alice = await store.observers.person(ALICE)
        assert alice is not None
        assert alice[0] == (world.alice_observer_id, ObserverStatus.APPOINTED)
        assert alice[1] == {world.department_id, world.other_department_id}
        assert await store.observers.person(LIAISON) == (None, frozenset({world.department_id}))
        assert await store.observers.person(STRANGER) == (None, frozenset())


async def test_an_updates_first_look_at_its_conversation_reads_the_person_with_it(sessions):
    """aiogram asks for the conversation's state first thing; the person (their row and
    standing) comes with it, and who is acting is then known without a statement, once.
    A missing conversation or an unknown person reads as missing all the same."""

    from storage.fsm import DatabaseStorage, storage_key
    from storage.models import ConversationState, Liaison

    world = await build_world(sessions)
    async with sessions() as session, session.begin():
        session.add(Liaison(department_id=world.department_id, user_id=ALICE, name="A"))
        session.add(ConversationState(key=storage_key(_key(ALICE)), state="Filing:title", data={}))
    storage = DatabaseStorage(sessions)
    for uid, state in ((ALICE, "Filing:title"), (STRANGER, None), (4242, None)):
        async with sessions() as session, session.begin():
            store = Store(session)
            with storage.bind(session), statements_about(sessions) as sent:
                assert await storage.get_state(_key(uid)) == state
                found = await store.observers.person(uid)
                user = await store.users.get(uid)
            # An unknown person's row is looked for when they are recorded, as before.
            assert len(sent) == (2 if uid == 4242 else 1), sent
            assert "conversation_states" in sent[0]
            assert "telegram_users" in sent[0]
            assert found == (await store.observers.standing_of(uid) if uid != 4242 else None)
            assert (user is None) == (uid == 4242)
            # Once: asked again, the standing is read afresh (it may have changed).
            with statements_about(sessions) as again:
                assert await store.observers.person(uid) == found
            assert len(again) == 1
    async with sessions() as session:
        alice = await Store(session).observers.person(ALICE)
    assert alice == ((world.alice_observer_id, ObserverStatus.APPOINTED), {world.department_id})


def _key(uid: int) -> StorageKey:
    return StorageKey(bot_id=42, chat_id=uid, user_id=uid)


async def test_an_item_about_to_move_is_read_with_its_observer(sessions):
    await build_world(sessions)
    async with sessions() as session, session.begin():
        store = Store(session)
        filed = await SuggestionService(store, POLICY, FixedClock()).submit(
            await actor(store, ALICE), draft()
        )
    async with sessions() as session, session.begin():
        store = Store(session)
        with statements_about(sessions) as sent:
            item = await store.suggestions.with_observer(filed.id)
            observer = await store.observers.get(item.observer_id) if item else None
            again = await store.suggestions.with_observer(filed.id)
            missing = await store.suggestions.with_observer(10**9)
        assert item is not None
        assert again is item
        assert observer is not None
        assert observer.user_id == ALICE
        assert missing is None
        assert len(sent) == 2, sent


async def test_an_unsure_post_keeps_the_earliest_id_and_is_forgotten_once_looked_at(sessions):
    async with sessions() as session, session.begin():
        posts = Store(session).unsure_posts
        await posts.note(-100, "item", 7, 50)
        await posts.note(-100, "item", 7, 40)  # an earlier post was unsure too
        await posts.note(-100, "item", 7, 60)
        await posts.note(-100, "item", 8, 55)
    async with sessions() as session, session.begin():
        posts = Store(session).unsure_posts
        noted = {(p.chat_id, p.subject_id): p.since for p in await posts.every()}
        assert noted == {(-100, 7): 40, (-100, 8): 55}
        await posts.forget(-100, "item", 7)
    async with sessions() as session, session.begin():
        assert [p.subject_id for p in await Store(session).unsure_posts.every()] == [8]


async def test_someones_first_updates_in_two_chats_at_once_both_record_them(sessions):
    """Both transactions find nobody and insert: the second gives way to the first
    (on PostgreSQL it waits for it) instead of failing its update."""
    import asyncio

    from storage.models import TelegramUser
    from storage.repositories.users import UserRepository

    async def first_update(name: str, pause: float) -> int:
        async with sessions() as session, session.begin():
            row = await UserRepository(session).upsert(7_770_001, first_name=name)
            await asyncio.sleep(pause)
            return row.id

    assert await asyncio.gather(first_update("A", 0.2), first_update("B", 0.0)) == [
        7_770_001,
        7_770_001,
    ]
    async with sessions() as session:
        rows = (await session.execute(sa.select(TelegramUser))).scalars().all()
    assert [(r.id, r.first_name) for r in rows if r.id == 7_770_001] in (
        [(7_770_001, "A")],
        [(7_770_001, "B")],
    )


async def test_a_row_the_session_holds_is_got_without_a_statement_unless_expired(sessions):
    async with sessions() as session, session.begin():
        session.add(TelegramUser(id=5005, first_name="Wang"))
    async with sessions() as session, session.begin():
        users = Store(session).users
        with statements_about(sessions, "telegram_users") as sent:
            first = await users.get(5005)
            again = await users.get(5005)
        assert first is not None
        assert again is first
        assert len(sent) == 1
        # Changed elsewhere and expired here: read afresh, as session.get does.
        await session.execute(
            sa.update(TelegramUser).where(TelegramUser.id == 5005).values(first_name="Li"),
            execution_options={"synchronize_session": False},
        )
        session.expire(first)
        with statements_about(sessions, "telegram_users") as sent:
            fresh = await users.get(5005)
        assert fresh is first
        assert fresh.first_name == "Li"
        assert len(sent) == 1
        # Another model's key is not this model's row.
        assert await Store(session).suggestions.get(5005) is None
