"""How a failed delivery is judged, and what two refusals for one person write."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
import sqlalchemy.exc
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import SendMessage
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery.attempt import Outcome, Verdict, judge, outgoing, record
from bot.dispatcher import policy_of
from bot.i18n import build_i18n
from bot.services import notify
from bot.services.outbox import OutboxItem
from bot.settings import Settings
from handlers.notices import UnknownNotice
from handlers.outgoing import NoAdminChat
from storage.models import OutboxMessage
from storage.store import Store
from tests.telegram import Telegram
from tests.world import ALICE, FixedClock, World

CALL = SendMessage(chat_id=ALICE, text="x")


def item(audience: str = "user", chat_id: int | None = ALICE) -> OutboxItem:
    return OutboxItem(1, audience, chat_id, "observer.moved", {}, None, None, None, 0)


@pytest.mark.parametrize(
    ("error", "verdict"),
    [
        (TelegramServerError(CALL, "Internal Server Error"), Verdict.RETRY),
        (TelegramNetworkError(CALL, "Request timeout error"), Verdict.RETRY),
        (TimeoutError(), Verdict.RETRY),
        (TelegramUnauthorizedError(CALL, "Unauthorized"), Verdict.RETRY),
        (sqlalchemy.exc.OperationalError("SELECT", {}, Exception("gone")), Verdict.RETRY),
        (TelegramForbiddenError(CALL, "Forbidden: bot was blocked by the user"), Verdict.REFUSED),
        (TelegramBadRequest(CALL, "Bad Request: can't parse entities"), Verdict.FAILED),
        (UnknownNotice("no.such"), Verdict.FAILED),
        (NoAdminChat("ADMIN_CHAT_ID is not set"), Verdict.FAILED),
        (RuntimeError("a bug"), Verdict.FAILED),
    ],
)
def test_judging_errors(error: Exception, verdict: Verdict) -> None:
    outcome = judge(error, item())
    assert outcome.verdict is verdict
    assert outcome.error is not None
    assert outcome.error.startswith(type(error).__name__)


def test_flood_control_keeps_retry_after() -> None:
    outcome = judge(TelegramRetryAfter(CALL, "Too Many Requests", retry_after=17), item())
    assert (outcome.verdict, outcome.wait) == (Verdict.RETRY, 17.0)


def test_a_403_in_the_admin_group_is_a_failure_not_a_person_to_hold() -> None:
    refused = TelegramForbiddenError(CALL, "Forbidden: bot was kicked from the group")
    assert judge(refused, item("admins", None)).verdict is Verdict.FAILED


async def test_two_refusals_for_one_person_tell_the_office_once(
    sessions: async_sessionmaker[AsyncSession],
    world: World,
    clock: FixedClock,
    settings: Settings,
    tg: Telegram,
) -> None:
    async with sessions() as session, session.begin():
        for n in range(2):
            await notify.to_user(Store(session), ALICE, "observer.moved", {"n": n}, at=clock.now)
    refused = Outcome(Verdict.REFUSED, "TelegramForbiddenError: blocked")
    for _ in range(2):
        async with sessions() as session, session.begin():
            store = Store(session)
            out = outgoing(tg.bot, store, settings, build_i18n("en"), policy_of(settings), clock)
            rows = [OutboxItem.of(r) for r in await store.outbox.due(clock.now, limit=5)]
            [first] = [r for r in rows if r.chat_id == ALICE]
            assert await record(out, first, refused)
    async with sessions() as session:
        stmt = sa.select(OutboxMessage.kind, OutboxMessage.state).order_by(OutboxMessage.id)
        assert (await session.execute(stmt)).all() == [
            ("observer.moved", "held"),
            ("observer.moved", "held"),
            ("observer.unreachable", "pending"),
        ]
