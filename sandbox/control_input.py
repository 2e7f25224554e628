"""Reading control API requests: JSON fields checked one by one, with errors that say
exactly which field is wrong and why."""

from __future__ import annotations

import math
from typing import Any

from aiohttp import web

from sandbox.errors import ControlError
from sandbox.records import Chat, User
from sandbox.world import WORLD_KEY, World

# What a member with each status may do in the group: write and press buttons.
_PRESENT = ("creator", "administrator", "member", "restricted")


async def read_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise ControlError(400, "the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise ControlError(400, "the body must be a JSON object")
    return body


def get_int(body: dict[str, Any], key: str, *, required: bool = False) -> int | None:
    value = body.get(key)
    if value is None:
        if required:
            raise ControlError(400, f'"{key}" is required (an integer)')
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ControlError(400, f'"{key}" must be an integer, not {value!r}')
    return value


def get_required_int(body: dict[str, Any], key: str) -> int:
    value = get_int(body, key, required=True)
    assert value is not None
    return value


def get_number(body: dict[str, Any], key: str) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ControlError(400, f'"{key}" must be a number, not {value!r}')
    return float(value)


def get_str(body: dict[str, Any], key: str, *, required: bool = False) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            raise ControlError(400, f'"{key}" is required (a non-empty string)')
        return None
    if not isinstance(value, str) or not value:
        raise ControlError(400, f'"{key}" must be a non-empty string, not {value!r}')
    return value


def get_bool(body: dict[str, Any], key: str, *, required: bool = False) -> bool | None:
    value = body.get(key)
    if value is None:
        if required:
            raise ControlError(400, f'"{key}" is required (true or false)')
        return None
    if not isinstance(value, bool):
        raise ControlError(400, f'"{key}" must be true or false, not {value!r}')
    return value


def get_object(body: dict[str, Any], key: str) -> dict[str, Any] | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ControlError(400, f'"{key}" must be an object, not {value!r}')
    return value


def path_int(request: web.Request, key: str) -> int:
    try:
        return int(request.match_info[key])
    except ValueError:
        raise ControlError(400, f"{key} must be an integer") from None


def query_int(request: web.Request, key: str) -> int | None:
    raw = request.query.get(key)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise ControlError(400, f"the query parameter {key} must be an integer") from None


def world_of(request: web.Request) -> World:
    return request.app[WORLD_KEY]


def user_of(world: World, user_id: int, key: str = "user_id") -> User:
    user = world.users.get(user_id)
    if user is None:
        raise ControlError(404, f"no user {user_id} ({key}); create it with POST /sandbox/users")
    return user


def find_chat(world: World, chat_id: int) -> Chat:
    chat = world.chats.get(chat_id)
    if chat is None:
        raise ControlError(404, f"no chat {chat_id}")
    return chat


def check_can_act(world: World, chat: Chat, user: User) -> None:
    """Only the person of a private chat, or a present member of a group, acts in it."""
    if chat.private:
        if chat.id != user.id:
            raise ControlError(
                400,
                f"chat {chat.id} is the private chat of user {chat.id}; "
                f"user {user.id} writes to the bot in chat {user.id}",
            )
        return
    status = world.status_in(chat, user.id)
    if status not in _PRESENT:
        raise ControlError(
            400,
            f"user {user.id} is not a member of chat {chat.id} (status: {status}); "
            f"add them with POST /sandbox/chats/{chat.id}/members",
        )


def reply(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status)
