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
  leaves the card marked for a re-sync; the outbox sender tries again later.
"""

from __future__ import annotations

import asyncio
import functools
import html
import logging
import weakref
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import TypedDict, Unpack

from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import EditMessageText, SendMessage
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

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
    async with speech.read() as store:
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
    if newest is not None:
        form = pointer(shown.label or subject, chat_id, newest)
        await _point(speech, policy, clock, [c for c in cards if c.message_id != newest], form)
    return posted


async def _post(
    speech: Speech, policy: Policy, clock: Clock, key: tuple[int, str, int], shown: Shown
) -> int:
    chat_id, subject, subject_id = key
    sent = await speech.call(
        SendMessage(chat_id=chat_id, text=shown.text, reply_markup=shown.markup)
    )
    assert isinstance(sent, Message)
    async with speech.write() as store:
        await CardService(store, policy, clock).posted(
            chat_id, sent.message_id, subject, subject_id, shown.digest, event=shown.event
        )
    return sent.message_id


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


def item_render(item_id: int, policy: Policy, clock: Clock) -> Render:
    """The office's card of the item, read afresh."""

    async def render(store: Store) -> Shown:
        suggestions = SuggestionService(store, policy, clock)
        detail = await suggestions.detail(SYSTEM, item_id)
        return item_card(detail, policy, today=day(suggestions.today()))

    return render


def sync_item(
    chat_id: int, item_id: int, *, policy: Policy, clock: Clock, repost: bool = False
) -> None:
    """After this update commits, make the item's card in ``chat_id`` show its state
    (see handlers.card_sync); marking the cards for a re-sync is the service's part."""
    render = item_render(item_id, policy, clock)
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
        speech, chat_id, ITEM, item_id, item_render(item_id, policy, clock),
        policy=policy, clock=clock, create=True, repost=repost, unless_showing=unless_showing,
    )  # fmt: skip
