"""The menu of commands Telegram shows, per language and per kind of chat."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiogram import Bot
from aiogram.types import BotCommand, BotCommandScopeAllPrivateChats, BotCommandScopeChat
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.i18n import EN, ZH
from bot.settings import Settings
from handlers.office import office_commands

log = logging.getLogger(__name__)

# Telegram picks the list by the client's language code; "zh" covers zh-hans and zh-cn.
LANGUAGE_CODES = {ZH: "zh", EN: "en"}


def private_commands() -> list[BotCommand]:
    return [
        BotCommand(command="new", description=_("File a new suggestion")),
        BotCommand(command="mine", description=_("My suggestions and their progress")),
        BotCommand(command="point", description=_("My observation point")),
        BotCommand(command="apply", description=_("Apply to become an observer")),
        BotCommand(command="help", description=_("How the scheme and this bot work")),
        BotCommand(command="lang", description=_("Switch language")),
        BotCommand(command="forget", description=_("Leave and have my personal data erased")),
        BotCommand(command="cancel", description=_("Cancel what you are doing")),
        BotCommand(command="start", description=_("Start over")),
    ]


async def set_commands(
    bot: Bot,
    i18n: I18n,
    settings: Settings,
    office_groups: Callable[[], Awaitable[list[int]]] | None = None,
) -> None:
    scope = BotCommandScopeAllPrivateChats()
    with i18n.context():
        with i18n.use_locale(i18n.default_locale):
            await bot.set_my_commands(private_commands(), scope=scope)
        for locale, code in LANGUAGE_CODES.items():
            with i18n.use_locale(locale):
                await bot.set_my_commands(private_commands(), scope=scope, language_code=code)
    # Last: a group the bot is not in yet ("chat not found") must not cost the observers
    # their menu, nor one office's group another's.
    groups = await office_groups() if office_groups is not None else []
    if settings.admin_chat_id is not None and settings.admin_chat_id not in groups:
        groups.insert(0, settings.admin_chat_id)
    failed: Exception | None = None
    for chat_id in groups:
        try:
            await set_office_menu(bot, i18n, chat_id)
        except Exception as exc:
            log.warning("could not set the office menu in group %s: %s", chat_id, exc)
            failed = failed or exc
    if failed is not None and len(groups) == 1:
        raise failed


async def set_office_menu(bot: Bot, i18n: I18n, chat_id: int) -> None:
    """The office's commands as the menu of its group ``chat_id``."""
    # The menu is each admin's own to read (bot.middlewares.locale): in the language
    # their client reports, else the office's.
    group = BotCommandScopeChat(chat_id=chat_id)
    with i18n.context():
        with i18n.use_locale(i18n.default_locale):
            await bot.set_my_commands(office_commands(), scope=group)
        for locale, code in LANGUAGE_CODES.items():
            with i18n.use_locale(locale):
                await bot.set_my_commands(office_commands(), scope=group, language_code=code)
