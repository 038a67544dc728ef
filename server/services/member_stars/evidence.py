"""What a member's year says, read from the records: the evidence a ledger row holds.

Nothing is counted a second way here:

- 组织生活 is the tallies' attendance (`tallies.counting.count_events`): the member's rows as one
  of those expected at meetings that started in the year and are held (over and not
  cancelled, `meetings.held`), an undecided one counting as absent (`after_the_end`);
- 心得 are the member's `Submission` rows of the year's days: handed in, and approved;
- 双报到 services are the 联系卡's count (`community.contact_card.progress`): the member's done
  claims on orders confirmed in the year, and their hours;
- duties are what the records hold now: the member's role (党小组长, 支委委员, 书记 …), a
  community's staff, a standing post held during the year, a 流出 member kept in touch with.

`lines` lists the records themselves (each meeting, each 心得, each service), for the page
that shows what a figure stands on.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import cast
from zoneinfo import ZoneInfo

from server.clock import day_span
from server.models.community import (
    ClaimStatus,
    CommunityStaff,
    HolderStatus,
    OrderClaim,
    OrderStatus,
    PostHolder,
    Volunteer,
)
from server.models.meetings import AttendeeRole, MeetingAttendee, after_the_end, held
from server.models.mobility import FlowStatus, MobileMember
from server.models.people import Member, Role
from server.models.study import Submission, SubmissionStatus
from server.services.community.contact_card import progress, year_span
from server.settings import Settings

# Roles that are a duty in the branch (a plain 党员's role is none).
DUTY_ROLES = {
    Role.GROUP_LEADER: "党小组长",
    Role.COMMITTEE_MEMBER: "支部委员",
    Role.DEPUTY_SECRETARY: "支部副书记",
    Role.SECRETARY: "支部书记",
    Role.GENERAL_SECRETARY: "党总支书记",
}


@dataclass
class Evidence:
    expected: int = 0
    present: int = 0
    leave: int = 0
    absent: int = 0
    submitted: int = 0
    approved: int = 0
    services: int = 0
    service_hours: Decimal = Decimal(0)
    duties: list[str] = field(default_factory=list)


async def gather(
    members: list[Member], year: int, now: datetime, settings: Settings
) -> dict[int, Evidence]:
    """Each member's year so far (the whole year once it is over), by member id."""
    zone = settings.zone
    found = {m.id: Evidence() for m in members}
    ids = list(found)
    if not ids:
        return found
    begin, after = day_span(date(year, 1, 1), date(year, 12, 31), zone)
    rows = await MeetingAttendee.filter(
        held(now, "meeting__"),
        member_id__in=ids,
        role=AttendeeRole.EXPECTED,
        meeting__starts_at__gte=begin,
        meeting__starts_at__lt=after,
    ).values_list("member_id", "attendance")
    for member_id, attendance in rows:
        e = found[member_id]
        e.expected += 1
        state = after_the_end(str(getattr(attendance, "value", attendance)))
        setattr(e, state, getattr(e, state) + 1)

    handed = await Submission.filter(
        member_id__in=ids, day__gte=date(year, 1, 1), day__lte=date(year, 12, 31)
    ).values_list("member_id", "status")
    for member_id, status in handed:
        found[member_id].submitted += 1
        if str(getattr(status, "value", status)) == SubmissionStatus.APPROVED.value:
            found[member_id].approved += 1

    for volunteer in await Volunteer.filter(member_id__in=ids):
        done = await progress(volunteer, year, now, settings)
        assert volunteer.member_id is not None  # filtered on it
        e = found[volunteer.member_id]
        e.services += done.completed
        e.service_hours += done.hours

    for member_id, duties in (await duties_of(members, year, zone)).items():
        found[member_id].duties = duties
    return found


async def duties_of(members: list[Member], year: int, zone: ZoneInfo) -> dict[int, list[str]]:
    """The duties each member holds (or held during `year`), in words."""
    start, end = year_span(year, zone)
    ids = [m.id for m in members]
    out: dict[int, list[str]] = {m.id: [] for m in members}
    for m in members:
        if m.role in DUTY_ROLES:
            out[m.id].append(DUTY_ROLES[m.role])
    staff = await CommunityStaff.filter(member_id__in=ids).prefetch_related("community")
    for s in staff:
        out[s.member_id].append(f"{s.community.name}工作人员")
    held_posts = await PostHolder.filter(
        volunteer__member_id__in=ids, since__lt=end
    ).prefetch_related("post", "volunteer")
    for h in held_posts:
        if h.status == HolderStatus.LEFT and h.left_at is not None and h.left_at < start:
            continue
        member_id = h.volunteer.member_id
        if member_id is not None:
            out[member_id].append(f"{h.post.kind}（{h.post.title}）")
    kept = await MobileMember.filter(keeper_id__in=ids, status=FlowStatus.ACTIVE).values_list(
        "keeper_id", flat=True
    )
    # flat=True: ints (Tortoise 1.1 types them as tuples)
    for keeper_id, n in Counter(cast("list[int]", kept)).items():
        out[keeper_id].append(f"流动党员联系人（{n} 人）")
    return out


@dataclass(frozen=True)
class Line:
    day: date
    text: str


async def lines(member: Member, year: int, now: datetime, zone: ZoneInfo) -> dict[str, list[Line]]:
    """The records behind the figures: each meeting, each 心得, each service of the year."""
    begin, after = day_span(date(year, 1, 1), date(year, 12, 31), zone)
    words = {"present": "出席", "leave": "请假", "absent": "缺席"}
    meetings = [
        Line(
            a.meeting.starts_at.astimezone(zone).date(),
            f"{a.meeting.kind}（编号 {a.meeting.id}）{a.meeting.topic}："
            f"{words[after_the_end(str(a.attendance.value))]}",
        )
        for a in await MeetingAttendee.filter(
            held(now, "meeting__"),
            member_id=member.id,
            role=AttendeeRole.EXPECTED,
            meeting__starts_at__gte=begin,
            meeting__starts_at__lt=after,
        )
        .prefetch_related("meeting")
        .order_by("meeting__starts_at", "id")
    ]
    labels = {"pending": "待审核", "approved": "已通过", "returned": "已退回"}
    writings = [
        Line(s.day, f"心得（{len(s.content)} 字）：{labels[s.status.value]}")
        for s in await Submission.filter(
            member_id=member.id, day__gte=date(year, 1, 1), day__lte=date(year, 12, 31)
        ).order_by("day", "id")
    ]
    start, end = year_span(year, zone)
    services = [
        Line(
            c.order.completed_at.astimezone(zone).date() if c.order.completed_at else start.date(),
            f"服务单 {c.order.id}「{c.order.title}」"
            + (f"，{c.hours} 小时" if c.hours is not None else ""),
        )
        for c in await OrderClaim.filter(
            volunteer__member_id=member.id,
            status=ClaimStatus.DONE,
            order__status=OrderStatus.COMPLETED,
            order__completed_at__gte=start,
            order__completed_at__lt=end,
        )
        .prefetch_related("order")
        .order_by("order__completed_at", "id")
    ]
    return {"meetings": meetings, "writings": writings, "services": services}
