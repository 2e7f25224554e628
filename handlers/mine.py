"""My suggestions: the observer's own items, each one's history, and what they may do next.

One message carries the list; tapping an item turns it into the item's card (status,
facts, the timeline of moves with the office's words) with only the buttons the
lifecycle allows the observer now: withdraw, answer the office's question, rate. Two
short conversations hang off the card: answering (text in several messages plus
photos and documents) and rating (a choice, then an optional comment).

Nothing in callback data is trusted. Every handler goes through the services with the
acting person, which report another observer's item as not found; on top of that the
card is only ever shown for the person's own items, so an admin or a liaison pressing
a forged button here sees nothing that is not theirs as an observer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaDocument,
    InputMediaPhoto,
    Message,
)
from aiogram.types.media_union import MediaUnion
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.domain.errors import AlreadyRated, IllegalTransition, NotFound
from bot.domain.lifecycle import Action
from bot.domain.limits import ATTACHMENTS_MAX, COMMENT_MAX, TEXT_MAX
from bot.domain.statuses import AttachmentKind, RatingValue, SuggestionStatus
from bot.services.actors import Actor
from bot.services.context import Policy
from bot.services.suggestions import SuggestionService
from bot.services.views import (
    AttachmentInfo,
    Page,
    RatingInfo,
    SuggestionDetail,
    SuggestionInfo,
    TimelineEntry,
)
from handlers import labels
from handlers.attachments import attachment_of, attachments_in
from handlers.callbacks import MenuCb, MineCb
from handlers.conversation import PlainText, finish, joined, label, load, save, too_long
from handlers.errors import explain
from handlers.keyboards import CANCEL, MINE, NEW, SKIP, button
from handlers.replies import edit_or_send
from handlers.ui import (
    BUTTON_TEXT_MAX,
    CAPTION_MAX,
    MESSAGE_MAX,
    clip,
    day,
    esc,
    local_time,
    shown_length,
    telegram_length,
)

S = SuggestionStatus


class Answering(StatesGroup):
    """Collecting the observer's answer to the office's question."""

    text = State()


class Rating(StatesGroup):
    """A rating chosen; waiting for an optional comment."""

    comment = State()


# MineCb acts.
LIST = "list"  # a page of the list (page)
HERE = "here"  # the "page/pages" label between the arrows: does nothing
SHOW = "show"  # an item's card (value FROM_LIST: edit the message in place)
WITHDRAW = "withdraw"  # ask to confirm (value YES: do it)
ANSWER = "answer"  # start answering the office's question
SEND = "send"  # send the collected answer
RATE = "rate"  # value: a RatingValue
SKIP_COMMENT = "skip"  # rate without a comment
QUIT = "quit"  # abandon the answer or the rating (value: which)
FILES = "files"  # re-send the item's attachments
FROM_LIST = "l"
YES = "yes"

# Keys of this module's flows in the shared FSM data.
ANSWER_KEY = "answer"
RATING_KEY = "rating"

# How much of the title a list line shows; the card shows it whole.
LIST_TITLE_MAX = 40
# The card keeps at least this much of the body before it drops older history.
BODY_FLOOR = 600
# The office's words in one timeline entry; the newest entry may be cut further.
WORDS_MAX = 700
RATINGS_SHOWN = 3
RATING_COMMENT_MAX = 300
# A margin for the separators between the parts of the card.
_SLACK = 16
ID_MAX = 2**31 - 1  # item ids are 32-bit integers in the database


def is_owner(actor: Actor, info: SuggestionInfo) -> bool:
    return actor.observer_id is not None and info.observer_id == actor.observer_id


async def own_detail(
    suggestions: SuggestionService, actor: Actor, item_id: int
) -> SuggestionDetail:
    """The card of one of the person's own items; anything else is "not found"."""
    if not 0 < item_id <= ID_MAX:
        # Forged data: not worth a query (PostgreSQL would refuse the number anyway).
        raise NotFound(f"no item {item_id}", item_id=item_id)
    detail = await suggestions.detail(actor, item_id)
    if not is_owner(actor, detail.info):
        # An admin or a liaison may see the item elsewhere, but this is "My suggestions".
        raise NotFound(f"item {item_id} is not the actor's own", item_id=item_id)
    return detail


# ---- the list -------------------------------------------------------------------------


def render_list(page: Page) -> tuple[str, InlineKeyboardMarkup | None]:
    if page.total == 0:
        return (
            _(
                "You have not filed anything yet. To file what you have collected, press "
                "<b>{button}</b> in the menu or send /new."
            ).format(button=esc(_(NEW))),
            None,
        )
    head = _("<b>My suggestions</b>: {total} in all.").format(total=page.total)
    if page.pages > 1:
        head += " " + _("Page {page} of {pages}.").format(page=page.page, pages=page.pages)
    lines = [head, ""]
    rows: list[list[InlineKeyboardButton]] = []
    for item in page.items:
        emoji = labels.STATUS_EMOJI[item.status]
        lines.append(
            f"{emoji} <b>{esc(item.reference)}</b> {esc(clip(item.title, LIST_TITLE_MAX))}\n"
            f"      <i>{esc(labels.status(item.status))}</i>"
        )
        text = clip(f"{emoji} {item.reference} {item.title}", BUTTON_TEXT_MAX)
        data = MineCb(act=SHOW, item=item.id, page=page.page, value=FROM_LIST).pack()
        rows.append([button(text, data)])
    lines.extend(["", _("Tap an item to see its history and what you can do.")])
    if page.pages > 1:
        rows.append(_pager(page))
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


def _pager(page: Page) -> list[InlineKeyboardButton]:
    row = []
    if page.page > 1:
        row.append(button("◀", MineCb(act=LIST, page=page.page - 1).pack()))
    row.append(button(f"{page.page}/{page.pages}", MineCb(act=HERE, page=page.page).pack()))
    if page.page < page.pages:
        row.append(button("▶", MineCb(act=LIST, page=page.page + 1).pack()))
    return row


# ---- the card -------------------------------------------------------------------------


def _head(detail: SuggestionDetail, policy: Policy) -> list[str]:
    info = detail.info
    lines = [
        f"<b>{esc(info.reference)}</b> · {esc(labels.status_with_emoji(info.status))}",
        f"<b>{esc(info.title)}</b>",
        _("<b>Kind:</b> {kind}").format(kind=esc(labels.kind(info.kind))),
        _("<b>Domain:</b> {domain}").format(domain=esc(labels.domain(info.domain))),
        _("<b>On whose behalf:</b> {behalf}").format(behalf=esc(labels.behalf(info.behalf))),
    ]
    if info.location_text:
        lines.append(_("<b>Location:</b> {place}").format(place=esc(info.location_text)))
    if info.latitude is not None and info.longitude is not None:
        lines.append(
            _("<b>Map point:</b> {lat}, {lon}").format(
                lat=f"{info.latitude:.5f}", lon=f"{info.longitude:.5f}"
            )
        )
    if detail.point_name:
        lines.append(_("<b>Observation point:</b> {point}").format(point=esc(detail.point_name)))
    lines.append(
        _("<b>Filed:</b> {moment}").format(moment=local_time(info.submitted_at, policy.tz))
    )
    if info.status in (S.SUBMITTED, S.IN_REVIEW, S.NEEDS_INFO):
        lines.append(_("<b>Decision due:</b> {date}").format(date=day(info.decision_due)))
    elif info.decided_at is not None:
        lines.append(
            _("<b>Decided:</b> {moment}").format(moment=local_time(info.decided_at, policy.tz))
        )
    if info.escalated_to:
        lines.append(_("<b>Reported to:</b> {whom}").format(whom=esc(info.escalated_to)))
    if detail.department_name:
        lines.append(
            _("<b>Department:</b> {department}").format(department=esc(detail.department_name))
        )
    if info.implementation_due is not None:
        lines.append(
            _("<b>Implementation due:</b> {date}").format(date=day(info.implementation_due))
        )
    if info.implemented_at is not None:
        lines.append(
            _("<b>Implemented:</b> {moment}").format(
                moment=local_time(info.implemented_at, policy.tz)
            )
        )
    if detail.attachments:
        lines.append(_("<b>Attachments:</b> {count}").format(count=len(detail.attachments)))
    return lines


def render_entry(entry: TimelineEntry, policy: Policy, words_max: int = WORDS_MAX) -> str:
    """One move: when, what, and the office's words (or the observer's own)."""
    lines = [f"▫️ {local_time(entry.at, policy.tz)} · <b>{esc(labels.action(entry.action))}</b>"]
    payload = entry.payload
    department = payload.get("department")
    if department and entry.action in (Action.ADOPT, Action.CITY_ADOPT, Action.ASSIGN):
        lines.append(
            _("Department: {department}").format(department=esc(clip(str(department), 200)))
        )
    due = payload.get("due")
    if due and entry.action in (Action.ADOPT, Action.CITY_ADOPT, Action.SET_DUE):
        lines.append(_("To be implemented by {date}").format(date=esc(clip(str(due), 20))))
    if entry.action is Action.ESCALATE and payload.get("escalated_to"):
        lines.append(
            _("Reported to: {whom}").format(whom=esc(clip(str(payload["escalated_to"]), 200)))
        )
    if entry.action is Action.MARK_DUPLICATE and payload.get("duplicate_of"):
        lines.append(
            _("Same matter as {reference}").format(
                reference=esc(clip(str(payload["duplicate_of"]), 40))
            )
        )
    if entry.action is Action.ANSWER_INFO and payload.get("decision_due"):
        lines.append(
            _("The office will decide by {date}").format(
                date=esc(clip(str(payload["decision_due"]), 20))
            )
        )
    if entry.text and words_max > 1:
        lines.append(f"<blockquote>{esc(clip(entry.text, words_max))}</blockquote>")
    return "\n".join(lines)


def _ratings(ratings: Sequence[RatingInfo], policy: Policy) -> str:
    if not ratings:
        return ""
    lines = [_("<b>Your rating</b>")]
    for rating in ratings[-RATINGS_SHOWN:]:
        lines.append(f"{esc(labels.rating(rating.value))} · {local_time(rating.at, policy.tz)}")
        if rating.comment:
            lines.append(
                f"<blockquote>{esc(clip(rating.comment, RATING_COMMENT_MAX))}</blockquote>"
            )
    return "\n".join(lines)


def _invitation(detail: SuggestionDetail) -> str:
    actions = set(detail.actions)
    if Action.ANSWER_INFO in actions:
        return _("The office needs more information from you: please answer its question.")
    if Action.RATE in actions or Action.REOPEN in actions:
        return _("How satisfied are you with the outcome? Please rate it with a button below.")
    return ""


def render_detail(detail: SuggestionDetail, policy: Policy) -> str:
    """The whole card within one message: history wins over the body, newest first."""
    head = "\n".join(_head(detail, policy))
    tail = [part for part in (_ratings(detail.ratings, policy), _invitation(detail)) if part]
    heading = _("<b>History</b>")
    omitted = _("<i>(earlier entries omitted)</i>")
    # The service leaves internal notes out for observers; this is belt and braces.
    visible = [e for e in detail.timeline if not e.internal]
    body = detail.info.body.strip()

    fixed = sum(shown_length(part) + 2 for part in [head, heading, omitted, *tail])
    room = MESSAGE_MAX - _SLACK - fixed
    floor = min(telegram_length(body), BODY_FLOOR)
    chosen: list[str] = []
    used = 0
    for entry in reversed(visible):
        rendered = render_entry(entry, policy)
        size = shown_length(rendered) + 1
        if used + size > room - floor:
            if chosen:
                break
            # The newest move alone is too long: cut its words rather than lose it.
            bare = shown_length(render_entry(entry, policy, words_max=0)) + 2
            rendered = render_entry(entry, policy, words_max=room - floor - bare)
            size = shown_length(rendered) + 1
        chosen.append(rendered)
        used += size
    chosen.reverse()
    body_room = room - used
    body_text = clip(body, body_room) if body_room > 1 else "…"

    history = [heading]
    if len(chosen) < len(visible):
        history.append(omitted)
    history.extend(chosen)
    parts = [head, f"<blockquote>{esc(body_text)}</blockquote>", "\n".join(history), *tail]
    return "\n\n".join(parts)


def detail_markup(detail: SuggestionDetail, page: int) -> InlineKeyboardMarkup:
    item = detail.info.id
    actions = set(detail.actions)
    rows: list[list[InlineKeyboardButton]] = []
    if Action.ANSWER_INFO in actions:
        data = MineCb(act=ANSWER, item=item, page=page).pack()
        rows.append([button(_("✍️ Answer the office's question"), data)])
    if Action.RATE in actions or Action.REOPEN in actions:
        rows.extend(
            [
                button(
                    labels.rating(value), MineCb(act=RATE, item=item, page=page, value=value).pack()
                )
            ]
            for value in RatingValue
        )
    if Action.WITHDRAW in actions:
        rows.append([button(_("↩️ Withdraw"), MineCb(act=WITHDRAW, item=item, page=page).pack())])
    if detail.attachments:
        rows.append(
            [
                button(
                    _("📎 Show attachments ({count})").format(count=len(detail.attachments)),
                    MineCb(act=FILES, item=item, page=page).pack(),
                )
            ]
        )
    rows.append([button(_("« Back to list"), MineCb(act=LIST, page=page).pack())])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def open_button(info: SuggestionInfo) -> InlineKeyboardMarkup:
    text = _("📄 Open {reference}").format(reference=info.reference)
    return InlineKeyboardMarkup(
        inline_keyboard=[[button(text, MineCb(act=SHOW, item=info.id).pack())]]
    )


# ---- sending --------------------------------------------------------------------------


async def put(
    query: CallbackQuery,
    bot: Bot,
    text: str,
    markup: InlineKeyboardMarkup | None,
    *,
    edit: bool = True,
) -> None:
    """Show ``text`` in place of the pressed message, or below it when that cannot be."""
    message = query.message
    if edit and isinstance(message, Message) and message.text is not None:
        edit_or_send(message.chat.id, message.message_id, text, markup, send_to=query.from_user.id)
        return
    await bot.send_message(query.from_user.id, text, reply_markup=markup)


async def stale(query: CallbackQuery) -> None:
    await query.answer(
        _("This button is no longer valid. Please start again from the menu."), show_alert=True
    )


async def send_files(
    bot: Bot, chat_id: int, reference: str, files: Sequence[AttachmentInfo]
) -> None:
    """Photos together and documents together (Telegram does not mix them in an album),
    ten to an album, the first of each captioned with the item's reference."""
    caption = clip(_("📎 Attachments of {reference}").format(reference=reference), CAPTION_MAX)
    for kind in (AttachmentKind.PHOTO, AttachmentKind.DOCUMENT):
        same = [f for f in files if f.kind is kind]
        for start in range(0, len(same), ATTACHMENTS_MAX):
            chunk = same[start : start + ATTACHMENTS_MAX]
            if len(chunk) == 1:
                if kind is AttachmentKind.PHOTO:
                    await bot.send_photo(chat_id, chunk[0].file_id, caption=esc(caption))
                else:
                    await bot.send_document(chat_id, chunk[0].file_id, caption=esc(caption))
                continue
            media: list[MediaUnion] = []
            for index, file in enumerate(chunk):
                text = esc(caption) if index == 0 else None
                if kind is AttachmentKind.PHOTO:
                    media.append(InputMediaPhoto(media=file.file_id, caption=text))
                else:
                    media.append(InputMediaDocument(media=file.file_id, caption=text))
            await bot.send_media_group(chat_id, media)


# ---- answering the office's question -----------------------------------------------------


def _answer_buttons(item: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                button(_("✅ Send the answer"), MineCb(act=SEND, item=item).pack()),
                button(_(CANCEL), MineCb(act=QUIT, item=item, value=ANSWER_KEY).pack()),
            ]
        ]
    )


def _rating_buttons(item: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                button(_(SKIP), MineCb(act=SKIP_COMMENT, item=item).pack()),
                button(_(CANCEL), MineCb(act=QUIT, item=item, value=RATING_KEY).pack()),
            ]
        ]
    )


def latest_question(detail: SuggestionDetail) -> str | None:
    asked = [e for e in detail.timeline if e.action is Action.ASK_INFO and e.text]
    return asked[-1].text if asked else None


def _progress(data: dict[str, Any]) -> str:
    return _(
        "Added to your answer: {chars} of {limit} characters, {files} of {most} files. "
        "Send more, or press <b>{send}</b> when you are done."
    ).format(
        chars=len(data.get("text", "")),
        limit=TEXT_MAX,
        files=len(data.get("attachments", [])),
        most=ATTACHMENTS_MAX,
        send=esc(_("✅ Send the answer")),
    )


# ---- the router -----------------------------------------------------------------------


def setup(i18n: I18n) -> Router:
    router = Router(name="mine")
    router.message.filter(F.chat.type == "private")
    router.callback_query.filter(F.message.chat.type == "private")
    plain = PlainText(i18n)

    # -- the list --

    @router.message(Command("mine"))
    @router.message(label(i18n, MINE))
    async def list_command(message: Message, suggestions: SuggestionService, actor: Actor) -> None:
        # Whatever conversation is on, its state and data stay as they are.
        text, markup = render_list(await suggestions.mine(actor, 1))
        await message.answer(text, reply_markup=markup)

    @router.callback_query(MenuCb.filter(F.go == "mine"))
    async def list_from_menu(
        query: CallbackQuery, bot: Bot, suggestions: SuggestionService, actor: Actor
    ) -> None:
        text, markup = render_list(await suggestions.mine(actor, 1))
        await put(query, bot, text, markup, edit=False)
        await query.answer()

    @router.callback_query(MineCb.filter(F.act == LIST))
    async def list_page(
        query: CallbackQuery,
        callback_data: MineCb,
        bot: Bot,
        suggestions: SuggestionService,
        actor: Actor,
    ) -> None:
        text, markup = render_list(await suggestions.mine(actor, callback_data.page))
        await put(query, bot, text, markup)
        await query.answer()

    @router.callback_query(MineCb.filter(F.act == HERE))
    async def here(query: CallbackQuery) -> None:
        await query.answer()

    # -- the card --

    @router.callback_query(MineCb.filter(F.act == SHOW))
    async def show(
        query: CallbackQuery,
        callback_data: MineCb,
        bot: Bot,
        suggestions: SuggestionService,
        actor: Actor,
        policy: Policy,
    ) -> None:
        detail = await own_detail(suggestions, actor, callback_data.item)
        text = render_detail(detail, policy)
        markup = detail_markup(detail, callback_data.page)
        # From the list the card replaces it; from a notification it comes below it.
        await put(query, bot, text, markup, edit=callback_data.value == FROM_LIST)
        await query.answer()

    @router.callback_query(MineCb.filter(F.act == FILES))
    async def files(
        query: CallbackQuery,
        callback_data: MineCb,
        bot: Bot,
        suggestions: SuggestionService,
        actor: Actor,
    ) -> None:
        detail = await own_detail(suggestions, actor, callback_data.item)
        if not detail.attachments:
            await query.answer(_("This item has no attachments."))
            return
        await send_files(bot, query.from_user.id, detail.info.reference, detail.attachments)
        await query.answer()

    # -- withdrawing --

    @router.callback_query(MineCb.filter(F.act == WITHDRAW))
    async def withdraw(
        query: CallbackQuery,
        callback_data: MineCb,
        bot: Bot,
        suggestions: SuggestionService,
        actor: Actor,
        policy: Policy,
    ) -> None:
        item, page = callback_data.item, callback_data.page
        detail = await own_detail(suggestions, actor, item)
        if Action.WITHDRAW not in detail.actions:
            raise IllegalTransition("withdraw is not offered", status=detail.info.status)
        if callback_data.value != YES:
            text = _(
                "Withdraw <b>{reference}</b> «{title}»? The office will be told, and this "
                "cannot be undone."
            ).format(reference=esc(detail.info.reference), title=esc(detail.info.title))
            markup = InlineKeyboardMarkup(
                inline_keyboard=[
                    [
                        button(
                            _("Yes, withdraw"),
                            MineCb(act=WITHDRAW, item=item, page=page, value=YES).pack(),
                        ),
                        button(
                            _("No, keep it"),
                            MineCb(act=SHOW, item=item, page=page, value=FROM_LIST).pack(),
                        ),
                    ]
                ]
            )
            await put(query, bot, text, markup)
            await query.answer()
            return
        await suggestions.withdraw(actor, item)
        detail = await own_detail(suggestions, actor, item)
        await put(query, bot, render_detail(detail, policy), detail_markup(detail, page))
        await query.answer(_("Withdrawn. The office has been told."))

    # -- answering the office's question --

    @router.callback_query(MineCb.filter(F.act == ANSWER))
    async def answer_begin(
        query: CallbackQuery,
        callback_data: MineCb,
        bot: Bot,
        suggestions: SuggestionService,
        actor: Actor,
        state: FSMContext,
    ) -> None:
        detail = await own_detail(suggestions, actor, callback_data.item)
        if Action.ANSWER_INFO not in detail.actions:
            raise IllegalTransition("no question to answer", status=detail.info.status)
        info = detail.info
        question = latest_question(detail)
        lines = [f"<b>{esc(info.reference)}</b> «{esc(clip(info.title, LIST_TITLE_MAX))}»"]
        if question:
            lines.append(_("The office asks:"))
            lines.append(f"<blockquote>{esc(clip(question, TEXT_MAX))}</blockquote>")
        lines.append(
            _(
                "Write your answer; you may send several messages (at most {limit} characters "
                "in all) and add photos or documents if they help (at most {most}). Then press "
                "<b>{send}</b>."
            ).format(limit=TEXT_MAX, most=ATTACHMENTS_MAX, send=esc(_("✅ Send the answer")))
        )
        data = await state.get_data()
        data.pop(RATING_KEY, None)
        data[ANSWER_KEY] = {
            "item": info.id,
            "reference": info.reference,
            "text": "",
            "attachments": [],
            "albums": [],
        }
        await state.set_data(data)
        await state.set_state(Answering.text)
        await bot.send_message(
            query.from_user.id, "\n".join(lines), reply_markup=_answer_buttons(info.id)
        )
        await query.answer()

    async def current_answer(message: Message, state: FSMContext) -> dict[str, Any] | None:
        data = await load(state, ANSWER_KEY)
        if not data.get("item"):
            await finish(state, ANSWER_KEY)
            await message.answer(
                _("This answer is no longer in progress. Open the item again from My suggestions.")
            )
            return None
        return data

    @router.message(Answering.text, label(i18n, CANCEL))
    async def answer_cancel_typed(message: Message, state: FSMContext) -> None:
        await finish(state, ANSWER_KEY)
        await message.answer(_("Your answer was discarded; nothing was sent."))

    @router.message(Answering.text, plain)
    async def answer_text(message: Message, state: FSMContext) -> None:
        data = await current_answer(message, state)
        if data is None:
            return
        text = joined(data["text"], message.text)
        if len(text) > TEXT_MAX:
            await message.answer(too_long(len(text), TEXT_MAX))
            return
        data["text"] = text
        await save(state, ANSWER_KEY, data)
        await message.answer(_progress(data), reply_markup=_answer_buttons(data["item"]))

    @router.message(Answering.text, F.photo | F.document)
    async def answer_file(message: Message, state: FSMContext) -> None:
        data = await current_answer(message, state)
        if data is None:
            return
        album = message.media_group_id
        # One reply per album, not one per photo; a refusal is still always said.
        told = album is not None and album in data["albums"]
        if album is not None and not told:
            data["albums"].append(album)
        text = joined(data["text"], message.caption)
        if len(data["attachments"]) >= ATTACHMENTS_MAX:
            await save(state, ANSWER_KEY, data)
            await message.answer(
                _("At most {most} files can go with an answer; this one was not added.").format(
                    most=ATTACHMENTS_MAX
                )
            )
            return
        if len(text) > TEXT_MAX:
            await save(state, ANSWER_KEY, data)
            await message.answer(too_long(len(text), TEXT_MAX))
            return
        attachment = attachment_of(message)
        assert attachment is not None  # the filter let only photos and documents in
        data["attachments"].append(attachment)
        data["text"] = text
        await save(state, ANSWER_KEY, data)
        if not told:
            await message.answer(_progress(data), reply_markup=_answer_buttons(data["item"]))

    @router.message(Answering.text, F.text.is_(None))
    async def answer_other(message: Message) -> None:
        await message.answer(
            _("An answer can be text, photos or documents. Please send one of those.")
        )

    @router.callback_query(MineCb.filter(F.act == SEND))
    async def answer_send(
        query: CallbackQuery,
        callback_data: MineCb,
        bot: Bot,
        suggestions: SuggestionService,
        actor: Actor,
        state: FSMContext,
    ) -> None:
        data = await load(state, ANSWER_KEY)
        if (
            await state.get_state() != Answering.text.state
            or data.get("item") != callback_data.item
        ):
            await stale(query)
            return
        if not data.get("text", "").strip():
            await query.answer(
                _("Please write your answer first: the office needs a few words, even with files."),
                show_alert=True,
            )
            return
        try:
            info = await suggestions.answer_info(
                actor, callback_data.item, data["text"], attachments_in(data.get("attachments", []))
            )
        except IllegalTransition as error:
            # Refused before anything was written: end the flow rather than loop on it.
            await finish(state, ANSWER_KEY)
            await query.answer(explain(error), show_alert=True)
            return
        await finish(state, ANSWER_KEY)
        text = _(
            "✅ Your answer about <b>{reference}</b> has been sent to the office. It will "
            "review the item again and decide by {date}."
        ).format(reference=esc(info.reference), date=day(info.decision_due))
        await put(query, bot, text, open_button(info))
        await query.answer()

    # -- rating --

    @router.callback_query(
        MineCb.filter((F.act == RATE) & F.value.in_({v.value for v in RatingValue}))
    )
    async def rate_begin(
        query: CallbackQuery,
        callback_data: MineCb,
        bot: Bot,
        suggestions: SuggestionService,
        actor: Actor,
        state: FSMContext,
    ) -> None:
        detail = await own_detail(suggestions, actor, callback_data.item)
        if Action.RATE not in detail.actions and Action.REOPEN not in detail.actions:
            if detail.ratings:
                raise AlreadyRated("this outcome has been rated")
            raise IllegalTransition("nothing to rate", status=detail.info.status)
        value = RatingValue(callback_data.value)
        data = await state.get_data()
        data.pop(ANSWER_KEY, None)
        data[RATING_KEY] = {
            "item": detail.info.id,
            "reference": detail.info.reference,
            "value": value.value,
        }
        await state.set_data(data)
        await state.set_state(Rating.comment)
        text = _(
            "You chose <b>{rating}</b> for <b>{reference}</b>. If you like, add a comment in "
            "one message (at most {limit} characters), or press <b>{skip}</b>."
        ).format(
            rating=esc(labels.rating(value)),
            reference=esc(detail.info.reference),
            limit=COMMENT_MAX,
            skip=esc(_(SKIP)),
        )
        await bot.send_message(
            query.from_user.id, text, reply_markup=_rating_buttons(detail.info.id)
        )
        await query.answer()

    async def rate(
        suggestions: SuggestionService,
        actor: Actor,
        state: FSMContext,
        comment: str | None,
    ) -> tuple[str, InlineKeyboardMarkup | None]:
        data = await load(state, RATING_KEY)
        value = RatingValue(data["value"])
        try:
            info = await suggestions.rate(actor, int(data["item"]), value, comment)
        except (AlreadyRated, IllegalTransition) as error:
            # Refused before anything was written: end the flow rather than loop on it.
            await finish(state, RATING_KEY)
            return explain(error), None
        await finish(state, RATING_KEY)
        if value is RatingValue.DISSATISFIED and info.status is S.IMPLEMENTING:
            text = _(
                "Thank you. As you are not satisfied, <b>{reference}</b> has been reopened and "
                "sent back to the department to continue the work. You will be told of its "
                "progress."
            ).format(reference=esc(info.reference))
        else:
            text = _("Thank you for rating <b>{reference}</b>: {rating}.").format(
                reference=esc(info.reference), rating=esc(labels.rating(value))
            )
        return text, open_button(info)

    async def current_rating(state: FSMContext) -> dict[str, Any] | None:
        data = await load(state, RATING_KEY)
        if data.get("value") not in {v.value for v in RatingValue} or not data.get("item"):
            await finish(state, RATING_KEY)
            return None
        return data

    @router.message(Rating.comment, label(i18n, CANCEL))
    async def rate_cancel_typed(message: Message, state: FSMContext) -> None:
        await finish(state, RATING_KEY)
        await message.answer(_("Rating cancelled; nothing was recorded."))

    async def rate_typed(
        message: Message,
        suggestions: SuggestionService,
        actor: Actor,
        state: FSMContext,
        comment: str | None,
    ) -> None:
        if await current_rating(state) is None:
            await message.answer(
                _("This rating is no longer in progress. Open the item again from My suggestions.")
            )
            return
        if comment is not None and len(comment) > COMMENT_MAX:
            await message.answer(too_long(len(comment), COMMENT_MAX))
            return
        text, markup = await rate(suggestions, actor, state, comment)
        await message.answer(text, reply_markup=markup)

    @router.message(Rating.comment, label(i18n, SKIP))
    async def rate_skip_typed(
        message: Message, suggestions: SuggestionService, actor: Actor, state: FSMContext
    ) -> None:
        await rate_typed(message, suggestions, actor, state, None)

    @router.message(Rating.comment, plain)
    async def rate_comment(
        message: Message, suggestions: SuggestionService, actor: Actor, state: FSMContext
    ) -> None:
        await rate_typed(message, suggestions, actor, state, (message.text or "").strip() or None)

    @router.message(Rating.comment, F.text.is_(None))
    async def rate_other(message: Message) -> None:
        await message.answer(
            _("A comment can only be text. Please type it, or press <b>{skip}</b>.").format(
                skip=esc(_(SKIP))
            )
        )

    @router.callback_query(MineCb.filter(F.act == SKIP_COMMENT))
    async def rate_skip(
        query: CallbackQuery,
        callback_data: MineCb,
        bot: Bot,
        suggestions: SuggestionService,
        actor: Actor,
        state: FSMContext,
    ) -> None:
        data = await current_rating(state)
        if (
            await state.get_state() != Rating.comment.state
            or data is None
            or data["item"] != callback_data.item
        ):
            await stale(query)
            return
        text, markup = await rate(suggestions, actor, state, None)
        await put(query, bot, text, markup)
        await query.answer()

    # -- leaving a flow --

    @router.callback_query(MineCb.filter(F.act == QUIT))
    async def quit_flow(
        query: CallbackQuery, callback_data: MineCb, bot: Bot, state: FSMContext
    ) -> None:
        flows = {ANSWER_KEY: Answering.text.state, RATING_KEY: Rating.comment.state}
        key = callback_data.value
        data = await load(state, key) if key in flows else {}
        if await state.get_state() != flows.get(key) or data.get("item") != callback_data.item:
            await stale(query)
            return
        await finish(state, key)
        text = (
            _("Your answer was discarded; nothing was sent.")
            if key == ANSWER_KEY
            else _("Rating cancelled; nothing was recorded.")
        )
        await put(query, bot, text, None)
        await query.answer()

    # -- anything else under our prefix: forged, garbled or from an older version --

    @router.callback_query(F.data.startswith("my:"))
    async def unknown(query: CallbackQuery) -> None:
        await stale(query)

    return router
