"""Replies whose outcome matters after the update: decided now, carried out after commit.

A handler's calls are made after its update commits (``bot.effects``), so it cannot
look at what they return. When it needs to — to remember which message holds the
current question, or to fall back to a new message when the old one cannot be edited —
these helpers do it as effects, with the conversation state updated afterwards.
"""

from __future__ import annotations

import copy
import logging
import secrets
from collections.abc import Callable
from typing import Any

from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.types import InlineKeyboardMarkup, Message

from bot.effects import After, Speech, later, when_sent
from storage.fsm import DatabaseStorage

log = logging.getLogger(__name__)

# Puts a sent message's id into a flow's data.
Put = Callable[[dict[str, Any], int], None]


def keep_in(state: FSMContext, key: str, data: dict[str, Any], put: Put) -> After:
    """What to do with a message once it is sent: ``put`` its id into the flow's data,
    if the flow is still where it was when the message was asked for. Marks ``data``
    (which the handler saves) so that this can be told."""
    data["ask"] = asking = secrets.token_hex(4)

    async def keep(sent: Any) -> None:
        if not isinstance(sent, Message):
            return
        message_id = sent.message_id

        def change(flow: dict[str, Any]) -> dict[str, Any] | None:
            if flow.get("ask") != asking:
                return None
            put(flow, message_id)
            return flow

        await modify(state, key, change)

    return keep


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

    storage = state.storage
    if isinstance(storage, DatabaseStorage):
        await storage.modify(state.key, whole)
        return
    # Redis: no transaction to share; its writes are single commands.
    data = copy.deepcopy(await state.get_data())
    changed = whole(data)
    if changed is not None:
        await state.set_data(changed)


async def remember(state: FSMContext, key: str, data: dict[str, Any], sent: Any, put: Put) -> None:
    """Once ``sent`` is sent, ``put`` its id into the flow's data (see keep_in)."""
    await when_sent(sent, keep_in(state, key, data, put))


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
