"""居民点单 in the mini-program: a resident registers, posts needs, follows them and rates.

Residents are not Party members and never bind: each is the mini-program user who registered,
known by the session's appid and openid (`residents.resident_for`), so every endpoint here
takes any valid token (`Auth.SESSION`).  A resident who registered in the 公众号's chat is
another WeChat user here (another app, another openid) and registers again.

Another resident's need or order is answered exactly as one that does not exist (404).  A
posted need tells the community's secretaries as chat's 点单 does (`notify`, via the outbox).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from server.api import community_replies as shared
from server.api import replies
from server.api import resident_replies as out
from server.api.community_replies import CommunityRef, community_ref
from server.api.spec import Auth, Call, Id, Input, PageQuery, Routes
from server.errors import NotFound, PermissionDenied, ValidationFailed
from server.models.community import Community, Need, Resident, ServiceOrder
from server.services.community import orders, residents, timeline

routes = Routes("社区双报到：居民")
NOT_REGISTERED = "请先登记：姓名、手机号、所在社区和小区（PUT /community/resident）。"


async def _resident(call: Call[Any]) -> Resident:
    assert call.session is not None
    resident = await residents.resident_for(call.session.appid, call.session.openid)
    if resident is None:
        raise PermissionDenied(NOT_REGISTERED, code="NOT_REGISTERED")
    return resident


async def _community(community_id: int) -> Community:
    community = await Community.get_or_none(id=community_id)
    if community is None:
        raise ValidationFailed(
            "没有这个社区，请从社区列表（GET /community/communities/public）中选择。",
            field="community_id",
        )
    return community


@routes.get(
    "/community/communities/public",
    response=replies.Whole[CommunityRef],
    summary="参加双报到的社区（公开，登记和报到时选择）",
    auth=Auth.PUBLIC,
)
async def public_communities(call: Call[Any]) -> dict[str, Any]:
    """只有社区的编号和名称，按名称排列。"""
    return {"items": [community_ref(c) for c in await Community.all().order_by("name", "id")]}


@routes.get(
    "/community/resident",
    response=out.MyResident,
    summary="我的居民登记（还没有登记时为 null）",
    auth=Auth.SESSION,
)
async def my_record(call: Call[Any]) -> dict[str, Any]:
    assert call.session is not None
    resident = await residents.resident_for(call.session.appid, call.session.openid)
    if resident is None:
        return {"resident": None}
    await resident.fetch_related("community")
    return {"resident": out.resident_json(call, resident, resident.community)}


class ResidentDetails(Input):
    name: str = Field(min_length=1, max_length=50, description="姓名")
    phone: str = Field(
        min_length=1, max_length=20, description="手机号（只给接单的党员和社区，方便上门联系）"
    )
    community_id: Id = Field(description="所在社区（GET /community/communities/public）")
    place: str = Field(min_length=1, max_length=100, description="所在小区、楼栋或网格")


@routes.put(
    "/community/resident",
    response=out.ResidentRecord,
    summary="居民登记，或改正登记信息",
    auth=Auth.SESSION,
    body=ResidentDetails,
)
async def register(call: Call[Any]) -> dict[str, Any]:
    """同一个微信用户再次提交即改正原来的登记，已点的需求不变。
    手机号有误 400（field 为 phone），没有这个社区 400（field 为 community_id）。"""
    assert call.session is not None
    body: ResidentDetails = call.body
    community = await _community(body.community_id)
    resident = await residents.register(
        call.session.appid,
        call.session.openid,
        name=body.name,
        phone=body.phone,
        community=community,
        place=body.place,
        now=shared.now(call),
    )
    return out.resident_json(call, resident, community)


class NewNeed(Input):
    text: str = Field(
        min_length=1,
        max_length=residents.NEED_LONGEST,
        description="需要帮助的事，例如：楼道灯坏了，3栋2单元5楼（4–500字）",
    )


@routes.post(
    "/community/needs",
    response=out.MyNeed,
    summary="居民点单：提交需要帮助的事",
    auth=Auth.SESSION,
    body=NewNeed,
)
async def post_need(call: Call[Any]) -> dict[str, Any]:
    """须先登记（否则 403，code 为 NOT_REGISTERED）。提交后通知所在社区的书记。
    小程序暂不能附照片：需要照片的，请在公众号中点单后接着发送照片。"""
    resident = await _resident(call)
    need = await residents.post_need(
        resident, call.body.text, shared.now(call), tidings=shared.tidings(call)
    )
    [shaped] = await out.my_needs_json(call, [need])
    return shaped


@routes.get(
    "/community/my-needs",
    response=replies.Page[out.MyNeed],
    summary="我的点单：进展、接单党员和评价，新的在前",
    auth=Auth.SESSION,
    query=PageQuery,
)
async def my_needs(call: Call[Any]) -> dict[str, Any]:
    """接单党员只显示姓名。社区确认完成后 7 天内可以评价（can_rate、rate_until）。"""
    resident = await _resident(call)
    q: PageQuery = call.query
    query = Need.filter(resident_id=resident.id)
    total = await query.count()
    rows = (
        await query.order_by("-created_at", "-id")
        .offset((q.page - 1) * q.per_page)
        .limit(q.per_page)
    )
    return {
        "items": await out.my_needs_json(call, rows),
        "page": q.page,
        "per_page": q.per_page,
        "total": total,
    }


async def _detail(call: Call[Any], need: Need) -> dict[str, Any]:
    [shaped] = await out.my_needs_json(call, [need])
    order_id = shaped["order"]["id"] if shaped["order"] else None
    events = await timeline.timeline(need.id, order_id)
    return {**shaped, "timeline": [out.resident_event_json(call, e) for e in events]}


@routes.get(
    "/community/my-needs/{id}",
    response=out.MyNeedDetail,
    summary="我的一条点单，及其每一步进展",
    auth=Auth.SESSION,
)
async def my_need(call: Call[Any]) -> dict[str, Any]:
    """别人的需求与不存在的一样，返回 404。"""
    resident = await _resident(call)
    need_id = call.number("id")
    try:
        need = await residents.own_need(resident, need_id)
    except NotFound:
        raise NotFound("没有找到您的这条需求。", field="id") from None
    return await _detail(call, need)


class Rating(Input):
    stars: int = Field(ge=1, le=5, description="评分，1–5，5 分最满意")
    note: str = Field("", max_length=300, description="意见（可空，转达给社区）")


@routes.post(
    "/community/my-orders/{id}/rating",
    response=out.MyNeedDetail,
    summary="评价服务（社区确认完成后 7 天内，一次）",
    auth=Auth.SESSION,
    body=Rating,
)
async def rate(call: Call[Any]) -> dict[str, Any]:
    """{id} 是服务单编号（我的点单中的 order.id）；答复是这条点单的最新情况。
    未完成 409（ORDER_NOT_DONE），已评价 409（ALREADY_RATED），超过 7 天 409（RATING_CLOSED）；
    别人的服务单与不存在的一样，返回 404。"""
    resident = await _resident(call)
    order_id = call.number("id")
    body: Rating = call.body
    try:
        await orders.rate(resident, order_id, body.stars, body.note, shared.now(call))
    except NotFound:
        raise NotFound("没有找到您的这个服务单。", field="id") from None
    order = await ServiceOrder.get(id=order_id)
    assert order.need_id is not None  # rated: the order came from this resident's need
    return await _detail(call, await Need.get(id=order.need_id))
