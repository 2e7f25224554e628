"""Role x action permissions, including who may touch which item.

The transition table says which *role* may take a lifecycle action; this module adds
the relation to the item: an observer acts only on their own items, a liaison only on
items assigned to their department. Management actions (people, places, invites)
are listed in one matrix.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from bot.domain.errors import NotPermitted
from bot.domain.lifecycle import Action, find
from bot.domain.roles import Role
from bot.domain.statuses import SuggestionStatus


class Manage(StrEnum):
    """Actions that are not moves of an item."""

    FILE = "file"
    VIEW_ITEM = "view_item"
    VIEW_OBSERVER_IDENTITY = "view_observer_identity"
    MANAGE_POINTS = "manage_points"
    MANAGE_DEPARTMENTS = "manage_departments"
    MANAGE_OBSERVERS = "manage_observers"
    CREATE_INVITE = "create_invite"
    DECIDE_APPLICATION = "decide_application"
    APPLY = "apply"
    BROADCAST = "broadcast"
    VIEW_FIGURES = "view_figures"
    EDIT_CALENDAR = "edit_calendar"
    # The office's work lists: the queue, overdue items, search across all items.
    OVERSEE = "oversee"
    # Bringing an office in below one's own (a city's districts).
    MANAGE_OFFICES = "manage_offices"
    # Raising findings for the offices below, and putting right one's own (整改).
    RECTIFY = "rectify"


MATRIX: dict[Manage, frozenset[Role]] = {
    Manage.FILE: frozenset({Role.OBSERVER}),
    Manage.VIEW_ITEM: frozenset({Role.OBSERVER, Role.ADMIN, Role.LIAISON}),
    Manage.VIEW_OBSERVER_IDENTITY: frozenset({Role.ADMIN}),
    Manage.MANAGE_POINTS: frozenset({Role.ADMIN}),
    Manage.MANAGE_DEPARTMENTS: frozenset({Role.ADMIN}),
    Manage.MANAGE_OFFICES: frozenset({Role.ADMIN}),
    Manage.RECTIFY: frozenset({Role.ADMIN, Role.SYSTEM}),
    Manage.MANAGE_OBSERVERS: frozenset({Role.ADMIN}),
    Manage.CREATE_INVITE: frozenset({Role.ADMIN}),
    Manage.DECIDE_APPLICATION: frozenset({Role.ADMIN}),
    # Anyone with a Telegram account may apply; being an observer already is checked
    # by the service, not here.
    Manage.APPLY: frozenset({Role.OBSERVER, Role.ADMIN, Role.LIAISON, Role.SYSTEM}),
    Manage.BROADCAST: frozenset({Role.ADMIN}),
    # The system too: the weekly summary and the `outpost export`/`report` commands.
    Manage.VIEW_FIGURES: frozenset({Role.ADMIN, Role.SYSTEM}),
    Manage.EDIT_CALENDAR: frozenset({Role.ADMIN}),
    Manage.OVERSEE: frozenset({Role.ADMIN}),
}


@dataclass(frozen=True, slots=True)
class ActorView:
    """What the rules need to know about whoever acts."""

    roles: frozenset[Role]
    observer_id: int | None = None
    department_ids: frozenset[int] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class ItemView:
    """What the rules need to know about the item acted upon."""

    observer_id: int
    department_id: int | None
    status: SuggestionStatus


def may_manage(actor: ActorView, what: Manage) -> bool:
    return bool(MATRIX[what] & actor.roles)


def require_manage(actor: ActorView, what: Manage) -> None:
    if not may_manage(actor, what):
        raise NotPermitted(f"{what} needs one of {sorted(MATRIX[what])}", action=what)


def relations(actor: ActorView, item: ItemView) -> frozenset[Role]:
    """The roles under which ``actor`` stands in relation to ``item``.

    An admin relates to every item; an observer only to their own; a liaison only to
    items assigned to one of their departments. The system relates to all.
    """
    held: set[Role] = set()
    if Role.ADMIN in actor.roles:
        held.add(Role.ADMIN)
    if Role.SYSTEM in actor.roles:
        held.add(Role.SYSTEM)
    if Role.OBSERVER in actor.roles and actor.observer_id == item.observer_id:
        held.add(Role.OBSERVER)
    if (
        Role.LIAISON in actor.roles
        and item.department_id is not None
        and item.department_id in actor.department_ids
    ):
        held.add(Role.LIAISON)
    return frozenset(held)


def may_view(actor: ActorView, item: ItemView) -> bool:
    return bool(relations(actor, item) - {Role.SYSTEM}) or Role.SYSTEM in actor.roles


def acting_roles(actor: ActorView, item: ItemView, action: Action) -> frozenset[Role]:
    """The roles the actor may use for ``action`` on ``item``; empty if none.

    Used both to authorise and to record in the event under which role a person acted.
    """
    row = find(item.status, action)
    if row is None:
        return frozenset()
    return row.roles & relations(actor, item)


def visible_actions(actor: ActorView, item: ItemView, actions: Iterable[Action]) -> list[Action]:
    return [a for a in actions if acting_roles(actor, item, a)]
