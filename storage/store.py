"""The repository holder: one per transaction, handed to the services.

Only the owner of the session (the update middleware, a CLI command, a test) commits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar, overload

from sqlalchemy.ext.asyncio import AsyncSession

from storage.repositories.calendar import CalendarRepository
from storage.repositories.cards import BroadcastRepository, CardRepository, UnsurePostRepository
from storage.repositories.figures import FiguresRepository
from storage.repositories.languages import ChatLanguageRepository
from storage.repositories.offices import OfficeRepository
from storage.repositories.outbox import OutboxRepository
from storage.repositories.people import (
    ApplicationRepository,
    InviteRepository,
    ObserverRepository,
    PointRequestRepository,
)
from storage.repositories.places import (
    DepartmentRepository,
    LiaisonRepository,
    PointRepository,
)
from storage.repositories.privacy import PrivacyRepository
from storage.repositories.rectifications import RectificationRepository
from storage.repositories.schedule import LeaseRepository, ReminderRepository
from storage.repositories.suggestions import (
    AttachmentRepository,
    EventRepository,
    RatingRepository,
    ReferenceCounterRepository,
    SuggestionRepository,
)
from storage.repositories.summaries import SummaryRepository
from storage.repositories.updates import (
    ConversationStateRepository,
    ProcessedUpdateRepository,
)
from storage.repositories.users import UserRepository

R = TypeVar("R")


class _Made(Generic[R]):
    """A store's repository of one kind, made when first asked for and kept."""

    def __init__(self, kind: Callable[[AsyncSession], R]) -> None:
        self.kind = kind

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, store: None, owner: type) -> _Made[R]: ...
    @overload
    def __get__(self, store: Store, owner: type) -> R: ...
    def __get__(self, store: Store | None, owner: type) -> R | _Made[R]:
        if store is None:
            return self
        # Kept in the store's own dict, which is found before this from then on.
        made = store.__dict__[self.name] = self.kind(store.session)
        return made


class Store:
    # A store is made for every transaction, several an update, and most use two or
    # three of its repositories: each is made when first asked for.
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    users = _Made(UserRepository)
    offices = _Made(OfficeRepository)
    rectifications = _Made(RectificationRepository)
    points = _Made(PointRepository)
    departments = _Made(DepartmentRepository)
    liaisons = _Made(LiaisonRepository)
    observers = _Made(ObserverRepository)
    applications = _Made(ApplicationRepository)
    invites = _Made(InviteRepository)
    point_requests = _Made(PointRequestRepository)
    suggestions = _Made(SuggestionRepository)
    events = _Made(EventRepository)
    attachments = _Made(AttachmentRepository)
    ratings = _Made(RatingRepository)
    counters = _Made(ReferenceCounterRepository)
    outbox = _Made(OutboxRepository)
    calendar = _Made(CalendarRepository)
    cards = _Made(CardRepository)
    unsure_posts = _Made(UnsurePostRepository)
    broadcasts = _Made(BroadcastRepository)
    updates = _Made(ProcessedUpdateRepository)
    conversations = _Made(ConversationStateRepository)
    figures = _Made(FiguresRepository)
    summaries = _Made(SummaryRepository)
    leases = _Made(LeaseRepository)
    reminders = _Made(ReminderRepository)
    privacy = _Made(PrivacyRepository)
    languages = _Made(ChatLanguageRepository)

    async def flush(self) -> None:
        await self.session.flush()
