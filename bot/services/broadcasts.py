"""Messages from the office to every active observer, or to one point's."""

from __future__ import annotations

from bot.services.context import Service


class BroadcastService(Service):
    pass
