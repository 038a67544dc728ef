"""党员双报到 and the 四单制: the reported member's own orders, and the public 晒单.

A reported member here is a signed-in street member with a `Volunteer` row (they reported in
the 公众号's chat, `报到 报到码 姓名 手机号`).  In-service members of outside units who are
not street members cannot sign in to the API: the mini-program's sign-in binds street
members only, so they claim and report in the chat.

An order of another community, or one restricted to another unit, is answered exactly as one
that does not exist (404).  The 晒单 is public and carries no resident's details
(`services/community/public.py`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from server.api import community_replies as out
from server.api import replies
from server.api.community_replies import claims_json, community_ref, orders_json, registration_json
from server.api.spec import Auth, Call, Input, Routes, iso
from server.errors import NotFound, PermissionDenied
from server.models.community import OrderClaim, ServiceOrder, Volunteer, VolunteerStatus
from server.services.community import notify, orders, public, volunteers
from server.services.community.contact_card import progress

routes = Routes("社区双报到：报到党员")
PUBLIC_TAG = "社区双报到：晒单（公开）"


def _now(call: Call[Any]) -> datetime:
    return call.deps.clock.now()


def _tidings(call: Call[Any]) -> notify.Tidings:
    """Who a step tells is written with it; the sender is woken once it has committed."""
    deps = call.deps
    return notify.Tidings.of(deps.settings, deps.clock.zone, deps.wake_outbox)


# --- 党员接单: the reported member's own ----------------------------------------------------------


@routes.get(
    "/community/volunteer",
    response=out.MyVolunteering,
    summary="我的报到（双报到）和最近的接单",
)
async def my_volunteering(call: Call[Any]) -> dict[str, Any]:
    """在公众号中发送「报到 报到码 姓名 手机号」报到；社区确认后可以接单。
    还没有报到时 registration 为 null。"""
    v = await volunteers.volunteer_of_member(call.member)
    if v is None:
        return {"registration": None, "claims": [], "progress": None}
    await v.fetch_related("community", "unit")
    clock = call.deps.clock
    mine = await progress(v, clock.local_now().year, clock.now(), call.deps.settings)
    return {
        "registration": registration_json(call, v, v.community, v.unit),
        "claims": await claims_json(call, await orders.claims_of(v)),
        "progress": {
            "completed": mine.completed,
            "hours": float(mine.hours),
            "met": mine.met,
            "sentence": mine.sentence(),
        },
    }


async def _volunteer(call: Call[Any]) -> Volunteer:
    v = await volunteers.volunteer_of_member(call.member)
    if v is None:
        raise PermissionDenied(
            "您还没有报到：请在公众号中发送「报到 报到码 姓名 手机号」。", code="NOT_REPORTED"
        )
    return v


async def _claimable(call: Call[Any], v: Volunteer) -> int:
    """Order {id}, if the member may see it at all; 404 alike for none and another's."""
    order_id = call.number("id")
    order = await ServiceOrder.get_or_none(id=order_id)
    if order is None or not orders.may_claim(order, v):
        raise NotFound("没有这个服务单，或不在您可以认领的范围内。", field="id")
    return order_id


async def _my_claim(call: Call[Any], v: Volunteer, order_id: int) -> dict[str, Any]:
    row = await OrderClaim.get(order_id=order_id, volunteer_id=v.id)
    [shaped] = await claims_json(call, [row])
    return shaped


@routes.get(
    "/community/volunteer/orders",
    response=replies.Whole[out.OrderRow],
    summary="我可以认领的服务单（本社区的、未开始、未满员），先开始的在前",
)
async def open_orders(call: Call[Any]) -> dict[str, Any]:
    """报到经社区确认后可用；否则 403（NOT_REPORTED 或 NOT_CONFIRMED）。"""
    rows = await orders.open_orders(await _volunteer(call), _now(call))
    return {"items": await orders_json(call, rows)}


@routes.post(
    "/community/volunteer/orders/{id}/claim",
    response=out.MyClaim,
    summary="接单（先到先得）",
)
async def claim_order(call: Call[Any]) -> dict[str, Any]:
    """名额已满 409（ORDER_FULL）；已开始、办结或撤销 409（ORDER_CLOSED）；
    已经认领 409（ALREADY_CLAIMED）。认领后可看到居民的联系方式。"""
    v = await _volunteer(call)
    if v.status != VolunteerStatus.CONFIRMED:
        raise PermissionDenied("您的报到还在等社区确认，确认后就可以接单了。", code="NOT_CONFIRMED")
    order_id = await _claimable(call, v)
    await orders.claim(v, order_id, _now(call), tidings=_tidings(call))
    return await _my_claim(call, v, order_id)


@routes.post(
    "/community/volunteer/orders/{id}/withdraw",
    response=out.MyClaim,
    summary="放弃已认领的服务单（服务开始前）",
)
async def withdraw_claim(call: Call[Any]) -> dict[str, Any]:
    """服务开始后不能放弃（409，ORDER_STARTED），请直接联系社区。"""
    v = await _volunteer(call)
    order_id = await _claimable(call, v)
    await orders.withdraw(v, order_id, _now(call))
    return await _my_claim(call, v, order_id)


class WorkDone(Input):
    note: str = Field(min_length=1, max_length=300, description="做了什么（会公开晒单）")
    hours: float | None = Field(None, ge=0.5, le=24, description="用了多少小时；默认预计时长")


@routes.post(
    "/community/volunteer/orders/{id}/done",
    response=out.MyClaim,
    summary="报告完成：做了什么、用了多久",
    body=WorkDone,
)
async def report_done(call: Call[Any]) -> dict[str, Any]:
    """服务开始后才能报告（409，ORDER_NOT_STARTED）；社区确认后公开晒单。
    请写做了什么，不要写居民的姓名、电话和门牌。"""
    v = await _volunteer(call)
    order_id = await _claimable(call, v)
    hours = None if call.body.hours is None else orders.hours_from(call.body.hours)
    await orders.report_done(v, order_id, call.body.note, _now(call), hours, tidings=_tidings(call))
    return await _my_claim(call, v, order_id)


# --- 组织晒单: public ----------------------------------------------------------------------------


@routes.get(
    "/community/{id}/showcase",
    response=out.Showcase,
    summary="社区的晒单：报到党员完成的服务（公开，无需登录）",
    auth=Auth.PUBLIC,
    tag=PUBLIC_TAG,
)
async def showcase(call: Call[Any]) -> dict[str, Any]:
    """不含居民的姓名、电话和住址：只有时间、类别、服务内容、党员报告的完成情况、
    服务的党员（姓名和单位）、时长和评分。网页版：`/community/{id}/showcase`。"""
    community = await public.public_community(call.number("id"))
    shown = await public.public_showcase(community)
    total = public.summary(shown)
    return {
        "community": community_ref(community),
        "summary": {
            "orders": total.orders,
            "hours": float(total.hours),
            "members": total.members,
            "rated": total.rated,
            "average_rating": total.average_rating,
        },
        "items": [
            {
                "order_id": s.order_id,
                "completed_at": iso(s.completed_at, call.zone),
                "kind": s.kind,
                "title": s.title,
                "done": s.done,
                "by": s.by,
                "hours": float(s.hours),
                "rating": s.rating,
            }
            for s in shown
        ],
    }
