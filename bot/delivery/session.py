"""Every Bot API call of the bot, paced and retried: a request middleware on its session.

For a call that sends a message, the :class:`~bot.delivery.limits.Limiter` is asked for
a turn first (an album counts as its items). A 429 pauses the scope it concerns for
``retry_after`` and the call is made again once the pause is over, up to a total wait
(a minute by default); a server error or a network failure (5xx, a timeout, a refused
connection) is tried again after a short, growing, jittered wait, up to a few tries.
Beyond that the error is raised: the outbox sender then keeps the row for later, and a
handler's reply fails as any error does. ``getUpdates`` is left alone: the poller has
its own loop and a long poll is no message.

Retrying a call that timed out may repeat its message (Telegram may have sent it);
that is the price of never losing one.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import (
    AnswerCallbackQuery,
    CopyMessage,
    CopyMessages,
    EditMessageCaption,
    EditMessageMedia,
    EditMessageReplyMarkup,
    EditMessageText,
    ForwardMessage,
    ForwardMessages,
    GetUpdates,
    SendAnimation,
    SendAudio,
    SendContact,
    SendDice,
    SendDocument,
    SendLocation,
    SendMediaGroup,
    SendMessage,
    SendPhoto,
    SendPoll,
    SendSticker,
    SendVenue,
    SendVideo,
    SendVideoNote,
    SendVoice,
    TelegramMethod,
)
from aiogram.methods.base import Response, TelegramType
from aiogram.types import Message, MessageId

from bot.delivery.limits import Pacer, Sleep
from bot.delivery.sightings import Sightings, report_unsure
from bot.runtime import metrics

log = logging.getLogger(__name__)

# Calls that put a message in a chat; chat actions, edits and answers are not counted.
_SENDING: tuple[type[TelegramMethod[Any]], ...] = (
    SendMessage,
    SendPhoto,
    SendDocument,
    SendMediaGroup,
    CopyMessage,
    CopyMessages,
    ForwardMessage,
    ForwardMessages,
    SendAnimation,
    SendAudio,
    SendVideo,
    SendVoice,
    SendVideoNote,
    SendSticker,
    SendLocation,
    SendVenue,
    SendContact,
    SendDice,
    SendPoll,
)
# Calls that change a message already sent: counted with the sends
# (outpost_sends_total), not paced as sends.
_EDITING: tuple[type[TelegramMethod[Any]], ...] = (
    EditMessageText,
    EditMessageCaption,
    EditMessageMedia,
    EditMessageReplyMarkup,
)
TRANSIENT = (TelegramServerError, TelegramNetworkError, TimeoutError)
# Calls that must be made promptly or not at all: a button press's answer is refused by
# Telegram once it is more than about ten seconds old, and nobody waits for it anyway.
_QUICK: tuple[type[TelegramMethod[Any]], ...] = (AnswerCallbackQuery,)
_QUICK_WAIT = 2.0


def sends(method: TelegramMethod[Any]) -> int:
    """How many messages ``method`` puts in its chat, as the limits count them."""
    if isinstance(method, SendMediaGroup):
        return max(1, len(method.media))
    if isinstance(method, (CopyMessages, ForwardMessages)):
        return max(1, len(method.message_ids))
    return 1 if isinstance(method, _SENDING) else 0


def _long_poll(method: TelegramMethod[Any]) -> bool:
    return isinstance(method, GetUpdates)


class PacedRetries(BaseRequestMiddleware):
    def __init__(
        self,
        limiter: Pacer,
        *,
        sleep: Sleep | None = None,
        tries: int = 3,
        retry_after_total: float = 60.0,
        backoff_first: float = 0.5,
        backoff_max: float = 8.0,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.limiter = limiter
        self._sleep = sleep or limiter.sleep
        self._tries = tries
        self._retry_after_total = retry_after_total
        self._backoff_first = backoff_first
        self._backoff_max = backoff_max
        self._jitter = jitter
        self.sightings = Sightings()

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if _long_poll(method):
            return await make_request(bot, method)
        chat_id = getattr(method, "chat_id", None)
        chat = chat_id if isinstance(chat_id, int | str) else None
        quick = isinstance(method, _QUICK)
        # A 429 on a method with no chat pauses that method, not every chat.
        scope = chat if chat is not None or not quick else f"method:{type(method).__name__}"
        count = sends(method)
        counted = bool(count) or isinstance(method, _EDITING)
        failures = 0
        paused = 0.0
        # A send may reach its chat although its answer is lost: see sightings.
        since = self.sightings.newest(chat_id) if count and isinstance(chat_id, int) else None
        while True:
            await self.limiter.acquire(scope, count)
            try:
                response = await _attempt(make_request, bot, method, counted)
            except TelegramRetryAfter as exc:
                wait = float(exc.retry_after)
                # Everyone else sending there waits too, whether or not this call does.
                self.limiter.penalise(scope, wait)
                paused += wait
                if paused > (_QUICK_WAIT if quick else self._retry_after_total):
                    raise
                self._log("flood control", method, chat, exc, retry_after=wait)
            except TRANSIENT as exc:
                if count:
                    report_unsure(since)
                failures += 1
                if failures >= (2 if quick else self._tries):
                    raise
                delay = min(self._backoff_max, self._backoff_first * 2 ** (failures - 1))
                delay *= 0.5 + self._jitter()
                self._log("server or network error", method, chat, exc, retry_in=delay)
                await self._sleep(delay)
            else:
                if count:
                    # (aiogram's hint says Response; the chain hands on the bare result)
                    self._saw(response, chat_id)
                return response

    def _saw(self, result: object, chat_id: object) -> None:
        """Remember the ids of the messages a send came back with: they are ours. (Not
        an edit's: one that looks for a copy posted unseen comes back with the copy,
        which is still to be taken in.)"""
        for message in result if isinstance(result, list) else (result,):
            if isinstance(message, Message):
                self.sightings.saw(message.chat.id, message.message_id)
            elif isinstance(message, MessageId) and isinstance(chat_id, int):
                self.sightings.saw(chat_id, message.message_id)

    @staticmethod
    def _log(
        what: str, method: TelegramMethod[Any], chat: int | str | None, exc: Exception, **extra: Any
    ) -> None:
        log.warning(
            "%s: trying %s again",
            what,
            type(method).__name__,
            extra={"method": type(method).__name__, "chat_id": chat, "error": str(exc), **extra},
        )


async def _attempt(
    make_request: NextRequestMiddlewareType[TelegramType],
    bot: Bot,
    method: TelegramMethod[TelegramType],
    counted: bool,
) -> Response[TelegramType]:
    """One call; a send's or an edit's result counted, each attempt on its own (a 429
    and the retry that got through are one "429" and one "ok")."""
    if not counted:
        return await make_request(bot, method)
    try:
        response = await make_request(bot, method)
    except TelegramRetryAfter:
        metrics.sent("429")
        raise
    except Exception:
        metrics.sent("failed")
        raise
    metrics.sent("ok")
    return response


def _paced(bot: Bot) -> PacedRetries | None:
    """The middleware :func:`pace` installed on ``bot``'s session, if any."""
    for middleware in bot.session.middleware:
        if isinstance(middleware, PacedRetries):
            return middleware
    return None


def limiter_of(bot: Bot) -> Pacer | None:
    """The limiter pacing ``bot``'s calls, if :func:`pace` installed one."""
    paced = _paced(bot)
    return paced.limiter if paced is not None else None


def sightings_of(bot: Bot) -> Sightings | None:
    """What ``bot``'s sends have seen of its chats' message ids, if :func:`pace`
    installed the middleware that watches them."""
    paced = _paced(bot)
    return paced.sightings if paced is not None else None


def pace(bot: Bot, limiter: Pacer, **options: Any) -> PacedRetries:
    """Install :class:`PacedRetries` on the bot's session; returns it."""
    middleware = PacedRetries(limiter, **options)
    bot.session.middleware(middleware)
    return middleware
