"""后台: a one-time link to the staff dashboard, for those allowed it; a polite no for others."""

from __future__ import annotations

from server.clock import Clock
from server.dispatch import ChatContext, Router
from server.dispatch.filters import Keyword, bound
from server.models.people import Member, MemberStatus
from server.services.people.access import DASHBOARD_ROLES
from server.services.people.admin_links import issue_link
from server.settings import Settings

router = Router("admin")
ADMIN = Keyword("后台", "管理后台", "登录后台", "admin")


def may_use_dashboard(ctx: ChatContext) -> bool:
    member = ctx.member
    return (
        member is not None
        and member.status == MemberStatus.ACTIVE
        and member.role in DASHBOARD_ROLES
    )


router.help("后台", "获取党建工作后台的登录链接", visible=may_use_dashboard, order=95)


@router.message(ADMIN, bound)
async def dashboard_link(member: Member, clock: Clock, settings: Settings) -> str:
    if member.status != MemberStatus.ACTIVE or member.role not in DASHBOARD_ROLES:
        return "抱歉，党建工作后台仅对支部书记、副书记、总支书记和党工委工作人员开放。"
    link = await issue_link(settings, member, clock.now())
    minutes = max(1, settings.admin_link_ttl // 60)
    return (
        f"{member.name}同志，请点击下面的链接进入党建工作后台（{minutes} 分钟内有效，"
        f"只能使用一次，请勿转发）：\n{link}"
    )
