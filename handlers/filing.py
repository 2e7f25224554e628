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
"""

from __future__ import annotations

import copy
import html
import re
import uuid
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
)
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.domain.limits import ATTACHMENTS_MAX, BODY_MAX, LOCATION_MAX, TITLE_MAX
from bot.domain.statuses import (
    AttachmentKind,
    Behalf,
    FocusDomain,
    ObserverStatus,
    SuggestionKind,
)
from bot.effects import Speech, later
from bot.middlewares.people import CurrentUser
from bot.services.actors import Actor
from bot.services.people import PeopleService
from bot.services.places import PlaceService
from bot.services.suggestions import SuggestionService
from bot.services.views import Draft
from handlers import labels
from handlers.attachments import attachment_of, attachments_in
from handlers.callbacks import ApplyCb, FileCb, MenuCb
from handlers.conversation import PlainText, finish, label, load, save
from handlers.keyboards import BACK, CANCEL, NEW, SKIP, button, main_menu
from handlers.moving import MoveCb
from handlers.replies import edit_or_send, keep_in, modify, remember
from handlers.ui import BUTTON_TEXT_MAX, MESSAGE_MAX, N_, clip, day, esc, telegram_length

DRAFT = "draft"
# The numbered steps, in order; the preview, the edit menu and the details choice
# ("redo") are states too, but not numbered.
STEPS = ("domain", "kind", "title", "details", "behalf", "location")
# What an edit may change, saved before it starts so that Back can undo it.
FIELDS = (
    "domain",
    "kind",
    "title",
    "body",
    "attachments",
    "behalf",
    "location_text",
    "latitude",
    "longitude",
)
LOCATION_BUTTON = N_("📍 Send my location")
_FIELD_LABEL = {
    "domain": N_("Domain"),
    "kind": N_("Kind"),
    "title": N_("Title"),
    "details": N_("Details"),
    "behalf": N_("On whose behalf"),
    "location": N_("Location"),
}


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


# ---- the draft ------------------------------------------------------------------------


def new_draft() -> dict[str, Any]:
    return {
        "key": uuid.uuid4().hex,
        "step": "domain",
        "domain": None,
        "kind": None,
        "title": "",
        "body": "",
        "attachments": [],
        "behalf": None,
        "location_text": None,
        "latitude": None,
        "longitude": None,
        # Set while one field is changed from the preview: its step returns there.
        "editing": False,
        "stash": None,
        # The message whose inline buttons belong to the current step.
        "prompt": None,
        # The album being acknowledged in one edited message.
        "album": None,
    }


async def load_draft(state: FSMContext) -> dict[str, Any]:
    # A deep copy: the stored JSON must never be changed in place, or the change
    # might not be seen as one and never be written.
    return copy.deepcopy(await load(state, DRAFT))


def to_service_draft(draft: dict[str, Any]) -> Draft:
    latitude, longitude = draft.get("latitude"), draft.get("longitude")
    return Draft(
        kind=SuggestionKind(draft["kind"]),
        domain=FocusDomain(draft["domain"]),
        title=draft["title"],
        body=draft["body"],
        behalf=Behalf(draft["behalf"]),
        location_text=draft.get("location_text") or None,
        latitude=float(latitude) if latitude is not None else None,
        longitude=float(longitude) if longitude is not None else None,
        attachments=attachments_in(draft["attachments"]),
        key=draft["key"],
    )


def joined(body: str, text: str) -> str:
    return f"{body}\n\n{text}" if body else text


def room_left(body: str) -> int:
    return max(0, BODY_MAX - len(body) - (2 if body else 0))


def next_step(step: str, draft: dict[str, Any]) -> str:
    if draft.get("editing") or step == STEPS[-1]:
        return "preview"
    return STEPS[STEPS.index(step) + 1]


def previous_step(step: str, draft: dict[str, Any]) -> str:
    if step == "redo":
        return "edit"
    if step == "edit" or draft.get("editing"):
        return "preview"
    if step == "preview":
        return STEPS[-1]
    return STEPS[max(0, STEPS.index(step) - 1)]


# ---- what each step says --------------------------------------------------------------


def field_line(name: str, value: str) -> str:
    return _("<b>{label}:</b> {value}").format(label=_(_FIELD_LABEL[name]), value=value)


def header(step: str, draft: dict[str, Any]) -> str:
    if draft.get("editing"):
        return _("<b>Changing the draft</b>")
    return _("<b>New suggestion</b> · step {number} of {total}").format(
        number=STEPS.index(step) + 1, total=len(STEPS)
    )


def progress(draft: dict[str, Any]) -> str:
    return _(
        "So far: {chars} of {chars_max} characters, {files} of {files_max} attachments."
    ).format(
        chars=len(draft["body"]),
        chars_max=BODY_MAX,
        files=len(draft["attachments"]),
        files_max=ATTACHMENTS_MAX,
    )


def location_value(draft: dict[str, Any]) -> str:
    if draft.get("latitude") is not None and draft.get("longitude") is not None:
        coordinates = f"{draft['latitude']:.5f}, {draft['longitude']:.5f}"
        return _("📍 shared location ({coordinates})").format(coordinates=coordinates)
    if draft.get("location_text"):
        return esc(draft["location_text"])
    return _("not given")


def attachments_value(draft: dict[str, Any]) -> str:
    files = draft["attachments"]
    if not files:
        return _("none")
    photos = sum(1 for a in files if a["kind"] == AttachmentKind.PHOTO.value)
    return _("{count} (photos: {photos}, documents: {documents})").format(
        count=len(files), photos=photos, documents=len(files) - photos
    )


def _plain(markup: str) -> str:
    """What Telegram shows of our own HTML (all user text in it is already escaped)."""
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def preview_text(draft: dict[str, Any]) -> str:
    frame = "\n".join(
        [
            _(
                "<b>Preview</b>. Check everything, then press <b>Confirm</b> to send it to "
                "the district rule-of-law office."
            ),
            "",
            field_line("domain", labels.domain(FocusDomain(draft["domain"]))),
            field_line("kind", labels.kind(SuggestionKind(draft["kind"]))),
            field_line("title", esc(draft["title"])),
            field_line("behalf", labels.behalf(Behalf(draft["behalf"]))),
            field_line("location", location_value(draft)),
            _("<b>Attachments:</b> {value}").format(value=attachments_value(draft)),
            field_line("details", "").rstrip(),
            "",
        ]
    )
    # The body comes last and takes what room is left, so the whole fits one message.
    room = MESSAGE_MAX - telegram_length(_plain(frame)) - 8
    return frame + esc(clip(draft["body"], room))


def choices(
    step: str, options: list[tuple[str, str]], current: str | None
) -> list[list[InlineKeyboardButton]]:
    """One button per option; the present choice is ticked."""
    return [
        [button(("✓ " if value == current else "") + text, FileCb(step=step, value=value).pack())]
        for value, text in options
    ]


def nav(step: str, draft: dict[str, Any], *, back: bool = True) -> list[InlineKeyboardButton]:
    row = []
    if back:
        row.append(button(_(BACK), FileCb(step="back", value=step).pack()))
    row.append(button(_(CANCEL), FileCb(step="cancel", value=draft["key"]).pack()))
    return row


def location_keyboard() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=_(LOCATION_BUTTON), request_location=True)],
            [KeyboardButton(text=_(SKIP))],
            [KeyboardButton(text=_(BACK)), KeyboardButton(text=_(CANCEL))],
        ],
        resize_keyboard=True,
    )


def question(
    step: str, draft: dict[str, Any]
) -> tuple[str, InlineKeyboardMarkup | ReplyKeyboardMarkup]:
    """The text and buttons that ask for ``step``."""
    rows: list[list[InlineKeyboardButton]]
    if step == "domain":
        text = _("Which area does it concern? Choose the focus domain.")
        rows = choices(
            "domain", [(d.value, labels.domain(d)) for d in FocusDomain], draft["domain"]
        )
        rows.append(nav(step, draft, back=bool(draft.get("editing"))))
    elif step == "kind":
        text = _("Is it a suggestion, an opinion or a problem?")
        rows = choices("kind", [(k.value, labels.kind(k)) for k in SuggestionKind], draft["kind"])
        rows.append(nav(step, draft))
    elif step == "title":
        text = _("Type a short title, at most {limit} characters.").format(limit=TITLE_MAX)
        rows = []
        if draft["title"]:
            text += "\n\n" + _("Now: {value}").format(value=esc(draft["title"]))
            rows.append([button(_("Keep this title"), FileCb(step="keep").pack())])
        rows.append(nav(step, draft))
    elif step == "details":
        text = _(
            "Describe it in detail: what happened, where, since when, who is affected and "
            "what you propose. You can send several messages and add photos or documents "
            "(up to {limit}). Press <b>Done</b> when you have finished."
        ).format(limit=ATTACHMENTS_MAX)
        if draft["body"] or draft["attachments"]:
            text += "\n\n" + progress(draft)
        rows = details_rows(draft)
    elif step == "behalf":
        text = _("On whose behalf do you raise it?")
        rows = choices("behalf", [(b.value, labels.behalf(b)) for b in Behalf], draft["behalf"])
        rows.append(nav(step, draft))
    elif step == "location":
        text = _(
            "Where is it? This step is optional: press <b>{button}</b>, type an address or "
            "describe the place (at most {limit} characters), or press <b>{skip}</b>."
        ).format(button=_(LOCATION_BUTTON), limit=LOCATION_MAX, skip=_(SKIP))
        if draft.get("location_text") or draft.get("latitude") is not None:
            text += "\n\n" + _("Now: {value}").format(value=location_value(draft))
        return header(step, draft) + "\n\n" + text, location_keyboard()
    elif step == "preview":
        return preview_text(draft), InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    button(_("✅ Confirm"), FileCb(step="confirm", value=draft["key"]).pack()),
                    button(_("✏️ Edit"), FileCb(step="edit").pack()),
                ],
                nav("preview", draft),
            ]
        )
    elif step == "edit":
        return _("What do you want to change?"), InlineKeyboardMarkup(
            inline_keyboard=[
                *(
                    [button(_(text), FileCb(step="change", value=name).pack())]
                    for name, text in _FIELD_LABEL.items()
                ),
                nav("edit", draft),
            ]
        )
    else:  # redo
        text = _("The details: write the text again, add to it, or remove the attachments?")
        rows = [
            [button(_("✍️ Write the text again"), FileCb(step="redo", value="rewrite").pack())],
            [button(_("➕ Add text or files"), FileCb(step="redo", value="add").pack())],
        ]
        if draft["attachments"]:
            rows.append(
                [button(_("🗑 Remove the attachments"), FileCb(step="redo", value="drop").pack())]
            )
        rows.append(nav("redo", draft))
        return text, InlineKeyboardMarkup(inline_keyboard=rows)
    return header(step, draft) + "\n\n" + text, InlineKeyboardMarkup(inline_keyboard=rows)


def details_rows(draft: dict[str, Any]) -> list[list[InlineKeyboardButton]]:
    return [[button(_("✅ Done"), FileCb(step="done").pack())], nav("details", draft)]


# ---- who may file ---------------------------------------------------------------------


async def refusal(
    user: CurrentUser, people: PeopleService, places: PlaceService
) -> tuple[str, InlineKeyboardMarkup | None] | None:
    """Why this person cannot file now, with what they can do about it; None if they can."""
    standing = await people.standing(user.id)
    observer = standing.observer
    if observer is not None and observer.status is ObserverStatus.APPOINTED:
        if observer.point_id is None:
            return None
        active = await places.points(active_only=True)
        if any(p.id == observer.point_id for p in active):
            return None
        return (
            _(
                "Your observation point <b>{point}</b> has been closed. Please choose "
                "another point first; then you can file."
            ).format(point=esc(standing.point_name or "—")),
            # The choice itself is the moving flow's (handlers/moving.py).
            InlineKeyboardMarkup(
                inline_keyboard=[
                    [
                        button(
                            clip(f"{p.code} · {p.name}", BUTTON_TEXT_MAX),
                            MoveCb(point=p.id).pack(),
                        )
                    ]
                    for p in active
                ]
            )
            if active
            else None,
        )
    if observer is not None and observer.status is ObserverStatus.SUSPENDED:
        return (
            _(
                "Your appointment is suspended, so you cannot file new items for now. You "
                "can still follow, answer and rate the ones you filed under <b>My "
                "suggestions</b>."
            ),
            None,
        )
    if standing.pending_application is not None:
        return (
            _(
                "Only appointed observers can file suggestions. Your application is being "
                "reviewed by the district office; you will be told here when it is decided."
            ),
            None,
        )
    if observer is not None and observer.status is ObserverStatus.NOMINATED:
        return (
            _(
                "Only appointed observers can file suggestions. You have been nominated; "
                "you will be told here when the district office appoints you."
            ),
            None,
        )
    return (
        _(
            "Only appointed observers can file suggestions: the scheme needs an "
            "appointment by the district rule-of-law office. Apply to become an observer, "
            "or open the invite link if the office sent you one."
        ),
        InlineKeyboardMarkup(
            inline_keyboard=[
                [button(_("📝 Apply to become an observer"), ApplyCb(step="begin").pack())]
            ]
        ),
    )


# ---- talking --------------------------------------------------------------------------


async def strip(bot: Bot, chat_id: int, message_id: int | None) -> None:
    """Take the buttons off an earlier message, so only the current step has any."""
    if message_id is None:
        return
    # After commit; deleted, too old or already without buttons: nothing to take off.
    await bot.edit_message_reply_markup(chat_id=chat_id, message_id=message_id)


def _prompt(draft: dict[str, Any], message_id: int) -> None:
    draft["prompt"] = message_id


async def show(
    step: str,
    draft: dict[str, Any],
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
        draft["editing"], draft["stash"] = False, None
    if step not in ("edit", "redo"):
        # Where "Continue draft" comes back to; the menus come back to the preview.
        draft["step"] = step
    draft["album"] = None
    text, markup = question(step, draft)
    if lead:
        text = f"{lead}\n\n{text}"
    await state.set_state(_STATE[step])
    old = draft.get("prompt")
    if via is not None and isinstance(markup, InlineKeyboardMarkup):
        if old is not None and old != via.message_id:
            await strip(bot, chat_id, old)
        draft["prompt"] = via.message_id
        # In place of the pressed message, or below it if that cannot be edited.
        keep = keep_in(state, DRAFT, draft, _prompt)
        edit_or_send(chat_id, via.message_id, text, markup, keep=keep)
    else:
        stale = {old, via.message_id if via is not None and via.reply_markup else None}
        for message_id in stale - {None}:
            await strip(bot, chat_id, message_id)
        sent = await bot.send_message(chat_id, text, reply_markup=markup)
        draft["prompt"] = None
        if isinstance(markup, InlineKeyboardMarkup):
            await remember(state, DRAFT, draft, sent, _prompt)
    await save(state, DRAFT, draft)


async def start_draft(
    state: FSMContext, bot: Bot, chat_id: int, *, via: Message | None = None
) -> None:
    await show("domain", new_draft(), state, bot, chat_id, via=via)


async def discard(
    draft: dict[str, Any], state: FSMContext, bot: Bot, chat_id: int, via: Message | None
) -> None:
    for message_id in {draft.get("prompt"), via.message_id if via and via.reply_markup else None}:
        await strip(bot, chat_id, message_id)
    await finish(state, DRAFT)
    await bot.send_message(
        chat_id,
        _("Cancelled: the draft has been discarded and nothing was sent."),
        reply_markup=main_menu(),
    )


async def acknowledge(
    message: Message, draft: dict[str, Any], state: FSMContext, bot: Bot, note: str
) -> None:
    """Answer what was sent at the details step, with the buttons to go on.

    The parts of an album arrive as separate updates: they share one answer, edited as
    each part arrives, instead of one answer per photo.
    """
    text = "\n\n".join([note, progress(draft), _("Send more, or press <b>Done</b>.")])
    markup = InlineKeyboardMarkup(inline_keyboard=details_rows(draft))
    chat_id = message.chat.id
    album = draft.get("album") or {}
    group = message.media_group_id
    if group is not None and album.get("id") == group and album.get("answered"):
        # A later part of the album: its answer (sent for an earlier part, in this
        # chat's turn before this) is edited to count this part too.
        answer_album(chat_id, state, text, markup)
        await save(state, DRAFT, draft)
        return
    await strip(bot, chat_id, draft.get("prompt"))
    sent = await message.answer(text, reply_markup=markup)
    draft["prompt"] = None
    if group is not None:
        album["answered"], album["message"] = True, None
        draft["album"] = album
    else:
        draft["album"] = None
    await remember(state, DRAFT, draft, sent, _answer_of_album)
    await save(state, DRAFT, draft)


def _answer_of_album(draft: dict[str, Any], message_id: int) -> None:
    draft["prompt"] = message_id
    if draft.get("album"):
        draft["album"]["message"] = message_id


def answer_album(chat_id: int, state: FSMContext, text: str, markup: InlineKeyboardMarkup) -> None:
    """After commit, in the chat's turn: edit the album's answer, whose id is known by
    then; send a new one if there is none or it cannot be edited."""

    async def work(speech: Speech) -> None:
        draft = await load_draft(state)
        album = draft.get("album") or {}
        message_id = album.get("message")
        if message_id is not None and draft.get("prompt") == message_id:
            try:
                await speech.bot.edit_message_text(
                    text, chat_id=chat_id, message_id=message_id, reply_markup=markup
                )
                return
            except TelegramBadRequest as exc:
                if "not modified" in str(exc).lower():
                    return
        sent = await speech.bot.send_message(chat_id, text, reply_markup=markup)

        def put(current: dict[str, Any]) -> dict[str, Any]:
            _answer_of_album(current, sent.message_id)
            return current

        await modify(state, DRAFT, put)

    later(chat_id, work, name="album answer")


def album_note(album: dict[str, Any]) -> str:
    notes = []
    if album["added"]:
        notes.append(_("Files added from the album: {count}.").format(count=album["added"]))
    if album["full"]:
        notes.append(
            _(
                "{count} not added: a draft can hold at most {limit} attachments. Nothing "
                "else was lost."
            ).format(count=album["full"], limit=ATTACHMENTS_MAX)
        )
    if album["long"]:
        notes.append(
            _(
                "{count} not added: their captions would make the details longer than "
                "{limit} characters. Nothing else was lost."
            ).format(count=album["long"], limit=BODY_MAX)
        )
    return "\n".join(notes)


def chat_of(query: CallbackQuery) -> tuple[int, Message | None]:
    message = query.message if isinstance(query.message, Message) else None
    return (message.chat.id if message else query.from_user.id), message


async def out_of_date(query: CallbackQuery) -> None:
    await query.answer(_("This button is out of date. Please use the latest message."))


# ---- the router -----------------------------------------------------------------------


async def begin(
    chat_id: int,
    user: CurrentUser,
    people: PeopleService,
    places: PlaceService,
    state: FSMContext,
    bot: Bot,
    via: Message | None = None,
) -> None:
    refused = await refusal(user, people, places)
    if refused is not None:
        text, markup = refused
        await bot.send_message(chat_id, text, reply_markup=markup)
        return
    draft = await load_draft(state)
    if draft.get("key"):
        # Never throw away a half-written draft without asking.
        title = draft.get("title")
        text = _("You have an unfinished draft. Continue it, or start over?")
        if title:
            text += "\n\n" + field_line("title", esc(title))
        await bot.send_message(
            chat_id,
            text,
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[
                    [
                        button(
                            _("▶️ Continue draft"),
                            FileCb(step="resume", value=draft["key"]).pack(),
                        )
                    ],
                    [
                        button(
                            _("🆕 Start over"),
                            FileCb(step="restart", value=draft["key"]).pack(),
                        )
                    ],
                ]
            ),
        )
        return
    await start_draft(state, bot, chat_id, via=via)


async def choose(
    query: CallbackQuery,
    step: str,
    value: str,
    allowed: type[FocusDomain] | type[SuggestionKind] | type[Behalf],
    state: FSMContext,
    bot: Bot,
) -> None:
    if value not in {member.value for member in allowed}:
        await out_of_date(query)
        return
    draft = await load_draft(state)
    draft[step] = value
    await query.answer()
    chat_id, message = chat_of(query)
    await show(next_step(step, draft), draft, state, bot, chat_id, via=message)


async def go_back(
    step: str,
    draft: dict[str, Any],
    state: FSMContext,
    bot: Bot,
    chat_id: int,
    via: Message | None,
) -> None:
    if draft.get("editing") and isinstance(draft.get("stash"), dict) and step != "redo":
        # Back from a change undoes it.
        draft.update(draft["stash"])
    await show(previous_step(step, draft), draft, state, bot, chat_id, via=via)


def too_long_note(draft: dict[str, Any], text: str) -> str:
    return _(
        "Not added: the details can be at most {limit} characters in all, and this "
        "message has {length}; {room} characters are left. Nothing else was lost. "
        "Please send a shorter text."
    ).format(limit=BODY_MAX, length=len(text), room=room_left(draft["body"]))


async def located(
    message: Message, draft: dict[str, Any], state: FSMContext, bot: Bot, note: str
) -> None:
    # The location keyboard has done its work: the menu comes back.
    await message.answer(note, reply_markup=main_menu())
    await show("preview", draft, state, bot, message.chat.id)


def setup(i18n: I18n) -> Router:
    router = Router(name="filing")
    router.message.filter(F.chat.type == "private")
    router.callback_query.filter(F.message.chat.type == "private")
    in_filing = StateFilter(*_STATE.values())

    # ---- starting -------------------------------------------------------------------

    @router.message(Command("new"))
    @router.message(label(i18n, NEW))
    async def on_new(
        message: Message,
        user: CurrentUser,
        people: PeopleService,
        places: PlaceService,
        state: FSMContext,
        bot: Bot,
    ) -> None:
        await begin(message.chat.id, user, people, places, state, bot)

    @router.callback_query(MenuCb.filter(F.go == "new"))
    async def on_menu_new(
        query: CallbackQuery,
        user: CurrentUser,
        people: PeopleService,
        places: PlaceService,
        state: FSMContext,
        bot: Bot,
    ) -> None:
        await query.answer()
        chat_id, _message = chat_of(query)
        await begin(chat_id, user, people, places, state, bot)

    @router.callback_query(FileCb.filter(F.step.in_({"resume", "restart"})))
    async def on_resume(
        query: CallbackQuery, callback_data: FileCb, state: FSMContext, bot: Bot
    ) -> None:
        draft = await load_draft(state)
        chat_id, message = chat_of(query)
        if draft.get("key") != callback_data.value:
            await out_of_date(query)
            return
        await query.answer()
        if callback_data.step == "restart":
            await strip(bot, chat_id, draft.get("prompt"))
            await finish(state, DRAFT)
            await start_draft(state, bot, chat_id, via=message)
            return
        # Back at the step it was left at (a change from the preview stays a change).
        step = str(draft.get("step"))
        await show(step if step in _STATE else "domain", draft, state, bot, chat_id, via=message)

    # ---- the steps chosen with buttons ------------------------------------------------

    @router.callback_query(Filing.domain, FileCb.filter(F.step == "domain"))
    async def on_domain(
        query: CallbackQuery, callback_data: FileCb, state: FSMContext, bot: Bot
    ) -> None:
        await choose(query, "domain", callback_data.value, FocusDomain, state, bot)

    @router.callback_query(Filing.kind, FileCb.filter(F.step == "kind"))
    async def on_kind(
        query: CallbackQuery, callback_data: FileCb, state: FSMContext, bot: Bot
    ) -> None:
        await choose(query, "kind", callback_data.value, SuggestionKind, state, bot)

    @router.callback_query(Filing.behalf, FileCb.filter(F.step == "behalf"))
    async def on_behalf(
        query: CallbackQuery, callback_data: FileCb, state: FSMContext, bot: Bot
    ) -> None:
        await choose(query, "behalf", callback_data.value, Behalf, state, bot)

    @router.callback_query(Filing.title, FileCb.filter(F.step == "keep"))
    async def on_keep_title(query: CallbackQuery, state: FSMContext, bot: Bot) -> None:
        draft = await load_draft(state)
        await query.answer()
        chat_id, message = chat_of(query)
        await show(next_step("title", draft), draft, state, bot, chat_id, via=message)

    @router.callback_query(Filing.details, FileCb.filter(F.step == "done"))
    async def on_done(query: CallbackQuery, state: FSMContext, bot: Bot) -> None:
        draft = await load_draft(state)
        if not draft["body"].strip():
            await query.answer(
                _(
                    "Please describe it in words first: a draft needs some text. "
                    "Your attachments are kept."
                ),
                show_alert=True,
            )
            return
        await query.answer()
        chat_id, message = chat_of(query)
        await show(next_step("details", draft), draft, state, bot, chat_id, via=message)

    # ---- back and cancel ------------------------------------------------------------

    @router.callback_query(FileCb.filter(F.step == "back"))
    async def on_back(
        query: CallbackQuery, callback_data: FileCb, state: FSMContext, bot: Bot
    ) -> None:
        step = step_of(await state.get_state())
        if step is None or step != callback_data.value or step == "location":
            await out_of_date(query)
            return
        draft = await load_draft(state)
        if step == "domain" and not draft.get("editing"):
            await out_of_date(query)  # the first step has nowhere to go back to
            return
        await query.answer()
        chat_id, message = chat_of(query)
        await go_back(step, draft, state, bot, chat_id, message)

    @router.callback_query(FileCb.filter(F.step == "cancel"))
    async def on_cancel(
        query: CallbackQuery, callback_data: FileCb, state: FSMContext, bot: Bot
    ) -> None:
        draft = await load_draft(state)
        chat_id, message = chat_of(query)
        if not draft.get("key") or draft["key"] != callback_data.value:
            await out_of_date(query)
            return
        await query.answer()
        await discard(draft, state, bot, chat_id, message)

    @router.message(in_filing, label(i18n, CANCEL))
    async def on_cancel_typed(message: Message, state: FSMContext, bot: Bot) -> None:
        draft = await load_draft(state)
        await discard(draft, state, bot, message.chat.id, None)

    @router.message(in_filing, label(i18n, BACK))
    async def on_back_typed(message: Message, state: FSMContext, bot: Bot) -> None:
        step = step_of(await state.get_state()) or "domain"
        draft = await load_draft(state)
        if step == "domain" and not draft.get("editing"):
            await show(step, draft, state, bot, message.chat.id)
            return
        if step == "location":
            # The location keyboard gives way to the menu again.
            await message.answer(_("Back to the previous step."), reply_markup=main_menu())
        await go_back(step, draft, state, bot, message.chat.id, None)

    # ---- title ----------------------------------------------------------------------

    @router.message(Filing.title, PlainText(i18n))
    async def on_title(message: Message, state: FSMContext, bot: Bot) -> None:
        title = " ".join((message.text or "").split())
        if not title:
            await message.answer(_("Please type the title as text."))
            return
        draft = await load_draft(state)
        if len(title) > TITLE_MAX:
            await message.answer(
                _(
                    "That title is too long: {length} characters, and at most {limit} fit. "
                    "Please send a shorter one."
                ).format(length=len(title), limit=TITLE_MAX)
            )
            return
        draft["title"] = title
        await show(next_step("title", draft), draft, state, bot, message.chat.id)

    @router.message(Filing.title, ~F.text)
    async def on_title_other(message: Message) -> None:
        await message.answer(_("Please type the title as text."))

    # ---- details --------------------------------------------------------------------

    @router.message(Filing.details, PlainText(i18n))
    async def on_details_text(message: Message, state: FSMContext, bot: Bot) -> None:
        text = (message.text or "").strip()
        draft = await load_draft(state)
        body = joined(draft["body"], text)
        if len(body) > BODY_MAX:
            note = too_long_note(draft, text)
        else:
            draft["body"] = body
            note = _("Added to the details.")
        await acknowledge(message, draft, state, bot, note)

    @router.message(Filing.details, F.photo | F.document)
    async def on_details_file(message: Message, state: FSMContext, bot: Bot) -> None:
        draft = await load_draft(state)
        attachment = attachment_of(message)
        assert attachment is not None  # the filter lets only photos and documents in
        caption = (message.caption or "").strip()
        body = joined(draft["body"], caption) if caption else draft["body"]
        # A message is taken whole or not at all: never a photo without its caption.
        if len(draft["attachments"]) >= ATTACHMENTS_MAX:
            outcome = "full"
        elif len(body) > BODY_MAX:
            outcome = "long"
        else:
            outcome = "added"
            draft["attachments"].append(attachment)
            draft["body"] = body
        group = message.media_group_id
        album = draft.get("album") or {}
        if group is not None:
            if album.get("id") != group:
                album = {"id": group, "message": None, "added": 0, "full": 0, "long": 0}
            album[outcome] += 1
            draft["album"] = album
            note = album_note(album)
        elif outcome == "full":
            note = _(
                "Not added: a draft can hold at most {limit} attachments, and this one "
                "already has {limit}. Nothing else was lost: your text and the attachments "
                "you sent before are kept."
            ).format(limit=ATTACHMENTS_MAX)
        elif outcome == "long":
            note = too_long_note(draft, caption)
        elif attachment["kind"] == AttachmentKind.PHOTO.value:
            note = _("Photo added.")
        else:
            note = _("Document added: {name}.").format(name=esc(attachment["file_name"] or "—"))
        await acknowledge(message, draft, state, bot, note)

    @router.message(Filing.details, ~F.text)
    async def on_details_other(message: Message, state: FSMContext, bot: Bot) -> None:
        draft = await load_draft(state)
        note = _(
            "That cannot be added. Send text, photos or documents; stickers, voice "
            "messages and the like cannot be kept. Nothing else was lost."
        )
        await acknowledge(message, draft, state, bot, note)

    # ---- location -------------------------------------------------------------------

    @router.message(Filing.location, label(i18n, SKIP))
    async def on_skip_location(message: Message, state: FSMContext, bot: Bot) -> None:
        draft = await load_draft(state)
        draft["location_text"] = draft["latitude"] = draft["longitude"] = None
        await located(message, draft, state, bot, _("No location."))

    @router.message(Filing.location, F.location)
    async def on_location(message: Message, state: FSMContext, bot: Bot) -> None:
        assert message.location is not None
        draft = await load_draft(state)
        draft["latitude"] = message.location.latitude
        draft["longitude"] = message.location.longitude
        draft["location_text"] = None
        await located(message, draft, state, bot, _("Location noted."))

    @router.message(Filing.location, PlainText(i18n))
    async def on_place(message: Message, state: FSMContext, bot: Bot) -> None:
        place = (message.text or "").strip()
        if len(place) > LOCATION_MAX:
            await message.answer(
                _(
                    "That is too long for a place: {length} characters, and at most {limit} "
                    "fit. Please send a shorter description."
                ).format(length=len(place), limit=LOCATION_MAX)
            )
            return
        draft = await load_draft(state)
        draft["location_text"] = place
        draft["latitude"] = draft["longitude"] = None
        await located(message, draft, state, bot, _("Place noted."))

    @router.message(Filing.location)
    async def on_location_other(message: Message) -> None:
        await message.answer(
            _(
                "Please send your location with the button below, type the place, or press {skip}."
            ).format(skip=_(SKIP))
        )

    # ---- preview and edit -----------------------------------------------------------

    @router.callback_query(Filing.preview, FileCb.filter(F.step == "edit"))
    async def on_edit(query: CallbackQuery, state: FSMContext, bot: Bot) -> None:
        draft = await load_draft(state)
        await query.answer()
        chat_id, message = chat_of(query)
        await show("edit", draft, state, bot, chat_id, via=message)

    @router.callback_query(Filing.edit, FileCb.filter(F.step == "change"))
    async def on_change(
        query: CallbackQuery, callback_data: FileCb, state: FSMContext, bot: Bot
    ) -> None:
        field = callback_data.value
        if field not in _FIELD_LABEL:
            await out_of_date(query)
            return
        draft = await load_draft(state)
        draft["editing"] = True
        draft["stash"] = {name: copy.deepcopy(draft[name]) for name in FIELDS}
        await query.answer()
        chat_id, message = chat_of(query)
        await show("redo" if field == "details" else field, draft, state, bot, chat_id, via=message)

    @router.callback_query(Filing.redo, FileCb.filter(F.step == "redo"))
    async def on_redo(
        query: CallbackQuery, callback_data: FileCb, state: FSMContext, bot: Bot
    ) -> None:
        draft = await load_draft(state)
        chat_id, message = chat_of(query)
        how = callback_data.value
        if how == "rewrite":
            draft["body"] = ""
            await query.answer()
            await show("details", draft, state, bot, chat_id, via=message)
        elif how == "add":
            await query.answer()
            await show("details", draft, state, bot, chat_id, via=message)
        elif how == "drop" and draft["attachments"]:
            draft["attachments"] = []
            await query.answer(_("The attachments were removed."))
            await show("preview", draft, state, bot, chat_id, via=message)
        else:
            await out_of_date(query)

    @router.callback_query(FileCb.filter(F.step == "confirm"))
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
        chat_id, message = chat_of(query)
        if draft.get("key") == key and step_of(await state.get_state()) == "preview":
            # A refusal here (suspended meanwhile, point closed) escapes to the error
            # handler; the transaction rolls back and the draft stays as it was.
            item = await suggestions.submit(actor, to_service_draft(draft))
            await finish(state, DRAFT)
            await query.answer()
            if message is not None and message.reply_markup is not None:
                await strip(bot, chat_id, message.message_id)
            await bot.send_message(
                chat_id,
                _(
                    "✅ Sent. The reference is <b>{reference}</b>.\n\n"
                    "The district rule-of-law office will decide on it by <b>{due}</b>, and "
                    "you will be told here. Follow it under <b>My suggestions</b>."
                ).format(reference=esc(item.reference), due=day(item.decision_due)),
                reply_markup=main_menu(),
            )
            return
        filed = await suggestions.filed(actor, key) if key else None
        if filed is not None:
            await query.answer(
                _("This draft has already been filed as {reference}.").format(
                    reference=filed.reference
                ),
                show_alert=True,
            )
        elif draft.get("key") == key:
            await query.answer(
                _("Please finish the step in progress first; the preview will come back.")
            )
        else:
            await query.answer(_("This draft is no longer available."), show_alert=True)

    # ---- anything else at a button step ---------------------------------------------

    @router.message(StateFilter(Filing.domain, Filing.kind, Filing.behalf, Filing.preview,
                                Filing.edit, Filing.redo))  # fmt: skip
    async def on_typed_at_button_step(message: Message, state: FSMContext, bot: Bot) -> None:
        draft = await load_draft(state)
        step = step_of(await state.get_state()) or "domain"
        if not draft.get("key"):
            await finish(state, DRAFT)  # a step without its draft: nothing to go on with
            return
        await show(step, draft, state, bot, message.chat.id, lead=_("Please use the buttons."))

    @router.callback_query(FileCb.filter())
    async def on_stale(query: CallbackQuery) -> None:
        await out_of_date(query)

    return router
