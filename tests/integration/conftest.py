"""The real PostgreSQL and Redis: skipped with a reason outside CI, required when CI=true.

Each test gets its own database (created and dropped here) and its own Redis key prefix, so
no run depends on what an earlier one left behind.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.conftest import migrate_apart

PG_ADMIN = os.environ.get("DANGJIAN_TEST_PG", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("DANGJIAN_TEST_REDIS", "redis://127.0.0.1:6379/0")


def _unavailable(what: str, exc: Exception) -> None:
    message = f"{what} is not reachable ({type(exc).__name__}: {exc}); see ../shared/services.md"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true requires the integration services: {message}")
    pytest.skip(message)


_BASE = PG_ADMIN.rsplit("/", 1)[0]
_TEMPLATE: list[str] = []  # the migrated template of this run, made by the first test asking


async def _fresh_database(*, migrated: bool) -> AsyncIterator[str]:
    import asyncpg

    dsn = "postgresql://" + PG_ADMIN.split("://", 1)[1]
    try:
        admin = await asyncpg.connect(dsn, timeout=3)
    except Exception as exc:
        _unavailable("PostgreSQL at 127.0.0.1:5432", exc)
    if migrated and not _TEMPLATE:
        # Migrating an empty database takes seconds; copying a migrated one (CREATE DATABASE …
        # TEMPLATE) a fraction of that.  (test_migrations.py and the servers started together
        # on an empty database test the migrations themselves.)
        template = f"dangjian_template_{uuid.uuid4().hex[:12]}"
        await admin.execute(f'CREATE DATABASE "{template}"')
        await asyncio.to_thread(migrate_apart, f"{_BASE}/{template}")
        _TEMPLATE.append(template)
    name = f"dangjian_test_{uuid.uuid4().hex[:12]}"
    copied = f' TEMPLATE "{_TEMPLATE[0]}"' if migrated else ""
    await admin.execute(f'CREATE DATABASE "{name}"{copied}')
    try:
        yield f"{_BASE}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(scope="session", autouse=True)
def _drop_the_template() -> Iterator[None]:
    yield
    if _TEMPLATE:
        import asyncpg

        async def drop() -> None:
            admin = await asyncpg.connect("postgresql://" + PG_ADMIN.split("://", 1)[1])
            await admin.execute(f'DROP DATABASE IF EXISTS "{_TEMPLATE[0]}" WITH (FORCE)')
            await admin.close()

        asyncio.run(drop())


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A database of its own for the test, with every migration applied."""
    async for url in _fresh_database(migrated=True):
        yield url


@pytest.fixture
async def pg_empty_url() -> AsyncIterator[str]:
    """A database of its own for the test, empty: for what migrates it."""
    async for url in _fresh_database(migrated=False):
        yield url


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


class PrivateRedis:
    """A redis-server of the test's own, to freeze and kill; the shared one is never touched."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self._proc: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        import redis.asyncio as aioredis

        # No persistence: a restart comes back empty, like a cache that lost its memory.
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no"]
        self._proc = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        client = aioredis.Redis.from_url(self.url, socket_connect_timeout=0.2)
        try:
            for _ in range(100):
                try:
                    await client.ping()
                    return
                except Exception:
                    await asyncio.sleep(0.02)
            raise AssertionError(f"redis-server on port {self.port} never answered")
        finally:
            await client.aclose()

    def stall(self) -> None:
        assert self._proc is not None
        self._proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self._proc is not None
        self._proc.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        if self._proc is not None:
            self._proc.send_signal(signal.SIGCONT)  # a frozen process would not die tidily
            self._proc.kill()
            self._proc.wait()
            self._proc = None


@pytest.fixture
async def private_redis() -> AsyncIterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        _unavailable("redis-server", FileNotFoundError("redis-server binary"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = PrivateRedis(port)
    await server.start()
    try:
        yield server
    finally:
        server.kill()
