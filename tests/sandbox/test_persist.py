"""The world kept in a file between runs (SandboxConfig.state_file, ``--state``)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from sandbox import persist
from sandbox.server import Sandbox, SandboxConfig
from tests.sandbox.conftest import TOKEN, Client, eventually

# A real 2x3 PNG header is enough for the sandbox to read its size.
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x02\x00\x00\x00\x03" + b"\x00" * 20
INLINE = {"inline_keyboard": [[{"text": "Adopt", "callback_data": "adopt:1"}]]}
MENU = {"keyboard": [[{"text": "New suggestion"}], [{"text": "Help"}]], "resize_keyboard": True}
HANG = 20


@asynccontextmanager
async def running(state: Path) -> AsyncIterator[Client]:
    config = SandboxConfig(port=0, state_file=str(state), limits=False)
    async with Sandbox(config) as sandbox, aiohttp.ClientSession() as http:
        yield Client(sandbox, http)


async def download(client: Client, file_id: str) -> bytes:
    file = await client.ok("getFile", file_id=file_id)
    async with client.http.get(f"{client.url}/file/bot{TOKEN}/{file['file_path']}") as resp:
        assert resp.status == 200
        return await resp.read()


async def what_is_shown(client: Client) -> dict[str, Any]:
    """Everything the control API shows of the world that a restart must keep."""
    _, users = await client.get("/sandbox/users")
    _, chats = await client.get("/sandbox/chats")
    _, updates = await client.get("/sandbox/updates")
    _, bot = await client.get("/sandbox/bot")
    messages = {chat["id"]: await client.messages(chat["id"]) for chat in chats["chats"]}
    return {"users": users, "chats": chats, "messages": messages, "updates": updates, "bot": bot}


async def build_a_world(client: Client) -> dict[str, Any]:
    """People, a group, messages both ways; the bot's settings. Returns what was made."""
    alice = await client.user("Alice", username="alice", language_code="zh-hans")
    bob = await client.user("Bob", last_name="Li")
    office = await client.group({alice: "creator", bob: "administrator"}, title="Office")
    await client.ok("setMyCommands", commands=[{"command": "start", "description": "Begin"}])
    await client.ok("getUpdates", allowed_updates=["message", "callback_query"])
    await client.say(alice, "/start")
    await client.ok("sendMessage", chat_id=alice, text="<b>Menu</b>", parse_mode="HTML",
                    reply_markup=MENU)  # fmt: skip
    photo = await client.control(
        "/sandbox/messages",
        {"from_id": alice, "photo": {"base64": base64.b64encode(PNG).decode()},
         "caption": "the pothole"},
    )  # fmt: skip
    (size,) = photo["message"]["photo"]
    card = await client.ok("sendMessage", chat_id=office, text="Card WZ-1", reply_markup=INLINE)
    await client.ok(
        "editMessageText",
        chat_id=office,
        message_id=card["message_id"],
        text="Card WZ-1 <i>in review</i>",
        parse_mode="HTML",
        reply_markup=INLINE,
    )
    await client.say(bob, "Looking at it", chat_id=office, reply_to_message_id=card["message_id"])
    await client.control("/sandbox/callbacks", {"chat_id": office, "from_id": bob, "text": "Adopt"})
    return {"alice": alice, "bob": bob, "office": office, "photo": size["file_id"]}


async def test_the_world_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "s.json"
    async with running(state) as client:
        made = await build_a_world(client)
        before = await what_is_shown(client)
    saved = json.loads(state.read_text())
    assert saved["format"] == 1

    async with running(state) as client:
        assert await what_is_shown(client) == before
        assert await download(client, made["photo"]) == PNG
        # The edit, the inline keyboard and the reply keyboard are all there.
        office = await client.messages(made["office"])
        assert office[0]["html"] == "Card WZ-1 <i>in review</i>"
        assert (office[0]["edited"], office[0]["reply_markup"]) == (True, INLINE)
        (alice,) = [c for c in before["chats"]["chats"] if c["id"] == made["alice"]]
        assert alice["keyboard"] == MENU
        assert len(before["messages"][made["alice"]]) == 3


async def test_ids_continue_after_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "s.json"
    async with running(state) as client:
        made = await build_a_world(client)
        last_in_office = (await client.messages(made["office"]))[-1]["message_id"]
        last_in_alice = (await client.messages(made["alice"]))[-1]["message_id"]
        _, updates = await client.get("/sandbox/updates")
        last_update = updates["updates"][-1]["update_id"]

    async with running(state) as client:
        said = await client.say(made["alice"], "hello again")
        assert said["message"]["message_id"] == last_in_alice + 1
        assert said["update_id"] == last_update + 1
        sent = await client.ok("sendMessage", chat_id=made["office"], text="Next")
        assert sent["message_id"] == last_in_office + 1
        # A new file gets a new id and path: the old photo is still the old photo.
        status, answer = await client.multipart(
            "sendPhoto", {"photo": ("new.png", PNG + b"new")}, chat_id=str(made["alice"])
        )
        assert status == 200, answer
        (size,) = answer["result"]["photo"]
        assert size["file_id"] != made["photo"]
        assert await download(client, made["photo"]) == PNG
        assert await download(client, size["file_id"]) == PNG + b"new"


async def test_ids_continue_after_a_reset_and_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "s.json"
    async with running(state) as client:
        alice = await client.user()
        await client.say(alice, "one")
        said = await client.say(alice, "two")
        await client.control("/sandbox/reset")
    # The world is empty; only the counters remember what was handed out.
    async with running(state) as client:
        assert await client.user() == alice
        again = await client.say(alice, "three")
        assert again["message"]["message_id"] == said["message"]["message_id"] + 1
        assert again["update_id"] == said["update_id"] + 1


async def test_the_bots_settings_survive_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "s.json"
    async with running(state) as client:
        await client.ok("setWebhook", url="http://127.0.0.1:9/hook", secret_token="s3cret",
                        allowed_updates=["message"])  # fmt: skip
        _, before = await client.get("/sandbox/bot")
    async with running(state) as client:
        _, after = await client.get("/sandbox/bot")
        assert after == before
        assert after["webhook"]["secret_token"] == "s3cret"
        assert (await client.ok("getWebhookInfo"))["url"] == "http://127.0.0.1:9/hook"


async def test_an_unconfirmed_update_is_delivered_after_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "s.json"
    async with running(state) as client:
        alice = await client.user()
        first = (await client.say(alice, "confirmed"))["update_id"]
        assert [u["update_id"] for u in await client.ok("getUpdates")] == [first]
        second = (await client.say(alice, "not confirmed"))["update_id"]
        # Handed out but never confirmed: the bot stopped before its next getUpdates.
        handed = await client.ok("getUpdates", offset=first + 1)
        assert [u["update_id"] for u in handed] == [second]

    async with running(state) as client:
        (update,) = await client.ok("getUpdates", timeout=0)
        assert (update["update_id"], update["message"]["text"]) == (second, "not confirmed")
        assert await client.ok("getUpdates", offset=second + 1) == []


async def test_an_update_utf8_cannot_hold_is_kept_too(tmp_path: Path) -> None:
    state = tmp_path / "s.json"
    odd = {"message": {"text": "lone \ud800 half, 汉字"}}
    async with running(state) as client:
        await client.control("/sandbox/updates", {"update": odd})

    async with running(state) as client:
        (update,) = await client.ok("getUpdates", timeout=0)
        assert update["message"] == odd["message"]


async def test_the_world_is_saved_while_it_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "s.json"

    def saved() -> dict[str, Any]:
        return json.loads(state.read_text()) if state.exists() else {}

    async def has_user() -> bool:
        return [u["first_name"] for u in saved().get("users", [])] == ["Alice"]

    async def has_message() -> bool:
        chats = saved().get("chats", [])
        return [m["plain"] for c in chats for m in c["messages"]] == ["hi"]

    # Ticks far apart would only make the test slow; the command line test below runs at
    # the real pace.
    monkeypatch.setattr(persist, "SAVE_EVERY", 0.05)
    async with running(state) as client:
        assert not state.exists()
        await client.ok("getMe")  # the bot's id, learnt from its token, is saved too
        alice = await client.user()
        await eventually(has_user, within=HANG)
        await client.say(alice, "hi")
        await eventually(has_message, within=HANG)
        assert not state.with_name("s.json.tmp").exists()

        # Nothing saved changes: the file is left alone (a rewrite is a new inode).
        written = os.stat(state)
        await client.ok("getMe")
        await asyncio.sleep(0.5)
        again = os.stat(state)
        assert (again.st_ino, again.st_mtime_ns) == (written.st_ino, written.st_mtime_ns)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b'{"format": 1, "users": [{"id": 1000, "first_na', "JSONDecodeError"),
        (b'{"format": 99, "users": []}', "format 99"),
        (b'{"format": 1, "users": [{"first_name": "no id"}]}', "TypeError"),
        (b"\xff\xfe not even text", "UnicodeDecodeError"),
    ],
)
async def test_an_unusable_file_is_moved_aside(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, reason: str
) -> None:
    state = tmp_path / "s.json"
    state.write_bytes(content)
    async with running(state) as client:
        _, users = await client.get("/sandbox/users")
        _, chats = await client.get("/sandbox/chats")
        assert users["users"] == []
        assert chats["chats"] == []
        await client.user("Alice")
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1, lines
    assert f"the state file {state} ({reason}" in lines[0]
    assert f"moved it to {state}.bad " in lines[0]
    assert (tmp_path / "s.json.bad").read_bytes() == content
    # The new world was saved in its place.
    assert [u["first_name"] for u in json.loads(state.read_text())["users"]] == ["Alice"]


async def test_a_second_bad_file_does_not_replace_the_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "s.json"
    (tmp_path / "s.json.bad").write_bytes(b"the first")
    state.write_bytes(b"the second")
    async with running(state):
        pass
    assert "s.json.bad-1" in capsys.readouterr().err
    assert (tmp_path / "s.json.bad").read_bytes() == b"the first"
    assert (tmp_path / "s.json.bad-1").read_bytes() == b"the second"


async def test_fields_added_or_removed_later_are_tolerated(tmp_path: Path) -> None:
    state = tmp_path / "s.json"
    async with running(state) as client:
        await client.user("Alice", username="alice")
    saved = json.loads(state.read_text())
    (user,) = saved["users"]
    user["shoe_size"] = 42  # a field this version does not know
    del user["language_code"]  # one an older version did not write
    state.write_text(json.dumps(saved))
    async with running(state) as client:
        _, users = await client.get("/sandbox/users")
        (alice,) = users["users"]
        assert (alice["first_name"], alice["username"]) == ("Alice", "alice")
        assert "language_code" not in alice


async def test_the_command_line_keeps_the_world_even_after_a_kill(tmp_path: Path) -> None:
    state = tmp_path / "demo" / "sandbox.json"  # its directory is made when needed

    async def start() -> tuple[asyncio.subprocess.Process, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "sandbox", "--port", "0", "--state", str(state),
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), HANG)).decode()
        return process, line.split()[-1]

    async def saved() -> bool:
        return state.exists() and "Alice" in state.read_text()

    process, url = await start()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{url}/sandbox/users", json={"first_name": "Alice"}) as resp:
                assert resp.status == 200
            await eventually(saved, within=HANG)
        process.kill()  # no shutdown save: the periodic one must have done it
        await process.wait()

        process, url = await start()
        async with aiohttp.ClientSession() as http, http.get(f"{url}/sandbox/users") as resp:
            assert [u["first_name"] for u in (await resp.json())["users"]] == ["Alice"]
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), HANG) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
