"""Telling the people of the 双报到 loop what happened: best-effort customer-service messages.

Residents, and members reporting from units outside the street, are no `Member`: they have no
WeChat binding, and are reached by the appid and openid they registered from.  A street member
is reached through their bindings (`messenger.tell`).  Like every customer-service message,
these reach only those who wrote to the account within 48 hours; nothing depends on them: a
resident sees the progress in 我的点单, a member in 我的报到 and 服务, the community in 需求 and
报到审核.  The same words whichever door the step came through (chat or the API).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from server.channels import Channel
from server.clock import when_text
from server.errors import WeChatAPIError
from server.models.community import (
    Community,
    Need,
    ReportUnit,
    Resident,
    ServiceOrder,
    Volunteer,
    VolunteerStatus,
)
from server.models.people import BRANCH_LEADERS, Member, MemberStatus, mask_openid
from server.services.community import orders
from server.services.delivery.messenger import Clients, tell
from server.settings import Settings

log = logging.getLogger("dangjian.messaging")


@dataclass(frozen=True)
class Reach:
    """The clients to send through, and which channel each of our appids is."""

    clients: Clients
    channels: Mapping[str, Channel]

    @classmethod
    def of(cls, clients: Clients, settings: Settings) -> Reach:
        # In development both are one appid: the official account is where people chat.
        return cls(
            clients,
            {settings.mp_appid: Channel.MINIPROGRAM, settings.appid: Channel.OFFICIAL_ACCOUNT},
        )


@dataclass(frozen=True)
class Told:
    """Who heard of it now, and who could not be reached (outside the 48-hour window)."""

    told: list[str]
    waiting: list[str]


async def send(channel: Channel, openid: str, text: str, clients: Clients) -> bool:
    client = clients.get(channel)
    if client is None:
        return False
    try:
        await client.send_custom_text(openid, text)
    except WeChatAPIError as exc:
        log.info("could not tell %s: %s", mask_openid(openid), exc.errcode)
        return False
    return True


async def to_user(reach: Reach, appid: str | None, openid: str | None, text: str) -> bool:
    channel = reach.channels.get(appid or "")
    if channel is None or not openid:
        return False
    return await send(channel, openid, text, reach.clients)


async def to_resident(reach: Reach, resident: Resident, text: str) -> bool:
    return await to_user(reach, resident.appid, resident.openid, text)


async def to_volunteer(reach: Reach, volunteer: Volunteer, text: str) -> bool:
    """The WeChat user who reported; a street member through their bindings otherwise."""
    if await to_user(reach, volunteer.appid, volunteer.openid, text):
        return True
    return volunteer.member_id is not None and await tell(volunteer.member_id, text, reach.clients)


async def managers_of(community: Community) -> list[Member]:
    """Who is told of the community's business: its own organisation's secretaries (staff and
    admins, who run every community, look when they choose: 需求, 报到审核)."""
    return await Member.filter(
        organisation_id=community.organisation_id,
        role__in=list(BRANCH_LEADERS),
        status=MemberStatus.ACTIVE,
    ).order_by("id")


async def to_managers(reach: Reach, community: Community, text: str) -> Told:
    told = Told([], [])
    for manager in await managers_of(community):
        ok = await tell(manager.id, text, reach.clients)
        (told.told if ok else told.waiting).append(manager.name)
    return told


async def to_volunteers(reach: Reach, volunteers: list[Volunteer], text: str) -> Told:
    told = Told([], [])
    for volunteer in volunteers:
        ok = await to_volunteer(reach, volunteer, text)
        (told.told if ok else told.waiting).append(volunteer.name)
    return told


def _short(text: str, most: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= most else text[: most - 1] + "…"


def order_line(order: ServiceOrder, zone: ZoneInfo) -> str:
    """服务单 7：维修·楼道灯维修，11月26日（周四）09:00，幸福小区3栋"""
    place = f"，{order.place}" if order.place else ""
    return (
        f"服务单 {order.id}：{order.kind}·{_short(order.title, 30)}，"
        f"{when_text(order.starts_at, zone)}{place}"
    )


# The community's side.


async def need_posted(reach: Reach, need: Need, resident: Resident, zone: ZoneInfo) -> Told:
    community = await Community.get(id=need.community_id)
    photo = "（附照片）" if need.media_id else ""
    text = (
        f"【居民点单】需求 {need.id}，{community.name}，{resident.name}（{resident.place}）"
        f"{when_text(need.created_at, zone)}：{_short(need.text, 120)}{photo}\n"
        f"下单请回复：下单 {need.id} 时间 类别，例如 下单 {need.id} 明天上午9点 维修\n"
        f"不受理请回复：不受理 {need.id} 原因"
    )
    return await to_managers(reach, community, text)


async def volunteer_registered(reach: Reach, volunteer: Volunteer) -> Told:
    community = await Community.get(id=volunteer.community_id)
    unit = await ReportUnit.get(id=volunteer.unit_id) if volunteer.unit_id else None
    skills = f"，特长：{volunteer.skills}" if volunteer.skills else ""
    text = (
        f"【党员报到】{volunteer.name}（{unit.name if unit else '本街道党员'}）"
        f"报到到{community.name}{skills}。\n"
        f"确认请回复：确认报到 {volunteer.id} 网格名\n"
        f"退回请回复：退回报到 {volunteer.id} 原因"
    )
    return await to_managers(reach, community, text)


async def work_reported(reach: Reach, order: ServiceOrder, volunteer: Volunteer, note: str) -> Told:
    community = await Community.get(id=order.community_id)
    text = (
        f"【服务完成】服务单 {order.id}（{order.kind}·{_short(order.title, 30)}）："
        f"{volunteer.name}报告已完成，{_short(note, 100)}\n"
        f"核实后请回复：确认完成 {order.id}"
    )
    return await to_managers(reach, community, text)


# The members' side.


async def order_dispatched(reach: Reach, order: ServiceOrder, zone: ZoneInfo) -> Told:
    """Members the order suits (`orders.who_to_tell`), each invited to claim it."""
    places = f"需{order.capacity}人" if order.capacity > 1 else "需1人"
    text = (
        f"【新服务】{order_line(order, zone)}，{places}，约{order.expected_hours}小时。\n"
        f"认领请回复：接单 {order.id}（先到先得）"
    )
    return await to_volunteers(reach, await orders.who_to_tell(order), text)


async def order_cancelled(reach: Reach, order: ServiceOrder, reason: str, zone: ZoneInfo) -> Told:
    text = f"您认领的{order_line(order, zone)} 已由社区撤销，原因：{reason}。不用再前往了，谢谢您！"
    return await to_volunteers(reach, await orders.claimers(order), text)


async def volunteer_decided(reach: Reach, volunteer: Volunteer) -> bool:
    community = await Community.get(id=volunteer.community_id)
    if volunteer.status == VolunteerStatus.CONFIRMED:
        grid = f"，编入{volunteer.grid}" if volunteer.grid else ""
        text = (
            f"您在{community.name}的报到已确认{grid}。欢迎您！\n"
            "回复 服务 查看可以认领的服务，回复 我的报到 查看报到信息。"
        )
    else:
        text = (
            f"您在{community.name}的报到未通过，原因：{volunteer.reason}\n"
            "如有疑问请联系社区；信息有误可以重新发送 报到。"
        )
    return await to_volunteer(reach, volunteer, text)


# The resident's side: never a member's phone, only their names.


async def need_refused(reach: Reach, need: Need, resident: Resident) -> bool:
    text = (
        f"您的需求（编号 {need.id}：{_short(need.text, 30)}）社区暂不受理，原因：{need.reason}\n"
        "如有疑问请联系社区。"
    )
    return await to_resident(reach, resident, text)


async def need_dispatched(reach: Reach, order: ServiceOrder, zone: ZoneInfo) -> bool:
    resident = await orders.resident_of(order)
    if resident is None:
        return False
    text = (
        f"您的需求（编号 {order.need_id}）社区已受理，派为{order_line(order, zone)}。"
        "有党员接单后会告诉您。"
    )
    return await to_resident(reach, resident, text)


async def order_claimed(
    reach: Reach, order: ServiceOrder, volunteer: Volunteer, zone: ZoneInfo
) -> bool:
    resident = await orders.resident_of(order)
    if resident is None:
        return False
    text = (
        f"您的需求（编号 {order.need_id}）已有党员{volunteer.name}接单，"
        f"将于{when_text(order.starts_at, zone)}前来服务。"
    )
    return await to_resident(reach, resident, text)


async def order_completed(reach: Reach, order: ServiceOrder) -> bool:
    resident = await orders.resident_of(order)
    if resident is None:
        return False
    names = "、".join(v.name for v in await orders.claimers(order))
    text = (
        f"您的需求（编号 {order.need_id}）已服务完成（服务单 {order.id}，服务党员：{names}）。\n"
        f"欢迎评价，回复：评价 {order.id} 1到5分 意见，例如 评价 {order.id} 5 很满意"
        f"（{orders.RATING_DAYS}天内有效）"
    )
    return await to_resident(reach, resident, text)
