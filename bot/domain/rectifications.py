"""Rectification (整改): a finding the city raises for a district, followed to the end.

The city evaluates its districts (以评促建设) and names what must be put right
(以评促整改): a finding with a due date, for one district. The district accepts it,
reports progress, and marks it done with a note; the city accepts the rectification,
or sends it back with a reason, and the district goes on. One table, as for items:

```mermaid
stateDiagram-v2
    [*] --> raised: the city raises a finding (text, due date)
    raised --> accepted: accept by the district
    accepted --> accepted: progress by the district (text)
    accepted --> done: done by the district (text)
    done --> closed: approve by the city
    done --> accepted: send_back by the city (text)
    closed --> [*]
```

A rectification is overdue from the day after its due date until the city closes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.domain.errors import AlreadyMoved, MissingInput, NotPermitted


class RectStatus(StrEnum):
    RAISED = "raised"
    ACCEPTED = "accepted"
    DONE = "done"
    CLOSED = "closed"


class RectMove(StrEnum):
    ACCEPT = "accept"
    PROGRESS = "progress"
    DONE = "done"
    APPROVE = "approve"
    SEND_BACK = "send_back"


class Side(StrEnum):
    """Who moves: the district the finding is for, or the city that raised it."""

    DISTRICT = "district"
    CITY = "city"


@dataclass(frozen=True, slots=True)
class RectRow:
    source: RectStatus
    target: RectStatus
    side: Side
    needs_text: bool = False


MOVES: dict[RectMove, RectRow] = {
    RectMove.ACCEPT: RectRow(RectStatus.RAISED, RectStatus.ACCEPTED, Side.DISTRICT),
    RectMove.PROGRESS: RectRow(RectStatus.ACCEPTED, RectStatus.ACCEPTED, Side.DISTRICT, True),
    RectMove.DONE: RectRow(RectStatus.ACCEPTED, RectStatus.DONE, Side.DISTRICT, True),
    RectMove.APPROVE: RectRow(RectStatus.DONE, RectStatus.CLOSED, Side.CITY),
    RectMove.SEND_BACK: RectRow(RectStatus.DONE, RectStatus.ACCEPTED, Side.CITY, True),
}

OPEN = frozenset({RectStatus.RAISED, RectStatus.ACCEPTED, RectStatus.DONE})


def settle(status: RectStatus, move: RectMove, side: Side, text: str | None) -> RectStatus:
    """The status a rectification in ``status`` comes to by ``move`` made by ``side``.
    Raises :class:`NotPermitted` when the move is the other side's,
    :class:`AlreadyMoved` when the rectification is not where the move starts, and
    :class:`MissingInput` when the move needs words it was not given."""
    row = MOVES[move]
    if side is not row.side:
        raise NotPermitted(f"{move} is the {row.side}'s", action=move.value)
    if status is not row.source:
        raise AlreadyMoved(f"the rectification is {status}", status=status)
    if row.needs_text and not (text or "").strip():
        raise MissingInput(f"{move} needs text", field="text")
    return row.target


def moves_for(status: RectStatus, side: Side) -> list[RectMove]:
    """The moves ``side`` may make on a rectification in ``status``."""
    return [m for m, row in MOVES.items() if row.source is status and row.side is side]
