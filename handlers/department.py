"""The department liaison's private chat: assigned items as cards, and the work on them.

A liaison hears of an item when the office adopts it for their department (or the
city's answer does, or the office reassigns it): the **department card** arrives with
the files filed with it. The card shows what the department needs to act — reference,
status, title, text, kind, domain, point, location, due date, the office's words —
and never who the observer is. Its buttons are the liaison's moves from the lifecycle
table: Accept (adopted → implementing), then Progress, Hand back and Implemented. The
card is edited in place after every move, so it always shows where the item stands.

Three short conversations hang off the card, all under one state: a progress report
(text plus photos and documents over several messages, then Send), a hand-back reason
(text, then Send) and the closing summary (optional text and files, then a
confirmation). Cancel ends each of them, and so does /cancel.

Nothing in callback data is trusted: the item is looked up with the acting person,
and anything not assigned to one of their departments is "not found"; the services
check the move again. Buttons carry the item's version, so a stale card answers with
the current state instead of acting.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.domain.errors import IllegalTransition, NotFound
from bot.domain.lifecycle import Action, allowed_actions
from bot.domain.limits import ATTACHMENTS_MAX, TEXT_MAX
from bot.domain.roles import Role
from bot.domain.statuses import SuggestionStatus
from bot.effects import later
from bot.services.actors import SYSTEM, Actor
from bot.services.cards import ITEM, CardService
from bot.services.context import Clock, Policy
from bot.services.suggestions import SuggestionService
from bot.services.views import SuggestionDetail, SuggestionInfo, TimelineEntry
from bot.settings import Settings
from handlers import labels
from handlers.attachments import attachment_of, attachments_in
from handlers.callbacks import MenuCb
from handlers.card_sync import Render, converge
from handlers.cards import Shown
from handlers.conversation import PlainText, finish, joined, label, load, save, too_long
from handlers.errors import explain
from handlers.keyboards import BACK as BACK_LABEL
from handlers.keyboards import CANCEL, MINE, button
from handlers.mine import put, send_files, stale
from handlers.notices import UnknownNotice
from handlers.ui import (
    BUTTON_TEXT_MAX,
    MESSAGE_MAX,
    N_,
    clip,
    day,
    esc,
    local_time,
    shown_length,
)
from storage.store import Store

if TYPE_CHECKING:
    from bot.services.outbox import OutboxItem
    from handlers.delivering import Outgoing

log = logging.getLogger(__name__)

S = SuggestionStatus


class DeptCb(CallbackData, prefix="dp"):
    """A button in a liaison's chat: ``act`` below, the item, and its version when the
    button was drawn."""

    act: str
    item: int = 0
    v: int = 0


# DeptCb acts.
OPEN = "open"  # post the item's card
ACCEPT = "ok"  # adopted -> implementing
PROGRESS = "pr"  # start a progress report
HAND_BACK = "hb"  # start handing back
DONE = "im"  # start marking implemented
SEND = "send"  # send what was collected (implemented: go to the confirmation)
YES = "yes"  # confirm "implemented"
GO_BACK = "back"  # from the confirmation back to writing
QUIT = "quit"  # abandon the flow
FILES = "files"  # re-send the item's files

# What each flow does, under the one state.
_FLOW_ACTION = {
    PROGRESS: Action.PROGRESS,
    HAND_BACK: Action.HAND_BACK,
    DONE: Action.MARK_IMPLEMENTED,
}
_MOVE_BUTTONS = {
    ACCEPT: N_("✅ Accept"),
    PROGRESS: N_("📝 Report progress"),
    HAND_BACK: N_("↩️ Hand back"),
    DONE: N_("🎯 Implemented"),
}
_ACT_OF = {
    Action.ACCEPT: ACCEPT,
    Action.PROGRESS: PROGRESS,
    Action.HAND_BACK: HAND_BACK,
    Action.MARK_IMPLEMENTED: DONE,
}

# Where the flow keeps its data: ``/cancel`` (handlers.start) drops the key named
# after the state group, lower-cased.
REPORT_KEY = "reporting"
ID_MAX = 2**31 - 1

# Card sizes: the body and the office's words are bounded, the history fills the rest.
BODY_MAX = 1200
WORDS_MAX = 600
ENTRY_WORDS_MAX = 300
HISTORY_MAX = 6
LIST_MAX = 30
LIST_TITLE_MAX = 40
_SLACK = 32
_NAME_MAX = 200

# What the department's history shows: its own work and the office's moves about it.
_HISTORY = frozenset(
    {
        Action.ADOPT,
        Action.CITY_ADOPT,
        Action.ASSIGN,
        Action.SET_DUE,
        Action.ACCEPT,
        Action.PROGRESS,
        Action.HAND_BACK,
        Action.MARK_IMPLEMENTED,
        Action.REOPEN,
        Action.CLOSE,
    }
)
_DECISIONS = (Action.ADOPT, Action.CITY_ADOPT)


class Reporting(StatesGroup):
    """Collecting a progress report, a hand-back reason or a closing summary."""

    text = State()


# ---- who may see what -----------------------------------------------------------------


def is_ours(actor: Actor, info: SuggestionInfo) -> bool:
    """Whether the item is now with one of the actor's departments."""
    return (
        Role.LIAISON in actor.roles
        and info.department_id is not None
        and info.department_id in actor.view.department_ids
    )


async def liaison_info(
    suggestions: SuggestionService, actor: Actor, item_id: int
) -> SuggestionInfo:
    """The item, if it is with one of the actor's departments; otherwise "not found"."""
    if not 0 < item_id <= ID_MAX:
        raise NotFound(f"no item {item_id}", item_id=item_id)
    info = await suggestions.get(actor, item_id)
    if not is_ours(actor, info):
        # The observer of the item, or a liaison of another department: not here.
        raise NotFound(f"item {item_id} is not with the actor's department", item_id=item_id)
    return info


def liaison_acts(status: SuggestionStatus) -> list[str]:
    return [_ACT_OF[a] for a in allowed_actions(status, {Role.LIAISON}) if a in _ACT_OF]


# ---- the card -------------------------------------------------------------------------


def _head(detail: SuggestionDetail, policy: Policy, today: str) -> list[str]:
    info = detail.info
    lines = [
        f"{labels.STATUS_EMOJI[info.status]} <b>{esc(info.reference)}</b> · "
        f"{esc(labels.status(info.status))}",
        f"<b>{esc(info.title)}</b>",
        f"{esc(labels.kind(info.kind))} · {esc(labels.domain(info.domain))}",
    ]
    if detail.point_name:
        lines.append(
            _("<b>Observation point:</b> {point}").format(
                point=esc(clip(detail.point_name, _NAME_MAX))
            )
        )
    if info.location_text:
        lines.append(_("<b>Location:</b> {place}").format(place=esc(clip(info.location_text, 300))))
    if info.latitude is not None and info.longitude is not None:
        lines.append(
            _("<b>Map point:</b> {lat}, {lon}").format(
                lat=f"{info.latitude:.5f}", lon=f"{info.longitude:.5f}"
            )
        )
    lines.append(
        _("<b>Filed:</b> {moment}").format(moment=local_time(info.submitted_at, policy.tz))
    )
    if detail.department_name:
        lines.append(
            _("<b>Department:</b> {department}").format(
                department=esc(clip(detail.department_name, _NAME_MAX))
            )
        )
    if info.implementation_due is not None:
        due = day(info.implementation_due)
        late = due < today and info.status in (S.ADOPTED, S.IMPLEMENTING)
        text = _("<b>Implementation due:</b> {date}").format(date=due)
        lines.append(text + (" " + _("⚠️ overdue") if late else ""))
    if info.implemented_at is not None:
        lines.append(
            _("<b>Implemented:</b> {moment}").format(
                moment=local_time(info.implemented_at, policy.tz)
            )
        )
    if detail.attachments:
        lines.append(_("<b>Attachments:</b> {count}").format(count=len(detail.attachments)))
    return lines


def _decision(detail: SuggestionDetail) -> str:
    """The office's (or the city's) words on adopting it: what the department is to do."""
    words = [e.text for e in detail.timeline if e.action in _DECISIONS and e.text]
    if not words:
        return ""
    return _("<b>The office's decision:</b>") + (
        f"\n<blockquote>{esc(clip(words[-1], WORDS_MAX))}</blockquote>"
    )


def _entry(entry: TimelineEntry, policy: Policy, words_max: int = ENTRY_WORDS_MAX) -> str:
    line = f"▫️ {local_time(entry.at, policy.tz)} · {esc(labels.action(entry.action))}"
    payload = entry.payload
    if payload.get("department") and entry.action in (*_DECISIONS, Action.ASSIGN):
        line += f" ({esc(clip(str(payload['department']), 100))})"
    if payload.get("due") and entry.action in (*_DECISIONS, Action.SET_DUE):
        line += " · " + _("due {date}").format(date=esc(clip(str(payload["due"]), 20)))
    # The decision's words are shown above; the rest carry their own.
    if entry.text and words_max > 1 and entry.action not in _DECISIONS:
        line += f"\n<blockquote>{esc(clip(entry.text, words_max))}</blockquote>"
    return line


def _hint(status: SuggestionStatus, ours: bool) -> str:
    if not ours:
        if status in (S.ADOPTED, S.IMPLEMENTING):
            return _("This item is no longer with your department.")
        return ""
    if status is S.ADOPTED:
        return _("Please accept it to start implementing, or ask the office if it is not yours.")
    if status is S.IMPLEMENTING:
        return _(
            "Report progress as the work goes on, and mark it implemented when it is done. "
            "If it is not for your department, hand it back with a reason."
        )
    if status is S.IMPLEMENTED:
        return _("Implemented: the observer is asked to rate the outcome.")
    return ""


def card_markup(info: SuggestionInfo, attachments: int, ours: bool) -> InlineKeyboardMarkup | None:
    rows: list[list[InlineKeyboardButton]] = []
    if ours:
        rows.extend(
            [button(_(_MOVE_BUTTONS[act]), DeptCb(act=act, item=info.id, v=info.version).pack())]
            for act in liaison_acts(info.status)
        )
    if attachments:
        text = _("📎 Files ({count})").format(count=attachments)
        rows.append([button(text, DeptCb(act=FILES, item=info.id).pack())])
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def department_card(
    detail: SuggestionDetail, policy: Policy, *, today: str, ours: bool = True
) -> Shown:
    """The liaison's card: no observer name or phone, no internal notes, one message."""
    head = "\n".join(_head(detail, policy, today))
    body = f"<blockquote expandable>{esc(clip(detail.info.body, BODY_MAX))}</blockquote>"
    parts = [head, body]
    if decision := _decision(detail):
        parts.append(decision)
    hint = _hint(detail.info.status, ours)
    heading = _("<b>Implementation so far</b>")
    room = MESSAGE_MAX - _SLACK - sum(shown_length(p) + 2 for p in [*parts, hint, heading])
    entries = [e for e in detail.timeline if not e.internal and e.action in _HISTORY]
    chosen: list[str] = []
    used = 0
    for entry in reversed(entries[-HISTORY_MAX:]):
        line = _entry(entry, policy)
        size = shown_length(line) + 1
        if used + size > room:
            if chosen:
                break
            line = _entry(entry, policy, words_max=max(0, room - 100))
            size = shown_length(line) + 1
        chosen.append(line)
        used += size
    if chosen:
        parts.append("\n".join([heading, *reversed(chosen)]))
    if hint:
        parts.append(f"<i>{esc(hint)}</i>")
    markup = card_markup(detail.info, len(detail.attachments), ours)
    return Shown("\n\n".join(parts), markup)


async def render_card(
    suggestions: SuggestionService, actor: Actor, item_id: int, policy: Policy
) -> Shown:
    # The office's view of the item, of which the card shows only what a department
    # may see: the observer's identity and internal notes are never printed.
    detail = await suggestions.detail(SYSTEM, item_id)
    today = day(suggestions.today())
    return department_card(detail, policy, today=today, ours=is_ours(actor, detail.info))


async def post_card(bot: Bot, chat_id: int, item_id: int, shown: Shown, cards: CardService) -> None:
    """After commit, send the card as a new message, the chat's current card of the
    item; the cards it replaces point to it (handlers.card_sync)."""
    await sync_card_now(chat_id, item_id, lambda _store: _same(shown), cards, repost=True)


async def _same(shown: Shown) -> Shown:
    return shown


async def sync_card_now(
    chat_id: int,
    item_id: int,
    render: Render,
    cards: CardService,
    *,
    create: bool = False,
    repost: bool = False,
) -> None:
    later(
        (chat_id, ITEM, item_id),
        functools.partial(
            converge, chat_id=chat_id, subject=ITEM, subject_id=item_id, render=render,
            policy=cards.policy, clock=cards.clock, create=create, repost=repost,
        ),
        name="liaison card",
    )  # fmt: skip


def card_render(actor: Actor, item_id: int, policy: Policy, clock: Clock) -> Render:
    """The liaison's card of the item, read afresh."""

    async def render(store: Store) -> Shown | None:
        return await render_card(SuggestionService(store, policy, clock), actor, item_id, policy)

    return render


async def sync_card(
    bot: Bot,
    chat_id: int,
    item_id: int,
    *,
    suggestions: SuggestionService,
    cards: CardService,
    policy: Policy,
    actor: Actor,
    post: bool = False,
    pressed: int | None = None,
) -> None:
    """After commit, make the liaison's cards of the item show its current state (the
    pressed one too, if older: it points to the current one); post one if there is
    none and ``post``."""
    render = card_render(actor, item_id, policy, suggestions.clock)
    await sync_card_now(chat_id, item_id, render, cards, create=post)


# ---- notices --------------------------------------------------------------------------

_CARD_KINDS = frozenset({"item.adopt", "item.city_adopt", "item.assign"})
_LINES: dict[str, tuple[str, str | None]] = {
    # kind: (headline with {subject}, heading over the words that came with the move)
    "item.set_due": (
        N_("📅 The office has set a new implementation due date for {subject}: {due}."),
        None,
    ),
    "item.mark_implemented": (
        N_(
            "🎯 The office has marked {subject} implemented. The observer is asked to rate "
            "the outcome."
        ),
        N_("What was done:"),
    ),
    "item.reopen": (
        N_(
            "🔄 The observer is not satisfied with the outcome of {subject}: it has been "
            "reopened. Please continue the work and report progress."
        ),
        N_("The observer's comment:"),
    ),
    "item.close": (N_("🔒 {subject} has been closed."), None),
}
_MOVED_ON = N_(
    "{subject} was assigned to your department, but it has moved on since; there is "
    "nothing for you to do."
)


def _value(payload: dict[str, Any], key: str, limit: int) -> str | None:
    raw = payload.get(key)
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        return None
    text = str(raw).strip()
    return clip(text, limit) if text else None


def _subject(payload: dict[str, Any]) -> str:
    reference = _value(payload, "reference", 40) or "?"
    title = _value(payload, "title", 100)
    if title:
        return _("<b>{reference}</b> «{title}»").format(reference=esc(reference), title=esc(title))
    return f"<b>{esc(reference)}</b>"


def notice_text(kind: str, payload: dict[str, Any]) -> str:
    """A liaison's one-message notice (not a card), in the current locale."""
    if kind not in _LINES:
        raise UnknownNotice(kind)
    headline, heading = _LINES[kind]
    text = _(headline).format(subject=_subject(payload), due=esc(_value(payload, "due", 20) or "?"))
    words = _value(payload, "text", MESSAGE_MAX)
    if heading is None or words is None:
        return text
    frame = f"{text}\n\n<b>{esc(_(heading))}</b>\n<blockquote></blockquote>"
    room = MESSAGE_MAX - shown_length(frame) - 8
    if room < 2:
        return text
    return f"{text}\n\n<b>{esc(_(heading))}</b>\n<blockquote>{esc(clip(words, room))}</blockquote>"


def notice_kinds() -> frozenset[str]:
    """Every kind :func:`deliver` handles."""
    return _CARD_KINDS | frozenset(_LINES)


async def deliver(out: Outgoing, row: OutboxItem) -> None:
    """One outbox row to a liaison, in their language (the caller set the locale)."""
    if row.chat_id is None or row.kind not in notice_kinds():
        raise UnknownNotice(row.kind)
    chat_id = row.chat_id
    if row.suggestion_id is None:
        if row.kind in _CARD_KINDS:
            raise UnknownNotice(row.kind)
        await out.bot.send_message(chat_id, notice_text(row.kind, row.payload))
        return
    # Which departments the recipient speaks for now, looked up as for any update.
    actor = await out.outbox.recipient_actor(chat_id)
    item_id = row.suggestion_id
    if row.kind in _CARD_KINDS:
        info = await out.suggestions.get(SYSTEM, item_id)
        if not is_ours(actor, info):
            # Handed back or reassigned before this was sent: no card for it.
            text = _(_MOVED_ON).format(subject=_subject(row.payload))
            await out.bot.send_message(chat_id, text)
            return
        shown = await render_card(out.suggestions, actor, item_id, out.policy)
        await post_card(out.bot, chat_id, item_id, shown, out.cards)
        files = await out.outbox.attachments(row)
        if files:
            await send_files(out.bot, chat_id, info.reference, files)
        return
    await out.bot.send_message(chat_id, notice_text(row.kind, row.payload))
    # The card, if the liaison has one, shows the new state; a reopened item needs one.
    await sync_card(
        out.bot,
        chat_id,
        item_id,
        suggestions=out.suggestions,
        cards=out.cards,
        policy=out.policy,
        actor=actor,
        post=row.kind == "item.reopen",
    )


# ---- the list -------------------------------------------------------------------------


def render_list(
    items: Sequence[SuggestionInfo], today: str, *, observer: bool
) -> tuple[str, InlineKeyboardMarkup | None]:
    own = [[button(_("📋 My own suggestions"), MenuCb(go="mine").pack())]] if observer else []
    if not items:
        text = _(
            "Your department has no open items at the moment. Items the office assigns to "
            "it will arrive in this chat."
        )
        return text, InlineKeyboardMarkup(inline_keyboard=own) if own else None
    lines = [_("<b>Your department's open items</b>: {total}").format(total=len(items)), ""]
    rows: list[list[InlineKeyboardButton]] = []
    for info in items[:LIST_MAX]:
        emoji = labels.STATUS_EMOJI[info.status]
        lines.append(
            f"{emoji} <b>{esc(info.reference)}</b> {esc(clip(info.title, LIST_TITLE_MAX))}"
        )
        state = esc(labels.status(info.status))
        if info.implementation_due is not None:
            due = day(info.implementation_due)
            state += " · " + _("due {date}").format(date=due)
            if due < today:
                state += " " + _("⚠️ overdue")
        lines.append(f"      <i>{state}</i>")
        text = clip(f"{emoji} {info.reference} {info.title}", BUTTON_TEXT_MAX)
        rows.append([button(text, DeptCb(act=OPEN, item=info.id).pack())])
    if len(items) > LIST_MAX:
        lines.append(_("… and {count} more, due later.").format(count=len(items) - LIST_MAX))
    lines.extend(["", _("Tap an item to open its card.")])
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows + own)


# ---- the conversations ----------------------------------------------------------------


def _send_label(what: str) -> str:
    if what == DONE:
        return _("Continue ➡️")
    if what == HAND_BACK:
        return _("✅ Hand back")
    return _("✅ Send the report")


def _flow_buttons(item: int, what: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                button(_send_label(what), DeptCb(act=SEND, item=item).pack()),
                button(_(CANCEL), DeptCb(act=QUIT, item=item).pack()),
            ]
        ]
    )


def _prompt(data: dict[str, Any]) -> str:
    what = data["what"]
    subject = f"<b>{esc(data['reference'])}</b>"
    if what == PROGRESS:
        text = _(
            "Progress report on {subject}: write what has been done; you may send several "
            "messages (at most {limit} characters in all) and add photos or documents (at "
            "most {most}). The observer and the office receive it. Then press <b>{send}</b>."
        )
    elif what == HAND_BACK:
        text = _(
            "Handing {subject} back to the office: please write the reason (at most {limit} "
            "characters), then press <b>{send}</b>."
        )
    else:
        text = _(
            "Marking {subject} implemented: if you like, describe what was done (at most "
            "{limit} characters) and add photos or documents (at most {most}). Then press "
            "<b>{send}</b>."
        )
    return text.format(
        subject=subject, limit=TEXT_MAX, most=ATTACHMENTS_MAX, send=esc(_send_label(what))
    )


def _collected(data: dict[str, Any]) -> str:
    return _(
        "So far: {chars} of {limit} characters, {files} of {most} files. Send more, or "
        "press <b>{send}</b> when you are done."
    ).format(
        chars=len(data.get("text", "")),
        limit=TEXT_MAX,
        files=len(data.get("attachments", [])),
        most=ATTACHMENTS_MAX,
        send=esc(_send_label(data["what"])),
    )


def _confirmation(data: dict[str, Any]) -> tuple[str, InlineKeyboardMarkup]:
    item = int(data["item"])
    lines = [
        _(
            "Mark <b>{reference}</b> implemented? The observer and the office will be told, "
            "and the observer asked to rate the outcome."
        ).format(reference=esc(data["reference"]))
    ]
    if data.get("text"):
        lines.append(_("<b>What was done:</b>"))
        lines.append(f"<blockquote>{esc(clip(data['text'], 1000))}</blockquote>")
    if data.get("attachments"):
        lines.append(_("Files: {count}").format(count=len(data["attachments"])))
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            [button(_("🎯 Yes, it is implemented"), DeptCb(act=YES, item=item).pack())],
            [
                button(_(BACK_LABEL), DeptCb(act=GO_BACK, item=item).pack()),
                button(_(CANCEL), DeptCb(act=QUIT, item=item).pack()),
            ],
        ]
    )
    return "\n".join(lines), markup


async def _is_liaison(_event: object, actor: Actor) -> bool:
    return Role.LIAISON in actor.roles


# ---- the router -----------------------------------------------------------------------


def setup(i18n: I18n, settings: Settings) -> Router:
    router = Router(name="department")
    router.message.filter(F.chat.type == "private")
    router.callback_query.filter(F.message.chat.type == "private")
    plain = PlainText(i18n)

    async def refresh(
        query: CallbackQuery,
        bot: Bot,
        item_id: int,
        suggestions: SuggestionService,
        cards: CardService,
        policy: Policy,
        actor: Actor,
    ) -> None:
        pressed = query.message.message_id if isinstance(query.message, Message) else None
        await sync_card(
            bot,
            query.from_user.id,
            item_id,
            suggestions=suggestions,
            cards=cards,
            policy=policy,
            actor=actor,
            pressed=pressed,
        )

    # -- the list and the cards --

    @router.message(Command("mine"), _is_liaison)
    @router.message(label(i18n, MINE), _is_liaison)
    async def list_items(message: Message, suggestions: SuggestionService, actor: Actor) -> None:
        items = await suggestions.department_items(actor)
        text, markup = render_list(
            items, day(suggestions.today()), observer=actor.observer_id is not None
        )
        await message.answer(text, reply_markup=markup)

    @router.callback_query(DeptCb.filter(F.act == OPEN))
    async def open_card(
        query: CallbackQuery,
        callback_data: DeptCb,
        bot: Bot,
        suggestions: SuggestionService,
        cards: CardService,
        policy: Policy,
        actor: Actor,
    ) -> None:
        item = await liaison_info(suggestions, actor, callback_data.item)
        shown = await render_card(suggestions, actor, item.id, policy)
        await post_card(bot, query.from_user.id, item.id, shown, cards)
        await query.answer()

    @router.callback_query(DeptCb.filter(F.act == FILES))
    async def files(
        query: CallbackQuery,
        callback_data: DeptCb,
        bot: Bot,
        suggestions: SuggestionService,
        actor: Actor,
    ) -> None:
        info = await liaison_info(suggestions, actor, callback_data.item)
        detail = await suggestions.detail(actor, info.id)
        if not detail.attachments:
            await query.answer(_("This item has no attachments."))
            return
        await send_files(bot, query.from_user.id, info.reference, detail.attachments)
        await query.answer()

    async def current(
        query: CallbackQuery,
        callback_data: DeptCb,
        bot: Bot,
        suggestions: SuggestionService,
        cards: CardService,
        policy: Policy,
        actor: Actor,
    ) -> SuggestionInfo | None:
        """The item, if the pressed button still offers a move; otherwise the card is
        brought up to date and the liaison told, and None."""
        info = await liaison_info(suggestions, actor, callback_data.item)
        act = callback_data.act
        if info.version != callback_data.v or act not in liaison_acts(info.status):
            await refresh(query, bot, info.id, suggestions, cards, policy, actor)
            await query.answer(
                _(
                    "This card was out of date: the item has moved on. It now shows where "
                    "the item stands; nothing was done."
                ),
                show_alert=True,
            )
            return None
        return info

    # -- accepting --

    @router.callback_query(DeptCb.filter(F.act == ACCEPT))
    async def accept(
        query: CallbackQuery,
        callback_data: DeptCb,
        bot: Bot,
        suggestions: SuggestionService,
        cards: CardService,
        policy: Policy,
        actor: Actor,
    ) -> None:
        info = await current(query, callback_data, bot, suggestions, cards, policy, actor)
        if info is None:
            return
        await suggestions.accept(actor, info.id, version=info.version)
        await refresh(query, bot, info.id, suggestions, cards, policy, actor)
        await query.answer(
            _("Accepted: the item is now being implemented. The observer and the office are told.")
        )

    # -- progress, hand back, implemented: writing --

    @router.callback_query(DeptCb.filter(F.act.in_(set(_FLOW_ACTION))))
    async def flow_begin(
        query: CallbackQuery,
        callback_data: DeptCb,
        bot: Bot,
        suggestions: SuggestionService,
        cards: CardService,
        policy: Policy,
        actor: Actor,
        state: FSMContext,
    ) -> None:
        info = await current(query, callback_data, bot, suggestions, cards, policy, actor)
        if info is None:
            return
        data: dict[str, Any] = {
            "item": info.id,
            "v": info.version,
            "reference": info.reference,
            "what": callback_data.act,
            "text": "",
            "attachments": [],
            "albums": [],
            "confirm": False,
        }
        await save(state, REPORT_KEY, data)
        await state.set_state(Reporting.text)
        await bot.send_message(
            query.from_user.id, _prompt(data), reply_markup=_flow_buttons(info.id, data["what"])
        )
        await query.answer()

    async def collecting(message: Message, state: FSMContext) -> dict[str, Any] | None:
        data = await load(state, REPORT_KEY)
        if not data.get("item") or data.get("what") not in _FLOW_ACTION:
            await finish(state, REPORT_KEY)
            await message.answer(
                _("Nothing is being written now. Open the item's card again with /mine.")
            )
            return None
        return data

    @router.message(Reporting.text, label(i18n, CANCEL))
    async def cancel_typed(message: Message, state: FSMContext) -> None:
        await finish(state, REPORT_KEY)
        await message.answer(_("Cancelled. Nothing was sent."))

    @router.message(Reporting.text, plain)
    async def text_piece(message: Message, state: FSMContext) -> None:
        data = await collecting(message, state)
        if data is None:
            return
        text = joined(data["text"], message.text)
        if len(text) > TEXT_MAX:
            await message.answer(too_long(len(text), TEXT_MAX))
            return
        data["text"] = text
        data["confirm"] = False
        await save(state, REPORT_KEY, data)
        await message.answer(
            _collected(data), reply_markup=_flow_buttons(data["item"], data["what"])
        )

    @router.message(Reporting.text, F.photo | F.document)
    async def file_piece(message: Message, state: FSMContext) -> None:
        data = await collecting(message, state)
        if data is None:
            return
        if data["what"] == HAND_BACK:
            await message.answer(
                _("A reason for handing back is text only: please write it in words.")
            )
            return
        album = message.media_group_id
        told = album is not None and album in data["albums"]
        if album is not None and not told:
            data["albums"].append(album)
        text = joined(data["text"], message.caption)
        if len(data["attachments"]) >= ATTACHMENTS_MAX:
            await save(state, REPORT_KEY, data)
            await message.answer(
                _("At most {most} files can go with it; this one was not added.").format(
                    most=ATTACHMENTS_MAX
                )
            )
            return
        if len(text) > TEXT_MAX:
            await save(state, REPORT_KEY, data)
            await message.answer(too_long(len(text), TEXT_MAX))
            return
        attachment = attachment_of(message)
        assert attachment is not None  # the filter let only photos and documents in
        data["attachments"].append(attachment)
        data["text"] = text
        data["confirm"] = False
        await save(state, REPORT_KEY, data)
        if not told:
            await message.answer(
                _collected(data), reply_markup=_flow_buttons(data["item"], data["what"])
            )

    @router.message(Reporting.text, F.text.is_(None))
    async def other_piece(message: Message) -> None:
        await message.answer(_("Please send text, photos or documents."))

    # -- sending --

    async def in_flow(
        query: CallbackQuery, callback_data: DeptCb, state: FSMContext
    ) -> dict[str, Any] | None:
        data = await load(state, REPORT_KEY)
        if (
            await state.get_state() != Reporting.text.state
            or data.get("item") != callback_data.item
            or data.get("what") not in _FLOW_ACTION
        ):
            await stale(query)
            return None
        return data

    async def still_possible(
        query: CallbackQuery,
        data: dict[str, Any],
        bot: Bot,
        suggestions: SuggestionService,
        cards: CardService,
        policy: Policy,
        actor: Actor,
        state: FSMContext,
    ) -> bool:
        """Whether the move can go ahead on the item as it is now. What was written is
        kept when the item merely changed (a new due date, say); the flow ends when the
        move is no longer possible."""
        item = int(data["item"])
        info = await liaison_info(suggestions, actor, item)
        action = _FLOW_ACTION[data["what"]]
        if action not in allowed_actions(info.status, {Role.LIAISON}):
            await finish(state, REPORT_KEY)
            await refresh(query, bot, item, suggestions, cards, policy, actor)
            await query.answer(explain(IllegalTransition("moved on")), show_alert=True)
            return False
        if action is not Action.PROGRESS and info.version != data["v"]:
            data["v"] = info.version
            data["confirm"] = False
            await save(state, REPORT_KEY, data)
            await refresh(query, bot, item, suggestions, cards, policy, actor)
            await query.answer(
                _(
                    "The item changed while you were writing; its card shows how. What you "
                    "wrote is kept: press the button again to go ahead."
                ),
                show_alert=True,
            )
            return False
        return True

    @router.callback_query(DeptCb.filter(F.act == SEND))
    async def send(
        query: CallbackQuery,
        callback_data: DeptCb,
        bot: Bot,
        suggestions: SuggestionService,
        cards: CardService,
        policy: Policy,
        actor: Actor,
        state: FSMContext,
    ) -> None:
        data = await in_flow(query, callback_data, state)
        if data is None:
            return
        what = data["what"]
        text = data.get("text", "").strip()
        if what != DONE and not text:
            await query.answer(
                _("Please write a few words first: the text is required."), show_alert=True
            )
            return
        if not await still_possible(query, data, bot, suggestions, cards, policy, actor, state):
            return
        item = int(data["item"])
        reference = esc(data["reference"])
        if what == DONE:
            data["confirm"] = True
            await save(state, REPORT_KEY, data)
            shown, markup = _confirmation(data)
            await put(query, bot, shown, markup)
            await query.answer()
            return
        if what == PROGRESS:
            files = attachments_in(data.get("attachments", []))
            await suggestions.report_progress(actor, item, text, files)
            done = _(
                "✅ Your progress report on <b>{reference}</b> has been sent to the observer "
                "and the office."
            ).format(reference=reference)
        else:
            await suggestions.hand_back(actor, item, text, version=int(data["v"]))
            done = _(
                "↩️ <b>{reference}</b> has been handed back to the office with your reason."
            ).format(reference=reference)
        await finish(state, REPORT_KEY)
        await put(query, bot, done, None)
        await refresh(query, bot, item, suggestions, cards, policy, actor)
        await query.answer()

    @router.callback_query(DeptCb.filter(F.act == GO_BACK))
    async def back(
        query: CallbackQuery, callback_data: DeptCb, bot: Bot, state: FSMContext
    ) -> None:
        data = await in_flow(query, callback_data, state)
        if data is None:
            return
        data["confirm"] = False
        await save(state, REPORT_KEY, data)
        await put(
            query,
            bot,
            _prompt(data) + "\n\n" + _collected(data),
            _flow_buttons(int(data["item"]), data["what"]),
        )
        await query.answer()

    @router.callback_query(DeptCb.filter(F.act == YES))
    async def confirm(
        query: CallbackQuery,
        callback_data: DeptCb,
        bot: Bot,
        suggestions: SuggestionService,
        cards: CardService,
        policy: Policy,
        actor: Actor,
        state: FSMContext,
    ) -> None:
        data = await in_flow(query, callback_data, state)
        if data is None:
            return
        if data["what"] != DONE or not data.get("confirm"):
            await stale(query)
            return
        if not await still_possible(query, data, bot, suggestions, cards, policy, actor, state):
            return
        item = int(data["item"])
        await suggestions.mark_implemented(
            actor,
            item,
            data.get("text", "").strip() or None,
            attachments_in(data.get("attachments", [])),
            version=int(data["v"]),
        )
        await finish(state, REPORT_KEY)
        done = _(
            "🎯 <b>{reference}</b> has been marked implemented. The observer is asked to rate "
            "the outcome."
        ).format(reference=esc(data["reference"]))
        await put(query, bot, done, None)
        await refresh(query, bot, item, suggestions, cards, policy, actor)
        await query.answer()

    @router.callback_query(DeptCb.filter(F.act == QUIT))
    async def quit_flow(
        query: CallbackQuery, callback_data: DeptCb, bot: Bot, state: FSMContext
    ) -> None:
        data = await in_flow(query, callback_data, state)
        if data is None:
            return
        await finish(state, REPORT_KEY)
        await put(query, bot, _("Cancelled. Nothing was sent."), None)
        await query.answer()

    # -- anything else under our prefix: forged, garbled or from an older version --

    @router.callback_query(F.data.startswith("dp:"))
    async def unknown(query: CallbackQuery) -> None:
        await stale(query)

    return router
