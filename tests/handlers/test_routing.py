"""Routing by index (``bot.routing``): an update reaches the handler aiogram's own walk
would give it, while the handlers that could not take it are skipped unasked."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from aiogram import Dispatcher, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Chat, Message, Update, User
from hypothesis import given, settings
from hypothesis import strategies as st

import handlers
from bot.i18n import build_i18n
from bot.routing import Needs, needs_of
from tests.handlers.conftest import make_settings
from tests.handlers.test_wiring import first
from tests.telegram import Telegram
from tests.world import STRANGER


class Pick(CallbackData, prefix="zz"):
    n: int


class Other(CallbackData, prefix="zy"):
    n: int


class Steps(StatesGroup):
    one = State()
    two = State()


def text_update(update_id: int, text: str) -> Update:
    who = User(id=STRANGER, is_bot=False, first_name="Stan", language_code="en")
    message = Message(
        message_id=update_id,
        date=datetime.now(UTC),
        chat=Chat(id=STRANGER, type="private"),
        from_user=who,
        text=text,
    )
    return Update(update_id=update_id, message=message)


def press_update(update_id: int, data: str) -> Update:
    who = User(id=STRANGER, is_bot=False, first_name="Stan", language_code="en")
    shown = Message(
        message_id=5,
        date=datetime.now(UTC),
        chat=Chat(id=STRANGER, type="private"),
        text="card",
    )
    query = CallbackQuery(
        id=f"q{update_id}", from_user=who, chat_instance="ci", message=shown, data=data
    )
    return Update(update_id=update_id, callback_query=query)


def said(tg: Telegram) -> list[str]:
    return [m.plain for m in tg.chat(STRANGER)]


# ---- what a handler needs, read from its filters -------------------------------------


def handler_of(router: Router, kind: str = "message") -> Any:
    return router.observers[kind].handlers[-1]


def test_needs_are_read_from_command_button_and_state_filters() -> None:
    router = Router()
    router.message.register(lambda m: None, Command("go", "stop"), StateFilter(Steps.one))
    assert needs_of(handler_of(router)) == Needs(
        command=("/", frozenset({"go", "stop"}), False), states=frozenset({"Steps:one"})
    )
    router.message.register(lambda m: None, Steps)
    assert needs_of(handler_of(router)) == Needs()  # a group given bare is not a filter
    router.message.register(lambda m: None, StateFilter(Steps, None))
    assert needs_of(handler_of(router)).states == frozenset({"Steps:one", "Steps:two", None})
    router.message.register(lambda m: None, Steps.two, F.text == "x")
    assert needs_of(handler_of(router)) == Needs(states=frozenset({"Steps:two"}))
    router.callback_query.register(lambda q: None, Pick.filter(F.n == 1))
    assert needs_of(handler_of(router, "callback_query")) == Needs(button=("zz", ":"))


def test_a_filter_it_cannot_read_needs_nothing() -> None:
    router = Router()
    router.message.register(lambda m: None, F.text.startswith("/go"))
    router.message.register(lambda m: None, StateFilter("*"))
    router.message.register(lambda m: None, ~Command("go"))
    for handler in router.message.handlers:
        assert needs_of(handler) == Needs()


def test_needs_are_met_only_by_what_the_filter_could_pass() -> None:
    go = Needs(command=("/", frozenset({"go"}), False))
    assert go.met_by(text_update(1, "/go now").message, None)  # type: ignore[arg-type]
    assert go.met_by(text_update(1, "/go@outpost_bot").message, None)  # type: ignore[arg-type]
    assert not go.met_by(text_update(1, "/gone").message, None)  # type: ignore[arg-type]
    assert not go.met_by(text_update(1, "go").message, None)  # type: ignore[arg-type]
    assert not go.met_by(press_update(1, "go").callback_query, None)  # type: ignore[arg-type]
    pick = Needs(button=("zz", ":"), states=frozenset({None}))
    assert pick.met_by(press_update(1, "zz:3").callback_query, None)  # type: ignore[arg-type]
    assert not pick.met_by(press_update(1, "zz:3").callback_query, "Steps:one")  # type: ignore[arg-type]
    assert not pick.met_by(press_update(1, "zzz:3").callback_query, None)  # type: ignore[arg-type]
    assert not pick.met_by(text_update(1, "zz:3").message, None)  # type: ignore[arg-type]


# Every state, command and button prefix the real handlers know, and some they do not.
_REAL = [
    handler
    for router in handlers.routers(build_i18n("en"), make_settings())
    for kind in ("message", "callback_query")
    for handler in router.observers[kind].handlers
]
_STATES = sorted({s for h in _REAL for s in (needs_of(h).states or ()) if s is not None})
_PREFIXES = sorted({n.button[0] for h in _REAL if (n := needs_of(h)).button is not None})
_COMMANDS = sorted({c for h in _REAL if (n := needs_of(h)).command for c in n.command[1]})


@settings(max_examples=150, deadline=None)
@given(
    state=st.sampled_from([None, "Steps:one", *_STATES]),
    first_word=st.one_of(
        st.sampled_from(_COMMANDS).map(lambda c: "/" + c),
        st.sampled_from(_COMMANDS).map(lambda c: "/" + c + "@outpost_bot"),
        st.sampled_from(_COMMANDS).map(lambda c: "/" + c.upper()),
        st.sampled_from(_PREFIXES),
        st.text(max_size=6),
    ),
    rest=st.sampled_from(["", " 12", ":1", ":1:2", ":x:y:z", "@other 3"]),
)
async def test_no_real_filter_passes_what_its_needs_refuse(
    state: str | None, first_word: str, rest: str
) -> None:
    """The index is sound: whenever the filters it reads would let an update through,
    the needs it derived from them are met (so it never skips a handler that would
    have taken the update)."""
    from aiogram.filters.callback_data import CallbackQueryFilter

    text = first_word + rest
    events = [text_update(1, text or "x").message, press_update(1, text or "x").callback_query]
    bot = _Bot()
    for handler in _REAL:
        needs = needs_of(handler)
        for event in events:
            read = [
                f
                for f in handler.filters or ()
                if isinstance(
                    getattr(f.callback, "__wrapped__", f.callback),
                    CallbackQueryFilter | Command | StateFilter | State,
                )
            ]
            passes = True
            for check in read:
                if not await check.call(event, raw_state=state, bot=bot):
                    passes = False
                    break
            if passes and read:
                assert needs.met_by(event, state), (handler.callback, text, state)  # type: ignore[arg-type]


class _Bot:
    """What a Command filter asks of the bot when a command names one."""

    async def me(self) -> User:
        return User(id=1, is_bot=True, first_name="Outpost", username="outpost_bot")


# ---- the dispatcher: the same handler as aiogram's walk -------------------------------


def toy_router(said_by: list[str]) -> Router:
    router = Router(name="toy")

    @router.callback_query(Other.filter())
    async def other(query: CallbackQuery) -> None:
        said_by.append("other")
        await query.answer()

    @router.callback_query(Pick.filter(F.n == 1))
    async def one(query: CallbackQuery) -> None:
        said_by.append("one")
        await query.answer()

    @router.callback_query(Pick.filter())
    async def skipping(query: CallbackQuery) -> None:
        said_by.append("skipped")
        raise SkipHandler

    @router.callback_query(Pick.filter())
    async def any_pick(query: CallbackQuery) -> None:
        said_by.append("any")
        await query.answer()

    @router.message(Command("toy"))
    async def toy(message: Message) -> None:
        said_by.append("toy")
        await message.answer("toy")

    return router


async def test_the_first_handler_whose_filters_pass_takes_the_update(tg: Telegram) -> None:
    taken: list[str] = []
    first(tg, toy_router(taken))
    await tg.feed(press_update(900, Pick(n=1).pack()))
    await tg.feed(press_update(901, Pick(n=2).pack()))
    await tg.feed(press_update(902, Other(n=2).pack()))
    await tg.feed(text_update(903, "/toy"))
    assert taken == ["one", "skipped", "any", "other", "toy"]
    assert said(tg)[-1] == "toy"


async def test_a_router_whose_root_filter_fails_is_passed_over(tg: Telegram) -> None:
    taken: list[str] = []
    closed = Router(name="closed")
    closed.message.filter(F.chat.id == 1)

    @closed.message(Command("toy"))
    async def not_here(message: Message) -> None:
        taken.append("closed")

    first(tg, toy_router(taken))
    first(tg, closed)
    await tg.feed(text_update(910, "/toy"))
    assert taken == ["toy"]


async def test_a_router_or_handler_added_later_is_reached(tg: Telegram) -> None:
    await tg.feed(text_update(920, "/toy"))
    before = said(tg)
    assert before  # no such command yet: the fallback answers
    assert before[-1] != "toy"
    taken: list[str] = []
    first(tg, toy_router(taken))
    await tg.feed(text_update(921, "/toy"))
    assert taken == ["toy"]
    later = tg.dp.sub_routers[0]

    @later.message(Command("later"))
    async def added(message: Message) -> None:
        taken.append("later")

    await tg.feed(text_update(922, "/later"))
    assert taken == ["toy", "later"]


async def test_a_nested_tree_keeps_aiograms_own_walk(tg: Telegram) -> None:
    taken: list[str] = []
    outer = Router(name="outer")
    outer.include_router(toy_router(taken))
    first(tg, outer)
    await tg.feed(press_update(930, Pick(n=1).pack()))
    await tg.feed(text_update(931, "/toy"))
    assert taken == ["one", "toy"]


@pytest.mark.parametrize("state", [None, "Steps:one"])
async def test_a_state_handler_is_reached_only_in_its_state(
    tg: Telegram, state: str | None
) -> None:
    taken: list[str] = []
    router = Router(name="steps")

    @router.message(Steps.one, Command("toy"))
    async def in_step(message: Message) -> None:
        taken.append("in step")

    first(tg, toy_router(taken))
    first(tg, router)
    dp: Dispatcher = tg.dp
    if state is not None:
        context = dp.fsm.get_context(bot=tg.bot, chat_id=STRANGER, user_id=STRANGER)
        await context.set_state(state)
    await tg.feed(text_update(940, "/toy"))
    assert taken == (["in step"] if state else ["toy"])
