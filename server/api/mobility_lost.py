"""失联 by the rules (《中国共产党党员教育管理工作条例》第二十四条) in the API, and the
流动党员党小组: a branch leader records each dated search, the outcome (contact restored, or the
支部党员大会's decision to stop the 党籍) and the close after 除名; three or more mobile members
in one place become a group under the branch.  Who may: as `mobility.py` says.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from server.api import mobility_replies as out
from server.api.leaders import leader_scope, zone_of
from server.api.mobility import clock_of, fields_named, target_of
from server.api.spec import Call, Id, Input, Routes
from server.errors import ValidationFailed
from server.models.mobility import LostAttempt
from server.models.people import Member, OrgKind
from server.services.mobility import groups, lost
from server.services.mobility.counts import branches_of
from server.services.mobility.words import METHODS
from server.services.people.access import member_in_scope, organisation_in_scope

routes = Routes("流动党员")

# --- 失联 (条例第二十四条) ------------------------------------------------------------------------


class LostSearchBody(Input):
    method: str | None = Field(
        None,
        max_length=10,
        description="查找方式：" + "、".join(METHODS) + "；默认从内容开头读，否则为其他",
    )
    note: str = Field(min_length=1, max_length=300, description="查找经过")


async def _case(call: Call[Any], member: Member) -> dict[str, Any]:
    case = await lost.latest_case(member.id)
    assert case is not None  # a step just recorded it
    attempts = await LostAttempt.filter(case_id=case.id).order_by("day", "id")
    return out.case_detail_json(case, list(attempts))


@routes.post(
    "/mobility/members/{id}/search",
    response=out.LostCaseDetail,
    summary="记一次查找（第一次即开始查找）",
    body=LostSearchBody,
)
async def lost_search(call: Call[Any]) -> dict[str, Any]:
    """每次查找记下日期、方式和经过。已停止党籍或转出的返回 409。"""
    target = await target_of(call)
    body: LostSearchBody = call.body
    today, now, _ = clock_of(call)
    if body.method is not None and body.method not in METHODS:
        raise ValidationFailed(f"查找方式请写：{'、'.join(METHODS)}。", field="method")
    text = f"{body.method} {body.note}" if body.method else body.note
    await lost.search(call.member, target, text, today, now)
    return await _case(call, target)


class LostRestoreBody(Input):
    handling: str = Field(
        min_length=1, max_length=300, description="处理情况，如 已取得联系，进行了批评教育"
    )


@routes.post(
    "/mobility/members/{id}/restore",
    response=out.LostCaseDetail,
    summary="恢复联系：写明如何处理",
    body=LostRestoreBody,
)
async def lost_restore(call: Call[Any]) -> dict[str, Any]:
    """没有正在查找的记录返回 404；停止党籍后恢复联系的，记为办结
    （恢复党籍由上级党委按程序办理）。"""
    target = await target_of(call)
    await lost.restore(
        call.member, target, call.body.handling, call.deps.clock.today(), call.deps.clock.now()
    )
    return await _case(call, target)


class LostStopBody(Input):
    meeting_id: Id = Field(description="讨论决定的支部党员大会（已召开的）会议编号")
    decision: str = Field(min_length=1, max_length=300, description="决定")


@routes.post(
    "/mobility/members/{id}/stop",
    response=out.LostCaseDetail,
    summary="记录支部党员大会停止党籍的决定",
    body=LostStopBody,
)
async def lost_stop(call: Call[Any]) -> dict[str, Any]:
    """须先有查找记录、失去联系满6个月（否则 409），会议须是该党员所在支部已召开的支部党员大会
    （否则 400，field 为 meeting_id）。"""
    target = await target_of(call)
    body: LostStopBody = call.body
    today, now, _ = clock_of(call)
    with fields_named(meeting="meeting_id"):
        await lost.stop(call.member, target, body.meeting_id, body.decision, today, now,
                        zone_of(call), call.deps.identities)  # fmt: skip
    return await _case(call, target)


class LostCloseBody(Input):
    note: str = Field(
        min_length=1, max_length=300, description="办结情况，如 经党委批准按自行脱党除名"
    )


@routes.post(
    "/mobility/members/{id}/close",
    response=out.LostCaseDetail,
    summary="办结停止党籍的失联记录（除名已办理，或已恢复联系）",
    body=LostCloseBody,
)
async def lost_close(call: Call[Any]) -> dict[str, Any]:
    """没有已停止党籍的记录返回 404。"""
    target = await target_of(call)
    await lost.close(call.member, target, call.body.note, call.deps.clock.today())
    return await _case(call, target)


# --- 流动党员党小组 ------------------------------------------------------------------------------


class MobileGroupBody(Input):
    branch_id: Id | None = Field(None, description="管理的党支部；只管一个支部的可省略")
    place: str = Field(min_length=1, max_length=20, description="所在地，如 苏州")
    member_ids: list[Id] = Field(min_length=3, max_length=50, description="本支部的流动党员")


@routes.post(
    "/mobility/groups",
    response=out.MobileGroup,
    summary="成立流动党员党小组（同一地方 3 名以上）",
    body=MobileGroupBody,
)
async def mobile_group(call: Call[Any]) -> dict[str, Any]:
    """成员须是该支部登记在册的流动党员（否则 400，field 为 member_ids）；
    小组名为「流动党员党小组（所在地）」，同名的再次成立即把成员编入同一小组。"""
    body: MobileGroupBody = call.body
    scope = leader_scope(call)
    if body.branch_id is not None:
        branch = await organisation_in_scope(scope, body.branch_id)
        if branch.kind != OrgKind.BRANCH:
            raise ValidationFailed("请选择一个党支部。", field="branch_id")
    else:
        mine = await branches_of(scope)
        if len(mine) != 1:
            raise ValidationFailed(
                f"请选择党支部（branch_id）：您的管辖范围内有 {len(mine)} 个支部。",
                field="branch_id",
            )
        branch = mine[0]
    people = [await member_in_scope(scope, i) for i in dict.fromkeys(body.member_ids)]
    with fields_named(members="member_ids"):
        group = await groups.form_group(call.member, branch, body.place, people)
    return {"group": out.org_ref(group), "members": [out.ref(m) for m in people]}
