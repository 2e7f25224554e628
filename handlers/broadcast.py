"""/broadcast: the office writes to every active observer, or to one point's.

``/broadcast [POINT] TEXT`` shows a preview in the group (the message exactly as the
observers will read it, and how many it goes to) with Send and Cancel. The pending
broadcast lives in the admin's own conversation data, never in callback data, so a
second press of Send (a double tap, an old preview) finds nothing left to send. Sending
queues one outbox row per observer; once every row is delivered or has failed, the
group gets a delivery report.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.domain.errors import DomainError, MissingInput
from bot.middlewares.people import CurrentUser
from bot.services.actors import Actor
from bot.services.broadcasts import BroadcastService, NoRecipients
from bot.settings import Settings
from handlers import labels
from handlers.conversation import load_flow, save_flow
from handlers.errors import explain
from handlers.keyboards import CANCEL as CANCEL_LABEL
from handlers.keyboards import button
from handlers.office import office_router, usage
from handlers.replies import Asking, remember_flow
from handlers.ui import clip, esc

if TYPE_CHECKING:
    from bot.services.outbox import OutboxItem
    from handlers.delivering import Outgoing

# The admin's pending broadcast, in their conversation data.
_PENDING = "broadcast"
_NAME_LIMIT = 100
SEND, CANCEL = "s", "x"


class BroadcastCb(CallbackData, prefix="bc"):
    act: str
    # The admin who wrote the broadcast: only they may send or cancel it.
    by: int


def message_text(text: str) -> str:
    """The message the observers receive, in the current locale."""
    return "📢 <b>" + _("Message from the district office") + "</b>\n\n" + esc(text)


def _audience(recipients: int, point_code: str | None, point_name: str | None) -> str:
    if point_code is None:
        return _("all active observers ({count})").format(count=recipients)
    return _("the observers of point {point} ({count})").format(
        point=esc(clip(f"{point_code} · {labels.place(point_name)}", _NAME_LIMIT)),
        count=recipients,
    )


def _where(point_code: str | None, point_name: str | None) -> str:
    if point_code is None:
        return _("all points")
    return _("point {point}").format(
        point=esc(clip(f"{point_code} · {labels.place(point_name)}", _NAME_LIMIT))
    )


async def deliver(out: Outgoing, row: OutboxItem) -> None:
    """Send the office's message to one observer, in their language (the caller has
    chosen the locale)."""
    if row.chat_id is None:
        raise ValueError(f"broadcast row {row.id} has no chat")
    text = str(row.payload.get("text") or "")
    if not text:
        raise ValueError(f"broadcast row {row.id} has no text")
    await out.bot.send_message(row.chat_id, message_text(text))


def _count(payload: Mapping[str, Any], key: str) -> int:
    try:
        return int(payload.get(key) or 0)
    except (TypeError, ValueError):
        return 0


def report_text(payload: Mapping[str, Any]) -> str:
    """The delivery report the admin group reads once every message is settled."""
    point = labels.carried_place(payload, "point")
    where = (
        _("point {point}").format(point=esc(clip(str(point), _NAME_LIMIT)))
        if point
        else _("all points")
    )
    lines = [
        "📊 "
        + _("<b>Broadcast #{id} delivery report</b> ({where})").format(
            id=_count(payload, "broadcast_id"), where=where
        ),
        _("Delivered: {delivered} of {recipients}").format(
            delivered=_count(payload, "delivered"), recipients=_count(payload, "recipients")
        ),
        _("Failed: {failed}").format(failed=_count(payload, "failed")),
    ]
    if _count(payload, "failed"):
        lines.append(
            _("Observers who blocked the bot or cannot be reached did not get the message.")
        )
    return "\n".join(lines)


class PendingBroadcast(Asking):
    """The broadcast a preview shows, until its Send or Cancel is pressed. Its ``ask``
    mark (handlers.replies.keep_flow) lets the preview's id land in this broadcast
    only, never in a newer one written meanwhile."""

    key: ClassVar[str] = _PENDING
    text: str = ""
    point_id: int | None = None
    # The preview's message, once it is sent: only its buttons may send this broadcast.
    message_id: int | None = None


async def _forget(state: FSMContext) -> None:
    """Take the pending broadcast out of the admin's conversation data. Another flow the
    admin is in the middle of keeps its state and its data."""
    data = await state.get_data()
    if data.pop(_PENDING, None) is not None:
        await state.set_data(data)


def _shown_in(pending: PendingBroadcast, message_id: int) -> None:
    pending.message_id = message_id


def setup(i18n: I18n, settings: Settings) -> Router:
    router = office_router("broadcast")
    router.message.register(preview, Command("broadcast"))
    router.callback_query.register(decide, BroadcastCb.filter())
    return router


async def preview(
    message: Message,
    command: CommandObject,
    user: CurrentUser,
    actor: Actor,
    broadcasts: BroadcastService,
    state: FSMContext,
) -> None:
    try:
        prepared = await broadcasts.prepare(actor, command.args)
    except MissingInput:
        await message.reply(usage("broadcast"))
        return
    except DomainError as exc:
        await message.reply(explain(exc) + "\n" + usage("broadcast"))
        return
    audience = _audience(prepared.recipients, prepared.point_code, prepared.point_name)
    if prepared.recipients == 0:
        # Whatever was pending before stays as it was.
        await message.reply(
            _("Nobody would receive this: {audience}. Nothing was queued.").format(
                audience=audience
            )
        )
        return
    # A new preview replaces the one pending before; that one's buttons go stale.
    await _forget(state)
    shown = await message.answer(
        _preview_text(audience, prepared.text), reply_markup=_preview_buttons(user.id)
    )
    pending = PendingBroadcast(text=prepared.text, point_id=prepared.point_id)
    await remember_flow(state, pending, shown, _shown_in)
    await save_flow(state, pending)


def _preview_text(audience: str, text: str) -> str:
    return "\n".join(
        [
            "👁 " + _("<b>Broadcast preview</b>: to {audience}.").format(audience=audience),
            _("The observers will receive exactly this:"),
            "",
            message_text(text),
        ]
    )


def _preview_buttons(by: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                button(_("✅ Send"), BroadcastCb(act=SEND, by=by).pack()),
                button(_(CANCEL_LABEL), BroadcastCb(act=CANCEL, by=by).pack()),
            ]
        ]
    )


async def decide(
    query: CallbackQuery,
    callback_data: BroadcastCb,
    actor: Actor,
    broadcasts: BroadcastService,
    state: FSMContext,
) -> None:
    if callback_data.by != query.from_user.id:
        await query.answer(
            _("Only the admin who wrote this broadcast can send or cancel it."),
            show_alert=True,
        )
        return
    shown = query.message if isinstance(query.message, Message) else None
    pending = await load_flow(state, PendingBroadcast)
    if shown is None or pending.message_id != shown.message_id:
        # Sent or cancelled already (a double tap), or replaced by a newer preview.
        await query.answer(
            _("This preview is no longer pending: nothing more was sent."), show_alert=True
        )
        if shown is not None and shown.reply_markup is not None:
            await shown.edit_reply_markup(reply_markup=None)
        return
    await _forget(state)
    if callback_data.act == CANCEL:
        await query.answer(_("Cancelled."))
        await shown.edit_text("✖️ " + _("Broadcast cancelled. Nothing was sent."), reply_markup=None)
        return
    await _send(query, shown, actor, broadcasts, pending)


async def _send(
    query: CallbackQuery,
    shown: Message,
    actor: Actor,
    broadcasts: BroadcastService,
    pending: PendingBroadcast,
) -> None:
    """Queue the broadcast the admin pressed Send under, and say so in its preview."""
    try:
        sent = await broadcasts.send(actor, pending.text, point_id=pending.point_id)
    except NoRecipients:
        await query.answer()
        await shown.edit_text(
            "✖️ " + _("Nobody is left to receive this broadcast. Nothing was queued."),
            reply_markup=None,
        )
        return
    await query.answer(_("Queued."))
    queued = _(
        "<b>Broadcast #{id}</b> queued for {count} observers ({where}); "
        "a delivery report will follow."
    ).format(id=sent.id, count=sent.recipients, where=_where(sent.point_code, sent.point_name))
    await shown.edit_text(
        "\n".join(["✅ " + queued, "", message_text(sent.text)]), reply_markup=None
    )
