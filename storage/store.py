"""The repository holder: one per transaction, handed to the services.

Only the owner of the session (the update middleware, a CLI command, a test) commits.
"""

from __future__ import annotations

from functools import cached_property

from sqlalchemy.ext.asyncio import AsyncSession

from storage.repositories.calendar import CalendarRepository
from storage.repositories.cards import BroadcastRepository, CardRepository, UnsurePostRepository
from storage.repositories.figures import FiguresRepository
from storage.repositories.languages import ChatLanguageRepository
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
from storage.repositories.schedule import LeaseRepository, ReminderRepository
from storage.repositories.suggestions import (
    AttachmentRepository,
    EventRepository,
    RatingRepository,
    ReferenceCounterRepository,
    SuggestionRepository,
)
from storage.repositories.updates import (
    ConversationStateRepository,
    ProcessedUpdateRepository,
)
from storage.repositories.users import UserRepository


class Store:
    # A store is made for every transaction, several an update, and most use two or
    # three of its repositories: each is made when first asked for.
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @cached_property
    def users(self) -> UserRepository:
        return UserRepository(self.session)

    @cached_property
    def points(self) -> PointRepository:
        return PointRepository(self.session)

    @cached_property
    def departments(self) -> DepartmentRepository:
        return DepartmentRepository(self.session)

    @cached_property
    def liaisons(self) -> LiaisonRepository:
        return LiaisonRepository(self.session)

    @cached_property
    def observers(self) -> ObserverRepository:
        return ObserverRepository(self.session)

    @cached_property
    def applications(self) -> ApplicationRepository:
        return ApplicationRepository(self.session)

    @cached_property
    def invites(self) -> InviteRepository:
        return InviteRepository(self.session)

    @cached_property
    def point_requests(self) -> PointRequestRepository:
        return PointRequestRepository(self.session)

    @cached_property
    def suggestions(self) -> SuggestionRepository:
        return SuggestionRepository(self.session)

    @cached_property
    def events(self) -> EventRepository:
        return EventRepository(self.session)

    @cached_property
    def attachments(self) -> AttachmentRepository:
        return AttachmentRepository(self.session)

    @cached_property
    def ratings(self) -> RatingRepository:
        return RatingRepository(self.session)

    @cached_property
    def counters(self) -> ReferenceCounterRepository:
        return ReferenceCounterRepository(self.session)

    @cached_property
    def outbox(self) -> OutboxRepository:
        return OutboxRepository(self.session)

    @cached_property
    def calendar(self) -> CalendarRepository:
        return CalendarRepository(self.session)

    @cached_property
    def cards(self) -> CardRepository:
        return CardRepository(self.session)

    @cached_property
    def unsure_posts(self) -> UnsurePostRepository:
        return UnsurePostRepository(self.session)

    @cached_property
    def broadcasts(self) -> BroadcastRepository:
        return BroadcastRepository(self.session)

    @cached_property
    def updates(self) -> ProcessedUpdateRepository:
        return ProcessedUpdateRepository(self.session)

    @cached_property
    def conversations(self) -> ConversationStateRepository:
        return ConversationStateRepository(self.session)

    @cached_property
    def figures(self) -> FiguresRepository:
        return FiguresRepository(self.session)

    @cached_property
    def leases(self) -> LeaseRepository:
        return LeaseRepository(self.session)

    @cached_property
    def reminders(self) -> ReminderRepository:
        return ReminderRepository(self.session)

    @cached_property
    def privacy(self) -> PrivacyRepository:
        return PrivacyRepository(self.session)

    @cached_property
    def languages(self) -> ChatLanguageRepository:
        return ChatLanguageRepository(self.session)

    async def flush(self) -> None:
        await self.session.flush()
