"""Organising staff and secretaries: the participation tallies, their exports, compliance."""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web
from pydantic import Field

from server.api import replies
from server.api.spec import Call, Day, Id, Input, PageQuery, Routes
from server.downloads import CSV, XLSX, attachment
from server.errors import ValidationFailed
from server.models.people import OrgKind
from server.services.meetings.compliance_status import RED, branch_lights
from server.services.people.access import branches_in, organisation_in_scope, require_dashboard
from server.services.tallies import report_file
from server.services.tallies.report import TallyReport, default_period, tally_report, validate

routes = Routes("统计")

Breakdown = Literal["child", "branch", "day", "week", "month"]


class TallyQuery(Input):
    org: Id | None = Field(None, description="组织 id；默认为本人可见范围的最上级")
    start: Day | None = Field(
        None, alias="from", description="开始日期 YYYY-MM-DD；默认今年 1 月 1 日"
    )
    end: Day | None = Field(None, alias="to", description="结束日期 YYYY-MM-DD（含）；默认今天")
    by: Breakdown | None = Field(
        None, description="分组：child 下级组织，branch 各支部，day / week / month 按时间"
    )


class ExportQuery(TallyQuery):
    format: Literal["xlsx", "csv"] = Field("xlsx", description="xlsx 或 csv")


async def report_for(call: Call[Any], query: TallyQuery) -> TallyReport:
    """The report the caller asked for, within their scope (the one place both routes use)."""
    require_dashboard(call.member)
    assert call.scope is not None
    org = await organisation_in_scope(call.scope, query.org)
    clock = call.deps.clock
    today = clock.today()
    start, end = default_period(query.start, query.end, today)
    return await tally_report(
        org, start, end, by=query.by, today=today, zone=call.deps.settings.zone, now=clock.now()
    )


@routes.get(
    "/tallies",
    response=replies.Tallies,
    summary="参与统计：学习人次、交流体会人次、会议与出勤",
    query=TallyQuery,
)
async def tallies(call: Call[Any]) -> dict[str, Any]:
    """支部书记看本支部，总支书记看所辖支部，党工委工作人员看全街道（或所分管的范围）。"""
    return (await report_for(call, call.query)).as_dict()


@routes.get(
    "/tallies/export",
    summary="导出参与统计（XLSX 或 CSV）",
    query=ExportQuery,
    produces="application/octet-stream",
)
async def export(call: Call[Any]) -> web.Response:
    fmt = call.query.format
    body, name, readable = await report_file.export_file(
        await report_for(call, call.query), fmt, call.deps.clock.today()
    )
    return attachment(body, XLSX if fmt == "xlsx" else CSV, name, readable)


class ComplianceQuery(PageQuery):
    org: Id | None = Field(None, description="组织 id：只看其下的支部；默认本人可见的全部支部")
    start: Day | None = Field(
        None, alias="from", description="开始日期 YYYY-MM-DD；默认今年 1 月 1 日"
    )
    end: Day | None = Field(None, alias="to", description="结束日期 YYYY-MM-DD（含）；默认今天")
    state: Literal["red", "due", "amber", "green"] | None = Field(
        None,
        description="只看总体为该状态的支部：red 未开（期已结束而未召开），due 待开，"
        "amber 已安排，green 已开",
    )


@routes.get(
    "/compliance",
    response=replies.Compliance,
    summary="各支部三会一课落实情况（按月、按季度）",
    query=ComplianceQuery,
)
async def compliance(call: Call[Any]) -> dict[str, Any]:
    """每月支委会、每月党小组会（每个党小组）、每季度支部党员大会和党课，按所选期间逐期给出。

    green 已开（期内有已结束的会议），amber 已安排（尚未召开），due 待开（期内尚未安排，
    仍有时间），red 未开（期已结束而未召开）。`columns` 和 `lights` 是所选期间最后一天
    （不晚于今天）所在各期的情况；`periods` 逐月、逐季度列出全部；`overall` 是全期最差的状态。
    """
    require_dashboard(call.member)
    assert call.scope is not None
    query: ComplianceQuery = call.query
    branches = await branches_in(call.scope)
    if query.org is not None:
        org = await organisation_in_scope(call.scope, query.org)
        branches = [b for b in branches if b.path == org.path or b.path.startswith(org.path + "/")]
        if org.kind is OrgKind.GROUP:
            raise ValidationFailed("请选择支部或更上级的组织", field="org")
    clock, settings = call.deps.clock, call.deps.settings
    today = clock.today()
    start, end = default_period(query.start, query.end, today)
    validate(start, end, None)
    lights = await branch_lights(
        branches,
        today,
        settings.zone,
        settings.lecture_every,
        now=clock.now(),
        start=start,
        end=end,
    )
    if query.state is not None:
        lights = [b for b in lights if b.overall == query.state]
    first = (query.page - 1) * query.per_page
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "items": [b.as_dict() for b in lights[first : first + query.per_page]],
        "page": query.page,
        "per_page": query.per_page,
        "total": len(lights),
        "red": sum(1 for b in lights if b.overall == RED),
    }
