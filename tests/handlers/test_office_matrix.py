"""Who may use the office's commands and buttons, in a city of several offices.

Every office command and every button of the home district's item cards (with the
pickers they open, and the buttons of its lists and observer cards), typed or pressed
by everyone who must not use them on the home district's rows, through the fake
Telegram and the real Dispatcher; and by the district's own admin, to show that the
same words do name its rows.

The city: the home district WZ (the test world: points P01/P02, departments MARKET and
HOUSING with the liaison LIAISON, observers ALICE and BOB; six items of Alice's, one at
each status), the city CQ placed above WZ, and a second district FL below CQ, with a
point, a department, an observer and an item of its own; CQ has a department of its
own with its liaison. Each office's group has an administrator who is no operator (not
in ADMIN_IDS).

Each row of the tables is one attempt: who, where, what they type or press, and what
they are shown. An attempt by someone who may not must leave the database as it was
(every table but who wrote, which updates were handled and each person's own
conversation), change no other chat, show nothing of WZ's rows (names, phone,
references, titles, in a message, an alert or a document), and not get the command's
answer about WZ's rows; one that does any of these is a bypass.

Items reported to the city (escalated) are left out on purpose: escalation to the city
is being built now, and the city will see and answer those. Their rows (the city's
buttons on them, a district's attempts on them) are to be added to these tables then.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.offices import HOME
from bot.domain.statuses import FocusDomain, HostKind, ObserverCategory, ObserverStatus
from bot.services.actors import identify
from bot.services.context import Policy
from bot.services.offices import OfficeService
from bot.services.suggestions import SuggestionService
from handlers.deciding import DEPARTMENT, PickCb
from handlers.office import OFFICE_ONLY
from storage.models import Base, Department, Liaison, Observer, Point, TelegramUser
from storage.store import Store
from tests.handlers.conftest import make_settings, new_telegram
from tests.telegram import Person, Sent, Telegram
from tests.world import ADMIN, ALICE, DUE, LIAISON, POLICY, FixedClock, World, draft

Sessions = async_sessionmaker[AsyncSession]

WZ_GROUP, CQ_GROUP, FL_GROUP = -100500, -100600, -100777
WZ_ADMIN, FL_ADMIN, CQ_ADMIN = 7101, 7102, 7103
CITY_LIAISON, FRANK = 7104, 7105

# What the refused are told.
ADMINS_ONLY = "Only this office's admins can use this command."
ELSEWHERE = "This command works only in an office's admin group."
NOT_AN_ADMIN_PRESS = "Only this office's admins can do this. Nothing was changed."
NOT_FOUND_PRESS = "That item was not found, or it is not yours."
NOT_YOUR_PICK = "This choice belongs to another admin's move, or it has expired."
STALE_PRESS = "This button is no longer valid. Please start again from the menu."
NO_ITEM_PRESS = "That item no longer exists."
NO_PHONE_PRESS = "That is no longer on file."
ONLY_ADMINS_PHONE = "Only this office's admins can see phone numbers."
NO_OBSERVER_PRESS = "is anonymised already, or no longer on file."
NOT_ACTIVE_PICK = "That department is no longer active. Choose another one."

# WZ's items, each at its status, by the moves that bring it there. None is escalated
# (see the module's docstring).
ITEMS: dict[str, tuple[str, tuple[str, ...]]] = {
    "submitted": ("Streetlamps dark on Renmin Road", ()),
    "in_review": ("Market stalls block the fire lane", ("take",)),
    "needs_info": ("Night-time noise from a building site", ("take", "ask_info")),
    "adopted": ("Broken railing by the river steps", ("take", "adopt")),
    "implementing": ("Loose pavement tiles near the school", ("take", "adopt", "accept")),
    "implemented": ("Bus shelter without a roof", ("take", "adopt", "accept", "done")),
}
FL_ITEM = "Pickle factory runoff in the creek"

# What only WZ's rows say: shown to anyone else (but what they typed), it leaked.
WZ_SECRETS = (
    *(title for title, _moves in ITEMS.values()),
    "13800000001",  # Alice's phone
    "城区便民服务中心",  # P01's name
    "Chamber of Commerce",  # P02's
    "区市场监管局",  # MARKET's
    "District Housing Bureau",  # HOUSING's
    "Alice",
    "Bob",
    "WZ-2026-",
)

# Tables an attempt may write without changing anything: who wrote (names, last seen),
# which updates were handled, and each person's own conversation state.
VOLATILE = {"telegram_users", "processed_updates", "conversation_states"}


@pytest.fixture
async def tg(sessions: Sessions, world: World, clock: FixedClock) -> AsyncIterator[Telegram]:
    tg = new_telegram(sessions, clock, settings=make_settings(default_locale="en"))
    yield tg
    await tg.bot.session.close()
    assert tg.session.problems == [], "the bot sent what Telegram would refuse"


# ---- the city --------------------------------------------------------------------------


@dataclass
class City:
    """What the rows name: WZ's items (by status), observers and department, and FL's
    own item."""

    refs: dict[str, str] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)
    alice: int = 0
    bob: int = 0
    market: int = 0
    fl_item: int = 0
    fl_ref: str = ""

    def words(self) -> dict[str, Any]:
        return {
            **self.refs,
            **{f"{status}_id": item for status, item in self.ids.items()},
            "alice": self.alice,
            "bob": self.bob,
            "market": self.market,
            "fl_ref": self.fl_ref,
            "fl_item": self.fl_item,
        }


async def _move(
    sessions: Sessions,
    clock: FixedClock,
    user_id: int,
    move: str,
    *args: Any,
    policy: Policy = POLICY,
    **kw: Any,
) -> Any:
    """A move through the services, as an update of the office of ``policy`` makes it
    (the home office's by default, as a private chat's)."""
    async with sessions() as session, session.begin():
        store = Store(session)
        who = await identify(store, user_id, is_admin=user_id == ADMIN)
        return await getattr(SuggestionService(store, policy, clock), move)(who, *args, **kw)


async def build_city(tg: Telegram, sessions: Sessions, clock: FixedClock, world: World) -> City:
    """CQ above WZ, FL below CQ, each bound to its group (WZ's settled as at start-up);
    their rows; WZ's items at each status and FL's one, moved through the services;
    the cards delivered; then two weeks pass, so that some are overdue."""
    async with sessions() as session, session.begin():
        offices = OfficeService(Store(session), POLICY, clock)
        home = await offices.settle_home("WZ", WZ_GROUP)
        cq = await offices.create(None, "CQ", "重庆市 | Chongqing", above=home)
        fl = await offices.create(None, "FL", "涪陵区 | Fuling", parent=cq.office)
        await offices.bind(cq.bind_code, CQ_GROUP, CQ_ADMIN)
        await offices.bind(fl.bind_code, FL_GROUP, FL_ADMIN)
    assert home.id == HOME
    async with sessions() as session, session.begin():
        await session.execute(sa.update(TelegramUser).values(language_code="en"))
        for uid, name in ((CITY_LIAISON, "Cao"), (FRANK, "Frank")):
            session.add(TelegramUser(id=uid, first_name=name, language_code="en"))
        point = Point(
            code="FL01",
            name="涪陵区公共法律服务中心",
            domain=FocusDomain.BUSINESS_ENVIRONMENT,
            host_kind=HostKind.SERVICE_CENTRE,
            office_id=fl.office.id,
        )
        fl_dept = Department(code="FLMKT", name="Fuling Market Office", office_id=fl.office.id)
        city_dept = Department(code="CQJUS", name="市司法局", office_id=cq.office.id)
        session.add_all([point, fl_dept, city_dept])
        await session.flush()
        session.add(Liaison(department_id=city_dept.id, user_id=CITY_LIAISON, name="Cao"))
        session.add(
            Observer(
                name="Frank",
                category=ObserverCategory.LAWYER,
                point_id=point.id,
                status=ObserverStatus.APPOINTED,
                user_id=FRANK,
                office_id=fl.office.id,
            )
        )
        await session.flush()
        fl_dept_id = fl_dept.id
    city = City(alice=world.alice_observer_id, bob=world.bob_observer_id)
    city.market = world.department_id
    for status, (title, moves) in ITEMS.items():
        info = await _move(sessions, clock, ALICE, "submit", draft(title, key=status))
        for move in moves:
            if move == "adopt":
                await _move(
                    sessions, clock, ADMIN, move, info.id, department_id=city.market, due=DUE
                )
            elif move == "ask_info":
                await _move(sessions, clock, ADMIN, move, info.id, "Which site, since when?")
            elif move == "accept":
                await _move(sessions, clock, LIAISON, move, info.id)
            elif move == "done":
                await _move(sessions, clock, LIAISON, "mark_implemented", info.id)
            else:
                await _move(sessions, clock, ADMIN, move, info.id)
        city.refs[status], city.ids[status] = info.reference, info.id
    # FL's own item: filed by its observer, adopted by its office for its department.
    info = await _move(sessions, clock, FRANK, "submit", draft(FL_ITEM, key="fl"))
    fuling = replace(POLICY, jurisdiction="FL", office_id=fl.office.id)
    await _move(sessions, clock, ADMIN, "take", info.id, policy=fuling)
    await _move(
        sessions, clock, ADMIN, "adopt", info.id, policy=fuling, department_id=fl_dept_id, due=DUE
    )
    city.fl_item, city.fl_ref = info.id, info.reference
    assert info.reference == "FL-2026-0001"
    await tg.drain()
    clock.advance(days=14)
    return city


def everyone(tg: Telegram) -> dict[str, Person]:
    """The people of the matrix, each where they act."""
    return {
        # 1. The home district's admin (no operator), in its group: the items' office.
        "wz": tg.member(WZ_ADMIN, "Wu", WZ_GROUP, "administrator", language_code="en"),
        # 2. Another district's admin, in that district's group.
        "fl": tg.member(FL_ADMIN, "Fei", FL_GROUP, "administrator", language_code="en"),
        # 3. The city's admin, in the city's group.
        "cq": tg.member(CQ_ADMIN, "Chen", CQ_GROUP, "administrator", language_code="en"),
        # 4. FL's admin typing in WZ's group, where they are a plain member.
        "fl@wz": tg.member(FL_ADMIN, "Fei", WZ_GROUP, "member", language_code="en"),
        # 5. WZ's liaison (MARKET) and the city department's, in their private chats.
        "liaison": tg.person(LIAISON, "Li", "en"),
        "city liaison": tg.person(CITY_LIAISON, "Cao", "en"),
        # 6. WZ's observer Alice, in her private chat.
        "alice": tg.person(ALICE, "Alice", "en"),
    }


PRIVATE = ("liaison", "city liaison", "alice")


# ---- what the database holds -------------------------------------------------------------


async def snapshot(sessions: Sessions) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but the volatile ones, in key order."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    async with sessions() as session:
        for table in Base.metadata.sorted_tables:
            if table.name in VOLATILE:
                continue
            query = sa.select(table).order_by(*table.primary_key.columns)
            rows[table.name] = [tuple(r) for r in (await session.execute(query)).all()]
    return rows


# ---- the rows ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One attempt: ``who`` (a key of :func:`everyone`) types ``what`` (a command; with
    ``reply``, words answering WZ's admin's open prompt) or presses it (callback data:
    on a message of the bot's in their own chat, or with ``on_card`` on the very
    message of WZ's group that carries it); ``says``: a part of what they must be shown
    ("": nothing in particular); ``normal``: a part of the answer about WZ's rows, which
    they must not get; each may name ``{words}`` of :meth:`City.words`. ``kind``:
    "refused" (may not: a bypass is counted), "works" (WZ's own admin: the words name
    real rows), or "above" (the office above WZ, allowed by design)."""

    who: str
    what: str
    says: str
    normal: str | None = None
    kind: str = "refused"
    on_card: bool = False
    reply: bool = False

    @property
    def press(self) -> bool:
        return not self.what.startswith("/") and not self.reply

    def __str__(self) -> str:
        return f"{self.who}: {self.what}"


@dataclass
class Outcome:
    """What one attempt did: what it showed (messages, the press's answer, the words of
    the documents sent), which tables it changed, which other chats it spoke in, and
    which of WZ's secrets it showed."""

    row: Row
    what: str
    says: str
    normal: str | None
    shown: list[str]
    alert: tuple[str, bool] | None
    documents: list[str]
    tables: list[str]
    elsewhere: list[int]
    leaked: list[str]

    @property
    def said(self) -> list[str]:
        return [*self.shown, *([self.alert[0]] if self.alert else []), *self.documents]

    @property
    def bypass(self) -> list[str]:
        """Why this attempt got through (empty: it did not)."""
        if self.row.kind != "refused":
            return []
        why = []
        if self.tables:
            why.append(f"changed {', '.join(self.tables)}")
        if self.elsewhere:
            why.append(f"spoke in chats {self.elsewhere}")
        if self.leaked:
            why.append(f"showed {', '.join(self.leaked)}")
        if self.normal and any(self.normal in s for s in self.said):
            why.append("got the command's answer")
        if self.row.press and self.shown:
            why.append("was answered with a message")
        return why

    @property
    def unexpected(self) -> bool:
        """Whether it was not shown what its row says (when that is no bypass)."""
        if not self.says:
            return False
        if self.row.who == "fl@wz" and not self.row.press and not self.shown:
            return False  # the group tells each non-admin once in a while, not each time
        if not any(self.says in s for s in self.said):
            return True
        refusals = (ADMINS_ONLY, ELSEWHERE, NOT_AN_ADMIN_PRESS, NOT_FOUND_PRESS, STALE_PRESS)
        return self.row.kind != "refused" and any(r in s for s in self.said for r in refusals)

    def line(self) -> str:
        said = [s[:300] for s in self.said]
        return f"{self.row.who} · {self.what} → {said!r} {self.bypass or ''}"


def _leaks(texts: list[str], typed: str) -> list[str]:
    return [s for s in WZ_SECRETS if s not in typed and any(s in text for text in texts)]


def _documents(sent: list[Sent]) -> list[str]:
    """The words of the documents sent (a workbook, a Word file): their XML parts."""
    words = []
    for one in sent:
        if one.data and one.data[:2] == b"PK":
            with zipfile.ZipFile(io.BytesIO(one.data)) as bundle:
                for name in bundle.namelist():
                    if name.endswith(".xml"):
                        words.append(bundle.read(name).decode("utf-8", "replace"))
    return words


def _chats(tg: Telegram) -> dict[int, list[Any]]:
    return {
        chat: [(s.message_id, s.text, s.markup) for s in sent]
        for chat, sent in tg.session.chats.items()
    }


PROMPT = "prompt"  # the host of a reply row: WZ's admin's open prompt


@dataclass
class Run:
    """The attempts of one test in one city: its people, and what the database held
    after the last attempt (read again after any other update: :meth:`moved`)."""

    tg: Telegram
    sessions: Sessions
    city: City
    people: dict[str, Person] = field(default_factory=dict)
    outcomes: list[Outcome] = field(default_factory=list)
    held: dict[str, list[tuple[Any, ...]]] | None = None

    def __post_init__(self) -> None:
        self.people = everyone(self.tg)

    def moved(self) -> None:
        self.held = None

    async def attempt(self, row: Row, hosts: dict[str, Sent] | None = None) -> Outcome:
        tg, person, words = self.tg, self.people[row.who], self.city.words()
        what = row.what.format(**words)
        before = self.held if self.held is not None else await snapshot(self.sessions)
        chats, alerts = _chats(tg), len(tg.session.alerts)
        if row.press:
            target = (hosts or {})[what] if row.on_card else person.last
            sent = await person.callback(what, message=target)
        elif row.reply:
            sent = await person.reply((hosts or {})[PROMPT], what)
        else:
            sent = await person.send(what)
        self.held = after = await snapshot(self.sessions)
        answered = tg.session.alerts[alerts:]
        shown = [s.plain for s in sent]
        documents = _documents(sent)
        texts = [*shown, *(a[1] or "" for a in answered), *documents]
        out = Outcome(
            row,
            what,
            row.says.format(**words),
            row.normal.format(**words) if row.normal else None,
            shown,
            (answered[-1][1] or "", answered[-1][2]) if answered else None,
            documents,
            sorted(name for name in before if before[name] != after[name]),
            [c for c, now in _chats(tg).items() if c != person.chat_id and now != chats.get(c)],
            _leaks(texts, what) if row.who != "wz" else [],
        )
        self.outcomes.append(out)
        return out


# ---- the commands ------------------------------------------------------------------------


@dataclass(frozen=True)
class Typed:
    """An office command: ``args`` naming WZ's rows; what WZ's admin is shown
    (``works``; for words that would be refused in WZ's group too, such as a code taken,
    WZ's admin types ``own`` words instead); what FL's and CQ's admins are shown in
    their own groups (``other``; the city's ``city`` where it differs); and ``normal``,
    a part of the answer about WZ's rows, which nobody else may get (None where the
    answer's words are the same for every office, or name no row of WZ's: the
    deployment's calendar, the group's language, the offices below the city, the Word
    file's caption, whose file is searched for WZ's rows instead)."""

    name: str
    args: str
    works: str
    other: str
    city: str | None = None
    normal: str | None = None
    own: str | None = None


TYPED: list[Typed] = [
    Typed("queue", "", "Awaiting a decision: 2", "Nothing is waiting for a decision.",
          normal="Awaiting a decision"),
    Typed("overdue", "", "Overdue: 2", "Nothing is overdue.", normal="Overdue:"),
    Typed("show", "{submitted}", ITEMS["submitted"][0], "There is no item {submitted}.",
          normal="History"),
    Typed("find", "railing", "{adopted}", "Nothing matches “railing”.", normal="found · page"),
    Typed("assign", "{adopted} HOUSING", "is reassigned from", "There is no item {adopted}.",
          normal="is reassigned"),
    Typed("due", "{adopted} 2026-04-30", "is now due on 2026-04-30",
          "There is no item {adopted}.", normal="is now due"),
    Typed("note", "{in_review} seen by the district", "Note added to {in_review}",
          "There is no item {in_review}.", normal="Note added"),
    Typed("observers", "P01", "#{alice} Alice",
          "There is no observation point with the code P01.", normal="Observers at"),
    Typed("observer", "{alice}", "#{alice} Alice", "There is no observer #{alice}.",
          normal="Status:"),
    Typed("invite", "P01", "invite link for a new observer at P01",
          "There is no observation point with the code P01.", normal="invite link"),
    Typed("suspend", "{bob} moved away", "Observer Bob (#{bob}) is suspended",
          "There is no observer #{bob}.", normal="is suspended"),
    Typed("points", "", "P01 · 城区便民服务中心", "FL01 · 涪陵区公共法律服务中心",
          city="Observation points\nNone yet.", normal="P01"),
    # Point and department codes are unique across the deployment: another office's
    # code is refused as one's own would be (which says that the code is taken).
    Typed("point_add", "P01 business service_centre 重名的点", "Point added: P03",
          "A point with the code P01 already exists.", normal="Point added",
          own="P03 business service_centre 新的点"),
    Typed("point_rename", "P01 改名的点", "P01 is now named 改名的点",
          "There is no observation point with the code P01.", normal="is now named"),
    Typed("point_close", "P02", "Point P02 · Chamber of Commerce is closed",
          "There is no observation point with the code P02.", normal="is closed"),
    Typed("departments", "", "MARKET · ", "FLMKT · Fuling Market Office",
          city="CQJUS · 市司法局", normal="MARKET"),
    Typed("dept_add", "MARKET 重名的部门", "Department added: TAX",
          "A department with the code MARKET already exists.", normal="Department added",
          own="TAX 区税务局"),
    Typed("dept_rename", "MARKET 改名的部门", "MARKET is now named 改名的部门",
          "There is no department with the code MARKET.", normal="is now named"),
    Typed("liaison", "MARKET", "invite link for a liaison of MARKET",
          "There is no department with the code MARKET.", normal="invite link"),
    # A word that is no point of the office's is the broadcast's first word: FL's
    # admin previews "P01 …" to FL's own observer, CQ's finds nobody to write to.
    Typed("broadcast", "P01 Meeting on Friday", "to the observers of point P01",
          "to all active observers (1)", city="Nobody would receive this: all active "
          "observers (0)", normal="point P01"),
    # The city's /stats puts its districts side by side, WZ among them (their figures,
    # none of their rows): allowed by design.
    Typed("stats", "", "Received: 6", "Received: 1", city="Districts side by side",
          normal="Received: 6"),
    # The same words for every office: the Word file's own (WZ's references in WZ's
    # file) are what differ.
    Typed("report", "2026 docx", "WZ-2026-", "The 2026 section"),
    Typed("export", "2026", "WZ-2026-", ": 1 items", city=": 0 items", normal="6 items"),
    # Rectifications: none exists here, and QQ is nobody's; who may take which step of
    # a real one is tests/handlers/test_rectification.py's.
    Typed("rectify", "QQ 2026-12-31 Registers", "There is no office QQ directly below",
          "There is no office QQ directly below"),
    Typed("rectifications", "", "No rectification is open.", "No rectification is open."),
    *(
        Typed(name, "1 words", "no such rectification for this group",
              "no such rectification for this group")
        for name in ("rect_progress", "rect_done", "rect_back")
    ),
    # The calendar is the deployment's, one for all offices (no office's rows).
    Typed("holidays", "2026", "No holidays are recorded for 2026",
          "No holidays are recorded for 2026"),
    # The city lists the offices below it, WZ among them (their codes and whether each
    # has its group: nothing of their rows).
    Typed("offices", "", "Offices below WZ", "Offices below Fuling (FL)\nNone yet.",
          city="🟢 WZ · WZ · has its admin group"),
    Typed("office_add", "WZ 万州区", "Office added: 万州新区 (WX), below WZ",
          "An office with the code WZ already exists.", normal="Office added",
          own="WX 万州新区"),
    # By design the office above WZ (the city) makes a new link for WZ's group.
    Typed("office_link", "WZ", "To give 万州新区 (WX) its admin group",
          "There is no office WZ directly below this one.", city="To give WZ its admin group",
          normal="To give", own="WX"),
    Typed("lang", "", "Choose the language of this group",
          "Choose the language of this group"),
]  # fmt: skip


def command_rows() -> list[Row]:
    """Every command, by everyone who may not, then by WZ's admin (its moves last)."""
    rows: list[Row] = []
    for typed in TYPED:
        text = f"/{typed.name} {typed.args}".strip()
        normal = typed.normal
        rows.append(Row("fl", text, typed.other, normal))
        city = typed.city if typed.city is not None else typed.other
        above = typed.name in ("office_link", "stats")
        rows.append(
            Row("cq", text, city, None if above else normal, "above" if above else "refused")
        )  # fmt: skip
        rows.append(Row("fl@wz", text, ADMINS_ONLY, normal))
        for who in PRIVATE:
            # /lang in a private chat is everyone's own: the language they read.
            says = "Choose your language:" if typed.name == "lang" else ELSEWHERE
            rows.append(Row(who, text, says, normal))
    for typed in TYPED:
        own = f"/{typed.name} {typed.own if typed.own is not None else typed.args}".strip()
        rows.append(Row("wz", own, typed.works, kind="works"))
    # FL's own item, with WZ's department.
    rows.append(
        Row("fl", "/assign {fl_ref} MARKET", "There is no department “MARKET”.", "reassigned")
    )
    # WZ's own /find of a word in an item without a department (see FIND_SCOPED).
    rows.append(Row("wz", "/find Renmin", "{submitted}", kind="works"))
    return rows


# ---- the buttons -------------------------------------------------------------------------


def _cards(tg: Telegram) -> dict[str, Sent]:
    """WZ's group's current card of each item, by reference."""
    found: dict[str, Sent] = {}
    for sent in tg.chat(WZ_GROUP):
        if "<b>History</b>" in sent.text:
            found[sent.plain.split(" · ")[0].split()[-1]] = sent
    return found


async def wz_buttons(tg: Telegram, wz: Person, city: City) -> dict[str, Sent]:
    """Every callback data WZ's group shows on its items' cards, on the pickers their
    buttons open, on /queue's list and on an observer's card: each with the message
    that carries it. Made by WZ's admin, changing nothing (each picker is cancelled)."""
    hosts: dict[str, Sent] = {}

    def collect(sent: Sent) -> None:
        for _text, data in sent.buttons():
            hosts.setdefault(data, sent)

    cards = _cards(tg)
    for status in ITEMS:
        collect(cards[city.refs[status]])
    [picker] = await wz.press("✅ Adopt", message=cards[city.refs["in_review"]])
    collect(picker)
    [picker] = await wz.press("MARKET · 区市场监管局", message=picker)
    collect(picker)  # now the due date's
    await wz.press("✖️ Cancel", message=picker)
    [picker] = await wz.press("🏢 Assign department", message=cards[city.refs["adopted"]])
    collect(picker)
    await wz.press("✖️ Cancel", message=picker)
    [picker] = await wz.press("📅 Set due date", message=cards[city.refs["implementing"]])
    collect(picker)
    await wz.press("✖️ Cancel", message=picker)
    [listed] = await wz.send("/queue")
    collect(listed)
    [card] = await wz.send(f"/observer {city.alice}")
    collect(card)
    [asked] = await wz.press("🗑 Remove and anonymise", message=card)
    collect(asked)
    await wz.press("✖️ No, keep them", message=asked)
    return hosts


def _refusal(who: str, data: str) -> str:
    """What ``who`` is told when they press ``data`` (they may not)."""
    if who in PRIVATE:
        return STALE_PRESS
    phone = data.startswith("pv:tel:")
    if who == "fl@wz":
        return ONLY_ADMINS_PHONE if phone else NOT_AN_ADMIN_PRESS
    if phone:
        return NO_PHONE_PRESS
    if data.startswith("pv:rm:"):
        return ""  # answered without a word: no card is shown
    if data.startswith("pv:rmno:"):
        return "Nothing was changed."
    prefix = data.split(":")[0]
    return {
        "c": NOT_FOUND_PRESS,
        "dk": NOT_YOUR_PICK,
        "q": NO_ITEM_PRESS,
        "pv": NO_OBSERVER_PRESS,
    }[prefix]


def button_rows(hosts: dict[str, Sent]) -> list[Row]:
    rows = []
    for data in hosts:
        for who in ("fl", "cq", "fl@wz", *PRIVATE):
            rows.append(Row(who, data, _refusal(who, data), on_card=who == "fl@wz"))
    return rows


def liaison_rows(liaison: Person) -> list[Row]:
    """The buttons of WZ's liaison's cards of WZ's items (accept, progress, hand back,
    implemented…), as their chat shows them, forged by everyone else."""
    data = sorted({d for sent in liaison.chat for _t, d in sent.buttons() if d.startswith("dp:")})
    assert data, "the liaison has cards of WZ's items"
    rows = []
    for one in data:
        for who in ("fl", "cq", "fl@wz", "city liaison", "alice"):
            rows.append(Row(who, one, ""))
    return rows


PROMPT = "prompt"


# ---- the matrix --------------------------------------------------------------------------


async def test_the_matrix(
    tg: Telegram, sessions: Sessions, clock: FixedClock, world: World
) -> None:
    city = await build_city(tg, sessions, clock, world)
    run = Run(tg, sessions, city)
    wz, fl = run.people["wz"], run.people["fl"]
    # Each has a message of the bot's in their own chat, to press forged data on.
    for who in ("fl", "cq", *PRIVATE):
        await run.people[who].send("/help" if who in ("fl", "cq") else "/start")

    # The buttons first: WZ's admin's commands below change WZ's rows.
    hosts = await wz_buttons(tg, wz, city)
    for row in button_rows(hosts):
        await run.attempt(row, hosts)
    for row in liaison_rows(run.people["liaison"]):
        await run.attempt(row)
    # FL's admin, on FL's own item, picks WZ's department by a forged choice.
    [fl_card] = [s for s in fl.chat if "<b>History</b>" in s.text]
    [picker] = await fl.press("🏢 Assign department", message=fl_card)
    assert [text for text, _data in picker.buttons()] == [
        "• FLMKT · Fuling Market Office",  # its own, the item's current one
        "✖️ Cancel",
    ]
    run.moved()
    forged = PickCb(step=DEPARTMENT, item=city.fl_item, val=str(city.market)).pack()
    await run.attempt(Row("fl", forged, NOT_ACTIVE_PICK))
    await fl.press("✖️ Cancel", message=picker)
    # FL's admin, a plain member of WZ's group, answers WZ's admin's open prompt.
    [prompt] = await wz.press("⛔ Decline", message=_cards(tg)[city.refs["in_review"]])
    run.moved()
    await run.attempt(Row("fl@wz", "Not our business", "", reply=True), {PROMPT: prompt})
    await wz.send("/cancel")
    run.moved()
    # And WZ's admin's own press works.
    take = f"c:take:{city.ids['submitted']}:1:"
    assert take in hosts
    await run.attempt(Row("wz", take, "Taken for review.", kind="works"))

    for row in command_rows():
        await run.attempt(row)

    refused = [o for o in run.outcomes if o.row.kind == "refused"]
    bypasses = [o.line() for o in run.outcomes if o.bypass]
    unexpected = [o.line() for o in run.outcomes if o.unexpected and not o.bypass]
    above = [o for o in run.outcomes if o.row.kind == "above"]
    buttons = {o.what for o in refused if o.row.press}
    print(
        f"\nAUTHZ commands {len(OFFICE_ONLY)} buttons {len(buttons)} "
        f"attempts {len(refused)} bypasses {len(bypasses)}"
    )
    print(f"AUTHZ allowed by design across offices: {'; '.join(str(o.row) for o in above)}")
    assert {t.name for t in TYPED} == set(OFFICE_ONLY)
    assert bypasses == [], "\n".join(bypasses)
    assert unexpected == [], "\n".join(unexpected)
    # The city's new link for WZ's group changes WZ's office only, and no item of it;
    # its comparison of the districts changes nothing.
    assert {o.what.split()[0]: o.tables for o in above} == {
        "/office_link": ["offices"],
        "/stats": [],
    }
    # The attempts are watched: a move of WZ's admin, taken as if refused, is caught.
    control = await run.attempt(Row("wz", "/note {in_review} watched", "", kind="refused"))
    assert control.bypass == ["changed cards, events"], control.line()
    # And so are the documents: WZ's own Word file and workbook show WZ's rows.
    for name in ("/report", "/export"):
        [mine] = [o for o in run.outcomes if o.row.who == "wz" and o.what.startswith(name)]
        assert "WZ-2026-" in _leaks(mine.documents, ""), name
