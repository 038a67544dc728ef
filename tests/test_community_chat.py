"""党员双报到 and the 四单制 in chat: a resident asks (点单), the community dispatches (下单), a
member reported from a unit claims and serves (接单), the community confirms, the resident rates.

Every message goes through the real endpoint, signed (some encrypted) as WeChat sends them; the
resident and the member from the unit are not bound to any member of the street.  What a step
tells goes through the 四单制's outbox: `say` here runs its sender after each message, as the
scheduler's wake does within seconds.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from aiohttp.test_utils import TestClient

from server.clock import FrozenClock
from server.models.community import (
    ClaimStatus,
    Community,
    CommunityStaff,
    Need,
    NeedStatus,
    OrderClaim,
    OrderStatus,
    ReportUnit,
    Resident,
    ServiceEvent,
    ServiceOrder,
    Volunteer,
    VolunteerStatus,
)
from server.models.people import Member, Organisation, Role, WeChatIdentity
from server.services.community import units
from server.services.community.outbox import CommunitySender
from server.typedefs import CLOCK, SETTINGS, WECHAT_CLIENTS
from server.wechat.fake_state import FakeWeChat
from tests.conftest import make_branch, make_member
from tests.test_checkin_chat import frozen_app
from tests.test_leave_chat import texts_to
from tests.test_meetings_chat import bind
from tests.test_meetings_chat import say as say_only
from tests.wechat_peer import WeChatPeer, cdata, openid_for

# Wednesday 25 November 2026, 10:00 in Shanghai.
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
TOMORROW_9 = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)  # 明天上午9点 in Shanghai
SECRETARY, MEMBER = openid_for("hx-secretary"), openid_for("hx-member")
ZHANG, NEIGHBOUR = openid_for("resident-zhang"), openid_for("resident-zhao")
LI, CHEN = openid_for("volunteer-li"), openid_for("volunteer-chen")
STRANGER = openid_for("nobody-yet")
_image_ids = itertools.count(7_100_000_000_000_000_001)


async def street() -> dict[str, Any]:
    """红星村 (its 党总支 run by 李书记) and 青山社区 take part; 区税务局 reports to 红星村."""
    branch = await make_branch("示范街道党工委/红星村党总支/红星村第一党支部")
    general = await Organisation.get(path="示范街道党工委/红星村党总支")
    hongxing = await units.add_community(general)
    qingshan = await units.add_community(await make_branch("示范街道党工委/青山社区党总支"))
    unit = await units.register_unit("区税务局", kind="区直机关", communities=[hongxing])
    secretary = await make_member("李书记", "13700000001", role=Role.GENERAL_SECRETARY, org=general)
    member = await make_member("王芳", "13700000004", org=branch)
    await bind(secretary, SECRETARY)
    await bind(member, MEMBER)
    return {
        "hongxing": hongxing,
        "qingshan": qingshan,
        "unit": unit,
        "secretary": secretary,
        "member": member,
    }


async def loop_app(
    aiohttp_client: Any, make_settings: Any
) -> tuple[TestClient, WeChatPeer, FrozenClock, dict[str, Any]]:
    # No scheduler: the messages are sent by `deliver`, at the moments the story chooses.
    client, peer, clock = await frozen_app(
        aiohttp_client, lambda **kw: make_settings(scheduler=False, **kw), NOW
    )
    return client, peer, clock, await street()


async def deliver(client: TestClient) -> None:
    """What the outbox's sender does once woken: send whatever is due now."""
    app = client.app
    sender = CommunitySender.of(app[WECHAT_CLIENTS], app[SETTINGS])
    await sender.deliver_due(app[CLOCK].now())


async def say(client: TestClient, peer: WeChatPeer, openid: str, text: str) -> str:
    """Say it, then let the sender send what the step wrote to the outbox."""
    reply = await say_only(client, peer, openid, text)
    await deliver(client)
    return reply


async def send_image(client: TestClient, peer: WeChatPeer, openid: str, media_id: str) -> str:
    xml = (
        f"<xml><ToUserName>{cdata(peer.to_user)}</ToUserName>"
        f"<FromUserName>{cdata(openid)}</FromUserName>"
        f"<CreateTime>{int(peer.clock.timestamp())}</CreateTime>"
        f"<MsgType>{cdata('image')}</MsgType><PicUrl>{cdata('http://img.example/1.jpg')}</PicUrl>"
        f"<MediaId>{cdata(media_id)}</MediaId><MsgId>{next(_image_ids)}</MsgId></xml>"
    )
    body, query = peer.envelope(xml, "safe")
    return (await peer.post(client, body, query)).text or ""


async def resident_posts(
    client: TestClient, peer: WeChatPeer, who: str = ZHANG, name: str = "张三"
) -> Need:
    phone = "13800000000" if who == ZHANG else "13800000009"
    await say(client, peer, who, f"居民登记 {name} {phone} 红星村 幸福小区3栋")
    await say(client, peer, who, "点单 楼道灯坏了，3栋2单元5楼，晚上看不见")
    need = await Need.filter(resident__openid=who).order_by("-id").first()
    assert need is not None
    return need


async def confirmed_volunteer(
    client: TestClient, peer: WeChatPeer, code: str, who: str = LI, name: str = "李四"
) -> Volunteer:
    phone = "13900000000" if who == LI else "13900000007"
    await say(client, peer, who, f"报到 {code} {name} {phone} 红星村 水电维修")
    volunteer = await Volunteer.get(phone=phone)
    await say(client, peer, SECRETARY, f"确认报到 {volunteer.id} 第一网格")
    return await Volunteer.get(id=volunteer.id)


async def dispatched(
    client: TestClient, peer: WeChatPeer, need: Need, extra: str = ""
) -> ServiceOrder:
    await say(client, peer, SECRETARY, f"下单 {need.id} 明天上午9点 维修 楼道灯维修 {extra}")
    return await ServiceOrder.get(need_id=need.id)


async def test_a_need_goes_round_the_whole_loop(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    client, peer, clock, world = await loop_app(aiohttp_client, make_settings)
    for who in (SECRETARY, ZHANG, LI):
        fake.interact(who)  # all wrote to the account today: customer-service messages reach them

    # 居民点单: Zhang registers (encrypted, no spaces, full-width punctuation) and asks.
    registered = (
        await peer.say(client, ZHANG, "居民登记张三13800000000红星村幸福小区3栋", mode="safe")
    ).text or ""
    assert "登记成功：张三，红星村 幸福小区3栋，手机 138****0000" in registered
    resident = await Resident.get(openid=ZHANG)
    assert (resident.name, resident.phone, resident.place) == ("张三", "13800000000", "幸福小区3栋")
    posted = await say(client, peer, ZHANG, "点单：楼道灯坏了，3栋2单元5楼，晚上看不见。")
    need = await Need.get(resident=resident)
    assert need.text == "楼道灯坏了，3栋2单元5楼，晚上看不见。" and need.status == NeedStatus.NEW
    assert f"编号 {need.id}（红星村），将通知社区" in posted and "照片" in posted
    attached = await send_image(client, peer, ZHANG, "media-lamp-1")
    assert f"照片已附在需求 {need.id} 上" in attached
    assert (await Need.get(id=need.id)).media_id == "media-lamp-1"
    (told,) = [t for t in texts_to(fake, SECRETARY) if "【居民点单】" in t]
    assert f"需求 {need.id}，红星村，张三（幸福小区3栋）" in told and "楼道灯坏了" in told
    assert f"下单 {need.id} 明天上午9点 维修" in told and "13800000000" not in told

    # A member of 区税务局 reports with the unit's code; the community is asked, then skills.
    code = world["unit"].code
    asked = await say(client, peer, LI, f"报到 {code.lower()} 李四 139-0000-0000")
    assert "请回复您居住的社区：红星村、青山社区" in asked
    assert "特长" in await say(client, peer, LI, "红星")
    fake.interact(SECRETARY)
    reported = await say(client, peer, LI, "水电维修，助老")
    assert "已提交报到：李四（区税务局）报到到红星村" in reported and "待社区确认" in reported
    volunteer = await Volunteer.get(phone="13900000000")
    assert (volunteer.status, volunteer.skills) == (VolunteerStatus.PENDING, "水电维修、助老")
    assert (volunteer.unit_id, volunteer.member_id) == (world["unit"].id, None)
    assert any("【党员报到】李四（区税务局）报到到红星村" in t for t in texts_to(fake, SECRETARY))
    # Not yet confirmed: nothing to claim.
    assert "还在等社区确认" in await say(client, peer, LI, "服务")
    mine = await say(client, peer, LI, "我的报到")
    assert "红星村，待社区确认" in mine and "修改特长" in mine and "更换社区" in mine

    # The community confirms the member and dispatches the need.
    waiting = await say(client, peer, SECRETARY, "报到审核")
    assert f"【{volunteer.id}】李四（区税务局）13900000000，特长：水电维修、助老" in waiting
    confirmed = await say(client, peer, SECRETARY, f"确认报到 {volunteer.id} 第一网格")
    assert "已确认李四的报到，编入第一网格。将通知本人。" == confirmed
    assert any("您在红星村的报到已确认，编入第一网格" in t for t in texts_to(fake, LI))
    listed = await say(client, peer, SECRETARY, "需求")
    assert f"【{need.id}】11月25日 10:00 张三（幸福小区3栋）：楼道灯坏了" in listed
    assert "（附照片）" in listed and "13800000000" not in listed
    fake.interact(LI)
    fake.interact(ZHANG)
    sent = await say(client, peer, SECRETARY, f"下单 {need.id} 明天上午9点 维修 楼道灯维修")
    order = await ServiceOrder.get(need_id=need.id)
    assert f"已下单：服务单 {order.id}（需求 {need.id}），维修·楼道灯维修" in sent
    assert "11月26日（周四）09:00–10:00，需1人" in sent and "将通知 1 名" in sent
    # The resident's address is not the order's place: it goes to the claimer alone.
    assert (order.starts_at, order.place, order.capacity) == (TOMORROW_9, "", 1)
    assert order.title == "楼道灯维修" and order.expected_hours == Decimal("1.0")
    assert (await Need.get(id=need.id)).status == NeedStatus.DISPATCHED
    assert any(f"【新服务】服务单 {order.id}：维修·楼道灯维修" in t for t in texts_to(fake, LI))
    assert not any("幸福小区" in t for t in texts_to(fake, LI))
    assert any(f"派为服务单 {order.id}" in t for t in texts_to(fake, ZHANG))

    # 党员接单: the member sees it, claims it, and alone reads the resident's phone.
    offered = await say(client, peer, LI, "服务")
    assert f"【{order.id}】维修·楼道灯维修，11月26日（周四）09:00–10:00，还差1人" in offered
    assert "幸福小区" not in offered
    claimed = await say(client, peer, LI, f"接单 {order.id}")
    assert "居民：张三 13800000000，幸福小区3栋" in claimed
    assert f"完成 {order.id}" in claimed and f"放弃 {order.id}" in claimed
    (heard,) = [t for t in texts_to(fake, ZHANG) if "已有党员" in t]
    assert "已有党员李四接单" in heard and "139" not in heard
    assert "目前没有可以认领的服务" in await say(client, peer, LI, "服务")  # full now

    # The work is done and reported; the community confirms; the resident rates.
    clock.set(TOMORROW_9 + timedelta(hours=1))
    fake.interact(SECRETARY)
    done = await say(client, peer, LI, f"完成 {order.id} 已换好楼道灯，试过能亮。1.5小时")
    assert f"已报告完成：服务单 {order.id}，1.5小时" in done
    claim = await OrderClaim.get(order=order)
    assert (claim.status, claim.hours, claim.note) == (
        ClaimStatus.DONE,
        Decimal("1.5"),
        "已换好楼道灯，试过能亮",
    )
    assert any(f"确认完成 {order.id}" in t for t in texts_to(fake, SECRETARY))
    fake.interact(ZHANG)
    closed = await say(client, peer, SECRETARY, f"确认完成 {order.id}")
    assert f"已确认服务单 {order.id} 完成" in closed and "将请居民评价" in closed
    (invited,) = [t for t in texts_to(fake, ZHANG) if "服务完成" in t]
    assert f"评价 {order.id}" in invited and "李四" in invited and "139" not in invited
    assert "谢谢您的评价" in await say(client, peer, ZHANG, f"评价 {order.id} 5 很满意，谢谢！")
    order = await ServiceOrder.get(id=order.id)
    assert (order.status, order.rating, order.rating_note) == (
        OrderStatus.COMPLETED,
        5,
        "很满意，谢谢！",
    )

    # 我的点单 shows it all, and never the member's phone.
    mine = await say(client, peer, ZHANG, "我的点单")
    assert f"【需求 {need.id}】11月25日 楼道灯坏了" in mine and "（已完成服务）" in mine
    assert f"服务单 {order.id}：11月26日（周四）09:00，已完成；接单党员：李四" in mine
    assert "您的评价：5分" in mine and "139" not in mine
    detail = await say(client, peer, ZHANG, f"我的点单 {need.id}")
    for step in ("居民 张三 点单", "社区 李书记 下单", "党员 李四 接单", "党员 李四 完成"):
        assert step in detail, step
    assert "139" not in detail
    # The community reads the whole story of the order.
    story = await say(client, peer, SECRETARY, f"服务单 {order.id}")
    assert f"服务单 {order.id}（已完成）：维修·楼道灯维修" in story
    assert "接单：李四（区税务局）13900000000，已完成（1.5小时）" in story
    assert "居民评价：5分，很满意，谢谢！" in story
    actions = [e.action for e in await ServiceEvent.all().order_by("id")]
    assert actions == ["点单", "报到", "确认报到", "下单", "接单", "完成", "确认完成", "评价"]
    assert f"【{order.id}】维修·楼道灯维修" in (served := await say(client, peer, LI, "我的服务"))
    assert "已完成（1.5小时）" in served
    # Their own year against the expectation (2 services or 12 hours), for them alone.
    assert "今年已完成服务1次、共1.5小时；年度要求是" in served


async def test_a_full_order_and_a_cancelled_one_cannot_be_claimed(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    client, peer, clock, world = await loop_app(aiohttp_client, make_settings)
    code = world["unit"].code
    await confirmed_volunteer(client, peer, code)
    await confirmed_volunteer(client, peer, code, CHEN, "陈五")
    order = await dispatched(client, peer, await resident_posts(client, peer))
    assert "已认领" in await say(client, peer, LI, f"接单 {order.id}")
    # The only place is taken: the second member is told, and no claim is written.
    assert "名额已满" in await say(client, peer, CHEN, f"接单 {order.id}")
    assert "已经认领" in await say(client, peer, LI, f"接单 {order.id}")
    assert await OrderClaim.filter(order=order).count() == 1
    assert (await ServiceOrder.get(id=order.id)).taken == 1
    # 放弃 before the start frees the place; 陈五 takes it.
    assert "已放弃服务单" in await say(client, peer, LI, f"放弃 {order.id}")
    assert "已认领" in await say(client, peer, CHEN, f"接单 {order.id}")
    # The community cancels: the claimer is told why; nobody may claim it any more.
    fake.interact(CHEN)
    cancelled = await say(client, peer, SECRETARY, f"撤销服务 {order.id} 居民已自行修好。")
    assert f"已撤销服务单 {order.id}。将通知接单党员：陈五；如急，请电话告知。" == cancelled
    assert any("已由社区撤销，原因：居民已自行修好。" in t for t in texts_to(fake, CHEN))
    assert "截止认领" in await say(client, peer, LI, f"接单 {order.id}")
    assert (await ServiceOrder.get(id=order.id)).status == OrderStatus.CANCELLED
    assert await OrderClaim.filter(order=order, status=ClaimStatus.CLAIMED).count() == 1
    assert "已经办结或撤销" in await say(client, peer, SECRETARY, f"撤销服务 {order.id} 再撤")
    # An order whose window has begun is closed to claims.
    other = await dispatched(client, peer, await resident_posts(client, peer, NEIGHBOUR, "赵六"))
    clock.set(TOMORROW_9 + timedelta(minutes=1))
    assert "截止认领" in await say(client, peer, LI, f"接单 {other.id}")
    assert not await OrderClaim.exists(order=other)


async def test_claiming_before_the_community_confirms_is_refused(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer, _, world = await loop_app(aiohttp_client, make_settings)
    order = await dispatched(client, peer, await resident_posts(client, peer))
    assert "您还没有报到" in await say(client, peer, LI, f"接单 {order.id}")
    await say(client, peer, LI, f"报到 {world['unit'].code} 李四 13900000000 红星村")
    assert "还在等社区确认" in await say(client, peer, LI, f"接单 {order.id}")
    assert not await OrderClaim.exists(order=order)
    # Sent back with a reason, the member reads it; a new 报到 puts it back to 待社区确认.
    volunteer = await Volunteer.get(phone="13900000000")
    sent_back = await say(client, peer, SECRETARY, f"退回报到 {volunteer.id} 不是本社区居民")
    assert "已退回李四的报到（原因：不是本社区居民）" in sent_back
    assert "未通过" in await say(client, peer, LI, f"接单 {order.id}")
    assert "不是本社区居民" in await say(client, peer, LI, "我的报到")
    again = await say(client, peer, LI, f"报到 {world['unit'].code} 李四 13900000000 青山社区")
    assert "报到到青山社区" in again
    volunteer = await Volunteer.get(id=volunteer.id)
    assert (volunteer.status, volunteer.community_id) == (
        VolunteerStatus.PENDING,
        world["qingshan"].id,
    )


async def test_ratings_belong_to_the_resident_once_within_a_week(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer, clock, world = await loop_app(aiohttp_client, make_settings)
    await confirmed_volunteer(client, peer, world["unit"].code)
    need = await resident_posts(client, peer)
    order = await dispatched(client, peer, need)
    neighbours = await resident_posts(client, peer, NEIGHBOUR, "赵六")
    await say(client, peer, LI, f"接单 {order.id}")
    # Not done yet: nothing to rate.
    assert "服务完成后才能评价" in await say(client, peer, ZHANG, f"评价 {order.id} 5")
    clock.set(TOMORROW_9 + timedelta(hours=1))
    await say(client, peer, LI, f"完成 {order.id} 已换好")
    await say(client, peer, SECRETARY, f"确认完成 {order.id}")
    completed_at = (await ServiceOrder.get(id=order.id)).completed_at
    # Another resident cannot rate it, nor read the need behind it; a stranger is asked to register.
    assert "没有找到您的这个服务单" in await say(client, peer, NEIGHBOUR, f"评价 {order.id} 1 差")
    assert "没有找到这条需求" in await say(client, peer, NEIGHBOUR, f"我的点单 {need.id}")
    assert "居民登记" in await say(client, peer, STRANGER, f"评价 {order.id} 1")
    assert f"需求 {neighbours.id}" in await say(client, peer, NEIGHBOUR, "我的点单")
    # Out of range, then malformed.
    assert "1到5" in await say(client, peer, ZHANG, f"评价 {order.id} 6")
    assert "1到5" in await say(client, peer, ZHANG, f"评价 {order.id} 0 还行")
    assert "评价 服务单编号 分数" in await say(client, peer, ZHANG, f"评价 {order.id}马马虎虎")
    assert (await ServiceOrder.get(id=order.id)).rating is None
    # A week and a minute later it is closed.
    assert completed_at is not None
    clock.set(completed_at + timedelta(days=7, minutes=1))
    assert "评价已截止" in await say(client, peer, ZHANG, f"评价 {order.id} 5")
    assert (await ServiceOrder.get(id=order.id)).rating is None
    assert "评价已截止" in await say(client, peer, ZHANG, "我的点单")
    assert not await ServiceEvent.exists(action="评价")


async def test_only_those_who_run_the_community_may_dispatch(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer, _, _ = await loop_app(aiohttp_client, make_settings)
    need = await resident_posts(client, peer)
    for text in ("需求", f"下单 {need.id} 明天上午9点 维修", f"不受理 {need.id} 不管", "报到审核"):
        assert "只有社区党组织书记、书记指定的社区工作人员和街道党工委可以使用" in await say(
            client, peer, MEMBER, text
        )
        # A resident is pointed to 点单, an unbound stranger too.
        assert "点单 内容" in await say(client, peer, ZHANG, text)
    assert (await Need.get(id=need.id)).status == NeedStatus.NEW
    assert not await ServiceOrder.exists()
    # The secretary of another community's organisation gets what a wrong number gets.
    other_general = await Organisation.get(path="示范街道党工委/青山社区党总支")
    await make_member("周书记", "13700000009", role=Role.GENERAL_SECRETARY, org=other_general)
    await bind(await Member.get(name="周书记"), openid_for("qs-secretary"))
    stranger_secretary = openid_for("qs-secretary")
    assert "目前没有待受理" in await say(client, peer, stranger_secretary, "需求")
    refused = await say(client, peer, stranger_secretary, f"下单 {need.id} 明天上午9点 维修")
    assert "无权访问，或该对象不存在" in refused
    assert not await ServiceOrder.exists()


async def test_a_past_time_an_unknown_kind_and_a_refusal(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    client, peer, _, _ = await loop_app(aiohttp_client, make_settings)
    need = await resident_posts(client, peer)
    assert "已经过去了" in await say(client, peer, SECRETARY, f"下单 {need.id} 昨天上午9点 维修")
    assert "已经过去了" in await say(client, peer, SECRETARY, f"下单 {need.id} 今天上午9点 维修")
    kinds = await say(client, peer, SECRETARY, f"下单 {need.id} 明天上午9点 修灯")
    assert "服务类别应为" in kinds or "请在时间后写上服务类别" in kinds
    assert "没看懂服务时间" in await say(client, peer, SECRETARY, f"下单 {need.id} 尽快 维修")
    assert "下单 需求编号 时间 类别" in await say(client, peer, SECRETARY, "下单 明天 维修")
    assert (await Need.get(id=need.id)).status == NeedStatus.NEW and not await ServiceOrder.exists()
    # Not taken on: the resident is told why and reads it in 我的点单.
    fake.interact(ZHANG)
    refused = await say(client, peer, SECRETARY, f"不受理 {need.id} 属于物业维修范围，请联系物业。")
    assert (
        f"需求 {need.id} 不予受理（原因：属于物业维修范围，请联系物业。），"
        "将告知居民（我的点单 中也能看到）。" == refused
    )
    assert any("原因：属于物业维修范围，请联系物业。" in t for t in texts_to(fake, ZHANG))
    mine = await say(client, peer, ZHANG, "我的点单")
    assert "（不予受理）" in mine and "原因：属于物业维修范围" in mine
    assert "已经处理过了" in await say(client, peer, SECRETARY, f"下单 {need.id} 明天上午9点 维修")
    assert not await ServiceOrder.exists()


async def test_a_community_order_with_places_hours_and_a_unit(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer, _, world = await loop_app(aiohttp_client, make_settings)
    published = await say(
        client,
        peer,
        SECRETARY,
        "发布 周六上午9点 环境 清理楼道杂物 3人 2小时 地点 幸福小区 限 区税务",
    )
    order = await ServiceOrder.get()
    assert f"已下单：服务单 {order.id}，环境·清理楼道杂物" in published
    assert (order.capacity, order.expected_hours, order.place, order.unit_id, order.need_id) == (
        3,
        Decimal("2.0"),
        "幸福小区",
        world["unit"].id,
        None,
    )
    assert order.starts_at == datetime(2026, 11, 28, 1, 0, tzinfo=UTC)
    assert "本社区还没有可以接这一单" in published
    # The default title is the community's wording, never the resident's message.
    order = await dispatched(client, peer, await resident_posts(client, peer), "")
    assert order.title == "楼道灯维修"
    need = await resident_posts(client, peer, NEIGHBOUR, "赵六")
    await say(client, peer, SECRETARY, f"下单 {need.id} 明天下午3点 助老")
    assert (await ServiceOrder.get(need_id=need.id)).title == "助老服务"


async def test_registering_twice_and_malformed_phones(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer, _, world = await loop_app(aiohttp_client, make_settings)
    code = world["unit"].code
    # A malformed phone is refused with the rule; nothing is written.
    bad = await say(client, peer, LI, f"报到 {code} 李四 1390000 红星村")
    assert "手机号应为以1开头的11位数字" in bad and "1390000" not in bad
    assert "手机号应为以1开头的11位数字" in await say(
        client, peer, ZHANG, "居民登记 张三 2380000000 红星村 幸福小区"
    )
    assert not await Volunteer.exists() and not await Resident.exists()
    assert "报到码不对" in await say(client, peer, LI, "报到 ZZZZ99 李四 13900000000")
    assert "没有找到社区「白云」" in await say(
        client, peer, ZHANG, "居民登记 张三 13800000000 白云 3栋"
    )
    assert "请写上所在小区或楼栋" in await say(
        client, peer, ZHANG, "居民登记 张三 13800000000 红星村"
    )
    # A second 报到 with the same phone, from this user or another, changes nothing.
    await say(client, peer, LI, f"报到 {code} 李四 13900000000 红星村 水电维修")
    assert "已经报到过了" in await say(client, peer, LI, f"报到 {code} 李四 13900000000")
    assert "已经报到过了" in await say(client, peer, CHEN, f"报到 {code} 李四 13900000000 青山社区")
    assert await Volunteer.all().count() == 1
    assert (await Volunteer.get()).openid == LI
    # A resident corrects their details on the same row.
    await say(client, peer, ZHANG, "居民登记 张三 13800000000 红星村 幸福小区3栋")
    fixed = await say(client, peer, ZHANG, "居民登记 张三 13800000001 红星 幸福小区5栋")
    assert "已更新您的登记信息" in fixed
    again = await say(client, peer, ZHANG, "居民登记 张三 13800000001 红星 幸福小区5栋")
    assert "您已登记，信息没有变化" in again
    # Free text from a resident is not a question for the study corpus, nor "please bind".
    pointer = await say(client, peer, ZHANG, "楼道灯又坏了")
    assert "点单 楼道灯又坏了" in pointer and "绑定" not in pointer
    assert "回复 帮助" in await say(client, peer, LI, "你好")
    assert "请回复您的姓名和手机号" in await say(client, peer, CHEN, f"报到 {code}")
    await say(client, peer, CHEN, "取消")
    assert await Resident.all().count() == 1
    assert (await Resident.get()).place == "幸福小区5栋"
    # 点单 before registering says how to register.
    assert "居民登记 姓名 手机号 社区 住址" in await say(
        client, peer, STRANGER, "点单 门口下水道堵了"
    )
    assert await Need.all().count() == 0


async def test_a_street_member_reports_where_they_live_and_changes_later(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer, _, world = await loop_app(aiohttp_client, make_settings)
    asked = await say(client, peer, MEMBER, "报到")
    assert "报到 社区名 特长" in asked
    reported = await say(client, peer, MEMBER, "报到 青山社区 法律咨询")
    assert "已提交报到：王芳（本街道党员）报到到青山社区" in reported
    volunteer = await Volunteer.get(member_id=world["member"].id)
    assert (volunteer.name, volunteer.phone, volunteer.unit_id) == ("王芳", "13700000004", None)
    assert "法律咨询、助老" in await say(client, peer, MEMBER, "修改特长 法律咨询、助老")
    moved = await say(client, peer, MEMBER, "更换社区 红星村")
    assert "已申请更换到红星村" in moved
    assert (await Volunteer.get(id=volunteer.id)).community_id == world["hongxing"].id
    assert f"【{volunteer.id}】王芳（本街道党员）" in await say(client, peer, SECRETARY, "报到审核")
    # 取消 leaves a half-asked 报到.
    assert "请回复您居住的社区" in await say(
        client, peer, CHEN, f"报到 {world['unit'].code} 陈五 13900000007"
    )
    assert "已取消" in await say(client, peer, CHEN, "取消")
    assert await Volunteer.filter(phone="13900000007").count() == 0


async def test_help_shows_each_in_the_loop_their_own(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer, _, world = await loop_app(aiohttp_client, make_settings)
    await resident_posts(client, peer)
    await confirmed_volunteer(client, peer, world["unit"].code)
    stranger, resident, volunteer, secretary, member = [
        await say(client, peer, who, "帮助") for who in (STRANGER, ZHANG, LI, SECRETARY, MEMBER)
    ]
    assert (
        "居民登记 张三" in stranger and "报到 K7M4Q9" in stranger and "点单 楼道灯" not in stranger
    )
    assert "点单 楼道灯坏了" in resident and "评价 8 5" in resident and "我的点单" in resident
    assert "服务 " not in resident and "需求" not in resident and "绑定党员身份后" not in resident
    assert "接单 8" in volunteer and "完成 8" in volunteer and "居民登记" not in volunteer
    assert "点单 楼道灯" not in volunteer and "需求" not in volunteer
    # A leader's menu is full: one line points to the community's own.
    assert "· 社区 —— 居民点单、党员报到" in secretary and "接单 8" not in secretary
    community = await say(client, peer, SECRETARY, "社区")
    for usage in ("需求", "下单 3 明天上午9点 维修", "报到审核", "确认报到 4", "服务单 8", "发布 "):
        assert usage in community, usage
    assert "只有社区党组织书记" in await say(client, peer, MEMBER, "社区")
    assert "报到 红星村 水电维修" in member and "社区 ——" not in member and "居民登记" not in member
    for menu in (stranger, resident, volunteer, member, community):
        assert len(menu.encode()) <= 2048, len(menu.encode())
    assert await Community.all().count() == 2 and await ReportUnit.all().count() == 1


async def test_members_who_may_claim_but_cannot_be_reached_are_not_called_none(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer, _, world = await loop_app(aiohttp_client, make_settings)
    # Registered by the community on paper (no WeChat user): suits the order, hears nothing.
    await Volunteer.create(
        name="赵七",
        phone="13900000008",
        unit=world["unit"],
        community=world["hongxing"],
        skills="水电维修",
        status=VolunteerStatus.CONFIRMED,
        registered_at=NOW,
    )
    need = await resident_posts(client, peer)
    reply = await say(client, peer, SECRETARY, f"下单 {need.id} 明天上午9点 维修 楼道灯维修")
    assert "有 1 名报到党员可以认领，但暂时收不到推送，回复 服务 时能看到" in reply
    assert "还没有可以接这一单" not in reply


async def test_a_wechat_unbound_from_a_street_member_no_longer_serves_as_them(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer, _, world = await loop_app(aiohttp_client, make_settings)
    await say(client, peer, MEMBER, "报到 红星村 水电维修")
    volunteer = await Volunteer.get(member_id=world["member"].id)
    assert (volunteer.appid, volunteer.openid) == (None, None)  # known by the binding alone
    await say(client, peer, SECRETARY, f"确认报到 {volunteer.id} 第一网格")
    need = await resident_posts(client, peer)
    await say(client, peer, SECRETARY, f"下单 {need.id} 明天上午9点 维修")
    order = await ServiceOrder.get(need_id=need.id)
    # The secretary unbinds 王芳's WeChat (a lost phone): it is nobody now.
    await WeChatIdentity.filter(member_id=world["member"].id).delete()
    reply = await say(client, peer, MEMBER, f"接单 {order.id}")
    assert "13800000000" not in reply
    assert not await OrderClaim.filter(order_id=order.id).exists()


async def test_numbers_inside_the_words_stay_words_and_full_width_hours_are_read(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer, clock, world = await loop_app(aiohttp_client, make_settings)
    published = await say(
        client, peer, SECRETARY, "发布 明天上午9点 助老 为8名独居老人理发 清理限高杆周边 2人"
    )
    assert "已下单" in published, published
    order = await ServiceOrder.get()
    assert (order.title, order.capacity, order.unit_id) == (
        "为8名独居老人理发 清理限高杆周边",
        2,
        None,
    )
    volunteer = await confirmed_volunteer(client, peer, world["unit"].code)
    await say(client, peer, LI, f"接单 {order.id}")
    clock.advance(days=1, hours=2)
    slipped = await say(client, peer, LI, f"完成 {order.id} 换好了灯泡 1。5小时")
    assert "1.5小时" in slipped and not await OrderClaim.filter(status=ClaimStatus.DONE).exists()
    done = await say(
        client, peer, LI, f"完成 {order.id} 理了八个人的发，修好24小时热水器 １．５小时"
    )
    assert "1.5小时" in done, done
    claim = await OrderClaim.get(order_id=order.id, volunteer_id=volunteer.id)
    assert (claim.hours, claim.note) == (Decimal("1.5"), "理了八个人的发，修好24小时热水器")


async def test_the_secretary_names_a_member_to_help_and_that_member_cannot_name_others(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer, _, world = await loop_app(aiohttp_client, make_settings)
    # 王芳 (a plain member) may not run the community, nor name herself.
    assert "只有社区党组织书记" in await say(client, peer, MEMBER, "需求")
    refused = await say(client, peer, MEMBER, "指定社区工作人员 13700000004")
    assert "只有社区党组织书记" in refused
    assert not await CommunityStaff.exists()
    named = await say(client, peer, SECRETARY, "指定社区工作人员 13700000004")
    assert "已指定王芳为红星村的社区工作人员" in named
    again = await say(client, peer, SECRETARY, "指定社区工作人员 13700000004")
    assert "已经是红星村的社区工作人员" in again and await CommunityStaff.all().count() == 1
    unknown = await say(client, peer, SECRETARY, "指定社区工作人员 13799999999")
    assert "没有找到这个手机号的在册党员" in unknown
    # Named, she reviews and dispatches as the secretary does, but names nobody.
    need = await resident_posts(client, peer)
    assert f"【{need.id}】" in await say(client, peer, MEMBER, "需求")
    await say(client, peer, MEMBER, f"下单 {need.id} 明天上午9点 维修 楼道灯维修")
    assert (await ServiceOrder.get(need_id=need.id)).created_by_id == world["member"].id
    assert "只有社区党组织书记" in await say(client, peer, MEMBER, "指定社区工作人员 13700000001")
    assert "红星村的社区工作人员：王芳" in await say(client, peer, SECRETARY, "社区工作人员")
    assert "已取消王芳" in await say(client, peer, SECRETARY, "取消社区工作人员 13700000004")
    assert "只有社区党组织书记" in await say(client, peer, MEMBER, "需求")


async def test_a_member_giving_up_is_news_to_the_resident_and_the_community(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    client, peer, _, world = await loop_app(aiohttp_client, make_settings)
    for who in (SECRETARY, ZHANG, LI):
        fake.interact(who)
    await confirmed_volunteer(client, peer, world["unit"].code)
    order = await dispatched(client, peer, await resident_posts(client, peer))
    await say(client, peer, LI, f"接单 {order.id}")
    await say(client, peer, LI, f"放弃 {order.id}")
    assert any("李四因故不能前来，社区会另行安排" in t for t in texts_to(fake, ZHANG))
    assert any(f"【放弃接单】服务单 {order.id}" in t for t in texts_to(fake, SECRETARY))
    # Cancelled afterwards: the resident hears it was cancelled, not that it was refused.
    await say(client, peer, SECRETARY, f"撤销服务 {order.id} 居民已自行解决")
    (heard,) = [t for t in texts_to(fake, ZHANG) if "撤销" in t]
    assert "对应的服务单已撤销，原因：居民已自行解决" in heard and "不受理" not in heard
    assert "服务单已撤销" in await say(client, peer, ZHANG, "我的点单")


async def test_nobody_confirms_their_own_work_and_the_silent_are_named(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer, clock, world = await loop_app(aiohttp_client, make_settings)
    await say(client, peer, SECRETARY, "指定社区工作人员 13700000004")  # 王芳 helps run it
    await say(client, peer, MEMBER, "报到 红星村 水电维修")
    wang = await Volunteer.get(member_id=world["member"].id)
    await say(client, peer, SECRETARY, f"确认报到 {wang.id} 第一网格")
    await confirmed_volunteer(client, peer, world["unit"].code)
    await say(client, peer, SECRETARY, "发布 明天上午9点 环境 清理楼道杂物 2人 2小时")
    order = await ServiceOrder.get()
    await say(client, peer, MEMBER, f"接单 {order.id}")
    await say(client, peer, LI, f"接单 {order.id}")
    clock.advance(days=1, hours=2)
    await say(client, peer, MEMBER, f"完成 {order.id} 清理了三层楼道 2小时")
    own = await say(client, peer, MEMBER, f"确认完成 {order.id}")
    assert "您也参加了这个服务，请由社区其他负责人确认完成" in own
    assert (await ServiceOrder.get()).status == OrderStatus.OPEN
    closed = await say(client, peer, SECRETARY, f"确认完成 {order.id}")
    assert "李四未报告完成，不计入这次服务" in closed


async def test_residents_rate_with_the_number_they_were_given_and_in_their_own_words(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer, clock, world = await loop_app(aiohttp_client, make_settings)
    await confirmed_volunteer(client, peer, world["unit"].code)
    need = await resident_posts(client, peer)
    order = await dispatched(client, peer, need)
    assert "目前没有待评价的服务" in await say(client, peer, ZHANG, "评价")
    await say(client, peer, LI, f"接单 {order.id}")
    clock.advance(days=1, hours=2)
    await say(client, peer, LI, f"完成 {order.id} 已换好楼道灯")
    await say(client, peer, SECRETARY, f"确认完成 {order.id}")
    bare = await say(client, peer, ZHANG, "评价 挺好的谢谢")
    assert f"服务单 {order.id}（需求 {need.id}）" in bare and f"例如：评价 {order.id} 5" in bare
    # The need's number, and words instead of a score.
    thanked = await say(client, peer, ZHANG, f"评价 {need.id} 非常满意 来得很及时")
    assert f"服务单 {order.id}：5分（非常满意）" in thanked
    rated = await ServiceOrder.get(id=order.id)
    assert (rated.rating, rated.rating_note) == (5, "非常满意 来得很及时")


async def test_the_community_s_words_without_their_number_still_get_an_answer(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer, _, _ = await loop_app(aiohttp_client, make_settings)
    need = await resident_posts(client, peer)
    one = await say(client, peer, SECRETARY, f"需求 {need.id}")
    assert f"需求 {need.id}（待受理）" in one and "张三 13800000000，幸福小区3栋" in one
    assert f"下单 {need.id} 时间" in one
    assert "目前没有进行中的服务单" in await say(client, peer, SECRETARY, "服务单")
    order = await dispatched(client, peer, need)
    listed = await say(client, peer, SECRETARY, "服务单")
    assert f"【{order.id}】维修·楼道灯维修" in listed and "已接0/1人" in listed
    assert "请在“确认完成”后面写上编号" in await say(client, peer, SECRETARY, "确认完成")
    # Not the community's: a resident asking about 需求 learns nothing of others'.
    assert "张三" not in await say(client, peer, NEIGHBOUR, f"需求 {need.id}")


async def test_reporting_one_step_at_a_time(aiohttp_client: Any, make_settings: Any) -> None:
    client, peer, _, world = await loop_app(aiohttp_client, make_settings)
    code = world["unit"].code
    asked = await say(client, peer, LI, f"报到 {code.lower()}")
    assert "报到单位：区税务局" in asked and "姓名和手机号" in asked
    assert "请回复您的手机号" in await say(client, peer, LI, "李四")
    assert "手机号应为" in await say(client, peer, LI, "0851-1234567")
    assert "请回复您居住的社区" in await say(client, peer, LI, "13900000000")
    assert "社区：红星村" in await say(client, peer, LI, "红星村")
    done = await say(client, peer, LI, "水电维修")
    assert "已提交报到：李四（区税务局）报到到红星村" in done
    volunteer = await Volunteer.get(phone="13900000000")
    assert (volunteer.name, volunteer.skills) == ("李四", "水电维修")


async def test_evaluating_in_words_from_a_member_is_a_question_not_a_rating(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer, _, _ = await loop_app(aiohttp_client, make_settings)
    reply = await say(client, peer, MEMBER, "评价一下焦裕禄精神")
    assert "居民登记" not in reply  # not taken for a resident's 评价
    assert "居民登记" not in await say(client, peer, SECRETARY, "评价一下这次组织生活会")


async def test_a_number_that_is_both_a_need_and_another_order_is_asked_not_guessed(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer, clock, world = await loop_app(aiohttp_client, make_settings)
    await confirmed_volunteer(client, peer, world["unit"].code)
    first = await resident_posts(client, peer)
    await say(client, peer, ZHANG, "点单 门口垃圾没人清理，已经三天了")
    second = await Need.filter(resident__openid=ZHANG).order_by("-id").first()
    assert second is not None and second.id != first.id
    # The second need is dispatched first: order 1 is need 2's, order 2 is need 1's.
    late = await dispatched(client, peer, second)
    early = await dispatched(client, peer, first)
    for order in (late, early):
        await say(client, peer, LI, f"接单 {order.id}")
    clock.advance(days=1, hours=2)
    for order in (late, early):
        await say(client, peer, LI, f"完成 {order.id} 已处理")
        await say(client, peer, SECRETARY, f"确认完成 {order.id}")
    asked = await say(client, peer, ZHANG, f"评价 {first.id} 很不满意")
    assert f"请用服务单编号评价，例如：评价 {early.id} 5" in asked, asked
    assert await ServiceOrder.filter(rating__not_isnull=True).count() == 0
