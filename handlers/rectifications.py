"""Rectification (整改) in the offices' groups: the city raises a finding for a district
(``/rectify``), the district accepts it, reports progress and marks it done, the city
accepts the rectification or sends it back.

Each rectification has a card in both groups, edited in place after every step (the
outbox brings the other group's up to date). A step with no words is a button on the
card; a step with words is a command the card names, so nothing waits on a prompt:
``/rect_progress``, ``/rect_done`` (the district), ``/rect_back`` (the city).
"""

from __future__ import annotations

import functools
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.domain.dates import BadDate, parse_due
from bot.domain.errors import AlreadyMoved, InvalidInput, MissingInput, NotFound, NotPermitted
from bot.domain.offices import HOME
from bot.domain.rectifications import RectMove, RectStatus, Side
from bot.domain.references import references_in
from bot.effects import later
from bot.middlewares.people import CurrentUser
from bot.services.actors import SYSTEM, Actor
from bot.services.cards import CardService
from bot.services.context import Clock, Policy
from bot.services.rectifications import (
    RAISED,
    RECTIFICATION,
    RectificationService,
    RectView,
)
from handlers import labels
from handlers.card_sync import Render, converge
from handlers.cards import Shown
from handlers.errors import explain
from handlers.keyboards import button
from handlers.office import usage
from handlers.ui import MESSAGE_MAX, N_, clip, day, esc, local_time
from storage.store import Store

R = RectStatus


class RectCb(CallbackData, prefix="rc"):
    """A button on a rectification's card: ``v`` its version when drawn."""

    act: str
    r: int
    v: int = 0


_STATUS: dict[RectStatus, str] = {
    R.RAISED: N_("Raised, awaiting the district"),
    R.ACCEPTED: N_("Being put right"),
    R.DONE: N_("Done, awaiting the city's acceptance"),
    R.CLOSED: N_("Accepted by the city"),
}
_EMOJI = {R.RAISED: "🟠", R.ACCEPTED: "🛠", R.DONE: "🔵", R.CLOSED: "✅"}
_STEP: dict[str, str] = {
    RAISED: N_("raised it"),
    RectMove.ACCEPT: N_("accepted it"),
    RectMove.PROGRESS: N_("reported progress"),
    RectMove.DONE: N_("marked it done"),
    RectMove.APPROVE: N_("accepted the rectification"),
    RectMove.SEND_BACK: N_("sent it back"),
}
_BUTTON: dict[RectMove, str] = {
    RectMove.ACCEPT: N_("✅ Accept the finding"),
    RectMove.APPROVE: N_("✅ Accept the rectification"),
}
_DONE: dict[RectMove, str] = {
    RectMove.ACCEPT: N_("Accepted: the city's group is told."),
    RectMove.PROGRESS: N_("Progress recorded: the city's group is told."),
    RectMove.DONE: N_("Marked done: the city will accept it or send it back."),
    RectMove.APPROVE: N_("Rectification accepted: the district is told."),
    RectMove.SEND_BACK: N_("Sent back: the district is told."),
}


def _name(user: CurrentUser) -> str:
    """Who made a step, as the log keeps it."""
    return user.full_name or user.first_name


def rectification_status(status: RectStatus) -> str:
    """A rectification's status in words, in the current locale."""
    return _(_STATUS[status])


# ---- the card ------------------------------------------------------------------------


def card_text(view: RectView, policy: Policy, today: str, side: Side | None) -> str:
    late = view.overdue_on(today)
    due = day(view.due) + (" ⚠️ " + _("overdue") if late else "")
    lines = [
        f"{_EMOJI[view.status]} "
        + _("<b>Rectification #{id}</b>").format(id=view.id)
        + f" · {esc(_(_STATUS[view.status]))}",
        _("<b>{district}</b>, raised by {city}; due {due}").format(
            district=labels.office(view.district, 60), city=labels.office(view.city, 60), due=due
        ),
        f"<blockquote>{esc(clip(view.text, 1500))}</blockquote>",
        _("<b>History</b>"),
    ]
    for step in view.log[-12:]:
        said = f": {esc(clip(step.text, 300))}" if step.text else ""
        who = esc(clip(step.by_name or "?", 40))
        lines.append(
            f"{local_time(step.at, policy.tz)} · {esc(step.office)} · {who} "
            f"{esc(_(_STEP.get(step.move, step.move)))}{said}"
        )
    named = references_in(view.text)
    if named:
        # The items the finding names: /show brings up a card of one's own office's.
        lines.append(
            _("Items named: {references}").format(
                references=", ".join(f"/show {esc(str(r))}" for r in named[:10])
            )
        )
    hint = _hint(view, side)
    if hint:
        lines.append("")
        lines.append(hint)
    return "\n".join(lines)[:MESSAGE_MAX]


def _hint(view: RectView, side: Side | None) -> str:
    """The steps with words this group may take, as commands."""
    moves = view.moves(side)
    if RectMove.PROGRESS in moves:
        return _(
            "Report progress with /rect_progress {id} TEXT; when it is put right, "
            "/rect_done {id} TEXT says how."
        ).format(id=view.id)
    if RectMove.SEND_BACK in moves:
        return _("Not put right yet? /rect_back {id} REASON sends it back.").format(id=view.id)
    return ""


def card_markup(view: RectView, side: Side | None) -> InlineKeyboardMarkup | None:
    rows = [
        [button(_(_BUTTON[m]), RectCb(act=m.value, r=view.id, v=view.version).pack())]
        for m in view.moves(side)
        if m in _BUTTON
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def card_render(rectification_id: int, policy: Policy, clock: Clock, chat_id: int) -> Render:
    """The rectification's card as the group ``chat_id`` shows it, read afresh."""

    async def render(store: Store) -> Shown | None:
        service = RectificationService(store, policy, clock)
        try:
            view = await service.get(SYSTEM, rectification_id)
        except NotFound:
            return None
        tree = await service.offices()
        # A group the tree does not hold is the home office's (ADMIN_CHAT_ID, not yet
        # settled into the database): cards are posted in offices' groups only.
        office = tree.of_chat(chat_id) or tree.get(HOME)
        side = view.side_of(office.id if office is not None else None)
        text = card_text(view, policy, day(service.today()), side)
        return Shown(
            text, card_markup(view, side), label=_("Rectification #{id}").format(id=view.id)
        )

    return render


def show(chat_id: int, rectification_id: int, cards: CardService, *, create: bool = False) -> None:
    """After commit, make the rectification's card in ``chat_id`` show how it stands."""
    later(
        (chat_id, RECTIFICATION, rectification_id),
        functools.partial(
            converge, chat_id=chat_id, subject=RECTIFICATION, subject_id=rectification_id,
            render=card_render(rectification_id, cards.policy, cards.clock, chat_id),
            policy=cards.policy, clock=cards.clock, create=create,
        ),
        name="rectification card",
    )  # fmt: skip


# ---- the commands ----------------------------------------------------------------------


async def raise_finding(
    message: Message,
    command: CommandObject,
    actor: Actor,
    user: CurrentUser,
    rectifications: RectificationService,
    cards: CardService,
) -> None:
    parts = (command.args or "").split(maxsplit=2)
    if len(parts) != 3:
        await message.reply(usage("rectify"))
        return
    code, when, text = parts
    try:
        due = parse_due(when, rectifications.today())
        view = await rectifications.raise_finding(actor, code, due, text, by_name=_name(user))
    except BadDate:
        await message.reply(
            _("{date} is not a due date from today on (e.g. 2026-06-30).").format(
                date=f"<code>{esc(clip(when, 40))}</code>"
            )
            + "\n"
            + usage("rectify")
        )
        return
    except NotFound:
        await message.reply(labels.unknown_office(code))
        return
    except (InvalidInput, MissingInput) as exc:
        await message.reply(explain(exc) + "\n" + usage("rectify"))
        return
    show(message.chat.id, view.id, cards, create=True)
    await message.reply(
        _("Rectification #{id} raised for {district}; its group is told.").format(
            id=view.id, district=labels.office(view.district, 60)
        )
    )


async def worded(
    message: Message,
    command: CommandObject,
    actor: Actor,
    user: CurrentUser,
    rectifications: RectificationService,
    cards: CardService,
) -> None:
    """/rect_progress, /rect_done, /rect_back: ID and the words."""
    move = _WORDED[command.command]
    parts = (command.args or "").split(maxsplit=1)
    if len(parts) != 2 or not parts[0].isdigit():
        await message.reply(usage(command.command))
        return
    try:
        view = await rectifications.move(actor, int(parts[0]), move, parts[1], by_name=_name(user))
    except (NotFound, NotPermitted):
        await message.reply(_("There is no such rectification for this group to move."))
        return
    except AlreadyMoved as exc:
        await message.reply(_already(exc))
        return
    except (InvalidInput, MissingInput) as exc:
        await message.reply(explain(exc) + "\n" + usage(command.command))
        return
    show(message.chat.id, view.id, cards)
    await message.reply(_(_DONE[move]))


_WORDED = {
    "rect_progress": RectMove.PROGRESS,
    "rect_done": RectMove.DONE,
    "rect_back": RectMove.SEND_BACK,
}


def _already(exc: AlreadyMoved) -> str:
    status = exc.context.get("status")
    shown = _(_STATUS[status]) if isinstance(status, RectStatus) else "?"
    return _("Not now: the rectification is “{status}”.").format(status=esc(shown))


async def listing(message: Message, actor: Actor, rectifications: RectificationService) -> None:
    views = await rectifications.open(actor)
    if not views:
        await message.reply(_("No rectification is open."))
        return
    today = rectifications.today()
    lines = [_("<b>Open rectifications</b> ({count})").format(count=len(views))]
    for view in views[:30]:
        late = " ⚠️" if view.overdue(today) else ""
        lines.append(
            f"• #{view.id} {labels.office(view.district, 60)} · {esc(_(_STATUS[view.status]))} · "
            f"{day(view.due)}{late} — {esc(clip(view.text, 80))}"
        )
    await message.reply("\n".join(lines)[:MESSAGE_MAX])


# ---- the buttons -------------------------------------------------------------------------


async def pressed(
    query: CallbackQuery,
    callback_data: RectCb,
    actor: Actor,
    user: CurrentUser,
    rectifications: RectificationService,
    cards: CardService,
) -> None:
    assert isinstance(query.message, Message)
    try:
        move = RectMove(callback_data.act)
        view = await rectifications.move(
            actor,
            callback_data.r,
            move,
            version=callback_data.v,
            by_name=_name(user),
        )
    except (ValueError, NotFound, NotPermitted):
        await query.answer(_("This button is not for this group."), show_alert=True)
        return
    except AlreadyMoved as exc:
        show(query.message.chat.id, callback_data.r, cards)
        await query.answer(_already(exc), show_alert=True)
        return
    show(query.message.chat.id, view.id, cards)
    await query.answer(_(_DONE[move]))


def register(router: Router, *office_admin: Any) -> None:
    """On the offices' router (``handlers.offices``), for an office's admins in its
    group: ``office_admin`` are the filters that say so."""
    router.message.register(raise_finding, Command("rectify"), *office_admin)
    router.message.register(worded, Command(*_WORDED), *office_admin)
    router.message.register(listing, Command("rectifications"), *office_admin)
    buttons = RectCb.filter(F.act.in_({RectMove.ACCEPT.value, RectMove.APPROVE.value}))
    router.callback_query.register(pressed, buttons, *office_admin)
