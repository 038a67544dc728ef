"""The shared cache: in-process by default, Redis when DANGJIAN_REDIS_URL is set.

Everything that must be shared between server processes goes through this small interface:
message de-duplication, the WeChat access token and its refresh lock, rate limits and the
per-user conversation state.  Values are strings; callers encode JSON themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Protocol

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import LockError
from redis.exceptions import TimeoutError as RedisTimeoutError

from server.clock import Clock
from server.errors import DangjianError


class LockTimeout(DangjianError):
    """Another holder kept the lock longer than we were willing to wait."""


class CacheUnavailable(DangjianError):
    """The shared cache did not answer: refused (down) or timed out (stalled).

    `landed_maybe` is True for a timeout: a stalled server runs the command when it wakes,
    so a write it carried may exist although we never saw it succeed.
    """

    http_status = 503

    def __init__(self, message: str, *, landed_maybe: bool) -> None:
        super().__init__(message)
        self.landed_maybe = landed_maybe


class Cache(Protocol):
    backend: str

    async def get(self, key: str) -> str | None: ...
    async def set(self, key: str, value: str, ttl: float | None = None) -> None: ...
    async def add(self, key: str, value: str, ttl: float) -> bool:
        """Set only if absent (atomic across processes); True when this call set it."""
        ...

    async def claim(
        self, key: str, value: str, ttl: float, other: str
    ) -> tuple[str | None, str | None]:
        """Set `key` if absent, and `get(other)`, in one round trip (the per-message hot path).

        Returns what `key` held before (None when this call set it) and `other`'s value.  A
        claim resent after a lost answer finds its own value: the caller compares.
        """
        ...

    async def swap(self, key: str, expected: str, value: str, ttl: float) -> bool:
        """Set `key` to `value` only if it still holds `expected` (compare-and-set)."""
        ...

    async def delete(self, key: str) -> None: ...
    async def discard(self, key: str, expected: str) -> bool:
        """Delete `key` only if it still holds `expected` (compare-and-delete)."""
        ...

    async def incr(self, key: str, ttl: float) -> int:
        """Increment a counter; the window (ttl) starts at the first increment."""
        ...

    def lock(
        self, name: str, ttl: float = 10, wait: float = 10
    ) -> contextlib.AbstractAsyncContextManager[None]: ...
    async def publish(self, channel: str, message: str) -> None:
        """Tell every process (subscribed to `channel`) something changed."""
        ...

    def subscribe(self, channel: str) -> AsyncIterator[str]:
        """Messages published on `channel` from now on, by any process; runs until cancelled."""
        ...

    async def ping(self) -> None: ...
    async def close(self) -> None: ...


class MemoryCache:
    """One process's cache.  Expiry follows the injected clock so tests can move time."""

    backend = "memory"

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock or Clock()
        self._data: dict[str, tuple[str, float | None]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._subscribers: dict[str, list[asyncio.Queue[str]]] = {}

    def _live(self, key: str) -> tuple[str, float | None] | None:
        item = self._data.get(key)
        if item is None:
            return None
        if item[1] is not None and item[1] <= self._clock.timestamp():
            del self._data[key]
            return None
        return item

    def _expiry(self, ttl: float | None) -> float | None:
        return None if ttl is None else self._clock.timestamp() + ttl

    async def get(self, key: str) -> str | None:
        item = self._live(key)
        return None if item is None else item[0]

    async def set(self, key: str, value: str, ttl: float | None = None) -> None:
        self._data[key] = (value, self._expiry(ttl))

    async def add(self, key: str, value: str, ttl: float) -> bool:
        if self._live(key) is not None:
            return False
        self._data[key] = (value, self._expiry(ttl))
        return True

    async def claim(
        self, key: str, value: str, ttl: float, other: str
    ) -> tuple[str | None, str | None]:
        before = await self.get(key)
        if before is None:
            await self.set(key, value, ttl)
        return before, await self.get(other)

    async def swap(self, key: str, expected: str, value: str, ttl: float) -> bool:
        if await self.get(key) != expected:
            return False
        await self.set(key, value, ttl)
        return True

    async def delete(self, key: str) -> None:
        self._data.pop(key, None)

    async def discard(self, key: str, expected: str) -> bool:
        if await self.get(key) != expected:
            return False
        del self._data[key]
        return True

    async def incr(self, key: str, ttl: float) -> int:
        item = self._live(key)
        if item is None:
            self._data[key] = ("1", self._expiry(ttl))
            return 1
        count = int(item[0]) + 1
        self._data[key] = (str(count), item[1])
        return count

    @contextlib.asynccontextmanager
    async def lock(self, name: str, ttl: float = 10, wait: float = 10) -> AsyncIterator[None]:
        lock = self._locks.setdefault(name, asyncio.Lock())
        try:
            await asyncio.wait_for(lock.acquire(), wait)
        except TimeoutError:
            raise LockTimeout(f"lock {name} busy") from None
        try:
            yield
        finally:
            lock.release()

    async def publish(self, channel: str, message: str) -> None:
        for queue in self._subscribers.get(channel, []):
            queue.put_nowait(message)

    async def subscribe(self, channel: str) -> AsyncIterator[str]:
        queue: asyncio.Queue[str] = asyncio.Queue()
        self._subscribers.setdefault(channel, []).append(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._subscribers[channel].remove(queue)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._data.clear()


class RedisCache:
    """The cache shared by several server processes."""

    backend = "redis"

    # Connections beyond the command slots: subscriptions and locks hold their own.
    SPARE_CONNECTIONS = 16

    def __init__(
        self, url: str, prefix: str = "dangjian:", pool_size: int = 200, timeout: float = 1.0
    ) -> None:
        # A burst beyond pool_size commands waits for a slot instead of failing with redis-py's
        # MaxConnectionsError.  A semaphore rather than redis-py's BlockingConnectionPool: that
        # one queues through an asyncio.Condition costing ~75 µs per command (bench/webhook.py).
        self._slots = asyncio.Semaphore(pool_size)
        pool = aioredis.ConnectionPool.from_url(
            url,
            max_connections=pool_size + self.SPARE_CONNECTIONS,
            decode_responses=True,
            # Short timeouts: a command must fail (and the message be answered) well inside
            # WeChat's 5 s, not hang on a stalled server.  Two retries on a fresh connection
            # carry a command over a pooled connection Redis closed while it was away.
            socket_connect_timeout=timeout,
            socket_timeout=timeout,
            socket_keepalive=True,
            retry=Retry(
                ExponentialBackoff(cap=timeout / 4, base=timeout / 40),
                retries=2,
                supported_errors=(RedisConnectionError, RedisTimeoutError),
            ),
            # A connection idle this long is pinged before use: a restart is noticed there.
            health_check_interval=5,
        )
        self._redis = aioredis.Redis.from_pool(pool)  # owns the pool: aclose() closes it
        self._prefix = prefix
        self._swap = self._redis.register_script(_SWAP)
        self._discard = self._redis.register_script(_DISCARD)

    @contextlib.asynccontextmanager
    async def _command(self) -> AsyncIterator[None]:
        """A command slot; Redis being away surfaces as CacheUnavailable, one type for callers."""
        async with self._slots:
            try:
                yield
            except RedisTimeoutError as exc:
                raise CacheUnavailable(f"redis timed out: {exc}", landed_maybe=True) from exc
            except RedisConnectionError as exc:
                raise CacheUnavailable(f"redis unreachable: {exc}", landed_maybe=False) from exc

    def _k(self, key: str) -> str:
        return self._prefix + key

    async def get(self, key: str) -> str | None:
        async with self._command():
            value = await self._redis.get(self._k(key))
        return None if value is None else str(value)

    async def set(self, key: str, value: str, ttl: float | None = None) -> None:
        px = None if ttl is None else max(1, int(ttl * 1000))
        async with self._command():
            await self._redis.set(self._k(key), value, px=px)

    async def add(self, key: str, value: str, ttl: float) -> bool:
        async with self._command():
            added = await self._redis.set(self._k(key), value, px=_ms(ttl), nx=True)
        return bool(added)

    async def claim(
        self, key: str, value: str, ttl: float, other: str
    ) -> tuple[str | None, str | None]:
        async with self._command(), self._redis.pipeline(transaction=False) as pipe:
            # SET NX GET (Redis 7.0+): what was there, or nothing when this call set it.
            pipe.set(self._k(key), value, px=_ms(ttl), nx=True, get=True)
            pipe.get(self._k(other))
            before, found = await pipe.execute()
        return _str(before), _str(found)

    async def swap(self, key: str, expected: str, value: str, ttl: float) -> bool:
        async with self._command():
            swapped = await self._swap(keys=[self._k(key)], args=[expected, value, _ms(ttl)])
        return bool(swapped)

    async def delete(self, key: str) -> None:
        async with self._command():
            await self._redis.delete(self._k(key))

    async def discard(self, key: str, expected: str) -> bool:
        async with self._command():
            deleted = await self._discard(keys=[self._k(key)], args=[expected])
        return bool(deleted)

    async def incr(self, key: str, ttl: float) -> int:
        async with self._command(), self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(self._k(key))
            # NX: only the first increment starts the window.
            pipe.pexpire(self._k(key), _ms(ttl), nx=True)
            count, _ = await pipe.execute()
        return int(count)

    @contextlib.asynccontextmanager
    async def lock(self, name: str, ttl: float = 10, wait: float = 10) -> AsyncIterator[None]:
        lock = self._redis.lock(self._k("lock:" + name), timeout=ttl, blocking_timeout=wait)
        if not await lock.acquire():
            raise LockTimeout(f"lock {name} busy")
        try:
            yield
        finally:
            # The lock may have expired under a slow holder; that is not an error for us.
            with contextlib.suppress(LockError):
                await lock.release()

    async def publish(self, channel: str, message: str) -> None:
        async with self._command():
            await self._redis.publish(self._k(channel), message)

    async def subscribe(self, channel: str) -> AsyncIterator[str]:
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(self._k(channel))
        try:
            while True:
                message = await pubsub.get_message(timeout=30)
                if message is not None and message["type"] == "message":
                    yield str(message["data"])
        finally:
            await pubsub.aclose()

    async def ping(self) -> None:
        async with self._command():
            await self._redis.ping()

    async def close(self) -> None:
        await self._redis.aclose()

    @property
    def client(self) -> aioredis.Redis:
        return self._redis


_SWAP = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) and 1
end
return 0
"""

_DISCARD = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def _str(value: object) -> str | None:
    return None if value is None else str(value)


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


def conversation_key(appid: str, openid: str) -> str:
    """Where a WeChat user's conversation draft is kept (the chat's `Conversation`, and an
    erasure clears it): one definition for both layers."""
    return f"conv:{appid}:{openid}"


def create_cache(
    redis_url: str | None,
    prefix: str,
    clock: Clock,
    pool_size: int = 200,
    timeout: float = 1.0,
) -> Cache:
    if redis_url:
        return RedisCache(redis_url, prefix, pool_size, timeout)
    return MemoryCache(clock)
