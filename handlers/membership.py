"""The bot's own membership of a person's private chat: blocked, and unblocked.

Telegram tells the bot (``my_chat_member``) when someone blocks it — they become
unreachable, their notices are held and the office is told once — and when they
unblock it or press Start again: their held notices go out, in order. Nothing is said
to them: a blocked chat takes no message, and an unblocked one gets what was held.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import KICKED, MEMBER, ChatMemberUpdatedFilter
from aiogram.types import ChatMemberUpdated
from aiogram.utils.i18n import I18n

from bot.services.outbox import OutboxService


def setup(_i18n: I18n) -> Router:
    router = Router(name="membership")
    router.my_chat_member.filter(F.chat.type == "private")

    @router.my_chat_member(ChatMemberUpdatedFilter(member_status_changed=KICKED))
    async def blocked(event: ChatMemberUpdated, outbox: OutboxService) -> None:
        await outbox.unreachable(event.chat.id)

    @router.my_chat_member(ChatMemberUpdatedFilter(member_status_changed=MEMBER))
    async def unblocked(event: ChatMemberUpdated, outbox: OutboxService) -> None:
        await outbox.reachable(event.chat.id)

    return router
