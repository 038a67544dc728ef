"""Who runs a community's 双报到 business: its Party organisation's leaders (the 总支书记 of a
社区党总支, the secretary of a 社区党支部) and the committee's staff, within their scope, and
the members a leader named to help them (`CommunityStaff`), who do the same work but name
nobody."""

from __future__ import annotations

from datetime import datetime

from tortoise.exceptions import IntegrityError

from server.errors import Conflict, NotFound, ValidationFailed
from server.models.community import Community, CommunityStaff
from server.models.people import Member, MemberStatus, Organisation
from server.services.people.access import Hidden, NotAllowed, is_leader, scope_of


async def leads(member: Member | None, community: Community) -> bool:
    """A leader whose scope covers the community: may also name its staff."""
    if member is None or not is_leader(member):
        return False
    org = await Organisation.get(id=community.organisation_id)
    return (await scope_of(member)).covers(org.path)


async def manages(member: Member | None, community: Community) -> bool:
    return community.id in {c.id for c in await managed_by(member)}


async def managed_by(member: Member | None) -> list[Community]:
    """The communities `member` runs, by name (none for most members)."""
    if member is None or member.status != MemberStatus.ACTIVE:
        return []
    named = {
        staff["community_id"]
        for staff in await CommunityStaff.filter(member_id=member.id).values("community_id")
    }
    if not named and not is_leader(member):
        return []  # most members: one query, asked on every 帮助
    communities = await Community.all().prefetch_related("organisation").order_by("name")
    scope = await scope_of(member) if is_leader(member) else None
    return [
        c
        for c in communities
        if c.id in named or (scope is not None and scope.covers(c.organisation.path))
    ]


async def community_run_by(member: Member | None, community_id: int | None = None) -> Community:
    """The community a command is about: the one named, or the only one the member runs
    (one who runs several must name it).

    Refused as `Hidden` when the member runs none, or not the one named: a stranger learns
    nothing from an id.
    """
    mine = await managed_by(member)
    if community_id is not None:
        for community in mine:
            if community.id == community_id:
                return community
        raise Hidden()
    if not mine:
        raise Hidden()
    if len(mine) > 1:
        names = "、".join(c.name for c in mine)
        raise ValidationFailed(f"您负责多个社区，请写明是哪个社区：{names}。", field="community_id")
    return mine[0]


async def _led(leader: Member | None, community: Community, operator: bool) -> None:
    """`operator`: the server's operator at the command line, who answers for it there."""
    if operator:
        return
    if not await leads(leader, community):
        raise NotAllowed("只有社区党组织书记和街道党工委可以指定社区工作人员。")


async def _active_member(phone: str) -> Member:
    member = await Member.get_or_none(phone=phone.strip(), status=MemberStatus.ACTIVE)
    if member is None:
        raise NotFound("没有找到这个手机号的在册党员。", field="phone")
    return member


async def name_staff(
    leader: Member | None,
    community: Community,
    phone: str,
    now: datetime,
    *,
    operator: bool = False,
) -> Member:
    """A leader names a member (by phone) to run the community's business with them."""
    await _led(leader, community, operator)
    member = await _active_member(phone)
    try:
        _, created = await CommunityStaff.get_or_create(
            community_id=community.id,
            member_id=member.id,
            defaults={"named_by_id": leader.id if leader else None, "named_at": now},
        )
    except IntegrityError:  # named twice at once: the other one did it
        created = False
    if not created:
        raise Conflict(f"{member.name}已经是{community.name}的社区工作人员。", code="ALREADY_STAFF")
    return member


async def remove_staff(
    leader: Member | None, community: Community, phone: str, *, operator: bool = False
) -> Member:
    await _led(leader, community, operator)
    member = await _active_member(phone)
    gone = await CommunityStaff.filter(community_id=community.id, member_id=member.id).delete()
    if not gone:
        raise NotFound(f"{member.name}不是{community.name}的社区工作人员。", field="phone")
    return member


async def staff_of(community: Community) -> list[Member]:
    ids = await CommunityStaff.filter(community_id=community.id).values_list("member_id", flat=True)
    return await Member.filter(id__in=list(ids)).order_by("name")
