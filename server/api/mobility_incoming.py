"""流入 in the API: the reports waiting for a branch leader, confirming or refusing them, and a
流入 member's record as a file for the organisation that holds their relationship ("their home
organisation can be sent their record on request").  A report to another branch is refused as
a number that does not exist.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import Field

from server.api import mobility_replies as out
from server.api import replies
from server.api.community_replies import tidings
from server.api.leaders import hidden_if_refused, leader_scope, zone_of
from server.api.mobility import FIRST_YEAR, LAST_YEAR, target_of
from server.api.spec import Call, Input, Routes
from server.downloads import XLSX, attachment
from server.errors import NotFound
from server.models.mobility import MobileMember
from server.models.people import Member, Organisation
from server.services.mobility import incoming, notify
from server.services.mobility.export import incoming_record, incoming_record_workbook
from server.services.tallies.workbook import file_name_part

routes = Routes("流动党员")

# --- 流入 ----------------------------------------------------------------------------------------


@routes.get(
    "/mobility/incoming",
    response=replies.Whole[out.PendingIncoming],
    summary="待确认的流入报到（先报的在前）",
)
async def incoming_pending(call: Call[Any]) -> dict[str, Any]:
    """请与报到人原组织关系所在党组织核实后确认。"""
    leader_scope(call)
    rows = await incoming.pending_for(call.member)
    return {"items": [out.pending_json(call, r, r.branch) for r in rows]}


async def _decided(call: Call[Any], record: MobileMember) -> dict[str, Any]:
    # The reporter hears the decision whichever door the branch used (chat, dashboard, here).
    told = tidings(call)
    await notify.incoming_decided(told, record, call.deps.clock.now())
    told.wake()
    branch = await Organisation.get(id=record.branch_id)
    member = await Member.get_or_none(id=record.member_id) if record.member_id else None
    return {
        "record": out.record_json(call, record, branch, None),
        "member": out.ref(member) if member else None,
        "refuse_reason": record.refuse_reason,
    }


@routes.post(
    "/mobility/incoming/{id}/confirm",
    response=out.IncomingDecided,
    summary="确认流入：成为本支部的流入党员（无表决权、选举权和被选举权）",
)
async def incoming_confirm(call: Call[Any]) -> dict[str, Any]:
    """已处理过的返回 409（DECIDED）；手机号或微信已是本街道党员的返回 409（ALREADY_MEMBER）。"""
    leader_scope(call)
    with hidden_if_refused():
        record = await incoming.decide_in(
            call.member,
            call.number("id"),
            True,
            "",
            call.deps.clock.now(),
            call.deps.identities,
            call.deps.settings.reminder_schedule,
        )
    return await _decided(call, record)


class IncomingRefuseBody(Input):
    reason: str = Field(min_length=1, max_length=200, description="不确认的原因")


@routes.post(
    "/mobility/incoming/{id}/refuse",
    response=out.IncomingDecided,
    summary="不确认流入（须写原因）",
    body=IncomingRefuseBody,
)
async def incoming_refuse(call: Call[Any]) -> dict[str, Any]:
    """已处理过的返回 409（DECIDED）。"""
    leader_scope(call)
    with hidden_if_refused():
        record = await incoming.decide_in(
            call.member, call.number("id"), False, call.body.reason, call.deps.clock.now()
        )
    return await _decided(call, record)


class IncomingRecordQuery(Input):
    year: int | None = Field(None, ge=FIRST_YEAR, le=LAST_YEAR, description="年份，默认今年")


@routes.get(
    "/mobility/members/{id}/record",
    summary="下载流入党员参加组织生活情况（XLSX），供其原组织关系所在党组织了解",
    query=IncomingRecordQuery,
    produces=XLSX,
)
async def incoming_record_file(call: Call[Any]) -> web.Response:
    """一年内参加本支部会议的情况（到会、线上参加、以心得参加、请假、缺席）、学习心得和年度报告。
    只对流入党员；其他党员返回 404。"""
    target = await target_of(call)
    if await incoming_record(target) is None:
        raise NotFound(f"{target.name}不是流入党员。")
    clock = call.deps.clock
    year = call.query.year or clock.today().year
    data = await incoming_record_workbook(target, year, zone_of(call), clock.now())
    return attachment(
        data,
        XLSX,
        f"incoming-{target.id}-{year}.xlsx",
        f"流入党员参加组织生活情况-{file_name_part(target.name)}-{year}.xlsx",
    )
