"""A small district for service tests: two points, one department with a liaison,
two appointed observers and an admin, all with Telegram accounts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.statuses import (
    Behalf,
    FocusDomain,
    HostKind,
    ObserverCategory,
    SuggestionKind,
)
from bot.services.actors import Actor, identify
from bot.services.context import Policy
from bot.services.views import Draft
from storage.models import Department, Liaison, Observer, Point, TelegramUser
from storage.store import Store

ALICE, BOB, LIAISON, ADMIN, STRANGER = 1001, 1002, 3001, 9001, 5555
POLICY = Policy(jurisdiction="WZ", decision_days=5)


class FixedClock:
    """A clock the test moves by hand; starts on a Monday morning in Shanghai."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 3, 2, 1, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@dataclass
class World:
    point_id: int
    other_point_id: int
    department_id: int
    other_department_id: int
    alice_observer_id: int
    bob_observer_id: int


async def build_world(sessions: async_sessionmaker[AsyncSession]) -> World:
    async with sessions() as session, session.begin():
        for uid, name in [
            (ALICE, "Alice"),
            (BOB, "Bob"),
            (LIAISON, "Li"),
            (ADMIN, "Ada"),
            (STRANGER, "Stan"),
        ]:
            session.add(TelegramUser(id=uid, first_name=name, language_code="zh-hans"))
        p1 = Point(
            code="P01",
            name="城区便民服务中心",
            domain=FocusDomain.BUSINESS_ENVIRONMENT,
            host_kind=HostKind.SERVICE_CENTRE,
        )
        p2 = Point(
            code="P02",
            name="Chamber of Commerce",
            domain=FocusDomain.DISPUTE_RESOLUTION,
            host_kind=HostKind.CHAMBER_OF_COMMERCE,
        )
        d1 = Department(code="MARKET", name="区市场监管局")
        d2 = Department(code="HOUSING", name="District Housing Bureau")
        session.add_all([p1, p2, d1, d2])
        await session.flush()
        alice = Observer(
            name="Alice",
            category=ObserverCategory.LAWYER,
            point_id=p1.id,
            status="appointed",
            user_id=ALICE,
            phone="13800000001",
        )
        bob = Observer(
            name="Bob",
            category=ObserverCategory.OTHER,
            point_id=p2.id,
            status="appointed",
            user_id=BOB,
        )
        session.add_all([alice, bob, Liaison(department_id=d1.id, user_id=LIAISON, name="Li")])
        await session.flush()
        return World(p1.id, p2.id, d1.id, d2.id, alice.id, bob.id)


async def actor(store: Store, user_id: int, *, admin: bool = False) -> Actor:
    return await identify(store, user_id, is_admin=admin)


def draft(title: str = "路灯不亮", key: str | None = None, **kwargs: object) -> Draft:
    fields: dict[str, object] = {
        "kind": SuggestionKind.PROBLEM,
        "domain": FocusDomain.GRASSROOTS_GOVERNANCE,
        "title": title,
        "body": "人民路 12 号附近路灯三周不亮, 居民夜间出行不便。",
        "behalf": Behalf.RESIDENTS,
        "key": key,
    }
    fields.update(kwargs)
    return Draft(**fields)  # type: ignore[arg-type]


DUE = date(2026, 3, 31)
