"""Cards converge: every message that shows an item or an application is a view of the
database, brought up to date after the commit that changed it.

:func:`converge` runs as an effect (``bot.effects``), never inside an update's
transaction: it reads what the card should show in a short read transaction, makes
its Bot API calls with no transaction open, and records what the chat now shows in a
short write transaction. What it does:

- the chat's current card is edited in place when it shows something else (or was
  marked for a re-sync); "not modified" means it already shows it;
- a card that can no longer be edited (deleted, too old) is posted anew, and so is one
  when the subject returns to the office (``repost``) or has none yet (``create``);
- every older card of the subject in that chat shows a short pointer to the newest,
  so no message in the chat still offers buttons for a state long gone;
- an edit that fails for any other reason (flood control, a server error, a timeout)
  leaves the card marked for a re-sync; the outbox sender tries again later;
- a post that timed out may have reached the chat all the same, so the chat may hold a
  card the bot has no record of (see ``bot.delivery.sightings``). Once a post of the
  card succeeds, the few ids below it that the bot does not know are looked at: each
  is asked to drop its buttons (a message of someone else's cannot be edited and says
  so; one of the bot's comes back with its text), and a copy of the card found so is
  kept as an older card and made to point to the current one.
"""

from __future__ import annotations

import asyncio
import functools
import html
import logging
import re
import weakref
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import TypedDict, Unpack

from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import EditMessageReplyMarkup, EditMessageText, SendMessage
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.delivery.session import TRANSIENT, sightings_of
from bot.delivery.sightings import Sightings, watching
from bot.effects import Speech, later
from bot.services.actors import SYSTEM
from bot.services.cards import ITEM, CardInfo, CardService
from bot.services.context import Clock, Policy
from bot.services.suggestions import SuggestionService
from handlers.cards import Shown, item_card
from handlers.ui import day
from storage.store import Store

log = logging.getLogger(__name__)

# What the card should show now, read from the database; None: nothing to show.
Render = Callable[[Store], Awaitable[Shown | None]]

# One card is converged at a time: two passes at once would post it twice.
_LOCKS: weakref.WeakValueDictionary[tuple[int, str, int], asyncio.Lock] = (
    weakref.WeakValueDictionary()
)


# Per bot, the cards whose post may have reached the chat unseen: the newest message
# id the bot knew in that chat before (0: none), and how many looks were made. Every
# post is noted in the database before it is made (``unsure_posts``) and the note
# removed with a sure post's record; a process reads the notes left once.
Unsure = dict[tuple[int, str, int], tuple[int, int]]
_UNSURE: weakref.WeakKeyDictionary[Sightings, Unsure] = weakref.WeakKeyDictionary()
# How many ids after the last one known before an unsure post are looked at, at most,
# and in how many passes (a look that fails for a passing reason is made again).
LOOK_BACK = 40
_PASSES = 5
# Put on a message of the bot's without buttons for a moment, to read what it shows.
_PROBE = InlineKeyboardMarkup(
    inline_keyboard=[[InlineKeyboardButton(text="…", callback_data="noop")]]
)
_TAG = re.compile(r"<[^>]+>")


class How(TypedDict, total=False):
    """How a card converges besides bringing it up to date."""

    # Post a card when the chat has none of the subject yet.
    create: bool
    # Post a fresh card (the subject returns to the office), the old ones pointing to it.
    repost: bool
    # Nothing to do if the current card shows this event of the subject already (the
    # update that made the move brought it up to date): the subject is not read again.
    unless_showing: int | None


class Edit(Enum):
    DONE = "done"
    GONE = "gone"  # deleted or too old: post anew
    LATER = "later"  # a passing failure: re-sync later


def message_link(chat_id: int, message_id: int) -> str | None:
    """A link to a message in a supergroup (private chats have none)."""
    text = str(chat_id)
    if text.startswith("-100"):
        return f"https://t.me/c/{text[4:]}/{message_id}"
    return None


def pointer(label: str, chat_id: int, newest: int) -> Shown:
    """What an older card shows: its subject, and where the current card is."""
    link = message_link(chat_id, newest)
    if link:
        where = _('→ <a href="{link}">the current card</a>').format(link=link)
    else:
        where = _("→ the current card is further down this chat.")
    return Shown(f"🗂 {html.escape(label, quote=False)}\n{where}", None)


async def _edit(speech: Speech, chat_id: int, message_id: int, shown: Shown) -> Edit:
    try:
        await speech.call(
            EditMessageText(
                chat_id=chat_id,
                message_id=message_id,
                text=shown.text,
                reply_markup=shown.markup,
            )
        )
    except TelegramBadRequest as exc:
        text = str(exc).lower()
        if "not modified" in text:
            return Edit.DONE
        if "not found" in text or "can't be edited" in text or "message_id_invalid" in text:
            log.info("card %s/%s cannot be edited (%s): posting anew", chat_id, message_id, exc)
            return Edit.GONE
        log.warning("card %s/%s: edit refused (%s); re-sync later", chat_id, message_id, exc)
        return Edit.LATER
    except Exception as exc:
        log.warning("card %s/%s: edit failed (%s); re-sync later", chat_id, message_id, exc)
        return Edit.LATER
    return Edit.DONE


async def converge(
    speech: Speech,
    chat_id: int,
    subject: str,
    subject_id: int,
    render: Render,
    *,
    policy: Policy,
    clock: Clock,
    **how: Unpack[How],
) -> int | None:
    """Make the subject's cards in ``chat_id`` show what the database says. Returns
    the message id of a card it posted. Raises when a card that had to be posted
    could not be (the caller retries); edits that fail leave a re-sync behind."""
    key = (chat_id, subject, subject_id)
    lock = _LOCKS.get(key)
    if lock is None:
        lock = _LOCKS[key] = asyncio.Lock()
    async with lock:
        return await _converge(speech, key, render, policy, clock, how)


async def _converge(
    speech: Speech,
    key: tuple[int, str, int],
    render: Render,
    policy: Policy,
    clock: Clock,
    how: How,
) -> int | None:
    chat_id, subject, subject_id = key
    repost, event = how.get("repost", False), how.get("unless_showing")
    async with speech.glance() as store:
        cards = await CardService(store, policy, clock).of(subject, subject_id, chat_id)
        current = next((c for c in reversed(cards) if c.current), None)
        if event is not None and not repost and current is not None and current.shows(event):
            return None
        shown = await render(store)
    if shown is None:
        await _settle(speech, policy, clock, [c for c in cards if c.stale])
        return None
    post = repost or (current is None and (how.get("create", False) or bool(cards)))
    if current is not None and not post and current.digest == shown.digest and current.stale:
        # It shows this already (the digest is only written once Telegram took it).
        await _record(speech, policy, clock, current.id, shown.digest, shown.event)
    elif current is not None and not post and current.digest != shown.digest:
        outcome = await _edit(speech, chat_id, current.message_id, shown)
        if outcome is Edit.DONE:
            await _record(speech, policy, clock, current.id, shown.digest, shown.event)
        elif outcome is Edit.LATER:
            await _later(speech, policy, clock, current.id)
            return None
        else:
            post = True
    posted = await _post(speech, policy, clock, key, shown) if post else None
    newest = posted if posted is not None else (current.message_id if current else None)
    unsure = await _unsure_of(speech, policy, clock)
    if newest is not None and key in unsure:
        found, done = await _take_in_copies(speech, policy, clock, key, shown, newest, unsure)
        if found or not done:
            async with speech.read() as store:
                cards = await CardService(store, policy, clock).of(subject, subject_id, chat_id)
        if not done:
            # The sender comes by again, and the look is made again.
            for card in cards:
                if card.message_id == newest:
                    await _later(speech, policy, clock, card.id)
    if newest is not None:
        form = pointer(shown.label or subject, chat_id, newest)
        await _point(speech, policy, clock, [c for c in cards if c.message_id != newest], form)
    return posted


async def _post(
    speech: Speech, policy: Policy, clock: Clock, key: tuple[int, str, int], shown: Shown
) -> int:
    chat_id, subject, subject_id = key
    method = SendMessage(chat_id=chat_id, text=shown.text, reply_markup=shown.markup)
    sightings = sightings_of(speech.bot)
    if sightings is None:  # no telling the bot's messages from a copy: nothing to look for
        sent = await speech.call(method)
        assert isinstance(sent, Message)
        await _posted(speech, policy, clock, key, shown, sent.message_id, sure=False)
        return sent.message_id
    before = sightings.newest(chat_id) or 0
    unsure = await _unsure_of(speech, policy, clock)
    # Written down before the call: if the process dies while it is made, the next one
    # looks for a copy.
    async with speech.write() as store:
        await CardService(store, policy, clock).unsure(chat_id, subject, subject_id, before)
    with watching() as watch:
        try:
            sent = await speech.call(method)
        except TRANSIENT:
            _remember(unsure, key, before)
            raise
    assert isinstance(sent, Message)
    if watch.since is not None:
        _remember(unsure, key, watch.since)
    sure = key not in unsure
    await _posted(speech, policy, clock, key, shown, sent.message_id, sure=sure)
    return sent.message_id


async def _posted(
    speech: Speech,
    policy: Policy,
    clock: Clock,
    key: tuple[int, str, int],
    shown: Shown,
    message_id: int,
    *,
    sure: bool,
) -> None:
    chat_id, subject, subject_id = key
    async with speech.write() as store:
        cards = CardService(store, policy, clock)
        await cards.posted(
            chat_id, message_id, subject, subject_id, shown.digest, event=shown.event
        )
        if sure:
            await cards.looked(chat_id, subject, subject_id)


async def _unsure_of(speech: Speech, policy: Policy, clock: Clock) -> Unsure:
    """The bot's cards whose post was unsure (read from the database once)."""
    sightings = sightings_of(speech.bot)
    if sightings is None:
        return {}
    unsure = _UNSURE.get(sightings)
    if unsure is None:
        async with speech.read() as store:
            noted = await CardService(store, policy, clock).unsure_posts()
        unsure = _UNSURE.setdefault(sightings, {k: (v, 0) for k, v in noted.items()})
    return unsure


def _remember(unsure: Unsure, key: tuple[int, str, int], since: int) -> None:
    """A post of the card may have reached the chat unseen, after message ``since``."""
    known = unsure.get(key)
    unsure[key] = (min(since, known[0]) if known else since, 0)


async def _take_in_copies(
    speech: Speech,
    policy: Policy,
    clock: Clock,
    key: tuple[int, str, int],
    shown: Shown,
    newest: int,
    unsure: Unsure,
) -> tuple[int, bool]:
    """Look at the ids from the last one known before an unsure post up to the newest
    card (or the newest message the bot knows in the chat), and keep each copy of the
    card found there as an older card. Returns how many were found, and whether the
    look is done (else it is made again at the next pass)."""
    chat_id, subject, subject_id = key
    sightings = sightings_of(speech.bot)
    if sightings is None:
        return 0, True
    since, passes = unsure[key]
    if not since:  # nothing was known in the chat before: look just below the card
        since = max(0, newest - 1 - LOOK_BACK)
    high = min(max(newest, sightings.newest(chat_id) or 0), since + 1 + LOOK_BACK)
    ours = sightings.ours(chat_id)
    async with speech.read() as store:
        known = await CardService(store, policy, clock).ids_between(chat_id, since, high)
    found, unsettled = 0, high <= since + 1
    for message_id in range(since + 1, high):
        if message_id in ours or message_id in known:
            continue
        copy = await _is_copy(speech, chat_id, message_id, shown)
        if copy is None:
            unsettled = True
        elif copy:
            log.info("card %s/%s: a copy posted unseen was found", chat_id, message_id)
            async with speech.write() as store:
                await CardService(store, policy, clock).adopt(
                    chat_id, message_id, subject, subject_id
                )
            found += 1
    if unsettled and passes < _PASSES:
        unsure[key] = (unsure[key][0], passes + 1)
        return found, False
    unsure.pop(key, None)
    async with speech.write() as store:
        await CardService(store, policy, clock).looked(*key)
    return found, True


async def _is_copy(speech: Speech, chat_id: int, message_id: int, shown: Shown) -> bool | None:
    """Whether the message is a card of the subject of ``shown`` (None: no telling
    now); it loses its buttons if it is one of the bot's (someone else's message
    cannot be edited)."""
    try:
        seen = await speech.call(
            EditMessageReplyMarkup(chat_id=chat_id, message_id=message_id, reply_markup=None)
        )
    except TelegramBadRequest as exc:
        if "not modified" not in str(exc).lower():
            return False  # someone else's, or gone
        return await _is_plain_copy(speech, chat_id, message_id, shown)
    except Exception as exc:
        log.warning("card %s/%s: could not look (%s)", chat_id, message_id, exc)
        return None
    return isinstance(seen, Message) and _shows_subject(seen, shown)


async def _is_plain_copy(
    speech: Speech, chat_id: int, message_id: int, shown: Shown
) -> bool | None:
    """The bot's message has no buttons: give it one for a moment to read its text."""
    method = EditMessageReplyMarkup(chat_id=chat_id, message_id=message_id, reply_markup=_PROBE)
    try:
        seen = await speech.call(method)
    except TelegramBadRequest:
        return False
    except Exception as exc:
        log.warning("card %s/%s: could not look (%s)", chat_id, message_id, exc)
        return None
    if isinstance(seen, Message) and _shows_subject(seen, shown):
        return True  # pointing to the current card takes the button away
    try:
        await speech.call(
            EditMessageReplyMarkup(chat_id=chat_id, message_id=message_id, reply_markup=None)
        )
    except Exception as exc:
        log.warning("card %s/%s: the probe's button stays (%s)", chat_id, message_id, exc)
    return False


def _shows_subject(message: Message, shown: Shown) -> bool:
    """Whether the message is the card ``shown``, or an older drawing of its subject."""
    text = message.text or ""
    if text == html.unescape(_TAG.sub("", shown.text)):
        return True
    first = text.split("\n", 1)[0]
    return bool(shown.label) and (f" {shown.label} · " in first or first == f"🗂 {shown.label}")


async def _point(
    speech: Speech, policy: Policy, clock: Clock, older: list[CardInfo], form: Shown
) -> None:
    """Older cards come to show ``form``: a pointer to the current card."""
    for old in older:
        if old.digest == form.digest:
            if old.stale:
                await _record(speech, policy, clock, old.id, form.digest)
            continue
        outcome = await _edit(speech, old.chat_id, old.message_id, form)
        if outcome is Edit.LATER:
            await _later(speech, policy, clock, old.id)
        else:
            # Gone is as good as shown: nobody can press what is not there.
            await _record(speech, policy, clock, old.id, form.digest)


async def _record(
    speech: Speech,
    policy: Policy,
    clock: Clock,
    card_id: int,
    digest: str,
    event: int | None = None,
) -> None:
    async with speech.write() as store:
        await CardService(store, policy, clock).shown(card_id, digest, event=event)


async def _later(speech: Speech, policy: Policy, clock: Clock, card_id: int) -> None:
    async with speech.write() as store:
        await CardService(store, policy, clock).stale(card_id)


async def _settle(speech: Speech, policy: Policy, clock: Clock, cards: list[CardInfo]) -> None:
    for card in cards:
        await _record(speech, policy, clock, card.id, card.digest)


def showing(shown: Shown) -> Render:
    """A card that shows what was drawn already."""

    async def render(_store: Store) -> Shown:
        return shown

    return render


def converge_after(
    card: tuple[int, str, int],
    render: Render,
    *,
    policy: Policy,
    clock: Clock,
    name: str,
    **how: Unpack[How],
) -> None:
    """After this update commits, :func:`converge` the cards of ``card`` (chat id,
    subject, subject id), in that card's own turn."""
    chat_id, subject, subject_id = card
    later(
        card,
        functools.partial(converge, chat_id=chat_id, subject=subject, subject_id=subject_id,
                          render=render, policy=policy, clock=clock, **how),
        name=name,
    )  # fmt: skip


def item_render(item_id: int, policy: Policy, clock: Clock, chat_id: int | None = None) -> Render:
    """The card of the item in the office group ``chat_id``, read afresh: its own
    office's, or the city's it was reported to (``handlers.cards.card_acts``)."""

    async def render(store: Store) -> Shown:
        suggestions = SuggestionService(store, policy, clock)
        detail = await suggestions.detail(SYSTEM, item_id)
        viewer = None
        if chat_id is not None and detail.info.above_id is not None:
            office = (await suggestions.offices()).of_chat(chat_id)
            viewer = office.id if office is not None else None
        return item_card(detail, policy, today=day(suggestions.today()), viewer=viewer)

    return render


def sync_item(
    chat_id: int, item_id: int, *, policy: Policy, clock: Clock, repost: bool = False
) -> None:
    """After this update commits, make the item's card in ``chat_id`` show its state
    (see handlers.card_sync); marking the cards for a re-sync is the service's part."""
    render = item_render(item_id, policy, clock, chat_id)
    converge_after(
        (chat_id, ITEM, item_id), render,
        policy=policy, clock=clock, name="item card", create=True, repost=repost,
    )  # fmt: skip


async def converge_item(
    speech: Speech,
    *,
    chat_id: int,
    item_id: int,
    policy: Policy,
    clock: Clock,
    repost: bool = False,
    unless_showing: int | None = None,
) -> int | None:
    """Bring the item's card in ``chat_id`` up to date now (an effect, or the sender's
    work); returns the id of a card it posted."""
    return await converge(
        speech, chat_id, ITEM, item_id, item_render(item_id, policy, clock, chat_id),
        policy=policy, clock=clock, create=True, repost=repost, unless_showing=unless_showing,
    )  # fmt: skip
