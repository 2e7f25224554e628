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
from typing import TYPE_CHECKING, Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, Filter, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, ForceReply, InlineKeyboardMarkup, Message
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
from bot.services.people import ApplicationView, PeopleService
from bot.services.places import PlaceService, PointInfo
from bot.settings import Settings
from handlers import labels
from handlers.card_sync import Render, converge
from handlers.cards import Shown
from handlers.conversation import finish, load, save
from handlers.errors import explain
from handlers.keyboards import button
from handlers.office import office_router
from handlers.replies import remember
from handlers.ui import BUTTON_TEXT_MAX, N_, clip, esc, local_time
from storage.store import Store

if TYPE_CHECKING:
    from handlers.delivering import Outgoing

log = logging.getLogger(__name__)

_KEY = "admission"  # this flow's key in the admin's conversation data


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
}
_EMOJI: dict[ApplicationStatus, str] = {
    ApplicationStatus.PENDING: "🟡",
    ApplicationStatus.APPROVED: "✅",
    ApplicationStatus.REJECTED: "⛔",
}


def status_label(value: ApplicationStatus) -> str:
    return _(_STATUS[value])


# ---- the card ------------------------------------------------------------------------


def card_text(view: ApplicationView, policy: Policy) -> str:
    info = view.info
    desired = view.desired_point or _("No preference")
    if view.desired_point and not view.desired_point_active:
        desired += " " + _("(closed)")
    lines = [
        "📝 "
        + _("<b>Application #{id}</b> to become an observer").format(id=info.id)
        + f" · {_EMOJI[info.status]} {esc(status_label(info.status))}",
        _("<b>Name:</b> {name}").format(name=esc(clip(info.name, 100))),
        _("<b>Phone:</b> {phone}").format(phone=esc(info.phone)),
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
                point=esc(clip(view.appointed_point or "?", 150)),
            )
        )
    elif info.status is ApplicationStatus.REJECTED:
        lines.append(_("<b>Rejected</b> by {who}, {moment}.").format(who=who, moment=when))
        lines.append(_("<b>Reason:</b> {reason}").format(reason=esc(clip(info.reason or "", 1500))))
    return "\n".join(lines)


def _point_button(point: PointInfo, view: ApplicationView) -> Any:
    info = view.info
    label = clip(f"{point.code} · {point.name}", BUTTON_TEXT_MAX)
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
        view = await PeopleService(store, policy, clock).application(SYSTEM, application_id)
        return application_card(view, policy)

    return render


async def post_card(out: Outgoing, chat_id: int, application_id: int) -> None:
    """Post (or bring up to date) the card of a new application in the admin group."""
    view = await out.people.application(SYSTEM, application_id)
    await show(out.bot, chat_id, out.cards, application_card(view, out.policy), application_id)


def decided_text(view: ApplicationView, *, html: bool = False) -> str:
    """How the application stands, for an alert (plain text) or a message (HTML)."""
    info = view.info
    name, status = clip(info.name, 60), status_label(info.status)
    return _("Application #{id} ({name}) was already decided: {status}.").format(
        id=info.id, name=esc(name) if html else name, status=esc(status) if html else status
    )


# ---- the handlers --------------------------------------------------------------------


def _prompt(pending: dict[str, Any], message_id: int) -> None:
    pending["prompt"] = message_id


class RepliesToPrompt(Filter):
    """A message answering this admin's own open reason prompt."""

    async def __call__(self, message: Message, state: FSMContext) -> bool:
        replied = message.reply_to_message
        if replied is None:
            return False
        pending = await load(state, _KEY)
        return bool(pending) and pending.get("prompt") == replied.message_id


def setup(i18n: I18n, settings: Settings) -> Router:
    router = office_router("admission", settings.admin_chat_id)

    async def refresh(
        query: CallbackQuery, view: ApplicationView, cards: CardService, policy: Policy, bot: Bot
    ) -> None:
        if isinstance(query.message, Message):
            await show(
                bot, query.message.chat.id, cards, application_card(view, policy), view.info.id
            )

    async def stale(
        query: CallbackQuery,
        application_id: int,
        actor: Actor,
        people: PeopleService,
        cards: CardService,
        policy: Policy,
        bot: Bot,
    ) -> None:
        view = await people.application(actor, application_id)
        await refresh(query, view, cards, policy, bot)
        await query.answer(decided_text(view), show_alert=True)

    async def current(
        query: CallbackQuery, cb: AppCb, actor: Actor, people: PeopleService
    ) -> ApplicationView | None:
        """The application, if the card that was pressed still shows its state."""
        view = await people.application(actor, cb.app)
        if view.info.status is not ApplicationStatus.PENDING or view.info.version != cb.v:
            return None
        return view

    async def drop_prompt(state: FSMContext, application_id: int) -> None:
        pending = await load(state, _KEY)
        if pending.get("app") == application_id:
            await finish(state, _KEY)

    @router.callback_query(AppCb.filter(F.act.in_({APPROVE, AT})))
    async def approve(
        query: CallbackQuery,
        callback_data: AppCb,
        actor: Actor,
        people: PeopleService,
        places: PlaceService,
        cards: CardService,
        policy: Policy,
        bot: Bot,
        state: FSMContext,
    ) -> None:
        cb = callback_data
        point_id = cb.point if cb.act == AT else None
        try:
            observer = await people.approve_once(actor, cb.app, point_id=point_id, version=cb.v)
        except AlreadyMoved:
            await stale(query, cb.app, actor, people, cards, policy, bot)
            return
        except (PointInactive, NotFound):
            view = await current(query, cb, actor, people)
            if view is None:
                await stale(query, cb.app, actor, people, cards, policy, bot)
                return
            picker = [p for p in await places.points() if p.id != cb.point]
            if isinstance(query.message, Message):
                await show(
                    bot,
                    query.message.chat.id,
                    cards,
                    application_card(view, policy, picker=picker),
                    cb.app,
                )
            await query.answer(
                _("That point is closed now. Please choose another one."), show_alert=True
            )
            return
        await drop_prompt(state, cb.app)
        view = await people.application(actor, cb.app)
        await refresh(query, view, cards, policy, bot)
        await query.answer(
            _("Approved: {name} is now observer #{id} at {point}.").format(
                name=clip(observer.name, 60), id=observer.id, point=view.appointed_point or "?"
            )[:200]
        )

    @router.callback_query(AppCb.filter(F.act.in_({PICK, BACK})))
    async def picker(
        query: CallbackQuery,
        callback_data: AppCb,
        actor: Actor,
        people: PeopleService,
        places: PlaceService,
        cards: CardService,
        policy: Policy,
        bot: Bot,
    ) -> None:
        cb = callback_data
        view = await current(query, cb, actor, people)
        if view is None:
            await stale(query, cb.app, actor, people, cards, policy, bot)
            return
        if cb.act == PICK:
            desired = view.info.desired_point_id if view.desired_point_active else None
            points = [p for p in await places.points() if p.id != desired]
            if not points:
                await query.answer(_("There is no other open observation point."), show_alert=True)
                return
            shown = application_card(view, policy, picker=points)
        else:
            shown = application_card(view, policy)
        if isinstance(query.message, Message):
            await show(bot, query.message.chat.id, cards, shown, cb.app)
        await query.answer()

    @router.callback_query(AppCb.filter(F.act == REJECT))
    async def ask_reason(
        query: CallbackQuery,
        callback_data: AppCb,
        actor: Actor,
        user: CurrentUser,
        people: PeopleService,
        cards: CardService,
        policy: Policy,
        bot: Bot,
        state: FSMContext,
    ) -> None:
        cb = callback_data
        view = await current(query, cb, actor, people)
        if view is None:
            await stale(query, cb.app, actor, people, cards, policy, bot)
            return
        if not isinstance(query.message, Message):
            await query.answer()
            return
        chat_id = query.message.chat.id
        mention = f'<a href="tg://user?id={user.id}">{esc(clip(user.first_name, 60))}</a>'
        prompt = await bot.send_message(
            chat_id,
            _(
                "{admin}, why is application #{id} ({name}) rejected? Reply to this message "
                "with the reason; the applicant will read it. Send /cancel to stop."
            ).format(admin=mention, id=view.info.id, name=esc(clip(view.info.name, 60))),
            reply_markup=ForceReply(selective=True, input_field_placeholder=_("The reason")),
        )
        await state.set_state(Rejecting.reason)
        pending = {"app": view.info.id, "v": view.info.version, "prompt": None}
        # The prompt's id is known once it is sent, after this update commits.
        await remember(state, _KEY, pending, prompt, _prompt)
        await save(state, _KEY, pending)
        await show(bot, chat_id, cards, application_card(view, policy, cancel=True), cb.app)
        await query.answer()

    async def restore(
        bot: Bot, chat_id: int, application_id: int, actor: Actor, people: PeopleService,
        cards: CardService, policy: Policy,
    ) -> None:  # fmt: skip
        view = await people.application(actor, application_id)
        await show(bot, chat_id, cards, application_card(view, policy), application_id)

    @router.callback_query(AppCb.filter(F.act == CANCEL))
    async def cancel_button(
        query: CallbackQuery,
        callback_data: AppCb,
        actor: Actor,
        people: PeopleService,
        cards: CardService,
        policy: Policy,
        bot: Bot,
        state: FSMContext,
    ) -> None:
        pending = await load(state, _KEY)
        if pending.get("app") != callback_data.app:
            await query.answer(
                _("You have no rejection in progress for this application."), show_alert=True
            )
            return
        await finish(state, _KEY)
        if isinstance(query.message, Message):
            await restore(
                bot, query.message.chat.id, callback_data.app, actor, people, cards, policy
            )
        await query.answer(_("Rejection cancelled. Nothing was changed."))

    @router.message(Command("cancel"), StateFilter(Rejecting.reason))
    async def cancel_command(
        message: Message,
        actor: Actor,
        people: PeopleService,
        cards: CardService,
        policy: Policy,
        bot: Bot,
        state: FSMContext,
    ) -> None:
        pending = await load(state, _KEY)
        await finish(state, _KEY)
        application_id = pending.get("app")
        if isinstance(application_id, int):
            await restore(bot, message.chat.id, application_id, actor, people, cards, policy)
        await message.reply(_("Rejection cancelled. Nothing was changed."))

    @router.message(StateFilter(Rejecting.reason), RepliesToPrompt())
    async def reason_given(
        message: Message,
        actor: Actor,
        people: PeopleService,
        cards: CardService,
        policy: Policy,
        bot: Bot,
        state: FSMContext,
    ) -> None:
        pending = await load(state, _KEY)
        application_id, version = int(pending["app"]), int(pending["v"])
        if message.text is None:
            await message.reply(_("Please reply with the reason as text, or send /cancel."))
            return
        try:
            reason = clean_text(message.text, TEXT_MAX, field="reason")
        except (InvalidInput, MissingInput) as exc:
            await message.reply(
                explain(exc) + "\n" + _("Reply to the question again, or send /cancel.")
            )
            return
        await finish(state, _KEY)
        try:
            await people.reject_once(actor, application_id, reason, version=version)
        except AlreadyMoved:
            view = await people.application(actor, application_id)
            await show(bot, message.chat.id, cards, application_card(view, policy), application_id)
            await message.reply(
                decided_text(view, html=True) + " " + _("Your reason was not used.")
            )
            return
        view = await people.application(actor, application_id)
        await show(bot, message.chat.id, cards, application_card(view, policy), application_id)
        await message.reply(
            "⛔ "
            + _("Application #{id} ({name}) is rejected; the applicant will be told.").format(
                id=application_id, name=esc(clip(view.info.name, 60))
            )
        )

    return router
