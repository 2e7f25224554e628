"""Greeting, help, language and cancel: what works for anyone, in any state."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardRemove,
)
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.domain.roles import Role
from bot.domain.statuses import ObserverStatus
from bot.i18n import EN, ZH
from bot.middlewares.people import CurrentUser
from bot.services.actors import Actor
from bot.services.languages import LanguageService
from bot.services.people import PeopleService, Standing
from handlers import labels
from handlers.callbacks import ApplyCb, LangCb
from handlers.conversation import label, private_router
from handlers.keyboards import HELP, button, main_menu
from handlers.office import office_router
from handlers.onboarding import menu_for
from handlers.ui import esc
from handlers.used_prompts import CANCELLED, Outcome, end

LANGUAGE_NAMES = {ZH: "中文", EN: "English"}
# Where each conversation keeps its data (see handlers.conversation).
_FLOW_DATA = {
    "Filing": "draft",
    "Applying": "application",
    "Answering": "answer",
    "Rating": "rating",
}


def about() -> str:
    return _(
        "<b>Rule-of-law observation</b>\n\n"
        "The district rule-of-law office appoints observers at observation points in "
        "service centres, trade associations, chambers of commerce, enterprises and "
        "schools. Observers collect the problems, opinions and suggestions of residents "
        "and businesses and file them here. The office analyses each one, decides what "
        "to do with it and tells the observer; adopted items are followed by the "
        "departments until they are done."
    )


def greeting(standing: Standing, user: CurrentUser) -> tuple[str, InlineKeyboardMarkup | None]:
    """What /start says, by where the person stands."""
    observer = standing.observer
    if observer is not None and observer.status is ObserverStatus.APPOINTED:
        return (
            _(
                "Welcome back, {name}. You are an observer at <b>{point}</b>.\n\n"
                "Use <b>New suggestion</b> to file what you have collected and "
                "<b>My suggestions</b> to follow it."
            ).format(name=esc(observer.name), point=esc(labels.place(standing.point_name, "—"))),
            None,
        )
    if observer is not None and observer.status is ObserverStatus.SUSPENDED:
        return (
            _(
                "Welcome back, {name}. Your appointment is suspended, so you cannot file "
                "new items for now, but you can still follow, answer and rate the ones you "
                "filed under <b>My suggestions</b>."
            ).format(name=esc(observer.name)),
            None,
        )
    if standing.liaison_departments:
        return (
            _(
                "Welcome, {name}. You are the liaison of <b>{departments}</b>. Items the "
                "office assigns to your department will arrive in this chat."
            ).format(
                name=esc(user.first_name),
                departments=esc(", ".join(labels.place(d) for d in standing.liaison_departments)),
            ),
            None,
        )
    if standing.pending_application is not None:
        return (
            about()
            + "\n\n"
            + _(
                "Your application is with the district office. You will be told here as "
                "soon as it is decided."
            ),
            None,
        )
    return (
        about()
        + "\n\n"
        + _(
            "To take part, apply to become an observer. If the office sent you an invite "
            "link, simply open it."
        ),
        InlineKeyboardMarkup(
            inline_keyboard=[
                [button(_("📝 Apply to become an observer"), ApplyCb(step="begin").pack())]
            ]
        ),
    )


def liaison_help() -> str:
    return _(
        "<b>For department liaisons</b>\n\n"
        "Items the office assigns to your department arrive here as cards (the observer's "
        "name and phone are not shown). On a card: <b>Accept</b> to start implementing, "
        "<b>Report progress</b> (text, photos, documents: the observer is told), "
        "<b>Hand back</b> to the office with a reason, or <b>Implemented</b> when it is "
        "done. /mine lists your department's open items with their due dates."
    )


def help_text() -> str:
    return (
        _(
            "<b>How it works</b>\n\n"
            "1. <b>New suggestion</b>: choose the domain and kind, give a title and the "
            "details (text, photos, documents), say on whose behalf, add a place if it helps, "
            "check the preview and confirm. You can go back or cancel at every step; your "
            "draft is kept even if you stop halfway.\n"
            "2. The district office analyses it and decides: adopted, kept for reference, "
            "not adopted (with reasons) or reported to the city. If it needs more "
            "information you will be asked here.\n"
            "3. Adopted items are implemented by a department; you are told of the progress.\n"
            "4. When it is done, please rate the outcome.\n\n"
            "<b>My suggestions</b> lists everything you filed with its status and history.\n\n"
            "Commands: /new, /mine, /lang (中文 / English), /cancel, /help."
        )
        + "\n\n"
        + _("To leave the scheme and have your personal data erased: /forget.")
    )


async def start(message: Message, user: CurrentUser, people: PeopleService) -> None:
    standing = await people.standing(user.id)
    text, keyboard = greeting(standing, user)
    # The menu for people in the scheme (or waiting on their application); a stranger
    # gets the Apply button instead.
    await message.answer(text, reply_markup=keyboard or menu_for(standing) or ReplyKeyboardRemove())


async def show_help(message: Message, actor: Actor) -> None:
    text = help_text()
    if Role.LIAISON in actor.roles:
        # A liaison who is not also an observer needs only their own part.
        text = liaison_help() if Role.OBSERVER not in actor.roles else f"{text}\n\n{liaison_help()}"
    await message.answer(text)


async def choose_language(message: Message) -> None:
    await message.answer(
        _("Choose your language:"),
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[
                [button(name, LangCb(locale=code).pack()) for code, name in LANGUAGE_NAMES.items()]
            ]
        ),
    )


async def set_language(
    query: CallbackQuery,
    callback_data: LangCb,
    user: CurrentUser,
    people: PeopleService,
    i18n: I18n,
) -> None:
    await people.set_locale(user.id, callback_data.locale)
    standing = await people.standing(user.id)
    with i18n.use_locale(callback_data.locale):
        text = _("Language set: {language}.").format(language=LANGUAGE_NAMES[callback_data.locale])
        await query.answer()
        if isinstance(query.message, Message):
            await query.message.answer(text, reply_markup=menu_for(standing))


async def cancel(message: Message, state: FSMContext) -> None:
    current = await state.get_state()
    if current is None:
        await message.answer(_("There is nothing to cancel."))
        return
    # Only the flow on screen ends: a filing draft survives cancelling an answer.
    flow = current.split(":", 1)[0]
    # Its prompt's buttons go too (handlers.used_prompts).
    await end(state, _FLOW_DATA.get(flow, flow.lower()), Outcome(CANCELLED))
    if flow == "Filing":
        text = _("Cancelled. Nothing was sent; your draft has been discarded.")
    else:
        text = _("Cancelled. Nothing was sent.")
    # Also takes away a step's own keyboard (the location button, say).
    await message.answer(text, reply_markup=main_menu())


def setup(i18n: I18n) -> Router:
    router = private_router("start")
    router.message.register(start, CommandStart())
    router.message.register(show_help, label(i18n, HELP))
    router.message.register(show_help, Command("help"))
    router.message.register(choose_language, Command("lang"))
    router.callback_query.register(set_language, LangCb.filter(F.locale.in_(LANGUAGE_NAMES)))
    router.message.register(cancel, Command("cancel"))
    return router


# ---- the admin group's own language ----------------------------------------------------

# What an admin may type after /lang in the group.
GROUP_LANGUAGE_WORDS = {"zh": ZH, "zh_cn": ZH, "cn": ZH, "中文": ZH, "en": EN, "english": EN}


def group_language_set(locale: str) -> str:
    """Said in the group, in its new language."""
    return _(
        "This group now speaks {language}: cards, prompts, lists and documents are "
        "written in it. What the bot says to one admin alone (the answer to a button, a "
        "private message) stays in that admin's own language (/lang in a private chat)."
    ).format(language=LANGUAGE_NAMES[locale])


async def choose_group_language(
    message: Message,
    command: CommandObject,
    actor: Actor,
    languages: LanguageService,
    i18n: I18n,
) -> None:
    word = (command.args or "").strip().lower()
    if not word:
        await message.reply(
            _(
                "Choose the language of this group (cards, prompts, lists and documents); "
                "each admin's own messages stay in their own language:"
            ),
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[
                    [
                        button(name, LangCb(locale=code).pack())
                        for code, name in LANGUAGE_NAMES.items()
                    ]
                ]
            ),
        )
        return
    locale = GROUP_LANGUAGE_WORDS.get(word)
    if locale is None:
        await message.reply(
            _("{word} is not a language the bot speaks: /lang zh or /lang en.").format(
                word=f"<code>{esc(word[:20])}</code>"
            )
        )
        return
    await languages.set_for_group(actor, message.chat.id, locale)
    with i18n.use_locale(locale):
        await message.reply(group_language_set(locale))


async def set_group_language(
    query: CallbackQuery,
    callback_data: LangCb,
    bot: Bot,
    actor: Actor,
    languages: LanguageService,
    i18n: I18n,
) -> None:
    assert query.message is not None
    await languages.set_for_group(actor, query.message.chat.id, callback_data.locale)
    await query.answer()
    with i18n.use_locale(callback_data.locale):
        # In place of the picker: its buttons have done their work.
        await bot.edit_message_text(
            group_language_set(callback_data.locale),
            chat_id=query.message.chat.id,
            message_id=query.message.message_id,
        )


def setup_group(_i18n: I18n) -> Router:
    """/lang in the admin group, for its admins: the group's own language."""
    router = office_router("group-language")
    router.message.register(choose_group_language, Command("lang"))
    router.callback_query.register(set_group_language, LangCb.filter(F.locale.in_(LANGUAGE_NAMES)))
    return router
