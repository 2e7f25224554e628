"""What delivering one outbox row needs: the bot, the catalogs and the services of the
sender's transaction. A module of its own so that the flows that render their own rows
(admission, broadcasts, departments) and ``handlers.outgoing``, which calls them, do
not import each other."""

from __future__ import annotations

from dataclasses import dataclass

from aiogram import Bot
from aiogram.utils.i18n import I18n

from bot.services.cards import CardService
from bot.services.context import Policy
from bot.services.languages import LanguageService
from bot.services.outbox import OutboxService
from bot.services.people import PeopleService
from bot.services.places import PlaceService
from bot.services.suggestions import SuggestionService


class NoAdminChat(RuntimeError):
    """ADMIN_CHAT_ID is not set: the office's notices have nowhere to go."""


@dataclass
class Outgoing:
    """What delivering needs, within the sender's transaction."""

    bot: Bot
    i18n: I18n
    policy: Policy
    admin_chat_id: int | None
    default_locale: str
    outbox: OutboxService
    suggestions: SuggestionService
    people: PeopleService
    places: PlaceService
    cards: CardService
    languages: LanguageService
