"""Applications in the admin group: the card with Approve / Reject.

The outbox sender posts a card for each new application. Its buttons carry the
application's version: a button pressed after someone else decided (a double press by
two admins, an old card) is answered with how the application stands, and the card is
brought up to date. Approving at another point opens a picker of the open points on
the card itself; rejecting asks the admin for the reason with a force-reply prompt,
and takes effect only when that admin replies to it; /cancel or the card's Cancel
button stop it. The card is edited in place after every decision.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from aiogram import Bot, F, Router
from aiogram.filters import Command, Filter, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardMarkup,
    Message,
    TelegramObject,
)
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.domain.errors import AlreadyMoved, InvalidInput, MissingInput, NotFound, PointInactive
from bot.domain.limits import TEXT_MAX, clean_text
from bot.domain.statuses import ApplicationStatus
from bot.effects import later
from bot.middlewares.people import CurrentUser
from bot.services.actors import SYSTEM, Actor
from bot.services.cards import APPLICATION, CardService
from bot.services.context import Clock, Policy
from bot.services.people import AlreadyJoined, ApplicationView, Joined, PeopleService
from bot.services.places import PlaceService, PointInfo
from bot.settings import Settings
from handlers import labels
from handlers.card_sync import Render, converge
from handlers.cards import Shown
from handlers.conversation import finish, load_flow, save_flow
from handlers.desks import Desks
from handlers.errors import explain
from handlers.keyboards import button
from handlers.office import office_router
from handlers.privacy import phone_button
from handlers.prompts import (
    ON_APPLICATION,
    Prompt,
    Prompting,
    ask_again,
    asker,
    delete_prompts,
    send_prompt,
)
from handlers.ui import BUTTON_TEXT_MAX, N_, clip, esc, local_time
from storage.store import Store

if TYPE_CHECKING:
    from handlers.delivering import Outgoing

log = logging.getLogger(__name__)


class AppCb(CallbackData, prefix="ad"):
    """A button on an application card: ``v`` is the application's version when the
    card was drawn, ``point`` a picked point."""

    act: str
    app: int
    v: int = 0
    point: int = 0


APPROVE, PICK, AT, BACK, REJECT, CANCEL = "ok", "pick", "at", "back", "no", "x"


class Rejecting(StatesGroup):
    reason = State()


_STATUS: dict[ApplicationStatus, str] = {
    ApplicationStatus.PENDING: N_("Awaiting a decision"),
    ApplicationStatus.APPROVED: N_("Approved"),
    ApplicationStatus.REJECTED: N_("Rejected"),
    ApplicationStatus.SETTLED: N_("Joined already: no decision needed"),
}
_EMOJI: dict[ApplicationStatus, str] = {
    ApplicationStatus.PENDING: "🟡",
    ApplicationStatus.APPROVED: "✅",
    ApplicationStatus.REJECTED: "⛔",
    ApplicationStatus.SETTLED: "☑️",
}
# How the applicant of a settled application joined, over when, as whom and where.
_JOINED: dict[str, str] = {
    Joined.INVITE: N_(
        "<b>Joined by an invite link</b>, {moment}: observer #{id} at {point}. "
        "This application needs no decision."
    ),
    Joined.APPROVAL: N_(
        "<b>Joined when another application was approved</b>, {moment}: observer #{id} "
        "at {point}. This application needs no decision."
    ),
    Joined.APPOINTMENT: N_(
        "<b>Appointed by the office</b>, {moment}: observer #{id} at {point}. This "
        "application needs no decision."
    ),
    Joined.BEFORE: N_(
        "<b>Already an observer</b> when {who} came to decide, {moment}: observer #{id} "
        "at {point}. This application needs no decision."
    ),
}


def status_label(value: ApplicationStatus) -> str:
    return _(_STATUS[value])


# ---- the card ------------------------------------------------------------------------


def card_text(view: ApplicationView, policy: Policy) -> str:
    info = view.info
    desired = labels.place(view.desired_point) or _("No preference")
    if view.desired_point and not view.desired_point_active:
        desired += " " + _("(closed)")
    lines = [
        "📝 "
        + _("<b>Application #{id}</b> to become an observer").format(id=info.id)
        + f" · {_EMOJI[info.status]} {esc(status_label(info.status))}",
        _("<b>Name:</b> {name}").format(name=esc(clip(info.name, 100))),
        _("<b>Recommending unit:</b> {unit}").format(
            unit=esc(clip(info.recommending_unit, 200) or "—")
        ),
        _("<b>Category:</b> {category}").format(category=esc(labels.category(info.category))),
        _("<b>Desired point:</b> {point}").format(point=esc(clip(desired, 150))),
        _("<b>Applied:</b> {moment}").format(moment=local_time(view.applied_at, policy.tz)),
    ]
    if info.resume:
        lines.append(_("<b>Résumé:</b>"))
        lines.append(f"<blockquote expandable>{esc(clip(info.resume, 1000))}</blockquote>")
    who = esc(clip(view.decided_by or "?", 60))
    when = local_time(view.decided_at, policy.tz) if view.decided_at else "?"
    if info.status is ApplicationStatus.APPROVED:
        lines.append(
            _("<b>Approved</b> by {who}, {moment}: observer #{id} at {point}.").format(
                who=who,
                moment=when,
                id=info.observer_id or "?",
                point=esc(clip(labels.place(view.appointed_point, "?"), 150)),
            )
        )
    elif info.status is ApplicationStatus.REJECTED:
        lines.append(_("<b>Rejected</b> by {who}, {moment}.").format(who=who, moment=when))
        lines.append(_("<b>Reason:</b> {reason}").format(reason=esc(clip(info.reason or "", 1500))))
    elif info.status is ApplicationStatus.SETTLED:
        lines.append(joined_text(view, policy))
    return "\n".join(lines)


def joined_text(view: ApplicationView, policy: Policy) -> str:
    """How the applicant of a settled application joined, for its card."""
    info = view.info
    how = _JOINED.get(info.reason or "", _JOINED[Joined.BEFORE])
    return _(how).format(
        who=esc(clip(view.decided_by or "?", 60)),
        moment=local_time(view.decided_at, policy.tz) if view.decided_at else "?",
        id=info.observer_id or "?",
        point=esc(clip(labels.place(view.appointed_point, "?"), 150)),
    )


def _point_button(point: PointInfo, view: ApplicationView) -> Any:
    info = view.info
    label = clip(f"{point.code} · {labels.place(point.name)}", BUTTON_TEXT_MAX)
    return button(label, AppCb(act=AT, app=info.id, v=info.version, point=point.id).pack())


def card_markup(
    view: ApplicationView,
    *,
    picker: list[PointInfo] | None = None,
    cancel: bool = False,
) -> InlineKeyboardMarkup | None:
    info = view.info
    if info.status is not ApplicationStatus.PENDING:
        return None
    ids = {"app": info.id, "v": info.version}
    if picker is not None:
        rows = [[_point_button(p, view)] for p in picker]
        rows.append([button(_("⬅️ Back"), AppCb(act=BACK, **ids).pack())])
        return InlineKeyboardMarkup(inline_keyboard=rows)
    rows = []
    if view.desired_point_active:
        rows.append([button(_("✅ Approve"), AppCb(act=APPROVE, **ids).pack())])
    rows.append([button(_("📍 Approve at another point"), AppCb(act=PICK, **ids).pack())])
    rows.append([button(_("⛔ Reject"), AppCb(act=REJECT, **ids).pack())])
    if cancel:
        rows.append([button(_("✖️ Cancel rejection"), AppCb(act=CANCEL, **ids).pack())])
    # Everyone in the group reads the card; the number is for an admin who asks.
    rows.append(phone_button("a", info.id))
    return InlineKeyboardMarkup(inline_keyboard=rows)


def application_card(
    view: ApplicationView,
    policy: Policy,
    *,
    picker: list[PointInfo] | None = None,
    cancel: bool = False,
) -> Shown:
    return Shown(card_text(view, policy), card_markup(view, picker=picker, cancel=cancel))


async def show(
    bot: Bot, chat_id: int, cards: CardService, shown: Shown, application_id: int
) -> None:
    """After commit, make the application's card in ``chat_id`` show ``shown``: edited
    in place, or posted when there is none (or it can no longer be edited)."""

    async def render(_store: Store) -> Shown:
        return shown

    later(
        (chat_id, APPLICATION, application_id),
        functools.partial(
            converge, chat_id=chat_id, subject=APPLICATION, subject_id=application_id,
            render=render, policy=cards.policy, clock=cards.clock, create=True,
        ),
        name="application card",
    )  # fmt: skip


def application_render(application_id: int, policy: Policy, clock: Clock) -> Render:
    """The application's card, read afresh (for a re-sync)."""

    async def render(store: Store) -> Shown:
        try:
            view = await PeopleService(store, policy, clock).application(SYSTEM, application_id)
        except NotFound:
            return erased_card(application_id)
        return application_card(view, policy)

    return render


def erased_card(application_id: int) -> Shown:
    """What the card of an erased application shows: nothing of the applicant."""
    return Shown(
        "📝 "
        + _("<b>Application #{id}</b> · 🗑 Erased").format(id=application_id)
        + "\n"
        + _("The applicant's personal data is no longer kept."),
        None,
    )


async def post_card(out: Outgoing, chat_id: int, application_id: int) -> None:
    """Post (or bring up to date) the card of a new application in the admin group."""
    view = await out.people.application(SYSTEM, application_id)
    await show(out.bot, chat_id, out.cards, application_card(view, out.policy), application_id)


def decided_text(view: ApplicationView, *, html: bool = False) -> str:
    """How the application stands, for an alert (plain text) or a message (HTML)."""
    info = view.info
    name, status = clip(info.name, 60), status_label(info.status)
    if info.status is ApplicationStatus.SETTLED:
        # An alert holds 200 characters.
        name, point = clip(info.name, 40), clip(labels.place(view.appointed_point, "?"), 50)
        return _(
            "Application #{id} ({name}) needs no decision: they are observer #{observer} at "
            "{point} already. Nothing was changed."
        ).format(
            id=info.id,
            name=esc(name) if html else name,
            observer=info.observer_id or "?",
            point=esc(point) if html else point,
        )
    return _("Application #{id} ({name}) was already decided: {status}.").format(
        id=info.id, name=esc(name) if html else name, status=esc(status) if html else status
    )


# ---- the handlers --------------------------------------------------------------------


class Rejection(Prompting):
    """The rejection an admin is writing the reason for: the application, its version
    when Reject was pressed, and the prompts the reason must reply to."""

    key: ClassVar[str] = "admission"

    app: int = 0
    v: int = 0


@dataclass
class Desk:
    """What every step on an application needs: who acts, where its card is, and the
    services; handed to each handler by ``handlers.desks.Desks``."""

    bot: Bot
    chat_id: int | None  # None: the pressed card's message can no longer be reached
    actor: Actor
    people: PeopleService
    cards: CardService
    policy: Policy
    state: FSMContext

    async def view(self, application_id: int) -> ApplicationView:
        return await self.people.application(self.actor, application_id)

    async def show(
        self, view: ApplicationView, *, picker: list[PointInfo] | None = None, cancel: bool = False
    ) -> None:
        if self.chat_id is not None:
            shown = application_card(view, self.policy, picker=picker, cancel=cancel)
            await show(self.bot, self.chat_id, self.cards, shown, view.info.id)

    async def refresh(self, application_id: int) -> ApplicationView:
        """Bring the card up to date; the application as it stands."""
        view = await self.view(application_id)
        await self.show(view)
        return view

    async def drop_rejection(self, application_id: int) -> None:
        """End this admin's rejection of the application, if one is in progress."""
        if (await load_flow(self.state, Rejection)).app == application_id:
            await self.end_rejection()

    async def end_rejection(self) -> Rejection:
        """End this admin's rejection in progress, its prompts deleted; returns it."""
        pending = await load_flow(self.state, Rejection)
        await finish(self.state, Rejection)
        if self.chat_id is not None:
            await delete_prompts(self.bot, self.chat_id, pending)
        return pending


def _desk(event: TelegramObject, data: dict[str, Any]) -> Desk:
    where = event.message if isinstance(event, CallbackQuery) else event
    chat_id = where.chat.id if isinstance(where, Message) else None
    return Desk(
        bot=data["bot"], chat_id=chat_id, actor=data["actor"], people=data["people"],
        cards=data["cards"], policy=data["policy"], state=data["state"],
    )  # fmt: skip


class RepliesToPrompt(Filter):
    """A message answering this admin's own open reason prompt (a command, even as a
    reply, stays a command)."""

    async def __call__(self, message: Message, state: FSMContext) -> bool:
        replied = message.reply_to_message
        if replied is None or (message.text or "").startswith("/"):
            return False
        return (await load_flow(state, Rejection)).asked_in(replied.message_id)


async def _stale(query: CallbackQuery, desk: Desk, view: ApplicationView) -> None:
    await desk.show(view)
    await query.answer(decided_text(view), show_alert=True)


async def _open(query: CallbackQuery, cb: AppCb, desk: Desk) -> ApplicationView | None:
    """The application, if the card that was pressed still shows its state; if not,
    the card is brought up to date and the admin told how the application stands."""
    view = await desk.view(cb.app)
    if view.info.status is ApplicationStatus.PENDING and view.info.version == cb.v:
        return view
    await _stale(query, desk, view)
    return None


async def approve(
    query: CallbackQuery, callback_data: AppCb, desk: Desk, places: PlaceService
) -> None:
    cb = callback_data
    point_id = cb.point if cb.act == AT else None
    try:
        observer = await desk.people.approve_once(
            desk.actor, cb.app, point_id=point_id, version=cb.v
        )
    except (AlreadyMoved, AlreadyJoined):
        # Decided by someone else, or settled (its person joined another way): nobody
        # is moved or welcomed twice.
        await _stale(query, desk, await desk.view(cb.app))
        return
    except (PointInactive, NotFound):
        await _point_closed(query, cb, desk, places)
        return
    await desk.drop_rejection(cb.app)
    view = await desk.refresh(cb.app)
    await query.answer(
        _("Approved: {name} is now observer #{id} at {point}.").format(
            name=clip(observer.name, 60),
            id=observer.id,
            point=labels.place(view.appointed_point, "?"),
        )[:200]
    )


async def _point_closed(query: CallbackQuery, cb: AppCb, desk: Desk, places: PlaceService) -> None:
    view = await _open(query, cb, desk)
    if view is None:
        return
    await desk.show(view, picker=[p for p in await places.points() if p.id != cb.point])
    await query.answer(_("That point is closed now. Please choose another one."), show_alert=True)


async def pick_or_reject(
    query: CallbackQuery, callback_data: AppCb, desk: Desk, places: PlaceService, user: CurrentUser
) -> None:
    """Pick a point, Back from the picker, or Reject: on a card still up to date."""
    view = await _open(query, callback_data, desk)
    if view is None:
        return
    if callback_data.act == REJECT:
        await _ask_reason(query, desk, view, user)
        return
    if callback_data.act == PICK:
        desired = view.info.desired_point_id if view.desired_point_active else None
        points = [p for p in await places.points() if p.id != desired]
        if not points:
            await query.answer(_("There is no other open observation point."), show_alert=True)
            return
        await desk.show(view, picker=points)
    else:
        await desk.show(view)
    await query.answer()


async def _ask_reason(
    query: CallbackQuery, desk: Desk, view: ApplicationView, user: CurrentUser
) -> None:
    if desk.chat_id is None:
        await query.answer()
        return
    await desk.state.set_state(Rejecting.reason)
    pending = Rejection(app=view.info.id, v=view.info.version)
    # The prompt's id is known once it is sent, after this update commits.
    prompt, who = _reason_prompt(user, view), asker(user, ON_APPLICATION)
    await send_prompt(desk.bot, desk.chat_id, desk.state, pending, prompt, who)
    await save_flow(desk.state, pending)
    await desk.show(view, cancel=True)
    await query.answer()


def _reason_prompt(user: CurrentUser, view: ApplicationView) -> Prompt:
    mention = f'<a href="tg://user?id={user.id}">{esc(clip(user.first_name, 60))}</a>'
    text = _(
        "{admin}, why is application #{id} ({name}) rejected? Reply to this message "
        "with the reason; the applicant will read it. Send /cancel to stop."
    ).format(admin=mention, id=view.info.id, name=esc(clip(view.info.name, 60)))
    return Prompt(text, _("The reason"))


async def cancel_button(query: CallbackQuery, callback_data: AppCb, desk: Desk) -> None:
    if (await load_flow(desk.state, Rejection)).app != callback_data.app:
        await query.answer(
            _("You have no rejection in progress for this application."), show_alert=True
        )
        return
    await desk.end_rejection()
    if desk.chat_id is not None:
        await desk.refresh(callback_data.app)
    await query.answer(_("Rejection cancelled. Nothing was changed."))


async def cancel_command(message: Message, desk: Desk) -> None:
    pending = await desk.end_rejection()
    if pending.app:
        await desk.refresh(pending.app)
    await message.reply(_("Rejection cancelled. Nothing was changed."))


async def reason_given(message: Message, desk: Desk, user: CurrentUser) -> None:
    pending = await load_flow(desk.state, Rejection)
    try:
        reason = clean_text(message.text or "", TEXT_MAX, field="reason")
    except (InvalidInput, MissingInput) as exc:
        # Asked again under the answer; a reply to any of the prompts is still taken.
        problem = explain(exc) if message.text else _("Please reply with text.")
        prompt = _reason_prompt(user, await desk.view(pending.app))
        who = asker(user, ON_APPLICATION)
        await ask_again(desk.bot, desk.state, pending, message, problem, prompt, who)
        return
    await desk.end_rejection()
    try:
        await desk.people.reject_once(desk.actor, pending.app, reason, version=pending.v)
    except (AlreadyMoved, AlreadyJoined):
        view = await desk.refresh(pending.app)
        await message.reply(decided_text(view, html=True) + " " + _("Your reason was not used."))
        return
    view = await desk.refresh(pending.app)
    await message.reply(
        "⛔ "
        + _("Application #{id} ({name}) is rejected; the applicant will be told.").format(
            id=pending.app, name=esc(clip(view.info.name, 60))
        )
    )


def setup(i18n: I18n, settings: Settings) -> Router:
    router = office_router("admission")
    desks = Desks(_desk)
    router.callback_query.middleware(desks)
    router.message.middleware(desks)
    router.callback_query.register(approve, AppCb.filter(F.act.in_({APPROVE, AT})))
    router.callback_query.register(pick_or_reject, AppCb.filter(F.act.in_({PICK, BACK, REJECT})))
    router.callback_query.register(cancel_button, AppCb.filter(F.act == CANCEL))
    router.message.register(cancel_command, Command("cancel"), StateFilter(Rejecting.reason))
    router.message.register(reason_given, StateFilter(Rejecting.reason), RepliesToPrompt())
    return router
