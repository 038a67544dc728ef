"""社区服务: a community's side of 双报到 and the 四单制 on the dashboard.

`/admin/community?c=` is the desk of one community: the residents' needs waiting (下单 or
不受理 each), the members waiting to be confirmed, the open orders (确认完成, 撤销), the
community's own orders (发布), the latest completed ones and the paired 报到单位 (staff register
more, one by one or from a spreadsheet).  `/admin/community/orders/{id}` is one order with its
claims and every step.  The forms post to `community_actions`, which calls the services the API
and the chat call.

Only those who run a community (`roles.managed_by`) get past the first line; another community's
id, or an order of it, is refused exactly as one that does not exist (`Hidden`).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from server.admin import community_desk as desk
from server.admin.community_forms import FIELDS, form_token, is_staff, managed, number, one_of
from server.admin.pages import render
from server.admin.signing import signed_in
from server.errors import DangjianError
from server.models.community import (
    ORDER_STATUS_LABELS,
    Community,
    Need,
    NeedStatus,
    OrderStatus,
    ServiceOrder,
    Volunteer,
    VolunteerStatus,
)
from server.models.people import Member
from server.services.community import needs, orders, timeline, units, volunteers
from server.services.community.orders import KINDS
from server.typedefs import CLOCK


async def community_page(request: web.Request) -> web.Response:
    """/admin/community?c=: the desk, or — for one who runs several and names none — the list."""
    member = await signed_in(request)
    mine = await managed(member)
    raw = request.query.get("c", "")
    if not raw and len(mine) > 1:
        return await _pick(request, member, mine)
    community = one_of(mine, raw) if raw else mine[0]
    return await page(request, member, mine, community, done=request.query.get("done", "")[:200])


async def page(
    request: web.Request,
    member: Member,
    mine: list[Community],
    community: Community,
    *,
    done: str = "",
    error: DangjianError | None = None,
    failed: dict[str, Any] | None = None,
    problems: list[Any] | None = None,
) -> web.Response:
    """The desk; after a refused form, with the refusal on top and that form as it was sent."""
    clock = request.config_dict[CLOCK]
    zone, now = clock.zone, clock.now()
    waiting = await needs.needs_of(community)
    context: dict[str, Any] = {
        "title": f"社区服务 · {community.name}",
        "member": member,
        "community": community,
        "mine": mine,
        "done": done,
        "error": error,
        "error_field": FIELDS.get(error.field or "") if error is not None else None,
        "failed": failed or {},
        "problems": problems or [],
        "token": form_token(request),
        "needs": [(n, desk.at(n.created_at, zone)) for n in waiting],
        "volunteers": [
            (v, desk.at(v.registered_at, zone)) for v in await volunteers.pending(community)
        ],
        "open": await desk.open_orders(community, zone, now),
        "completed": await desk.completed_orders(community, zone, now),
        "units": await desk.paired_units(community),
        "posts": await desk.open_posts(community, zone),
        "kinds": KINDS,
        "unit_kinds": units.UNIT_KINDS,
        "most_places": orders.MOST_PLACES,
        "rating_days": orders.RATING_DAYS,
        "runs_community": True,
        "staff": is_staff(member),
        "earliest": now.astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
        "showcase": f"/community/{community.id}/showcase",
    }
    status = error.http_status if error is not None else 200
    return render(request, "community.html", context, status=status)


async def _pick(request: web.Request, member: Member, mine: list[Community]) -> web.Response:
    ids = [c.id for c in mine]

    async def count(query: Any) -> dict[int, int]:
        found: dict[int, int] = {}
        for community_id in await query.values_list("community_id", flat=True):
            found[community_id] = found.get(community_id, 0) + 1
        return found

    waiting = await count(Need.filter(community_id__in=ids, status=NeedStatus.NEW))
    pending = await count(Volunteer.filter(community_id__in=ids, status=VolunteerStatus.PENDING))
    open_ = await count(ServiceOrder.filter(community_id__in=ids, status=OrderStatus.OPEN))
    rows = [(c, waiting.get(c.id, 0), pending.get(c.id, 0), open_.get(c.id, 0)) for c in mine]
    context = {"title": "社区服务", "member": member, "rows": rows, "runs_community": True}
    return render(request, "community_pick.html", context)


async def order_page(request: web.Request) -> web.Response:
    """/admin/community/orders/{id}: one order, its claims, its resident, every step."""
    member = await signed_in(request)
    mine = await managed(member)
    order = await orders.order_for_manager(member, number(request.match_info["id"], "id"))
    community = next(c for c in mine if c.id == order.community_id)
    clock = request.config_dict[CLOCK]
    zone, now = clock.zone, clock.now()
    [line] = await desk.order_lines([order], zone, now)
    events = await timeline.timeline(order.need_id, order.id)
    context: dict[str, Any] = {
        "title": f"服务单 {order.id} · {community.name}",
        "member": member,
        "community": community,
        "line": line,
        "order": order,
        "status": OrderStatus(order.status).value,
        "status_label": ORDER_STATUS_LABELS[OrderStatus(order.status)],
        "claims": (await desk.claim_lines([order.id], zone))[order.id],
        "resident": await orders.resident_of(order),
        "events": [(desk.at(e.at, zone), e) for e in events],
        "completed_at": desk.at(order.completed_at, zone),
        "expected": desk.hours_text(order.expected_hours),
        "token": form_token(request),
        "failed": {},
        "done": request.query.get("done", "")[:200],
        "runs_community": True,
    }
    return render(request, "community_order.html", context)
