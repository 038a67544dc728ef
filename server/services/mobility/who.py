"""Who keeps the record of whom: the branch's leaders (and the committee above them) for every
step; a 支委委员 of the branch, or the member named 联系人, may also log a contact."""

from __future__ import annotations

import re

from tortoise.backends.base.client import BaseDBAsyncClient

from server.channels import Channel
from server.errors import NotFound, ValidationFailed
from server.models.mobility import MobileMember
from server.models.people import (
    BRANCH_LEADERS,
    Member,
    MemberStatus,
    Organisation,
    Role,
    WeChatIdentity,
)
from server.services.people.access import Hidden, NotAllowed, is_leader, scope_of
from server.services.people.identities import IdentityDirectory
from server.services.people.scope import under

PHONE = re.compile(r"1\d{10}")
# May log a contact: the branch's own committee as well as its leaders.
CONTACT_ROLES = frozenset({Role.COMMITTEE_MEMBER, Role.GROUP_LEADER})
LEADERS_ONLY = "流动党员的登记和处置由支部书记（或副书记）办理。"


def require_leading(actor: Member) -> None:
    """Before anything is read: only leaders keep the record (their scope is checked later)."""
    if not is_leader(actor):
        raise NotAllowed(LEADERS_ONLY)


async def branch_of_member(member: Member) -> Organisation:
    org = member.organisation
    return (
        org if isinstance(org, Organisation) else await Organisation.get(id=member.organisation_id)
    )


async def require_keeper(actor: Member | None, target: Member) -> None:
    """`actor` leads the branch `target` belongs to (None: the command line, trusted)."""
    if actor is None:
        return
    require_leading(actor)
    branch = await branch_of_member(target)
    if not (await scope_of(actor)).covers(branch.path):
        raise Hidden()


async def require_branch_leader(actor: Member | None, branch: Organisation) -> None:
    if actor is None:
        return
    require_leading(actor)
    if not (await scope_of(actor)).covers(branch.path):
        raise Hidden()


async def require_contact_keeper(actor: Member | None, target: Member) -> None:
    """Leaders, the branch's 支委委员 and 党小组长, and the member's named 联系人."""
    if actor is None or is_leader(actor):
        await require_keeper(actor, target)
        return
    if actor.status == MemberStatus.ACTIVE and (
        (actor.role in CONTACT_ROLES and actor.organisation_id == target.organisation_id)
        or await MobileMember.exists(
            member_id=target.id, keeper_id=actor.id, current__not_isnull=True
        )
    ):
        return
    raise NotAllowed("联系记录由支委委员、党小组长或指定的联系人填写。")


async def named(actor: Member | None, given: str) -> Member:
    """A member of the actor's scope by name, or by mobile number when two share the name."""
    given = given.strip()
    query = Member.filter(status__in=[MemberStatus.ACTIVE, MemberStatus.STOPPED])
    if actor is not None:
        scope = await scope_of(actor)
        if scope.own_only:
            raise NotAllowed("只有支部书记、副书记或上级组织可以查看。")
        if not scope.everything and scope.path is not None:
            query = query.filter(under(scope.path))
    if PHONE.fullmatch(given):
        found = await query.filter(phone=given).prefetch_related("organisation")
    else:
        found = await query.filter(name=given).prefetch_related("organisation")
    if not found:
        raise NotFound(f"您管理的范围里没有「{given}」。")
    if len(found) > 1:
        where = "、".join(f"{m.name}（{m.organisation.name}）" for m in found)
        raise ValidationFailed(
            f"有 {len(found)} 位同名的同志：{where}。请用手机号代替姓名。", field="name"
        )
    return found[0]


async def forget(member_id: int, identities: IdentityDirectory | None) -> None:
    """Who this member is changed (流入 confirmed, 停止党籍, a 流入 gone): every running server
    drops what it remembers of their WeChat users, so their next message is read anew."""
    if identities is None:
        return
    for appid, openid in await WeChatIdentity.filter(member_id=member_id).values_list(
        "appid", "openid"
    ):
        await identities.forget(str(appid), str(openid))


async def leaders_of(branch_id: int, using_db: BaseDBAsyncClient | None = None) -> list[Member]:
    """Who is told of a branch's 流动党员 business: its 书记 and 副书记; a branch without them,
    its 总支's (who run it then)."""
    branch = await Organisation.get_or_none(id=branch_id, using_db=using_db)
    if branch is None:
        return []
    for org_id in (branch.id, branch.parent_id):
        if org_id is None:
            continue
        found = (
            await Member.filter(
                organisation_id=org_id, role__in=list(BRANCH_LEADERS), status=MemberStatus.ACTIVE
            )
            .using_db(using_db)
            .order_by("id")
        )
        if found:
            return found
    return []


async def address(
    member_id: int, using_db: BaseDBAsyncClient | None = None
) -> WeChatIdentity | None:
    """Where a member is reached: their binding, the official account first (where members
    chat).  None: never bound — they see the same when they ask."""
    found = await WeChatIdentity.filter(member_id=member_id).using_db(using_db)
    found.sort(key=lambda i: (i.channel != Channel.OFFICIAL_ACCOUNT, i.id))
    return found[0] if found else None
