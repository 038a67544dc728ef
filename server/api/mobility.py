"""流动党员 in the API: the branch's working record of members who moved away (流出), of other
organisations' members who take part here (流入), and of the search for a member out of
contact (失联, 条例第二十四条).

Branch leaders (书记, 副书记, 总支书记) and the committee's staff act within their scope; a
member of another branch is refused exactly as an id that does not exist (`Hidden`).  A 支委委员,
a 党小组长 or the member's named 联系人 may also log a contact.

Here: the list with what is due, the figures by branch, the forms as a file, and one member's
流出 record, contacts and 党费.  The search for a lost member and the 流动党员党小组 are in
`mobility_lost.py`, 流入 in `mobility_incoming.py`, the member's own in `mobility_own.py`; the
answers' shapes in `mobility_replies.py`; the steps are `server/services/mobility`'s.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from aiohttp import web
from pydantic import Field

from server.api import mobility_replies as out
from server.api import replies
from server.api.community_replies import tidings
from server.api.leaders import leader_scope, zone_of
from server.api.spec import Call, Id, Input, PageQuery, Routes
from server.downloads import XLSX, attachment
from server.errors import NotFound, PermissionDenied, ValidationFailed
from server.models.mobility import (
    Direction,
    DuesPaid,
    LostAttempt,
    LostStage,
    MobileContact,
    MobileMember,
    YearlyReport,
)
from server.models.people import Member, Organisation, OrgKind, Role
from server.services.mobility import contacts, lost, notify, outgoing
from server.services.mobility.counts import COLUMNS, branches_of, overview
from server.services.mobility.due import todo
from server.services.mobility.export import mobility_workbook
from server.services.mobility.outgoing import Outgoing, open_record
from server.services.mobility.standing import Standing, open_cases, open_records, standings
from server.services.mobility.who import require_contact_keeper
from server.services.mobility.words import (
    CHANNELS,
    REASONS_TEXT,
    check_reason,
    quarter_start,
)
from server.services.people.access import (
    Hidden,
    NotAllowed,
    Scope,
    is_leader,
    member_in_scope,
    organisation_in_scope,
    top_of,
)
from server.services.tallies.workbook import file_name_part

routes = Routes("流动党员")
FIRST_YEAR, LAST_YEAR = 2000, 2100


@contextmanager
def fields_named(**names: str) -> Iterator[None]:
    """A service's refusal names its own word for a field; the API names the body's."""
    try:
        yield
    except ValidationFailed as exc:
        if exc.field in names:
            exc.field = names[exc.field]
        raise


def clock_of(call: Call[Any]) -> tuple[date, datetime, int]:
    """Today, now, and the default contact cadence (DANGJIAN_MOBILE_CONTACT_DAYS)."""
    clock = call.deps.clock
    return clock.today(), clock.now(), call.deps.settings.mobile_contact_days


async def target_of(call: Call[Any], member_id: int | None = None) -> Member:
    """A member of the caller's scope (the path's id unless given); Hidden otherwise."""
    scope = leader_scope(call)
    return await member_in_scope(scope, member_id or call.number("id"))


async def _within(scope: Scope, given: int | None, name: str) -> Organisation | None:
    if given is None:
        return None
    org = await organisation_in_scope(scope, given)
    if org.kind == OrgKind.GROUP:
        raise ValidationFailed("请选择党支部或上级组织（不是党小组）。", field=name)
    return org


async def _branches(call: Call[Any], given: int | None, name: str) -> list[Organisation]:
    scope = leader_scope(call)
    return await branches_of(scope, await _within(scope, given, name))


# --- the list, the figures and the forms ---------------------------------------------------


class MobileLinesQuery(PageQuery):
    branch: Id | None = Field(None, description="党支部或上级组织的 id；默认管辖范围内的全部")
    direction: Literal["out", "in", "all"] = Field(
        "all", description="out 流出，in 流入，all 全部（默认；含只有失联记录的）"
    )
    due: bool = Field(False, description="true：只看有待办事项的（该联系、可能失联、查找中等）")


async def _lines(call: Call[Any], branches: list[Organisation]) -> list[Standing]:
    today, now, cadence = clock_of(call)
    ids = [b.id for b in branches]
    records = await open_records(ids)
    cases = await open_cases(ids)
    return await standings(records, cases, today, now, zone_of(call), cadence)


async def _keepers(records: list[MobileMember | None]) -> dict[int, Member]:
    ids = {r.keeper_id for r in records if r is not None and r.keeper_id}
    return {m.id: m for m in await Member.filter(id__in=list(ids))} if ids else {}


@routes.get(
    "/mobility/members",
    response=replies.Page[out.MobileLine],
    summary="流动党员：最近联系、最近组织生活、党费和要办的事",
    query=MobileLinesQuery,
)
async def mobile_list(call: Call[Any]) -> dict[str, Any]:
    """按支部、再按登记先后排列，不作排名。`todo` 是提醒（该联系了、可能失联、查找中、
    停止党籍满两年），不是通报；可能失联是提请支部研究的问题，不是党员的状态。"""
    q: MobileLinesQuery = call.query
    branches = await _branches(call, q.branch, "branch")
    today = call.deps.clock.today()
    lines = await _lines(call, branches)
    if q.direction != "all":
        lines = [s for s in lines if s.record and s.record.direction == Direction(q.direction)]
    shaped = [(s, todo(s, today)) for s in lines]
    if q.due:
        shaped = [(s, to_do) for s, to_do in shaped if to_do]
    page = shaped[(q.page - 1) * q.per_page : q.page * q.per_page]
    by_id = {b.id: b for b in branches}
    keepers = await _keepers([s.record for s, _ in page])
    items = []
    for s, to_do in page:
        branch = by_id[s.record.branch_id if s.record else s.case.branch_id if s.case else 0]
        record = (
            out.record_json(call, s.record, branch, keepers.get(s.record.keeper_id or 0))
            if s.record
            else None
        )
        items.append(
            {
                **out.standing_json(s, branch, today),
                "record": record,
                "case": out.case_json(s.case) if s.case else None,
                "todo": to_do,
            }
        )
    return {"items": items, "page": q.page, "per_page": q.per_page, "total": len(shaped)}


class MobileCountsQuery(Input):
    org: Id | None = Field(None, description="组织 id；默认管辖范围的最上级")


async def _org(call: Call[Any], given: int | None) -> tuple[Organisation, list[Organisation]]:
    scope = leader_scope(call)
    org = await _within(scope, given, "org") or await top_of(scope)
    return org, await branches_of(scope, org)


@routes.get(
    "/mobility/counts",
    response=out.MobileCounts,
    summary="各支部的流动党员数：流出、流入、本季度已联系、可能失联、查找中、停止党籍",
    query=MobileCountsQuery,
)
async def mobile_counts(call: Call[Any]) -> dict[str, Any]:
    """每个支部一行，按组织路径排列（不按数字排序，不作排名），另有合计。"""
    org, branches = await _org(call, call.query.org)
    today, now, cadence = clock_of(call)
    seen = await overview(branches, today, now, zone_of(call), cadence)
    return {
        "organisation": out.org_ref(org),
        "today": today.isoformat(),
        "quarter_from": quarter_start(today).isoformat(),
        "columns": [{"key": key, "label": label} for key, label in COLUMNS],
        "branches": [
            {"branch": out.org_ref(b.branch), **out.figures_json(b)} for b in seen.branches
        ],
        "total": out.figures_json(seen.total()),
    }


@routes.get(
    "/mobility/export",
    summary="下载流动党员统计表和名册（XLSX）",
    query=MobileCountsQuery,
    produces=XLSX,
)
async def mobile_export(call: Call[Any]) -> web.Response:
    """四张表：流动党员情况统计表（每个支部一行，另有合计和数据口径）、流出党员名册、
    流入党员名册、失联党员查找情况。A4 打印，表头每页重复。信息以全国党员管理信息系统为准。"""
    org, branches = await _org(call, call.query.org)
    today, now, cadence = clock_of(call)
    data = await mobility_workbook(branches, today, now, zone_of(call), cadence, organisation=org)
    return attachment(
        data,
        XLSX,
        f"mobility-{org.id}-{today:%Y%m%d}.xlsx",
        f"流动党员-{file_name_part(org.name)}-{today:%Y%m%d}.xlsx",
    )


# --- one member ------------------------------------------------------------------------------


async def detail_json(call: Call[Any], member: Member) -> dict[str, Any]:
    """The member's open (or latest) record, latest 失联 case, contacts, 党费 and reports."""
    today, now, cadence = clock_of(call)
    record = await open_record(member.id) or (
        await MobileMember.filter(member_id=member.id).order_by("-id").first()
    )
    case = await lost.latest_case(member.id)
    if record is None and case is None:
        raise NotFound(f"{member.name}没有流动党员记录。")
    still_open = case if case and case.stage in (LostStage.SEARCHING, LostStage.STOPPED) else None
    found = await standings(
        [record] if record else [], [still_open] if still_open else [], today, now,
        zone_of(call), cadence,
    )  # fmt: skip
    line = found[0] if found else Standing(member, record, None)
    branch = await Organisation.get(id=record.branch_id if record else member.organisation_id)
    keeper = await Member.get_or_none(id=record.keeper_id) if record and record.keeper_id else None
    logged = await MobileContact.filter(member_id=member.id).order_by("-day", "-id").limit(50)
    writers = {c.by_id for c in logged if c.by_id}
    names = dict(await Member.filter(id__in=list(writers)).values_list("id", "name"))
    paid = await DuesPaid.filter(member_id=member.id).order_by("-through").limit(24)
    reports = await YearlyReport.filter(member_id=member.id).order_by("-year")
    attempts = (
        await LostAttempt.filter(case_id=case.id).order_by("day", "id") if case is not None else []
    )
    return {
        **out.standing_json(line, branch, today),
        "record": out.record_json(call, record, branch, keeper) if record else None,
        "case": out.case_detail_json(case, list(attempts)) if case else None,
        "contacts": [out.contact_json(c, names) for c in logged],
        "dues": [out.dues_json(d) for d in paid],
        "yearly_reports": [out.report_json(call, r) for r in reports],
    }


@routes.get(
    "/mobility/members/{id}",
    response=out.MobileDetail,
    summary="一位流动党员：登记情况、联系记录、党费、年度报告和失联查找记录",
)
async def mobile_member(call: Call[Any]) -> dict[str, Any]:
    """{id} 为党员编号。没有任何流动或失联记录的党员返回 404。"""
    return await detail_json(call, await target_of(call))


class MobileOutBody(Input):
    member_id: Id = Field(description="党员编号（须是本人管辖范围内的在册党员）")
    place: str = Field(min_length=1, max_length=100, description="流向地（去向），如 江苏苏州")
    reason: str = Field(min_length=1, max_length=20, description="流动原因：" + REASONS_TEXT)
    since: date | None = Field(None, description="外出时间；默认今天，不能晚于今天")
    reach: str = Field("", max_length=100, description="联系方式，如 微信同号")
    other_org: str = Field("", max_length=100, description="流入地党组织（如已知）")
    certificate: str = Field("", max_length=30, description="流动党员活动证号（如有）")
    keeper_id: Id | None = Field(None, description="联系人：本支部的在册党员（一般为支委委员）")
    cadence_days: int | None = Field(
        None, ge=7, le=outgoing.LONGEST_CADENCE, description="联系周期（天），默认每月一次"
    )


@routes.post(
    "/mobility/outgoing",
    response=out.MobileDetail,
    summary="登记流出：去向、原因、外出时间、联系方式、联系人",
    body=MobileOutBody,
)
async def mobile_mark_out(call: Call[Any]) -> dict[str, Any]:
    """已登记为流动党员的返回 409（MOBILE_EXISTS）；流入党员、已转出或停止党籍的返回 409。
    原因不在表列之内的返回 400（field 为 reason）。"""
    body: MobileOutBody = call.body
    target = await target_of(call, body.member_id)
    today, now, _ = clock_of(call)
    move = Outgoing(
        place=body.place,
        reason=check_reason(body.reason),
        since=body.since,
        reach=body.reach,
        other_org=body.other_org,
        certificate=body.certificate,
        keeper_id=body.keeper_id,
        cadence_days=body.cadence_days,
    )
    with fields_named(keeper="keeper_id"):
        record = await outgoing.mark_out(call.member, target, move, today, now)
    # The member hears of it whichever door the branch used (chat, dashboard, here).
    told = tidings(call)
    keeper = await Member.get_or_none(id=record.keeper_id) if record.keeper_id else None
    await notify.marked_out(told, record, target, keeper, now)
    told.wake()
    return await detail_json(call, target)


class MobileAmendBody(Input):
    place: str | None = Field(None, min_length=1, max_length=100, description="流向地")
    reach: str | None = Field(None, max_length=100, description="联系方式")
    other_org: str | None = Field(None, max_length=100, description="流入地党组织")
    certificate: str | None = Field(None, max_length=30, description="流动党员活动证号")
    keeper_id: Id | None = Field(None, description="联系人")
    cadence_days: int | None = Field(
        None, ge=7, le=outgoing.LONGEST_CADENCE, description="联系周期（天）"
    )


@routes.patch(
    "/mobility/members/{id}",
    response=out.MobileDetail,
    summary="修改在册流动党员的登记：去向、联系方式、联系人、联系周期等",
    body=MobileAmendBody,
)
async def mobile_amend(call: Call[Any]) -> dict[str, Any]:
    """只改写出的字段。没有在册流动记录的返回 404。"""
    body: MobileAmendBody = call.body
    if not body.model_fields_set:
        raise ValidationFailed("没有要修改的内容。", field="body")
    target = await target_of(call)
    with fields_named(keeper="keeper_id"):
        await outgoing.amend(call.member, target, **body.model_dump(exclude_unset=True))
    return await detail_json(call, target)


class MobileEndBody(Input):
    note: str = Field(min_length=1, max_length=200, description="说明，如 已返回本地居住")


@routes.post(
    "/mobility/members/{id}/end",
    response=out.MobileDetail,
    summary="结束流动：已返回，或组织关系已转走（流入党员离开本街道）",
    body=MobileEndBody,
)
async def mobile_end(call: Call[Any]) -> dict[str, Any]:
    """没有在册流动记录的返回 404。流入党员结束后不再参加本支部的组织生活。"""
    target = await target_of(call)
    today, now, _ = clock_of(call)
    record = await outgoing.end(
        call.member, target, call.body.note, today, now, call.deps.identities
    )
    if record.direction == Direction.IN:  # they hear it whichever door the branch used
        told = tidings(call)
        await notify.incoming_ended(told, record, target, now)
        told.wake()
    return await detail_json(call, target)


class MobileContactBody(Input):
    note: str = Field(min_length=1, max_length=500, description="联系内容")
    channel: str | None = Field(
        None,
        max_length=10,
        description="联系方式：" + "、".join(CHANNELS) + "；默认从内容开头读，否则为微信",
    )
    day: date | None = Field(None, description="联系日期；默认今天，不能晚于今天")


async def _contacttarget_of(call: Call[Any]) -> Member:
    """Leaders and 支委委员 within their scope; a 党小组长 or 联系人 for those they may log."""
    actor = call.member
    if is_leader(actor) or actor.role == Role.COMMITTEE_MEMBER:
        assert call.scope is not None
        target = await member_in_scope(call.scope, call.number("id"))
    else:
        keeps = await MobileMember.exists(keeper_id=actor.id, current__not_isnull=True)
        if actor.role != Role.GROUP_LEADER and not keeps:
            raise NotAllowed("联系记录由支委委员、党小组长或指定的联系人填写。")
        found = await Member.get_or_none(id=call.number("id"))
        if found is None:
            raise Hidden()
        target = found
    try:
        await require_contact_keeper(actor, target)
    except PermissionDenied:
        raise Hidden() from None
    return target


@routes.post(
    "/mobility/members/{id}/contacts",
    response=out.ContactOut,
    summary="记一次联系：日期、方式、内容",
    body=MobileContactBody,
)
async def mobile_contact(call: Call[Any]) -> dict[str, Any]:
    """支部书记、副书记、支委委员、党小组长和指定的联系人可记。"""
    target = await _contacttarget_of(call)
    body: MobileContactBody = call.body
    today, now, _ = clock_of(call)
    logged = await contacts.log_contact(
        call.member, target, body.note, today, now, channel=body.channel, day=body.day
    )
    return out.contact_json(logged, {call.member.id: call.member.name})


class MobileDuesBody(Input):
    through: str = Field(pattern=r"^\d{4}-\d{2}$", description="交至月份，如 2026-06")
    amount: Decimal | None = Field(
        None, ge=0, le=100000, decimal_places=2, allow_inf_nan=False, description="金额（元）"
    )


@routes.post(
    "/mobility/members/{id}/dues",
    response=out.DuesOut,
    summary="登记收到的党费（交至某月）",
    body=MobileDuesBody,
)
async def mobile_dues(call: Call[Any]) -> dict[str, Any]:
    """同一月份登记两次返回 409（DUES_EXISTS）。最多预交到明年同月。"""
    target = await target_of(call)
    body: MobileDuesBody = call.body
    year, month = (int(part) for part in body.through.split("-"))
    if not 1 <= month <= 12 or year < FIRST_YEAR:
        raise ValidationFailed("月份应写成 2026-06。", field="through")
    today, now, _ = clock_of(call)
    paid = await contacts.record_dues(
        call.member, target, date(year, month, 1), today, now, body.amount
    )
    return out.dues_json(paid)
