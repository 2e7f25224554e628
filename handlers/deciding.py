"""Moves from the item card's buttons in the admin group, with the prompts that
ask for a reason, a question, a department or a date.

Take, Mark implemented and Close act at once. The other buttons start a short
conversation with the admin who pressed them (the FSM state is per admin in the
group): a force-reply prompt that mentions them, answered by *replying* to it, or a
picker of inline buttons (department, due date, the city's answer), each with Cancel;
``/cancel`` aborts too. The move takes effect only when the last answer arrives, with
the version of the item the card showed when the button was pressed: if somebody
moved the item meanwhile, nothing changes and the admin is told where it stands.
Prompts and pickers are deleted when the move is done or cancelled; the card is
refreshed at once after every move. ``handlers/deciding.md`` draws the flows.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, ClassVar

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
)
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.domain.calendar import due_after
from bot.domain.dates import BadDate, parse_due
from bot.domain.errors import AlreadyMoved, InvalidInput, MissingInput, NotFound
from bot.domain.limits import TEXT_MAX
from bot.domain.statuses import SuggestionStatus
from bot.effects import when_sent
from bot.middlewares.people import CurrentUser
from bot.services.actors import Actor
from bot.services.cards import ITEM, CardService
from bot.services.context import Policy
from bot.services.places import PlaceService
from bot.services.suggestions import AlreadyChased, SuggestionService
from bot.services.views import SuggestionInfo
from bot.settings import Settings
from handlers import labels
from handlers.card_sync import sync_item
from handlers.cards import (
    ACTS,
    ADOPT,
    ANYWAY,
    ASK,
    ASSIGN,
    CHASE,
    CITY,
    CLOSE,
    DECLINE,
    DONE,
    DUE,
    DUPLICATE,
    ESCALATE,
    REFERENCE,
    RETURN,
    TAKE,
    UNANSWERED,
    CardCb,
    card_acts,
)
from handlers.conversation import finish, load_flow, save_flow
from handlers.due_dates import calendar_missing, date_problem, due_notes, examples, weekday
from handlers.errors import explain
from handlers.keyboards import CANCEL, button
from handlers.office import office_router
from handlers.prompts import Prompting
from handlers.replies import Asker, modify_flow, note_asker, remember_flow
from handlers.ui import BUTTON_TEXT_MAX, N_, clip, day, esc

log = logging.getLogger(__name__)

S = SuggestionStatus
KEY = "deciding"  # this flow's part of the admin's FSM data
TITLE_SHOWN = 60  # of the item's title in a prompt
DUE_CHOICES = (5, 10, 20)  # working days from today, offered as quick due dates
SAMPLE_AHEAD = timedelta(days=30)  # the date a prompt's examples show, from today


class Deciding(StatesGroup):
    """One admin's move in progress, waiting for the words or choice it needs."""

    text = State()  # a force-reply prompt waits for a reason, question, note or reference
    outcome = State()  # the picker of the city's answer is shown
    department = State()  # the department picker is shown
    due = State()  # the due-date picker is shown
    date = State()  # a force-reply prompt waits for a typed date
    # Adopting: a force-reply prompt waits for the office's instruction to the department,
    # with a Skip button on a message beside it.
    instruction = State()


class PickCb(CallbackData, prefix="dk"):
    """A picker's button: ``step`` o (the city's answer), d (department), t (due date),
    y (type a date), s (adopt without an instruction), x (cancel); ``val`` the choice."""

    step: str
    item: int
    val: str = ""


OUTCOME, DEPARTMENT, DUE_DATE, TYPE_DATE, CANCEL_STEP = "o", "d", "t", "y", "x"
SKIP = "s"
INSTRUCT = "instr"  # what the prompt after an adoption's due date asks for
IMMEDIATE = (TAKE, DONE, CLOSE, CHASE, ANYWAY)
WORDS = (ASK, REFERENCE, DECLINE, ESCALATE, DUPLICATE, UNANSWERED, RETURN)

# What a force-reply prompt asks for, by move ("city" is the city's answer).
_ASKS: dict[str, str] = {
    ASK: N_("reply to this message with your question to the observer about {item}."),
    REFERENCE: N_(
        "reply to this message with the reason for keeping {item} for reference "
        "(the observer will read it)."
    ),
    DECLINE: N_(
        "reply to this message with the reason for not adopting {item} (the observer will read it)."
    ),
    ESCALATE: N_("reply to this message with a note on reporting {item} to the city."),
    DUPLICATE: N_(
        "reply to this message with the reference of the item that {item} duplicates, "
        "e.g. WZ-2026-0001."
    ),
    CITY: N_("reply to this message with the city's answer about {item}."),
    RETURN: N_(
        "reply to this message with the city's question to the district about {item}; the "
        "item goes back to the district's review."
    ),
    UNANSWERED: N_(
        "reply to this message with the reason for closing {item} without the observer's "
        "answer (the observer will read it)."
    ),
    INSTRUCT: N_(
        "reply to this message with the office's instruction to the department on {item}: "
        "what it is to do, whom to contact. The department's card shows it; the observer "
        "is not shown it."
    ),
}
_PLACEHOLDERS: dict[str, str] = {
    ASK: N_("Your question"),
    REFERENCE: N_("The reason"),
    DECLINE: N_("The reason"),
    ESCALATE: N_("A note for the city"),
    DUPLICATE: N_("The original item's reference"),
    CITY: N_("The city's answer"),
    RETURN: N_("The question to the district"),
    UNANSWERED: N_("The reason"),
    INSTRUCT: N_("The instruction to the department"),
}
# The toast (or short confirmation) after a move succeeds.
_DONE: dict[str, str] = {
    TAKE: N_("Taken for review."),
    ASK: N_("Question recorded; the observer will be asked."),
    ADOPT: N_("Adopted."),
    REFERENCE: N_("Kept for reference."),
    DECLINE: N_("Not adopted."),
    ESCALATE: N_("Reported to the city."),
    CITY: N_("The city's answer is recorded."),
    RETURN: N_("Handed back to the district with the question."),
    DUPLICATE: N_("Marked as a duplicate."),
    ASSIGN: N_("Department assigned."),
    DUE: N_("Due date set."),
    DONE: N_("Marked implemented."),
    CLOSE: N_("Closed."),
    CHASE: N_("The observer has been reminded of the question."),
    ANYWAY: N_("Back to the decision: the observer's answer is no longer awaited."),
    UNANSWERED: N_("Closed for want of an answer; the observer will be told."),
}
_OUTCOMES: dict[str, str] = {
    S.ADOPTED.value: N_("✅ Adopted"),
    S.REFERENCE.value: N_("📁 Kept for reference"),
    S.DECLINED.value: N_("⛔ Not adopted"),
}


class Plan(Prompting):
    """The admin's move in progress: the button's code (``act``), the item, the version
    the card showed (``v``), the card pressed, the open prompt or picker, and what has
    been collected so far."""

    key: ClassVar[str] = KEY
    act: str = ""
    item: int = 0
    v: int = 0
    ref: str = ""
    title: str = ""
    card: int | None = None
    # ``prompt`` and the ``earlier`` prompts of the step (Prompting): a reply to any of
    # them is still an answer.
    asks: str = ""  # what the open prompt asks for: "date", or a move code of _ASKS
    current_dept: int | None = None
    dept: int | None = None
    dept_name: str | None = None
    outcome: str | None = None
    text: str | None = None
    # Adopting: the due date chosen (ISO), the instruction, and the message beside the
    # instruction's prompt that holds its Skip button.
    due: str | None = None
    instruction: str | None = None
    beside: int | None = None


@dataclass
class Desk:
    """What every step needs: who acts, where, and the services."""

    bot: Bot
    chat_id: int
    actor: Actor
    user: CurrentUser
    suggestions: SuggestionService
    cards: CardService
    places: PlaceService
    policy: Policy
    state: FSMContext

    async def refresh(self, item_id: int) -> None:
        # Marked for a re-sync by the move's service, shown after it commits.
        sync_item(self.chat_id, item_id, policy=self.policy, clock=self.suggestions.clock)

    async def delete(self, message_id: int | None) -> None:
        if not message_id:
            return
        # After commit; a prompt deleted by hand already, or too old, stays (logged).
        await self.bot.delete_message(self.chat_id, message_id)

    async def drop(self) -> Plan:
        """End this admin's pending move, if any, deleting its prompt; returns its plan."""
        plan = await load_flow(self.state, Plan)
        for prompt in [*plan.earlier, plan.prompt, plan.beside]:
            await self.delete(prompt)
        await finish(self.state, Plan)
        return plan

    async def wait(self, plan: Plan, step: State) -> None:
        """Keep the plan and wait in ``step`` for what the move needs next."""
        await save_flow(self.state, plan)
        await self.state.set_state(step)

    def who(self) -> str:
        name = esc(clip(self.user.full_name or self.user.first_name or "?", 64))
        return f'<a href="tg://user?id={self.user.id}">{name}</a>'


def desk_of(chat_id: int, data: dict[str, Any]) -> Desk:
    return Desk(
        bot=data["bot"],
        chat_id=chat_id,
        actor=data["actor"],
        user=data["user"],
        suggestions=data["suggestions"],
        cards=data["cards"],
        places=data["places"],
        policy=data["policy"],
        state=data["state"],
    )


def _item(plan: Plan) -> str:
    return _("<b>{reference}</b> “{title}”").format(
        reference=esc(plan.ref), title=esc(clip(plan.title, TITLE_SHOWN))
    )


def done_text(plan: Plan) -> str:
    done = _DONE[plan.act]
    return _(done)


def _status(status: SuggestionStatus) -> str:
    return labels.status(status)


def moved_text(info: SuggestionInfo) -> str:
    return _(
        "{reference} has already moved: it is now “{status}”. Nothing was changed; "
        "the card shows where it stands."
    ).format(reference=info.reference, status=_status(info.status))


def _cancel_button(item: int) -> InlineKeyboardButton:
    return button(_(CANCEL), PickCb(step=CANCEL_STEP, item=item).pack())


def _markup(rows: list[list[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=rows)


# ---- the pickers ----------------------------------------------------------------------


async def department_picker(desk: Desk, plan: Plan) -> tuple[str, InlineKeyboardMarkup] | None:
    departments = await desk.places.departments()
    if not departments:
        return None
    rows = []
    for d in departments:
        mark = "• " if d.id == plan.current_dept else ""
        label = clip(f"{mark}{d.code} · {labels.place(d.name)}", BUTTON_TEXT_MAX)
        rows.append([button(label, PickCb(step=DEPARTMENT, item=plan.item, val=str(d.id)).pack())])
    rows.append([_cancel_button(plan.item)])
    text = _("{who}, choose the department that will implement {item}:").format(
        who=desk.who(), item=_item(plan)
    )
    return text, _markup(rows)


async def due_picker(desk: Desk, plan: Plan) -> tuple[str, InlineKeyboardMarkup]:
    calendar = await desk.suggestions.calendar()
    now = desk.suggestions.now()
    item = plan.item
    choices = []
    for days in DUE_CHOICES:
        due = due_after(calendar, now, days, desk.policy.tz)
        label = _("{days} working days · {date}").format(days=days, date=day(due))
        choices.append(button(label, PickCb(step=DUE_DATE, item=item, val=day(due)).pack()))
    rows = [[c] for c in choices]
    rows.append([button(_("📅 Type a date"), PickCb(step=TYPE_DATE, item=item).pack())])
    rows.append([_cancel_button(item)])
    lines = [_("{who}, choose the implementation due date for {item}:")]
    if plan.dept_name:
        lines.append(_("Department: {department}"))
    text = "\n".join(lines).format(
        who=desk.who(), item=_item(plan), department=esc(clip(plan.dept_name or "", 100))
    )
    # The choices are counted by the calendar: say so when a year of theirs has none.
    missing = calendar.missing_years(desk.suggestions.today(), due)
    if missing:
        text += "\n\n" + calendar_missing(missing)
    return text, _markup(rows)


def outcome_picker(desk: Desk, plan: Plan) -> tuple[str, InlineKeyboardMarkup]:
    item = plan.item
    rows = [
        [button(_(label), PickCb(step=OUTCOME, item=item, val=value).pack())]
        for value, label in _OUTCOMES.items()
    ]
    rows.append([_cancel_button(item)])
    text = _("{who}, what did the city answer about {item}?").format(
        who=desk.who(), item=_item(plan)
    )
    return text, _markup(rows)


async def show_picker(
    desk: Desk, plan: Plan, shown: tuple[str, InlineKeyboardMarkup], reply_to: int | None
) -> None:
    text, markup = shown
    sent = await desk.bot.send_message(
        desk.chat_id,
        text,
        reply_markup=markup,
        reply_parameters=_reply(reply_to),
    )
    await _remember(desk, plan, sent)


async def show_prompt(
    desk: Desk, plan: Plan, what: str, reply_to: int | None, *, problem: str | None = None
) -> None:
    """A force-reply prompt; ``what`` is a move code of ``_ASKS``, or "date"; ``problem``
    says first why the last answer was not taken."""
    if what == "date":
        sample = examples(desk.suggestions.today() + SAMPLE_AHEAD)
        ask = _("{who}, reply to this message with the due date for {item}, e.g. {examples}.")
        ask = ask.replace("{examples}", sample)
        placeholder = _("e.g. {examples}").format(examples=sample)
    else:
        # The address and the question joined as the language joins them.
        ask = _("{who}, {ask}").replace("{ask}", _(_ASKS[what]))
        placeholder = _(_PLACEHOLDERS[what])
    text = ask.format(who=desk.who(), item=_item(plan))
    text += "\n" + _("/cancel to stop; nothing changes until you reply.")
    plan.asks = what
    if problem:
        text = f"⚠️ {problem}\n\n{text}"
    sent = await desk.bot.send_message(
        desk.chat_id,
        text,
        reply_markup=ForceReply(selective=True, input_field_placeholder=placeholder[:64]),
        reply_parameters=_reply(reply_to),
    )
    await _remember(desk, plan, sent)
    name = clip(desk.user.full_name or desk.user.first_name or "?", 64)
    await note_asker(desk.state, sent, Asker(desk.user.id, name))


async def ask_again(message: Message, desk: Desk, plan: Plan, problem: str) -> None:
    """The answer cannot be taken: a new prompt under it says why and asks again, the
    step going on. A reply to an earlier prompt of the step is still taken, so whichever
    one the admin answers next, nothing is lost."""
    what = plan.asks
    if what != "date" and what not in _ASKS:
        await message.reply(problem)  # a prompt shown otherwise: it stays open as it is
        return
    for gone in plan.asked_again():
        await desk.delete(gone)
    await show_prompt(desk, plan, what, message.message_id, problem=problem)
    await save_flow(desk.state, plan)


async def _remember(desk: Desk, plan: Plan, sent: Any) -> None:
    """The prompt's message id, known once it is sent (after this update commits),
    goes into the plan, if the plan is still the one that asked."""
    plan.prompt = None
    await remember_flow(desk.state, plan, sent, _prompt)


def _prompt(plan: Plan, message_id: int) -> None:
    plan.prompt = message_id


def _reply(message_id: int | None) -> ReplyParameters | None:
    if not message_id:
        return None
    return ReplyParameters(message_id=message_id, allow_sending_without_reply=True)


# ---- the moves ------------------------------------------------------------------------


async def perform(
    desk: Desk,
    plan: Plan,
    *,
    text: str | None = None,
    due: date | None = None,
) -> SuggestionInfo:
    """Make the planned move with what was collected, under the card's version."""
    s, actor, item, v = desk.suggestions, desk.actor, plan.item, plan.v
    act = plan.act
    dept = plan.dept or None
    if act in (CHASE, ANYWAY, UNANSWERED):
        return await _waiting_move(desk, plan, text)
    if act == TAKE:
        return await s.take(actor, item, version=v)
    if act == DONE:
        return await s.mark_implemented(actor, item, version=v)
    if act == CLOSE:
        return await s.close(actor, item, version=v)
    if act == ASK:
        return await s.ask_info(actor, item, text or "", version=v)
    if act == REFERENCE:
        return await s.keep_for_reference(actor, item, text or "", version=v)
    if act == DECLINE:
        return await s.decline(actor, item, text or "", version=v)
    if act == ESCALATE:
        return await s.escalate(actor, item, text or "", version=v)
    if act == RETURN:
        return await s.city_return(actor, item, text or "", version=v)
    if act == DUPLICATE:
        return await s.mark_duplicate(actor, item, text or "", version=v)
    if act == ADOPT:
        return await s.adopt(
            actor, item, department_id=dept, due=due, instruction=plan.instruction, version=v
        )
    if act == ASSIGN:
        return await s.assign(actor, item, dept or 0, version=v)
    if act == DUE:
        assert due is not None
        return await s.set_due(actor, item, due, version=v)
    if act == CITY:
        return await s.record_city_answer(
            actor,
            item,
            S(plan.outcome or ""),
            plan.text or "",
            department_id=dept,
            due=due,
            instruction=plan.instruction,
            version=v,
        )
    raise InvalidInput(f"unknown move {act!r}")


async def _waiting_move(desk: Desk, plan: Plan, text: str | None) -> SuggestionInfo:
    """A move of an item waiting on the observer's answer."""
    s, actor, item, v = desk.suggestions, desk.actor, plan.item, plan.v
    if plan.act == CHASE:
        return await s.chase(actor, item, version=v)
    if plan.act == ANYWAY:
        return await s.decide_anyway(actor, item, version=v)
    return await s.close_unanswered(actor, item, text or "", version=v)


async def conclude(
    desk: Desk, plan: Plan, *, text: str | None = None, due: date | None = None
) -> str | None:
    """Make the move and clean up after it. Returns what to tell the admin when the item
    moved meanwhile (the move is dropped then), or None when the move was made.
    Input errors (InvalidInput, MissingInput, NotFound) propagate with the prompt open."""
    try:
        await perform(desk, plan, text=text, due=due)
    except AlreadyMoved as exc:
        if exc.__cause__ is not None:
            # Lost the race at the database: the transaction is spoilt, roll it back.
            raise
        await desk.drop()
        await desk.refresh(plan.item)
        return moved_text(await desk.suggestions.get(desk.actor, plan.item))
    await desk.drop()
    await desk.refresh(plan.item)
    return None


# ---- /cancel: registered first, it must never be taken for an answer -------------------


async def cancel_typed(message: Message, **data: Any) -> None:
    desk = desk_of(message.chat.id, data)
    plan = await desk.drop()
    if plan.item:
        await desk.refresh(plan.item)
        await message.reply(
            _("Cancelled: {reference} is unchanged.").format(reference=esc(plan.ref))
        )
    else:
        await message.reply(_("Cancelled; nothing was changed."))


async def nothing_to_cancel(message: Message) -> None:
    await message.reply(_("There is nothing to cancel."))


# ---- the card's buttons ---------------------------------------------------------------


async def on_card(query: CallbackQuery, callback_data: CardCb, **data: Any) -> None:
    assert query.message is not None
    desk = desk_of(query.message.chat.id, data)
    pressed = query.message.message_id
    info = await _pressed_item(query, desk, callback_data, pressed)
    if info is None:
        return
    plan = Plan(
        act=callback_data.act,
        item=info.id,
        v=info.version,
        ref=info.reference,
        title=info.title,
        card=pressed,
    )
    if plan.act in IMMEDIATE:
        await _move_at_once(query, desk, plan, pressed)
    else:
        await _start(query, desk, plan, info, pressed)


async def _pressed_item(
    query: CallbackQuery, desk: Desk, pressed_button: CardCb, pressed: int
) -> SuggestionInfo | None:
    """The item, when the button pressed still fits it; otherwise the admin is told."""
    try:
        info = await desk.suggestions.get(desk.actor, pressed_button.item)
    except NotFound as exc:
        await query.answer(explain(exc), show_alert=True)
        return None
    if await desk.cards.adopt(desk.chat_id, pressed, ITEM, info.id):
        # A card the bot did not know of: it converges with the others.
        sync_item(desk.chat_id, info.id, policy=desk.policy, clock=desk.suggestions.clock)
    act = pressed_button.act
    shown = card_acts(info, desk.policy.office_id)
    if act not in ACTS or pressed_button.v != info.version or act not in shown:
        await stale(query, desk, info, pressed)
        return None
    return info


async def _move_at_once(query: CallbackQuery, desk: Desk, plan: Plan, pressed: int) -> None:
    try:
        await perform(desk, plan)
    except AlreadyMoved as exc:
        if exc.__cause__ is not None:
            raise
        await stale(query, desk, await desk.suggestions.get(desk.actor, plan.item), pressed)
        return
    except AlreadyChased:
        # Refused before anything was written: the update goes on.
        await query.answer(
            _("The observer was already reminded today. Try again tomorrow."), show_alert=True
        )
        return
    await desk.refresh(plan.item)
    await query.answer(_(_DONE[plan.act]))


async def _start(
    query: CallbackQuery, desk: Desk, plan: Plan, info: SuggestionInfo, pressed: int
) -> None:
    """A move that needs more: any earlier pending move of this admin's is dropped."""
    await desk.drop()
    if plan.act in (ADOPT, ASSIGN):
        plan.current_dept = info.department_id
        shown = await department_picker(desk, plan)
        if shown is None:
            await query.answer(
                _("There is no department to choose. Add one with /dept_add first."),
                show_alert=True,
            )
            return
        await show_picker(desk, plan, shown, pressed)
        step = Deciding.department
    elif plan.act == DUE:
        await show_picker(desk, plan, await due_picker(desk, plan), pressed)
        step = Deciding.due
    elif plan.act == CITY:
        await show_picker(desk, plan, outcome_picker(desk, plan), pressed)
        step = Deciding.outcome
    else:
        await show_prompt(desk, plan, plan.act, pressed)
        step = Deciding.text
    await desk.wait(plan, step)
    if step == Deciding.text:
        await query.answer(_("Reply to the bot's message below."))
    else:
        await query.answer()


async def stale(query: CallbackQuery, desk: Desk, info: SuggestionInfo, pressed: int) -> None:
    """A button that does not match the item now: say where it stands, refresh."""
    await query.answer(moved_text(info), show_alert=True)
    # The pressed card shows buttons of a state gone, whatever its digest says.
    await desk.cards.doubted(desk.chat_id, pressed)
    # Every card of the item converges, the pressed one (older or not) with them.
    await desk.refresh(info.id)


# ---- the pickers' buttons -------------------------------------------------------------

# A picker's choice: False when the choice is not one the picker offers.
Pick = Callable[[CallbackQuery, Desk, Plan, str], Awaitable[bool]]


async def on_pick(query: CallbackQuery, callback_data: PickCb, **data: Any) -> None:
    assert query.message is not None
    desk = desk_of(query.message.chat.id, data)
    plan = await load_flow(desk.state, Plan)
    current = await desk.state.get_state()
    pressed = query.message.message_id
    if not plan.act or plan.item != callback_data.item or pressed not in (plan.prompt, plan.beside):
        await query.answer(
            _(
                "This choice belongs to another admin's move, or it has expired. "
                "Use the buttons on the item's card."
            ),
            show_alert=True,
        )
        return
    if callback_data.step == CANCEL_STEP:
        await desk.drop()
        await desk.refresh(plan.item)
        await query.answer(_("Cancelled; nothing was changed."))
        return
    waits, pick = _PICKS.get(callback_data.step, (None, None))
    if waits is None or pick is None or current != waits.state:
        taken = False
    else:
        taken = await pick(query, desk, plan, callback_data.val)
    if not taken:
        await query.answer(
            _("This choice has expired. Use the buttons on the item's card."), show_alert=True
        )


async def _picked_outcome(query: CallbackQuery, desk: Desk, plan: Plan, val: str) -> bool:
    if val not in _OUTCOMES:
        return False
    plan.outcome = val
    await _prompt_instead(query, desk, plan, CITY, Deciding.text)
    return True


async def _picked_department(query: CallbackQuery, desk: Desk, plan: Plan, val: str) -> bool:
    if not val.isdigit():
        return False
    chosen = next((d for d in await desk.places.departments() if d.id == int(val)), None)
    if chosen is None:
        await query.answer(
            _("That department is no longer active. Choose another one."),
            show_alert=True,
        )
        return True
    if plan.act == ASSIGN and chosen.id == plan.current_dept:
        await query.answer(
            _("{reference} is with {department} already. Choose another department.").format(
                reference=plan.ref, department=clip(labels.place(chosen.name), 60)
            ),
            show_alert=True,
        )
        return True
    plan.dept, plan.dept_name = chosen.id, labels.place(chosen.name)
    if plan.act == ASSIGN:
        await finish_by_button(query, desk, plan)
        return True
    text, markup = await due_picker(desk, plan)
    await desk.bot.edit_message_text(
        text=text, chat_id=desk.chat_id, message_id=plan.prompt, reply_markup=markup
    )
    await desk.wait(plan, Deciding.due)
    await query.answer()
    return True


async def _picked_due(query: CallbackQuery, desk: Desk, plan: Plan, val: str) -> bool:
    try:
        due = date.fromisoformat(val)
    except ValueError:
        return False
    if adopting(plan):
        await ask_instruction(desk, plan, due)
        await query.answer(_("Reply to the bot's message below, or press ⏭ to go without."))
        return True
    await finish_by_button(query, desk, plan, due=due)
    return True


async def _picked_skip(query: CallbackQuery, desk: Desk, plan: Plan, val: str) -> bool:
    """Adopted without an instruction to the department."""
    if plan.due is None:
        return False
    await finish_by_button(query, desk, plan, due=date.fromisoformat(plan.due))
    return True


async def _picked_typing(query: CallbackQuery, desk: Desk, plan: Plan, val: str) -> bool:
    await _prompt_instead(query, desk, plan, "date", Deciding.date)
    return True


# Each picker's step: the state it is shown in, and what its choice does.
_PICKS: dict[str, tuple[State, Pick]] = {
    OUTCOME: (Deciding.outcome, _picked_outcome),
    DEPARTMENT: (Deciding.department, _picked_department),
    DUE_DATE: (Deciding.due, _picked_due),
    TYPE_DATE: (Deciding.due, _picked_typing),
    SKIP: (Deciding.instruction, _picked_skip),
}


async def _prompt_instead(
    query: CallbackQuery, desk: Desk, plan: Plan, what: str, step: State
) -> None:
    """The picker gives way to a force-reply prompt under the card."""
    await desk.delete(plan.prompt)
    await show_prompt(desk, plan, what, plan.card)
    await desk.wait(plan, step)
    await query.answer(_("Reply to the bot's message below."))


async def finish_by_button(
    query: CallbackQuery, desk: Desk, plan: Plan, *, due: date | None = None
) -> None:
    try:
        moved = await conclude(desk, plan, due=due)
    except (InvalidInput, MissingInput, NotFound) as exc:
        await query.answer(explain(exc), show_alert=True)
        return
    if moved is not None:
        await query.answer(moved, show_alert=True)
        return
    await query.answer(done_text(plan))
    if due is not None:
        await warn_of_due(desk, plan, due)


async def warn_of_due(desk: Desk, plan: Plan, due: date) -> None:
    """A due date picked with a button that the office should know more of (a year whose
    calendar is not loaded): said in the group under the card, for every admin to see,
    where a toast would be gone in a moment."""
    notes = due_notes(await desk.suggestions.calendar(), desk.suggestions.today(), due)
    if not notes:
        return
    await desk.bot.send_message(
        desk.chat_id,
        "\n".join([_due_line(plan, due), *notes]),
        reply_parameters=_reply(plan.card),
    )


def _due_line(plan: Plan, due: date) -> str:
    return "📅 " + _("{reference}: due on {date}, a {weekday}.").format(
        reference=esc(plan.ref), date=day(due), weekday=weekday(due)
    )


# ---- answers to the prompts -----------------------------------------------------------


async def on_reply(message: Message, **data: Any) -> None:
    desk = desk_of(message.chat.id, data)
    plan = await load_flow(desk.state, Plan)
    replied = message.reply_to_message
    asked = (plan.prompt, *plan.earlier, plan.beside)
    if not plan.act or replied is None or replied.message_id not in asked:
        raise SkipHandler  # a reply to something else: not ours
    if message.text is not None and message.text.startswith("/"):
        raise SkipHandler  # a command, even as a reply, stays a command
    dating = await desk.state.get_state() == Deciding.date.state
    text = (message.text or "").strip()
    if not text:
        await ask_again(message, desk, plan, _("Please reply with text."))
        return
    if dating:
        await on_date(message, desk, plan, text)
    elif await desk.state.get_state() == Deciding.instruction.state:
        await on_instruction(message, desk, plan, text)
    else:
        await on_words(message, desk, plan, text)


async def on_words(message: Message, desk: Desk, plan: Plan, text: str) -> None:
    if plan.act != DUPLICATE and len(text) > TEXT_MAX:
        too_long = _(
            "That is too long: at most {limit} characters, yours has {count}. "
            "Reply to my message again with a shorter text."
        ).format(limit=TEXT_MAX, count=len(text))
        await ask_again(message, desk, plan, too_long)
        return
    if plan.act == CITY:
        plan.text = text
        if plan.outcome == S.ADOPTED.value:
            await _city_adopted(message, desk, plan)
            return
    try:
        moved = await conclude(desk, plan, text=text)
    except (InvalidInput, MissingInput, NotFound) as exc:
        await ask_again(message, desk, plan, input_problem(plan, exc))
        return
    await told(message, plan, moved)


async def _city_adopted(message: Message, desk: Desk, plan: Plan) -> None:
    """The city adopted the item: the department picker follows its answer."""
    shown = await department_picker(desk, plan)
    if shown is None:
        await message.reply(_("There is no department to choose. Add one with /dept_add first."))
        return
    await desk.delete(plan.prompt)
    await show_picker(desk, plan, shown, message.message_id)
    await desk.wait(plan, Deciding.department)


async def on_date(message: Message, desk: Desk, plan: Plan, text: str) -> None:
    today = desk.suggestions.today()
    try:
        due = parse_due(text, today)
    except BadDate as exc:
        await ask_again(message, desk, plan, date_problem(exc, text))
        return
    if adopting(plan):
        await ask_instruction(desk, plan, due)
        return
    calendar = await desk.suggestions.calendar()
    try:
        moved = await conclude(desk, plan, due=due)
    except (InvalidInput, MissingInput, NotFound) as exc:
        await ask_again(message, desk, plan, explain(exc))
        return
    # The date as read (a year-less one gets its year), and what is odd about it.
    notes = [_due_line(plan, due), *due_notes(calendar, today, due)]
    await told(message, plan, moved, notes)


# ---- adopting: the office's instruction to the department -----------------------------


def adopting(plan: Plan) -> bool:
    """Whether the move adopts the item (the office's, or the city's answer)."""
    return plan.act == ADOPT or (plan.act == CITY and plan.outcome == S.ADOPTED.value)


async def ask_instruction(desk: Desk, plan: Plan, due: date) -> None:
    """The department and the due date are chosen: the office may give the department
    an instruction. A force-reply prompt asks for it; the message above it says what
    was chosen (and what is odd about the date) and has ⏭ to adopt without one."""
    plan.due = due.isoformat()
    for shown in [*plan.earlier, plan.prompt]:
        await desk.delete(shown)  # the picker, or the date's prompts
    plan.earlier, plan.prompt = [], None
    calendar = await desk.suggestions.calendar()
    notes = [_due_line(plan, due), *due_notes(calendar, desk.suggestions.today(), due)]
    chosen = _("{who}, {item} goes to {department}.").format(
        who=desk.who(),
        item=_item(plan),
        department=esc(clip(labels.place(plan.dept_name, "?"), 100)),
    )
    skip = _("No instruction needed? Press ⏭ to adopt it without one.")
    markup = _markup(
        [
            [button(_("⏭ No instruction"), PickCb(step=SKIP, item=plan.item).pack())],
            [_cancel_button(plan.item)],
        ]
    )
    beside = await desk.bot.send_message(
        desk.chat_id,
        "\n".join([chosen, *notes, "", skip]),
        reply_markup=markup,
        reply_parameters=_reply(plan.card),
    )
    await show_prompt(desk, plan, INSTRUCT, plan.card)
    await _remember_beside(desk, plan, beside)
    # A reply to it counts as one to the prompt: another admin's is told why it is not.
    name = clip(desk.user.full_name or desk.user.first_name or "?", 64)
    await note_asker(desk.state, beside, Asker(desk.user.id, name))
    await desk.wait(plan, Deciding.instruction)


async def _remember_beside(desk: Desk, plan: Plan, sent: Any) -> None:
    """The id of the message beside the prompt goes into the plan once it is sent, if
    the plan is still the one whose prompt was asked for with it."""
    asking = plan.ask

    async def keep(message: Any) -> None:
        if not isinstance(message, Message):
            return

        def put(now: Plan) -> Plan | None:
            if now.ask != asking:
                return None
            now.beside = message.message_id
            return now

        await modify_flow(desk.state, Plan, put)

    await when_sent(sent, keep)


async def on_instruction(message: Message, desk: Desk, plan: Plan, text: str) -> None:
    if len(text) > TEXT_MAX:
        too_long = _(
            "That is too long: at most {limit} characters, yours has {count}. "
            "Reply to my message again with a shorter text."
        ).format(limit=TEXT_MAX, count=len(text))
        await ask_again(message, desk, plan, too_long)
        return
    if plan.due is None:
        await message.reply(_("This choice has expired. Use the buttons on the item's card."))
        return
    plan.instruction = text
    due = date.fromisoformat(plan.due)
    try:
        moved = await conclude(desk, plan, due=due)
    except (InvalidInput, MissingInput, NotFound) as exc:
        await ask_again(message, desk, plan, explain(exc))
        return
    calendar = await desk.suggestions.calendar()
    # The message that said what is odd about the date is gone with the prompt.
    await told(message, plan, moved, due_notes(calendar, desk.suggestions.today(), due))


async def told(
    message: Message, plan: Plan, moved: str | None, notes: list[str] | None = None
) -> None:
    if moved is not None:
        await message.reply(moved)
        return
    done = _("✅ {reference}: {done}").format(reference=esc(plan.ref), done=done_text(plan))
    await message.reply("\n".join([done, *(notes or [])]))


def input_problem(plan: Plan, exc: Exception) -> str:
    if plan.act == DUPLICATE:
        if isinstance(exc, NotFound):
            return _(
                "There is no item with that reference. Reply to my message again with "
                "the original item's reference, e.g. WZ-2026-0001."
            )
        if isinstance(exc, InvalidInput) and "itself" in str(exc):
            return _("An item cannot duplicate itself. Reply with the original's reference.")
        return _(
            "That is not a reference. Reply to my message again with the original "
            "item's reference, e.g. WZ-2026-0001."
        )
    return explain(exc) + "\n" + _("Reply to my message again.")


# ---- the router -----------------------------------------------------------------------


def setup(i18n: I18n, settings: Settings) -> Router:
    router = office_router("deciding")
    router.message.register(cancel_typed, Command("cancel"), StateFilter(Deciding))
    router.message.register(nothing_to_cancel, Command("cancel"), StateFilter(None))
    router.callback_query.register(on_card, CardCb.filter())
    router.callback_query.register(on_pick, PickCb.filter())
    router.message.register(
        on_reply,
        StateFilter(Deciding.text, Deciding.date, Deciding.instruction),
        F.reply_to_message,
    )
    # A reply to a prompt that is not taken is answered by handlers.prompts.
    return router
