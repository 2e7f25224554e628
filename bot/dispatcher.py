"""Building the bot and its Dispatcher from settings: nothing is created at import time.

The outer middlewares on every update, outermost first:

1. aiogram's own error catcher and user context (registered by the Dispatcher);
2. dedupe: an update handled before is dropped;
3. standing: groups that are not the office's are left; whether the person is one of
   the office's admins is asked of Telegram, before any transaction opens;
4. the transaction: a conversation lock, one session, one transaction, the durable
   update claim, and the services for this update; the Bot API calls the handler
   makes are collected and carried out after the commit (bot.effects);
5. aiogram's FSM context, reading the conversation state inside that transaction;
6. the acting user: recorded, looked up, turned into a plain object and an Actor;
7. the locale for the reply;
8. throttling, which can now say "slow down" in the right language.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.fsm.strategy import FSMStrategy
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import handlers
from bot.admins import AdminDirectory
from bot.commands import set_commands
from bot.delivery.limits import Pacer
from bot.delivery.session import pace
from bot.domain.offices import HOME, OfficeInfo
from bot.effects import Speaker, guard_calls
from bot.i18n import Catalogs, build_i18n
from bot.middlewares.dedupe import UpdateDedupe
from bot.middlewares.locale import PersonLocale
from bot.middlewares.people import ActingUser
from bot.middlewares.standing import Standing
from bot.middlewares.throttling import ThrottlePolicy, Throttling
from bot.middlewares.transaction import UpdateTransaction
from bot.routing import index_routes
from bot.services.broadcasts import BroadcastService
from bot.services.calendar import CalendarService
from bot.services.cards import CardService
from bot.services.context import Clock, Policy, system_clock
from bot.services.figures import FiguresService
from bot.services.languages import LanguageService
from bot.services.offices import OfficeService
from bot.services.outbox import OutboxService
from bot.services.people import PeopleService
from bot.services.places import PlaceService
from bot.services.privacy import PrivacyService
from bot.services.rectifications import RectificationService
from bot.services.suggestions import SuggestionService
from bot.settings import Settings
from storage.engine import read_sessions
from storage.fsm import DatabaseStorage
from storage.repositories.offices import office_tree
from storage.store import Store


def build_bot(
    settings: Settings, session: BaseSession | None = None, *, limiter: Pacer | None = None
) -> Bot:
    """The Bot; with ``limiter``, every call it makes is paced and retried (see
    bot.delivery.session), the handlers' replies as much as the outbox's sends."""
    if settings.bot_token is None:
        raise ValueError("BOT_TOKEN is not set")
    if session is None and settings.telegram_api_url:
        session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    bot = Bot(
        settings.bot_token.get_secret_value(),
        session=session,
        # A reply to a message its sender deleted meanwhile still goes (as a plain
        # message): aiogram builds every reply's reply_parameters from this default.
        default=DefaultBotProperties(
            parse_mode=ParseMode.HTML,
            link_preview_is_disabled=True,
            allow_sending_without_reply=True,
        ),
    )
    if limiter is not None:
        pace(bot, limiter)
    if os.environ.get("OUTPOST_GUARD_CALLS", "") not in ("", "0"):
        guard_calls(bot)
    return bot


def policy_of(settings: Settings) -> Policy:
    return Policy(
        jurisdiction=settings.jurisdiction_code,
        decision_days=settings.decision_days,
        tz=settings.tz,
        city_answer_days=settings.city_answer_days,
        digest_hour=settings.digest_hour,
        applications_kept_days=settings.applications_kept_days,
    )


def conversation_storage(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> tuple[BaseStorage, BaseEventIsolation]:
    """Conversation state lives in the database, always: it commits with the change it
    belongs to, and a Redis may lose writes. With REDIS_URL, the lock that keeps one
    conversation's updates apart is Redis's, so that several processes can serve the
    bot; while Redis is down, each process locks for itself and the bot goes on."""
    storage = DatabaseStorage(sessions)
    if not settings.redis_url:
        return storage, SimpleEventIsolation()
    # Imported here: the redis client is only loaded for a bot that uses it.
    from bot.middlewares.redis_isolation import FallbackIsolation

    return storage, FallbackIsolation.from_url(settings.redis_url)


def build_dispatcher(
    settings: Settings,
    *,
    sessions: async_sessionmaker[AsyncSession],
    storage: BaseStorage | None = None,
    isolation: BaseEventIsolation | None = None,
    clock: Clock = system_clock,
    throttle: ThrottlePolicy | None = None,
    i18n: Catalogs | None = None,
) -> Dispatcher:
    if storage is None:
        storage, isolation = conversation_storage(settings, sessions)
    i18n = i18n or build_i18n(settings.default_locale)
    policy = policy_of(settings)
    admins = AdminDirectory(
        settings.admin_chat_id,
        frozenset(settings.admin_ids),
        ttl=settings.admin_cache_seconds,
    )

    policies: dict[tuple[int, str], Policy] = {}

    def policy_for(office: OfficeInfo | None) -> Policy:
        """The home office's policy (the settings'), or another office's: its code."""
        if office is None or office.id == HOME:
            return policy
        made = policies.get((office.id, office.code))
        if made is None:
            made = policies[(office.id, office.code)] = replace(
                policy, jurisdiction=office.code, office_id=office.id
            )
        return made

    def services(store: Store, office: OfficeInfo | None = None) -> dict[str, Any]:
        policy = policy_for(office)
        return {
            "policy": policy,
            "offices": OfficeService(store, policy, clock),
            "rectifications": RectificationService(store, policy, clock),
            "suggestions": SuggestionService(store, policy, clock),
            "people": PeopleService(store, policy, clock),
            "places": PlaceService(store, policy, clock),
            "cards": CardService(store, policy, clock),
            "outbox": OutboxService(store, policy, clock),
            "broadcasts": BroadcastService(store, policy, clock),
            "calendar": CalendarService(store, policy, clock),
            "figures": FiguresService(store, policy, clock),
            "privacy": PrivacyService(store, policy, clock),
            "languages": LanguageService(store, policy, clock),
        }

    # aiogram would put its FSM middleware before ours; we place it ourselves, inside
    # the transaction, so conversation state commits with the change it belongs to.
    dp = Dispatcher(
        storage=storage,
        fsm_strategy=FSMStrategy.USER_IN_CHAT,
        disable_fsm=True,
        settings=settings,
        policy=policy,
        clock=clock,
    )
    speaker = Speaker(sessions)
    dp.update.outer_middleware(UpdateDedupe())
    dp.update.outer_middleware(Standing(admins, i18n, settings.default_locale, sessions))
    transaction_isolation = isolation or SimpleEventIsolation()
    transaction = UpdateTransaction(
        sessions,
        dp.fsm,
        transaction_isolation,
        services,
        speaker,
        i18n=i18n,
        default_locale=settings.default_locale,
    )
    dp.update.outer_middleware(transaction)
    dp.update.outer_middleware(dp.fsm)
    dp.update.outer_middleware(ActingUser(settings.default_locale))
    dp.update.outer_middleware(PersonLocale(i18n))
    dp.update.outer_middleware(Throttling(throttle))
    dp.include_routers(*handlers.routers(i18n, settings))
    index_routes(dp)
    filters_on_the_loop(dp)
    # The startup event passes the Dispatcher's own data, not an update's.
    dp.startup.register(set_commands)
    dp["i18n"] = i18n
    dp["admins"] = admins
    looking = read_sessions(sessions)

    async def office_groups() -> list[int]:
        tree = await office_tree(looking, settings.admin_chat_id)
        return [office.chat_id for office in tree if office.chat_id is not None]

    # For the start-up's command menus: every office's group.
    dp["office_groups"] = office_groups
    dp["speaker"] = speaker
    dp["transaction"] = transaction
    # Closed at shutdown by the runtime (a Redis client, with REDIS_URL).
    dp["isolation"] = transaction_isolation
    return dp


def filters_on_the_loop(dp: Dispatcher) -> None:
    """Run the filters that are plain functions on the event loop.

    aiogram runs a filter that is not a coroutine function (every ``F`` magic filter
    among them) with ``asyncio.to_thread``: a dozen thread hops per update, each waiting
    its turn in the loop behind everyone else's work, and all of it inside the update's
    transaction. Our filters only look at the update, so they are called in place.
    """
    for router in dp.chain_tail:
        for observer in router.observers.values():
            # The observer's own filters (``router.message.filter(...)``) sit on its
            # root handler.
            for handler in [observer._handler, *observer.handlers]:
                for check in handler.filters or ():
                    if not check.awaitable:
                        check.callback = _in_place(check.callback)
                        check.awaitable = True


def _in_place(callback: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    async def call(*args: Any, **kwargs: Any) -> Any:
        return callback(*args, **kwargs)

    call.__wrapped__ = callback  # type: ignore[attr-defined]
    return call
