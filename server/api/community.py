"""党员双报到 and the 四单制: the community's desk in the mini-program.

A manager is a signed-in member who runs at least one community (`roles.managed_by`: its
Party organisation's 书记, and the committee's staff within their scope); everyone else is
refused with 403 before anything is read.  A need, an order or a volunteer of a community the
manager does not run is refused as `Hidden`, exactly as an id that does not exist, so an id
tells a stranger nothing.  The reported member's side and the public 晒单 are in
`volunteering.py`; the answers' shapes in `community_replies.py`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field
from tortoise.functions import Count, Sum
from tortoise.queryset import QuerySet

from server.api import community_replies as out
from server.api import replies
from server.api.community_replies import (
    community_ref,
    managed_posts_json,
    need_json,
    order_detail_json,
    orders_json,
    volunteer_json,
)
from server.api.leaders import hidden_if_refused
from server.api.spec import Call, Day, Id, Input, PageQuery, Routes, iso
from server.errors import PermissionDenied, ValidationFailed
from server.models.community import (
    ClaimStatus,
    Community,
    Need,
    NeedStatus,
    OrderClaim,
    OrderStatus,
    PostStatus,
    ReportUnit,
    ServiceOrder,
    StandingPost,
    UnitCommunity,
    Volunteer,
    VolunteerStatus,
)
from server.models.people import Organisation
from server.services.community import needs, orders, posts, roles, units, volunteers
from server.services.people.access import Hidden

routes = Routes("社区双报到：管理")
FURTHEST = timedelta(days=366)  # how far ahead an order may be set

# --- who may call --------------------------------------------------------------------------


async def _managed(call: Call[Any]) -> list[Community]:
    """The communities the caller runs; 403 for everyone who runs none."""
    mine = await roles.managed_by(call.member)
    if not mine:
        raise PermissionDenied("只有社区党组织书记和党工委工作人员可以管理双报到。")
    return mine


def _one_of(mine: list[Community], community_id: int | None) -> Community:
    """The community named (Hidden if not the caller's), or the only one they run."""
    if community_id is not None:
        for community in mine:
            if community.id == community_id:
                return community
        raise Hidden()
    if len(mine) > 1:
        raise ValidationFailed(
            "您负责多个社区，请写明是哪个社区（community_id）。", field="community_id"
        )
    return mine[0]


def _chosen(mine: list[Community], community_id: int | None) -> list[Community]:
    """A list's communities: the one named (Hidden if not the caller's), or all they run."""
    return mine if community_id is None else [_one_of(mine, community_id)]


async def _count_by(query: QuerySet[Any]) -> dict[int, int]:
    """Rows of `query` by community."""
    rows = (
        await query.annotate(n=Count("id"))
        .group_by("community_id")
        .values_list("community_id", "n")
    )
    return {int(community_id): int(n) for community_id, n in rows}


# --- communities and 报到单位 -----------------------------------------------------------------


@routes.get(
    "/community/communities",
    response=replies.Whole[out.CommunityRow],
    summary="本人负责的社区，及报到、点单、服务单的概况",
)
async def my_communities(call: Call[Any]) -> dict[str, Any]:
    """社区党组织的书记（总支书记、支部书记、副书记）和党工委工作人员（在其范围内）可用；
    其他党员返回 403。"""
    mine = await _managed(call)
    ids = [c.id for c in mine]
    orgs = {o.id: o for o in await Organisation.filter(id__in=[c.organisation_id for c in mine])}
    units_of = await _count_by(UnitCommunity.filter(community_id__in=ids))
    confirmed = await _count_by(
        Volunteer.filter(community_id__in=ids, status=VolunteerStatus.CONFIRMED)
    )
    pending = await _count_by(
        Volunteer.filter(community_id__in=ids, status=VolunteerStatus.PENDING)
    )
    new_needs = await _count_by(Need.filter(community_id__in=ids, status=NeedStatus.NEW))
    open_ = await _count_by(ServiceOrder.filter(community_id__in=ids, status=OrderStatus.OPEN))
    items = [
        {
            **community_ref(c),
            "organisation": {"id": c.organisation_id, "name": orgs[c.organisation_id].name},
            "units": units_of.get(c.id, 0),
            "volunteers": confirmed.get(c.id, 0),
            "pending_volunteers": pending.get(c.id, 0),
            "new_needs": new_needs.get(c.id, 0),
            "open_orders": open_.get(c.id, 0),
        }
        for c in mine
    ]
    return {"items": items}


class NewReportUnit(Input):
    name: str = Field(min_length=1, max_length=100, description="单位党组织名称")
    kind: str = Field("", max_length=30, description="单位类别：" + "、".join(units.UNIT_KINDS))
    contact_name: str = Field("", max_length=50, description="联系人")
    contact_phone: str = Field("", max_length=20, description="联系人手机号")
    community_ids: list[Id] = Field(
        min_length=1, max_length=50, description="结对社区（须是本人负责的）"
    )


@routes.post(
    "/community/units",
    response=out.ReportUnitRow,
    summary="登记报到单位，生成报到码",
    body=NewReportUnit,
)
async def register_unit(call: Call[Any]) -> dict[str, Any]:
    """单位名称不能重复（409，field 为 name）。报到码六位，不含易混的 0/O、1/I/L，
    印在单位的报到通知上，党员在公众号发送「报到 报到码 姓名 手机号」报到。"""
    mine = await _managed(call)
    body: NewReportUnit = call.body
    paired = [_one_of(mine, cid) for cid in dict.fromkeys(body.community_ids)]
    unit = await units.register_unit(
        body.name,
        kind=body.kind,
        contact_name=body.contact_name,
        contact_phone=body.contact_phone,
        communities=paired,
    )
    [row] = await _units_json(call, [unit], paired)
    return row


class UnitsQuery(Input):
    community_id: Id | None = Field(None, description="只看这个社区的；默认本人负责的全部")


@routes.get(
    "/community/units",
    response=replies.Whole[out.ReportUnitRow],
    summary="结对的报到单位、报到码及报到、服务情况",
    query=UnitsQuery,
)
async def list_units(call: Call[Any]) -> dict[str, Any]:
    chosen = _chosen(await _managed(call), call.query.community_id)
    ids = await UnitCommunity.filter(community_id__in=[c.id for c in chosen]).values_list(
        "unit_id", flat=True
    )
    rows = await ReportUnit.filter(id__in=list(set(ids))).order_by("name", "id")
    return {"items": await _units_json(call, rows, chosen)}


async def _units_json(
    call: Call[Any], rows: list[ReportUnit], mine: list[Community]
) -> list[dict[str, Any]]:
    """Each unit with its communities and figures, counting only `mine`."""
    by_id = {c.id: c for c in mine}
    unit_ids = [u.id for u in rows]
    pairs = await UnitCommunity.filter(unit_id__in=unit_ids, community_id__in=list(by_id))
    people = (
        await Volunteer.filter(unit_id__in=unit_ids, community_id__in=list(by_id))
        .annotate(n=Count("id"))
        .group_by("unit_id", "status")
        .values_list("unit_id", "status", "n")
    )
    done = (
        await OrderClaim.filter(
            volunteer__unit_id__in=unit_ids,
            order__community_id__in=list(by_id),
            # Completed as counts.py counts it: reported done and confirmed by the community.
            order__status=OrderStatus.COMPLETED,
            status=ClaimStatus.DONE,
        )
        .annotate(n=Count("id"), h=Sum("hours"))
        .group_by("volunteer__unit_id")
        .values_list("volunteer__unit_id", "n", "h")
    )
    counted: dict[tuple[int, str], int] = {(u, str(s)): n for u, s, n in people}
    served = {u: (n, Decimal(str(h or 0))) for u, n, h in done}
    items = []
    for u in rows:
        communities = sorted(
            (by_id[p.community_id] for p in pairs if p.unit_id == u.id), key=lambda c: c.name
        )
        claims, hours = served.get(u.id, (0, Decimal(0)))
        items.append(
            {
                "id": u.id,
                "name": u.name,
                "kind": u.kind,
                "contact_name": u.contact_name,
                "contact_phone": u.contact_phone,
                "code": u.code,
                "communities": [community_ref(c) for c in communities],
                "volunteers": counted.get((u.id, VolunteerStatus.CONFIRMED.value), 0),
                "pending_volunteers": counted.get((u.id, VolunteerStatus.PENDING.value), 0),
                "claims_done": claims,
                "hours": float(hours),
                "created_at": iso(u.created_at, call.zone),
            }
        )
    return items


# --- 报到党员, as the community sees them ------------------------------------------------------


class VolunteersQuery(PageQuery):
    community_id: Id | None = Field(None, description="只看这个社区的；默认本人负责的全部")
    status: Literal["pending", "confirmed", "refused"] = Field(
        "pending", description="pending 待确认（默认），confirmed 已报到，refused 未通过"
    )


@routes.get(
    "/community/volunteers",
    response=replies.Page[out.VolunteerRow],
    summary="报到党员：待确认的申请（先报的在前），或已报到、未通过的",
    query=VolunteersQuery,
)
async def list_volunteers(call: Call[Any]) -> dict[str, Any]:
    q: VolunteersQuery = call.query
    chosen = {c.id: c for c in _chosen(await _managed(call), q.community_id)}
    query = Volunteer.filter(community_id__in=list(chosen), status=VolunteerStatus(q.status))
    total = await query.count()
    rows = (
        await query.order_by("registered_at", "id")
        .offset((q.page - 1) * q.per_page)
        .limit(q.per_page)
        .prefetch_related("unit")
    )
    return {
        "items": [volunteer_json(call, v, chosen[v.community_id], v.unit) for v in rows],
        "page": q.page,
        "per_page": q.per_page,
        "total": total,
    }


class ConfirmVolunteer(Input):
    grid: str = Field("", max_length=50, description="安排到的网格（可空）")


class CommunityReason(Input):
    reason: str = Field(min_length=1, max_length=200, description="原因（会告知本人）")


async def _decided(call: Call[Any], volunteer_id: int) -> dict[str, Any]:
    v = await Volunteer.get(id=volunteer_id).prefetch_related("unit", "community")
    return volunteer_json(call, v, v.community, v.unit)


@routes.post(
    "/community/volunteers/{id}/confirm",
    response=out.VolunteerRow,
    summary="确认报到（可同时安排网格）",
    body=ConfirmVolunteer,
)
async def confirm_volunteer(call: Call[Any]) -> dict[str, Any]:
    """只能确认待确认的申请；已处理过的返回 409（VOLUNTEER_DECIDED）。确认后即可接单。"""
    await _managed(call)
    with hidden_if_refused():
        v = await volunteers.decide(
            call.member,
            call.number("id"),
            out.now(call),
            confirm=True,
            grid=call.body.grid,
            tidings=out.tidings(call),
        )
    return await _decided(call, v.id)


@routes.post(
    "/community/volunteers/{id}/refuse",
    response=out.VolunteerRow,
    summary="退回报到申请（须写原因）",
    body=CommunityReason,
)
async def refuse_volunteer(call: Call[Any]) -> dict[str, Any]:
    """本人可以改正后再次报到。已处理过的返回 409（VOLUNTEER_DECIDED）。"""
    await _managed(call)
    with hidden_if_refused():
        v = await volunteers.decide(
            call.member,
            call.number("id"),
            out.now(call),
            confirm=False,
            reason=call.body.reason,
            tidings=out.tidings(call),
        )
    return await _decided(call, v.id)


# --- 居民点单 ---------------------------------------------------------------------------------


class NeedsQuery(PageQuery):
    community_id: Id | None = Field(None, description="只看这个社区的；默认本人负责的全部")
    status: Literal["new", "dispatched", "refused", "all"] = Field(
        "new",
        description="new 待受理（默认，先点的在前），dispatched 已下单，refused 不予受理，all 全部",
    )


@routes.get(
    "/community/needs",
    response=replies.Page[out.NeedRow],
    summary="居民点单：待受理的（先点的在前），或已处理的（新的在前）",
    query=NeedsQuery,
)
async def list_needs(call: Call[Any]) -> dict[str, Any]:
    """居民的姓名、电话和住址只给社区看，方便联系和上门；不会出现在晒单中。"""
    q: NeedsQuery = call.query
    chosen = {c.id: c for c in _chosen(await _managed(call), q.community_id)}
    query = Need.filter(community_id__in=list(chosen))
    if q.status != "all":
        query = query.filter(status=NeedStatus(q.status))
    ordering = ("created_at", "id") if q.status == "new" else ("-created_at", "-id")
    total = await query.count()
    rows = (
        await query.order_by(*ordering)
        .offset((q.page - 1) * q.per_page)
        .limit(q.per_page)
        .prefetch_related("resident")
    )
    dispatched = dict(
        await ServiceOrder.filter(need_id__in=[n.id for n in rows]).values_list("need_id", "id")
    )
    return {
        "items": [need_json(call, n, chosen[n.community_id], dispatched.get(n.id)) for n in rows],
        "page": q.page,
        "per_page": q.per_page,
        "total": total,
    }


@routes.post(
    "/community/needs/{id}/refuse",
    response=out.NeedRow,
    summary="不予受理（须写原因，会告知居民）",
    body=CommunityReason,
)
async def refuse_need(call: Call[Any]) -> dict[str, Any]:
    """已下单或已不予受理的返回 409（NEED_DECIDED）。"""
    await _managed(call)
    with hidden_if_refused():
        need = await needs.refuse(
            call.member,
            call.number("id"),
            call.body.reason,
            out.now(call),
            tidings=out.tidings(call),
        )
    community = await Community.get(id=need.community_id)
    return need_json(call, need, community, None)


# --- 社区下单 and the community's orders --------------------------------------------------------


class DispatchOrder(Input):
    kind: str = Field(
        min_length=1, max_length=20, description="服务类别：" + "、".join(orders.KINDS)
    )
    title: str = Field(min_length=1, max_length=200, description="服务内容（公开晒单时显示）")
    place: str = Field("", max_length=100, description="地点（只给报到党员看）")
    starts_at: datetime = Field(
        description="开始时间（ISO 8601，如 2026-12-07T09:00:00+08:00）；不带时区时按 DANGJIAN_TZ"
    )
    hours: float = Field(1.0, ge=0.5, le=24, description="预计时长（小时），0.5–24，默认 1")
    capacity: int = Field(
        1, ge=1, le=orders.MOST_PLACES, description=f"需要的人数，1–{orders.MOST_PLACES}"
    )
    unit_id: Id | None = Field(
        None, description="只限这个报到单位的党员认领（须与社区结对）；默认不限"
    )


class NewCommunityOrder(DispatchOrder):
    community_id: Id | None = Field(None, description="发布的社区；只负责一个社区时可省略")


async def _spec(call: Call[Any], body: DispatchOrder, community_id: int) -> orders.OrderSpec:
    now = call.deps.clock.now()
    starts_at = body.starts_at
    if starts_at.tzinfo is None:
        starts_at = starts_at.replace(tzinfo=call.deps.settings.zone)
    if starts_at - now > FURTHEST:  # and 9999-12-31 would overflow the end's arithmetic
        raise ValidationFailed("只能安排一年以内的服务。", field="starts_at")
    unit = None
    if body.unit_id is not None:
        unit = await ReportUnit.get_or_none(id=body.unit_id)
        if unit is None or not await UnitCommunity.exists(
            unit_id=unit.id, community_id=community_id
        ):
            raise ValidationFailed("这个报到单位没有与该社区结对。", field="unit_id")
    return orders.OrderSpec(
        kind=body.kind,
        title=body.title,
        place=body.place,
        starts_at=starts_at,
        hours=orders.hours_from(body.hours),
        capacity=body.capacity,
        unit=unit,
    )


@routes.post(
    "/community/needs/{id}/dispatch",
    response=out.OrderDetail,
    summary="把居民点单派为服务单（社区下单）",
    body=DispatchOrder,
)
async def dispatch_need(call: Call[Any]) -> dict[str, Any]:
    """一条需求只能下单一次；已下单或已不予受理的返回 409（NEED_DECIDED）。
    服务内容由社区撰写（晒单时公开），不要写居民的姓名、电话和门牌。"""
    await _managed(call)
    with hidden_if_refused():
        need = await needs.need_for_manager(call.member, call.number("id"))
    spec = await _spec(call, call.body, need.community_id)
    order = await orders.dispatch(
        call.member, spec, out.now(call), need_id=need.id, tidings=out.tidings(call)
    )
    return await order_detail_json(call, order.id)


@routes.post(
    "/community/orders",
    response=out.OrderDetail,
    summary="社区发布服务单（先锋岗、微心愿等，不来自居民点单）",
    body=NewCommunityOrder,
)
async def publish_order(call: Call[Any]) -> dict[str, Any]:
    """负责多个社区时须写明 community_id。"""
    community = _one_of(await _managed(call), call.body.community_id)
    spec = await _spec(call, call.body, community.id)
    order = await orders.dispatch(
        call.member, spec, out.now(call), community_id=community.id, tidings=out.tidings(call)
    )
    return await order_detail_json(call, order.id)


class OrdersQuery(PageQuery):
    community_id: Id | None = Field(None, description="只看这个社区的；默认本人负责的全部")
    status: Literal["open", "completed", "cancelled", "all"] = Field(
        "all", description="open 进行中，completed 已完成，cancelled 已撤销，all 全部（默认）"
    )


@routes.get(
    "/community/orders",
    response=replies.Page[out.OrderRow],
    summary="社区的服务单，新的在前",
    query=OrdersQuery,
)
async def list_orders(call: Call[Any]) -> dict[str, Any]:
    q: OrdersQuery = call.query
    chosen = _chosen(await _managed(call), q.community_id)
    query = ServiceOrder.filter(community_id__in=[c.id for c in chosen])
    if q.status != "all":
        query = query.filter(status=OrderStatus(q.status))
    total = await query.count()
    rows = (
        await query.order_by("-created_at", "-id")
        .offset((q.page - 1) * q.per_page)
        .limit(q.per_page)
    )
    return {
        "items": await orders_json(call, rows),
        "page": q.page,
        "per_page": q.per_page,
        "total": total,
    }


async def _managed_order(call: Call[Any]) -> ServiceOrder:
    await _managed(call)
    with hidden_if_refused():
        return await orders.order_for_manager(call.member, call.number("id"))


@routes.get(
    "/community/orders/{id}",
    response=out.OrderDetail,
    summary="一个服务单：接单的党员、居民联系方式和全过程",
)
async def order_detail(call: Call[Any]) -> dict[str, Any]:
    order = await _managed_order(call)
    return await order_detail_json(call, order.id)


@routes.post(
    "/community/orders/{id}/complete",
    response=out.OrderDetail,
    summary="确认完成（有党员报告完成后），之后居民可以评价",
)
async def complete_order(call: Call[Any]) -> dict[str, Any]:
    """没有党员报告完成时返回 409（NOTHING_DONE）；已办结或已撤销的返回 409（ORDER_CLOSED）。
    确认后的服务单出现在公开的晒单中。"""
    order = await _managed_order(call)
    with hidden_if_refused():
        await orders.confirm_done(call.member, order.id, out.now(call), tidings=out.tidings(call))
    return await order_detail_json(call, order.id)


@routes.post(
    "/community/orders/{id}/cancel",
    response=out.OrderDetail,
    summary="撤销服务单（须写原因）",
    body=CommunityReason,
)
async def cancel_order(call: Call[Any]) -> dict[str, Any]:
    """已办结或已撤销的返回 409（ORDER_CLOSED）。"""
    order = await _managed_order(call)
    with hidden_if_refused():
        await orders.cancel(
            call.member, order.id, call.body.reason, out.now(call), tidings=out.tidings(call)
        )
    return await order_detail_json(call, order.id)


# --- standing posts (先锋岗, 楼栋长) -------------------------------------------------------------


class NewPost(Input):
    community_id: Id | None = Field(None, description="发布的社区；只负责一个社区时可省略")
    kind: str = Field(
        min_length=1,
        max_length=posts.LONGEST_KIND,
        description="岗位类别，一个词：" + "、".join(posts.KINDS) + "等",
    )
    title: str = Field(min_length=1, max_length=100, description="岗位名称，如：3栋楼栋长")
    duty: str = Field("", max_length=300, description="岗位职责")
    places: int = Field(1, ge=1, le=posts.MOST_PLACES, description=f"名额，1–{posts.MOST_PLACES}")
    ends_on: Day | None = Field(None, description="截止日期（含）；不写为长期，直到社区关闭")


class PostsQuery(Input):
    community_id: Id | None = Field(None, description="只看这个社区的；默认本人负责的全部")
    status: Literal["open", "closed", "all"] = Field(
        "open", description="open 开放中（默认），closed 已关闭，all 全部"
    )


@routes.get(
    "/community/posts",
    response=replies.Whole[out.ManagedPost],
    summary="社区的长期岗位（先锋岗、楼栋长）及在岗党员，新的在前",
    query=PostsQuery,
)
async def list_posts(call: Call[Any]) -> dict[str, Any]:
    """岗位不是服务单，不计入服务统计。"""
    q: PostsQuery = call.query
    chosen = _chosen(await _managed(call), q.community_id)
    query = StandingPost.filter(community_id__in=[c.id for c in chosen])
    if q.status != "all":
        query = query.filter(status=PostStatus(q.status))
    rows = await query.order_by("-created_at", "-id").limit(200)
    return {"items": await managed_posts_json(call, rows)}


@routes.post(
    "/community/posts",
    response=out.ManagedPost,
    summary="发布长期岗位（先锋岗、楼栋长等），报到党员认岗",
    body=NewPost,
)
async def publish_post(call: Call[Any]) -> dict[str, Any]:
    """负责多个社区时须写明 community_id。从今天开始；截止日期不能早于今天。"""
    body: NewPost = call.body
    community = _one_of(await _managed(call), body.community_id)
    spec = posts.PostSpec(
        kind=body.kind,
        title=body.title,
        starts_on=call.deps.clock.today(),
        places=body.places,
        duty=body.duty,
        ends_on=body.ends_on,
    )
    post = await posts.publish(call.member, spec, out.now(call), community_id=community.id)
    [shaped] = await managed_posts_json(call, [post])
    return shaped


@routes.post(
    "/community/posts/{id}/close",
    response=out.ManagedPost,
    summary="关闭岗位：不再认岗，在岗的党员离岗并收到通知",
)
async def close_post(call: Call[Any]) -> dict[str, Any]:
    """已关闭的返回 409（POST_CLOSED）。"""
    await _managed(call)
    with hidden_if_refused():
        post = await posts.close(
            call.member, call.number("id"), out.now(call), tidings=out.tidings(call)
        )
    [shaped] = await managed_posts_json(call, [post])
    return shaped
