from __future__ import annotations

from storage.models import OutboxMessage
from storage.repositories.base import Repository


class OutboxRepository(Repository[OutboxMessage]):
    model = OutboxMessage
