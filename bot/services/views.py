"""Plain objects the services hand out: ORM rows never leave the service layer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from bot.domain.lifecycle import Action
from bot.domain.names import Name
from bot.domain.roles import Role
from bot.domain.statuses import (
    AttachmentKind,
    Behalf,
    FocusDomain,
    RatingValue,
    SuggestionKind,
    SuggestionStatus,
)
from storage.models import Attachment, Event, Rating, Suggestion
from storage.repositories.suggestions import Finding


@dataclass(frozen=True, slots=True)
class AttachmentIn:
    kind: AttachmentKind
    file_id: str
    file_unique_id: str = ""
    file_name: str | None = None
    mime_type: str | None = None


@dataclass(frozen=True, slots=True)
class Draft:
    """What the filing conversation collected, ready to submit."""

    kind: SuggestionKind
    domain: FocusDomain
    title: str
    body: str
    behalf: Behalf
    location_text: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    attachments: tuple[AttachmentIn, ...] = ()
    # The conversation's draft id: a second Confirm with the same key files nothing.
    key: str | None = None


@dataclass(frozen=True, slots=True)
class SuggestionInfo:
    id: int
    reference: str
    kind: SuggestionKind
    domain: FocusDomain
    status: SuggestionStatus
    title: str
    body: str
    behalf: Behalf
    location_text: str | None
    latitude: float | None
    longitude: float | None
    observer_id: int
    point_id: int | None
    department_id: int | None
    duplicate_of_id: int | None
    escalated_to: str | None
    disposition: SuggestionStatus | None
    submitted_at: datetime
    decision_due: date
    decided_at: datetime | None
    decided_on_time: bool | None
    implementation_due: date | None
    city_answer_due: date | None
    implemented_at: datetime | None
    implemented_on_time: bool | None
    closed_at: datetime | None
    version: int
    # The office that handles it, and the office it was reported to (the city), if any.
    office_id: int
    above_id: int | None

    @classmethod
    def of(cls, row: Suggestion) -> SuggestionInfo:
        return cls(**{name: getattr(row, name) for name in cls.__slots__})


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    at: datetime
    action: Action
    actor_role: Role
    from_status: SuggestionStatus | None
    to_status: SuggestionStatus
    text: str | None
    internal: bool
    payload: dict[str, Any]
    # Who acted, by name: filled in for the office only (cards say who did what).
    actor_name: str | None = None
    event_id: int = 0

    @classmethod
    def of(cls, row: Event, actor_name: str | None = None) -> TimelineEntry:
        return cls(
            row.created_at,
            row.action,
            row.actor_role,
            row.from_status,
            row.to_status,
            row.text,
            row.internal,
            dict(row.payload),
            actor_name,
            row.id,
        )


@dataclass(frozen=True, slots=True)
class AttachmentInfo:
    kind: AttachmentKind
    file_id: str
    file_name: str | None
    event_id: int | None

    @classmethod
    def of(cls, row: Attachment) -> AttachmentInfo:
        return cls(row.kind, row.file_id, row.file_name, row.event_id)


@dataclass(frozen=True, slots=True)
class RatingInfo:
    value: RatingValue
    comment: str | None
    at: datetime

    @classmethod
    def of(cls, row: Rating) -> RatingInfo:
        return cls(row.value, row.comment, row.created_at)


@dataclass(frozen=True, slots=True)
class SuggestionDetail:
    info: SuggestionInfo
    timeline: tuple[TimelineEntry, ...]
    attachments: tuple[AttachmentInfo, ...]
    ratings: tuple[RatingInfo, ...]
    # What the viewer may do now: the buttons to show.
    actions: tuple[Action, ...]
    point_name: Name | None
    department_name: Name | None
    # None when the viewer may not know who filed it (a liaison, unless allowed).
    observer_name: str | None


@dataclass(frozen=True, slots=True)
class Page:
    items: tuple[SuggestionInfo, ...]
    page: int
    pages: int
    total: int


class Match(StrEnum):
    """What /find matched an item by."""

    REFERENCE = "reference"
    TITLE = "title"
    TEXT = "body"
    OBSERVER = "observer"
    POINT = "point"
    DEPARTMENT = "department"


@dataclass(frozen=True, slots=True)
class Found:
    """An item /find found: what matched, and the names it was compared with."""

    info: SuggestionInfo
    matched: tuple[Match, ...]
    observer_name: str | None
    point_code: str | None
    point_name: str | None
    department_name: str | None

    @classmethod
    def of(cls, row: Finding) -> Found:
        return cls(
            SuggestionInfo.of(row.item),
            tuple(m for m in Match if m.value in row.matched),
            row.observer_name,
            row.point_code,
            row.point_name,
            row.department_name,
        )


@dataclass(frozen=True, slots=True)
class FoundPage:
    items: tuple[Found, ...]
    page: int
    pages: int
    total: int
