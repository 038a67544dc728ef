"""`dangjian serve --workers 2` on PostgreSQL and Redis: both workers answer on one port, only
the first schedules, a worker that dies is started again, and SIGTERM stops them all."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
import redis.asyncio as aioredis

from scheduler.leadership import KEY

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def lines(log: Path) -> list[dict[str, object]]:
    found = []
    for line in log.read_text().splitlines():
        if line.startswith("{"):
            found.append(json.loads(line))
    return found


def said(log: Path, words: str) -> list[dict[str, object]]:
    return [line for line in lines(log) if words in str(line.get("msg", ""))]


def started(log: Path, index: int) -> list[int]:
    """The pids the supervisor gave worker `index`, in order ("worker 1 started (pid 123)")."""
    return [
        int(str(line["msg"]).split("pid ")[1].rstrip(")"))
        for line in said(log, f"worker {index} started")
    ]


async def until(check: object, log: Path, seconds: float = 60) -> None:
    for _ in range(int(seconds / 0.2)):
        if check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"never happened; the log:\n{log.read_text()[-3000:]}")


def two_workers(
    port: int, log: Path, pg_url: str, redis_url: str, redis_prefix: str
) -> subprocess.Popen[bytes]:
    """`dangjian serve --workers 2` of this checkout on PostgreSQL and Redis, logging to `log`."""
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "DANGJIAN_DB_URL": pg_url,
        "DANGJIAN_REDIS_URL": redis_url,
        "DANGJIAN_REDIS_PREFIX": redis_prefix,
        "DANGJIAN_DATA_DIR": str(log.parent),
        "DANGJIAN_PORT": str(port),
    }
    command = [sys.executable, "-m", "server", "serve", "--workers", "2"]
    return subprocess.Popen(
        command, env=env, cwd=REPO, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )


async def test_two_workers_share_one_port_and_one_scheduler(
    pg_url: str, redis_url: str, redis_prefix: str, redis_cleanup: None, tmp_path: Path
) -> None:
    port, log = free_port(), tmp_path / "serve.log"
    parent = two_workers(port, log, pg_url, redis_url, redis_prefix)
    try:
        await until(lambda: len(said(log, "serving on")) == 2, log)
        workers = {line["pid"] for line in said(log, "serving on")}

        # New connections, spread by the kernel: both workers answer.
        for _ in range(40):
            async with aiohttp.ClientSession() as session:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                    assert response.status == 200
        await until(lambda: len(said(log, "request")) >= 40, log)
        answered = {line["pid"] for line in said(log, "request")}
        assert answered == workers

        # Only the first schedules, and it holds the lease.
        assert len(said(log, "DANGJIAN_SCHEDULER=off")) == 1
        [first] = started(log, 0)
        cache = aioredis.from_url(redis_url, decode_responses=True)
        try:

            async def leader() -> str | None:
                return await cache.get(redis_prefix + KEY)

            for _ in range(100):
                if await leader():
                    break
                await asyncio.sleep(0.1)
            holder = await leader()
        finally:
            await cache.aclose()
        assert holder is not None and holder.startswith(f"{first}:")

        # A worker killed outright is started again.
        [second] = started(log, 1)
        os.kill(second, signal.SIGKILL)
        await until(lambda: len(started(log, 1)) == 2, log)
        await until(lambda: len(said(log, "serving on")) == 3, log)

        parent.send_signal(signal.SIGTERM)
        assert parent.wait(timeout=60) == 0
        assert said(log, "all workers stopped")
    finally:
        if parent.poll() is None:
            parent.kill()  # a supervisor killed outright: its workers stop on their own
            parent.wait()


async def test_workers_stop_when_their_supervisor_is_killed(
    pg_url: str, redis_url: str, redis_prefix: str, redis_cleanup: None, tmp_path: Path
) -> None:
    port, log = free_port(), tmp_path / "serve.log"
    parent = two_workers(port, log, pg_url, redis_url, redis_prefix)
    try:
        await until(lambda: len(said(log, "serving on")) == 2, log)
        workers = started(log, 0) + started(log, 1)
    finally:
        parent.kill()
        parent.wait()

    def gone(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        with open(f"/proc/{pid}/stat") as stat:  # a zombie waiting for init is gone too
            return stat.read().split(") ", 1)[1].startswith("Z")

    await until(lambda: all(gone(pid) for pid in workers), log, seconds=30)


def test_workers_without_redis_are_refused_naming_the_variable(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "DANGJIAN_DATA_DIR": str(tmp_path)}
    env.pop("DANGJIAN_REDIS_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "server", "serve", "--workers", "2"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "DANGJIAN_REDIS_URL" in done.stderr and "--workers" in done.stderr
    zero = subprocess.run(
        [sys.executable, "-m", "server", "serve", "--workers", "0"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert zero.returncode == 2 and "from 1 to 64" in zero.stderr
