"""A member's own 流动党员 record (我的): what the branch recorded — the record, its contacts,
党费 received — and the 年度报告 a 流出 member sends once a year.  Everything here is the
caller's own.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from server.api import mobility_replies as out
from server.api.mobility import FIRST_YEAR, LAST_YEAR
from server.api.spec import Call, Input, Routes
from server.errors import ValidationFailed
from server.models.mobility import (
    Direction,
    DuesPaid,
    FlowStatus,
    MobileContact,
    YearlyReport,
)
from server.models.people import Member, Organisation
from server.services.mobility import contacts
from server.services.mobility.outgoing import open_record

routes = Routes("流动党员：本人")

# --- the member's own ----------------------------------------------------------------------


@routes.get(
    "/mobility/me",
    response=out.MyMobility,
    summary="我的流动党员记录：登记情况、支部的联系记录、党费和年度报告",
)
async def my_mobility(call: Call[Any]) -> dict[str, Any]:
    """没有登记为流动党员时 `record` 为 null。"""
    member = call.member
    today = call.deps.clock.today()
    record = await open_record(member.id)
    branch = await Organisation.get(id=record.branch_id) if record else None
    keeper = await Member.get_or_none(id=record.keeper_id) if record and record.keeper_id else None
    logged = await MobileContact.filter(member_id=member.id).order_by("-day", "-id").limit(20)
    writers = {c.by_id for c in logged if c.by_id}
    names = dict(await Member.filter(id__in=list(writers)).values_list("id", "name"))
    through = await DuesPaid.filter(member_id=member.id).order_by("-through").first()
    reports = await YearlyReport.filter(member_id=member.id).order_by("-year")
    outgoing_now = (
        record is not None
        and record.direction == Direction.OUT
        and record.status == FlowStatus.ACTIVE
    )
    return {
        "record": out.record_json(call, record, branch, keeper) if record and branch else None,
        "last_contact": out.day(logged[0].day) if logged else None,
        "dues_through": out.month(through.through) if through else None,
        "contacts": [out.contact_json(c, names) for c in logged],
        "yearly_reports": [out.report_json(call, r) for r in reports],
        "yearly_report_due": outgoing_now and not any(r.year == today.year for r in reports),
    }


class YearlyReportBody(Input):
    year: int | None = Field(None, ge=FIRST_YEAR, le=LAST_YEAR, description="年度，默认今年")
    org_life: str = Field(
        min_length=1, max_length=300, description="在哪里参加组织生活，如 在苏州XX公司党支部"
    )
    dues: str = Field(min_length=1, max_length=10, description="党费：已交清、部分交纳 或 未交")
    dues_where: str = Field("", max_length=100, description="党费交到哪里")


@routes.post(
    "/mobility/me/yearly-report",
    response=out.YearlyReportOut,
    summary="年度报告：流出党员报告一年来参加组织生活和交纳党费的情况",
    body=YearlyReportBody,
)
async def my_yearly_report(call: Call[Any]) -> dict[str, Any]:
    """只有登记在册的流出党员可报（否则 404）；同一年再报，以新的为准。
    年度为今年或上一年（年初补报上一年）。"""
    body: YearlyReportBody = call.body
    today = call.deps.clock.today()
    year = body.year or today.year
    if year not in (today.year, today.year - 1):
        raise ValidationFailed(f"年度报告只能报 {today.year - 1} 年或 {today.year} 年。",
                               field="year")  # fmt: skip
    report = await contacts.yearly_report(
        call.member, year, body.org_life, body.dues, body.dues_where, call.deps.clock.now()
    )
    return out.report_json(call, report)
