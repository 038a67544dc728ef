"""A member's role changed, or the member moved to another branch or 党小组, with a record.

Events carry the organisation they were counted for when they happened (`counted_in`), so a
move changes nothing already counted: the old branch keeps the member's past, the new one
counts from the move on.  Leadership of a branch does not travel: a 书记 moved elsewhere is a
党员 there until someone there makes them more.  A 流动 record or 失联 case still open does
travel, in the same transaction: keeping in touch is the member's branch's business.
"""

from __future__ import annotations

import logging

from tortoise.transactions import in_transaction

from server.errors import Conflict, ValidationFailed
from server.models.mobility import LostCase, LostStage, MobileMember
from server.models.people import (
    Member,
    MemberChange,
    MemberChangeKind,
    MemberStatus,
    Organisation,
    OrgKind,
    Role,
    WeChatIdentity,
)
from server.services.people.access import organisation_in_scope
from server.services.people.identities import IdentityDirectory
from server.services.people.member_rules import manager_scope, may_grant

log = logging.getLogger("dangjian.members")

# Roles that belong to one branch (or group) and are dropped by a move out of it.
_BRANCH_BOUND = frozenset(
    {Role.GROUP_LEADER, Role.COMMITTEE_MEMBER, Role.DEPUTY_SECRETARY, Role.SECRETARY}
)


async def _forget(member: Member, identities: IdentityDirectory | None) -> None:
    """Running servers drop what they remember of who this member is."""
    if identities is None:
        return
    for appid, openid in await WeChatIdentity.filter(member_id=member.id).values_list(
        "appid", "openid"
    ):
        await identities.forget(appid, openid)


def _actor_id(actor: Member | None) -> int | None:
    return actor.id if actor else None


async def _record(
    target: Member,
    kind: MemberChangeKind,
    actor: Member | None,
    before: str,
    after: str,
    reason: str,
) -> None:
    """One line of the member's change history: who changed what, from what, to what, why."""
    await MemberChange.create(
        member=target,
        kind=kind,
        actor_id=_actor_id(actor),
        before=before,
        after=after,
        reason=reason.strip()[:200],
    )


async def change_role(
    target: Member,
    role: Role,
    actor: Member | None,
    reason: str = "",
    identities: IdentityDirectory | None = None,
) -> Member:
    await target.fetch_related("organisation", "group")
    if target.status != MemberStatus.ACTIVE:
        raise ValidationFailed("只能为在册党员调整职务。", field="member")
    await manager_scope(actor, target)
    if actor is not None and actor.role is not Role.ADMIN and actor.id == target.id:
        raise ValidationFailed("不能调整自己的职务，请由上级组织调整。", field="member")
    may_grant(actor, role)
    if role is Role.GROUP_LEADER and target.group_id is None:
        raise ValidationFailed("党小组长须先编入一个党小组。", field="role")
    if role is target.role:
        raise Conflict(f"{target.name}已经是{role.value}。")
    before = target.role
    async with in_transaction():
        target.role = role
        await target.save(update_fields=["role", "updated_at"])
        await _record(target, MemberChangeKind.ROLE, actor, before.value, role.value, reason)
    await _forget(target, identities)
    log.info("role changed", extra={"member_id": target.id, "actor_id": _actor_id(actor)})
    return target


async def _move_mobility(member_id: int, branch_id: int) -> None:
    """The 流动 record and a 失联 case still open go with the member: the new branch keeps in
    touch (or searches) from the move on.  The 联系人 was one of the old branch's 支委, so the
    new branch names its own (its 书记 is reminded meanwhile)."""
    await MobileMember.filter(member_id=member_id, current__not_isnull=True).update(
        branch_id=branch_id, keeper_id=None
    )
    await LostCase.filter(
        member_id=member_id, stage__in=[LostStage.SEARCHING, LostStage.STOPPED]
    ).update(branch_id=branch_id)


async def transfer(
    target: Member,
    destination: Organisation,
    actor: Member | None,
    reason: str = "",
    identities: IdentityDirectory | None = None,
) -> Member:
    """Into a 党支部 (out of any group) or a 党小组 (and so its branch)."""
    await target.fetch_related("organisation", "group")
    if target.status != MemberStatus.ACTIVE:
        raise ValidationFailed("只能调动在册党员。", field="member")
    scope = await manager_scope(actor, target)
    # The destination must be theirs too: a secretary moves people only within the branch.
    await organisation_in_scope(scope, destination.id)
    if destination.kind is OrgKind.GROUP:
        branch = await Organisation.get(id=destination.parent_id)
        group: Organisation | None = destination
    elif destination.kind is OrgKind.BRANCH:
        branch, group = destination, None
    else:
        raise ValidationFailed("请选择一个党支部或党小组。", field="organisation")
    old_group = target.group if isinstance(target.group, Organisation) else None
    if target.organisation.id == branch.id and (old_group.id if old_group else None) == (
        group.id if group else None
    ):
        raise Conflict(f"{target.name}已经在{destination.name}。")
    before_path = old_group.path if old_group else target.organisation.path
    moved_out = target.organisation.id != branch.id
    dropped = target.role in _BRANCH_BOUND and (moved_out or target.role is Role.GROUP_LEADER)
    async with in_transaction():
        old_role = target.role
        target.organisation = branch
        target.group = group
        if dropped:
            target.role = Role.MEMBER
        await target.save(update_fields=["organisation_id", "group_id", "role", "updated_at"])
        await _record(
            target, MemberChangeKind.TRANSFER, actor, before_path, destination.path, reason
        )
        if dropped:
            await _record(
                target,
                MemberChangeKind.ROLE,
                actor,
                old_role.value,
                Role.MEMBER.value,
                "调动后不再担任原组织职务",
            )
        if moved_out:
            await _move_mobility(target.id, branch.id)
    await _forget(target, identities)
    log.info("member moved", extra={"member_id": target.id, "actor_id": _actor_id(actor)})
    return target
