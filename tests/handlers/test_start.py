"""Greeting, help and language, through the real Dispatcher."""

from __future__ import annotations

from aiogram.fsm.storage.base import StorageKey
from aiogram.methods import SetMyCommands
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.fsm import DatabaseStorage
from tests.telegram import Telegram
from tests.world import ALICE, STRANGER


async def test_stranger_is_told_what_the_scheme_is_and_offered_apply(tg: Telegram) -> None:
    stan = tg.person(STRANGER, "Stan", "zh-hans")
    [reply] = await stan.send("/start")
    assert "法治观察" in reply.plain or "observation" in reply.plain
    assert reply.buttons()


async def test_observer_is_greeted_with_the_menu_in_english(tg: Telegram) -> None:
    alice = tg.person(ALICE, "Alice", "en-GB")
    [reply] = await alice.send("/start")
    assert "You are an observer at" in reply.plain
    assert "城区便民服务中心" in reply.plain
    assert reply.keys() == ["📝 New suggestion", "📋 My suggestions", "❓ Help"]


async def test_commands_are_registered_per_language(tg: Telegram) -> None:
    await tg.dp.emit_startup(bot=tg.bot, **tg.dp.workflow_data)
    every = [r for r in tg.session.requests if isinstance(r, SetMyCommands)]
    # The observers' menus first; the admin group's last, in the office's language and in
    # each admin's own (a group the bot is not in yet must not cost the observers their
    # menu).
    *calls, group, group_zh, group_en = every
    assert type(group.scope).__name__ == "BotCommandScopeChat"
    assert group.scope.chat_id == -100500  # type: ignore[union-attr]
    assert [group.language_code, group_zh.language_code, group_en.language_code] == [
        None,
        "zh",
        "en",
    ]
    office = {c.command: c.description for c in group.commands}
    assert office["queue"] == "待研判决定的事项（按提交先后）"
    office_en = {c.command: c.description for c in group_en.commands}
    assert office_en["lang"] == "The language of this group (each admin keeps their own)"
    assert [c.language_code for c in calls] == [None, "zh", "en"]
    assert {type(c.scope).__name__ for c in calls} == {"BotCommandScopeAllPrivateChats"}
    chinese = {c.command: c.description for c in calls[1].commands}
    assert chinese["new"] == "提交新的建议"
    assert calls[0].commands == calls[1].commands  # the default language is zh_CN
    english = {c.command: c.description for c in calls[2].commands}
    assert english["new"] == "File a new suggestion"


async def test_cancel_ends_only_the_flow_on_screen(
    tg: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    storage = DatabaseStorage(sessions)
    key = StorageKey(bot_id=42, chat_id=ALICE, user_id=ALICE)
    await storage.set_state(key, "Answering:text")
    await storage.set_data(key, {"draft": {"title": "路灯不亮"}, "answer": {"item": 1}})
    alice = tg.person(ALICE, "Alice", "en")
    [reply] = await alice.send("/cancel")
    assert reply.plain == "Cancelled. Nothing was sent."
    assert await storage.get_state(key) is None
    assert await storage.get_data(key) == {"draft": {"title": "路灯不亮"}}
    [again] = await alice.send("/cancel")
    assert again.plain == "There is nothing to cancel."
