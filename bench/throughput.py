"""Benchmark: updates per second through the whole bot, against a bare aiogram echo bot.

The full bot is what ``outpost run`` runs: ``build_dispatcher`` with every middleware
(dedupe, one transaction per update, the durable conversation state, the acting user,
the locale, throttling), the real handlers, the real database, and the outbox sender
delivering alongside, looking at the outbox after every update as the runtime has it
do (``--outbox after`` delivers only once the last update is handled). It is fed,
through the recording Bot API session of the tests, with a round trip added to every
Bot API call when ``--latency-ms`` says so (real Telegram takes 50–300 ms):

- N observer updates: appointed observers filing an item through the whole
  conversation (/new, domain, kind, title, details, Done, behalf, Skip, Confirm),
  then /mine, opening one of their items kept for reference, rating it and adding a
  comment: 13 updates a round; what is left of N is made up with /mine;
- N admin updates in the admin group, on items filed and their cards posted before
  the clock starts: presses on the cards' buttons, built with the real ``CardCb`` and
  ``PickCb`` — take, then adopt through the department and due-date pickers; take,
  keep for reference (the reason typed as a reply to the bot's prompt), close; take,
  decline, the reason, close: 4 updates an item; what is left is made up with takes.

``--concurrency`` observers and as many admins act at once, each one's updates in
order (a person waits for the bot's answer before the next tap), everybody's side by
side, as aiogram's polling hands them to the Dispatcher; so p50 and p99 include the
wait for the database (on SQLite, updates queue for its one writer). Once everything
is delivered the run is checked against the database: items filed, ratings and admin
moves recorded equal what was fed, every item is in the status its script leads to,
and no outbox row is left undelivered ("lost").

Then exactly the same updates, chat by chat in the same order, go to a bare aiogram
bot — a Dispatcher with one handler echoing every message's text and one answering
every callback query — over the same kind of session with the same latency. Printed
per database: both rates (updates over the wall-clock time of the whole feeding), p50
and p99 per update, their ratio (full/bare), and the outbox rows delivered and lost.

Run from the repository root:

    .venv/bin/python bench/throughput.py --db both
    .venv/bin/python bench/throughput.py --updates 1000 --latency-ms 100 --db postgres
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import asyncio
import gc
import itertools
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.enums import ParseMode
from aiogram.types import (
    CallbackQuery,
    Chat,
    ForceReply,
    InlineKeyboardMarkup,
    Message,
    Update,
    User,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

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
from handlers.deciding import DEPARTMENT, DUE_DATE, PickCb
from handlers.mine import FROM_LIST, RATE, SHOW
from storage.engine import create_engine, session_factory
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
OBSERVER_ROUND = 13


@dataclass(frozen=True)
class Script:
    """What one admin does to one item: its updates, the moves they record, and the
    status the item must end in."""

    act: str  # the card's button after Take
    updates: int
    moves: int
    ends: SuggestionStatus


ADOPTING = Script(ADOPT, 4, 2, S.ADOPTED)  # take; adopt, department, due date
REFERRING = Script(REFERENCE, 4, 3, S.CLOSED)  # take; reference, the reason; close
DECLINING = Script(DECLINE, 4, 3, S.CLOSED)  # take; decline, the reason; close
TAKING = Script(TAKE, 1, 1, S.IN_REVIEW)
ROTATION = (ADOPTING, REFERRING, DECLINING)


@dataclass
class Plan:
    """Who does what, fixed before anything is seeded."""

    observers: int
    admins: int
    # Per observer: how many whole rounds, and how many lone /mine updates after them.
    rounds: list[int]
    extra_mine: list[int]
    # Per admin: the scripts it runs, in order.
    scripts: list[list[Script]]

    @property
    def filed(self) -> int:
        return sum(self.rounds)

    @property
    def moves(self) -> int:
        return sum(s.moves for mine in self.scripts for s in mine)


def make_plan(updates: int, concurrency: int) -> Plan:
    """Split ``updates`` observer and ``updates`` admin updates among the people."""
    observers = admins = concurrency
    rounds, extra = divmod(updates, OBSERVER_ROUND)
    per_observer = [rounds // observers + (k < rounds % observers) for k in range(observers)]
    extra_mine = [extra // observers + (k < extra % observers) for k in range(observers)]
    whole, rest = divmod(updates, ROTATION[0].updates)
    all_scripts = [ROTATION[i % len(ROTATION)] for i in range(whole)] + [TAKING] * rest
    scripts: list[list[Script]] = [[] for _ in range(admins)]
    for i, script in enumerate(all_scripts):
        scripts[i % admins].append(script)
    return Plan(observers, admins, per_observer, extra_mine, scripts)


# ---- the people and their updates --------------------------------------------------------


@dataclass
class Run:
    """One bot's share of the run: the updates it handled and how long each took."""

    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)

    @property
    def updates(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.updates / self.seconds if self.seconds else 0.0


class Feeder:
    """Hands updates to one Dispatcher and times each, as polling would hand them."""

    def __init__(self, bot: Bot, dp: Dispatcher, after: Callable[[], None] | None = None) -> None:
        self.bot = bot
        self.dp = dp
        self.after = after
        self.run = Run()

    async def feed(self, update: Update) -> None:
        started = time.perf_counter()
        await self.dp.feed_update(self.bot, update)
        self.run.latencies.append((time.perf_counter() - started) * 1000)
        if self.after is not None:
            self.after()


class Person:
    """Someone talking to the full bot in one chat. Every update fed is kept, in order,
    so that the bare bot can be fed the very same ones."""

    _update_ids = itertools.count(1)

    def __init__(self, feeder: Feeder, session: RecordingSession, user: User, chat: Chat) -> None:
        self.feeder = feeder
        self.session = session
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


async def observe(person: Person, rounds: int, extra_mine: int, rated: list[int]) -> None:
    """An observer filing ``rounds`` items, rating one kept-for-reference item each round."""
    for n in range(rounds):
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

        item = rated[n]
        await person.send("/mine")
        listing = person.said[-1]
        await person.press(MineCb(act=SHOW, item=item, page=1, value=FROM_LIST).pack(), listing)
        rate = MineCb(act=RATE, item=item, page=1, value=RatingValue.SATISFIED.value).pack()
        await person.press(rate, person.newest(pressable(rate)))
        await person.send("Thank you, the office explained it well.")
    for _ in range(extra_mine):
        await person.send("/mine")


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
    for o, rounds in enumerate(plan.rounds):
        jobs += [("rate", o, observers[o])] * rounds
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
    database: str
    full: Run
    bare: Run
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
    problems: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return self.full.rate / self.bare.rate if self.bare.rate else 0.0

    @property
    def sound(self) -> bool:
        return (
            self.filed == self.filed_expected
            and self.rated == self.rated_expected
            and self.moves == self.moves_expected
            and self.misplaced == 0
            and self.lost == 0
            and not self.problems
        )


async def count(sessions: async_sessionmaker[AsyncSession], stmt: Any) -> int:
    async with sessions() as session:
        return int((await session.execute(stmt)).scalar_one())


@dataclass(frozen=True)
class Options:
    plan: Plan
    latency: float  # seconds per Bot API call
    alongside: bool  # deliver the outbox while the updates are handled


async def full_bot(url: str, database: str, options: Options) -> Result:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        return await _full_bot(session_factory(engine), url, database, options)
    finally:
        await engine.dispose()


async def _full_bot(
    sessions: async_sessionmaker[AsyncSession], url: str, database: str, options: Options
) -> Result:
    plan, latency, alongside = options.plan, options.latency, options.alongside
    settings = settings_for(url, admin_ids(plan))
    world = await seed(sessions, plan, settings)
    i18n = build_i18n(settings.default_locale)
    # The stage (the cards the admins will press, the notices of the items to be rated)
    # is delivered before the clock starts, without latency.
    session = RecordingSession()
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

    sender = courier.sender()
    # As the runtime does: the sender looks at the outbox after every update.
    feeder = Feeder(bot, dp, after=sender.kick if alongside else None)
    observers = [
        Person(feeder, session, _user(uid), Chat(id=uid, type="private", first_name="O"))
        for uid in world.observers
    ]
    group = Chat(id=GROUP, type="supergroup", title="依法治区办")
    admins = [Person(feeder, session, _user(uid), group) for uid in world.admins]
    for uid in world.admins:
        session.members[(GROUP, uid)] = "administrator"

    gc.collect()
    gc.freeze()  # as the runtime does after start-up (DESIGN §6)
    sending = asyncio.create_task(sender.run()) if alongside else None
    started = time.perf_counter()
    await asyncio.gather(
        *(
            observe(p, plan.rounds[k], plan.extra_mine[k], world.to_rate[k])
            for k, p in enumerate(observers)
        ),
        *(decide(p, plan.scripts[k], cards[k]) for k, p in enumerate(admins)),
    )
    feeder.run.seconds = time.perf_counter() - started
    started = time.perf_counter()
    if sending is not None:
        await sender.stop()
        await sending
    await courier.deliver_all()
    tail_seconds = time.perf_counter() - started
    gc.unfreeze()

    bare = await echo_bot([p.fed for p in [*observers, *admins]], latency)

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
    return Result(
        database=database,
        full=feeder.run,
        bare=bare,
        filed=filed,
        filed_expected=plan.filed,
        rated=rated,
        rated_expected=plan.filed,
        moves=moves,
        moves_expected=plan.moves,
        misplaced=misplaced,
        delivered=sent - sent_before,
        lost=total - sent,
        tail_seconds=tail_seconds,
        alongside=alongside,
        problems=list(session.problems),
    )


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


# ---- the bare bot ----------------------------------------------------------------------


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
    """The same updates, chat by chat in the same order, to a bare aiogram bot."""
    session = RecordingSession()
    session.latency = latency
    bot = Bot(TOKEN, session=session)
    feeder = Feeder(bot, echo_dispatcher())
    streams = [[mounted(update, bot) for update in updates] for updates in streams]

    async def stream(updates: list[Update]) -> None:
        for update in updates:
            await feeder.feed(update)

    gc.collect()
    gc.freeze()
    started = time.perf_counter()
    await asyncio.gather(*(stream(s) for s in streams))
    feeder.run.seconds = time.perf_counter() - started
    gc.unfreeze()
    await bot.session.close()
    return feeder.run


# ---- the command -------------------------------------------------------------------------


def line(r: Result) -> str:
    text = (
        f"{r.database:<10} full bot: {figures(r.full)} | bare echo: {figures(r.bare)}"
        f" | ratio {r.ratio:.3f} | outbox: {r.delivered} delivered, {r.lost} lost\n"
        f"{'':<10} filed {r.filed}/{r.filed_expected}, rated {r.rated}/{r.rated_expected}, "
        f"admin moves {r.moves}/{r.moves_expected}, items astray {r.misplaced}; "
        f"full bot {r.full.updates} updates in {r.full.seconds:.2f} s, "
        f"bare {r.bare.updates} in {r.bare.seconds:.2f} s; "
        f"outbox {'delivered alongside, the rest' if r.alongside else 'delivered afterwards'} "
        f"in {r.tail_seconds:.2f} s"
    )
    if r.problems:
        text += f"\n{'':<10} the bot sent what Telegram would refuse: {r.problems[:3]}"
    return text


def figures(run: Run) -> str:
    p50, p99 = percentile(run.latencies, 50), percentile(run.latencies, 99)
    return f"{run.rate:.0f} updates/s (p50 {p50:.3g} ms, p99 {p99:.3g} ms)"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--updates", type=int, default=300, help="observer updates, and admin updates")
    p.add_argument("--latency-ms", type=float, default=0.0, help="per Bot API call")
    p.add_argument("--db", choices=["sqlite", "postgres", "both"], default="sqlite")
    p.add_argument(
        "--concurrency", type=int, default=10, help="observers acting at once, and admins"
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


async def measure(argv: list[str] | None = None) -> list[Result]:
    """Run the benchmark as the command line says, print its table, return its results."""
    p = parser()
    args = p.parse_args(argv)
    if args.updates < 1 or args.concurrency < 1:
        p.error("--updates and --concurrency must be at least 1")
    plan = make_plan(args.updates, args.concurrency)
    options = Options(plan, args.latency_ms / 1000, alongside=args.outbox == "alongside")
    results: list[Result] = []
    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="outpost-bench-") as tmp:
            results.append(await full_bot(f"sqlite+aiosqlite:///{tmp}/bench.db", "sqlite", options))
    if args.db in ("postgres", "both"):
        async with throwaway_postgres(args.pg_dsn, "outpost_bench_tp") as url:
            if url is not None:
                results.append(await full_bot(url, "postgresql", options))
    print(
        f"{args.updates} observer and {args.updates} admin updates; "
        f"{plan.observers} observers and {plan.admins} admins at once; "
        f"{args.latency_ms:g} ms per Bot API call"
    )
    for r in results:
        print(line(r))
    return results


async def main(argv: list[str] | None = None) -> int:
    results = await measure(argv)
    return 0 if results and all(r.sound for r in results) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
