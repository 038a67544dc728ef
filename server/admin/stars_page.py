"""星级党员台账 on the dashboard: `/admin/stars?org=&year=`.

A branch (what its secretary lands on) is its ledger for the year: each member by 党小组 and
name, the evidence from the records with the records behind it (`/admin/stars/members/{id}`),
the suggestion, and the form that sets a star or 免评 with a reason; at the foot, confirming
the year at the 民主评议.  Above a branch (a 总支书记, the committee's staff) the page is how
far each branch is — members, 已评定, 免评, 待评定, 已确认 — counts in the tree's order, never
who has how many stars across branches.

Only leaders read it (`ledger.branch_led_by`); an organisation outside the caller's scope, or
a member outside the branch, is refused as one that does not exist.  The forms post here
(POST/redirect/GET); a refused one brings the page back with the refusal on top, the field
named, and nothing changed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from yarl import URL

from server.admin.community_forms import TOKEN, check_form, form_token, number, text
from server.admin.pages import message_page, render
from server.admin.selection import ancestors, org_id
from server.admin.signing import signed_in
from server.errors import Conflict, DangjianError, ValidationFailed
from server.models.member_stars import STARS, StarStatus
from server.models.people import Member, Organisation, OrgKind
from server.services.member_stars import evidence, ledger
from server.services.member_stars.rule import ATTENDANCE_SHARE, BASE
from server.services.member_stars.words import star_words, status_text
from server.services.people.access import (
    Hidden,
    NotAllowed,
    branches_in,
    is_leader,
    organisation_in_scope,
    scope_of,
)
from server.typedefs import CLOCK, SETTINGS

FIELDS = {"org": "组织", "member": "党员", "star": "星级", "reason": "理由", "year": "年度"}
FIELDS |= {"meeting": "民主评议会议"}


def _day_text(moment: datetime, zone: ZoneInfo) -> str:
    day = moment.astimezone(zone)
    return f"{day.year}年{day.month}月{day.day}日"


def _year(request: web.Request, raw: object) -> int:
    today = request.config_dict[CLOCK].now().astimezone(request.config_dict[SETTINGS].zone).date()
    value = raw.strip() if isinstance(raw, str) else ""
    if not value:
        return ledger.default_year(today)
    if not (value.isascii() and value.isdigit() and len(value) == 4):
        raise ValidationFailed("年度应为四位数字的年份。", field="year")
    return ledger.check_year(int(value), today)


async def stars_page(request: web.Request) -> web.Response:
    member = await signed_in(request)
    if not is_leader(member):
        raise NotAllowed(ledger.LEADERS_ONLY)
    scope = await scope_of(member)
    org = await organisation_in_scope(scope, org_id(request.query))
    year = _year(request, request.query.get("year", ""))
    return await page(request, member, org, year, done=request.query.get("done", "")[:200])


async def page(
    request: web.Request,
    member: Member,
    org: Organisation,
    year: int,
    *,
    done: str = "",
    error: DangjianError | None = None,
    failed: dict[str, str] | None = None,
) -> web.Response:
    settings, now = request.config_dict[SETTINGS], request.config_dict[CLOCK].now()
    scope = await scope_of(member)
    today = now.astimezone(settings.zone).date()
    context: dict[str, Any] = {
        "title": f"星级党员台账 · {org.name}",
        "member": member,
        "org": org,
        "year": year,
        "years": [y for y in (year - 1, year + 1) if ledger.FIRST_YEAR <= y <= today.year],
        "trail": await ancestors(scope, org),
        "done": done,
        "error": error,
        "error_field": FIELDS.get(error.field or "") if error is not None else None,
        "failed": failed or {},
        "token": form_token(request),
        "stars": list(STARS),
        "star_words": star_words,
        "share": int(ATTENDANCE_SHARE * 100),
        "base": BASE,
        "book": None,
    }
    if org.kind is OrgKind.BRANCH:
        book = await ledger.ledger(org, year, now, settings)
        meetings = await ledger.appraisal_meetings(org, year, now, settings.zone)
        context |= {
            "book": book,
            "counts": {s.value: book.count(s) for s in StarStatus},
            "meetings": meetings,
            "meeting_of": {m.id: m for m in meetings},
            "confirmed_on": _day_text(book.confirmed.confirmed_at, settings.zone)
            if book.final and book.confirmed and book.confirmed.confirmed_at
            else "",
        }
    else:
        branches = [b for b in await branches_in(scope) if b.path.startswith(org.path + "/")]
        context["progress"] = await ledger.progress(branches, year)
    status = error.http_status if error is not None else 200
    return render(request, "stars.html", context, status=status)


async def member_page(request: web.Request) -> web.Response:
    """One member's years: the records behind this year's figures, and every decision."""
    member = await signed_in(request)
    raw = request.match_info["id"]
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        raise Hidden()
    target = await Member.get_or_none(id=int(raw))
    if target is None:
        raise Hidden()
    branch = await ledger.branch_led_by(member, target.organisation_id)
    settings, now = request.config_dict[SETTINGS], request.config_dict[CLOCK].now()
    year = _year(request, request.query.get("year", ""))
    found = (await evidence.gather([target], year, now, settings))[target.id]
    context = {
        "title": f"{target.name} · 星级党员",
        "member": member,
        "target": target,
        "branch": branch,
        "year": year,
        "evidence": found,
        "lines": await evidence.lines(target, year, now, settings.zone),
        "history": await ledger.history(target.id),
        "status_text": status_text,
        "zone": settings.zone,
    }
    return render(request, "stars_member.html", context)


# --- the forms ----------------------------------------------------------------------------


async def _act(request: web.Request, form_name: str) -> web.Response:
    member = await signed_in(request)
    form = await request.post()
    branch: Organisation | None = None
    year: int | None = None
    try:
        check_form(request, form, "星级党员台账")
        branch = await ledger.branch_led_by(member, number(form.get("org"), "org"))
        year = _year(request, form.get("year"))
        now = request.config_dict[CLOCK].now()
        if form_name == "decide":
            choice = text(form, "star")
            exempt = choice == "exempt"
            star = None if exempt else number(choice, "star")
            row = await ledger.decide(
                member,
                branch,
                number(form.get("member"), "member"),
                year,
                star=star,
                exempt=exempt,
                reason=text(form, "reason"),
                now=now,
            )
            who = await Member.get(id=row.member_id)
            done = f"已记录：{who.name} {year}年度 {status_text(row)}。"
            anchor = f"m-{row.member_id}"
        else:
            raw = text(form, "meeting")
            meeting = number(raw, "meeting") if raw else None
            zone = request.config_dict[SETTINGS].zone
            await ledger.confirm(member, branch, year, meeting, now, zone)
            done, anchor = f"{year}年度星级党员台账已确认。", "confirm"
    except (ValidationFailed, Conflict) as exc:
        if branch is None or year is None:
            return message_page(
                request, "未能完成", exc.user_message, status=exc.http_status, field=exc.field
            )
        sent = {k: v for k, v in form.items() if isinstance(v, str) and k != TOKEN}
        return await page(request, member, branch, year, error=exc, failed=sent)
    location = URL("/admin/stars").with_query(org=branch.id, year=year, done=done)
    raise web.HTTPSeeOther(location=str(location.with_fragment(anchor)))


async def decide(request: web.Request) -> web.Response:
    return await _act(request, "decide")


async def confirm(request: web.Request) -> web.Response:
    return await _act(request, "confirm")
