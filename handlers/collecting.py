"""Short conversations about one item in a private chat, and what a person writes in
them over several messages: text, photos and documents, sent with a button.

The observer's answer to the office's question and rating (handlers.mine) and the
liaison's progress report, hand-back reason and closing summary (handlers.department)
keep their data as a flow of this module's kinds; a button of a conversation that has
ended, or of another item, is stale. What is written in the answer and the report is
taken, and answered, by a :class:`Writing`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from pydantic import Field

from bot.domain.limits import ATTACHMENTS_MAX, TEXT_MAX
from handlers.attachments import attachment_of
from handlers.conversation import (
    PlainText,
    finish,
    joined,
    label,
    load_flow,
    save_flow,
    too_long,
)
from handlers.item_pages import stale
from handlers.keyboards import CANCEL
from handlers.ui import esc
from handlers.used_prompts import Outcome, Prompted, ask, end, told


class ItemFlow(Prompted):
    """A conversation about the item ``item`` (shown as ``reference``), whose prompts
    lose their buttons once used (handlers.used_prompts)."""

    def ongoing(self) -> bool:
        """Whether the data is of a conversation that can go on."""
        return bool(self.item)


class Collected(ItemFlow):
    """Text written over several messages, one paragraph each, with the files sent."""

    text: str = ""
    # Stored as handlers.attachments keeps them, until the service receives them.
    attachments: list[dict[str, Any]] = Field(default_factory=list)
    # Albums already answered: one reply per album, not one per photo.
    albums: list[str] = Field(default_factory=list)

    def take(self, text: str, attachment: dict[str, Any] | None = None) -> None:
        """Keep the text as it now reads, and the file that came with it."""
        if attachment is not None:
            self.attachments.append(attachment)
        self.text = text

    def tally(self, template: str, send: str) -> str:
        """``template`` (translated) told how much there is, of how much there may be,
        and the label of the button that sends it."""
        return template.format(
            chars=len(self.text),
            limit=TEXT_MAX,
            files=len(self.attachments),
            most=ATTACHMENTS_MAX,
            send=esc(send),
        )


FlowT = TypeVar("FlowT", bound=ItemFlow)


async def ongoing(
    message: Message, state: FSMContext, flow: type[FlowT], gone: str
) -> FlowT | None:
    """The conversation a message belongs to; when there is none any more, its state
    ends and the person is told ``gone``."""
    value = await load_flow(state, flow)
    if not value.ongoing():
        await finish(state, flow)
        await message.answer(gone)
        return None
    return value


async def pressed(
    query: CallbackQuery, state: FSMContext, flow: type[FlowT], step: State, item: int
) -> FlowT | None:
    """The conversation a pressed button belongs to, if the chat is still at ``step``
    of it about ``item``; otherwise the button is stale, and the person told what
    became of it, if the chat remembers (handlers.used_prompts)."""
    value = await load_flow(state, flow)
    on = await state.get_state() == step.state and value.item == item and value.ongoing()
    message = query.message
    if on and message is not None and message.message_id == value.prompt:
        return value
    if await told(query, state, item):
        return None
    if not on:
        await stale(query)
        return None
    return value


async def add_text(message: Message, state: FSMContext, flow: Collected) -> bool:
    """Add the message's text; whether it was added (if not, the person was told why)."""
    text = joined(flow.text, message.text)
    if len(text) > TEXT_MAX:
        await message.answer(too_long(len(text), TEXT_MAX))
        return False
    flow.take(text)
    await save_flow(state, flow)
    return True


async def add_file(message: Message, state: FSMContext, flow: Collected, too_many: str) -> bool:
    """Add the photo or document with its caption; whether to say how far the writing
    has come (not for the rest of an album). A file over the limit is refused with
    ``too_many``, and a caption that makes the text too long with the length."""
    album = message.media_group_id
    # A refusal is always said, even for the rest of an album.
    told = album is not None and album in flow.albums
    if album is not None and not told:
        flow.albums.append(album)
    text = joined(flow.text, message.caption)
    refusal = None
    if len(flow.attachments) >= ATTACHMENTS_MAX:
        refusal = too_many
    elif len(text) > TEXT_MAX:
        refusal = too_long(len(text), TEXT_MAX)
    else:
        attachment = attachment_of(message)
        assert attachment is not None  # the filter let only photos and documents in
        flow.take(text, attachment)
    await save_flow(state, flow)
    if refusal is not None:
        await message.answer(refusal)
        return False
    return not told


CollectedT = TypeVar("CollectedT", bound=Collected)


def _takes_files(_flow: Collected) -> str | None:
    return None


@dataclass(frozen=True)
class Writing(Generic[CollectedT]):
    """What is written at ``step`` of a conversation that collects text and files over
    several messages, and what the person is told. The messages are gettext ids (marked
    with ``N_``), translated when said."""

    flow: type[CollectedT]
    step: State
    gone: str  # the conversation is over
    cancelled: str  # Cancel pressed on the reply keyboard
    too_many: str  # a file over the limit ({most})
    other: str  # neither text nor a photo or a document
    progress: Callable[[CollectedT], str]  # how far the writing has come
    buttons: Callable[[CollectedT], InlineKeyboardMarkup]  # under it
    refusal: Callable[[CollectedT], str | None] = _takes_files  # why it takes no files

    def register(self, router: Router, i18n: I18n) -> None:
        """Cancel, text, a photo or a document, and anything else, in this order."""
        router.message.register(self.cancel_typed, self.step, label(i18n, CANCEL))
        router.message.register(self.text_piece, self.step, PlainText(i18n))
        router.message.register(self.file_piece, self.step, F.photo | F.document)
        router.message.register(self.other_piece, self.step, F.text.is_(None))

    async def current(self, message: Message, state: FSMContext) -> CollectedT | None:
        return await ongoing(message, state, self.flow, _(self.gone))

    async def cancel_typed(self, message: Message, state: FSMContext) -> None:
        await end(state, self.flow, Outcome(self.cancelled))
        await message.answer(_(self.cancelled))

    async def text_piece(self, message: Message, state: FSMContext) -> None:
        flow = await self.current(message, state)
        if flow is not None and await add_text(message, state, flow):
            await ask(state, flow, self.progress(flow), self.buttons(flow))

    async def file_piece(self, message: Message, state: FSMContext) -> None:
        flow = await self.current(message, state)
        if flow is None:
            return
        refusal = self.refusal(flow)
        if refusal is not None:
            await message.answer(_(refusal))
            return
        too_many = _(self.too_many).format(most=ATTACHMENTS_MAX)
        if await add_file(message, state, flow, too_many):
            await ask(state, flow, self.progress(flow), self.buttons(flow))

    async def other_piece(self, message: Message) -> None:
        await message.answer(_(self.other))
