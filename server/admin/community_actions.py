"""The 社区服务 page's forms: 下单, 不受理, 确认 / 退回报到, 确认完成, 撤销, 发布 (the staff's
报到单位 are in `community_units`).

Each calls the service the API and chat call, tells whom chat tells (`community_tell`), and
comes back to the page with a line saying what was done (POST/redirect/GET).  A form that the
rules refuse (a time gone by, no reason, a need already dispatched) brings the page back with
the refusal on top, the field named and the form as it was sent; nothing has changed.  A
refusal of who may do it (a member who runs no community, another community's id, a form not
from our page) is the dashboard's one refusal page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from yarl import URL

from server.admin import community_page
from server.admin import community_tell as tell
from server.admin.community_forms import (
    capacity,
    check_form,
    local_time,
    managed,
    number,
    one_of,
    text,
)
from server.admin.pages import message_page
from server.admin.signing import signed_in
from server.errors import Conflict, DangjianError, ValidationFailed
from server.models.community import Community, ReportUnit, UnitCommunity, Volunteer
from server.models.people import Member
from server.services.community import needs, orders, volunteers
from server.services.people.access import Hidden
from server.typedefs import CLOCK


@dataclass
class Step:
    request: web.Request
    member: Member
    form: Any
    mine: list[Community]
    community: Community | None = None  # once the form's target is known to be ours
    back: str = ""  # where to come back to, when not the community's page

    @property
    def target(self) -> int:
        return number(self.request.match_info.get("id", ""), "id")

    def ours(self, community_id: int) -> Community:
        for community in self.mine:
            if community.id == community_id:
                self.community = community
                return community
        raise Hidden()


Act = Callable[[Step], Awaitable[str]]


async def run(request: web.Request, act: Act, anchor: str) -> web.Response:
    member = await signed_in(request)
    form = await request.post()
    step = Step(request, member, form, [])
    try:
        check_form(request, form)
        step.mine = await managed(member)
        done = await act(step)
    except (ValidationFailed, Conflict) as exc:
        if step.community is None:
            return _refused(request, exc)
        sent = {k: v for k, v in form.items() if isinstance(v, str) and k != "form_token"}
        return await community_page.page(
            request,
            member,
            step.mine,
            step.community,
            error=exc,
            failed=sent,
            problems=getattr(exc, "errors", None),
        )
    except DangjianError as exc:
        return _refused(request, exc)
    assert step.community is not None
    if step.back:
        location = URL(step.back).with_query(done=done)
    else:
        location = URL("/admin/community").with_query(c=step.community.id, done=done)
    raise web.HTTPSeeOther(location=str(location.with_fragment(anchor)))


def _refused(request: web.Request, exc: DangjianError) -> web.Response:
    return message_page(
        request, "未能完成", exc.user_message, status=exc.http_status, field=exc.field
    )


def now(step: Step) -> Any:
    return step.request.config_dict[CLOCK].now()


async def _spec(step: Step, community: Community) -> orders.OrderSpec:
    """The order as the form has it; a title left empty is 维修服务 and the like."""
    form, clock = step.form, step.request.config_dict[CLOCK]
    kind = text(form, "kind")
    unit = None
    if raw := text(form, "unit_id"):
        unit = await ReportUnit.get_or_none(id=number(raw, "unit_id"))
        if unit is None or not await UnitCommunity.exists(
            unit_id=unit.id, community_id=community.id
        ):
            raise ValidationFailed("这个报到单位没有与该社区结对。", field="unit_id")
    return orders.OrderSpec(
        kind=kind,
        title=text(form, "title") or (f"{kind}服务" if kind in orders.KINDS else ""),
        place=text(form, "place"),
        starts_at=local_time(text(form, "starts_at"), clock.zone, clock.now()),
        hours=orders.hours_from(text(form, "hours") or "1"),
        capacity=capacity(text(form, "capacity")),
        unit=unit,
    )


# --- 居民点单 ---------------------------------------------------------------------------------


async def _dispatch(step: Step) -> str:
    need = await needs.need_for_manager(step.member, step.target)
    community = step.ours(need.community_id)
    spec = await _spec(step, community)
    told = tell.tidings(step.request)
    order = await orders.dispatch(step.member, spec, now(step), need_id=need.id, tidings=told)
    heard = await tell.dispatched(told, order)
    return f"已下单：服务单 {order.id}（需求 {need.id}），{order.kind}·{order.title}。{heard}"


async def _refuse_need(step: Step) -> str:
    need = await needs.need_for_manager(step.member, step.target)
    step.ours(need.community_id)
    why, told = text(step.form, "reason"), tell.tidings(step.request)
    need = await needs.refuse(step.member, need.id, why, now(step), tidings=told)
    return f"需求 {need.id} 不予受理（原因：{need.reason}），{tell.need_refused()}"


async def need_action(request: web.Request) -> web.Response:
    act = _dispatch if request.match_info["action"] == "dispatch" else _refuse_need
    return await run(request, act, "needs")


# --- 报到党员 ---------------------------------------------------------------------------------


async def _decide(step: Step) -> str:
    found = await Volunteer.get_or_none(id=step.target)
    if found is None:
        raise Hidden()
    step.ours(found.community_id)
    confirm = step.request.match_info["action"] == "confirm"
    told = tell.tidings(step.request)
    v = await volunteers.decide(
        step.member,
        found.id,
        now(step),
        confirm=confirm,
        grid=text(step.form, "grid"),
        reason=text(step.form, "reason"),
        tidings=told,
    )
    heard = tell.volunteer_decided(told)
    if confirm:
        return f"已确认{v.name}的报到{f'，编入{v.grid}' if v.grid else ''}。{heard}"
    return f"已退回{v.name}的报到（原因：{v.reason}）。{heard}"


async def volunteer_action(request: web.Request) -> web.Response:
    return await run(request, _decide, "volunteers")


# --- 服务单 -----------------------------------------------------------------------------------


async def _close(step: Step) -> str:
    order = await orders.order_for_manager(step.member, step.target)
    step.ours(order.community_id)
    if text(step.form, "back") == "order":
        step.back = f"/admin/community/orders/{order.id}"
    told = tell.tidings(step.request)
    if step.request.match_info["action"] == "complete":
        order = await orders.confirm_done(step.member, order.id, now(step), tidings=told)
        return f"已确认服务单 {order.id} 完成，会在晒单中展示。{tell.completed(order)}"
    why = text(step.form, "reason")
    order = await orders.cancel(step.member, order.id, why, now(step), tidings=told)
    return f"已撤销服务单 {order.id}。{await tell.cancelled(told, order)}"


async def order_action(request: web.Request) -> web.Response:
    return await run(request, _close, "orders")


async def _publish(step: Step) -> str:
    community = one_of(step.mine, step.form.get("c"))
    step.community = community
    spec = await _spec(step, community)
    told = tell.tidings(step.request)
    order = await orders.dispatch(
        step.member, spec, now(step), community_id=community.id, tidings=told
    )
    heard = await tell.dispatched(told, order)
    return f"已发布：服务单 {order.id}，{order.kind}·{order.title}。{heard}"


async def publish(request: web.Request) -> web.Response:
    return await run(request, _publish, "orders")
