"""What the 双报到 endpoints answer, as models (the OpenAPI document shows them and the
suite holds every answer to them), and the one way each row is shaped into them.

Whose details each shape carries: a resident's name, phone and place go only to the community
and to members who hold the order (`contact`); a volunteer's phone shows its carrier prefix to
the community and its ends to the volunteer; the public 晒单 carries none of a resident's.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field

from server.api import replies
from server.api.spec import Call, iso
from server.models.community import (
    NEED_STATUS_LABELS,
    ORDER_STATUS_LABELS,
    VOLUNTEER_STATUS_LABELS,
    ClaimStatus,
    Community,
    Need,
    NeedStatus,
    OrderClaim,
    OrderStatus,
    PostHolder,
    PostStatus,
    ReportUnit,
    Resident,
    ServiceEvent,
    ServiceOrder,
    StandingPost,
    Volunteer,
    VolunteerStatus,
)
from server.models.people import mask_phone, own_phone
from server.services.community import notify, orders, posts, timeline, units

# --- what the answers look like ------------------------------------------------------------


class CommunityRef(replies.Out):
    id: int
    name: str


class CommunityRow(CommunityRef):
    organisation: replies.Ref = Field(description="社区党组织")
    units: int = Field(description="结对的报到单位")
    volunteers: int = Field(description="已确认的报到党员")
    pending_volunteers: int = Field(description="待确认的报到申请")
    new_needs: int = Field(description="待受理的居民点单")
    open_orders: int = Field(description="进行中的服务单")


class ReportUnitRow(replies.Out):
    id: int
    name: str
    kind: str = Field(description="单位类别：" + "、".join(units.UNIT_KINDS))
    contact_name: str
    contact_phone: str = Field(description="单位联系人的电话")
    code: str = Field(description="报到码：党员发送「报到 报到码 姓名 手机号」报到")
    communities: list[CommunityRef] = Field(description="结对社区（本人负责的）")
    volunteers: int = Field(description="已确认的报到党员（本人负责的社区）")
    pending_volunteers: int
    claims_done: int = Field(description="报告完成的接单（人次）")
    hours: float = Field(description="报告的服务时长（小时）")
    created_at: replies.Time


class VolunteerRow(replies.Out):
    id: int
    name: str
    phone: str = Field(description="只显示号段")
    unit: replies.Ref | None = Field(description="报到单位；本街道党员为 null")
    street_member: bool = Field(description="本街道的党员（在居住地报到）")
    community: CommunityRef
    grid: str = Field(description="所在网格（确认时填写）")
    skills: str = Field(description="特长，以、分隔")
    status: Literal["pending", "confirmed", "refused"]
    status_label: str
    reason: str = Field(description="未通过的原因")
    registered_at: replies.Time
    decided_at: replies.Time | None


class ResidentContact(replies.Out):
    """Shown to the community, and to members who hold the order."""

    name: str
    phone: str
    place: str = Field(description="所在小区或楼栋")


class NeedRow(replies.Out):
    id: int
    community: CommunityRef
    text: str = Field(description="居民的原话")
    has_photo: bool
    status: Literal["new", "dispatched", "refused"]
    status_label: str
    reason: str = Field(description="不予受理的原因")
    created_at: replies.Time
    decided_at: replies.Time | None
    resident: ResidentContact
    order_id: int | None = Field(description="已下单时的服务单")


class OrderRow(replies.Out):
    id: int
    community: CommunityRef
    need_id: int | None = Field(description="来自居民点单时的需求；社区自己发布的为 null")
    kind: str = Field(description="服务类别：" + "、".join(orders.KINDS))
    title: str
    place: str
    starts_at: replies.Time
    ends_at: replies.Time
    hours: float = Field(description="预计时长（小时）")
    capacity: int = Field(description="需要的人数")
    taken: int = Field(description="已认领的人数")
    unit: replies.Ref | None = Field(description="只限该单位的报到党员认领；null 为不限")
    status: Literal["open", "completed", "cancelled"]
    status_label: str
    created_at: replies.Time
    completed_at: replies.Time | None
    rating: int | None = Field(description="居民的评分（1–5）")
    rating_note: str


class ClaimRow(replies.Out):
    volunteer: replies.Ref
    unit: str = Field(description="报到单位；本街道党员为「本街道」")
    status: Literal["claimed", "withdrawn", "done"]
    claimed_at: replies.Time
    withdrawn_at: replies.Time | None
    done_at: replies.Time | None
    note: str = Field(description="党员报告的完成情况")
    hours: float | None


class EventRow(replies.Out):
    at: replies.Time
    actor: str
    action: str
    note: str


class OrderDetail(OrderRow):
    resident: ResidentContact | None = Field(description="来自居民点单时的居民")
    claims: list[ClaimRow]
    timeline: list[EventRow] = Field(description="需求和服务单的每一步，早的在前")


class MyRegistration(replies.Out):
    id: int
    name: str
    phone: str = Field(description="本人看到的是完整号码的首尾")
    unit: replies.Ref | None
    community: CommunityRef
    grid: str
    skills: str
    status: Literal["pending", "confirmed", "refused"]
    status_label: str
    reason: str
    registered_at: replies.Time
    decided_at: replies.Time | None


class MyClaim(replies.Out):
    order: OrderRow
    status: Literal["claimed", "withdrawn", "done"]
    claimed_at: replies.Time
    done_at: replies.Time | None
    note: str
    hours: float | None
    contact: ResidentContact | None = Field(
        description="需要服务的居民（认领期间可见；社区自己发布的服务单为 null）"
    )


class MyProgress(replies.Out):
    """The member's own year against the yearly expectation: theirs alone, never ranked."""

    completed: int = Field(description="今年完成的服务次数（社区已确认）")
    hours: float = Field(description="今年完成服务的时长合计（小时）")
    met: bool = Field(description="是否已达到年度要求（次数或时长达到其一）")
    sentence: str = Field(description="给本人看的一句话")


class MyVolunteering(replies.Out):
    registration: MyRegistration | None = Field(description="还没有报到时为 null")
    claims: list[MyClaim] = Field(description="最近的接单（不含已放弃的），新的在前")
    progress: MyProgress | None = Field(description="本人今年的服务进度；还没有报到时为 null")


class ShownItem(replies.Out):
    order_id: int
    completed_at: replies.Time
    kind: str
    title: str
    done: list[str] = Field(description="党员报告的完成情况")
    by: list[str] = Field(description="服务的党员：姓名（单位）")
    hours: float
    rating: int | None


class ShownSummary(replies.Out):
    orders: int = Field(description="展示的已完成服务单")
    hours: float
    members: int = Field(description="参与的党员（人）")
    rated: int
    average_rating: float | None


class PostHolderRow(replies.Out):
    volunteer: replies.Ref
    unit: str = Field(description="报到单位；本街道党员为「本街道」")
    since: replies.Time = Field(description="认岗的时间")


class PostRow(replies.Out):
    """A standing post (先锋岗, 楼栋长): not a service order, not counted as one."""

    id: int
    community: CommunityRef
    kind: str = Field(description="岗位类别：" + "、".join(posts.KINDS) + "等")
    title: str
    duty: str = Field(description="岗位职责")
    places: int = Field(description="名额")
    taken: int = Field(description="在岗人数")
    starts_on: replies.Day
    ends_on: replies.Day | None = Field(description="截止日期；null 为长期")
    status: Literal["open", "closed"]
    created_at: replies.Time
    closed_at: replies.Time | None


class ManagedPost(PostRow):
    holders: list[PostHolderRow] = Field(description="在岗的党员，先认的在前")


class OpenPost(PostRow):
    places_left: int = Field(description="还差的人数")
    held: bool = Field(description="本人在岗")


class Showcase(replies.Out):
    community: CommunityRef
    summary: ShownSummary
    items: list[ShownItem] = Field(description="最近完成的服务，新的在前（最多 50 条）")


# --- shaping rows --------------------------------------------------------------------------


def community_ref(community: Community) -> dict[str, Any]:
    return {"id": community.id, "name": community.name}


def hours_of(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def volunteer_json(
    call: Call[Any], v: Volunteer, community: Community, unit: ReportUnit | None
) -> dict[str, Any]:
    return {
        "id": v.id,
        "name": v.name,
        "phone": mask_phone(v.phone),
        "unit": {"id": unit.id, "name": unit.name} if unit else None,
        "street_member": v.member_id is not None,
        "community": community_ref(community),
        "grid": v.grid,
        "skills": v.skills,
        "status": VolunteerStatus(v.status).value,
        "status_label": VOLUNTEER_STATUS_LABELS[VolunteerStatus(v.status)],
        "reason": v.reason,
        "registered_at": iso(v.registered_at, call.zone),
        "decided_at": iso(v.decided_at, call.zone),
    }


def contact(resident: Resident) -> dict[str, Any]:
    return {"name": resident.name, "phone": resident.phone, "place": resident.place}


def need_json(
    call: Call[Any], need: Need, community: Community, order_id: int | None
) -> dict[str, Any]:
    return {
        "id": need.id,
        "community": community_ref(community),
        "text": need.text,
        "has_photo": bool(need.media_id),
        "status": NeedStatus(need.status).value,
        "status_label": NEED_STATUS_LABELS[NeedStatus(need.status)],
        "reason": need.reason,
        "created_at": iso(need.created_at, call.zone),
        "decided_at": iso(need.decided_at, call.zone),
        "resident": contact(need.resident),
        "order_id": order_id,
    }


async def orders_json(call: Call[Any], rows: Iterable[ServiceOrder]) -> list[dict[str, Any]]:
    rows = list(rows)
    communities = {
        c.id: c for c in await Community.filter(id__in=list({o.community_id for o in rows}))
    }
    unit_ids = {o.unit_id for o in rows if o.unit_id is not None}
    named = {u.id: u for u in await ReportUnit.filter(id__in=list(unit_ids))} if unit_ids else {}
    return [order_json(call, o, communities[o.community_id], named) for o in rows]


def order_json(
    call: Call[Any], o: ServiceOrder, community: Community, named: dict[int, ReportUnit]
) -> dict[str, Any]:
    unit = named.get(o.unit_id) if o.unit_id is not None else None
    return {
        "id": o.id,
        "community": community_ref(community),
        "need_id": o.need_id,
        "kind": o.kind,
        "title": o.title,
        "place": o.place,
        "starts_at": iso(o.starts_at, call.zone),
        "ends_at": iso(o.ends_at, call.zone),
        "hours": float(o.expected_hours),
        "capacity": o.capacity,
        "taken": o.taken,
        "unit": {"id": unit.id, "name": unit.name} if unit else None,
        "status": OrderStatus(o.status).value,
        "status_label": ORDER_STATUS_LABELS[OrderStatus(o.status)],
        "created_at": iso(o.created_at, call.zone),
        "completed_at": iso(o.completed_at, call.zone),
        "rating": o.rating,
        "rating_note": o.rating_note,
    }


def event_json(call: Call[Any], e: ServiceEvent) -> dict[str, Any]:
    return {"at": iso(e.at, call.zone), "actor": e.actor, "action": e.action, "note": e.note}


async def order_detail_json(call: Call[Any], order_id: int) -> dict[str, Any]:
    order = await ServiceOrder.get(id=order_id)
    [shaped] = await orders_json(call, [order])
    rows = (
        await OrderClaim.filter(order_id=order.id)
        .prefetch_related("volunteer__unit")
        .order_by("claimed_at", "id")
    )
    resident = await orders.resident_of(order)
    events = await timeline.timeline(order.need_id, order.id)
    return {
        **shaped,
        "resident": contact(resident) if resident else None,
        "claims": [
            {
                "volunteer": {"id": r.volunteer.id, "name": r.volunteer.name},
                "unit": r.volunteer.unit.name if r.volunteer.unit else "本街道",
                "status": ClaimStatus(r.status).value,
                "claimed_at": iso(r.claimed_at, call.zone),
                "withdrawn_at": iso(r.withdrawn_at, call.zone),
                "done_at": iso(r.done_at, call.zone),
                "note": r.note,
                "hours": hours_of(r.hours),
            }
            for r in rows
        ],
        "timeline": [event_json(call, e) for e in events],
    }


def registration_json(
    call: Call[Any], v: Volunteer, community: Community, unit: ReportUnit | None
) -> dict[str, Any]:
    shaped = volunteer_json(call, v, community, unit)
    del shaped["street_member"]
    return {**shaped, "phone": own_phone(v.phone)}


async def claims_json(call: Call[Any], rows: list[OrderClaim]) -> list[dict[str, Any]]:
    held = {r.order_id: r for r in rows}
    by_id = {o.id: o for o in await ServiceOrder.filter(id__in=list(held))}
    shaped = {o["id"]: o for o in await orders_json(call, by_id.values())}
    items = []
    for r in rows:
        order = by_id[r.order_id]
        resident = None
        # The resident's contact while the member holds an order still to serve, not after
        # it was given up or cancelled.
        if r.status != ClaimStatus.WITHDRAWN and order.status != OrderStatus.CANCELLED:
            resident = await orders.resident_of(order)
        items.append(
            {
                "order": shaped[order.id],
                "status": ClaimStatus(r.status).value,
                "claimed_at": iso(r.claimed_at, call.zone),
                "done_at": iso(r.done_at, call.zone),
                "note": r.note,
                "hours": hours_of(r.hours),
                "contact": contact(resident) if resident else None,
            }
        )
    return items


def post_json(call: Call[Any], post: StandingPost, community: Community) -> dict[str, Any]:
    return {
        "id": post.id,
        "community": community_ref(community),
        "kind": post.kind,
        "title": post.title,
        "duty": post.duty,
        "places": post.places,
        "taken": post.taken,
        "starts_on": post.starts_on.isoformat(),
        "ends_on": post.ends_on.isoformat() if post.ends_on else None,
        "status": PostStatus(post.status).value,
        "created_at": iso(post.created_at, call.zone),
        "closed_at": iso(post.closed_at, call.zone),
    }


def holder_json(call: Call[Any], row: PostHolder) -> dict[str, Any]:
    v = row.volunteer
    return {
        "volunteer": {"id": v.id, "name": v.name},
        "unit": v.unit.name if v.unit else "本街道",
        "since": iso(row.since, call.zone),
    }


async def managed_posts_json(call: Call[Any], rows: list[StandingPost]) -> list[dict[str, Any]]:
    communities = {
        c.id: c for c in await Community.filter(id__in=list({p.community_id for p in rows}))
    }
    held = await posts.holder_rows([p.id for p in rows])
    return [
        {
            **post_json(call, p, communities[p.community_id]),
            "holders": [holder_json(call, r) for r in held[p.id]],
        }
        for p in rows
    ]


async def open_posts_json(
    call: Call[Any], rows: list[StandingPost], held: set[int]
) -> list[dict[str, Any]]:
    communities = {
        c.id: c for c in await Community.filter(id__in=list({p.community_id for p in rows}))
    }
    return [
        {
            **post_json(call, p, communities[p.community_id]),
            "places_left": max(0, p.places - p.taken),
            "held": p.id in held,
        }
        for p in rows
    ]


def now(call: Call[Any]) -> datetime:
    return call.deps.clock.now()


def tidings(call: Call[Any]) -> notify.Tidings:
    """Who a step tells is written with it; the sender is woken once it has committed."""
    deps = call.deps
    return notify.Tidings.of(deps.settings, deps.clock.zone, deps.wake_outbox)
