"""The item card in the admin group: what it shows, its buttons, and keeping it current.

A card shows everything the office needs to decide (reference, observer and point,
domain, kind, title, text, deadlines, department) and who did what so far, with a
button for exactly the moves an admin may make from the item's status. The buttons
carry the item's version: a button pressed on a card that no longer shows the current
state (two admins at once, an old card) is answered with the state, not acted upon.

:func:`sync_item` is the one way a card changes: the handler of a move calls it at
once, the outbox sender calls it again later, and the stored digest makes the second
call free.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from dataclasses import dataclass
from datetime import date

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.domain.lifecycle import Action, allowed_actions
from bot.domain.roles import Role
from bot.domain.statuses import RatingValue, SuggestionStatus
from bot.services.context import Policy
from bot.services.notify import FILES
from bot.services.suggestions import ANSWER_DUE, INSTRUCTION, RATING, answer_due
from bot.services.views import SuggestionDetail, SuggestionInfo, TimelineEntry
from handlers import item_facts as facts
from handlers import labels
from handlers.keyboards import button
from handlers.ui import MESSAGE_MAX, N_, clip, day, esc, local_time, shown_length

log = logging.getLogger(__name__)

S = SuggestionStatus


class CardCb(CallbackData, prefix="c"):
    """A button on an item card: ``act`` is one of the short codes below, ``v`` the
    item's version when the card was drawn, ``val`` a picker's choice."""

    act: str
    item: int
    v: int = 0
    val: str = ""


# Button codes and the moves they start. "city" opens a picker of the three answers.
TAKE, ASK, ADOPT, REFERENCE, DECLINE, ESCALATE = "take", "ask", "adopt", "ref", "decl", "esc"
CITY, DUPLICATE, ASSIGN, DUE, DONE, CLOSE = "city", "dup", "dept", "due", "done", "close"
# The city's question back to the district about an item reported to it.
RETURN = "back"
# While the item waits on the observer's answer.
CHASE, ANYWAY, UNANSWERED = "chase", "anyway", "unans"
ACTS: dict[str, Action] = {
    TAKE: Action.TAKE,
    ASK: Action.ASK_INFO,
    ADOPT: Action.ADOPT,
    REFERENCE: Action.KEEP_REFERENCE,
    DECLINE: Action.DECLINE,
    ESCALATE: Action.ESCALATE,
    CITY: Action.CITY_ADOPT,
    RETURN: Action.CITY_RETURN,
    DUPLICATE: Action.MARK_DUPLICATE,
    ASSIGN: Action.ASSIGN,
    DUE: Action.SET_DUE,
    DONE: Action.MARK_IMPLEMENTED,
    CLOSE: Action.CLOSE,
    CHASE: Action.CHASE,
    ANYWAY: Action.DECIDE_ANYWAY,
    UNANSWERED: Action.CLOSE_UNANSWERED,
}
_BUTTONS: dict[str, str] = {
    TAKE: N_("🔍 Take"),
    ASK: N_("❓ Ask for information"),
    ADOPT: N_("✅ Adopt"),
    REFERENCE: N_("📁 Keep for reference"),
    DECLINE: N_("⛔ Decline"),
    ESCALATE: N_("🏛 Report to the city"),
    CITY: N_("🏛 Record the city's answer"),
    RETURN: N_("↩️ Back to the district, with a question"),
    DUPLICATE: N_("🔁 Duplicate"),
    ASSIGN: N_("🏢 Assign department"),
    DUE: N_("📅 Set due date"),
    DONE: N_("🎯 Mark implemented"),
    CLOSE: N_("🔒 Close"),
    CHASE: N_("🔔 Remind the observer"),
    ANYWAY: N_("⚖️ Decide anyway"),
    UNANSWERED: N_("🔒 Close: no answer"),
}

# How a move reads on the office's card (the observer's timeline says "you").
_OFFICE_ACTION: dict[Action, str] = {
    Action.SUBMIT: N_("filed it"),
    Action.TAKE: N_("took it for review"),
    Action.ASK_INFO: N_("asked the observer for information"),
    Action.ANSWER_INFO: N_("answered the office's question"),
    Action.WITHDRAW: N_("withdrew it"),
    Action.ADOPT: N_("adopted it"),
    Action.KEEP_REFERENCE: N_("kept it for reference"),
    Action.DECLINE: N_("declined it"),
    Action.ESCALATE: N_("reported it to the city"),
    Action.MARK_DUPLICATE: N_("marked it a duplicate"),
    Action.CITY_ADOPT: N_("recorded the city's answer: adopted"),
    Action.CITY_REFERENCE: N_("recorded the city's answer: kept for reference"),
    Action.CITY_DECLINE: N_("recorded the city's answer: not adopted"),
    Action.CITY_RETURN: N_("handed it back to the district with a question"),
    Action.ASSIGN: N_("assigned a department"),
    Action.SET_DUE: N_("set the due date"),
    Action.ACCEPT: N_("accepted it for implementation"),
    Action.PROGRESS: N_("reported progress"),
    Action.HAND_BACK: N_("handed it back to the office"),
    Action.MARK_IMPLEMENTED: N_("marked it implemented"),
    Action.RATE: N_("rated the outcome"),
    Action.REOPEN: N_("was dissatisfied: reopened"),
    Action.CLOSE: N_("closed it"),
    Action.NOTE: N_("📝 internal note"),
    Action.ADD: N_("➕ added to it"),
    Action.DISPUTE: N_("was dissatisfied with the decision"),
    Action.RECONSIDER: N_("reopened it for review"),
    Action.REPLY: N_("💬 answered the observer"),
    Action.CHASE: N_("reminded the observer of the question"),
    Action.DECIDE_ANYWAY: N_("went on to decide without the observer's answer"),
    Action.CLOSE_UNANSWERED: N_("closed it: the observer did not answer"),
}
_ROLE: dict[Role, str] = {
    Role.OBSERVER: N_("Observer"),
    Role.ADMIN: N_("Office"),
    Role.LIAISON: N_("Department"),
    Role.SYSTEM: N_("System"),
}

BODY_MAX = 1200  # of a card's text: enough to decide, short enough for a phone
WORDS_MAX = 300  # of one history entry's words
_SLACK = 64


@dataclass(frozen=True)
class Shown:
    text: str
    markup: InlineKeyboardMarkup | None
    # What the card is of, in a few plain words (an item's reference): an older card
    # shows it beside a pointer to the current one.
    label: str = ""
    # The newest event of the subject drawn (None: not an item card, or not known).
    event: int | None = None

    @property
    def digest(self) -> str:
        """A hash of text and buttons; the prefix says whether there are buttons, so a
        replaced card is only stripped of buttons it has."""
        markup = self.markup.model_dump_json() if self.markup else ""
        hashed = hashlib.sha256(f"{self.text}\x00{markup}".encode()).hexdigest()[:60]
        return ("b:" if self.markup else "n:") + hashed


def card_acts(info: SuggestionInfo, viewer: int | None = None) -> list[str]:
    """The buttons for an item as the group of the office ``viewer`` shows it (None: the
    item's own office's): the admin's moves from the table. The office the item was
    reported to (the city) answers it or hands it back; once reported there, the
    district no longer records the city's answer itself."""
    if viewer is not None and viewer != info.office_id:
        if viewer == info.above_id and info.status is S.ESCALATED:
            return [CITY, RETURN]
        return []
    allowed = set(allowed_actions(info.status, {Role.ADMIN}))
    if info.above_id is not None:
        allowed -= {Action.CITY_ADOPT, Action.CITY_RETURN}
    allowed.discard(Action.CITY_RETURN)
    return [act for act, action in ACTS.items() if action in allowed]


def item_markup(detail: SuggestionDetail, viewer: int | None = None) -> InlineKeyboardMarkup | None:
    info = detail.info
    buttons = [
        button(_(_BUTTONS[act]), CardCb(act=act, item=info.id, v=info.version).pack())
        for act in card_acts(info, viewer)
    ]
    if not buttons:
        return None
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def actor_label(entry: TimelineEntry) -> str:
    role = _(_ROLE[entry.actor_role])
    return f"{role} {entry.actor_name}" if entry.actor_name else role


def history_line(entry: TimelineEntry, policy: Policy, words_max: int = WORDS_MAX) -> str:
    when = local_time(entry.at, policy.tz)[5:]  # the year is on the reference already
    what = _(_OFFICE_ACTION[entry.action])
    line = f"▫️ {when} · {esc(clip(actor_label(entry), 60))} {esc(what)}"
    payload = entry.payload
    extra = []
    if payload.get("department") and entry.action in (
        Action.ADOPT,
        Action.CITY_ADOPT,
        Action.ASSIGN,
    ):
        extra.append(esc(clip(labels.carried_place(payload, "department"), 100)))
    if payload.get("due") and entry.action in (Action.ADOPT, Action.CITY_ADOPT, Action.SET_DUE):
        extra.append(_("due {date}").format(date=esc(clip(str(payload["due"]), 20))))
    if payload.get("duplicate_of") and entry.action is Action.MARK_DUPLICATE:
        extra.append(esc(clip(str(payload["duplicate_of"]), 40)))
    if payload.get("escalated_to") and entry.action is Action.ESCALATE:
        extra.append(esc(clip(str(payload["escalated_to"]), 100)))
    extra.extend(_from_the_observer(entry))
    if payload.get(ANSWER_DUE) and entry.action in (Action.ASK_INFO, Action.CHASE):
        extra.append(_("answer by {date}").format(date=esc(clip(str(payload[ANSWER_DUE]), 20))))
    if extra:
        line += " (" + ", ".join(extra) + ")"
    if entry.text and words_max > 1:
        line += f"\n<blockquote>{esc(clip(entry.text, words_max))}</blockquote>"
    instruction = payload.get(INSTRUCTION)
    if instruction and entry.action in (Action.ADOPT, Action.CITY_ADOPT) and words_max > 1:
        said = esc(clip(str(instruction), words_max))
        line += "\n" + _("To the department:") + f"\n<blockquote>{said}</blockquote>"
    return line


def _head(detail: SuggestionDetail, policy: Policy, today: str | None) -> list[str]:
    info = detail.info
    return [
        *facts.headline(info),
        _observer(detail),
        " · ".join(
            esc(x)
            for x in (
                labels.kind(info.kind),
                labels.domain(info.domain),
                labels.behalf(info.behalf),
            )
        ),
        *facts.place(info, 200),
        facts.filed(info, policy),
        *_due(
            _("<b>Decision due:</b> {date}"),
            info.decision_due if info.status in (S.SUBMITTED, S.IN_REVIEW) else None,
            today,
        ),
        *_answer_due(detail, today),
        *facts.reported_to(info, 200),
        *_due(
            _("<b>The city's answer due:</b> {date}"),
            info.city_answer_due if info.status is S.ESCALATED else None,
            today,
        ),
        *facts.department(detail, 200),
        *facts.implementation_due(info, today),
        *_no_due(info),
        *facts.attachments(detail),
        *_rating(detail),
    ]


def _answer_due(detail: SuggestionDetail, today: str | None) -> list[str]:
    """While the item waits on the observer: the date their answer is due by (the
    office's own decision clock stands still meanwhile)."""
    if detail.info.status is not S.NEEDS_INFO:
        return []
    asked = [e.payload for e in detail.timeline if e.action in (Action.ASK_INFO, Action.CHASE)]
    due = answer_due(asked, detail.info.decision_due)
    return _due(_("<b>The observer's answer due:</b> {date}"), due, today)


def _no_due(info: SuggestionInfo) -> list[str]:
    """A department's item without a due date (reopened): the office is to set one."""
    if info.status not in (S.ADOPTED, S.IMPLEMENTING) or info.implementation_due is not None:
        return []
    if info.department_id is None:
        return []
    return [
        "⚠️ " + _("<b>Implementation due:</b> none since it was reopened; set a new date with 📅.")
    ]


# Rating moves, and how much of a rating's comment the card's head shows.
_RATED = (Action.RATE, Action.REOPEN, Action.DISPUTE)
RATING_COMMENT_MAX = 200


def _rating(detail: SuggestionDetail) -> list[str]:
    """The latest rating, with its comment: the office reads what the observer said."""
    if not detail.ratings:
        return []
    rating = detail.ratings[-1]
    line = _("<b>Rating:</b> {rating}").format(rating=esc(labels.rating(rating.value)))
    if rating.comment:
        line += f" · “{esc(clip(rating.comment, RATING_COMMENT_MAX))}”"
    return [line]


def _from_the_observer(entry: TimelineEntry) -> list[str]:
    """What a rating or an addition says besides its words: the rating, the files."""
    payload, shown = entry.payload, []
    value = payload.get(RATING)
    if entry.action in _RATED and value in set(RatingValue):
        shown.append(esc(labels.rating(RatingValue(value))))
    files = payload.get(FILES)
    if entry.action is Action.ADD and isinstance(files, int) and files > 0:
        shown.append(f"📎 {files}")
    return shown


def _observer(detail: SuggestionDetail) -> str:
    # The observer's number, for /observer (whose ☎️ shows an admin the phone number:
    # everyone in the group reads this card).
    who = [esc(clip(detail.observer_name or "?", 100)) + f" #{detail.info.observer_id}"]
    if detail.point_name:
        who.append(f"📍 {esc(clip(labels.place(detail.point_name), 100))}")
    return _("<b>Observer:</b> {who}").format(who=" · ".join(who))


def _due(text: str, due: date | None, today: str | None) -> list[str]:
    """A date the office must meet (``text`` with {date}), marked when it is past."""
    if due is None:
        return []
    when = day(due)
    return [facts.overdue(text.format(date=when), today is not None and when < today)]


def item_card(
    detail: SuggestionDetail, policy: Policy, *, today: str | None = None, viewer: int | None = None
) -> Shown:
    """The card's text and buttons, within one message: the newest history wins;
    ``viewer`` is the office whose group shows it (see :func:`card_acts`)."""
    head = "\n".join(_head(detail, policy, today))
    heading = _("<b>History</b>")
    omitted = _("<i>(earlier entries omitted)</i>")
    body = clip(detail.info.body, BODY_MAX)
    quoted = f"<blockquote expandable>{esc(body)}</blockquote>"
    room = MESSAGE_MAX - _SLACK - sum(shown_length(p) + 2 for p in (head, quoted, heading, omitted))
    draw = functools.partial(history_line, policy=policy)
    chosen, _used = facts.newest_that_fit(
        detail.timeline, room, draw, lambda _e: max(0, room - 200)
    )
    history = [heading]
    if len(chosen) < len(detail.timeline):
        history.append(omitted)
    history.extend(chosen)
    text = "\n\n".join([head, quoted, "\n".join(history)])
    newest = max((e.event_id for e in detail.timeline), default=0) or None
    return Shown(text, item_markup(detail, viewer), label=detail.info.reference, event=newest)
