"""The people a test plays: users, groups, what they send, the buttons they press, and
blocking the bot. Each action changes the world and produces the update Telegram would."""

from __future__ import annotations

import base64
import binascii
import math
import mimetypes
import re
import struct
import time
import zlib
from typing import Any

from aiohttp import web

from sandbox.control_input import (
    check_can_act,
    find_chat,
    get_bool,
    get_int,
    get_number,
    get_object,
    get_required_int,
    get_str,
    path_int,
    query_int,
    read_body,
    reply,
    user_of,
    world_of,
)
from sandbox.errors import ControlError
from sandbox.formatting import command_entities, utf16_length
from sandbox.markup import inline_buttons
from sandbox.methods import CAPTION_LIMIT, TEXT_LIMIT
from sandbox.records import (
    BOT_STATUSES,
    GROUP_TYPES,
    MEMBER_STATUSES,
    CallbackQuery,
    Chat,
    Message,
    StoredFile,
    User,
)
from sandbox.world import World

# What the chat page may change about a person (PATCH /sandbox/users/{id}).
EDITABLE_USER_FIELDS = ("first_name", "last_name", "language_code", "about", "phone")
ABOUT_LIMIT = 200
# An IETF language tag as Telegram clients send it: en, zh-hans, pt-br.
_LANGUAGE_CODE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*")
_PHONE = re.compile(r"\+?[0-9][0-9 ()-]*")


def _language_code(body: dict[str, Any]) -> str | None:
    code = get_str(body, "language_code")
    if code is not None and not _LANGUAGE_CODE.fullmatch(code):
        raise ControlError(
            400, f'"language_code" must be a language tag like "en" or "zh-hans", not {code!r}'
        )
    return code


def _about(body: dict[str, Any]) -> str | None:
    about = get_str(body, "about")
    if about is not None and len(about) > ABOUT_LIMIT:
        raise ControlError(400, f'"about" is over {ABOUT_LIMIT} characters')
    return about


def _phone(body: dict[str, Any]) -> str | None:
    phone = get_str(body, "phone")
    if phone is None:
        return None
    digits = sum(ch.isdigit() for ch in phone)
    if not _PHONE.fullmatch(phone) or not 5 <= digits <= 15:
        raise ControlError(
            400, f'"phone" must be a phone number like "+86 138 0000 1000", not {phone!r}'
        )
    return phone


def _created(world: World, user: User) -> dict[str, Any]:
    """The Bot API user, plus the page's extras when they were given."""
    view = world.user_view(user)
    return {**user.json(), **{key: view[key] for key in ("about", "phone") if view[key]}}


def _new_user(world: World, body: Any) -> User:
    if not isinstance(body, dict):
        raise ControlError(400, "a user must be a JSON object")
    user_id = get_int(body, "id")
    if user_id is None:
        user_id = world.next_user_id()
    elif user_id <= 0:
        raise ControlError(400, f'"id" of a user must be positive, not {user_id}')
    if user_id in world.users or user_id == world.bot.id:
        raise ControlError(409, f"user {user_id} already exists")
    first_name = get_str(body, "first_name", required=True)
    assert first_name is not None
    return User(
        id=user_id,
        first_name=first_name,
        last_name=get_str(body, "last_name"),
        username=get_str(body, "username"),
        language_code=get_str(body, "language_code"),
        is_bot=bool(get_bool(body, "is_bot")),
        about=_about(body),
        phone=_phone(body),
    )


async def create_user(request: web.Request) -> web.Response:
    """One person from an object; or, for a benchmark's crowd, many from an array (all or
    none: the first invalid one refuses the lot)."""
    world = world_of(request)
    try:
        body = await request.json()
    except ValueError:
        raise ControlError(400, "the body must be a JSON object (or an array of them)") from None
    if not isinstance(body, list):
        return reply(_created(world, world.add_user(_new_user(world, body))))
    created: list[User] = []
    try:
        for item in body:
            created.append(world.add_user(_new_user(world, item)))
    except ControlError:
        for user in created:
            del world.users[user.id]
            del world.chats[user.id]
        if created:
            world.changed("user")
        raise
    return reply([_created(world, user) for user in created])


async def list_users(request: web.Request) -> web.Response:
    world = world_of(request)
    return reply({"users": [world.user_view(u) for u in world.users.values()]})


async def change_user(request: web.Request) -> web.Response:
    """What a person's Telegram app would tell the bot differently from now on (their
    name, their app's language), and the page's own notes about them."""
    world = world_of(request)
    user = user_of(world, path_int(request, "user_id"))
    body = await read_body(request)
    unknown = sorted(set(body) - set(EDITABLE_USER_FIELDS))
    if unknown:
        raise ControlError(
            400,
            f"cannot change {', '.join(unknown)}; "
            f"a person's {', '.join(EDITABLE_USER_FIELDS)} can be changed",
        )
    if not body:
        raise ControlError(400, f"nothing to change: give any of {', '.join(EDITABLE_USER_FIELDS)}")
    # Everything is checked before anything changes; null clears an optional field.
    changes: dict[str, str | None] = {}
    if "first_name" in body:
        changes["first_name"] = get_str(body, "first_name", required=True)
    if "last_name" in body:
        changes["last_name"] = get_str(body, "last_name")
    if "language_code" in body:
        changes["language_code"] = _language_code(body)
    if "about" in body:
        changes["about"] = _about(body)
    if "phone" in body:
        changes["phone"] = _phone(body)
    for key, value in changes.items():
        setattr(user, key, value)
    world.changed("user", chat_id=user.id)
    return reply(world.user_view(user))


def _members(world: World, raw: Any) -> dict[int, str]:
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise ControlError(400, '"members" must be a list of {"user_id", "status"}')
    members: dict[int, str] = {}
    for item in raw:
        if not isinstance(item, dict):
            raise ControlError(400, '"members" must be a list of {"user_id", "status"}')
        user_id, status = _member(world, item)
        members[user_id] = status
    return members


def _member(world: World, item: dict[str, Any]) -> tuple[int, str]:
    user_id = get_required_int(item, "user_id")
    user_of(world, user_id)
    status = item.get("status", "member")
    if status not in MEMBER_STATUSES:
        raise ControlError(
            400, f'"status" must be one of {", ".join(MEMBER_STATUSES)}, not {status!r}'
        )
    return user_id, status


def _bot_status(body: dict[str, Any], default: str) -> str:
    status = body.get("bot_status")
    if status is None:
        return default
    if status not in BOT_STATUSES:
        raise ControlError(
            400, f'"bot_status" must be one of {", ".join(BOT_STATUSES)}, not {status!r}'
        )
    return str(status)


def _actor(world: World, chat: Chat, user_id: int, key: str) -> User:
    """A person who changes the bot's place in a group: a present member of it."""
    user = user_of(world, user_id, key)
    check_can_act(world, chat, user)
    return user


async def create_chat(request: web.Request) -> web.Response:
    """A group. By default the bot has always been its administrator (no update); with
    ``added_by`` a member of it adds the bot (a plain member unless ``bot_status`` says
    otherwise) and the bot gets my_chat_member, as when a person adds a bot on Telegram."""
    world = world_of(request)
    body = await read_body(request)
    kind = body.get("type")
    if kind not in GROUP_TYPES:
        raise ControlError(400, f'"type" must be "group" or "supergroup", not {kind!r}')
    title = get_str(body, "title", required=True)
    assert title is not None
    chat_id = get_int(body, "id")
    if chat_id is None:
        chat_id = world.next_chat_id(kind)
    elif chat_id >= 0:
        raise ControlError(400, f'"id" of a group must be negative, not {chat_id}')
    if chat_id in world.chats:
        raise ControlError(409, f"chat {chat_id} already exists")
    members = _members(world, body.get("members"))
    added_by = get_int(body, "added_by")
    bot_status = _bot_status(body, "administrator" if added_by is None else "member")
    if added_by is not None:
        if members.get(added_by) not in ("creator", "administrator", "member", "restricted"):
            raise ControlError(
                400, f'"added_by" {added_by} must be a present member of the new group'
            )
        if bot_status not in ("administrator", "member"):
            raise ControlError(400, f'a bot added by someone is a member or administrator, '
                                    f'not {bot_status!r}')  # fmt: skip
    chat = world.add_group(chat_id, kind, title, members, bot_status)
    update_id = None
    if added_by is not None:
        adder = world.users[added_by]
        update_id = world.emit_bot_status(chat, adder.json(), "left", bot_status).update_id
    return reply({**world.chat_view(chat), "update_id": update_id})


async def set_bot_status(request: web.Request) -> web.Response:
    """A member adds the bot to a group, promotes or demotes it, or removes it."""
    world = world_of(request)
    chat = find_chat(world, path_int(request, "chat_id"))
    if chat.private:
        raise ControlError(400, f"chat {chat.id} is a private chat; block the bot instead")
    body = await read_body(request)
    status = body.get("status")
    if status not in BOT_STATUSES:
        raise ControlError(
            400, f'"status" must be one of {", ".join(BOT_STATUSES)}, not {status!r}'
        )
    actor = _actor(world, chat, get_required_int(body, "from_id"), "from_id")
    old = chat.bot_status
    update_id = None
    if status != old:
        chat.bot_status = str(status)
        world.changed("chat", chat_id=chat.id)
        update_id = world.emit_bot_status(chat, actor.json(), old, chat.bot_status).update_id
    return reply({"chat_id": chat.id, "status": chat.bot_status, "update_id": update_id})


async def list_chats(request: web.Request) -> web.Response:
    world = world_of(request)
    return reply({"chats": [world.chat_view(chat) for chat in world.chats.values()]})


async def set_member(request: web.Request) -> web.Response:
    world = world_of(request)
    chat = find_chat(world, path_int(request, "chat_id"))
    if chat.private:
        raise ControlError(400, f"chat {chat.id} is a private chat; it has no members to set")
    user_id, status = _member(world, await read_body(request))
    chat.members[user_id] = status
    world.changed("chat", chat_id=chat.id)
    return reply(world.chat_view(chat))


async def chat_messages(request: web.Request) -> web.Response:
    world = world_of(request)
    chat = find_chat(world, path_int(request, "chat_id"))
    since = query_int(request, "since_id") or 0
    return reply(
        {
            "messages": [
                world.message_view(m) for m in chat.messages.values() if m.message_id > since
            ]
        }
    )


# ---- what people do -------------------------------------------------------------------


def _decoded(spec: dict[str, Any], key: str) -> bytes | None:
    raw = spec.get("base64")
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise ControlError(400, f'"{key}.base64" must be a base64 string')
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise ControlError(400, f'"{key}.base64" is not valid base64') from None
    if not data:
        raise ControlError(400, f'"{key}.base64" decodes to an empty file')
    return data


def _existing_file(world: World, spec: dict[str, Any], key: str, kind: str) -> StoredFile | None:
    file_id = spec.get("file_id")
    if file_id is None:
        return None
    found = world.files.get(file_id) if isinstance(file_id, str) else None
    if found is None or found.kind != kind:
        raise ControlError(400, f'"{key}.file_id" is not a known {kind} file id: {file_id!r}')
    return found


def _photo(world: World, raw: Any) -> StoredFile:
    if raw is True:
        raw = {}
    if not isinstance(raw, dict):
        raise ControlError(400, '"photo" must be true or {"file_name"?, "base64"?, "file_id"?}')
    existing = _existing_file(world, raw, "photo", "photo")
    if existing is not None:
        return existing
    data = _decoded(raw, "photo") or placeholder_png(320, 240)
    return world.add_file("photo", data)


def _document(world: World, raw: Any) -> StoredFile:
    if not isinstance(raw, dict):
        raise ControlError(
            400, '"document" must be {"file_name", "mime_type"?, "base64"?, "file_id"?}'
        )
    existing = _existing_file(world, raw, "document", "document")
    if existing is not None:
        return existing
    name = get_str(raw, "file_name")
    if name is None:
        raise ControlError(400, '"document.file_name" is required (a non-empty string)')
    mime = get_str(raw, "mime_type") or mimetypes.guess_type(name)[0] or "application/octet-stream"
    data = _decoded(raw, "document")
    if data is None:
        data = b"%PDF-1.4\n% sandbox document\n" if name.lower().endswith(".pdf") else b"sandbox\n"
    return world.add_file("document", data, file_name=name, mime_type=mime)


def _contact(user: User, raw: dict[str, Any]) -> dict[str, Any]:
    phone = get_str(raw, "phone_number")
    if phone is None:
        raise ControlError(400, '"contact.phone_number" is required (a non-empty string)')
    contact: dict[str, Any] = {
        "phone_number": phone,
        "first_name": get_str(raw, "first_name") or user.first_name,
    }
    if raw.get("last_name") is not None:
        contact["last_name"] = get_str(raw, "last_name")
    if raw.get("user_id") is not None:
        contact["user_id"] = get_int(raw, "user_id")
    return contact


def _location(raw: dict[str, Any]) -> dict[str, Any]:
    latitude, longitude = get_number(raw, "latitude"), get_number(raw, "longitude")
    if latitude is None or longitude is None:
        raise ControlError(400, '"location" needs "latitude" and "longitude" (numbers)')
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise ControlError(400, '"location" is out of range')
    return {"latitude": latitude, "longitude": longitude}


def _unblock_if_needed(world: World, user: User, chat: Chat) -> None:
    """Writing to a bot one has blocked unblocks it first, as Telegram's Restart does."""
    if chat.private and user.blocked:
        _set_blocked(world, user, blocked=False)


async def send_message(request: web.Request) -> web.Response:
    world = world_of(request)
    body = await read_body(request)
    user = user_of(world, get_required_int(body, "from_id"), "from_id")
    chat_id = get_int(body, "chat_id")
    chat = find_chat(world, user.id if chat_id is None else chat_id)
    check_can_act(world, chat, user)
    kinds = [k for k in ("text", "photo", "document", "contact", "location") if k in body]
    if len(kinds) != 1:
        raise ControlError(
            400,
            "give exactly one of text, photo, document, contact, location"
            f" (got {', '.join(kinds) or 'none'})",
        )
    kind = kinds[0]
    caption = get_str(body, "caption")
    if caption is not None and kind not in ("photo", "document"):
        raise ControlError(400, '"caption" goes with a photo or a document only')
    if caption is not None and utf16_length(caption) > CAPTION_LIMIT:
        raise ControlError(400, f'"caption" is over {CAPTION_LIMIT} characters')
    reply_to = get_int(body, "reply_to_message_id")
    if reply_to is not None and world.message(chat, reply_to) is None:
        raise ControlError(400, f"no message {reply_to} in chat {chat.id} to reply to")
    media_group_id = get_str(body, "media_group_id")
    fields: dict[str, Any] = {"plain": caption}
    if kind == "text":
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ControlError(400, '"text" must be a non-empty string')
        if utf16_length(text) > TEXT_LIMIT:
            raise ControlError(400, f'"text" is over {TEXT_LIMIT} characters')
        fields = {"plain": text, "entities": command_entities(text)}
    elif kind == "photo":
        fields["file_id"] = _photo(world, body["photo"]).file_id
    elif kind == "document":
        fields["file_id"] = _document(world, body["document"]).file_id
    elif kind == "contact":
        raw = get_object(body, "contact")
        if raw is None:
            raise ControlError(400, '"contact" must be an object')
        fields["contact"] = _contact(user, raw)
    else:
        raw = get_object(body, "location")
        if raw is None:
            raise ControlError(400, '"location" must be an object')
        fields["location"] = _location(raw)
    _unblock_if_needed(world, user, chat)
    message = world.add_message(
        chat,
        from_id=user.id,
        from_bot=False,
        kind=kind,
        reply_to=reply_to,
        media_group_id=media_group_id,
        **fields,
    )
    payload = world.message_json(message)
    if not world.bot_in(chat):
        # The group goes on without the bot: the message is there, the bot never hears it.
        return reply({"message": payload, "update_id": None})
    record = world.emit("message", payload)
    return reply({"message": payload, "update_id": record.update_id})


def _find_button(
    world: World, chat: Chat, message_id: int | None, data: str | None, text: str | None
) -> tuple[Message, str]:
    if message_id is not None:
        found = world.message(chat, message_id)
        if found is None:
            raise ControlError(404, f"no message {message_id} in chat {chat.id}")
        candidates = [found]
    else:
        candidates = [m for m in reversed(chat.messages.values()) if m.from_bot and not m.deleted]
    for message in candidates:
        for button in inline_buttons(message.reply_markup):
            if "callback_data" not in button:
                continue
            if data is not None and button["callback_data"] != data:
                continue
            if text is not None and button.get("text") != text:
                continue
            return message, str(button["callback_data"])
    wanted = " and ".join(
        part
        for part in (
            f"callback data {data!r}" if data is not None else "",
            f"text {text!r}" if text is not None else "",
        )
        if part
    )
    where = f"message {message_id}" if message_id is not None else "any message"
    raise ControlError(404, f"no button with {wanted} on {where} in chat {chat.id}")


async def press_button(request: web.Request) -> web.Response:
    world = world_of(request)
    body = await read_body(request)
    user = user_of(world, get_required_int(body, "from_id"), "from_id")
    chat_id = get_int(body, "chat_id")
    chat = find_chat(world, user.id if chat_id is None else chat_id)
    check_can_act(world, chat, user)
    data, text = body.get("data"), body.get("text")
    if data is None and text is None:
        raise ControlError(400, 'give "data" (callback data) or "text" (the button\'s label)')
    for key, value in (("data", data), ("text", text)):
        if value is not None and not isinstance(value, str):
            raise ControlError(400, f'"{key}" must be a string, not {value!r}')
    message, callback_data = _find_button(world, chat, get_int(body, "message_id"), data, text)
    if not world.bot_in(chat):
        raise ControlError(
            400,
            f"the bot is not in chat {chat.id} (status: {chat.bot_status}); "
            "a press there reaches no one",
        )
    _unblock_if_needed(world, user, chat)
    query_id, number = world.new_callback_id()
    query = CallbackQuery(
        id=query_id,
        chat_id=chat.id,
        message_id=message.message_id,
        from_id=user.id,
        data=callback_data,
        created_at=world.clock(),
        seq=number,
        pressed_at=time.time(),
    )
    world.callbacks[query.id] = query
    payload = {
        "id": query.id,
        "from": user.json(),
        "message": world.message_json(message),
        "chat_instance": str(abs(chat.id) * 1_000_003 % 10**15),
        "data": callback_data,
    }
    record = world.emit("callback_query", payload)
    return reply(
        {
            "callback_query_id": query.id,
            "update_id": record.update_id,
            "message_id": message.message_id,
            "data": callback_data,
        }
    )


async def callback_answer(request: web.Request) -> web.Response:
    world = world_of(request)
    query = world.callbacks.get(request.match_info["query_id"])
    if query is None:
        raise ControlError(404, f"no callback query {request.match_info['query_id']}")
    return reply(world.callback_json(query))


def _percentile(ordered: list[float], share: float) -> float | None:
    """The nearest-rank percentile of sorted values (None for none)."""
    if not ordered:
        return None
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


async def list_callbacks(request: web.Request) -> web.Response:
    """Every press and how (and how fast) the bot answered it, with a summary for a
    benchmark: answer delays' percentiles, and the presses never answered in time."""
    world = world_of(request)
    since = query_int(request, "since") or 0
    chat_id = query_int(request, "chat_id")
    queries = [
        q
        for q in world.callbacks.values()
        if q.seq > since and (chat_id is None or q.chat_id == chat_id)
    ]
    views = [world.callback_json(q) for q in queries]
    delays = sorted(q.delay for q in queries if q.delay is not None)
    states = [view["state"] for view in views]
    return reply(
        {
            "callbacks": views,
            "window": world.config.callback_answer_timeout,
            "summary": {
                "pressed": len(views),
                "answered": states.count("answered"),
                "pending": states.count("pending"),
                "expired": states.count("expired"),
                "late_attempts": sum(q.late_attempts for q in queries),
                "repeat_attempts": sum(q.repeat_attempts for q in queries),
                "delay_p50": _percentile(delays, 0.50),
                "delay_p90": _percentile(delays, 0.90),
                "delay_p99": _percentile(delays, 0.99),
                "delay_max": delays[-1] if delays else None,
            },
        }
    )


def _set_blocked(world: World, user: User, *, blocked: bool) -> int:
    user.blocked = blocked
    world.changed("user", chat_id=user.id)
    old, new = ("member", "kicked") if blocked else ("kicked", "member")
    return world.emit_bot_status(world.chats[user.id], user.json(), old, new).update_id


async def block(request: web.Request) -> web.Response:
    world = world_of(request)
    body = await read_body(request)
    user = user_of(world, get_required_int(body, "user_id"))
    blocked = get_bool(body, "blocked", required=True)
    assert blocked is not None
    update_id = None if user.blocked == blocked else _set_blocked(world, user, blocked=blocked)
    return reply({"user_id": user.id, "blocked": blocked, "update_id": update_id})


def placeholder_png(width: int, height: int) -> bytes:
    """A small grey PNG, for a photo a test sends without giving its bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + b"\x80" * width
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )
