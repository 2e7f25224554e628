"""A city's districts: the city's admins add a district's office in their group and get
its one-time link; an administrator of the district's group opens it, Telegram sends
``/start@<bot> <code>`` there, and the group becomes the district's (or the bot says
why not, and leaves); the city's group is told; the district's admins then work on
their own office's rows only."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from aiogram.methods import SetMyCommands
from aiogram.types import Chat, ChatMemberLeft, ChatMemberMember, ChatMemberUpdated, Update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import Office, Point
from tests.handlers.conftest import make_settings, new_telegram
from tests.telegram import BOT_USER, Person, Telegram
from tests.world import ADMIN, FixedClock, World

Sessions = async_sessionmaker[AsyncSession]
HOME_GROUP = -100500
FULING = -100777
ELSEWHERE = -100778
ZHOU, MO, QIN = 7001, 7002, 7003
LINK = re.compile(r"https://t\.me/outpost_bot\?startgroup=([A-Za-z0-9_-]+)")
REFUSED = "Only this office's admins can use this command."
LEAVING = "The bot is leaving this group."


@pytest.fixture
async def tg(sessions: Sessions, world: World, clock: FixedClock) -> AsyncIterator[Telegram]:
    tg = new_telegram(sessions, clock, settings=make_settings(default_locale="en"))
    yield tg
    await tg.bot.session.close()
    assert tg.session.problems == [], "the bot sent what Telegram would refuse"


def ada(tg: Telegram) -> Person:
    """An admin of the home office (the city's, here), in its group."""
    return tg.member(ADMIN, "Ada", HOME_GROUP, "administrator", language_code="en")


def zhou(tg: Telegram, group: int = FULING) -> Person:
    """An administrator of the district's group, which the bot is not in yet."""
    return tg.member(ZHOU, "Zhou", group, "administrator", language_code="en")


async def office(sessions: Sessions, code: str) -> Office | None:
    async with sessions() as session:
        return (
            await session.execute(sa.select(Office).where(Office.code == code))
        ).scalar_one_or_none()


async def add_fuling(tg: Telegram) -> str:
    """FL added below the home office; its link's code."""
    [reply] = await ada(tg).send("/office_add FL 涪陵区 | Fuling")
    found = LINK.search(reply.plain)
    assert found is not None, reply.plain
    return found.group(1)


async def start(person: Person, code: str) -> list[str]:
    """The link opened in the person's group: what Telegram sends there."""
    return [s.plain for s in await person.send(f"/start@{BOT_USER.username} {code}")]


async def bound_fuling(tg: Telegram) -> None:
    code = await add_fuling(tg)
    [said] = await start(zhou(tg), code)
    assert said.startswith("✅ This group is now the admin group of Fuling (FL).")


# ---- adding an office --------------------------------------------------------------------


async def test_an_admin_adds_a_district_and_gets_its_link(tg: Telegram, sessions: Sessions) -> None:
    [reply] = await ada(tg).send("/office_add FL 涪陵区 | Fuling")
    assert reply.plain.startswith("✅ Office added: Fuling (FL), below ")
    found = LINK.search(reply.plain)
    assert found is not None
    assert "Valid until 2026-03-09 09:00 (Asia/Shanghai), for one group only." in reply.plain
    assert "an administrator of that group opens this link and picks the group" in reply.plain
    assert "/office_link FL" in reply.plain
    made = await office(sessions, "FL")
    assert made is not None
    assert (made.parent_id, made.name, made.name_en) == (1, "涪陵区", "Fuling")
    assert made.chat_id is None
    assert made.bind_code == found.group(1)


async def test_a_member_who_is_not_an_admin_adds_nothing(tg: Telegram, sessions: Sessions) -> None:
    mo = tg.member(MO, "Mo", HOME_GROUP, "member", language_code="en")
    [reply] = await mo.send("/office_add FL 涪陵区")
    assert reply.plain == REFUSED
    assert await office(sessions, "FL") is None
    # And elsewhere it is no command at all.
    [reply] = await tg.person(ADMIN, "Ada", "en").send("/office_add FL 涪陵区")
    assert reply.plain == "This command works only in an office's admin group."
    assert await office(sessions, "FL") is None


async def test_wrong_usage_a_bad_code_and_a_taken_code_are_explained(
    tg: Telegram, sessions: Sessions
) -> None:
    admin = ada(tg)
    [reply] = await admin.send("/office_add")
    assert reply.plain.startswith("Usage: /office_add CODE NAME [| ENGLISH NAME]")
    [reply] = await admin.send("/office_add FL")
    assert reply.plain.startswith("Usage: /office_add")
    [reply] = await admin.send("/office_add F1 <b>区</b>")
    assert reply.plain.startswith(
        "F1 is not a valid office code: 2 to 6 Latin letters, such as FL."
    )
    assert "Usage: /office_add" in reply.plain
    [reply] = await admin.send("/office_add WZ 万州区")
    assert reply.plain == "An office with the code WZ already exists."
    [reply] = await admin.send("/office_add FL " + "长" * 101)
    assert reply.plain.startswith("That text is too long: at most 100 characters, please.")
    [reply] = await admin.send("/office_add FL | Fuling")
    assert reply.plain.startswith("Usage: /office_add")
    async with sessions() as session:
        assert (await session.execute(sa.select(sa.func.count()).select_from(Office))).scalar() == 1
    await add_fuling(tg)
    [reply] = await admin.send("/office_add fl 另一个")
    assert reply.plain == "An office with the code FL already exists."


async def test_offices_lists_the_districts_and_office_link_makes_a_new_link(
    tg: Telegram, sessions: Sessions
) -> None:
    admin = ada(tg)
    [reply] = await admin.send("/offices")
    assert "None yet. /office_add adds one." in reply.plain
    first = await add_fuling(tg)
    await admin.send("/office_add KX 开州区")
    [reply] = await admin.send("/offices")
    assert reply.plain.splitlines()[1:] == [
        "🕓 FL · Fuling · waiting for its group (/office_link FL)",
        "🕓 KX · 开州区 · waiting for its group (/office_link KX)",
    ]
    # A new link replaces the old one.
    [reply] = await admin.send("/office_link fl")
    found = LINK.search(reply.plain)
    assert found is not None
    assert found.group(1) != first
    [said] = await start(zhou(tg), first)
    assert "This link is not valid" in said
    [said] = await start(zhou(tg, ELSEWHERE), found.group(1))
    assert said.startswith("✅ This group is now the admin group of Fuling (FL).")
    [reply] = await admin.send("/offices")
    assert "🟢 FL · Fuling · has its admin group" in reply.plain
    [reply] = await admin.send("/office_link FL")
    assert "Fuling (FL) has its admin group already" in reply.plain
    [reply] = await admin.send("/office_link XX")
    assert reply.plain == "There is no office XX directly below this one. /offices lists them."
    [reply] = await admin.send("/office_link")
    assert reply.plain.startswith("Usage: /office_link CODE")


async def test_help_lists_the_office_commands(tg: Telegram) -> None:
    [reply] = await ada(tg).send("/help")
    for command in ("/offices", "/office_add CODE NAME", "/office_link CODE"):
        assert command in reply.plain


# ---- binding the district's group --------------------------------------------------------


async def test_an_administrator_binds_the_group_and_the_city_is_told(
    tg: Telegram, sessions: Sessions
) -> None:
    code = await add_fuling(tg)
    boss = zhou(tg)
    [said] = await start(boss, code)
    assert said == (
        "✅ This group is now the admin group of Fuling (FL). Its administrators are the "
        "office's admins; /help lists the commands."
    )
    made = await office(sessions, "FL")
    assert made is not None
    assert (made.chat_id, made.bound_by) == (FULING, ZHOU)
    assert tg.session.left == []
    # The group's command menu is the office's.
    menus = [r for r in tg.session.requests if isinstance(r, SetMyCommands)]
    assert menus
    assert all(getattr(m.scope, "chat_id", None) == FULING for m in menus)
    assert "office_add" in {c.command for c in menus[0].commands}
    # The city's group hears of it once the outbox is delivered.
    await tg.drain()
    assert tg.chat(HOME_GROUP)[-1].plain.startswith(
        "🏛 Fuling (FL) has its admin group now: its administrators there are the office's admins."
    )
    # Its admins are the office's: /help there lists its commands.
    [helped] = await boss.send("/help")
    assert "/queue" in helped.plain


async def test_someone_who_does_not_administer_the_group_cannot_bind_it(
    tg: Telegram, sessions: Sessions
) -> None:
    code = await add_fuling(tg)
    mo = tg.member(MO, "Mo", FULING, "member", language_code="en")
    [said] = await start(mo, code)
    assert said.startswith("Only an administrator of this group can make it an office's")
    assert "Nothing was changed." in said
    made = await office(sessions, "FL")
    assert made is not None
    assert made.chat_id is None
    assert made.bind_code == code
    assert tg.session.left == []
    # The link still works for an administrator.
    [said] = await start(zhou(tg), code)
    assert said.startswith("✅ This group is now the admin group of Fuling (FL).")


async def test_a_used_link_is_refused_and_the_bot_leaves(tg: Telegram, sessions: Sessions) -> None:
    code = await add_fuling(tg)
    await start(zhou(tg), code)
    other = tg.member(QIN, "Qin", ELSEWHERE, "administrator", language_code="en")
    [said] = await start(other, code)
    assert said.startswith("This link has been used already")
    assert said.endswith(LEAVING)
    assert tg.session.left == [ELSEWHERE]
    made = await office(sessions, "FL")
    assert made is not None
    assert made.chat_id == FULING


async def test_an_expired_link_is_refused_and_the_bot_leaves(
    tg: Telegram, sessions: Sessions, clock: FixedClock
) -> None:
    code = await add_fuling(tg)
    clock.advance(days=7, seconds=1)
    [said] = await start(zhou(tg), code)
    assert said.startswith("This link has expired.")
    assert said.endswith(LEAVING)
    assert tg.session.left == [FULING]
    made = await office(sessions, "FL")
    assert made is not None
    assert made.chat_id is None


async def test_an_unknown_code_is_refused_and_the_bot_leaves(
    tg: Telegram, sessions: Sessions
) -> None:
    await add_fuling(tg)
    [said] = await start(zhou(tg), "not-a-code")
    assert said.startswith("This link is not valid")
    assert tg.session.left == [FULING]


async def test_a_link_opened_in_an_offices_group_changes_nothing(
    tg: Telegram, sessions: Sessions
) -> None:
    code = await add_fuling(tg)
    [said] = await start(ada(tg), code)
    assert said.startswith("This group is already the admin group of office WZ")
    assert tg.session.left == []
    made = await office(sessions, "FL")
    assert made is not None
    assert (made.chat_id, made.bind_code) == (None, code)


async def test_an_administrator_writing_as_the_group_is_asked_to_write_as_themselves(
    tg: Telegram, sessions: Sessions
) -> None:
    code = await add_fuling(tg)
    group = Chat(id=FULING, type="supergroup", title="Fuling")
    [said] = await zhou(tg).send(f"/start@{BOT_USER.username} {code}", sender_chat=group)
    assert said.plain.startswith("🕶 You are writing anonymously")
    made = await office(sessions, "FL")
    assert made is not None
    assert made.chat_id is None
    assert tg.session.left == []


async def test_a_start_meant_for_another_bot_is_not_a_binding(
    tg: Telegram, sessions: Sessions
) -> None:
    code = await add_fuling(tg)
    await zhou(tg).send(f"/start@otherbot {code}")
    made = await office(sessions, "FL")
    assert made is not None
    assert made.chat_id is None


async def added_to(tg: Telegram, person: Person, group: int) -> None:
    """The bot added to ``group`` by ``person``: what Telegram says before the /start."""
    change = ChatMemberUpdated(
        chat=Chat(id=group, type="supergroup", title="A group"),
        from_user=person.user,
        date=datetime.now(UTC),
        old_chat_member=ChatMemberLeft(user=BOT_USER),
        new_chat_member=ChatMemberMember(user=BOT_USER),
    )
    await tg.feed(Update(update_id=next(tg.updates), my_chat_member=change))


async def test_a_bound_office_moves_to_another_group_through_a_new_link(
    tg: Telegram, sessions: Sessions
) -> None:
    await bound_fuling(tg)
    # Every office has its group, and no link is out: a group the bot is added to is
    # told it is not the office's, and left.
    qin = tg.member(QIN, "Qin", ELSEWHERE, "administrator", language_code="en")
    await added_to(tg, qin, ELSEWHERE)
    assert tg.session.left == [ELSEWHERE]
    # With a new link out, the group it is opened in is welcome, and becomes FL's.
    [reply] = await ada(tg).send("/office_link FL")
    found = LINK.search(reply.plain)
    assert found is not None
    other = -100779
    qin = tg.member(QIN, "Qin", other, "administrator", language_code="en")
    await added_to(tg, qin, other)
    assert tg.session.left == [ELSEWHERE]
    [said] = await start(qin, found.group(1))
    assert said.startswith("✅ This group is now the admin group of Fuling (FL).")
    made = await office(sessions, "FL")
    assert made is not None
    assert made.chat_id == other


# ---- the district at work ----------------------------------------------------------------


async def test_the_district_works_on_its_own_points(tg: Telegram, sessions: Sessions) -> None:
    await bound_fuling(tg)
    boss = zhou(tg)
    [listed] = await boss.send("/points")
    assert listed.plain == "Observation points\nNone yet."
    [added] = await boss.send("/point_add P09 business chamber 涪陵区商会 | Fuling Chamber")
    assert added.plain.startswith("✅ Point added: P09")
    fuling = await office(sessions, "FL")
    assert fuling is not None
    async with sessions() as session:
        point = (await session.execute(sa.select(Point).where(Point.code == "P09"))).scalar_one()
        assert point.office_id == fuling.id
    [listed] = await boss.send("/points")
    assert "P09" in listed.plain
    assert "P01" not in listed.plain
    [home] = await ada(tg).send("/points")
    assert "P01" in home.plain
    assert "P09" not in home.plain


async def test_a_message_in_an_unrelated_group_still_makes_the_bot_leave(tg: Telegram) -> None:
    await bound_fuling(tg)
    stranger = tg.member(MO, "Mo", ELSEWHERE, "administrator", language_code="en")
    [said] = await stranger.send("/queue")
    assert said.plain.startswith("This bot works only in its district office's group")
    assert tg.session.left == [ELSEWHERE]
