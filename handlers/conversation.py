"""Conversation state shared by several flows in one chat.

Each flow keeps its data under its own key of the FSM data (``draft`` for filing,
``application`` for applying, ``answer`` and ``rating`` for My suggestions), so that
finishing one flow never throws away another one's half-written work.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar, TypeVar

from aiogram import F, Router
from aiogram.filters import Filter, MagicData
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from pydantic import BaseModel, ConfigDict, ValidationError

from bot.i18n import every_translation
from handlers.keyboards import HELP, MINE, NEW

log = logging.getLogger(__name__)


class Flow(BaseModel):
    """One flow's data, kept under its own key (``key``) of the FSM data as plain JSON.

    A subclass names its fields and their types; what was stored by an older version of
    the bot, or is broken, loads as far as it can be read (unknown fields are dropped,
    an unreadable value starts the flow's data afresh) rather than failing the update.
    """

    model_config = ConfigDict(extra="ignore")
    key: ClassVar[str]


FlowT = TypeVar("FlowT", bound=Flow)


async def load_flow(state: FSMContext, flow: type[FlowT]) -> FlowT:
    """The flow's data as stored, or a fresh one."""
    value = (await state.get_data()).get(flow.key)
    if not isinstance(value, dict):
        return flow()
    try:
        return flow.model_validate(value)
    except ValidationError as exc:
        log.warning(
            "conversation data unreadable, started afresh",
            extra={"flow": flow.key, "errors": exc.error_count()},
        )
        return flow()


async def save_flow(state: FSMContext, value: Flow) -> None:
    """Store the flow's data, leaving other flows' data as it is."""
    await state.update_data({value.key: value.model_dump(mode="json")})


async def finish(state: FSMContext, key: str | type[Flow]) -> None:
    """End the current flow and drop its data, keeping everyone else's."""
    data = await state.get_data()
    data.pop(key if isinstance(key, str) else key.key, None)
    await state.set_state(None)
    await state.set_data(data)


# An update from an office's group carries that office (bot.middlewares.standing).
IN_AN_OFFICE = MagicData(F.office.is_not(None))


def private_router(name: str) -> Router:
    """A router for a conversation held in private chats only."""
    router = Router(name=name)
    router.message.filter(F.chat.type == "private")
    router.callback_query.filter(F.message.chat.type == "private")
    return router


def menu_labels(i18n: I18n) -> frozenset[str]:
    return (
        every_translation(i18n, NEW) | every_translation(i18n, MINE) | every_translation(i18n, HELP)
    )


class PlainText(Filter):
    """Text a person typed as an answer: not a command and not a menu button."""

    def __init__(self, i18n: I18n) -> None:
        self._menu = menu_labels(i18n)

    async def __call__(self, message: Message) -> bool:
        text = message.text
        return text is not None and not text.startswith("/") and text not in self._menu


def label(i18n: I18n, message: str) -> Any:
    """A magic filter matching a reply-keyboard label in any language."""
    return F.text.in_(every_translation(i18n, message))


def joined(old: str, piece: str | None) -> str:
    """Text written over several messages, one paragraph per message."""
    piece = (piece or "").strip()
    if not piece:
        return old
    return f"{old}\n\n{piece}" if old else piece


def too_long(length: int, limit: int) -> str:
    """What a person is told when one more message would take the text over ``limit``."""
    return _(
        "That would make it {length} characters long, and at most {limit} are allowed. "
        "Please send a shorter text."
    ).format(length=length, limit=limit)
