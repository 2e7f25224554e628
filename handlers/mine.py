"""My suggestions: the observer's own items, each one's history, and what they may do next.

One message carries the list (headed "My own suggestions" for someone who is also a
liaison, whose /mine brings their department's list too: handlers.department); tapping
an item turns it into the item's card (status, facts, the timeline of moves with the
office's words) with only the buttons the lifecycle allows the observer now: withdraw,
answer the office's question, add to it, rate. Three
short conversations hang off the card: answering and adding (text in several messages
plus photos and documents) and rating (a choice, then an optional comment). A reply to
any notice the bot sent about an item starts answering or adding to that item with
what was replied, which goes to the office only once confirmed with a button.

Nothing in callback data is trusted. Every handler goes through the services with the
acting person, which report another observer's item as not found; on top of that the
card is only ever shown for the person's own items, so an admin or a liaison pressing
a forged button here sees nothing that is not theirs as an observer.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import ClassVar

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.domain.errors import AlreadyRated, IllegalTransition, InvalidInput, NotFound
from bot.domain.lifecycle import Action
from bot.domain.limits import ATTACHMENTS_MAX, COMMENT_MAX, TEXT_MAX
from bot.domain.roles import Role
from bot.domain.statuses import RatingValue, SuggestionStatus
from bot.services.actors import Actor
from bot.services.context import Policy
from bot.services.suggestions import SuggestionService, answer_due
from bot.services.views import Page, RatingInfo, SuggestionDetail, SuggestionInfo, TimelineEntry
from handlers import item_facts as facts
from handlers import labels, used_prompts
from handlers.attachments import attachments_in
from handlers.callbacks import MenuCb, MineCb
from handlers.collecting import (
    Collected,
    CollectedT,
    ItemFlow,
    Writing,
    add_file,
    add_text,
    ongoing,
)
from handlers.conversation import (
    PlainText,
    label,
    private_router,
    too_long,
)
from handlers.desks import Desks
from handlers.errors import explain
from handlers.item_desk import ItemDesk
from handlers.item_pages import put, show_files, stale
from handlers.item_pages import send_files as send_files  # where handlers.outgoing finds it
from handlers.keyboards import CANCEL, MINE, NEW, SKIP, button
from handlers.notices import reference_in
from handlers.ui import MESSAGE_MAX, N_, clip, day, esc, local_time, shown_length, telegram_length
from handlers.used_prompts import (
    ADDITION_SENT,
    ANSWER_SENT,
    MOVED_ON,
    RATED,
    REPLACED,
    Outcome,
    end,
    pressed_id,
    settle_origin,
    told,
)

S = SuggestionStatus


class Answering(StatesGroup):
    """Collecting the observer's answer to the office's question."""

    text = State()


class Rating(StatesGroup):
    """A rating chosen; waiting for an optional comment."""

    comment = State()


class Adding(StatesGroup):
    """Collecting the observer's addition to an open item (its data: ``adding``)."""

    text = State()


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
ADD = "add"  # start adding to an open item
ADD_SEND = "addsend"  # send the collected addition
FROM_LIST = "l"
YES = "yes"

# Keys of this module's flows in the shared FSM data.
ANSWER_KEY = "answer"
RATING_KEY = "rating"
ADDING_KEY = "adding"

# The card keeps at least this much of the body before it drops older history.
BODY_FLOOR = 600
# The office's words in one timeline entry; the newest entry may be cut further.
WORDS_MAX = 700
RATINGS_SHOWN = 3
RATING_COMMENT_MAX = 300
# A margin for the separators between the parts of the card.
_SLACK = 16


def is_owner(actor: Actor, info: SuggestionInfo) -> bool:
    return actor.observer_id is not None and info.observer_id == actor.observer_id


class Desk(ItemDesk[MineCb]):
    """A button of My suggestions: the press, who pressed it, and the services
    (handlers.item_desk); handed to each handler by :class:`Desks`."""

    async def detail(self) -> SuggestionDetail:
        """The card of the pressed item, if it is one of the person's own; anything else
        is "not found"."""
        # An admin or a liaison may see the item elsewhere, but this is "My suggestions".
        return await self.lookup(self.suggestions.detail, self._own, "the actor's own")

    def _own(self, detail: SuggestionDetail) -> bool:
        return is_owner(self.actor, detail.info)

    def card(self, detail: SuggestionDetail) -> tuple[str, InlineKeyboardMarkup]:
        return render_detail(detail, self.policy), detail_markup(detail, self.cb.page)

    def card_page(self) -> int:
        # A card has its "Back to list" button; a notice has none.
        message = self.query.message
        markup = message.reply_markup if isinstance(message, Message) else None
        back = MineCb(act=LIST, page=self.cb.page).pack()
        rows = markup.inline_keyboard if markup is not None else []
        return self.cb.page if any(b.callback_data == back for row in rows for b in row) else 0


# ---- the list -------------------------------------------------------------------------


def render_list(page: Page, *, liaison: bool = False) -> tuple[str, InlineKeyboardMarkup | None]:
    """The observer's list; for one who is also a liaison (``liaison``), headed as their
    own, apart from their department's list."""
    if page.total == 0:
        empty = _(
            "You have not filed anything yet. To file what you have collected, press "
            "<b>{button}</b> in the menu or send /new."
        ).format(button=esc(_(NEW)))
        return (f"{own_heading()}\n{empty}" if liaison else empty), None
    if liaison:
        head = _("<b>📋 My own suggestions</b>: {total} in all.").format(total=page.total)
    else:
        head = _("<b>My suggestions</b>: {total} in all.").format(total=page.total)
    if page.pages > 1:
        head += " " + _("Page {page} of {pages}.").format(page=page.page, pages=page.pages)
    lines = [head, ""]
    rows: list[list[InlineKeyboardButton]] = []
    for item in page.items:
        data = MineCb(act=SHOW, item=item.id, page=page.page, value=FROM_LIST).pack()
        line, opener = facts.list_entry(item, esc(labels.status(item.status)), data)
        lines.append(line)
        rows.append([opener])
    lines.extend(["", _("Tap an item to see its history and what you can do.")])
    if page.pages > 1:
        rows.append(_pager(page))
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


def own_heading() -> str:
    return _("<b>📋 My own suggestions</b>")


def is_liaison(actor: Actor) -> bool:
    return Role.LIAISON in actor.roles


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
    return [
        f"<b>{esc(info.reference)}</b> · {esc(labels.status_with_emoji(info.status))}",
        f"<b>{esc(info.title)}</b>",
        _("<b>Kind:</b> {kind}").format(kind=esc(labels.kind(info.kind))),
        _("<b>Domain:</b> {domain}").format(domain=esc(labels.domain(info.domain))),
        _("<b>On whose behalf:</b> {behalf}").format(behalf=esc(labels.behalf(info.behalf))),
        *facts.place(info, None),
        *facts.point(detail, None),
        facts.filed(info, policy),
        *_decision(detail, policy),
        *facts.reported_to(info, None),
        *facts.department(detail, None),
        *facts.implementation_due(info, None),
        *facts.implemented(info, policy),
        *facts.attachments(detail),
    ]


def _decision(detail: SuggestionDetail, policy: Policy) -> list[str]:
    """When the office is to decide, or when it did; while it waits on the observer,
    when their answer is due (the office's own clock stands still meanwhile)."""
    info = detail.info
    if info.status is S.NEEDS_INFO:
        asked = [e.payload for e in detail.timeline if e.action in (Action.ASK_INFO, Action.CHASE)]
        due = answer_due(asked, info.decision_due)
        return [_("<b>Your answer is due by:</b> {date}").format(date=day(due))]
    if info.status in (S.SUBMITTED, S.IN_REVIEW):
        return [_("<b>Decision due:</b> {date}").format(date=day(info.decision_due))]
    if info.decided_at is not None:
        moment = local_time(info.decided_at, policy.tz)
        return [_("<b>Decided:</b> {moment}").format(moment=moment)]
    return []


def render_entry(entry: TimelineEntry, policy: Policy, words_max: int = WORDS_MAX) -> str:
    """One move: when, what, and the office's words (or the observer's own)."""
    lines = [f"▫️ {local_time(entry.at, policy.tz)} · <b>{esc(labels.action(entry.action))}</b>"]
    payload = entry.payload
    department = labels.carried_place(payload, "department")
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
    draw = functools.partial(render_entry, policy=policy)

    def cut(entry: TimelineEntry) -> int:
        # What is left for the newest move's words once its first line is written.
        return room - floor - (shown_length(draw(entry, words_max=0)) + 2)

    chosen, used = facts.newest_that_fit(visible, room - floor, draw, cut)
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
    if Action.ADD in actions:
        data = MineCb(act=ADD, item=item, page=page).pack()
        rows.append([button(_("➕ Add to it"), data)])
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
    rows.append([button(_("⬅️ Back to list"), MineCb(act=LIST, page=page).pack())])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def open_button(info: SuggestionInfo) -> InlineKeyboardMarkup:
    text = _("📄 Open {reference}").format(reference=info.reference)
    return InlineKeyboardMarkup(
        inline_keyboard=[[button(text, MineCb(act=SHOW, item=info.id).pack())]]
    )


# ---- the list and the card: handlers --------------------------------------------------


async def own_list(
    suggestions: SuggestionService, actor: Actor, page: int = 1
) -> tuple[str, InlineKeyboardMarkup | None]:
    """A page of the observer's own list, as :func:`render_list` draws it for them."""
    return render_list(await suggestions.mine(actor, page), liaison=is_liaison(actor))


async def list_command(message: Message, suggestions: SuggestionService, actor: Actor) -> None:
    # Whatever conversation is on, its state and data stay as they are.
    text, markup = await own_list(suggestions, actor)
    await message.answer(text, reply_markup=markup)


async def list_from_menu(
    query: CallbackQuery, bot: Bot, suggestions: SuggestionService, actor: Actor
) -> None:
    text, markup = await own_list(suggestions, actor)
    await put(query, bot, text, markup, edit=False)
    await query.answer()


async def list_page(query: CallbackQuery, desk: Desk) -> None:
    await desk.show(*await own_list(desk.suggestions, desk.actor, desk.cb.page))


async def here(query: CallbackQuery) -> None:
    await query.answer()


async def show(query: CallbackQuery, desk: Desk) -> None:
    card = desk.card(await desk.detail())
    # From the list the card replaces it; from a notification it comes below it.
    await desk.show(*card, edit=desk.cb.value == FROM_LIST)


async def files(query: CallbackQuery, desk: Desk) -> None:
    detail = await desk.detail()
    await show_files(query, desk.bot, detail.info.reference, detail.attachments)


# ---- withdrawing ----------------------------------------------------------------------


def _withdraw_question(info: SuggestionInfo, page: int) -> tuple[str, InlineKeyboardMarkup]:
    text = _(
        "Withdraw <b>{reference}</b> “{title}”? The office will be told, and this cannot be undone."
    ).format(reference=esc(info.reference), title=esc(info.title))
    yes = MineCb(act=WITHDRAW, item=info.id, page=page, value=YES).pack()
    no = MineCb(act=SHOW, item=info.id, page=page, value=FROM_LIST).pack()
    markup = InlineKeyboardMarkup(
        inline_keyboard=[[button(_("Yes, withdraw"), yes), button(_("No, keep it"), no)]]
    )
    return text, markup


async def withdraw(query: CallbackQuery, desk: Desk) -> None:
    detail = await desk.detail()
    if Action.WITHDRAW not in detail.actions:
        raise IllegalTransition("withdraw is not offered", status=detail.info.status)
    if desk.cb.value != YES:
        await desk.show(*_withdraw_question(detail.info, desk.cb.page))
        return
    await desk.suggestions.withdraw(desk.actor, desk.cb.item)
    card = desk.card(await desk.detail())
    await desk.show(*card, said=_("Withdrawn. The office has been told."))


# ---- answering the office's question --------------------------------------------------


class Answer(Collected):
    """The observer's answer to the office's question, being written."""

    key: ClassVar[str] = ANSWER_KEY


def _answer_buttons(flow: Answer) -> InlineKeyboardMarkup:
    item = flow.item
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                button(_("✅ Send the answer"), MineCb(act=SEND, item=item).pack()),
                button(_(CANCEL), MineCb(act=QUIT, item=item, value=ANSWER_KEY).pack()),
            ]
        ]
    )


def latest_question(detail: SuggestionDetail) -> str | None:
    asked = [e for e in detail.timeline if e.action is Action.ASK_INFO and e.text]
    return asked[-1].text if asked else None


def _question(detail: SuggestionDetail) -> str:
    """The office's question, and how to answer it."""
    info = detail.info
    question = latest_question(detail)
    lines = [f"<b>{esc(info.reference)}</b> “{esc(clip(info.title, facts.LIST_TITLE_MAX))}”"]
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
    return "\n".join(lines)


def _progress(flow: Answer) -> str:
    return flow.tally(
        _(
            "Added to your answer: {chars} of {limit} characters, {files} of {most} files. "
            "Send more, or press <b>{send}</b> when you are done."
        ),
        _("✅ Send the answer"),
    )


# What the observer writes while answering, and what they are told.
_ANSWERING = Writing(
    Answer,
    Answering.text,
    gone=N_("This answer is no longer in progress. Open the item again from My suggestions."),
    cancelled=N_("Your answer was discarded; nothing was sent."),
    too_many=N_("At most {most} files can go with an answer; this one was not added."),
    other=N_("An answer can be text, photos or documents. Please send one of those."),
    progress=_progress,
    buttons=_answer_buttons,
)


async def answer_begin(query: CallbackQuery, desk: Desk) -> None:
    detail = await desk.detail()
    if Action.ANSWER_INFO not in detail.actions:
        if await told(query, desk.state, detail.info.id):
            return
        raise IllegalTransition("no question to answer", status=detail.info.status)
    flow = Answer(item=detail.info.id, reference=detail.info.reference)
    # One conversation about an item at a time: a rating or an addition begun is dropped.
    await end(desk.state, RatingChoice, Outcome(REPLACED))
    await end(desk.state, Addition, Outcome(REPLACED))
    await desk.begin(flow, Answering.text, origin=True)
    await desk.ask(flow, _question(detail), _answer_buttons(flow))


async def answer_send(query: CallbackQuery, desk: Desk) -> None:
    flow = await desk.flow(Answer, Answering.text)
    if flow is None:
        return
    if not flow.text.strip():
        await query.answer(
            _("Please write your answer first: the office needs a few words, even with files."),
            show_alert=True,
        )
        return
    attachments = attachments_in(flow.attachments)
    try:
        info = await desk.suggestions.answer_info(desk.actor, flow.item, flow.text, attachments)
    except IllegalTransition as error:
        # Refused before anything was written: end the flow rather than loop on it.
        await end(desk.state, Answer, Outcome(MOVED_ON), pressed=pressed_id(query), edited=False)
        await query.answer(explain(error), show_alert=True)
        return
    answered = Outcome(ANSWER_SENT)
    await _done_with(flow, answered, desk.suggestions, desk.actor, desk.state)
    await end(desk.state, Answer, answered, pressed=pressed_id(query))
    text = _(
        "✅ Your answer about <b>{reference}</b> has been sent to the office. It will "
        "review the item again and decide by {date}."
    ).format(reference=esc(info.reference), date=day(info.decision_due))
    await desk.show(text, open_button(info))


# ---- rating ---------------------------------------------------------------------------


class RatingChoice(ItemFlow):
    """A rating chosen, waiting for an optional comment."""

    key: ClassVar[str] = RATING_KEY

    value: RatingValue | None = None

    def ongoing(self) -> bool:
        return super().ongoing() and self.value is not None


def _rating_buttons(item: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                button(_(SKIP), MineCb(act=SKIP_COMMENT, item=item).pack()),
                button(_(CANCEL), MineCb(act=QUIT, item=item, value=RATING_KEY).pack()),
            ]
        ]
    )


async def rate_begin(query: CallbackQuery, desk: Desk) -> None:
    detail = await desk.detail()
    if Action.RATE not in detail.actions and Action.REOPEN not in detail.actions:
        if await told(query, desk.state, detail.info.id):
            return
        if detail.ratings:
            raise AlreadyRated("this outcome has been rated")
        raise IllegalTransition("nothing to rate", status=detail.info.status)
    info, value = detail.info, RatingValue(desk.cb.value)
    # One conversation about an item at a time: an answer or an addition begun is dropped.
    await end(desk.state, Answer, Outcome(REPLACED))
    await end(desk.state, Addition, Outcome(REPLACED))
    flow = RatingChoice(item=info.id, reference=info.reference, value=value)
    await desk.begin(flow, Rating.comment, origin=True)
    text = _(
        "You chose <b>{rating}</b> for <b>{reference}</b>. If you like, add a comment in "
        "one message (at most {limit} characters), or press <b>{skip}</b>."
    ).format(
        rating=esc(labels.rating(value)),
        reference=esc(info.reference),
        limit=COMMENT_MAX,
        skip=esc(_(SKIP)),
    )
    await desk.ask(flow, text, _rating_buttons(info.id))


async def rate(
    flow: RatingChoice,
    comment: str | None,
    suggestions: SuggestionService,
    actor: Actor,
    state: FSMContext,
    *,
    pressed: int | None = None,
) -> tuple[str, InlineKeyboardMarkup | None]:
    """Record the rating; what the observer is told (in place of the ``pressed``
    prompt, or below it: the prompt then says what was rated)."""
    value = flow.value
    assert value is not None  # the callers took a rating in progress
    try:
        info = await suggestions.rate(actor, flow.item, value, comment)
    except (AlreadyRated, IllegalTransition) as error:
        # Refused before anything was written: end the flow rather than loop on it.
        await end(state, RatingChoice, Outcome(MOVED_ON), pressed=pressed)
        return explain(error), None
    label_ = labels.rating(value)
    rated = Outcome(
        RATED,
        {"rating": label_},
        "✅ "
        + _("Rated {rating} on <b>{reference}</b>.").format(
            rating=esc(label_), reference=esc(info.reference)
        ),
    )
    await _done_with(flow, rated, suggestions, actor, state)
    await end(state, RatingChoice, rated, pressed=pressed)
    if value is RatingValue.DISSATISFIED and info.status is S.IMPLEMENTING:
        text = _(
            "Thank you. As you are not satisfied, <b>{reference}</b> has been reopened and "
            "sent back to the department to continue the work. You will be told of its "
            "progress."
        ).format(reference=esc(info.reference))
    elif value is RatingValue.DISSATISFIED and info.status in (S.REFERENCE, S.DECLINED):
        text = _(
            "Thank you. The office has been told that you are not satisfied with its "
            "decision on <b>{reference}</b>. It will answer you here."
        ).format(reference=esc(info.reference))
    else:
        text = _("Thank you for rating <b>{reference}</b>: {rating}.").format(
            reference=esc(info.reference), rating=esc(labels.rating(value))
        )
        if comment:
            text += " " + _("The office will read your comment.")
    return text, open_button(info)


_RATING_CANCELLED = N_("Rating cancelled; nothing was recorded.")


async def rate_cancel_typed(message: Message, state: FSMContext) -> None:
    await end(state, RatingChoice, Outcome(_RATING_CANCELLED))
    await message.answer(_(_RATING_CANCELLED))


async def rate_typed(
    message: Message,
    comment: str | None,
    suggestions: SuggestionService,
    actor: Actor,
    state: FSMContext,
) -> None:
    gone = _("This rating is no longer in progress. Open the item again from My suggestions.")
    flow = await ongoing(message, state, RatingChoice, gone)
    if flow is None:
        return
    if comment is not None and len(comment) > COMMENT_MAX:
        await message.answer(too_long(len(comment), COMMENT_MAX))
        return
    text, markup = await rate(flow, comment, suggestions, actor, state)
    await message.answer(text, reply_markup=markup)


async def rate_skip_typed(
    message: Message, suggestions: SuggestionService, actor: Actor, state: FSMContext
) -> None:
    await rate_typed(message, None, suggestions, actor, state)


async def rate_comment(
    message: Message, suggestions: SuggestionService, actor: Actor, state: FSMContext
) -> None:
    comment = (message.text or "").strip() or None
    await rate_typed(message, comment, suggestions, actor, state)


async def rate_other(message: Message) -> None:
    await message.answer(
        _("A comment can only be text. Please type it, or press <b>{skip}</b>.").format(
            skip=esc(_(SKIP))
        )
    )


async def rate_skip(query: CallbackQuery, desk: Desk) -> None:
    flow = await desk.flow(RatingChoice, Rating.comment)
    if flow is None:
        return
    said = await rate(
        flow, None, desk.suggestions, desk.actor, desk.state, pressed=pressed_id(query)
    )
    await desk.show(*said)


async def _done_with(
    flow: ItemFlow,
    outcome: Outcome,
    suggestions: SuggestionService,
    actor: Actor,
    state: FSMContext,
) -> None:
    """The notice or card the answer or rating began from no longer offers it: a card
    is drawn afresh, a notice keeps its other buttons (handlers.used_prompts)."""
    card = None
    if flow.origin is not None and flow.origin_page:
        detail = await suggestions.detail(actor, flow.item)
        card = render_detail(detail, suggestions.policy), detail_markup(detail, flow.origin_page)
    await settle_origin(state, flow, outcome, functools.partial(_begins, flow.item), card)


def _begins(item: int, data: str) -> bool:
    """Whether a button's data begins an answer or a rating of ``item``."""
    try:
        pressed = MineCb.unpack(data)
    except (TypeError, ValueError):
        return False
    return pressed.act in (ANSWER, RATE) and pressed.item == item


# ---- adding to an open item -----------------------------------------------------------


class Addition(Collected):
    """The observer's addition to an open item, being written."""

    key: ClassVar[str] = ADDING_KEY


_SEND_ADDITION = N_("✅ Send the addition")


def _addition_buttons(flow: Addition) -> InlineKeyboardMarkup:
    item = flow.item
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                button(_(_SEND_ADDITION), MineCb(act=ADD_SEND, item=item).pack()),
                button(_(CANCEL), MineCb(act=QUIT, item=item, value=ADDING_KEY).pack()),
            ]
        ]
    )


def _subject(info: SuggestionInfo) -> str:
    return f"<b>{esc(info.reference)}</b> “{esc(clip(info.title, facts.LIST_TITLE_MAX))}”"


def _addition_prompt(info: SuggestionInfo) -> str:
    return "\n".join(
        [
            _subject(info),
            _(
                "Write what you want to add; you may send several messages (at most {limit} "
                "characters in all) and photos or documents (at most {most}). Then press "
                "<b>{send}</b>. The office will read it, and so will the department working "
                "on it (without your name)."
            ).format(limit=TEXT_MAX, most=ATTACHMENTS_MAX, send=esc(_(_SEND_ADDITION))),
        ]
    )


def _addition_progress(flow: Addition) -> str:
    return flow.tally(
        _(
            "Your addition so far: {chars} of {limit} characters, {files} of {most} files. "
            "Send more, or press <b>{send}</b> when you are done."
        ),
        _(_SEND_ADDITION),
    )


# What the observer writes while adding, and what they are told.
_ADDING = Writing(
    Addition,
    Adding.text,
    gone=N_("This addition is no longer in progress. Open the item again from My suggestions."),
    cancelled=N_("Your addition was discarded; nothing was sent."),
    too_many=N_("At most {most} files can go with one addition; this one was not added."),
    other=N_("An addition can be text, photos or documents. Please send one of those."),
    progress=_addition_progress,
    buttons=_addition_buttons,
)


async def add_begin(query: CallbackQuery, desk: Desk) -> None:
    detail = await desk.detail()
    if Action.ADD not in detail.actions:
        raise IllegalTransition("nothing can be added now", status=detail.info.status)
    flow = Addition(item=detail.info.id, reference=detail.info.reference)
    # One conversation about an item at a time.
    await end(desk.state, Answer, Outcome(REPLACED))
    await end(desk.state, RatingChoice, Outcome(REPLACED))
    await desk.begin(flow, Adding.text)
    await desk.ask(flow, _addition_prompt(detail.info), _addition_buttons(flow))


async def add_send(query: CallbackQuery, desk: Desk) -> None:
    flow = await desk.flow(Addition, Adding.text)
    if flow is None:
        return
    if not flow.text.strip() and not flow.attachments:
        await query.answer(
            _("Nothing to send yet: please write something or send a photo or document."),
            show_alert=True,
        )
        return
    attachments = attachments_in(flow.attachments)
    try:
        info = await desk.suggestions.add(desk.actor, flow.item, flow.text or None, attachments)
    except IllegalTransition as error:
        # The item moved on meanwhile (decided, withdrawn): end the flow, say why.
        await end(desk.state, Addition, Outcome(MOVED_ON), pressed=pressed_id(query), edited=False)
        await query.answer(explain(error), show_alert=True)
        return
    await end(desk.state, Addition, Outcome(ADDITION_SENT), pressed=pressed_id(query))
    text = _("✅ Your addition to <b>{reference}</b> has been sent to the office.").format(
        reference=esc(info.reference)
    )
    if info.department_id is not None and info.status in (S.ADOPTED, S.IMPLEMENTING):
        text += " " + _("The department working on it has it too, without your name.")
    await desk.show(text, open_button(info))


# ---- a reply to a notice about an item ------------------------------------------------


def _nothing_to_add(detail: SuggestionDetail) -> str:
    """Why a reply to a notice cannot be taken as an addition, and what can be done."""
    info = detail.info
    lines = [
        _("{subject} is “{status}”: nothing can be added to it now.").format(
            subject=_subject(info), status=esc(labels.status(info.status))
        )
    ]
    if {Action.RATE, Action.REOPEN, Action.DISPUTE} & set(detail.actions):
        lines.append(
            _(
                "To tell the office what you think of the outcome, rate it with the buttons "
                "on its card: you can add a comment, and the office will read it."
            )
        )
    else:
        lines.append(_("To raise something new, file a new suggestion with /new."))
    return "\n".join(lines)


async def _start_from_reply(
    message: Message, state: FSMContext, flow: CollectedT, writing: Writing[CollectedT], ask: str
) -> None:
    """What was replied becomes the start of the flow: kept, not sent, until the
    person presses its button (an accidental reply files nothing)."""
    await state.set_state(writing.step)
    # The notice replied to is where it began: once answered, its ✍️ goes.
    used_prompts.began_from(flow, message.reply_to_message)
    await used_prompts.start(state, flow)
    if message.text is not None:
        await add_text(message, state, flow)
    else:
        await add_file(message, state, flow, _(writing.too_many).format(most=ATTACHMENTS_MAX))
    text = "\n\n".join([ask, writing.progress(flow)])
    await used_prompts.ask(state, flow, text, writing.buttons(flow))


async def reply_to_notice(
    message: Message,
    bot: Bot,
    suggestions: SuggestionService,
    actor: Actor,
    state: FSMContext,
) -> None:
    """A reply to the bot's notice about one of the person's items: the start of an
    answer (the office asked) or of an addition, sent once confirmed. Anything else is
    left to the routers after this one."""
    replied = message.reply_to_message
    if replied is None or replied.from_user is None or replied.from_user.id != bot.id:
        raise SkipHandler
    reference = reference_in(replied)
    if reference is None or actor.observer_id is None:
        raise SkipHandler
    try:
        info = await suggestions.find_reference(actor, reference)
    except (NotFound, InvalidInput):
        raise SkipHandler from None
    if not is_owner(actor, info):
        raise SkipHandler
    detail = await suggestions.detail(actor, info.id)
    if Action.ANSWER_INFO in detail.actions:
        # The office is waiting for an answer: what the observer replies is that.
        answer = Answer(item=info.id, reference=info.reference)
        await _start_from_reply(message, state, answer, _ANSWERING, _confirm_answer(detail))
    elif Action.ADD in detail.actions:
        addition = Addition(item=info.id, reference=info.reference)
        await _start_from_reply(message, state, addition, _ADDING, _confirm_addition(detail))
    else:
        await message.answer(_nothing_to_add(detail), reply_markup=open_button(info))


def _confirm_addition(detail: SuggestionDetail) -> str:
    return _(
        "Add this to {subject}? Nothing is sent until you press <b>{send}</b>; you may "
        "send more first, or cancel."
    ).format(subject=_subject(detail.info), send=esc(_(_SEND_ADDITION)))


def _confirm_answer(detail: SuggestionDetail) -> str:
    lines = [
        _(
            "Is this your answer to the office's question about {subject}? Nothing is sent "
            "until you press <b>{send}</b>; you may send more first, or cancel."
        ).format(subject=_subject(detail.info), send=esc(_("✅ Send the answer")))
    ]
    if question := latest_question(detail):
        lines.append(_("The office asks:"))
        lines.append(f"<blockquote>{esc(clip(question, TEXT_MAX))}</blockquote>")
    return "\n".join(lines)


# ---- leaving a flow -------------------------------------------------------------------

# Which flow a Cancel button ends (its value), at which step, and what is then said.
_QUITTING: dict[str, tuple[type[ItemFlow], State, str]] = {
    ANSWER_KEY: (Answer, Answering.text, N_("Your answer was discarded; nothing was sent.")),
    RATING_KEY: (RatingChoice, Rating.comment, N_("Rating cancelled; nothing was recorded.")),
    ADDING_KEY: (Addition, Adding.text, N_("Your addition was discarded; nothing was sent.")),
}


async def quit_flow(query: CallbackQuery, desk: Desk) -> None:
    if desk.cb.value not in _QUITTING:
        await stale(query)
        return
    kind, step, said = _QUITTING[desk.cb.value]
    if await desk.flow(kind, step) is None:
        return
    await end(desk.state, kind, Outcome(said), pressed=pressed_id(query))
    await desk.show(_(said), None)


# ---- the router -----------------------------------------------------------------------


def setup(i18n: I18n) -> Router:
    router = private_router("mine")
    router.callback_query.middleware(Desks(Desk.pressed(MineCb)))
    _register_list(router, i18n)
    _register_answering(router, i18n)
    _register_rating(router, i18n)
    _register_adding(router, i18n)
    router.callback_query.register(quit_flow, MineCb.filter(F.act == QUIT))
    # Anything else under our prefix: forged, garbled or from an older version.
    router.callback_query.register(stale, F.data.startswith("my:"))
    return router


def _register_list(router: Router, i18n: I18n) -> None:
    router.message.register(list_command, label(i18n, MINE))
    router.message.register(list_command, Command("mine"))
    router.callback_query.register(list_from_menu, MenuCb.filter(F.go == "mine"))
    router.callback_query.register(list_page, MineCb.filter(F.act == LIST))
    router.callback_query.register(here, MineCb.filter(F.act == HERE))
    router.callback_query.register(show, MineCb.filter(F.act == SHOW))
    router.callback_query.register(files, MineCb.filter(F.act == FILES))
    router.callback_query.register(withdraw, MineCb.filter(F.act == WITHDRAW))


def _register_answering(router: Router, i18n: I18n) -> None:
    router.callback_query.register(answer_begin, MineCb.filter(F.act == ANSWER))
    _ANSWERING.register(router, i18n)
    router.callback_query.register(answer_send, MineCb.filter(F.act == SEND))


def _register_adding(router: Router, i18n: I18n) -> None:
    router.callback_query.register(add_begin, MineCb.filter(F.act == ADD))
    _ADDING.register(router, i18n)
    router.callback_query.register(add_send, MineCb.filter(F.act == ADD_SEND))
    # Only when no conversation is on: within one, a reply is part of it.
    router.message.register(
        reply_to_notice, StateFilter(None), F.reply_to_message, F.text | F.photo | F.document
    )


def _register_rating(router: Router, i18n: I18n) -> None:
    chosen = MineCb.filter((F.act == RATE) & F.value.in_({v.value for v in RatingValue}))
    router.callback_query.register(rate_begin, chosen)
    router.message.register(rate_cancel_typed, Rating.comment, label(i18n, CANCEL))
    router.message.register(rate_skip_typed, Rating.comment, label(i18n, SKIP))
    router.message.register(rate_comment, Rating.comment, PlainText(i18n))
    router.message.register(rate_other, Rating.comment, F.text.is_(None))
    router.callback_query.register(rate_skip, MineCb.filter(F.act == SKIP_COMMENT))
