"""The vocabulary of the scheme: statuses, kinds and categories as stored values.

Values are short ASCII words because they are stored in the database and carried in
callback data; what people read comes from the catalogs, never from these values.
"""

from __future__ import annotations

from enum import StrEnum


class SuggestionStatus(StrEnum):
    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    NEEDS_INFO = "needs_info"
    ADOPTED = "adopted"
    REFERENCE = "reference"
    DECLINED = "declined"
    ESCALATED = "escalated"
    DUPLICATE = "duplicate"
    IMPLEMENTING = "implementing"
    IMPLEMENTED = "implemented"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"


# Statuses that count as "a decision was made" for the on-time decision figure.
DECIDED = frozenset(
    {
        SuggestionStatus.ADOPTED,
        SuggestionStatus.REFERENCE,
        SuggestionStatus.DECLINED,
        SuggestionStatus.ESCALATED,
        SuggestionStatus.DUPLICATE,
    }
)
TERMINAL = frozenset({SuggestionStatus.CLOSED, SuggestionStatus.WITHDRAWN})


class SuggestionKind(StrEnum):
    SUGGESTION = "suggestion"
    OPINION = "opinion"
    PROBLEM = "problem"


class FocusDomain(StrEnum):
    BUSINESS_ENVIRONMENT = "business"
    GRASSROOTS_GOVERNANCE = "governance"
    DISPUTE_RESOLUTION = "disputes"
    RULE_OF_LAW_VILLAGES = "villages"
    YOUTH_LEGAL_EDUCATION = "youth"
    OTHER = "other"


class Behalf(StrEnum):
    """On whose behalf an item is raised."""

    RESIDENTS = "residents"
    BUSINESS = "business"
    OWN = "own"


class HostKind(StrEnum):
    """The kind of organisation that hosts an observation point."""

    SERVICE_CENTRE = "service_centre"
    TRADE_ASSOCIATION = "trade_association"
    CHAMBER_OF_COMMERCE = "chamber"
    ENTERPRISE = "enterprise"
    SCHOOL = "school"
    OTHER = "other"


class ObserverStatus(StrEnum):
    NOMINATED = "nominated"
    APPOINTED = "appointed"
    SUSPENDED = "suspended"
    DISMISSED = "dismissed"


class ObserverCategory(StrEnum):
    PARTY_CONGRESS_DEPUTY = "party_deputy"
    NPC_DEPUTY = "npc_deputy"
    CPPCC_MEMBER = "cppcc_member"
    COMMUNITY_STAFF = "community_staff"
    LAWYER = "lawyer"
    PRIVATE_ENTREPRENEUR = "entrepreneur"
    FRONTLINE_BUSINESS = "frontline_business"
    FRONTLINE_GOVERNANCE = "frontline_governance"
    TRADE_ASSOCIATION_MANAGER = "association_manager"
    OTHER = "other"


class ApplicationStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    # The applicant became an observer another way (an invite, say): nothing to decide.
    SETTLED = "settled"


class InviteKind(StrEnum):
    OBSERVER = "observer"
    LIAISON = "liaison"


class RatingValue(StrEnum):
    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    DISSATISFIED = "dissatisfied"


class AttachmentKind(StrEnum):
    PHOTO = "photo"
    DOCUMENT = "document"


class DayKind(StrEnum):
    """An exception to the Monday-to-Friday week in the working-day calendar."""

    HOLIDAY = "holiday"
    WORKDAY = "workday"  # a make-up working day on a weekend (调休)
