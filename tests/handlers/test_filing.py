"""Filing a suggestion, through the real Dispatcher: every step, Back, Cancel, Edit,
attachments and albums, limits, restart, double Confirm and who may file."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from aiogram.types import CallbackQuery, Update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.statuses import (
    AttachmentKind,
    Behalf,
    FocusDomain,
    ObserverCategory,
    SuggestionKind,
    SuggestionStatus,
)
from bot.services.people import PeopleService
from handlers.callbacks import ApplyCb, FileCb, MenuCb
from handlers.moving import MoveCb
from storage.models import (
    Attachment,
    ConversationState,
    Observer,
    OutboxMessage,
    Point,
    Suggestion,
)
from storage.store import Store
from tests.handlers.conftest import new_telegram
from tests.telegram import Person, RecordingSession, Sent, Telegram
from tests.world import ALICE, BOB, POLICY, STRANGER, FixedClock, World

Sessions = async_sessionmaker[AsyncSession]
TITLE = "Street lights out on Renmin Road"
BODY = "Three lamps near No. 12 have been dark for three weeks."


def cb(step: str, value: str = "") -> str:
    return FileCb(step=step, value=value).pack()


def confirm_data(preview: Sent) -> str:
    return next(data for _, data in preview.buttons() if data.startswith("f:confirm:"))


async def to_preview(
    p: Person,
    *,
    title: str = TITLE,
    body: str = BODY,
    behalf: str = "residents",
    place: str = "Skip",
) -> Sent:
    """The shortest way to a preview, pressing buttons by their data (any language)."""
    await p.send("/new")
    await p.press(cb("domain", "governance"))
    await p.press(cb("kind", "problem"))
    await p.send(title)
    await p.send(body)
    await p.press(cb("done"))
    await p.press(cb("behalf", behalf))
    await p.send(place)
    return p.last


# ---- what the database holds ----------------------------------------------------------


async def items(sessions: Sessions) -> list[Suggestion]:
    async with sessions() as s:
        return list((await s.scalars(sa.select(Suggestion).order_by(Suggestion.id))).all())


async def files_of(sessions: Sessions, suggestion_id: int) -> list[Attachment]:
    async with sessions() as s:
        query = sa.select(Attachment).where(Attachment.suggestion_id == suggestion_id)
        return list((await s.scalars(query.order_by(Attachment.id))).all())


async def outbox(sessions: Sessions) -> list[OutboxMessage]:
    async with sessions() as s:
        return list((await s.scalars(sa.select(OutboxMessage))).all())


async def conversation(sessions: Sessions, user_id: int) -> ConversationState | None:
    async with sessions() as s:
        rows = (await s.scalars(sa.select(ConversationState))).all()
    return next((r for r in rows if f":{user_id}:{user_id}:" in r.key), None)


async def stored_draft(sessions: Sessions, user_id: int) -> dict[str, Any]:
    row = await conversation(sessions, user_id)
    assert row is not None, "no conversation state"
    return dict(row.data["draft"])


async def set_observer_status(sessions: Sessions, observer_id: int, status: str) -> None:
    async with sessions() as s, s.begin():
        await s.execute(sa.update(Observer).where(Observer.id == observer_id).values(status=status))


# ---- 1. the whole conversation --------------------------------------------------------


async def test_the_whole_conversation_in_english_files_an_item(
    tg: Telegram, sessions: Sessions
) -> None:
    alice = tg.person(ALICE, "Alice", "en")
    [domain_q] = await alice.send("📝 New suggestion")
    assert "step 1 of 6" in domain_q.plain
    assert "Choose the focus domain" in domain_q.plain
    assert [text for text, _ in domain_q.buttons()][:6] == [
        "Optimising the business environment",
        "Grassroots social governance",
        "Dispute resolution",
        "Rule-of-law villages",
        "Youth legal education",
        "Other",
    ]
    [kind_q] = await alice.press("Grassroots social governance")
    assert kind_q.message_id == domain_q.message_id  # the question is edited in place
    assert "step 2 of 6" in kind_q.plain
    assert "a suggestion, an opinion or a problem" in kind_q.plain
    [title_q] = await alice.press("Problem")
    assert "at most 100 characters" in title_q.plain
    replies = await alice.send("Street lights <out> on Renmin Road")
    details_q = replies[-1]
    assert "step 4 of 6" in details_q.plain
    assert "Press Done" in details_q.plain
    assert title_q.buttons() == []  # the answered question keeps no buttons
    await alice.send(BODY)
    await alice.photo("photo-1", caption="Taken at 9 pm & dark")
    [*_, ack] = await alice.document("doc-1", "survey.pdf")
    assert "Document added: survey.pdf" in ack.plain
    assert "2 of 10 attachments" in ack.plain
    [behalf_q] = await alice.press("✅ Done")
    assert "On whose behalf" in behalf_q.plain
    [*_, location_q] = await alice.press("On behalf of residents")
    assert "step 6 of 6" in location_q.plain
    assert location_q.keys() == ["📍 Send my location", "Skip", "⬅️ Back", "✖️ Cancel"]
    assert location_q.markup.keyboard[0][0].request_location  # type: ignore[union-attr]
    noted, preview = await alice.send("Renmin Road 12, by the school gate")
    assert noted.plain == "Place noted."
    assert noted.keys() == ["📝 New suggestion", "📋 My suggestions", "❓ Help"]
    for shown in [
        "Preview",
        "Domain: Grassroots social governance",
        "Kind: Problem",
        "Title: Street lights <out> on Renmin Road",
        "On whose behalf: On behalf of residents",
        "Location: Renmin Road 12, by the school gate",
        "Attachments: 2 (photos: 1, documents: 1)",
        BODY,
        "Taken at 9 pm & dark",
    ]:
        assert shown in preview.plain
    assert "&lt;out&gt;" in preview.text  # the person's text is escaped
    assert [text for text, _ in preview.buttons()] == [
        "✅ Confirm",
        "✏️ Edit",
        "⬅️ Back",
        "✖️ Cancel",
    ]

    edited, done = await alice.press("✅ Confirm")
    assert edited.message_id == preview.message_id
    assert edited.buttons() == []
    [item] = await items(sessions)
    assert item.reference == "WZ-2026-0001"
    assert "WZ-2026-0001" in done.plain
    assert item.decision_due.isoformat() in done.plain
    assert "you will be told here" in done.plain
    assert done.keys() == ["📝 New suggestion", "📋 My suggestions", "❓ Help"]

    assert item.status is SuggestionStatus.SUBMITTED
    assert item.title == "Street lights <out> on Renmin Road"
    assert item.body == f"{BODY}\n\nTaken at 9 pm & dark"
    assert item.kind is SuggestionKind.PROBLEM
    assert item.domain is FocusDomain.GRASSROOTS_GOVERNANCE
    assert item.behalf is Behalf.RESIDENTS
    assert item.location_text == "Renmin Road 12, by the school gate"
    assert item.latitude is None
    files = await files_of(sessions, item.id)
    assert [(f.kind, f.file_id, f.file_name, f.mime_type) for f in files] == [
        (AttachmentKind.PHOTO, "photo-1", None, None),
        (AttachmentKind.DOCUMENT, "doc-1", "survey.pdf", "application/pdf"),
    ]
    assert [(m.kind, m.audience, m.suggestion_id) for m in await outbox(sessions)] == [
        ("item.submit", "admins", item.id)
    ]
    assert await conversation(sessions, ALICE) is None


# ---- 2. the same in Chinese -----------------------------------------------------------


async def test_the_whole_conversation_in_chinese(tg: Telegram, sessions: Sessions) -> None:
    alice = tg.person(ALICE, "Alice", "zh-hans")
    [domain_q] = await alice.send("/new")
    assert "第 1 步" in domain_q.plain
    assert "关注领域" in domain_q.plain
    [kind_q] = await alice.press(cb("domain", "business"))
    assert "建议、意见还是问题" in kind_q.plain
    [title_q] = await alice.press(cb("kind", "suggestion"))
    assert "标题" in title_q.plain
    assert "100" in title_q.plain
    [*_, details_q] = await alice.send("优化个体工商户登记流程")
    assert "完成" in details_q.plain
    [*_, ack] = await alice.send("个体工商户反映登记材料重复提交, 建议推行一表通办。")
    assert "已补充到详细情况" in ack.plain
    [*_, ack] = await alice.photo("photo-zh", caption="窗口排队情况")
    assert "已添加图片" in ack.plain
    [behalf_q] = await alice.press(cb("done"))
    assert "代表谁" in behalf_q.plain
    [*_, location_q] = await alice.press(cb("behalf", "business"))
    assert "发送我的位置" in location_q.keys()[0]
    assert "地点" in location_q.plain
    noted, preview = await alice.location(30.807, 108.408)
    assert noted.plain == "已记录位置。"
    assert "预览" in preview.plain
    assert "优化个体工商户登记流程" in preview.plain
    assert "窗口排队情况" in preview.plain
    assert "共享位置" in preview.plain
    [_, done] = await alice.press(confirm_data(preview))
    assert "WZ-2026-0001" in done.plain
    assert "办理编号" in done.plain

    [item] = await items(sessions)
    assert item.title == "优化个体工商户登记流程"
    assert item.kind is SuggestionKind.SUGGESTION
    assert item.domain is FocusDomain.BUSINESS_ENVIRONMENT
    assert item.behalf is Behalf.BUSINESS
    assert (item.latitude, item.longitude) == (30.807, 108.408)
    assert len(await files_of(sessions, item.id)) == 1
    print("\n".join(tg.transcript))


# ---- 3. Back and Cancel ---------------------------------------------------------------


async def test_back_at_every_step_asks_the_previous_question(
    tg: Telegram, sessions: Sessions
) -> None:
    alice = tg.person(ALICE, "Alice", "en")
    await alice.send("/new")
    assert "⬅️ Back" not in [t for t, _ in alice.last.buttons()]  # the first step
    await alice.press("Dispute resolution")
    [domain_q] = await alice.press("⬅️ Back")
    assert "Choose the focus domain" in domain_q.plain
    assert ("✓ Dispute resolution", cb("domain", "disputes")) in domain_q.buttons()

    await alice.press(cb("domain", "disputes"))
    await alice.press("Opinion")
    [kind_q] = await alice.press("⬅️ Back")
    assert "a suggestion, an opinion or a problem" in kind_q.plain
    await alice.press("✓ Opinion")
    await alice.send(TITLE)

    [title_q] = await alice.press("⬅️ Back")
    assert "at most 100 characters" in title_q.plain
    assert f"Now: {TITLE}" in title_q.plain
    [details_q] = await alice.press("Keep this title")
    assert "Describe it in detail" in details_q.plain
    await alice.send(BODY)
    await alice.press("✅ Done")

    [details_q] = await alice.press("⬅️ Back")
    assert "Describe it in detail" in details_q.plain
    assert "So far: 55 of 2500 characters" in details_q.plain
    await alice.press("✅ Done")
    await alice.press("My own observation")

    back, behalf_q = await alice.send("⬅️ Back")  # the location step's reply keyboard
    assert back.keys() == ["📝 New suggestion", "📋 My suggestions", "❓ Help"]
    assert "On whose behalf" in behalf_q.plain
    assert ("✓ My own observation", cb("behalf", "own")) in behalf_q.buttons()
    await alice.press("✓ My own observation")
    _, preview = await alice.send("Skip")

    [*_, location_q] = await alice.press("⬅️ Back", message=preview)
    assert "Where is it?" in location_q.plain
    _, preview = await alice.send("Skip")
    assert "Location: not given" in preview.plain

    [*_, bye] = await alice.press("✖️ Cancel")
    assert "the draft has been discarded" in bye.plain
    assert bye.keys() == ["📝 New suggestion", "📋 My suggestions", "❓ Help"]
    assert preview.buttons() == []
    assert await items(sessions) == []
    assert await conversation(sessions, ALICE) is None


async def test_cancel_at_a_typed_step_and_on_the_location_keyboard(
    tg: Telegram, sessions: Sessions
) -> None:
    alice = tg.person(ALICE, "Alice", "en")
    await alice.send("/new")
    await alice.press("Other")
    await alice.press("Suggestion")
    [*_, bye] = await alice.press("✖️ Cancel")
    assert "discarded" in bye.plain
    assert await conversation(sessions, ALICE) is None
    # An old button of the discarded draft does nothing.
    await alice.callback(cb("kind", "problem"))
    assert "out of date" in (tg.session.alerts[-1][1] or "")

    await alice.send("/new")
    await alice.press("Other")
    await alice.press("Suggestion")
    await alice.send(TITLE)
    await alice.send(BODY)
    await alice.press("✅ Done")
    await alice.press("My own observation")
    [bye] = await alice.send("✖️ Cancel")
    assert "discarded" in bye.plain
    assert bye.keys() == ["📝 New suggestion", "📋 My suggestions", "❓ Help"]
    assert await conversation(sessions, ALICE) is None
    assert await items(sessions) == []


# ---- Edit from the preview ------------------------------------------------------------


async def test_edit_changes_one_field_and_returns_to_the_preview(
    tg: Telegram, sessions: Sessions
) -> None:
    alice = tg.person(ALICE, "Alice", "en")
    await to_preview(alice)
    await alice.photo("photo-1")  # not at the details step: asked to use the buttons
    assert "Please use the buttons" in alice.last.plain

    data = confirm_data(alice.last)
    [menu] = await alice.press("✏️ Edit")
    assert "What do you want to change?" in menu.plain
    await alice.callback(data, message=menu)  # a Confirm from before the Edit
    assert tg.session.alerts[-1][1] == (
        "Please finish the step in progress first; the preview will come back."
    )
    await alice.press("Title")
    [*_, preview] = await alice.send("A better title")
    assert "Title: A better title" in preview.plain

    await alice.press("✏️ Edit")
    await alice.press("Kind")
    [preview] = await alice.press("Suggestion")
    assert "Kind: Suggestion" in preview.plain

    # Details: add a photo, then write the text again; Back undoes a change.
    await alice.press("✏️ Edit")
    await alice.press("Details")
    await alice.press("➕ Add text or files")
    await alice.photo("photo-2")
    await alice.press("✅ Done")
    assert "Attachments: 1 (photos: 1, documents: 0)" in alice.last.plain
    await alice.press("✏️ Edit")
    await alice.press("Details")
    [details_q] = await alice.press("✍️ Write the text again")
    assert "Changing the draft" in details_q.plain
    await alice.press("✅ Done")
    assert "needs some text" in (tg.session.alerts[-1][1] or "")
    await alice.send("Only lamp 3 is out.")
    [preview] = await alice.press("⬅️ Back")
    assert BODY in preview.plain  # Back undid the rewrite
    await alice.press("✏️ Edit")
    await alice.press("Details")
    await alice.press("✍️ Write the text again")
    await alice.send("Only lamp 3 is out.")
    [preview] = await alice.press("✅ Done")
    assert "Only lamp 3 is out." in preview.plain
    assert BODY not in preview.plain

    await alice.press("✏️ Edit")
    await alice.press("Location")
    _, preview = await alice.location(30.8, 108.4)
    assert "Location: 📍 shared location (30.80000, 108.40000)" in preview.plain

    await alice.press("✏️ Edit")
    await alice.press("Details")
    [preview] = await alice.press("🗑 Remove the attachments")
    assert "Attachments: none" in preview.plain

    await alice.press("✅ Confirm")
    [item] = await items(sessions)
    assert (item.title, item.body, item.kind) == (
        "A better title",
        "Only lamp 3 is out.",
        SuggestionKind.SUGGESTION,
    )
    assert (item.latitude, item.longitude, item.location_text) == (30.8, 108.4, None)
    assert await files_of(sessions, item.id) == []


# ---- an unfinished draft ------------------------------------------------------------


async def test_an_unfinished_draft_is_continued_or_started_over(
    tg: Telegram, sessions: Sessions
) -> None:
    alice = tg.person(ALICE, "Alice", "en")
    await alice.send("/new")
    await alice.press("Other")
    await alice.press("Problem")
    await alice.send(TITLE)
    key = (await stored_draft(sessions, ALICE))["key"]

    [offer] = await alice.send("📝 New suggestion")
    assert "You have an unfinished draft" in offer.plain
    assert TITLE in offer.plain
    [*_, details_q] = await alice.press("▶️ Continue draft")
    assert "Describe it in detail" in details_q.plain
    assert (await stored_draft(sessions, ALICE))["title"] == TITLE

    await alice.send("/new")
    [*_, domain_q] = await alice.press("🆕 Start over")
    assert "step 1 of 6" in domain_q.plain
    fresh = await stored_draft(sessions, ALICE)
    assert fresh["key"] != key
    assert fresh["title"] == ""


# ---- 4. a restart in the middle -------------------------------------------------------


async def test_the_draft_survives_a_restart(
    tg: Telegram, sessions: Sessions, clock: FixedClock
) -> None:
    alice = tg.person(ALICE, "Alice", "en")
    await alice.send("/new")
    await alice.press("Youth legal education")
    await alice.press("Suggestion")
    await alice.send("Legal lessons at the middle school")
    await alice.photo("photo-before", caption="The school's request")

    # A new process: a new Dispatcher over the same database and the same chats.
    tg2 = new_telegram(sessions, clock, session=tg.session)
    tg2.updates, tg2.transcript = tg.updates, tg.transcript
    again = tg2.person(ALICE, "Alice", "en")
    [*_, ack] = await again.send("Twice a term would do.")
    assert "1 of 10 attachments" in ack.plain
    await again.press("✅ Done")
    await again.press("On behalf of residents")
    _, preview = await again.send("Skip")
    assert "Title: Legal lessons at the middle school" in preview.plain
    await again.press("✅ Confirm")
    [item] = await items(sessions)
    assert item.domain is FocusDomain.YOUTH_LEGAL_EDUCATION
    assert item.body == "The school's request\n\nTwice a term would do."
    assert [f.file_id for f in await files_of(sessions, item.id)] == ["photo-before"]


# ---- 5. albums and the attachment limit -----------------------------------------------


async def test_an_album_is_acknowledged_in_one_edited_message(
    tg: Telegram, sessions: Sessions
) -> None:
    alice = tg.person(ALICE, "Alice", "en")
    await alice.send("/new")
    await alice.press("Other")
    await alice.press("Problem")
    await alice.send(TITLE)
    await alice.send(BODY)
    [_, ack] = await alice.photo("a-1", caption="Three photos", media_group_id="album-1")
    assert "Files added from the album: 1" in ack.plain
    [edited] = await alice.photo("a-2", media_group_id="album-1")
    assert edited.message_id == ack.message_id
    [edited] = await alice.photo("a-3", media_group_id="album-1")
    assert edited.message_id == ack.message_id
    assert "Files added from the album: 3" in edited.plain
    assert "3 of 10 attachments" in edited.plain
    [_, doc_ack] = await alice.document("d-1", "minutes.docx")
    assert doc_ack.message_id != ack.message_id
    assert ack.buttons() == []  # only the newest answer carries Done
    await alice.press("✅ Done")
    await alice.press("On behalf of a business")
    _, preview = await alice.send("Skip")
    assert "Attachments: 4 (photos: 3, documents: 1)" in preview.plain
    await alice.press("✅ Confirm")
    [item] = await items(sessions)
    assert [f.file_id for f in await files_of(sessions, item.id)] == ["a-1", "a-2", "a-3", "d-1"]
    assert item.body == f"{BODY}\n\nThree photos"


async def test_the_eleventh_attachment_is_refused_and_nothing_else_is_lost(
    tg: Telegram, sessions: Sessions
) -> None:
    alice = tg.person(ALICE, "Alice", "en")
    await alice.send("/new")
    await alice.press("Other")
    await alice.press("Problem")
    await alice.send(TITLE)
    await alice.send(BODY)
    for n in range(8):
        await alice.photo(f"p-{n}", media_group_id="big")
    [_, ack] = await alice.photo("p-8")
    assert "9 of 10 attachments" in ack.plain
    [*_, ack] = await alice.photo("p-9", media_group_id="second")
    [edited] = await alice.photo("p-10", media_group_id="second")
    assert edited.message_id == ack.message_id
    assert "Files added from the album: 1" in edited.plain
    assert "1 not added: a draft can hold at most 10 attachments" in edited.plain
    [*_, refused] = await alice.document("d-11", "extra.pdf", caption="and this")
    assert "Not added: a draft can hold at most 10 attachments" in refused.plain
    assert "Nothing else was lost" in refused.plain
    draft = await stored_draft(sessions, ALICE)
    assert len(draft["attachments"]) == 10
    assert draft["body"] == BODY  # the refused message's caption was not taken either
    await alice.press("✅ Done")
    await alice.press("My own observation")
    await alice.send("Skip")
    await alice.press("✅ Confirm")
    [item] = await items(sessions)
    assert len(await files_of(sessions, item.id)) == 10


# ---- 6. limits and unsupported content -------------------------------------------------


async def test_too_long_title_and_body_are_refused_and_the_step_kept(
    tg: Telegram, sessions: Sessions
) -> None:
    alice = tg.person(ALICE, "Alice", "en")
    await alice.send("/new")
    await alice.press("Other")
    await alice.press("Problem")
    [refused] = await alice.send("x" * 101)
    assert "too long: 101 characters, and at most 100 fit" in refused.plain
    assert (await conversation(sessions, ALICE)).state == "Filing:title"  # type: ignore[union-attr]
    [refused] = await alice.sticker_like()
    assert "type the title as text" in refused.plain
    await alice.send("y" * 100)
    assert (await stored_draft(sessions, ALICE))["title"] == "y" * 100

    [*_, ack] = await alice.sticker_like()
    assert "That cannot be added" in ack.plain
    await alice.press("✅ Done")
    assert "needs some text" in (tg.session.alerts[-1][1] or "")
    await alice.photo("only-photo")
    await alice.press("✅ Done")
    assert "Your attachments are kept" in (tg.session.alerts[-1][1] or "")
    assert (await conversation(sessions, ALICE)).state == "Filing:details"  # type: ignore[union-attr]

    await alice.send("a" * 2400)
    [*_, refused] = await alice.send("b" * 200)
    assert "at most 2500 characters in all" in refused.plain
    assert "this message has 200; 98 characters are left" in refused.plain
    [*_, refused] = await alice.photo("too-much", caption="c" * 99)
    assert "98 characters are left" in refused.plain
    [*_, refused] = await alice.photo("too-much-2", caption="c" * 99, media_group_id="long")
    assert "1 not added: their captions would make the details longer than 2500" in refused.plain
    [*_, ack] = await alice.send("b" * 98)
    assert "2500 of 2500 characters" in ack.plain
    draft = await stored_draft(sessions, ALICE)
    assert draft["body"] == "a" * 2400 + "\n\n" + "b" * 98
    assert [a["file_id"] for a in draft["attachments"]] == ["only-photo"]

    # The preview of a body at the limit, even all in wide characters, fits a message.
    await alice.press("✅ Done")
    await alice.press(cb("behalf", "own"))
    _, preview = await alice.send("Skip")
    assert "b" * 98 in preview.plain


async def test_a_preview_of_wide_characters_is_clipped_to_fit(
    tg: Telegram, sessions: Sessions
) -> None:
    alice = tg.person(ALICE, "Alice", "en")
    preview = await to_preview(alice, title="🚧" * 100, body="🚧" * 2500, place="🚧" * 300)
    assert "…" in preview.plain  # clipped; the fixture checks it is within 4096
    await alice.press("✅ Confirm")
    [item] = await items(sessions)
    assert item.body == "🚧" * 2500  # only the preview is clipped


# ---- 7. twice ---------------------------------------------------------------------------


async def test_confirming_twice_files_once(tg: Telegram, sessions: Sessions) -> None:
    alice = tg.person(ALICE, "Alice", "en")
    preview = await to_preview(alice)
    data = confirm_data(preview)
    await alice.press("✅ Confirm")
    assert await alice.callback(data, message=preview) == []
    [item] = await items(sessions)
    assert tg.session.alerts[-1][1] == f"This draft has already been filed as {item.reference}."

    # The same update delivered twice (a webhook retry) files once and answers once.
    preview = await to_preview(alice, title="Second")
    query = CallbackQuery(
        id="cb-twice",
        from_user=alice.user,
        chat_instance="ci",
        message=RecordingSession._message(preview),
        data=confirm_data(preview),
    )
    update = Update(update_id=next(tg.updates), callback_query=query)
    mark = len(alice.chat)
    await tg.feed(update)
    await tg.feed(update)
    assert [i.title for i in await items(sessions)] == [TITLE, "Second"]
    assert len([s for s in alice.chat[mark:] if "WZ-2026-0002" in s.plain]) == 1
    assert [a for a in tg.session.alerts if a[0] == "cb-twice"] == [("cb-twice", None, False)]

    # A Confirm of a draft that was cancelled, never filed.
    preview = await to_preview(alice, title="Third")
    data = confirm_data(preview)
    await alice.press("✖️ Cancel")
    await alice.callback(data, message=preview)
    assert tg.session.alerts[-1][1] == "This draft is no longer available."
    assert len(await items(sessions)) == 2


# ---- 8. who may file ---------------------------------------------------------------------


async def test_a_stranger_is_offered_to_apply_and_nothing_is_stored(
    tg: Telegram, sessions: Sessions
) -> None:
    stan = tg.person(STRANGER, "Stan", "en")
    [reply] = await stan.send("📝 New suggestion")
    assert "Only appointed observers can file" in reply.plain
    assert "appointment" in reply.plain
    assert reply.buttons() == [("📝 Apply to become an observer", ApplyCb(step="begin").pack())]
    [again] = await stan.callback(MenuCb(go="new").pack())
    assert "Only appointed observers can file" in again.plain
    # A forged step button does nothing either.
    await stan.callback(cb("domain", "other"))
    await stan.callback(cb("confirm", "0" * 32))
    assert tg.session.alerts[-1][1] == "This draft is no longer available."
    assert await conversation(sessions, STRANGER) is None
    assert await items(sessions) == []


async def test_an_applicant_is_told_the_application_is_under_review(
    tg: Telegram, sessions: Sessions, clock: FixedClock
) -> None:
    async with sessions() as s, s.begin():
        await PeopleService(Store(s), POLICY, clock).apply(
            STRANGER, name="Stan", phone="13900000000", category=ObserverCategory.LAWYER
        )
    stan = tg.person(STRANGER, "Stan", "en")
    [reply] = await stan.send("/new")
    assert "Your application is being reviewed" in reply.plain
    assert reply.buttons() == []
    assert await conversation(sessions, STRANGER) is None


async def test_a_suspended_observer_cannot_file_but_can_follow(
    tg: Telegram, sessions: Sessions, world: World
) -> None:
    await set_observer_status(sessions, world.alice_observer_id, "suspended")
    alice = tg.person(ALICE, "Alice", "en")
    [reply] = await alice.send("📝 New suggestion")
    assert "Your appointment is suspended" in reply.plain
    assert "My suggestions" in reply.plain
    assert await conversation(sessions, ALICE) is None
    assert await items(sessions) == []


async def test_suspended_before_confirm_keeps_the_draft(
    tg: Telegram, sessions: Sessions, world: World
) -> None:
    alice = tg.person(ALICE, "Alice", "en")
    preview = await to_preview(alice)
    await set_observer_status(sessions, world.alice_observer_id, "suspended")
    await alice.press("✅ Confirm")
    assert "Only appointed observers can do this" in (tg.session.alerts[-1][1] or "")
    assert tg.session.alerts[-1][2]  # an alert
    assert await items(sessions) == []
    row = await conversation(sessions, ALICE)
    assert row is not None
    assert row.state == "Filing:preview"
    assert row.data["draft"]["title"] == TITLE
    assert preview.buttons()  # still there to try again


async def test_an_observer_whose_point_closed_is_asked_to_choose_another(
    tg: Telegram, sessions: Sessions, world: World
) -> None:
    async with sessions() as s, s.begin():
        await s.execute(sa.update(Point).where(Point.id == world.point_id).values(active=False))
    alice = tg.person(ALICE, "Alice", "en")
    [reply] = await alice.send("/new")
    assert "Your observation point 城区便民服务中心 has been closed" in reply.plain
    assert "choose another point" in reply.plain
    # The choice belongs to the moving flow (handlers/moving.py).
    assert reply.buttons() == [
        ("P02 · Chamber of Commerce", MoveCb(point=world.other_point_id).pack())
    ]
    assert await conversation(sessions, ALICE) is None
    assert await items(sessions) == []


# ---- 9. location --------------------------------------------------------------------------


async def test_location_by_telegram_by_text_and_skipped(tg: Telegram, sessions: Sessions) -> None:
    bob = tg.person(BOB, "Bob", "en")
    await bob.send("/new")
    await bob.press("Other")
    await bob.press("Problem")
    await bob.send("By location")
    await bob.send(BODY)
    await bob.press("✅ Done")
    await bob.press("My own observation")
    [refused] = await bob.sticker_like()
    assert "send your location with the button below" in refused.plain
    noted, preview = await bob.location(30.75, 108.38)
    assert noted.plain == "Location noted."
    assert "shared location (30.75000, 108.38000)" in preview.plain
    await bob.press("✅ Confirm")

    await to_preview(bob, title="By text", place="Wanzhou bus station, north exit")
    await bob.press("✅ Confirm")

    await bob.send("/new")
    await bob.press("Other")
    await bob.press("Problem")
    await bob.send("Skipped")
    await bob.send(BODY)
    await bob.press("✅ Done")
    await bob.press("My own observation")
    [refused] = await bob.send("z" * 301)
    assert "too long for a place: 301 characters, and at most 300 fit" in refused.plain
    noted, preview = await bob.send("Skip")
    assert noted.plain == "No location."
    assert "Location: not given" in preview.plain
    await bob.press("✅ Confirm")

    located, typed, skipped = await items(sessions)
    assert (located.latitude, located.longitude, located.location_text) == (30.75, 108.38, None)
    assert (typed.latitude, typed.location_text) == (None, "Wanzhou bus station, north exit")
    assert (skipped.latitude, skipped.longitude, skipped.location_text) == (None, None, None)
