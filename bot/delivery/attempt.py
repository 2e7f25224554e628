"""One delivery attempt of one outbox row, and what it leaves in the outbox.

:func:`attempt` sends (or, for someone marked unreachable, does not) and judges what
happened; :func:`record` writes that down. They are apart so that the sender can send
in a transaction that only reads and record in a short one that writes (see
``bot.delivery.sender``); the drain does both in one.

How an error is judged:

- 429 (flood control), 5xx, network errors, timeouts, 401 (a token problem is ours,
  not the message's), the database failing while the message was rendered: passing —
  the row stays pending and is tried again later;
- 403 on a row to a person (blocked, kicked, deactivated): the row is held and the
  person marked unreachable (the office is told once);
- anything else (400, an unknown notice, no admin group, a bug): the row failed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

import sqlalchemy.exc
from aiogram import Bot
from aiogram.exceptions import (
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)

from bot.delivery.session import TRANSIENT
from bot.i18n import Catalogs
from bot.services.cards import CardService
from bot.services.context import Clock, Policy
from bot.services.outbox import OutboxItem, OutboxService
from bot.services.people import PeopleService
from bot.services.places import PlaceService
from bot.services.suggestions import SuggestionService
from bot.settings import Settings
from handlers.outgoing import Outgoing, deliver
from storage.store import Store

log = logging.getLogger("bot.delivery")

_UNREACHABLE = "not sent: the recipient is unreachable (blocked the bot)"
# The database away or overloaded: nothing wrong with the message.
_DATABASE_TROUBLE = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,
)


class Verdict(StrEnum):
    SENT = "sent"
    # A passing failure: pending again after a backoff.
    RETRY = "retry"
    # Telegram refused the person (403): held, and the person marked unreachable.
    REFUSED = "refused"
    # Not tried: the person was already marked unreachable.
    UNREACHABLE = "unreachable"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Outcome:
    verdict: Verdict
    error: str | None = None
    # Telegram's retry_after, seconds.
    wait: float = 0.0


SENT = Outcome(Verdict.SENT)


def outgoing(
    bot: Bot, store: Store, settings: Settings, i18n: Catalogs, policy: Policy, clock: Clock
) -> Outgoing:
    return Outgoing(
        bot=bot,
        i18n=i18n,
        policy=policy,
        admin_chat_id=settings.admin_chat_id,
        default_locale=settings.default_locale,
        outbox=OutboxService(store, policy, clock),
        suggestions=SuggestionService(store, policy, clock),
        people=PeopleService(store, policy, clock),
        places=PlaceService(store, policy, clock),
        cards=CardService(store, policy, clock),
    )


def judge(exc: Exception, row: OutboxItem) -> Outcome:
    error = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, TelegramRetryAfter):
        return Outcome(Verdict.RETRY, error, float(exc.retry_after))
    if isinstance(exc, (*TRANSIENT, TelegramUnauthorizedError, *_DATABASE_TROUBLE)):
        return Outcome(Verdict.RETRY, error)
    if isinstance(exc, TelegramForbiddenError) and row.to_person:
        return Outcome(Verdict.REFUSED, error)
    return Outcome(Verdict.FAILED, error)


async def attempt(out: Outgoing, store: Store, row: OutboxItem, *, savepoint: bool) -> Outcome:
    """Deliver ``row`` unless its recipient is marked unreachable; never raises for a
    failed delivery. With ``savepoint``, what delivering wrote (a card's message id)
    is kept only if it succeeded."""
    if row.to_person and row.chat_id is not None:
        recipient = await out.outbox.recipient(row.chat_id)
        if recipient is not None and recipient.blocked:
            return Outcome(Verdict.UNREACHABLE, _UNREACHABLE)
    try:
        if savepoint:
            async with store.session.begin_nested():
                await deliver(out, row)
        else:
            await deliver(out, row)
    except Exception as exc:
        return judge(exc, row)
    return SENT


async def record(out: Outgoing, row: OutboxItem, outcome: Outcome) -> bool:
    """Write down what became of ``row``; returns whether it was settled (False only
    when an unreachable recipient turned out to be back: the row stays due)."""
    outbox = out.outbox
    verdict, error = outcome.verdict, outcome.error or ""
    fields = {"outbox_id": row.id, "kind": row.kind, "chat_id": row.chat_id}
    attempt_no = row.attempts + 1
    if verdict is Verdict.SENT:
        await outbox.sent(row.id)
        log.info("outbox row sent", extra={**fields, "attempt": attempt_no})
    elif verdict is Verdict.RETRY:
        due = await outbox.retry_later(row.id, error, wait=outcome.wait)
        log.warning(
            "outbox row not sent, will retry: %s",
            error,
            extra={**fields, "attempt": attempt_no, "retry_at": due.isoformat() if due else None},
        )
    elif verdict is Verdict.REFUSED and row.chat_id is not None:
        told = await outbox.unreachable(row.chat_id)
        await outbox.hold(row.id, error)
        log.warning(
            "outbox row held, the recipient is unreachable: %s",
            error,
            extra={**fields, "attempt": attempt_no, "newly_unreachable": told},
        )
    elif verdict is Verdict.UNREACHABLE and row.chat_id is not None:
        if not await outbox.still_unreachable(row.chat_id):
            return False
        await outbox.hold(row.id, error, attempted=False)
        log.info("outbox row held for an unreachable recipient", extra=fields)
    else:
        await outbox.failed(row.id, error)
        log.warning("outbox row failed: %s", error, extra={**fields, "attempt": attempt_no})
    if row.broadcast_id is not None and verdict is not Verdict.RETRY:
        await outbox.settle_broadcast(row.broadcast_id)
    return True
