"""What a resident reads in the mini-program (居民点单), as models and the one way each is shaped.

A resident reads their own record and needs, and of the members who serve them their names
only, never a phone: not in `served_by`, not in the timeline's notes (phone-shaped numbers in
what a member wrote are taken out, as in the public 晒单).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import Field

from server.api import replies
from server.api.community_replies import CommunityRef, EventRow, community_ref
from server.api.spec import Call, iso
from server.models.community import (
    NEED_STATUS_LABELS,
    ORDER_STATUS_LABELS,
    ClaimStatus,
    Community,
    Need,
    NeedStatus,
    OrderClaim,
    OrderStatus,
    Resident,
    ServiceEvent,
    ServiceOrder,
)
from server.models.people import own_phone
from server.services.community import orders
from server.services.community.public import scrub


class ResidentRecord(replies.Out):
    id: int
    name: str
    phone: str = Field(description="本人看到的是完整号码的首尾")
    community: CommunityRef
    place: str = Field(description="所在小区或楼栋")
    created_at: replies.Time


class MyResident(replies.Out):
    resident: ResidentRecord | None = Field(description="还没有登记时为 null")


class MyNeedOrder(replies.Out):
    """The service order the community made of the need: who serves, never their phones."""

    id: int = Field(description="服务单编号（评价时用）")
    kind: str
    title: str
    starts_at: replies.Time
    ends_at: replies.Time
    status: Literal["open", "completed", "cancelled"]
    status_label: str
    completed_at: replies.Time | None
    served_by: list[str] = Field(description="接单党员的姓名（不含电话）")
    rating: int | None = Field(description="本人的评分（1–5）")
    rating_note: str
    can_rate: bool = Field(description="现在可以评价（社区确认完成后 7 天内、尚未评价）")
    rate_until: replies.Time | None = Field(description="评价截止时间；未完成或已评价时为 null")


class MyNeed(replies.Out):
    id: int
    community: CommunityRef
    text: str
    has_photo: bool = Field(description="小程序暂不能附照片；在公众号点单后可以发照片")
    status: Literal["new", "dispatched", "refused"]
    status_label: str
    reason: str = Field(description="不予受理的原因")
    created_at: replies.Time
    decided_at: replies.Time | None
    order: MyNeedOrder | None = Field(description="社区已下单时的服务单")


class MyNeedDetail(MyNeed):
    timeline: list[EventRow] = Field(description="需求和服务单的每一步，早的在前")


def resident_json(call: Call[Any], resident: Resident, community: Community) -> dict[str, Any]:
    return {
        "id": resident.id,
        "name": resident.name,
        "phone": own_phone(resident.phone),
        "community": community_ref(community),
        "place": resident.place,
        "created_at": iso(resident.created_at, call.zone),
    }


def _rate_until(order: ServiceOrder) -> datetime | None:
    if order.status != OrderStatus.COMPLETED or order.rating is not None:
        return None
    if order.completed_at is None:
        return None
    return order.completed_at + timedelta(days=orders.RATING_DAYS)


def _order_json(call: Call[Any], order: ServiceOrder, names: list[str]) -> dict[str, Any]:
    return {
        "id": order.id,
        "kind": order.kind,
        "title": order.title,
        "starts_at": iso(order.starts_at, call.zone),
        "ends_at": iso(order.ends_at, call.zone),
        "status": OrderStatus(order.status).value,
        "status_label": ORDER_STATUS_LABELS[OrderStatus(order.status)],
        "completed_at": iso(order.completed_at, call.zone),
        "served_by": names,
        "rating": order.rating,
        "rating_note": order.rating_note,
        "can_rate": orders.rating_open(order, call.deps.clock.now()),
        "rate_until": iso(_rate_until(order), call.zone),
    }


async def my_needs_json(call: Call[Any], needs: list[Need]) -> list[dict[str, Any]]:
    """The resident's needs, each with its order and the names of those who hold it."""
    by_need = {o.need_id: o for o in await ServiceOrder.filter(need_id__in=[n.id for n in needs])}
    held = (
        await OrderClaim.filter(order_id__in=[o.id for o in by_need.values()])
        .exclude(status=ClaimStatus.WITHDRAWN)
        .prefetch_related("volunteer")
        .order_by("volunteer_id")
    )
    names: dict[int, list[str]] = {}
    for claim in held:
        names.setdefault(claim.order_id, []).append(claim.volunteer.name)
    communities = {
        c.id: c for c in await Community.filter(id__in=list({n.community_id for n in needs}))
    }
    items = []
    for need in needs:
        order = by_need.get(need.id)
        items.append(
            {
                "id": need.id,
                "community": community_ref(communities[need.community_id]),
                "text": need.text,
                "has_photo": bool(need.media_id),
                "status": NeedStatus(need.status).value,
                "status_label": NEED_STATUS_LABELS[NeedStatus(need.status)],
                "reason": need.reason,
                "created_at": iso(need.created_at, call.zone),
                "decided_at": iso(need.decided_at, call.zone),
                "order": None
                if order is None
                else _order_json(call, order, names.get(order.id, [])),
            }
        )
    return items


def resident_event_json(call: Call[Any], e: ServiceEvent) -> dict[str, Any]:
    """A step as the resident reads it: a member's phone-shaped numbers are taken out."""
    return {
        "at": iso(e.at, call.zone),
        "actor": e.actor,
        "action": e.action,
        "note": scrub(e.note, None),
    }
