"""Each notice delivered exactly once, and none stranded: what a timeout, an unexpected error,
a shutdown mid-fan-out or a killed process leaves behind, and what the secretary is told."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from server.channels import Channel
from server.models.notices import Notice, NoticeStatus
from server.services.delivery.outbox import Outbox
from server.services.delivery.outbox_claims import LEASE
from server.typedefs import CACHE, CLOCK, HTTP_SESSION, SETTINGS
from server.wechat.client import WeChatClient
from server.wechat.fake import FakeWeChat
from tests.conftest import APPID
from tests.test_meetings_chat import LEADER, MEMBER, SECRETARY, say
from tests.test_notices import CUSTOM, meeting_with_notices, outbox

TIMEOUT = 0.3  # the client's timeout in these stories: a slow WeChat is slower than this


def impatient(client: TestClient, **options: Any) -> Outbox:
    """The app's outbox, but with a client that gives up on WeChat after `TIMEOUT` seconds."""
    app = client.app
    wechat = WeChatClient(
        session=app[HTTP_SESSION],
        base_url=app[SETTINGS].api_base,
        appid=APPID,
        secret="test-secret",
        cache=app[CACHE],
        clock=app[CLOCK],
        timeout=TIMEOUT,
    )
    box = outbox(client)
    clients = {**box.clients, Channel.OFFICIAL_ACCOUNT: wechat}
    return Outbox(clients, box.templates, box.zone, **options)


async def status_of(name: str) -> NoticeStatus:
    return (await Notice.get(kind="scheduled", member__name=name)).status


async def until(condition: Any, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if await condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition never came true")


async def test_a_send_that_timed_out_is_not_sent_again_and_is_uncertain(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    client, peer, clock, meeting, _ = await meeting_with_notices(aiohttp_client, make_settings)
    fake.interact(SECRETARY)
    # WeChat takes longer than the client waits, then delivers anyway.
    fake.fail_next(CUSTOM, delay=TIMEOUT + 0.3)
    first = await impatient(client).deliver_due(clock.now())
    await asyncio.sleep(0.5)  # WeChat finishes the slow send
    assert len(fake.messages_to(SECRETARY)) == 1
    clock.advance(minutes=10)  # long past any back-off
    await impatient(client).deliver_due(clock.now())
    assert len(fake.messages_to(SECRETARY)) == 1  # never a second copy
    assert await status_of("李书记") == NoticeStatus.UNCERTAIN
    assert (first.sent, first.uncertain, first.retried) == (0, 1, 0)
    detail = await say(client, peer, SECRETARY, f"会议 {meeting.id}")
    assert "李书记" not in detail.split("通知未能送达")[-1].split("\n")[0]
    assert "可能已送达" in detail and "李书记" in detail.split("可能已送达")[-1]


async def test_one_unexpected_error_leaves_the_other_notices_delivered_and_sent(
    aiohttp_client: Any,
    make_settings: Any,
    fake_wechat: tuple[FakeWeChat, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake, _ = fake_wechat
    client, _, clock, _, _ = await meeting_with_notices(aiohttp_client, make_settings)
    for openid in (SECRETARY, LEADER, MEMBER):
        fake.interact(openid)
    wechat = outbox(client).clients[Channel.OFFICIAL_ACCOUNT]
    send = wechat.send_custom_text

    async def redis_drops_on_the_leader(openid: str, text: str) -> dict[str, Any]:
        if openid == LEADER:  # the cache behind the client lost its connection
            raise ConnectionError("Error 111 connecting to 127.0.0.1:6379")
        return await send(openid, text)

    monkeypatch.setattr(wechat, "send_custom_text", redis_drops_on_the_leader)
    report = await outbox(client).deliver_due(clock.now())
    assert report.sent == 2 and report.uncertain == 1
    assert await status_of("李书记") == NoticeStatus.SENT
    assert await status_of("王芳") == NoticeStatus.SENT
    assert await status_of("吴组长") == NoticeStatus.UNCERTAIN  # the call had begun
    assert await Notice.filter(status__in=["claimed", "sending"]).count() == 0


async def test_a_fan_out_cut_short_leaves_each_notice_in_a_true_state(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    client, peer, clock, meeting, _ = await meeting_with_notices(aiohttp_client, make_settings)
    for openid in (SECRETARY, LEADER, MEMBER):
        fake.interact(openid)
    # One at a time, so the order is known: 李书记 goes through, 吴组长's send hangs, 王芳 waits.
    fake.fail_next(CUSTOM, delay=1.0, after=1)
    sender = asyncio.create_task(outbox_one_at_a_time(client).deliver_due(clock.now()))

    async def leaders_send_began() -> bool:
        # Marked sending, and the hanging call has reached WeChat: the shutdown comes mid-call.
        in_flight = not fake.failure_waiting(CUSTOM)
        return in_flight and await status_of("吴组长") == NoticeStatus.SENDING

    await until(leaders_send_began)
    sender.cancel()  # the server shuts down mid-fan-out
    with pytest.raises(asyncio.CancelledError):
        await sender
    assert await status_of("李书记") == NoticeStatus.SENT
    assert await status_of("吴组长") == NoticeStatus.UNCERTAIN
    assert await status_of("王芳") == NoticeStatus.PENDING  # never attempted: claimable again
    await asyncio.sleep(1.2)  # WeChat finishes 吴组长's send after all
    await outbox(client).deliver_due(clock.now())
    assert await status_of("王芳") == NoticeStatus.SENT
    for openid in (SECRETARY, LEADER, MEMBER):
        assert len(fake.messages_to(openid)) == 1  # each exactly once
    detail = await say(client, peer, SECRETARY, f"会议 {meeting.id}")
    not_reached = detail.split("通知未能送达")[-1].split("\n")[0]
    assert "周委员" in not_reached and "郑七" in not_reached  # never bound: no channel
    assert "吴组长" not in not_reached and "李书记" not in not_reached
    assert "王芳" not in not_reached


def outbox_one_at_a_time(client: TestClient) -> Outbox:
    box = outbox(client)
    return Outbox(box.clients, box.templates, box.zone, concurrency=1)


async def test_claims_of_a_killed_process_are_sent_once_its_lease_ran_out(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    client, _, clock, meeting, _ = await meeting_with_notices(aiohttp_client, make_settings)
    fake.interact(MEMBER)
    fake.interact(SECRETARY)
    # A process claimed both notices, began 李书记's send, and was killed (SIGKILL).
    scheduled = Notice.filter(meeting=meeting, kind="scheduled")
    await scheduled.filter(member__name="王芳").update(
        status="claimed", claim="dead-process", claimed_at=clock.now()
    )
    await scheduled.filter(member__name="李书记").update(
        status="sending", claim="dead-process", claimed_at=clock.now()
    )
    await outbox(client).deliver_due(clock.now())
    assert fake.messages_to(MEMBER) == []  # still within the dead process's lease
    clock.advance(seconds=LEASE.total_seconds() + 1)
    await outbox(client).deliver_due(clock.now())
    await outbox(client).deliver_due(clock.now())
    assert len(fake.messages_to(MEMBER)) == 1 and await status_of("王芳") == NoticeStatus.SENT
    assert fake.messages_to(SECRETARY) == []  # its send may have gone out: never repeated
    assert await status_of("李书记") == NoticeStatus.UNCERTAIN


async def test_the_not_reached_list_names_only_those_nothing_reached(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    client, peer, clock, meeting, _ = await meeting_with_notices(aiohttp_client, make_settings)
    fake.interact(MEMBER)
    fake.interact(SECRETARY)
    fake.interact(LEADER)
    await outbox(client).deliver_due(clock.now())
    # 吴组长's day-before reminder was cut short by a crash: perhaps it reached him, perhaps not.
    await Notice.filter(member__name="吴组长", kind__startswith="reminder:1d").update(
        status="uncertain"
    )
    detail = await say(client, peer, SECRETARY, f"会议 {meeting.id}")
    not_reached = detail.split("通知未能送达")[-1].split("\n")[0]
    assert not_reached.startswith(" 2 人") and "周委员" in not_reached and "郑七" in not_reached
    assert "可能已送达" not in detail  # 吴组长 had his first notice: he was reached
