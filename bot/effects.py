"""Decide, commit, then speak: what an update has to say to Telegram, said after commit.

A handler decides and records within its update's transaction. Every Bot API call it
makes meanwhile — a reply, a card edit, a prompt deleted, a button press answered — is
not made then: :class:`DeferToCommit`, the outermost request middleware of the bot's
session, records it in the update's :class:`Effects` and hands the handler a
:class:`Pending` in place of Telegram's answer. Once the transaction has committed, the
:class:`Speaker` carries the effects out, outside every transaction and lock:

- button presses are answered at once, ahead of everything else;
- the rest go through queues: one per chat for messages, so one chat's messages keep
  their order and a chat that must wait for its turn (a group's 20 messages a minute)
  keeps no other chat, and no other update, waiting; one per message for edits and
  deletions, and one per card for bringing a card up to date, so that edits of
  different cards in one busy group do not wait for each other;
- what must be remembered of a call's answer (the message id of a card or a prompt)
  is recorded by the call's ``then`` callbacks, in a short transaction of their own;
- work that reads, speaks and records in turn (bringing a card up to date) is a
  :meth:`Effects.job`, run in the chat's queue with :class:`Speech`, which opens short
  transactions of its own between calls.

A failed commit runs no effect; a failed effect is logged and never undoes the move.
The durable side of every confirmation (an outbox row, a card marked for re-sync) is
written in the update's transaction, so a crash between commit and effects loses only
what is ephemeral, such as the toast of a button press.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Hashable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.methods import AnswerCallbackQuery, GetUpdates, TelegramMethod
from aiogram.methods.base import Response, TelegramType
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery.session import sends
from storage import fsm, guard
from storage.engine import (
    engine_of,
    glance_sessions,
    read_sessions,
    statement_sessions,
    writer,
)
from storage.store import Store

log = logging.getLogger("bot.effects")

# Records a call's answer (a sent message) in a short transaction after the call.
Then = Callable[[Store, Any], Awaitable[None]]
# Uses a call's answer with no transaction open (the conversation state, say).
After = Callable[[Any], Awaitable[None]]
# Work that speaks and records in turn; see Speech.
Work = Callable[["Speech"], Awaitable[object]]
# Answers of button presses are refused by Telegram after about 10-15 s; ours go at
# once and are given up on after this long.
ANSWER_TIMEOUT = 5.0

_collecting: ContextVar[Effects | None] = ContextVar("outpost_effects", default=None)


class NotSentYet(RuntimeError):
    """A handler used the answer of a call that is only made after commit."""


@dataclass
class Call:
    method: TelegramMethod[Any]
    then: list[Then] = field(default_factory=list)
    after: list[After] = field(default_factory=list)

    @property
    def chat(self) -> int | str | None:
        chat = getattr(self.method, "chat_id", None)
        return chat if isinstance(chat, int | str) else None

    @property
    def urgent(self) -> bool:
        return isinstance(self.method, AnswerCallbackQuery)

    @property
    def key(self) -> Hashable:
        """Whose turn it waits for: a chat's messages go in order; an edit or deletion
        waits only for what was done before to the same message."""
        message_id = getattr(self.method, "message_id", None)
        if isinstance(message_id, int) and not sends(self.method):
            return (self.chat, message_id)
        return self.chat


@dataclass
class Job:
    # Whose turn the job waits for: a chat id, or a finer key (one card in a chat).
    key: Hashable
    work: Work
    name: str = "job"
    # The context it was asked for in (the locale to render in, say), without the
    # update's effects: a job's calls are made, not collected.
    context: contextvars.Context = field(default_factory=contextvars.copy_context)

    def __post_init__(self) -> None:
        self.context.run(_collecting.set, None)
        self.context.run(fsm.unbind)


Effect = Call | Job


class Pending:
    """Telegram's answer to a call that has not been made yet (it is made after
    commit). Use :meth:`then` to record what the answer holds."""

    __slots__ = ("_call",)

    def __init__(self, call: Call) -> None:
        self._call = call

    def then(self, record: Then) -> Pending:
        """Run ``record(store, answer)`` in a short transaction once the call succeeded."""
        self._call.then.append(record)
        return self

    def after(self, use: After) -> Pending:
        """Run ``use(answer)``, with no transaction open, once the call succeeded."""
        self._call.after.append(use)
        return self

    def __getattr__(self, name: str) -> Any:
        raise NotSentYet(
            f"{type(self._call.method).__name__}'s answer ({name}) is not known before "
            "the update commits: record it with .then(...)"
        )

    def __bool__(self) -> bool:
        return True


class Effects:
    """What one update (or one outbox delivery) has to say, in the order it said it."""

    def __init__(self) -> None:
        self.items: list[Effect] = []

    def call(self, method: TelegramMethod[Any]) -> Pending:
        call = Call(method)
        self.items.append(call)
        return Pending(call)

    def job(self, key: Hashable, work: Work, name: str = "job") -> None:
        """Run ``work`` after commit, in ``key``'s turn (a chat id, or a finer key)."""
        self.items.append(Job(key, work, name))

    @contextlib.contextmanager
    def collecting(self) -> Iterator[Effects]:
        token = _collecting.set(self)
        try:
            yield self
        finally:
            _collecting.reset(token)


def later(key: Hashable, work: Work, name: str = "job") -> None:
    """Run ``work`` after the running update commits, in ``key``'s turn: a chat id
    (after what the update says there before), or a finer key such as one card's."""
    effects = _collecting.get()
    if effects is None:
        raise RuntimeError("later() is for work done within an update")
    effects.job(key, work, name)


async def when_sent(answer: Any, use: After) -> None:
    """``use`` the answer of a call: once it is made, if it was deferred (within an
    update), or now."""
    if isinstance(answer, Pending):
        answer.after(use)
    else:
        await use(answer)


class DeferToCommit(BaseRequestMiddleware):
    """Calls made while an update collects its effects become effects."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        effects = _collecting.get()
        if effects is None or isinstance(method, GetUpdates):
            return await make_request(bot, method)
        pending = effects.call(method)
        if getattr(method, "__returning__", None) is bool:
            return True  # type: ignore[return-value]
        return pending  # type: ignore[return-value]


class CalledWhileHolding(RuntimeError):
    """A Bot API call made while the calling task held a transaction or the writer."""


class GuardCalls(BaseRequestMiddleware):
    """Refuses, and logs as an error, any call the calling task makes while it holds a
    database transaction or the SQLite writer lock (``storage.guard``). Installed when
    ``OUTPOST_GUARD_CALLS=1``, as the end-to-end tests run the bot."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        held = guard.held()
        if held:
            problem = f"{type(method).__name__} called while holding {' and '.join(held)}"
            log.error(problem, extra={"method": type(method).__name__})
            raise CalledWhileHolding(problem)
        return await make_request(bot, method)


def guard_calls(bot: Bot) -> None:
    """Install :class:`GuardCalls` innermost on the bot's session."""
    bot.session.middleware(GuardCalls())


def defer_to_commit(bot: Bot) -> None:
    """Install :class:`DeferToCommit` outermost on the bot's session (idempotent)."""
    middlewares = bot.session.middleware._middlewares
    if not any(isinstance(m, DeferToCommit) for m in middlewares):
        middlewares.insert(0, DeferToCommit())


class Speech:
    """What effects run with: the bot, and short transactions between calls."""

    def __init__(self, bot: Bot, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.bot = bot
        self.sessions = sessions
        self._reads = read_sessions(sessions)
        self._glances = glance_sessions(sessions)
        self._statements = statement_sessions(sessions)
        self._writer: AbstractAsyncContextManager[Any] = writer(engine_of(sessions))

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Store]:
        """A transaction that only reads (on SQLite a snapshot that waits for no one)."""
        async with self._reads() as session, session.begin():
            yield Store(session)

    @asynccontextmanager
    async def glance(self) -> AsyncIterator[Store]:
        """Reads that need no snapshot across their statements: on PostgreSQL with no
        transaction at all (``storage.engine.glance_sessions``)."""
        async with self._glances() as session, session.begin():
            yield Store(session)

    @asynccontextmanager
    async def once(self) -> AsyncIterator[Store]:
        """One statement that writes, atomic by itself: on PostgreSQL with no
        transaction around it (``storage.engine.statement_sessions``)."""
        async with self._statements() as session, self._writer, session.begin():
            yield Store(session)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Store]:
        async with self.sessions() as session, self._writer, session.begin():
            yield Store(session)

    async def call(self, method: TelegramMethod[TelegramType]) -> TelegramType:
        token = _collecting.set(None)
        try:
            return await self.bot(method)
        finally:
            _collecting.reset(token)


async def perform(speech: Speech, effect: Effect) -> None:
    """Carry out one effect; raises what the call (or the work) raised."""
    if isinstance(effect, Job):
        # In a task of its own, to run in the context the job was asked for in.
        await asyncio.get_running_loop().create_task(_work(effect, speech), context=effect.context)
        return
    answer = await speech.call(effect.method)
    for record in effect.then:
        async with speech.write() as store:
            await record(store, answer)
    for use in effect.after:
        await use(answer)


async def _work(job: Job, speech: Speech) -> None:
    await job.work(speech)


async def perform_all(speech: Speech, effects: Effects) -> None:
    """Carry out effects one after the other, stopping at the first that fails (the
    outbox sender's way: a row is delivered whole or tried again)."""
    for effect in effects.items:
        await perform(speech, effect)


def _describe(effect: Effect) -> str:
    if isinstance(effect, Job):
        return effect.name
    return type(effect.method).__name__


class Speaker:
    """Carries out updates' effects after commit: answers at once, the rest in a queue
    per chat; :meth:`speak` returns a future done when all of an update's are."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        answer_timeout: float = ANSWER_TIMEOUT,
    ) -> None:
        self._sessions = sessions
        self._answer_timeout = answer_timeout
        # The last effect queued in each chat: the next one waits for it.
        self._tails: dict[Hashable, asyncio.Future[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # Effects carried out, and those that failed after their commit (logged; the
        # moves stand).
        self.done = 0
        self.failed = 0

    def speak(self, bot: Bot, effects: Effects, *, by: int | None = None) -> asyncio.Future[None]:
        """Carry out an update's effects; ``by``, who made the update: in a group, one
        person's messages keep their order, not everyone's (a group's messages from
        several admins need not wait for each other)."""
        speech = Speech(bot, self._sessions)
        started: list[asyncio.Future[None]] = []
        # Answers first: a press is answered before anything else is said.
        for effect in effects.items:
            if isinstance(effect, Call) and effect.urgent:
                started.append(self._start(self._answer(speech, effect)))
        for effect in effects.items:
            if isinstance(effect, Call) and effect.urgent:
                continue
            key = effect.key
            if by is not None and isinstance(key, int | str):
                key = (key, by)
            previous = self._tails.get(key)
            task = self._start(self._in_turn(previous, speech, effect))
            self._tails[key] = task
            task.add_done_callback(functools.partial(self._untail, key))
            started.append(task)
        loop = asyncio.get_running_loop()
        if not started:
            done: asyncio.Future[None] = loop.create_future()
            done.set_result(None)
            return done
        return asyncio.ensure_future(_all(started))

    def _start(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _untail(self, key: Hashable, task: asyncio.Future[None]) -> None:
        if self._tails.get(key) is task:
            del self._tails[key]

    async def _answer(self, speech: Speech, effect: Effect) -> None:
        try:
            # In this task (wait_for would start one of its own, and lose the lead).
            async with asyncio.timeout(self._answer_timeout):
                await perform(speech, effect)
        except Exception as exc:
            self._failed(effect, exc)
        else:
            self.done += 1

    async def _in_turn(
        self, previous: asyncio.Future[None] | None, speech: Speech, effect: Effect
    ) -> None:
        if previous is not None:
            try:
                await asyncio.shield(previous)
            except asyncio.CancelledError:
                # The previous one's end (even cancelled) is our turn; our own
                # cancellation (the bot stopping) is not to be swallowed.
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise
            except BaseException:  # its failure was its own to report
                pass
        try:
            await perform(speech, effect)
        except Exception as exc:
            self._failed(effect, exc)
        else:
            self.done += 1

    def _failed(self, effect: Effect, exc: Exception) -> None:
        self.failed += 1
        log.warning(
            "an effect failed after commit; the change stands: %s",
            exc,
            extra={"effect": _describe(effect), "error": f"{type(exc).__name__}: {exc}"},
        )

    @property
    def busy(self) -> int:
        return len(self._tasks)

    async def settle(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109
        """Wait for every effect under way; returns whether all finished in time."""
        deadline = None if timeout is None else asyncio.get_running_loop().time() + timeout
        while self._tasks:
            left = None if deadline is None else deadline - asyncio.get_running_loop().time()
            if left is not None and left <= 0:
                return False
            await asyncio.wait(set(self._tasks), timeout=left)
        return True


async def _all(futures: list[asyncio.Future[None]]) -> None:
    await asyncio.gather(*futures, return_exceptions=True)
