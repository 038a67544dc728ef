"""Who runs a community's 双报到 business: its Party organisation's leaders (the 总支书记 of a
社区党总支, the secretary of a 社区党支部) and the committee's staff, within their scope."""

from __future__ import annotations

from server.errors import ValidationFailed
from server.models.community import Community
from server.models.people import Member, Organisation
from server.services.people.access import Hidden, is_leader, scope_of


async def manages(member: Member | None, community: Community) -> bool:
    if member is None or not is_leader(member):
        return False
    org = await Organisation.get(id=community.organisation_id)
    return (await scope_of(member)).covers(org.path)


async def managed_by(member: Member | None) -> list[Community]:
    """The communities `member` runs, by name (none for most members)."""
    if member is None or not is_leader(member):
        return []
    scope = await scope_of(member)
    communities = await Community.all().prefetch_related("organisation").order_by("name")
    return [c for c in communities if scope.covers(c.organisation.path)]


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
