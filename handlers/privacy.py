"""Personal data in the Telegram layer: phone numbers on request, who else reads the
admin group, moves nobody can be named for, and being forgotten.

- **Phone numbers** are on no card. A card (an application's, an observer's /observer)
  has a ☎️ button; an admin who presses it sees the number in an alert meant for them
  alone (a private message would fail for an admin who never started the bot), and the
  look is recorded. Anyone else pressing it is told that only admins may.
- **Who reads the group.** Every member of the admin group sees every card, and the
  Bot API cannot list ordinary members; getChatMemberCount against
  getChatAdministrators tells how many are not admins. /help by an admin in the group
  says so, and the scheduler warns the group when that number changes
  (:func:`outsiders`, ``bot.runtime.scheduler``).
- **Anonymous admins.** An admin who writes as the group ("Remain anonymous") reaches
  the bot as Telegram's GroupAnonymousBot, with ``sender_chat`` set: a move made so
  could not be named in an item's history, so it is refused with how to act under
  one's own name. Button presses always come from the person, so only messages are
  concerned.
- **/forget** in a private chat: after a confirmation, an observer leaves the scheme
  and is anonymised; an applicant's applications are erased.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, Filter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.methods import SendMessage
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardRemove,
)
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.domain.errors import NotFound, NotPermitted
from bot.effects import Speech, later
from bot.middlewares.people import CurrentUser
from bot.services.actors import Actor
from bot.services.cards import APPLICATION
from bot.services.context import Clock, Policy
from bot.services.privacy import OBSERVER, PrivacyService
from bot.settings import Settings
from handlers.conversation import IN_AN_OFFICE, private_router
from handlers.keyboards import button
from handlers.ui import clip

log = logging.getLogger(__name__)

# The account an anonymous group admin's messages come from.
ANONYMOUS_ADMIN = 1087968824
ALERT_MAX = 200  # characters of answerCallbackQuery's text


class PrivacyCb(CallbackData, prefix="pv"):
    """``act``: show a phone number, or a step of removing (an admin, on /observer) or
    forgetting (the person, in their chat); ``of``: "a" (an application) or "o" (an
    observer); ``id``: which."""

    act: str
    of: str = ""
    id: int = 0


PHONE, REMOVE, REMOVE_SURE, REMOVE_KEEP = "tel", "rm", "rmok", "rmno"
FORGET_SURE, FORGET_KEEP = "meok", "meno"
_SUBJECTS = {"a": APPLICATION, "o": OBSERVER}


def phone_button(of: str, subject_id: int) -> list[InlineKeyboardButton]:
    """The row of a card's ☎️ button (``of``: "a" or "o")."""
    return [button(_("☎️ Show phone number"), PrivacyCb(act=PHONE, of=of, id=subject_id).pack())]


def anonymised_name(i18n: I18n, settings: Settings) -> str:
    """What an anonymised observer is called from now on, beside their number: in the
    office's language, since it is stored."""
    with i18n.use_locale(settings.default_locale):
        return _("Anonymised observer")


# ---- phone numbers ----------------------------------------------------------------------


async def show_phone(
    query: CallbackQuery,
    callback_data: PrivacyCb,
    privacy: PrivacyService,
    actor: Actor | None = None,
) -> None:
    subject = _SUBJECTS.get(callback_data.of)
    if actor is None or subject is None:
        await query.answer(_only_admins(), show_alert=True)
        return
    try:
        found = await privacy.phone(actor, subject, callback_data.id)
    except NotPermitted:
        await query.answer(_only_admins(), show_alert=True)
        return
    except NotFound:
        await query.answer(_("That is no longer on file."), show_alert=True)
        return
    if not found.phone:
        await query.answer(_("No phone number is on file."), show_alert=True)
        return
    if subject == APPLICATION:
        whose = _("{name} (application #{id})")
    else:
        whose = _("{name} (observer #{id})")
    text = (
        "☎️ "
        + whose.format(name=clip(found.name, 60), id=callback_data.id)
        + f": {found.phone}\n"
        + _("For you only; the office's log records that you looked.")
    )
    await query.answer(text[:ALERT_MAX], show_alert=True)


def _only_admins() -> str:
    return _("Only this office's admins can see phone numbers.")


# ---- who reads the group ----------------------------------------------------------------


async def outsiders(bot: Bot, chat_id: int) -> int | None:
    """How many members of the group are not its administrators (the bot itself aside);
    None when Telegram cannot say. Call it with no transaction open."""
    try:
        members = await bot.get_chat_member_count(chat_id)
        admins = {member.user.id for member in await bot.get_chat_administrators(chat_id)}
    except TelegramAPIError as exc:  # TelegramNetworkError among them
        log.warning(
            "could not count the admin group's members: %s", exc, extra={"chat_id": chat_id}
        )
        return None
    return max(0, members - len(admins) - (0 if bot.id in admins else 1))


def group_census(
    bot: Bot, chat_id: int | None, groups: Callable[[], Awaitable[list[int]]] | None = None
) -> Callable[[], Awaitable[list[tuple[int, int]]]] | None:
    """The scheduler's count of each office's group's members who are not its admins:
    (group id, number) for every group Telegram could say of. The groups are
    ``groups()`` (every office's, now) and ``chat_id`` (the home office's setting)."""
    if chat_id is None and groups is None:
        return None

    async def census() -> list[tuple[int, int]]:
        found = await groups() if groups is not None else []
        if chat_id is not None and chat_id not in found:
            found.insert(0, chat_id)
        counted = []
        for group in found:
            count = await outsiders(bot, group)
            if count is not None:
                counted.append((group, count))
        return counted

    return census


def outsiders_text(count: int) -> str:
    return "⚠️ " + _(
        "Members of this group who are not its admins: {count}. They see everything "
        "the group shows — cards, applicants' and observers' names, what liaisons' own "
        "cards leave out. Check the member list and remove whoever should not read the "
        "office's work."
    ).format(count=count)


async def help_with_census(
    speech: Speech, *, chat_id: int, text: str, policy: Policy, clock: Clock
) -> None:
    """The group's /help for an admin, with how many members are not admins: counted
    after the update's commit, noted, then said in one message."""
    count = await outsiders(speech.bot, chat_id)
    if count is not None:
        # Read first: the number is mostly the one noted, and a write would wait its
        # turn for the database's writer behind everyone else's updates.
        async with speech.read() as store:
            last = await PrivacyService(store, policy, clock).last_outsiders(chat_id)
        if last != count:
            async with speech.write() as store:
                await PrivacyService(store, policy, clock).outsiders(chat_id, count, queue=False)
        if count:
            text += "\n\n" + outsiders_text(count)
    await speech.call(SendMessage(chat_id=chat_id, text=text))


def say_help(message: Message, text: str, policy: Policy, clock: Clock) -> None:
    """Say the group's /help ``text`` after commit, with the census for an admin."""
    later(
        message.chat.id,
        functools.partial(
            help_with_census, chat_id=message.chat.id, text=text, policy=policy, clock=clock
        ),
        name="help with census",
    )


# ---- anonymous admins ---------------------------------------------------------------------


class Anonymous(Filter):
    """A command or an answer to the bot in the admin group, from someone writing as
    the group (or as a channel): nobody to name in an item's history."""

    async def __call__(self, message: Message, bot: Bot) -> bool:
        anonymous = message.sender_chat is not None or (
            message.from_user is not None and message.from_user.id == ANONYMOUS_ADMIN
        )
        if not anonymous:
            return False
        text = message.text or message.caption or ""
        replied = message.reply_to_message
        to_bot = (
            replied is not None
            and replied.from_user is not None
            and (replied.from_user.id == bot.id)
        )
        return text.startswith("/") or to_bot


async def refuse_anonymous(message: Message) -> None:
    await message.reply(
        "🕶 "
        + _(
            "You are writing anonymously, as the group: a move made so could not be "
            "recorded under anyone's name, so nothing was done. To act under your own "
            "name, open the group's settings → Administrators → yourself, turn off "
            "“Remain anonymous”, and send it again."
        )
    )


# ---- being forgotten ----------------------------------------------------------------------


async def ask_forget(
    message: Message, privacy: PrivacyService, user: CurrentUser | None = None
) -> None:
    held = await privacy.held(user.id) if user is not None else None
    if held is None or not held.anything:
        await message.answer(
            _("You are not on file as an observer or an applicant: there is nothing to erase.")
        )
        return
    if held.observer_id is not None:
        question = _(
            "Do you want to leave the scheme and have your personal data erased?\n\n"
            "Your name, phone number, résumé and the link to your Telegram account will "
            "be removed, and any application of yours erased. The suggestions you filed "
            "and their history stay with the office, under an anonymous name, as the "
            "scheme's record. This cannot be undone."
        )
    else:
        question = _(
            "Do you want your application withdrawn and erased, with your name, phone "
            "number and résumé? This cannot be undone."
        )
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            [button(_("🗑 Yes, erase my data"), PrivacyCb(act=FORGET_SURE).pack())],
            [button(_("✖️ No, keep it"), PrivacyCb(act=FORGET_KEEP).pack())],
        ]
    )
    await message.answer(question, reply_markup=markup)


async def forget(
    query: CallbackQuery,
    privacy: PrivacyService,
    state: FSMContext,
    i18n: I18n,
    settings: Settings,
    user: CurrentUser | None = None,
) -> None:
    if user is None:
        await query.answer()
        return
    forgotten = await privacy.forget_me(user.id, name=anonymised_name(i18n, settings))
    # A half-written draft or application is personal data too.
    await state.clear()
    await query.answer()
    if not isinstance(query.message, Message):
        return
    await query.message.edit_reply_markup(reply_markup=None)
    if forgotten.observer_id is not None:
        done = _(
            "Done: you are no longer an observer, and your personal data has been erased. "
            "Thank you for your work for the scheme."
        )
    elif forgotten.applications:
        done = _("Done: your application and the personal data in it have been erased.")
    else:
        done = _("There was nothing left to erase.")
    await query.message.answer(done, reply_markup=ReplyKeyboardRemove())


async def keep(query: CallbackQuery) -> None:
    await query.answer(_("Nothing was changed."))
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)


# ---- the routers ----------------------------------------------------------------------------


def setup_group(_i18n: I18n, settings: Settings) -> Router:
    """The admin group: anonymous admins' moves refused; ☎️ pressed by anyone there
    (the service decides who may see the number)."""
    router = Router(name="privacy-group")
    router.message.register(refuse_anonymous, IN_AN_OFFICE, Anonymous())
    router.callback_query.register(show_phone, IN_AN_OFFICE, PrivacyCb.filter(F.act == PHONE))
    return router


def setup_private(_i18n: I18n) -> Router:
    """/forget, in a private chat."""
    router = private_router("privacy-private")
    router.message.register(ask_forget, Command("forget"))
    router.callback_query.register(forget, PrivacyCb.filter(F.act == FORGET_SURE))
    router.callback_query.register(keep, PrivacyCb.filter(F.act == FORGET_KEEP))
    return router
