"""What the bot knows of the message ids in a chat, and the sends it is unsure of.

A send that timed out may still have reached the chat (Telegram took it; its answer
was lost). When the bot sends again, the chat may hold a message the bot has no
record of. A chat numbers its messages in order, so such a message lies between the
newest id the bot knew before that send and the id its successful send came back
with. :class:`Sightings` remembers, per chat, the newest id seen and the recent ids
that are the bot's own (every message a send of the bot came back with), so that the
one who cares (a card, see ``handlers.card_sync``) can look at the few ids in between.

:func:`watching` says whether the sends made within it were unsure, and from which id
on: the request middleware (``bot.delivery.session``) reports to it.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field


@dataclass
class _Chat:
    newest: int = 0
    ours: deque[int] = field(default_factory=lambda: deque(maxlen=256))


class Sightings:
    """Per chat, the newest message id seen and the bot's own recent ids (bounded)."""

    def __init__(self, chats: int = 2048) -> None:
        self._chats: OrderedDict[int, _Chat] = OrderedDict()
        self._limit = chats

    def saw(self, chat_id: int, message_id: int) -> None:
        """A send of the bot came back with this message of the chat: it is ours."""
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = self._chats[chat_id] = _Chat()
            if len(self._chats) > self._limit:
                self._chats.popitem(last=False)
        else:
            self._chats.move_to_end(chat_id)
        chat.newest = max(chat.newest, message_id)
        chat.ours.append(message_id)

    def newest(self, chat_id: int) -> int | None:
        """The newest message id known in the chat (None: nothing seen yet)."""
        chat = self._chats.get(chat_id)
        return chat.newest if chat is not None else None

    def ours(self, chat_id: int) -> set[int]:
        chat = self._chats.get(chat_id)
        return set(chat.ours) if chat is not None else set()


@dataclass
class Watch:
    """What the sends made within :func:`watching` were unsure of."""

    # The newest id known in the chat before the first send that may have reached it
    # unseen (0: none known); None: every send was sure.
    since: int | None = None

    def unsure(self, since: int | None) -> None:
        known = since or 0
        self.since = known if self.since is None else min(self.since, known)


_watch: ContextVar[Watch | None] = ContextVar("outpost_unsure_sends", default=None)


@contextmanager
def watching() -> Iterator[Watch]:
    """Collect, for the calls made within, whether a send may have reached its chat
    without the bot knowing."""
    watch = Watch()
    token = _watch.set(watch)
    try:
        yield watch
    finally:
        _watch.reset(token)


def report_unsure(since: int | None) -> None:
    """A send failed in a way that may have reached its chat (a timeout, a server
    error): tell whoever is watching."""
    watch = _watch.get()
    if watch is not None:
        watch.unsure(since)
