"""The 五星支部 page's forms: 开启, 方案, 自评, 申报, 调整, 审核, 决定, 公示, 异议, 答复, 确定.

Each calls the cycle's service with the signed-in member as the actor and comes back to the page
with a line saying what was done (POST/redirect/GET).  A refusal by the rules (a score above the
item's points, a missing reason, a step out of turn) brings the page back with the refusal on
top, the field named and the form as it was sent; nothing has changed, for the service checks
everything before it writes.  A refusal of who may do it — an organisation outside the
caller's scope, a form not from our page — is the dashboard's one refusal page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from aiohttp import web
from yarl import URL

from server.admin import five_star_page
from server.admin.community_forms import TOKEN, check_form, number, text
from server.admin.pages import message_page
from server.admin.signing import signed_in
from server.errors import Conflict, DangjianError, ValidationFailed
from server.models.five_star import BranchAssessment, ItemScore, Objection, StarCycle
from server.models.people import Member, Organisation, OrgKind
from server.services.five_star import cycle as cycles
from server.services.five_star import photos
from server.services.people.access import Hidden, Scope, organisation_in_scope, scope_of
from server.typedefs import CLOCK, SETTINGS

PAGE = "五星支部"


@dataclass
class Step:
    request: web.Request
    member: Member
    form: Any
    scope: Scope
    org: Organisation
    year: int

    @property
    def now(self) -> datetime:
        return self.request.config_dict[CLOCK].now()

    @property
    def today(self) -> date:
        return self.now.astimezone(self.request.config_dict[SETTINGS].zone).date()

    async def cycle(self) -> StarCycle:
        found = await cycles.cycle_of(self.year)
        if found is None:
            raise Conflict(f"{self.year}年度评星尚未开启。", field="year")
        return found

    async def assessment(self) -> BranchAssessment:
        if self.org.kind is not OrgKind.BRANCH:
            raise Hidden()
        return await cycles.assessment_of(await self.cycle(), self.org)


Act = Callable[[Step], Awaitable[str]]


def _int(form: Any, name: str, what: str) -> int:
    raw = text(form, name)
    if not raw.isascii() or not raw.lstrip("-").isdigit() or len(raw) > 4:
        raise ValidationFailed(f"{what}应为整数。", field=name)
    return int(raw)


def _day(form: Any, name: str) -> date:
    try:
        return date.fromisoformat(text(form, name))
    except ValueError:
        raise ValidationFailed("请选择会议日期。", field=name) from None


async def run(request: web.Request, act: Act) -> web.Response:
    member = await signed_in(request)
    form = await request.post()
    step: Step | None = None
    try:
        check_form(request, form, PAGE)
        scope = await scope_of(member)
        raw_org = text(form, "org")
        org = await organisation_in_scope(scope, number(raw_org, "org") if raw_org else None)
        zone = request.config_dict[SETTINGS].zone
        this_year = request.config_dict[CLOCK].now().astimezone(zone).year
        year = five_star_page.year_of(text(form, "year"), this_year)
        step = Step(request, member, form, scope, org, year)
        done = await act(step)
    except (ValidationFailed, Conflict) as exc:
        if step is None:
            return _refused(request, exc)
        sent = {k: v for k, v in form.items() if isinstance(v, str) and k != TOKEN}
        return await five_star_page.page(
            request, member, step.scope, step.org, step.year, error=exc, failed=sent
        )
    except DangjianError as exc:
        return _refused(request, exc)
    location = URL("/admin/five-star").with_query(org=step.org.id, year=step.year, done=done)
    raise web.HTTPSeeOther(location=str(location))


def _refused(request: web.Request, exc: DangjianError) -> web.Response:
    return message_page(
        request, "未能完成", exc.user_message, status=exc.http_status, field=exc.field
    )


# --- the year ---------------------------------------------------------------------------------


async def _open(step: Step) -> str:
    await cycles.open_cycle(step.member, step.year, step.now)
    return f"已开启{step.year}年度五星支部评星。"


async def _scheme(step: Step) -> str:
    cycle = await step.cycle()
    raw = step.form.get("scheme", "")
    await cycles.save_scheme(step.member, cycle, raw if isinstance(raw, str) else "", step.now)
    return f"{step.year}年度评星方案已保存。"


async def _publish(step: Step) -> str:
    cycle = await step.cycle()
    days = _int(step.form, "days", "公示天数")
    listed = await cycles.publish(step.member, cycle, days, today=step.today, now=step.now)
    return f"已公示 {len(listed)} 个支部的星级，公示期 {days} 天。"


async def _finalise(step: Step) -> str:
    n = await cycles.finalise(step.member, await step.cycle(), today=step.today, now=step.now)
    return f"公示期满，{n} 个支部的星级已确定。"


# --- a branch ---------------------------------------------------------------------------------


async def _score(step: Step) -> str:
    assessment = await step.assessment()
    item = text(step.form, "item")
    score = _int(step.form, "score", "得分")
    note = text(step.form, "note")
    upload = step.form.get("photo")
    photo = None
    if isinstance(upload, web.FileField) and upload.filename:
        # Everything else checked before the file is kept: a refusal leaves nothing behind.
        await cycles.check_self_score(step.member, assessment, item, score, note)
        photo = photos.keep(step.request.config_dict[SETTINGS].data_dir, upload.file.read())
    await cycles.self_score(step.member, assessment, item, score, note, step.now, photo=photo)
    return "自评分已保存。" + ("照片已附上。" if photo else "")


async def _apply(step: Step) -> str:
    assessment = await step.assessment()
    level = _int(step.form, "level", "申报星级")
    await cycles.apply(step.member, assessment, level, five_star_page.basis_of(step.request))
    return f"已申报{cycles.STAR_WORDS[level]}支部。"


async def _adjust(step: Step) -> str:
    assessment = await step.assessment()
    score = _int(step.form, "score", "得分")
    item = text(step.form, "item")
    await cycles.adjust(step.member, assessment, item, score, text(step.form, "reason"), step.now)
    return "已调整得分，理由已记录。"


async def _review(step: Step) -> str:
    assessment = await step.assessment()
    done = await cycles.review(step.member, assessment, text(step.form, "note"), step.now)
    return f"审核完成：{five_star_page.STAGE_WORDS[done.stage]}。"


async def _decide(step: Step) -> str:
    assessment = await step.assessment()
    level = _int(step.form, "level", "星级")
    await cycles.decide(
        step.member, assessment, level, _day(step.form, "meeting_on"),
        text(step.form, "meeting_ref"), text(step.form, "note"), today=step.today, now=step.now,
    )  # fmt: skip
    return f"已记录党工委会议决定：{cycles.STAR_WORDS[level]}。"


async def _object(step: Step) -> str:
    assessment = await step.assessment()
    await cycles.record_objection(
        step.member, assessment, text(step.form, "raised_by"), text(step.form, "text"),
        today=step.today, now=step.now,
    )  # fmt: skip
    return "异议已登记，请答复。"


async def _answer(step: Step) -> str:
    assessment = await step.assessment()
    found = await Objection.get_or_none(
        id=number(step.form.get("id"), "id"), assessment_id=assessment.id
    )
    if found is None:
        raise Hidden()
    await cycles.answer_objection(step.member, found, text(step.form, "answer"), step.now)
    return "已答复异议。"


ACTS: dict[str, Act] = {
    "open": _open,
    "scheme": _scheme,
    "publish": _publish,
    "finalise": _finalise,
    "score": _score,
    "apply": _apply,
    "adjust": _adjust,
    "review": _review,
    "decide": _decide,
    "object": _object,
    "answer": _answer,
}


async def act(request: web.Request) -> web.Response:
    found = ACTS.get(request.match_info["action"])
    if found is None:
        raise web.HTTPNotFound()
    return await run(request, found)


async def photo(request: web.Request) -> web.Response:
    """/admin/five-star/photos/{id}: the photo of a self-scored item, within the scope."""
    member = await signed_in(request)
    raw = request.match_info["id"]
    row = await ItemScore.get_or_none(id=int(raw)) if len(raw) < 10 else None
    if row is None or row.photo is None:
        raise Hidden()
    assessment = await BranchAssessment.get(id=row.assessment_id)
    await organisation_in_scope(await scope_of(member), assessment.branch_id)
    body, mime = photos.read(request.config_dict[SETTINGS].data_dir, row.photo)
    return web.Response(body=body, content_type=mime)


def add_routes(admin: web.Application) -> None:
    admin.router.add_get("/five-star", five_star_page.five_star_page, name="five-star")
    admin.router.add_get(r"/five-star/photos/{id:\d+}", photo)
    admin.router.add_post(r"/five-star/{action:[a-z]+}", act)
