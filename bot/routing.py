"""Routing by index: the handlers an update could reach, found without asking them all.

aiogram offers an update to every router in turn and, in each, to every handler until
one's filters all pass: for a button at the end of the list that is some seventy
filter calls, each an ``await`` with the update's whole data copied into its keyword
arguments — about a sixth of the bot's CPU per update. Most of those filters can be
known to fail without calling them: a button's ``CallbackData`` filter needs the data's
prefix, a ``Command`` filter needs that command, a state filter needs that state. Each
handler's needs are read once, at start; an update then skips the handlers (and whole
routers) whose needs it cannot meet, and the remaining ones are checked exactly as
aiogram checks them, in the same order. A filter this module cannot read (a magic
filter, an inverted one, a function) needs nothing, so the index only ever skips a
handler that could not have taken the update.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from inspect import isclass
from typing import Any

from aiogram import Dispatcher, Router
from aiogram.dispatcher.event.bases import UNHANDLED, SkipHandler
from aiogram.dispatcher.event.handler import HandlerObject
from aiogram.dispatcher.event.telegram import TelegramEventObserver
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackQueryFilter
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message, TelegramObject

# The observers whose handlers are indexed: the two that nearly every update reaches.
INDEXED = ("message", "callback_query")


@dataclass(frozen=True)
class Needs:
    """What an update must have for a handler's filters to have a chance; ``None``
    where the handler does not say."""

    # (prefix, separator) of a CallbackData filter.
    button: tuple[str, str] | None = None
    # (command prefixes, command names, ignore case) of a Command filter.
    command: tuple[str, frozenset[str], bool] | None = None
    # The raw FSM states a state filter lets through.
    states: frozenset[str | None] | None = None

    def met_by(self, event: TelegramObject, raw_state: str | None) -> bool:
        if self.states is not None and raw_state not in self.states:
            return False
        if self.button is not None:
            prefix, separator = self.button
            data = event.data if isinstance(event, CallbackQuery) else None
            if not data or data.split(separator, 1)[0] != prefix:
                return False
        if self.command is not None:
            return _is_command(event, *self.command)
        return True


def _is_command(
    event: TelegramObject, prefixes: str, names: frozenset[str], ignore_case: bool
) -> bool:
    # What aiogram's Command filter reads: the text or caption's first word.
    text = (event.text or event.caption) if isinstance(event, Message) else None
    if not text or text[0] not in prefixes:
        return False
    words = text.split(maxsplit=1)
    if not words:
        return False
    name = words[0][1:].partition("@")[0]
    return (name.casefold() if ignore_case else name) in names


def needs_of(handler: HandlerObject) -> Needs:
    """The needs the handler's filters declare, read from the filters themselves."""
    button: tuple[str, str] | None = None
    command: tuple[str, frozenset[str], bool] | None = None
    states: frozenset[str | None] | None = None
    for check in handler.filters or ():
        # A filter run in place (``bot.dispatcher.filters_on_the_loop``) keeps its own.
        found = getattr(check.callback, "__wrapped__", check.callback)
        if isinstance(found, CallbackQueryFilter) and button is None:
            data = found.callback_data
            button = (data.__prefix__, data.__separator__)
        elif isinstance(found, Command) and command is None:
            names = _command_names(found)
            if names is not None:
                command = (found.prefix, names, found.ignore_case)
        elif isinstance(found, State | StateFilter):
            allowed = _allowed_states(found)
            if allowed is not None:
                states = allowed if states is None else states & allowed
    return Needs(button=button, command=command, states=states)


def _command_names(command: Command) -> frozenset[str] | None:
    names: set[str] = set()
    for allowed in command.commands:
        if not isinstance(allowed, str):
            return None  # a pattern: any name could match it
        names.add(allowed)
    return frozenset(names)


def _allowed_states(found: State | StateFilter) -> frozenset[str | None] | None:
    wanted: Iterable[Any] = (found,) if isinstance(found, State) else found.states
    allowed: set[str | None] = set()
    for state in wanted:
        if isinstance(state, State):
            if state.state == "*":
                return None
            allowed.add(state.state)
        elif state is None or isinstance(state, str):
            if state == "*":
                return None
            allowed.add(state)
        elif isclass(state) and issubclass(state, StatesGroup):
            allowed.update(state.__all_states_names__)
        elif isinstance(state, StatesGroup):
            allowed.update(type(state).__all_states_names__)
        else:
            return None
    return frozenset(allowed)


@dataclass
class _Routed:
    """A router as the index sees it: its observer of one update type and the
    handlers there, each with its needs."""

    router: Router
    observer: TelegramEventObserver
    handlers: list[tuple[HandlerObject, Needs]]


def index_routes(dp: Dispatcher) -> None:
    """Offer messages and buttons only to the handlers whose needs they meet, in
    aiogram's order.

    Only a flat tree is indexed — routers directly under the dispatcher, none with
    middlewares around its observers, the dispatcher itself with no handlers of these
    types — which is how ``handlers.routers`` builds it; any other tree keeps aiogram's
    own walk. A router, handler or middleware added later is seen at the next update.
    """
    walk = dp.propagate_event
    index = _Index(dp)

    async def propagate_event(update_type: str, event: TelegramObject, **kwargs: Any) -> Any:
        routed = index.now()
        routers = routed.get(update_type) if routed is not None else None
        if routers is None:
            return await walk(update_type=update_type, event=event, **kwargs)
        return await _offer(routers, event, kwargs)

    dp.propagate_event = propagate_event  # type: ignore[method-assign]


class _Index:
    """The routers as indexed, built again when the tree has changed."""

    def __init__(self, dp: Dispatcher) -> None:
        self.dp = dp
        self.routers: tuple[Router, ...] | None = None
        self.sizes = -1
        # Every list whose length tells of a change: sub-routers, handlers, middlewares.
        self.watched: list[list[Any]] = []
        self.routed: dict[str, list[_Routed]] | None = None

    def now(self) -> dict[str, list[_Routed]] | None:
        routers = tuple(self.dp.sub_routers)
        if routers != self.routers or sum(map(len, self.watched)) != self.sizes:
            self.routers = routers
            self.watched = [
                watched for router in (self.dp, *routers) for watched in _lists_of(router)
            ]
            self.sizes = sum(map(len, self.watched))
            self.routed = _routed(self.dp)
        return self.routed


def _lists_of(router: Router) -> list[list[Any]]:
    found: list[list[Any]] = [router.sub_routers]
    for name in INDEXED:
        observer = router.observers[name]
        found += [observer.handlers, observer.outer_middleware._middlewares]
    return found


def _routed(dp: Dispatcher) -> dict[str, list[_Routed]] | None:
    """The flat tree's routers with their handlers' needs; None for another tree."""
    routed: dict[str, list[_Routed]] = {name: [] for name in INDEXED}
    for name in INDEXED:
        own = dp.observers[name]
        if own.handlers or own._handler.filters or len(own.outer_middleware):
            return None
    for router in dp.sub_routers:
        if router.sub_routers:
            return None
        for name in INDEXED:
            observer = router.observers[name]
            if len(observer.outer_middleware):
                return None
            handlers = [(handler, needs_of(handler)) for handler in observer.handlers]
            routed[name].append(_Routed(router, observer, handlers))
    return routed


async def _offer(routers: list[_Routed], event: TelegramObject, kwargs: dict[str, Any]) -> Any:
    # aiogram's Router.propagate_event and TelegramEventObserver.trigger, for a flat
    # tree, skipping the handlers (and routers) that could not take the update. The
    # filters skipped are only looked at, never called, so skipping them changes
    # nothing but the time.
    raw_state = kwargs.get("raw_state")
    for routed in routers:
        chances = [handler for handler, needs in routed.handlers if needs.met_by(event, raw_state)]
        if not chances:
            continue
        observer = routed.observer
        passed, data = await observer.check_root_filters(
            event, **kwargs, event_router=routed.router
        )
        if not passed:
            continue
        for handler in chances:
            data["handler"] = handler
            result, found = await handler.check(event, **data)
            if result:
                data.update(found)
                try:
                    wrapped_inner = observer.outer_middleware.wrap_middlewares(
                        observer._resolve_middlewares(), handler.call
                    )
                    return await wrapped_inner(event, data)
                except SkipHandler:
                    continue
    return UNHANDLED
