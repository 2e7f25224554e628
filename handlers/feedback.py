"""The observer's word, brought before the office: an addition to an item, or a rating
worth reading (any with a comment, every dissatisfied one).

When the move's outbox row reaches the admin group (``handlers.outgoing``), the item's
card is brought up to date and this module's message follows it, as a reply to the
card: what the observer said, an addition's files, and buttons to **answer the
observer** and, where the lifecycle allows, to **reopen the item for review** (a
declined or kept-for-reference item the observer is not satisfied with).

"Answer the observer" asks the admin who pressed it for the words with a force-reply
prompt that mentions them (their conversation state in the group, as in
``handlers.deciding``); the answer is the lifecycle's ``reply`` move: it stands in the
timeline and reaches the observer through the outbox. "Reopen for review" is the
``reconsider`` move, made at once under the item's version, like the card's Take.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.methods import SendMessage
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
)
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.domain.errors import AlreadyMoved, IllegalTransition, NotFound
from bot.domain.lifecycle import Action, allowed_actions
from bot.domain.limits import TEXT_MAX
from bot.domain.roles import Role
from bot.domain.statuses import RatingValue, SuggestionStatus
from bot.effects import Speech
from bot.middlewares.people import CurrentUser
from bot.services.actors import SYSTEM, Actor
from bot.services.cards import ITEM, CardService
from bot.services.context import Clock, Policy
from bot.services.suggestions import RATING, SuggestionService
from bot.services.views import AttachmentInfo, SuggestionInfo
from bot.settings import Settings
from handlers import labels
from handlers.card_sync import sync_item
from handlers.conversation import finish, load_flow, save_flow
from handlers.errors import explain
from handlers.item_desk import ID_MAX
from handlers.item_pages import send_files
from handlers.keyboards import button
from handlers.notices import compose, payload_value
from handlers.office import office_router
from handlers.prompts import (
    ON_WORD,
    Prompt,
    Prompting,
    ask_again,
    asker,
    delete_prompts,
    send_prompt,
)
from handlers.ui import N_, clip, esc

if TYPE_CHECKING:
    from bot.services.outbox import OutboxItem
    from handlers.delivering import Outgoing

S = SuggestionStatus


class FeedbackCb(CallbackData, prefix="fb"):
    """A button under the observer's word in the group: ``act`` below, the item, and
    its version when the message was drawn (reopening checks it)."""

    act: str
    item: int
    v: int = 0


ANSWER, REOPEN = "ans", "re"
# The notices that carry the observer's word: an addition, and the rating moves.
ADDED = "item.add"
_RATED = frozenset({"item.rate", "item.reopen", "item.dispute"})
KEY = "replying"  # this flow's part of the admin's FSM data
TITLE_SHOWN = 60

_ANSWER_BUTTON = N_("💬 Answer the observer")
_REOPEN_BUTTON = N_("🔄 Reopen for review")
# What the group reads after a rating, by what the rating did.
_AFTER_RATING: dict[str, str] = {
    "item.dispute": N_(
        "The observer is not satisfied with the decision. Answer them, or reopen the item "
        "for review; it stays open until then (or until it is closed)."
    ),
    "item.reopen": N_("The item has been reopened: the department continues the work."),
}


class Replying(StatesGroup):
    """An admin's answer to the observer, waited for as a reply to the bot's prompt."""

    text = State()


class Reply(Prompting):
    """The answer in progress: the item, and the prompts it is a reply to."""

    key: ClassVar[str] = KEY
    item: int = 0
    ref: str = ""
    title: str = ""


# ---- what the group reads -------------------------------------------------------------


@dataclass(frozen=True)
class Word:
    """The message that follows the card: text, buttons, and an addition's files."""

    text: str
    markup: InlineKeyboardMarkup
    reference: str
    files: tuple[AttachmentInfo, ...] = ()


def worth_telling(kind: str, payload: Mapping[str, Any]) -> bool:
    """Whether the office should read the observer's word beside the card: every
    addition; a rating with a comment, or a dissatisfied one."""
    if kind == ADDED:
        return True
    if kind not in _RATED:
        return False
    commented = payload_value(payload, "text", 10) is not None
    return commented or payload.get(RATING) == RatingValue.DISSATISFIED.value


def _subject(payload: Mapping[str, Any]) -> str:
    reference = payload_value(payload, "reference", 40) or "?"
    title = payload_value(payload, "title", TITLE_SHOWN)
    if title:
        return _("<b>{reference}</b> “{title}”").format(reference=esc(reference), title=esc(title))
    return f"<b>{esc(reference)}</b>"


def addition_text(payload: Mapping[str, Any], files: int) -> str:
    head = "➕ " + _("The observer has added to {subject}.").format(subject=_subject(payload))
    tail = [_("📎 Files: {count} (below)").format(count=files)] if files else []
    words = payload_value(payload, "text", TEXT_MAX)
    return compose([head], _("The addition:"), words, tail, slack=16)


def rating_text(kind: str, payload: Mapping[str, Any]) -> str:
    raw = payload.get(RATING)
    value = RatingValue(raw) if raw in set(RatingValue) else None
    shown = esc(labels.rating(value)) if value is not None else "?"
    head = "⭐ " + _("The observer rated {subject}: <b>{rating}</b>").format(
        subject=_subject(payload), rating=shown
    )
    tail = [_(_AFTER_RATING[kind])] if kind in _AFTER_RATING else []
    words = payload_value(payload, "text", TEXT_MAX)
    return compose([head], _("The observer's comment:"), words, tail, slack=16)


def markup(info: SuggestionInfo) -> InlineKeyboardMarkup:
    """Answer the observer; reopen for review where the lifecycle allows it now."""
    rows = [[button(_(_ANSWER_BUTTON), FeedbackCb(act=ANSWER, item=info.id).pack())]]
    if Action.RECONSIDER in allowed_actions(info.status, {Role.ADMIN}):
        data = FeedbackCb(act=REOPEN, item=info.id, v=info.version).pack()
        rows.append([button(_(_REOPEN_BUTTON), data)])
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def for_office(out: Outgoing, row: OutboxItem) -> Word | None:
    """The observer's word a row to the group carries, if the office should read it
    (decided in the sender's transaction, in the group's language)."""
    if row.suggestion_id is None or not worth_telling(row.kind, row.payload):
        return None
    info = await out.suggestions.get(SYSTEM, row.suggestion_id)
    if row.kind == ADDED:
        files = tuple(await out.outbox.attachments(row))
        text = addition_text(row.payload, len(files))
    else:
        files, text = (), rating_text(row.kind, row.payload)
    return Word(text, markup(info), info.reference, files)


async def say(
    speech: Speech, chat_id: int, item_id: int, word: Word, policy: Policy, clock: Clock
) -> None:
    """After the card is up to date: the word as a reply to it, then the files."""
    async with speech.read() as store:
        card = await CardService(store, policy, clock).current(ITEM, item_id, chat_id)
    reply = _reply_to(card.message_id if card is not None else None)
    await speech.call(
        SendMessage(
            chat_id=chat_id, text=word.text, reply_markup=word.markup, reply_parameters=reply
        )
    )
    if word.files:
        await send_files(speech.bot, chat_id, word.reference, word.files)


def _reply_to(message_id: int | None) -> ReplyParameters | None:
    if not message_id:
        return None
    return ReplyParameters(message_id=message_id, allow_sending_without_reply=True)


# ---- answering the observer -----------------------------------------------------------


async def _pressed(
    suggestions: SuggestionService, actor: Actor, pressed: FeedbackCb
) -> SuggestionInfo:
    """The item a button names; forged data is "not found" (and costs no query)."""
    if not 0 < pressed.item <= ID_MAX:
        raise NotFound(f"no item {pressed.item}", item_id=pressed.item)
    return await suggestions.get(actor, pressed.item)


def _who(user: CurrentUser) -> str:
    name = esc(clip(user.full_name or user.first_name or "?", 64))
    return f'<a href="tg://user?id={user.id}">{name}</a>'


def _item(plan: Reply) -> str:
    return _("<b>{reference}</b> “{title}”").format(
        reference=esc(plan.ref), title=esc(clip(plan.title, TITLE_SHOWN))
    )


def _answer_prompt(user: CurrentUser, plan: Reply) -> Prompt:
    text = _(
        "{who}, reply to this message with your answer to the observer about {item}. "
        "They will read it as the office's answer."
    ).format(who=_who(user), item=_item(plan))
    text += "\n" + _("/cancel to stop; nothing changes until you reply.")
    return Prompt(text, _("Your answer"))


def _moved(info: SuggestionInfo) -> str:
    return _(
        "{reference} has already moved: it is now “{status}”. Nothing was changed; "
        "the card shows where it stands."
    ).format(reference=info.reference, status=labels.status(info.status))


async def _drop(bot: Bot, chat_id: int, state: FSMContext) -> Reply:
    """End this admin's answer in progress, if any, deleting its prompts."""
    plan = await load_flow(state, Reply)
    await delete_prompts(bot, chat_id, plan)
    await finish(state, Reply)
    return plan


async def on_answer(
    query: CallbackQuery,
    callback_data: FeedbackCb,
    bot: Bot,
    actor: Actor,
    user: CurrentUser,
    suggestions: SuggestionService,
    state: FSMContext,
) -> None:
    assert isinstance(query.message, Message)
    chat_id = query.message.chat.id
    info = await _pressed(suggestions, actor, callback_data)
    if Action.REPLY not in allowed_actions(info.status, {Role.ADMIN}):
        await query.answer(_moved(info), show_alert=True)
        return
    await _drop(bot, chat_id, state)
    plan = Reply(item=info.id, ref=info.reference, title=info.title)
    prompt = _answer_prompt(user, plan)
    who = asker(user, ON_WORD)
    await send_prompt(bot, chat_id, state, plan, prompt, who, reply_to=query.message.message_id)
    await save_flow(state, plan)
    await state.set_state(Replying.text)
    await query.answer(_("Reply to the bot's message below."))


async def on_reply(
    message: Message,
    bot: Bot,
    actor: Actor,
    user: CurrentUser,
    suggestions: SuggestionService,
    policy: Policy,
    state: FSMContext,
) -> None:
    plan = await load_flow(state, Reply)
    replied = message.reply_to_message
    if not plan.item or replied is None or not plan.asked_in(replied.message_id):
        raise SkipHandler  # a reply to something else: not ours
    if message.text is not None and message.text.startswith("/"):
        raise SkipHandler  # a command, even as a reply, stays a command
    text = (message.text or "").strip()
    problem = None
    if not text:
        problem = _("Please reply with text.")
    elif len(text) > TEXT_MAX:
        problem = _(
            "That is too long: at most {limit} characters, yours has {count}. "
            "Reply to my message again with a shorter text."
        ).format(limit=TEXT_MAX, count=len(text))
    if problem is not None:
        prompt = _answer_prompt(user, plan)
        await ask_again(bot, state, plan, message, problem, prompt, asker(user, ON_WORD))
        return
    chat_id = message.chat.id
    try:
        info = await suggestions.reply(actor, plan.item, text)
    except IllegalTransition as exc:
        # Withdrawn meanwhile: there is nobody to answer any more.
        await _drop(bot, chat_id, state)
        await message.reply(explain(exc, in_group=True))
        return
    await _drop(bot, chat_id, state)
    sync_item(chat_id, info.id, policy=policy, clock=suggestions.clock)
    await message.reply(
        _("✅ {reference}: your answer has been sent to the observer.").format(
            reference=esc(info.reference)
        )
    )


async def cancel_typed(message: Message, bot: Bot, state: FSMContext) -> None:
    await _drop(bot, message.chat.id, state)
    await message.reply(_("Cancelled. Nothing was sent."))


# ---- reopening for review -------------------------------------------------------------


async def on_reopen(
    query: CallbackQuery,
    callback_data: FeedbackCb,
    bot: Bot,
    actor: Actor,
    suggestions: SuggestionService,
    policy: Policy,
) -> None:
    assert isinstance(query.message, Message)
    chat_id, pressed = query.message.chat.id, query.message.message_id
    info = await _pressed(suggestions, actor, callback_data)
    allowed = Action.RECONSIDER in allowed_actions(info.status, {Role.ADMIN})
    if not allowed or callback_data.v != info.version:
        await _answer_only(bot, chat_id, pressed, info, query.message.reply_markup)
        await query.answer(_moved(info), show_alert=True)
        return
    try:
        info = await suggestions.reconsider(actor, info.id, version=callback_data.v)
    except AlreadyMoved as exc:
        if exc.__cause__ is not None:
            raise  # lost the race at the database: the transaction is spoilt
        await query.answer(_moved(await suggestions.get(actor, info.id)), show_alert=True)
        return
    # Back before the office: a fresh card at the bottom of the group, with its buttons.
    sync_item(chat_id, info.id, policy=policy, clock=suggestions.clock, repost=True)
    await _answer_only(bot, chat_id, pressed, info, query.message.reply_markup)
    await query.answer(_("Reopened for review; the observer has been told."))


async def _answer_only(
    bot: Bot,
    chat_id: int,
    message_id: int,
    info: SuggestionInfo,
    shown: InlineKeyboardMarkup | None,
) -> None:
    """The pressed message keeps only the buttons that still mean something."""
    now = markup(info)
    if shown is None or _datas(shown) != _datas(now):
        await bot.edit_message_reply_markup(
            chat_id=chat_id, message_id=message_id, reply_markup=now
        )


def _datas(shown: InlineKeyboardMarkup) -> list[str | None]:
    rows: Sequence[Sequence[InlineKeyboardButton]] = shown.inline_keyboard
    return [b.callback_data for row in rows for b in row]


# ---- the router -----------------------------------------------------------------------


def setup(_i18n: I18n, settings: Settings) -> Router:
    router = office_router("feedback")
    router.message.register(cancel_typed, Command("cancel"), StateFilter(Replying.text))
    router.callback_query.register(on_answer, FeedbackCb.filter(F.act == ANSWER))
    router.callback_query.register(on_reopen, FeedbackCb.filter(F.act == REOPEN))
    router.message.register(on_reply, StateFilter(Replying.text), F.reply_to_message)
    return router
