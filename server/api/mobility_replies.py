"""What the 流动党员 endpoints answer, as models (the OpenAPI document shows them and the suite
holds every answer to them), and the one way each row is shaped into them.

A member's own answer (`MyMobility`) carries what the branch recorded about them; the
branch's answers carry a member's 联系方式 as the branch typed it (`reach`), and a pending
流入 report the phone the reporter gave, so the secretary can check before confirming.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import Field

from server.api import replies
from server.api.spec import Call, iso
from server.models.mobility import (
    DIRECTION_LABELS,
    FLOW_STATUS_LABELS,
    LOST_STAGE_LABELS,
    DuesPaid,
    LostAttempt,
    LostCase,
    MobileContact,
    MobileMember,
    YearlyReport,
)
from server.models.people import Member, Organisation
from server.services.mobility.counts import COLUMNS, BranchCounts
from server.services.mobility.lost import removal_due_on
from server.services.mobility.standing import Standing

# --- what the answers look like ------------------------------------------------------------


class MobileRecordOut(replies.Out):
    """One spell of 流出 or 流入, as the branch recorded it."""

    id: int
    direction: Literal["out", "in"]
    direction_label: str = Field(description="流出 或 流入")
    status: Literal["pending", "active", "refused", "ended"]
    status_label: str
    branch: replies.Ref = Field(description="联系、管理的支部")
    since: replies.Day = Field(description="外出（流出）或流入的时间")
    place: str = Field(description="流出：流向地；流入：在本街道居住或工作的地方")
    reason: str = Field(description="流动原因")
    reach: str = Field(description="联系方式")
    other_org: str = Field(description="流出：流入地党组织；流入：原组织关系所在党组织")
    other_contact: str = Field(description="该党组织的联系电话")
    certificate: str = Field(description="流动党员活动证号")
    keeper: replies.Ref | None = Field(description="联系人（支委委员）；流入为 null")
    cadence_days: int | None = Field(description="联系周期（天）；null 为默认")
    ended_on: replies.Day | None
    end_note: str
    created_at: replies.Time


class LostCaseOut(replies.Out):
    """The search for a member out of contact (条例第二十四条), as the branch recorded it."""

    id: int
    stage: Literal["searching", "restored", "stopped", "closed"]
    stage_label: str
    opened_on: replies.Day
    restored_on: replies.Day | None
    handling: str = Field(description="恢复联系后的处理情况")
    stopped_on: replies.Day | None
    meeting_id: int | None = Field(description="决定停止党籍的支部党员大会")
    decision: str
    removal_due_on: replies.Day | None = Field(
        description="停止党籍满两年之日：仍无联系的，提醒支部按程序办理除名"
    )
    closed_on: replies.Day | None
    closed_note: str


class AttemptOut(replies.Out):
    id: int
    day: replies.Day
    method: str = Field(description="电话、亲属、原单位、组织部门、走访、其他")
    note: str


class LostCaseDetail(LostCaseOut):
    attempts: list[AttemptOut] = Field(description="查找经过，先的在前")


class MobileStanding(replies.Out):
    member: replies.Ref
    branch: replies.Ref
    last_contact: replies.Day | None = Field(description="最近联系（支部联系记录）")
    last_heard: replies.Day | None = Field(
        description="最近音讯：联系记录，或本人打卡、心得、签到、年度报告中最近的"
    )
    last_life: replies.Day | None = Field(description="最近组织生活（到会、线上或以心得参加）")
    dues_through: str | None = Field(description="党费交至（月份，如 2026-06）")
    last_dues: replies.Day | None = Field(description="最近一次收到党费的日期")
    due_on: replies.Day | None = Field(description="下次应联系的日期（在册的流出党员）")
    contact_due: bool = Field(description="已到联系的时候（联系人的待办）")
    possibly_lost: bool = Field(
        description="半年以上没有联系、组织生活和党费：提请支部研究，不是党员的状态"
    )


class MobileLine(MobileStanding):
    record: MobileRecordOut | None = Field(description="在册的流动记录；只有失联记录时为 null")
    case: LostCaseOut | None = Field(description="查找中或已停止党籍的失联记录")
    todo: list[str] = Field(description="要办的事（提醒，不是通报）")


class ContactOut(replies.Out):
    id: int
    day: replies.Day
    channel: str
    note: str
    by: replies.Ref | None = Field(description="记录人；命令行登记的为 null")


class DuesOut(replies.Out):
    id: int
    day: replies.Day = Field(description="收到的日期")
    through: str = Field(description="交至月份，如 2026-06")
    amount: str | None = Field(description="金额（元，两位小数）")


class YearlyReportOut(replies.Out):
    year: int
    org_life: str = Field(description="在哪里参加组织生活")
    dues: Literal["已交清", "部分交纳", "未交"]
    dues_where: str
    updated_at: replies.Time


class MobileDetail(MobileStanding):
    record: MobileRecordOut | None = Field(description="在册的，或最近一次的流动记录")
    case: LostCaseDetail | None = Field(description="最近一次失联查找记录")
    contacts: list[ContactOut] = Field(description="联系记录，新的在前（最多 50 条）")
    dues: list[DuesOut] = Field(description="党费收到记录，新的在前（最多 24 条）")
    yearly_reports: list[YearlyReportOut] = Field(description="年度报告，新的在前")


class CountFigures(replies.Out):
    outgoing: int = Field(description="流出")
    incoming: int = Field(description="流入（已确认）")
    contacted: int = Field(description="本季度已联系的流出党员")
    possibly_lost: int = Field(description="可能失联（提请支部研究）")
    searching: int = Field(description="查找中")
    stopped: int = Field(description="停止党籍（未办结）")
    pending: int = Field(description="待确认流入")


class BranchFigures(CountFigures):
    branch: replies.OrgRef


class ColumnLabel(replies.Out):
    key: str
    label: str


class MobileCounts(replies.Out):
    organisation: replies.OrgRef
    today: replies.Day
    quarter_from: replies.Day = Field(description="本季度的第一天")
    columns: list[ColumnLabel] = Field(description="各数字的名称，按统计表的列序")
    branches: list[BranchFigures] = Field(description="按组织路径排列，不作排名")
    total: CountFigures


class PendingIncoming(replies.Out):
    id: int = Field(description="流入报到编号（确认、不确认时用）")
    name: str
    phone: str = Field(description="报到人填写的手机号")
    branch: replies.Ref = Field(description="报到的支部")
    home_org: str = Field(description="原组织关系所在党组织")
    home_contact: str = Field(description="原党组织的联系电话")
    place: str = Field(description="在本街道居住或工作的地方")
    reason: str
    since: replies.Day
    certificate: str
    reported_at: replies.Time


class IncomingDecided(replies.Out):
    record: MobileRecordOut
    member: replies.Ref | None = Field(description="确认后成为的流入党员；不确认为 null")
    refuse_reason: str


class MobileGroup(replies.Out):
    group: replies.OrgRef = Field(description="流动党员党小组")
    members: list[replies.Ref]


class MyMobility(replies.Out):
    record: MobileRecordOut | None = Field(description="在册的流动记录；没有为 null")
    last_contact: replies.Day | None
    dues_through: str | None = Field(description="支部登记的党费交至月份")
    contacts: list[ContactOut] = Field(description="支部的联系记录，新的在前（最多 20 条）")
    yearly_reports: list[YearlyReportOut]
    yearly_report_due: bool = Field(description="流出党员今年还没有年度报告")


# --- shaping rows --------------------------------------------------------------------------


def day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def month(value: date | None) -> str | None:
    return f"{value:%Y-%m}" if value else None


def ref(row: Member | Organisation) -> dict[str, Any]:
    return {"id": row.id, "name": row.name}


def org_ref(org: Organisation) -> dict[str, Any]:
    return {"id": org.id, "name": org.name, "path": org.path}


def record_json(
    call: Call[Any], r: MobileMember, branch: Organisation, keeper: Member | None
) -> dict[str, Any]:
    return {
        "id": r.id,
        "direction": r.direction.value,
        "direction_label": DIRECTION_LABELS[r.direction],
        "status": r.status.value,
        "status_label": FLOW_STATUS_LABELS[r.status],
        "branch": ref(branch),
        "since": r.since.isoformat(),
        "place": r.place,
        "reason": r.reason.value,
        "reach": r.reach,
        "other_org": r.other_org,
        "other_contact": r.other_contact,
        "certificate": r.certificate,
        "keeper": ref(keeper) if keeper else None,
        "cadence_days": r.cadence_days,
        "ended_on": day(r.ended_on),
        "end_note": r.end_note,
        "created_at": iso(r.created_at, call.zone),
    }


def case_json(case: LostCase) -> dict[str, Any]:
    return {
        "id": case.id,
        "stage": case.stage.value,
        "stage_label": LOST_STAGE_LABELS[case.stage],
        "opened_on": case.opened_on.isoformat(),
        "restored_on": day(case.restored_on),
        "handling": case.handling,
        "stopped_on": day(case.stopped_on),
        "meeting_id": case.meeting_id,
        "decision": case.decision,
        "removal_due_on": day(removal_due_on(case)),
        "closed_on": day(case.closed_on),
        "closed_note": case.closed_note,
    }


def case_detail_json(case: LostCase, attempts: list[LostAttempt]) -> dict[str, Any]:
    return {
        **case_json(case),
        "attempts": [
            {"id": a.id, "day": a.day.isoformat(), "method": a.method, "note": a.note}
            for a in attempts
        ],
    }


def standing_json(s: Standing, branch: Organisation, today: date) -> dict[str, Any]:
    return {
        "member": ref(s.member),
        "branch": ref(branch),
        "last_contact": day(s.last_contact),
        "last_heard": day(s.last_heard),
        "last_life": day(s.last_life),
        "dues_through": month(s.dues_through),
        "last_dues": day(s.last_dues),
        "due_on": day(s.due_on),
        "contact_due": s.contact_due(today),
        "possibly_lost": s.possibly_lost,
    }


def contact_json(c: MobileContact, names: dict[int, str]) -> dict[str, Any]:
    return {
        "id": c.id,
        "day": c.day.isoformat(),
        "channel": c.channel,
        "note": c.note,
        "by": {"id": c.by_id, "name": names[c.by_id]} if c.by_id in names else None,
    }


def dues_json(d: DuesPaid) -> dict[str, Any]:
    return {
        "id": d.id,
        "day": d.day.isoformat(),
        "through": f"{d.through:%Y-%m}",
        "amount": None if d.amount is None else f"{d.amount:.2f}",
    }


def report_json(call: Call[Any], r: YearlyReport) -> dict[str, Any]:
    return {
        "year": r.year,
        "org_life": r.org_life,
        "dues": r.dues,
        "dues_where": r.dues_where,
        "updated_at": iso(r.updated_at, call.zone),
    }


def figures_json(counts: BranchCounts | list[int]) -> dict[str, int]:
    values = counts if isinstance(counts, list) else counts.values()
    return {key: value for (key, _), value in zip(COLUMNS, values, strict=True)}


def pending_json(call: Call[Any], r: MobileMember, branch: Organisation) -> dict[str, Any]:
    return {
        "id": r.id,
        "name": r.name,
        "phone": r.phone or "",
        "branch": ref(branch),
        "home_org": r.other_org,
        "home_contact": r.other_contact,
        "place": r.place,
        "reason": r.reason.value,
        "since": r.since.isoformat(),
        "certificate": r.certificate,
        "reported_at": iso(r.created_at, call.zone),
    }
