"""Secretaries' roster: the members in scope, one member's year, and the 三会一课 台账."""

from __future__ import annotations

from datetime import date
from typing import Any, cast

from aiohttp import web
from pydantic import Field

from server.api import replies
from server.api.leaders import leader_scope, zone_of
from server.api.spec import Call, Id, Input, PageQuery, Routes, page_of
from server.clock import day_span
from server.downloads import XLSX, attachment
from server.errors import ValidationFailed
from server.models.people import (
    Member,
    MemberStatus,
    Organisation,
    OrgKind,
    WeChatIdentity,
    mask_phone,
)
from server.models.study import Submission, SubmissionStatus
from server.services.meetings import scheduling
from server.services.meetings.ledger import ledger_xlsx
from server.services.people.access import (
    Scope,
    branches_in,
    is_leader,
    member_in_scope,
    organisation_in_scope,
    require_roster,
)
from server.services.people.scope import under

routes = Routes("支部管理：党员与台账")


# --- members ---------------------------------------------------------------------------------


class MembersQuery(PageQuery):
    org: Id | None = Field(None, description="组织（支部或党小组）id")
    status: MemberStatus | None = Field(None, description="active 或 transferred")
    q: str | None = Field(None, max_length=50, description="姓名中的字，或手机号后四位")


def _org(org: Any) -> dict[str, Any] | None:
    return {"id": org.id, "name": org.name} if isinstance(org, Organisation) else None


def member_row(m: Member) -> dict[str, Any]:
    return {
        "id": m.id,
        "name": m.name,
        "phone": mask_phone(m.phone),
        "role": m.role.value,
        "status": m.status.value,
        "organisation": _org(m.organisation),
        "group": _org(m.group),
        "is_mobile": m.is_mobile,
        "incoming": m.incoming,
        "probationary": m.probationary,
    }


async def _bound(ids: list[int]) -> set[int]:
    bound = await WeChatIdentity.filter(member_id__in=ids).values_list("member_id", flat=True)
    return set(cast("list[int]", bound))  # flat=True: ids (Tortoise 1.1 types them as tuples)


def _roster_scope(call: Call[Any]) -> Scope:
    require_roster(call.member)
    assert call.scope is not None
    return call.scope


@routes.get(
    "/members",
    response=replies.Page[replies.MemberRow],
    summary="管辖范围内的党员名册",
    query=MembersQuery,
)
async def branch_members(call: Call[Any]) -> dict[str, Any]:
    """手机号打码显示；bound 表示是否已绑定微信。党小组长看本小组，支委委员看本支部。"""
    scope = _roster_scope(call)
    q = call.query
    query = Member.filter(scope.members())
    if q.org is not None:
        org = await organisation_in_scope(scope, q.org)
        if org.kind == OrgKind.GROUP:
            query = query.filter(group_id=org.id)
        else:
            query = query.filter(under(org.path))
    if q.status is not None:
        query = query.filter(status=q.status)
    if q.q:
        # Searching by the last four digits would read them back one guess at a time: only
        # those who issue bind codes (and so gain nothing by it) may search that way.
        tail = q.q.isascii() and q.q.isdigit() and len(q.q) == 4 and is_leader(call.member)
        query = query.filter(phone__endswith=q.q) if tail else query.filter(name__contains=q.q)
    query = query.order_by("id").prefetch_related("organisation", "group")
    page = await page_of(query, q, member_row)
    bound = await _bound([item["id"] for item in page["items"]])
    for item in page["items"]:
        item["bound"] = item["id"] in bound
    return page


@routes.get(
    "/members/{id}", response=replies.MemberDetail, summary="一位党员的资料与今年的参与情况"
)
async def branch_member(call: Call[Any]) -> dict[str, Any]:
    """year：今年的心得（按状态）与会议出勤（已结束的会议）。打卡、自学和积分只有本人能看到。"""
    target = await member_in_scope(_roster_scope(call), call.number("id"))
    clock = call.deps.clock
    today = clock.today()
    first, last = date(today.year, 1, 1), date(today.year, 12, 31)
    since, _ = day_span(first, last, clock.zone)
    handed_in = dict.fromkeys((s.value for s in SubmissionStatus), 0)
    for status in await Submission.filter(
        member_id=target.id, day__gte=first, day__lte=last
    ).values_list("status", flat=True):
        handed_in[str(status)] += 1
    # No check-ins, self-study or points: those are the member's own, never a list about
    # a person for anyone else to read (the 2026 rules against 指尖上的形式主义).
    return {
        **member_row(target),
        "bound": bool(await _bound([target.id])),
        "year": {
            "year": today.year,
            "submissions": handed_in,
            "meetings": await scheduling.attendance_record(target, since, clock.now()),
        },
    }


# --- the ledger --------------------------------------------------------------------------------


class LedgerQuery(Input):
    branch: Id | None = Field(
        None, description="支部的组织 id；只管一个支部的（如支部书记）可省略，即本支部"
    )
    year: int | None = Field(None, ge=2000, le=2100, description="年份，默认今年")


async def _ledger_branch(scope: Scope, given: int | None) -> Organisation:
    """The branch asked for, or the caller's only branch; staff over many must say which."""
    if given is not None:
        return await organisation_in_scope(scope, given)
    branches = await branches_in(scope)
    if len(branches) != 1:
        raise ValidationFailed(
            f"请选择支部（branch）：您的管辖范围内有 {len(branches)} 个支部。", field="branch"
        )
    return branches[0]


@routes.get("/ledger", summary="下载三会一课台账（XLSX）", query=LedgerQuery, produces=XLSX)
async def ledger_download(call: Call[Any]) -> web.Response:
    """与命令行 dangjian ledger 相同的台账：每种会议一张表（三会一课五种即使未召开也有），
    按年内次序编号，已取消的会议也列出；另附变更记录。A4 横向打印，表头每页重复。"""
    scope = leader_scope(call)
    org = await _ledger_branch(scope, call.query.branch)
    clock = call.deps.clock
    year = call.query.year or clock.today().year
    ledger = await ledger_xlsx(org, year, zone_of(call), clock.now())
    return attachment(ledger.data, XLSX, ledger.filename, ledger.readable)
