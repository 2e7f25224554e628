"""Joining the scheme: one-time invite links and the application conversation.

``/start <code>`` redeems an invite (observer or liaison). Anyone else can apply: name,
phone (Telegram's contact button or typed), recommending unit, category, desired point,
a short résumé, then a summary to confirm. The answers live under the ``application``
key of the conversation data until the office has the application.

The first two questions are answered by typing (or sharing the contact), so their Back
and Cancel are reply-keyboard buttons next to the contact button; the later questions
carry inline buttons. Every inline button names the step it belongs to, so a button
left on an older message never answers the question on screen now.
"""

from __future__ import annotations

import re
from typing import Any

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
from bot.domain.statuses import InviteKind, ObserverCategory, ObserverStatus
from bot.middlewares.people import CurrentUser
from bot.services.people import PeopleService, Redeemed, Standing, clean_phone
from bot.services.places import PlaceService
from handlers import labels
from handlers.callbacks import ApplyCb, MenuCb
from handlers.conversation import PlainText, finish, label, load, menu_labels, save
from handlers.errors import explain
from handlers.keyboards import BACK, CANCEL, SKIP, button, main_menu
from handlers.ui import BUTTON_TEXT_MAX, clip, esc

KEY = "application"
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


def _share_label() -> str:
    return _("📱 Share my phone number")


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


def _typing_keyboard(*, contact: bool) -> ReplyKeyboardMarkup:
    """The reply keyboard of the typed questions: the contact button where it helps,
    Back where there is a question to go back to, and always Cancel."""
    rows: list[list[KeyboardButton]] = []
    if contact:
        rows.append([KeyboardButton(text=_share_label(), request_contact=True)])
        rows.append([KeyboardButton(text=_(BACK)), KeyboardButton(text=_(CANCEL))])
    else:
        rows.append([KeyboardButton(text=_(CANCEL))])
    return ReplyKeyboardMarkup(keyboard=rows, resize_keyboard=True, is_persistent=True)


Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


async def question(step: str, data: dict[str, Any], places: PlaceService) -> tuple[str, Markup]:
    if step == "name":
        intro = _(
            "<b>Apply to become an observer</b>\n\n"
            "Six short questions; you can go back or cancel at any time. The district "
            "office vets every application and tells you the result here."
        )
        ask = _("What is your full name, as on your ID card?")
        return intro + "\n\n" + _numbered(step, ask), _typing_keyboard(contact=False)
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
            [button(clip(p.name, BUTTON_TEXT_MAX), ApplyCb(step="point", value=str(p.id)).pack())]
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
    return summary(data), _inline(
        [button(_("✅ Send application"), ApplyCb(step="confirm").pack())], _nav(step)
    )


def summary(data: dict[str, Any]) -> str:
    category = data.get("category")
    return _(
        "<b>Please check your application</b>\n\n"
        "<b>Name:</b> {name}\n"
        "<b>Phone:</b> {phone}\n"
        "<b>Recommending unit:</b> {unit}\n"
        "<b>Category:</b> {category}\n"
        "<b>Desired point:</b> {point}\n"
        "<b>Résumé:</b> {resume}\n\n"
        "If everything is right, send it to the district office."
    ).format(
        name=esc(data.get("name", "")),
        phone=esc(data.get("phone", "")),
        unit=esc(data.get("unit") or "—"),
        category=esc(labels.category(ObserverCategory(category)) if category else "—"),
        point=esc(data.get("point_name") or _("No preference")),
        resume=esc(data.get("resume") or "—"),
    )


def _menu_or_remove(data: dict[str, Any]) -> ReplyKeyboardMarkup | ReplyKeyboardRemove:
    """What stays under the text box when the conversation's own keyboard goes: the
    main menu for those who had it (a liaison applying), nothing for a stranger."""
    return main_menu() if data.get("menu") else ReplyKeyboardRemove()


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
        ).format(point=esc(standing.point_name or "—"))
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


async def ask(
    bot: Bot,
    chat_id: int,
    state: FSMContext,
    places: PlaceService,
    step: str,
    *,
    note: str | None = None,
) -> None:
    """Put ``step``'s question on screen and make it the current one."""
    data = await load(state, KEY)
    await state.set_state(state_of(step))
    text, markup = await question(step, data, places)
    if note:
        text = note + "\n\n" + text
    await bot.send_message(chat_id, text, reply_markup=markup)


async def advance(
    bot: Bot,
    chat_id: int,
    state: FSMContext,
    places: PlaceService,
    step: str,
    data: dict[str, Any],
) -> None:
    """Keep the answer to ``step`` and ask the next question."""
    await save(state, KEY, data)
    await ask(bot, chat_id, state, places, following(step))


async def leave_phone_step(bot: Bot, chat_id: int, data: dict[str, Any]) -> None:
    """The contact keyboard must go before an inline question: a message carries one
    keyboard, so a short acknowledgement takes the old one away."""
    await bot.send_message(
        chat_id,
        _("📱 Phone number noted: {phone}").format(phone=esc(data.get("phone", ""))),
        reply_markup=_menu_or_remove(data),
    )


async def close(query: CallbackQuery) -> None:
    """Take the buttons off the message just pressed, so it cannot be pressed again."""
    message = query.message
    if isinstance(message, Message) and message.reply_markup is not None:
        await message.edit_reply_markup(reply_markup=None)


async def cancel_application(bot: Bot, chat_id: int, state: FSMContext) -> None:
    data = await load(state, KEY)
    await finish(state, KEY)
    await bot.send_message(
        chat_id,
        _("Application cancelled. Nothing was sent to the office."),
        reply_markup=_menu_or_remove(data),
    )


async def go_back(
    bot: Bot, chat_id: int, state: FSMContext, places: PlaceService, step: str
) -> None:
    await ask(bot, chat_id, state, places, previous(step))


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
        department = next((d.name for d in departments if d.id == redeemed.department_id), "—")
        return _(
            "Welcome, {name}! You are now the liaison of <b>{department}</b>. Items the "
            "district office assigns to your department will arrive in this chat."
        ).format(name=esc(user.first_name), department=esc(department))
    points = await places.points(active_only=False)
    point = next((p.name for p in points if p.id == redeemed.point_id), "—")
    return _(
        "Welcome, {name}! You are now an observer at <b>{point}</b>.\n\n"
        "Use <b>New suggestion</b> to file the problems, opinions and suggestions you "
        "collect, and <b>My suggestions</b> to follow them."
    ).format(name=esc(user.first_name), point=esc(point))


# ---- the router -----------------------------------------------------------------------


def setup(i18n: I18n) -> Router:
    router = Router(name="onboarding")
    router.message.filter(F.chat.type == "private")
    router.callback_query.filter(F.message.chat.type == "private")
    typed = PlainText(i18n)
    in_applying = StateFilter(Applying)  # any step of the application

    # ---- /start <code> ----------------------------------------------------------------

    @router.message(CommandStart(deep_link=True))
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
            await finish(state, KEY)  # an application makes no sense any more
        await message.answer(await welcome(redeemed, user, places), reply_markup=main_menu())

    # ---- starting an application -------------------------------------------------------

    async def begin(
        bot: Bot,
        chat_id: int,
        people: PeopleService,
        places: PlaceService,
        state: FSMContext,
        user: CurrentUser,
    ) -> None:
        standing = await people.standing(user.id)
        refused = already_in(standing)
        if refused is not None:
            await bot.send_message(chat_id, refused)
            return
        current = step_of(await state.get_state())
        if current is not None:
            await ask(
                bot,
                chat_id,
                state,
                places,
                current,
                note=_("You have an application in progress; here is where you left off."),
            )
            return
        await save(state, KEY, {"menu": not standing.stranger})
        await ask(bot, chat_id, state, places, "name")

    @router.message(Command("apply"))
    async def apply_command(
        message: Message,
        bot: Bot,
        people: PeopleService,
        places: PlaceService,
        state: FSMContext,
        user: CurrentUser,
    ) -> None:
        await begin(bot, message.chat.id, people, places, state, user)

    @router.callback_query(ApplyCb.filter(F.step == "begin"))
    @router.callback_query(MenuCb.filter(F.go == "apply"))
    async def apply_button(
        query: CallbackQuery,
        bot: Bot,
        people: PeopleService,
        places: PlaceService,
        state: FSMContext,
        user: CurrentUser,
    ) -> None:
        await query.answer()
        await begin(bot, query.from_user.id, people, places, state, user)

    # ---- leaving, going back: typed or from the reply keyboard ------------------------

    @router.message(in_applying, Command("cancel"))
    @router.message(in_applying, label(i18n, CANCEL))
    async def cancel_typed(message: Message, bot: Bot, state: FSMContext) -> None:
        await cancel_application(bot, message.chat.id, state)

    @router.message(in_applying, label(i18n, BACK))
    async def back_typed(
        message: Message, bot: Bot, state: FSMContext, places: PlaceService, raw_state: str
    ) -> None:
        step = step_of(raw_state) or "name"
        await go_back(bot, message.chat.id, state, places, step)

    # ---- the typed answers -------------------------------------------------------------

    @router.message(Applying.name, typed)
    async def got_name(message: Message, bot: Bot, state: FSMContext, places: PlaceService) -> None:
        name = " ".join((message.text or "").split())
        if not name:
            await ask(bot, message.chat.id, state, places, "name")
            return
        if len(name) > NAME_MAX:
            await message.answer(_too_long(NAME_MAX))
            return
        data = await load(state, KEY)
        data["name"] = name
        await advance(bot, message.chat.id, state, places, "name", data)

    async def got_phone(
        message: Message, bot: Bot, state: FSMContext, places: PlaceService, phone: str
    ) -> None:
        data = await load(state, KEY)
        data["phone"] = phone
        await save(state, KEY, data)
        await leave_phone_step(bot, message.chat.id, data)
        await ask(bot, message.chat.id, state, places, following("phone"))

    @router.message(Applying.phone, F.contact)
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
        try:
            phone = clean_phone(contact.phone_number)
        except InvalidInput:
            await message.answer(_bad_phone())
            return
        await got_phone(message, bot, state, places, phone)

    @router.message(Applying.phone, typed)
    async def got_typed_phone(
        message: Message, bot: Bot, state: FSMContext, places: PlaceService
    ) -> None:
        try:
            phone = clean_phone(message.text or "")
        except InvalidInput:
            await message.answer(_bad_phone())
            return
        await got_phone(message, bot, state, places, phone)

    @router.message(StateFilter(Applying.unit, Applying.resume), typed)
    async def got_free_text(
        message: Message, bot: Bot, state: FSMContext, places: PlaceService, raw_state: str
    ) -> None:
        step = step_of(raw_state)
        assert step in _FREE_TEXT_MAX
        text = (message.text or "").strip()
        if len(text) > _FREE_TEXT_MAX[step]:
            await message.answer(_too_long(_FREE_TEXT_MAX[step]))
            return
        data = await load(state, KEY)
        data[step] = text
        await advance(bot, message.chat.id, state, places, step, data)

    @router.message(in_applying, NotCommandOrMenu(i18n))
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
        await ask(bot, message.chat.id, state, places, step, note=note)

    # ---- the buttons -------------------------------------------------------------------

    @router.callback_query(ApplyCb.filter(F.step.in_({"back", "skip", "cancel"})))
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
        await query.answer()
        await close(query)
        chat_id = query.from_user.id
        if callback_data.step == "cancel":
            await cancel_application(bot, chat_id, state)
        elif callback_data.step == "back":
            await go_back(bot, chat_id, state, places, step)
        elif step in ("unit", "resume"):
            data = await load(state, KEY)
            data[step] = ""
            await advance(bot, chat_id, state, places, step, data)
        else:
            await ask(bot, chat_id, state, places, step)

    @router.callback_query(Applying.category, ApplyCb.filter(F.step == "cat"))
    async def chose_category(
        query: CallbackQuery,
        callback_data: ApplyCb,
        bot: Bot,
        state: FSMContext,
        places: PlaceService,
    ) -> None:
        try:
            category = ObserverCategory(callback_data.value)
        except ValueError:
            await stale(query, "category")
            return
        await query.answer()
        await close(query)
        data = await load(state, KEY)
        data["category"] = category.value
        await advance(bot, query.from_user.id, state, places, "category", data)

    @router.callback_query(Applying.point, ApplyCb.filter(F.step == "point"))
    async def chose_point(
        query: CallbackQuery,
        callback_data: ApplyCb,
        bot: Bot,
        state: FSMContext,
        places: PlaceService,
    ) -> None:
        data = await load(state, KEY)
        if callback_data.value == NO_POINT:
            data["point"], data["point_name"] = None, ""
        else:
            chosen = next(
                (p for p in await places.points() if str(p.id) == callback_data.value), None
            )
            if chosen is None:
                await query.answer(_point_gone(), show_alert=True)
                return
            data["point"], data["point_name"] = chosen.id, chosen.name
        await query.answer()
        await close(query)
        await advance(bot, query.from_user.id, state, places, "point", data)

    @router.callback_query(Applying.confirm, ApplyCb.filter(F.step == "confirm"))
    async def confirm(
        query: CallbackQuery,
        bot: Bot,
        state: FSMContext,
        people: PeopleService,
        places: PlaceService,
        user: CurrentUser,
    ) -> None:
        data = await load(state, KEY)
        chat_id = query.from_user.id
        missing = next((s for s in ("name", "phone", "category") if not data.get(s)), None)
        if missing is not None:  # only a damaged conversation gets here
            await query.answer()
            await ask(bot, chat_id, state, places, missing)
            return
        try:
            await people.apply(
                user.id,
                name=data["name"],
                phone=data["phone"],
                category=ObserverCategory(data["category"]),
                recommending_unit=data.get("unit", ""),
                desired_point_id=data.get("point"),
                resume=data.get("resume", ""),
            )
        except (PointInactive, NotFound):
            # The point closed while the person was typing: choose again.
            await query.answer()
            await close(query)
            data["point"], data["point_name"] = None, ""
            await save(state, KEY, data)
            await ask(bot, chat_id, state, places, "point", note=_point_gone())
            return
        except Conflict:
            await query.answer()
            await close(query)
            await finish(state, KEY)
            standing = await people.standing(user.id)
            await bot.send_message(
                chat_id,
                already_in(standing) or explain(Conflict()),
                reply_markup=_menu_or_remove(data),
            )
            return
        await query.answer()
        await close(query)
        await finish(state, KEY)
        await bot.send_message(
            chat_id,
            _(
                "Your application has been sent to the district office; you will be told "
                "here when it is decided."
            ),
            reply_markup=main_menu() if data.get("menu") else None,
        )

    @router.callback_query(ApplyCb.filter(F.step == "confirm"))
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

    @router.callback_query(ApplyCb.filter())
    async def other_button(query: CallbackQuery, raw_state: str | None) -> None:
        await stale(query, step_of(raw_state))

    return router


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


def _bad_phone() -> str:
    return _(
        "That does not look like a phone number. Please type digits only (for example "
        "13800000000), or tap the button below to share your number."
    )


def _point_gone() -> str:
    return _("That observation point is no longer available. Please choose another one.")
