"""The repository holder: one per transaction, handed to the services.

Only the owner of the session (the update middleware, a CLI command, a test) commits.
"""

from __future__ import annotations

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
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.users = UserRepository(session)
        self.points = PointRepository(session)
        self.departments = DepartmentRepository(session)
        self.liaisons = LiaisonRepository(session)
        self.observers = ObserverRepository(session)
        self.applications = ApplicationRepository(session)
        self.invites = InviteRepository(session)
        self.point_requests = PointRequestRepository(session)
        self.suggestions = SuggestionRepository(session)
        self.events = EventRepository(session)
        self.attachments = AttachmentRepository(session)
        self.ratings = RatingRepository(session)
        self.counters = ReferenceCounterRepository(session)
        self.outbox = OutboxRepository(session)
        self.calendar = CalendarRepository(session)
        self.cards = CardRepository(session)
        self.unsure_posts = UnsurePostRepository(session)
        self.broadcasts = BroadcastRepository(session)
        self.updates = ProcessedUpdateRepository(session)
        self.conversations = ConversationStateRepository(session)
        self.figures = FiguresRepository(session)
        self.leases = LeaseRepository(session)
        self.reminders = ReminderRepository(session)
        self.privacy = PrivacyRepository(session)
        self.languages = ChatLanguageRepository(session)

    async def flush(self) -> None:
        await self.session.flush()
