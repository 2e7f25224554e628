"""What the observer's and the liaison's private chats share about showing an item: a
page shown in place of the pressed message, the item's files, and the answer to a
button that no longer means anything (handlers.mine, handlers.department)."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram import Bot
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardMarkup,
    InputMediaDocument,
    InputMediaPhoto,
    Message,
)
from aiogram.types.media_union import MediaUnion
from aiogram.utils.i18n import gettext as _

from bot.domain.limits import ATTACHMENTS_MAX
from bot.domain.statuses import AttachmentKind
from bot.services.views import AttachmentInfo
from handlers.replies import edit_or_send
from handlers.ui import CAPTION_MAX, clip, esc


async def put(
    query: CallbackQuery,
    bot: Bot,
    text: str,
    markup: InlineKeyboardMarkup | None,
    *,
    edit: bool = True,
) -> None:
    """Show ``text`` in place of the pressed message, or below it when that cannot be."""
    message = query.message
    if edit and isinstance(message, Message) and message.text is not None:
        edit_or_send(message.chat.id, message.message_id, text, markup, send_to=query.from_user.id)
        return
    await bot.send_message(query.from_user.id, text, reply_markup=markup)


async def stale(query: CallbackQuery) -> None:
    """The answer to a button that is forged, garbled, from an older version of the bot,
    or of a conversation that has ended."""
    await query.answer(
        _("This button is no longer valid. Please start again from the menu."), show_alert=True
    )


async def send_files(
    bot: Bot,
    chat_id: int,
    reference: str,
    files: Sequence[AttachmentInfo],
    *,
    from_department: bool = False,
) -> None:
    """Photos together and documents together (Telegram does not mix them in an album),
    ten to an album, the first of each captioned with the item's reference (and, for
    what the department sent with its progress, saying so: the observer's own files
    look the same)."""
    if from_department:
        label = _("📎 From the responsible department, on {reference}")
    else:
        label = _("📎 Attachments of {reference}")
    caption = clip(label.format(reference=reference), CAPTION_MAX)
    for kind in (AttachmentKind.PHOTO, AttachmentKind.DOCUMENT):
        same = [f for f in files if f.kind is kind]
        for start in range(0, len(same), ATTACHMENTS_MAX):
            chunk = same[start : start + ATTACHMENTS_MAX]
            if len(chunk) == 1:
                if kind is AttachmentKind.PHOTO:
                    await bot.send_photo(chat_id, chunk[0].file_id, caption=esc(caption))
                else:
                    await bot.send_document(chat_id, chunk[0].file_id, caption=esc(caption))
                continue
            media: list[MediaUnion] = []
            for index, file in enumerate(chunk):
                text = esc(caption) if index == 0 else None
                if kind is AttachmentKind.PHOTO:
                    media.append(InputMediaPhoto(media=file.file_id, caption=text))
                else:
                    media.append(InputMediaDocument(media=file.file_id, caption=text))
            await bot.send_media_group(chat_id, media)


async def show_files(
    query: CallbackQuery, bot: Bot, reference: str, files: Sequence[AttachmentInfo]
) -> None:
    """The item's files, asked for with a button on its card."""
    if not files:
        await query.answer(_("This item has no attachments."))
        return
    await send_files(bot, query.from_user.id, reference, files)
    await query.answer()
