"""五星支部 on the dashboard: `/admin/five-star?org=&year=`.

Above a branch (党工委 staff, a 总支书记) the page is the year: open it, edit its copy of the
scheme until a branch applies, each branch's stage and levels in the tree's order (never by
score), publish the 公示 list and finalise.  A branch (what a secretary lands on, and what each
row opens) is its assessment: the areas' points, each item with the records' figure and the
links to its evidence or the branch's own score and note, adjustments with their reasons, every
step with who and when, and the forms the caller may use at this stage.  The forms post to
`five_star_actions`.  An organisation outside the caller's scope is refused as one that does not
exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from server.admin.community_forms import form_token
from server.admin.pages import render
from server.admin.selection import ancestors, org_id
from server.admin.signing import signed_in
from server.errors import DangjianError, ValidationFailed
from server.models.five_star import STAGE_WORDS, BranchAssessment, Objection, Stage
from server.models.people import Member, Organisation, OrgKind, Role
from server.services.five_star import cycle as cycles
from server.services.five_star.cycle import STAR_WORDS, stars
from server.services.five_star.evidence import Basis, Figure
from server.services.five_star.scheme import Item
from server.services.five_star.standing import BranchStanding, branch_standing
from server.services.people.access import (
    Scope,
    branches_in,
    organisation_in_scope,
    require_dashboard,
    scope_of,
)
from server.services.people.org_order import in_tree_order
from server.typedefs import CLOCK, SETTINGS

FIELDS = {
    "org": "组织",
    "year": "年度",
    "item": "评分指标",
    "score": "得分",
    "note": "说明",
    "level": "星级",
    "reason": "调整理由",
    "meeting_on": "会议日期",
    "meeting_ref": "会议名称或文号",
    "days": "公示天数",
    "raised_by": "提出人",
    "text": "异议内容",
    "answer": "答复",
    "scheme": "评星方案",
    "stage": "环节",
    "id": "编号",
    "photo": "照片",
}


def basis_of(request: web.Request) -> Basis:
    """Now, and the settings the records are read by."""
    settings, now = request.config_dict[SETTINGS], request.config_dict[CLOCK].now()
    today = now.astimezone(settings.zone).date()
    return Basis(today, now, settings.zone, settings.lecture_every, settings.mobile_contact_days)


def year_of(raw: str, this_year: int) -> int:
    if not raw:
        return this_year
    if not raw.isascii() or not raw.isdigit() or len(raw) != 4:
        raise ValidationFailed("年度应为四位数字，例如 2026。", field="year")
    return cycles.check_year(int(raw))


async def five_star_page(request: web.Request) -> web.Response:
    member = await signed_in(request)
    require_dashboard(member)
    scope = await scope_of(member)
    org = await organisation_in_scope(scope, org_id(request.query))
    today = request.config_dict[CLOCK].now().astimezone(request.config_dict[SETTINGS].zone).date()
    year = year_of(request.query.get("year", "").strip(), today.year)
    return await page(request, member, scope, org, year, done=request.query.get("done", "")[:200])


@dataclass
class Line:
    """One item as the branch's page shows it."""

    item: Item
    score: int  # as it stands
    figure: Figure | None  # the records' figure now (a record item)
    frozen: str  # the records' figure as the branch applied with it
    note: str
    by: str
    photo: int | None  # the score's id, when it has a photo
    adjustments: list[dict[str, Any]]


async def page(
    request: web.Request,
    member: Member,
    scope: Scope,
    org: Organisation,
    year: int,
    *,
    done: str = "",
    error: DangjianError | None = None,
    failed: dict[str, str] | None = None,
) -> web.Response:
    settings, clock = request.config_dict[SETTINGS], request.config_dict[CLOCK]
    now = clock.now()
    today = now.astimezone(settings.zone).date()
    context: dict[str, Any] = {
        "title": f"五星支部 · {org.name}",
        "member": member,
        "org": org,
        "year": year,
        "trail": await ancestors(scope, org),
        "done": done,
        "error": error,
        "error_field": FIELDS.get(error.field or "") if error is not None else None,
        "failed": failed or {},
        "token": form_token(request),
        "stars": stars,
        "star_words": STAR_WORDS,
        "stage_words": STAGE_WORDS,
        "is_staff": cycles.is_staff(member),
        "local": lambda moment: moment.astimezone(settings.zone).strftime("%Y-%m-%d %H:%M"),
        "branch": None,
    }
    cycle = await cycles.cycle_of(year)
    context["cycle"] = cycle
    if org.kind is OrgKind.BRANCH:
        s = await branch_standing(org, year, basis_of(request))
        context |= await _branch(member, s, today)
    else:
        context |= await _year(scope, org, year, cycle)
    status = error.http_status if error is not None else 200
    return render(request, "five_star.html", context, status=status)


async def _names(ids: set[int | None]) -> dict[int | None, str]:
    known = {i for i in ids if i is not None}
    rows = await Member.filter(id__in=known).values_list("id", "name") if known else []
    return {None: "系统"} | {int(i): str(n) for i, n in rows}


async def _branch(member: Member, s: BranchStanding, today: Any) -> dict[str, Any]:
    a = s.assessment
    objections = await Objection.filter(assessment_id=a.id).order_by("id") if a is not None else []
    names = await _names(
        {r.by_id for r in s.own.values()}
        | {r.by_id for r in s.adjustments}
        | {r.by_id for r in s.steps}
        | {o.recorded_by_id for o in objections}
        | {o.answered_by_id for o in objections}
    )
    areas = []
    for area, standing in zip(s.scheme.areas, s.areas, strict=True):
        lines = []
        for item in area.items:
            own = s.own.get(item.key)
            lines.append(
                Line(
                    item,
                    s.scores.get(item.key, 0),
                    s.figures.get(item.key),
                    own.figure if own is not None and own.auto else "",
                    own.note if own is not None else "",
                    names.get(own.by_id, "") if own is not None and not own.auto else "",
                    own.id if own is not None and own.photo else None,
                    [
                        {"row": x, "by": names.get(x.by_id, "")}
                        for x in s.adjustments
                        if x.item == item.key
                    ],
                )
            )
        areas.append({"area": area, "standing": standing, "lines": lines})
    stage = a.stage if a is not None else None
    drafting = s.cycle is not None and (stage is None or stage is Stage.DRAFT)
    reviewer = await cycles.reviewer(a) if a is not None else None
    may_review = False
    if reviewer == cycles.GENERAL:
        general = await cycles.general_branch_of(s.branch)
        may_review = (
            general is not None
            and member.organisation_id == general.id
            and member.role is Role.GENERAL_SECRETARY
        )
    elif reviewer == cycles.COMMITTEE:
        may_review = cycles.is_staff(member)
    staff = cycles.is_staff(member)
    open_for_objections = (
        staff
        and stage is Stage.PUBLICISED
        and s.cycle is not None
        and s.cycle.publicity_end is not None
        and today <= s.cycle.publicity_end
    )
    return {
        "branch": s,
        "areas": areas,
        "steps": [{"row": x, "by": names.get(x.by_id, "")} for x in s.steps],
        "objections": [
            {
                "row": o,
                "by": names.get(o.recorded_by_id, ""),
                "answered_by": names.get(o.answered_by_id, ""),
            }
            for o in objections
        ],
        "self_items": [i for i in s.scheme.items() if not i.auto],
        "all_items": s.scheme.items(),
        "may_score": drafting and cycles.leads_branch(member, s.branch),
        "levels": list(range(1, s.reached + 1)),
        "reviewer": reviewer,
        "may_review": may_review,
        "may_decide": staff and stage in (Stage.COMMITTEE_REVIEWED, Stage.DECIDED),
        "decide_levels": list(range(s.reached, -1, -1)),
        "may_object": open_for_objections,
        "may_answer": staff,
        "latest": today.isoformat(),
    }


async def _year(scope: Scope, org: Organisation, year: int, cycle: Any) -> dict[str, Any]:
    found = [b for b in await branches_in(scope) if b.path.startswith(org.path + "/")]
    branches = await in_tree_order(found)
    by_branch: dict[int, BranchAssessment] = {}
    if cycle is not None:
        rows = await BranchAssessment.filter(
            cycle_id=cycle.id, branch_id__in=[b.id for b in branches]
        )
        by_branch = {r.branch_id: r for r in rows}
    applied = any(r.stage is not Stage.DRAFT for r in by_branch.values())
    listed = await cycles.publicity_list(cycle) if cycle and cycle.publicity_start else []
    return {
        "rows": [{"branch": b, "assessment": by_branch.get(b.id)} for b in branches],
        "scheme_text": cycle.scheme_text if cycle else await cycles.scheme_in_force(),
        "scheme_fixed": applied,
        "listed": [x for x in listed if x.branch.path.startswith(org.path + "/")],
        "publicity_days": 7,
    }
