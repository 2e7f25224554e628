"""The chat page: its files, the change feed it listens to, the files endpoint, and what
it may change about a person (about, phone, language)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from yarl import URL

from sandbox import page
from sandbox.changes import ChangeFeed
from sandbox.server import Sandbox, SandboxConfig
from tests.sandbox.conftest import BOT_ID, Client, eventually

WEB = Path(page.__file__).with_name("web")
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x02\x00\x00\x00\x03" + b"\x00" * 20
WITHIN = 5.0  # seconds; only bounds a hang


class EventStream:
    """The client side of GET /sandbox/events, as a browser's EventSource reads it."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response

    async def frame(self) -> list[str]:
        """The lines of the next frame (up to a blank line); [] when the stream ended."""
        lines: list[str] = []
        async with asyncio.timeout(WITHIN):
            while True:
                raw = await self.response.content.readline()
                if not raw:
                    return lines
                line = raw.decode("utf-8").rstrip("\n")
                if not line:
                    if lines:
                        return lines
                    continue
                lines.append(line)

    async def changes(self, count: int) -> list[dict[str, Any]]:
        """The next ``count`` changes (comments skipped)."""
        found: list[dict[str, Any]] = []
        while len(found) < count:
            lines = await self.frame()
            assert lines, f"the stream ended after {found}"
            data = [line[len("data: ") :] for line in lines if line.startswith("data: ")]
            if data:
                change = json.loads("\n".join(data))
                assert f"id: {change['seq']}" in lines
                found.append(change)
        return found

    async def silent(self, seconds: float = 0.2) -> None:
        """Nothing more arrives for a while."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                lines = await self.frame()
                raise AssertionError(f"an unexpected frame: {lines}")


@contextlib.asynccontextmanager
async def listening(client: Client) -> AsyncIterator[EventStream]:
    async with client.http.get(f"{client.url}/sandbox/events") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        assert response.headers["Cache-Control"] == "no-cache"
        stream = EventStream(response)
        first = await stream.frame()
        assert first == ["retry: 1000", ": connected"]
        yield stream


def brief(changes: list[dict[str, Any]]) -> list[tuple[str, int | None, int | None]]:
    return [(c["kind"], c["chat_id"], c["message_id"]) for c in changes]


# ---- the page's files ---------------------------------------------------------------------


async def fetch(client: Client, path: str) -> tuple[int, dict[str, str], bytes]:
    async with client.http.get(URL(client.url + path, encoded=True)) as resp:
        return resp.status, dict(resp.headers), await resp.read()


async def test_the_page_and_its_files_are_served_with_their_types(client: Client) -> None:
    for path in ("/", "/chat"):
        status, headers, body = await fetch(client, path)
        assert status == 200
        assert headers["Content-Type"] == "text/html; charset=utf-8"
        assert headers["Cache-Control"] == "no-cache"
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert b'<script src="/web/chat.js"' in body
        assert b'data-testid="composer"' in body
    for name, content_type in (
        ("chat.js", "text/javascript; charset=utf-8"),
        ("chat.css", "text/css; charset=utf-8"),
        ("index.html", "text/html; charset=utf-8"),
    ):
        status, headers, body = await fetch(client, f"/web/{name}")
        assert status == 200, name
        assert headers["Content-Type"] == content_type
        assert headers["Cache-Control"] == "no-cache"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert body == (WEB / name).read_bytes()


@pytest.mark.parametrize(
    "path",
    [
        "/web/missing.js",
        "/web/page.py",
        "/web/..%2Fpage.py",
        "/web/%2e%2e%2fpage.py",
        "/web/..%5Cpage.py",
        "/web/../page.py",
        "/web/%2e%2e/page.py",
        "/web/",
        "/web/.hidden.js",
        "/nothing",
        "/chat/extra",
    ],
)
async def test_nothing_else_is_served(client: Client, path: str) -> None:
    status, _headers, body = await fetch(client, path)
    assert status == 404, path
    assert b"import" not in body  # no Python source leaked


async def test_without_the_page_only_the_control_api_is_there() -> None:
    async with (
        Sandbox(SandboxConfig(port=0, page=False)) as sandbox,
        aiohttp.ClientSession() as http,
    ):
        async with http.get(f"{sandbox.url}/") as resp:
            assert resp.status == 404
        async with http.get(f"{sandbox.url}/sandbox/files/nope") as resp:
            assert resp.status == 404
            assert (await resp.json())["error"] == "no file nope"


def test_the_page_loads_nothing_from_outside() -> None:
    names = ("index.html", "chat.css", "chat.js")
    texts = {name: (WEB / name).read_text("utf-8") for name in names}
    for name, text in texts.items():
        # The SVG namespace is a name, not something fetched.
        outside = set(re.findall(r"(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}[^\s\"'`)]*", text))
        assert outside <= {"http://www.w3.org/2000/svg"}, (name, outside)
        assert "@import" not in text, name
        assert "@font-face" not in text, name
        assert "url(" not in text, name
    html = texts["index.html"]
    assert re.findall(r'<script[^>]*src="([^"]+)"', html) == ["/web/chat.js"]
    assert re.findall(r'<link[^>]*href="([^"]+)"', html) == ["data:,", "/web/chat.css"]
    assert "<img" not in html
    assert "<script>" not in html  # the policy allows no inline script


def _labels(script: str, language: str) -> set[str]:
    block = re.search(rf"\n  {language}: \{{\n(.*?)\n  \}},", script, re.DOTALL)
    assert block is not None, language
    return set(re.findall(r"^    ([A-Za-z]+):", block.group(1), re.MULTILINE))


def test_both_languages_of_the_page_are_complete() -> None:
    script = (WEB / "chat.js").read_text("utf-8")
    html = (WEB / "index.html").read_text("utf-8")
    chinese, english = _labels(script, "zh"), _labels(script, "en")
    assert chinese == english
    used = set(re.findall(r"\bt\(\"([A-Za-z]+)\"", script))
    used |= set(re.findall(r'data-i18n(?:-placeholder|-title)?="([A-Za-z]+)"', html))
    # Status names are looked up by value: connecting, connected, disconnected.
    used |= {"connecting", "connected", "disconnected"}
    assert used == chinese  # every label is used, none is missing
    assert len(chinese) > 30  # the blocks were found whole


# ---- the change feed ----------------------------------------------------------------------


async def test_each_change_to_a_chat_is_one_event(client: Client) -> None:
    alice = await client.user()
    await client.ok("getMe")
    async with listening(client) as stream:
        rate = {"inline_keyboard": [[{"text": "Rate", "callback_data": "rate"}]]}
        card = await client.ok("sendMessage", chat_id=alice, text="Filed", reply_markup=rate)
        assert card["message_id"] == 1
        assert brief(await stream.changes(1)) == [("message", alice, 1)]

        await client.ok(
            "editMessageText", chat_id=alice, message_id=1, text="Filed, edited", reply_markup=rate
        )
        assert brief(await stream.changes(1)) == [("edit", alice, 1)]

        await client.say(alice, "thanks")
        assert brief(await stream.changes(1)) == [("message", alice, 2)]

        menu = {"keyboard": [[{"text": "New"}, {"text": "Mine"}]], "resize_keyboard": True}
        await client.ok("sendMessage", chat_id=alice, text="Menu", reply_markup=menu)
        assert brief(await stream.changes(2)) == [("message", alice, 3), ("keyboard", alice, None)]
        # The same keyboard again changes nothing the page shows but the message.
        await client.ok("sendMessage", chat_id=alice, text="Menu again", reply_markup=menu)
        assert brief(await stream.changes(1)) == [("message", alice, 4)]
        await stream.silent()

        pressed = await client.control(
            "/sandbox/callbacks", {"chat_id": alice, "from_id": alice, "data": "rate"}
        )
        await stream.silent()  # a press is an update for the bot, not a change on screen
        await client.ok(
            "answerCallbackQuery",
            callback_query_id=pressed["callback_query_id"],
            text="Thank you",
            show_alert=True,
        )
        (answer,) = await stream.changes(1)
        assert answer == {
            "seq": answer["seq"],
            "kind": "callback_answer",
            "chat_id": alice,
            "message_id": 1,
            "query_id": pressed["callback_query_id"],
            "from_id": alice,
            "text": "Thank you",
            "show_alert": True,
            "url": None,
        }

        await client.ok("deleteMessage", chat_id=alice, message_id=3)
        assert brief(await stream.changes(1)) == [("delete", alice, 3)]

        await client.ok(
            "sendMessage", chat_id=alice, text="Bye", reply_markup={"remove_keyboard": True}
        )
        changes = await stream.changes(2)
        assert brief(changes) == [("message", alice, 5), ("keyboard", alice, None)]
        await stream.silent()
    assert client.world.chats[alice].keyboard is None


async def test_sequence_numbers_count_every_change(client: Client) -> None:
    alice = await client.user()
    async with listening(client) as stream:
        await client.say(alice, "one")
        await client.say(alice, "two")
        await client.ok("sendMessage", chat_id=alice, text="three")
        changes = await stream.changes(3)
    seqs = [c["seq"] for c in changes]
    assert seqs == list(range(seqs[0], seqs[0] + 3))
    assert seqs[-1] == client.world.changes.seq


async def test_photos_documents_albums_and_copies_are_messages(client: Client) -> None:
    alice = await client.user()
    async with listening(client) as stream:
        await client.control("/sandbox/messages", {"from_id": alice, "photo": True})
        status, answer = await client.multipart(
            "sendDocument", {"document": ("plan.pdf", b"%PDF-1.4")}, chat_id=str(alice)
        )
        assert status == 200, answer
        await client.ok("copyMessage", chat_id=alice, from_chat_id=alice, message_id=1)
        photo = client.world.chats[alice].messages[1].file_id
        await client.ok(
            "sendMediaGroup",
            chat_id=alice,
            media=[{"type": "photo", "media": photo}, {"type": "photo", "media": photo}],
        )
        assert brief(await stream.changes(5)) == [("message", alice, n) for n in range(1, 6)]


async def test_people_and_groups_are_changes_too(client: Client) -> None:
    async with listening(client) as stream:
        alice = await client.user()
        assert brief(await stream.changes(1)) == [("user", alice, None)]
        bob = await client.user("Bob")
        await stream.changes(1)
        group = await client.group({alice: "creator"})
        assert brief(await stream.changes(1)) == [("chat", group, None)]
        await client.control(f"/sandbox/chats/{group}/members", {"user_id": bob})
        assert brief(await stream.changes(1)) == [("chat", group, None)]
        await client.control("/sandbox/block", {"user_id": alice, "blocked": True})
        assert brief(await stream.changes(1)) == [("user", alice, None)]
        await client.control("/sandbox/block", {"user_id": alice, "blocked": True})
        await stream.silent()  # no change, no event
        await patch(client, alice, {"language_code": "en"})
        assert brief(await stream.changes(1)) == [("user", alice, None)]
        await client.control("/sandbox/reset")
        assert brief(await stream.changes(1)) == [("reset", None, None)]


async def test_two_subscribers_each_get_every_change(client: Client) -> None:
    alice = await client.user()
    async with listening(client) as first, listening(client) as second:
        assert client.world.changes.listeners == 2
        await client.say(alice, "hello")
        await client.ok("sendMessage", chat_id=alice, text="hi")
        expected = [("message", alice, 1), ("message", alice, 2)]
        one, two = await first.changes(2), await second.changes(2)
        assert brief(one) == brief(two) == expected
        assert one == two
    # A stream the page closed is forgotten at its next write at the latest.
    await client.say(alice, "anyone?")

    async def forgotten() -> bool:
        return client.world.changes.listeners == 0

    await eventually(forgotten)


async def test_the_stream_keeps_itself_alive(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(page, "HEARTBEAT_SECONDS", 0.05)
    async with listening(client) as stream:
        assert await stream.frame() == [": heartbeat"]


@pytest.mark.parametrize("streams", [1, 3])
async def test_closing_the_sandbox_ends_the_streams_at_once(streams: int) -> None:
    sandbox = Sandbox(SandboxConfig(port=0))
    await sandbox.start()
    try:
        async with aiohttp.ClientSession() as http:
            responses = [await http.get(f"{sandbox.url}/sandbox/events") for _ in range(streams)]
            for response in responses:
                assert await EventStream(response).frame() == ["retry: 1000", ": connected"]
            started = time.monotonic()
            await sandbox.close()
            # The runner waits up to its 1 s shutdown timeout for handlers that hang on.
            assert time.monotonic() - started < 0.8
            for response in responses:
                assert await EventStream(response).frame() == []
                response.release()
    finally:
        await sandbox.close()


async def test_a_reader_that_falls_behind_is_told_to_start_over() -> None:
    feed = ChangeFeed(backlog_limit=3)
    feed.publish("message", chat_id=1, message_id=1)  # nobody listening: only counted
    assert feed.seq == 1
    subscription = feed.subscribe()
    for n in range(2, 7):
        feed.publish("message", chat_id=1, message_id=n)
    assert await subscription.next(0) == [
        {"seq": 6, "kind": "resync", "chat_id": None, "message_id": None}
    ]
    feed.publish("edit", chat_id=1, message_id=2)
    assert await subscription.next(0) == [{"seq": 7, "kind": "edit", "chat_id": 1, "message_id": 2}]
    assert await subscription.next(0.01) == []
    feed.close()
    assert await subscription.next(5) is None
    assert await feed.subscribe().next(5) is None


# ---- files --------------------------------------------------------------------------------


async def test_files_are_served_with_their_types(client: Client) -> None:
    alice = await client.user()
    sent = await client.control(
        "/sandbox/messages",
        {"from_id": alice, "photo": {"base64": base64.b64encode(PNG).decode()}},
    )
    photo_id = sent["message"]["photo"][-1]["file_id"]
    status, headers, body = await fetch(client, f"/sandbox/files/{photo_id}")
    assert (status, headers["Content-Type"], body) == (200, "image/png", PNG)
    assert "Content-Disposition" not in headers

    status, answer = await client.multipart(
        "sendDocument", {"document": ("报告 1.pdf", b"%PDF-1.4 data")}, chat_id=str(alice)
    )
    assert status == 200, answer
    document_id = answer["result"]["document"]["file_id"]
    status, headers, body = await fetch(client, f"/sandbox/files/{document_id}")
    assert (status, headers["Content-Type"], body) == (200, "application/pdf", b"%PDF-1.4 data")
    assert headers["Content-Disposition"] == (
        "attachment; filename=\"__ 1.pdf\"; filename*=UTF-8''%E6%8A%A5%E5%91%8A%201.pdf"
    )
    assert headers["X-Content-Type-Options"] == "nosniff"


async def test_nothing_a_file_holds_can_run_in_the_page(client: Client) -> None:
    alice = await client.user()
    script = base64.b64encode(b"<script>alert(1)</script>").decode()
    html = await client.control(
        "/sandbox/messages",
        {"from_id": alice, "document": {"file_name": "x.html", "mime_type": "text/html",
                                        "base64": script}},
    )  # fmt: skip
    status, headers, _body = await fetch(
        client, f"/sandbox/files/{html['message']['document']['file_id']}"
    )
    assert (status, headers["Content-Type"]) == (200, "text/html")
    assert headers["Content-Disposition"].startswith("attachment;")
    fake = await client.control(
        "/sandbox/messages", {"from_id": alice, "photo": {"base64": script}}
    )
    status, headers, _body = await fetch(
        client, f"/sandbox/files/{fake['message']['photo'][-1]['file_id']}"
    )
    # Not an image by its bytes: not shown as one, whatever it was sent as.
    assert (status, headers["Content-Type"]) == (200, "application/octet-stream")


async def test_an_unknown_file_is_a_404(client: Client) -> None:
    status, answer = await client.get("/sandbox/files/AgACnope")
    assert (status, answer) == (404, {"error": "no file AgACnope"})


# ---- about, phone and PATCH ----------------------------------------------------------------


async def patch(client: Client, user_id: int | str, body: Any) -> Any:
    status, answer = await patch_status(client, user_id, body)
    assert status == 200, answer
    return answer


async def patch_status(client: Client, user_id: int | str, body: Any) -> tuple[int, Any]:
    data = body if isinstance(body, str) else json.dumps(body)
    async with client.http.patch(
        f"{client.url}/sandbox/users/{user_id}",
        data=data,
        headers={"Content-Type": "application/json"},
    ) as resp:
        return resp.status, await resp.json()


async def test_about_and_phone_are_the_sandboxs_not_telegrams(client: Client) -> None:
    made = await client.control(
        "/sandbox/users",
        {"first_name": "Li", "about": "observer · service centre", "phone": "+86 139 1234 5678"},
    )
    li = made["id"]
    assert made == {
        "id": li,
        "is_bot": False,
        "first_name": "Li",
        "about": "observer · service centre",
        "phone": "+86 139 1234 5678",
    }
    bob = await client.user("Bob")
    users = (await client.get("/sandbox/users"))[1]["users"]
    assert users == [
        {"id": li, "is_bot": False, "first_name": "Li", "blocked": False,
         "about": "observer · service centre", "phone": "+86 139 1234 5678"},
        {"id": bob, "is_bot": False, "first_name": "Bob", "blocked": False, "about": None,
         "phone": None},
    ]  # fmt: skip
    await client.say(li, "hello")
    group = await client.group({li: "creator"})
    (update,) = await client.ok("getUpdates")
    assert update["message"]["from"] == {"id": li, "is_bot": False, "first_name": "Li"}
    member = await client.ok("getChatMember", chat_id=group, user_id=li)
    assert member["user"] == {"id": li, "is_bot": False, "first_name": "Li"}
    chats = (await client.get("/sandbox/chats"))[1]["chats"]
    assert chats[0]["user"] == {"id": li, "is_bot": False, "first_name": "Li"}


async def test_a_changed_language_reaches_the_bot_with_the_next_update(client: Client) -> None:
    alice = await client.user("Alice", language_code="zh-hans")
    await client.say(alice, "/start")
    changed = await patch(client, alice, {"language_code": "en", "first_name": "Ally"})
    assert changed == {
        "id": alice,
        "is_bot": False,
        "first_name": "Ally",
        "language_code": "en",
        "blocked": False,
        "about": None,
        "phone": None,
    }
    await client.say(alice, "/help")
    first, second = await client.ok("getUpdates")
    assert first["message"]["from"]["language_code"] == "zh-hans"
    assert second["message"]["from"] == {
        "id": alice,
        "is_bot": False,
        "first_name": "Ally",
        "language_code": "en",
    }
    await patch(client, alice, {"about": "liaison", "phone": "13800001000"})
    cleared = await patch(client, alice, {"language_code": None, "about": None})
    assert "language_code" not in cleared  # as Telegram leaves it out when unknown
    assert (cleared["about"], cleared["phone"]) == (None, "13800001000")
    users = (await client.get("/sandbox/users"))[1]["users"]
    assert users == [cleared]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, "nothing to change: give any of first_name, last_name, language_code, about, phone"),
        (
            {"username": "x"},
            "cannot change username; a person's first_name, last_name, language_code, about, "
            "phone can be changed",
        ),
        ({"first_name": None}, '"first_name" is required (a non-empty string)'),
        ({"first_name": ""}, "\"first_name\" must be a non-empty string, not ''"),
        (
            {"language_code": "中文"},
            '"language_code" must be a language tag like "en" or "zh-hans", not \'中文\'',
        ),
        ({"language_code": 7}, '"language_code" must be a non-empty string, not 7'),
        (
            {"phone": "call me"},
            '"phone" must be a phone number like "+86 138 0000 1000", not \'call me\'',
        ),
        ({"about": "x" * 201}, '"about" is over 200 characters'),
        ("[1]", "the body must be a JSON object"),
        ("{", "the body must be a JSON object"),
    ],
)
async def test_patch_refuses_bad_input_and_changes_nothing(
    client: Client, body: Any, error: str
) -> None:
    alice = await client.user("Alice", language_code="zh-hans")
    before = (await client.get("/sandbox/users"))[1]
    status, answer = await patch_status(client, alice, body)
    assert (status, answer) == (400, {"error": error})
    assert (await client.get("/sandbox/users"))[1] == before


async def test_patch_checks_everything_before_changing_anything(client: Client) -> None:
    alice = await client.user("Alice", language_code="zh-hans")
    status, _answer = await patch_status(
        client, alice, {"first_name": "Ally", "language_code": "not a tag"}
    )
    assert status == 400
    assert client.world.users[alice].first_name == "Alice"


async def test_patch_needs_a_person_who_exists(client: Client) -> None:
    status, answer = await patch_status(client, 4242, {"about": "x"})
    assert (status, answer) == (
        404,
        {"error": "no user 4242 (user_id); create it with POST /sandbox/users"},
    )
    status, answer = await patch_status(client, "me", {"about": "x"})
    assert (status, answer) == (400, {"error": "user_id must be an integer"})


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"phone": "12"}, '"phone" must be a phone number like "+86 138 0000 1000", not \'12\''),
        ({"about": 5}, '"about" must be a non-empty string, not 5'),
    ],
)
async def test_creating_a_person_checks_about_and_phone(
    client: Client, fields: dict[str, Any], error: str
) -> None:
    status, answer = await client.post("/sandbox/users", {"first_name": "Li", **fields})
    assert (status, answer) == (400, {"error": error})
    assert client.world.users == {}


async def test_the_bot_id_is_never_a_person(client: Client) -> None:
    await client.ok("getMe")
    status, _answer = await patch_status(client, BOT_ID, {"about": "x"})
    assert status == 404
