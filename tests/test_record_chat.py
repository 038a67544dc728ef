"""我的: a member sees their own month at a glance, and nobody else's."""

from __future__ import annotations

from datetime import date, timedelta

from aiohttp.test_utils import TestClient

from server.models.study import PointsEntry, PointsReason
from tests.test_checkin_chat import WANG, bound_member
from tests.wechat_peer import WeChatPeer, openid_for


async def test_my_record_after_a_check_in_and_a_reading(
    client: TestClient, peer: WeChatPeer
) -> None:
    await bound_member()
    await peer.say(client, WANG, "打卡")
    await peer.say(client, WANG, "今日学习")
    await peer.say(client, WANG, "全文")
    reply = (await peer.say(client, WANG, "我的")).text or ""
    assert "打卡 1 天，已连续 1 天" in reply and "自学 1 天" in reply
    assert "本月 3 分" in reply  # 1 for the check-in, 2 for reading
    assert "星级：尚未评定" in reply  # the branch decides a star, not points
    assert "只有您自己能看到" in reply


async def test_points_of_twelve_months_are_shown_and_make_no_star(
    client: TestClient, peer: WeChatPeer
) -> None:
    member = await bound_member()
    today = date.today()
    for n in range(30):  # 300 points spread over the past months
        await PointsEntry.create(
            member=member,
            organisation_id=member.organisation_id,
            day=today - timedelta(days=10 * n),
            reason=PointsReason.QUIZ,
            deed=f"old:{n}",
            points=10,
        )
    await PointsEntry.create(
        member=member,
        organisation_id=member.organisation_id,
        day=today - timedelta(days=400),
        reason=PointsReason.QUIZ,
        deed="too-old",
        points=500,
    )
    reply = (await peer.say(client, WANG, "我的")).text or ""
    assert "近 12 个月 300 分" in reply
    assert "星级：尚未评定" in reply and "★" not in reply  # points set no star, however many


async def test_my_record_shows_only_my_own(client: TestClient, peer: WeChatPeer) -> None:
    await bound_member()
    other = openid_for("li-ming")
    await bound_member("李明", "13800001111", openid=other)
    await peer.say(client, other, "打卡")
    reply = (await peer.say(client, WANG, "我的")).text or ""
    assert "打卡 0 天" in reply and "李明" not in reply


async def test_my_record_shows_my_reflections_by_status(
    client: TestClient, peer: WeChatPeer
) -> None:
    await bound_member()
    reply = (await peer.say(client, WANG, "我的")).text or ""
    assert "心得：待审核 0 篇，已通过 0 篇，已退回 0 篇" in reply
    await peer.say(client, WANG, "心得 " + "我认真学习了党章，体会到党员要在群众中带头，" * 4)
    reply = (await peer.say(client, WANG, "我的")).text or ""
    assert "心得：待审核 1 篇，已通过 0 篇，已退回 0 篇" in reply
