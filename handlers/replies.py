"""Replies whose outcome matters after the update: decided now, carried out after commit.

A handler's calls are made after its update commits (``bot.effects``), so it cannot
look at what they return. When it needs to — to remember which message holds the
current question, or to fall back to a new message when the old one cannot be edited —
these helpers do it as effects, with the conversation state updated afterwards.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import StorageKey
from aiogram.types import InlineKeyboardMarkup, Message
from pydantic import ValidationError

from bot.effects import After, Speech, later, when_sent
from handlers.conversation import Flow
from storage.fsm import DatabaseStorage

log = logging.getLogger(__name__)

_ASKERS = "prompts.askers"  # the chat's own record of whom its force-reply prompts ask
ASKERS_KEPT = 100  # prompts remembered per chat, the newest


class Asking(Flow):
    """A flow that keeps the id of a message it asked for (see :func:`keep_flow`);
    ``ask`` tells whether the flow is still where it was when the message was asked
    for."""

    ask: str | None = None


AskingT = TypeVar("AskingT", bound=Asking)
FlowT = TypeVar("FlowT", bound=Flow)


def keep_flow(state: FSMContext, flow: AskingT, put: Callable[[AskingT, int], None]) -> After:
    """What to do with a message once it is sent: ``put`` its id into the flow, if the
    flow is still where it was when the message was asked for. Marks ``flow`` (which
    the handler saves) so that this can be told."""
    flow.ask = asking = secrets.token_hex(4)
    kind = type(flow)

    async def keep(sent: Any) -> None:
        if not isinstance(sent, Message):
            return
        message_id = sent.message_id

        def put_id(now: AskingT) -> AskingT | None:
            if now.ask != asking:
                return None
            put(now, message_id)
            return now

        await modify_flow(state, kind, put_id)

    return keep


def _changed(
    kind: type[FlowT], data: dict[str, Any], change: Callable[[FlowT], FlowT | None]
) -> dict[str, Any] | None:
    try:
        flow = kind.model_validate(data)
    except ValidationError:
        return None  # unreadable: the next update of the flow starts it afresh
    changed = change(flow)
    return None if changed is None else changed.model_dump(mode="json")


async def modify(
    state: FSMContext, key: str, change: Callable[[dict[str, Any]], dict[str, Any] | None]
) -> None:
    """Change one flow's data at once (read, change, write in one transaction), so that
    what a later update of the conversation wrote meanwhile is never overwritten."""

    def whole(data: dict[str, Any]) -> dict[str, Any] | None:
        flow = data.get(key)
        if not isinstance(flow, dict):
            return None
        changed = change(flow)
        if changed is None:
            return None
        data[key] = changed
        return data

    await _modify_data(state, whole)


async def _modify_data(
    state: FSMContext, whole: Callable[[dict[str, Any]], dict[str, Any] | None]
) -> None:
    # Conversation state is always the database's (bot.dispatcher.conversation_storage).
    storage = state.storage
    assert isinstance(storage, DatabaseStorage)
    await storage.modify(state.key, whole)


async def modify_flow(
    state: FSMContext, kind: type[FlowT], change: Callable[[FlowT], FlowT | None]
) -> None:
    """:func:`modify` for a typed flow: ``change`` gets the flow as stored, and returns
    it changed, or None to leave it as it is."""
    await modify(state, kind.key, lambda data: _changed(kind, data, change))


async def remember_flow(
    state: FSMContext, flow: AskingT, sent: Any, put: Callable[[AskingT, int], None]
) -> None:
    """Once ``sent`` is sent, ``put`` its id into the flow (see keep_flow)."""
    await when_sent(sent, keep_flow(state, flow, put))


def edit_or_send(
    chat_id: int,
    message_id: int,
    text: str,
    markup: InlineKeyboardMarkup | None,
    *,
    send_to: int | None = None,
    keep: After | None = None,
) -> None:
    """After commit, show ``text`` in place of the message, or in a new message (in
    ``send_to``, by default the same chat) when it cannot be edited; ``keep`` gets the
    new message."""

    async def work(speech: Speech) -> None:
        try:
            await speech.bot.edit_message_text(
                text=text, chat_id=chat_id, message_id=message_id, reply_markup=markup
            )
            return
        except TelegramBadRequest as exc:
            if "not modified" in str(exc).lower():
                return  # a double tap: the message shows this already
            log.info("message %s/%s cannot be edited (%s): sending anew", chat_id, message_id, exc)
        sent = await speech.bot.send_message(send_to or chat_id, text, reply_markup=markup)
        if keep is not None:
            await keep(sent)

    later(send_to or chat_id, work, name="edit or send")


# ---- whom a prompt asks ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Asker:
    """The person a force-reply prompt asks, and where the move it is part of is started
    (``where``: "" for the item's card; see ``handlers.prompts``)."""

    user_id: int
    name: str
    where: str = ""


def _askers(state: FSMContext) -> FSMContext:
    # Kept by the chat, not by the person asked: whoever replies can be told whose it is.
    chat_id = state.key.chat_id
    key = StorageKey(bot_id=state.key.bot_id, chat_id=chat_id, user_id=chat_id, destiny=_ASKERS)
    return FSMContext(storage=state.storage, key=key)


async def note_asker(state: FSMContext, sent: Any, asker: Asker) -> None:
    """Once the prompt ``sent`` is sent, the chat remembers whom it asks, so that a reply
    to it by anyone else can be told why it is not taken (see :func:`asker_of`)."""
    askers = _askers(state)

    async def keep(message: Any) -> None:
        if not isinstance(message, Message):
            return
        prompt = str(message.message_id)

        def put(data: dict[str, Any]) -> dict[str, Any]:
            data[prompt] = [asker.user_id, asker.name, asker.where]
            for old in list(data)[: max(0, len(data) - ASKERS_KEPT)]:
                del data[old]
            return data

        await _modify_data(askers, put)

    await when_sent(sent, keep)


async def asker_of(state: FSMContext, message_id: int) -> Asker | None:
    """Whom the prompt ``message_id`` of this chat asks, if it is one the bot noted."""
    found = (await _askers(state).get_data()).get(str(message_id))
    # Noted before ``where`` was kept: two items.
    if isinstance(found, list) and len(found) in (2, 3):
        user_id, name, where = [*found, ""][:3]
        if isinstance(user_id, int) and isinstance(name, str) and isinstance(where, str):
            return Asker(user_id, name, where)
    return None
