"""The lifecycle table, checked against an expected table written out by hand.

``EXPECTED`` below is deliberately *not* derived from ``TRANSITIONS``: it is the
lifecycle of docs/design.md part C as this test understands it, and every status x
action x role combination is checked against the code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bot.domain.lifecycle as lifecycle_module
from bot.domain.errors import IllegalTransition, MissingInput, NotPermitted
from bot.domain.lifecycle import (
    INITIAL_STATUS,
    SUBMIT_TELLS,
    TRANSITIONS,
    Audience,
    Need,
    allowed_actions,
    find,
    mermaid,
    replay,
    transition,
)
from bot.domain.lifecycle import Action as A
from bot.domain.roles import Role
from bot.domain.statuses import TERMINAL
from bot.domain.statuses import SuggestionStatus as S

OBS, ADM, LIA, SYS = Role.OBSERVER, Role.ADMIN, Role.LIAISON, Role.SYSTEM
TEXT, DEPT, DUE, DUP, RATING = (
    Need.TEXT,
    Need.DEPARTMENT,
    Need.DUE_DATE,
    Need.DUPLICATE_OF,
    Need.RATING,
)
TO_OBS, TO_ADM, TO_LIA = Audience.OBSERVER, Audience.ADMINS, Audience.LIAISONS

ALL_NEEDS = frozenset(Need)


def row(
    target: S,
    roles: Iterable[Role],
    needs: Iterable[Need] = (),
    tell: Iterable[Audience] = (),
    internal: bool = False,
) -> tuple[S, frozenset[Role], frozenset[Need], frozenset[Audience], bool]:
    return target, frozenset(roles), frozenset(needs), frozenset(tell), internal


# (source, action) -> (target, roles, needs, tell, internal)
EXPECTED_MOVES = {
    # Filing and the first decision.
    (S.SUBMITTED, A.TAKE): row(S.IN_REVIEW, {ADM}, tell={TO_OBS, TO_ADM}),
    (S.SUBMITTED, A.WITHDRAW): row(S.WITHDRAWN, {OBS}, tell={TO_ADM}),
    (S.IN_REVIEW, A.ASK_INFO): row(S.NEEDS_INFO, {ADM}, {TEXT}, {TO_OBS, TO_ADM}),
    (S.NEEDS_INFO, A.ANSWER_INFO): row(S.SUBMITTED, {OBS}, {TEXT}, {TO_ADM}),
    (S.NEEDS_INFO, A.WITHDRAW): row(S.WITHDRAWN, {OBS}, tell={TO_ADM}),
    (S.IN_REVIEW, A.ADOPT): row(S.ADOPTED, {ADM}, {DEPT, DUE}, {TO_OBS, TO_ADM, TO_LIA}),
    (S.IN_REVIEW, A.KEEP_REFERENCE): row(S.REFERENCE, {ADM}, {TEXT}, {TO_OBS, TO_ADM}),
    (S.IN_REVIEW, A.DECLINE): row(S.DECLINED, {ADM}, {TEXT}, {TO_OBS, TO_ADM}),
    (S.IN_REVIEW, A.ESCALATE): row(S.ESCALATED, {ADM}, {TEXT}, {TO_OBS, TO_ADM}),
    (S.IN_REVIEW, A.MARK_DUPLICATE): row(S.DUPLICATE, {ADM}, {DUP}, {TO_OBS, TO_ADM}),
    # The city's answer to an escalated item.
    (S.ESCALATED, A.CITY_ADOPT): row(S.ADOPTED, {ADM}, {TEXT, DEPT, DUE}, {TO_OBS, TO_ADM, TO_LIA}),
    (S.ESCALATED, A.CITY_REFERENCE): row(S.REFERENCE, {ADM}, {TEXT}, {TO_OBS, TO_ADM}),
    (S.ESCALATED, A.CITY_DECLINE): row(S.DECLINED, {ADM}, {TEXT}, {TO_OBS, TO_ADM}),
    # The city's question back: between the offices, the observer is not told.
    (S.ESCALATED, A.CITY_RETURN): row(S.IN_REVIEW, {ADM}, {TEXT}, {TO_ADM}),
    # Implementation.
    (S.ADOPTED, A.ASSIGN): row(S.ADOPTED, {ADM}, {DEPT}, {TO_OBS, TO_ADM, TO_LIA}),
    (S.ADOPTED, A.SET_DUE): row(S.ADOPTED, {ADM}, {DUE}, {TO_ADM, TO_LIA}),
    (S.ADOPTED, A.ACCEPT): row(S.IMPLEMENTING, {LIA}, tell={TO_OBS, TO_ADM}),
    (S.IMPLEMENTING, A.PROGRESS): row(S.IMPLEMENTING, {LIA, ADM}, {TEXT}, {TO_OBS, TO_ADM}),
    (S.IMPLEMENTING, A.SET_DUE): row(S.IMPLEMENTING, {ADM}, {DUE}, {TO_ADM, TO_LIA}),
    (S.IMPLEMENTING, A.HAND_BACK): row(S.ADOPTED, {LIA}, {TEXT}, {TO_ADM}),
    (S.IMPLEMENTING, A.MARK_IMPLEMENTED): row(
        S.IMPLEMENTED, {LIA, ADM}, tell={TO_OBS, TO_ADM, TO_LIA}
    ),
    # The observer's verdict, and closing.
    (S.IMPLEMENTED, A.RATE): row(S.CLOSED, {OBS}, {RATING}, {TO_ADM}),
    (S.IMPLEMENTED, A.REOPEN): row(S.IMPLEMENTING, {OBS}, {RATING}, {TO_ADM, TO_LIA}),
    (S.IMPLEMENTED, A.CLOSE): row(S.CLOSED, {ADM, SYS}, tell={TO_OBS, TO_ADM}),
    (S.REFERENCE, A.RATE): row(S.CLOSED, {OBS}, {RATING}, {TO_ADM}),
    (S.REFERENCE, A.CLOSE): row(S.CLOSED, {ADM, SYS}, tell={TO_OBS, TO_ADM}),
    (S.DECLINED, A.RATE): row(S.CLOSED, {OBS}, {RATING}, {TO_ADM}),
    (S.DECLINED, A.CLOSE): row(S.CLOSED, {ADM, SYS}, tell={TO_OBS, TO_ADM}),
    (S.DUPLICATE, A.CLOSE): row(S.CLOSED, {ADM, SYS}, tell={TO_OBS, TO_ADM}),
    (S.CLOSED, A.RATE): row(S.CLOSED, {OBS}, {RATING}, {TO_ADM}),
    # Until the office decides, the observer may withdraw: under review too.
    (S.IN_REVIEW, A.WITHDRAW): row(S.WITHDRAWN, {OBS}, tell={TO_ADM}),
    # Dissatisfied with a decision not to adopt: the item stays for the office, which
    # may reopen it for review.
    (S.REFERENCE, A.DISPUTE): row(S.REFERENCE, {OBS}, {RATING}, {TO_ADM}),
    (S.DECLINED, A.DISPUTE): row(S.DECLINED, {OBS}, {RATING}, {TO_ADM}),
    (S.REFERENCE, A.RECONSIDER): row(S.IN_REVIEW, {ADM}, tell={TO_OBS, TO_ADM}),
    (S.DECLINED, A.RECONSIDER): row(S.IN_REVIEW, {ADM}, tell={TO_OBS, TO_ADM}),
}

# The observer adds to an item while the office or the department works on it; the
# office (and the department, if one has it) hears of it, and the status stays.
ADD_STATUSES = (S.SUBMITTED, S.IN_REVIEW, S.ESCALATED, S.ADOPTED, S.IMPLEMENTING)
EXPECTED_MOVES.update({(s, A.ADD): row(s, {OBS}, tell={TO_ADM, TO_LIA}) for s in ADD_STATUSES})

# Waiting on the observer's answer past its date: the office reminds them, decides
# without the answer, or closes the item for want of one (issue 19).
EXPECTED_MOVES.update(
    {
        (S.NEEDS_INFO, A.CHASE): row(S.NEEDS_INFO, {ADM}, tell={TO_OBS, TO_ADM}),
        (S.NEEDS_INFO, A.DECIDE_ANYWAY): row(S.IN_REVIEW, {ADM}, tell={TO_OBS, TO_ADM}),
        (S.NEEDS_INFO, A.CLOSE_UNANSWERED): row(S.CLOSED, {ADM}, {TEXT}, {TO_OBS, TO_ADM}),
    }
)

# Internal notes: an admin may note on an item in every status but withdrawn.
NOTE_STATUSES = (
    S.SUBMITTED,
    S.IN_REVIEW,
    S.NEEDS_INFO,
    S.ADOPTED,
    S.REFERENCE,
    S.DECLINED,
    S.ESCALATED,
    S.DUPLICATE,
    S.IMPLEMENTING,
    S.IMPLEMENTED,
    S.CLOSED,
)
# The office answers the observer wherever it may note; the status stays.
EXPECTED_MOVES.update(
    {(s, A.REPLY): row(s, {ADM}, {TEXT}, {TO_OBS, TO_ADM}) for s in NOTE_STATUSES}
)
EXPECTED = {
    **EXPECTED_MOVES,
    **{(s, A.NOTE): row(s, {ADM}, {TEXT}, internal=True) for s in NOTE_STATUSES},
}

ALL_CASES = [(s, a, r) for s in S for a in A for r in Role]


def _case_id(value: object) -> str:
    return str(value)


# ---- the whole table ---------------------------------------------------------------


def test_table_has_exactly_the_expected_rows():
    actual = {
        (t.source, t.action): (t.target, t.roles, t.needs, t.tell, t.internal) for t in TRANSITIONS
    }
    assert len(actual) == len(TRANSITIONS), "two rows for one (status, action)"
    assert actual == EXPECTED


@pytest.mark.parametrize(("status", "action", "role"), ALL_CASES, ids=_case_id)
def test_every_status_action_role(status: S, action: A, role: Role):
    expected = EXPECTED.get((status, action))
    if expected is None:
        with pytest.raises(IllegalTransition):
            transition(status, action, [role], ALL_NEEDS)
        assert find(status, action) is None
        assert action not in allowed_actions(status, [role])
        return
    target, roles, _needs, _tell, _internal = expected
    if role in roles:
        result = transition(status, action, [role], ALL_NEEDS)
        assert result.target is target
        assert result.source is status
        assert result.action is action
        assert action in allowed_actions(status, [role])
    else:
        with pytest.raises(NotPermitted):
            transition(status, action, [role], ALL_NEEDS)
        assert action not in allowed_actions(status, [role])


@pytest.mark.parametrize("status", list(S), ids=_case_id)
def test_no_roles_at_all_is_not_permitted(status: S):
    for action in A:
        if (status, action) in EXPECTED:
            with pytest.raises(NotPermitted):
                transition(status, action, [], ALL_NEEDS)


def test_illegal_is_checked_before_roles_and_needs():
    # An impossible move is reported as impossible, whoever asks and with what.
    with pytest.raises(IllegalTransition):
        transition(S.CLOSED, A.ADOPT, [], ())
    # A move for someone else is NotPermitted even when inputs are missing too.
    with pytest.raises(NotPermitted):
        transition(S.IN_REVIEW, A.ADOPT, [OBS], ())


def test_several_roles_act_when_one_of_them_may():
    assert transition(S.SUBMITTED, A.TAKE, [OBS, ADM]).target is S.IN_REVIEW
    assert transition(S.ADOPTED, A.ACCEPT, {ADM, LIA}).target is S.IMPLEMENTING
    with pytest.raises(NotPermitted):
        transition(S.ADOPTED, A.ACCEPT, {ADM, OBS, SYS})


def test_submit_is_never_a_table_move():
    for status in S:
        assert find(status, A.SUBMIT) is None
    assert INITIAL_STATUS is S.SUBMITTED
    assert frozenset({TO_ADM}) == SUBMIT_TELLS


@pytest.mark.parametrize(
    ("status", "roles", "expected"),
    [
        (S.SUBMITTED, [OBS], [A.WITHDRAW, A.ADD]),
        (S.SUBMITTED, [ADM], [A.TAKE, A.REPLY, A.NOTE]),
        (S.SUBMITTED, [LIA], []),
        (S.IN_REVIEW, [OBS], [A.WITHDRAW, A.ADD]),
        (
            S.IN_REVIEW,
            [ADM],
            [
                A.ASK_INFO,
                A.ADOPT,
                A.KEEP_REFERENCE,
                A.DECLINE,
                A.ESCALATE,
                A.MARK_DUPLICATE,
                A.REPLY,
                A.NOTE,
            ],
        ),
        # While the office waits for an answer, the answer is the observer's addition.
        (S.NEEDS_INFO, [OBS], [A.ANSWER_INFO, A.WITHDRAW]),
        (S.NEEDS_INFO, [LIA, SYS], []),
        (S.ADOPTED, [OBS], [A.ADD]),
        (S.ADOPTED, [LIA], [A.ACCEPT]),
        (S.IMPLEMENTING, [LIA], [A.PROGRESS, A.HAND_BACK, A.MARK_IMPLEMENTED]),
        (S.IMPLEMENTING, [OBS], [A.ADD]),
        (S.IMPLEMENTED, [OBS], [A.RATE, A.REOPEN]),
        (S.IMPLEMENTED, [SYS], [A.CLOSE]),
        (S.DECLINED, [OBS], [A.RATE, A.DISPUTE]),
        (S.DECLINED, [ADM], [A.CLOSE, A.RECONSIDER, A.REPLY, A.NOTE]),
        (S.DUPLICATE, [OBS], []),
        (S.CLOSED, [OBS], [A.RATE]),
        (S.CLOSED, [LIA, SYS], []),
        (S.WITHDRAWN, list(Role), []),
    ],
    ids=_case_id,
)
def test_allowed_actions(status: S, roles: list[Role], expected: list[A]):
    assert allowed_actions(status, roles) == expected


# ---- required inputs ----------------------------------------------------------------

NEED_CASES = [
    (source, action, need)
    for (source, action), (_t, _r, needs, _tell, _i) in EXPECTED.items()
    for need in sorted(needs)
]


@pytest.mark.parametrize(("source", "action", "need"), NEED_CASES, ids=_case_id)
def test_each_required_input_is_enforced(source: S, action: A, need: Need):
    roles = EXPECTED[(source, action)][1]
    with pytest.raises(MissingInput) as caught:
        transition(source, action, roles, ALL_NEEDS - {need})
    assert caught.value.context["missing"] == [need]


@pytest.mark.parametrize(
    ("source", "action"),
    [(s, a) for (s, a), v in EXPECTED.items() if v[2]],
    ids=_case_id,
)
def test_nothing_provided_reports_everything_missing(source: S, action: A):
    roles = EXPECTED[(source, action)][1]
    with pytest.raises(MissingInput) as caught:
        transition(source, action, roles)
    assert caught.value.context["missing"] == sorted(EXPECTED[(source, action)][2])


@pytest.mark.parametrize(
    ("source", "action", "roles"),
    [
        # docs/design.md part C: a reason/answer is mandatory for reference, declined, needs_info,
        # escalated and hand-back.
        (S.IN_REVIEW, A.KEEP_REFERENCE, [ADM]),
        (S.IN_REVIEW, A.DECLINE, [ADM]),
        (S.IN_REVIEW, A.ASK_INFO, [ADM]),
        (S.IN_REVIEW, A.ESCALATE, [ADM]),
        (S.IMPLEMENTING, A.HAND_BACK, [LIA]),
        (S.ESCALATED, A.CITY_REFERENCE, [ADM]),
        (S.ESCALATED, A.CITY_DECLINE, [ADM]),
        (S.ESCALATED, A.CITY_RETURN, [ADM]),
        (S.NEEDS_INFO, A.ANSWER_INFO, [OBS]),
        (S.NEEDS_INFO, A.CLOSE_UNANSWERED, [ADM]),
    ],
    ids=_case_id,
)
def test_reason_text_is_mandatory(source: S, action: A, roles: list[Role]):
    with pytest.raises(MissingInput):
        transition(source, action, roles, ALL_NEEDS - {TEXT})
    assert transition(source, action, roles, [TEXT]).target is EXPECTED[(source, action)][0]


def test_adopt_needs_department_and_due_date():
    with pytest.raises(MissingInput) as caught:
        transition(S.IN_REVIEW, A.ADOPT, [ADM])
    assert caught.value.context["missing"] == [DEPT, DUE]
    with pytest.raises(MissingInput):
        transition(S.IN_REVIEW, A.ADOPT, [ADM], [DEPT])
    with pytest.raises(MissingInput):
        transition(S.IN_REVIEW, A.ADOPT, [ADM], [DUE])
    assert transition(S.IN_REVIEW, A.ADOPT, [ADM], [DEPT, DUE]).target is S.ADOPTED
    with pytest.raises(MissingInput):
        transition(S.ESCALATED, A.CITY_ADOPT, [ADM], [TEXT, DUE])


def test_extra_inputs_do_no_harm():
    assert transition(S.SUBMITTED, A.TAKE, [ADM], ALL_NEEDS).target is S.IN_REVIEW


# ---- docs/design.md part C ------------------------------------------------------------

# The scheme's arrows (docs/design.md part C), with who may draw it (None: not named there).
DESIGN_EDGES = [
    (S.SUBMITTED, S.IN_REVIEW, ADM),
    (S.SUBMITTED, S.WITHDRAWN, OBS),
    (S.IN_REVIEW, S.NEEDS_INFO, ADM),
    (S.NEEDS_INFO, S.SUBMITTED, OBS),
    (S.NEEDS_INFO, S.WITHDRAWN, OBS),
    (S.IN_REVIEW, S.ADOPTED, ADM),
    (S.IN_REVIEW, S.REFERENCE, ADM),
    (S.IN_REVIEW, S.DECLINED, ADM),
    (S.IN_REVIEW, S.ESCALATED, ADM),
    (S.IN_REVIEW, S.DUPLICATE, ADM),
    (S.ESCALATED, S.ADOPTED, ADM),
    (S.ESCALATED, S.REFERENCE, ADM),
    (S.ESCALATED, S.DECLINED, ADM),
    (S.ADOPTED, S.IMPLEMENTING, LIA),
    (S.IMPLEMENTING, S.IMPLEMENTING, LIA),
    (S.IMPLEMENTING, S.IMPLEMENTED, LIA),
    (S.IMPLEMENTING, S.IMPLEMENTED, ADM),
    (S.IMPLEMENTING, S.ADOPTED, LIA),
    (S.IMPLEMENTED, S.CLOSED, OBS),
    (S.IMPLEMENTED, S.CLOSED, SYS),
    (S.REFERENCE, S.CLOSED, None),
    (S.DECLINED, S.CLOSED, None),
    (S.DUPLICATE, S.CLOSED, None),
    # Section 3's rules: "dissatisfied" on an implemented item reopens it.
    (S.IMPLEMENTED, S.IMPLEMENTING, OBS),
]


@pytest.mark.parametrize(("source", "target", "who"), DESIGN_EDGES, ids=_case_id)
def test_design_edge_is_in_the_table(source: S, target: S, who: Role | None):
    rows = [t for t in TRANSITIONS if t.source is source and t.target is target and not t.internal]
    assert rows, f"DESIGN's {source} --> {target} is missing"
    if who is not None:
        assert any(who in t.roles for t in rows), f"{who} cannot move {source} --> {target}"


def test_every_status_is_reachable_from_submitted():
    seen, frontier = {INITIAL_STATUS}, [INITIAL_STATUS]
    while frontier:
        current = frontier.pop()
        for t in TRANSITIONS:
            if t.source is current and t.target not in seen:
                seen.add(t.target)
                frontier.append(t.target)
    assert seen == set(S)


def test_closed_and_withdrawn_are_terminal():
    assert frozenset({S.CLOSED, S.WITHDRAWN}) == TERMINAL
    for t in TRANSITIONS:
        if t.source in TERMINAL:
            assert t.target is t.source, f"{t.action} leaves terminal {t.source}"
    # On a closed item the observer may only rate late, and the office only answer them.
    assert {t.action for t in TRANSITIONS if t.source is S.CLOSED and not t.internal} == {
        A.RATE,
        A.REPLY,
    }
    assert not [t for t in TRANSITIONS if t.source is S.WITHDRAWN]
    assert transition(S.CLOSED, A.RATE, [OBS], [RATING]).target is S.CLOSED


def test_only_terminal_statuses_have_no_way_out():
    for status in S:
        leaves = any(t.source is status and t.target is not status for t in TRANSITIONS)
        assert leaves is (status not in TERMINAL), status


# ---- who is told --------------------------------------------------------------------

# The office's and the department's decisions docs/design.md says the observer hears of.
OBSERVER_HEARS = [
    A.TAKE,
    A.ASK_INFO,
    A.ADOPT,
    A.KEEP_REFERENCE,
    A.DECLINE,
    A.ESCALATE,
    A.MARK_DUPLICATE,
    A.CITY_ADOPT,
    A.CITY_REFERENCE,
    A.CITY_DECLINE,
    A.ASSIGN,  # the item passed to another department (issue 19)
    A.ACCEPT,
    A.PROGRESS,
    A.MARK_IMPLEMENTED,
    A.CLOSE,
    A.RECONSIDER,
    A.REPLY,
    A.CHASE,
    A.DECIDE_ANYWAY,
    A.CLOSE_UNANSWERED,
]


@pytest.mark.parametrize("action", OBSERVER_HEARS, ids=_case_id)
def test_observer_is_told_of_decisions(action: A):
    rows = [t for t in TRANSITIONS if t.action is action]
    assert rows
    for t in rows:
        assert TO_OBS in t.tell, f"{t.source} --{action}--> {t.target} does not tell observer"
        assert not t.internal


def test_observer_is_not_told_of_own_moves():
    for t in TRANSITIONS:
        if t.roles == frozenset({OBS}):
            assert TO_OBS not in t.tell, t
            assert TO_ADM in t.tell, t


def test_notes_are_internal_and_tell_nobody():
    notes = [t for t in TRANSITIONS if t.action is A.NOTE]
    assert {t.source for t in notes} == set(NOTE_STATUSES)
    for t in notes:
        assert t.internal
        assert t.tell == frozenset()
        assert t.target is t.source
    # ...and nothing else is internal, and every other move tells someone.
    for t in TRANSITIONS:
        if t.action is not A.NOTE:
            assert not t.internal, t
            assert t.tell, t


# ---- replay -------------------------------------------------------------------------

LEGAL_LOG = [
    (None, A.SUBMIT, S.SUBMITTED),
    (S.SUBMITTED, A.NOTE, S.SUBMITTED),
    (S.SUBMITTED, A.TAKE, S.IN_REVIEW),
    (S.IN_REVIEW, A.ASK_INFO, S.NEEDS_INFO),
    (S.NEEDS_INFO, A.ANSWER_INFO, S.SUBMITTED),
    (S.SUBMITTED, A.TAKE, S.IN_REVIEW),
    (S.IN_REVIEW, A.ESCALATE, S.ESCALATED),
    (S.ESCALATED, A.CITY_ADOPT, S.ADOPTED),
    (S.ADOPTED, A.ACCEPT, S.IMPLEMENTING),
    (S.IMPLEMENTING, A.HAND_BACK, S.ADOPTED),
    (S.ADOPTED, A.ASSIGN, S.ADOPTED),
    (S.ADOPTED, A.ACCEPT, S.IMPLEMENTING),
    (S.IMPLEMENTING, A.PROGRESS, S.IMPLEMENTING),
    (S.IMPLEMENTING, A.MARK_IMPLEMENTED, S.IMPLEMENTED),
    (S.IMPLEMENTED, A.REOPEN, S.IMPLEMENTING),
    (S.IMPLEMENTING, A.MARK_IMPLEMENTED, S.IMPLEMENTED),
    (S.IMPLEMENTED, A.CLOSE, S.CLOSED),
    (S.CLOSED, A.RATE, S.CLOSED),
]


def test_replay_of_a_legal_log():
    assert replay(LEGAL_LOG) is S.CLOSED
    for n in range(1, len(LEGAL_LOG) + 1):
        assert replay(LEGAL_LOG[:n]) is LEGAL_LOG[n - 1][2]


def test_replay_of_nothing_is_nothing():
    assert replay([]) is None


@pytest.mark.parametrize(
    "log",
    [
        # Not starting with submit.
        [(S.SUBMITTED, A.TAKE, S.IN_REVIEW)],
        [(None, A.TAKE, S.IN_REVIEW)],
        # Submit twice, or submit into the wrong status.
        [(None, A.SUBMIT, S.SUBMITTED), (None, A.SUBMIT, S.SUBMITTED)],
        [(None, A.SUBMIT, S.IN_REVIEW)],
        # A step from a status the item was not in.
        [(None, A.SUBMIT, S.SUBMITTED), (S.IN_REVIEW, A.ADOPT, S.ADOPTED)],
        # A step to the wrong target.
        [(None, A.SUBMIT, S.SUBMITTED), (S.SUBMITTED, A.TAKE, S.ADOPTED)],
        # A step that is not in the table at all.
        [(None, A.SUBMIT, S.SUBMITTED), (S.SUBMITTED, A.ADOPT, S.ADOPTED)],
        # Anything after withdrawal.
        [
            (None, A.SUBMIT, S.SUBMITTED),
            (S.SUBMITTED, A.WITHDRAW, S.WITHDRAWN),
            (S.WITHDRAWN, A.NOTE, S.WITHDRAWN),
        ],
        # A gap in an otherwise legal log.
        [entry for i, entry in enumerate(LEGAL_LOG) if i != 8],
    ],
)
def test_replay_rejects_an_illegal_log(log):
    with pytest.raises(IllegalTransition):
        replay(log)


@settings(max_examples=300, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(list(A)), st.sets(st.sampled_from(list(Role)))),
        max_size=40,
    ),
    needs=st.sets(st.sampled_from(list(Need))),
)
def test_random_moves_never_reach_an_illegal_state(steps, needs):
    """docs/design.md §8: any sequence of attempts leaves a log that replays to the status."""
    status = INITIAL_STATUS
    log: list[tuple[S | None, A, S]] = [(None, A.SUBMIT, status)]
    for action, roles in steps:
        try:
            moved = transition(status, action, roles, needs)
        except (IllegalTransition, NotPermitted, MissingInput):
            continue
        assert (status, action) in EXPECTED
        assert moved.roles & roles
        assert moved.needs <= needs
        log.append((status, action, moved.target))
        status = moved.target
        assert replay(log) is status
    if any(s is S.WITHDRAWN for _, _, s in log):
        assert status is S.WITHDRAWN
    if any(s is S.CLOSED for _, _, s in log):
        assert status is S.CLOSED


# ---- the diagram file -----------------------------------------------------------------


def test_lifecycle_md_is_the_table_drawn():
    text = (Path(lifecycle_module.__file__).parent / "lifecycle.md").read_text("utf-8")
    blocks = re.findall(r"```mermaid\n(.*?)```", text, flags=re.DOTALL)
    assert len(blocks) == 1, "lifecycle.md must hold one mermaid block"
    assert blocks[0] == mermaid(), "regenerate with: python -m bot.domain.lifecycle"


def test_mermaid_draws_every_non_internal_row():
    drawn = mermaid().splitlines()
    assert drawn[0] == "stateDiagram-v2"
    assert "    [*] --> submitted: observer confirms" in drawn
    assert "    closed --> [*]" in drawn
    assert "    withdrawn --> [*]" in drawn
    assert "    in_review --> adopted: adopt by admin (department, due_date)" in drawn
    assert "    implementing --> implementing: progress by admin/liaison (text)" in drawn
    arrows = [line for line in drawn if "[*]" not in line and "-->" in line]
    assert len(arrows) == len(EXPECTED_MOVES)
    assert not [line for line in drawn if " note by " in line]


# ---- the observer's word after filing, and the office's answer (issue 19) ----------------

# Before the office decides: what counts as "a decision" is DECISIONS, taken from these.
BEFORE_DECISION = (S.SUBMITTED, S.IN_REVIEW, S.NEEDS_INFO)


@pytest.mark.parametrize("status", list(S), ids=_case_id)
def test_withdrawing_is_possible_exactly_until_a_decision(status: S):
    from bot.domain.lifecycle import DECISIONS

    offered = A.WITHDRAW in allowed_actions(status, [OBS])
    assert offered is (status in BEFORE_DECISION)
    # Every status a decision leads to is past withdrawing.
    decided = {t.target for t in TRANSITIONS if t.action in DECISIONS}
    assert not offered or status not in decided


@pytest.mark.parametrize("status", list(S), ids=_case_id)
def test_an_addition_never_moves_the_item_and_reaches_whoever_works_on_it(status: S):
    row = find(status, A.ADD)
    if status not in ADD_STATUSES:
        assert row is None
        return
    assert row is not None
    assert row.target is status
    assert row.roles == frozenset({OBS})
    assert row.tell == frozenset({TO_ADM, TO_LIA})
    # Files alone are an addition too: no words are required by the table.
    assert row.needs == frozenset()


def test_a_dispute_keeps_the_item_open_for_the_office_to_reopen_or_close():
    for status in (S.REFERENCE, S.DECLINED):
        disputed = transition(status, A.DISPUTE, [OBS], [RATING])
        assert disputed.target is status
        assert A.RECONSIDER in allowed_actions(disputed.target, [ADM])
        assert A.CLOSE in allowed_actions(disputed.target, [ADM])
        assert transition(status, A.RECONSIDER, [ADM]).target is S.IN_REVIEW
    # An item implemented is reopened by the observer's own rating, not the office's;
    # a closed one stays closed (the office may still answer).
    for status in (S.IMPLEMENTED, S.IMPLEMENTING, S.CLOSED, S.DUPLICATE):
        assert find(status, A.RECONSIDER) is None
        assert find(status, A.DISPUTE) is None
    assert transition(S.CLOSED, A.REPLY, [ADM], [TEXT]).target is S.CLOSED


def test_the_office_answers_with_words_wherever_it_may_note():
    for status in S:
        note, reply = find(status, A.NOTE), find(status, A.REPLY)
        assert (note is None) is (reply is None), status
        if reply is not None:
            assert reply.target is status
            assert reply.needs == frozenset({TEXT})
            assert TO_OBS in reply.tell
    with pytest.raises(MissingInput):
        transition(S.DECLINED, A.REPLY, [ADM])
    with pytest.raises(NotPermitted):
        transition(S.DECLINED, A.REPLY, [OBS], [TEXT])


def test_replay_of_an_exchange_after_filing():
    log = [
        (None, A.SUBMIT, S.SUBMITTED),
        (S.SUBMITTED, A.ADD, S.SUBMITTED),
        (S.SUBMITTED, A.REPLY, S.SUBMITTED),
        (S.SUBMITTED, A.TAKE, S.IN_REVIEW),
        (S.IN_REVIEW, A.ADD, S.IN_REVIEW),
        (S.IN_REVIEW, A.DECLINE, S.DECLINED),
        (S.DECLINED, A.DISPUTE, S.DECLINED),
        (S.DECLINED, A.REPLY, S.DECLINED),
        (S.DECLINED, A.RECONSIDER, S.IN_REVIEW),
        (S.IN_REVIEW, A.WITHDRAW, S.WITHDRAWN),
    ]
    assert replay(log) is S.WITHDRAWN
    with pytest.raises(IllegalTransition):
        replay([(None, A.SUBMIT, S.SUBMITTED), (S.SUBMITTED, A.ADD, S.IN_REVIEW)])


# ---- waiting on the observer (issue 19, point 9) -----------------------------------------


def test_the_office_has_a_way_on_from_an_item_waiting_on_the_observer():
    offered = allowed_actions(S.NEEDS_INFO, [ADM])
    for action in (A.CHASE, A.DECIDE_ANYWAY, A.CLOSE_UNANSWERED):
        assert action in offered
    # A reminder leaves the item waiting; deciding anyway is back to the decisions.
    assert transition(S.NEEDS_INFO, A.CHASE, [ADM]).target is S.NEEDS_INFO
    back = transition(S.NEEDS_INFO, A.DECIDE_ANYWAY, [ADM]).target
    assert back is S.IN_REVIEW
    assert {A.ADOPT, A.KEEP_REFERENCE, A.DECLINE} <= set(allowed_actions(back, [ADM]))
    # Closing for no answer needs the office's reason; only the office may.
    with pytest.raises(MissingInput):
        transition(S.NEEDS_INFO, A.CLOSE_UNANSWERED, [ADM])
    assert transition(S.NEEDS_INFO, A.CLOSE_UNANSWERED, [ADM], [TEXT]).target is S.CLOSED
    for who in (OBS, LIA, SYS):
        for action in (A.CHASE, A.DECIDE_ANYWAY, A.CLOSE_UNANSWERED):
            with pytest.raises(NotPermitted):
                transition(S.NEEDS_INFO, action, [who], ALL_NEEDS)
    # Nowhere else: these are moves of an item the office waits on.
    for status in S:
        if status is not S.NEEDS_INFO:
            for action in (A.CHASE, A.DECIDE_ANYWAY, A.CLOSE_UNANSWERED):
                assert find(status, action) is None


def test_replay_of_a_question_never_answered():
    asked = [
        (None, A.SUBMIT, S.SUBMITTED),
        (S.SUBMITTED, A.TAKE, S.IN_REVIEW),
        (S.IN_REVIEW, A.ASK_INFO, S.NEEDS_INFO),
        (S.NEEDS_INFO, A.CHASE, S.NEEDS_INFO),
        (S.NEEDS_INFO, A.CHASE, S.NEEDS_INFO),
    ]
    assert replay([*asked, (S.NEEDS_INFO, A.CLOSE_UNANSWERED, S.CLOSED)]) is S.CLOSED
    decided = [
        *asked,
        (S.NEEDS_INFO, A.DECIDE_ANYWAY, S.IN_REVIEW),
        (S.IN_REVIEW, A.DECLINE, S.DECLINED),
    ]
    assert replay(decided) is S.DECLINED
    with pytest.raises(IllegalTransition):
        replay([*asked, (S.NEEDS_INFO, A.DECIDE_ANYWAY, S.NEEDS_INFO)])
