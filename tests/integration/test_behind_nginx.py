"""The deployment as deploy/ describes it, on this machine: Debian's nginx with the site file
itself (deploy/nginx/dangjian.conf, rendered only for loopback ports and a throwaway
certificate) in front of two `dangjian serve` web processes (DANGJIAN_SCHEDULER=false), and one
scheduler process on a port of its own outside nginx's upstream, on a fresh PostgreSQL database
and a private Redis prefix, in production mode with a safe-mode WeChat account.

What a member, WeChat and an operator would see: a signed push through TLS gets its reply;
requests are spread over both web processes; /metrics and /fake-wechat are refused by nginx and
never reach a process; a body over the limit is refused by nginx, one at the limit is not; the
web processes log the caller's address that nginx saw, whatever the caller wrote in
X-Forwarded-For; the scheduler's lease in Redis is held by the scheduler process alone; and
with one web process killed, nginx sends everything to the other.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis

from server.db import close_database, open_database
from server.models.study import CheckIn
from server.wechat.fake_state import FakeWeChat
from tests.conftest import APPID, METRICS_TOKEN, OPERATOR, TOKEN
from tests.integration.test_faults import _wait_healthy, bound_members, post
from tests.nginx_site import NGINX, Site, free_port, render
from tests.wechat_peer import WeChatPeer

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not NGINX.exists(),
        reason="nginx is not installed (/usr/sbin/nginx: apt-get install nginx, as .ci/run does)",
    ),
]

REPO = Path(__file__).resolve().parents[2]
CALLER = "127.0.0.2"  # the member's side: another loopback address than nginx's 127.0.0.1
LIMIT = 64 * 1024  # DANGJIAN_MAX_BODY_BYTES's default, and the site's client_max_body_size


@dataclass
class Process:
    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def access_lines(self) -> list[dict[str, Any]]:
        lines = []
        for line in self.log.read_text(encoding="utf-8").splitlines():
            if line.startswith("{"):
                entry = json.loads(line)
                if entry.get("logger") == "dangjian.access":
                    lines.append(entry)
        return lines


@dataclass
class Deployment:
    site: Site
    web: list[Process]
    scheduler: Process
    nginx: subprocess.Popen[bytes]
    all: list[Process] = field(default_factory=list)

    def access_lines(self) -> list[dict[str, Any]]:
        return [line for p in self.all for line in p.access_lines()]

    def marks(self) -> list[int]:
        """How many access lines each process has written so far."""
        return [len(p.access_lines()) for p in self.all]

    def since(self, marks: list[int]) -> list[dict[str, Any]]:
        """Each process's access lines written after `marks`."""
        return [
            line
            for p, mark in zip(self.all, marks, strict=True)
            for line in p.access_lines()[mark:]
        ]


def _environment(
    pg_url: str, redis_url: str, prefix: str, aes_key: str, api: str, data: Path
) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("DANGJIAN_", "WECHAT_"))}
    return {
        **inherited,
        "PYTHONPATH": str(REPO),
        "DANGJIAN_ENV": "production",
        "DANGJIAN_DB_URL": pg_url,
        "DANGJIAN_REDIS_URL": redis_url,
        "DANGJIAN_REDIS_PREFIX": prefix,
        "DANGJIAN_DATA_DIR": str(data),
        "DANGJIAN_METRICS_TOKEN": METRICS_TOKEN,
        "DANGJIAN_LOG_LEVEL": "INFO",
        # The caller's own address trusted too, as Docker's gateway is under compose (every
        # connection through a userland port proxy comes from it): nginx must still never let
        # the caller's X-Forwarded-For through.
        "DANGJIAN_TRUSTED_PROXIES": "127.0.0.0/8",
        "WECHAT_TOKEN": TOKEN,
        "WECHAT_AES_KEY": aes_key,
        "WECHAT_APPID": APPID,
        "WECHAT_SECRET": "test-secret",
        "WECHAT_API_BASE": api,
        "WECHAT_ENCRYPT_MODE": "safe",
    }


def _start(name: str, env: dict[str, str], scheduler: bool, folder: Path) -> Process:
    port = free_port()
    log = folder / f"{name}.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "server", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env={**env, "DANGJIAN_SCHEDULER": "true" if scheduler else "false"},
        cwd=REPO,  # this checkout's code, not an installed copy
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    return Process(name, port, proc, log)


def _stop(procs: Iterator[subprocess.Popen[bytes]]) -> None:
    running = [p for p in procs if p.poll() is None]
    for proc in running:
        proc.terminate()
    for proc in running:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
async def deployment(
    pg_url: str,
    redis_url: str,
    redis_prefix: str,
    redis_cleanup: None,
    aes_key: str,
    fake_wechat: tuple[FakeWeChat, str],
    tmp_path: Path,
) -> AsyncIterator[Deployment]:
    env = _environment(pg_url, redis_url, redis_prefix, aes_key, fake_wechat[1], tmp_path)
    processes = [
        _start("web1", env, False, tmp_path),
        _start("web2", env, False, tmp_path),
        _start("scheduler", env, True, tmp_path),
    ]
    nginx: subprocess.Popen[bytes] | None = None
    try:
        async with aiohttp.ClientSession() as session:
            for p in processes:
                await _wait_healthy(session, p.url, p.proc, p.log)
        site = render(tmp_path / "nginx", (processes[0].port, processes[1].port))
        checked = site.check()
        assert checked.returncode == 0, checked.stderr
        nginx = site.start()
        await _wait_listening(site, nginx)
        await open_database(pg_url, migrate=False)
        try:
            yield Deployment(site, processes[:2], processes[2], nginx, all=processes)
        finally:
            await close_database()
    finally:
        _stop(p for p in ([nginx] if nginx else []) + [p.proc for p in processes])


async def _wait_listening(site: Site, nginx: subprocess.Popen[bytes]) -> None:
    for _ in range(100):
        if nginx.poll() is not None:
            raise AssertionError(f"nginx exited:\n{site.error_log.read_text()[-2000:]}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", site.https_port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise AssertionError("nginx never listened")


def _caller(site: Site) -> aiohttp.ClientSession:
    """A browser or WeChat: TLS checked against the site's certificate, from 127.0.0.2."""
    context = ssl.create_default_context(cafile=str(site.cert))
    connector = aiohttp.TCPConnector(ssl=context, local_addr=(CALLER, 0))
    return aiohttp.ClientSession(connector=connector)


async def test_behind_nginx_a_push_is_answered_and_the_doors_stay_shut(
    deployment: Deployment,
    fake_wechat: tuple[FakeWeChat, str],
    aes_key: str,
    redis_url: str,
    redis_prefix: str,
) -> None:
    site, web = deployment.site, deployment.web
    peer = WeChatPeer(token=TOKEN, aes_key=aes_key, appid=APPID)
    openid, other = await bound_members(fake_wechat[0], 2, "nginx")

    async with _caller(site) as caller:
        # A member's 打卡, encrypted and signed as WeChat sends it, through TLS: answered
        # passively, within WeChat's 5 s, and recorded once.
        reply = await post(caller, site.url, peer, peer.text_xml(openid, "打卡")[0], wait=5)
        assert reply.status == 200 and "打卡成功" in (reply.text or ""), reply
        assert await CheckIn.all().count() == 1

        # Plain HTTP only sends the browser to HTTPS.
        async with aiohttp.ClientSession() as plain:
            to_tls = await plain.get(
                f"http://127.0.0.1:{site.http_port}/admin?x=1", allow_redirects=False
            )
        assert to_tls.status == 301
        assert to_tls.headers["Location"] == "https://127.0.0.1/admin?x=1"

        # Requests are spread over both web processes, and each logs the caller's address as
        # nginx saw it, not what the caller wrote in X-Forwarded-For.
        earlier = deployment.marks()  # their start-up health checks
        for n in range(6):
            spoofed = {"X-Forwarded-For": "203.0.113.66", "X-Real-IP": "203.0.113.67"}
            answer = await caller.get(site.url + "/healthz", headers=spoofed if n % 2 else {})
            assert (answer.status, await answer.text()) == (200, "ok")
        for process, mark in zip(web, earlier, strict=False):
            seen = process.access_lines()[mark:]
            assert seen and all(line["client"] == CALLER for line in seen), process.name
        assert "203.0.113.6" not in json.dumps(deployment.access_lines())
        # In no upstream: nginx never sends the scheduler anything.
        assert len(deployment.scheduler.access_lines()) == earlier[-1]

        # Closed at the proxy, even to a caller holding the operators' token: nginx answers
        # itself, and no process sees the request.
        before = deployment.marks()
        for path in (
            "/metrics",
            "//metrics",
            "/%6Detrics",
            "/fake-wechat",
            "/fake-wechat/cgi-bin/token",
        ):
            refused = await caller.get(site.url + path, headers=OPERATOR)
            assert refused.status == 404, path
            assert "<center>nginx</center>" in await refused.text(), path
        # A body over the limit: 413 from nginx, unread by any process.
        too_big = await caller.post(site.url + "/wechat", data=b"x" * (LIMIT + 1))
        assert too_big.status == 413 and "<center>nginx</center>" in await too_big.text()
        assert deployment.since(before) == []
        # One at the limit passes nginx, and the web process judges it (unsigned: refused).
        at_limit = await caller.post(site.url + "/wechat", data=b"x" * LIMIT)
        assert at_limit.status in (400, 403)
        [judged] = deployment.since(before)
        assert (judged["route"], judged["status"]) == ("/wechat", at_limit.status)

    # The same /metrics straight from a process, by an operator on the machine, is served.
    async with aiohttp.ClientSession() as operator:
        direct = await operator.get(deployment.scheduler.url + "/metrics", headers=OPERATOR)
        assert direct.status == 200 and "dangjian" in await direct.text()

    # nginx's own log has the caller's address and no query string (openids, signatures).
    nginx_log = site.access_log.read_text(encoding="utf-8")
    assert f"{CALLER} [" in nginx_log and " POST /wechat 200 " in nginx_log
    assert openid not in nginx_log and "signature" not in nginx_log

    # The scheduler's lease is the scheduler process's token; the web processes take no part.
    cache = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        holder = None
        for _ in range(100):
            holder = await cache.get(f"{redis_prefix}scheduler:leader")
            if holder:
                break
            await asyncio.sleep(0.1)
    finally:
        await cache.aclose()
    assert holder and holder.split(":")[0] == str(deployment.scheduler.proc.pid)
    for process in web:
        assert "DANGJIAN_SCHEDULER=off" in process.log.read_text(encoding="utf-8")

    # A web process dies: nginx sends everything to the other one, and pushes are answered.
    web[0].proc.kill()
    web[0].proc.wait()
    async with _caller(site) as caller:
        for _ in range(4):
            assert (await caller.get(site.url + "/healthz")).status == 200
        reply = await post(caller, site.url, peer, peer.text_xml(other, "打卡")[0], wait=5)
        assert reply.status == 200 and "打卡成功" in (reply.text or ""), reply
    assert await CheckIn.all().count() == 2
