"""The 流动党员 page's forms: 登记流出, 记录联系, 记录查找, 指定联系人, and 确认 / 不确认 a 流入
report.

Each calls the service chat and the API call, and comes back to the branch's page with a line
saying what was done (POST/redirect/GET).  A form the rules refuse (a reason not on the list,
a date ahead of today, a member already recorded) brings the page back with the refusal on
top, the field named and the form as it was sent; nothing has changed, for the services check
everything before they write.  A refusal of who may do it — a branch outside the caller's
scope, another branch's member or report, a form not from our page — is the dashboard's one
refusal page, the same as for an id that does not exist.

A 联系人 keeps in touch from here, so the page names none who is 流出 (nor the member
themselves, which the service refuses): the choice the page never offers is refused if sent.

Forms carry the session's form token as the 社区服务 forms do (`community_forms.form_token`).
Whom chat tells, the page tells (`mobility.notify`, through the outbox): the member registered
流出, the WeChat user whose 流入 report was decided.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from aiohttp import web
from yarl import URL

from server.admin import mobile_page
from server.admin.community_forms import TOKEN, check_form, number, text
from server.admin.community_tell import tidings
from server.admin.pages import message_page
from server.admin.signing import signed_in
from server.errors import Conflict, DangjianError, ValidationFailed
from server.models.mobility import Direction, LostAttempt, MobileMember
from server.models.people import Member, Organisation, OrgKind
from server.services.mobility import contacts, incoming, lost, notify, outgoing
from server.services.mobility.lost import SEARCH_EXAMPLE
from server.services.mobility.words import METHODS, check_reason, check_text, day_of
from server.services.people.access import Hidden, Scope, scope_of
from server.typedefs import CLOCK, IDENTITIES, SETTINGS


@dataclass
class Step:
    request: web.Request
    member: Member
    form: Any
    scope: Scope | None = None
    branch: Organisation | None = None  # once the form's branch is known to be in scope

    @property
    def now(self) -> datetime:
        return self.request.config_dict[CLOCK].now()

    @property
    def today(self) -> date:
        return self.now.astimezone(self.request.config_dict[SETTINGS].zone).date()

    async def target(self) -> Member:
        """The member the form names: one of this branch's, or refused as unknown."""
        assert self.branch is not None
        found = await Member.get_or_none(id=number(self.form.get("member"), "member"))
        if found is None or found.organisation_id != self.branch.id:
            raise Hidden()
        return found


Act = Callable[[Step], Awaitable[str]]


async def _branch(scope: Scope, raw: object) -> Organisation:
    found = await Organisation.get_or_none(id=number(raw, "org"))
    if found is None or found.kind is not OrgKind.BRANCH or not scope.covers(found.path):
        raise Hidden()
    return found


async def run(request: web.Request, act: Act, anchor: str) -> web.Response:
    member = await signed_in(request)
    form = await request.post()
    step = Step(request, member, form)
    try:
        check_form(request, form, "流动党员")
        step.scope = await scope_of(member)
        step.branch = await _branch(step.scope, form.get("org"))
        done = await act(step)
    except (ValidationFailed, Conflict) as exc:
        if step.branch is None or step.scope is None:
            return _refused(request, exc)
        sent = {k: v for k, v in form.items() if isinstance(v, str) and k != TOKEN}
        return await mobile_page.page(
            request, member, step.scope, step.branch, error=exc, failed=sent
        )
    except DangjianError as exc:
        return _refused(request, exc)
    assert step.branch is not None
    location = URL("/admin/mobile").with_query(org=step.branch.id, done=done)
    raise web.HTTPSeeOther(location=str(location.with_fragment(anchor)))


def _refused(request: web.Request, exc: DangjianError) -> web.Response:
    return message_page(
        request, "未能完成", exc.user_message, status=exc.http_status, field=exc.field
    )


def _day(step: Step, name: str) -> date | None:
    raw = text(step.form, name)
    return day_of(raw, step.today, name) if raw else None


async def _keeper(step: Step, target: Member) -> int | None:
    """The 联系人 the form chose: none, or a member at home (the service checks the rest)."""
    raw = text(step.form, "keeper")
    if not raw:
        return None
    keeper_id = number(raw, "keeper")
    if keeper_id == target.id:
        raise ValidationFailed("联系人不能是本人。", field="keeper")
    if await Member.exists(id=keeper_id, is_mobile=True):
        raise ValidationFailed("联系人应是在本地的党员，不能是流出党员。", field="keeper")
    return keeper_id


def _cadence(raw: str) -> int | None:
    if not raw:
        return None  # the setting's default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 3:
        raise ValidationFailed("联系周期应在 7 到 366 天之间。", field="cadence_days")
    return int(raw)


# --- 登记流出 ---------------------------------------------------------------------------------


async def _mark_out(step: Step) -> str:
    target = await step.target()
    form = step.form
    out = outgoing.Outgoing(
        place=text(form, "place"),
        reason=check_reason(text(form, "reason")),
        since=_day(step, "since"),
        reach=text(form, "reach"),
        other_org=text(form, "other_org"),
        certificate=text(form, "certificate"),
        keeper_id=await _keeper(step, target),
        cadence_days=_cadence(text(form, "cadence_days")),
    )
    record = await outgoing.mark_out(step.member, target, out, step.today, step.now)
    keeper_of = await Member.get_or_none(id=record.keeper_id) if record.keeper_id else None
    told = tidings(step.request)
    await notify.marked_out(told, record, target, keeper_of, step.now)
    told.wake()
    heard = "将通知本人。" if told.names("mobile_out") else "本人未绑定微信，请当面或电话告知。"
    return f"已登记{target.name}流出：{record.place}，{record.reason}。{heard}"


async def mark_out(request: web.Request) -> web.Response:
    return await run(request, _mark_out, "list")


# --- 记录联系 ---------------------------------------------------------------------------------


async def _contact(step: Step) -> str:
    target = await step.target()
    channel = text(step.form, "channel")
    logged = await contacts.log_contact(
        step.member,
        target,
        text(step.form, "note"),
        step.today,
        step.now,
        channel=channel,
        day=_day(step, "day"),
    )
    day = f"{logged.day.month}月{logged.day.day}日"
    return f"已记录{day}与{target.name}的联系（{logged.channel}）。"


async def contact(request: web.Request) -> web.Response:
    return await run(request, _contact, "list")


# --- 指定联系人 -------------------------------------------------------------------------------


async def _set_keeper(step: Step) -> str:
    target = await step.target()
    keeper_id = await _keeper(step, target)
    if keeper_id is None:
        raise ValidationFailed("请选择联系人。", field="keeper")
    record = await outgoing.amend(step.member, target, keeper_id=keeper_id)
    keeper = await Member.get(id=record.keeper_id or keeper_id)
    return f"已指定{keeper.name}为{target.name}的联系人。"


async def keeper(request: web.Request) -> web.Response:
    return await run(request, _set_keeper, "list")


# --- 记录查找 ---------------------------------------------------------------------------------


async def _search(step: Step) -> str:
    target = await step.target()
    method = text(step.form, "method")
    if method not in METHODS:
        raise ValidationFailed(f"查找方式请选：{'、'.join(METHODS)}。", field="method")
    note = check_text(text(step.form, "note"), "note", 300, SEARCH_EXAMPLE)
    # The service reads the way from the text's first word, as chat's 查找 姓名 方式 经过.
    case, _ = await lost.search(step.member, target, f"{method} {note}", step.today, step.now)
    tried = await LostAttempt.filter(case_id=case.id).count()
    return f"已记录查找{target.name}的经过（{method}），这是第 {tried} 次查找。"


async def search(request: web.Request) -> web.Response:
    return await run(request, _search, "todo")


# --- 流入报到 ---------------------------------------------------------------------------------


async def _decide(step: Step) -> str:
    assert step.branch is not None
    found = await MobileMember.get_or_none(
        id=number(step.request.match_info["id"], "id"), direction=Direction.IN
    )
    if found is None or found.branch_id != step.branch.id:
        raise Hidden()
    confirm = step.request.match_info["action"] == "confirm"
    why = "" if confirm else text(step.form, "reason")
    identities = step.request.config_dict[IDENTITIES]
    offsets = step.request.config_dict[SETTINGS].reminder_schedule
    record = await incoming.decide_in(
        step.member, found.id, confirm, why, step.now, identities, offsets
    )
    told = tidings(step.request)
    await notify.incoming_decided(told, record, step.now)
    told.wake()
    heard = "将通知本人。" if told.names("mobile_decided") else "本人暂时收不到推送，请电话告知。"
    if confirm:
        return (
            f"已确认{record.name}的流入报到：参加本支部的组织生活和学习，"
            f"不计入本支部党员数，没有表决权、选举权和被选举权。{heard}"
        )
    return f"未确认{record.name}的流入报到（原因：{record.refuse_reason}）。{heard}"


async def decide(request: web.Request) -> web.Response:
    return await run(request, _decide, "pending")
