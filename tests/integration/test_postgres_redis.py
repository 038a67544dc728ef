"""Scale-out: the same app on PostgreSQL + Redis, and two server processes sharing them."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis

from server.app import create_app
from server.channels import Channel
from server.db import close_database, open_database
from server.models.notices import Notice
from server.models.people import Role, WeChatIdentity
from server.services.people.identities import CHANNEL as IDENTITY_FEED
from server.wechat.fake_state import FakeWeChat
from tests.conftest import APPID, OPERATOR, TOKEN, make_member
from tests.wechat_peer import WeChatPeer, openid_for

pytestmark = pytest.mark.integration
WANG = openid_for("wang-fang")


@pytest.fixture
async def scaled_client(
    aiohttp_client: Any,
    make_settings: Callable[..., Any],
    pg_url: str,
    redis_url: str,
    redis_prefix: str,
    redis_cleanup: None,
) -> Any:
    """The app, in process, on its own PostgreSQL database and Redis key prefix."""
    settings = make_settings(db_url=pg_url, redis_url=redis_url, redis_prefix=redis_prefix)
    return await aiohttp_client(create_app(settings))


async def test_binding_and_retries_on_postgres_and_redis(
    scaled_client: Any, peer: WeChatPeer
) -> None:
    client = scaled_client
    health = await (await client.get("/healthz", headers=OPERATOR)).json()
    assert health == {"status": "ok", "database": "ok", "cache": "ok", "cache_backend": "redis"}

    await make_member("王芳", "13912345678")
    plain, _ = peer.text_xml(WANG, "绑定 王芳 5678")
    first = await peer.post(client, plain, peer.signed_query())
    retry = await peer.post(client, plain, peer.signed_query())
    assert "绑定成功" in (first.text or "") and retry.text == first.text
    assert await WeChatIdentity.filter(openid=WANG).count() == 1
    who = await peer.say(client, WANG, "我的身份")  # the per-message identity join, on PostgreSQL
    assert "王芳" in (who.text or "") and "139****5678" in (who.text or "")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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


@pytest.fixture
async def two_servers(
    pg_empty_url: str,
    redis_url: str,
    redis_prefix: str,
    redis_cleanup: None,
    aes_key: str,
    fake_wechat: tuple[FakeWeChat, str],
    tmp_path: Path,
) -> AsyncIterator[list[str]]:
    """Two `dangjian serve` processes started together on one fresh database and one Redis."""
    env = {
        **os.environ,
        "DANGJIAN_DB_URL": pg_empty_url,
        "DANGJIAN_REDIS_URL": redis_url,
        "DANGJIAN_REDIS_PREFIX": redis_prefix,
        "WECHAT_TOKEN": TOKEN,
        "WECHAT_AES_KEY": aes_key,
        "WECHAT_APPID": APPID,
        "WECHAT_SECRET": "test-secret",
        "WECHAT_API_BASE": fake_wechat[1],
        "WECHAT_ENCRYPT_MODE": "plain",
        "DANGJIAN_LOG_LEVEL": "WARNING",
        # Both processes run the scheduler; only the leader may deliver, briskly here.
        "DANGJIAN_OUTBOX_INTERVAL": "0.3",
    }
    procs, urls = [], []
    for i in range(2):
        port = _free_port()
        log = tmp_path / f"server{i}.log"
        proc = subprocess.Popen(
            [sys.executable, "-m", "server", "serve", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        procs.append((proc, log))
        urls.append(f"http://127.0.0.1:{port}")
    try:
        async with aiohttp.ClientSession() as session:
            for (proc, log), url in zip(procs, urls, strict=True):
                await _wait_healthy(session, url, proc, log)
        await open_database(pg_empty_url, migrate=False)
        yield urls
    finally:
        await close_database()
        for proc, _ in procs:
            proc.terminate()
        for proc, _ in procs:
            proc.wait(timeout=10)


async def _post(session: aiohttp.ClientSession, url: str, peer: WeChatPeer, body: str) -> str:
    async with session.post(
        url + "/wechat", params=peer.signed_query(), data=body.encode()
    ) as resp:
        return peer.read_reply(resp.status, await resp.text(), {}).text or ""


async def test_a_retry_landing_on_the_other_process_has_one_effect(
    two_servers: list[str], peer: WeChatPeer
) -> None:
    a, b = two_servers
    await make_member("王芳", "13912345678")
    plain, _ = peer.text_xml(WANG, "绑定 王芳 5678")
    async with aiohttp.ClientSession() as session:
        first = await _post(session, a, peer, plain)
        retry = await _post(session, b, peer, plain)
    assert "绑定成功" in first and retry == first
    assert await WeChatIdentity.filter(openid=WANG).count() == 1


async def test_a_bind_on_one_process_is_known_at_once_on_the_other(
    two_servers: list[str], peer: WeChatPeer
) -> None:
    a, b = two_servers
    await make_member("王芳", "13912345678")
    async with aiohttp.ClientSession() as session:
        before = await _post(session, b, peer, peer.text_xml(WANG, "我的身份")[0])
        assert "还没有绑定" in before  # b now remembers this user as unbound
        bound = await _post(session, a, peer, peer.text_xml(WANG, "绑定 王芳 5678")[0])
        assert "绑定成功" in bound
        for _ in range(20):  # publish/subscribe crosses processes in well under a second
            after = await _post(session, b, peer, peer.text_xml(WANG, "我的身份")[0])
            if "王芳" in after:
                break
            await asyncio.sleep(0.05)
    assert "王芳" in after and "139****5678" in after


async def test_simultaneous_copies_on_both_processes_run_once(
    two_servers: list[str], peer: WeChatPeer
) -> None:
    a, b = two_servers
    await make_member("李明", "13800001111")
    async with aiohttp.ClientSession() as session:
        for n in range(10):
            openid = openid_for(f"racer-{n}")
            await WeChatIdentity.filter(openid=openid).delete()
            plain, _ = peer.text_xml(openid, "绑定 李明 1111")
            replies = await asyncio.gather(
                _post(session, a, peer, plain), _post(session, b, peer, plain)
            )
            assert replies[0] == replies[1], replies
            # Only the first racer binds; later ones are refused, but each exactly once, with
            # the answer a name that does not exist gets (a bound member is not revealed).
            expected = "绑定成功" if n == 0 else "没有找到匹配的党员信息"
            assert expected in replies[0]
    assert await WeChatIdentity.all().count() == 1


async def test_both_processes_share_one_access_token(
    two_servers: list[str], peer: WeChatPeer, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    """Late replies from both processes use one token: only one refresh reached WeChat."""
    fake, _ = fake_wechat
    a, b = two_servers
    # Nothing to call yet: a token is only fetched when needed.
    assert fake.calls_to("/cgi-bin/stable_token") == []
    async with aiohttp.ClientSession() as session:
        for n, url in enumerate((a, b, a, b)):
            fake.interact(openid_for(f"mp-{n}"), "message")
            push = (
                f'{{"ToUserName":"gh","FromUserName":"{openid_for(f"mp-{n}")}",'
                f'"CreateTime":1795600000,"MsgType":"text","Content":"帮助","MsgId":{900 + n}}}'
            )
            async with session.post(
                url + "/wechat", params=peer.signed_query(), data=push.encode()
            ) as resp:
                assert await resp.text() == "success"
    for _ in range(100):
        if len(fake.calls_to("/cgi-bin/message/custom/send")) == 4:
            break
        await asyncio.sleep(0.05)
    assert len(fake.calls_to("/cgi-bin/message/custom/send")) == 4
    assert len(fake.calls_to("/cgi-bin/stable_token")) == 1


async def test_an_import_run_beside_the_servers_is_seen_at_once(
    scaled_client: Any,
    pg_url: str,
    redis_url: str,
    redis_prefix: str,
    peer: WeChatPeer,
    tmp_path: Path,
) -> None:
    """A roster import from the command line updates what running servers remember."""
    client = scaled_client
    roster = tmp_path / "roster.csv"
    header = "姓名,手机号,所在组织,职务\n"
    org = "示范街道党工委/第一党支部"

    def import_roster(role: str) -> None:
        roster.write_text(f"{header}王芳,13912345678,{org},{role}\n", encoding="utf-8")
        env = {
            **os.environ,
            "DANGJIAN_DB_URL": pg_url,
            "DANGJIAN_REDIS_URL": redis_url,
            "DANGJIAN_REDIS_PREFIX": redis_prefix,
        }
        done = subprocess.run(
            [sys.executable, "-m", "server", "import-members", str(roster)],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stdout + done.stderr

    # The server hears roster changes on its identity feed: subscribed before the import runs
    # (it connects in the background at start, beside the scheduler's wake feed).
    feed = redis_prefix + IDENTITY_FEED
    watcher = aioredis.from_url(redis_url)
    try:
        for _ in range(200):
            [(_, listening)] = await watcher.pubsub_numsub(feed)
            if listening:
                break
            await asyncio.sleep(0.05)
    finally:
        await watcher.aclose()
    assert listening, "the server never subscribed to its identity feed"

    # In a thread: the server runs on this event loop and must keep running meanwhile.
    await asyncio.to_thread(import_roster, "党员")
    assert "绑定成功" in ((await peer.say(client, WANG, "绑定 王芳 5678")).text or "")
    assert "（党员）" in ((await peer.say(client, WANG, "我的身份")).text or "")
    await asyncio.to_thread(import_roster, "支部书记")
    for _ in range(20):
        who = (await peer.say(client, WANG, "我的身份")).text or ""
        if "支部书记" in who:
            break
        await asyncio.sleep(0.05)
    assert "（支部书记）" in who


async def test_check_ins_split_across_both_processes_count_once(
    two_servers: list[str], peer: WeChatPeer
) -> None:
    from server.models.people import Channel
    from server.models.study import CheckIn

    member = await make_member("王芳", "13912345678")
    await WeChatIdentity.create(
        appid=APPID, openid=WANG, channel=Channel.OFFICIAL_ACCOUNT, member=member
    )
    async with aiohttp.ClientSession() as session:
        replies = await asyncio.gather(
            *(
                _post(session, two_servers[n % 2], peer, peer.text_xml(WANG, "打卡")[0])
                for n in range(10)
            )
        )
    assert sum("打卡成功" in r for r in replies) == 1
    assert await CheckIn.filter(member_id=member.id).count() == 1


async def test_meeting_notices_from_two_processes_reach_each_member_once(
    two_servers: list[str], peer: WeChatPeer, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    a, b = two_servers
    secretary = await make_member("李书记", "13700000001", role=Role.SECRETARY)
    members = [await make_member(f"党员{i}", f"1370000010{i}") for i in range(8)]
    for n, person in enumerate([secretary, *members]):
        openid = openid_for(f"two-servers-{n}")
        await WeChatIdentity.create(
            appid=APPID, openid=openid, channel=Channel.OFFICIAL_ACCOUNT, member=person
        )
        fake.interact(openid)
    boss = openid_for("two-servers-0")
    async with aiohttp.ClientSession() as session:
        # Scheduled through one process, confirmed through the other (the draft is in Redis).
        preview = await _post(
            session, a, peer, peer.text_xml(boss, "安排 党员大会 明天下午3点 学习党章")[0]
        )
        assert "应到 9 人" in preview
        done = await _post(session, b, peer, peer.text_xml(boss, "确认")[0])
        assert "会议编号" in done
        for _ in range(200):  # the leader's scheduler sends within a few ticks
            if await Notice.filter(kind="scheduled", status="sent").count() == 9:
                break
            await asyncio.sleep(0.05)
    assert await Notice.filter(kind="scheduled", status="sent").count() == 9
    for n in range(9):
        told = [m for m in fake.messages_to(openid_for(f"two-servers-{n}")) if m.kind == "custom"]
        notices = [m for m in told if (m.text or "").startswith("【会议通知】")]
        assert len(notices) == 1, n
