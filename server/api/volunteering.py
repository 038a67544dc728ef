"""党员双报到 and the 四单制: the reported member's registration and orders, and the public 晒单.

A reported member is anyone signed in to the mini-program with a `Volunteer` row, so these
endpoints take any valid token (`Auth.SESSION`): a street member is found by their binding
(they may have reported in the 公众号's chat, `报到 社区名 特长`), an in-service member of an
outside unit, who never binds, by the mini-program user who registered here with the unit's
报到码 (`standing.volunteer_of`, the same lookup chat uses).  One who reported in the 公众号's
chat as an outside member is another WeChat user here and is not linked: their phone is
refused with a word to keep using the 公众号.

An order of another community, or one restricted to another unit, is answered exactly as one
that does not exist (404).  The 晒单 is public and carries no resident's details
(`services/community/public.py`).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from server.api import community_replies as out
from server.api import replies
from server.api.community_replies import (
    claims_json,
    community_ref,
    open_posts_json,
    orders_json,
    registration_json,
)
from server.api.spec import Auth, Call, Id, Input, Routes, iso
from server.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from server.models.community import (
    Community,
    OrderClaim,
    ServiceOrder,
    StandingPost,
    Volunteer,
    VolunteerStatus,
)
from server.models.people import MemberStatus
from server.services.community import (
    orders,
    posts,
    public,
    standing,
    units,
    volunteers,
)
from server.services.community.contact_card import progress
from server.services.community.volunteers import Application

routes = Routes("社区双报到：报到党员")
PUBLIC_TAG = "社区双报到：晒单（公开）"


# --- 我的报到: registering once, then changing it -------------------------------------------------

HOW_TO_REPORT = (
    "请先报到：在职党员填写单位的报到码、姓名和手机号，本街道党员绑定后选择居住的社区"
    "（POST /community/volunteer）。"
)


async def _mine(call: Call[Any]) -> Volunteer | None:
    """The caller's 报到: by the mini-program user who registered, else by the bound member."""
    session = call.session
    assert session is not None
    return await standing.volunteer_of(session.appid, session.openid, session.member)


async def _volunteer(call: Call[Any]) -> Volunteer:
    v = await _mine(call)
    if v is None:
        raise PermissionDenied("您还没有报到。" + HOW_TO_REPORT, code="NOT_REPORTED")
    return v


async def _volunteering(call: Call[Any], v: Volunteer | None) -> dict[str, Any]:
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


@routes.get(
    "/community/volunteer",
    response=out.MyVolunteering,
    summary="我的报到（双报到）和最近的接单",
    auth=Auth.SESSION,
)
async def my_volunteering(call: Call[Any]) -> dict[str, Any]:
    """还没有报到时 registration 为 null：报到用 POST /community/volunteer（或在公众号中发送
    「报到 报到码 姓名 手机号」）。社区确认后可以接单。"""
    return await _volunteering(call, await _mine(call))


async def _community(community_id: int) -> Community:
    community = await Community.get_or_none(id=community_id)
    if community is None:
        raise ValidationFailed(
            "没有这个社区，请从社区列表（GET /community/communities/public）中选择。",
            field="community_id",
        )
    return community


class NewVolunteer(Input):
    """An outside unit's member: `code`, `name`, `phone`; a bound street member: neither."""

    code: str | None = Field(
        None, min_length=1, max_length=20, description="所在单位的报到码（在职党员必填）"
    )
    name: str | None = Field(None, min_length=1, max_length=50, description="姓名（与报到码同填）")
    phone: str | None = Field(
        None, min_length=1, max_length=20, description="手机号（与报到码同填），每人只报到一次"
    )
    community_id: Id = Field(description="居住的社区（GET /community/communities/public）")
    skills: str = Field("", max_length=volunteers.SKILLS_LONGEST, description="特长，以、分隔")


async def _application(call: Call[Any], body: NewVolunteer, community: Community) -> Application:
    """Whose 报到 this is: a unit's member by its 报到码, else the bound street member."""
    member = call.session.member if call.session else None
    if body.code is None:
        if body.name is not None or body.phone is not None:
            raise ValidationFailed("填写姓名和手机号时请同时填写报到码。", field="code")
        if member is None or member.status != MemberStatus.ACTIVE:
            raise ValidationFailed(
                "请填写所在单位的报到码（本街道党员请先绑定党员身份）。", field="code"
            )
        if not member.phone:
            raise ValidationFailed("党员名册中没有您的手机号，请联系支部书记补上。", field="phone")
        return Application(member.name, member.phone, None, member, community, body.skills)
    try:
        unit = await units.unit_by_code(body.code)
    except NotFound as exc:
        raise ValidationFailed(exc.user_message, field="code") from None
    if body.name is None:
        raise ValidationFailed("请写上您的姓名。", field="name")
    if body.phone is None:
        raise ValidationFailed("请写上您的手机号。", field="phone")
    name = units.check_name(body.name)
    return Application(name, units.check_phone(body.phone), unit, None, community, body.skills)


async def _refuse_reported(call: Call[Any], phone: str) -> None:
    """Registered once, then changed (PATCH), never entered again; a refused one may apply."""
    assert call.session is not None
    mine = await _mine(call)
    if mine is not None and mine.status != VolunteerStatus.REFUSED:
        raise Conflict(
            "您已经报到过了，每人只报到一次；特长或社区有变化请在「我的报到」中修改。",
            code="VOLUNTEER_EXISTS",
        )
    other = await Volunteer.get_or_none(phone=phone)
    if other is None or other.status == VolunteerStatus.REFUSED:
        return
    if other.appid and other.appid != call.session.appid:
        # The 公众号 is another app: its user is another openid, which nothing here links.
        raise Conflict(
            "这个手机号已经在公众号中报到过了。请继续在公众号中使用：发送「我的报到」查看，"
            "「服务」接单。",
            code="VOLUNTEER_EXISTS",
            field="phone",
        )
    raise Conflict(
        "这个手机号已经报到过了，每人只报到一次。", code="VOLUNTEER_EXISTS", field="phone"
    )


@routes.post(
    "/community/volunteer",
    response=out.MyVolunteering,
    summary="报到（双报到）：在职党员凭报到码，本街道党员选择居住的社区",
    auth=Auth.SESSION,
    body=NewVolunteer,
)
async def report(call: Call[Any]) -> dict[str, Any]:
    """在职党员：{code, name, phone, community_id, skills}；已绑定的本街道党员：
    {community_id, skills}，姓名和手机号取自党员名册。提交后待社区确认，并通知社区书记。
    报到码不对 400（field 为 code）。每人只报到一次：已报到的 409（VOLUNTEER_EXISTS），
    之后用 PATCH 修改；未通过的可以再次提交。在公众号中报到过的手机号 409，请继续在公众号中使用
    （公众号和小程序是两个应用，报到不互通）。"""
    assert call.session is not None
    body: NewVolunteer = call.body
    community = await _community(body.community_id)
    application = await _application(call, body, community)
    await _refuse_reported(call, application.phone)
    v = await volunteers.apply(
        application,
        out.now(call),
        appid=call.session.appid,
        openid=call.session.openid,
        tidings=out.tidings(call),
    )
    return await _volunteering(call, v)


class VolunteerChange(Input):
    skills: str | None = Field(
        None, max_length=volunteers.SKILLS_LONGEST, description="新的特长，以、分隔（空为清空）"
    )
    community_id: Id | None = Field(
        None, description="搬家后居住的社区：须由新社区重新确认，确认前不能接新的服务单"
    )


@routes.patch(
    "/community/volunteer",
    response=out.MyVolunteering,
    summary="修改我的报到：特长，或搬家后的社区（需重新确认）",
    auth=Auth.SESSION,
    body=VolunteerChange,
)
async def change(call: Call[Any]) -> dict[str, Any]:
    """至少写一项。更换社区后待新社区确认，并通知新社区的书记；已完成的服务仍记在原社区。"""
    body: VolunteerChange = call.body
    if body.skills is None and body.community_id is None:
        raise ValidationFailed("请写上要修改的特长（skills）或社区（community_id）。", field="body")
    v = await _volunteer(call)
    community = None if body.community_id is None else await _community(body.community_id)
    skills = None if body.skills is None else volunteers.clean_skills(body.skills)
    if community is not None:
        v = await volunteers.move(v, community, out.now(call), tidings=out.tidings(call))
    if skills is not None:
        v = await volunteers.update_skills(v, skills)
    return await _volunteering(call, v)


# --- 党员接单 ----------------------------------------------------------------------------------


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
    auth=Auth.SESSION,
)
async def open_orders(call: Call[Any]) -> dict[str, Any]:
    """报到经社区确认后可用；否则 403（NOT_REPORTED 或 NOT_CONFIRMED）。"""
    rows = await orders.open_orders(await _volunteer(call), out.now(call))
    return {"items": await orders_json(call, rows)}


@routes.post(
    "/community/volunteer/orders/{id}/claim",
    response=out.MyClaim,
    summary="接单（先到先得）",
    auth=Auth.SESSION,
)
async def claim_order(call: Call[Any]) -> dict[str, Any]:
    """名额已满 409（ORDER_FULL）；已开始、办结或撤销 409（ORDER_CLOSED）；
    已经认领 409（ALREADY_CLAIMED）。认领后可看到居民的联系方式。"""
    v = await _volunteer(call)
    if v.status != VolunteerStatus.CONFIRMED:
        raise PermissionDenied("您的报到还在等社区确认，确认后就可以接单了。", code="NOT_CONFIRMED")
    order_id = await _claimable(call, v)
    await orders.claim(v, order_id, out.now(call), tidings=out.tidings(call))
    return await _my_claim(call, v, order_id)


@routes.post(
    "/community/volunteer/orders/{id}/withdraw",
    response=out.MyClaim,
    summary="放弃已认领的服务单（服务开始前）",
    auth=Auth.SESSION,
)
async def withdraw_claim(call: Call[Any]) -> dict[str, Any]:
    """服务开始后不能放弃（409，ORDER_STARTED），请直接联系社区。"""
    v = await _volunteer(call)
    order_id = await _claimable(call, v)
    await orders.withdraw(v, order_id, out.now(call), tidings=out.tidings(call))
    return await _my_claim(call, v, order_id)


class WorkDone(Input):
    note: str = Field(min_length=1, max_length=300, description="做了什么（会公开晒单）")
    hours: float | None = Field(None, ge=0.5, le=24, description="用了多少小时；默认预计时长")


@routes.post(
    "/community/volunteer/orders/{id}/done",
    response=out.MyClaim,
    summary="报告完成：做了什么、用了多久",
    auth=Auth.SESSION,
    body=WorkDone,
)
async def report_done(call: Call[Any]) -> dict[str, Any]:
    """服务开始后才能报告（409，ORDER_NOT_STARTED）；社区确认后公开晒单。
    请写做了什么，不要写居民的姓名、电话和门牌。"""
    v = await _volunteer(call)
    order_id = await _claimable(call, v)
    hours = None if call.body.hours is None else orders.hours_from(call.body.hours)
    await orders.report_done(
        v, order_id, call.body.note, out.now(call), hours, tidings=out.tidings(call)
    )
    return await _my_claim(call, v, order_id)


# --- standing posts (先锋岗, 楼栋长): 认岗 and 退岗 ---------------------------------------------


async def _posts(call: Call[Any], v: Volunteer, post_id: int) -> dict[str, Any]:
    held = set(await posts.held_ids(v))
    row = await StandingPost.get(id=post_id)
    [shaped] = await open_posts_json(call, [row], held)
    return shaped


@routes.get(
    "/community/volunteer/posts",
    response=replies.Whole[out.OpenPost],
    summary="本社区开放的长期岗位（先锋岗、楼栋长）：还有名额的，和本人在岗的",
    auth=Auth.SESSION,
)
async def open_posts(call: Call[Any]) -> dict[str, Any]:
    """报到经社区确认后可用；否则 403（NOT_REPORTED 或 NOT_CONFIRMED）。"""
    v = await _volunteer(call)
    rows = await posts.open_posts(v, call.deps.clock.today())
    return {"items": await open_posts_json(call, rows, set(await posts.held_ids(v)))}


@routes.post(
    "/community/volunteer/posts/{id}/take",
    response=out.OpenPost,
    summary="认岗（名额先到先得，每个岗位每人一次）",
    auth=Auth.SESSION,
)
async def take_post(call: Call[Any]) -> dict[str, Any]:
    """名额已满 409（POST_FULL）；已关闭或已过截止日期 409（POST_CLOSED）；
    已经在岗 409（ALREADY_HOLDING）。其他社区的岗位与不存在的一样，404。"""
    v = await _volunteer(call)
    post = await posts.take(
        v, call.number("id"), out.now(call), call.deps.clock.today(), tidings=out.tidings(call)
    )
    return await _posts(call, v, post.id)


@routes.post(
    "/community/volunteer/posts/{id}/leave",
    response=out.OpenPost,
    summary="退岗：名额让给其他党员，并告知社区",
    auth=Auth.SESSION,
)
async def leave_post(call: Call[Any]) -> dict[str, Any]:
    """没有在这个岗位上 404。"""
    v = await _volunteer(call)
    post = await posts.leave(v, call.number("id"), out.now(call), tidings=out.tidings(call))
    return await _posts(call, v, post.id)


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
    total = await public.totals(community)
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
