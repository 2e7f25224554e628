"""Deliver everything the outbox holds, once, one row per transaction.

The simplest sender: each due row is rendered and sent; on success it is marked sent,
on any failure marked failed with the error, and a broadcast whose last message this
was gets its report queued. The tests use it to see what each party receives; the
long-running sender (rate limits, retries, several in flight) builds on
:func:`deliver_one`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from aiogram import Bot
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import Catalogs
from bot.services.cards import CardService
from bot.services.context import Clock, Policy, system_clock
from bot.services.outbox import OutboxItem, OutboxService
from bot.services.people import PeopleService
from bot.services.places import PlaceService
from bot.services.suggestions import SuggestionService
from bot.settings import Settings
from handlers.outgoing import Outgoing, deliver
from storage.store import Store

log = logging.getLogger(__name__)


@dataclass
class Drained:
    sent: list[OutboxItem] = field(default_factory=list)
    failed: list[tuple[OutboxItem, str]] = field(default_factory=list)


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


async def deliver_one(out: Outgoing, store: Store, row: OutboxItem) -> str | None:
    """Deliver ``row`` and record the outcome; returns the error, if it failed."""
    error = None
    try:
        # What delivering writes (a card's message id) stays only if the send succeeded.
        async with store.session.begin_nested():
            await deliver(out, row)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        log.warning("outbox row %s (%s) failed: %s", row.id, row.kind, error)
        await out.outbox.failed(row.id, error)
    else:
        await out.outbox.sent(row.id)
    if row.broadcast_id is not None:
        await out.outbox.settle_broadcast(row.broadcast_id)
    return error


async def drain(
    bot: Bot,
    sessions: async_sessionmaker[AsyncSession],
    *,
    settings: Settings,
    i18n: Catalogs,
    policy: Policy,
    clock: Clock = system_clock,
    limit: int = 10_000,
) -> Drained:
    done = Drained()
    for _ in range(limit):
        async with sessions() as session, session.begin():
            store = Store(session)
            out = outgoing(bot, store, settings, i18n, policy, clock)
            rows = await out.outbox.due(limit=1)
            if not rows:
                break
            row = rows[0]
            error = await deliver_one(out, store, row)
        if error is None:
            done.sent.append(row)
        else:
            done.failed.append((row, error))
    return done
