"""The people of the 五星支部 stories on the demo street, and the cycle walked through by them.

红星村第一党支部 (under 红星村党总支) is the branch assessed; its secretary 谭波福 scores and
applies, the 总支书记 蔡芳 reviews first, the street's staff member 白辉 reviews, decides,
publishes and finalises.  Shared by the SQLite, PostgreSQL and browser tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from server.models.community import (
    ClaimStatus,
    Community,
    OrderClaim,
    OrderStatus,
    ServiceOrder,
    Volunteer,
    VolunteerStatus,
)
from server.models.five_star import BranchAssessment
from server.models.meetings import Meeting, MeetingStatus, MeetingType
from server.models.people import Member, MemberStatus, Organisation, OrgKind, Role
from server.services.five_star import cycle as cycles
from server.services.five_star.evidence import Basis, Figure, figures
from server.services.five_star.scheme import Scheme

ZONE = ZoneInfo("Asia/Shanghai")
BRANCH = "示范街道党工委/红星村党总支/红星村第一党支部"
OTHER = "示范街道党工委/红星村党总支/红星村第二党支部"


@dataclass
class Cast:
    branch: Organisation
    other: Organisation  # a sister branch under the same 党总支
    secretary: Member
    other_secretary: Member
    member: Member  # a plain member of the branch
    general: Member  # 总支书记 of 红星村党总支
    staff: Member  # 党工委工作人员


async def cast() -> Cast:
    branch = await Organisation.get(path=BRANCH)
    other = await Organisation.get(path=OTHER)
    assert branch.parent_id is not None

    async def one(role: Role, org_id: int) -> Member:
        found = await Member.filter(
            role=role, organisation_id=org_id, status=MemberStatus.ACTIVE
        ).order_by("id")
        return found[0]

    committee = await Organisation.get(kind=OrgKind.COMMITTEE)
    return Cast(
        branch,
        other,
        await one(Role.SECRETARY, branch.id),
        await one(Role.SECRETARY, other.id),
        await one(Role.MEMBER, branch.id),
        await one(Role.GENERAL_SECRETARY, branch.parent_id),
        await one(Role.STAFF, committee.id),
    )


async def hold(branch: Organisation, kind: MeetingType, day: date, topic: str) -> Meeting:
    """A meeting of the branch, over by the day's evening."""
    starts = datetime(day.year, day.month, day.day, 9, tzinfo=ZONE)
    return await Meeting.create(
        organisation=branch, kind=kind.value, topic=topic, starts_at=starts,
        ends_at=starts + timedelta(hours=2), status=MeetingStatus.HELD,
    )  # fmt: skip


def basis(today: date, now: datetime) -> Basis:
    """The tests' settings: a 党课 every quarter, 流出 members contacted every 30 days."""
    return Basis(today, now, ZONE, "quarter", 30)


async def live_figures(
    scheme: Scheme, branch: Organisation, today: date, now: datetime
) -> dict[str, Figure]:
    return await figures(scheme, branch, today.year, basis(today, now))


async def score_every_own_item(
    c: Cast, assessment: BranchAssessment, scheme: Scheme, now: datetime
) -> None:
    """The secretary scores each item the branch scores itself: full points less one."""
    for item in scheme.items():
        if not item.auto:
            await cycles.self_score(
                c.secretary, assessment, item.key, item.points - 1, f"{item.name}：见台账", now
            )


async def serving(c: Cast) -> Volunteer:
    """The branch's plain member reported to 红星村: two services done and confirmed this year,
    a third claimed and not yet done."""
    general = await Organisation.get(id=c.branch.parent_id)
    community, _ = await Community.get_or_create(
        organisation_id=general.id, defaults={"name": "红星村"}
    )
    at = datetime(2026, 3, 2, 9, tzinfo=ZONE)
    volunteer = await Volunteer.create(
        name=c.member.name, phone=c.member.phone, member_id=c.member.id,
        community=community, status=VolunteerStatus.CONFIRMED, registered_at=at,
        decided_at=at, confirmed_at=at,
    )  # fmt: skip
    for n, day in enumerate((date(2026, 3, 10), date(2026, 10, 8), date(2026, 11, 30))):
        starts = datetime(day.year, day.month, day.day, 9, tzinfo=ZONE)
        done = day < date(2026, 11, 26)
        order = await ServiceOrder.create(
            community=community, kind="助老", title=f"为独居老人代购{n}", starts_at=starts,
            ends_at=starts + timedelta(hours=2), created_at=starts - timedelta(days=3),
            status=OrderStatus.COMPLETED if done else OrderStatus.OPEN,
            completed_at=starts + timedelta(hours=3) if done else None, taken=1,
        )  # fmt: skip
        await OrderClaim.create(
            order=order, volunteer=volunteer, claimed_at=starts - timedelta(days=2),
            status=ClaimStatus.DONE if done else ClaimStatus.CLAIMED,
            done_at=starts + timedelta(hours=2) if done else None,
            hours=Decimal("1.5") if done else None,
        )  # fmt: skip
    return volunteer
