"""Who a WeChat user is in the 双报到 loop: a resident, a reported member, a community's leader.

Residents and members from outside units have no member binding: they are known by the appid
and openid they registered from.  A street member may report where they live too; their row
is found by the WeChat user who reported, else by the member.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from server.models.community import Community, Resident, Volunteer
from server.models.people import Member
from server.services.community import residents, roles, volunteers


@dataclass(frozen=True)
class Standing:
    resident: Resident | None = None
    volunteer: Volunteer | None = None
    communities: tuple[Community, ...] = ()  # those the member runs

    @property
    def in_the_loop(self) -> bool:
        return bool(self.resident or self.volunteer or self.communities)


NOBODY = Standing()


async def volunteer_of(appid: str, openid: str, member: Member | None) -> Volunteer | None:
    return await volunteers.volunteer_for(appid, openid) or await volunteers.volunteer_of_member(
        member
    )


async def standing_of(appid: str, openid: str, member: Member | None) -> Standing:
    # Asked on every 帮助 and every message not understood: the three reads are independent,
    # and on PostgreSQL they run side by side on the pool's connections.
    resident, volunteer, communities = await asyncio.gather(
        residents.resident_for(appid, openid),
        volunteer_of(appid, openid, member),
        roles.managed_by(member),
    )
    return Standing(resident=resident, volunteer=volunteer, communities=tuple(communities))
