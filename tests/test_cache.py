"""The cache contract, on the in-process cache and on the real Redis alike."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator

import pytest

from server.cache import Cache, LockTimeout, MemoryCache, RedisCache

REDIS = os.environ.get("DANGJIAN_TEST_REDIS", "redis://127.0.0.1:6379/0")


@contextlib.asynccontextmanager
async def real_redis(pool_size: int = 200) -> AsyncIterator[RedisCache]:
    """A RedisCache with a private key prefix, emptied afterwards; skipped where Redis is not."""
    redis = RedisCache(REDIS, prefix=f"dangjian_test:{uuid.uuid4().hex[:12]}:", pool_size=pool_size)
    try:
        await redis.ping()
    except Exception as exc:
        await redis.close()
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true requires Redis at {REDIS}: {exc}")
        pytest.skip(f"Redis at {REDIS} is not reachable: {exc}")
    try:
        yield redis
    finally:
        keys = [k async for k in redis.client.scan_iter(match=redis._k("*"))]
        if keys:
            await redis.client.delete(*keys)
        await redis.close()


@pytest.fixture(params=["memory", "redis"])
async def cache(request: pytest.FixtureRequest) -> AsyncIterator[Cache]:
    if request.param == "memory":
        yield MemoryCache()
        return
    async with real_redis() as redis:
        yield redis


async def test_add_is_set_if_absent(cache: Cache) -> None:
    assert await cache.add("k", "first", ttl=60)
    assert not await cache.add("k", "second", ttl=60)
    assert await cache.get("k") == "first"


async def test_claim_sets_if_absent_and_reads_in_one_go(cache: Cache) -> None:
    await cache.set("other", "state")
    assert await cache.claim("claim", "mine", 60, "other") == (None, "state")
    # The second claimer learns whose claim it is, in the same round trip.
    assert await cache.claim("claim", "theirs", 60, "missing") == ("mine", None)
    assert await cache.get("claim") == "mine"


async def test_swap_takes_over_only_what_it_saw(cache: Cache) -> None:
    await cache.set("claim", "stale owner")
    assert not await cache.swap("claim", "someone else", "me", 60)
    assert await cache.swap("claim", "stale owner", "me", 60)
    assert await cache.get("claim") == "me"
    assert not await cache.swap("gone", "stale owner", "me", 60)


async def test_values_expire(cache: Cache) -> None:
    await cache.set("short", "v", ttl=0.05)
    await asyncio.sleep(0.1)
    assert await cache.get("short") is None


async def test_incr_counts_within_one_window(cache: Cache) -> None:
    assert [await cache.incr("n", ttl=60) for _ in range(3)] == [1, 2, 3]
    await cache.delete("n")
    assert await cache.incr("n", ttl=60) == 1


async def test_lock_excludes_a_second_holder(cache: Cache) -> None:
    async with cache.lock("job", ttl=5, wait=1):
        with pytest.raises(LockTimeout):
            async with cache.lock("job", ttl=5, wait=0.1):
                pass
    async with cache.lock("job", ttl=5, wait=1):
        pass


async def test_publish_reaches_subscribers(cache: Cache) -> None:
    received: list[str] = []

    async def listen() -> None:
        async for message in cache.subscribe("news"):
            received.append(message)
            if message == "second":
                return

    task = asyncio.create_task(listen())
    for _ in range(50):  # wait until subscribed: a message published before is not delivered
        await asyncio.sleep(0.02)
        await cache.publish("news", "ping")
        if received:
            break
    await cache.publish("news", "second")
    await asyncio.wait_for(task, 2)
    assert received[-1] == "second" and set(received) == {"ping", "second"}


async def test_a_burst_beyond_the_pool_waits_instead_of_failing() -> None:
    async with real_redis(pool_size=4) as redis:
        results = await asyncio.gather(*(redis.add(f"k{i}", "v", 60) for i in range(300)))
    assert all(results)
