"""Personal data in the services: who may see a phone number, what anonymising an
observer changes and keeps, which applications are erased when, and when the group is
warned of its members who are not admins. Each call is one transaction."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from bot.domain.errors import Conflict, NotPermitted
from bot.domain.notices import Notice
from bot.domain.roles import Role
from bot.domain.statuses import ApplicationStatus, ObserverCategory, ObserverStatus
from bot.services.cards import APPLICATION, ITEM
from bot.services.people import PeopleService
from bot.services.privacy import Forgotten, Phone, PrivacyService
from bot.services.suggestions import SuggestionService
from storage.models import Application, Card, Observer, OutboxMessage, PrivacyRecord
from storage.store import Store
from tests.harness import Harness
from tests.world import ADMIN, ALICE, BOB, POLICY, STRANGER, FixedClock, actor, build_world, draft

GROUP = -100500
ANONYMOUS = "Anonymised observer"


class Env(Harness):
    service = PrivacyService

    async def people(self, user_id: int | None, method: str, *args: Any, **kwargs: Any) -> Any:
        async def go(store: Store) -> Any:
            people = PeopleService(store, POLICY, self.clock)
            if user_id is None:
                return await getattr(people, method)(*args, **kwargs)
            who = await actor(store, user_id, admin=user_id == ADMIN)
            return await getattr(people, method)(who, *args, **kwargs)

        return await self.run(go)

    async def privacy(self, method: str, *args: Any, **kwargs: Any) -> Any:
        async def go(store: Store) -> Any:
            return await getattr(PrivacyService(store, POLICY, self.clock), method)(*args, **kwargs)

        return await self.run(go)

    async def apply(self, user_id: int) -> int:
        application = await self.people(
            None, "apply", user_id, name=f"Applicant {user_id}", phone="13900000009",
            category=ObserverCategory.LAWYER, desired_point_id=self.world.point_id,
        )  # fmt: skip
        return int(application.id)

    async def card(self, subject: str, subject_id: int) -> None:
        message_id = 100 + await self.count(Card)
        await self.add(Card(chat_id=GROUP, message_id=message_id, subject=subject,
                            subject_id=subject_id, digest="d"))  # fmt: skip


@pytest.fixture
async def env(sessions: Any) -> Env:
    return Env(sessions, await build_world(sessions), FixedClock())


async def log(env: Env) -> list[tuple[str, str, int, int | None, dict[str, Any]]]:
    rows = await env.scalars(sa.select(PrivacyRecord).order_by(PrivacyRecord.id))
    return [(r.action, r.subject, r.subject_id, r.actor_user_id, r.payload) for r in rows]


async def test_a_phone_number_is_for_admins_and_each_look_is_recorded(env: Env) -> None:
    alice_id, bob_id = env.world.alice_observer_id, env.world.bob_observer_id
    with pytest.raises(NotPermitted):
        await env.by(ALICE).phone("observer", alice_id)
    app_id = await env.apply(STRANGER)
    with pytest.raises(NotPermitted):
        await env.by(BOB).phone("application", app_id)
    assert await log(env) == []

    assert await env.admin.phone("observer", alice_id) == Phone("Alice", "13800000001")
    assert await env.admin.phone("application", app_id) == Phone(
        f"Applicant {STRANGER}", "13900000009"
    )
    # Bob has none: nothing was seen, nothing is recorded.
    assert await env.admin.phone("observer", bob_id) == Phone("Bob", "")
    assert await log(env) == [
        ("phone_shown", "observer", alice_id, ADMIN, {}),
        ("phone_shown", "application", app_id, ADMIN, {}),
    ]


async def test_an_observer_who_asks_is_anonymised_and_their_items_kept(env: Env) -> None:
    alice_id = env.world.alice_observer_id
    item = await _submit(env, ALICE)
    await env.card(ITEM, item)
    # The office's notices about her name her; one to her is still waiting.
    await env.people(ADMIN, "move", alice_id, env.world.other_point_id)
    [told_office] = await env.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.kind == Notice.OBSERVER_MOVED.value,
                                       OutboxMessage.chat_id.is_(None))
    )  # fmt: skip
    assert told_office.payload["name"] == "Alice"
    assert await env.privacy("held", ALICE) == _held(alice_id, 0)

    forgotten = await env.privacy("forget_me", ALICE, name=ANONYMOUS)
    assert (forgotten.observer_id, forgotten.applications) == (alice_id, 0)

    alice = await env.get(Observer, alice_id)
    assert (alice.name, alice.phone, alice.user_id, alice.status) == (
        ANONYMOUS,
        "",
        None,
        ObserverStatus.DISMISSED,
    )
    assert alice.term_end == env.clock.now.date()
    assert Role.OBSERVER not in (await env.run(lambda store: actor(store, ALICE))).roles
    # The office's notices call her what she is called now; nothing more goes to her.
    assert (await env.get(OutboxMessage, told_office.id)).payload["name"] == ANONYMOUS
    to_her = await env.scalars(sa.select(OutboxMessage).where(OutboxMessage.chat_id == ALICE))
    assert [(r.kind, r.state) for r in to_her] == [(Notice.OBSERVER_MOVED.value, "failed")]
    last = (await env.outbox())[-1]
    assert (last.kind, last.chat_id, last.payload) == (
        Notice.OBSERVER_FORGOTTEN.value,
        None,
        {"observer_id": alice_id},
    )
    # Her item stays hers, its card is drawn again, and its history names nobody.
    [card] = await env.scalars(sa.select(Card))
    assert card.resync_at is not None
    detail = await env.run(lambda store: _detail(store, env, item))
    assert detail.info.observer_id == alice_id
    assert detail.observer_name == ANONYMOUS
    assert [e.actor_name for e in detail.timeline] == [None]
    assert await log(env) == [("anonymised", "observer", alice_id, None, {"why": "asked"})]
    # Nothing left to forget.
    assert await env.privacy("held", ALICE) == _held(None, 0)


async def test_the_office_removes_an_observer_once(env: Env) -> None:
    bob_id = env.world.bob_observer_id
    with pytest.raises(NotPermitted):
        await env.by(ALICE).remove(bob_id, name=ANONYMOUS)
    removed = await env.admin.remove(bob_id, name=ANONYMOUS)
    assert (removed.name, removed.user_id, removed.status) == (
        ANONYMOUS,
        None,
        ObserverStatus.DISMISSED,
    )
    with pytest.raises(Conflict):
        await env.admin.remove(bob_id, name=ANONYMOUS)
    kept = await env.admin.kept(bob_id)
    assert (kept.anonymised_at, kept.name, kept.phone, kept.account) == (
        env.clock.now,
        False,
        False,
        False,
    )
    assert await log(env) == [("anonymised", "observer", bob_id, ADMIN, {"why": "removed"})]


async def test_applications_not_approved_are_erased_once_their_time_is_up(env: Env) -> None:
    waiting = await env.apply(STRANGER)
    rejected = await env.apply(7001)
    approved = await env.apply(7002)
    for application in (waiting, rejected, approved):
        await env.card(APPLICATION, application)
    env.clock.advance(days=30)
    await env.people(ADMIN, "reject", rejected, "Not this year.")
    await env.people(ADMIN, "approve", approved)

    # Filed 90 days ago and never decided: erased; rejected 60 days ago: kept for now.
    env.clock.advance(days=60, seconds=1)
    done = await env.privacy("housekeeping")
    assert done.erased == [waiting]
    assert await env.get(Application, waiting) is None
    env.clock.advance(days=29)
    assert (await env.privacy("housekeeping")).erased == []
    env.clock.advance(days=1)
    assert (await env.privacy("housekeeping")).erased == [rejected]
    # An approved application is how an observer came in: it stays.
    assert (await env.get(Application, approved)).status is ApplicationStatus.APPROVED
    assert await log(env) == [
        ("erased", "application", waiting, None, {"status": "pending"}),
        ("erased", "application", rejected, None, {"status": "rejected"}),
    ]
    # The erased ones' cards are drawn again (as erased); the approved one's is not.
    cards = {c.subject_id: c.resync_at for c in await env.scalars(sa.select(Card))}
    assert cards[waiting] is not None
    assert cards[rejected] is not None
    assert cards[approved] is None


async def test_the_group_is_warned_when_the_number_of_outsiders_changes(env: Env) -> None:
    said = []
    for count in (0, 2, 2, 0, 2, 3):
        said.append(await env.privacy("outsiders", GROUP, count))
    assert said == [False, True, False, False, True, True]
    warnings = [r.payload for r in await env.outbox() if r.kind == Notice.GROUP_OUTSIDERS.value]
    assert warnings == [{"count": 2}, {"count": 2}, {"count": 3}]
    noted = [p["count"] for a, _s, _i, _b, p in await log(env) if a == "outsiders"]
    assert noted == [2, 0, 2, 3]
    # Noted without queuing (what /help does, saying it itself).
    assert await env.privacy("outsiders", GROUP, 4, queue=False)
    assert len(await env.outbox()) == 3


async def _submit(env: Env, user_id: int) -> int:
    async def go(store: Store) -> int:
        who = await actor(store, user_id)
        return int((await SuggestionService(store, POLICY, env.clock).submit(who, draft())).id)

    return await env.run(go)


async def _detail(store: Store, env: Env, item_id: int) -> Any:
    office = await actor(store, ADMIN, admin=True)
    return await SuggestionService(store, POLICY, env.clock).detail(office, item_id)


def _held(observer_id: int | None, applications: int) -> Forgotten:
    return Forgotten(observer_id, applications)
