"""Managing members: unbind their WeChat, change their role, move them to another branch.

The same rules as the chat's 解绑 and the command line (server/services/member_rules.py);
a member outside the caller's scope is refused as one that does not exist.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from server.api import replies
from server.api.leaders import leader_scope
from server.api.roster import member_row
from server.api.spec import Call, Id, Input, Routes
from server.models.people import Member, Organisation, Role, WeChatIdentity
from server.services.delivery.messenger import tell_identities
from server.services.people.access import Hidden, member_in_scope
from server.services.people.member_changes import change_role, transfer
from server.services.people.unbinding import unbind, unbound_text

routes = Routes("支部管理：绑定、职务与组织关系")


class Unbind(Input):
    reason: str = Field(min_length=1, max_length=200, description="解绑原因（必填，记入变更记录）")


class RoleChange(Input):
    role: Role = Field(description="新的职务，如 党员、党小组长、支委委员、支部副书记、支部书记")
    reason: str = Field("", max_length=200, description="原因（可选，记入变更记录）")


class Transfer(Input):
    organisation: Id = Field(description="调入的党支部或党小组的组织 id")
    reason: str = Field("", max_length=200, description="原因（可选，记入变更记录）")


async def _row(member: Member) -> dict[str, Any]:
    fresh = await Member.get(id=member.id).prefetch_related("organisation", "group")
    return {
        **member_row(fresh),
        "bound": await WeChatIdentity.exists(member_id=member.id),
    }


@routes.post(
    "/members/{id}/unbind",
    response=replies.Unbound,
    summary="解除党员的微信绑定（须写明原因）",
    body=Unbind,
)
async def unbind_member(call: Call[Any]) -> dict[str, Any]:
    """公众号与小程序的绑定一并解除；本人会收到客服消息（48 小时内互动过时），
    可以用新的绑定码重新绑定。已绑定的记录、积分等不受影响。"""
    target = await member_in_scope(leader_scope(call), call.number("id"))
    removed = await unbind(target, call.member, call.body.reason, call.deps.identities)
    clients = call.deps.wechat_clients
    told = await tell_identities(removed, unbound_text(target), clients)
    return {**await _row(target), "unbound": len(removed), "told": told}


@routes.post(
    "/members/{id}/role", response=replies.MemberRow, summary="调整党员的职务", body=RoleChange
)
async def set_role(call: Call[Any]) -> dict[str, Any]:
    """支部书记、副书记只能在本支部内任命不高于自己的职务；党工委工作人员在本组织内
    （不能任命系统管理员）；系统管理员不限。不能调整自己的职务。"""
    target = await member_in_scope(leader_scope(call), call.number("id"))
    body: RoleChange = call.body
    await change_role(target, body.role, call.member, body.reason, call.deps.identities)
    return await _row(target)


@routes.post(
    "/members/{id}/transfer",
    response=replies.MemberRow,
    summary="党员调到另一个党支部或党小组",
    body=Transfer,
)
async def move(call: Call[Any]) -> dict[str, Any]:
    """调出与调入的组织都须在管辖范围内。此前的打卡、出勤等仍计入原组织，此后的计入新组织；
    原支部的职务（书记、支委、党小组长等）不随调动保留。"""
    target = await member_in_scope(leader_scope(call), call.number("id"))
    body: Transfer = call.body
    destination = await Organisation.get_or_none(id=body.organisation)
    if destination is None:
        raise Hidden()
    await transfer(target, destination, call.member, body.reason, call.deps.identities)
    return await _row(target)
