"""Redis stalls, dies and comes back while members 打卡: every message is answered, none lost.

The app runs on its own redis-server (frozen with SIGSTOP, killed, restarted on the same port)
and on PostgreSQL.  Time is scaled down: a 1 s reply deadline and a retry every 1.5 s stand for
WeChat's 4 s and 5 s.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

from server.app import create_app
from server.channels import Channel
from server.dispatch.dispatcher import APOLOGY
from server.models.people import WeChatIdentity
from server.models.study import CheckIn
from server.wechat.fake_state import FakeWeChat
from tests.conftest import APPID, drain, make_member
from tests.integration.conftest import PrivateRedis
from tests.wechat_peer import Reply, WeChatPeer, openid_for

pytestmark = pytest.mark.integration

DEADLINE = 1.0
RETRY_EVERY = 1.5  # WeChat: no answer within 5 s (our deadline is 4 s), try again


@pytest.fixture
async def app_client(
    pg_url: str,
    private_redis: PrivateRedis,
    aiohttp_client: Any,  # after the servers: the app shuts down while they still run
    make_settings: Callable[..., Any],
) -> Any:
    settings = make_settings(
        db_url=pg_url,
        redis_url=private_redis.url,
        reply_deadline=DEADLINE,
        redis_timeout=0.2,
    )
    return await aiohttp_client(create_app(settings))


async def members(fake: FakeWeChat, count: int) -> list[str]:
    openids = []
    for n in range(count):
        member = await make_member(f"党员{n}", f"1370000{n:04d}")
        openid = openid_for(f"outage-{n}")
        await WeChatIdentity.create(
            appid=APPID, openid=openid, channel=Channel.OFFICIAL_ACCOUNT, member=member
        )
        fake.interact(openid)  # their message opens the customer-service window
        openids.append(openid)
    return openids


async def push_like_wechat(client: Any, peer: WeChatPeer, plain: str) -> list[Reply]:
    """One push (safe mode, as in production) and WeChat's retries, until one gets a 200."""
    attempts: list[Reply] = []
    for _ in range(3):
        started = time.monotonic()
        body, query = peer.envelope(plain, "safe")  # each retry signed and encrypted anew
        try:
            reply = await asyncio.wait_for(peer.post(client, body, query), RETRY_EVERY - 0.1)
        except TimeoutError:
            reply = Reply(status=0, body="no answer in time")
        attempts.append(reply)
        if reply.status == 200:
            return attempts
        await asyncio.sleep(max(0.0, started + RETRY_EVERY - time.monotonic()))
    return attempts


def answered(attempts: list[Reply], fake: FakeWeChat, openid: str) -> str:
    """What the member saw: the passive reply, or the one sent through the API after it."""
    final = attempts[-1]
    if final.text:
        return final.text
    late = [m.text for m in fake.messages_to(openid)]
    return late[-1] if late else ""


async def test_a_stalled_redis_loses_no_check_in(
    app_client: Any,
    peer: WeChatPeer,
    private_redis: PrivateRedis,
    fake_wechat: tuple[FakeWeChat, str],
) -> None:
    fake, _ = fake_wechat
    openids = await members(fake, 12)
    bodies = {openid: peer.text_xml(openid, "打卡")[0] for openid in openids}

    async def member_checks_in(openid: str, after: float) -> list[Reply]:
        await asyncio.sleep(after)
        return await push_like_wechat(app_client, peer, bodies[openid])

    # Redis freezes for 2 s while check-ins arrive before, during and just after the stall.
    pushes = [
        asyncio.create_task(member_checks_in(openid, n * 0.2)) for n, openid in enumerate(openids)
    ]
    await asyncio.sleep(0.3)
    private_redis.stall()
    await asyncio.sleep(2.0)
    private_redis.resume()
    attempts = await asyncio.gather(*pushes)
    await drain(app_client)

    assert all(a.status in (200, 503, 0) for tries in attempts for a in tries), attempts
    assert all(tries[-1].status == 200 for tries in attempts), attempts  # nobody gave up
    for openid, tries in zip(openids, attempts, strict=True):
        assert "打卡成功" in answered(tries, fake, openid), (openid, tries)
    recorded = await CheckIn.all().values_list("member__name", flat=True)
    assert sorted(recorded) == sorted(f"党员{n}" for n in range(12))  # each once
    # Some of them really were caught by the stall: asked to retry, then taken over.
    assert any(len(tries) > 1 for tries in attempts)


async def test_redis_down_gets_the_apology_and_back_again_works_at_once(
    app_client: Any,
    peer: WeChatPeer,
    private_redis: PrivateRedis,
    fake_wechat: tuple[FakeWeChat, str],
) -> None:
    fake, _ = fake_wechat
    wang, li, zhao = await members(fake, 3)
    before = await peer.say(app_client, wang, "打卡", mode="safe")
    assert "打卡成功" in (before.text or "")  # the pool now holds connections to this server

    private_redis.kill()
    down = await peer.say(app_client, li, "打卡", mode="safe")
    assert down.status == 200 and down.text == APOLOGY  # told, not a 500 page nor silence
    # A plaintext push's replay check needs the cache first: WeChat is asked to retry.
    plain = await peer.say(app_client, li, "打卡")
    assert plain.status == 503

    await private_redis.start()  # same port, empty: every pooled connection is stale
    back = await peer.say(app_client, zhao, "打卡", mode="safe")
    assert "打卡成功" in (back.text or "")
    # li sends it again, as the apology asked
    again = await peer.say(app_client, li, "打卡", mode="safe")
    assert "打卡成功" in (again.text or "")
    recorded = await CheckIn.all().values_list("member__name", flat=True)
    assert sorted(recorded) == ["党员0", "党员1", "党员2"]
