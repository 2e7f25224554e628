"""Benchmark: updates per second through the whole bot, against a floor and a bare echo.

Three bots are run, one after the other, on the same harness, the same updates and the
same database:

- the **full** bot is what ``outpost run`` runs: ``build_dispatcher`` with every
  middleware (dedupe, one transaction per update, the durable conversation state, the
  acting user, the locale, throttling), the real handlers, the real database, and the
  outbox sender delivering alongside, looking at the outbox as the
  runtime has it do: woken by every update that queued a row (``--outbox after``
  delivers only once the last update is handled);
- the **floor** is the least a bot with a database must do: a bare aiogram Dispatcher
  making one transaction per update (one INSERT and one SELECT on a small table of its
  own, in the same SQLite file or PostgreSQL database, through SQLAlchemy async) and,
  after the commit, the Telegram calls the update needs: a sendMessage for a message;
  answerCallbackQuery and editMessageText, side by side, for a button press;
- the bare **echo** is a Dispatcher with one handler echoing every message's text and
  one answering every callback query, without a database.

Each is fed through the recording Bot API session of the tests, with a round trip added
to every Bot API call when ``--latency-ms`` says so (real Telegram takes 50–300 ms).
The full bot is fed first, by people acting through it:

- N observer updates: appointed observers filing an item through the whole
  conversation (/new, domain, kind, title, details, Done, behalf, Skip, Confirm),
  then /mine, opening one of their items kept for reference, rating it and adding a
  comment: 13 updates a round; what is left of N is made up with /mine;
- N admin updates in the admin group, on items filed and their cards posted before
  the clock starts: presses on the cards' buttons, built with the real ``CardCb`` and
  ``PickCb`` — take, then adopt through the department and due-date pickers and ⏭ (no
  instruction to the department): 5 updates; take, keep for reference (the reason
  typed as a reply to the bot's prompt), close; take, decline, the reason, close: 4
  updates each; what is left is made up with takes.

``--people`` people act at once (half observers, half admins), each one's updates in
order (a person waits for the bot's answer before the next tap), everybody's side by
side, as aiogram's polling hands them to the Dispatcher; the floor and the echo are
then fed exactly the same updates, person by person in the same order, the same number
of people at once.

An update is served when the bot is done with it *and* every Bot API call it caused
has completed: its time runs from handing it to the bot until ``feed_update`` returned
and nothing it set going is still under way (the calls made while it was handled, in
tasks it started too, and, in a private chat, any call to that chat made while handling
updates), and the person waits for that before the next step; a bot leaving its calls to
background tasks does not look faster for it. The outbox sender's own deliveries are not
counted in any update's time: they are the outbox's, reported apart. ``answer-p99`` is
timed in the recording session too: from handing a callback query to the full bot until
its answerCallbackQuery completes, the p99 over all callback queries.

Once everything is delivered the full bot's run is checked against the database: items
filed, ratings and admin moves recorded equal what was fed, every item is in the status
its script leads to, and no outbox row is left undelivered ("lost"). Printed per
database: each bot's rate (updates over the wall-clock time of the whole feeding), p50
and p99 per update, the checks, the outbox rows delivered and lost, and a line

    RATIO sqlite 100ms people 40 full 92.4/s floor 265.1/s full/floor 0.35 answer-p99 0.31s

Run from the repository root:

    .venv/bin/python bench/throughput.py --latency-ms 100 --people 40 --db both
    .venv/bin/python bench/throughput.py --updates 1000 --latency-ms 100 --db postgres
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import asyncio
import contextvars
import gc
import heapq
import itertools
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.enums import ParseMode
from aiogram.methods import AnswerCallbackQuery, TelegramMethod
from aiogram.types import (
    CallbackQuery,
    Chat,
    ForceReply,
    InlineKeyboardMarkup,
    Message,
    Update,
    User,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.pool import QueuePool

from bench.services import add_pg_dsn, percentile, throwaway_postgres
from bot.delivery.sender import OutboxSender
from bot.dispatcher import build_dispatcher, policy_of
from bot.domain.lifecycle import Action
from bot.domain.statuses import (
    Behalf,
    FocusDomain,
    HostKind,
    ObserverCategory,
    ObserverStatus,
    RatingValue,
    SuggestionKind,
    SuggestionStatus,
)
from bot.i18n import Catalogs, build_i18n
from bot.middlewares.throttling import ThrottlePolicy
from bot.services.actors import identify
from bot.services.suggestions import SuggestionService
from bot.services.views import Draft
from bot.settings import Settings, load_settings
from handlers.callbacks import FileCb, MineCb
from handlers.cards import ADOPT, CLOSE, DECLINE, REFERENCE, TAKE, CardCb
from handlers.deciding import DEPARTMENT, DUE_DATE, SKIP, PickCb
from handlers.mine import FROM_LIST, RATE, SHOW
from storage.engine import create_engine, engine_of, session_factory, writer
from storage.models import (
    Base,
    Department,
    Event,
    Liaison,
    Observer,
    OutboxMessage,
    Point,
    Rating,
    Suggestion,
    TelegramUser,
)
from storage.repositories.outbox import SENT
from storage.store import Store
from tests.telegram import TOKEN, RecordingSession, Sent

S = SuggestionStatus
GROUP = -100500
FIRST_OBSERVER = 300_000
FIRST_ADMIN = 900_000
SEED_ADMIN, LIAISON = 800_000, 700_000
# A person's own pace is not what is measured: nobody is throttled here.
UNTHROTTLED = ThrottlePolicy(rate=1_000_000.0, burst=1_000_000)
SEED_BATCH = 50  # items filed per transaction while seeding

# One observer's round: file an item (9 updates), then /mine, open an item, rate it,
# comment (4 more).
FILING, RATING = 9, 4
OBSERVER_ROUND = FILING + RATING


@dataclass(frozen=True)
class Script:
    """What one admin does to one item: its updates, the moves they record, and the
    status the item must end in."""

    act: str  # the card's button after Take
    updates: int
    moves: int
    ends: SuggestionStatus


# take; adopt, department, due date, ⏭ (no instruction to the department)
ADOPTING = Script(ADOPT, 5, 2, S.ADOPTED)
REFERRING = Script(REFERENCE, 4, 3, S.CLOSED)  # take; reference, the reason; close
DECLINING = Script(DECLINE, 4, 3, S.CLOSED)  # take; decline, the reason; close
TAKING = Script(TAKE, 1, 1, S.IN_REVIEW)
ROTATION = (ADOPTING, REFERRING, DECLINING)


@dataclass
class Plan:
    """Who does what, fixed before anything is seeded."""

    observers: int
    admins: int
    # Per observer: items to file, items to rate, and lone /mine updates after them.
    filings: list[int]
    ratings: list[int]
    extra_mine: list[int]
    # Per admin: the scripts it runs, in order.
    scripts: list[list[Script]]

    @property
    def filed(self) -> int:
        return sum(self.filings)

    @property
    def rated(self) -> int:
        return sum(self.ratings)

    @property
    def moves(self) -> int:
        return sum(s.moves for mine in self.scripts for s in mine)


def make_plan(updates: int, people: int) -> Plan:
    """Split ``updates`` observer and ``updates`` admin updates among ``people`` people
    acting at once: half of them observers (one more if odd), the rest admins.

    Observer updates are whole rounds (an item filed, one rated), what is left lone
    /mine; admin updates whole scripts in the rotation's turn while the next one fits,
    what is left takes. Each filing, rating, /mine and script goes (the observers'
    biggest first) to whoever has least to do so far, so that nobody's queue outlasts
    the others' by much: the wall-clock time of the run is the longest queue's, and an
    idle person would cap the rate of a fast bot."""
    if people < 2:
        raise ValueError("the run needs at least two people: an observer and an admin")
    observers = (people + 1) // 2
    admins = people - observers
    rounds, extra = divmod(updates, OBSERVER_ROUND)
    filings, ratings, extra_mine = [0] * observers, [0] * observers, [0] * observers
    loads = [(0, k) for k in range(observers)]  # (updates so far, observer): a heap
    for size, tally in [(FILING, filings)] * rounds + [(RATING, ratings)] * rounds:
        load, k = heapq.heappop(loads)
        tally[k] += 1
        heapq.heappush(loads, (load + size, k))
    for _ in range(extra):
        load, k = heapq.heappop(loads)
        extra_mine[k] += 1
        heapq.heappush(loads, (load + 1, k))
    all_scripts: list[Script] = []
    left = updates
    for script in itertools.cycle(ROTATION):
        if script.updates > left:
            break
        all_scripts.append(script)
        left -= script.updates
    all_scripts += [TAKING] * left
    scripts: list[list[Script]] = [[] for _ in range(admins)]
    loads = [(0, k) for k in range(admins)]
    for script in all_scripts:
        load, k = heapq.heappop(loads)
        scripts[k].append(script)
        heapq.heappush(loads, (load + script.updates, k))
    return Plan(observers, admins, filings, ratings, extra_mine, scripts)


# ---- what an update sets going -----------------------------------------------------------

# A task still running this long after its update's last Bot API call completed is taken
# for a long-lived worker (a queue's consumer, say) and no longer waited for.
LINGER = 10.0


class Effects:
    """What handing one update to a bot set going: its Bot API calls under way and the
    tasks started while it was handled (they inherit the context, so their calls, and
    the tasks they start, are the update's too)."""

    __slots__ = ("calls", "tasks")

    def __init__(self) -> None:
        self.calls = 0
        self.tasks: set[asyncio.Task[Any]] = set()


# The update being handled, in the context of whatever handles it.
CAUSE: contextvars.ContextVar[Effects | None] = contextvars.ContextVar("bench_cause", default=None)


class TrackingSession(RecordingSession):
    """The recording session, keeping count of the calls under way per update (and per
    private chat, for calls made while handling updates), and timing each callback query
    from its handing to the bot until its answerCallbackQuery completed."""

    def __init__(self, latency: float = 0.0) -> None:
        super().__init__()
        self.latency = latency
        # Callback query id -> when its update was handed to the bot (perf_counter).
        self.handed: dict[str, float] = {}
        # Milliseconds from handing a callback query to the bot to its answer's completion.
        self.answered: list[float] = []
        # Private chat -> calls to it under way, made while handling updates.
        self.busy: dict[int, int] = {}
        # Tasks started by updates that outlived them by LINGER (see ``settled``).
        self.lingering = 0
        self._tick: asyncio.Future[None] | None = None

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[Any],
        timeout: int | None = None,  # noqa: ASYNC109
    ) -> Any:
        cause = CAUSE.get()
        chat = getattr(method, "chat_id", None)
        private = chat if cause is not None and isinstance(chat, int) and chat > 0 else None
        if cause is not None:
            cause.calls += 1
        if private is not None:
            self.busy[private] = self.busy.get(private, 0) + 1
        try:
            result = await super().make_request(bot, method, timeout)
            if isinstance(method, AnswerCallbackQuery):
                handed = self.handed.pop(method.callback_query_id, None)
                if handed is not None:
                    self.answered.append((time.perf_counter() - handed) * 1000)
            return result
        finally:
            if cause is not None:
                cause.calls -= 1
            if private is not None:
                self.busy[private] -= 1
            if self._tick is not None:
                if not self._tick.done():
                    self._tick.set_result(None)
                self._tick = None

    async def settled(self, effects: Effects, chat: int | None) -> None:
        """Return once nothing ``effects`` holds is under way, nor any call to the
        private ``chat`` made while handling updates."""
        loop = asyncio.get_running_loop()
        quiet_since: float | None = None
        while True:
            effects.tasks = {task for task in effects.tasks if not task.done()}
            calling = effects.calls > 0 or (chat is not None and self.busy.get(chat, 0) > 0)
            if not calling and not effects.tasks:
                return
            timeout: float | None = None
            if calling:
                quiet_since = None
            else:
                now = loop.time()
                quiet_since = now if quiet_since is None else quiet_since
                if now - quiet_since >= LINGER:
                    self.lingering += len(effects.tasks)
                    effects.tasks.clear()
                    return
                timeout = LINGER - (now - quiet_since)
            if self._tick is None:
                self._tick = loop.create_future()
            await asyncio.wait(
                {self._tick, *effects.tasks}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )


@contextmanager
def tracking_tasks() -> Iterator[None]:
    """While in effect, a task started while an update is handled is that update's."""
    loop = asyncio.get_running_loop()
    previous = loop.get_task_factory()

    def factory(
        loop: asyncio.AbstractEventLoop, coro: Any, /, **kwargs: Any
    ) -> asyncio.Future[Any]:
        if previous is not None:
            task = previous(loop, coro, **kwargs)
        else:
            task = asyncio.Task(coro, loop=loop, **kwargs)
        context: contextvars.Context | None = kwargs.get("context")
        cause = context.get(CAUSE) if context is not None else CAUSE.get()
        if cause is not None and isinstance(task, asyncio.Task):
            cause.tasks.add(task)
        return task

    loop.set_task_factory(factory)
    try:
        yield
    finally:
        loop.set_task_factory(previous)


# ---- feeding a bot -----------------------------------------------------------------------


@dataclass
class Run:
    """One bot's share of the run: the updates it served and how long each took."""

    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    failed: int = 0  # updates whose feed_update raised
    callbacks: int = 0  # callback queries handed to the bot
    answered: list[float] = field(default_factory=list)  # see TrackingSession.answered
    lingering: int = 0

    @property
    def updates(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.updates / self.seconds if self.seconds else 0.0

    @property
    def answer_p99(self) -> float:
        """Seconds from handing a callback query to the bot to its answer: the p99."""
        return percentile(self.answered, 99) / 1000


class Feeder:
    """Hands updates to one Dispatcher, as polling would, and times each until it is
    served: ``feed_update`` returned and everything it set going completed."""

    def __init__(self, bot: Bot, dp: Dispatcher, session: TrackingSession) -> None:
        self.bot = bot
        self.dp = dp
        self.session = session
        self.run = Run()

    async def feed(self, update: Update) -> None:
        effects = Effects()
        started = time.perf_counter()
        if update.callback_query is not None:
            self.session.handed[update.callback_query.id] = started
            self.run.callbacks += 1
        cause = CAUSE.set(effects)
        try:
            await self.dp.feed_update(self.bot, update)
        except Exception:
            self.run.failed += 1
            raise
        finally:
            CAUSE.reset(cause)
        await self.session.settled(effects, own_chat(update))
        self.run.latencies.append((time.perf_counter() - started) * 1000)

    async def people(self, scripts: Sequence[Awaitable[None]]) -> list[str]:
        """Run the people's scripts side by side, timing the whole; returns what went
        wrong (a person whose update failed stops there)."""
        failures: list[str] = []

        async def guarded(script: Awaitable[None]) -> None:
            try:
                await script
            except Exception as exc:
                failures.append(f"{type(exc).__name__}: {exc}")

        gc.collect()
        gc.freeze()  # as the runtime does after start-up (docs/design.md §6)
        try:
            with tracking_tasks():
                started = time.perf_counter()
                await asyncio.gather(*(guarded(script) for script in scripts))
                self.run.seconds = time.perf_counter() - started
        finally:
            gc.unfreeze()
        self.run.answered = list(self.session.answered)
        self.run.lingering = self.session.lingering
        return failures


def own_chat(update: Update) -> int | None:
    """The private chat ``update`` comes from; None for a group's."""
    if update.message is not None:
        chat = update.message.chat
    elif update.callback_query is not None and update.callback_query.message is not None:
        chat = update.callback_query.message.chat
    else:
        return None
    return chat.id if chat.type == "private" else None


class Person:
    """Someone talking to the full bot in one chat. Every update fed is kept, in order,
    so that the floor and the echo can be fed the very same ones."""

    _update_ids = itertools.count(1)

    def __init__(self, feeder: Feeder, user: User, chat: Chat) -> None:
        self.feeder = feeder
        self.session = feeder.session
        self.user = user
        self.chat = chat
        self.fed: list[Update] = []
        self._message_ids = itertools.count(user.id * 1000 if chat.id < 0 else 1)

    @property
    def said(self) -> list[Sent]:
        return self.session.chats.get(self.chat.id, [])

    async def send(self, text: str, *, reply_to: Sent | None = None) -> None:
        message = Message(
            message_id=next(self._message_ids),
            date=datetime.now(UTC),
            chat=self.chat,
            from_user=self.user,
            text=text,
            reply_to_message=None if reply_to is None else RecordingSession._message(reply_to),
        )
        await self._feed(Update(update_id=next(self._update_ids), message=message))

    async def press(self, data: str, on: Sent) -> None:
        query = CallbackQuery(
            id=f"cb{next(self._update_ids)}",
            from_user=self.user,
            chat_instance=str(self.chat.id),
            message=RecordingSession._message(on),
            data=data,
        )
        await self._feed(Update(update_id=next(self._update_ids), callback_query=query))

    def newest(self, wanted: Callable[[Sent], bool]) -> Sent:
        """The bot's newest message in this chat that ``wanted`` picks."""
        for sent in reversed(self.said):
            if wanted(sent):
                return sent
        raise AssertionError(f"the bot did not show what {self.user.first_name} needs next")

    async def _feed(self, update: Update) -> None:
        self.fed.append(update)
        await self.feeder.feed(mounted(update, self.feeder.bot))


def mounted(update: Update, bot: Bot) -> Update:
    """``update`` bound to ``bot``, as polling parses it. Unbound, ``feed_update`` would
    rebuild it through JSON on every call, which polling never makes it do."""
    return Update.model_validate(update.model_dump(), context={"bot": bot})


def button(sent: Sent, prefix: str) -> str | None:
    """The callback data of the first button on ``sent`` that starts with ``prefix``."""
    return next((data for _, data in sent.buttons() if data.startswith(prefix)), None)


def pressable(prefix: str) -> Callable[[Sent], bool]:
    return lambda sent: button(sent, prefix) is not None


def answering(card: Sent, markup: type) -> Callable[[Sent], bool]:
    """The picker or prompt the bot put under ``card`` (it replies to the card)."""
    return lambda sent: sent.reply_to == card.message_id and isinstance(sent.markup, markup)


async def observe(
    person: Person, filings: int, ratings: int, extra_mine: int, rated: list[int]
) -> None:
    """An observer filing ``filings`` items and rating ``ratings`` items kept for
    reference (``rated``), a filing and a rating in turn, then asking for /mine."""
    for n in range(max(filings, ratings)):
        if n < filings:
            await file_one(person, n)
        if n < ratings:
            await rate_one(person, rated[n])
    for _ in range(extra_mine):
        await person.send("/mine")


async def file_one(person: Person, n: int) -> None:
    """The whole conversation of filing an item: 9 updates."""
    await person.send("/new")
    domain = FileCb(step="domain", value=FocusDomain.GRASSROOTS_GOVERNANCE.value).pack()
    await person.press(domain, person.newest(pressable(domain)))
    kind = FileCb(step="kind", value=SuggestionKind.PROBLEM.value).pack()
    await person.press(kind, person.newest(pressable(kind)))
    await person.send(f"Street lights out on Renmin Road, section {n + 1}")
    await person.send("Three lamps near No. 12 have been dark for three weeks.")
    done = FileCb(step="done").pack()
    await person.press(done, person.newest(pressable(done)))
    behalf = FileCb(step="behalf", value=Behalf.RESIDENTS.value).pack()
    await person.press(behalf, person.newest(pressable(behalf)))
    await person.send("Skip")
    preview = person.newest(pressable("f:confirm:"))
    await person.press(button(preview, "f:confirm:") or "", preview)


async def rate_one(person: Person, item: int) -> None:
    """/mine, open an item kept for reference, rate it, comment: 4 updates."""
    await person.send("/mine")
    listing = person.said[-1]
    await person.press(MineCb(act=SHOW, item=item, page=1, value=FROM_LIST).pack(), listing)
    rate = MineCb(act=RATE, item=item, page=1, value=RatingValue.SATISFIED.value).pack()
    await person.press(rate, person.newest(pressable(rate)))
    await person.send("Thank you, the office explained it well.")


async def decide(person: Person, scripts: Sequence[Script], cards: Sequence[Sent]) -> None:
    """An admin working through items one at a time, by the buttons on their cards."""
    for script, card in zip(scripts, cards, strict=True):
        take = button(card, f"c:{TAKE}:")
        assert take is not None, "a new item's card offers Take"
        item = CardCb.unpack(take).item
        await person.press(take, card)
        if script.act == TAKE:
            continue
        move = button(card, f"c:{script.act}:{item}:")
        assert move is not None, f"an item under review offers {script.act}"
        await person.press(move, card)
        if script.act == ADOPT:
            picker = person.newest(answering(card, InlineKeyboardMarkup))
            department = button(picker, PickCb(step=DEPARTMENT, item=item).pack())
            assert department is not None, "the department picker lists a department"
            await person.press(department, picker)
            due = button(picker, PickCb(step=DUE_DATE, item=item).pack())
            assert due is not None, "the picker turned into the due-date picker"
            await person.press(due, picker)
            # Then the office's instruction to the department: none.
            skip = PickCb(step=SKIP, item=item).pack()
            await person.press(skip, person.newest(pressable(skip)))
            continue
        prompt = person.newest(answering(card, ForceReply))
        await person.send("Outside the district's remit this year.", reply_to=prompt)
        close = button(card, f"c:{CLOSE}:{item}:")
        assert close is not None, "a decided item's card offers Close"
        await person.press(close, card)


# ---- the world -------------------------------------------------------------------------


@dataclass
class World:
    observers: list[int]
    admins: list[int]
    # Per observer: the items of theirs kept for reference, one to rate per round.
    to_rate: list[list[int]]
    # Per admin: the items whose cards it will press, in order.
    to_decide: list[list[int]]
    seeded_items: int


def admin_ids(plan: Plan) -> list[int]:
    return [FIRST_ADMIN + k for k in range(plan.admins)]


def settings_for(url: str, admins: list[int]) -> Settings:
    return load_settings(
        bot_token=TOKEN,
        admin_ids=admins,
        admin_chat_id=GROUP,
        default_locale="zh_CN",
        jurisdiction_code="WZ",
        redis_url=None,
        database_url=url,
    )


async def seed(sessions: async_sessionmaker[AsyncSession], plan: Plan, settings: Settings) -> World:
    """A point, a department with its liaison, the observers and admins, and the items
    the run acts on: each admin's items filed by the observers in turn, and each
    observer's items already kept for reference, waiting for a rating."""
    observers = [FIRST_OBSERVER + k for k in range(plan.observers)]
    admins = admin_ids(plan)
    async with sessions() as session, session.begin():
        people = [
            *((uid, f"观察员{uid - FIRST_OBSERVER}") for uid in observers),
            *((uid, f"干部{uid - FIRST_ADMIN}") for uid in admins),
            (SEED_ADMIN, "主任"),
            (LIAISON, "联络员"),
        ]
        for uid, name in people:
            session.add(TelegramUser(id=uid, first_name=name, language_code="zh-hans"))
        point = Point(
            code="P01",
            name="城区便民服务中心",
            domain=FocusDomain.BUSINESS_ENVIRONMENT,
            host_kind=HostKind.SERVICE_CENTRE,
        )
        department = Department(code="MARKET", name="区市场监管局")
        session.add_all([point, department])
        await session.flush()
        session.add(Liaison(department_id=department.id, user_id=LIAISON, name="联络员"))
        for k, uid in enumerate(observers):
            session.add(
                Observer(
                    name=f"观察员{k}",
                    category=ObserverCategory.OTHER,
                    point_id=point.id,
                    status=ObserverStatus.APPOINTED,
                    user_id=uid,
                )
            )

    counter = itertools.count()

    async def file(store: Store, svc: SuggestionService, observer: int) -> int:
        n = next(counter)
        draft = Draft(
            kind=SuggestionKind.SUGGESTION,
            domain=FocusDomain.BUSINESS_ENVIRONMENT,
            title=f"企业开办材料重复提交 #{n}",
            body="多家企业反映开办时同一材料需在两个窗口重复提交, 建议一窗受理。",
            behalf=Behalf.BUSINESS,
            key=f"seed-{n}",
        )
        return (await svc.submit(await identify(store, observer), draft)).id

    jobs: list[tuple[str, int, int]] = []  # (what, for whom, observer who files it)
    for a, mine in enumerate(plan.scripts):
        jobs += [("decide", a, observers[(a + i) % len(observers)]) for i in range(len(mine))]
    for o, ratings in enumerate(plan.ratings):
        jobs += [("rate", o, observers[o])] * ratings
    to_rate: list[list[int]] = [[] for _ in observers]
    to_decide: list[list[int]] = [[] for _ in admins]
    for start in range(0, len(jobs), SEED_BATCH):
        async with sessions() as session, session.begin():
            store = Store(session)
            svc = SuggestionService(store, policy_of(settings))
            office = await identify(store, SEED_ADMIN, is_admin=True)
            for what, whom, observer in jobs[start : start + SEED_BATCH]:
                item = await file(store, svc, observer)
                if what == "decide":
                    to_decide[whom].append(item)
                    continue
                await svc.take(office, item)
                await svc.keep_for_reference(office, item, "已纳入明年营商环境专项, 留作参考。")
                to_rate[whom].append(item)
    return World(observers, admins, to_rate, to_decide, len(jobs))


async def settle_history(sessions: async_sessionmaker[AsyncSession], world: World) -> None:
    """The items to be rated were decided before the run: what that told their observers
    and drew in the group is history, not stage, so it is marked sent, not sent."""
    rated = [item for items in world.to_rate for item in items]
    async with sessions() as session, session.begin():
        await session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.suggestion_id.in_(rated))
            .values(state=SENT)
        )


def cards_of(session: RecordingSession, world: World) -> list[list[Sent]]:
    """Each admin's cards, in the order of its items."""
    shown: dict[int, Sent] = {}
    for sent in session.chats.get(GROUP, []):
        take = button(sent, f"c:{TAKE}:")
        if take is not None:
            shown[CardCb.unpack(take).item] = sent
    return [[shown[item] for item in items] for items in world.to_decide]


# ---- delivering the outbox ---------------------------------------------------------------


@dataclass
class Courier:
    """Makes the outbox sender the runtime runs, for this benchmark's bot."""

    bot: Bot
    sessions: async_sessionmaker[AsyncSession]
    settings: Settings
    i18n: Catalogs

    def sender(self) -> OutboxSender:
        return OutboxSender(
            self.bot,
            self.sessions,
            settings=self.settings,
            i18n=self.i18n,
            policy=policy_of(self.settings),
        )

    async def deliver_all(self) -> int:
        """Deliver everything due, as many passes as it takes; returns the rows settled."""
        sender = self.sender()
        settled = 0
        while done := await sender.pump():
            settled += done
        return settled


# ---- one database ----------------------------------------------------------------------


@dataclass
class Result:
    database: str  # sqlite or postgres
    full: Run
    floor: Run
    echo: Run
    fed: int  # updates the people fed the full bot (served or not)
    longest: int  # the most updates one person fed
    filed: int
    filed_expected: int
    rated: int
    rated_expected: int
    moves: int
    moves_expected: int
    misplaced: int  # items not in the status their script leads to
    delivered: int
    lost: int
    # How long delivering what was still queued took after the last update.
    tail_seconds: float
    alongside: bool
    problems: list[str] = field(default_factory=list)  # what Telegram would refuse
    failures: list[str] = field(default_factory=list)  # people who could not go on

    @property
    def full_floor(self) -> float:
        return self.full.rate / self.floor.rate if self.floor.rate else 0.0

    @property
    def full_echo(self) -> float:
        return self.full.rate / self.echo.rate if self.echo.rate else 0.0

    @property
    def unanswered(self) -> int:
        """The full bot's callback queries that never got their answer."""
        return self.full.callbacks - len(self.full.answered)

    @property
    def sound(self) -> bool:
        return (
            not self.failures
            and self.full.updates == self.fed
            and self.filed == self.filed_expected
            and self.rated == self.rated_expected
            and self.moves == self.moves_expected
            and self.misplaced == 0
            and self.lost == 0
            and not self.problems
        )


async def warm(engine: AsyncEngine, people: int) -> None:
    """Open the connections the pool keeps (as many as people act at once, at most)
    before the clock starts, so that no bot pays for opening them in its run."""
    size = engine.pool.size() if isinstance(engine.pool, QueuePool) else 1
    opened: list[AsyncConnection] = []

    async def one() -> None:
        # Checked out, not used: on SQLite a statement would begin a writing transaction.
        opened.append(await engine.connect())

    try:
        await asyncio.gather(*(one() for _ in range(min(size, people))))
    finally:
        for connection in opened:
            await connection.close()


async def count(sessions: async_sessionmaker[AsyncSession], stmt: Any) -> int:
    async with sessions() as session:
        return int((await session.execute(stmt)).scalar_one())


@dataclass(frozen=True)
class Options:
    plan: Plan
    latency: float  # seconds per Bot API call
    alongside: bool  # deliver the outbox while the updates are handled


async def one_database(url: str, database: str, options: Options) -> Result:
    """The full bot, then the floor and the echo on the updates the full bot was fed."""
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        result, streams = await full_bot(session_factory(engine), url, database, options)
    finally:
        await engine.dispose()
    result.floor = await floor_bot(url, streams, options.latency)
    result.echo = await echo_bot(streams, options.latency)
    return result


async def full_bot(
    sessions: async_sessionmaker[AsyncSession], url: str, database: str, options: Options
) -> tuple[Result, list[list[Update]]]:
    plan, latency, alongside = options.plan, options.latency, options.alongside
    settings = settings_for(url, admin_ids(plan))
    world = await seed(sessions, plan, settings)
    i18n = build_i18n(settings.default_locale)
    # The stage (the cards the admins will press, the notices of the items to be rated)
    # is delivered before the clock starts, without latency.
    session = TrackingSession()
    bot = Bot(TOKEN, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
    dp = build_dispatcher(settings, sessions=sessions, throttle=UNTHROTTLED, i18n=i18n)
    courier = Courier(bot, sessions, settings, i18n)
    await settle_history(sessions, world)
    await courier.deliver_all()
    sent_before = await count(
        sessions, sa.select(sa.func.count()).where(OutboxMessage.state == SENT)
    )
    cards = cards_of(session, world)
    session.latency = latency
    await warm(engine_of(sessions), plan.observers + plan.admins)

    sender = courier.sender()
    # As the runtime does: the sender looks when an update has queued something.
    if alongside:
        dp["transaction"].on_queued = sender.kick
    feeder = Feeder(bot, dp, session)
    observers = [
        Person(feeder, _user(uid), Chat(id=uid, type="private", first_name="O"))
        for uid in world.observers
    ]
    group = Chat(id=GROUP, type="supergroup", title="依法治区办")
    admins = [Person(feeder, _user(uid), group) for uid in world.admins]
    for uid in world.admins:
        session.members[(GROUP, uid)] = "administrator"

    sending = asyncio.create_task(sender.run()) if alongside else None
    failures = await feeder.people(
        [
            *(
                observe(p, plan.filings[k], plan.ratings[k], plan.extra_mine[k], world.to_rate[k])
                for k, p in enumerate(observers)
            ),
            *(decide(p, plan.scripts[k], cards[k]) for k, p in enumerate(admins)),
        ]
    )
    started = time.perf_counter()
    if sending is not None:
        await sender.stop()
        await sending
    await courier.deliver_all()
    tail_seconds = time.perf_counter() - started

    filed = await count(sessions, sa.select(sa.func.count(Suggestion.id))) - world.seeded_items
    rated = await count(sessions, sa.select(sa.func.count(Rating.id)))
    moves = await count(
        sessions,
        sa.select(sa.func.count(Event.id)).where(
            Event.actor_user_id.in_(world.admins),
            Event.action.in_(
                [Action.TAKE, Action.ADOPT, Action.KEEP_REFERENCE, Action.DECLINE, Action.CLOSE]
            ),
        ),
    )
    misplaced = await _misplaced(sessions, plan, world)
    sent = await count(sessions, sa.select(sa.func.count()).where(OutboxMessage.state == SENT))
    total = await count(sessions, sa.select(sa.func.count(OutboxMessage.id)))
    await bot.session.close()
    streams = [p.fed for p in [*observers, *admins]]
    result = Result(
        database=database,
        full=feeder.run,
        floor=Run(),
        echo=Run(),
        fed=sum(len(s) for s in streams),
        longest=max(len(s) for s in streams),
        filed=filed,
        filed_expected=plan.filed,
        rated=rated,
        rated_expected=plan.rated,
        moves=moves,
        moves_expected=plan.moves,
        misplaced=misplaced,
        delivered=sent - sent_before,
        lost=total - sent,
        tail_seconds=tail_seconds,
        alongside=alongside,
        problems=list(session.problems),
        failures=failures,
    )
    return result, streams


def _user(uid: int) -> User:
    return User(id=uid, is_bot=False, first_name=str(uid), language_code="zh-hans")


async def _misplaced(sessions: async_sessionmaker[AsyncSession], plan: Plan, world: World) -> int:
    """How many of the items the run acted on are not where their scripts lead."""
    expected: dict[int, SuggestionStatus] = {}
    for scripts, items in zip(plan.scripts, world.to_decide, strict=True):
        expected.update({item: s.ends for s, item in zip(scripts, items, strict=True)})
    for items in world.to_rate:
        expected.update(dict.fromkeys(items, S.CLOSED))
    async with sessions() as session:
        rows = await session.execute(
            sa.select(Suggestion.id, Suggestion.status).where(Suggestion.id.in_(expected))
        )
        found = {row.id: row.status for row in rows}
    return sum(1 for item, status in expected.items() if found.get(item) is not status)


# ---- the floor and the echo ----------------------------------------------------------------

FLOOR_METADATA = sa.MetaData()
FLOOR = sa.Table(
    "bench_floor",
    FLOOR_METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("update_id", sa.BigInteger, nullable=False),
    sa.Column("chat_id", sa.BigInteger, nullable=False, index=True),
    sa.Column("user_id", sa.BigInteger, nullable=False),
)


def floor_dispatcher(
    sessions: async_sessionmaker[AsyncSession], one_writer: AbstractAsyncContextManager[Any]
) -> Dispatcher:
    """The least a bot with a database does: one transaction per update (on SQLite,
    queued for the one writer in this process, as the full bot's are), then, once it
    has committed, the Telegram calls the update needs."""
    dp = Dispatcher()

    async def record(update: Update, chat_id: int, user_id: int) -> int:
        async with one_writer, sessions() as session, session.begin():
            await session.execute(
                sa.insert(FLOOR).values(
                    update_id=update.update_id, chat_id=chat_id, user_id=user_id
                )
            )
            seen = await session.execute(
                sa.select(sa.func.count()).select_from(FLOOR).where(FLOOR.c.chat_id == chat_id)
            )
            return int(seen.scalar_one())

    @dp.message()
    async def said(message: Message, event_update: Update) -> None:
        user = message.from_user.id if message.from_user is not None else 0
        n = await record(event_update, message.chat.id, user)
        await message.answer(f"#{n}")

    @dp.callback_query()
    async def pressed(query: CallbackQuery, bot: Bot, event_update: Update) -> None:
        assert query.message is not None, "the bench presses buttons on messages it sees"
        chat, message_id = query.message.chat.id, query.message.message_id
        n = await record(event_update, chat, query.from_user.id)
        await asyncio.gather(
            bot.answer_callback_query(query.id),
            bot.edit_message_text(text=f"#{n} {query.data}", chat_id=chat, message_id=message_id),
        )

    return dp


async def floor_bot(url: str, streams: list[list[Update]], latency: float) -> Run:
    """The same updates, person by person in the same order, to the floor, on the same
    database as the full bot."""
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(FLOOR_METADATA.drop_all)
            await conn.run_sync(FLOOR_METADATA.create_all)
        sessions = session_factory(engine)
        await warm(engine, len(streams))
        run = await replay(floor_dispatcher(sessions, writer(engine)), streams, latency)
        rows = await count(sessions, sa.select(sa.func.count()).select_from(FLOOR))
        if rows != run.updates:
            raise AssertionError(f"the floor served {run.updates} updates but recorded {rows}")
        return run
    finally:
        await engine.dispose()


def echo_dispatcher() -> Dispatcher:
    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "?")

    @dp.callback_query()
    async def pressed(query: CallbackQuery) -> None:
        await query.answer()

    return dp


async def echo_bot(streams: list[list[Update]], latency: float) -> Run:
    """The same updates, person by person in the same order, to a bare aiogram bot."""
    return await replay(echo_dispatcher(), streams, latency)


async def replay(dp: Dispatcher, streams: list[list[Update]], latency: float) -> Run:
    """Feed ``dp`` the updates the full bot was fed, each stream by one person, the
    streams side by side, over a session of its own with the same latency."""
    session = TrackingSession(latency)
    # The messages the buttons are on were the full bot's: put them in this Telegram's
    # chats, as they were when pressed, so that they can be edited here too.
    for updates in streams:
        for update in updates:
            query = update.callback_query
            if query is not None and isinstance(query.message, Message):
                on = query.message
                chat = session.chats.setdefault(on.chat.id, [])
                if all(sent.message_id != on.message_id for sent in chat):
                    chat.append(Sent(on.chat.id, on.message_id, on.text or "", on.reply_markup))
    bot = Bot(TOKEN, session=session)
    feeder = Feeder(bot, dp, session)
    mounted_streams = [[mounted(update, bot) for update in updates] for updates in streams]

    async def stream(updates: list[Update]) -> None:
        for update in updates:
            await feeder.feed(update)

    failures = await feeder.people([stream(s) for s in mounted_streams])
    await bot.session.close()
    if failures or session.problems:
        raise AssertionError(f"a bot of the bench's own failed: {[*failures, *session.problems]}")
    return feeder.run


# ---- the command -------------------------------------------------------------------------


def line(r: Result, latency: float) -> str:
    text = (
        f"{r.database:<10} full bot: {figures(r.full)} | floor: {figures(r.floor)}"
        f" | bare echo: {figures(r.echo)} | full/floor {r.full_floor:.3f}"
        f" | full/echo {r.full_echo:.3f} | outbox: {r.delivered} delivered, {r.lost} lost\n"
        f"{'':<10} filed {r.filed}/{r.filed_expected}, rated {r.rated}/{r.rated_expected}, "
        f"admin moves {r.moves}/{r.moves_expected}, items astray {r.misplaced}; "
        f"callback queries answered {len(r.full.answered)}/{r.full.callbacks}; "
        f"full bot {r.full.updates}/{r.fed} updates in {r.full.seconds:.2f} s, "
        f"floor {r.floor.updates} in {r.floor.seconds:.2f} s, "
        f"echo {r.echo.updates} in {r.echo.seconds:.2f} s; "
        f"outbox {'delivered alongside, the rest' if r.alongside else 'delivered afterwards'} "
        f"in {r.tail_seconds:.2f} s; the longest queue {r.longest} updates"
    )
    if latency:
        # Each of a person's updates takes a round trip at least, one after the other.
        text += f" (no bot above {r.fed / (r.longest * latency):.1f}/s on this harness)"
    if r.full.lingering:
        text += (
            f"\n{'':<10} {r.full.lingering} tasks started by updates outlived them by "
            f"{LINGER:g} s and were no longer waited for"
        )
    if r.failures:
        text += (
            f"\n{'':<10} the full bot FAILED: {len(r.failures)} people could not go on, "
            f"{r.full.failed} updates raised; its figures are partial. First: {r.failures[0]}"
        )
    if r.problems:
        text += f"\n{'':<10} the bot sent what Telegram would refuse: {r.problems[:3]}"
    return text


def ratio_line(r: Result, latency_ms: float, people: int) -> str:
    return (
        f"RATIO {r.database} {latency_ms:.0f}ms people {people} "
        f"full {r.full.rate:.1f}/s floor {r.floor.rate:.1f}/s "
        f"full/floor {r.full_floor:.2f} answer-p99 {r.full.answer_p99:.2f}s"
    )


def figures(run: Run) -> str:
    p50, p99 = percentile(run.latencies, 50), percentile(run.latencies, 99)
    return f"{run.rate:.1f} updates/s (p50 {p50:.3g} ms, p99 {p99:.3g} ms)"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--updates", type=int, default=300, help="observer updates, and admin updates")
    p.add_argument("--latency-ms", type=float, default=0.0, help="per Bot API call")
    p.add_argument("--db", choices=["sqlite", "postgres", "both"], default="sqlite")
    p.add_argument(
        "--people",
        type=int,
        default=None,
        help="people acting at once, half observers and half admins (default 40)",
    )
    p.add_argument(
        "--concurrency", type=int, default=None, dest="concurrency", help="deprecated: --people"
    )
    p.add_argument(
        "--outbox",
        choices=["alongside", "after"],
        default="alongside",
        help="deliver the outbox while the updates are handled (as the runtime does), "
        "or only after the last one",
    )
    add_pg_dsn(p)
    return p


DEFAULT_PEOPLE = 40


async def measure(argv: list[str] | None = None) -> list[Result]:
    """Run the benchmark as the command line says, print its figures, return its results."""
    p = parser()
    args = p.parse_args(argv)
    if args.concurrency is not None:
        if args.people is not None:
            p.error("--concurrency is the old name of --people: give one of them")
        print("--concurrency is deprecated: it is --people now", file=sys.stderr)
    people = args.people if args.people is not None else args.concurrency
    people = DEFAULT_PEOPLE if people is None else people
    if args.updates < 1 or people < 2:
        p.error("--updates must be at least 1, and --people at least 2")
    plan = make_plan(args.updates, people)
    options = Options(plan, args.latency_ms / 1000, alongside=args.outbox == "alongside")
    results: list[Result] = []
    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="outpost-bench-") as tmp:
            results.append(
                await one_database(f"sqlite+aiosqlite:///{tmp}/bench.db", "sqlite", options)
            )
    if args.db in ("postgres", "both"):
        async with throwaway_postgres(args.pg_dsn, "outpost_bench_tp") as url:
            if url is not None:
                results.append(await one_database(url, "postgres", options))
    print(
        f"{args.updates} observer and {args.updates} admin updates; {people} people at once "
        f"({plan.observers} observers, {plan.admins} admins); "
        f"{args.latency_ms:g} ms per Bot API call"
    )
    for r in results:
        print(line(r, options.latency))
    for r in results:
        print(ratio_line(r, args.latency_ms, people))
    return results


async def main(argv: list[str] | None = None) -> int:
    results = await measure(argv)
    return 0 if results and all(r.sound for r in results) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
