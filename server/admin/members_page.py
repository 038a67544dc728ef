"""党员管理: the members of an organisation, each with 解绑, 调整职务 and 调动 forms.

The forms post to the same services as the chat, the API and the command line (the rules are
in server/services/member_rules.py); a refusal is the dashboard's one message page, a success
comes back to the list with a line saying what was done.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from tortoise.expressions import Q

from server.admin.pages import message_page, render
from server.admin.signing import same_origin, signed_in
from server.errors import DangjianError, ValidationFailed
from server.models.people import Member, MemberStatus, Organisation, OrgKind, Role, WeChatIdentity
from server.services.delivery.messenger import tell_identities
from server.services.people.access import Hidden, member_in_scope, organisation_in_scope, scope_of
from server.services.people.member_changes import change_role, transfer
from server.services.people.scope import subtree, under
from server.services.people.unbinding import unbind, unbound_text
from server.typedefs import IDENTITIES, WECHAT_CLIENTS

GRANTABLE = [r for r in Role if r is not Role.ADMIN]


def _number(text: str | None, field: str) -> int | None:
    if not text:
        return None
    if not text.isdigit() or len(text) > 9:
        raise ValidationFailed("请从列表中选择。", field=field)
    return int(text)


async def members_page(request: web.Request) -> web.Response:
    member = await signed_in(request)
    scope = await scope_of(member)
    try:
        org = await organisation_in_scope(scope, _number(request.query.get("org"), "org"))
    except DangjianError as exc:
        return message_page(request, "无法打开", exc.user_message, status=exc.http_status)
    # A group's members belong to its branch: they are found by their group, not their org.
    where = Q(group_id=org.id) if org.kind is OrgKind.GROUP else under(org.path)
    people = (
        await Member.filter(scope.members(), where, status=MemberStatus.ACTIVE)
        .order_by("organisation_id", "name")
        .prefetch_related("organisation", "group")
    )
    bound = set(
        await WeChatIdentity.filter(member_id__in=[p.id for p in people]).values_list(
            "member_id", flat=True
        )
    )
    places = Organisation.filter(kind__in=[OrgKind.BRANCH, OrgKind.GROUP])
    if not scope.everything:
        places = places.filter(subtree(scope.path or ""))
    context: dict[str, Any] = {
        "title": f"党员管理 · {org.name}",
        "member": member,
        "org": org,
        "people": people,
        "bound": bound,
        "roles": GRANTABLE,
        "places": await places.order_by("path"),
        "done": request.query.get("done", "")[:200],
    }
    return render(request, "members.html", context)


async def member_action(request: web.Request) -> web.Response:
    member = await signed_in(request)
    form = await request.post()
    back = str(form.get("back", ""))
    try:
        same_origin(request)
        target_id = _number(request.match_info["id"], "id")
        if target_id is None:
            raise Hidden()
        target = await member_in_scope(await scope_of(member), target_id)
        done = await _act(request, member, target, request.match_info["action"], form)
    except DangjianError as exc:
        return message_page(
            request, "未能完成", exc.user_message, status=exc.http_status, field=exc.field
        )
    org = back if back.isdigit() else ""
    raise web.HTTPSeeOther(
        location=str(
            request.app.router["members"]
            .url_for()
            .with_query({"org": org, "done": done} if org else {"done": done})
        )
    )


async def _act(request: web.Request, member: Member, target: Member, action: str, form: Any) -> str:
    identities = request.config_dict[IDENTITIES]
    reason = str(form.get("reason", ""))
    if action == "unbind":
        removed = await unbind(target, member, reason, identities)
        clients = request.config_dict[WECHAT_CLIENTS]  # read first: typed as stored, not as wanted
        told = await tell_identities(removed, unbound_text(target), clients)
        return f"已解除{target.name}的微信绑定" + (
            "，已通知本人。" if told else "，请当面告知本人。"
        )
    if action == "role":
        try:
            role = Role(str(form.get("role", "")))
        except ValueError:
            raise ValidationFailed("请从列表中选择职务。", field="role") from None
        await change_role(target, role, member, reason, identities)
        return f"{target.name}现为{role.value}。"
    if action == "transfer":
        place_id = _number(str(form.get("organisation", "")), "organisation")
        place = await Organisation.get_or_none(id=place_id) if place_id else None
        if place is None:
            raise Hidden()
        await transfer(target, place, member, reason, identities)
        return f"{target.name}已调至{place.name}。"
    raise web.HTTPNotFound()
