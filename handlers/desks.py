"""One small object in a handler's data in place of the services it would each name.

A router's handlers often need the same few things: the acting person, a service or
two, the bot. Each such router declares them once, as a desk, and registers
:class:`Desks` as an inner middleware (it runs once the router's filters have passed,
with ``callback_data`` parsed): its handlers then take one ``desk``. A desk is made by a
function of the event and the handler's data; :func:`from_data` makes one of a
dataclass whose fields are named after what the data holds (``actor``, ``people``,
``bot``...).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import fields
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
# A desk for this event and data, or None: the handler gets none.
Make = Callable[[TelegramObject, dict[str, Any]], object | None]


def from_data(kind: type[Any]) -> Make:
    """Makes a ``kind`` (a dataclass) with its fields filled from the data by name."""
    names = tuple(field.name for field in fields(kind))

    def make(_event: TelegramObject, data: dict[str, Any]) -> object:
        return kind(**{name: data[name] for name in names})

    return make


class Desks(BaseMiddleware):
    """Puts what ``make`` makes into the handler's data as ``desk``."""

    def __init__(self, make: Make) -> None:
        self._make = make

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        desk = self._make(event, data)
        if desk is not None:
            data["desk"] = desk
        return await handler(event, data)
