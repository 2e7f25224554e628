"""Short conversations about one item in a private chat, and what a person writes in
them over several messages: text, photos and documents, sent with a button.

The observer's answer to the office's question and rating (handlers.mine) and the
liaison's progress report, hand-back reason and closing summary (handlers.department)
keep their data as a flow of this module's kinds; a button of a conversation that has
ended, or of another item, is stale.
"""

from __future__ import annotations

from typing import Any, TypeVar

from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, Message
from pydantic import Field

from bot.domain.limits import ATTACHMENTS_MAX, TEXT_MAX
from handlers.attachments import attachment_of
from handlers.conversation import Flow, finish, joined, load_flow, save_flow, too_long
from handlers.item_pages import stale
from handlers.ui import esc


class ItemFlow(Flow):
    """A conversation about the item ``item`` (shown as ``reference``)."""

    item: int = 0
    reference: str = ""

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
    of it about ``item``; otherwise the button is stale."""
    value = await load_flow(state, flow)
    if await state.get_state() != step.state or value.item != item or not value.ongoing():
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
