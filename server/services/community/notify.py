"""Telling the people of the 双报到 loop what happened: the words, and who hears them.

Each function here writes its messages to the outbox (`outbox.enqueue`) inside the step's own
transaction — the service passes its connection — and sends nothing: the sender does, within
seconds (the caller wakes it once the step has committed), outside the quiet hours.  A step that
commits has its messages, a rolled-back one has none, and a retry writes no second copy (each
message has a key: what it tells, and to whom).

Residents, and members reporting from units outside the street, are no `Member`: they are
reached by the appid and openid they registered from; a street member by their binding (the
official account first, where members chat).  Like every customer-service message, these reach
only those who wrote to the account within 48 hours — past them, a 公众号 user gets the
official account's template message (WECHAT_TEMPLATE_SERVICE) with each message's `Gist`: a
title of five characters at most, the moment it is about, a short note.  Nothing depends on
them: a resident sees the progress in 我的点单, a member in 我的报到 and 服务, the community in
需求 and 报到审核.  The same words whichever door the step came through (chat or the API).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from tortoise.backends.base.client import BaseDBAsyncClient

from server.channels import Channel
from server.clock import when_text
from server.models.community import (
    Community,
    Need,
    ReportUnit,
    Resident,
    ServiceOrder,
    StandingPost,
    Volunteer,
    VolunteerStatus,
)
from server.models.people import BRANCH_LEADERS, Member, MemberStatus, WeChatIdentity
from server.services.community.outbox import (
    Gist,
    Letter,
    QuietHours,
    Reach,
    enqueue,
    quiet_hours,
)
from server.services.community.wording import short
from server.services.delivery.messenger import WakeOutbox, no_wake
from server.settings import Settings

__all__ = ["Reach", "Tidings"]  # Reach: where the sender sends (kept here for its callers)


@dataclass
class Tidings:
    """One request's way of telling: the zone its texts are written in, the quiet hours, the
    sender to wake once the step has committed, and whom each kind of message will reach
    (names, for the reply: "将通知 3 名报到党员")."""

    zone: ZoneInfo
    quiet: QuietHours | None = None
    wake: WakeOutbox = no_wake
    told: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, settings: Settings, zone: ZoneInfo, wake: WakeOutbox = no_wake) -> Tidings:
        return cls(zone, quiet_hours(settings.quiet_window, zone), wake)

    def names(self, kind: str) -> list[str]:
        return self.told.get(kind, [])

    async def post(
        self,
        kind: str,
        to: list[tuple[str, Letter]],
        now: datetime,
        using_db: BaseDBAsyncClient | None,
    ) -> int:
        """`to`: (name, letter) pairs; the number of them in the outbox now."""
        written = await enqueue([letter for _, letter in to], now, self.quiet, using_db=using_db)
        self.told.setdefault(kind, []).extend(name for name, _ in to)
        return written


# --- who --------------------------------------------------------------------------------------


async def _member_address(
    member_id: int, using_db: BaseDBAsyncClient | None
) -> WeChatIdentity | None:
    """A street member's binding: the official account first, where members chat."""
    found = await WeChatIdentity.filter(member_id=member_id).using_db(using_db)
    found.sort(key=lambda i: (i.channel != Channel.OFFICIAL_ACCOUNT, i.id))
    return found[0] if found else None


async def _to_member(
    member: Member,
    key: str,
    kind: str,
    says: tuple[str, Gist],
    using_db: BaseDBAsyncClient | None,
) -> list[tuple[str, Letter]]:
    """`says`: the whole text, and its gist for a template."""
    identity = await _member_address(member.id, using_db)
    if identity is None:
        return []  # never bound: sees it in 需求 / 报到审核
    full = f"{key}:member:{member.id}"
    return [(member.name, Letter(full, kind, identity.appid, identity.openid, *says))]


async def _to_volunteer(
    volunteer: Volunteer,
    key: str,
    kind: str,
    says: tuple[str, Gist],
    using_db: BaseDBAsyncClient | None,
) -> list[tuple[str, Letter]]:
    """A street member through their binding now (never a WeChat user since unbound); a member
    of an outside unit by the WeChat user who reported."""
    full = f"{key}:volunteer:{volunteer.id}"
    if volunteer.member_id is not None:
        identity = await _member_address(volunteer.member_id, using_db)
        if identity is None:
            return []
        return [(volunteer.name, Letter(full, kind, identity.appid, identity.openid, *says))]
    if volunteer.appid and volunteer.openid:
        return [(volunteer.name, Letter(full, kind, volunteer.appid, volunteer.openid, *says))]
    return []


def _to_resident(
    resident: Resident, key: str, kind: str, says: tuple[str, Gist]
) -> list[tuple[str, Letter]]:
    full = f"{key}:resident:{resident.id}"
    return [(resident.name, Letter(full, kind, resident.appid, resident.openid, *says))]


async def managers_of(
    community: Community, using_db: BaseDBAsyncClient | None = None
) -> list[Member]:
    """Who is told of the community's business: its own organisation's secretaries (staff and
    admins, who run every community, look when they choose: 需求, 报到审核)."""
    return (
        await Member.filter(
            organisation_id=community.organisation_id,
            role__in=list(BRANCH_LEADERS),
            status=MemberStatus.ACTIVE,
        )
        .using_db(using_db)
        .order_by("id")
    )


async def _to_managers(
    community: Community,
    key: str,
    kind: str,
    says: tuple[str, Gist],
    using_db: BaseDBAsyncClient | None,
) -> list[tuple[str, Letter]]:
    to: list[tuple[str, Letter]] = []
    for manager in await managers_of(community, using_db):
        to += await _to_member(manager, key, kind, says, using_db)
    return to


def _stamp(moment: datetime | None) -> int:
    """A moment in a key: a step that can happen again (报到 after a refusal) is a new key."""
    return int(moment.timestamp()) if moment is not None else 0


def order_line(order: ServiceOrder, zone: ZoneInfo) -> str:
    """服务单 7：维修·楼道灯维修，11月26日（周四）09:00，幸福小区3栋"""
    place = f"，{order.place}" if order.place else ""
    return (
        f"服务单 {order.id}：{order.kind}·{short(order.title, 30)}，"
        f"{when_text(order.starts_at, zone)}{place}"
    )


# --- the community's side ----------------------------------------------------------------------


async def need_posted(
    t: Tidings, need: Need, resident: Resident, now: datetime, using_db: BaseDBAsyncClient
) -> int:
    community = await Community.get(id=need.community_id, using_db=using_db)
    photo = "（附照片）" if need.media_id else ""
    text = (
        f"【居民点单】需求 {need.id}，{community.name}，{resident.name}（{resident.place}）"
        f"{when_text(need.created_at, t.zone)}：{short(need.text, 120)}{photo}\n"
        f"下单请回复：下单 {need.id} 时间 类别，例如 下单 {need.id} 明天上午9点 维修\n"
        f"不受理请回复：不受理 {need.id} 原因"
    )
    gist = Gist("居民点单", f"需求 {need.id}：{short(need.text, 40)}", need.created_at)
    key = f"need:{need.id}:posted"
    to = await _to_managers(community, key, "need_posted", (text, gist), using_db)
    return await t.post("need_posted", to, now, using_db)


async def volunteer_registered(
    t: Tidings, volunteer: Volunteer, now: datetime, using_db: BaseDBAsyncClient
) -> int:
    community = await Community.get(id=volunteer.community_id, using_db=using_db)
    unit = (
        await ReportUnit.get(id=volunteer.unit_id, using_db=using_db) if volunteer.unit_id else None
    )
    skills = f"，特长：{volunteer.skills}" if volunteer.skills else ""
    text = (
        f"【党员报到】{volunteer.name}（{unit.name if unit else '本街道党员'}）"
        f"报到到{community.name}{skills}。\n"
        f"确认请回复：确认报到 {volunteer.id} 网格名\n"
        f"退回请回复：退回报到 {volunteer.id} 原因"
    )
    # Each application its own key: one after a refusal, or after a move, is told again.
    key = f"volunteer:{volunteer.id}:registered:{_stamp(volunteer.registered_at)}"
    gist = Gist("党员报到", f"{volunteer.name}报到到{community.name}", volunteer.registered_at)
    to = await _to_managers(community, key, "volunteer_registered", (text, gist), using_db)
    return await t.post("volunteer_registered", to, now, using_db)


async def work_reported(
    t: Tidings,
    order: ServiceOrder,
    volunteer: Volunteer,
    note: str,
    now: datetime,
    using_db: BaseDBAsyncClient,
) -> int:
    community = await Community.get(id=order.community_id, using_db=using_db)
    text = (
        f"【服务完成】服务单 {order.id}（{order.kind}·{short(order.title, 30)}）："
        f"{volunteer.name}报告已完成，{short(note, 100)}\n"
        f"核实后请回复：确认完成 {order.id}"
    )
    key = f"order:{order.id}:done:volunteer:{volunteer.id}"
    gist = Gist("服务完成", f"服务单 {order.id}：{volunteer.name}报告已完成，请核实")
    to = await _to_managers(community, key, "work_reported", (text, gist), using_db)
    return await t.post("work_reported", to, now, using_db)


def post_text(post: StandingPost) -> str:
    """岗位 3（楼栋长·3栋楼栋长）"""
    return f"岗位 {post.id}（{post.kind}·{short(post.title, 30)}）"


async def post_taken(
    t: Tidings,
    post: StandingPost,
    volunteer: Volunteer,
    now: datetime,
    using_db: BaseDBAsyncClient,
) -> int:
    """认岗: the community's secretaries hear who took a standing post."""
    return await _post_holder_changed(
        t, post, volunteer, now, using_db, kind="post_taken", step="taken",
        title="党员认岗", did="认领了", after="",
    )  # fmt: skip


async def post_left(
    t: Tidings,
    post: StandingPost,
    volunteer: Volunteer,
    now: datetime,
    using_db: BaseDBAsyncClient,
) -> int:
    """退岗: the community's secretaries hear a place is free again."""
    return await _post_holder_changed(
        t, post, volunteer, now, using_db, kind="post_left", step="left",
        title="党员退岗", did="退出了", after="，名额已空出",
    )  # fmt: skip


async def _post_holder_changed(
    t: Tidings,
    post: StandingPost,
    volunteer: Volunteer,
    now: datetime,
    using_db: BaseDBAsyncClient,
    *,
    kind: str,
    step: str,
    title: str,
    did: str,
    after: str,
) -> int:
    community = await Community.get(id=post.community_id, using_db=using_db)
    text = (
        f"【{title}】{volunteer.name}{did}{community.name}的{post_text(post)}{after}。\n"
        "回复 岗位 查看各岗位的在岗党员。"
    )
    # Left and taken again is news again: the moment is in the key.
    key = f"post:{post.id}:{step}:{volunteer.id}:{_stamp(now)}"
    gist = Gist(title, f"{volunteer.name}{did}岗位 {post.id}：{post.title}")
    to = await _to_managers(community, key, kind, (text, gist), using_db)
    return await t.post(kind, to, now, using_db)


# --- the members' side -------------------------------------------------------------------------


async def order_dispatched(
    t: Tidings,
    order: ServiceOrder,
    suited: list[Volunteer],
    now: datetime,
    using_db: BaseDBAsyncClient,
) -> int:
    """Members the order suits (`orders.who_to_tell`), each invited to claim it."""
    places = f"需{order.capacity}人" if order.capacity > 1 else "需1人"
    text = (
        f"【新服务】{order_line(order, t.zone)}，{places}，约{order.expected_hours}小时。\n"
        f"认领请回复：接单 {order.id}（先到先得）"
    )
    # The action first: a template's note is cut at 20 characters.
    gist = Gist("新服务", f"回复 接单 {order.id} 认领：{order.title}", order.starts_at)
    to: list[tuple[str, Letter]] = []
    for volunteer in suited:
        key = f"order:{order.id}:dispatched"
        to += await _to_volunteer(volunteer, key, "order_dispatched", (text, gist), using_db)
    return await t.post("order_dispatched", to, now, using_db)


async def order_cancelled(
    t: Tidings,
    order: ServiceOrder,
    claimers: list[Volunteer],
    reason: str,
    now: datetime,
    using_db: BaseDBAsyncClient,
) -> int:
    text = (
        f"您认领的{order_line(order, t.zone)} 已由社区撤销，原因：{reason}。不用再前往了，谢谢您！"
    )
    gist = Gist("服务撤销", f"服务单 {order.id} 已撤销：{reason}", order.starts_at)
    to: list[tuple[str, Letter]] = []
    for volunteer in claimers:
        key = f"order:{order.id}:cancelled"
        to += await _to_volunteer(volunteer, key, "order_cancelled", (text, gist), using_db)
    return await t.post("order_cancelled", to, now, using_db)


async def post_closed(
    t: Tidings,
    post: StandingPost,
    holders: list[Volunteer],
    now: datetime,
    using_db: BaseDBAsyncClient,
) -> int:
    """关闭岗位: those who held it are let go, with thanks."""
    text = f"社区已关闭{post_text(post)}，您的这个岗位到此结束。感谢您的付出！"
    gist = Gist("岗位关闭", f"岗位 {post.id}：{post.title} 已关闭")
    to: list[tuple[str, Letter]] = []
    for volunteer in holders:
        key = f"post:{post.id}:closed"
        to += await _to_volunteer(volunteer, key, "post_closed", (text, gist), using_db)
    return await t.post("post_closed", to, now, using_db)


async def volunteer_decided(
    t: Tidings, volunteer: Volunteer, now: datetime, using_db: BaseDBAsyncClient
) -> int:
    community = await Community.get(id=volunteer.community_id, using_db=using_db)
    if volunteer.status == VolunteerStatus.CONFIRMED:
        grid = f"，编入{volunteer.grid}" if volunteer.grid else ""
        text = (
            f"您在{community.name}的报到已确认{grid}。欢迎您！\n"
            "回复 服务 查看可以认领的服务，回复 我的报到 查看报到信息。"
        )
        gist = Gist("报到确认", f"{community.name}已确认您的报到")
    else:
        text = (
            f"您在{community.name}的报到未通过，原因：{volunteer.reason}\n"
            "如有疑问请联系社区；信息有误可以重新发送 报到。"
        )
        gist = Gist("报到退回", f"未通过：{volunteer.reason}")
    key = f"volunteer:{volunteer.id}:decided:{_stamp(volunteer.registered_at)}"
    to = await _to_volunteer(volunteer, key, "volunteer_decided", (text, gist), using_db)
    return await t.post("volunteer_decided", to, now, using_db)


# --- the resident's side: never a member's phone, only their names -----------------------------


async def need_refused(
    t: Tidings, need: Need, resident: Resident, now: datetime, using_db: BaseDBAsyncClient
) -> int:
    text = (
        f"您的需求（编号 {need.id}：{short(need.text, 30)}）社区暂不受理，原因：{need.reason}\n"
        "如有疑问请联系社区。"
    )
    gist = Gist("点单未受理", f"需求 {need.id}：{need.reason}")
    to = _to_resident(resident, f"need:{need.id}:refused", "need_refused", (text, gist))
    return await t.post("need_refused", to, now, using_db)


async def need_dispatched(
    t: Tidings,
    order: ServiceOrder,
    resident: Resident,
    now: datetime,
    using_db: BaseDBAsyncClient,
) -> int:
    text = (
        f"您的需求（编号 {order.need_id}）社区已受理，派为{order_line(order, t.zone)}。"
        "有党员接单后会告诉您。"
    )
    gist = Gist("点单受理", f"需求 {order.need_id} 已派为服务单 {order.id}", order.starts_at)
    key = f"need:{order.need_id}:dispatched"
    to = _to_resident(resident, key, "need_dispatched", (text, gist))
    return await t.post("need_dispatched", to, now, using_db)


async def order_claimed(
    t: Tidings,
    order: ServiceOrder,
    volunteer: Volunteer,
    resident: Resident,
    now: datetime,
    using_db: BaseDBAsyncClient,
) -> int:
    text = (
        f"您的需求（编号 {order.need_id}）已有党员{volunteer.name}接单，"
        f"将于{when_text(order.starts_at, t.zone)}前来服务。"
    )
    # A claim given up (放弃) and taken again is news again.
    key = f"order:{order.id}:claimed:{volunteer.id}:{_stamp(now)}"
    gist = Gist("党员接单", f"党员{volunteer.name}已接单，将按时服务", order.starts_at)
    to = _to_resident(resident, key, "order_claimed", (text, gist))
    return await t.post("order_claimed", to, now, using_db)


async def order_completed(
    t: Tidings,
    order: ServiceOrder,
    resident: Resident,
    served_by: list[str],
    rating_days: int,
    now: datetime,
    using_db: BaseDBAsyncClient,
) -> int:
    names = "、".join(served_by)
    text = (
        f"您的需求（编号 {order.need_id}）已服务完成（服务单 {order.id}，服务党员：{names}）。\n"
        f"欢迎评价，回复：评价 {order.id} 1到5分 意见，例如 评价 {order.id} 5 很满意"
        f"（{rating_days}天内有效）"
    )
    gist = Gist("服务完成", f"服务单 {order.id} 已完成，欢迎评价")
    key = f"order:{order.id}:completed"
    to = _to_resident(resident, key, "order_completed", (text, gist))
    return await t.post("order_completed", to, now, using_db)


async def order_withdrawn(
    t: Tidings,
    order: ServiceOrder,
    volunteer: Volunteer,
    resident: Resident | None,
    now: datetime,
    using_db: BaseDBAsyncClient,
) -> int:
    """A member gave up a place (放弃): the community may find another; the resident who was
    told of the claim is told it no longer holds."""
    community = await Community.get(id=order.community_id, using_db=using_db)
    stamp = _stamp(now)
    text = (
        f"【放弃接单】服务单 {order.id}（{order.kind}·{short(order.title, 30)}，"
        f"{when_text(order.starts_at, t.zone)}）：{volunteer.name}因故放弃，"
        f"现有{order.taken}/{order.capacity}人，名额已重新开放。"
    )
    key = f"order:{order.id}:withdrawn:{volunteer.id}:{stamp}"
    gist = Gist("放弃接单", f"服务单 {order.id}：{volunteer.name}放弃，名额已重新开放")
    to = await _to_managers(community, key, "order_withdrawn", (text, gist), using_db)
    if resident is not None:
        said = (
            f"您的需求（编号 {order.need_id}）原定接单的党员{volunteer.name}因故不能前来，"
            "社区会另行安排，请耐心等待。"
        )
        to += _to_resident(
            resident,
            key,
            "order_withdrawn",
            (said, Gist("接单变更", f"需求 {order.need_id}：社区会另行安排", order.starts_at)),
        )
    return await t.post("order_withdrawn", to, now, using_db)


async def need_order_cancelled(
    t: Tidings,
    need: Need,
    resident: Resident,
    reason: str,
    now: datetime,
    using_db: BaseDBAsyncClient,
) -> int:
    text = (
        f"您的需求（编号 {need.id}：{short(need.text, 30)}）对应的服务单已撤销，原因：{reason}\n"
        "如仍需要帮助，请重新发送：点单 内容。"
    )
    gist = Gist("服务撤销", f"需求 {need.id}：{short(reason, 14)}")
    to = _to_resident(resident, f"need:{need.id}:cancelled", "need_cancelled", (text, gist))
    return await t.post("need_cancelled", to, now, using_db)
