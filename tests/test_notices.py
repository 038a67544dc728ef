"""Meeting notices: planned as outbox rows, each delivered once by the first channel that works."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from server.channels import Channel
from server.clock import FrozenClock
from server.models.meetings import Meeting
from server.models.notices import Notice, NoticeStatus, SubscribeGrant
from server.models.people import Member, WeChatIdentity
from server.services.delivery.outbox import Outbox, cut
from server.typedefs import OUTBOX
from server.wechat.fake import FakeWeChat
from tests.conftest import APPID
from tests.test_checkin_chat import frozen_app
from tests.test_meetings_chat import MEMBER, NOW, SECRETARY, branch_with_people, say
from tests.wechat_peer import WeChatPeer, openid_for

STARTS = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)  # tomorrow 15:00 in Shanghai
MP_OPENID = openid_for("wang-fang-miniprogram")
CUSTOM = "/cgi-bin/message/custom/send"


async def meeting_with_notices(
    aiohttp_client: Any, make_settings: Any, **settings: Any
) -> tuple[TestClient, WeChatPeer, FrozenClock, Meeting, dict[str, Member]]:
    # No scheduler: the tests run the outbox themselves, at the moments they choose.
    client, peer, clock = await frozen_app(
        aiohttp_client, lambda **kw: make_settings(scheduler=False, **settings, **kw), NOW
    )
    people = await branch_with_people()
    await say(client, peer, SECRETARY, "安排 党员大会 明天下午3点 学习二十大精神 地点 会议室")
    await say(client, peer, SECRETARY, "确认")
    return client, peer, clock, await Meeting.get(), people


def outbox(client: TestClient) -> Outbox:
    return client.app[OUTBOX]


async def statuses(meeting: Meeting, kind_prefix: str) -> dict[str, str]:
    rows = await Notice.filter(meeting=meeting, kind__startswith=kind_prefix).prefetch_related(
        "member"
    )
    return {n.member.name: str(n.status) for n in rows}


async def test_confirming_plans_a_notice_now_and_a_reminder_a_day_and_an_hour_before(
    aiohttp_client: Any, make_settings: Any
) -> None:
    _, _, _, meeting, _ = await meeting_with_notices(aiohttp_client, make_settings)
    rows = await Notice.filter(meeting=meeting)
    kinds = sorted({n.kind for n in rows})
    stamp = int(STARTS.timestamp())
    assert kinds == [f"reminder:1d:{stamp}", f"reminder:1h:{stamp}", "scheduled"]
    assert len(rows) == 3 * 5  # five expected members
    due = {n.kind: n.due_at for n in rows}
    assert due[f"reminder:1h:{stamp}"] == STARTS - timedelta(hours=1)


async def test_each_member_by_the_channel_that_reaches_them_or_listed_as_unreachable(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    client, _, clock, meeting, _ = await meeting_with_notices(aiohttp_client, make_settings)
    fake.interact(MEMBER)  # 王芳 wrote to the account today: the 48-hour window is open
    fake.follow(SECRETARY)  # he follows, but has not written for days: no window
    report = await outbox(client).deliver_due(clock.now())
    assert (report.sent, report.unreachable) == (1, 4)
    [message] = fake.messages_to(MEMBER)
    assert message.text and message.text.startswith("【会议通知】支部党员大会：学习二十大精神")
    assert "11月26日（周四）15:00" in message.text and "请假" in message.text
    sent = await statuses(meeting, "scheduled")
    assert sent["王芳"] == "sent" and sent["李书记"] == "unreachable"
    secretary = await Notice.get(meeting=meeting, kind="scheduled", member__name="李书记")
    assert secretary.errcode == 45015  # bound, but outside the window
    again = await outbox(client).deliver_due(clock.now())
    assert again.sent == 0 and len(fake.messages_to(MEMBER)) == 1  # never twice


async def test_a_subscription_grant_is_used_first_and_only_once(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    client, _, clock, _, people = await meeting_with_notices(
        aiohttp_client, make_settings, subscribe_template="tmpl-meeting"
    )
    wang = people["member"]
    await WeChatIdentity.create(
        appid="wx-mp", openid=MP_OPENID, channel=Channel.MINIPROGRAM, member=wang
    )
    fake.add_template("tmpl-meeting", ["thing1", "time2", "thing3", "thing4"])
    fake.grant(MP_OPENID, "tmpl-meeting", 1)
    await SubscribeGrant.create(member=wang, template_id="tmpl-meeting", remaining=1)
    await outbox(client).deliver_due(clock.now())
    [message] = fake.messages_to(MP_OPENID)
    assert message.kind == "subscribe"
    assert message.body["data"]["thing1"]["value"] == "学习二十大精神"
    assert message.body["data"]["time2"]["value"] == "2026年11月26日 15:00"
    assert (await SubscribeGrant.get(member=wang)).remaining == 0
    clock.set(STARTS - timedelta(hours=23, minutes=59))  # the day-before reminder is due
    await outbox(client).deliver_due(clock.now())
    reminder = await Notice.get(member=wang, kind__startswith="reminder:1d")
    assert reminder.status == NoticeStatus.UNREACHABLE  # no grant left, no other channel open


async def test_a_template_message_and_a_closed_channel_falls_through(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    client, _, clock, _, _ = await meeting_with_notices(
        aiohttp_client, make_settings, oa_template="tmpl-oa"
    )
    fake.add_template("tmpl-oa", ["thing1", "time2", "thing3", "thing4"])
    fake.follow(SECRETARY)  # follows: the template reaches him
    fake.interact(MEMBER)  # does not follow (43004), but wrote today: customer service
    await outbox(client).deliver_due(clock.now())
    assert [m.kind for m in fake.messages_to(SECRETARY)] == ["template"]
    assert [m.kind for m in fake.messages_to(MEMBER)] == ["custom"]
    channels = {n.member_id: n.channel for n in await Notice.filter(status="sent")}  # type: ignore[attr-defined]
    assert sorted(channels.values()) == ["custom", "template"]


async def test_wechat_busy_is_retried_later_and_sent_once(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    client, _, clock, meeting, _ = await meeting_with_notices(aiohttp_client, make_settings)
    fake.interact(MEMBER)
    fake.fail_next(CUSTOM, errcode=-1, times=None)  # WeChat busy, beyond the client's retries
    first = await outbox(client).deliver_due(clock.now())
    assert first.retried >= 1 and fake.messages_to(MEMBER) == []
    row = await Notice.get(meeting=meeting, kind="scheduled", member__name="王芳")
    assert row.status == NoticeStatus.PENDING and row.due_at > clock.now()
    fake.clear_failures(CUSTOM)
    clock.advance(minutes=1)
    assert (await outbox(client).deliver_due(clock.now())).sent == 1
    assert len(fake.messages_to(MEMBER)) == 1


async def test_the_days_quota_stops_sending_until_midnight(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    client, _, clock, _, _ = await meeting_with_notices(aiohttp_client, make_settings)
    fake.interact(MEMBER)
    fake.interact(SECRETARY)
    fake.fail_next(CUSTOM, errcode=45009, times=None)
    report = await outbox(client).deliver_due(clock.now())
    assert report.paused and report.sent == 0
    assert await Notice.filter(kind="scheduled", status="pending").count() >= 2
    fake.clear_failures(CUSTOM)  # a new day's quota
    clock.advance(hours=1)
    assert (await outbox(client).deliver_due(clock.now())).paused  # still the same day
    clock.set(datetime(2026, 11, 25, 16, 1, tzinfo=UTC))  # 00:01 in Shanghai
    # The two held-back notices, and the day-before reminders that fell due meanwhile.
    assert (await outbox(client).deliver_due(clock.now())).sent == 4
    sent = await Notice.filter(kind="scheduled", status="sent").count()
    assert sent == 2


async def test_a_reminder_due_while_the_server_was_down_is_missed_once_the_meeting_began(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, _, clock, meeting, _ = await meeting_with_notices(aiohttp_client, make_settings)
    clock.set(STARTS + timedelta(minutes=5))
    report = await outbox(client).deliver_due(clock.now())
    assert report.missed == 15  # the notice and both reminders, for five members
    assert set((await statuses(meeting, "reminder:1h")).values()) == {"missed"}


async def test_a_change_tells_those_told_before_and_voids_old_reminders(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    client, peer, clock, meeting, _ = await meeting_with_notices(aiohttp_client, make_settings)
    fake.interact(MEMBER)
    await outbox(client).deliver_due(clock.now())  # only 王芳 was told
    await say(client, peer, SECRETARY, f"改期 {meeting.id} 12月3日下午3点")
    old_reminders = await statuses(meeting, f"reminder:1d:{int(STARTS.timestamp())}")
    assert set(old_reminders.values()) == {"void"}
    assert list((await statuses(meeting, "changed")).keys()) == ["王芳"]
    await outbox(client).deliver_due(clock.now())
    assert fake.messages_to(MEMBER)[-1].text.startswith("【会议改期】")  # type: ignore[union-attr]
    await say(client, peer, SECRETARY, f"取消会议 {meeting.id} 书记出差，下周再开")
    await outbox(client).deliver_due(clock.now())
    cancelled = fake.messages_to(MEMBER)[-1].text or ""
    assert cancelled.startswith("【会议取消】")
    assert cancelled.endswith("原因：书记出差，下周再开")  # the reason the secretary gave
    assert await Notice.filter(meeting=meeting, status="pending").count() == 0


async def test_two_senders_at_once_deliver_each_notice_once(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    client, _, clock, _, _ = await meeting_with_notices(aiohttp_client, make_settings)
    fake.interact(MEMBER)
    fake.interact(SECRETARY)
    first, second = (
        outbox(client),
        Outbox(outbox(client).clients, outbox(client).templates, outbox(client).zone),
    )
    await asyncio.gather(first.deliver_due(clock.now()), second.deliver_due(clock.now()))
    assert len(fake.messages_to(MEMBER)) == 1 and len(fake.messages_to(SECRETARY)) == 1


async def test_a_notice_claimed_before_a_crash_is_never_resent(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    client, _, clock, meeting, _ = await meeting_with_notices(aiohttp_client, make_settings)
    fake.interact(MEMBER)
    # A process claimed 王芳's notice and died before recording what WeChat said.
    await Notice.filter(meeting=meeting, kind="scheduled", member__name="王芳").update(
        status="sending", claimed_at=clock.now()
    )
    clock.advance(minutes=10)
    await outbox(client).deliver_due(clock.now())
    row = await Notice.get(meeting=meeting, kind="scheduled", member__name="王芳")
    assert row.status == NoticeStatus.UNCERTAIN and fake.messages_to(MEMBER) == []


async def test_a_cancellation_by_template_carries_its_reason_in_the_note(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    client, peer, clock, meeting, _ = await meeting_with_notices(
        aiohttp_client, make_settings, oa_template="tmpl-meeting"
    )
    fake.follow(MEMBER)
    await outbox(client).deliver_due(clock.now())
    await say(client, peer, SECRETARY, f"取消会议 {meeting.id} 场地停电")
    await outbox(client).deliver_due(clock.now())
    last = fake.messages_to(MEMBER)[-1]
    assert last.kind == "template" and last.body["data"]["thing4"]["value"] == "会议取消：场地停电"


def test_template_values_are_cut_to_wechats_limits() -> None:
    assert cut("thing1", "学" * 25) == "学" * 19 + "…"
    assert cut("phrase2", "会议通知提醒") == "会议通知…"
    assert cut("time3", "2026年11月26日 15:00") == "2026年11月26日 15:00"


async def test_the_apps_scheduler_sends_the_notice_right_after_confirmation(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    client, peer, _ = await frozen_app(aiohttp_client, make_settings, NOW)
    await branch_with_people()
    fake.interact(MEMBER)
    await say(client, peer, SECRETARY, "安排 党员大会 明天下午3点 学习二十大精神")
    await say(client, peer, SECRETARY, "确认")  # pokes the scheduler: no waiting for a tick
    for _ in range(500):  # the job runs in the background; give it up to ~5 s
        if fake.messages_to(MEMBER):
            break
        await asyncio.sleep(0.01)
    assert [m.kind for m in fake.messages_to(MEMBER)] == ["custom"]
    assert WeChatIdentity and APPID  # the member is bound on the official account


async def test_the_secretary_sees_who_could_not_be_reached(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    client, peer, clock, meeting, _ = await meeting_with_notices(aiohttp_client, make_settings)
    fake.interact(MEMBER)
    fake.interact(SECRETARY)
    await outbox(client).deliver_due(clock.now())
    detail = await say(client, peer, SECRETARY, f"会议 {meeting.id}")
    assert (
        "通知未能送达 3 人" in detail
        and "郑七" in detail
        and "王芳" not in detail.split("通知")[-1]
    )


async def test_a_token_expiring_mid_fan_out_is_renewed_and_nothing_is_lost(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    client, _, clock, meeting, _ = await meeting_with_notices(aiohttp_client, make_settings)
    fake.interact(MEMBER)
    fake.interact(SECRETARY)
    assert (await outbox(client).deliver_due(clock.now())).sent == 2  # a token is now held
    await meeting.refresh_from_db()
    assert meeting.status == "notified"  # its first notices went out
    fake.expire_tokens()  # the token the client holds is refused from now on (42001)
    clock.set(STARTS - timedelta(hours=23, minutes=59))  # the day-before reminders are due
    assert (await outbox(client).deliver_due(clock.now())).sent == 2
    assert len(fake.messages_to(MEMBER)) == 2 and len(fake.messages_to(SECRETARY)) == 2


async def test_moving_a_meeting_keeps_first_notices_waiting_and_back_revives_reminders(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer, _, meeting, _ = await meeting_with_notices(aiohttp_client, make_settings)
    await say(client, peer, SECRETARY, f"改期 {meeting.id} 12月3日下午3点")
    # Nobody had been told yet: their first notices still wait, and will say the new time.
    assert set((await statuses(meeting, "scheduled")).values()) == {"pending"}
    await say(client, peer, SECRETARY, f"改期 {meeting.id} 明天下午3点")  # back again
    back = await statuses(meeting, f"reminder:1h:{int(STARTS.timestamp())}")
    assert set(back.values()) == {"pending"}


async def test_members_whose_notice_failed_are_listed_too(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    client, peer, clock, meeting, _ = await meeting_with_notices(aiohttp_client, make_settings)
    fake.interact(MEMBER)
    fake.interact(SECRETARY)
    await Notice.filter(meeting=meeting, kind="scheduled", member__name="王芳").update(
        status="failed", errcode=-1
    )
    await outbox(client).deliver_due(clock.now())
    detail = await say(client, peer, SECRETARY, f"会议 {meeting.id}")
    assert "王芳" in detail.split("通知未能送达")[-1]
