"""The loop the scheme exists for, seen from the observer's chat: filed in Telegram,
decided and implemented by the office and the department (through the services here;
``test_office_loop.py`` drives their Telegram side), every step's notification rendered
in the observer's language and delivered by the outbox sender, answered and rated with
the notification's own buttons."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.statuses import RatingValue, SuggestionStatus
from bot.services.outbox import OutboxItem
from bot.services.suggestions import SuggestionService
from handlers.callbacks import MineCb
from storage.models import Rating, Suggestion
from storage.store import Store
from tests.handlers.test_filing import confirm_data, to_preview
from tests.telegram import Sent, Telegram
from tests.world import ADMIN, ALICE, DUE, LIAISON, POLICY, FixedClock, World, actor

Sessions = async_sessionmaker[AsyncSession]


async def deliver(tg: Telegram) -> list[OutboxItem]:
    """Run the outbox sender; the rows that reached Alice's chat."""
    done = await tg.drain()
    assert done.failed == []
    return [row for row in done.sent if row.chat_id == ALICE]


async def office(
    sessions: Sessions, clock: FixedClock, user_id: int, move: str, *a: Any, **kw: Any
) -> None:
    async with sessions() as session, session.begin():
        store = Store(session)
        service = SuggestionService(store, POLICY, clock)
        who = await actor(store, user_id, admin=user_id == ADMIN)
        await getattr(service, move)(who, *a, **kw)


def has_button(sent: Sent, data: str) -> bool:
    return data in [d for _, d in sent.buttons()]


async def test_filed_decided_implemented_rated_with_feedback_at_every_step(
    tg: Telegram, sessions: Sessions, world: World, clock: FixedClock
) -> None:
    alice = tg.person(ALICE, "Alice", "zh-hans")
    preview = await to_preview(alice, title="人民路路灯不亮", body="人民路 12 号附近路灯三周不亮。")
    await alice.press(confirm_data(preview))
    async with sessions() as session:
        item = (await session.execute(sa.select(Suggestion))).scalar_one()
    item_id, ref = item.id, item.reference

    # The office takes it and asks a question: Alice is told, in Chinese, with a button.
    await office(sessions, clock, ADMIN, "take", item_id)
    await office(sessions, clock, ADMIN, "ask_info", item_id, "请补充具体是哪几盏路灯。")
    delivered = await deliver(tg)
    assert [r.kind for r in delivered] == ["item.take", "item.ask_info"]
    question = alice.last
    assert ref in question.plain
    assert "请补充具体是哪几盏路灯。" in question.plain
    answer = MineCb(act="answer", item=item_id).pack()
    assert has_button(question, answer)

    # She answers with the notification's own button.
    await alice.press(answer)
    await alice.send("12 号至 16 号门前的三盏。")
    await alice.press(MineCb(act="send", item=item_id).pack())
    async with sessions() as session:
        again = await session.get(Suggestion, item_id)
        assert again is not None
        assert again.status is SuggestionStatus.SUBMITTED

    # Adopted, accepted, progress, implemented: each one reaches her.
    await office(sessions, clock, ADMIN, "take", item_id)
    await office(
        sessions, clock, ADMIN, "adopt", item_id, department_id=world.department_id, due=DUE
    )
    await office(sessions, clock, LIAISON, "accept", item_id)
    await office(sessions, clock, LIAISON, "report_progress", item_id, "已更换灯具两盏。")
    await office(sessions, clock, LIAISON, "mark_implemented", item_id, "三盏路灯均已修复。")
    delivered = await deliver(tg)
    told = [r.kind for r in delivered if r.chat_id == ALICE]
    assert told == [
        "item.take",
        "item.adopt",
        "item.accept",
        "item.progress",
        "item.mark_implemented",
    ]
    news = [s.plain for s in alice.chat[-5:]]
    assert "区市场监管局" in news[1]  # the department that will implement it
    assert "已更换灯具两盏。" in news[3]
    implemented = alice.last
    satisfied = MineCb(act="rate", item=item_id, value=RatingValue.SATISFIED.value).pack()
    assert has_button(implemented, satisfied)

    # She rates it from the notification; the item closes with her rating.
    await alice.press(satisfied)
    await alice.press(MineCb(act="skip", item=item_id).pack())
    async with sessions() as session:
        closed = await session.get(Suggestion, item_id)
        assert closed is not None
        assert closed.status is SuggestionStatus.CLOSED
        [rating] = (await session.execute(sa.select(Rating))).scalars().all()
        assert rating.value is RatingValue.SATISFIED

    # Her timeline tells the whole story in the office's and department's words.
    await alice.send("/mine")
    [card] = await alice.press(MineCb(act="show", item=item_id, page=1, value="l").pack())
    for words in ("请补充具体是哪几盏路灯。", "12 号至 16 号门前的三盏。", "已更换灯具两盏。"):
        assert words in card.plain
