"""A member checks in every day: once a day, whatever WeChat or the member's thumb does."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient

from server.app import create_app
from server.channels import Channel
from server.clock import FrozenClock
from server.models.people import Member, WeChatIdentity
from server.models.study import CheckIn, PointsEntry
from tests.conftest import APPID, make_member
from tests.wechat_peer import WeChatPeer, openid_for

WANG = openid_for("wang-fang")


async def bound_member(
    name: str = "王芳", phone: str = "13912345678", openid: str = WANG
) -> Member:
    member = await make_member(name, phone)
    await WeChatIdentity.create(
        appid=APPID, openid=openid, channel=Channel.OFFICIAL_ACCOUNT, member=member
    )
    return member


async def frozen_app(
    aiohttp_client: Any, make_settings: Any, when: datetime
) -> tuple[TestClient, WeChatPeer, FrozenClock]:
    clock = FrozenClock(when)
    settings = make_settings(identity_ttl=0)
    client = await aiohttp_client(create_app(settings, clock=clock))
    peer = WeChatPeer(
        token=settings.token, aes_key=settings.aes_keys[0], appid=settings.appid, clock=clock
    )
    return client, peer, clock


async def test_first_check_in_of_the_day(client: TestClient, peer: WeChatPeer) -> None:
    member = await bound_member()
    reply = await peer.say(client, WANG, "打卡")
    assert "打卡成功" in (reply.text or "")
    assert "已连续打卡 1 天" in (reply.text or "") and "本月打卡 1 天" in (reply.text or "")
    assert "今日积分 +1" in (reply.text or "")
    assert await CheckIn.filter(member_id=member.id).count() == 1


async def test_a_second_check_in_the_same_day_is_told_kindly(
    client: TestClient, peer: WeChatPeer
) -> None:
    member = await bound_member()
    await peer.say(client, WANG, "打卡")
    again = await peer.say(client, WANG, "打卡！")
    assert "已经打过卡" in (again.text or "")
    assert await CheckIn.filter(member_id=member.id).count() == 1
    assert await PointsEntry.filter(member_id=member.id).count() == 1


async def test_ten_simultaneous_check_ins_leave_one_row(
    client: TestClient, peer: WeChatPeer
) -> None:
    member = await bound_member()
    replies = await asyncio.gather(*(peer.say(client, WANG, "打卡") for _ in range(10)))
    assert sum("打卡成功" in (r.text or "") for r in replies) == 1
    assert await CheckIn.filter(member_id=member.id).count() == 1
    assert await PointsEntry.filter(member_id=member.id).count() == 1


async def test_a_retry_of_the_check_in_gets_the_same_answer(
    client: TestClient, peer: WeChatPeer
) -> None:
    await bound_member()
    plain, _ = peer.text_xml(WANG, "打卡")
    first = await peer.post(client, plain, peer.signed_query())
    retry = await peer.post(client, plain, peer.signed_query())
    assert retry.text == first.text and "打卡成功" in (first.text or "")


async def test_the_day_turns_at_midnight_in_the_organisations_zone(
    aiohttp_client: Any, make_settings: Any
) -> None:
    # 23:59:30 in Shanghai is 15:59:30 UTC: UTC's date would not change at Shanghai's midnight.
    client, peer, clock = await frozen_app(
        aiohttp_client, make_settings, datetime(2026, 11, 30, 15, 59, 30, tzinfo=UTC)
    )
    member = await bound_member()
    assert "连续打卡 1 天" in ((await peer.say(client, WANG, "打卡")).text or "")
    clock.advance(60)  # 00:00:30 on 1 December in Shanghai
    reply = await peer.say(client, WANG, "打卡")
    assert "打卡成功" in (reply.text or "")
    assert "连续打卡 2 天" in (reply.text or "") and "本月打卡 1 天" in (reply.text or "")
    days = sorted(
        str(d) for d in await CheckIn.filter(member_id=member.id).values_list("day", flat=True)
    )
    assert days == ["2026-11-30", "2026-12-01"]


async def test_a_missed_day_restarts_the_streak(aiohttp_client: Any, make_settings: Any) -> None:
    client, peer, clock = await frozen_app(
        aiohttp_client, make_settings, datetime(2026, 11, 10, 1, 0, tzinfo=UTC)
    )
    await bound_member()
    for _ in range(3):
        await peer.say(client, WANG, "打卡")
        clock.advance(days=1)
    assert "连续打卡 4 天" in ((await peer.say(client, WANG, "打卡")).text or "")
    clock.advance(days=2)
    reply = await peer.say(client, WANG, "打卡")
    assert "连续打卡 1 天" in (reply.text or "") and "本月打卡 5 天" in (reply.text or "")


async def test_points_stop_at_the_daily_cap(aiohttp_client: Any, make_settings: Any) -> None:
    settings = make_settings(points_check_in=7, points_daily_cap=5)
    client = await aiohttp_client(create_app(settings))
    peer = WeChatPeer(token=settings.token, aes_key=settings.aes_keys[0], appid=settings.appid)
    await bound_member()
    reply = await peer.say(client, WANG, "打卡")
    assert "今日积分 +5（今天共 5 分）" in (reply.text or "")


async def test_an_unbound_user_is_asked_to_bind_first(client: TestClient, peer: WeChatPeer) -> None:
    reply = await peer.say(client, openid_for("stranger"), "打卡")
    assert "还没有绑定" in (reply.text or "")
    assert await CheckIn.all().count() == 0


async def test_the_check_in_is_counted_for_the_branch_at_the_time(
    client: TestClient, peer: WeChatPeer
) -> None:
    member = await bound_member()
    await peer.say(client, WANG, "打卡")
    row = await CheckIn.get(member_id=member.id)
    assert row.organisation_id == member.organisation_id  # type: ignore[attr-defined]
