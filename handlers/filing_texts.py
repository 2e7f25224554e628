"""What the filing conversation says: each step's question and buttons, the preview,
the notes at the details step, and why someone cannot file (see filing.py)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)
from aiogram.utils.i18n import gettext as _

from bot.domain.limits import ATTACHMENTS_MAX, BODY_MAX, LOCATION_MAX, TITLE_MAX
from bot.domain.statuses import AttachmentKind, Behalf, FocusDomain, ObserverStatus, SuggestionKind
from bot.middlewares.people import CurrentUser
from bot.services.people import PeopleService, Standing
from bot.services.places import PlaceService, PointInfo
from bot.services.views import SuggestionInfo
from handlers import labels
from handlers.callbacks import ApplyCb, FileCb
from handlers.filing_draft import STEPS, Album, FilingDraft, Outcome, room_left
from handlers.keyboards import BACK, CANCEL, SKIP, button
from handlers.moving import MoveCb
from handlers.ui import BUTTON_TEXT_MAX, MESSAGE_MAX, N_, clip, day, esc, telegram_length

LOCATION_BUTTON = N_("📍 Send my location")
FIELD_LABELS = {
    "domain": N_("Domain"),
    "kind": N_("Kind"),
    "title": N_("Title"),
    "details": N_("Details"),
    "behalf": N_("On whose behalf"),
    "location": N_("Location"),
}

Rows = list[list[InlineKeyboardButton]]
Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup


# ---- pieces ---------------------------------------------------------------------------


def field_line(name: str, value: str) -> str:
    return _("<b>{label}:</b> {value}").format(label=_(FIELD_LABELS[name]), value=value)


def header(step: str, draft: FilingDraft) -> str:
    if draft.editing:
        return _("<b>Changing the draft</b>")
    return _("<b>New suggestion</b> · step {number} of {total}").format(
        number=STEPS.index(step) + 1, total=len(STEPS)
    )


def progress(draft: FilingDraft) -> str:
    return _(
        "So far: {chars} of {chars_max} characters, {files} of {files_max} attachments."
    ).format(
        chars=len(draft.body),
        chars_max=BODY_MAX,
        files=len(draft.attachments),
        files_max=ATTACHMENTS_MAX,
    )


def location_value(draft: FilingDraft) -> str:
    if draft.latitude is not None and draft.longitude is not None:
        coordinates = f"{draft.latitude:.5f}, {draft.longitude:.5f}"
        return _("📍 shared location ({coordinates})").format(coordinates=coordinates)
    if draft.location_text:
        return esc(draft.location_text)
    return _("not given")


def attachments_value(draft: FilingDraft) -> str:
    files = draft.attachments
    if not files:
        return _("none")
    photos = sum(1 for a in files if a["kind"] == AttachmentKind.PHOTO.value)
    return _("{count} (photos: {photos}, documents: {documents})").format(
        count=len(files), photos=photos, documents=len(files) - photos
    )


def _plain(markup: str) -> str:
    """What Telegram shows of our own HTML (all user text in it is already escaped)."""
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def preview_text(draft: FilingDraft) -> str:
    domain, kind, behalf = draft.chosen()
    frame = "\n".join(
        [
            _(
                "<b>Preview</b>. Check everything, then press <b>Confirm</b> to send it to "
                "the district rule-of-law office."
            ),
            "",
            field_line("domain", labels.domain(domain)),
            field_line("kind", labels.kind(kind)),
            field_line("title", esc(draft.title)),
            field_line("behalf", labels.behalf(behalf)),
            field_line("location", location_value(draft)),
            _("<b>Attachments:</b> {value}").format(value=attachments_value(draft)),
            field_line("details", "").rstrip(),
            "",
        ]
    )
    # The body comes last and takes what room is left, so the whole fits one message.
    room = MESSAGE_MAX - telegram_length(_plain(frame)) - 8
    return frame + esc(clip(draft.body, room))


def nav(step: str, draft: FilingDraft, *, back: bool = True) -> list[InlineKeyboardButton]:
    row = []
    if back:
        row.append(button(_(BACK), FileCb(step="back", value=step).pack()))
    row.append(button(_(CANCEL), FileCb(step="cancel", value=draft.draft_key).pack()))
    return row


def choices(
    step: str, options: list[tuple[str, str]], draft: FilingDraft, *, back: bool = True
) -> Rows:
    """One button per option, the present choice ticked; then Back and Cancel."""
    current = getattr(draft, step)
    rows = [
        [button(("✓ " if value == current else "") + text, FileCb(step=step, value=value).pack())]
        for value, text in options
    ]
    rows.append(nav(step, draft, back=back))
    return rows


def details_rows(draft: FilingDraft) -> Rows:
    return [[button(_("✅ Done"), FileCb(step="done").pack())], nav("details", draft)]


def location_keyboard() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=_(LOCATION_BUTTON), request_location=True)],
            [KeyboardButton(text=_(SKIP))],
            [KeyboardButton(text=_(BACK)), KeyboardButton(text=_(CANCEL))],
        ],
        resize_keyboard=True,
    )


# ---- the questions --------------------------------------------------------------------


def question(step: str, draft: FilingDraft) -> tuple[str, Markup]:
    """The text and buttons that ask for ``step``."""
    if step == "location":
        return header(step, draft) + "\n\n" + _location_question(draft), location_keyboard()
    if step in STEPS:
        text, rows = _STEP_QUESTIONS[step](draft)
        return header(step, draft) + "\n\n" + text, InlineKeyboardMarkup(inline_keyboard=rows)
    text, rows = _MENU_QUESTIONS[step](draft)
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def _domain_question(draft: FilingDraft) -> tuple[str, Rows]:
    text = _("Which area does it concern? Choose the focus domain.")
    options = [(d.value, labels.domain(d)) for d in FocusDomain]
    return text, choices("domain", options, draft, back=draft.editing)


def _kind_question(draft: FilingDraft) -> tuple[str, Rows]:
    text = _("Is it a suggestion, an opinion or a problem?")
    return text, choices("kind", [(k.value, labels.kind(k)) for k in SuggestionKind], draft)


def _title_question(draft: FilingDraft) -> tuple[str, Rows]:
    text = _("Type a short title, at most {limit} characters.").format(limit=TITLE_MAX)
    rows: Rows = []
    if draft.title:
        text += "\n\n" + _("Now: {value}").format(value=esc(draft.title))
        rows.append([button(_("Keep this title"), FileCb(step="keep").pack())])
    rows.append(nav("title", draft))
    return text, rows


def _details_question(draft: FilingDraft) -> tuple[str, Rows]:
    text = _(
        "Describe it in detail: what happened, where, since when, who is affected and "
        "what you propose. You can send several messages and add photos or documents "
        "(up to {limit}). Press <b>Done</b> when you have finished."
    ).format(limit=ATTACHMENTS_MAX)
    if draft.body or draft.attachments:
        text += "\n\n" + progress(draft)
    return text, details_rows(draft)


def _behalf_question(draft: FilingDraft) -> tuple[str, Rows]:
    text = _("On whose behalf do you raise it?")
    return text, choices("behalf", [(b.value, labels.behalf(b)) for b in Behalf], draft)


def _location_question(draft: FilingDraft) -> str:
    text = _(
        "Where is it? This step is optional: press <b>{button}</b>, type an address or "
        "describe the place (at most {limit} characters), or press <b>{skip}</b>."
    ).format(button=_(LOCATION_BUTTON), limit=LOCATION_MAX, skip=_(SKIP))
    if draft.location_text or draft.latitude is not None:
        text += "\n\n" + _("Now: {value}").format(value=location_value(draft))
    return text


def _preview(draft: FilingDraft) -> tuple[str, Rows]:
    return preview_text(draft), [
        [
            button(_("✅ Confirm"), FileCb(step="confirm", value=draft.draft_key).pack()),
            button(_("✏️ Edit"), FileCb(step="edit").pack()),
        ],
        nav("preview", draft),
    ]


def _edit_menu(draft: FilingDraft) -> tuple[str, Rows]:
    return _("What do you want to change?"), [
        *(
            [button(_(text), FileCb(step="change", value=name).pack())]
            for name, text in FIELD_LABELS.items()
        ),
        nav("edit", draft),
    ]


def _redo_menu(draft: FilingDraft) -> tuple[str, Rows]:
    text = _("The details: write the text again, add to it, or remove the attachments?")
    rows = [
        [button(_("✍️ Write the text again"), FileCb(step="redo", value="rewrite").pack())],
        [button(_("➕ Add text or files"), FileCb(step="redo", value="add").pack())],
    ]
    if draft.attachments:
        rows.append(
            [button(_("🗑 Remove the attachments"), FileCb(step="redo", value="drop").pack())]
        )
    rows.append(nav("redo", draft))
    return text, rows


# The numbered steps but the location, whose keyboard is a reply keyboard.
_STEP_QUESTIONS: dict[str, Callable[[FilingDraft], tuple[str, Rows]]] = {
    "domain": _domain_question,
    "kind": _kind_question,
    "title": _title_question,
    "details": _details_question,
    "behalf": _behalf_question,
}
_MENU_QUESTIONS: dict[str, Callable[[FilingDraft], tuple[str, Rows]]] = {
    "preview": _preview,
    "edit": _edit_menu,
    "redo": _redo_menu,
}


def unfinished(draft: FilingDraft) -> tuple[str, InlineKeyboardMarkup]:
    """The offer to continue a half-written draft or start over."""
    text = _("You have an unfinished draft. Continue it, or start over?")
    if draft.title:
        text += "\n\n" + field_line("title", esc(draft.title))
    return text, InlineKeyboardMarkup(
        inline_keyboard=[
            [button(_("▶️ Continue draft"), FileCb(step="resume", value=draft.draft_key).pack())],
            [button(_("🆕 Start over"), FileCb(step="restart", value=draft.draft_key).pack())],
        ]
    )


def sent_text(item: SuggestionInfo) -> str:
    return _(
        "✅ Sent. The reference is <b>{reference}</b>.\n\n"
        "The district rule-of-law office will decide on it by <b>{due}</b>, and "
        "you will be told here. Follow it under <b>My suggestions</b>."
    ).format(reference=esc(item.reference), due=day(item.decision_due))


def title_too_long(title: str) -> str:
    return _(
        "That title is too long: {length} characters, and at most {limit} fit. "
        "Please send a shorter one."
    ).format(length=len(title), limit=TITLE_MAX)


def place_too_long(place: str) -> str:
    return _(
        "That is too long for a place: {length} characters, and at most {limit} "
        "fit. Please send a shorter description."
    ).format(length=len(place), limit=LOCATION_MAX)


# ---- the details step -----------------------------------------------------------------


def too_long_note(draft: FilingDraft, text: str) -> str:
    return _(
        "Not added: the details can be at most {limit} characters in all, and this "
        "message has {length}; {room} characters are left. Nothing else was lost. "
        "Please send a shorter text."
    ).format(limit=BODY_MAX, length=len(text), room=room_left(draft.body))


def file_note(
    outcome: Outcome, attachment: dict[str, Any], draft: FilingDraft, caption: str
) -> str:
    """The answer to one photo or document that is not part of an album."""
    if outcome == "full":
        return _(
            "Not added: a draft can hold at most {limit} attachments, and this one "
            "already has {limit}. Nothing else was lost: your text and the attachments "
            "you sent before are kept."
        ).format(limit=ATTACHMENTS_MAX)
    if outcome == "long":
        return too_long_note(draft, caption)
    if attachment["kind"] == AttachmentKind.PHOTO.value:
        return _("Photo added.")
    return _("Document added: {name}.").format(name=esc(attachment["file_name"] or "—"))


def album_note(album: Album) -> str:
    notes = []
    if album.added:
        notes.append(_("Files added from the album: {count}.").format(count=album.added))
    if album.full:
        notes.append(
            _(
                "{count} not added: a draft can hold at most {limit} attachments. Nothing "
                "else was lost."
            ).format(count=album.full, limit=ATTACHMENTS_MAX)
        )
    if album.long:
        notes.append(
            _(
                "{count} not added: their captions would make the details longer than "
                "{limit} characters. Nothing else was lost."
            ).format(count=album.long, limit=BODY_MAX)
        )
    return "\n".join(notes)


# ---- who may file ---------------------------------------------------------------------


async def refusal(
    user: CurrentUser, people: PeopleService, places: PlaceService
) -> tuple[str, InlineKeyboardMarkup | None] | None:
    """Why this person cannot file now, with what they can do about it; None if they can."""
    standing = await people.standing(user.id)
    observer = standing.observer
    if observer is None or observer.status is not ObserverStatus.APPOINTED:
        return _not_appointed(standing)
    if observer.point_id is None:
        return None
    active = await places.points(active_only=True)
    if any(p.id == observer.point_id for p in active):
        return None
    return _point_closed(standing, active)


def _point_closed(
    standing: Standing, active: list[PointInfo]
) -> tuple[str, InlineKeyboardMarkup | None]:
    text = _(
        "Your observation point <b>{point}</b> has been closed. Please choose "
        "another point first; then you can file."
    ).format(point=esc(labels.place(standing.point_name, "—")))
    if not active:
        return text, None
    # The choice itself is the moving flow's (handlers/moving.py).
    rows = [
        [
            button(
                clip(f"{p.code} · {labels.place(p.name)}", BUTTON_TEXT_MAX),
                MoveCb(point=p.id).pack(),
            )
        ]
        for p in active
    ]
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def _not_appointed(standing: Standing) -> tuple[str, InlineKeyboardMarkup | None]:
    status = standing.observer.status if standing.observer is not None else None
    if status is ObserverStatus.SUSPENDED:
        return _(
            "Your appointment is suspended, so you cannot file new items for now. You "
            "can still follow, answer and rate the ones you filed under <b>My "
            "suggestions</b>."
        ), None
    if standing.pending_application is not None:
        return _(
            "Only appointed observers can file suggestions. Your application is being "
            "reviewed by the district office; you will be told here when it is decided."
        ), None
    if status is ObserverStatus.NOMINATED:
        return _(
            "Only appointed observers can file suggestions. You have been nominated; "
            "you will be told here when the district office appoints you."
        ), None
    apply = button(_("📝 Apply to become an observer"), ApplyCb(step="begin").pack())
    return _(
        "Only appointed observers can file suggestions: the scheme needs an "
        "appointment by the district rule-of-law office. Apply to become an observer, "
        "or open the invite link if the office sent you one."
    ), InlineKeyboardMarkup(inline_keyboard=[[apply]])
