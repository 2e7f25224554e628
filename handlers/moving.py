"""Choosing another observation point: after the office closes one, or with /point.

/point shows where the observer stands, any request of theirs still waiting, and a
picker of the other open points with Cancel. An observer's items count at their point,
and points and observers are evaluated on those figures, so leaving an open point is a
request the office decides: choosing a point asks to confirm, then files the request
(its card reaches the office's group, ``handlers.point_change``), and the point changes
only once the office approves. A newer request replaces one still waiting, and a
waiting one can be withdrawn. An observer whose point was closed (or who has none)
chooses the next one themselves, at once.

The flow keeps no conversation state: the choice travels in the callback data, and
the service checks again that the point is open and that the observer is the person
pressing the button, whatever the data says. Only a message of this flow is edited; a
choice pressed on any other message is answered in a message of its own.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.domain.errors import Conflict, NotFound, PointInactive
from bot.services.actors import Actor
from bot.services.people import AlreadyAsked, PeopleService, PointRequestView
from bot.services.places import PlaceService, PointInfo
from handlers import labels
from handlers.conversation import private_router
from handlers.keyboards import BACK, CANCEL, button
from handlers.ui import BUTTON_TEXT_MAX, clip, esc


class MoveCb(CallbackData, prefix="mv"):
    """``point`` 0 asks for the list of open points; any other value chooses one."""

    point: int = 0


class AskCb(CallbackData, prefix="mq"):
    """A step after choosing: send the request for ``point``, go back to the list,
    cancel, or withdraw the request waiting."""

    act: str
    point: int = 0


SEND, BACK_TO_LIST, STOP, WITHDRAW = "send", "back", "x", "w"


class Where:
    """Where the observer stands: their point (open or not), the open points, and
    their request still waiting for the office."""

    def __init__(
        self,
        point_id: int | None,
        name: str | None,
        open_points: list[PointInfo],
        pending: PointRequestView | None,
    ) -> None:
        self.point_id = point_id
        self.open_points = open_points
        self.pending = pending
        self.current = next((p for p in open_points if p.id == point_id), None)
        self.name = _point_label(self.current) if self.current else (labels.place(name) or None)

    @property
    def leaving_an_open_point(self) -> bool:
        """Whether a move is a request for the office (not a choice after a closing)."""
        return self.current is not None

    def point(self, point_id: int) -> PointInfo | None:
        return next((p for p in self.open_points if p.id == point_id), None)


def _point_label(point: PointInfo) -> str:
    return clip(f"{point.code} · {labels.place(point.name)}", BUTTON_TEXT_MAX)


async def _where(actor: Actor, people: PeopleService, places: PlaceService) -> Where:
    assert actor.user_id is not None
    standing = await people.standing(actor.user_id)
    point_id = standing.observer.point_id if standing.observer else None
    pending = await people.pending_point_request(actor)
    return Where(point_id, standing.point_name, await places.points(), pending)


def _choice(where: Where) -> InlineKeyboardMarkup | None:
    """The other open points to choose from, and Cancel; None when there is nothing to
    choose or withdraw."""
    asked = where.pending.to_point_id if where.pending else None
    rows = [
        [button(_point_label(p), MoveCb(point=p.id).pack())]
        for p in where.open_points
        if p.id not in (where.point_id, asked)
    ]
    if where.pending is not None:
        rows.append([button(_("↩️ Withdraw my request"), AskCb(act=WITHDRAW).pack())])
    if not rows:
        return None
    rows.append([button(_(CANCEL), AskCb(act=STOP).pack())])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def _buttons(markup: InlineKeyboardMarkup | None) -> list[tuple[str, str | None]]:
    # Compared by content: the message Telegram sent back is a different object.
    rows = markup.inline_keyboard if markup else []
    return [(b.text, b.callback_data) for row in rows for b in row]


def _is_ours(markup: InlineKeyboardMarkup | None) -> bool:
    """Whether a message is a step of this flow: a list of points or a confirmation."""
    if markup is None:
        return False
    for row in markup.inline_keyboard:
        for b in row:
            data = b.callback_data or ""
            if data.startswith(AskCb.__prefix__ + ":"):
                return True
            try:
                if data and MoveCb.unpack(data).point > 0:
                    return True
            except (TypeError, ValueError):
                continue
    return False


def _standing(where: Where) -> str:
    """Where the observer stands, and any request of theirs waiting."""
    if where.point_id is None:
        text = _("You are not attached to an observation point yet.")
    elif where.current is not None:
        text = _("Your observation point is <b>{point}</b>.").format(point=esc(where.name or "—"))
    else:
        text = _(
            "Your observation point <b>{point}</b> has been closed. Please choose another one "
            "to keep filing suggestions."
        ).format(point=esc(where.name or "—"))
    if where.pending is not None:
        text += "\n\n" + _(
            "You have asked to move to <b>{point}</b>; the district office has not decided yet."
        ).format(point=esc(labels.place(where.pending.to_point)))
    return text


def _invitation(where: Where, markup: InlineKeyboardMarkup | None) -> str:
    if not any(MoveCb.__prefix__ + ":" in (d or "") for _t, d in _buttons(markup)):
        return _(
            "There is no other open observation point at the moment. The district office "
            "will contact you."
        )
    if where.leaving_an_open_point:
        return _(
            "To ask the district office to move you to another point, choose it below. "
            "Your point changes only once the office approves."
        )
    return _("To move to another point, choose it below:")


def _not_an_observer() -> str:
    return _("Only observers have an observation point.")


def _offer(where: Where) -> tuple[str, InlineKeyboardMarkup | None]:
    markup = _choice(where)
    return _standing(where) + "\n\n" + _invitation(where, markup), markup


async def _say(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """Show the step: in place of the flow's message pressed, else in a new message
    (pressed elsewhere, with forged data: that message stays as it was)."""
    message = query.message
    if isinstance(message, Message) and _is_ours(message.reply_markup):
        # The list drawn again as it was: nothing to edit.
        if markup is None or _buttons(message.reply_markup) != _buttons(markup):
            await message.edit_text(text, reply_markup=markup)
    elif isinstance(message, Message):
        await message.answer(text, reply_markup=markup)


# ---- /point and the list ---------------------------------------------------------------


async def show_point(
    message: Message, actor: Actor, people: PeopleService, places: PlaceService
) -> None:
    if actor.observer_id is None:
        await message.answer(_not_an_observer())
        return
    text, markup = _offer(await _where(actor, people, places))
    await message.answer(text, reply_markup=markup)


async def list_points(
    query: CallbackQuery, actor: Actor, people: PeopleService, places: PlaceService
) -> None:
    if actor.observer_id is None:
        await query.answer(_not_an_observer(), show_alert=True)
        return
    await query.answer()
    text, markup = _offer(await _where(actor, people, places))
    # A new message: the notice with the button stays readable above it.
    if isinstance(query.message, Message):
        await query.message.answer(text, reply_markup=markup)


# ---- choosing a point ------------------------------------------------------------------


async def choose_point(
    query: CallbackQuery,
    callback_data: MoveCb,
    actor: Actor,
    people: PeopleService,
    places: PlaceService,
) -> None:
    if actor.observer_id is None:
        await query.answer(_not_an_observer(), show_alert=True)
        return
    where = await _where(actor, people, places)
    chosen = where.point(callback_data.point)
    if chosen is None:
        await _gone(query, where)
        return
    if chosen.id == where.point_id:
        await query.answer(_("You are already at that point."))
        return
    if where.pending is not None and where.pending.to_point_id == chosen.id:
        await query.answer(_already_asked(), show_alert=True)
        return
    if not where.leaving_an_open_point:
        await _move_now(query, actor, people, places, chosen.id)
        return
    await query.answer()
    await _say(query, _confirmation(where, chosen), _confirm_markup(chosen))


def _confirmation(where: Where, chosen: PointInfo) -> str:
    text = _(
        "Ask the district office to move you from <b>{old}</b> to <b>{new}</b>? Your "
        "observation point changes only once the office approves; you will be told."
    ).format(old=esc(where.name or "—"), new=esc(_point_label(chosen)))
    if where.pending is not None:
        text += "\n\n" + _("This replaces your request to move to <b>{point}</b>.").format(
            point=esc(labels.place(where.pending.to_point))
        )
    return text


def _confirm_markup(chosen: PointInfo) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [button(_("✅ Send the request"), AskCb(act=SEND, point=chosen.id).pack())],
            [
                button(_(BACK), AskCb(act=BACK_TO_LIST).pack()),
                button(_(CANCEL), AskCb(act=STOP).pack()),
            ],
        ]
    )


def _already_asked() -> str:
    return _("You have asked to move there already; the district office will decide.")


async def _gone(query: CallbackQuery, where: Where) -> None:
    """The point chosen is not open (any more): say so, and show the list afresh."""
    await query.answer(
        _("That point is not open any more. Please choose another one."), show_alert=True
    )
    message = query.message
    # Only a step of this flow is redrawn; a forged press elsewhere leaves it alone.
    if isinstance(message, Message) and _is_ours(message.reply_markup):
        await _say(query, *_offer(where))


async def _move_now(
    query: CallbackQuery, actor: Actor, people: PeopleService, places: PlaceService, point: int
) -> None:
    """From a closed point (or none): the observer's own choice, made at once."""
    try:
        # Nothing is written before these refusals, so the update may go on.
        asked = await people.ask_to_move(actor, point)
    except (PointInactive, NotFound):
        await _gone(query, await _where(actor, people, places))
        return
    except Conflict:
        await query.answer(_("You are already at that point."))
        return
    chosen = next((p for p in await places.points() if p.id == point), None)
    assert asked.moved is not None
    text = _(
        "Done: your observation point is now <b>{point}</b>. The items you file from "
        "now on belong to it."
    ).format(point=esc(labels.place(chosen.name if chosen else None, "—")))
    await query.answer(_("Point changed."))
    await _say(query, text, None)


# ---- the steps after choosing ----------------------------------------------------------


async def send_request(
    query: CallbackQuery,
    callback_data: AskCb,
    actor: Actor,
    people: PeopleService,
    places: PlaceService,
) -> None:
    if actor.observer_id is None:
        await query.answer(_not_an_observer(), show_alert=True)
        return
    where = await _where(actor, people, places)
    try:
        asked = await people.ask_to_move(actor, callback_data.point)
    except (PointInactive, NotFound):
        await _gone(query, where)
        return
    except AlreadyAsked:
        await query.answer(_already_asked(), show_alert=True)
        return
    except Conflict:
        await query.answer(_("You are already at that point."))
        return
    if asked.request is None:
        # Their point closed meanwhile: the choice was theirs to make, and is made.
        await query.answer(_("Point changed."))
        await _say(query, _("Done: your observation point has been changed."), None)
        return
    text = _(
        "📨 Your request to move to <b>{new}</b> has been sent to the district office. "
        "You will be told of its decision; until then your observation point stays "
        "<b>{old}</b>."
    ).format(
        new=esc(labels.place(asked.request.to_point)),
        old=esc(labels.place(asked.request.from_point, "—")),
    )
    await query.answer(_("Request sent."))
    await _say(query, text, None)


async def other_step(
    query: CallbackQuery,
    callback_data: AskCb,
    actor: Actor,
    people: PeopleService,
    places: PlaceService,
) -> None:
    """Back to the list, Cancel, or withdraw the request waiting."""
    if actor.observer_id is None:
        await query.answer(_not_an_observer(), show_alert=True)
        return
    if callback_data.act == BACK_TO_LIST:
        await query.answer()
        await _say(query, *_offer(await _where(actor, people, places)))
        return
    if callback_data.act == WITHDRAW:
        await _withdraw(query, actor, people, places)
        return
    where = await _where(actor, people, places)
    await query.answer(_("Cancelled."))
    if where.leaving_an_open_point:
        text = _("Cancelled: nothing was sent. Your observation point stays <b>{point}</b>.")
        text = text.format(point=esc(where.name or "—"))
    else:
        text = _("Cancelled. Choose a point with /point whenever you are ready.")
    await _say(query, text, None)


async def _withdraw(
    query: CallbackQuery, actor: Actor, people: PeopleService, places: PlaceService
) -> None:
    try:
        withdrawn = await people.withdraw_point_request(actor)
    except NotFound:
        await query.answer(_("You have no request waiting."), show_alert=True)
        await _say(query, *_offer(await _where(actor, people, places)))
        return
    await query.answer(_("Request withdrawn."))
    text = _(
        "Your request to move to <b>{new}</b> is withdrawn. Your observation point stays "
        "<b>{old}</b>."
    ).format(
        new=esc(labels.place(withdrawn.to_point)), old=esc(labels.place(withdrawn.from_point, "—"))
    )
    await _say(query, text, None)


def setup(i18n: I18n) -> Router:
    router = private_router("moving")
    router.message.register(show_point, Command("point"))
    router.callback_query.register(list_points, MoveCb.filter(F.point == 0))
    router.callback_query.register(choose_point, MoveCb.filter(F.point > 0))
    router.callback_query.register(send_request, AskCb.filter(F.act == SEND))
    router.callback_query.register(
        other_step, AskCb.filter(F.act.in_({BACK_TO_LIST, STOP, WITHDRAW}))
    )
    return router
