"""The demo in a real browser: Debian's Chromium, headless, driven by Playwright.

On the running demo, everything happens by clicking and typing in the chat page: an
observer files a problem with a photo, an admin in the group takes and adopts it for the
market bureau, the bureau's liaison accepts it and marks it implemented, and the
observer rates it. The observer's chat shows each piece of feedback. The screenshots of
the observer's chat and the admin group go to ``OUTPOST_SCREENSHOTS`` (``make
screenshots`` points it at docs/) or the test's temporary folder.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.demo.district import (
    ADMIN_GROUP_ID,
    DEMO_ADMIN,
    DEMO_LIAISON,
    DEMO_OBSERVER,
    PEOPLE,
    STRANGER,
)
from bot.domain.limits import ATTACHMENTS_MAX, TEXT_MAX
from tests.conftest import unavailable
from tests.demo.harness import WAIT, Demo, eventually
from tests.demo.labels import zh, zh_part

pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    # The machine has no internet: without these Chromium keeps trying Google's hosts.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
TIMEOUT_MS = WAIT * 1000
TITLE = "个体工商户年报系统频繁掉线"
DETAILS = "本月市场主体年报系统多次无法登录，商户反映填报到一半就掉线，数据要重新录入。"
PROGRESS = "已联系系统运维单位，扩容了服务器。"
DONE = "年报系统已恢复稳定，并开通了电话辅导专线。"
INSTRUCTION = "请联系系统运维单位排查掉线原因，一周内反馈。"
PREVIEW = (
    "<b>Preview</b>. Check everything, then press <b>Confirm</b> to send it to "
    "the district rule-of-law office."
)
# The liaison's prompts (handlers.department), as the catalog has them.
REPORT_ASKED = (
    "Progress report on {subject}: write what has been done; you may send several "
    "messages (at most {limit} characters in all) and add photos or documents (at "
    "most {most}). The observer and the office receive it. Then press <b>{send}</b>."
)
SUMMARY_ASKED = (
    "Marking {subject} implemented: if you like, describe what was done (at most "
    "{limit} characters) and add photos or documents (at most {most}). Then press "
    "<b>{send}</b>."
)
TAKEN = "Your suggestion {subject} has been taken up by the district office for review."


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        unavailable("Debian's chromium is not installed (`make browser` installs it)")
    assert found is not None
    return found


@pytest.fixture
def browser() -> Iterator[Browser]:
    path = chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    running = Demo(tmp_path / "demo-data")
    yield running
    running.kill()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("OUTPOST_SCREENSHOTS") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def png(width: int = 320, height: int = 200) -> bytes:
    """A picture of a dusk sky over a street: a real PNG the sandbox can measure."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = bytearray()
    for y in range(height):
        rows.append(0)
        for x in range(width):
            lamp = (x - 230) ** 2 + (y - 60) ** 2 < 300
            pole = 226 <= x <= 234 and y > 60
            if lamp:
                rows += bytes((255, 214, 102))
            elif pole or y > 160:
                rows += bytes((60, 60, 70))
            else:
                rows += bytes((30 + y // 3, 50 + y // 3, 110 + y // 2))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(rows)))
        + chunk(b"IEND", b"")
    )


class ChatPage:
    """The page as one person at a time uses it."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.current: int | None = None

    def open(self, chat_id: int) -> None:
        self.current = chat_id
        self._show(chat_id)
        expect(self.page.locator("[data-testid=chat-title]")).to_be_visible()

    def _show(self, chat_id: int) -> None:
        # The list re-sorts as messages arrive, so a click can land on the row that has
        # just moved under the pointer: click until the pane shows this chat.
        row = self.page.locator(f'[data-testid=chat][data-chat-id="{chat_id}"]')
        pane = self.page.locator("[data-testid=chat-pane]")
        for _ in range(5):
            row.click()
            try:
                expect(pane).to_have_attribute("data-chat-id", str(chat_id), timeout=3000)
                return
            except AssertionError:
                continue
        expect(pane).to_have_attribute("data-chat-id", str(chat_id))

    def still_open(self) -> None:
        """The pane still shows the chat opened last (a reconnect of the page, under a
        loaded machine, may have shown another): open it again if not."""
        pane = self.page.locator("[data-testid=chat-pane]")
        if self.current is not None and pane.get_attribute("data-chat-id") != str(self.current):
            print(f"the pane left chat {self.current}: opening it again")
            self._show(self.current)

    def speak_as(self, user_id: int) -> None:
        self.page.locator("[data-testid=speaker]").select_option(str(user_id))

    def say(self, text: str) -> None:
        composer = self.page.locator("[data-testid=composer]")
        composer.fill(text)
        self.page.locator("[data-testid=send]").click()
        expect(composer).to_have_value("")

    def attach(self, name: str, data: bytes, mime: str) -> None:
        self.page.locator("[data-testid=attach-input]").set_input_files(
            {"name": name, "mimeType": mime, "buffer": data}
        )

    def bot_messages(self, containing: str | re.Pattern[str] | None = None) -> Locator:
        found = self.page.locator('[data-testid=message][data-from-bot="true"]')
        return found if containing is None else found.filter(has_text=containing)

    def expect(self, text: str | re.Pattern[str]) -> Locator:
        """The newest bot message containing ``text``, once it is shown."""
        self.still_open()
        message = self.bot_messages(text).last
        expect(message).to_be_visible(timeout=TIMEOUT_MS)
        return message

    def card(self, reference: str, title: str) -> Locator:
        """An item's card: it names the item and its title (the files sent after it
        name only the item)."""
        found = self.bot_messages(reference).filter(has_text=title).last
        expect(found).to_be_visible(timeout=TIMEOUT_MS)
        return found

    def press(self, label: str, on: Locator | None = None) -> None:
        """An inline button with exactly this label, on ``on`` or on the newest bot
        message that has one."""
        if on is None:
            on = (
                self.bot_messages()
                .filter(has=self.page.get_by_role("button", name=label, exact=True))
                .last
            )
        button = on.locator("[data-testid=inline-button]").get_by_text(label, exact=True)
        expect(button).to_be_visible(timeout=TIMEOUT_MS)
        button.click()

    def about(self, reference: str, text: str) -> Locator:
        """The newest bot message about an item that says ``text``, once it is shown."""
        found = self.bot_messages(text).filter(has_text=reference).last
        expect(found).to_be_visible(timeout=TIMEOUT_MS)
        return found

    def pinned(self, message: Locator) -> Locator:
        """The same message for good, whatever its text becomes when edited."""
        message_id = message.get_attribute("data-message-id")
        return self.page.locator(f'[data-testid=message][data-message-id="{message_id}"]')

    def press_reply(self, label: str) -> None:
        button = self.page.locator("[data-testid=reply-button]").get_by_text(label, exact=True)
        expect(button).to_be_visible(timeout=TIMEOUT_MS)
        button.click()


def buttons(message: Locator) -> Locator:
    return message.locator("[data-testid=inline-button]")


def tally(written: str, send: str) -> str:
    """What a liaison's conversation answers each message with (handlers.department):
    how much is written so far, and the button that goes on (its zh_CN label)."""
    text = zh(
        "So far: {chars} of {limit} characters, {files} of {most} files. Send more, or "
        "press <b>{send}</b> when you are done.",
        chars=len(written),
        limit=TEXT_MAX,
        files=0,
        most=ATTACHMENTS_MAX,
        send=send,
    )
    return re.sub(r"<[^>]+>", "", text)


def settled(demo: Demo) -> bool:
    return demo.rows("SELECT count(*) FROM outbox WHERE state = 'pending'")[0][0] == 0


def name_of(user_id: int) -> str:
    return next(p.first_name for p in PEOPLE if p.user_id == user_id)


def open_demo(demo: Demo, browser: Browser, width: int, height: int) -> Page:
    url = demo.start()
    # The seeded history is delivered first, so the group is quiet when the office acts.
    eventually(lambda: settled(demo), "the seeded notices delivered", 90)
    # The office's clock and language, as the people the demo plays would have them.
    page = browser.new_page(
        viewport={"width": width, "height": height},
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
    )
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url + "/")
    return page


def item_row(demo: Demo, reference: str) -> tuple[Any, ...]:
    return demo.rows(f"SELECT id, status FROM suggestions WHERE reference = '{reference}'")[0]


def test_the_whole_loop_by_clicking_and_typing_in_the_page(
    demo: Demo, browser: Browser, shots: Path
):
    page = open_demo(demo, browser, 1280, 900)
    chat = ChatPage(page)

    # ---- the observer files a problem with a photo -----------------------------------
    chat.open(DEMO_OBSERVER)
    chat.say("/new")
    chat.expect(zh_part("<b>New suggestion</b> · step {number} of {total}"))
    chat.press(zh("Optimising the business environment"))
    chat.press(zh("Problem"))
    chat.say(TITLE)
    chat.say(DETAILS)
    chat.expect(zh("Added to the details."))
    chat.attach("年报系统截图.png", png(), "image/png")
    chat.expect(zh("Photo added."))
    chat.press(zh("✅ Done"))
    chat.press(zh("On behalf of a business"))
    chat.press_reply(zh("Skip"))
    chat.expect(zh_part(PREVIEW))
    chat.press(zh("✅ Confirm"))
    sent = chat.expect(re.compile(r"WZ-\d{4}-\d{4}"))
    reference = re.search(r"WZ-\d{4}-\d{4}", sent.inner_text())
    assert reference is not None
    ref = reference.group(0)
    # The photo shows in the observer's own chat, as an image the page loaded.
    photo = page.locator('[data-testid=message][data-from-bot="false"] img').last
    expect(photo).to_be_visible()
    assert photo.evaluate("img => img.naturalWidth") == 320
    eventually(lambda: item_row(demo, ref)[1] == "submitted", f"{ref} filed")

    # ---- an admin in the group takes it and adopts it for the market bureau -----------
    chat.open(ADMIN_GROUP_ID)
    chat.speak_as(DEMO_ADMIN)

    def card() -> Locator:
        return chat.card(ref, TITLE)

    chat.press(zh("🔍 Take"), on=card())
    expect(card()).to_contain_text(zh("Under review"))
    chat.press(zh("✅ Adopt"), on=card())
    picker = chat.expect(zh_part("{who}, choose the department that will implement {item}:"))
    market = picker.locator("[data-testid=inline-button]").filter(has_text="MARKET")
    market.click()
    due = chat.bot_messages().filter(has=page.get_by_text(re.compile(r"^5 .*·"))).last
    due.locator("[data-testid=inline-button]").filter(has_text=re.compile(r"^5 ")).click()
    # The office's instruction to the department, typed as the reply to its prompt.
    chat.expect(zh_part("{who}, {item} goes to {department}."))
    chat.say(INSTRUCTION)
    expect(card()).to_contain_text(zh("Adopted"))
    card().evaluate("card => card.scrollIntoView({block: 'start'})")
    page.screenshot(path=str(shots / "admin-group.png"))
    eventually(lambda: item_row(demo, ref)[1] == "adopted", f"{ref} adopted")

    # ---- the liaison accepts it, reports progress and marks it implemented ------------
    chat.open(DEMO_LIAISON)
    assignment = chat.card(ref, TITLE)
    # The department never learns who filed it, and reads the office's instruction.
    expect(assignment).not_to_contain_text(name_of(DEMO_OBSERVER))
    expect(assignment).to_contain_text(INSTRUCTION)
    chat.press(zh("✅ Accept"), on=assignment)
    # The chat holds other items' cards too: each press is on this item's card.
    chat.press(zh("📝 Report progress"), on=chat.card(ref, TITLE))
    asked = chat.pinned(chat.about(ref, zh_part(REPORT_ASKED)))
    chat.say(PROGRESS)
    # Each message written is answered with the report's buttons; only the newest
    # message keeps them, and the liaison presses them there.
    report = chat.pinned(chat.expect(tally(PROGRESS, zh("✅ Send the report"))))
    expect(buttons(asked)).to_have_count(0)
    chat.press(zh("✅ Send the report"), on=report)
    expect(report).to_contain_text(
        zh_part(
            "✅ Your progress report on <b>{reference}</b> has been sent to the observer "
            "and the office."
        )
    )
    expect(buttons(report)).to_have_count(0)
    # Marking it implemented: what was done, then a step on to confirm it in place.
    chat.press(zh("🎯 Implemented"), on=chat.card(ref, TITLE))
    asked = chat.pinned(chat.about(ref, zh_part(SUMMARY_ASKED)))
    chat.say(DONE)
    summary = chat.pinned(chat.expect(tally(DONE, zh("Continue ➡️"))))
    expect(buttons(asked)).to_have_count(0)
    chat.press(zh("Continue ➡️"), on=summary)
    expect(summary).to_contain_text(zh_part("<b>What was done:</b>"))
    expect(summary).to_contain_text(DONE)
    chat.press(zh("🎯 Yes, it is implemented"), on=summary)
    expect(summary).to_contain_text(
        zh_part(
            "🎯 <b>{reference}</b> has been marked implemented. The observer is asked to "
            "rate the outcome."
        )
    )
    expect(buttons(summary)).to_have_count(0)
    expect(chat.card(ref, TITLE)).to_contain_text(zh("Implemented"))

    # ---- the observer hears of every step and rates the outcome -----------------------
    chat.open(DEMO_OBSERVER)
    chat.expect(zh_part(TAKEN))
    chat.expect(zh_part("Your suggestion {subject} has been adopted."))
    chat.expect(
        zh_part("The responsible department has started implementing your suggestion {subject}.")
    )
    chat.expect(PROGRESS)
    ask = chat.expect(DONE)
    chat.press(zh("😊 Satisfied"), on=ask)
    chat.press(zh("Skip"))
    chat.expect(zh_part("Thank you for rating <b>{reference}</b>: {rating}."))
    eventually(lambda: item_row(demo, ref)[1] == "closed", f"{ref} closed")
    item_id = item_row(demo, ref)[0]
    actions = [
        row[0]
        for row in demo.rows(
            f"SELECT action FROM events WHERE suggestion_id = {item_id} ORDER BY id"
        )
    ]
    assert actions == [
        "submit", "take", "adopt", "accept", "progress", "mark_implemented", "rate"
    ]  # fmt: skip

    page.locator("[data-testid=messages]").evaluate("el => el.scrollTo(0, el.scrollHeight)")
    page.screenshot(path=str(shots / "observer-chat.png"))

    assert demo.interrupt() == 0
    assert demo.log_errors() == []


def test_a_stranger_switches_to_english_and_redeems_an_invite_at_a_phones_width(
    demo: Demo, browser: Browser, shots: Path
):
    page = open_demo(demo, browser, 390, 844)
    chat = ChatPage(page)
    chats = page.locator("[data-testid=chat]")

    # At a phone's width the list and a chat take the whole screen in turn.
    chat.open(STRANGER)
    expect(chats.first).to_be_hidden()
    # The stranger's app speaks English: the page follows, and so does the bot.
    page.locator("[data-testid=language] [data-lang=en]").click()
    expect(page.locator("[data-testid=language] [data-lang=en]")).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(page.locator("[data-testid=composer]")).to_have_attribute(
        "placeholder", re.compile("message", re.IGNORECASE)
    )
    chat.say("/start")
    chat.expect("rule-of-law")
    page.locator("[data-testid=back]").click()
    expect(chats.first).to_be_visible()

    # The office invites someone to P16; the link, opened as the stranger, appoints them.
    chat.open(ADMIN_GROUP_ID)
    chat.speak_as(DEMO_ADMIN)
    chat.say("/invite P16")
    invite = chat.expect(zh_part("One-time invite link for a new observer at {point}:"))
    invite.locator("[data-testid=deep-link]").click()
    page.locator(f'[data-testid=deeplink-person][data-user-id="{STRANGER}"]').click()
    expect(page.locator(f'[data-testid=chat-pane][data-chat-id="{STRANGER}"]')).to_be_visible()
    chat.current = STRANGER  # the link opened the stranger's chat
    chat.expect(f"Welcome, {name_of(STRANGER)}! You are now an observer at")
    page.screenshot(path=str(shots / "phone.png"))
    appointed = demo.rows(
        "SELECT p.code FROM observers o JOIN points p ON p.id = o.point_id "
        f"WHERE o.user_id = {STRANGER} AND o.status = 'appointed'"
    )
    assert appointed == [("P16",)]
    assert demo.interrupt() == 0
    assert demo.log_errors() == []
