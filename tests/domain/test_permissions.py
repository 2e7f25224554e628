"""Who may do what: the management matrix, and who relates to which item."""

from __future__ import annotations

import pytest

from bot.domain.errors import NotPermitted
from bot.domain.lifecycle import Action as A
from bot.domain.permissions import (
    MATRIX,
    ActorView,
    ItemView,
    acting_roles,
    may_manage,
    may_view,
    relations,
    require_manage,
    visible_actions,
)
from bot.domain.permissions import Manage as M
from bot.domain.roles import Role
from bot.domain.statuses import SuggestionStatus as S

OBS, ADM, LIA, SYS = Role.OBSERVER, Role.ADMIN, Role.LIAISON, Role.SYSTEM

# Written out by hand: which role may take each management action.
EXPECTED_MATRIX: dict[M, set[Role]] = {
    M.FILE: {OBS},
    M.VIEW_ITEM: {OBS, ADM, LIA},
    M.VIEW_OBSERVER_IDENTITY: {ADM},
    M.MANAGE_POINTS: {ADM},
    M.MANAGE_DEPARTMENTS: {ADM},
    M.MANAGE_OFFICES: {ADM},
    M.RECTIFY: {ADM, SYS},
    M.MANAGE_OBSERVERS: {ADM},
    M.CREATE_INVITE: {ADM},
    M.DECIDE_APPLICATION: {ADM},
    M.APPLY: {OBS, ADM, LIA, SYS},
    M.BROADCAST: {ADM},
    M.VIEW_FIGURES: {ADM, SYS},
    M.EDIT_CALENDAR: {ADM},
    M.OVERSEE: {ADM},
}


def test_matrix_covers_every_action_exactly():
    assert set(MATRIX) == set(M)
    assert {k: set(v) for k, v in MATRIX.items()} == EXPECTED_MATRIX


@pytest.mark.parametrize(("what", "role"), [(w, r) for w in M for r in Role], ids=str)
def test_manage_matrix(what: M, role: Role):
    actor = ActorView(roles=frozenset({role}))
    allowed = role in EXPECTED_MATRIX[what]
    assert may_manage(actor, what) is allowed
    if allowed:
        require_manage(actor, what)
    else:
        with pytest.raises(NotPermitted):
            require_manage(actor, what)


@pytest.mark.parametrize("what", list(M), ids=str)
def test_nobody_without_a_role_manages_anything(what: M):
    nobody = ActorView(roles=frozenset())
    assert not may_manage(nobody, what)
    with pytest.raises(NotPermitted):
        require_manage(nobody, what)


def test_several_roles_combine():
    both = ActorView(roles=frozenset({OBS, LIA}), observer_id=1, department_ids=frozenset({2}))
    assert may_manage(both, M.FILE)
    assert not may_manage(both, M.BROADCAST)
    assert may_manage(ActorView(roles=frozenset({LIA, ADM})), M.BROADCAST)


# ---- relation to an item ------------------------------------------------------------

ALICE, BOB = 1, 2  # observer ids
ROADS, WATER = 10, 20  # department ids

alice = ActorView(roles=frozenset({OBS}), observer_id=ALICE)
bob = ActorView(roles=frozenset({OBS}), observer_id=BOB)
roads_liaison = ActorView(roles=frozenset({LIA}), department_ids=frozenset({ROADS}))
two_dept_liaison = ActorView(roles=frozenset({LIA}), department_ids=frozenset({ROADS, WATER}))
water_liaison = ActorView(roles=frozenset({LIA}), department_ids=frozenset({WATER}))
deptless_liaison = ActorView(roles=frozenset({LIA}))
admin = ActorView(roles=frozenset({ADM}))
system = ActorView(roles=frozenset({SYS}))
nobody = ActorView(roles=frozenset())
# An admin who is also an observer and a liaison of roads.
admin_observer = ActorView(roles=frozenset({ADM, OBS}), observer_id=ALICE)
observer_liaison = ActorView(
    roles=frozenset({OBS, LIA}), observer_id=BOB, department_ids=frozenset({ROADS})
)
# Role missing even though the ids match: ids alone give no relation.
ids_without_roles = ActorView(
    roles=frozenset(), observer_id=ALICE, department_ids=frozenset({ROADS})
)


def item(department: int | None = ROADS, status: S = S.IMPLEMENTING, owner: int = ALICE):
    return ItemView(observer_id=owner, department_id=department, status=status)


@pytest.mark.parametrize(
    ("actor", "the_item", "expected"),
    [
        (alice, item(), {OBS}),
        (bob, item(), set()),
        (bob, item(owner=BOB), {OBS}),
        (roads_liaison, item(ROADS), {LIA}),
        (roads_liaison, item(WATER), set()),
        (roads_liaison, item(None), set()),
        (water_liaison, item(ROADS), set()),
        (two_dept_liaison, item(ROADS), {LIA}),
        (two_dept_liaison, item(WATER), {LIA}),
        (two_dept_liaison, item(None), set()),
        (deptless_liaison, item(ROADS), set()),
        (deptless_liaison, item(None), set()),
        (admin, item(), {ADM}),
        (admin, item(None, owner=BOB), {ADM}),
        (system, item(), {SYS}),
        (nobody, item(), set()),
        (admin_observer, item(), {ADM, OBS}),
        (admin_observer, item(owner=BOB), {ADM}),
        (observer_liaison, item(ROADS, owner=BOB), {OBS, LIA}),
        (observer_liaison, item(ROADS, owner=ALICE), {LIA}),
        (observer_liaison, item(WATER, owner=BOB), {OBS}),
        (observer_liaison, item(WATER, owner=ALICE), set()),
        (ids_without_roles, item(ROADS), set()),
    ],
)
def test_relations(actor: ActorView, the_item: ItemView, expected: set[Role]):
    assert relations(actor, the_item) == frozenset(expected)


def test_observer_without_an_id_owns_nothing():
    anonymous = ActorView(roles=frozenset({OBS}), observer_id=None)
    assert relations(anonymous, item()) == frozenset()
    assert not may_view(anonymous, item())


@pytest.mark.parametrize(
    ("actor", "the_item", "expected"),
    [
        (alice, item(), True),
        (bob, item(), False),
        (roads_liaison, item(ROADS), True),
        (roads_liaison, item(WATER), False),
        (roads_liaison, item(None), False),
        (deptless_liaison, item(None), False),
        (admin, item(), True),
        (admin, item(None), True),
        (system, item(), True),
        (nobody, item(), False),
        (observer_liaison, item(WATER, owner=ALICE), False),
        (observer_liaison, item(WATER, owner=BOB), True),
        (ids_without_roles, item(ROADS), False),
    ],
)
def test_may_view(actor: ActorView, the_item: ItemView, expected: bool):
    assert may_view(actor, the_item) is expected


@pytest.mark.parametrize("status", list(S), ids=str)
def test_admin_views_every_item_in_every_status(status: S):
    for department in (None, ROADS):
        assert may_view(admin, item(department, status))


# ---- acting roles -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actor", "the_item", "action", "expected"),
    [
        # The observer withdraws only their own item.
        (alice, item(status=S.SUBMITTED), A.WITHDRAW, {OBS}),
        (bob, item(status=S.SUBMITTED), A.WITHDRAW, set()),
        (admin, item(status=S.SUBMITTED), A.WITHDRAW, set()),
        # An admin takes any item; an observer never.
        (admin, item(None, S.SUBMITTED), A.TAKE, {ADM}),
        (alice, item(status=S.SUBMITTED), A.TAKE, set()),
        # A liaison accepts only for their own department.
        (roads_liaison, item(ROADS, S.ADOPTED), A.ACCEPT, {LIA}),
        (water_liaison, item(ROADS, S.ADOPTED), A.ACCEPT, set()),
        (roads_liaison, item(None, S.ADOPTED), A.ACCEPT, set()),
        (admin, item(ROADS, S.ADOPTED), A.ACCEPT, set()),
        # Progress: either the department or the office.
        (roads_liaison, item(ROADS), A.PROGRESS, {LIA}),
        (admin, item(ROADS), A.PROGRESS, {ADM}),
        (
            ActorView(frozenset({ADM, LIA}), None, frozenset({ROADS})),
            item(ROADS),
            A.PROGRESS,
            {ADM, LIA},
        ),
        (
            ActorView(frozenset({ADM, LIA}), None, frozenset({WATER})),
            item(ROADS),
            A.PROGRESS,
            {ADM},
        ),
        (water_liaison, item(ROADS), A.PROGRESS, set()),
        (alice, item(ROADS), A.PROGRESS, set()),
        # Hand back is for the department only.
        (roads_liaison, item(ROADS), A.HAND_BACK, {LIA}),
        (admin, item(ROADS), A.HAND_BACK, set()),
        # Rating and reopening: the item's own observer.
        (alice, item(status=S.IMPLEMENTED), A.RATE, {OBS}),
        (alice, item(status=S.IMPLEMENTED), A.REOPEN, {OBS}),
        (bob, item(status=S.IMPLEMENTED), A.RATE, set()),
        (admin_observer, item(status=S.IMPLEMENTED), A.RATE, {OBS}),
        (admin_observer, item(status=S.IMPLEMENTED, owner=BOB), A.RATE, set()),
        # Closing: the office or the clock.
        (system, item(status=S.IMPLEMENTED), A.CLOSE, {SYS}),
        (admin, item(status=S.IMPLEMENTED), A.CLOSE, {ADM}),
        (alice, item(status=S.IMPLEMENTED), A.CLOSE, set()),
        (admin_observer, item(status=S.IMPLEMENTED), A.CLOSE, {ADM}),
        # Observer who is also a liaison: roles follow the relation, not the person.
        (observer_liaison, item(ROADS, S.IMPLEMENTED, owner=BOB), A.RATE, {OBS}),
        (observer_liaison, item(ROADS, S.IMPLEMENTING, owner=BOB), A.MARK_IMPLEMENTED, {LIA}),
        (observer_liaison, item(WATER, S.IMPLEMENTING, owner=BOB), A.MARK_IMPLEMENTED, set()),
        # Not possible from this status: empty whoever asks.
        (admin, item(status=S.CLOSED), A.ADOPT, set()),
        (alice, item(status=S.WITHDRAWN), A.WITHDRAW, set()),
        (system, item(status=S.SUBMITTED), A.CLOSE, set()),
        (nobody, item(status=S.SUBMITTED), A.TAKE, set()),
    ],
)
def test_acting_roles(actor: ActorView, the_item: ItemView, action: A, expected: set[Role]):
    assert acting_roles(actor, the_item, action) == frozenset(expected)


def test_visible_actions_follow_acting_roles():
    every = list(A)
    assert visible_actions(alice, item(status=S.NEEDS_INFO), every) == [
        A.ANSWER_INFO,
        A.WITHDRAW,
    ]
    assert visible_actions(bob, item(status=S.NEEDS_INFO), every) == []
    assert visible_actions(roads_liaison, item(ROADS), every) == [
        A.PROGRESS,
        A.HAND_BACK,
        A.MARK_IMPLEMENTED,
    ]
    assert visible_actions(roads_liaison, item(None), every) == []
    assert visible_actions(admin, item(status=S.WITHDRAWN), every) == []
