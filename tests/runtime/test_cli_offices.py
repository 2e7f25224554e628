"""`outpost offices`: the tree of offices, one line each, after the home office is
settled from the settings; `outpost offices add`: a new office and its group's link;
and the one-line refusals. The command runs in-process (``bot.cli.main``)."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiogram import Bot
from aiogram.types import User

from bot import cli
from bot.domain.statuses import FocusDomain, HostKind
from bot.services.suggestions import SuggestionService
from bot.settings import Settings
from storage import migrate
from storage.engine import create_engine, session_factory
from storage.models import Point
from storage.store import Store
from tests.world import ALICE, BOB, POLICY, FixedClock, actor, build_world, draft

TOKEN = "123456:" + "A" * 35
_KIND = {"domain": FocusDomain.BUSINESS_ENVIRONMENT, "host_kind": HostKind.SERVICE_CENTRE}
FRESH = "OFFICE WZ parent - group unbound points 0 observers 0 open 0"
VALID = re.compile(
    r"^VALID until \d{4}-\d\d-\d\d \d\d:\d\d Asia/Shanghai: the first group added "
    r"through the link becomes office [A-Z]+'s$"
)


@dataclass(frozen=True)
class Ran:
    code: int
    out: list[str]
    err: str


Outpost = Callable[..., Ran]


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A migrated SQLite file, named by DATABASE_URL, and nothing else of the developer's
    settings (the working directory, where a .env would be read, is the test's)."""
    names = {name.upper() for name in Settings.model_fields}
    for name in list(os.environ):
        if name.upper() in names or name == "OUTPOST_GUARD_CALLS":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "o.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    # The command sets these loggers' levels from LOG_LEVEL: put them back afterwards.
    root, alembic = logging.getLogger(), logging.getLogger("alembic")
    levels = root.level, alembic.level
    assert cli.main(["migrate"]) == 0
    yield path
    root.setLevel(levels[0])
    alembic.setLevel(levels[1])


@pytest.fixture
def outpost(db: Path, capsys: pytest.CaptureFixture[str]) -> Outpost:
    capsys.readouterr()

    def run(*argv: str) -> Ran:
        code = cli.main(list(argv))
        done = capsys.readouterr()
        return Ran(code, done.out.splitlines(), done.err)

    return run


def _bind_code(db: Path, code: str) -> str:
    with sqlite3.connect(db) as conn:
        (found,) = conn.execute("SELECT bind_code FROM offices WHERE code = ?", (code,)).fetchone()
    return str(found)


def test_a_fresh_database_has_the_home_office_alone(outpost: Outpost) -> None:
    ran = outpost("offices")
    assert (ran.code, ran.err) == (0, "")
    assert ran.out == [FRESH]


def test_the_home_office_follows_the_settings(
    outpost: Outpost, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADMIN_CHAT_ID", "-100123")
    monkeypatch.setenv("JURISDICTION_CODE", "lc")
    ran = outpost("offices")
    assert (ran.code, ran.err) == (0, "")
    assert ran.out == ["OFFICE LC parent - group bound points 0 observers 0 open 0"]
    # Committed: the database itself now says so.
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT id, code, chat_id FROM offices").fetchall() == [
            (1, "LC", -100123)
        ]


def test_the_home_office_s_group_follows_a_changed_setting(
    outpost: Outpost, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A group upgraded to a supergroup has a new id: the operator changes the setting.
    monkeypatch.setenv("ADMIN_CHAT_ID", "-100123")
    assert outpost("offices").code == 0
    monkeypatch.setenv("ADMIN_CHAT_ID", "-1001000000123")
    assert outpost("offices").code == 0
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT chat_id FROM offices WHERE id = 1").fetchone() == (
            -1001000000123,
        )


def test_a_home_code_another_office_holds_is_refused(
    outpost: Outpost, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert outpost("offices", "add", "CQ", "重庆市", "--above", "WZ").code == 0
    monkeypatch.setenv("JURISDICTION_CODE", "CQ")
    ran = outpost("offices")
    assert ran.code == 1
    assert ran.out == []
    assert ran.err == (
        "outpost offices: JURISDICTION_CODE CQ is another office's code; the home office "
        "is WZ; nothing changed\n"
    )
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT code FROM offices ORDER BY id").fetchall() == [
            ("WZ",),
            ("CQ",),
        ]


def test_a_city_above_the_home_office_and_a_district_below_the_city(
    outpost: Outpost, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADMIN_CHAT_ID", "-100123")
    monkeypatch.setenv("JURISDICTION_CODE", "LC")

    city = outpost("offices", "add", "CQ", "重庆市", "|", "Chongqing", "--above", "LC")
    assert city.code == 0, city.err
    assert city.out[0] == "OFFICE CQ parent - group unbound points 0 observers 0 open 0"
    assert city.out[1] == f"LINK https://t.me/<your bot>?startgroup={_bind_code(db, 'CQ')}"
    assert VALID.match(city.out[2]), city.out[2]
    assert len(city.out) == 3
    assert city.err == (
        "outpost offices add: the bot's username is unknown without BOT_TOKEN: "
        "put your bot's username in the link\n"
    )
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT name, name_en FROM offices WHERE code = 'CQ'").fetchone() == (
            "重庆市",
            "Chongqing",
        )

    ran = outpost("offices")
    assert (ran.code, ran.err) == (0, "")
    assert ran.out == [
        "OFFICE CQ parent - group unbound points 0 observers 0 open 0",
        "OFFICE LC parent CQ group bound points 0 observers 0 open 0",
    ]

    district = outpost("offices", "add", "fl", "涪陵区", "--parent", "cq")
    assert district.code == 0, district.err
    assert district.out[0] == "OFFICE FL parent CQ group unbound points 0 observers 0 open 0"
    assert district.out[1].startswith("LINK https://t.me/<your bot>?startgroup=")
    ran = outpost("offices")
    assert ran.out == [
        "OFFICE CQ parent - group unbound points 0 observers 0 open 0",
        "OFFICE FL parent CQ group unbound points 0 observers 0 open 0",
        "OFFICE LC parent CQ group bound points 0 observers 0 open 0",
    ]


def test_the_link_names_the_bot_when_the_token_is_set(
    outpost: Outpost, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[int | None] = []

    async def get_me(self: Bot, request_timeout: int | None = None) -> User:
        asked.append(request_timeout)
        return User(id=123456, is_bot=True, first_name="Outpost", username="outpost_wz_bot")

    monkeypatch.setattr(Bot, "get_me", get_me)
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    ran = outpost("offices", "add", "CQ", "重庆市", "--above", "WZ")
    assert (ran.code, ran.err) == (0, "")
    assert len(asked) == 1
    assert ran.out[1] == f"LINK https://t.me/outpost_wz_bot?startgroup={_bind_code(db, 'CQ')}"
    assert VALID.match(ran.out[2]), ran.out[2]


def test_an_unreachable_bot_api_server_still_gives_the_link(
    outpost: Outpost, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    # Nothing listens on port 1.
    monkeypatch.setenv("TELEGRAM_API_URL", "http://127.0.0.1:1")
    ran = outpost("offices", "add", "CQ", "重庆市", "--above", "WZ")
    assert ran.code == 0
    assert ran.out[1].startswith("LINK https://t.me/<your bot>?startgroup=")
    assert ran.err.startswith(
        "outpost offices add: could not ask the Bot API server for the bot's username "
        "(TelegramNetworkError: "
    )
    assert ran.err.endswith("): put your bot's username in the link\n")
    assert ran.err.count("\n") == 1


def test_refusals_are_one_line_and_change_nothing(outpost: Outpost) -> None:
    assert outpost("offices", "add", "CQ", "重庆市", "--above", "WZ").code == 0
    assert outpost("offices", "add", "FL", "涪陵区", "--parent", "CQ").code == 0
    before = outpost("offices").out

    refusals = [
        (("XX", "某区"), 2, "give --parent CODE (the office it goes below) or --above CODE"),
        (("C1", "某区", "--parent", "CQ"), 2, "office code 'C1' must be 2-6 Latin letters"),
        (("FL", "涪陵区", "--parent", "CQ"), 1, "office FL exists; nothing changed"),
        (("YB", "渝北区", "--parent", "QQ"), 1, "no office 'QQ' to go below; nothing changed"),
        (("YB", "渝北区", "--above", "QQ"), 1, "no office 'QQ' to go above; nothing changed"),
        (
            ("SC", "四川省", "--above", "WZ"),
            1,
            "office WZ already has an office above it; nothing changed",
        ),
        (("YB", "|", "Yubei", "--parent", "CQ"), 2, "name is required; nothing changed"),
    ]
    for argv, code, said in refusals:
        ran = outpost("offices", "add", *argv)
        assert ran.code == code, (argv, ran.err)
        assert ran.out == [], argv
        assert ran.err.startswith("outpost offices add: "), ran.err
        assert said in ran.err, ran.err
        assert ran.err.count("\n") == 1, ran.err
    assert outpost("offices").out == before


def test_refuses_a_database_not_migrated(
    outpost: Outpost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/empty.db"
    monkeypatch.setenv("DATABASE_URL", url)
    ran = outpost("offices")
    assert ran.code == 1
    assert ran.out == []
    assert ran.err == (
        f"outpost offices: database at {url} is at revision none (empty), "
        f"not {migrate.head()}: run `outpost migrate` first\n"
    )


async def _holdings(url: str) -> None:
    """The home office: two active points (and one closed), two appointed observers,
    three items of which one was withdrawn; the city (created by the command) gets a
    point of its own."""
    engine = create_engine(url)
    try:
        sessions = session_factory(engine)
        await build_world(sessions)
        async with sessions() as session, session.begin():
            store = Store(session)
            items = SuggestionService(store, POLICY, FixedClock())
            alice, bob = await actor(store, ALICE), await actor(store, BOB)
            await items.submit(alice, draft("one"))
            await items.submit(bob, draft("two"))
            gone = await items.submit(alice, draft("three"))
            await items.withdraw(alice, gone.id)
            city = await store.offices.by_code("CQ")
            assert city is not None
            closed = Point(code="C01", name="旧市民中心", active=False, **_KIND)
            session.add_all([closed, Point(code="C02", name="市法院", office_id=city.id, **_KIND)])
    finally:
        await engine.dispose()


def test_the_lines_count_what_each_office_holds(outpost: Outpost) -> None:
    assert outpost("offices", "add", "CQ", "重庆市", "--above", "WZ").code == 0
    asyncio.run(_holdings(os.environ["DATABASE_URL"]))
    ran = outpost("offices")
    assert (ran.code, ran.err) == (0, "")
    assert ran.out == [
        "OFFICE CQ parent - group unbound points 1 observers 0 open 0",
        "OFFICE WZ parent CQ group unbound points 2 observers 2 open 2",
    ]
