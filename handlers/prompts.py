"""The office's force-reply prompts, wherever in the admin group they ask: a reason to
reject an application, the office's answer to an observer, and (``handlers.deciding``)
a move's words or date.

Two things hold for all of them. An answer that cannot be taken is asked for again: a
new prompt under it says why, and a reply to any prompt of the step still counts, so
nothing typed is lost whichever one the admin answers. And a reply that is not taken —
to another admin's prompt, or to one whose move is over — is told why in the group,
under the reply, rather than passed over in silence.

The second is answered by this module's router, placed after every router whose
prompts it covers (it takes only what they left).
"""

from __future__ import annotations

from dataclasses import dataclass

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.fsm.context import FSMContext
from aiogram.types import ForceReply, Message, ReplyParameters
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from pydantic import Field

from bot.middlewares.people import CurrentUser
from bot.settings import Settings
from handlers.conversation import save_flow
from handlers.office import office_router
from handlers.replies import Asker, Asking, asker_of, note_asker, remember_flow
from handlers.ui import N_, clip, esc

EARLIER_KEPT = 5  # prompts of one step still answered after it was asked again
NAME_KEPT = 64  # of the name a prompt is noted as asking

# Where the move a prompt is part of is started, for whoever must start it anew.
ON_ITEM, ON_APPLICATION, ON_WORD = "", "application", "word"
# Translators: completes "press the button on {where}".
_WHERE: dict[str, str] = {
    ON_ITEM: N_("the item's card"),
    ON_APPLICATION: N_("the application's card"),
    ON_WORD: N_("the observer's message"),
}


class Prompting(Asking):
    """A flow waiting for the answer to a force-reply prompt: the newest prompt, and the
    earlier ones of the same step (asked again) that are still answered."""

    prompt: int | None = None
    earlier: list[int] = Field(default_factory=list)

    def asked_in(self, message_id: int) -> bool:
        """Whether ``message_id`` is one of the step's prompts."""
        return message_id in (self.prompt, *self.earlier)

    def shown(self) -> list[int]:
        return [m for m in (*self.earlier, self.prompt) if m]

    def asked_again(self) -> list[int]:
        """The newest prompt joins the earlier ones, of which the last ``EARLIER_KEPT``
        are still answered; returns the older ones, to delete."""
        if self.prompt:
            self.earlier = [*self.earlier, self.prompt]
        gone, self.earlier = self.earlier[:-EARLIER_KEPT], self.earlier[-EARLIER_KEPT:]
        return gone


@dataclass(frozen=True, slots=True)
class Prompt:
    """A prompt to send: its words (HTML), and the input field's grey hint."""

    text: str
    placeholder: str


def asker(user: CurrentUser, where: str = ON_ITEM) -> Asker:
    return Asker(user.id, clip(user.full_name or user.first_name or "?", NAME_KEPT), where)


def _put_prompt(flow: Prompting, message_id: int) -> None:
    flow.prompt = message_id


async def send_prompt(
    bot: Bot,
    chat_id: int,
    state: FSMContext,
    flow: Prompting,
    prompt: Prompt,
    who: Asker,
    *,
    reply_to: int | None = None,
) -> None:
    """Send the prompt (after commit): its id becomes the flow's ``prompt`` once known,
    and the chat notes whom it asks. The caller saves ``flow``."""
    sent = await bot.send_message(
        chat_id,
        prompt.text,
        reply_markup=ForceReply(selective=True, input_field_placeholder=prompt.placeholder[:64]),
        reply_parameters=(
            ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
            if reply_to
            else None
        ),
    )
    flow.prompt = None
    await remember_flow(state, flow, sent, _put_prompt)
    await note_asker(state, sent, who)


async def ask_again(
    bot: Bot,
    state: FSMContext,
    flow: Prompting,
    answer: Message,
    problem: str,
    prompt: Prompt,
    who: Asker,
) -> None:
    """The ``answer`` cannot be taken: a new prompt under it says why (``problem``) and
    asks again, the step going on; the flow is saved."""
    chat_id = answer.chat.id
    for gone in flow.asked_again():
        await bot.delete_message(chat_id, gone)
    again = Prompt(f"⚠️ {problem}\n\n{prompt.text}", prompt.placeholder)
    await send_prompt(bot, chat_id, state, flow, again, who, reply_to=answer.message_id)
    await save_flow(state, flow)


async def delete_prompts(bot: Bot, chat_id: int, flow: Prompting) -> None:
    """The step is over: its prompts go (after commit; one deleted by hand stays so)."""
    for shown in flow.shown():
        await bot.delete_message(chat_id, shown)


# ---- a reply not taken ----------------------------------------------------------------


async def on_reply_not_taken(
    message: Message, bot: Bot, state: FSMContext, user: CurrentUser
) -> None:
    """A reply to a prompt that is not the replier's open one: said why, in the group,
    under their reply."""
    replied = message.reply_to_message
    if replied is None or replied.from_user is None or replied.from_user.id != bot.id:
        raise SkipHandler
    if message.text is not None and message.text.startswith("/"):
        raise SkipHandler  # a command, even as a reply, stays a command
    noted = await asker_of(state, replied.message_id)
    if noted is None:
        raise SkipHandler  # not one of the office's prompts
    where = _(_WHERE.get(noted.where, _WHERE[ON_ITEM]))
    if noted.user_id != user.id:
        await message.reply(
            _(
                "That prompt is for {name}, so your reply was not taken. To make this move "
                "yourself, press the button on {where}."
            ).format(name=f"<b>{esc(noted.name)}</b>", where=where)
        )
        return
    await message.reply(
        _(
            "That prompt is closed (its move was finished, cancelled or replaced), so your "
            "reply was not taken. Press the button on {where} to start again."
        ).format(where=where)
    )


def setup(_i18n: I18n, settings: Settings) -> Router:
    router = office_router("prompts")
    router.message.register(on_reply_not_taken, F.reply_to_message)
    return router
