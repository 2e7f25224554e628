"""Filing a suggestion: a guided conversation with Back and Cancel at every step.

domain → kind → title → details → on whose behalf → location (optional) → preview →
Confirm, with Edit from the preview (see filing.md beside this file).

The draft is plain JSON in the FSM data under ``draft``, which the database keeps in
the update's own transaction: a restart, a crash or a day's pause loses nothing, and a
failed Confirm rolls back to the draft as it was. Its ``key``, made when the draft
starts and carried by the Confirm button, lets the service file a draft only once.

Every inline button names the step it belongs to, and a handler acts only when the
conversation is at that step: a button on an old message says it is out of date rather
than acting on a step the person has already left.

The draft's model is in filing_draft.py, what each step says in filing_texts.py.
"""

from __future__ import annotations

from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, Filter, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.domain.limits import ATTACHMENTS_MAX, BODY_MAX, LOCATION_MAX, TITLE_MAX
from bot.effects import Speech, later
from bot.middlewares.people import CurrentUser
from bot.services.actors import Actor
from bot.services.people import PeopleService
from bot.services.places import PlaceService
from bot.services.suggestions import SuggestionService
from handlers.attachments import attachment_of
from handlers.callbacks import FileCb, MenuCb
from handlers.conversation import (
    PlainText,
    finish,
    joined,
    label,
    load_flow,
    private_router,
    save_flow,
)
from handlers.filing_draft import (
    Album,
    FilingDraft,
    Outcome,
    new_draft,
    next_step,
    previous_step,
    to_service_draft,
)
from handlers.filing_texts import (
    FIELD_LABELS,
    Markup,
    album_note,
    details_rows,
    file_note,
    place_too_long,
    progress,
    question,
    refusal,
    sent_text,
    title_too_long,
    too_long_note,
    unfinished,
)
from handlers.keyboards import BACK, CANCEL, NEW, SKIP, main_menu
from handlers.replies import edit_or_send, keep_flow, modify_flow, remember_flow


class Filing(StatesGroup):
    domain = State()
    kind = State()
    title = State()
    details = State()
    behalf = State()
    location = State()
    preview = State()
    edit = State()  # choosing what to change
    redo = State()  # choosing how to change the details


_STATE: dict[str, State] = {
    "domain": Filing.domain,
    "kind": Filing.kind,
    "title": Filing.title,
    "details": Filing.details,
    "behalf": Filing.behalf,
    "location": Filing.location,
    "preview": Filing.preview,
    "edit": Filing.edit,
    "redo": Filing.redo,
}


def step_of(state_name: str | None) -> str | None:
    """``Filing:title`` → ``title``; None for another flow's state."""
    if state_name is None or not state_name.startswith("Filing:"):
        return None
    return state_name.split(":", 1)[1]


async def load_draft(state: FSMContext) -> FilingDraft:
    return await load_flow(state, FilingDraft)


# ---- talking --------------------------------------------------------------------------


async def strip(bot: Bot, chat_id: int, message_id: int | None) -> None:
    """Take the buttons off an earlier message, so only the current step has any."""
    if message_id is None:
        return
    # After commit; deleted, too old or already without buttons: nothing to take off.
    await bot.edit_message_reply_markup(chat_id=chat_id, message_id=message_id)


def _prompt(draft: FilingDraft, message_id: int) -> None:
    draft.prompt = message_id


def _answer_of_album(draft: FilingDraft, message_id: int) -> None:
    draft.prompt = message_id
    if draft.album is not None:
        draft.album.message = message_id


async def show(
    step: str,
    draft: FilingDraft,
    state: FSMContext,
    bot: Bot,
    chat_id: int,
    *,
    via: Message | None = None,
    lead: str = "",
) -> None:
    """Move to ``step`` and ask its question: in place of ``via`` (the message whose
    button was pressed) when the question has inline buttons, else in a new message."""
    if step == "preview":
        draft.editing, draft.stash = False, None
    if step not in ("edit", "redo"):
        # Where "Continue draft" comes back to; the menus come back to the preview.
        draft.step = step
    draft.album = None
    text, markup = question(step, draft)
    if lead:
        text = f"{lead}\n\n{text}"
    await state.set_state(_STATE[step])
    if via is not None and isinstance(markup, InlineKeyboardMarkup):
        await _ask_in_place(draft, state, bot, chat_id, via, text, markup)
    else:
        await _ask_anew(draft, state, bot, chat_id, via, text, markup)
    await save_flow(state, draft)


async def _ask_in_place(
    draft: FilingDraft,
    state: FSMContext,
    bot: Bot,
    chat_id: int,
    via: Message,
    text: str,
    markup: InlineKeyboardMarkup,
) -> None:
    if draft.prompt is not None and draft.prompt != via.message_id:
        await strip(bot, chat_id, draft.prompt)
    draft.prompt = via.message_id
    # In place of the pressed message, or below it if that cannot be edited.
    edit_or_send(chat_id, via.message_id, text, markup, keep=keep_flow(state, draft, _prompt))


async def _ask_anew(
    draft: FilingDraft,
    state: FSMContext,
    bot: Bot,
    chat_id: int,
    via: Message | None,
    text: str,
    markup: Markup,
) -> None:
    stale = {draft.prompt, via.message_id if via is not None and via.reply_markup else None}
    for message_id in stale - {None}:
        await strip(bot, chat_id, message_id)
    sent = await bot.send_message(chat_id, text, reply_markup=markup)
    draft.prompt = None
    if isinstance(markup, InlineKeyboardMarkup):
        await remember_flow(state, draft, sent, _prompt)


async def turn(
    query: CallbackQuery,
    step: str,
    draft: FilingDraft,
    state: FSMContext,
    bot: Bot,
    note: str | None = None,
) -> None:
    """Answer a pressed button (with ``note``) and show ``step`` in place of its message."""
    chat_id, message = await pressed(query, note)
    await show(step, draft, state, bot, chat_id, via=message)


async def discard(
    draft: FilingDraft, state: FSMContext, bot: Bot, chat_id: int, via: Message | None
) -> None:
    for message_id in {draft.prompt, via.message_id if via and via.reply_markup else None}:
        await strip(bot, chat_id, message_id)
    await finish(state, FilingDraft)
    await bot.send_message(
        chat_id,
        _("Cancelled: the draft has been discarded and nothing was sent."),
        reply_markup=main_menu(),
    )


async def acknowledge(
    message: Message, draft: FilingDraft, state: FSMContext, bot: Bot, note: str
) -> None:
    """Answer what was sent at the details step, with the buttons to go on.

    The parts of an album arrive as separate updates: they share one answer, edited as
    each part arrives, instead of one answer per photo.
    """
    text = "\n\n".join([note, progress(draft), _("Send more, or press <b>Done</b>.")])
    markup = InlineKeyboardMarkup(inline_keyboard=details_rows(draft))
    chat_id = message.chat.id
    album = draft.album or Album()
    group = message.media_group_id
    if group is not None and album.id == group and album.answered:
        # A later part of the album: its answer (sent for an earlier part, in this
        # chat's turn before this) is edited to count this part too.
        answer_album(chat_id, state, text, markup)
        await save_flow(state, draft)
        return
    await strip(bot, chat_id, draft.prompt)
    sent = await message.answer(text, reply_markup=markup)
    draft.prompt = None
    if group is not None:
        album.answered, album.message = True, None
        draft.album = album
    else:
        draft.album = None
    await remember_flow(state, draft, sent, _answer_of_album)
    await save_flow(state, draft)


def answer_album(chat_id: int, state: FSMContext, text: str, markup: InlineKeyboardMarkup) -> None:
    """After commit, in the chat's turn: edit the album's answer, whose id is known by
    then; send a new one if there is none or it cannot be edited."""

    async def work(speech: Speech) -> None:
        draft = await load_draft(state)
        message_id = draft.album.message if draft.album is not None else None
        if message_id is not None and draft.prompt == message_id:
            try:
                await speech.bot.edit_message_text(
                    text, chat_id=chat_id, message_id=message_id, reply_markup=markup
                )
                return
            except TelegramBadRequest as exc:
                if "not modified" in str(exc).lower():
                    return
        sent = await speech.bot.send_message(chat_id, text, reply_markup=markup)

        def put(current: FilingDraft) -> FilingDraft:
            _answer_of_album(current, sent.message_id)
            return current

        await modify_flow(state, FilingDraft, put)

    later(chat_id, work, name="album answer")


async def pressed(query: CallbackQuery, note: str | None = None) -> tuple[int, Message | None]:
    """Answer a pressed button (with ``note``); the chat and the message it is on."""
    await query.answer(note)
    message = query.message if isinstance(query.message, Message) else None
    return (message.chat.id if message else query.from_user.id), message


async def out_of_date(query: CallbackQuery) -> None:
    await query.answer(_("This button is out of date. Please use the latest message."))


class ForTheDraft(Filter):
    """A button made for the draft in progress (its value is the draft's key), whose
    handler is given that ``draft``; a button of an older draft falls to ``on_stale``."""

    async def __call__(
        self, query: CallbackQuery, callback_data: FileCb, state: FSMContext
    ) -> bool | dict[str, Any]:
        draft = await load_draft(state)
        if draft.draft_key and draft.draft_key == callback_data.value:
            return {"draft": draft}
        return False


async def go_back(
    step: str,
    draft: FilingDraft,
    state: FSMContext,
    bot: Bot,
    chat_id: int,
    via: Message | None,
) -> None:
    if draft.editing and draft.stash is not None and step != "redo":
        draft = draft.undone()  # Back from a change undoes it.
    await show(previous_step(step, draft), draft, state, bot, chat_id, via=via)


async def located(
    message: Message, draft: FilingDraft, state: FSMContext, bot: Bot, note: str
) -> None:
    # The location keyboard has done its work: the menu comes back.
    await message.answer(note, reply_markup=main_menu())
    await show("preview", draft, state, bot, message.chat.id)


# ---- starting -------------------------------------------------------------------------


async def on_new(
    event: Message | CallbackQuery,
    user: CurrentUser,
    people: PeopleService,
    places: PlaceService,
    state: FSMContext,
    bot: Bot,
) -> None:
    """📝 New suggestion, /new or the menu's button: a draft, if this person may file."""
    chat_id = event.chat.id if isinstance(event, Message) else (await pressed(event))[0]
    refused = await refusal(user, people, places)
    if refused is not None:
        text, markup = refused
        await bot.send_message(chat_id, text, reply_markup=markup)
        return
    draft = await load_draft(state)
    if draft.draft_key:
        # Never throw away a half-written draft without asking.
        text, offer = unfinished(draft)
        await bot.send_message(chat_id, text, reply_markup=offer)
        return
    await show("domain", new_draft(), state, bot, chat_id)


async def on_resume(
    query: CallbackQuery, callback_data: FileCb, draft: FilingDraft, state: FSMContext, bot: Bot
) -> None:
    chat_id, message = await pressed(query)
    if callback_data.step == "restart":
        await strip(bot, chat_id, draft.prompt)
        await finish(state, FilingDraft)
        draft = new_draft()
    # Back at the step it was left at (a change from the preview stays a change).
    step = draft.step if draft.step in _STATE else "domain"
    await show(step, draft, state, bot, chat_id, via=message)


# ---- the steps chosen with buttons ----------------------------------------------------


async def on_choice(
    query: CallbackQuery, callback_data: FileCb, state: FSMContext, bot: Bot
) -> None:
    """A domain, kind or behalf chosen (registered once for each)."""
    step = callback_data.step
    draft = await load_draft(state)
    if not draft.choose(step, callback_data.value):
        await out_of_date(query)
        return
    await turn(query, next_step(step, draft), draft, state, bot)


async def on_keep_title(query: CallbackQuery, state: FSMContext, bot: Bot) -> None:
    draft = await load_draft(state)
    await turn(query, next_step("title", draft), draft, state, bot)


async def on_done(query: CallbackQuery, state: FSMContext, bot: Bot) -> None:
    draft = await load_draft(state)
    if not draft.body.strip():
        await query.answer(
            _(
                "Please describe it in words first: a draft needs some text. "
                "Your attachments are kept."
            ),
            show_alert=True,
        )
        return
    await turn(query, next_step("details", draft), draft, state, bot)


# ---- back and cancel ------------------------------------------------------------------


async def on_back(query: CallbackQuery, callback_data: FileCb, state: FSMContext, bot: Bot) -> None:
    step = step_of(await state.get_state())
    if step is None or step != callback_data.value or step == "location":
        await out_of_date(query)
        return
    draft = await load_draft(state)
    if step == "domain" and not draft.editing:
        await out_of_date(query)  # the first step has nowhere to go back to
        return
    chat_id, message = await pressed(query)
    await go_back(step, draft, state, bot, chat_id, message)


async def on_cancel(query: CallbackQuery, draft: FilingDraft, state: FSMContext, bot: Bot) -> None:
    chat_id, message = await pressed(query)
    await discard(draft, state, bot, chat_id, message)


async def on_cancel_typed(message: Message, state: FSMContext, bot: Bot) -> None:
    draft = await load_draft(state)
    await discard(draft, state, bot, message.chat.id, None)


async def on_back_typed(message: Message, state: FSMContext, bot: Bot) -> None:
    step = step_of(await state.get_state()) or "domain"
    draft = await load_draft(state)
    if step == "domain" and not draft.editing:
        await show(step, draft, state, bot, message.chat.id)
        return
    if step == "location":
        # The location keyboard gives way to the menu again.
        await message.answer(_("Back to the previous step."), reply_markup=main_menu())
    await go_back(step, draft, state, bot, message.chat.id, None)


# ---- title ----------------------------------------------------------------------------


async def on_title(message: Message, state: FSMContext, bot: Bot) -> None:
    title = " ".join((message.text or "").split())
    if not title:
        await on_title_other(message)
        return
    if len(title) > TITLE_MAX:
        await message.answer(title_too_long(title))
        return
    draft = await load_draft(state)
    draft.title = title
    await show(next_step("title", draft), draft, state, bot, message.chat.id)


async def on_title_other(message: Message) -> None:
    await message.answer(_("Please type the title as text."))


# ---- details --------------------------------------------------------------------------


async def on_details_text(message: Message, state: FSMContext, bot: Bot) -> None:
    text = (message.text or "").strip()
    draft = await load_draft(state)
    body = joined(draft.body, text)
    if len(body) > BODY_MAX:
        note = too_long_note(draft, text)
    else:
        draft.body = body
        note = _("Added to the details.")
    await acknowledge(message, draft, state, bot, note)


async def on_details_file(message: Message, state: FSMContext, bot: Bot) -> None:
    draft = await load_draft(state)
    attachment = attachment_of(message)
    assert attachment is not None  # the filter lets only photos and documents in
    caption = (message.caption or "").strip()
    outcome = _take(draft, attachment, caption)
    group = message.media_group_id
    if group is None:
        note = file_note(outcome, attachment, draft, caption)
    else:
        note = album_note(_counted(draft, group, outcome))
    await acknowledge(message, draft, state, bot, note)


def _take(draft: FilingDraft, attachment: dict[str, Any], caption: str) -> Outcome:
    # A message is taken whole or not at all: never a photo without its caption.
    body = joined(draft.body, caption)
    if len(draft.attachments) >= ATTACHMENTS_MAX:
        return "full"
    if len(body) > BODY_MAX:
        return "long"
    draft.attachments.append(attachment)
    draft.body = body
    return "added"


def _counted(draft: FilingDraft, group: str, outcome: Outcome) -> Album:
    album = draft.album if draft.album is not None and draft.album.id == group else None
    album = album or Album(id=group)
    album.count(outcome)
    draft.album = album
    return album


async def on_details_other(message: Message, state: FSMContext, bot: Bot) -> None:
    draft = await load_draft(state)
    note = _(
        "That cannot be added. Send text, photos or documents; stickers, voice "
        "messages and the like cannot be kept. Nothing else was lost."
    )
    await acknowledge(message, draft, state, bot, note)


# ---- location -------------------------------------------------------------------------


async def on_skip_location(message: Message, state: FSMContext, bot: Bot) -> None:
    draft = await load_draft(state)
    draft.forget_location()
    await located(message, draft, state, bot, _("No location."))


async def on_location(message: Message, state: FSMContext, bot: Bot) -> None:
    assert message.location is not None
    draft = await load_draft(state)
    draft.forget_location()
    draft.latitude = message.location.latitude
    draft.longitude = message.location.longitude
    await located(message, draft, state, bot, _("Location noted."))


async def on_place(message: Message, state: FSMContext, bot: Bot) -> None:
    place = (message.text or "").strip()
    if len(place) > LOCATION_MAX:
        await message.answer(place_too_long(place))
        return
    draft = await load_draft(state)
    draft.forget_location()
    draft.location_text = place
    await located(message, draft, state, bot, _("Place noted."))


async def on_location_other(message: Message) -> None:
    await message.answer(
        _(
            "Please send your location with the button below, type the place, or press {skip}."
        ).format(skip=_(SKIP))
    )


# ---- preview and edit -----------------------------------------------------------------


async def on_edit(query: CallbackQuery, state: FSMContext, bot: Bot) -> None:
    await turn(query, "edit", await load_draft(state), state, bot)


async def on_change(
    query: CallbackQuery, callback_data: FileCb, state: FSMContext, bot: Bot
) -> None:
    field = callback_data.value
    if field not in FIELD_LABELS:
        await out_of_date(query)
        return
    draft = await load_draft(state)
    draft.begin_change()
    await turn(query, "redo" if field == "details" else field, draft, state, bot)


async def on_redo(query: CallbackQuery, callback_data: FileCb, state: FSMContext, bot: Bot) -> None:
    draft = await load_draft(state)
    how = callback_data.value
    if how in ("rewrite", "add"):
        if how == "rewrite":
            draft.body = ""
        await turn(query, "details", draft, state, bot)
    elif how == "drop" and draft.attachments:
        draft.attachments = []
        await turn(query, "preview", draft, state, bot, _("The attachments were removed."))
    else:
        await out_of_date(query)


async def on_confirm(
    query: CallbackQuery,
    callback_data: FileCb,
    state: FSMContext,
    actor: Actor,
    suggestions: SuggestionService,
    bot: Bot,
) -> None:
    key = callback_data.value
    draft = await load_draft(state)
    ours = bool(key) and draft.draft_key == key
    if not ours or step_of(await state.get_state()) != "preview":
        await not_filed(query, key, ours, actor, suggestions)
        return
    # A refusal here (suspended meanwhile, point closed) escapes to the error handler;
    # the transaction rolls back and the draft stays as it was.
    item = await suggestions.submit(actor, to_service_draft(draft))
    await finish(state, FilingDraft)
    chat_id, message = await pressed(query)
    if message is not None and message.reply_markup is not None:
        await strip(bot, chat_id, message.message_id)
    await bot.send_message(chat_id, sent_text(item), reply_markup=main_menu())


async def not_filed(
    query: CallbackQuery, key: str, ours: bool, actor: Actor, suggestions: SuggestionService
) -> None:
    """Why a Confirm filed nothing: filed before, not at the preview, or gone."""
    filed = await suggestions.filed(actor, key) if key else None
    if filed is not None:
        await query.answer(
            _("This draft has already been filed as {reference}.").format(
                reference=filed.reference
            ),
            show_alert=True,
        )
    elif ours:
        await query.answer(
            _("Please finish the step in progress first; the preview will come back.")
        )
    else:
        await query.answer(_("This draft is no longer available."), show_alert=True)


# ---- anything else at a button step ---------------------------------------------------


async def on_typed_at_button_step(message: Message, state: FSMContext, bot: Bot) -> None:
    draft = await load_draft(state)
    step = step_of(await state.get_state()) or "domain"
    if not draft.draft_key:
        await finish(state, FilingDraft)  # a step without its draft: nothing to go on with
        return
    await show(step, draft, state, bot, message.chat.id, lead=_("Please use the buttons."))


async def on_stale(query: CallbackQuery) -> None:
    await out_of_date(query)


# ---- the router -----------------------------------------------------------------------


def setup(i18n: I18n) -> Router:
    router = private_router("filing")
    _register_buttons(router, i18n)
    _register_answers(router, i18n)
    _register_preview(router)
    return router


def _register_buttons(router: Router, i18n: I18n) -> None:
    """Starting, the steps chosen with buttons, Back and Cancel."""
    router.message.register(on_new, label(i18n, NEW))
    router.message.register(on_new, Command("new"))
    router.callback_query.register(on_new, MenuCb.filter(F.go == "new"))
    for_the_draft = ForTheDraft()
    router.callback_query.register(
        on_resume, FileCb.filter(F.step.in_({"resume", "restart"})), for_the_draft
    )
    for step in ("domain", "kind", "behalf"):
        router.callback_query.register(on_choice, _STATE[step], FileCb.filter(F.step == step))
    router.callback_query.register(on_keep_title, Filing.title, FileCb.filter(F.step == "keep"))
    router.callback_query.register(on_done, Filing.details, FileCb.filter(F.step == "done"))
    router.callback_query.register(on_back, FileCb.filter(F.step == "back"))
    router.callback_query.register(on_cancel, FileCb.filter(F.step == "cancel"), for_the_draft)
    in_filing = StateFilter(*_STATE.values())
    router.message.register(on_cancel_typed, in_filing, label(i18n, CANCEL))
    router.message.register(on_back_typed, in_filing, label(i18n, BACK))


def _register_answers(router: Router, i18n: I18n) -> None:
    """What is typed or sent at the title, details and location steps."""
    typed = PlainText(i18n)
    router.message.register(on_title, Filing.title, typed)
    router.message.register(on_title_other, Filing.title, ~F.text)
    router.message.register(on_details_text, Filing.details, typed)
    router.message.register(on_details_file, Filing.details, F.photo | F.document)
    router.message.register(on_details_other, Filing.details, ~F.text)
    router.message.register(on_skip_location, Filing.location, label(i18n, SKIP))
    router.message.register(on_location, Filing.location, F.location)
    router.message.register(on_place, Filing.location, typed)
    router.message.register(on_location_other, Filing.location)


def _register_preview(router: Router) -> None:
    """The preview and its edits, Confirm, and anything else."""
    router.callback_query.register(on_edit, Filing.preview, FileCb.filter(F.step == "edit"))
    router.callback_query.register(on_change, Filing.edit, FileCb.filter(F.step == "change"))
    router.callback_query.register(on_redo, Filing.redo, FileCb.filter(F.step == "redo"))
    router.callback_query.register(on_confirm, FileCb.filter(F.step == "confirm"))
    at_button_step = StateFilter(
        Filing.domain, Filing.kind, Filing.behalf, Filing.preview, Filing.edit, Filing.redo
    )
    router.message.register(on_typed_at_button_step, at_button_step)
    router.callback_query.register(on_stale, FileCb.filter())
