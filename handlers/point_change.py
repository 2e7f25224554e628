"""A change of observation point in the admin group: the card with Approve / Refuse.

An observer who asks to move to another point (``handlers.moving``) files a request;
the outbox sender posts its card here: "X asks to move from P01 to P16". Only approval
moves the observer, and they are told either way, in their language. The buttons carry
the request's version: pressed after another admin decided, or after the observer
withdrew the request or asked for another point instead, they are answered with how it
stands, and the card is brought up to date. The card is edited in place after every
decision, and shows who decided and when.
"""

from __future__ import annotations

import functools

from aiogram import F, Router
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.domain.errors import AlreadyMoved, Conflict, NotFound, PointInactive
from bot.domain.point_requests import RequestStatus
from bot.effects import later
from bot.services.actors import SYSTEM, Actor
from bot.services.cards import CardService
from bot.services.context import Clock, Policy
from bot.services.people import POINT_REQUEST, PeopleService, PointRequestView
from bot.settings import Settings
from handlers import labels
from handlers.card_sync import Render, converge
from handlers.cards import Shown
from handlers.errors import explain
from handlers.keyboards import button
from handlers.office import office_router
from handlers.ui import N_, clip, esc, local_time
from storage.store import Store

R = RequestStatus


class PointReqCb(CallbackData, prefix="pr"):
    """A button on a request's card: ``v`` is the request's version when drawn."""

    act: str
    req: int
    v: int = 0


APPROVE, REFUSE = "ok", "no"

_STATUS: dict[RequestStatus, str] = {
    R.PENDING: N_("Awaiting a decision"),
    R.APPROVED: N_("Approved"),
    R.REFUSED: N_("Refused"),
    R.WITHDRAWN: N_("Withdrawn"),
}
_EMOJI: dict[RequestStatus, str] = {
    R.PENDING: "🟡",
    R.APPROVED: "✅",
    R.REFUSED: "⛔",
    R.WITHDRAWN: "↩️",
}


# ---- the card ------------------------------------------------------------------------


def card_text(view: PointRequestView, policy: Policy) -> str:
    status = f"{_EMOJI[view.status]} {esc(_(_STATUS[view.status]))}"
    to_point = esc(clip(labels.place(view.to_point), 150))
    lines = [
        "📍 " + _("<b>Change of point #{id}</b>").format(id=view.id) + f" · {status}",
        _("{name} (observer #{id}) asks to move from {old} to <b>{new}</b>.").format(
            name=esc(clip(view.observer_name, 100)),
            id=view.observer_id,
            old=esc(clip(labels.place(view.from_point) or _("no point"), 150)),
            new=to_point,
        ),
        _("<b>Asked:</b> {moment}").format(moment=local_time(view.asked_at, policy.tz)),
    ]
    who = esc(clip(view.decided_by or "?", 60))
    when = local_time(view.decided_at, policy.tz) if view.decided_at else "?"
    if view.status is R.PENDING and not view.to_point_active:
        closed = _("{point} has been closed since: refuse the request.")
        lines.append("⚠️ " + closed.format(point=to_point))
    elif view.status is R.APPROVED:
        lines.append(
            _("<b>Approved</b> by {who}, {moment}: the observer is now at {point}.").format(
                who=who, moment=when, point=to_point
            )
        )
    elif view.status is R.REFUSED:
        lines.append(_("<b>Refused</b> by {who}, {moment}.").format(who=who, moment=when))
    elif view.status is R.WITHDRAWN:
        lines.append(
            _("<b>Withdrawn</b> by the observer, {moment}: nothing to decide.").format(moment=when)
        )
    return "\n".join(lines)


def card_markup(view: PointRequestView) -> InlineKeyboardMarkup | None:
    if view.status is not R.PENDING:
        return None
    rows = []
    if view.to_point_active:
        data = PointReqCb(act=APPROVE, req=view.id, v=view.version).pack()
        rows.append([button(_("✅ Approve the move"), data)])
    data = PointReqCb(act=REFUSE, req=view.id, v=view.version).pack()
    rows.append([button(_("⛔ Refuse"), data)])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def request_card(view: PointRequestView, policy: Policy) -> Shown:
    return Shown(card_text(view, policy), card_markup(view), label=_("Change of point"))


def card_render(request_id: int, policy: Policy, clock: Clock) -> Render:
    """The request's card, read afresh (for a re-sync)."""

    async def render(store: Store) -> Shown | None:
        try:
            view = await PeopleService(store, policy, clock).point_request(SYSTEM, request_id)
        except NotFound:
            return None
        return request_card(view, policy)

    return render


def show(chat_id: int, request_id: int, cards: CardService, *, create: bool = False) -> None:
    """After commit, make the request's card in ``chat_id`` show how it stands now:
    edited in place, or posted (``create``) when there is none yet."""
    later(
        (chat_id, POINT_REQUEST, request_id),
        functools.partial(
            converge, chat_id=chat_id, subject=POINT_REQUEST, subject_id=request_id,
            render=card_render(request_id, cards.policy, cards.clock),
            policy=cards.policy, clock=cards.clock, create=create,
        ),
        name="point request card",
    )  # fmt: skip


def decided_text(view: PointRequestView) -> str:
    return _("Change of point #{id} was already settled: {status}.").format(
        id=view.id, status=_(_STATUS[view.status])
    )


# ---- the buttons ---------------------------------------------------------------------


async def decide(
    query: CallbackQuery,
    callback_data: PointReqCb,
    actor: Actor,
    people: PeopleService,
    cards: CardService,
) -> None:
    assert isinstance(query.message, Message)
    chat_id, cb = query.message.chat.id, callback_data
    approve = cb.act == APPROVE
    try:
        view = await people.decide_point_request(actor, cb.req, approve=approve, version=cb.v)
    except NotFound as exc:
        await query.answer(explain(exc), show_alert=True)
        return
    except (AlreadyMoved, PointInactive, Conflict) as exc:
        # Refused before anything was written (the savepoint rolled back).
        show(chat_id, cb.req, cards)
        await query.answer(await _refusal(people, actor, cb.req, exc), show_alert=True)
        return
    show(chat_id, cb.req, cards)
    if approve:
        toast = _("Approved: {name} is now at {point}; they will be told.").format(
            name=clip(view.observer_name, 60), point=clip(labels.place(view.to_point), 80)
        )
    else:
        toast = _("Refused; the observer will be told.")
    await query.answer(toast[:200])


async def _refusal(people: PeopleService, actor: Actor, request_id: int, exc: Exception) -> str:
    view = await people.point_request(actor, request_id)
    if view.status is not R.PENDING or isinstance(exc, AlreadyMoved):
        return decided_text(view)
    if isinstance(exc, PointInactive):
        return _("{point} has been closed since. Please refuse the request.").format(
            point=clip(labels.place(view.to_point), 80)
        )
    if isinstance(exc, Conflict):
        return _("{name} is no longer an observer. Please refuse the request.").format(
            name=clip(view.observer_name, 60)
        )
    return explain(exc)


def setup(i18n: I18n, settings: Settings) -> Router:
    router = office_router("point_change")
    router.callback_query.register(decide, PointReqCb.filter(F.act.in_({APPROVE, REFUSE})))
    return router
