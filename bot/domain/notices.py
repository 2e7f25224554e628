"""Kinds of notification the outbox carries; the Telegram layer renders each one.

A notice names what happened, not how to say it: the text is chosen at delivery time
in the recipient's language.
"""

from __future__ import annotations

from enum import StrEnum

from bot.domain.lifecycle import Action


class Notice(StrEnum):
    ITEM_SUBMITTED = "item.submit"
    # An item was given to another department: the liaisons of the one it left hear.
    ITEM_REASSIGNED = "item.reassigned"
    APPLICATION_NEW = "application.new"
    APPLICATION_APPROVED = "application.approved"
    APPLICATION_REJECTED = "application.rejected"
    OBSERVER_APPOINTED = "observer.appointed"
    OBSERVER_SUSPENDED = "observer.suspended"
    OBSERVER_MOVED = "observer.moved"
    # An observer asks to move to another point (a card for the office), withdraws it
    # (the card says so), and is told of the office's decision.
    POINT_REQUESTED = "point_request.new"
    POINT_REQUEST_WITHDRAWN = "point_request.withdrawn"
    POINT_REQUEST_APPROVED = "point_request.approved"
    POINT_REQUEST_REFUSED = "point_request.refused"
    POINT_CLOSED = "point.closed"
    LIAISON_JOINED = "liaison.joined"
    # An office's group was bound through its link: the office above hears.
    OFFICE_BOUND = "office.bound"
    # An observer asked to be forgotten: the office hears they left, anonymised.
    OBSERVER_FORGOTTEN = "observer.forgotten"
    # Members of the admin group who are not its admins, and see what it shows.
    GROUP_OUTSIDERS = "group.outsiders"
    # An observer or liaison blocked the bot: their notices are held (told once).
    OBSERVER_UNREACHABLE = "observer.unreachable"
    # A message from the office to observers, and its delivery report to the office.
    BROADCAST = "broadcast"
    BROADCAST_REPORT = "broadcast.report"
    # The scheduler's: to the admin group, and to a department's liaisons.
    DECISION_DUE_SOON = "office.decision_due"
    OVERDUE_DIGEST = "office.overdue"
    WEEKLY_SUMMARY = "office.weekly"
    DEPARTMENT_DUE_SOON = "department.due_soon"
    DEPARTMENT_OVERDUE = "department.overdue"


def item_notice(action: Action) -> str:
    """The notice kind for a lifecycle move, e.g. ``item.adopt``."""
    return f"item.{action.value}"
