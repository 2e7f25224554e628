"""Keeping the world in a file between runs (``SandboxConfig.state_file``, ``--state``).

The demo runs the bot on a SQLite file that survives a restart; without this, the
sandbox would come back empty and the bot's cards would point at messages that no
longer exist. So the world is loaded at start, saved within a couple of seconds of a
change and once more at shutdown, always atomically: a kill -9 at any moment leaves
either the previous file or the new one.

Kept: people (every field of ``User``), chats with their members, messages and reply
keyboards, files and their bytes, the updates produced and the queue the bot has not
confirmed, the id counters (so no update_id or message_id repeats), and the bot's own
settings (its id, webhook, allowed_updates, commands). Not kept: faults, the request
log, the flood limiters' windows, and callback queries not yet answered (answering one
after a restart fails with "query is too old", as it would on Telegram by then).

A file that cannot be used is moved aside (``<file>.bad``), said so in one line on
stderr, and the sandbox starts empty: the demo must come up whatever the file holds.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import hashlib
import itertools
import json
import os
import sys
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from aiohttp import web

from sandbox.records import (
    Chat,
    Message,
    QueuedUpdate,
    StoredFile,
    UpdateRecord,
    User,
    Webhook,
    utf8_json,
)
from sandbox.world import World

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

    Record = TypeVar("Record", bound=DataclassInstance)
else:
    Record = TypeVar("Record")

FORMAT = 1
# How often a change is looked for; a kill -9 loses at most this much.
SAVE_EVERY = 2.0
# The fingerprint covers every change the sandbox makes today; a full comparison now
# and then catches any it may miss tomorrow.
FULL_CHECK_EVERY = 30.0


class StateFileError(Exception):
    """The file is not a world this version can load."""


def add_persistence(app: web.Application, world: World, path: str) -> None:
    """Load ``path`` into ``world`` at start; save it while running and at shutdown."""
    keeper = WorldKeeper(world, Path(path))

    async def keep(_app: web.Application) -> AsyncIterator[None]:
        await keeper.load()
        task = asyncio.create_task(keeper.run(), name="sandbox-persistence")
        yield
        # Registered before the webhook pusher, so this runs after it and the long polls
        # have stopped: nothing changes the world any more.
        keeper.stop()
        await task
        await keeper.save()

    app.cleanup_ctx.append(keep)


class WorldKeeper:
    """Loads and saves one world in one file."""

    def __init__(self, world: World, path: Path) -> None:
        self.world = world
        self.path = path
        self._stopping = asyncio.Event()
        self._fingerprint: tuple[object, ...] = ()
        # What the file holds now, as a digest: a change that leaves the saved state as
        # it was (a getMe, an answered callback) writes nothing.
        self._written: bytes | None = None
        # base64 of the files' bytes by file_id: files never change, and re-encoding a
        # demo's photos every two seconds would be the costliest part of a save.
        self._encoded: dict[str, str] = {}
        self._complaint: str | None = None

    async def load(self) -> None:
        try:
            raw = await asyncio.to_thread(self.path.read_bytes)
        except FileNotFoundError:
            return
        except OSError as exc:
            self._set_aside(str(exc))
            return
        try:
            restore(self.world, raw)
        except StateFileError as exc:
            self._set_aside(str(exc))
            return
        # Whatever the file holds, the demo comes up: a bad file is set aside, not fatal.
        except Exception as exc:
            self._set_aside(f"{type(exc).__name__}: {exc}")
            return
        self._fingerprint = fingerprint(self.world)
        self._written = _digest(self.dump())

    async def run(self) -> None:
        """Save a changed world every ``SAVE_EVERY`` seconds until stop()."""
        loop = asyncio.get_running_loop()
        compared = loop.time()
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), SAVE_EVERY)
            if self._stopping.is_set():
                return
            now = loop.time()
            current = fingerprint(self.world)
            if current != self._fingerprint or now - compared >= FULL_CHECK_EVERY:
                compared = now
                self._fingerprint = current
                await self.save()

    def stop(self) -> None:
        # Not a cancel: a write in progress finishes, so the final save never races it.
        self._stopping.set()

    async def save(self) -> None:
        try:
            data = self.dump()
            digest = _digest(data)
            if digest == self._written:
                return
            await asyncio.to_thread(write_atomically, self.path, data)
        except (OSError, TypeError, ValueError) as exc:
            self._complain(f"sandbox: cannot save the world to {self.path}: {exc}")
            return
        self._written = digest
        self._complaint = None

    def dump(self) -> bytes:
        encoded = {
            file_id: self._encoded.get(file_id) or base64.b64encode(stored.data).decode("ascii")
            for file_id, stored in self.world.files.items()
        }
        self._encoded = encoded
        state = snapshot(self.world, encoded)
        return utf8_json(state, separators=(",", ":"))

    def _set_aside(self, reason: str) -> None:
        aside = _free_name(self.path)
        try:
            os.replace(self.path, aside)
            moved = f"moved it to {aside}"
        except OSError as exc:
            moved = f"could not move it aside ({exc})"
        print(
            f"sandbox: cannot use the state file {self.path} ({reason}); {moved} "
            "and started with an empty world",
            file=sys.stderr,
            flush=True,
        )

    def _complain(self, message: str) -> None:
        # Once per distinct trouble, not every two seconds while the disk stays full.
        if message != self._complaint:
            self._complaint = message
            print(message, file=sys.stderr, flush=True)


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=32).digest()


def _free_name(path: Path) -> Path:
    candidate = path.with_name(path.name + ".bad")
    n = 1
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.bad-{n}")
        n += 1
    return candidate


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``path.tmp``, fsync it, rename it over ``path``: readers (and a restart after
    a crash) see the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
    # The rename itself is durable only once the directory is synced (not on Windows).
    with contextlib.suppress(OSError):
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


# ---- what changed ---------------------------------------------------------------------


def fingerprint(world: World) -> tuple[object, ...]:
    """Cheap to take, and different after anything that changes what is saved: people
    and chats publish to the change feed, the Bot API logs every call, the control API
    and the webhook pusher produce or move updates."""
    head = world.updates.get(world.queue[0].update_id) if world.queue else None
    return (
        world.changes.seq,
        world.requests[-1].seq if world.requests else 0,
        next(reversed(world.updates), 0),
        tuple((entry.update_id, entry.redelivered, entry.handed_out) for entry in world.queue),
        (head.attempts, head.dropped) if head is not None else None,
    )


# ---- the world as JSON ----------------------------------------------------------------


def _fields(record: DataclassInstance, *, skip: Iterable[str] = ()) -> dict[str, Any]:
    """Every field the record has today: fields added later are saved without a change
    here."""
    left_out = set(skip)
    return {
        f.name: getattr(record, f.name)
        for f in dataclasses.fields(record)
        if f.name not in left_out
    }


def _next_value(counter: itertools.count[int]) -> tuple[int, itertools.count[int]]:
    """The value a counter gives next, and a fresh counter that gives it (a count cannot
    be read without being advanced)."""
    value = next(counter)
    return value, itertools.count(value)


def _counters(world: World) -> dict[str, Any]:
    # World keeps its counters private; reading one means replacing it.
    update_id, world._update_ids = _next_value(world._update_ids)
    file_number, world._file_numbers = _next_value(world._file_numbers)
    callback_number, world._callback_numbers = _next_value(world._callback_numbers)
    media_group, world._media_groups = _next_value(world._media_groups)
    message_ids: dict[str, int] = {}
    for chat_id, counter in list(world._message_ids.items()):
        message_ids[str(chat_id)], world._message_ids[chat_id] = _next_value(counter)
    return {
        "update_id": update_id,
        "file_number": file_number,
        "callback_number": callback_number,
        "media_group": media_group,
        "user_cursor": world._user_cursor,
        "message_ids": message_ids,
    }


def snapshot(world: World, encoded: dict[str, str]) -> dict[str, Any]:
    """The world as JSON-ready data; ``encoded`` holds every file's bytes in base64."""
    return {
        "format": FORMAT,
        "bot_id": world.bot.id,
        "counters": _counters(world),
        "users": [_fields(user) for user in world.users.values()],
        "chats": [
            {
                **_fields(chat, skip=("members", "messages")),
                # JSON object keys are strings; pairs keep the ids numbers, in order.
                "members": [[user_id, status] for user_id, status in chat.members.items()],
                "messages": [_fields(message) for message in chat.messages.values()],
            }
            for chat in world.chats.values()
        ],
        "files": [
            {**_fields(stored, skip=("data",)), "data": encoded[file_id]}
            for file_id, stored in world.files.items()
        ],
        "updates": [_fields(record) for record in world.updates.values()],
        "queue": [_fields(entry) for entry in world.queue],
        "webhook": _fields(world.webhook) if world.webhook is not None else None,
        "allowed_updates": world.allowed_updates,
        "commands": [
            {"scope": scope, "language_code": language, "commands": commands}
            for (scope, language), commands in world.commands.items()
        ],
    }


def _build(cls: type[Record], saved: Any, /, **fixed: Any) -> Record:
    """A record from saved data: fields the record no longer has are ignored, fields it
    has gained take their defaults; a required one missing makes the file unusable."""
    if not isinstance(saved, dict):
        raise StateFileError(f"a {cls.__name__} is not an object")
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    values = {key: value for key, value in saved.items() if key in names}
    values.update(fixed)
    return cls(**values)


def _items(state: dict[str, Any], key: str) -> list[Any]:
    value = state.get(key) or []
    if not isinstance(value, list):
        raise StateFileError(f'"{key}" is not a list')
    return value


def _number(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise StateFileError(f"{what} is not a number: {value!r}")
    return value


def _chat(data: Any) -> Chat:
    if not isinstance(data, dict):
        raise StateFileError("a Chat is not an object")
    members = {
        _number(uid, "a member's id"): str(status) for uid, status in data.get("members") or []
    }
    messages = [_build(Message, item) for item in data.get("messages") or []]
    chat = _build(
        Chat,
        data,
        members=members,
        messages={_number(m.message_id, "a message id"): m for m in messages},
    )
    _number(chat.id, "a chat id")
    return chat


def _file(data: Any) -> StoredFile:
    if not isinstance(data, dict):
        raise StateFileError("a StoredFile is not an object")
    return _build(StoredFile, data, data=base64.b64decode(data["data"], validate=True))


def restore(world: World, raw: bytes) -> None:
    """Fill ``world`` from a saved file, or raise and leave it untouched."""
    # Always UTF-8, as written: json.loads would also take UTF-16 or -32 from bytes.
    state = json.loads(raw.decode("utf-8"))
    if not isinstance(state, dict):
        raise StateFileError("not a JSON object")
    if state.get("format") != FORMAT:
        raise StateFileError(f"format {state.get('format')!r}, this sandbox reads {FORMAT}")
    users = {
        _number(user.id, "a user id"): user
        for user in (_build(User, item) for item in _items(state, "users"))
    }
    chats = {chat.id: chat for chat in map(_chat, _items(state, "chats"))}
    files = {stored.file_id: stored for stored in map(_file, _items(state, "files"))}
    updates = {
        _number(record.update_id, "an update id"): record
        for record in (_build(UpdateRecord, item) for item in _items(state, "updates"))
    }
    queue = [
        entry
        for entry in (_build(QueuedUpdate, item) for item in _items(state, "queue"))
        if entry.update_id in updates
    ]
    hook = state.get("webhook")
    webhook = _build(Webhook, hook) if hook is not None else None
    allowed = state.get("allowed_updates")
    if allowed is not None and not isinstance(allowed, list):
        raise StateFileError('"allowed_updates" is not a list')
    commands = {
        (str(item["scope"]), str(item["language_code"])): list(item["commands"])
        for item in _items(state, "commands")
    }
    counters = state.get("counters") or {}
    if not isinstance(counters, dict):
        raise StateFileError('"counters" is not an object')
    saved_ids = counters.get("message_ids") or {}
    message_ids = {int(chat_id): int(n) for chat_id, n in saved_ids.items()}
    for chat in chats.values():
        # Never below what the chat holds, whatever the counters say.
        if chat.messages:
            message_ids[chat.id] = max(message_ids.get(chat.id, 1), max(chat.messages) + 1)
    next_update = max(int(counters.get("update_id", 1)), max(updates, default=0) + 1)

    # Everything read: only now does the world change.
    if state.get("bot_id"):
        world.bot.id = _number(state["bot_id"], "the bot's id")
    world.users = users
    world.chats = chats
    world.files = files
    world.file_paths = {stored.file_path: stored for stored in files.values()}
    world.updates = updates
    world.queue = queue
    world.webhook = webhook
    world.allowed_updates = [str(kind) for kind in allowed] if allowed else None
    world.commands = commands
    world._update_ids = itertools.count(next_update)
    world._message_ids = {chat_id: itertools.count(n) for chat_id, n in message_ids.items()}
    world._file_numbers = itertools.count(int(counters.get("file_number", 1)))
    world._callback_numbers = itertools.count(int(counters.get("callback_number", 1)))
    world._media_groups = itertools.count(int(counters.get("media_group", 1)))
    world._user_cursor = int(counters.get("user_cursor", 1000))
