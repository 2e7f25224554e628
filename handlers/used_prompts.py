"""A conversation's buttons are taken off once used, and a later press is told what
happened (issue 19, point 4).

The short conversations of the private chats — the observer's answer, addition and
rating (handlers.mine), the liaison's progress report, hand-back and closing summary
(handlers.department) — ask with a message that carries their buttons: the
conversation's *prompt*. As in the filing wizard, only the newest prompt has buttons:

- a newer prompt (what was written so far, with Send and Cancel again) takes the
  buttons off the one before it (:func:`ask`);
- when the conversation ends — sent, cancelled, left for another conversation, or the
  item moved on — its prompt loses its buttons too, and where it helps its text says
  how it ended (:func:`end`); the message pressed to end it is edited by the handler;
- the notice or card a conversation began from loses the buttons that began it once
  it is done (:func:`settle_origin`): an answered question's ✍️, a rated outcome's
  ratings.

Every Telegram call here is made after the update commits (``bot.effects``), in the
chat's turn: a prompt is sent, and the one it replaces stripped, by one job, so a
prompt is never left with live buttons because the update after it ran before its id
was known. A press of a button that was taken off (an old client still showing it, an
edit that failed) is answered from the chat's record of used prompts, in the person's
language: what happened already (:func:`told`).
"""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import StorageKey
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from pydantic import Field

from bot.effects import Speech, later
from handlers.conversation import Flow, finish, save_flow
from handlers.replies import _modify_data, modify_flow
from handlers.ui import N_, clip

log = logging.getLogger(__name__)

_USED = "prompts.used"  # the chat's own record of used prompts
USED_KEPT = 100  # messages remembered per chat, the newest
_ANSWER_MAX = 200  # Telegram's limit on the text answering a press

# What a later press of a used prompt's button is told ({reference}: the item's).
ANSWER_SENT = N_("Your answer about {reference} has already been sent to the office.")
ADDITION_SENT = N_("Your addition to {reference} has already been sent to the office.")
RATED = N_("You have already rated {reference}: {rating}.")
PROGRESS_SENT = N_("This progress report on {reference} has already been sent.")
HANDED_BACK = N_("{reference} has already been handed back to the office.")
IMPLEMENTED = N_("{reference} has already been marked implemented.")
REPLACED = N_("This was left unfinished when you started something else; nothing was sent from it.")
MOVED_ON = N_("{reference} has moved on since; nothing was sent from this message.")
CANCELLED = N_("Cancelled. Nothing was sent.")


def _token() -> str:
    return secrets.token_hex(4)


class Prompted(Flow):
    """A conversation about the item ``item`` (shown as ``reference``) that asks with
    prompts carrying its buttons."""

    item: int = 0
    reference: str = ""
    # The message showing the conversation's buttons now.
    prompt: int | None = None
    # This conversation, told apart from a later one of the same kind.
    since: str = Field(default_factory=_token)
    # The prompt being sent (see ask); a newer one, or one shown in place, replaces it.
    asking: str | None = None
    # The notice or card it began from, and that message's buttons then.
    origin: int | None = None
    # A My suggestions card (its list page), drawn afresh when done; 0 for a notice.
    origin_page: int = 0
    origin_rows: list[list[list[str]]] = Field(default_factory=list)


@dataclass(frozen=True)
class Outcome:
    """How a conversation ended: ``said`` (a gettext id, formatted with the item's
    ``reference`` and ``values``) answers a later press of its buttons; ``shown``
    (HTML), if given, takes the place of its prompt's text."""

    said: str
    values: Mapping[str, str] = field(default_factory=dict)
    shown: str | None = None


# ---- Telegram, after commit -------------------------------------------------------------


def _later(chat_id: int, name: str, call: Callable[[Bot], Awaitable[object]]) -> None:
    """After commit, in the chat's turn: ``call``, a change to a message of the chat
    that is no loss if it cannot be made."""

    async def work(speech: Speech) -> None:
        await _quietly(call(speech.bot), name)

    later(chat_id, work, name=name)


async def _quietly(call: Awaitable[object], name: str) -> None:
    try:
        await call
    except TelegramBadRequest as exc:
        # Deleted, too old, or already so: nothing left to press there.
        log.info("%s: not done (%s)", name, exc)


def _taking_off(
    bot: Bot, chat_id: int, message_id: int, text: str | None = None
) -> Awaitable[object]:
    """The call that takes a message's buttons off (and puts ``text`` in place of its
    text, if given)."""
    if text is None:
        return bot.edit_message_reply_markup(chat_id=chat_id, message_id=message_id)
    return bot.edit_message_text(text=text, chat_id=chat_id, message_id=message_id)


def strip(chat_id: int, message_id: int, text: str | None = None) -> None:
    """After commit: take the message's buttons off (and put ``text`` in place of its
    text, if given)."""
    call = functools.partial(_taking_off, chat_id=chat_id, message_id=message_id, text=text)
    _later(chat_id, "strip used buttons", call)


async def ask(state: FSMContext, flow: Prompted, text: str, markup: InlineKeyboardMarkup) -> None:
    """Send ``text`` with the conversation's buttons as its newest prompt (after
    commit); the prompt it replaces loses its buttons. Saves ``flow``."""
    flow.asking = asking = _token()
    await save_flow(state, flow)
    chat_id, kind, since, item = state.key.chat_id, type(flow), flow.since, flow.item

    async def work(speech: Speech) -> None:
        sent = await speech.bot.send_message(chat_id, text, reply_markup=markup)
        replaced: list[int | None] = []

        def put(now: Prompted) -> Prompted | None:
            if now.asking != asking:
                return None
            replaced.append(now.prompt)
            now.prompt, now.asking = sent.message_id, None
            return now

        await modify_flow(state, kind, put)
        if replaced:
            done = replaced[0] if replaced[0] != sent.message_id else None
        else:
            # Ended, or replaced by a newer prompt, while this one was on its way.
            done = sent.message_id
        if done is not None:
            await _quietly(_taking_off(speech.bot, chat_id, done), "prompt")
            await _change(
                state, functools.partial(_linked, message_id=done, since=since, item=item)
            )

    later(chat_id, work, name="prompt")


async def in_place(state: FSMContext, flow: Prompted, message_id: int | None) -> None:
    """The pressed message ``message_id`` becomes the prompt (the handler edits it);
    the prompt before it, if another, loses its buttons. The caller saves ``flow``."""
    if (old := flow.prompt) is not None and old != message_id:
        strip(state.key.chat_id, old)
        link = functools.partial(_linked, message_id=old, since=flow.since, item=flow.item)
        await _change(state, link)
    # A prompt still on its way is out of date: it takes its own buttons off.
    flow.prompt, flow.asking = message_id, None


# ---- beginning and ending -------------------------------------------------------------


async def start(state: FSMContext, flow: Prompted) -> None:
    """Keep ``flow`` as the conversation of its kind; one of that kind still on (about
    another item, or begun again) is left, its buttons taken off."""
    before = (await state.get_data()).get(flow.key)
    if isinstance(before, dict) and before.get("since") != flow.since:
        await retire(state, flow.key, Outcome(REPLACED))
    await save_flow(state, flow)


async def retire(
    state: FSMContext,
    key: str | type[Flow],
    outcome: Outcome,
    *,
    pressed: int | None = None,
    edited: bool = True,
) -> None:
    """The conversation kept under ``key`` ends with ``outcome`` (its data stays: see
    :func:`end`). Its prompt loses its buttons, unless it is the ``pressed`` message
    the handler edits itself (``edited``); a later press on either is told the
    outcome."""
    data = (await state.get_data()).get(key if isinstance(key, str) else key.key)
    if not isinstance(data, dict):
        return
    chat_id = state.key.chat_id
    prompt = data.get("prompt")
    prompt = prompt if isinstance(prompt, int) and not isinstance(prompt, bool) else None
    if prompt is not None and not (edited and prompt == pressed):
        strip(chat_id, prompt, outcome.shown)
    if pressed is not None and not edited and pressed != prompt:
        strip(chat_id, pressed)
    entry = _entry(outcome, data.get("item"), data.get("reference"), prompt=True)
    keys = [str(m) for m in (prompt, pressed) if m is not None]
    if isinstance(since := data.get("since"), str):
        keys.append(f"f:{since}")
    await _change(state, lambda used: _noted(used, keys, entry))


async def end(
    state: FSMContext,
    key: str | type[Flow],
    outcome: Outcome,
    *,
    pressed: int | None = None,
    edited: bool = True,
) -> None:
    """:func:`retire` the conversation, and drop its data (its state with it)."""
    await retire(state, key, outcome, pressed=pressed, edited=edited)
    await finish(state, key)


# ---- the message it began from --------------------------------------------------------


def began_from(
    flow: Prompted, message: object, pressed: str | None = None, *, card_page: int = 0
) -> None:
    """Remember the notice or card (``card_page``: its list page) the conversation
    began from, with its buttons, if ``pressed`` (the pressed button's data; None for
    a reply to it) is one of them: a forged press on another message leaves that
    message alone."""
    markup = message.reply_markup if isinstance(message, Message) else None
    if not isinstance(message, Message) or markup is None:
        return
    rows = [
        [[b.text, b.callback_data] for b in row if b.callback_data]
        for row in markup.inline_keyboard
    ]
    if pressed is not None and not any(data == pressed for row in rows for _t, data in row):
        return
    flow.origin, flow.origin_page, flow.origin_rows = message.message_id, card_page, rows


async def settle_origin(
    state: FSMContext,
    flow: Prompted,
    outcome: Outcome,
    used: Callable[[str], bool],
    card: tuple[str, InlineKeyboardMarkup | None] | None = None,
) -> None:
    """Once the conversation has done what its origin's button began, the origin is
    brought up to date: a card is shown afresh (``card``), a notice keeps only the
    buttons not ``used`` (by their data). A later press on it of a button it no longer
    offers is told ``outcome`` (see :func:`told`)."""
    origin, chat_id = flow.origin, state.key.chat_id
    if origin is None:
        return
    kept = [row for row in flow.origin_rows if not any(used(data) for _t, data in row)]
    if flow.origin_page and card is not None:
        text, markup = card

        def afresh(bot: Bot) -> Awaitable[object]:
            return bot.edit_message_text(
                text=text, chat_id=chat_id, message_id=origin, reply_markup=markup
            )

        _later(chat_id, "origin card", afresh)
    elif kept != flow.origin_rows:
        left = _markup(kept)

        def lessened(bot: Bot) -> Awaitable[object]:
            return bot.edit_message_reply_markup(
                chat_id=chat_id, message_id=origin, reply_markup=left
            )

        _later(chat_id, "origin buttons", lessened)
    entry = _entry(outcome, flow.item, flow.reference, prompt=False)
    await _change(state, lambda used_: _noted(used_, [str(origin)], entry))


def _markup(rows: list[list[list[str]]]) -> InlineKeyboardMarkup | None:
    buttons = [
        [InlineKeyboardButton(text=text, callback_data=data) for text, data in row]
        for row in rows
        if row
    ]
    return InlineKeyboardMarkup(inline_keyboard=buttons) if buttons else None


# ---- a press on a used prompt ---------------------------------------------------------


async def told(query: CallbackQuery, state: FSMContext, item: int) -> bool:
    """Whether the pressed message is one whose buttons about ``item`` were used: if
    so, the person is told what happened already (and a prompt still showing the
    button loses its buttons). Nothing is written."""
    message = query.message
    if not isinstance(message, Message):
        return False
    used = await _record(state).get_data()
    entry = used.get(str(message.message_id))
    if isinstance(entry, dict) and isinstance(entry.get("flow"), str):
        # A prompt a newer one replaced: told how its conversation ended, if it has.
        entry = used.get(f"f:{entry['flow']}")
    if not isinstance(entry, dict) or entry.get("item") != item:
        return False
    values = entry.get("with")
    said = str(entry.get("said") or REPLACED)
    text = _(said).format_map(_Values(values if isinstance(values, dict) else {}))
    await query.answer(clip(text, _ANSWER_MAX), show_alert=True)
    markup = message.reply_markup if isinstance(message, Message) else None
    shown = [b.callback_data for row in markup.inline_keyboard for b in row] if markup else []
    if entry.get("prompt") and query.data in shown:
        # Its buttons were not taken off (the edit failed): they go now.
        strip(message.chat.id, message.message_id)
    return True


class _Values(dict[str, Any]):
    """What a recorded answer is formatted with: a value missing (an old record) shows
    as "?"."""

    def __missing__(self, key: str) -> str:
        return "?"


# ---- the chat's record -----------------------------------------------------------------


def _entry(outcome: Outcome, item: object, reference: object, *, prompt: bool) -> dict[str, Any]:
    return {
        "said": outcome.said,
        "item": item if isinstance(item, int) and not isinstance(item, bool) else 0,
        "with": {"reference": str(reference or "?"), **outcome.values},
        "prompt": prompt,
    }


def _record(state: FSMContext) -> FSMContext:
    # Kept by the chat, like the record of whom its force-reply prompts ask.
    chat_id = state.key.chat_id
    key = StorageKey(bot_id=state.key.bot_id, chat_id=chat_id, user_id=chat_id, destiny=_USED)
    return FSMContext(storage=state.storage, key=key)


async def _change(
    state: FSMContext, change: Callable[[dict[str, Any]], dict[str, Any] | None]
) -> None:
    await _modify_data(_record(state), change)


def _noted(used: dict[str, Any], keys: Iterable[str], entry: dict[str, Any]) -> dict[str, Any]:
    for key in keys:
        used.pop(key, None)  # the newest last, so the oldest go first
        used[key] = entry
    for old in list(used)[: max(0, len(used) - USED_KEPT)]:
        del used[old]
    return used


def _linked(used: dict[str, Any], message_id: int, since: str, item: int) -> dict[str, Any]:
    """The prompt ``message_id`` was replaced by a newer one of the conversation
    ``since``: a press on it is told how that conversation ends."""
    return _noted(used, [str(message_id)], {"flow": since, "item": item})


def pressed_id(query: CallbackQuery) -> int | None:
    """The id of the message whose button was pressed, if Telegram sent it."""
    return query.message.message_id if query.message is not None else None
