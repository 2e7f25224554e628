"""Deliver everything the outbox holds that is due, once, one row per transaction.

The simplest sender, for the tests that want to see what each party receives: each due
row is claimed, rendered, sent and its outcome recorded as the long-running sender
does it (sent, retried later, held for an unreachable person, failed), and a broadcast whose
last message this was gets its report queued. Rows retried later are not due within
the same drain, so it always ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aiogram import Bot
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery.attempt import Verdict, deliver_row, outgoing
from bot.effects import Speech
from bot.i18n import Catalogs
from bot.services.context import Clock, Policy, system_clock
from bot.services.outbox import OutboxItem
from bot.settings import Settings
from handlers.delivering import Outgoing
from storage.store import Store

__all__ = ["Drained", "drain", "outgoing"]

_DRAIN = "drain"


@dataclass
class Drained:
    sent: list[OutboxItem] = field(default_factory=list)
    failed: list[tuple[OutboxItem, str]] = field(default_factory=list)
    # Kept for a person who cannot be reached (403, or already marked so).
    held: list[OutboxItem] = field(default_factory=list)
    # A passing failure: pending again, due after a backoff.
    retried: list[tuple[OutboxItem, str]] = field(default_factory=list)


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
    speech = Speech(bot, sessions)

    def build(store: Store) -> Outgoing:
        return outgoing(bot, store, settings, i18n, policy, clock)

    for _ in range(limit):
        async with speech.read() as store:
            rows = await build(store).outbox.due(limit=1)
        if not rows:
            break
        delivery = await deliver_row(speech, rows[0].id, build, by=_DRAIN)
        if delivery is None or not delivery.settled:
            continue
        row, outcome = delivery.row, delivery.outcome
        error = outcome.error or ""
        if outcome.verdict is Verdict.SENT:
            done.sent.append(row)
        elif outcome.verdict is Verdict.RETRY:
            done.retried.append((row, error))
        elif outcome.verdict in (Verdict.REFUSED, Verdict.UNREACHABLE):
            done.held.append(row)
        else:
            done.failed.append((row, error))
    return done
