"""The scheduler's leader lease on the real Redis: one leader, and no renewal of a lost lease."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from scheduler.leadership import KEY, Leadership, LeaseLost
from server.app import create_app
from server.cache import RedisCache
from server.clock import FrozenClock
from server.models.jobs import JobSend
from server.typedefs import CACHE
from server.wechat.fake import FakeWeChat
from tests.test_meetings_chat import SECRETARY
from tests.test_scheduler_leader import OTHER_SECRETARY, Process, local, reminders, two_branches

pytestmark = pytest.mark.integration


@pytest.fixture
async def redis(
    redis_url: str, redis_prefix: str, redis_cleanup: None
) -> AsyncIterator[RedisCache]:
    cache = RedisCache(redis_url, redis_prefix)
    yield cache
    await cache.close()


async def test_processes_racing_for_the_lease_get_exactly_one_leader(
    redis: RedisCache, redis_url: str, redis_prefix: str
) -> None:
    # Twenty processes, each with its own connection pool, asking at the same moment.
    caches = [RedisCache(redis_url, redis_prefix) for _ in range(20)]
    try:
        processes = [Leadership(cache, ttl=30) for cache in caches]
        won = await asyncio.gather(*(p.hold() for p in processes))
        assert won.count(True) == 1
        [leader] = [p for p, w in zip(processes, won, strict=True) if w]
        assert await redis.get(KEY) == leader.me
        # Everyone asks again: the leader renews, nobody else gets in.
        assert await asyncio.gather(*(p.hold() for p in processes)) == won
    finally:
        await asyncio.gather(*(c.close() for c in caches))


async def test_an_expired_lease_taken_by_b_cannot_be_renewed_or_released_by_a(
    redis: RedisCache, redis_prefix: str
) -> None:
    a, b = Leadership(redis, ttl=30), Leadership(redis, ttl=30)
    assert await a.hold()
    await redis.delete(KEY)  # A's lease ran out (A was paused past its ttl)
    assert await b.hold()
    assert not await a.hold()  # compare-and-extend: A's token is not the one there
    await a.release()  # compare-and-delete: B's lease is not A's to drop
    assert await redis.get(KEY) == b.me
    assert await redis.client.pttl(redis_prefix + KEY) > 25_000
    with pytest.raises(LeaseLost):
        await a.fence()  # A's next batch is not sent
    await b.fence()
    await b.release()
    assert await redis.get(KEY) is None


async def test_on_postgres_and_redis_a_leader_dying_before_the_check_hands_it_over_once(
    aiohttp_client: Any,
    make_settings: Callable[..., Any],
    pg_url: str,
    redis_url: str,
    redis_prefix: str,
    redis_cleanup: None,
    fake_wechat: tuple[FakeWeChat, str],
) -> None:
    fake, _ = fake_wechat
    clock = FrozenClock(local(2026, 11, 20, 8, 59, 50))
    settings = make_settings(
        db_url=pg_url, redis_url=redis_url, redis_prefix=redis_prefix, scheduler=False
    )
    first: TestClient = await aiohttp_client(create_app(settings, clock=clock))
    second: TestClient = await aiohttp_client(create_app(settings, clock=clock))
    await two_branches(fake)
    a = Process(first.app, first.app[CACHE], clock)
    b = Process(second.app, second.app[CACHE], clock)
    assert await a.check() == [] and await b.check() == []  # A leads; nothing due yet
    await first.app[CACHE].delete(KEY)  # A died; its lease ran out (Redis's clock, not ours)
    clock.advance(35)  # 09:00:25
    # B and a restarted A ask at once: one takes the lease and runs the check, once.
    a = Process(first.app, first.app[CACHE], clock)
    ran = await asyncio.gather(a.check(), b.check())
    assert sorted(ran) == [[], ["compliance"]]
    assert len(reminders(fake, SECRETARY)) == 1 and len(reminders(fake, OTHER_SECRETARY)) == 1
    clock.advance(30)
    assert await asyncio.gather(a.check(), b.check()) == [[], []]
    assert await JobSend.filter(job="compliance", period_key="2026-11-20").count() == 2
