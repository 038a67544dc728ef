"""流动党员 on the dashboard: `/admin/mobile?org=`.

Above a branch (a 总支书记, 党工委 staff) the page is the figures by branch — 流出, 流入,
本季度已联系, 可能失联, 查找中, 停止党籍, 待确认流入 — in the tree's order with a 合计 row:
counts, never ordered by one, so no branch is ranked.  A branch (what a secretary lands on,
and what a branch's row opens) is its working list: the to-dos on top, the 流入 reports
waiting, each member with their last contact, 组织生活 and 党费, and the forms (登记流出,
记录联系, 记录查找, 指定联系人) that post to `mobile_actions`.  `/admin/mobile/export` is the
same organisation's upper-level form as XLSX; `/admin/mobile/members/{id}/record?year=` a 流入
member's year with the branch, for the organisation that holds their relationship.

An organisation outside the caller's scope is refused as one that does not exist (`Hidden`);
so is a member outside it, or one who is no 流入 member, asked for a record.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from server.admin import mobile_desk
from server.admin.community_forms import form_token
from server.admin.pages import render
from server.admin.selection import ancestors, org_id
from server.admin.signing import signed_in
from server.downloads import XLSX, attachment
from server.errors import DangjianError, ValidationFailed
from server.models.mobility import FlowReason
from server.models.people import Member, Organisation, OrgKind
from server.services.community.roles import managed_by
from server.services.mobility import counts
from server.services.mobility.export import (
    incoming_record,
    incoming_record_workbook,
    mobility_workbook,
)
from server.services.mobility.standing import SILENT_MONTHS
from server.services.mobility.words import CHANNELS, METHODS
from server.services.people.access import (
    Hidden,
    Scope,
    member_in_scope,
    organisation_in_scope,
    scope_of,
)
from server.services.tallies.workbook import file_name_part
from server.typedefs import CLOCK, SETTINGS

# The forms' fields in words, for the line that says what to check.
FIELDS = {
    "org": "组织",
    "id": "编号",
    "member": "党员",
    "place": "去向",
    "reason": "原因",
    "since": "外出时间",
    "reach": "联系方式",
    "other_org": "接收党组织",
    "certificate": "活动证编号",
    "keeper": "联系人",
    "cadence_days": "联系周期",
    "channel": "联系途径",
    "day": "联系日期",
    "note": "内容",
    "method": "查找方式",
    "year": "年份",
}
# The years a record may be asked for, as the API's.
FIRST_YEAR, LAST_YEAR = 2000, 2100


async def mobile_page(request: web.Request) -> web.Response:
    member = await signed_in(request)
    scope = await scope_of(member)
    org = await organisation_in_scope(scope, org_id(request.query))
    return await page(request, member, scope, org, done=request.query.get("done", "")[:200])


async def branches_under(scope: Scope, org: Organisation) -> list[Organisation]:
    """The branch itself, or the branches below `org`, by path."""
    return [org] if org.kind is OrgKind.BRANCH else await counts.branches_of(scope, org)


def _picked(request: web.Request, name: str) -> int | None:
    """A member the to-do's link chose for a form (?contact=ID); anything else is no choice."""
    raw = request.query.get(name, "")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else None


async def page(
    request: web.Request,
    member: Member,
    scope: Scope,
    org: Organisation,
    *,
    done: str = "",
    error: DangjianError | None = None,
    failed: dict[str, str] | None = None,
) -> web.Response:
    """The page; after a refused form, with the refusal on top and that form as it was sent."""
    settings, clock = request.config_dict[SETTINGS], request.config_dict[CLOCK]
    zone, now = settings.zone, clock.now()
    today, cadence = now.astimezone(zone).date(), settings.mobile_contact_days
    branches = await branches_under(scope, org)
    seen = await counts.overview(branches, today, now, zone, cadence)
    context: dict[str, Any] = {
        "title": f"流动党员 · {org.name}",
        "member": member,
        "org": org,
        "trail": await ancestors(scope, org),
        "today": f"{today.year}年{today.month}月{today.day}日",
        "columns": counts.COLUMNS,
        "export": f"/admin/mobile/export?org={org.id}",
        "done": done,
        "error": error,
        "error_field": FIELDS.get(error.field or "") if error is not None else None,
        "failed": failed or {},
        "token": form_token(request),
        "runs_community": bool(await managed_by(member)),
        "silent_months": SILENT_MONTHS,
        "desk": None,
    }
    if org.kind is OrgKind.BRANCH:
        context |= {
            "desk": await mobile_desk.desk(org, seen.branches[0], seen.lines, today, cadence),
            "reasons": [r.value for r in FlowReason],
            "channels": CHANNELS,
            "methods": METHODS,
            "pick": {name: _picked(request, name) for name in ("contact", "search", "keeper")},
            "latest": today.isoformat(),
        }
    else:
        context |= {"rows": seen.branches, "total": seen.total()}
    status = error.http_status if error is not None else 200
    return render(request, "mobile.html", context, status=status)


async def export(request: web.Request) -> web.Response:
    """The organisation's 流动党员 figures and lists in the shape upper levels ask for."""
    member = await signed_in(request)
    scope = await scope_of(member)
    org = await organisation_in_scope(scope, org_id(request.query))
    settings, now = request.config_dict[SETTINGS], request.config_dict[CLOCK].now()
    today = now.astimezone(settings.zone).date()
    body = await mobility_workbook(
        await branches_under(scope, org),
        today,
        now,
        settings.zone,
        settings.mobile_contact_days,
        organisation=org,
    )
    return attachment(
        body,
        XLSX,
        f"mobile-members-{today:%Y%m%d}.xlsx",
        f"流动党员情况_{org.name}_{today:%Y%m%d}.xlsx",
    )


def _year(request: web.Request, this_year: int) -> int:
    raw = request.query.get("year", "")
    if not raw:
        return this_year
    if not raw.isascii() or not raw.isdigit() or len(raw) != 4:
        raise ValidationFailed(f"年份应在 {FIRST_YEAR} 到 {LAST_YEAR} 之间。", field="year")
    if not FIRST_YEAR <= int(raw) <= LAST_YEAR:
        raise ValidationFailed(f"年份应在 {FIRST_YEAR} 到 {LAST_YEAR} 之间。", field="year")
    return int(raw)


async def record(request: web.Request) -> web.Response:
    """A 流入 member's year with the branch (meetings, 心得, 年度报告) as XLSX, for the
    organisation that holds their relationship — what 结束流动 in chat says may be sent."""
    member = await signed_in(request)
    scope = await scope_of(member)
    raw = request.match_info["id"]
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        raise Hidden()
    target = await member_in_scope(scope, int(raw))
    # Any other member is refused as a made-up id: the page tells nothing of who is whose.
    if await incoming_record(target) is None:
        raise Hidden()
    settings, now = request.config_dict[SETTINGS], request.config_dict[CLOCK].now()
    year = _year(request, now.astimezone(settings.zone).year)
    body = await incoming_record_workbook(target, year, settings.zone, now)
    return attachment(
        body,
        XLSX,
        f"incoming-{target.id}-{year}.xlsx",
        f"流入党员参加组织生活情况-{file_name_part(target.name)}-{year}.xlsx",
    )
