"""The doctor's Redis check: reachable, new enough, quick, and the three commands it must run.

Through the servers' own `RedisCache` (same timeouts and retries): the message claim is
`SET NX GET` (Redis 7.0+), the scheduler lease's compare-and-extend and compare-and-delete are
Lua scripts.  Each is tried once on a key of the doctor's own under DANGJIAN_REDIS_PREFIX,
which expires in seconds and is deleted at once.
"""

from __future__ import annotations

import secrets
import statistics
import time

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from server.cache import CacheUnavailable, RedisCache
from server.doctor import Finding, fail, ok, warn
from server.settings import Settings

MIN_VERSION = (7, 0)
SLOW_MS = 50.0  # a message makes several round trips inside WeChat's 5 s
PINGS = 5


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:2] if part.isdigit())


def without_redis(settings: Settings) -> Finding:
    if settings.env != "production":
        return ok("redis", "DANGJIAN_REDIS_URL unset: the in-process cache (one process)")
    if not settings.scheduler:
        return fail(
            "redis",
            "DANGJIAN_SCHEDULER=false means another process runs the jobs, but several "
            "processes need DANGJIAN_REDIS_URL (de-duplication, the access token, the lease)",
            "set DANGJIAN_REDIS_URL=redis://host:6379/0 on every process",
        )
    return warn(
        "redis",
        "DANGJIAN_REDIS_URL unset: run only one server process (retries, the access token and "
        "conversations are per process)",
        "set DANGJIAN_REDIS_URL before starting a second process",
    )


async def check(settings: Settings) -> list[Finding]:
    if not settings.redis_url:
        return [without_redis(settings)]
    cache = RedisCache(settings.redis_url, settings.redis_prefix, 4, settings.redis_timeout)
    try:
        return [await _examine(cache)]
    except (CacheUnavailable, RedisConnectionError, RedisTimeoutError) as exc:
        return [fail("redis", str(exc), "check DANGJIAN_REDIS_URL and that Redis is running")]
    except RedisError as exc:
        return [
            fail(
                "redis",
                f"Redis refused a command the servers need: {type(exc).__name__}: {exc}",
                "allow SET, GET, EVALSHA/EVAL, PUBLISH for this user (ACL), or use another Redis",
            )
        ]
    finally:
        await cache.close()


async def _examine(cache: RedisCache) -> Finding:
    rounds = []
    for _ in range(PINGS):
        started = time.monotonic()
        await cache.ping()
        rounds.append((time.monotonic() - started) * 1000)
    latency = statistics.median(rounds)
    info = await cache.client.info("server")
    version = str(info.get("redis_version", "0"))
    if _version(version) < MIN_VERSION:
        return fail(
            "redis",
            f"Redis {version}: the message claim needs SET NX GET, Redis 7.0 or later",
            "upgrade Redis to 7.0 or later",
        )
    key, me = f"doctor:{secrets.token_hex(8)}", secrets.token_hex(8)
    try:
        before, _ = await cache.claim(key, me, 5, key)
        extended = await cache.swap(key, me, me, 5)
        released = await cache.discard(key, me)
    finally:
        await cache.delete(key)
    if before is not None or not extended or not released:
        return fail(
            "redis",
            f"Redis {version} answered the claim or the lease's scripts wrongly",
            "use a real Redis 7 (not a look-alike that lacks SET NX GET or Lua)",
        )
    detail = f"Redis {version}, round trip {latency:.1f} ms; claim and lease commands work"
    if latency > SLOW_MS:
        return warn("redis", detail, "put Redis near the servers: each message waits on it")
    return ok("redis", detail)
