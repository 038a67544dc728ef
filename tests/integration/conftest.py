"""The real PostgreSQL and Redis: skipped with a reason outside CI, required when CI=true.

Each test gets its own database (created and dropped here) and its own Redis key prefix, so
no run depends on what an earlier one left behind.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest

PG_ADMIN = os.environ.get("DANGJIAN_TEST_PG", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("DANGJIAN_TEST_REDIS", "redis://127.0.0.1:6379/0")


def _unavailable(what: str, exc: Exception) -> None:
    message = f"{what} is not reachable ({type(exc).__name__}: {exc}); see ../shared/services.md"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true requires the integration services: {message}")
    pytest.skip(message)


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    import asyncpg

    dsn = "postgresql://" + PG_ADMIN.split("://", 1)[1]
    try:
        admin = await asyncpg.connect(dsn, timeout=3)
    except Exception as exc:
        _unavailable("PostgreSQL at 127.0.0.1:5432", exc)
    name = f"dangjian_test_{uuid.uuid4().hex[:12]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(REDIS, socket_connect_timeout=3)
    try:
        await client.ping()
    except Exception as exc:
        await client.aclose()
        _unavailable("Redis at 127.0.0.1:6379", exc)
    yield REDIS
    await client.aclose()


@pytest.fixture
def redis_prefix() -> str:
    return f"dangjian_test:{uuid.uuid4().hex[:12]}:"


@pytest.fixture
async def redis_cleanup(redis_url: str, redis_prefix: str) -> AsyncIterator[None]:
    yield
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(redis_url)
    keys = [k async for k in client.scan_iter(match=redis_prefix + "*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()
