"""The Bot API methods the sandbox answers, each as strict as Telegram.

Every method checks everything first and changes the world only at the end, after the
flood limits have let it through: Telegram performs nothing it refuses, and a 429 means
the message was not sent.
"""

from __future__ import annotations

import html
import mimetypes
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sandbox.errors import ApiError, bad_request, too_many_requests
from sandbox.formatting import FormattingError, parse_html, utf16_length
from sandbox.limits import ARRIVED
from sandbox.markup import is_inline, parse_reply_markup
from sandbox.params import Params, Upload
from sandbox.records import Chat, Message, StoredFile
from sandbox.world import World

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_ANSWER_LIMIT = 200
BLOCKED = "Forbidden: bot was blocked by the user"
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice",
        "upload_voice", "upload_document", "choose_sticker", "find_location",
        "record_video_note", "upload_video_note",
    }
)  # fmt: skip
COMMAND_SCOPES = frozenset(
    {
        "default", "all_private_chats", "all_group_chats", "all_chat_administrators",
        "chat", "chat_administrators", "chat_member",
    }
)  # fmt: skip
_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")


@dataclass
class Call:
    world: World
    params: Params
    token: str
    method: str


@dataclass
class Described:
    """A result Telegram answers with a description too (setWebhook, deleteWebhook)."""

    result: Any
    description: str


Method = Callable[[Call], Awaitable[Any]]


@dataclass
class Text:
    plain: str | None
    html: str | None
    entities: list[dict[str, Any]]


# ---- shared checks --------------------------------------------------------------------


def chat_for(call: Call, name: str = "chat_id") -> Chat:
    """The chat a call names; a group the bot is not in refuses it, as Telegram does."""
    key = call.params.chat_id(name)
    assert key is not None
    chat = call.world.chat_of(key)
    if chat is None:
        raise bad_request("chat not found")
    check_member(call.world, chat)
    return chat


def check_member(world: World, chat: Chat) -> None:
    """A group the bot left (or was removed from) is closed to it."""
    if world.bot_in(chat):
        return
    if chat.bot_status == "kicked":
        raise ApiError(403, f"Forbidden: bot was kicked from the {chat.type} chat")
    raise ApiError(403, f"Forbidden: bot is not a member of the {chat.type} chat")


def check_reachable(world: World, chat: Chat) -> None:
    """Private chats of people who blocked the bot (or of other bots) refuse it."""
    if not chat.private:
        return
    user = world.users.get(chat.id)
    if user is None:
        raise bad_request("chat not found")
    if user.is_bot:
        raise ApiError(403, "Forbidden: bot can't send messages to bots")
    if user.blocked:
        raise ApiError(403, BLOCKED)


def formatted(
    value: str | None,
    parse_mode: str | None,
    entities: Any,
    *,
    limit: int,
    caption: bool,
) -> Text:
    """The text as Telegram would show it, or its 400: empty, too long, bad HTML."""
    if value is None or value == "":
        if caption:
            return Text(None, None, [])
        raise bad_request("message text is empty")
    mode = (parse_mode or "").strip()
    if mode.lower() == "html":
        try:
            plain, parsed = parse_html(value)
        except FormattingError as exc:
            raise bad_request(f"can't parse entities: {exc}") from None
    elif mode == "" or mode.lower() in ("markdown", "markdownv2"):
        # Markdown is passed through unparsed: the bot speaks HTML (see README).
        plain = value
        parsed = entities if isinstance(entities, list) and not mode else []
    else:
        raise bad_request("unsupported parse_mode")
    if not plain.strip():
        if caption:
            return Text(None, None, [])
        raise bad_request("message text is empty")
    if utf16_length(plain) > limit:
        raise bad_request("message caption is too long" if caption else "message is too long")
    return Text(plain, value, parsed)


def text_param(call: Call, name: str, *, limit: int, caption: bool) -> Text:
    params = call.params
    entities_name = "caption_entities" if caption else "entities"
    return with_mentions(
        call.world,
        formatted(
            params.text(name),
            params.text("parse_mode"),
            params.json(entities_name),
            limit=limit,
            caption=caption,
        ),
    )


def with_mentions(world: World, text: Text) -> Text:
    """A mention carries the whole user, as Telegram's does (clients parse it as a User);
    a mention of someone Telegram does not know stays plain text."""
    entities = []
    for entity in text.entities:
        if entity.get("type") == "text_mention":
            user = world.users.get(int(entity["user"]["id"]))
            if user is None:
                continue
            entity = {**entity, "user": user.json()}
        entities.append(entity)
    return Text(text.plain, text.html, entities)


def reply_target(call: Call, chat: Chat) -> int | None:
    """The message this one answers, from reply_parameters or reply_to_message_id."""
    params = call.params
    reply = params.json("reply_parameters")
    allow = params.flag("allow_sending_without_reply")
    target: int | None = None
    if isinstance(reply, dict) and reply.get("message_id") is not None:
        try:
            target = int(reply["message_id"])
        except (TypeError, ValueError):
            raise bad_request("invalid reply_parameters specified") from None
        allow = bool(reply.get("allow_sending_without_reply", allow))
        other = reply.get("chat_id")
        if other is not None and call.world.chat_of(other) is not chat:
            # Replies across chats (external replies) are not imitated.
            raise bad_request("message to be replied not found")
    elif reply is not None and not isinstance(reply, dict):
        raise bad_request("can't parse reply parameters JSON object")
    else:
        target = params.integer("reply_to_message_id")
    if target is None:
        return None
    if call.world.message(chat, target) is None:
        if allow:
            return None
        raise bad_request("message to be replied not found")
    return target


def markup_param(call: Call, *, inline_only: bool = False) -> dict[str, Any] | None:
    markup = parse_reply_markup(call.params.json("reply_markup"))
    if inline_only and markup is not None and not is_inline(markup):
        raise bad_request("inline keyboard expected")
    return markup


def take_send_slots(world: World, chat: Chat, count: int = 1) -> None:
    if not world.config.limits:
        return
    wait = world.limiter.acquire(chat.id, chat.private, count, now=ARRIVED.get())
    if wait is not None:
        raise too_many_requests(wait)


def remember_keyboard(world: World, chat: Chat, markup: dict[str, Any] | None) -> None:
    if markup is None:
        return
    before = chat.keyboard
    if "keyboard" in markup:
        chat.keyboard = markup
    elif "remove_keyboard" in markup:
        chat.keyboard = None
    if chat.keyboard != before:
        world.changed("keyboard", chat_id=chat.id)


def file_source(call: Call, value: Upload | str | None, kind: str) -> Upload | StoredFile:
    """An upload to store, or a file the world already has (re-sent by file_id)."""
    what = "photo" if kind == "photo" else "document"
    if value is None:
        raise bad_request(f"there is no {what} in the request")
    if isinstance(value, Upload):
        if not value.data:
            raise bad_request("file must be non-empty")
        return value
    if re.match(r"https?://", value, re.IGNORECASE):
        # The sandbox is offline: it cannot fetch a URL as Telegram would.
        raise bad_request("failed to get HTTP URL content")
    stored = call.world.files.get(value)
    if stored is None:
        raise bad_request("wrong file identifier/HTTP URL specified")
    if stored.kind != kind:
        raise bad_request(
            f"can't use file of type {stored.kind.capitalize()} as {what.capitalize()}"
        )
    return stored


def stored(world: World, source: Upload | StoredFile, kind: str) -> StoredFile:
    if isinstance(source, StoredFile):
        return source
    mime = source.content_type
    if kind == "document" and (not mime or mime == "application/octet-stream"):
        mime = mimetypes.guess_type(source.filename)[0] or mime or "application/octet-stream"
    return world.add_file(
        kind,
        source.data,
        file_name=source.filename if kind == "document" else None,
        mime_type=mime if kind == "document" else None,
    )


def own_message(call: Call, chat: Chat, *, verb: str) -> Message:
    message_id = call.params.integer("message_id")
    if message_id is None:
        if call.params.has("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")  # inline messages are not imitated
        raise bad_request("message identifier is not specified")
    message = call.world.message(chat, message_id)
    if message is None:
        raise bad_request(f"message to {verb} not found")
    if verb == "edit" and not message.from_bot:
        raise bad_request("message can't be edited")
    return message


def inline_markup(message: Message) -> dict[str, Any] | None:
    return message.reply_markup if is_inline(message.reply_markup) else None


def not_modified() -> ApiError:
    return bad_request(
        "message is not modified: specified new message content and reply markup are "
        "exactly the same as a current content and reply markup of the message"
    )


# ---- the bot itself -------------------------------------------------------------------


async def get_me(call: Call) -> Any:
    return call.world.me_json()


def _scope_key(call: Call) -> tuple[str, str]:
    scope = call.params.json("scope") or {"type": "default"}
    if not isinstance(scope, dict) or scope.get("type") not in COMMAND_SCOPES:
        raise bad_request("can't parse BotCommandScope JSON object")
    if scope["type"] in ("chat", "chat_administrators", "chat_member"):
        key = scope.get("chat_id")
        if isinstance(key, str) and re.fullmatch(r"-?[0-9]+", key):
            key = int(key)
        chat = call.world.chat_of(key) if isinstance(key, (int, str)) and key else None
        if chat is None:
            raise bad_request("chat not found")
        scope = {**scope, "chat_id": chat.id}
    if scope["type"] == "chat_member" and scope.get("user_id") is None:
        raise bad_request("user not found")
    language = call.params.text("language_code") or ""
    if language and not re.fullmatch(r"[a-z]{2}", language):
        raise bad_request("invalid language code specified")
    key = ",".join(f"{k}={scope[k]}" for k in sorted(scope))
    return key, language


async def set_my_commands(call: Call) -> Any:
    commands = call.params.json("commands")
    if not isinstance(commands, list):
        raise bad_request("commands is empty" if commands is None else "can't parse commands")
    if len(commands) > 100:
        raise bad_request("too much commands specified")
    clean: list[dict[str, str]] = []
    for command in commands:
        if not isinstance(command, dict):
            raise bad_request("can't parse BotCommand JSON object")
        name, description = command.get("command"), command.get("description")
        if not isinstance(name, str) or not _COMMAND_NAME.fullmatch(name.lstrip("/")):
            raise bad_request("BOT_COMMAND_INVALID")
        if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
            raise bad_request("command description must be 1-256 characters long")
        clean.append({"command": name.lstrip("/"), "description": description})
    key = _scope_key(call)
    if clean:
        call.world.commands[key] = clean
    else:
        call.world.commands.pop(key, None)
    return True


async def get_my_commands(call: Call) -> Any:
    return call.world.commands.get(_scope_key(call), [])


async def delete_my_commands(call: Call) -> Any:
    call.world.commands.pop(_scope_key(call), None)
    return True


# ---- sending --------------------------------------------------------------------------


async def send_message(call: Call) -> Any:
    world = call.world
    chat = chat_for(call)
    check_reachable(world, chat)
    text = text_param(call, "text", limit=TEXT_LIMIT, caption=False)
    markup = markup_param(call)
    reply_to = reply_target(call, chat)
    take_send_slots(world, chat)
    message = world.add_message(
        chat,
        from_id=world.bot.id,
        from_bot=True,
        kind="text",
        plain=text.plain,
        html=text.html,
        entities=text.entities,
        reply_to=reply_to,
        reply_markup=markup,
    )
    remember_keyboard(world, chat, markup)
    return world.message_json(message)


async def _send_file(call: Call, kind: str) -> Any:
    world = call.world
    chat = chat_for(call)
    check_reachable(world, chat)
    source = file_source(call, call.params.file(kind), kind)
    caption = text_param(call, "caption", limit=CAPTION_LIMIT, caption=True)
    markup = markup_param(call)
    reply_to = reply_target(call, chat)
    take_send_slots(world, chat)
    message = _bot_file_message(
        world, chat, kind, source, caption, reply_to=reply_to, reply_markup=markup
    )
    remember_keyboard(world, chat, markup)
    return world.message_json(message)


def _bot_file_message(
    world: World,
    chat: Chat,
    kind: str,
    source: Upload | StoredFile,
    caption: Text,
    **extra: Any,
) -> Message:
    """A photo or document the bot sent, stored and put in the chat."""
    file = stored(world, source, kind)
    return world.add_message(
        chat,
        from_id=world.bot.id,
        from_bot=True,
        kind=kind,
        plain=caption.plain,
        html=caption.html,
        entities=caption.entities,
        file_id=file.file_id,
        **extra,
    )


async def send_photo(call: Call) -> Any:
    return await _send_file(call, "photo")


async def send_document(call: Call) -> Any:
    return await _send_file(call, "document")


async def send_media_group(call: Call) -> Any:
    world = call.world
    chat = chat_for(call)
    check_reachable(world, chat)
    media = call.params.json("media")
    if not isinstance(media, list) or not media:
        raise bad_request("media is empty" if not media else "can't parse media JSON object")
    if len(media) < 2:
        raise bad_request("media group must contain 2-10 items")
    if len(media) > 10:
        raise bad_request("too much messages to send as an album")
    items: list[tuple[str, Upload | StoredFile, Text]] = []
    for item in media:
        if not isinstance(item, dict):
            raise bad_request("can't parse InputMedia JSON object")
        kind = item.get("type")
        if kind not in ("photo", "document"):
            raise bad_request(f"the sandbox sends albums of photos and documents, not {kind}")
        reference = item.get("media")
        if not isinstance(reference, str) or not reference:
            raise bad_request("there is no media in the request")
        source = file_source(call, call.params.attached(reference), kind)
        caption = with_mentions(
            call.world,
            formatted(
                item.get("caption"),
                item.get("parse_mode") or call.params.text("parse_mode"),
                item.get("caption_entities"),
                limit=CAPTION_LIMIT,
                caption=True,
            ),
        )
        items.append((kind, source, caption))
    kinds = {kind for kind, _, _ in items}
    if "document" in kinds and len(kinds) > 1:
        raise bad_request("document can't be mixed with other media types")
    reply_to = reply_target(call, chat)
    take_send_slots(world, chat, len(items))
    group = world.new_media_group_id()
    sent = []
    for kind, source, caption in items:
        message = _bot_file_message(
            world, chat, kind, source, caption, reply_to=reply_to, media_group_id=group
        )
        sent.append(world.message_json(message))
    return sent


async def copy_message(call: Call) -> Any:
    world = call.world
    chat = chat_for(call)
    source_chat = chat_for(call, "from_chat_id")
    message_id = call.params.integer("message_id", required=True)
    assert message_id is not None
    original = world.message(source_chat, message_id)
    if original is None:
        raise bad_request("message to copy not found")
    check_reachable(world, chat)
    if call.params.has("caption") and original.kind in ("photo", "document"):
        caption = text_param(call, "caption", limit=CAPTION_LIMIT, caption=True)
    else:
        # A person's message has no markup of its own: the copy's is its escaped text.
        sent_as = original.html
        if sent_as is None and original.plain is not None:
            sent_as = html.escape(original.plain, quote=False)
        caption = Text(original.plain, sent_as, list(original.entities))
    markup = markup_param(call)
    reply_to = reply_target(call, chat)
    take_send_slots(world, chat)
    message = world.add_message(
        chat,
        from_id=world.bot.id,
        from_bot=True,
        kind=original.kind,
        plain=caption.plain,
        html=caption.html,
        entities=caption.entities,
        file_id=original.file_id,
        contact=original.contact,
        location=original.location,
        reply_to=reply_to,
        reply_markup=markup,
    )
    remember_keyboard(world, chat, markup)
    return {"message_id": message.message_id}


async def send_chat_action(call: Call) -> Any:
    chat = chat_for(call)
    action = call.params.text("action")
    if action not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    check_reachable(call.world, chat)
    return True


# ---- changing what was sent -----------------------------------------------------------


def _apply_edit(
    world: World, message: Message, text: Text | None, markup: dict[str, Any] | None
) -> None:
    if text is not None:
        message.plain, message.html, message.entities = text.plain, text.html, text.entities
    # A reply keyboard sent with the message stays; an inline one is what the edit says.
    if markup is not None or is_inline(message.reply_markup):
        message.reply_markup = markup
    message.edit_date = int(time.time())
    world.changed("edit", chat_id=message.chat_id, message_id=message.message_id)


async def edit_message_text(call: Call) -> Any:
    return _edit_content(call, "text", kinds=("text",))


async def edit_message_caption(call: Call) -> Any:
    return _edit_content(call, "caption", kinds=("photo", "document"))


def _edit_content(call: Call, name: str, *, kinds: tuple[str, ...]) -> Any:
    """editMessageText and editMessageCaption: the same checks on a different field."""
    world = call.world
    chat = chat_for(call)
    check_reachable(world, chat)
    caption = name == "caption"
    limit = CAPTION_LIMIT if caption else TEXT_LIMIT
    content = text_param(call, name, limit=limit, caption=caption)
    markup = markup_param(call, inline_only=True)
    message = own_message(call, chat, verb="edit")
    if message.kind not in kinds:
        raise bad_request(f"there is no {name} in the message to edit")
    if (message.plain, message.entities, inline_markup(message)) == (
        content.plain,
        content.entities,
        markup,
    ):
        raise not_modified()
    _apply_edit(world, message, content, markup)
    return world.message_json(message)


async def edit_message_reply_markup(call: Call) -> Any:
    world = call.world
    chat = chat_for(call)
    check_reachable(world, chat)
    markup = markup_param(call, inline_only=True)
    message = own_message(call, chat, verb="edit")
    if inline_markup(message) == markup:
        raise not_modified()
    _apply_edit(world, message, None, markup)
    return world.message_json(message)


async def delete_message(call: Call) -> Any:
    chat = chat_for(call)
    message = own_message(call, chat, verb="delete")
    message.deleted = True
    call.world.changed("delete", chat_id=chat.id, message_id=message.message_id)
    return True


async def answer_callback_query(call: Call) -> Any:
    """Telegram takes an answer only within a few seconds of the press (about 10 in
    practice), and only once; after that, or for an id it does not know, "too old"."""
    world = call.world
    query_id = call.params.text("callback_query_id") or ""
    query = world.callbacks.get(query_id)
    if query is None:
        raise bad_request(QUERY_TOO_OLD)
    age = world.clock() - query.created_at
    if query.answered:
        query.repeat_attempts += 1
        raise bad_request(QUERY_TOO_OLD)
    if age > world.config.callback_answer_timeout:
        query.late_attempts += 1
        if query.late_delay is None:
            query.late_delay = age
        raise bad_request(QUERY_TOO_OLD)
    text = call.params.text("text")
    if text is not None and utf16_length(text) > CALLBACK_ANSWER_LIMIT:
        raise bad_request("MESSAGE_TOO_LONG")
    query.answered = True
    query.answered_at = time.time()
    query.delay = age
    query.text = text
    query.show_alert = call.params.flag("show_alert")
    query.url = call.params.text("url")
    world.changed(
        "callback_answer",
        chat_id=query.chat_id,
        message_id=query.message_id,
        query_id=query.id,
        from_id=query.from_id,
        text=query.text,
        show_alert=query.show_alert,
        url=query.url,
    )
    return True


# ---- files and chats ------------------------------------------------------------------


async def get_file(call: Call) -> Any:
    file_id = call.params.text("file_id")
    if not file_id:
        raise bad_request("file_id is empty")
    found = call.world.files.get(file_id)
    if found is None:
        raise bad_request("invalid file_id")
    if len(found.data) > 20 * 1024 * 1024:
        raise bad_request("file is too big")
    return found.file()


async def get_chat(call: Call) -> Any:
    return call.world.full_chat_json(chat_for(call))


def _user_id(call: Call) -> int:
    user_id = call.params.integer("user_id", required=True)
    assert user_id is not None
    if user_id != call.world.bot.id and user_id not in call.world.users:
        raise bad_request("user not found")
    return user_id


async def get_chat_member(call: Call) -> Any:
    chat = chat_for(call)
    return call.world.member_json(chat, _user_id(call))


async def get_chat_administrators(call: Call) -> Any:
    world = call.world
    chat = chat_for(call)
    if chat.private:
        raise bad_request("there are no administrators in the private chat")
    admins = [uid for uid, status in chat.members.items() if status in ("creator", "administrator")]
    if chat.bot_status == "administrator":
        admins.append(world.bot.id)
    return [world.member_json(chat, uid) for uid in admins]


async def get_chat_member_count(call: Call) -> Any:
    chat = chat_for(call)
    if chat.private:
        return 2
    present = [s for s in chat.members.values() if s not in ("left", "kicked")]
    return len(present) + 1  # and the bot, which is in it (else chat_for refused)


async def leave_chat(call: Call) -> Any:
    """The bot leaves a group: it is told so (my_chat_member, status left), hears nothing
    more from the group, and may no longer write there."""
    world = call.world
    chat = chat_for(call)
    if chat.private:
        raise bad_request("chat member status can't be changed in private chats")
    old = chat.bot_status
    chat.bot_status = "left"
    world.changed("chat", chat_id=chat.id)
    world.emit_bot_status(chat, world.bot_json(), old, "left")
    return True


METHODS: dict[str, Method] = {
    "getMe": get_me,
    "setMyCommands": set_my_commands,
    "getMyCommands": get_my_commands,
    "deleteMyCommands": delete_my_commands,
    "sendMessage": send_message,
    "sendPhoto": send_photo,
    "sendDocument": send_document,
    "sendMediaGroup": send_media_group,
    "copyMessage": copy_message,
    "sendChatAction": send_chat_action,
    "editMessageText": edit_message_text,
    "editMessageCaption": edit_message_caption,
    "editMessageReplyMarkup": edit_message_reply_markup,
    "deleteMessage": delete_message,
    "answerCallbackQuery": answer_callback_query,
    "getFile": get_file,
    "getChat": get_chat,
    "getChatMember": get_chat_member,
    "getChatAdministrators": get_chat_administrators,
    "getChatMemberCount": get_chat_member_count,
    "leaveChat": leave_chat,
}
