"""The office's item commands: /queue /overdue /show /find /assign /due /note.

Lists are one message each, within Telegram's 4096 characters, with a button per item
(up to ten) that posts the item's card at the bottom of the group. /find looks in
titles, texts and references and for an observer, a point or a department by name (a
point or department also by its code); each result says what matched. A search keeps its
words in the group's own FSM record (not in the callback data, which holds 64 bytes),
keyed by the list's message, so any admin may page through it and another
conversation's state cannot wipe it. The three moves refresh the card at once and
confirm in one line.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any, TypeVar

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import StorageKey
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.domain.dates import AMBIGUOUS, UNREADABLE, BadDate, parse_due
from bot.domain.errors import AlreadyMoved, DomainError, InvalidInput, NotFound
from bot.domain.lifecycle import Action, find
from bot.domain.references import parse_reference
from bot.domain.statuses import SuggestionStatus
from bot.effects import when_sent
from bot.services.actors import Actor
from bot.services.places import DepartmentInfo, PlaceService
from bot.services.suggestions import SuggestionService, Waiting
from bot.services.views import Found, FoundPage, Match, SuggestionInfo
from bot.settings import Settings
from handlers import labels
from handlers.card_sync import sync_item
from handlers.deciding import SAMPLE_AHEAD
from handlers.due_dates import date_problem, due_notes, examples, weekday
from handlers.errors import explain
from handlers.keyboards import button
from handlers.office import office_router, usage
from handlers.ui import MESSAGE_MAX, N_, clip, day, esc, shown_length

S = SuggestionStatus

TITLE_MAX = 60  # of a title in a list line
SNIPPET_AROUND = 24  # characters either side of where a search's words stand in a text
FETCH = 60  # list lines fetched: more than fit in one message
BUTTONS_MAX = 10  # "open the card" buttons under a list
SEARCHES_KEPT = 50  # searches whose pages can still be turned
_ROOM = MESSAGE_MAX - 200  # what a list may use, leaving room for its last line
_FIND_DESTINY = "queue.find"
_UNDECIDED = (S.SUBMITTED, S.IN_REVIEW)
_IN_DEPARTMENT = (S.ADOPTED, S.IMPLEMENTING)
T = TypeVar("T")


class OpenCb(CallbackData, prefix="q"):
    """Post an item's card at the bottom of the group."""

    item: int


class FindCb(CallbackData, prefix="qf"):
    """Turn a search list (the pressed message) to ``page``."""

    page: int


# ---- rendering ------------------------------------------------------------------------


def _head_of(info: SuggestionInfo, points: dict[int, str]) -> str:
    emoji = labels.STATUS_EMOJI[info.status]
    line = f"{emoji} <code>{esc(info.reference)}</code> {esc(clip(info.title, TITLE_MAX))}"
    if info.point_id is not None and info.point_id in points:
        line += f" · 📍 {esc(points[info.point_id])}"
    return line


def queue_line(info: SuggestionInfo, points: dict[int, str], today: date) -> str:
    line = _head_of(info, points)
    if info.status in _UNDECIDED:
        line += " · ⏰ " + day(info.decision_due)
        if info.decision_due < today:
            line += " ⚠️"
    elif info.status is S.ESCALATED:
        line += " · " + esc(_("with the city"))
    return line


def overdue_line(
    info: SuggestionInfo, points: dict[int, str], departments: dict[int, str], today: date
) -> str:
    line = _head_of(info, points)
    if info.status in _IN_DEPARTMENT and info.implementation_due is not None:
        due = info.implementation_due
        missed = _("Implementation was due {date}, {late}").format(
            date=day(due), late=labels.late((today - due).days)
        )
        if info.department_id is not None and info.department_id in departments:
            missed += f" · 🏢 {esc(clip(departments[info.department_id], 60))}"
    elif info.status is S.ESCALATED and info.city_answer_due is not None:
        due = info.city_answer_due
        missed = _("The city's answer was due {date}, {late}").format(
            date=day(due), late=labels.late((today - due).days)
        )
    else:
        due = info.decision_due
        missed = _("Decision was due {date}, {late}").format(
            date=day(due), late=labels.late((today - due).days)
        )
    return f"{line}\n      ⚠️ {missed}"


def find_line(found: Found, points: dict[int, str], needle: str) -> str:
    """The item's line, and under it what the words matched."""
    info = found.info
    head = f"{_head_of(info, points)} · {esc(labels.status(info.status))}"
    if not found.matched:
        return head
    what = " · ".join(_matched(found, m, needle) for m in found.matched)
    return f"{head}\n      🔹 " + _("matched: {what}").format(what=what)


def _matched(found: Found, match: Match, needle: str) -> str:
    if match is Match.OBSERVER:
        return _("observer {name}").format(name=esc(clip(found.observer_name or "?", 40)))
    if match is Match.POINT:
        point = f"{found.point_code or '?'} {clip(found.point_name or '', 40)}".strip()
        return _("point {point}").format(point=esc(point))
    if match is Match.DEPARTMENT:
        name = clip(found.department_name or "?", 60)
        return _("department {department}").format(department=esc(name))
    if match is Match.TEXT:
        return _("text") + f" “{esc(snippet(found.info.body, needle))}”"
    return _("title") if match is Match.TITLE else _("reference")


def snippet(text: str, needle: str, around: int = SNIPPET_AROUND) -> str:
    """The words around the first place ``needle`` stands in ``text``, on one line."""
    flat = " ".join(text.split())
    at = flat.lower().find(" ".join(needle.split()).lower())
    if at < 0:
        return clip(flat, 2 * around)
    start, end = max(0, at - around), at + len(needle) + around
    return ("…" if start else "") + flat[start:end].strip() + ("…" if end < len(flat) else "")


def compose(head: str, lines: Sequence[str], total: int, foot: str = "") -> tuple[str, int]:
    """The list's text within one message, and how many lines it shows."""
    parts = [head]
    used = shown_length(head) + shown_length(foot) + 2
    shown = 0
    for line in lines:
        size = shown_length(line) + 1
        if used + size > _ROOM:
            break
        parts.append(line)
        used += size
        shown += 1
    if shown < total:
        parts.append(_("… and {count} more").format(count=total - shown))
    text = "\n".join(parts)
    if foot:
        text += "\n\n" + foot
    return text, shown


def open_buttons(items: Sequence[SuggestionInfo]) -> list[list[InlineKeyboardButton]]:
    row_width = 2
    buttons = [button(i.reference, OpenCb(item=i.id).pack()) for i in items[:BUTTONS_MAX]]
    return [buttons[i : i + row_width] for i in range(0, len(buttons), row_width)]


def _open_hint() -> str:
    return _("<i>Press a reference to post its card here, or use /show REF.</i>")


def render_search(
    text: str, page: FoundPage, points: dict[int, str]
) -> tuple[str, InlineKeyboardMarkup]:
    head = _("🔎 <b>{text}</b>: {total} found · page {page}/{pages}").format(
        text=esc(clip(text, 60)), total=page.total, page=page.page, pages=page.pages
    )
    lines = [find_line(found, points, text) for found in page.items]
    body, shown = compose(head, lines, len(lines), _open_hint())
    rows = open_buttons([found.info for found in page.items[:shown]])
    nav = []
    if page.page > 1:
        nav.append(button("◀️", FindCb(page=page.page - 1).pack()))
    if page.page < page.pages:
        nav.append(button("▶️", FindCb(page=page.page + 1).pack()))
    if nav:
        rows.append(nav)
    return body, InlineKeyboardMarkup(inline_keyboard=rows)


async def point_codes(places: PlaceService) -> dict[int, str]:
    return {p.id: p.code for p in await places.points(active_only=False)}


async def department_names(places: PlaceService) -> dict[int, str]:
    return {d.id: labels.place(d.name) for d in await places.departments(active_only=False)}


# ---- arguments ------------------------------------------------------------------------


def _words(command: CommandObject, count: int, *, rest: bool = False) -> list[str] | None:
    """Exactly ``count`` words of arguments (with ``rest``, the last one is the rest of
    the line), or None."""
    args = command.args or ""
    words = args.split(maxsplit=count - 1) if rest else args.split()
    return words if len(words) == count and words[-1].strip() else None


async def _item(
    message: Message, suggestions: SuggestionService, actor: Actor, text: str, name: str
) -> SuggestionInfo | None:
    """The item a typed reference names; the admin is told when there is none."""
    try:
        reference = str(parse_reference(text))
    except InvalidInput:
        await message.reply(
            _("“{text}” is not a reference: references look like WZ-2026-0001.").format(
                text=esc(clip(text, 40))
            )
            + "\n"
            + usage(name)
        )
        return None
    try:
        return await suggestions.find_reference(actor, reference)
    except NotFound:
        await message.reply(_("There is no item {reference}.").format(reference=esc(reference)))
        return None


def _status(info: SuggestionInfo) -> str:
    return esc(labels.status_with_emoji(info.status))


@dataclass(frozen=True)
class _Move:
    """A move typed as a command (/NAME REF WORD): the lifecycle action it makes and what
    the admin is told when the item's state does not allow it ({reference}, {status});
    with ``rest``, the word is the rest of the line."""

    name: str
    action: Action
    refusal: str
    rest: bool = False


_ASSIGN = _Move(
    "assign",
    Action.ASSIGN,
    N_(
        "A department can be assigned only to an adopted item that is not yet "
        "being implemented; {reference} is: {status}."
    ),
)
_SET_DUE = _Move(
    "due",
    Action.SET_DUE,
    N_(
        "A due date can be set only on an adopted item or one being "
        "implemented; {reference} is: {status}."
    ),
    rest=True,  # a date may be words: 25 Dec 2026
)
_NOTE = _Move(
    "note", Action.NOTE, N_("{reference} takes no notes in its state: {status}."), rest=True
)


async def _target(
    message: Message,
    command: CommandObject,
    suggestions: SuggestionService,
    actor: Actor,
    move: _Move,
    parse: Callable[[str], Awaitable[T | None]],
) -> tuple[SuggestionInfo, T] | None:
    """The item the command names and its ``parse``d second word, when the item's state
    allows the move; otherwise the admin is told what is wrong, in this order: the
    usage, the reference, the word, the state."""
    words = _words(command, 2, rest=move.rest)
    if words is None:
        await message.reply(usage(move.name))
        return None
    info = await _item(message, suggestions, actor, words[0], move.name)
    if info is None:
        return None
    value = await parse(words[1])
    if value is None:
        return None
    if find(info.status, move.action) is None:
        await message.reply(
            _(move.refusal).format(reference=esc(info.reference), status=_status(info))
        )
        return None
    return info, value


async def _stripped(text: str) -> str | None:
    return text.strip()


async def _department(message: Message, places: PlaceService, code: str) -> DepartmentInfo | None:
    """The active department a typed code names; the admin is told when there is none."""
    try:
        department: DepartmentInfo | None = await places.department_by_code(code)
    except NotFound:
        department = None
    if department is None or not department.active:
        await message.reply(
            _("There is no department “{code}”. /departments lists them.").format(
                code=esc(clip(code, 40))
            )
        )
        return None
    return department


async def _due_date(message: Message, text: str, today: date) -> date | None:
    """The due date typed, in any form the office's date prompts take, today or later
    and not too far ahead; the admin is told why it is not taken otherwise."""
    try:
        return parse_due(text, today)
    except BadDate as exc:
        problem = date_problem(exc, text)
        if exc.reason in (UNREADABLE, AMBIGUOUS):
            sample = examples(today + SAMPLE_AHEAD)
            problem += "\n" + _("Write the date e.g. as {examples}.").format(examples=sample)
            problem += "\n" + usage("due")
        await message.reply(problem)
        return None


# ---- making a move -------------------------------------------------------------------


def _refresh(
    chat_id: int, item_id: int, suggestions: SuggestionService, *, repost: bool = False
) -> None:
    # The service holds the bot's one Policy, so the handlers need not ask for it too.
    sync_item(chat_id, item_id, policy=suggestions.policy, clock=suggestions.clock, repost=repost)


async def _move(
    message: Message,
    info: SuggestionInfo,
    move: Awaitable[object],
    suggestions: SuggestionService,
    done: str,
) -> None:
    """Make the move, refresh the item's card and confirm with ``done``; a move the
    domain refuses is explained instead."""
    try:
        await move
    except AlreadyMoved:
        raise  # the session needs its rollback: the error handler answers
    except DomainError as exc:
        await message.reply(explain(exc))
        return
    _refresh(message.chat.id, info.id, suggestions)
    await message.reply(done)


# ---- the search's words, kept by the group --------------------------------------------


def _searches(state: FSMContext, chat_id: int) -> FSMContext:
    key = StorageKey(
        bot_id=state.key.bot_id, chat_id=chat_id, user_id=chat_id, destiny=_FIND_DESTINY
    )
    return FSMContext(storage=state.storage, key=key)


async def remember_search(state: FSMContext, chat_id: int, message_id: int, text: str) -> None:
    kept = _searches(state, chat_id)
    data: dict[str, Any] = dict(await kept.get_data())
    data[str(message_id)] = text
    # The newest searches stay; dicts keep insertion order.
    for old in list(data)[: max(0, len(data) - SEARCHES_KEPT)]:
        del data[old]
    await kept.set_data(data)


async def recall_search(state: FSMContext, chat_id: int, message_id: int) -> str | None:
    found = (await _searches(state, chat_id).get_data()).get(str(message_id))
    return found if isinstance(found, str) else None


# ---- the lists ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Listing:
    """What a list command says when there is nothing, and its head (with {count})."""

    empty: str
    head: str


_QUEUE = _Listing(
    N_("Nothing is waiting for a decision."),
    N_("<b>Awaiting a decision: {count}</b> (oldest first)"),
)
_OVERDUE = _Listing(
    N_("Nothing is overdue."), N_("<b>Overdue: {count}</b> (the most overdue first)")
)


async def _reply_list(
    message: Message,
    listing: _Listing,
    total: int,
    fetch: Callable[[], Awaitable[Sequence[SuggestionInfo]]],
    line: Callable[[SuggestionInfo], str],
) -> None:
    """A list of ``total`` items in one message; ``fetch`` only when there are any."""
    if total == 0:
        await message.reply(_(listing.empty))
        return
    items = await fetch()
    head = _(listing.head).format(count=total)
    text, shown = compose(head, [line(i) for i in items], total, _open_hint())
    markup = InlineKeyboardMarkup(inline_keyboard=open_buttons(items[:shown]))
    await message.reply(text, reply_markup=markup)


async def queue(
    message: Message, suggestions: SuggestionService, places: PlaceService, actor: Actor
) -> None:
    total = await suggestions.queue_size(actor)
    points, today = await point_codes(places), suggestions.today()
    fetch = partial(suggestions.queue, actor, limit=FETCH)
    await _reply_list(message, _QUEUE, total, fetch, lambda i: queue_line(i, points, today))


async def overdue(
    message: Message, suggestions: SuggestionService, places: PlaceService, actor: Actor
) -> None:
    """What is late, in sections: the office's and the departments' deadlines, then the
    observers' answers, then reopened items still without a due date."""
    total = await suggestions.overdue_size(actor)
    waiting = await suggestions.waiting_on_observer(actor)
    reopened = await suggestions.reopened_without_due(actor)
    if not (total or waiting or reopened):
        await message.reply(_(_OVERDUE.empty))
        return
    points, departments = await point_codes(places), await department_names(places)
    today = suggestions.today()
    late = await suggestions.overdue(actor, limit=FETCH) if total else []
    sections = [
        _Section(
            _(_OVERDUE.head).format(count=total),
            [(i, overdue_line(i, points, departments, today)) for i in late],
            total,
        ),
        _Section(
            _(_WAITING_HEAD).format(count=len(waiting)),
            [(w.info, waiting_line(w, points, today)) for w in waiting],
            len(waiting),
        ),
        _Section(
            _(_REOPENED_HEAD).format(count=len(reopened)),
            [(i, reopened_line(i, points, departments)) for i in reopened],
            len(reopened),
        ),
    ]
    text, shown = compose_sections([s for s in sections if s.total], _open_hint())
    await message.reply(
        text, reply_markup=InlineKeyboardMarkup(inline_keyboard=open_buttons(shown))
    )


_WAITING_HEAD = N_("<b>Waiting on the observer past the date to answer by: {count}</b>")
_REOPENED_HEAD = N_("<b>Reopened, waiting for a new due date: {count}</b>")


@dataclass(frozen=True)
class _Section:
    """One part of a list: its head, its items with their lines, how many in all."""

    head: str
    lines: list[tuple[SuggestionInfo, str]]
    total: int


def compose_sections(sections: Sequence[_Section], foot: str) -> tuple[str, list[SuggestionInfo]]:
    """The sections within one message, each with as many lines as fit, and the items
    shown (for their buttons)."""
    parts: list[str] = []
    shown: list[SuggestionInfo] = []
    used = shown_length(foot) + 2
    for section in sections:
        parts.append(("\n" if parts else "") + section.head)
        used += shown_length(section.head) + 2
        count = 0
        for info, line in section.lines:
            size = shown_length(line) + 1
            if used + size > _ROOM:
                break
            parts.append(line)
            used += size
            shown.append(info)
            count += 1
        if count < section.total:
            more = _("… and {count} more").format(count=section.total - count)
            parts.append(more)
            used += shown_length(more) + 1
    return "\n".join(parts) + "\n\n" + foot, shown


def waiting_line(waiting: Waiting, points: dict[int, str], today: date) -> str:
    due = waiting.answer_due
    missed = _("The observer's answer was due {date}, {late}").format(
        date=day(due), late=labels.late((today - due).days)
    )
    return f"{_head_of(waiting.info, points)}\n      ⏳ {missed}"


def reopened_line(info: SuggestionInfo, points: dict[int, str], departments: dict[int, str]) -> str:
    what = _("Reopened; no due date set")
    if info.department_id is not None and info.department_id in departments:
        what += f" · 🏢 {esc(clip(departments[info.department_id], 60))}"
    return f"{_head_of(info, points)}\n      🔄 {what}"


# ---- one item's card ------------------------------------------------------------------


async def open_card(
    query: CallbackQuery,
    callback_data: OpenCb,
    suggestions: SuggestionService,
    actor: Actor,
    settings: Settings,
) -> None:
    try:
        await suggestions.get(actor, callback_data.item)
    except NotFound:
        await query.answer(_("That item no longer exists."), show_alert=True)
        return
    if query.message is None:  # too old for Telegram to say where it was
        await query.answer()
        return
    chat_id = query.message.chat.id
    _refresh(chat_id, callback_data.item, suggestions, repost=True)
    await query.answer()


async def show(
    message: Message, command: CommandObject, suggestions: SuggestionService, actor: Actor
) -> None:
    words = _words(command, 1)
    if words is None:
        await message.reply(usage("show"))
        return
    info = await _item(message, suggestions, actor, words[0], "show")
    if info is not None:
        _refresh(message.chat.id, info.id, suggestions, repost=True)


# ---- searching ------------------------------------------------------------------------


async def find_items(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    suggestions: SuggestionService,
    places: PlaceService,
    actor: Actor,
) -> None:
    text = " ".join((command.args or "").split())
    if not text:
        await message.reply(usage("find"))
        return
    try:
        page = await suggestions.search(actor, text, 1)
    except InvalidInput as exc:
        await message.reply(explain(exc))
        return
    if page.total == 0:
        await message.reply(_("Nothing matches “{text}”.").format(text=esc(clip(text, 60))))
        return
    shown, markup = render_search(text, page, await point_codes(places))
    sent = await message.reply(shown, reply_markup=markup)
    if page.pages > 1:
        chat_id = message.chat.id

        async def keep(answer: Message) -> None:
            await remember_search(state, chat_id, answer.message_id, text)

        await when_sent(sent, keep)


async def find_page(
    query: CallbackQuery,
    callback_data: FindCb,
    state: FSMContext,
    suggestions: SuggestionService,
    places: PlaceService,
    actor: Actor,
) -> None:
    message = query.message
    if not isinstance(message, Message):
        await query.answer(_("This search has expired: search again with /find."))
        return
    text = await recall_search(state, message.chat.id, message.message_id)
    if text is None:
        await query.answer(_("This search has expired: search again with /find."), show_alert=True)
        return
    page = await suggestions.search(actor, text, callback_data.page)
    shown, markup = render_search(text, page, await point_codes(places))
    # After commit; "not modified" (a double tap) is no failure.
    await message.edit_text(shown, reply_markup=markup)
    await query.answer()


# ---- the moves ------------------------------------------------------------------------


async def assign(
    message: Message,
    command: CommandObject,
    suggestions: SuggestionService,
    places: PlaceService,
    actor: Actor,
) -> None:
    found = await _target(
        message, command, suggestions, actor, _ASSIGN, partial(_department, message, places)
    )
    if found is None:
        return
    info, department = found
    names = {"reference": esc(info.reference), "department": esc(labels.place(department.name))}
    if info.department_id == department.id:
        await message.reply(_("{reference} is already assigned to {department}.").format(**names))
        return
    former = labels.place((await department_names(places)).get(info.department_id or 0))
    if not former:  # handed back: no department has it now
        done = _(
            "🏢 {reference} is assigned to {department}; its liaisons and the observer are told."
        )
    else:
        done = _(
            "🏢 {reference} is reassigned from {former} to {department}; the liaisons of "
            "both and the observer are told."
        )
    done = done.format(**names, former=esc(former))
    await _move(message, info, suggestions.assign(actor, info.id, department.id), suggestions, done)


async def set_due(
    message: Message, command: CommandObject, suggestions: SuggestionService, actor: Actor
) -> None:
    when = partial(_due_date, message, today=suggestions.today())
    found = await _target(message, command, suggestions, actor, _SET_DUE, when)
    if found is None:
        return
    info, due = found
    names = {"reference": esc(info.reference), "date": day(due)}
    if info.implementation_due == due:
        await message.reply(_("{reference} is already due on {date}.").format(**names))
        return
    # The date as read (a year-less one gets its year), and what is odd about it: the
    # same warnings as a date picked on the card.
    done = _("📅 {reference} is now due on {date}, a {weekday}.").format(
        **names, weekday=weekday(due)
    )
    notes = due_notes(await suggestions.calendar(), suggestions.today(), due)
    move = suggestions.set_due(actor, info.id, due)
    await _move(message, info, move, suggestions, "\n".join([done, *notes]))


async def note(
    message: Message, command: CommandObject, suggestions: SuggestionService, actor: Actor
) -> None:
    found = await _target(message, command, suggestions, actor, _NOTE, _stripped)
    if found is None:
        return
    info, text = found
    done = _("📝 Note added to {reference} (for the office only).").format(
        reference=esc(info.reference)
    )
    await _move(message, info, suggestions.note(actor, info.id, text), suggestions, done)


# ---- the router -----------------------------------------------------------------------


def setup(i18n: I18n, settings: Settings) -> Router:
    router = office_router("queue")
    router.message.register(queue, Command("queue"))
    router.message.register(overdue, Command("overdue"))
    router.callback_query.register(open_card, OpenCb.filter())
    router.message.register(show, Command("show"))
    router.message.register(find_items, Command("find"))
    router.callback_query.register(find_page, FindCb.filter())
    router.message.register(assign, Command("assign"))
    router.message.register(set_due, Command("due"))
    router.message.register(note, Command("note"))
    return router
