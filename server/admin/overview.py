"""The overview of an organisation above a branch: numbers, charts, the branches, their lights.

A 党支部 (what a secretary lands on) has a page of its own, `branch_page`; `home` sends each
organisation to the right one.  Nothing here lists members' activity one by one: the tables
are of branches, the only names are those of 心得 waiting for review.
"""

from __future__ import annotations

from aiohttp import web

from server.admin import branch_page, charts, exports, lights, numbers, pending
from server.admin.numbers import Group, Number
from server.admin.pages import render
from server.admin.selection import Selection, page_context, selection
from server.admin.signing import signed_in
from server.models.people import Member, Organisation, OrgKind
from server.services.meetings.compliance_status import branch_lights
from server.services.people.access import Scope, scope_of
from server.services.tallies import report as tallies
from server.services.tallies.service import ServiceSummary
from server.typedefs import CLOCK, SETTINGS


async def home(request: web.Request) -> web.Response:
    """/admin?org=&from=&to=: a branch's page, or the overview of anything above one."""
    member = await signed_in(request)
    scope = await scope_of(member)
    sel = await selection(request, scope)
    if sel.org.kind is OrgKind.BRANCH:
        return await branch_page.page(request, member, scope, sel)
    return await overview(request, member, scope, sel)


async def overview(
    request: web.Request, member: Member, scope: Scope, sel: Selection
) -> web.Response:
    settings, clock = request.config_dict[SETTINGS], request.config_dict[CLOCK]
    when: tallies.ReportTime = {"today": sel.today, "zone": settings.zone, "now": clock.now()}
    by_branch = await tallies.tally_report(sel.org, sel.start, sel.end, by="branch", **when)
    by_month = await tallies.tally_report(
        sel.org, sel.start, sel.end, by="month", service=False, **when
    )

    branch_ids = [row.org_id for row in by_branch.rows if row.org_id is not None]
    found = {o.id: o for o in await Organisation.filter(id__in=branch_ids, kind=OrgKind.BRANCH)}
    branches = [found[i] for i in branch_ids if i in found]
    lit = await branch_lights(
        branches,
        sel.today,
        settings.zone,
        settings.lecture_every,
        now=clock.now(),
        start=sel.start,
        end=sel.end,
    )
    context = {
        **await page_context(member, scope, sel, settings.zone),
        "title": by_branch.org_name,
        "report": by_branch,
        "groups": numbers.headline(by_branch.total),
        "service_groups": service_groups(by_branch.service) if by_branch.service else [],
        "branch_ids": set(found),
        "matrix": lights.matrix(lit, settings.zone),
        "legend": lights.LEGEND,
        "lecture_every": lights.EVERY[settings.lecture_every],
        "pending": await pending.queue(sel.org, sel.today),
        "charts": {"months": charts.by_month(by_month), "branches": charts.by_branch(by_branch)},
        "exports": exports.links(sel, "branch"),
    }
    return render(request, "overview.html", context)


# (title, note, ((ServiceFigures field, label), ...)): the 双报到 total, in the order shown.
SERVICE_GROUPS = (
    ("党员双报到", "社区确认的才计", (("units", "报到单位"), ("volunteers", "报到党员"))),
    (
        "四单制",
        "认领、完成按人次",
        (
            ("needs", "居民点单"),
            ("dispatched", "社区下单"),
            ("claims", "认领"),
            ("completed", "完成"),
        ),
    ),
    (
        "服务与评价",
        "7天未评价的不算满意",
        (("hours", "服务时长"), ("rated", "已评价"), ("average_rating", "平均评分")),
    ),
)


def service_groups(service: ServiceSummary) -> list[Group]:
    return [
        Group(
            title, note, [Number(key, label, getattr(service.total, key)) for key, label in pairs]
        )
        for title, note, pairs in SERVICE_GROUPS
    ]
