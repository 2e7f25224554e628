"""Delivering one outbox row: chosen by its audience, rendered in the recipient's
language at delivery time, sent (with the files that travel with it).

The admin group hears of an item through its card, which is refreshed (or posted
again, when the item returns to the office); applications get a card of their own;
the rest of the office's news are one short line each, since a group takes only about
twenty messages a minute.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aiogram.utils.i18n import gettext as _

from bot.domain.notices import Notice
from bot.domain.offices import HOME, OfficeTree
from bot.domain.roles import Role
from bot.effects import Speech, later
from bot.i18n import locale_for
from bot.services.cards import APPLICATION, CardInfo
from bot.services.notify import ABOVE, ADMIN_GROUP, BY, LIAISON, USER
from bot.services.outbox import OutboxItem
from bot.services.people import POINT_REQUEST
from bot.services.rectifications import KIND as RECTIFYING
from bot.services.rectifications import RECTIFICATION
from bot.services.views import AttachmentInfo
from handlers import (
    admission,
    broadcast,
    department,
    feedback,
    point_change,
    rectifications,
    reminders,
)
from handlers.card_sync import converge, converge_item
from handlers.delivering import NoAdminChat, Outgoing
from handlers.mine import send_files
from handlers.notices import UnknownNotice, render
from handlers.privacy import outsiders_text
from handlers.ui import MESSAGE_MAX, payload_text
from storage.store import Store

_ITEM = "item."
# Kinds that bring an item back before the office: a fresh card, to be seen.
_RETURNING = frozenset(
    {"item.submit", "item.answer_info", "item.hand_back", "item.reopen", "item.city_return"}
)
# Kinds whose files the office should see beside the card.
_FILES_TO_OFFICE = frozenset({"item.submit", "item.answer_info"})


async def deliver(out: Outgoing, row: OutboxItem) -> None:
    """Send one row; raises whatever Telegram or rendering raised (the caller records
    the failure)."""
    if row.audience == ADMIN_GROUP:
        chat_id = await office_group(out, row.office_id)
        locale = await group_locale(out, chat_id)
        with out.i18n.context(), out.i18n.use_locale(locale):
            await _to_office(out, chat_id, row)
        return
    if row.chat_id is None or row.audience not in (USER, LIAISON):
        raise UnknownNotice(f"{row.audience}:{row.kind}")
    recipient = await out.outbox.recipient(row.chat_id)
    locale = locale_for(
        recipient.locale if recipient else None,
        recipient.language_code if recipient else None,
        out.default_locale,
    )
    with out.i18n.context(), out.i18n.use_locale(locale):
        if row.audience == LIAISON and row.kind in reminders.LIAISON_KINDS:
            await out.bot.send_message(row.chat_id, reminders.liaison_text(row.kind, row.payload))
        elif row.kind == Notice.BROADCAST:
            await broadcast.deliver(out, row)
        elif row.audience == LIAISON:
            await department.deliver(out, row)
        else:
            await _to_person(out, row.chat_id, row)


async def _offices(out: Outgoing) -> OfficeTree:
    """The offices, the home office's group ``ADMIN_CHAT_ID`` until one is bound to it."""
    return (await out.outbox.offices()).with_home_group(out.admin_chat_id)


async def office_group(out: Outgoing, office_id: int | None) -> int:
    """The group of the office ``office_id`` (the home office's for None)."""
    office = (await _offices(out)).get(office_id if office_id is not None else HOME)
    if office is None or office.chat_id is None:
        code = office.code if office is not None else office_id
        raise NoAdminChat(f"office {code} has no group (ADMIN_CHAT_ID, or its link)")
    return office.chat_id


async def group_locale(out: Outgoing, chat_id: int) -> str:
    """The language the office's group reads: its admins' choice, else the default."""
    return await out.languages.of_group(chat_id) or out.default_locale


async def _to_person(out: Outgoing, chat_id: int, row: OutboxItem) -> None:
    shown = render(row.kind, row.payload, suggestion_id=row.suggestion_id)
    await out.bot.send_message(chat_id, shown.text, reply_markup=shown.markup)
    files = await out.outbox.attachments(row)
    if files:
        reference = str(row.payload.get("reference") or "")
        by_department = row.payload.get(BY) == Role.LIAISON.value
        await send_files(out.bot, chat_id, reference, files, from_department=by_department)


async def _to_office(out: Outgoing, chat_id: int, row: OutboxItem) -> None:
    if row.kind.startswith(_ITEM) and row.suggestion_id is not None:
        files = await out.outbox.attachments(row) if row.kind in _FILES_TO_OFFICE else []
        # What the observer said (an addition, a rating to read) follows the card.
        word = await feedback.for_office(out, row)
        later(
            chat_id,
            functools.partial(
                _item_card,
                chat_id=chat_id,
                item_id=row.suggestion_id,
                out=out,
                # Back before its own office; not so for the city it was reported to.
                repost=row.kind in _RETURNING and not row.payload.get(ABOVE),
                # The update that made the move has usually shown it by now.
                event=row.event_id,
                files=files,
                reference=str(row.payload.get("reference") or ""),
                word=word,
            ),
            name="item card",
        )
        return
    if row.kind == Notice.APPLICATION_NEW:
        await admission.post_card(out, chat_id, int(row.payload.get("application_id") or 0))
        return
    if row.kind.startswith(RECTIFYING):
        rectification_id = int(row.payload.get("rectification_id") or 0)
        rectifications.show(chat_id, rectification_id, out.cards, create=True)
        return
    if row.kind in (Notice.POINT_REQUESTED, Notice.POINT_REQUEST_WITHDRAWN):
        request_id = int(row.payload.get("request_id") or 0)
        point_change.show(chat_id, request_id, out.cards, create=row.kind == Notice.POINT_REQUESTED)
        return
    if row.kind == Notice.BROADCAST_REPORT:
        await out.bot.send_message(chat_id, broadcast.report_text(row.payload))
        return
    if row.kind in reminders.OFFICE_KINDS:
        await out.bot.send_message(chat_id, reminders.office_text(row.kind, row.payload))
        return
    text = office_line(row.kind, row.payload)
    await out.bot.send_message(chat_id, text)


async def _item_card(
    speech: Speech,
    *,
    chat_id: int,
    item_id: int,
    out: Outgoing,
    repost: bool,
    event: int | None,
    files: Sequence[AttachmentInfo],
    reference: str,
    word: feedback.Word | None = None,
) -> None:
    """The item's card brought up to date (posted anew when it returns to the office),
    with the files filed with it below a new card."""
    posted = await converge_item(
        speech,
        chat_id=chat_id,
        item_id=item_id,
        policy=out.policy,
        clock=out.suggestions.clock,
        repost=repost,
        unless_showing=event,
    )
    if files and posted is not None:
        await send_files(speech.bot, chat_id, reference, files)
    if word is not None:
        await feedback.say(speech, chat_id, item_id, word, out.policy, out.suggestions.clock)


async def resync(
    speech: Speech, card: CardInfo, build: Callable[[Store], Outgoing], *, default_locale: str
) -> None:
    """Bring one card marked for a re-sync up to date, in its reader's language."""

    async with speech.read() as store:
        out = build(store)
        group = (await _offices(out)).of_chat(card.chat_id) is not None
        if group:
            locale = await group_locale(out, card.chat_id)
        else:
            recipient = await out.outbox.recipient(card.chat_id)
            locale = locale_for(
                recipient.locale if recipient else None,
                recipient.language_code if recipient else None,
                default_locale,
            )
        actor = None if group else await out.outbox.recipient_actor(card.chat_id)
    policy, clock = out.policy, out.suggestions.clock
    with out.i18n.context(), out.i18n.use_locale(locale):
        if card.subject == APPLICATION:
            render = admission.application_render(card.subject_id, policy, clock)
        elif card.subject == POINT_REQUEST:
            render = point_change.card_render(card.subject_id, policy, clock)
        elif card.subject == RECTIFICATION:
            render = rectifications.card_render(card.subject_id, policy, clock, card.chat_id)
        elif actor is None:
            await converge_item(
                speech, chat_id=card.chat_id, item_id=card.subject_id, policy=policy, clock=clock
            )
            return
        else:
            render = department.card_render(actor, card.subject_id, policy, clock)
        await converge(
            speech, card.chat_id, card.subject, card.subject_id, render, policy=policy, clock=clock
        )


def office_line(kind: str, payload: Mapping[str, Any]) -> str:
    """The one line the group reads for news that is not an item or an application."""
    if kind == Notice.OBSERVER_APPOINTED:
        return "🎉 " + _("{name} is now an observer at {point} (observer #{id}).").format(
            name=payload_text(payload, "name"),
            point=payload_text(payload, "point"),
            id=payload_text(payload, "observer_id", 20),
        )
    if kind == Notice.OBSERVER_MOVED:
        return "📍 " + _("Observer {name} (#{id}) moved to {point}.").format(
            name=payload_text(payload, "name"),
            point=payload_text(payload, "point"),
            id=payload_text(payload, "observer_id", 20),
        )
    if kind == Notice.LIAISON_JOINED:
        return "🏢 " + _("{name} is now a liaison of {department}.").format(
            name=payload_text(payload, "name"), department=payload_text(payload, "department")
        )
    if kind == Notice.OBSERVER_UNREACHABLE:
        return _unreachable(payload)
    if kind == Notice.OBSERVER_FORGOTTEN:
        return "🗑 " + _(
            "Observer #{id} left the scheme and asked to be forgotten: their name, phone "
            "number, résumé and Telegram account are erased; their items are kept under "
            "an anonymous name."
        ).format(id=payload_text(payload, "observer_id", 20))
    if kind == Notice.OFFICE_BOUND:
        return "🏛 " + _(
            "{name} ({code}) has its admin group now: its administrators there are the "
            "office's admins. /offices lists the offices below this one."
        ).format(name=payload_text(payload, "name"), code=payload_text(payload, "code", 20))
    if kind == Notice.GROUP_OUTSIDERS:
        count = payload.get("count")
        return outsiders_text(count if isinstance(count, int) else 0)
    raise UnknownNotice(kind)


def _unreachable(payload: Mapping[str, Any]) -> str:
    if payload.get("department"):
        return "🚫 " + _(
            "Liaison {name} of {department} cannot be reached: they have blocked the bot. "
            "Messages to them are held and will be delivered when they start the bot again."
        ).format(name=payload_text(payload, "name"), department=payload_text(payload, "department"))
    return "🚫 " + _(
        "Observer {name} (#{id}, {point}) cannot be reached: they have blocked the bot. "
        "Messages to them are held and will be delivered when they start the bot again."
    ).format(
        name=payload_text(payload, "name"),
        id=payload_text(payload, "observer_id", 20),
        point=payload_text(payload, "point"),
    )


__all__ = ["MESSAGE_MAX", "NoAdminChat", "Outgoing", "deliver", "office_line"]
