"""Random and malformed updates for the running bot, from one seed.

Each step does one thing a Telegram user, a Bot API server or a broken one could do:
someone writes or presses a real button through the sandbox (as people do), or an
update is injected exactly as built here (``POST /sandbox/updates``) — callback data
with forged, huge, negative or garbage ids, edited messages, channel posts, messages
from bot accounts and from anonymous group admins, unknown chats and users, ids beyond
64 bits, NUL and odd unicode, texts past 4096 characters, and updates that fail
aiogram's validation. A sweep first sends every command from every odd kind of
sender, so that those are never left to chance. Every injected update is labelled
readable or not by construction; the readable ones are checked against aiogram's own
validation here, so a slip of the generator shows up as such, not as a fault of the bot.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiogram.types import Update
from pydantic import ValidationError

from tests.e2e.harness import GROUP, Control

# Telegram's account that speaks for an anonymous group admin (sender_chat is the group).
ANONYMOUS_ADMIN = {
    "id": 1087968824,
    "is_bot": True,
    "first_name": "Group",
    "username": "GroupAnonymousBot",
}
ADMIN_RIGHTS = [
    "can_manage_chat", "can_delete_messages", "can_manage_video_chats", "can_restrict_members",
    "can_promote_members", "can_change_info", "can_invite_users", "can_post_stories",
    "can_edit_stories", "can_delete_stories", "can_send_welcome_messages",
]  # fmt: skip
OFFICE = {"id": GROUP, "type": "supergroup", "title": "District office"}
BEYOND_64 = [2**63, 2**64 + 5, -(2**63) - 1, 2**80]
HUGE = [2**31, 2**31 - 1, 2**53 + 1, 2**63 - 1, -(2**63), -1, 0]

COMMANDS = [
    "/start", "/help", "/new", "/mine", "/lang", "/cancel", "/queue", "/overdue", "/show", "/find",
    "/assign", "/due", "/note", "/observers", "/observer", "/invite", "/suspend", "/points",
    "/point_add", "/point_close", "/departments", "/dept_add", "/liaison", "/broadcast", "/stats",
    "/holidays", "/export", "/nonsense",
]  # fmt: skip
MENU = [
    "📝 New suggestion", "📋 My suggestions", "❓ Help", "Skip", "⬅️ Back", "✖️ Cancel",
    "📍 Send my location", "✅ Done", "新建建议", "帮助",
]  # fmt: skip
CALLBACK_PREFIXES = [
    "c:take:", "c:adopt:", "c:ask:", "c:ref:", "c:decl:", "c:esc:", "c:city:", "c:dup:", "c:dept:",
    "c:due:", "c:done:", "c:close:", "c:", "dk:o:", "dk:d:", "dk:t:", "dk:y:", "dk:x:", "dk:",
    "ad:ok:", "ad:pick:", "ad:at:", "ad:no:", "ad:x:", "q:", "qf:", "lang:", "menu:new",
    "menu:mine", "menu:help", "menu:apply", "f:", "f:domain:", "f:kind:", "f:confirm:",
    "f:cancel:", "ap:", "my:list:", "my:show:", "my:withdraw:", "my:answer:", "my:rate:", "my:",
    "bc:send:", "bc:x:", "mv:", "dp:open:", "dp:ok:", "dp:pr:", "dp:", "noop", "",
]  # fmt: skip
PIECES = [
    "a", "hello", "WZ-2026-0001", "WZ-2026-9999", "P01", "MARKET", "2026", "2026-Q2", "30d", "zh",
    "en", "汉字", "观测点", "שלום", "مرحبا", "\u200f", "\u202e", "\u200b", "\u200d",
    "e\u0301\u0301\u0301", "👨‍👩‍👧", "🏳️‍🌈", "😀", "\x00", "\x00\x00", "<b>", "&amp;", "&", "<",
    "%s", "{}", "{0}", "'; DROP TABLE suggestions; --", "\\", "\n", "\t", "  ", "@outpost_bot",
    "@", "#", "-1", "0", "99999999999999999999", str(2**63), str(-(2**63) - 1), "1e9", "NaN",
    "\ufffd", "\U0010ffff", "𝕏", "ﷺ", "\u0000x",
]  # fmt: skip


def fits(number: int) -> bool:
    """Whether an id fits in 64 bits, as every id Telegram gives does."""
    return -(2**63) <= number < 2**63


def random_text(rng: random.Random, *, limit: int = 4096) -> str:
    """Words, commands, menu labels and oddities; sometimes very long."""
    roll = rng.random()
    if roll < 0.25:
        text = (
            rng.choice(COMMANDS)
            + rng.choice(["", "@outpost_bot", " "])
            + " ".join(rng.choice(PIECES) for _ in range(rng.randint(0, 3)))
        )
    elif roll < 0.35:
        text = rng.choice(MENU)
    elif roll < 0.40:
        text = rng.choice(PIECES) * rng.randint(500, 5000)
    else:
        text = "".join(
            rng.choice(PIECES) + rng.choice(["", " "]) for _ in range(rng.randint(1, 12))
        )
    text = text[:limit]
    return text if text.strip() else "x"


def random_id(rng: random.Random, *, small: int = 50) -> str:
    roll = rng.random()
    if roll < 0.4:
        return str(rng.randint(0, small))
    if roll < 0.65:
        return str(rng.choice(HUGE + BEYOND_64))
    if roll < 0.75:
        return str(-rng.randint(1, 10**12))
    return rng.choice(["", "x", "1.5", "１２", "0x10", "٣", "1e3", " 1", "None", "%00", "\x00"])


def random_callback_data(rng: random.Random) -> str:
    prefix = rng.choice(CALLBACK_PREFIXES)
    parts = [prefix + random_id(rng)]
    for _ in range(rng.randint(0, 4)):
        parts.append(random_id(rng) if rng.random() < 0.7 else rng.choice(PIECES))
    data = ":".join(parts)
    # Telegram allows 1-64 bytes; a forged one may break that too.
    return data[: rng.choice([64, 64, 64, 200])] or "x"


def beyond_64_bits(value: Any) -> bool:
    """Whether an integer anywhere in ``value`` is beyond 64 bits."""
    if isinstance(value, dict):
        return any(beyond_64_bits(v) for v in value.values())
    if isinstance(value, list):
        return any(beyond_64_bits(v) for v in value)
    return isinstance(value, int) and not isinstance(value, bool) and not fits(value)


@dataclass
class Tally:
    # Injected updates that reached the bot's queue: update id -> built to be unreadable.
    injected: dict[int, bool] = field(default_factory=dict)
    # Updates people made through the sandbox that reached the queue (the sandbox may add
    # one of its own, e.g. an unblock before a message: counted from its log).
    made: int = 0
    skipped: int = 0  # excluded by allowed_updates, as Telegram does
    refused: int = 0  # control calls the sandbox refused (a button gone, say)
    by_kind: dict[str, int] = field(default_factory=dict)

    @property
    def sent(self) -> int:
        return self.made + len(self.injected)

    def count(self, kind: str) -> None:
        self.by_kind[kind] = self.by_kind.get(kind, 0) + 1


@dataclass
class Fuzzer:
    control: Control
    rng: random.Random
    users: list[dict[str, Any]]  # the sandbox's people (Bot API users)
    members: set[int]  # who may write in the office's group
    tally: Tally = field(default_factory=Tally)
    # chat -> message id -> the message as the sandbox shows it
    seen: dict[int, dict[int, dict[str, Any]]] = field(default_factory=dict)
    _next_message: int = 10**6

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any] | None:
        async with self.control.http.post(self.control.url + path, json=body) as response:
            data: dict[str, Any] = await response.json()
            if response.status >= 400:
                self.tally.refused += 1
                return None
            return data

    def _counted(self, made: dict[str, Any] | None, kind: str, unreadable: bool | None) -> None:
        """``unreadable``: None for what the sandbox made (its log tells), else how the
        injected update was built."""
        if made is None or made.get("update_id") is None:
            return
        if made.get("skipped"):
            self.tally.skipped += 1
            return
        self.tally.count(kind)
        if unreadable is None:
            self.tally.made += 1
        else:
            self.tally.injected[int(made["update_id"])] = unreadable

    def unreadable(self, log: dict[int, dict[str, Any]], since: int) -> set[int]:
        """Of the updates after ``since`` the sandbox queued, those the bot cannot read:
        the injected ones built so, and those people with ids beyond 64 bits made."""
        return {
            update_id
            for update_id, entry in log.items()
            if update_id > since
            and not entry["skipped"]
            and self.tally.injected.get(update_id, beyond_64_bits(entry["update"]))
        }

    async def look(self) -> None:
        """What the chats show now (new messages and recent edits)."""
        for chat_id in [GROUP, *(u["id"] for u in self.users)]:
            known = self.seen.setdefault(chat_id, {})
            since = max(known, default=0) - 40
            path = f"/sandbox/chats/{chat_id}/messages?since_id={max(since, 0)}"
            async with self.control.http.get(self.control.url + path) as response:
                if response.status != 200:
                    continue
                for message in (await response.json())["messages"]:
                    known[message["message_id"]] = message

    # ---- what people do, through the sandbox ----------------------------------------

    async def say(self) -> None:
        user = self.rng.choice(self.users)
        in_group = user["id"] in self.members and self.rng.random() < 0.4
        body: dict[str, Any] = {"from_id": user["id"]}
        if in_group:
            body["chat_id"] = GROUP
        roll = self.rng.random()
        if roll < 0.85:
            # The sandbox counts UTF-16 units as Telegram does; stay within its limit.
            text = random_text(self.rng)
            while len(text.encode("utf-16-le")) // 2 > 4096:
                text = text[: len(text) // 2] or "x"
            body["text"] = text
        elif roll < 0.90:
            body["photo"] = True
            body["caption"] = random_text(self.rng, limit=900)
        elif roll < 0.94:
            body["document"] = {"file_name": self.rng.choice(["a.pdf", "b.txt", "\u202egpj.exe"])}
        elif roll < 0.97:
            body["contact"] = {"phone_number": self.rng.choice(["+8613800138000", "1", "\x00"])}
        else:
            body["location"] = {"latitude": self.rng.uniform(-90, 90), "longitude": 108.4}
        chat = self.seen.get(body.get("chat_id", user["id"]), {})
        if chat and self.rng.random() < 0.15:
            body["reply_to_message_id"] = self.rng.choice(list(chat))
        made = await self._post("/sandbox/messages", body)
        self._counted(made, "say", None)

    async def press(self) -> None:
        """A real button on a message the bot sent, by whoever may press there."""
        chat_id = self.rng.choice([GROUP, *(u["id"] for u in self.users)])
        pressers = list(self.members) if chat_id == GROUP else [chat_id]
        buttons = [
            (message_id, button["callback_data"])
            for message_id, message in self.seen.get(chat_id, {}).items()
            if message.get("from_bot") and not message.get("deleted")
            for row in (message.get("reply_markup") or {}).get("inline_keyboard", [])
            for button in row
            if "callback_data" in button
        ]
        if not buttons:
            await self.say()
            return
        message_id, data = self.rng.choice(buttons)
        presser = self.rng.choice(pressers)
        body = {"chat_id": chat_id, "from_id": presser, "message_id": message_id, "data": data}
        made = await self._post("/sandbox/callbacks", body)
        self._counted(made, "press", None)

    async def block(self) -> None:
        user = self.rng.choice(self.users)
        body = {"user_id": user["id"], "blocked": self.rng.random() < 0.5}
        made = await self._post("/sandbox/block", body)
        self._counted(made, "block", None)

    # ---- updates made here, readable or not ------------------------------------------

    async def inject(
        self, update: dict[str, Any], kind: str, *, unreadable: bool, every: bool = False
    ) -> None:
        """``every``: delivered whatever allowed_updates say (else now and then)."""
        if not unreadable:
            # A generator that builds an update aiogram refuses is a bug of this file.
            try:
                Update.model_validate({"update_id": 1, **update})
            except ValidationError as exc:
                raise AssertionError(f"{kind}: the fuzzer built an unreadable one: {exc}") from exc
        body = {"update": update, "ignore_allowed": every or self.rng.random() < 0.3}
        self._counted(await self._post("/sandbox/updates", body), kind, unreadable)

    async def sweep(self) -> None:
        """Every command once from every odd kind of sender, so that none of them is
        left to chance: no sender at all, a bot, an anonymous admin of the office's
        group, a channel, and an edit of a person's message."""
        person = next(u for u in self.users if fits(u["id"]) and not u.get("is_bot"))
        private = {"id": person["id"], "type": "private", "first_name": person["first_name"]}
        robot = {"id": 8_000_001, "is_bot": True, "first_name": "Robo"}
        channel = {"id": -1_000_000_000_777, "type": "channel", "title": "News"}
        for command in COMMANDS:
            base = {"message_id": self.rng.randint(1, 2**31), "date": int(time.time())}
            shapes = {
                "message": {**base, "chat": private, "text": command},
                "message ": {**base, "chat": {**private, "id": robot["id"]}, "from": robot,
                             "text": command},
                "message  ": {**base, "chat": OFFICE, "from": ANONYMOUS_ADMIN,
                              "sender_chat": OFFICE, "text": command + "@outpost_bot"},
                "channel_post": {**base, "chat": channel, "sender_chat": channel,
                                 "text": command},
                "edited_message": {**base, "chat": private, "from": person,
                                   "edit_date": base["date"], "text": command},
            }  # fmt: skip
            for kind, body in shapes.items():
                await self.inject({kind.strip(): body}, kind.strip(), unreadable=False, every=True)

    def _user(self) -> dict[str, Any]:
        roll = self.rng.random()
        if roll < 0.6:
            known = [u for u in self.users if fits(u["id"])]
            return dict(self.rng.choice(known))
        user: dict[str, Any] = {
            "id": self.rng.randint(1, 2**52),
            "is_bot": False,
            "first_name": random_text(self.rng, limit=64),
        }
        if roll < 0.7:
            user["is_bot"] = True
        if self.rng.random() < 0.3:
            user["last_name"] = random_text(self.rng, limit=64)
        if self.rng.random() < 0.3:
            user["username"] = "u" + str(self.rng.randint(0, 10**6))
        if self.rng.random() < 0.3:
            user["language_code"] = self.rng.choice(["zh-hans", "en", "xx", "", "zh"])
        return user

    def _chat(self, user: dict[str, Any]) -> dict[str, Any]:
        roll = self.rng.random()
        if roll < 0.5:
            return {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        if roll < 0.8:
            return {"id": GROUP, "type": "supergroup", "title": "District office"}
        kind = self.rng.choice(["group", "supergroup", "channel", "private"])
        chat_id = self.rng.randint(1, 2**52) * (1 if kind == "private" else -1)
        return {"id": chat_id, "type": kind, "title": random_text(self.rng, limit=128)}

    def _message(self, *, text: str | None = None) -> dict[str, Any]:
        user = self._user()
        chat = self._chat(user)
        self._next_message += 1
        message: dict[str, Any] = {
            "message_id": self.rng.choice([self._next_message, self.rng.randint(1, 2**31)]),
            "date": int(time.time()) - self.rng.randint(0, 10**6),
            "chat": chat,
            "from": user,
        }
        if self.rng.random() < 0.2:
            del message["from"]
        if chat["id"] == GROUP and self.rng.random() < 0.3:
            # An anonymous admin: Telegram names the group, and a placeholder account.
            message["from"] = ANONYMOUS_ADMIN
            message["sender_chat"] = OFFICE
        message["text"] = text if text is not None else random_text(self.rng, limit=10_000)
        if message["text"].startswith("/") and self.rng.random() < 0.7:
            length = self.rng.choice([len(message["text"].split(" ")[0]), 0, 10**4])
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        if self.rng.random() < 0.1:
            message["reply_to_message"] = {
                "message_id": self.rng.randint(1, 2**31),
                "date": message["date"],
                "chat": chat,
                "from": {"id": 123456, "is_bot": True, "first_name": "Outpost"},
                "text": random_text(self.rng, limit=100),
            }
        return message

    async def raw_message(self) -> None:
        kinds = ["message"] * 3 + ["edited_message", "channel_post", "edited_channel_post"]
        kind = self.rng.choice(kinds)
        message = self._message()
        if kind == "edited_message":
            message["edit_date"] = message["date"] + 1
        if kind.endswith("channel_post"):
            message.pop("from", None)
            channel = -(10**12) - self.rng.randint(0, 99)
            message["chat"] = {"id": channel, "type": "channel", "title": "C"}
            message["sender_chat"] = message["chat"]
        await self.inject({kind: message}, kind, unreadable=False)

    async def raw_callback(self) -> None:
        user = self._user()
        own = [m for m in self.seen.get(user["id"], {}).values() if m.get("from_bot")]
        group = [m for m in self.seen.get(GROUP, {}).values() if m.get("from_bot")]
        shown = own + group
        query: dict[str, Any] = {
            "id": str(self.rng.randint(1, 10**18)),
            "from": user,
            "chat_instance": str(self.rng.randint(1, 10**15)),
            "data": random_callback_data(self.rng),
        }
        if shown and self.rng.random() < 0.8:
            real = self.rng.choice(shown)
            keys = ("message_id", "date", "chat", "text")
            query["message"] = {key: real[key] for key in keys if key in real}
            query["message"]["text"] = query["message"].get("text") or "…"
        elif self.rng.random() < 0.5:
            query["message"] = self._message()
            query["message"].pop("from", None)
        await self.inject({"callback_query": query}, "callback_query", unreadable=False)

    async def raw_membership(self) -> None:
        user = self._user()
        me = {"id": 123456, "is_bot": True, "first_name": "Outpost", "username": "outpost_bot"}
        old, new = self.rng.sample(["member", "administrator", "left", "kicked"], 2)

        def member(status: str) -> dict[str, Any]:
            shape: dict[str, Any] = {"status": status, "user": me}
            if status == "kicked":
                shape["until_date"] = 0
            if status == "administrator":
                shape.update(dict.fromkeys(ADMIN_RIGHTS, True))
                shape.update(can_be_edited=False, is_anonymous=False)
            return shape

        update = {
            "chat": self._chat(user),
            "from": user,
            "date": int(time.time()),
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        }
        await self.inject({"my_chat_member": update}, "my_chat_member", unreadable=False)

    async def broken(self) -> None:
        """An update that cannot be read: what old servers send, or plain breakage."""
        message = self._message()
        broken: Callable[[], Any] = self.rng.choice(
            [
                lambda: {
                    "message": {
                        **message,
                        "poll": {
                            "id": "1",
                            "question": message["text"][:300],
                            "options": [],
                            "total_voter_count": 0,
                            "is_closed": False,
                            "is_anonymous": True,
                            "type": "regular",
                            "allows_multiple_answers": False,
                        },
                    }
                },
                lambda: {
                    "my_chat_member": {
                        "chat": message["chat"],
                        "from": self._user(),
                        "date": 1,
                        "old_chat_member": {"status": "member", "user": self._user()},
                        "new_chat_member": {"status": "kicked", "user": self._user()},
                    }
                },
                lambda: {"message": {k: v for k, v in message.items() if k != "chat"}},
                lambda: {"message": {**message, "text": self.rng.randint(0, 9)}},
                lambda: {"message": {**message, "date": "yesterday"}},
                lambda: {
                    "message": {
                        **message,
                        "chat": {**message["chat"], "id": self.rng.choice(BEYOND_64)},
                    }
                },
                lambda: {
                    "message": {
                        **message,
                        "from": {**self._user(), "id": self.rng.choice(BEYOND_64)},
                    }
                },
                lambda: {"message": {**message, "message_id": self.rng.choice(BEYOND_64)}},
                lambda: {"callback_query": {"from": self._user(), "data": "c:take:1"}},
                lambda: {
                    "callback_query": {
                        "id": "1",
                        "from": self._user(),
                        "chat_instance": "1",
                        "data": "c:take:1",
                        "message": {"message_id": 1},
                    }
                },
                lambda: {"message": None},
                lambda: {"unheard_of_update": {"text": message["text"][:100]}},
                lambda: {"message": [message]},
                lambda: {"message": {**message, "entities": [{"type": "bot_command"}]}},
            ]
        )
        update = broken()
        kind = next(iter(update))
        body = {"update": update, "ignore_allowed": True}
        self._counted(await self._post("/sandbox/updates", body), kind, True)

    async def step(self) -> None:
        roll = self.rng.random()
        if roll < 0.30:
            await self.say()
        elif roll < 0.45:
            await self.press()
        elif roll < 0.62:
            await self.raw_callback()
        elif roll < 0.80:
            await self.raw_message()
        elif roll < 0.86:
            await self.raw_membership()
        elif roll < 0.88:
            await self.block()
        else:
            await self.broken()
