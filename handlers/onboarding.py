"""Joining the scheme: one-time invite links and the application conversation.

``/start <code>`` redeems an invite (observer or liaison). Anyone else can apply: name,
phone (Telegram's contact button or typed), recommending unit, category, desired point,
a short résumé, then a summary to confirm, where any answer can be changed (the others
are kept). The answers live under the ``application`` key of the conversation data
until the office has the application; from then on the applicant's menu shows it.

A typed phone number is taken at once if it is a mainland mobile number; another number
that could be one (a landline, a number abroad) is taken once the applicant confirms
it; anything else ("12345") is asked again.

The first two questions are answered by typing (or sharing the contact), so their Back
and Cancel are reply-keyboard buttons next to the contact button; the later questions
carry inline buttons. Every inline button names the step it belongs to, so a button
left on an older message never answers the question on screen now.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, CommandStart, Filter, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from pydantic import SerializerFunctionWrapHandler, model_serializer

from bot.domain.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    InviteExpired,
    InviteInvalid,
    InviteUsed,
    NotFound,
    PointInactive,
)
from bot.domain.limits import NAME_MAX
from bot.domain.statuses import ApplicationStatus, InviteKind, ObserverCategory, ObserverStatus
from bot.middlewares.people import CurrentUser
from bot.services.people import (
    ApplicationInfo,
    PeopleService,
    PhoneKind,
    Redeemed,
    Standing,
    clean_phone,
    phone_kind,
)
from bot.services.places import PlaceService
from handlers import labels
from handlers.callbacks import ApplyCb, MenuCb
from handlers.conversation import (
    Flow,
    PlainText,
    finish,
    label,
    load_flow,
    menu_labels,
    private_router,
    save_flow,
)
from handlers.errors import explain
from handlers.keyboards import BACK, CANCEL, HELP, SKIP, button, main_menu
from handlers.ui import BUTTON_TEXT_MAX, N_, clip, esc

# Telegram's deep-link payload alphabet and length; anything else cannot be a code.
_CODE = re.compile(r"[A-Za-z0-9_-]{1,64}")
# The same bounds as PeopleService.apply, checked here first so that a long answer is
# asked again instead of failing the whole update.
UNIT_MAX = 200
RESUME_MAX = 1000


class Applying(StatesGroup):
    name = State()
    phone = State()
    unit = State()
    category = State()
    point = State()
    resume = State()
    confirm = State()


STEPS = ("name", "phone", "unit", "category", "point", "resume", "confirm")
QUESTIONS = len(STEPS) - 1  # the summary is not a question
# The optional answers typed freely, and their bounds.
_FREE_TEXT_MAX = {"unit": UNIT_MAX, "resume": RESUME_MAX}
TEXT_STEPS = frozenset({"name", "phone", "unit", "resume"})
NO_POINT = "none"
# The answers the summary's Edit can change, as its buttons name them.
EDITABLE = {
    "name": N_("✏️ Name"),
    "phone": N_("✏️ Phone"),
    "unit": N_("✏️ Recommending unit"),
    "category": N_("✏️ Category"),
    "point": N_("✏️ Desired point"),
    "resume": N_("✏️ Résumé"),
}
# The applicant's reply-keyboard button that shows their application.
MY_APPLICATION = N_("📄 My application")


def _share_label() -> str:
    return _("📱 Share my phone number")


class Application(Flow):
    """The answers so far. ``menu``: the person had the main menu before applying (a
    liaison), so it comes back when the conversation ends. ``editing``: one answer is
    being changed from the summary, which comes back once it is given."""

    key: ClassVar[str] = "application"

    menu: bool = False
    editing: bool = False
    name: str = ""
    phone: str = ""
    unit: str = ""
    category: ObserverCategory | None = None
    point: int | None = None
    point_name: str = ""
    resume: str = ""

    @model_serializer(mode="wrap")
    def _answered_only(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # A question not reached yet has no key in the stored data, as in the dicts the
        # conversation kept before it had a model (a skipped one is there, empty).
        dumped: dict[str, Any] = handler(self)
        return {name: value for name, value in dumped.items() if name in self.model_fields_set}

    def missing(self) -> str | None:
        """The first required answer not given; only a damaged conversation lacks one."""
        given = {"name": self.name, "phone": self.phone, "category": self.category}
        return next((step for step, value in given.items() if not value), None)


# ---- where the conversation stands ----------------------------------------------------


def step_of(state_name: str | None) -> str | None:
    """``Applying:unit`` -> ``unit``; None outside this conversation."""
    if not state_name or not state_name.startswith(f"{Applying.__full_group_name__}:"):
        return None
    step = state_name.split(":", 1)[1]
    return step if step in STEPS else None


def previous(step: str) -> str:
    index = STEPS.index(step)
    return STEPS[max(index - 1, 0)]


def following(step: str) -> str:
    index = STEPS.index(step)
    return STEPS[min(index + 1, len(STEPS) - 1)]


def after(step: str, flow: Application) -> str:
    """The question that follows an answer to ``step``."""
    return "confirm" if flow.editing else following(step)


def state_of(step: str) -> State:
    state = getattr(Applying, step)
    assert isinstance(state, State)
    return state


class NotCommandOrMenu(Filter):
    """Anything but a command or a main-menu label: those belong to other routers even
    in the middle of an application."""

    def __init__(self, i18n: I18n) -> None:
        self._menu = menu_labels(i18n)

    async def __call__(self, message: Message) -> bool:
        text = message.text
        return text is None or (not text.startswith("/") and text not in self._menu)


# ---- what the person sees -------------------------------------------------------------


def _numbered(step: str, text: str) -> str:
    return f"<b>{STEPS.index(step) + 1}/{QUESTIONS}</b> {text}"


def _inline(*rows: list[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[row for row in rows if row])


def _nav(step: str, *, skip: bool = False) -> list[InlineKeyboardButton]:
    row = [
        button(_(BACK), ApplyCb(step="back", value=step).pack()),
        button(_(CANCEL), ApplyCb(step="cancel", value=step).pack()),
    ]
    if skip:
        row.insert(0, button(_(SKIP), ApplyCb(step="skip", value=step).pack()))
    return row


def _typing_keyboard(*, contact: bool, share: bool = True) -> ReplyKeyboardMarkup:
    """The reply keyboard of the typed questions: the contact button where it helps,
    Back where there is a question (or the summary) to go back to, and always Cancel."""
    rows: list[list[KeyboardButton]] = []
    if contact:
        if share:
            rows.append([KeyboardButton(text=_share_label(), request_contact=True)])
        rows.append([KeyboardButton(text=_(BACK)), KeyboardButton(text=_(CANCEL))])
    else:
        rows.append([KeyboardButton(text=_(CANCEL))])
    return ReplyKeyboardMarkup(keyboard=rows, resize_keyboard=True, is_persistent=True)


Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


async def question(step: str, flow: Application, places: PlaceService) -> tuple[str, Markup]:
    if step == "name":
        intro = _(
            "<b>Apply to become an observer</b>\n\n"
            "Six short questions; you can go back or cancel at any time. The district "
            "office vets every application and tells you the result here."
        )
        ask = _numbered(step, _("What is your full name, as on your ID card?"))
        if flow.editing:
            return ask, _typing_keyboard(contact=True, share=False)
        return intro + "\n\n" + ask, _typing_keyboard(contact=False)
    if step == "phone":
        ask = _(
            "Your mobile phone number, so that the office can reach you: tap "
            "<b>{button}</b> below, or type the number."
        ).format(button=esc(_share_label()))
        return _numbered(step, ask), _typing_keyboard(contact=True)
    if step == "unit":
        ask = _(
            "Which unit recommends you: your employer, trade association, chamber of "
            "commerce, community or village committee? Type its name, or tap <b>{skip}</b>."
        ).format(skip=esc(_(SKIP)))
        return _numbered(step, ask), _inline(_nav(step, skip=True))
    if step == "category":
        choices = [
            button(labels.category(c), ApplyCb(step="cat", value=c.value).pack())
            for c in ObserverCategory
        ]
        pairs = [choices[i : i + 2] for i in range(0, len(choices), 2)]
        ask = _("Which of these describes you best?")
        return _numbered(step, ask), _inline(*pairs, _nav(step))
    if step == "point":
        points = await places.points()
        rows = [
            [
                button(
                    clip(labels.place(p.name), BUTTON_TEXT_MAX),
                    ApplyCb(step="point", value=str(p.id)).pack(),
                )
            ]
            for p in points
        ]
        rows.append([button(_("No preference"), ApplyCb(step="point", value=NO_POINT).pack())])
        ask = _(
            "Which observation point would you like to join? The office makes the final assignment."
        )
        return _numbered(step, ask), _inline(*rows, _nav(step))
    if step == "resume":
        ask = _(
            "Finally, a short résumé: your work, education and why you would like to take "
            "part (at most {limit} characters). Or tap <b>{skip}</b>."
        ).format(limit=RESUME_MAX, skip=esc(_(SKIP)))
        return _numbered(step, ask), _inline(_nav(step, skip=True))
    return summary(flow), _inline(
        [button(_("✅ Send application"), ApplyCb(step="confirm").pack())],
        [button(_("✏️ Edit"), ApplyCb(step="edit", value=step).pack())],
        _nav(step),
    )


def edit_choices() -> tuple[str, InlineKeyboardMarkup]:
    """Which answer to change, under the summary."""
    choices = [
        button(_(text), ApplyCb(step="fix", value=field).pack()) for field, text in EDITABLE.items()
    ]
    back = button(_("⬅️ Back to the summary"), ApplyCb(step="fix", value="confirm").pack())
    pairs = [choices[i : i + 2] for i in range(0, len(choices), 2)]
    text = _("Which answer would you like to change? The other answers are kept.")
    return text, _inline(*pairs, [back])


def summary(flow: Application) -> str:
    return "\n\n".join(
        [
            _("<b>Please check your application</b>"),
            answers(flow),
            _("If everything is right, send it to the district office."),
        ]
    )


def answers(flow: Application) -> str:
    given = {
        "name": flow.name,
        "phone": flow.phone,
        "unit": flow.unit or "—",
        "category": labels.category(flow.category) if flow.category else "—",
        "point": flow.point_name or _("No preference"),
        "resume": flow.resume or "—",
    }
    return _(
        "<b>Name:</b> {name}\n"
        "<b>Phone:</b> {phone}\n"
        "<b>Recommending unit:</b> {unit}\n"
        "<b>Category:</b> {category}\n"
        "<b>Desired point:</b> {point}\n"
        "<b>Résumé:</b> {resume}"
    ).format(**{name: esc(value) for name, value in given.items()})


def _menu_or_remove(flow: Application) -> ReplyKeyboardMarkup | ReplyKeyboardRemove:
    """What stays under the text box when the conversation's own keyboard goes: the
    main menu for those who had it (a liaison applying), nothing for a stranger."""
    return main_menu() if flow.menu else ReplyKeyboardRemove()


def applicant_menu() -> ReplyKeyboardMarkup:
    """The menu under the text box of someone whose application the office has: what
    they can do while they wait."""
    return ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=_(MY_APPLICATION)), KeyboardButton(text=_(HELP))]],
        resize_keyboard=True,
        is_persistent=True,
    )


def menu_for(standing: Standing) -> ReplyKeyboardMarkup | None:
    """The menu someone is given where they stand: the main menu in the scheme, the
    applicant's while the office has their application, none for a stranger."""
    if not standing.stranger:
        return main_menu()
    return applicant_menu() if standing.pending_application is not None else None


def elsewhere() -> str:
    """Where residents turn with their own problems: this chat is for observers."""
    return _(
        "To report a problem, ask for help or make a complaint yourself, call the 12345 "
        "citizens' service hotline."
    )


def for_strangers(standing: Standing) -> tuple[str, InlineKeyboardMarkup | ReplyKeyboardMarkup]:
    """What someone outside the scheme can do here: apply, or follow their application;
    and where else to turn."""
    if standing.pending_application is not None:
        text = _(
            "Your application is with the district office; you will be told here as soon as "
            "it is decided. <b>{button}</b> shows what you sent."
        ).format(button=esc(_(MY_APPLICATION)))
        return text + "\n\n" + elsewhere(), applicant_menu()
    text = _(
        "This chat is for the district's rule-of-law observers, who collect the problems, "
        "opinions and suggestions of residents and businesses. You can apply to become one."
    )
    return text + "\n\n" + elsewhere(), _apply_button()


def _apply_button() -> InlineKeyboardMarkup:
    apply = button(_("📝 Apply to become an observer"), ApplyCb(step="begin").pack())
    return InlineKeyboardMarkup(inline_keyboard=[[apply]])


def _too_long(limit: int) -> str:
    return explain(InvalidInput("too long", limit=limit))


def already_in(standing: Standing) -> str | None:
    """Why this person cannot apply, or None if they can."""
    observer = standing.observer
    if observer is not None and observer.status is ObserverStatus.APPOINTED:
        return _(
            "You are already an observer at <b>{point}</b>, so there is no need to apply."
        ).format(point=esc(labels.place(standing.point_name, "—")))
    if observer is not None and observer.status is ObserverStatus.SUSPENDED:
        return _(
            "You are already on file as an observer; your appointment is suspended. Please "
            "contact the district office rather than applying again."
        )
    if standing.pending_application is not None:
        return _(
            "Your application is with the district office. You will be told here as soon as "
            "it is decided."
        )
    return None


# ---- the conversation's moves ---------------------------------------------------------


@dataclass(frozen=True)
class Interview:
    """One applicant's conversation: the chat the questions go to, and the FSM that
    keeps the answers and the question on screen."""

    bot: Bot
    chat_id: int
    state: FSMContext
    places: PlaceService

    async def say(self, text: str, markup: Markup | None = None) -> None:
        await self.bot.send_message(self.chat_id, text, reply_markup=markup)

    async def ask(self, step: str, *, note: str | None = None) -> None:
        """Put ``step``'s question on screen and make it the current one."""
        flow = await load_flow(self.state, Application)
        if step == "confirm" and flow.editing:
            flow.editing = False  # back at the summary: the change is over
            await save_flow(self.state, flow)
        await self.state.set_state(state_of(step))
        text, markup = await question(step, flow, self.places)
        await self.say(note + "\n\n" + text if note else text, markup)

    async def advance(self, step: str, flow: Application) -> None:
        """Keep the answer to ``step`` and ask the next question (the summary again, if
        the answer was changed from there)."""
        await save_flow(self.state, flow)
        await self.ask(after(step, flow))

    async def back(self, step: str) -> None:
        """The question before ``step``; the summary, if ``step`` was opened from it."""
        flow = await load_flow(self.state, Application)
        await self.ask("confirm" if flow.editing else previous(step))

    async def end(self, text: str, markup: Markup | None) -> None:
        """Drop the application's data and say how it ended."""
        await finish(self.state, Application)
        await self.say(text, markup)

    async def cancel(self) -> None:
        flow = await load_flow(self.state, Application)
        await self.end(
            _("Application cancelled. Nothing was sent to the office."),
            _menu_or_remove(flow),
        )


def _interview(
    event: Message | CallbackQuery, bot: Bot, state: FSMContext, places: PlaceService
) -> Interview:
    """The interview a typed answer or a pressed button belongs to (a button's chat is
    the person's own)."""
    chat_id = event.chat.id if isinstance(event, Message) else event.from_user.id
    return Interview(bot, chat_id, state, places)


async def close(query: CallbackQuery) -> None:
    """Take the buttons off the message just pressed, so it cannot be pressed again."""
    message = query.message
    if isinstance(message, Message) and message.reply_markup is not None:
        await message.edit_reply_markup(reply_markup=None)


async def pressed(query: CallbackQuery) -> None:
    """A button that did its work: the press is answered and the buttons go."""
    await query.answer()
    await close(query)


async def stale(query: CallbackQuery, step: str | None) -> None:
    """A button from an earlier question, or from an application that has ended."""
    if step is None:
        await query.answer(
            _("This application is no longer open. Send /apply to start again."), show_alert=True
        )
        await close(query)
    else:
        await query.answer(
            _("That button belongs to an earlier question. Please answer the latest one."),
            show_alert=True,
        )


async def begin(interview: Interview, people: PeopleService, user: CurrentUser) -> None:
    standing = await people.standing(user.id)
    refused = already_in(standing)
    if refused is not None:
        await interview.say(refused)
        return
    current = step_of(await interview.state.get_state())
    if current is not None:
        note = _("You have an application in progress; here is where you left off.")
        await interview.ask(current, note=note)
        return
    await save_flow(interview.state, Application(menu=not standing.stranger))
    await interview.ask("name")


async def _keep_phone(interview: Interview, phone: str) -> None:
    flow = await load_flow(interview.state, Application)
    flow.phone = phone
    await save_flow(interview.state, flow)
    # The contact keyboard must go before an inline question: a message carries one
    # keyboard, so a short acknowledgement takes the old one away.
    noted = _("📱 Phone number noted: {phone}").format(phone=esc(flow.phone))
    await interview.say(noted, _menu_or_remove(flow))
    await interview.ask(after("phone", flow))


async def _keep_free_text(interview: Interview, step: str, text: str) -> None:
    """The unit or the résumé, typed or skipped (then empty)."""
    flow = await load_flow(interview.state, Application)
    setattr(flow, step, text)
    await interview.advance(step, flow)


async def submit(people: PeopleService, user: CurrentUser, flow: Application) -> None:
    assert flow.category is not None  # confirm() asked Application.missing() first
    await people.apply(
        user.id,
        name=flow.name,
        phone=flow.phone,
        category=flow.category,
        recommending_unit=flow.unit,
        desired_point_id=flow.point,
        resume=flow.resume,
    )


# ---- invites --------------------------------------------------------------------------


async def redeem(people: PeopleService, user: CurrentUser, code: str) -> Redeemed:
    """The service redeems all or nothing, so a refusal answered here (the update then
    commits) leaves no half-done redemption behind."""
    if not _CODE.fullmatch(code):
        raise InviteInvalid("malformed invite code")
    return await people.redeem(user.id, code, name=user.full_name)


async def refuse_code(
    message: Message, people: PeopleService, user: CurrentUser, error: DomainError
) -> None:
    """The reason, then what a stranger can do instead."""
    text = refusal(error)
    standing = await people.standing(user.id)
    if standing.stranger and standing.pending_application is None:
        more = _(
            "You can also apply to become an observer; the district office will consider "
            "your application."
        )
        await message.answer(text + "\n\n" + more, reply_markup=_apply_button())
    elif standing.stranger:
        await message.answer(text + "\n\n" + (already_in(standing) or ""))
    else:
        await message.answer(text)


def refusal(error: DomainError) -> str:
    if isinstance(error, Conflict):
        return _(
            "This invite link cannot be used with your Telegram account: it already belongs "
            "to another observer. Please contact the district office."
        )
    return explain(error)


async def welcome(redeemed: Redeemed, user: CurrentUser, places: PlaceService) -> str:
    if redeemed.kind is InviteKind.LIAISON:
        departments = await places.departments(active_only=False)
        department = next(
            (labels.place(d.name) for d in departments if d.id == redeemed.department_id), "—"
        )
        return _(
            "Welcome, {name}! You are now the liaison of <b>{department}</b>. Items the "
            "district office assigns to your department will arrive in this chat."
        ).format(name=esc(user.first_name), department=esc(department))
    points = await places.points(active_only=False)
    point = next((labels.place(p.name) for p in points if p.id == redeemed.point_id), "—")
    return _(
        "Welcome, {name}! You are now an observer at <b>{point}</b>.\n\n"
        "Use <b>New suggestion</b> to file the problems, opinions and suggestions you "
        "collect, and <b>My suggestions</b> to follow them."
    ).format(name=esc(user.first_name), point=esc(point))


# ---- /start <code>, /apply and the Apply button ---------------------------------------


async def start_with_code(
    message: Message,
    command: CommandObject,
    user: CurrentUser,
    people: PeopleService,
    places: PlaceService,
    state: FSMContext,
) -> None:
    code = (command.args or "").strip()
    try:
        redeemed = await redeem(people, user, code)
    except (InviteInvalid, InviteExpired, InviteUsed, Conflict) as error:
        await refuse_code(message, people, user, error)
        return
    if step_of(await state.get_state()) is not None:
        await finish(state, Application)  # an application makes no sense any more
    await message.answer(await welcome(redeemed, user, places), reply_markup=main_menu())


async def apply(
    event: Message | CallbackQuery,
    bot: Bot,
    people: PeopleService,
    places: PlaceService,
    state: FSMContext,
    user: CurrentUser,
) -> None:
    """/apply, or an Apply button (under a greeting, a refused invite or a menu)."""
    if isinstance(event, CallbackQuery):
        await event.answer()
    await begin(_interview(event, bot, state, places), people, user)


async def my_application(
    message: Message, people: PeopleService, places: PlaceService, user: CurrentUser
) -> None:
    """The applicant's menu button: how their application stands."""
    standing = await people.standing(user.id)
    pending = standing.pending_application
    if pending is not None:
        await message.answer(await sent_text(pending, places), reply_markup=menu_for(standing))
        return
    joined = already_in(standing)
    if joined is not None:
        # Approved (or joined another way) since the menu was given: theirs now.
        await message.answer(joined, reply_markup=main_menu())
        return
    if not standing.stranger:  # a liaison
        await message.answer(_("You have no application with the district office."))
        return
    latest = await people.latest_application(user.id)
    if latest is not None and latest.status is ApplicationStatus.REJECTED:
        text = _(
            "Your application #{id} was not approved. The district office's reason: "
            "{reason}\n\nYou may apply again."
        ).format(id=latest.id, reason=esc(latest.reason or "—"))
        await message.answer(text, reply_markup=_apply_button())
        return
    text, markup = for_strangers(standing)
    await message.answer(text, reply_markup=markup)


async def sent_text(application: ApplicationInfo, places: PlaceService) -> str:
    """What the applicant sent, and that it waits for the office."""
    points = await places.points(active_only=False)
    desired = next(
        (labels.place(p.name) for p in points if p.id == application.desired_point_id), ""
    )
    flow = Application(
        name=application.name,
        phone=application.phone,
        unit=application.recommending_unit,
        category=application.category,
        point_name=desired,
        resume=application.resume,
    )
    head = _(
        "<b>Your application #{id}</b> is with the district office; you will be told here "
        "as soon as it is decided."
    ).format(id=application.id)
    return head + "\n\n" + answers(flow)


# ---- the typed answers, and Back and Cancel from the reply keyboard -------------------


async def cancel_typed(message: Message, bot: Bot, state: FSMContext, places: PlaceService) -> None:
    await _interview(message, bot, state, places).cancel()


async def back_typed(
    message: Message, bot: Bot, state: FSMContext, places: PlaceService, raw_state: str
) -> None:
    step = step_of(raw_state) or "name"
    await _interview(message, bot, state, places).back(step)


async def got_name(message: Message, bot: Bot, state: FSMContext, places: PlaceService) -> None:
    interview = _interview(message, bot, state, places)
    name = " ".join((message.text or "").split())
    if not name:
        await interview.ask("name")
        return
    if len(name) > NAME_MAX:
        await message.answer(_too_long(NAME_MAX))
        return
    flow = await load_flow(state, Application)
    flow.name = name
    await interview.advance("name", flow)


async def got_contact(
    message: Message, bot: Bot, state: FSMContext, places: PlaceService, user: CurrentUser
) -> None:
    contact = message.contact
    assert contact is not None
    if contact.user_id != user.id:
        # A forwarded card or someone else's number: the office must reach the
        # applicant, and Telegram vouches only for one's own shared number.
        await message.answer(
            _("Please share your own phone number with the button below, or type your number.")
        )
        return
    interview = _interview(message, bot, state, places)
    try:
        # Telegram vouches for the number: no question about its form.
        phone = clean_phone(contact.phone_number)
    except InvalidInput:
        await interview.ask("phone", note=_bad_phone())
        return
    await _keep_phone(interview, phone)


async def got_typed_phone(
    message: Message, bot: Bot, state: FSMContext, places: PlaceService
) -> None:
    interview = _interview(message, bot, state, places)
    typed = (message.text or "").strip()
    kind = phone_kind(typed)
    if kind is PhoneKind.MOBILE:
        await _keep_phone(interview, clean_phone(typed))
    elif kind is PhoneKind.OTHER:
        await interview.say(*_unsure_phone(clean_phone(typed)))
    elif any(ch.isdigit() for ch in typed):
        await interview.ask("phone", note=_not_a_number(typed))
    else:
        await interview.ask("phone", note=_bad_phone())


def _unsure_phone(phone: str) -> tuple[str, InlineKeyboardMarkup]:
    """A number that is not a mainland mobile's: taken once the applicant says so. The
    button carries the number (at most 32 characters), so it takes the one it shows."""
    text = _(
        "<b>{phone}</b> is not a mainland mobile number. If the office can reach you on "
        "it (a landline, a number abroad), use it anyway; otherwise type your mobile number."
    ).format(phone=esc(phone))
    return text, _inline(
        [button(_("✅ Use it anyway"), ApplyCb(step="anyway", value=phone).pack())],
        [button(_("✏️ Type another number"), ApplyCb(step="retype", value="phone").pack())],
    )


async def phone_anyway(
    query: CallbackQuery, callback_data: ApplyCb, bot: Bot, state: FSMContext, places: PlaceService
) -> None:
    """Under a number that is not a mobile's: Use it anyway, or Type another number."""
    await pressed(query)
    interview = _interview(query, bot, state, places)
    number = callback_data.value
    if callback_data.step == "retype" or phone_kind(number) is PhoneKind.INVALID:
        await interview.ask("phone")
        return
    await _keep_phone(interview, clean_phone(number))


async def got_unit_or_resume(
    message: Message, bot: Bot, state: FSMContext, places: PlaceService, raw_state: str
) -> None:
    step = step_of(raw_state)
    assert step in _FREE_TEXT_MAX
    text = (message.text or "").strip()
    if len(text) > _FREE_TEXT_MAX[step]:
        await message.answer(_too_long(_FREE_TEXT_MAX[step]))
        return
    await _keep_free_text(_interview(message, bot, state, places), step, text)


async def not_an_answer(
    message: Message, bot: Bot, state: FSMContext, places: PlaceService, raw_state: str
) -> None:
    """A sticker, a photo, or text where a button is expected: ask again."""
    step = step_of(raw_state) or "name"
    note = (
        _("Please answer with a text message.")
        if step in TEXT_STEPS
        else _("Please choose with the buttons below.")
    )
    await _interview(message, bot, state, places).ask(step, note=note)


# ---- the buttons ----------------------------------------------------------------------


async def navigate(
    query: CallbackQuery,
    callback_data: ApplyCb,
    bot: Bot,
    state: FSMContext,
    places: PlaceService,
    raw_state: str | None,
) -> None:
    step = step_of(raw_state)
    if step is None or step != callback_data.value:
        await stale(query, step)
        return
    await pressed(query)
    interview = _interview(query, bot, state, places)
    if callback_data.step == "cancel":
        await interview.cancel()
    elif callback_data.step == "back":
        await interview.back(step)
    elif step in _FREE_TEXT_MAX:
        await _keep_free_text(interview, step, "")
    else:
        await interview.ask(step)


async def chose_category(
    query: CallbackQuery, callback_data: ApplyCb, bot: Bot, state: FSMContext, places: PlaceService
) -> None:
    try:
        category = ObserverCategory(callback_data.value)
    except ValueError:
        await stale(query, "category")
        return
    await pressed(query)
    flow = await load_flow(state, Application)
    flow.category = category
    await _interview(query, bot, state, places).advance("category", flow)


async def chose_point(
    query: CallbackQuery, callback_data: ApplyCb, bot: Bot, state: FSMContext, places: PlaceService
) -> None:
    flow = await load_flow(state, Application)
    if callback_data.value == NO_POINT:
        flow.point, flow.point_name = None, ""
    else:
        points = await places.points()
        chosen = next((p for p in points if str(p.id) == callback_data.value), None)
        if chosen is None:
            await query.answer(_point_gone(), show_alert=True)
            return
        flow.point, flow.point_name = chosen.id, labels.place(chosen.name)
    await pressed(query)
    await _interview(query, bot, state, places).advance("point", flow)


async def confirm(
    query: CallbackQuery,
    bot: Bot,
    state: FSMContext,
    people: PeopleService,
    places: PlaceService,
    user: CurrentUser,
) -> None:
    interview = _interview(query, bot, state, places)
    flow = await load_flow(state, Application)
    missing = flow.missing()
    if missing is not None:  # only a damaged conversation gets here
        await query.answer()
        await interview.ask(missing)
        return
    try:
        await submit(people, user, flow)
    except (PointInactive, NotFound):
        # The point closed while the person was typing: choose again.
        await pressed(query)
        flow.point, flow.point_name = None, ""
        await save_flow(state, flow)
        await interview.ask("point", note=_point_gone())
        return
    except Conflict:
        await pressed(query)
        await finish(state, Application)
        standing = await people.standing(user.id)
        told = already_in(standing) or explain(Conflict())
        waiting = standing.pending_application is not None and not flow.menu
        await interview.say(told, applicant_menu() if waiting else _menu_or_remove(flow))
        return
    await pressed(query)
    sent = _(
        "Your application has been sent to the district office; you will be told "
        "here when it is decided."
    )
    await interview.end(sent, main_menu() if flow.menu else applicant_menu())


async def edit(query: CallbackQuery, bot: Bot, state: FSMContext, places: PlaceService) -> None:
    """The summary's Edit: which answer to change."""
    await pressed(query)
    await _interview(query, bot, state, places).say(*edit_choices())


async def fix(
    query: CallbackQuery, callback_data: ApplyCb, bot: Bot, state: FSMContext, places: PlaceService
) -> None:
    """One answer chosen to change (its question, then the summary again), or Back to
    the summary."""
    field = callback_data.value
    if field not in EDITABLE and field != "confirm":
        await stale(query, "confirm")
        return
    await pressed(query)
    interview = _interview(query, bot, state, places)
    if field != "confirm":
        flow = await load_flow(state, Application)
        flow.editing = True
        await save_flow(state, flow)
    await interview.ask(field)


async def confirm_again(
    query: CallbackQuery, people: PeopleService, user: CurrentUser, raw_state: str | None
) -> None:
    """The summary's button pressed after the conversation ended: most likely a
    second tap on Confirm."""
    standing = await people.standing(user.id)
    if standing.pending_application is not None:
        await query.answer(_("Your application has already been sent."), show_alert=True)
        await close(query)
        return
    await stale(query, step_of(raw_state))


async def other_button(query: CallbackQuery, raw_state: str | None) -> None:
    await stale(query, step_of(raw_state))


# ---- the router -----------------------------------------------------------------------


def setup(i18n: I18n) -> Router:
    router = private_router("onboarding")
    _register_joining(router, i18n)
    _register_typed(router, i18n)
    _register_buttons(router)
    return router


def _register_joining(router: Router, i18n: I18n) -> None:
    router.message.register(start_with_code, CommandStart(deep_link=True))
    router.message.register(apply, Command("apply"))
    router.callback_query.register(apply, MenuCb.filter(F.go == "apply"))
    router.callback_query.register(apply, ApplyCb.filter(F.step == "begin"))
    router.message.register(my_application, label(i18n, MY_APPLICATION))


def _register_typed(router: Router, i18n: I18n) -> None:
    typed = PlainText(i18n)
    in_applying = StateFilter(Applying)  # any step of the application
    router.message.register(cancel_typed, in_applying, label(i18n, CANCEL))
    router.message.register(cancel_typed, in_applying, Command("cancel"))
    router.message.register(back_typed, in_applying, label(i18n, BACK))
    router.message.register(got_name, Applying.name, typed)
    router.message.register(got_contact, Applying.phone, F.contact)
    router.message.register(got_typed_phone, Applying.phone, typed)
    router.message.register(got_unit_or_resume, StateFilter(Applying.unit, Applying.resume), typed)
    router.message.register(not_an_answer, in_applying, NotCommandOrMenu(i18n))


def _register_buttons(router: Router) -> None:
    router.callback_query.register(navigate, ApplyCb.filter(F.step.in_({"back", "skip", "cancel"})))
    router.callback_query.register(
        phone_anyway, Applying.phone, ApplyCb.filter(F.step.in_({"anyway", "retype"}))
    )
    router.callback_query.register(edit, Applying.confirm, ApplyCb.filter(F.step == "edit"))
    router.callback_query.register(fix, Applying.confirm, ApplyCb.filter(F.step == "fix"))
    router.callback_query.register(
        chose_category, Applying.category, ApplyCb.filter(F.step == "cat")
    )
    router.callback_query.register(chose_point, Applying.point, ApplyCb.filter(F.step == "point"))
    router.callback_query.register(confirm, Applying.confirm, ApplyCb.filter(F.step == "confirm"))
    router.callback_query.register(confirm_again, ApplyCb.filter(F.step == "confirm"))
    router.callback_query.register(other_button, ApplyCb.filter())


def _bad_phone() -> str:
    return _(
        "That does not look like a phone number. Please type digits only (for example "
        "13800000000), or tap the button below to share your number."
    )


def _not_a_number(typed: str) -> str:
    return _(
        "<b>{typed}</b> is not a phone number the office can call. A mainland mobile "
        "number has 11 digits and starts with 1 (for example 138 0000 0000); a landline "
        "needs its area code (for example 0571-8888 8888)."
    ).format(typed=esc(clip(typed, 40)))


def _point_gone() -> str:
    return _("That observation point is no longer available. Please choose another one.")
