"""Benchmark: the office's moves while Telegram fails a fifth of the calls, and kill -9.

The real bot (``outpost run``, a subprocess, as the end-to-end tests run it) talks to
the sandbox (in this process). Items filed by observers (through the bot's own
``SuggestionService.submit``, before the bot starts: their cards are posted by the
bot's outbox) are decided by admins pressing the cards' buttons in the admin group,
answering the prompts and the pickers, for ``--moves`` moves in all:

- take, decline (the reason as a reply to the prompt), close;
- take, adopt (a department, then a due date, on the picker; then ⏭, no instruction
  to the department), set the due date, assign another department;
- take, keep for reference (the reason), close;
- take, ask the observer (the question), [the observer answers through the Answer
  button of the notice: the item comes back with a new card], take, report to the
  city (a note), record the city's answer (kept for reference: the picker, then the
  answer as a reply), close;
- take, mark as a duplicate (another item's reference), close.

Meanwhile the sandbox fails ``--faults`` of every Bot API call (getUpdates,
answerCallbackQuery and editMessageText included), evenly among: 429 with
``retry_after`` 1, 500, 502, a timeout before the call is made, and a timeout after it
took effect (the message is there, the bot hears nothing). ``--kills`` times in the
middle the bot is killed with SIGKILL and started again at once (the outbox rows it
had leased at that moment are counted first). An admin acts as a person would: waits
for the card to show the item's state (pressing a card that lags behind, which the bot
answers with where the item stands), presses, answers the prompt, and tries again when
nothing came of it.

Then the faults are cleared, everything settles (the outbox drained, no card waiting
for a re-sync), the bot stops, and the end is checked against the database:

- **divergent**: every card message of an item in the admin group must show what the
  bot would render from the database now (``handlers.cards.item_card`` over
  ``SuggestionService.detail``, text and buttons); every older card of the item the
  pointer to the current one (``handlers.card_sync.pointer``), without buttons; a card
  message the bot does not know (a post repeated after a timeout, say) counts too.
  Then an admin presses once each such card that shows an older state (the bot takes
  it in and makes it point to the current card) and the cards are checked again
  (printed apart: "after an admin pressed ...");
- **lost**: outbox rows not ``sent``, plus notices an observer should have and whose
  chat does not show them (each row rendered with ``handlers.notices.render``);
- **repeats**: notices shown in an observer's chat more often than their rows say;
  **allowed**: the sends to observers the sandbox performed and then timed out
  (``timeout_after``), plus the rows to observers on lease at each kill.

Telegram takes about twenty messages a minute into a group; every card, prompt and
picker is one, so a thousand moves at that pace would take the best part of an hour.
The bot's own pacing of the group (``bot.delivery.limits.Limiter``) is therefore raised
to ``--group-per-minute`` (600) in the bot's process by the launcher below, and the
sandbox's limit with it; ``--group-per-minute 20`` runs the bot untouched.

Printed: one line, then details::

    FAULTS moves 1000 faults 20% divergent 0 lost 0 repeats 3 allowed 5

The exit status is 0 when nothing diverged, nothing was lost, the repeats stay within
the allowance and every move was recorded exactly once.

Run from the repository root:

    .venv/bin/python bench/faults.py
    .venv/bin/python bench/faults.py --moves 150 --kills 1 --keep /tmp/faults
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import asyncio
import contextlib
import logging
import re
import sqlite3
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp
import sqlalchemy as sa

from bot.dispatcher import policy_of
from bot.domain.statuses import (
    Behalf,
    FocusDomain,
    HostKind,
    ObserverCategory,
    ObserverStatus,
    SuggestionKind,
)
from bot.i18n import build_i18n
from bot.services.actors import SYSTEM, identify
from bot.services.context import Policy
from bot.services.notify import USER
from bot.services.suggestions import SuggestionService
from bot.services.views import Draft
from bot.settings import Settings, load_settings
from handlers.card_sync import pointer
from handlers.cards import CardCb, item_card
from handlers.deciding import SKIP, PickCb
from handlers.notices import render as render_notice
from handlers.ui import day
from sandbox.server import Sandbox, SandboxConfig
from sandbox.world import World
from storage.engine import create_engine, session_factory
from storage.models import Department, Observer, OutboxMessage, Point, TelegramUser
from storage.store import Store
from tests.e2e.harness import GROUP, TOKEN, BotProcess, Control, every_error

T = TypeVar("T")

ADMIN0 = 50_001
OBSERVER0 = 60_001
DEPARTMENTS = (("MARKET", "Market bureau"), ("ROADS", "Roads bureau"), ("WATER", "Water bureau"))

# The admin's moves of each script, in order; "answer" is the observer's (not counted).
SCRIPTS: dict[str, tuple[str, ...]] = {
    "decline": ("take", "decl", "close"),
    "adopt": ("take", "adopt", "due", "dept"),
    "reference": ("take", "ref", "close"),
    "ask": ("take", "ask", "answer", "take", "esc", "city", "close"),
    "duplicate": ("take", "dup", "close"),
}
ROTATION = ("decline", "adopt", "reference", "ask", "duplicate")
OBSERVERS_MOVES = frozenset({"answer"})
# What an admin types in answer to a prompt, by move.
WORDS = {
    "decl": "Not within the district's remit: the road belongs to the city.",
    "ref": "Kept for the next year's lighting plan.",
    "esc": "For the city's transport commission.",
    "ask": "Which lamp post is it? Its number is on a plate at eye level.",
    "city": "The city keeps it for its 2027 programme.",
}
ANSWER = "It is post No. 14-3, at the corner by the pharmacy."
# Methods that put a message in a chat: a timeout after one of them may show it twice.
SENDING = frozenset({"sendmessage", "sendphoto", "senddocument", "sendmediagroup", "copymessage"})
CARD_HEAD = re.compile(r"^\S+ (WZ-\d{4}-\d{4}) · ")
POINTER_HEAD = re.compile(r"^🗂 (WZ-\d{4}-\d{4})")
# The bot's process, with its pacing of groups set from the environment (see above).
LAUNCH = """
import os, sys
import bot.delivery.limits as limits
limits.Limiter.__init__.__kwdefaults__["group_per_minute"] = int(
    os.environ["OUTPOST_BENCH_GROUP_PER_MINUTE"])
from bot.cli import main
sys.argv = ["outpost", "run"]
raise SystemExit(main())
"""

log = logging.getLogger("bench.faults")


@dataclass(frozen=True)
class Options:
    moves: int = 1000
    faults: float = 0.20
    kills: int = 2
    admins: int = 40
    observers: int = 40
    seed: int = 7
    group_per_minute: int = 600
    settle: float = 240.0  # seconds for everything to settle once the faults are cleared
    patience: float = 900.0  # seconds for the moves themselves
    verbose: bool = False


@dataclass
class Item:
    index: int
    script: str
    steps: tuple[str, ...]
    observer: int
    admin: int
    id: int = 0
    ref: str = ""


@dataclass
class Result:
    options: Options
    moves: int = 0  # the admin moves the driver made
    recorded: int = 0  # the admin moves the database holds
    seconds: float = 0.0
    kills: int = 0
    start_failures: int = 0  # the bot died while starting (and was started again)
    leased_at_kills: list[int] = field(default_factory=list)
    leased_to_observers: int = 0
    faults_applied: dict[str, int] = field(default_factory=dict)
    timeouts_after_to_observers: int = 0
    divergent: list[str] = field(default_factory=list)
    orphans: int = 0
    unsent_rows: int = 0
    missing_notices: int = 0
    notices: int = 0
    repeats: int = 0
    repeated_group_messages: int = 0
    retries: int = 0
    stale_presses: int = 0
    settled: bool = False
    errors: list[str] = field(default_factory=list)
    guard_errors: int = 0
    timings: dict[str, list[float]] = field(default_factory=dict)
    why: Counter[str] = field(default_factory=Counter)
    stuck: list[str] = field(default_factory=list)
    settle_seconds: float = 0.0
    presses: dict[str, Any] = field(default_factory=dict)
    unsettled: list[str] = field(default_factory=list)
    # Unknown cards showing an older state, pressed once by an admin after the run, and
    # what diverges after that.
    unknown_pressed: int = 0
    divergent_after: list[str] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return self.unsent_rows + self.missing_notices

    @property
    def allowed(self) -> int:
        return self.timeouts_after_to_observers + self.leased_to_observers

    @property
    def sound(self) -> bool:
        return (
            not self.divergent
            and self.lost == 0
            and self.repeats <= self.allowed
            and self.recorded == self.moves == self.options.moves
            and self.guard_errors == 0
            and self.settled
            and not self.stuck
        )

    def line(self) -> str:
        return (
            f"FAULTS moves {self.moves} faults {round(self.options.faults * 100)}% "
            f"divergent {len(self.divergent)} lost {self.lost} repeats {self.repeats} "
            f"allowed {self.allowed}"
        )

    def details(self) -> list[str]:
        applied = ", ".join(f"{k} {v}" for k, v in sorted(self.faults_applied.items()))
        out = [
            f"  {self.moves} admin moves in {self.seconds:.0f} s ({self.recorded} recorded); "
            f"{self.retries} moves tried again, {self.stale_presses} presses on a lagging card",
            f"  faults applied: {applied}",
            "  button presses: " + ", ".join(f"{k} {v}" for k, v in self.presses.items()),
            f"  kills {self.kills} (outbox rows on lease: {self.leased_at_kills}, "
            f"to observers {self.leased_to_observers}); failed starts {self.start_failures}",
            f"  notices to observers {self.notices}: missing {self.missing_notices}, "
            f"rows not sent {self.unsent_rows}, repeats {self.repeats} (allowed: "
            f"{self.timeouts_after_to_observers} timeouts after a send + "
            f"{self.leased_to_observers} on lease at kills)",
            f"  divergent cards {len(self.divergent)} (of which unknown to the bot "
            f"{self.orphans}); other repeated messages in the group "
            f"{self.repeated_group_messages}; settled "
            + (f"in {self.settle_seconds:.0f} s" if self.settled else "NO"),
            f"  after an admin pressed the {self.unknown_pressed} unknown cards showing an "
            f"older state: divergent {len(self.divergent_after)}",
            f"  errors in the bot's logs {len(self.errors)} (a call inside a transaction: "
            f"{self.guard_errors})",
        ]
        if self.options.verbose:
            out += [
                f"    {act}: {len(t)} moves, mean {sum(t) / len(t):.1f} s, max {max(t):.1f} s"
                for act, t in sorted(self.timings.items())
            ]
            out += [f"    tried again, {why}: {n}" for why, n in self.why.most_common()]
        out += [f"    given up: {s}" for s in self.stuck]
        out += [f"    unsettled: {u}" for u in self.unsettled[:12]]
        out += [f"    divergent: {d}" for d in self.divergent[:12]]
        out += [f"    still divergent: {d}" for d in self.divergent_after[:12]]
        out += [f"    error: {e}" for e in sorted(set(self.errors))[:8]]
        return out


# ---- the bot's process ------------------------------------------------------------------


@dataclass
class FaultBot(BotProcess):
    """``outpost run`` with the group pacing of ``group_per_minute`` (see LAUNCH)."""

    group_per_minute: int = 20

    async def start(self, ready: str = "polling for updates") -> None:
        assert self.process is None or self.process.poll() is not None
        self.starts += 1
        env = {**self.environment(), "OUTPOST_BENCH_GROUP_PER_MINUTE": str(self.group_per_minute)}
        with self.log_path.open("wb") as out:
            # Popen returns at once; wait_log sleeps asynchronously.
            self.process = subprocess.Popen(  # noqa: ASYNC220
                [sys.executable, "-c", LAUNCH],
                cwd=self.workdir,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        await self.wait_log(ready, within=60)


async def start_again(bot: FaultBot, result: Result) -> None:
    """Start the bot, as a supervisor would: again if it died while starting."""
    for _ in range(5):
        try:
            await bot.start()
            return
        except AssertionError as exc:
            result.start_failures += 1
            log.warning("the bot did not start: %s", str(exc).splitlines()[0])
            if bot.process is not None and bot.process.poll() is None:
                bot.process.kill()
                bot.process.wait(10)
    raise RuntimeError("the bot did not start five times over")


# ---- the district, in the bot's database --------------------------------------------------


def settings_for(database: Path, api_url: str) -> Settings:
    """What the bot's process runs with (see BotProcess.environment)."""
    return load_settings(
        bot_token=TOKEN,
        telegram_api_url=api_url,
        database_url=f"sqlite+aiosqlite:///{database}",
        admin_chat_id=GROUP,
        default_locale="en",
        redis_url=None,
    )


def plan(options: Options) -> list[Item]:
    """Items and their scripts, for exactly ``options.moves`` admin moves."""
    items: list[Item] = []
    left = options.moves
    while left > 0:
        k = len(items)
        script = ROTATION[k % len(ROTATION)]
        steps: list[str] = []
        for step in SCRIPTS[script]:
            if left == 0:
                break
            steps.append(step)
            if step not in OBSERVERS_MOVES:
                left -= 1
        items.append(
            Item(
                index=k,
                script=script,
                steps=tuple(steps),
                observer=OBSERVER0 + k % options.observers,
                admin=ADMIN0 + k % options.admins,
            )
        )
    return items


async def seed(database: Path, settings: Settings, options: Options, items: list[Item]) -> None:
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    observers = [OBSERVER0 + k for k in range(options.observers)]
    try:
        async with sessions() as session, session.begin():
            point = Point(
                code="P01",
                name="Town service centre",
                domain=FocusDomain.GRASSROOTS_GOVERNANCE,
                host_kind=HostKind.SERVICE_CENTRE,
            )
            session.add(point)
            session.add_all(Department(code=c, name=n) for c, n in DEPARTMENTS)
            session.add_all(
                TelegramUser(id=uid, first_name=f"O{uid - OBSERVER0}", language_code="en")
                for uid in observers
            )
            await session.flush()
            session.add_all(
                Observer(
                    name=f"Observer {uid - OBSERVER0}",
                    category=ObserverCategory.OTHER,
                    point_id=point.id,
                    status=ObserverStatus.APPOINTED,
                    user_id=uid,
                )
                for uid in observers
            )
        policy = policy_of(settings)
        for start in range(0, len(items), 50):
            async with sessions() as session, session.begin():
                store = Store(session)
                service = SuggestionService(store, policy)
                for item in items[start : start + 50]:
                    draft = Draft(
                        kind=SuggestionKind.PROBLEM,
                        domain=FocusDomain.GRASSROOTS_GOVERNANCE,
                        title=f"Street lamp out on Binjiang Road, post {item.index + 1}",
                        body="The lamp has been dark for a week; the pavement is unlit at night.",
                        behalf=Behalf.RESIDENTS,
                        key=f"faults-{item.index}",
                    )
                    filed = await service.submit(await identify(store, item.observer), draft)
                    item.id, item.ref = filed.id, filed.reference
    finally:
        await engine.dispose()


# ---- what the database says, polled ------------------------------------------------------


class Database:
    """The bot's database as the driver needs it, read-only, refreshed a few times a
    second: each item's status and version, how many events it has, its current card in
    the admin group."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.items: dict[int, tuple[str, int]] = {}
        self.events: dict[int, int] = {}
        self.cards: dict[int, int] = {}
        self.changed = asyncio.Event()

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with contextlib.closing(
            sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=10)
        ) as db:
            return db.execute(sql, args).fetchall()

    def _read(self) -> None:
        self.items = {
            i: (s, v) for i, s, v in self.query("SELECT id, status, version FROM suggestions")
        }
        self.events = dict(
            self.query("SELECT suggestion_id, count(*) FROM events GROUP BY suggestion_id")
        )
        self.cards = dict(
            self.query(
                "SELECT subject_id, message_id FROM cards "
                "WHERE subject = 'item' AND chat_id = ? AND current",
                GROUP,
            )
        )

    async def run(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self._read)
            except sqlite3.Error as exc:  # a kill -9 mid-write: read again
                log.debug("database read: %s", exc)
            else:
                self.changed.set()
            await asyncio.sleep(0.15)

    async def until(self, check: Callable[[], T], within: float) -> T | None:
        deadline = time.monotonic() + within
        while True:
            value = check()
            if value:
                return value
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), min(left, 1.0))


# ---- what the chats show ------------------------------------------------------------------


class Screen:
    """What a chat shows, read from the sandbox's world in this process (what a person
    sees on their screen; they act only through the control API)."""

    def __init__(self, world: World) -> None:
        self.world = world

    def message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        chat = self.world.chats.get(chat_id)
        found = chat.messages.get(message_id) if chat else None
        if found is None or found.deleted:
            return None
        return self.world.message_view(found)

    def last_id(self, chat_id: int) -> int:
        chat = self.world.chats.get(chat_id)
        return max(chat.messages, default=0) if chat else 0

    def newest(
        self, chat_id: int, after: int, wanted: Callable[[dict[str, Any]], bool]
    ) -> dict[str, Any] | None:
        """The newest message of the bot's in the chat after ``after`` that is wanted."""
        chat = self.world.chats.get(chat_id)
        if chat is None:
            return None
        for message in reversed(chat.messages.values()):
            if message.message_id <= after:
                return None
            if not message.from_bot or message.deleted:
                continue
            view = self.world.message_view(message)
            if wanted(view):
                return view
        return None

    async def wait(
        self, chat_id: int, after: int, wanted: Callable[[dict[str, Any]], bool], within: float
    ) -> dict[str, Any] | None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            found = self.newest(chat_id, after, wanted)
            if found is not None:
                return found
            await asyncio.sleep(0.1)
        return None


def datas(message: dict[str, Any] | None) -> list[str]:
    markup = (message or {}).get("reply_markup") or {}
    return [
        str(b.get("callback_data", ""))
        for row in markup.get("inline_keyboard", [])
        for b in row
        if b.get("callback_data")
    ]


def buttons_of(message: dict[str, Any]) -> list[list[tuple[str, str]]]:
    markup = message.get("reply_markup") or {}
    return [
        [(str(b.get("text")), str(b.get("callback_data", ""))) for b in row]
        for row in markup.get("inline_keyboard", [])
    ]


def with_button(prefix: str) -> Callable[[dict[str, Any]], bool]:
    return lambda m: any(d.startswith(prefix) for d in datas(m))


def prompt_of(ref: str) -> Callable[[dict[str, Any]], bool]:
    def wanted(m: dict[str, Any]) -> bool:
        markup = m.get("reply_markup") or {}
        return bool(markup.get("force_reply")) and ref in str(m.get("text"))

    return wanted


# ---- the people ------------------------------------------------------------------------------


class People:
    """The admins and observers, acting through the control API; each person waits half
    a second between their own updates (the bot lets a person send two a second)."""

    def __init__(self, control: Control) -> None:
        self.control = control
        self._last: dict[int, float] = {}

    async def _pace(self, who: int) -> None:
        wait = self._last.get(who, 0.0) + 0.5 - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        self._last[who] = time.monotonic()

    async def press(self, chat_id: int, who: int, message_id: int, data: str) -> bool:
        await self._pace(who)
        body = {"chat_id": chat_id, "from_id": who, "message_id": message_id, "data": data}
        async with self.control.http.post(
            self.control.url + "/sandbox/callbacks", json=body
        ) as response:
            # 404: the button went meanwhile (the card was edited): the person looks again.
            return response.status == 200

    async def say(self, chat_id: int, who: int, text: str, reply_to: int | None = None) -> bool:
        await self._pace(who)
        body: dict[str, Any] = {"chat_id": chat_id, "from_id": who, "text": text}
        if reply_to:
            body["reply_to_message_id"] = reply_to
        async with self.control.http.post(
            self.control.url + "/sandbox/messages", json=body
        ) as response:
            # 400: the message replied to went meanwhile (a prompt deleted).
            return response.status == 200


# ---- the run ------------------------------------------------------------------------------


class Stuck(RuntimeError):
    pass


class Driver:
    def __init__(
        self, people: People, screen: Screen, db: Database, items: list[Item], result: Result
    ) -> None:
        self.people = people
        self.screen = screen
        self.db = db
        self.items = items
        self.result = result
        # A person answers one question at a time (their conversation state is one).
        self.answering: dict[int, asyncio.Lock] = {}

    def version(self, item: Item) -> int:
        return self.db.items.get(item.id, ("", 0))[1]

    def events(self, item: Item) -> int:
        return self.db.events.get(item.id, 0)

    async def worker(self, admin: int, mine: list[Item]) -> None:
        for item in mine:
            try:
                for step in item.steps:
                    if step == "answer":
                        async with self.answering.setdefault(item.observer, asyncio.Lock()):
                            await self.answer(item)
                    else:
                        await self.move(admin, item, step)
                        self.result.moves += 1
            except Stuck as exc:
                # Given up on this item (counted: the run is not sound); on to the next.
                self.result.stuck.append(str(exc))

    async def move(self, admin: int, item: Item, act: str) -> None:
        began = time.monotonic()
        try:
            await self._move(admin, item, act)
        finally:
            self.result.timings.setdefault(act, []).append(time.monotonic() - began)

    async def _move(self, admin: int, item: Item, act: str) -> None:
        # Only this admin moves this item: any new event of it is this move (landed
        # late, perhaps, after the bot came back from a kill).
        before = self.events(item)

        def done() -> bool:
            return self.events(item) > before

        for _ in range(60):
            if done():
                return
            v = self.version(item)
            wanted = CardCb(act=act, item=item.id, v=v).pack()

            def card(wanted: str = wanted) -> int | None:
                mid = self.db.cards.get(item.id)
                shown = self.screen.message(GROUP, mid) if mid else None
                return mid if wanted in datas(shown) or done() else None

            mid = await self.db.until(card, within=8.0)
            if done():
                return
            if mid is None:
                await self.nudge(admin, item, v)
                continue
            last = self.screen.last_id(GROUP)
            why = "the card's button went"
            if await self.people.press(GROUP, admin, mid, wanted):
                why = "nothing came of it"
                try:
                    await self.carry_on(admin, item, act, last)
                except Stuck as exc:
                    why = str(exc)
                if await self.db.until(done, within=12.0):
                    return
            self.result.retries += 1
            self.result.why[f"{act}: {why}"] += 1
        raise Stuck(f"{item.ref}: {act} did not happen")

    async def nudge(self, admin: int, item: Item, v: int) -> None:
        """The card shows an older state of the item (its edit failed or is late): press
        what it shows; the bot answers where the item stands and brings it up to date.
        A card showing the item's version is left alone: pressing it would move it."""
        mid = self.db.cards.get(item.id)
        shown = self.screen.message(GROUP, mid) if mid else None
        for data in datas(shown):
            parts = data.split(":")
            # Older than the item, not newer: the bench's own view of the database may
            # lag behind the card, and pressing a current button would move the item.
            if len(parts) >= 4 and parts[0] == "c" and parts[3].isdigit() and int(parts[3]) < v:
                self.result.stale_presses += 1
                await self.people.press(GROUP, admin, int(mid or 0), data)
            return

    async def carry_on(self, admin: int, item: Item, act: str, last: int) -> None:
        """What the move needs after the card's button: a reply to the prompt, or the
        picker's buttons."""
        if act in ("take", "close"):
            return
        if act in WORDS or act == "dup":
            if act == "city":
                picker = await self.picker(item, f"dk:o:{item.id}:", last)
                last = self.screen.last_id(GROUP)
                data = PickCb(step="o", item=item.id, val="reference").pack()
                if not await self.people.press(GROUP, admin, picker["message_id"], data):
                    raise Stuck("the city's picker went")
            prompt = await self.screen.wait(GROUP, last, prompt_of(item.ref), within=20.0)
            if prompt is None:
                raise Stuck("no prompt")
            # A prompt sent twice (a timeout after the first): the second is the one.
            await asyncio.sleep(1.0)
            prompt = self.screen.newest(GROUP, last, prompt_of(item.ref)) or prompt
            words = WORDS.get(act) or self.original(item)
            if not await self.people.say(GROUP, admin, words, reply_to=prompt["message_id"]):
                raise Stuck("the prompt went")
            return
        if act in ("adopt", "dept"):
            picker = await self.picker(item, f"dk:d:{item.id}:", last)
            choices = [
                (text, data)
                for row in buttons_of(picker)
                for text, data in row
                if data.startswith(f"dk:d:{item.id}:")
            ]
            # Assigning: another department than the one marked as current.
            data = next(d for t, d in choices if not t.startswith("• "))
            if not await self.people.press(GROUP, admin, picker["message_id"], data):
                raise Stuck("the department picker went")
            if act == "dept":
                return
            due_prefix = f"dk:t:{item.id}:"

            def due() -> dict[str, Any] | None:
                shown = self.screen.message(GROUP, picker["message_id"])
                return shown if with_button(due_prefix)(shown or {}) else None

            shown = await self.db.until(due, within=10.0)
            if shown is None:
                raise Stuck("no due dates")
            first = next(d for d in datas(shown) if d.startswith(due_prefix))
            if not await self.people.press(GROUP, admin, picker["message_id"], first):
                raise Stuck("the due-date picker went")
            # Then the office's instruction to the department: adopted without one (⏭).
            skip = PickCb(step=SKIP, item=item.id).pack()
            beside = await self.screen.wait(GROUP, last, lambda m: skip in datas(m), 20.0)
            if beside is None:
                raise Stuck("no ⏭ beside the instruction's prompt")
            # Sent twice (a timeout after the first): the second is the one.
            await asyncio.sleep(0.7)
            beside = self.screen.newest(GROUP, last, lambda m: skip in datas(m)) or beside
            if not await self.people.press(GROUP, admin, beside["message_id"], skip):
                raise Stuck("the ⏭ went")
            return
        if act == "due":
            picker = await self.picker(item, f"dk:t:{item.id}:", last)
            dues = [d for d in datas(picker) if d.startswith(f"dk:t:{item.id}:")]
            await self.people.press(GROUP, admin, picker["message_id"], dues[1])
            return
        raise AssertionError(act)

    async def picker(self, item: Item, prefix: str, last: int) -> dict[str, Any]:
        found = await self.screen.wait(GROUP, last, with_button(prefix), within=20.0)
        if found is None:
            raise Stuck(f"no picker {prefix}")
        await asyncio.sleep(0.7)
        return self.screen.newest(GROUP, last, with_button(prefix)) or found

    def original(self, item: Item) -> str:
        """The reference of another item, for a duplicate."""
        other = self.items[0] if self.items[0].id != item.id else self.items[1]
        return other.ref

    async def answer(self, item: Item) -> None:
        """The observer answers the office's question: the notice's Answer button, the
        words, then Send."""
        obs = item.observer
        answer = f"my:answer:{item.id}:"
        send = f"my:send:{item.id}:"
        before = self.events(item)

        def done() -> bool:
            return self.events(item) > before

        for _ in range(60):
            if done():
                return
            notice = await self.screen.wait(obs, 0, with_button(answer), within=30.0)
            if notice is None or done():
                self.result.retries += 1
                continue
            last = self.screen.last_id(obs)
            data = next(d for d in datas(notice) if d.startswith(answer))
            if await self.people.press(obs, obs, notice["message_id"], data):
                prompt = await self.screen.wait(obs, last, with_button(send), within=10.0)
                if prompt is not None:
                    last = self.screen.last_id(obs)
                    await self.people.say(obs, obs, ANSWER)
                    await self.screen.wait(
                        obs, last, lambda m: "Added to your answer" in str(m.get("text")), 10.0
                    )
                    latest = self.screen.newest(obs, 0, with_button(send)) or prompt
                    data = next(d for d in datas(latest) if d.startswith(send))
                    await self.people.press(obs, obs, latest["message_id"], data)
                    if await self.db.until(done, within=12.0):
                        return
            self.result.retries += 1
            self.result.why["answer: nothing came of it"] += 1
        raise Stuck(f"{item.ref}: the observer's answer did not arrive")


async def set_faults(control: Control, rate: float) -> None:
    """``rate`` of every call fails, evenly among the kinds (the first fault that fires
    applies, so each fires with the chance that makes the total ``rate``)."""
    kinds: list[dict[str, Any]] = [
        {"status": 429, "retry_after": 1},
        {"status": 500},
        {"status": 502},
        {"timeout": "before"},
        {"timeout": "after"},
    ]
    each = 1 - (1 - rate) ** (1 / len(kinds))
    for kind in kinds:
        await control.fault(method="*", probability=round(each, 6), **kind)


async def killer(
    bot: FaultBot, db: Database, result: Result, total: int, kills: int, items: set[int]
) -> None:
    """kill -9 at even intervals of the moves, counting the rows on lease, and start
    again at once."""
    for k in range(1, kills + 1):
        while result.moves < total * k // (kills + 1):  # noqa: ASYNC110 (a counter)
            await asyncio.sleep(0.1)
        bot.kill9()
        result.kills += 1
        leased = db.query(
            "SELECT chat_id FROM outbox WHERE state = 'pending' AND claimed_by IS NOT NULL"
        )
        result.leased_at_kills.append(len(leased))
        result.leased_to_observers += sum(1 for (chat,) in leased if chat in items)
        log.info("killed (%d rows on lease); starting again", len(leased))
        await start_again(bot, result)


async def settled(db: Database, screen: Screen, within: float, result: Result) -> bool:
    """The outbox drained, no card waiting for a re-sync, the group quiet for 3 s; what
    still waits, if not, goes into the result."""
    began = time.monotonic()
    deadline = began + within
    quiet_since, last = time.monotonic(), -1
    while time.monotonic() < deadline:
        pending = db.query("SELECT count(*) FROM outbox WHERE state = 'pending'")[0][0]
        stale = db.query("SELECT count(*) FROM cards WHERE resync_at IS NOT NULL")[0][0]
        changes = screen.world.changes.seq
        if changes != last:
            quiet_since, last = time.monotonic(), changes
        if not pending and not stale and time.monotonic() - quiet_since > 3.0:
            result.settle_seconds = time.monotonic() - began
            return True
        await asyncio.sleep(0.5)
    result.unsettled = [
        f"outbox {row}"
        for row in db.query(
            "SELECT id, kind, chat_id, attempts, not_before, last_error FROM outbox "
            "WHERE state = 'pending'"
        )
    ] + [
        f"card {row}"
        for row in db.query(
            "SELECT id, subject_id, message_id, current, resync_at FROM cards "
            "WHERE resync_at IS NOT NULL"
        )
    ]
    return False


# ---- the checks ------------------------------------------------------------------------------


@dataclass
class Cards:
    """What the cards in the admin group show, against the database."""

    divergent: list[str] = field(default_factory=list)
    # Card messages the bot has no record of: (message id, reference, its buttons).
    unknown: list[tuple[int, str, list[str]]] = field(default_factory=list)
    # Other messages of the group's shown more than once (prompts, replies).
    repeated: int = 0


async def check_cards(control: Control, settings: Settings, items: list[Item]) -> Cards:
    policy: Policy = policy_of(settings)
    i18n = build_i18n(settings.default_locale)
    engine = create_engine(settings.database_url)
    group = await control.messages(GROUP)
    shown = {m["message_id"]: m for m in group if m.get("from_bot") and not m.get("deleted")}
    found = Cards()
    known: set[int] = set()
    try:
        async with session_factory(engine)() as session, session.begin():
            store = Store(session)
            service = SuggestionService(store, policy)
            with i18n.context(), i18n.use_locale(settings.default_locale):
                for item in items:
                    detail = await service.detail(SYSTEM, item.id)
                    card = item_card(detail, policy, today=day(service.today()))
                    rows = await store.cards.of("item", item.id, chat_id=GROUP)
                    known.update(row.message_id for row in rows)
                    current = [r for r in rows if r.current]
                    if len(current) != 1:
                        found.divergent.append(f"{item.ref}: {len(current)} current cards")
                        continue
                    form = pointer(card.label, GROUP, current[0].message_id)
                    for row in rows:
                        message = shown.get(row.message_id)
                        want = card if row.current else form
                        if message is None:
                            if row.current:
                                found.divergent.append(f"{item.ref}: current card gone")
                            continue  # an older card deleted: nothing to press
                        wanted = [
                            [(b.text, b.callback_data or "") for b in r]
                            for r in (want.markup.inline_keyboard if want.markup else [])
                        ]
                        if message.get("html") != want.text or buttons_of(message) != wanted:
                            what = "current card" if row.current else "older card"
                            found.divergent.append(
                                f"{item.ref}: {what} {row.message_id} shows "
                                f"{str(message.get('text')).splitlines()[0]!r} "
                                f"buttons {datas(message)[:2]}"
                            )
    finally:
        await engine.dispose()
    for mid, message in sorted(shown.items()):
        head = str(message.get("text") or "")
        match = CARD_HEAD.match(head) or POINTER_HEAD.match(head)
        if mid in known or match is None:
            continue
        found.unknown.append((mid, match.group(1), datas(message)))
        found.divergent.append(
            f"unknown card {mid}: {head.splitlines()[0]!r} buttons {datas(message)[:2]}"
        )
    texts = Counter(
        str(m.get("html")) for m in shown.values() if not CARD_HEAD.match(str(m["text"]))
    )
    found.repeated = sum(n - 1 for n in texts.values() if n > 1)
    return found


async def check_notices(
    control: Control, settings: Settings, observers: list[int], result: Result
) -> None:
    """Every outbox row sent; every notice to an observer shown in their chat, and how
    many times more than its rows say."""
    i18n = build_i18n(settings.default_locale)
    engine = create_engine(settings.database_url)
    expected: dict[int, Counter[str]] = {}
    try:
        async with session_factory(engine)() as session, session.begin():
            rows = (
                await session.execute(sa.select(OutboxMessage).order_by(OutboxMessage.id))
            ).scalars()
            for row in rows:
                if row.state != "sent":
                    result.unsent_rows += 1
                if row.audience != USER or row.chat_id is None:
                    continue
                with i18n.context(), i18n.use_locale(settings.default_locale):
                    notice = render_notice(row.kind, row.payload, suggestion_id=row.suggestion_id)
                expected.setdefault(int(row.chat_id), Counter())[notice.text] += 1
                result.notices += 1
    finally:
        await engine.dispose()
    for chat in observers:
        said = Counter(
            str(m.get("html"))
            for m in await control.messages(chat)
            if m.get("from_bot") and not m.get("deleted")
        )
        for text, count in expected.get(chat, Counter()).items():
            result.missing_notices += max(0, count - said[text])
            result.repeats += max(0, said[text] - count)


async def press_unknown(
    people: People, db: Database, items: list[Item], unknown: list[tuple[int, str, list[str]]]
) -> int:
    """An admin who sees a card twice presses the one showing an older state (the bot
    takes it in, bot.services.cards.CardService.adopt); a button of the item's current
    version is left alone, since it would move the item. Returns how many were pressed."""
    by_ref = {item.ref: item for item in items}
    pressed = 0
    for mid, ref, buttons in unknown:
        item = by_ref.get(ref)
        if item is None:
            continue
        version = str(db.items.get(item.id, ("", 0))[1])
        stale = [d for d in buttons if d.startswith("c:") and d.split(":")[3] != version]
        if stale:
            await people.press(GROUP, item.admin, mid, stale[0])
            pressed += 1
    return pressed


async def run(options: Options, workdir: Path) -> Result:
    result = Result(options)
    items = plan(options)
    observers = [OBSERVER0 + k for k in range(options.observers)]
    admins = [ADMIN0 + k for k in range(options.admins)]
    config = SandboxConfig(port=0, fault_seed=options.seed)
    async with Sandbox(config) as sandbox, aiohttp.ClientSession() as http:
        control = Control(sandbox.url, http)
        await control.limits(group_per_minute=options.group_per_minute)
        await control._call(
            "POST",
            "/sandbox/users",
            [{"id": a, "first_name": f"Admin{a - ADMIN0}", "language_code": "en"} for a in admins]
            + [
                {"id": o, "first_name": f"O{o - OBSERVER0}", "language_code": "en"}
                for o in observers
            ],
        )
        members = dict.fromkeys(admins, "administrator")
        members[admins[0]] = "creator"
        await control.group(GROUP, "District office", members)

        bot = FaultBot(workdir, sandbox.url, group_per_minute=options.group_per_minute)
        bot.migrate()
        settings = settings_for(bot.database, sandbox.url)
        await seed(bot.database, settings, options, items)
        db = Database(bot.database)
        screen = Screen(sandbox.state)
        polling = asyncio.create_task(db.run())
        try:
            await set_faults(control, options.faults)
            await start_again(bot, result)
            people = People(control)
            driver = Driver(people, screen, db, items, result)
            started = time.monotonic()
            workers = [
                driver.worker(admin, [i for i in items if i.admin == admin]) for admin in admins
            ]
            killing = asyncio.create_task(
                killer(bot, db, result, options.moves, options.kills, set(observers))
            )
            try:
                await asyncio.wait_for(asyncio.gather(*workers), options.patience)
            except TimeoutError:
                result.stuck.append(f"the moves did not finish in {options.patience:.0f} s")
            finally:
                result.seconds = time.monotonic() - started
                if not killing.done():
                    killing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await killing

            applied = await control._call("GET", "/sandbox/faults")
            result.faults_applied = {k: int(v) for k, v in applied["applied"].items() if v}
            await control.clear_faults()
            result.settled = await settled(db, screen, options.settle, result)
            cards = await check_cards(control, settings, items)
            result.divergent, result.orphans = cards.divergent, len(cards.unknown)
            result.repeated_group_messages = cards.repeated
            result.unknown_pressed = await press_unknown(people, db, items, cards.unknown)
            if result.unknown_pressed:
                await settled(db, screen, options.settle, result)
                result.divergent_after = (await check_cards(control, settings, items)).divergent
            else:
                result.divergent_after = list(result.divergent)
            if bot.process is not None and bot.process.poll() is None:
                await bot.terminate(within=60)
        finally:
            polling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await polling
            if bot.process is not None and bot.process.poll() is None:
                bot.process.kill()
                bot.process.wait(10)

        summary = (await control._call("GET", "/sandbox/callbacks"))["summary"]
        result.presses = {k: summary.get(k) for k in ("pressed", "answered", "expired")}
        result.presses["late or repeated answers refused"] = int(
            summary.get("late_attempts") or 0
        ) + int(summary.get("repeat_attempts") or 0)
        p99 = summary.get("delay_p99")
        result.presses["answered within (p99)"] = f"{p99:.2f} s" if p99 is not None else None
        result.recorded = db.query("SELECT count(*) FROM events WHERE actor_role = 'admin'")[0][0]
        sends = [
            r
            for r in await control.requests()
            if r["method"].lower() in SENDING and r.get("fault") == "timeout_after"
        ]
        result.timeouts_after_to_observers = sum(
            1 for r in sends if r["params"].get("chat_id") in set(observers)
        )
        await check_notices(control, settings, observers, result)
        for entry in every_error(bot):
            message = str(entry.get("msg"))[:160]
            result.errors.append(message)
            if "called while holding" in message:
                result.guard_errors += 1
    return result


# ---- the command -----------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    d = Options()
    p.add_argument("--moves", type=int, default=d.moves)
    p.add_argument("--faults", type=float, default=d.faults, help="the share of calls failed")
    p.add_argument("--kills", type=int, default=d.kills, help="kill -9 and restarts")
    p.add_argument("--admins", type=int, default=d.admins)
    p.add_argument("--observers", type=int, default=d.observers)
    p.add_argument("--seed", type=int, default=d.seed, help="the sandbox's fault seed")
    p.add_argument("--group-per-minute", type=int, default=d.group_per_minute)
    p.add_argument("--settle", type=float, default=d.settle)
    p.add_argument("--keep", type=Path, default=None, help="keep the database and logs here")
    p.add_argument("-v", "--verbose", action="store_true")
    return p


async def measure(argv: list[str] | None = None) -> Result:
    args = parser().parse_args(argv)
    options = Options(
        moves=args.moves,
        faults=args.faults,
        kills=args.kills,
        admins=args.admins,
        observers=args.observers,
        seed=args.seed,
        group_per_minute=args.group_per_minute,
        settle=args.settle,
        verbose=args.verbose,
    )
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        result = await run(options, args.keep)
    else:
        with tempfile.TemporaryDirectory(prefix="outpost-faults-") as tmp:
            result = await run(options, Path(tmp))
    print(result.line())
    print("\n".join(result.details()))
    return result


async def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    result = await measure(argv)
    return 0 if result.sound else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
