"""The 四单制 end to end on the real PostgreSQL and Redis, across two server processes' apps.

A resident, a community secretary and an in-service member chat with whichever app WeChat's
push reaches (a conversation begun on one goes on on the other: its state is in Redis); the
secretary also uses the API; the staff report then counts exactly what happened.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from server.app import create_app
from server.clock import FrozenClock
from server.models.community import (
    ClaimStatus,
    Need,
    NeedStatus,
    OrderClaim,
    OrderStatus,
    ServiceEvent,
    ServiceOrder,
    Volunteer,
    VolunteerStatus,
)
from server.models.people import Organisation, Role
from server.services.community import units
from server.wechat.fake_state import FakeWeChat
from tests.api_helpers import openid_of, signed_in
from tests.conftest import make_branch, make_member
from tests.wechat_peer import WeChatPeer, openid_for

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
RESIDENT, VOLUNTEER = (openid_for(n) for n in ("chen", "guo"))


async def test_a_need_served_across_two_apps_on_postgres_and_redis(
    aiohttp_client: Any,
    make_settings: Callable[..., Any],
    fake_wechat: tuple[FakeWeChat, str],
    pg_url: str,
    redis_url: str,
    redis_prefix: str,
    redis_cleanup: None,
) -> None:
    fake = fake_wechat[0]
    clock = FrozenClock(NOW)
    settings = make_settings(
        db_url=pg_url, redis_url=redis_url, redis_prefix=redis_prefix, identity_ttl=0
    )
    first: TestClient = await aiohttp_client(create_app(settings, clock=clock))
    second: TestClient = await aiohttp_client(create_app(settings, clock=clock))
    peer = WeChatPeer(
        token=settings.token, aes_key=settings.aes_keys[0], appid=settings.appid, clock=clock
    )

    async def say(client: TestClient, who: str, text: str) -> str:
        return (await peer.say(client, who, text, mode="safe")).text or ""

    await make_branch("示范街道党工委/红星村党总支/红星村第一党支部")
    hongxing = await units.add_community(await Organisation.get(name="红星村党总支"))
    unit = await units.register_unit("区财政局机关党委", communities=[hongxing])
    cai = await make_member(
        "蔡芳",
        "13700000001",
        role=Role.GENERAL_SECRETARY,
        org=await Organisation.get(name="红星村党总支"),
    )
    # Bound once (here through the mini-program's sign-in): the same WeChat user chats.
    headers = await signed_in(first, fake, cai)
    secretary = openid_of(cai)
    for who in (RESIDENT, secretary, VOLUNTEER):
        fake.interact(who)  # inside the 48-hour window: customer-service messages reach them

    # A resident registers on one app and posts on the other.
    registered = await say(first, RESIDENT, "居民登记 陈秀英 13912340001 红星村 幸福小区3栋")
    assert "登记成功" in registered
    posted = await say(second, RESIDENT, "点单 楼道灯坏了，3栋2单元5楼一直不亮")
    need = await Need.get()
    assert str(need.id) in posted and need.status == NeedStatus.NEW

    # An in-service member reports: the code and name on one app, the community on the other.
    asked = await say(first, VOLUNTEER, f"报到 {unit.code} 郭芳颖 13800000002")
    assert "红星村" in asked  # asked where they live, the communities listed
    await say(second, VOLUNTEER, "红星村")
    await say(first, VOLUNTEER, "水电维修")
    volunteer = await Volunteer.get()
    assert (volunteer.status, volunteer.skills) == (VolunteerStatus.PENDING, "水电维修")

    # The secretary confirms in chat and dispatches through the API.
    await say(second, secretary, f"确认报到 {volunteer.id} 第一网格")
    assert (await Volunteer.get()).status == VolunteerStatus.CONFIRMED
    starts = (NOW + timedelta(days=1)).isoformat()
    made = await second.post(
        f"/api/v1/community/needs/{need.id}/dispatch",
        json={
            "kind": "维修",
            "title": "楼道灯维修",
            "starts_at": starts,
            "hours": 1,
            "capacity": 1,
        },
        headers=headers,
    )
    assert made.status == 200, await made.text()
    order = await ServiceOrder.get()

    # The member claims on one app; a second tap on the other is refused and changes nothing.
    claimed = await say(first, VOLUNTEER, f"接单 {order.id}")
    assert "13912340001" in claimed  # the resident's phone, to the claimer alone
    again = await say(second, VOLUNTEER, f"接单 {order.id}")
    assert "已经认领" in again
    assert await OrderClaim.filter(order_id=order.id).count() == 1

    # The day after: done, confirmed, rated.
    clock.advance(days=1, hours=2)
    await say(second, VOLUNTEER, f"完成 {order.id} 已更换楼道灯 1.5小时")
    await say(first, secretary, f"确认完成 {order.id}")
    rated = await say(second, RESIDENT, f"评价 {order.id} 5 很及时")
    assert "谢谢" in rated or "感谢" in rated
    order = await ServiceOrder.get()
    assert (order.status, order.rating) == (OrderStatus.COMPLETED, 5)
    (claim,) = await OrderClaim.all()
    assert claim.status == ClaimStatus.DONE and str(claim.hours) == "1.5"
    steps = [e.action for e in await ServiceEvent.filter(order_id=order.id).order_by("at", "id")]
    assert steps == ["下单", "接单", "完成", "确认完成", "评价"]

    # Another resident reads nothing of it, on either app.
    stranger = openid_for("stranger")
    await say(first, stranger, "居民登记 路人甲 13912340009 红星村 别的小区")
    for client in (first, second):
        assert "没有找到" in await say(client, stranger, f"评价 {order.id} 1")
    assert (await ServiceOrder.get()).rating == 5

    # The staff report counts what happened, nothing more.
    staff = await make_member(
        "赵敏", "13700000009", role=Role.STAFF, org=await Organisation.get(name="示范街道党工委")
    )
    staff_headers = await signed_in(second, fake, staff)
    report = await first.get(
        "/api/v1/tallies", params={"from": "2026-12-01", "to": "2026-12-08"}, headers=staff_headers
    )
    assert report.status == 200, await report.text()
    service = (await report.json())["service"]
    total = service["total"]
    assert (total["units"], total["volunteers"], total["needs"], total["dispatched"]) == (
        1,
        1,
        1,
        1,
    )
    assert (total["claims"], total["completed"], total["hours"], total["rated"]) == (1, 1, 1.5, 1)
    assert total["average_rating"] == 5
    assert service["sentence"].endswith("1名报到党员认领服务事项1件，完成1件")
