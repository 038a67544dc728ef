"""Who may manage whom: unbind a member's WeChat, change their role, move them.

Roles are ranked; a leader manages members in their scope who rank no higher than they do,
and grants no role above their own.  A branch's leaders never grant 党工委工作人员 or
系统管理员; staff grant anything but 系统管理员; an administrator (and the command line,
`actor` None) anything.  Outside the scope is `Hidden`, as everywhere.
"""

from __future__ import annotations

from server.errors import ValidationFailed
from server.models.people import Member, Role
from server.services.people.access import Hidden, NotAllowed, Scope, is_leader, scope_of

RANK = {
    Role.MEMBER: 0,
    Role.GROUP_LEADER: 1,
    Role.COMMITTEE_MEMBER: 2,
    Role.DEPUTY_SECRETARY: 3,
    Role.SECRETARY: 4,
    Role.GENERAL_SECRETARY: 5,
    Role.STAFF: 6,
    Role.ADMIN: 7,
}
# Granted only from above the branches: staff by staff, admins by admins.
_ABOVE_BRANCHES = frozenset({Role.STAFF, Role.ADMIN})
EVERYTHING = Scope(0, None, everything=True)


def required_reason(reason: str | None) -> str:
    text = " ".join((reason or "").split())
    if not text:
        raise ValidationFailed("请写明原因（例如：本人更换了微信号）。", field="reason")
    return text[:200]


async def manager_scope(actor: Member | None, target: Member) -> Scope:
    """The actor's scope if they may manage `target` (with organisation and group fetched)."""
    if actor is None:
        return EVERYTHING
    if not is_leader(actor):
        raise NotAllowed("只有支部书记、副书记或上级组织可以进行这个操作。")
    scope = await scope_of(actor)
    if not scope.covers_member(target):
        raise Hidden()
    if (
        actor.role is not Role.ADMIN
        and target.id != actor.id
        and RANK[target.role] > RANK[actor.role]
    ):
        raise NotAllowed(f"不能管理职务高于您的同志（{target.role.value}）。")
    return scope


def may_grant(actor: Member | None, role: Role) -> None:
    if actor is None or actor.role is Role.ADMIN:
        return
    if role is Role.ADMIN:
        raise NotAllowed("只有系统管理员可以任命系统管理员（或用命令 dangjian make-admin）。")
    if role in _ABOVE_BRANCHES and actor.role is not Role.STAFF:
        raise NotAllowed("支部不能任命党工委工作人员。")
    if RANK[role] > RANK[actor.role]:
        raise NotAllowed(f"不能任命高于自己职务的角色（{role.value}）。")
