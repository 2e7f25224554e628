"""The desk a button about one item is handled at, in the observer's and the liaison's
private chats (handlers.mine, handlers.department): the press and its callback data,
who pressed it, and the services.

Each of those routers puts ``handlers.desks.Desks(Desk.pressed(ItsCb))`` on its
callback queries as an inner middleware: it runs after the filters, when
``callback_data`` is parsed, and hands the handler its desk as ``desk``. So a handler
takes one argument, and what every handler would do first (look the pressed item up,
find the conversation a button belongs to) is a method of the desk. Errors a lookup
raises (an item that is not found, or not the person's) reach the errors router as
they would from the handler itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, fields
from typing import Any, Generic, Protocol, TypeVar

from aiogram import Bot
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, TelegramObject

from bot.domain.errors import NotFound
from bot.services.actors import Actor
from bot.services.context import Policy
from bot.services.suggestions import SuggestionService
from handlers.collecting import FlowT, pressed
from handlers.desks import Make
from handlers.item_pages import put
from handlers.used_prompts import Prompted, ask, began_from, start


class ItemButton(Protocol):
    """Callback data that names an item."""

    @property
    def item(self) -> int: ...


ButtonT = TypeVar("ButtonT", bound=ItemButton)
ItemT = TypeVar("ItemT")

ID_MAX = 2**31 - 1  # item ids are 32-bit integers in the database


@dataclass
class ItemDesk(Generic[ButtonT]):
    """What a handler of a button about an item needs. A subclass may add fields: each
    is taken from the handler's data of that name."""

    query: CallbackQuery
    cb: ButtonT  # the pressed button's data
    bot: Bot
    suggestions: SuggestionService
    actor: Actor
    policy: Policy
    state: FSMContext

    @classmethod
    def pressed(cls, kind: type[CallbackData]) -> Make:
        """Makes the desk of a press of a ``kind`` button (handlers.desks); other
        presses get none."""

        def make(event: TelegramObject, data: dict[str, Any]) -> object | None:
            cb = data.get("callback_data")
            if not isinstance(event, CallbackQuery) or not isinstance(cb, kind):
                return None
            given = {f.name: data[f.name] for f in fields(cls) if f.name not in ("query", "cb")}
            return cls(query=event, cb=cb, **given)  # type: ignore[arg-type]

        return make

    async def lookup(
        self,
        look: Callable[[Actor, int], Awaitable[ItemT]],
        shown: Callable[[ItemT], bool],
        where: str,
    ) -> ItemT:
        """The pressed item as ``look`` finds it for the person, if it is ``shown`` here;
        anything else is "not found" (the error says the item is not ``where``)."""
        item_id = self.cb.item
        if not 0 < item_id <= ID_MAX:
            # Forged data: not worth a query (PostgreSQL would refuse the number anyway).
            raise NotFound(f"no item {item_id}", item_id=item_id)
        found = await look(self.actor, item_id)
        if not shown(found):
            raise NotFound(f"item {item_id} is not {where}", item_id=item_id)
        return found

    async def show(
        self,
        text: str,
        markup: InlineKeyboardMarkup | None,
        *,
        edit: bool = True,
        said: str | None = None,
    ) -> None:
        """``text`` in place of the pressed message (or below it); the press is answered
        (with ``said``, if given)."""
        await put(self.query, self.bot, text, markup, edit=edit)
        await self.query.answer(said)

    async def begin(self, flow: Prompted, step: State, *, origin: bool = False) -> None:
        """Keep the conversation's data and wait at ``step`` for what the person writes;
        one of its kind still on is left (handlers.used_prompts). With ``origin``, the
        message pressed is remembered as where it began, brought up to date once done."""
        if origin:
            began_from(flow, self.query.message, self.query.data, card_page=self.card_page())
        await start(self.state, flow)
        await self.state.set_state(step)

    def card_page(self) -> int:
        """The list page of the card pressed, if the pressed message is a card drawn
        afresh once the conversation is done (handlers.mine); 0 for any other."""
        return 0

    async def ask(self, flow: Prompted, text: str, markup: InlineKeyboardMarkup) -> None:
        """``text`` as the conversation's newest prompt, a new message whose buttons are
        taken off once used; the press is answered."""
        await ask(self.state, flow, text, markup)
        await self.query.answer()

    async def flow(self, kind: type[FlowT], step: State) -> FlowT | None:
        """The conversation the button belongs to, if the chat is still at ``step`` of it
        about the pressed item; otherwise the button is stale (and None)."""
        return await pressed(self.query, self.state, kind, step, self.cb.item)
