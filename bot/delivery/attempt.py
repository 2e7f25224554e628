"""One delivery attempt of one outbox row, and what it leaves in the outbox.

:func:`deliver_row` leases a row and decides what to say in one short transaction,
says it (or, for someone marked unreachable, does not) with no transaction open, and
judges what happened; :func:`record` writes that down in a short transaction of its
own (see ``bot.delivery.sender``).

How an error is judged:

- 429 (flood control), 5xx, network errors, timeouts, 401 (a token problem is ours,
  not the message's), the database failing while the message was rendered: passing —
  the row stays pending and is tried again later;
- 403 on a row to a person (blocked, kicked, deactivated): the row is held and the
  person marked unreachable (the office is told once);
- anything else (400, an unknown notice, no admin group, a bug): the row failed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
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
from bot.effects import Effects, Speech, defer_to_commit, perform_all
from bot.i18n import Catalogs
from bot.services.cards import CardService
from bot.services.context import Clock, Policy
from bot.services.languages import LanguageService
from bot.services.outbox import OutboxItem, OutboxService
from bot.services.people import PeopleService
from bot.services.places import PlaceService
from bot.services.suggestions import SuggestionService
from bot.settings import Settings
from handlers.delivering import Outgoing
from handlers.outgoing import deliver
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
# A sender's hold on a row it is sending: longer than the longest wait of a call
# (flood control is waited out for a minute at most, bot.delivery.session), so that a
# live send is never taken for a dead one.
LEASE_SECONDS = 300.0


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
        languages=LanguageService(store, policy, clock),
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


async def _decide(out: Outgoing, row: OutboxItem, effects: Effects) -> Outcome | None:
    """What to say for ``row``, collected as effects (``bot.effects``): nothing is sent
    here. An outcome when there is nothing to say (the recipient is marked unreachable)
    or it could not be decided (judged as a failed send would be); None otherwise."""
    try:
        if row.to_person and row.chat_id is not None:
            recipient = await out.outbox.recipient(row.chat_id)
            if recipient is not None and recipient.blocked:
                return Outcome(Verdict.UNREACHABLE, _UNREACHABLE)
        with effects.collecting():
            await deliver(out, row)
    except Exception as exc:
        return judge(exc, row)
    return None


async def _say(speech: Speech, row: OutboxItem, effects: Effects) -> Outcome:
    """Make the calls decided, with no transaction open; never raises for a failed
    delivery."""
    try:
        await perform_all(speech, effects)
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
        _sent(row)
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


@dataclass(frozen=True, slots=True)
class Delivery:
    row: OutboxItem
    outcome: Outcome
    # Whether the outcome was written (False: the row changed hands meanwhile, or an
    # unreachable person turned out to be back and the row stays due).
    settled: bool


async def deliver_row(
    speech: Speech,
    row_id: int,
    build: Callable[[Store], Outgoing],
    *,
    by: str,
    lease: float = LEASE_SECONDS,
    lock: bool = False,
    leased: OutboxItem | None = None,
) -> Delivery | None:
    """Claim one row on a lease and decide what to say (a short transaction), say it
    with no transaction open, and record the outcome (another short one). None: the
    row was not ours to claim (another sender has it, or it is no longer due).

    A row ``leased`` to ``by`` already (the sender leases the rows it picks in the
    statement that picks them) is not claimed again, and what to say is decided in
    reads alone (``Speech.glance``)."""
    defer_to_commit(speech.bot)
    effects = Effects()
    if leased is not None:
        claimed: OutboxItem | None = leased
        async with speech.glance() as store:
            outcome = await _decide(build(store), leased, effects)
    else:
        async with speech.write() as store:
            out = build(store)
            claimed = await out.outbox.claim(row_id, lock=lock, by=by, lease=lease)
            if claimed is None:
                return None
            outcome = await _decide(out, claimed, effects)
    assert claimed is not None
    if outcome is None:
        outcome = await _say(speech, claimed, effects)
    settled = await _record_when_possible(speech, claimed, outcome, build, by)
    return Delivery(claimed, outcome, settled)


async def _record_when_possible(
    speech: Speech,
    row: OutboxItem,
    outcome: Outcome,
    build: Callable[[Store], Outgoing],
    by: str,
) -> bool:
    """Record the outcome, waiting out a locked or busy database (a send that happened
    and is not recorded would be made again once the lease runs out)."""
    delay = 0.05
    while True:
        try:
            if outcome.verdict is Verdict.SENT and row.broadcast_id is None:
                # The common case, checked and written in one statement.
                async with speech.once() as store:
                    ours = await build(store).outbox.sent_if_ours(row, by)
                if ours:
                    _sent(row)
                    return True
                _changed_hands(row)
                return False
            async with speech.write() as store:
                out = build(store)
                if not await out.outbox.still_ours(row, by):
                    _changed_hands(row)
                    return False
                settled = await record(out, row, outcome)
                if not settled:
                    await out.outbox.release(row.id)
                return settled
        except _DATABASE_TROUBLE as exc:
            log.warning(
                "outbox row: recording its delivery waits for the database: %s",
                exc,
                extra={"outbox_id": row.id, "retry_in": delay},
            )
            await asyncio.sleep(delay)
            delay = min(5.0, delay * 2)


def _sent(row: OutboxItem) -> None:
    log.info(
        "outbox row sent",
        extra={"outbox_id": row.id, "kind": row.kind, "chat_id": row.chat_id,
               "attempt": row.attempts + 1},
    )  # fmt: skip


def _changed_hands(row: OutboxItem) -> None:
    log.warning(
        "outbox row changed hands while it was being sent; not recorded",
        extra={"outbox_id": row.id, "kind": row.kind, "chat_id": row.chat_id},
    )
