"""解绑 姓名 原因: a secretary (or staff, or an admin) removes a member's WeChat binding."""

from __future__ import annotations

import re

from server.dispatch import Router
from server.dispatch.filters import Command, HasRole
from server.models.people import BRANCH_LEADERS, Member, MemberStatus, Role
from server.services.delivery.messenger import Clients, tell_identities
from server.services.people.access import scope_of
from server.services.people.identities import IdentityDirectory
from server.services.people.unbinding import unbind, unbound_text

router = Router("members")
managers = HasRole(BRANCH_LEADERS | {Role.STAFF, Role.ADMIN})

router.help("解绑 姓名 原因", "解除本组织党员的微信绑定（须写明原因）", visible=managers, order=86)

USAGE = (
    "请发送：解绑 姓名 原因，例如：解绑 王芳 本人更换了手机微信"
    "（重名时：解绑 手机号 原因）。解绑后本人可以用新的绑定码重新绑定。"
)


def parse_unbind_args(args: str) -> tuple[str, str]:
    """'王芳 换了手机' → ('王芳', '换了手机'); '13800001234 换了手机' likewise."""
    parts = args.strip().split(maxsplit=1)
    if len(parts) < 2:
        return (parts[0] if parts else ""), ""
    return parts[0], parts[1]


@router.message(Command("解绑", "解除绑定", "unbind"), managers)
async def unbind_member(
    args: str,
    member: Member,
    identities: IdentityDirectory,
    wechat_clients: Clients,
) -> str:
    who, reason = parse_unbind_args(args)
    if not who or not reason.strip():
        return USAGE
    scope = await scope_of(member)
    query = Member.filter(scope.members(), status=MemberStatus.ACTIVE)
    digits = re.sub(r"[\s-]", "", who)
    by_phone = re.fullmatch(r"1\d{10}", digits) is not None
    found = await (query.filter(phone=digits) if by_phone else query.filter(name=who))
    if len(found) > 1:
        return f"本组织有不止一位名叫{who}的党员，请发送：解绑 手机号 原因。"
    if not found:
        return "本组织没有找到这位在册党员。请核对姓名（或发送：解绑 手机号 原因）。"
    target = found[0]
    removed = await unbind(target, member, reason, identities)
    told = await tell_identities(removed, unbound_text(target), wechat_clients)
    note = "已通知本人。" if told else "未能通知本人（不在 48 小时互动窗口内），请当面告知。"
    return (
        f"已解除{target.name}的微信绑定（{len(removed)} 个），原因已记录。{note}\n"
        f"如需重新绑定，请发送：绑定码 {target.name}，把绑定码交给本人。"
    )
