"""The dashboard's pages: thin views over `report.tally_report`, `branch_lights` and the 心得 queue.

The figures are the REST API's (`GET /api/v1/tallies` returns the same `report.as_dict()`), so
the dashboard and the mini-program never disagree.  Query values are checked here and refused
with a 400 page naming the field; an organisation outside the caller's scope and one that does
not exist get the same 403 page (`Hidden`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode, urlsplit

import aiohttp_jinja2
from aiohttp import web

from server.activity import Submission, SubmissionStatus
from server.admin import links
from server.downloads import CSV, XLSX, attachment
from server.errors import PermissionDenied, ValidationFailed
from server.models import Member, Organisation, OrgKind
from server.services import report as tallies
from server.services import tally_export
from server.services.access import Scope, organisation_in_scope, scope_of
from server.services.compliance import PERIOD_NAMES, period
from server.services.compliance_status import branch_lights
from server.services.scope import subtree, under
from server.typedefs import ADMIN_TEMPLATES, CACHE, CLOCK, SETTINGS

LINK_SPENT = "这个登录链接已经用过、已经过期或无效。请在微信中重新发送「后台」获取新的链接。"
SHORTCUTS = (("year", "今年", 12), ("quarter", "本季度", 3), ("month", "本月", 1))
FORMATS = ("xlsx", "csv")
PENDING_SHOWN = 20
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ID = re.compile(r"[1-9]\d{0,9}")
FIELD_NAMES = {
    "org": "组织", "from": "开始日期", "to": "结束日期", "by": "分组方式", "format": "导出格式",
}  # fmt: skip
# The headline figures, in the order shown: (TallyRow field, label).
HEADLINE = (
    ("organised_study", "组织学习人次"),
    ("members_studied", "参学党员"),
    ("self_study", "自学人次"),
    ("check_ins", "打卡人次"),
    ("exchange_person_times", "交流体会人次"),
    ("submitted", "心得提交"),
    ("approved", "心得通过"),
    ("meetings_held", "会议召开"),
    ("attendance_rate", "出勤率"),
    ("active_members", "党员数"),
)


def add_routes(admin: web.Application) -> None:
    admin.router.add_get("", overview, name="overview")
    admin.router.add_get("/", overview)
    admin.router.add_get("/signin", sign_in_hint, name="signin")
    admin.router.add_get("/login", login_page, name="login")
    admin.router.add_post("/login", login)
    admin.router.add_post("/logout", logout, name="logout")
    admin.router.add_get("/export", export, name="export")


def render(
    request: web.Request, template: str, context: dict[str, Any], status: int = 200
) -> web.Response:
    return aiohttp_jinja2.render_template(
        template, request, context, status=status, app_key=ADMIN_TEMPLATES
    )


def message_page(
    request: web.Request, title: str, text: str, *, status: int, field: str | None = None
) -> web.Response:
    context = {"title": title, "text": text, "field": field, "field_name": FIELD_NAMES.get(field)}
    return render(request, "message.html", context, status=status)


# ---- signing in ----------------------------------------------------------------------------


async def signed_in(request: web.Request) -> Member:
    """The member behind the session cookie; without one, off to the page that says how."""
    member = await links.session_member(
        request.config_dict[CACHE], request.config_dict[SETTINGS], request.cookies.get(links.COOKIE)
    )
    if member is None:
        raise web.HTTPSeeOther(location="/admin/signin")
    return member


def _same_origin(request: web.Request) -> None:
    """A form posted from another site is refused (the cookie is SameSite=Lax as well)."""
    origin = request.headers.get("Origin")
    if origin is None:
        return
    ours = {request.host, urlsplit(request.config_dict[SETTINGS].base_url).netloc}
    if urlsplit(origin).netloc not in ours:
        raise PermissionDenied("请求来源不正确，请从后台页面操作。")


async def sign_in_hint(request: web.Request) -> web.Response:
    signed_out = request.query.get("out") == "1"
    return render(request, "signin.html", {"title": "党建工作后台", "signed_out": signed_out})


async def login_page(request: web.Request) -> web.Response:
    # Only a page with a button: WeChat's link preview fetches the URL and must not use it up.
    token = request.query.get("t")
    if not await links.link_is_live(token, request.config_dict[CLOCK].now()):
        return message_page(request, "登录链接无效", LINK_SPENT, status=403)
    return render(request, "login.html", {"title": "进入后台", "token": token})


async def login(request: web.Request) -> web.Response:
    _same_origin(request)
    settings, cache = request.config_dict[SETTINGS], request.config_dict[CACHE]
    form = await request.post()
    token = form.get("t")
    member_id = await links.consume_link(
        token if isinstance(token, str) else None, request.config_dict[CLOCK].now()
    )
    member = await links.session_member_by_id(member_id) if member_id is not None else None
    if member is None:
        return message_page(request, "登录链接无效", LINK_SPENT, status=403)
    session = await links.open_session(cache, settings, member.id)
    response = web.Response(status=303, headers={"Location": "/admin"})
    response.set_cookie(
        links.COOKIE,
        session,
        max_age=settings.admin_session_ttl,
        path="/admin",
        httponly=True,
        samesite="Lax",
        secure=settings.base_url.startswith("https://"),
    )
    return response


async def logout(request: web.Request) -> web.Response:
    _same_origin(request)
    await links.close_session(
        request.config_dict[CACHE], request.config_dict[SETTINGS], request.cookies.get(links.COOKIE)
    )
    response = web.Response(status=303, headers={"Location": "/admin/signin?out=1"})
    response.del_cookie(links.COOKIE, path="/admin")
    return response


# ---- what is asked for ---------------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    org: Organisation
    start: date
    end: date
    today: date
    shortcut: str | None  # year, quarter or month when the period is one of those

    def query(self, **extra: str) -> str:
        """This selection as a query string, with `extra` values added or replaced."""
        values = {
            "org": str(self.org.id),
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
        }
        return urlencode({**values, **extra})


def _org_id(query: Any) -> int | None:
    raw = query.get("org", "").strip()
    if not raw:
        return None
    if not _ID.fullmatch(raw):
        raise ValidationFailed("组织编号应为正整数。", field="org")
    return int(raw)


def _date(query: Any, name: str) -> date | None:
    raw = query.get(name, "").strip()
    if not raw:
        return None
    if not _DATE.fullmatch(raw):
        raise ValidationFailed("日期应写成 年-月-日，例如 2026-03-01。", field=name)
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed("没有这一天，请检查日期。", field=name) from None


def shortcut_span(today: date, months: int) -> tuple[date, date]:
    """今年 / 本季度 / 本月: from the period's first day to today."""
    return period(today, months)[0], today


async def selection(request: web.Request, scope: Scope, by: str | None = None) -> Selection:
    query = request.query
    today = request.config_dict[CLOCK].today()
    org_id = _org_id(query)
    start, end = _date(query, "from"), _date(query, "to")
    start, end = tallies.default_period(start, end, today)  # none given: 今年 so far
    tallies.validate(start, end, by)
    org = await organisation_in_scope(scope, org_id)
    shortcut = next(
        (key for key, _, months in SHORTCUTS if shortcut_span(today, months) == (start, end)),
        None,
    )
    return Selection(org, start, end, today, shortcut)


# ---- pages ---------------------------------------------------------------------------------


async def overview(request: web.Request) -> web.Response:
    member = await signed_in(request)
    scope = await scope_of(member)
    sel = await selection(request, scope)
    settings, clock = request.config_dict[SETTINGS], request.config_dict[CLOCK]
    common = {"today": sel.today, "zone": settings.zone, "now": clock.now()}
    by_branch = await tallies.tally_report(sel.org, sel.start, sel.end, by="branch", **common)
    by_month = await tallies.tally_report(sel.org, sel.start, sel.end, by="month", **common)

    branch_ids = [row.org_id for row in by_branch.rows if row.org_id is not None]
    branches = {o.id: o for o in await Organisation.filter(id__in=branch_ids)}
    lights = await branch_lights(
        [branches[i] for i in branch_ids if i in branches],
        sel.today,
        settings.zone,
        settings.lecture_every,
        now=clock.now(),
    )
    pending = Submission.filter(under(sel.org.path), status=SubmissionStatus.PENDING)
    context = {
        "title": "党建工作后台",
        "member": member,
        "sel": sel,
        "report": by_branch,
        "headline": [(key, label, getattr(by_branch.total, key)) for key, label in HEADLINE],
        "lights": {bl.branch_id: bl for bl in lights},
        "lecture_name": PERIOD_NAMES[settings.lecture_every],
        "pending_total": await pending.count(),
        "pending": await pending.order_by("-created_at", "-id")
        .limit(PENDING_SHOWN)
        .prefetch_related("member", "organisation"),
        "orgs": await _switchable(scope),
        "shortcuts": [
            (key, name, sel.query(**_span(sel.today, months))) for key, name, months in SHORTCUTS
        ],
        "charts": _charts(by_month, by_branch),
        "exports": {fmt: "/admin/export?" + sel.query(format=fmt, by="branch") for fmt in FORMATS},
    }
    return render(request, "overview.html", context)


def _span(today: date, months: int) -> dict[str, str]:
    start, end = shortcut_span(today, months)
    return {"from": start.isoformat(), "to": end.isoformat()}


async def _switchable(scope: Scope) -> list[Organisation]:
    """The organisations a caller may pick: everything in scope down to branches (no groups)."""
    query = Organisation.exclude(kind=OrgKind.GROUP)
    if not scope.everything:
        path = scope.path or ""
        query = query.filter(subtree(path))
    return await query.order_by("path").limit(1000)


def _percent(rate: float | None) -> float | None:
    return None if rate is None else round(rate * 100, 1)


def _charts(by_month: tallies.TallyReport, by_branch: tallies.TallyReport) -> dict[str, Any]:
    """What the two charts draw; embedded in the page as JSON (the template escapes it)."""

    def series(rows: list[tallies.TallyRow]) -> dict[str, Any]:
        return {
            "labels": [row.label for row in rows],
            "study": [row.organised_study for row in rows],
            "attendance": [_percent(row.attendance_rate) for row in rows],
        }

    return {"months": series(by_month.rows), "branches": series(by_branch.rows)}


async def export(request: web.Request) -> web.Response:
    member = await signed_in(request)
    scope = await scope_of(member)
    fmt = request.query.get("format", "xlsx")
    if fmt not in FORMATS:
        raise ValidationFailed("导出格式只能是 xlsx 或 csv。", field="format")
    by = request.query.get("by", "branch") or "branch"
    sel = await selection(request, scope, by=by)
    settings = request.config_dict[SETTINGS]
    report = await tallies.tally_report(
        sel.org,
        sel.start,
        sel.end,
        by=by,
        today=sel.today,
        zone=settings.zone,
        now=request.config_dict[CLOCK].now(),
    )
    body, name, readable = tally_export.export(report, fmt)
    return attachment(body, XLSX if fmt == "xlsx" else CSV, name, readable)
