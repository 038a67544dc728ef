"""Organising staff and secretaries: the participation tallies, their exports, compliance."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal
from urllib.parse import quote

from aiohttp import web
from pydantic import Field

from server.api.spec import Call, Id, Input, Routes
from server.services.access import organisation_in_scope, require_dashboard
from server.services.report import TallyReport, tally_report
from server.services.tally_export import filename, to_csv, to_xlsx
from server.typedefs import CLOCK, SETTINGS

routes = Routes("统计")

Breakdown = Literal["child", "branch", "day", "week", "month"]
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class TallyQuery(Input):
    org: Id | None = Field(None, description="组织 id；默认为本人可见范围的最上级")
    start: date | None = Field(
        None, alias="from", description="开始日期 YYYY-MM-DD；默认今年 1 月 1 日"
    )
    end: date | None = Field(None, alias="to", description="结束日期 YYYY-MM-DD（含）；默认今天")
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
    today = call.app[CLOCK].today()
    end = query.end or today
    start = query.start or date(end.year, 1, 1)
    return await tally_report(
        org, start, end, by=query.by, today=today, zone=call.app[SETTINGS].zone
    )


@routes.get("/tallies", summary="参与统计：学习人次、交流体会人次、会议与出勤", query=TallyQuery)
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
    report = await report_for(call, call.query)
    fmt = call.query.format
    data = to_xlsx(report) if fmt == "xlsx" else to_csv(report)
    name = filename(report, fmt)
    readable = f"{report.org_name}参与统计{report.start:%Y%m%d}-{report.end:%Y%m%d}.{fmt}"
    return web.Response(
        body=data,
        content_type=_XLSX if fmt == "xlsx" else "text/csv",
        charset=None if fmt == "xlsx" else "utf-8",
        headers={
            "Content-Disposition": (
                f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(readable)}"
            )
        },
    )
