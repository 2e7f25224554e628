"""The whole loop through Telegram, in Chinese: an observer files, the office decides in
its group from the card's buttons, the department implements in its chat, the observer
rates; every party sees each step, and the database holds the story."""

from __future__ import annotations

import re

import sqlalchemy as sa
from aiogram.types import ForceReply
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.lifecycle import Action
from bot.domain.statuses import RatingValue, SuggestionStatus
from handlers.callbacks import MineCb
from storage.models import Event, Rating, Suggestion
from tests.handlers.test_filing import confirm_data, to_preview
from tests.telegram import Person, Sent, Telegram
from tests.world import ADMIN, ALICE, LIAISON, FixedClock, World

Sessions = async_sessionmaker[AsyncSession]
GROUP = -100500
INSTRUCTION = "请于月底前更换全部三盏路灯。"
CARD_HEAD = re.compile(r"\S+ WZ-2026-0001 · ")


def data_of(message: Sent, prefix: str) -> str:
    """The callback data of the message's first button whose data starts with ``prefix``."""
    return next(d for _, d in message.buttons() if d.startswith(prefix))


def card(tg: Telegram) -> Sent:
    """The group's current item card: the newest text message that opens with the
    item's status line (not a reply that merely names the item)."""
    texts = [s for s in tg.chat(GROUP) if s.kind == "text" and CARD_HEAD.match(s.plain)]
    return texts[-1]


async def item(sessions: Sessions) -> Suggestion:
    async with sessions() as session:
        return (await session.execute(sa.select(Suggestion))).scalar_one()


async def press_newest(person: Person, prefix: str) -> list[Sent]:
    """Press the newest button in the person's chat whose data starts with ``prefix``."""
    for message in reversed(person.chat):
        for _, data in message.buttons():
            if data.startswith(prefix):
                return await person.press(data, message=message)
    raise AssertionError(f"no button {prefix}… in the chat")


async def press_on_card(ada: Person, tg: Telegram, act: str) -> list[Sent]:
    return await ada.press(data_of(card(tg), f"c:{act}:"), message=card(tg))


async def test_from_filing_to_closing_through_the_group_and_the_department(
    tg: Telegram, sessions: Sessions, world: World, clock: FixedClock
) -> None:
    alice = tg.person(ALICE, "Alice", "zh-hans")
    ada = tg.member(ADMIN, "Ada", GROUP, "administrator")
    li = tg.person(LIAISON, "Li", "zh-hans")

    # Filed in private; the card reaches the group with the one move it allows.
    preview = await to_preview(alice, title="人民路路灯不亮", body="人民路 12 号附近路灯三周不亮。")
    await alice.press(confirm_data(preview))
    await tg.drain()
    assert card(tg).plain.startswith("🟡 WZ-2026-0001 · 已提交，待研判")
    assert "Alice #1 · 📍 城区便民服务中心" in card(tg).plain
    assert "13800000001" not in card(tg).plain  # shown to an admin on request only
    assert [d.split(":")[1] for _, d in card(tg).buttons()] == ["take"]

    # Taken, then a question: the prompt is a force reply; the answer is a reply to it.
    clock.advance(hours=1, minutes=20)
    await press_on_card(ada, tg, "take")
    assert card(tg).plain.startswith("🔵 WZ-2026-0001")
    clock.advance(minutes=15)
    [prompt] = await press_on_card(ada, tg, "ask")
    await ada.reply(prompt, "请补充具体是哪几盏路灯。")
    assert (await item(sessions)).status is SuggestionStatus.NEEDS_INFO
    assert prompt not in tg.chat(GROUP)  # prompts are short-lived
    await tg.drain()
    assert "请补充具体是哪几盏路灯。" in alice.last.plain

    # Alice answers; the item comes back to the office as a fresh card.
    clock.advance(hours=23)
    await alice.press(MineCb(act="answer", item=(await item(sessions)).id).pack())
    await alice.send("12 号至 16 号门前的三盏。")
    await alice.press(MineCb(act="send", item=(await item(sessions)).id).pack())
    await tg.drain()
    answered = card(tg)
    assert answered.plain.startswith("🟡 WZ-2026-0001")
    assert "12 号至 16 号门前的三盏。" in answered.plain

    # Taken again and adopted with the department and due-date pickers, then the
    # office's instruction to the department, typed in reply to its prompt.
    clock.advance(hours=2)
    await press_on_card(ada, tg, "take")
    [picker] = await press_on_card(ada, tg, "adopt")
    await ada.press(next(d for t, d in picker.buttons() if "MARKET" in t), message=picker)
    *_, beside, prompt = await ada.press(data_of(picker, "dk:t:"), message=picker)
    assert isinstance(prompt.markup, ForceReply)
    assert [t for t, _ in beside.buttons()] == ["⏭ 无交办意见", "✖️ 取消"]
    assert (await item(sessions)).status is SuggestionStatus.IN_REVIEW  # not yet
    await ada.reply(prompt, INSTRUCTION)
    assert beside not in tg.chat(GROUP)
    assert prompt not in tg.chat(GROUP)
    adopted = await item(sessions)
    assert adopted.status is SuggestionStatus.ADOPTED
    assert adopted.department_id == world.department_id
    assert "区市场监管局" in card(tg).plain
    assert f"交办意见：\n{INSTRUCTION}" in card(tg).plain  # what the department was told
    await tg.drain()
    assert "区市场监管局" in alice.last.plain

    # The department's chat: a card without Alice's name or phone; accept, progress, done.
    dept_card = next(s for s in li.chat if "WZ-2026-0001" in s.plain and s.buttons())
    assert f"依法治区办交办意见：\n{INSTRUCTION}" in dept_card.plain
    assert all(INSTRUCTION not in s.plain for s in alice.chat)  # the department's only
    for sent in li.chat:
        assert "Alice" not in sent.plain
        assert "13800000001" not in sent.plain
    clock.advance(hours=3)
    await li.press(data_of(dept_card, "dp:ok:"), message=dept_card)
    clock.advance(days=2)
    await press_newest(li, "dp:pr:")
    await li.send("已更换灯具两盏。")
    await press_newest(li, "dp:send:")
    clock.advance(days=3)
    await press_newest(li, "dp:im:")
    await li.send("三盏路灯均已修复。")
    await press_newest(li, "dp:send:")
    await press_newest(li, "dp:yes:")
    assert (await item(sessions)).status is SuggestionStatus.IMPLEMENTED
    await tg.drain()
    assert "已更换灯具两盏。" in "\n".join(s.plain for s in alice.chat)

    # Alice rates it from the notification; the item closes, the group's card says so.
    clock.advance(hours=5)
    item_id = (await item(sessions)).id
    satisfied = MineCb(act="rate", item=item_id, value=RatingValue.SATISFIED.value).pack()
    await alice.press(satisfied)
    await alice.press(MineCb(act="skip", item=item_id).pack())
    await tg.drain()
    final = card(tg)
    assert final.plain.startswith("🔒 WZ-2026-0001 · 已办结")
    assert final.markup is None  # nothing is left to do
    assert "满意" in final.plain

    closed = await item(sessions)
    assert closed.status is SuggestionStatus.CLOSED
    async with sessions() as session:
        actions = (
            await session.execute(sa.select(Event.action, Event.actor_user_id).order_by(Event.id))
        ).all()
        [rating] = (await session.execute(sa.select(Rating))).scalars().all()
    assert [a for a, _ in actions] == [
        Action.SUBMIT,
        Action.TAKE,
        Action.ASK_INFO,
        Action.ANSWER_INFO,
        Action.TAKE,
        Action.ADOPT,
        Action.ACCEPT,
        Action.PROGRESS,
        Action.MARK_IMPLEMENTED,
        Action.RATE,
    ]
    assert [who for _, who in actions] == [
        ALICE, ADMIN, ADMIN, ALICE, ADMIN, ADMIN, LIAISON, LIAISON, LIAISON, ALICE,
    ]  # fmt: skip
    assert rating.value is RatingValue.SATISFIED

    # The group's own view, as the closing note quotes it.
    print("\n".join(line for line in tg.transcript if line.startswith(("[-100500]", "👤 Ada:"))))
