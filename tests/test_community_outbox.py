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
    Gist,
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
from tests.test_community_chat import (
    LI,
    SECRETARY,
    ZHANG,
    confirmed_volunteer,
    dispatched,
    resident_posts,
    say,
    street,
)
from tests.test_leave_chat import texts_to
from tests.wechat_peer import WeChatPeer

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOON = datetime(2026, 11, 25, 12, 0, tzinfo=SHANGHAI)
LATE = datetime(2026, 11, 25, 23, 0, tzinfo=SHANGHAI)
MORNING = datetime(2026, 11, 26, 7, 0, tzinfo=SHANGHAI)
CUSTOM = "/cgi-bin/message/custom/send"
TEMPLATE = "/cgi-bin/message/template/send"
SERVICE = "service-template-0001"  # WECHAT_TEMPLATE_SERVICE
MP_APPID = "wxminiprogram0001"
TIMEOUT = 0.3  # the impatient client's: a slow WeChat is slower than this
WHO = "resident-outbox-1"


async def app_at(
    aiohttp_client: Any, make_settings: Any, when: datetime, **settings: Any
) -> tuple[TestClient, FrozenClock]:
    # No scheduler: the tests run the sender themselves, at the moments they choose.
    client, _, clock = await frozen_app(
        aiohttp_client, lambda **kw: make_settings(scheduler=False, **settings, **kw), when
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
    return CommunitySender(clients, made.channels, made.zone, made.quiet, made.template)


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


# --- past the 48-hour window: the official account's template ----------------------------------


def templates_to(fake: FakeWeChat, openid: str) -> list[dict[str, Any]]:
    return [m.body for m in fake.messages_to(openid) if m.kind == "template"]


def values(body: dict[str, Any]) -> dict[str, str]:
    return {key: item["value"] for key, item in body["data"].items()}


async def with_template(
    aiohttp_client: Any, make_settings: Any, fake: FakeWeChat, when: datetime = NOON
) -> tuple[TestClient, FrozenClock]:
    fake.add_template(SERVICE, ["thing1", "time2", "thing3"])
    return await app_at(aiohttp_client, make_settings, when, service_template=SERVICE)


async def test_a_member_past_the_window_gets_the_template_and_one_chatting_the_text(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    for openid in (SECRETARY, LI):
        fake.follow(openid)  # they follow the account, and wrote to it more than 48 hours ago
    fake.interact(ZHANG)  # the resident is chatting: she gets the whole text
    client, _ = await with_template(aiohttp_client, make_settings, fake)
    peer = client_peer(client)
    world = await street()
    await confirmed_volunteer(client, peer, world["unit"].code)
    need = await resident_posts(client, peer, ZHANG)
    order = await dispatched(client, peer, need)

    # The new order, to the member from the unit: its gist, the order's time, no link.
    (offer,) = [b for b in templates_to(fake, LI) if values(b)["thing1"] == "新服务"]
    assert offer["template_id"] == SERVICE and "url" not in offer and "miniprogram" not in offer
    assert values(offer) == {
        "thing1": "新服务",
        "time2": "2026年11月26日 09:00",
        "thing3": f"回复 接单 {order.id} 认领：楼道灯维修",
    }
    assert not any("【新服务】" in t for t in texts_to(fake, LI))
    row = await CommunityMessage.get(kind="order_dispatched")
    assert (row.status, row.channel, row.title) == (MessageStatus.SENT, "template", "新服务")
    assert row.error == "" and row.attempts == 1

    # The need, to the secretary: its note cut to a thing field's 20 characters.
    (asked,) = [b for b in templates_to(fake, SECRETARY) if values(b)["thing1"] == "居民点单"]
    note = f"需求 {need.id}：楼道灯坏了，3栋2单元5楼，晚上看不见"
    assert values(asked)["thing3"] == note[:19] + "…" and len(values(asked)["thing3"]) == 20
    assert values(asked)["time2"] == "2026年11月25日 12:00"
    assert texts_to(fake, SECRETARY) == []

    # The resident, in the window: the customer-service text, and no template.
    assert any(f"派为服务单 {order.id}" in t for t in texts_to(fake, ZHANG))
    assert templates_to(fake, ZHANG) == []
    told = await CommunityMessage.get(kind="need_dispatched")
    assert (told.channel, told.title, told.moment) == ("custom", "点单受理", order.starts_at)


async def test_past_the_window_without_a_template_is_unreachable_as_before(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    fake.follow(WHO)
    client, clock = await app_at(aiohttp_client, make_settings, NOON)
    await enqueue([letter()], clock.now(), quiet(client))
    report = await sender(client).deliver_due(clock.now())
    assert (report.sent, report.unreachable) == (0, 1)
    closed = await row()
    assert (closed.status, closed.error, closed.channel) == (
        MessageStatus.UNREACHABLE,
        "45015",
        None,
    )
    assert fake.calls_to(TEMPLATE) == []


@pytest.mark.parametrize(
    ("errcode", "error"),
    [(45015, "45015, template 43004"), (45047, "45047, template 43004")],
)
async def test_a_template_refused_as_well_is_unreachable_and_not_tried_again(
    aiohttp_client: Any,
    make_settings: Any,
    fake_wechat: tuple[FakeWeChat, str],
    errcode: int,
    error: str,
) -> None:
    fake, _ = fake_wechat
    fake.interact(WHO)  # known to the account, but not following it: 43004 for a template
    client, clock = await with_template(aiohttp_client, make_settings, fake)
    await enqueue([letter()], clock.now(), quiet(client))
    fake.fail_next(CUSTOM, errcode=errcode)
    report = await sender(client).deliver_due(clock.now())
    assert (report.sent, report.unreachable, report.retried) == (0, 1, 0)
    assert (await row()).status == MessageStatus.UNREACHABLE and (await row()).error == error
    clock.advance(hours=1)
    await sender(client).deliver_due(clock.now())
    assert len(fake.calls_to(CUSTOM)) == 1 and len(fake.calls_to(TEMPLATE)) == 1
    assert fake.messages_to(WHO) == []


async def test_a_template_wechat_does_not_know_is_unreachable_and_said_loudly(
    aiohttp_client: Any,
    make_settings: Any,
    fake_wechat: tuple[FakeWeChat, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake, _ = fake_wechat
    fake.follow(WHO)
    fake.add_template("another-template")  # ours is not in the account: 40037
    client, clock = await app_at(aiohttp_client, make_settings, NOON, service_template=SERVICE)
    await enqueue([letter()], clock.now(), quiet(client))
    assert (await sender(client).deliver_due(clock.now())).unreachable == 1
    assert (await row()).error == "45015, template 40037"
    assert "WECHAT_TEMPLATE_SERVICE" in caplog.text


async def test_a_row_without_a_gist_takes_it_from_its_text(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    fake.follow(WHO)
    client, clock = await with_template(aiohttp_client, make_settings, fake)
    old = Letter(
        "test:old:resident", "test", APPID, WHO, "【联系卡】区税务局 2026年第三季度\n下载…"
    )
    await enqueue([old, letter()], clock.now(), quiet(client))
    assert (await sender(client).deliver_due(clock.now())).sent == 2
    card, plain = templates_to(fake, WHO)
    assert values(card) == {
        "thing1": "联系卡",
        "time2": "2026年11月25日 12:00",
        "thing3": "区税务局 2026年第三季度",
    }
    assert (values(plain)["thing1"], values(plain)["thing3"]) == ("社区服务", "第1条消息")


async def test_a_timeout_on_the_custom_call_is_uncertain_and_no_template_is_tried(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    fake.follow(WHO)  # outside the window: the slow answer is a 45015, after the client gave up
    client, clock = await with_template(aiohttp_client, make_settings, fake)
    await enqueue([letter()], clock.now(), quiet(client))
    fake.fail_next(CUSTOM, delay=TIMEOUT + 0.3)
    report = await sender(client, impatient=True).deliver_due(clock.now())
    assert (report.sent, report.uncertain, report.unreachable) == (0, 1, 0)
    await asyncio.sleep(0.5)
    clock.advance(minutes=30)
    await sender(client, impatient=True).deliver_due(clock.now())
    assert fake.calls_to(TEMPLATE) == [] and fake.messages_to(WHO) == []
    assert (await row()).status == MessageStatus.UNCERTAIN


async def test_a_timeout_on_the_template_is_uncertain_and_never_repeated(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    fake.follow(WHO)
    client, clock = await with_template(aiohttp_client, make_settings, fake)
    await enqueue([letter()], clock.now(), quiet(client))
    fake.fail_next(TEMPLATE, delay=TIMEOUT + 0.3)  # slower than the client waits, then delivered
    report = await sender(client, impatient=True).deliver_due(clock.now())
    assert (report.sent, report.uncertain) == (0, 1)
    await asyncio.sleep(0.5)
    clock.advance(minutes=30)
    await sender(client, impatient=True).deliver_due(clock.now())
    assert len(templates_to(fake, WHO)) == 1 and len(fake.calls_to(CUSTOM)) == 1
    assert (await row()).status == MessageStatus.UNCERTAIN


async def test_a_busy_template_is_tried_again_later_customer_service_first(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    fake.follow(WHO)
    client, clock = await with_template(aiohttp_client, make_settings, fake)
    await enqueue([letter()], clock.now(), quiet(client))
    fake.fail_next(TEMPLATE, errcode=-1, times=None)
    start = clock.now()
    assert (await sender(client).deliver_due(start)).retried == 1
    busy = await row()
    assert (busy.status, busy.error) == (MessageStatus.PENDING, "-1")
    assert busy.not_before == start + timedelta(seconds=30)
    fake.clear_failures()
    fake.interact(WHO)  # meanwhile the member wrote: the whole text this time
    clock.set(start + timedelta(seconds=30))
    assert (await sender(client).deliver_due(clock.now())).sent == 1
    assert texts_to(fake, WHO) == ["第1条消息"] and templates_to(fake, WHO) == []
    assert (await row()).channel == "custom"


async def test_templates_wait_for_the_end_of_the_quiet_hours_too(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    fake.follow(WHO)
    client, clock = await with_template(aiohttp_client, make_settings, fake, LATE)
    gist = Gist("新服务", "回复 接单 7 认领：楼道灯维修", MORNING + timedelta(hours=2))
    await enqueue(
        [Letter(letter().key, "test", APPID, WHO, "第1条消息", gist)], LATE, quiet(client)
    )
    assert (await sender(client).deliver_due(clock.now())).sent == 0
    clock.set(MORNING - timedelta(minutes=1))
    assert (await sender(client).deliver_due(clock.now())).sent == 0
    assert fake.calls_to(CUSTOM) == [] and fake.calls_to(TEMPLATE) == []
    clock.set(MORNING)
    assert (await sender(client).deliver_due(clock.now())).sent == 1
    (body,) = templates_to(fake, WHO)
    assert values(body)["time2"] == "2026年11月26日 09:00"


async def test_a_mini_program_user_gets_customer_service_only(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    fake.follow(WHO)
    fake.add_template(SERVICE, ["thing1", "time2", "thing3"])
    client, clock = await app_at(
        aiohttp_client, make_settings, NOON, service_template=SERVICE, wechat_mp_appid=MP_APPID
    )
    await enqueue([Letter("test:mp", "test", MP_APPID, WHO, "第1条消息")], clock.now(), None)
    assert (await sender(client).deliver_due(clock.now())).unreachable == 1
    assert (await CommunityMessage.get(key="test:mp")).error == "45015"
    assert fake.calls_to(TEMPLATE) == [] and len(fake.calls_to(CUSTOM)) == 1
