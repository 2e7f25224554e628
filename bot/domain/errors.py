"""Typed domain errors.

Each error carries a stable ``code`` so that the Telegram layer can pick the
translated message for it; the English ``str()`` is for logs only.
"""

from __future__ import annotations


class DomainError(Exception):
    code = "domain_error"

    def __init__(self, detail: str = "", **context: object) -> None:
        super().__init__(detail or self.code)
        self.detail = detail
        self.context = context


class NotFound(DomainError):
    code = "not_found"


class NotPermitted(DomainError):
    """The actor's role or relation to the item does not allow the action."""

    code = "not_permitted"


class IllegalTransition(DomainError):
    """The action is not possible from the item's current status."""

    code = "illegal_transition"


class AlreadyMoved(DomainError):
    """Somebody else moved the item after the actor last saw it."""

    code = "already_moved"


class MissingInput(DomainError):
    """A reason, answer, department or due date the action requires is missing."""

    code = "missing_input"


class InvalidInput(DomainError):
    code = "invalid_input"


class AlreadyRated(DomainError):
    code = "already_rated"


class InviteInvalid(DomainError):
    code = "invite_invalid"


class InviteExpired(DomainError):
    code = "invite_expired"


class InviteUsed(DomainError):
    code = "invite_used"


class NotAppointed(DomainError):
    """Only appointed observers may file and follow items."""

    code = "not_appointed"


class PointInactive(DomainError):
    code = "point_inactive"


class Conflict(DomainError):
    """The change would duplicate something that must be unique."""

    code = "conflict"
