"""The department liaison's private chat: assigned items as cards, and the work on them.

A liaison hears of an item when the office adopts it for their department (or the
city's answer does, or the office reassigns it): the **department card** arrives with
the files filed with it. The card shows what the department needs to act — reference,
status, title, text, kind, domain, point, location, due date, the office's words and
instruction, the office's questions to the observer and the answers — and never who
the observer is. Its buttons are the liaison's moves from the lifecycle table: Accept
(adopted → implementing), then Progress, Hand back and Implemented. The card is edited
in place after every move, so it always shows where the item stands. When the office
gives the item to another department, the one it left is told, and its cards say
where the item went and lose their buttons.

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
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    TelegramObject,
)
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.domain.errors import IllegalTransition, NotFound
from bot.domain.lifecycle import Action, allowed_actions
from bot.domain.limits import ATTACHMENTS_MAX, TEXT_MAX
from bot.domain.notices import Notice
from bot.domain.roles import Role
from bot.domain.statuses import SuggestionStatus
from bot.services.actors import SYSTEM, Actor
from bot.services.cards import ITEM, CardService
from bot.services.context import Clock, Policy
from bot.services.notify import BY, BY_NAME
from bot.services.notify import FILES as FILES_SENT
from bot.services.suggestions import INSTRUCTION, SuggestionService
from bot.services.views import SuggestionDetail, SuggestionInfo, TimelineEntry
from bot.settings import Settings
from handlers import item_facts as facts
from handlers import labels, mine
from handlers.attachments import attachments_in
from handlers.card_sync import Render, converge_after, showing
from handlers.cards import Shown
from handlers.collecting import Collected, Writing
from handlers.conversation import label, load_flow, private_router, save_flow
from handlers.desks import Desks
from handlers.errors import explain
from handlers.item_desk import ItemDesk
from handlers.item_pages import put, send_files, show_files, stale
from handlers.keyboards import BACK as BACK_LABEL
from handlers.keyboards import CANCEL, MINE, button
from handlers.notices import UnknownNotice, compose, payload_value
from handlers.ui import MESSAGE_MAX, N_, clip, day, esc, local_time, shown_length
from handlers.used_prompts import (
    CANCELLED,
    HANDED_BACK,
    IMPLEMENTED,
    MOVED_ON,
    PROGRESS_SENT,
    Outcome,
    end,
    in_place,
    pressed_id,
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

# What a later press of a flow's used button is told (handlers.used_prompts).
_DONE = {PROGRESS: PROGRESS_SENT, HAND_BACK: HANDED_BACK, DONE: IMPLEMENTED}

# Where the flow keeps its data: ``/cancel`` (handlers.start) drops the key named
# after the state group, lower-cased.
REPORT_KEY = "reporting"

# Card sizes: the body and the office's words are bounded, the history fills the rest.
BODY_MAX = 1200
WORDS_MAX = 600
ENTRY_WORDS_MAX = 300
HISTORY_MAX = 6
LIST_MAX = 30
_SLACK = 32
_NAME_MAX = 200
# What the history keeps, at least, of the room the office's questions may take.
HISTORY_ROOM = 300
# An answer's (and a question's) words on the card, cut shorter until all of them fit.
EXCHANGE_WORDS = (500, 250, 120, 60)

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
        # What the observer added while the department works on it (never who they are).
        Action.ADD,
    }
)
_DECISIONS = (Action.ADOPT, Action.CITY_ADOPT)
# The office's questions to the observer and the observer's answers.
_EXCHANGE = (Action.ASK_INFO, Action.ANSWER_INFO)


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


def liaison_acts(status: SuggestionStatus) -> list[str]:
    return [_ACT_OF[a] for a in allowed_actions(status, {Role.LIAISON}) if a in _ACT_OF]


# ---- the card -------------------------------------------------------------------------


def _head(detail: SuggestionDetail, policy: Policy, today: str) -> list[str]:
    info = detail.info
    return [
        *facts.headline(info),
        f"{esc(labels.kind(info.kind))} · {esc(labels.domain(info.domain))}",
        *facts.point(detail, _NAME_MAX),
        *facts.place(info, 300),
        facts.filed(info, policy),
        *facts.department(detail, _NAME_MAX),
        *facts.implementation_due(info, today),
        *facts.implemented(info, policy),
        *facts.attachments(detail),
    ]


def _decision(detail: SuggestionDetail) -> str:
    """The office's (or the city's) words on adopting it: what the department is to do."""
    words = [e.text for e in detail.timeline if e.action in _DECISIONS and e.text]
    if not words:
        return ""
    return _("<b>The office's decision:</b>") + (
        f"\n<blockquote>{esc(clip(words[-1], WORDS_MAX))}</blockquote>"
    )


def _instruction(detail: SuggestionDetail) -> str:
    """The office's instruction to the department, given when it adopted the item."""
    given = [e.payload.get(INSTRUCTION) for e in detail.timeline if e.action in _DECISIONS]
    words = [str(w) for w in given if w]
    if not words:
        return ""
    return _("<b>The office's instruction:</b>") + (
        f"\n<blockquote>{esc(clip(words[-1], WORDS_MAX))}</blockquote>"
    )


def _exchange_entry(entry: TimelineEntry, policy: Policy, words_max: int) -> str:
    """A question of the office's or an answer of the observer's: never who they are."""
    when = local_time(entry.at, policy.tz)
    if entry.action is Action.ASK_INFO:
        line = "❓ " + _("{moment} · the office asked").format(moment=when)
    else:
        line = "💬 " + _("{moment} · the observer answered").format(moment=when)
    files = entry.payload.get(FILES_SENT)
    if isinstance(files, int) and not isinstance(files, bool) and files > 0:
        line += " · " + _("📎 {count} file(s)").format(count=files)
    if entry.text and words_max > 1:
        line += f"\n<blockquote>{esc(clip(entry.text, words_max))}</blockquote>"
    return line


def _exchange(detail: SuggestionDetail, policy: Policy, room: int) -> str:
    """Every question the office asked the observer and every answer, the words cut
    shorter until they fit ``room``; only when there are very many, the newest."""
    entries = [e for e in detail.timeline if e.action in _EXCHANGE and not e.internal]
    if not entries:
        return ""
    heading = _("<b>The office's questions and the observer's answers</b>")
    for words in EXCHANGE_WORDS:
        text = "\n".join([heading, *(_exchange_entry(e, policy, words) for e in entries)])
        if shown_length(text) <= room:
            return text
    omitted = _("<i>(earlier questions omitted)</i>")
    left = room - shown_length(heading) - shown_length(omitted) - 2
    draw = functools.partial(_exchange_entry, policy=policy, words_max=EXCHANGE_WORDS[-1])
    chosen, _used = facts.newest_that_fit(entries, left, draw, lambda _e: 0)
    return "\n".join([heading, omitted, *chosen])


def _entry(entry: TimelineEntry, policy: Policy, words_max: int = ENTRY_WORDS_MAX) -> str:
    line = f"▫️ {local_time(entry.at, policy.tz)} · {esc(labels.action(entry.action))}"
    payload = entry.payload
    if payload.get("department") and entry.action in (*_DECISIONS, Action.ASSIGN):
        line += f" ({esc(clip(labels.carried_place(payload, 'department'), 100))})"
    if payload.get("due") and entry.action in (*_DECISIONS, Action.SET_DUE):
        line += " · " + _("due {date}").format(date=esc(clip(str(payload["due"]), 20)))
    # The decision's words are shown above; the rest carry their own.
    if entry.text and words_max > 1 and entry.action not in _DECISIONS:
        line += f"\n<blockquote>{esc(clip(entry.text, words_max))}</blockquote>"
    return line


def _hint(detail: SuggestionDetail, ours: bool) -> str:
    status = detail.info.status
    if not ours:
        if detail.info.department_id is not None and detail.department_name:
            return _("🔀 Reassigned to {department}: your department no longer handles it.").format(
                department=clip(labels.place(detail.department_name), 100)
            )
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
    if not ours:
        return None  # the item has left the department: nothing here to press
    rows: list[list[InlineKeyboardButton]] = [
        [button(_(_MOVE_BUTTONS[act]), DeptCb(act=act, item=info.id, v=info.version).pack())]
        for act in liaison_acts(info.status)
    ]
    if attachments:
        text = _("📎 Files ({count})").format(count=attachments)
        rows.append([button(text, DeptCb(act=FILES, item=info.id).pack())])
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def department_card(
    detail: SuggestionDetail, policy: Policy, *, today: str, ours: bool = True
) -> Shown:
    """The liaison's card: no observer name or phone, no internal notes, one message.
    The department's own card shows what it is to do (the office's decision and
    instruction, the observer's answers to the office's questions) and its work so far;
    once the item has left the department, the card says where it went, and no more."""
    head = "\n".join(_head(detail, policy, today))
    body = f"<blockquote expandable>{esc(clip(detail.info.body, BODY_MAX))}</blockquote>"
    parts = [head, body]
    hint = _hint(detail, ours)
    if ours:
        parts.extend(p for p in (_decision(detail), _instruction(detail)) if p)
        heading = _("<b>Implementation so far</b>")
        room = MESSAGE_MAX - _SLACK - sum(shown_length(p) + 2 for p in [*parts, hint, heading])
        if exchange := _exchange(detail, policy, room - HISTORY_ROOM):
            parts.append(exchange)
            room -= shown_length(exchange) + 2
        entries = [e for e in detail.timeline if not e.internal and e.action in _HISTORY]
        draw = functools.partial(_entry, policy=policy)
        cut = max(0, room - 100)
        chosen, _used = facts.newest_that_fit(entries[-HISTORY_MAX:], room, draw, lambda _e: cut)
        if chosen:
            parts.append("\n".join([heading, *chosen]))
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


def post_card(chat_id: int, item_id: int, shown: Shown, cards: CardService) -> None:
    """After commit, send the card as a new message, the chat's current card of the
    item; the cards it replaces point to it (handlers.card_sync)."""
    converge_after(
        (chat_id, ITEM, item_id), showing(shown),
        policy=cards.policy, clock=cards.clock, name="liaison card", repost=True,
    )  # fmt: skip


def card_render(actor: Actor, item_id: int, policy: Policy, clock: Clock) -> Render:
    """The liaison's card of the item, read afresh."""

    async def render(store: Store) -> Shown | None:
        return await render_card(SuggestionService(store, policy, clock), actor, item_id, policy)

    return render


def sync_card(
    chat_id: int, item_id: int, cards: CardService, actor: Actor, *, post: bool = False
) -> None:
    """After commit, make the liaison's cards of the item show its current state (the
    older ones point to the current one); post one if there is none and ``post``."""
    render = card_render(actor, item_id, cards.policy, cards.clock)
    converge_after(
        (chat_id, ITEM, item_id), render,
        policy=cards.policy, clock=cards.clock, name="liaison card", create=post,
    )  # fmt: skip


# ---- notices --------------------------------------------------------------------------

_CARD_KINDS = frozenset({"item.adopt", "item.city_adopt", "item.assign"})
# The observer's addition: a line, with its files, and the card shows it.
_ADDED = "item.add"
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
            "reopened. Please continue the work and report progress; the office will set "
            "a new due date."
        ),
        N_("The observer's comment:"),
    ),
    "item.close": (N_("🔒 {subject} has been closed."), None),
    _ADDED: (
        N_("➕ The observer has added to {subject}."),
        N_("The addition:"),
    ),
    Notice.ITEM_REASSIGNED.value: (
        N_(
            "🔀 The office has reassigned {subject} to {department}. Your department no "
            "longer handles it: there is nothing more for you to do."
        ),
        None,
    ),
}
# The same moves, made by a colleague in the department rather than by the office.
_BY_COLLEAGUE: dict[str, str] = {
    "item.mark_implemented": N_(
        "🎯 {name} of your department has marked {subject} implemented. The observer is "
        "asked to rate the outcome."
    ),
}
_MOVED_ON = N_(
    "{subject} was assigned to your department, but it has moved on since; there is "
    "nothing for you to do."
)


def _subject(payload: dict[str, Any]) -> str:
    reference = payload_value(payload, "reference", 40) or "?"
    title = payload_value(payload, "title", 100)
    if title:
        return _("<b>{reference}</b> “{title}”").format(reference=esc(reference), title=esc(title))
    return f"<b>{esc(reference)}</b>"


def notice_text(kind: str, payload: dict[str, Any]) -> str:
    """A liaison's one-message notice (not a card), in the current locale."""
    if kind not in _LINES:
        raise UnknownNotice(kind)
    headline, heading = _LINES[kind]
    due = esc(payload_value(payload, "due", 20) or "?")
    by_colleague = payload.get(BY) == Role.LIAISON.value
    colleague = payload_value(payload, BY_NAME, 64) if by_colleague else None
    if colleague and kind in _BY_COLLEAGUE:
        headline = _BY_COLLEAGUE[kind]
    department = esc(clip(labels.carried_place(payload, "department", "?"), 100))
    text = _(headline).format(
        subject=_subject(payload), due=due, name=esc(colleague or ""), department=department
    )
    words = payload_value(payload, "text", MESSAGE_MAX)
    return compose([text], None if heading is None else _(heading), words, slack=8)


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
        post_card(chat_id, item_id, shown, out.cards)
        files = await out.outbox.attachments(row)
        if files:
            await send_files(out.bot, chat_id, info.reference, files)
        return
    reopened = row.kind == "item.reopen"
    # A reopened item is work again: the notice opens its card at the bottom of the chat.
    markup = _open_markup(item_id) if reopened else None
    await out.bot.send_message(chat_id, notice_text(row.kind, row.payload), reply_markup=markup)
    if row.kind == _ADDED and (files := await out.outbox.attachments(row)):
        await send_files(out.bot, chat_id, str(row.payload.get("reference") or ""), files)
    # The card, if the liaison has one, shows the new state; a reopened item needs one.
    sync_card(chat_id, item_id, out.cards, actor, post=reopened)


def _open_markup(item_id: int) -> InlineKeyboardMarkup:
    opener = button(_("📄 Open the item"), DeptCb(act=OPEN, item=item_id).pack())
    return InlineKeyboardMarkup(inline_keyboard=[[opener]])


# ---- the list -------------------------------------------------------------------------


def render_list(
    items: Sequence[SuggestionInfo], today: str
) -> tuple[str, InlineKeyboardMarkup | None]:
    if not items:
        text = _(
            "Your department has no open items at the moment. Items the office assigns to "
            "it will arrive in this chat."
        )
        return text, None
    lines = [_("<b>Your department's open items</b>: {total}").format(total=len(items)), ""]
    rows: list[list[InlineKeyboardButton]] = []
    for info in items[:LIST_MAX]:
        state = esc(labels.status(info.status))
        if info.implementation_due is not None:
            due = day(info.implementation_due)
            state = facts.overdue(state + " · " + _("due {date}").format(date=due), due < today)
        line, opener = facts.list_entry(info, state, DeptCb(act=OPEN, item=info.id).pack())
        lines.append(line)
        rows.append([opener])
    if len(items) > LIST_MAX:
        lines.append(_("… and {count} more, due later.").format(count=len(items) - LIST_MAX))
    lines.extend(["", _("Tap an item to open its card.")])
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


# ---- the conversations ----------------------------------------------------------------


class Report(Collected):
    """A progress report, a hand-back reason or a closing summary being written
    (``what``: the act that began it), for the item as it was at version ``v``."""

    key: ClassVar[str] = REPORT_KEY

    v: int = 0
    what: str = ""
    # Whether "implemented" was confirmed to be sent as it is now.
    confirm: bool = False

    def ongoing(self) -> bool:
        return super().ongoing() and self.what in _FLOW_ACTION

    def take(self, text: str, attachment: dict[str, Any] | None = None) -> None:
        super().take(text, attachment)
        # What was shown for confirmation is no longer what would be sent.
        self.confirm = False


def _send_label(what: str) -> str:
    if what == DONE:
        return _("Continue ➡️")
    if what == HAND_BACK:
        return _("✅ Hand back")
    return _("✅ Send the report")


def _flow_buttons(flow: Report) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                button(_send_label(flow.what), DeptCb(act=SEND, item=flow.item).pack()),
                button(_(CANCEL), DeptCb(act=QUIT, item=flow.item).pack()),
            ]
        ]
    )


def _prompt(flow: Report) -> str:
    subject = f"<b>{esc(flow.reference)}</b>"
    if flow.what == PROGRESS:
        text = _(
            "Progress report on {subject}: write what has been done; you may send several "
            "messages (at most {limit} characters in all) and add photos or documents (at "
            "most {most}). The observer and the office receive it. Then press <b>{send}</b>."
        )
    elif flow.what == HAND_BACK:
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
        subject=subject, limit=TEXT_MAX, most=ATTACHMENTS_MAX, send=esc(_send_label(flow.what))
    )


def _collected(flow: Report) -> str:
    return flow.tally(
        _(
            "So far: {chars} of {limit} characters, {files} of {most} files. Send more, or "
            "press <b>{send}</b> when you are done."
        ),
        _send_label(flow.what),
    )


def _confirmation(flow: Report) -> tuple[str, InlineKeyboardMarkup]:
    lines = [
        _(
            "Mark <b>{reference}</b> implemented? The observer and the office will be told, "
            "and the observer asked to rate the outcome."
        ).format(reference=esc(flow.reference))
    ]
    if flow.text:
        lines.append(_("<b>What was done:</b>"))
        lines.append(f"<blockquote>{esc(clip(flow.text, 1000))}</blockquote>")
    if flow.attachments:
        lines.append(_("Files: {count}").format(count=len(flow.attachments)))
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            [button(_("🎯 Yes, it is implemented"), DeptCb(act=YES, item=flow.item).pack())],
            [
                button(_(BACK_LABEL), DeptCb(act=GO_BACK, item=flow.item).pack()),
                button(_(CANCEL), DeptCb(act=QUIT, item=flow.item).pack()),
            ],
        ]
    )
    return "\n".join(lines), markup


def _text_only(flow: Report) -> str | None:
    if flow.what == HAND_BACK:
        return N_("A reason for handing back is text only: please write it in words.")
    return None


# What the liaison writes in a conversation, and what they are told.
_WRITING = Writing(
    Report,
    Reporting.text,
    gone=N_("Nothing is being written now. Open the item's card again with /mine."),
    cancelled=N_("Cancelled. Nothing was sent."),
    refusal=_text_only,
    too_many=N_("At most {most} files can go with it; this one was not added."),
    other=N_("Please send text, photos or documents."),
    progress=_collected,
    buttons=_flow_buttons,
)


async def _is_liaison(_event: object, actor: Actor) -> bool:
    return Role.LIAISON in actor.roles


class LeftUs(Exception):
    """A button about an item that has left the liaison's department was pressed: they
    have been told where it went (:meth:`Desk.info`), and the handler goes no further."""


def gone_text(detail: SuggestionDetail) -> str:
    """Why a button about an item that has left the department does nothing (plain)."""
    info = detail.info
    if info.department_id is not None and detail.department_name:
        return _(
            "{reference} has been reassigned to {department}: your department no longer "
            "handles it. Nothing was done."
        ).format(
            reference=info.reference, department=clip(labels.place(detail.department_name), 60)
        )
    return _(
        "{reference} has been handed back to the office: your department no longer "
        "handles it. Nothing was done."
    ).format(reference=info.reference)


async def _stop_where_it_left(
    handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
    event: TelegramObject,
    data: dict[str, Any],
) -> Any:
    try:
        return await handler(event, data)
    except LeftUs:
        return None  # answered, and nothing written: the update commits as it is


@dataclass
class Desk(ItemDesk[DeptCb]):
    """A button of a liaison's chat: the press, who pressed it, the services
    (handlers.item_desk) and the cards; handed to each handler by :class:`Desks`."""

    cards: CardService

    async def info(self) -> SuggestionInfo:
        """The pressed item, if it is with one of the actor's departments; otherwise "not
        found", or :class:`LeftUs` when it was with theirs once."""
        # The observer of the item, or a liaison of another department: not here.
        ours = functools.partial(is_ours, self.actor)
        try:
            return await self.lookup(self.suggestions.get, ours, "with the actor's department")
        except NotFound:
            if await self._left_us():
                raise LeftUs(self.cb.item) from None
            raise

    async def _left_us(self) -> bool:
        """Whether the pressed item was shown to this liaison as their department's (the
        chat holds a card of it) and has left it since: they are told where it went, the
        conversation about it ends, and the cards show it."""
        item_id, chat_id = self.cb.item, self.query.from_user.id
        if Role.LIAISON not in self.actor.roles or not await self.cards.of(ITEM, item_id, chat_id):
            return False
        detail = await self.suggestions.detail(SYSTEM, item_id)
        await self.query.answer(gone_text(detail), show_alert=True)
        pressed = self.query.message
        if pressed is not None:
            await self.cards.doubted(chat_id, pressed.message_id)
        if (await load_flow(self.state, Report)).item == item_id:
            await end(self.state, Report, Outcome(MOVED_ON))
        self.refresh(item_id)
        return True

    def refresh(self, item_id: int) -> None:
        """After commit, the liaison's cards of the item show where it stands."""
        sync_card(self.query.from_user.id, item_id, self.cards, self.actor)

    async def report(self) -> Report | None:
        """What is being written, if the pressed button belongs to it."""
        return await self.flow(Report, Reporting.text)


# ---- the list and the cards: handlers -------------------------------------------------


async def list_items(message: Message, suggestions: SuggestionService, actor: Actor) -> None:
    """The department's list; for a liaison who is also an observer, their own list
    first, each headed, each with its buttons as on its own."""
    items = await suggestions.department_items(actor)
    # Both lists are shown: the department's needs no button to the observer's.
    text, markup = render_list(items, day(suggestions.today()))
    if actor.observer_id is not None:
        own, own_buttons = await mine.own_list(suggestions, actor)
        await message.answer(own, reply_markup=own_buttons)
        text = _("<b>🏢 My department's items</b>") + "\n" + text
    await message.answer(text, reply_markup=markup)


async def open_card(query: CallbackQuery, desk: Desk) -> None:
    item = await desk.info()
    shown = await render_card(desk.suggestions, desk.actor, item.id, desk.policy)
    post_card(query.from_user.id, item.id, shown, desk.cards)
    await query.answer()


async def item_files(query: CallbackQuery, desk: Desk) -> None:
    info = await desk.info()
    detail = await desk.suggestions.detail(desk.actor, info.id)
    await show_files(query, desk.bot, info.reference, detail.attachments)


async def movable(query: CallbackQuery, desk: Desk) -> SuggestionInfo | None:
    """The item, if the pressed button still offers a move; otherwise the card is
    brought up to date and the liaison told, and None."""
    info = await desk.info()
    if info.version != desk.cb.v or desk.cb.act not in liaison_acts(info.status):
        desk.refresh(info.id)
        await query.answer(
            _(
                "This card was out of date: the item has moved on. It now shows where "
                "the item stands; nothing was done."
            ),
            show_alert=True,
        )
        return None
    return info


async def accept(query: CallbackQuery, desk: Desk) -> None:
    info = await movable(query, desk)
    if info is None:
        return
    await desk.suggestions.accept(desk.actor, info.id, version=info.version)
    desk.refresh(info.id)
    await query.answer(
        _("Accepted: the item is now being implemented. The observer and the office are told.")
    )


# ---- progress, hand back, implemented: writing ----------------------------------------


async def flow_begin(query: CallbackQuery, desk: Desk) -> None:
    info = await movable(query, desk)
    if info is None:
        return
    flow = Report(item=info.id, v=info.version, reference=info.reference, what=desk.cb.act)
    await desk.begin(flow, Reporting.text)
    await desk.ask(flow, _prompt(flow), _flow_buttons(flow))


# ---- sending --------------------------------------------------------------------------


async def still_possible(query: CallbackQuery, desk: Desk, flow: Report) -> bool:
    """Whether the move can go ahead on the item as it is now. What was written is
    kept when the item merely changed (a new due date, say); the flow ends when the
    move is no longer possible."""
    info = await desk.info()  # the flow's item: the pressed button is of the flow
    action = _FLOW_ACTION[flow.what]
    if action not in allowed_actions(info.status, {Role.LIAISON}):
        await end(desk.state, Report, Outcome(MOVED_ON), pressed=pressed_id(query), edited=False)
        desk.refresh(flow.item)
        await query.answer(explain(IllegalTransition("moved on")), show_alert=True)
        return False
    if action is not Action.PROGRESS and info.version != flow.v:
        flow.v = info.version
        flow.confirm = False
        await save_flow(desk.state, flow)
        desk.refresh(flow.item)
        await query.answer(
            _(
                "The item changed while you were writing; its card shows how. What you "
                "wrote is kept: press the button again to go ahead."
            ),
            show_alert=True,
        )
        return False
    return True


async def hand_in(flow: Report, suggestions: SuggestionService, actor: Actor) -> str:
    """Send the progress report, or hand the item back; what the liaison is told."""
    text = flow.text.strip()
    reference = esc(flow.reference)
    if flow.what == PROGRESS:
        await suggestions.report_progress(actor, flow.item, text, attachments_in(flow.attachments))
        return _(
            "✅ Your progress report on <b>{reference}</b> has been sent to the observer "
            "and the office."
        ).format(reference=reference)
    await suggestions.hand_back(actor, flow.item, text, version=flow.v)
    return _("↩️ <b>{reference}</b> has been handed back to the office with your reason.").format(
        reference=reference
    )


async def sent(query: CallbackQuery, desk: Desk, flow: Report, done: str) -> None:
    """The flow has done its move: it ends, the liaison is told ``done``, and the card
    shows the item's new state."""
    await end(desk.state, Report, Outcome(_DONE[flow.what]), pressed=pressed_id(query))
    await put(query, desk.bot, done, None)
    desk.refresh(flow.item)
    await query.answer()


async def send(query: CallbackQuery, desk: Desk) -> None:
    flow = await desk.report()
    if flow is None:
        return
    if flow.what != DONE and not flow.text.strip():
        await query.answer(
            _("Please write a few words first: the text is required."), show_alert=True
        )
        return
    if not await still_possible(query, desk, flow):
        return
    if flow.what == DONE:
        flow.confirm = True
        await in_place(desk.state, flow, pressed_id(query))
        await save_flow(desk.state, flow)
        await desk.show(*_confirmation(flow))
        return
    await sent(query, desk, flow, await hand_in(flow, desk.suggestions, desk.actor))


async def back(query: CallbackQuery, desk: Desk) -> None:
    flow = await desk.report()
    if flow is None:
        return
    flow.confirm = False
    await in_place(desk.state, flow, pressed_id(query))
    await save_flow(desk.state, flow)
    await desk.show(_prompt(flow) + "\n\n" + _collected(flow), _flow_buttons(flow))


async def confirm(query: CallbackQuery, desk: Desk) -> None:
    flow = await desk.report()
    if flow is None:
        return
    if flow.what != DONE or not flow.confirm:
        await stale(query)
        return
    if not await still_possible(query, desk, flow):
        return
    summary = flow.text.strip() or None
    attachments = attachments_in(flow.attachments)
    await desk.suggestions.mark_implemented(
        desk.actor, flow.item, summary, attachments, version=flow.v
    )
    done = _(
        "🎯 <b>{reference}</b> has been marked implemented. The observer is asked to rate "
        "the outcome."
    ).format(reference=esc(flow.reference))
    await sent(query, desk, flow, done)


async def quit_flow(query: CallbackQuery, desk: Desk) -> None:
    flow = await desk.report()
    if flow is None:
        return
    await end(desk.state, Report, Outcome(CANCELLED), pressed=pressed_id(query))
    await desk.show(_(CANCELLED), None)


# ---- the router -----------------------------------------------------------------------


def setup(i18n: I18n, settings: Settings) -> Router:
    router = private_router("department")
    router.callback_query.middleware(Desks(Desk.pressed(DeptCb)))
    router.callback_query.middleware(_stop_where_it_left)
    _register_cards(router, i18n)
    _register_writing(router, i18n)
    return router


def _register_cards(router: Router, i18n: I18n) -> None:
    router.message.register(list_items, label(i18n, MINE), _is_liaison)
    router.message.register(list_items, Command("mine"), _is_liaison)
    router.callback_query.register(open_card, DeptCb.filter(F.act == OPEN))
    router.callback_query.register(item_files, DeptCb.filter(F.act == FILES))
    router.callback_query.register(accept, DeptCb.filter(F.act == ACCEPT))


def _register_writing(router: Router, i18n: I18n) -> None:
    router.callback_query.register(flow_begin, DeptCb.filter(F.act.in_(set(_FLOW_ACTION))))
    _WRITING.register(router, i18n)
    router.callback_query.register(send, DeptCb.filter(F.act == SEND))
    router.callback_query.register(back, DeptCb.filter(F.act == GO_BACK))
    router.callback_query.register(confirm, DeptCb.filter(F.act == YES))
    router.callback_query.register(quit_flow, DeptCb.filter(F.act == QUIT))
    # Anything else under our prefix: forged, garbled or from an older version.
    router.callback_query.register(stale, F.data.startswith("dp:"))
