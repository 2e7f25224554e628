"""A change of observation point: the observer asks, the office decides.

An observer's items are counted at the point they were filed from, and the points and
their observers are evaluated on those figures; so an observer moves to another open
point only when the office approves. One table, as for items:

```mermaid
stateDiagram-v2
    [*] --> pending: observer asks (after confirming)
    pending --> approved: approve by admin (the observer's point changes)
    pending --> refused: refuse by admin
    pending --> withdrawn: withdraw by observer (or a newer request of theirs)
    approved --> [*]
    refused --> [*]
    withdrawn --> [*]
```

An observer has at most one pending request: asking again withdraws the one before.
An observer whose point was closed (or who has none) is not asking to leave a point:
they choose the next one themselves, at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.domain.errors import AlreadyMoved, NotPermitted
from bot.domain.roles import Role


class RequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"


class RequestMove(StrEnum):
    APPROVE = "approve"
    REFUSE = "refuse"
    WITHDRAW = "withdraw"


@dataclass(frozen=True, slots=True)
class RequestRow:
    source: RequestStatus
    target: RequestStatus
    roles: frozenset[Role]


MOVES: dict[RequestMove, RequestRow] = {
    RequestMove.APPROVE: RequestRow(
        RequestStatus.PENDING, RequestStatus.APPROVED, frozenset({Role.ADMIN})
    ),
    RequestMove.REFUSE: RequestRow(
        RequestStatus.PENDING, RequestStatus.REFUSED, frozenset({Role.ADMIN})
    ),
    RequestMove.WITHDRAW: RequestRow(
        RequestStatus.PENDING, RequestStatus.WITHDRAWN, frozenset({Role.OBSERVER})
    ),
}


def settle(status: RequestStatus, move: RequestMove, roles: frozenset[Role]) -> RequestStatus:
    """The status a request in ``status`` comes to by ``move``. Raises
    :class:`AlreadyMoved` when it is no longer pending, :class:`NotPermitted` when the
    move is not for ``roles``."""
    row = MOVES[move]
    if not row.roles & roles:
        raise NotPermitted(f"{move} is not for {sorted(roles)}", action=move.value)
    if status is not row.source:
        raise AlreadyMoved(f"the request is {status}", status=status)
    return row.target
