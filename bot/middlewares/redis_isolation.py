"""The lock that keeps one conversation's updates apart, in Redis, for several processes.

aiogram's Redis lock, or this process's own while Redis fails: updates go on, only no
longer kept apart from another process's (their conversation state is safe either way,
in the database, committed with the change it belongs to). Imported only by a bot with
REDIS_URL (bot.dispatcher.conversation_storage): the redis client costs memory.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Self

from aiogram.fsm.storage.base import DefaultKeyBuilder, StorageKey
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.fsm.storage.redis import RedisEventIsolation
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import LockError, RedisError

from bot.delivery.holders import new_holder
from bot.delivery.shared_limits import TIMEOUT, Availability

log = logging.getLogger(__name__)

_DELETE_IF = (
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
)


class FallbackIsolation(RedisEventIsolation):
    def __init__(self, redis: Redis) -> None:
        # Keys carry the bot id and a prefix of ours: a Redis may serve several bots.
        builder = DefaultKeyBuilder(prefix="outpost", with_bot_id=True, with_destiny=True)
        super().__init__(redis, key_builder=builder)
        self.local = SimpleEventIsolation()
        self.redis_state = Availability("keeping conversations apart")

    @classmethod
    def from_url(cls, url: str) -> Self:  # type: ignore[override]
        # Short timeouts and one quick retry: an update must not wait long on a Redis
        # that is down before it goes on without it.
        redis = Redis.from_url(
            url,
            socket_timeout=TIMEOUT,
            socket_connect_timeout=TIMEOUT,
            retry=Retry(NoBackoff(), 1),
        )
        return cls(redis)

    @asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncIterator[None]:
        held = None
        if self.redis_state.worth_asking():
            held = self.redis.lock(name=self.key_builder.build(key, "lock"), **self.lock_kwargs)
            try:
                # The holder in the token: a worker started in place of a dead one frees
                # the dead one's locks (free_held_by) instead of waiting out their 60 s.
                await held.acquire(token=new_holder())
            except (RedisError, OSError) as exc:
                self.redis_state.failed(exc)
                held = None
            else:
                self.redis_state.answered()
        if held is None:
            async with self.local.lock(key):
                yield
            return
        try:
            yield
        finally:
            try:
                await held.release()
            except LockError:
                pass  # held past its timeout: it has gone already
            except (RedisError, OSError) as exc:
                # The update is done; the lock runs out by its own timeout.
                log.warning("could not release a conversation lock", extra={"error": repr(exc)})

    async def free_held_by(self, holders: str) -> int:
        """Let go of every conversation lock whose holder starts with ``holders`` (a
        process known to be dead); returns how many."""
        freed = 0
        async for key in self.redis.scan_iter(match="outpost:*:lock", count=1000):
            token = await self.redis.get(key)
            if token is None:
                continue
            text = token.decode(errors="replace") if isinstance(token, bytes) else str(token)
            if text.startswith(holders):
                # Only if it is still that holder's: compared and deleted in one step.
                freed += int(await self.redis.eval(_DELETE_IF, 1, key, token))
        return freed

    async def close(self) -> None:
        await self.local.close()
        await self.redis.aclose()
