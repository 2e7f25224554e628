"""Choosing another observation point: after the office closes one, or with /point.

The flow keeps no conversation state: the choice travels in the callback data, and
the service checks again that the point is open and that the observer is the person
pressing the button, whatever the data says.
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
from bot.services.people import PeopleService
from bot.services.places import PlaceService, PointInfo
from handlers.conversation import private_router
from handlers.keyboards import button
from handlers.ui import BUTTON_TEXT_MAX, clip, esc


class MoveCb(CallbackData, prefix="mv"):
    """``point`` 0 asks for the list of open points; any other value chooses one."""

    point: int = 0


def _point_label(point: PointInfo) -> str:
    return clip(f"{point.code} · {point.name}", BUTTON_TEXT_MAX)


async def _current(
    actor: Actor, people: PeopleService, places: PlaceService
) -> tuple[int | None, str | None, list[PointInfo]]:
    """The observer's point id and name, and the open points."""
    assert actor.user_id is not None
    standing = await people.standing(actor.user_id)
    point_id = standing.observer.point_id if standing.observer else None
    return point_id, standing.point_name, await places.points()


def _choice(point_id: int | None, open_points: list[PointInfo]) -> InlineKeyboardMarkup | None:
    rows = [
        [button(_point_label(p), MoveCb(point=p.id).pack())]
        for p in open_points
        if p.id != point_id
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def _buttons(markup: InlineKeyboardMarkup | None) -> list[tuple[str, str | None]]:
    # Compared by content: the message Telegram sent back is a different object.
    rows = markup.inline_keyboard if markup else []
    return [(b.text, b.callback_data) for row in rows for b in row]


def _is_choice(markup: InlineKeyboardMarkup | None) -> bool:
    """Whether a message carries a list of points to choose from."""
    if markup is None:
        return False
    for row in markup.inline_keyboard:
        for b in row:
            try:
                if b.callback_data and MoveCb.unpack(b.callback_data).point > 0:
                    return True
            except (TypeError, ValueError):
                continue
    return False


def _where(point_id: int | None, name: str | None, open_points: list[PointInfo]) -> str:
    """Where the observer stands now, and what they may do about it."""
    if point_id is None:
        return _("You are not attached to an observation point yet.")
    shown = esc(name or "—")
    if any(p.id == point_id for p in open_points):
        return _("Your observation point is <b>{point}</b>.").format(point=shown)
    return _(
        "Your observation point <b>{point}</b> has been closed. Please choose another one "
        "to keep filing suggestions."
    ).format(point=shown)


def _invitation(markup: InlineKeyboardMarkup | None) -> str:
    if markup is None:
        return _(
            "There is no other open observation point at the moment. The district office "
            "will contact you."
        )
    return _("To move to another point, choose it below:")


def _not_an_observer() -> str:
    return _("Only observers have an observation point.")


async def _offer(
    actor: Actor, people: PeopleService, places: PlaceService
) -> tuple[str, InlineKeyboardMarkup | None]:
    """Where the observer stands, and the other open points to choose from."""
    point_id, name, open_points = await _current(actor, people, places)
    markup = _choice(point_id, open_points)
    return _where(point_id, name, open_points) + "\n\n" + _invitation(markup), markup


async def show_point(
    message: Message, actor: Actor, people: PeopleService, places: PlaceService
) -> None:
    if actor.observer_id is None:
        await message.answer(_not_an_observer())
        return
    text, markup = await _offer(actor, people, places)
    await message.answer(text, reply_markup=markup)


async def list_points(
    query: CallbackQuery, actor: Actor, people: PeopleService, places: PlaceService
) -> None:
    if actor.observer_id is None:
        await query.answer(_not_an_observer(), show_alert=True)
        return
    await query.answer()
    text, markup = await _offer(actor, people, places)
    # A new message: the notice with the button stays readable above it.
    if isinstance(query.message, Message):
        await query.message.answer(text, reply_markup=markup)


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
    try:
        # Nothing is written before these refusals, so the update may go on.
        moved = await people.move(actor, actor.observer_id, callback_data.point)
    except (PointInactive, NotFound):
        await query.answer(
            _("That point is not open any more. Please choose another one."),
            show_alert=True,
        )
        await _refresh(query, actor, people, places)
        return
    except Conflict:
        await query.answer(_("You are already at that point."))
        return
    chosen = next((p for p in await places.points() if p.id == moved.point_id), None)
    text = _(
        "Done: your observation point is now <b>{point}</b>. The items you file from "
        "now on belong to it."
    ).format(point=esc(chosen.name if chosen else "—"))
    await query.answer(_("Point changed."))
    message = query.message
    if isinstance(message, Message) and _is_choice(message.reply_markup):
        await message.edit_text(text, reply_markup=None)
    elif isinstance(message, Message):
        # Pressed elsewhere (forged data): that message stays as it was.
        await message.answer(text)


async def _refresh(
    query: CallbackQuery, actor: Actor, people: PeopleService, places: PlaceService
) -> None:
    """Show the list again without the point that has just closed."""
    message = query.message
    # Only a list of points is redrawn; a forged press on any other message (the
    # notice itself, say) leaves that message as it was.
    if not isinstance(message, Message) or not _is_choice(message.reply_markup):
        return
    text, markup = await _offer(actor, people, places)
    if _buttons(message.reply_markup) != _buttons(markup):
        await message.edit_text(text, reply_markup=markup)


def setup(i18n: I18n) -> Router:
    router = private_router("moving")
    router.message.register(show_point, Command("point"))
    router.callback_query.register(list_points, MoveCb.filter(F.point == 0))
    router.callback_query.register(choose_point, MoveCb.filter(F.point > 0))
    return router
