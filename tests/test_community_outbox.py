"""The 四单制's outbox: each message written once with its step, sent once, outside the quiet
hours, and left in a true state by a timeout, a busy WeChat, a closed channel or a dead sender."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient

from server.app import create_app
from server.cache import CacheUnavailable
from server.channels import Channel
from server.clock import FrozenClock
from server.errors import ConfigError
from server.models.community import CommunityMessage, MessageStatus, Need, ServiceOrder
from server.models.people import Member
from server.services.community import notify, orders
from server.services.community.outbox import (
    CommunitySender,
    Letter,
    QuietHours,
    enqueue,
    quiet_hours,
)
from server.services.delivery.outbox_claims import LEASE
from server.settings import load_settings
from server.typedefs import CACHE, CLOCK, HTTP_SESSION, SETTINGS, WECHAT_CLIENTS
from server.wechat.client import WeChatClient
from server.wechat.fake import FakeWeChat
from tests.conftest import APPID
from tests.test_checkin_chat import frozen_app
from tests.test_community_chat import SECRETARY, ZHANG, resident_posts, say, street
from tests.test_leave_chat import texts_to
from tests.wechat_peer import WeChatPeer

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOON = datetime(2026, 11, 25, 12, 0, tzinfo=SHANGHAI)
LATE = datetime(2026, 11, 25, 23, 0, tzinfo=SHANGHAI)
MORNING = datetime(2026, 11, 26, 7, 0, tzinfo=SHANGHAI)
CUSTOM = "/cgi-bin/message/custom/send"
TIMEOUT = 0.3  # the impatient client's: a slow WeChat is slower than this
WHO = "resident-outbox-1"


async def app_at(
    aiohttp_client: Any, make_settings: Any, when: datetime
) -> tuple[TestClient, FrozenClock]:
    # No scheduler: the tests run the sender themselves, at the moments they choose.
    client, _, clock = await frozen_app(
        aiohttp_client, lambda **kw: make_settings(scheduler=False, **kw), when
    )
    return client, clock


def sender(client: TestClient, *, impatient: bool = False) -> CommunitySender:
    app = client.app
    made = CommunitySender.of(app[WECHAT_CLIENTS], app[SETTINGS])
    if not impatient:
        return made
    wechat = WeChatClient(
        session=app[HTTP_SESSION],
        base_url=app[SETTINGS].api_base,
        appid=APPID,
        secret="test-secret",
        cache=app[CACHE],
        clock=app[CLOCK],
        timeout=TIMEOUT,
    )
    clients = {**made.clients, Channel.OFFICIAL_ACCOUNT: wechat}
    return CommunitySender(clients, made.channels, made.zone, made.quiet)


def letter(n: int = 1, openid: str = WHO) -> Letter:
    return Letter(f"test:{n}:resident:{openid}", "test", APPID, openid, f"第{n}条消息")


async def row(n: int = 1, openid: str = WHO) -> CommunityMessage:
    return await CommunityMessage.get(key=letter(n, openid).key)


def quiet(client: TestClient) -> QuietHours | None:
    settings = client.app[SETTINGS]
    return quiet_hours(settings.quiet_window, settings.zone)


# --- enqueue ----------------------------------------------------------------------------------


async def test_the_same_key_twice_is_one_row(aiohttp_client: Any, make_settings: Any) -> None:
    client, clock = await app_at(aiohttp_client, make_settings, NOON)
    assert await enqueue([letter(), letter()], clock.now(), quiet(client)) == 1
    again = Letter(letter().key, "test", APPID, WHO, "改过的内容")
    assert await enqueue([again], clock.now(), quiet(client)) == 1  # a retry: nothing new
    assert await CommunityMessage.all().count() == 1
    first = await row()
    assert first.text == "第1条消息" and first.status == MessageStatus.PENDING
    assert first.not_before == clock.now()


def test_quiet_hours_across_midnight_and_within_a_day() -> None:
    night = QuietHours(time(22), time(7), SHANGHAI)
    assert night.release(NOON) == NOON
    assert night.release(LATE) == MORNING
    assert night.release(datetime(2026, 11, 26, 3, 0, tzinfo=SHANGHAI)) == MORNING
    assert night.release(datetime(2026, 11, 25, 22, 0, tzinfo=SHANGHAI)) == MORNING
    assert night.release(MORNING) == MORNING  # 07:00 itself is no longer quiet
    lunch = QuietHours(time(12), time(14), SHANGHAI)
    assert lunch.release(NOON) == datetime(2026, 11, 25, 14, 0, tzinfo=SHANGHAI)
    assert lunch.release(LATE) == LATE


async def test_a_message_due_in_the_quiet_hours_waits_for_the_morning(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    fake.interact(WHO)
    client, clock = await app_at(aiohttp_client, make_settings, LATE)
    await enqueue([letter()], clock.now(), quiet(client))
    assert (await row()).not_before == MORNING.astimezone(UTC)
    assert (await sender(client).deliver_due(clock.now())).sent == 0
    clock.set(MORNING - timedelta(minutes=1))
    assert (await sender(client).deliver_due(clock.now())).sent == 0
    assert fake.messages_to(WHO) == []
    clock.set(MORNING)
    assert (await sender(client).deliver_due(clock.now())).sent == 1
    assert texts_to(fake, WHO) == ["第1条消息"]
    assert (await row()).status == MessageStatus.SENT
    await sender(client).deliver_due(clock.now() + timedelta(hours=1))
    assert len(fake.messages_to(WHO)) == 1


async def test_quiet_hours_are_a_setting_and_off_sends_at_night(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    fake.interact(WHO)
    clock = FrozenClock(LATE)
    settings = make_settings(scheduler=False, quiet_hours="off")
    client = await aiohttp_client(create_app(settings, clock=clock))
    await enqueue([letter()], clock.now(), quiet(client))
    assert (await sender(client).deliver_due(clock.now())).sent == 1


# --- the step and its messages: one transaction -----------------------------------------------


async def test_a_step_rolled_back_leaves_no_message_and_a_retry_no_second(
    aiohttp_client: Any,
    make_settings: Any,
    fake_wechat: tuple[FakeWeChat, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, clock = await app_at(aiohttp_client, make_settings, NOON)
    world = await street()
    need = await resident_posts(client, client_peer(client), ZHANG)
    await CommunityMessage.all().delete()
    tidings = notify.Tidings.of(client.app[SETTINGS], SHANGHAI)
    spec = orders.OrderSpec(
        "维修", "楼道灯维修", "幸福小区3栋", MORNING + timedelta(hours=2), Decimal(1)
    )

    async def crash(*_: object) -> int:
        raise RuntimeError("the process dies between the order and its last message")

    monkeypatch.setattr(notify, "need_dispatched", crash)
    with pytest.raises(RuntimeError):
        await orders.dispatch(
            world["secretary"], spec, clock.now(), need_id=need.id, tidings=tidings
        )
    assert await ServiceOrder.all().count() == 0 and await CommunityMessage.all().count() == 0
    assert (await Need.get(id=need.id)).status == "new"
    monkeypatch.undo()
    order = await orders.dispatch(
        world["secretary"], spec, clock.now(), need_id=need.id, tidings=tidings
    )
    keys = await CommunityMessage.all().values_list("key", flat=True)
    assert keys == [f"need:{need.id}:dispatched:resident:{need.resident_id}"]
    assert order.need_id == need.id


def client_peer(client: TestClient) -> WeChatPeer:
    settings = client.app[SETTINGS]
    return WeChatPeer(
        token=settings.token,
        aes_key=settings.aes_keys[0],
        appid=settings.appid,
        clock=client.app[CLOCK],
    )


# --- the sender's outcomes --------------------------------------------------------------------


async def test_claims_of_a_dead_sender_go_out_once_their_lease_has_run_out(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    fake.interact(WHO)
    client, clock = await app_at(aiohttp_client, make_settings, NOON)
    await enqueue([letter(1), letter(2)], clock.now(), quiet(client))
    # A sender claimed both and was killed: one never called for, one mid-call.
    await CommunityMessage.all().update(
        status=MessageStatus.CLAIMED, claim="dead-process", claimed_at=clock.now()
    )
    await CommunityMessage.filter(key=letter(2).key).update(status=MessageStatus.SENDING)
    assert (await sender(client).deliver_due(clock.now())).sent == 0  # still its lease
    clock.advance(seconds=LEASE.total_seconds() + 1)
    report = await sender(client).deliver_due(clock.now())
    assert report.sent == 1 and texts_to(fake, WHO) == ["第1条消息"]
    assert (await row(1)).status == MessageStatus.SENT
    assert (await row(2)).status == MessageStatus.UNCERTAIN  # perhaps sent: never again
    clock.advance(minutes=30)
    await sender(client).deliver_due(clock.now())
    assert texts_to(fake, WHO) == ["第1条消息"]


async def test_a_send_that_timed_out_is_uncertain_and_never_sent_again(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    fake.interact(WHO)
    client, clock = await app_at(aiohttp_client, make_settings, NOON)
    await enqueue([letter()], clock.now(), quiet(client))
    fake.fail_next(CUSTOM, delay=TIMEOUT + 0.3)  # slower than the client waits, then delivered
    report = await sender(client, impatient=True).deliver_due(clock.now())
    assert (report.sent, report.uncertain, report.retried) == (0, 1, 0)
    await asyncio.sleep(0.5)  # WeChat finishes the slow send
    assert len(fake.messages_to(WHO)) == 1
    clock.advance(minutes=30)
    await sender(client, impatient=True).deliver_due(clock.now())
    assert len(fake.messages_to(WHO)) == 1
    assert (await row()).status == MessageStatus.UNCERTAIN and (await row()).attempts == 1


async def test_system_busy_is_tried_again_later(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    fake.interact(WHO)
    client, clock = await app_at(aiohttp_client, make_settings, NOON)
    await enqueue([letter()], clock.now(), quiet(client))
    fake.fail_next(CUSTOM, errcode=-1, times=None)  # busy through the client's own retries
    start = clock.now()  # the client's own back-off moves the frozen clock on
    report = await sender(client).deliver_due(start)
    assert (report.sent, report.retried) == (0, 1)
    busy = await row()
    assert busy.status == MessageStatus.PENDING and busy.claim is None
    assert busy.not_before == start + timedelta(seconds=30)
    fake.clear_failures()
    clock.set(start + timedelta(seconds=29))
    assert (await sender(client).deliver_due(clock.now())).sent == 0  # its back-off first
    clock.set(start + timedelta(seconds=30))
    assert (await sender(client).deliver_due(clock.now())).sent == 1
    assert texts_to(fake, WHO) == ["第1条消息"] and (await row()).attempts == 2


async def test_a_retry_that_falls_in_the_quiet_hours_waits_for_the_morning(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    fake.interact(WHO)
    client, clock = await app_at(aiohttp_client, make_settings, LATE - timedelta(seconds=10))
    await enqueue([letter()], clock.now(), quiet(client))
    fake.fail_next(CUSTOM, errcode=-1, times=None)
    await sender(client).deliver_due(clock.now())
    assert (await row()).not_before == MORNING.astimezone(UTC)


async def test_a_stalled_redis_fails_the_send_before_it_is_posted_and_it_goes_later(
    aiohttp_client: Any,
    make_settings: Any,
    fake_wechat: tuple[FakeWeChat, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake, _ = fake_wechat
    fake.interact(WHO)
    client, clock = await app_at(aiohttp_client, make_settings, NOON)
    await enqueue([letter()], clock.now(), quiet(client))
    cache = client.app[CACHE]

    async def stalled(*_: object, **__: object) -> None:
        raise CacheUnavailable("redis timed out", landed_maybe=True)

    monkeypatch.setattr(cache, "get", stalled)
    report = await sender(client).deliver_due(clock.now())
    assert (report.sent, report.retried, report.uncertain) == (0, 1, 0)
    assert fake.calls_to(CUSTOM) == [] and (await row()).status == MessageStatus.PENDING
    monkeypatch.undo()
    clock.advance(seconds=30)
    assert (await sender(client).deliver_due(clock.now())).sent == 1
    assert texts_to(fake, WHO) == ["第1条消息"]


@pytest.mark.parametrize("errcode", [45015, 45047, 43101])
async def test_a_closed_channel_is_unreachable_and_not_tried_again(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str], errcode: int
) -> None:
    fake, _ = fake_wechat
    fake.interact(WHO)
    client, clock = await app_at(aiohttp_client, make_settings, NOON)
    await enqueue([letter()], clock.now(), quiet(client))
    fake.fail_next(CUSTOM, errcode=errcode)
    report = await sender(client).deliver_due(clock.now())
    assert (report.sent, report.unreachable) == (0, 1)
    closed = await row()
    assert closed.status == MessageStatus.UNREACHABLE and closed.error == str(errcode)
    clock.advance(hours=1)
    await sender(client).deliver_due(clock.now())
    assert fake.messages_to(WHO) == [] and len(fake.calls_to(CUSTOM)) == 1


async def test_one_sender_per_row_when_two_run_at_once(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    people = [f"resident-many-{n}" for n in range(30)]
    for openid in people:
        fake.interact(openid)
    client, clock = await app_at(aiohttp_client, make_settings, NOON)
    await enqueue([letter(1, p) for p in people], clock.now(), quiet(client))
    reports = await asyncio.gather(
        sender(client).deliver_due(clock.now()), sender(client).deliver_due(clock.now())
    )
    assert sum(r.sent for r in reports) == 30
    assert all(len(fake.messages_to(p)) == 1 for p in people)


# --- through chat: woken by the step, told within the same tick ------------------------------


async def test_a_need_posted_at_night_reaches_the_secretary_in_the_morning(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    for openid in (SECRETARY, ZHANG):
        fake.interact(openid)
    client, clock = await app_at(aiohttp_client, make_settings, LATE)
    peer = client_peer(client)
    await street()
    await say(client, peer, ZHANG, "居民登记 张三 13800000000 红星村 幸福小区3栋")
    posted = await say(client, peer, ZHANG, "点单 楼道灯坏了，3栋2单元5楼")
    assert "将通知社区" in posted
    assert [t for t in texts_to(fake, SECRETARY) if "【居民点单】" in t] == []
    clock.set(MORNING)
    await sender(client).deliver_due(clock.now())
    assert len([t for t in texts_to(fake, SECRETARY) if "【居民点单】" in t]) == 1
    (message,) = await CommunityMessage.filter(kind="need_posted")
    need = await Need.get()
    secretary = await Member.get(name="李书记")
    assert message.key == f"need:{need.id}:posted:member:{secretary.id}"


@pytest.mark.parametrize("value", ["25:00-07:00", "22:00", "07:00-07:00", "晚上"])
def test_a_bad_quiet_hours_setting_names_the_variable(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DANGJIAN_QUIET_HOURS", value)
    with pytest.raises(ConfigError, match="DANGJIAN_QUIET_HOURS"):
        load_settings(_env_file=None)
    monkeypatch.setenv("DANGJIAN_QUIET_HOURS", "off")
    assert load_settings(_env_file=None).quiet_window is None
    monkeypatch.setenv("DANGJIAN_QUIET_HOURS", "21:30-06:45")
    assert load_settings(_env_file=None).quiet_window == (time(21, 30), time(6, 45))
