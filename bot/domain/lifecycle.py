"""The suggestion lifecycle: one transition table and the one function that applies it.

``lifecycle.md`` beside this file draws the same table as a Mermaid diagram; a test
checks that the two agree. Nothing else in the project decides a status.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.errors import IllegalTransition, MissingInput, NotPermitted
from bot.domain.roles import Role
from bot.domain.statuses import SuggestionStatus as S


class Action(StrEnum):
    SUBMIT = "submit"
    TAKE = "take"
    ASK_INFO = "ask_info"
    ANSWER_INFO = "answer_info"
    WITHDRAW = "withdraw"
    ADOPT = "adopt"
    KEEP_REFERENCE = "keep_reference"
    DECLINE = "decline"
    ESCALATE = "escalate"
    MARK_DUPLICATE = "mark_duplicate"
    CITY_ADOPT = "city_adopt"
    CITY_REFERENCE = "city_reference"
    CITY_DECLINE = "city_decline"
    # The city hands an item reported to it back to its district, with a question.
    CITY_RETURN = "city_return"
    ASSIGN = "assign"
    SET_DUE = "set_due"
    ACCEPT = "accept"
    PROGRESS = "progress"
    HAND_BACK = "hand_back"
    MARK_IMPLEMENTED = "mark_implemented"
    RATE = "rate"
    REOPEN = "reopen"
    CLOSE = "close"
    NOTE = "note"
    # The observer's addition to an open item, and their dissatisfaction with a decision
    # not to adopt; the office's reopening of such a decision, and its answer to them.
    ADD = "add"
    DISPUTE = "dispute"
    RECONSIDER = "reconsider"
    REPLY = "reply"
    # While the office waits on the observer's answer: it reminds them, goes on to its
    # decision without the answer, or closes the item for want of one.
    CHASE = "chase"
    DECIDE_ANYWAY = "decide_anyway"
    CLOSE_UNANSWERED = "close_unanswered"


class Need(StrEnum):
    """Input an action cannot take effect without."""

    TEXT = "text"
    DEPARTMENT = "department"
    DUE_DATE = "due_date"
    DUPLICATE_OF = "duplicate_of"
    RATING = "rating"


class Audience(StrEnum):
    """Who is told of a move through the outbox."""

    OBSERVER = "observer"
    ADMINS = "admins"
    LIAISONS = "liaisons"


@dataclass(frozen=True, slots=True)
class Transition:
    source: S
    action: Action
    target: S
    roles: frozenset[Role]
    needs: frozenset[Need] = frozenset()
    tell: frozenset[Audience] = frozenset()
    # Internal moves (notes) are never part of the observer's timeline.
    internal: bool = False


def _t(
    source: S,
    action: Action,
    target: S,
    roles: Iterable[Role],
    needs: Iterable[Need] = (),
    tell: Iterable[Audience] = (),
    *,
    internal: bool = False,
) -> Transition:
    return Transition(
        source, action, target, frozenset(roles), frozenset(needs), frozenset(tell), internal
    )


OBS, ADM, LIA, SYS = Role.OBSERVER, Role.ADMIN, Role.LIAISON, Role.SYSTEM
TEXT, DEPT, DUE = Need.TEXT, Need.DEPARTMENT, Need.DUE_DATE
TO_OBS, TO_ADM, TO_LIA = Audience.OBSERVER, Audience.ADMINS, Audience.LIAISONS

# Statuses in which an admin may leave an internal note: all but withdrawn, which the
# observer took back. Closed items still gather notes for the yearly review.
_NOTE_SOURCES = tuple(s for s in S if s is not S.WITHDRAWN)
# Statuses in which the observer may add text and files: while the office or the
# department still works on it. Not while the office waits for an answer (the answer
# carries it), nor once it came to an outcome (a rating's comment carries it then).
_ADD_SOURCES = (S.SUBMITTED, S.IN_REVIEW, S.ESCALATED, S.ADOPTED, S.IMPLEMENTING)
# The office answers the observer (an addition, a rating's comment) wherever it notes.
_REPLY_SOURCES = _NOTE_SOURCES

TRANSITIONS: tuple[Transition, ...] = (
    # Filing and the first decision.
    _t(S.SUBMITTED, Action.TAKE, S.IN_REVIEW, [ADM], tell=[TO_OBS, TO_ADM]),
    _t(S.SUBMITTED, Action.WITHDRAW, S.WITHDRAWN, [OBS], tell=[TO_ADM]),
    _t(S.IN_REVIEW, Action.ASK_INFO, S.NEEDS_INFO, [ADM], [TEXT], [TO_OBS, TO_ADM]),
    _t(S.NEEDS_INFO, Action.ANSWER_INFO, S.SUBMITTED, [OBS], [TEXT], [TO_ADM]),
    _t(S.NEEDS_INFO, Action.WITHDRAW, S.WITHDRAWN, [OBS], tell=[TO_ADM]),
    # No answer by the date the observer was given: the office reminds them (a new
    # date), decides without the answer, or closes the item with a reason.
    _t(S.NEEDS_INFO, Action.CHASE, S.NEEDS_INFO, [ADM], tell=[TO_OBS, TO_ADM]),
    _t(S.NEEDS_INFO, Action.DECIDE_ANYWAY, S.IN_REVIEW, [ADM], tell=[TO_OBS, TO_ADM]),
    _t(S.NEEDS_INFO, Action.CLOSE_UNANSWERED, S.CLOSED, [ADM], [TEXT], [TO_OBS, TO_ADM]),
    # Withdrawing is possible until the office decides: under review too.
    _t(S.IN_REVIEW, Action.WITHDRAW, S.WITHDRAWN, [OBS], tell=[TO_ADM]),
    _t(S.IN_REVIEW, Action.ADOPT, S.ADOPTED, [ADM], [DEPT, DUE], [TO_OBS, TO_ADM, TO_LIA]),
    _t(S.IN_REVIEW, Action.KEEP_REFERENCE, S.REFERENCE, [ADM], [TEXT], [TO_OBS, TO_ADM]),
    _t(S.IN_REVIEW, Action.DECLINE, S.DECLINED, [ADM], [TEXT], [TO_OBS, TO_ADM]),
    _t(S.IN_REVIEW, Action.ESCALATE, S.ESCALATED, [ADM], [TEXT], [TO_OBS, TO_ADM]),
    _t(
        S.IN_REVIEW,
        Action.MARK_DUPLICATE,
        S.DUPLICATE,
        [ADM],
        [Need.DUPLICATE_OF],
        [TO_OBS, TO_ADM],
    ),
    # The city's answer to an escalated item.
    _t(
        S.ESCALATED,
        Action.CITY_ADOPT,
        S.ADOPTED,
        [ADM],
        [TEXT, DEPT, DUE],
        [TO_OBS, TO_ADM, TO_LIA],
    ),
    _t(S.ESCALATED, Action.CITY_REFERENCE, S.REFERENCE, [ADM], [TEXT], [TO_OBS, TO_ADM]),
    _t(S.ESCALATED, Action.CITY_DECLINE, S.DECLINED, [ADM], [TEXT], [TO_OBS, TO_ADM]),
    # Or the city hands it back to the district with a question: the district reviews it
    # again (a new decision clock) and may report it again with the answer.
    _t(S.ESCALATED, Action.CITY_RETURN, S.IN_REVIEW, [ADM], [TEXT], [TO_ADM]),
    # Implementation by the responsible department.
    # The observer hears which department has the item now (the one it left is told
    # by the service: bot.services.notify.to_former_department).
    _t(S.ADOPTED, Action.ASSIGN, S.ADOPTED, [ADM], [DEPT], [TO_OBS, TO_ADM, TO_LIA]),
    _t(S.ADOPTED, Action.SET_DUE, S.ADOPTED, [ADM], [DUE], [TO_ADM, TO_LIA]),
    _t(S.ADOPTED, Action.ACCEPT, S.IMPLEMENTING, [LIA], tell=[TO_OBS, TO_ADM]),
    _t(S.IMPLEMENTING, Action.PROGRESS, S.IMPLEMENTING, [LIA, ADM], [TEXT], [TO_OBS, TO_ADM]),
    _t(S.IMPLEMENTING, Action.SET_DUE, S.IMPLEMENTING, [ADM], [DUE], [TO_ADM, TO_LIA]),
    _t(S.IMPLEMENTING, Action.HAND_BACK, S.ADOPTED, [LIA], [TEXT], [TO_ADM]),
    _t(
        S.IMPLEMENTING,
        Action.MARK_IMPLEMENTED,
        S.IMPLEMENTED,
        [LIA, ADM],
        tell=[TO_OBS, TO_ADM, TO_LIA],
    ),
    # The observer's verdict, and closing.
    _t(S.IMPLEMENTED, Action.RATE, S.CLOSED, [OBS], [Need.RATING], [TO_ADM]),
    # Reopening drops the due date the department missed or met: the item comes back
    # to the office, which sets a new one (set_due) before it can be overdue again.
    _t(S.IMPLEMENTED, Action.REOPEN, S.IMPLEMENTING, [OBS], [Need.RATING], [TO_ADM, TO_LIA]),
    _t(S.IMPLEMENTED, Action.CLOSE, S.CLOSED, [ADM, SYS], tell=[TO_OBS, TO_ADM]),
    _t(S.REFERENCE, Action.RATE, S.CLOSED, [OBS], [Need.RATING], [TO_ADM]),
    _t(S.REFERENCE, Action.CLOSE, S.CLOSED, [ADM, SYS], tell=[TO_OBS, TO_ADM]),
    _t(S.DECLINED, Action.RATE, S.CLOSED, [OBS], [Need.RATING], [TO_ADM]),
    _t(S.DECLINED, Action.CLOSE, S.CLOSED, [ADM, SYS], tell=[TO_OBS, TO_ADM]),
    _t(S.DUPLICATE, Action.CLOSE, S.CLOSED, [ADM, SYS], tell=[TO_OBS, TO_ADM]),
    # A rating may still come after the office or the clock closed the item.
    _t(S.CLOSED, Action.RATE, S.CLOSED, [OBS], [Need.RATING], [TO_ADM]),
    # A dissatisfied rating of a decision not to adopt keeps the item open for the
    # office, which may reopen it for review (or answer, then close it).
    _t(S.REFERENCE, Action.DISPUTE, S.REFERENCE, [OBS], [Need.RATING], [TO_ADM]),
    _t(S.DECLINED, Action.DISPUTE, S.DECLINED, [OBS], [Need.RATING], [TO_ADM]),
    _t(S.REFERENCE, Action.RECONSIDER, S.IN_REVIEW, [ADM], tell=[TO_OBS, TO_ADM]),
    _t(S.DECLINED, Action.RECONSIDER, S.IN_REVIEW, [ADM], tell=[TO_OBS, TO_ADM]),
    # The observer's additions, and the office's answers to the observer.
    *(_t(s, Action.ADD, s, [OBS], tell=[TO_ADM, TO_LIA]) for s in _ADD_SOURCES),
    *(_t(s, Action.REPLY, s, [ADM], [TEXT], [TO_OBS, TO_ADM]) for s in _REPLY_SOURCES),
    # Internal notes, for the office only.
    *(_t(s, Action.NOTE, s, [ADM], [TEXT], internal=True) for s in _NOTE_SOURCES),
)

# The office's decisions on an item: the latest is what the item came to (its
# disposition), which its status forgets once it closes.
DECISIONS = frozenset(
    {
        Action.ADOPT,
        Action.KEEP_REFERENCE,
        Action.DECLINE,
        Action.ESCALATE,
        Action.MARK_DUPLICATE,
        Action.CITY_ADOPT,
        Action.CITY_REFERENCE,
        Action.CITY_DECLINE,
    }
)

# The one entry point into the lifecycle.
INITIAL_STATUS = S.SUBMITTED
SUBMIT_TELLS = frozenset({Audience.ADMINS})

_BY_KEY: dict[tuple[S, Action], Transition] = {}
for _row in TRANSITIONS:
    if (_row.source, _row.action) in _BY_KEY:  # pragma: no cover - guards the table itself
        raise RuntimeError(f"two rows for {_row.source} + {_row.action}")
    _BY_KEY[(_row.source, _row.action)] = _row


def find(source: S, action: Action) -> Transition | None:
    return _BY_KEY.get((source, action))


def allowed_actions(status: S, roles: Iterable[Role]) -> list[Action]:
    """The actions the given roles may take on an item in ``status``, in table order."""
    wanted = frozenset(roles)
    return [t.action for t in TRANSITIONS if t.source is status and t.roles & wanted]


def transition(
    status: S, action: Action, roles: Iterable[Role], provided: Iterable[Need] = ()
) -> Transition:
    """Check that ``roles`` may take ``action`` from ``status`` with the inputs given.

    Returns the table row, whose ``target`` is the new status. Raises
    :class:`IllegalTransition`, :class:`NotPermitted` or :class:`MissingInput`.
    """
    row = _BY_KEY.get((status, action))
    if row is None:
        raise IllegalTransition(f"{action} is not possible from {status}", status=status)
    if not row.roles & frozenset(roles):
        raise NotPermitted(f"{action} is not for {sorted(roles)}", action=action)
    missing = row.needs - frozenset(provided)
    if missing:
        raise MissingInput(f"{action} needs {sorted(missing)}", missing=sorted(missing))
    return row


def replay(actions: Iterable[tuple[S | None, Action, S]]) -> S | None:
    """Fold an event log (from, action, to) into the current status.

    Raises :class:`IllegalTransition` if a step does not follow from the one before,
    so a log that replays cleanly is a log the table could have written.
    """
    current: S | None = None
    for source, action, target in actions:
        if action is Action.SUBMIT:
            if current is not None or target is not INITIAL_STATUS:
                raise IllegalTransition("submit must start the log")
            current = target
            continue
        if source is not current:
            raise IllegalTransition(f"event from {source} but item was {current}")
        row = _BY_KEY.get((source, action)) if source is not None else None
        if row is None or row.target is not target:
            raise IllegalTransition(f"no row {source} --{action}--> {target}")
        current = target
    return current


def mermaid() -> str:
    """The table drawn as a Mermaid state diagram (internal notes left out)."""
    lines = ["stateDiagram-v2", f"    [*] --> {INITIAL_STATUS}: observer confirms"]
    for row in TRANSITIONS:
        if row.internal:
            continue
        who = "/".join(sorted(r.value for r in row.roles))
        needs = f" ({', '.join(sorted(n.value for n in row.needs))})" if row.needs else ""
        lines.append(f"    {row.source} --> {row.target}: {row.action} by {who}{needs}")
    lines.extend(f"    {s} --> [*]" for s in (S.CLOSED, S.WITHDRAWN))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(mermaid(), end="")
