"""Who is acting, established from the database rather than taken on trust.

Admin status is the one fact the Telegram layer supplies (it is a live
getChatMember check); observer and liaison standing are looked up here.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.permissions import ActorView
from bot.domain.roles import Role
from bot.domain.statuses import ObserverStatus
from storage.repositories.arrival import Rank
from storage.store import Store

# Suspended observers still follow, answer and rate what they filed; filing needs
# an appointment, which the filing use case checks.
_FOLLOWING = (ObserverStatus.APPOINTED, ObserverStatus.SUSPENDED)


@dataclass(frozen=True, slots=True)
class Actor:
    user_id: int | None
    view: ActorView
    # One of the deployment's operators (ADMIN_IDS) acting as an office's admin: their
    # moves are recorded as such.
    operator: bool = False

    @property
    def roles(self) -> frozenset[Role]:
        return self.view.roles

    @property
    def observer_id(self) -> int | None:
        return self.view.observer_id


SYSTEM = Actor(None, ActorView(frozenset({Role.SYSTEM})))


async def identify(
    store: Store,
    user_id: int,
    *,
    is_admin: bool = False,
    standing: Rank | None = None,
    operator: bool = False,
) -> Actor:
    """Who ``user_id`` is to the rules; ``standing`` as read already this transaction
    (``ObserverRepository.person``), else it is looked up."""
    roles: set[Role] = {Role.ADMIN} if is_admin else set()
    observer_id = None
    observer, departments = standing or await store.observers.standing_of(user_id)
    if observer is not None and observer[1] in _FOLLOWING:
        roles.add(Role.OBSERVER)
        observer_id = observer[0]
    if departments:
        roles.add(Role.LIAISON)
    return Actor(
        user_id, ActorView(frozenset(roles), observer_id, departments), is_admin and operator
    )
