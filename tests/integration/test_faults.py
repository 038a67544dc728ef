"""Production-like faults: two server processes on a private PostgreSQL and a private Redis.

PostgreSQL is started by the test (initdb into a temp dir, trust auth, its own port) so that it
can be frozen (SIGSTOP of its whole process group), killed and restarted; Redis likewise, as in
test_redis_outage.py.  Pushes are AES-encrypted (safe mode) with wechatpy's crypto.  Time is
scaled down: a 1 s reply deadline and WeChat's retries every 1.5 s stand for 4 s and 5 s.
Everything is checked from the database and the fake WeChat's call log.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from server.channels import Channel
from server.db import close_database, open_database
from server.dispatch.dispatcher import APOLOGY
from server.models.notices import Notice, NoticeStatus
from server.models.people import Role, WeChatIdentity
from server.models.study import CheckIn
from server.wechat.fake_state import FakeWeChat
from tests.conftest import APPID, TOKEN, make_member
from tests.integration.conftest import PrivateRedis, _unavailable
from tests.wechat_peer import Reply, WeChatPeer, openid_for

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
DEADLINE = 1.0
RETRY_EVERY = 1.5  # WeChat: no answer within 5 s (our deadline is 4 s), try again
CUSTOM = "/cgi-bin/message/custom/send"
CLIENT_TIMEOUT = 5.0  # WeChatClient's default
# The fake's slow call: well past the client's timeout.  With only 0.5 s more, one run in three
# on a busy 2-core machine settled that call as sent (the server's loop, running late, read the
# answer before its timer fired, as far as we can tell): the margin covers such lag.
SLOW = CLIENT_TIMEOUT + 2.5


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivatePostgres:
    """A postgres of the test's own, in its own process group: frozen, killed, restarted."""

    def __init__(self, bindir: Path, root: Path, port: int) -> None:
        self.bindir = bindir
        self.data = root / "data"
        self.root = root
        self.port = port
        self.url = f"postgres://postgres@127.0.0.1:{port}/dangjian"
        self._proc: subprocess.Popen[bytes] | None = None
        # postgres refuses to run as root: then it runs as the `postgres` user.
        self._user = "postgres" if os.geteuid() == 0 else None
        if self._user:
            shutil.chown(root, user=self._user)

    def init(self) -> None:
        command = [str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust"]
        command += ["-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"]
        done = subprocess.run(command, user=self._user, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr

    async def start(self) -> None:
        import asyncpg

        command = [str(self.bindir / "postgres"), "-D", str(self.data), "-p", str(self.port)]
        command += ["-k", str(self.root), "-c", "listen_addresses=127.0.0.1"]
        command += ["-c", "fsync=off", "-c", "max_connections=200"]
        log = (self.root / "postgres.log").open("ab")
        self._proc = subprocess.Popen(
            command, user=self._user, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        admin = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        for _ in range(200):
            try:
                conn = await asyncpg.connect(admin, timeout=1)
                break
            except (OSError, asyncpg.PostgresError):
                await asyncio.sleep(0.05)
        else:
            raise AssertionError((self.root / "postgres.log").read_text()[-2000:])
        try:
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = 'dangjian'"):
                await conn.execute("CREATE DATABASE dangjian")
        finally:
            await conn.close()

    def _signal(self, sig: int) -> None:
        """The postmaster, then every backend: each backend is in a session of its own
        (postgres calls setsid), so a process-group signal would miss them."""
        assert self._proc is not None
        os.kill(self._proc.pid, sig)  # first, so that it forks no new backend meanwhile
        for stat in glob.glob("/proc/[0-9]*/stat"):
            try:
                fields = Path(stat).read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self._proc.pid:  # the parent's pid
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(Path(stat).parent.name), sig)

    def freeze(self) -> None:
        self._signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self._signal(signal.SIGCONT)

    def kill(self) -> None:
        if self._proc is not None:
            self._signal(signal.SIGCONT)  # a frozen process would not die tidily
            self._signal(signal.SIGKILL)
            self._proc.wait()
            self._proc = None


@pytest.fixture
async def private_pg() -> AsyncIterator[PrivatePostgres]:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        _unavailable("initdb", FileNotFoundError("/usr/lib/postgresql/*/bin/initdb"))
    root = Path(tempfile.mkdtemp(prefix="dangjian-pg-"))
    server = PrivatePostgres(Path(found[-1]).parent, root, _free_port())
    server.init()
    await server.start()
    try:
        yield server
    finally:
        server.kill()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def peer(aes_key: str) -> WeChatPeer:
    """WeChat's side, without the in-process app's settings (the servers are processes)."""
    return WeChatPeer(token=TOKEN, aes_key=aes_key, appid=APPID)


class Servers:
    """Two `python -m server serve` processes of this checkout, sharing PostgreSQL and Redis."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []
        self.urls: list[str] = []
        self.logs: list[Path] = []

    def kill(self, n: int) -> None:
        self.procs[n].kill()
        self.procs[n].wait()


@pytest.fixture
async def servers(
    private_pg: PrivatePostgres,
    private_redis: PrivateRedis,
    aes_key: str,
    fake_wechat: tuple[FakeWeChat, str],
    tmp_path: Path,
) -> AsyncIterator[Servers]:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "DANGJIAN_DB_URL": private_pg.url,
        "DANGJIAN_REDIS_URL": private_redis.url,
        "DANGJIAN_REDIS_TIMEOUT": "0.2",
        "DANGJIAN_REPLY_DEADLINE": str(DEADLINE),
        "DANGJIAN_DATA_DIR": str(tmp_path),
        "WECHAT_TOKEN": TOKEN,
        "WECHAT_AES_KEY": aes_key,
        "WECHAT_APPID": APPID,
        "WECHAT_SECRET": "test-secret",
        "WECHAT_API_BASE": fake_wechat[1],
        "WECHAT_ENCRYPT_MODE": "safe",
        "DANGJIAN_LOG_LEVEL": "WARNING",
        "DANGJIAN_OUTBOX_INTERVAL": "0.3",
        "DANGJIAN_NOTICE_RATE": "12",  # a fan-out of 51 takes about 4 s: time to kill it
    }
    group = Servers()
    # One at a time: the first applies the migrations.
    async with aiohttp.ClientSession() as session:
        for i in range(2):
            port = _free_port()
            log = tmp_path / f"server{i}.log"
            proc = subprocess.Popen(
                [sys.executable, "-m", "server", "serve", "--port", str(port)],
                env=env,
                cwd=REPO,  # this checkout's code, not an installed copy
                stdout=log.open("wb"),
                stderr=subprocess.STDOUT,
            )
            group.procs.append(proc)
            group.urls.append(f"http://127.0.0.1:{port}")
            group.logs.append(log)
            await _wait_healthy(session, group.urls[-1], proc, log)
    await open_database(private_pg.url, migrate=False)
    try:
        yield group
    finally:
        await close_database()
        for proc in group.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in group.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


async def _wait_healthy(
    session: aiohttp.ClientSession, url: str, proc: subprocess.Popen[bytes], log: Path
) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            raise AssertionError(f"server exited early:\n{log.read_text()[-3000:]}")
        try:
            async with session.get(url + "/healthz") as resp:
                if resp.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError(f"server never became healthy:\n{log.read_text()[-3000:]}")


async def post(
    session: aiohttp.ClientSession, url: str, peer: WeChatPeer, plain: str, wait: float = 10.0
) -> Reply:
    """One push as WeChat sends it in safe mode: encrypted and signed anew."""
    body, query = peer.envelope(plain, "safe")
    try:
        async with asyncio.timeout(wait):
            async with session.post(url + "/wechat", params=query, data=body.encode()) as resp:
                return peer.read_reply(resp.status, await resp.text(), query)
    except TimeoutError:
        return Reply(status=0, body="no answer in time")


async def push_like_wechat(
    session: aiohttp.ClientSession, urls: list[str], peer: WeChatPeer, plain: str
) -> list[Reply]:
    """A push and WeChat's retries (each landing on the next process) until one gets a 200."""
    attempts: list[Reply] = []
    for n in range(3):
        started = time.monotonic()
        reply = await post(session, urls[n % len(urls)], peer, plain, RETRY_EVERY - 0.1)
        attempts.append(reply)
        if reply.status == 200:
            return attempts
        await asyncio.sleep(max(0.0, started + RETRY_EVERY - time.monotonic()))
    return attempts


async def bound_members(fake: FakeWeChat, count: int, tag: str) -> list[str]:
    openids = []
    for n in range(count):
        member = await make_member(f"党员{n}", f"1370000{n:04d}")
        openid = openid_for(f"{tag}-{n}")
        await WeChatIdentity.create(
            appid=APPID, openid=openid, channel=Channel.OFFICIAL_ACCOUNT, member=member
        )
        fake.interact(openid)  # their message opens the customer-service window
        openids.append(openid)
    return openids


def told(attempts: list[Reply], fake: FakeWeChat, openid: str, words: str) -> int:
    """How many times the member was told `words`: passive replies WeChat received plus
    customer-service messages."""
    passive = sum(words in (a.text or "") for a in attempts)
    late = sum(words in (m.text or "") for m in fake.messages_to(openid))
    return passive + late


async def until(condition: Any, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the condition never came true")


async def test_a_burst_of_check_ins_while_postgres_is_frozen_is_handled_once_each(
    servers: Servers,
    private_pg: PrivatePostgres,
    peer: WeChatPeer,
    fake_wechat: tuple[FakeWeChat, str],
) -> None:
    fake, _ = fake_wechat
    openids = await bound_members(fake, 12, "frozen")
    bodies = {o: peer.text_xml(o, "打卡")[0] for o in openids}

    async with aiohttp.ClientSession() as session:

        async def checks_in(n: int, openid: str) -> list[Reply]:
            await asyncio.sleep(n * 0.15)
            urls = servers.urls if n % 2 == 0 else servers.urls[::-1]  # split across both
            return await push_like_wechat(session, urls, peer, bodies[openid])

        pushes = [asyncio.create_task(checks_in(n, o)) for n, o in enumerate(openids)]
        await asyncio.sleep(0.3)
        private_pg.freeze()
        await asyncio.sleep(2.0)
        private_pg.thaw()
        attempts = await asyncio.gather(*pushes)

    # Late replies go out through the API once the database answers again.
    async def everyone_told() -> bool:
        return all(
            told(a, fake, o, "打卡成功") >= 1 for a, o in zip(attempts, openids, strict=True)
        )

    await until(everyone_told, 10)
    await asyncio.sleep(0.5)  # room for a second copy, were there one
    assert all(r.status in (200, 503, 0) for tries in attempts for r in tries), attempts
    assert all(tries[-1].status == 200 for tries in attempts), attempts  # nobody gave up
    for openid, tries in zip(openids, attempts, strict=True):
        assert told(tries, fake, openid, "打卡成功") == 1, (openid, tries)
    recorded = await CheckIn.all().values_list("member__name", flat=True)
    assert sorted(recorded) == sorted(f"党员{n}" for n in range(12))  # each exactly once
    # The freeze caught most of them: an empty 200 at the deadline, then the reply through the
    # customer-service API once the database woke (a copy of WeChat's retry would be ignored).
    late = [o for o, tries in zip(openids, attempts, strict=True) if not tries[-1].text]
    assert len(late) >= 4, attempts
    for openid in late:
        assert [m.kind for m in fake.messages_to(openid)] == ["custom"]


async def test_postgres_down_gets_the_apology_and_a_retry_after_restart_runs_once(
    servers: Servers,
    private_pg: PrivatePostgres,
    peer: WeChatPeer,
    fake_wechat: tuple[FakeWeChat, str],
) -> None:
    fake, _ = fake_wechat
    openids = await bound_members(fake, 5, "down")
    a, b = servers.urls
    async with aiohttp.ClientSession() as session:
        warm = await post(session, a, peer, peer.text_xml(openids[0], "打卡")[0])
        assert "打卡成功" in (warm.text or "")  # both pools hold live connections now
        warm = await post(session, b, peer, peer.text_xml(openids[1], "我的身份")[0])
        assert "党员1" in (warm.text or "")

        private_pg.kill()
        down = [
            await post(session, url, peer, peer.text_xml(o, "打卡")[0])
            for url, o in zip((a, b, a), openids[1:4], strict=True)
        ]
        for reply in down:  # told, not a 500 page nor silence
            assert reply.status == 200 and reply.text == APOLOGY, down
        # A push whose answer WeChat never got (the connection dropped): retried after restart.
        lost, _ = peer.text_xml(openids[4], "打卡")
        first = await post(session, b, peer, lost)
        assert first.status == 200 and first.text == APOLOGY

        await private_pg.start()
        retries = await asyncio.gather(*(post(session, url, peer, lost) for url in (a, b)))
        # Handled once: the first outcome stands, whichever process the retries reach; it was
        # the apology, so nothing was recorded and the member sends it again, as asked.
        assert [r.text for r in retries] == [APOLOGY, APOLOGY], retries
        again = [
            await post(session, url, peer, peer.text_xml(o, "打卡")[0])
            for url, o in zip((b, a, b, a), openids[1:5], strict=True)
        ]
        for reply in again:
            assert "打卡成功" in (reply.text or ""), again

    await close_database()  # the test's own pool lost its connections with the server
    await open_database(private_pg.url, migrate=False)
    recorded = sorted(await CheckIn.all().values_list("member__name", flat=True))
    assert recorded == ["党员0", "党员1", "党员2", "党员3", "党员4"]  # each exactly once


async def test_a_fan_out_survives_a_failing_wechat_and_a_killed_sender(
    servers: Servers,
    private_redis: PrivateRedis,
    peer: WeChatPeer,
    fake_wechat: tuple[FakeWeChat, str],
) -> None:
    import redis.asyncio as aioredis

    fake, _ = fake_wechat
    secretary = await make_member("李书记", "13700000001", role=Role.SECRETARY)
    people = [secretary] + [await make_member(f"党员{i}", f"137100{i:05d}") for i in range(50)]
    openid_of = {}
    for n, person in enumerate(people):
        openid = openid_for(f"fan-out-{n}")
        await WeChatIdentity.create(
            appid=APPID, openid=openid, channel=Channel.OFFICIAL_ACCOUNT, member=person
        )
        fake.interact(openid)
        openid_of[person.name] = openid
    boss = openid_of["李书记"]
    # WeChat busy on every 7th call; the 31st call, made by the process that takes over, hangs
    # past the client's timeout (and is delivered all the same, as WeChat does).
    fake.flaky(CUSTOM, errcode=-1, every=7)
    fake.fail_next(CUSTOM, delay=SLOW, after=30)

    a, b = servers.urls
    async with aiohttp.ClientSession() as session:
        preview = await post(
            session, a, peer, peer.text_xml(boss, "安排 党员大会 明天下午3点 学习党章")[0]
        )
        assert "应到 51 人" in (preview.text or ""), preview
        done = await post(session, b, peer, peer.text_xml(boss, "确认")[0])
        assert "会议编号" in (done.text or ""), done
        meeting_id = int(re.search(r"会议编号\D*(\d+)", done.text or "").group(1))  # type: ignore[union-attr]

        # Mid-fan-out, the sending process (the scheduler's leader) is SIGKILLed.
        async def halfway() -> bool:
            return len(fake.calls_to(CUSTOM)) >= 20

        await until(halfway, 15)
        cache = aioredis.Redis.from_url(private_redis.url)
        leader = (await cache.get("dangjian:scheduler:leader") or b"").decode()
        pid = int(re.match(r"\D*(\d+):", leader).group(1))  # type: ignore[union-attr]
        victim = next(i for i, p in enumerate(servers.procs) if p.pid == pid)
        servers.kill(victim)
        killed_at = len(fake.calls_to(CUSTOM))
        # Time moves on: the claims' 5-minute lease runs out (rows claimed, and rows whose call
        # was in flight), then the dead leader's 30 s key.
        for row in await Notice.filter(status__in=[NoticeStatus.CLAIMED, NoticeStatus.SENDING]):
            assert row.claimed_at is not None
            aged = row.claimed_at - timedelta(minutes=6)
            await Notice.filter(id=row.id).update(claimed_at=aged)
        await cache.delete("dangjian:scheduler:leader")
        await cache.aclose()

        async def settled() -> bool:
            busy = [NoticeStatus.PENDING, NoticeStatus.CLAIMED, NoticeStatus.SENDING]
            return not await Notice.filter(kind="scheduled", status__in=busy).exists()

        await until(settled, 30)
        survivor = servers.urls[1 - victim]
        detail = await post(session, survivor, peer, peer.text_xml(boss, f"会议 {meeting_id}")[0])
    await asyncio.sleep(SLOW - CLIENT_TIMEOUT + 0.5)  # the slow call is delivered all the same

    calls = fake.calls_to(CUSTOM)
    assert 0 < killed_at < 51 < len(calls)  # killed mid-fan-out; the other process went on
    assert sum(c.errcode == -1 for c in calls) >= 5  # WeChat busy, retried by the client
    rows = await Notice.filter(kind="scheduled").prefetch_related("member")
    assert len(rows) == 51
    status = {n.member.name: n.status for n in rows}
    notices = {
        name: sum((m.text or "").startswith("【会议通知】") for m in fake.messages_to(o))
        for name, o in openid_of.items()
    }
    assert all(count <= 1 for count in notices.values()), notices  # never twice
    for name, count in notices.items():
        if status[name] == NoticeStatus.SENT:
            assert count == 1, name
        elif status[name] == NoticeStatus.FAILED:  # WeChat refused it every time
            assert count == 0, name
        else:  # a call that may have gone through: never made again
            assert status[name] == NoticeStatus.UNCERTAIN, (name, status)
    maybe = [name for name, s in status.items() if s == NoticeStatus.UNCERTAIN]
    # The slow call at least (delivered after the client gave up), plus any call in flight
    # when the sender died.
    assert any(notices[name] == 1 for name in maybe), (maybe, notices)
    # What the secretary sees: the uncertain named apart, nobody wrongly listed as not reached.
    text = detail.text or ""
    assert "可能已送达" in text, text
    listed = text.split("可能已送达")[-1].split("\n")[0]
    assert all(name in listed for name in maybe[:3]), (maybe, text)
    missed = [name for name, s in status.items() if s == NoticeStatus.FAILED]
    assert ("通知未能送达" in text) == bool(missed), text
