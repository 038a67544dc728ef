"""三会一课 compliance: what a branch still owes this month / quarter, and a weekly digest.

Per the branch work regulation: a 支委会 and each group's 党小组会 every month, a 支部党员大会
every quarter, and a 党课 at the frequency in DANGJIAN_LECTURE_EVERY (month, quarter, half or
year).  A meeting counts when it is scheduled or held in the period (not cancelled).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from server.activity import Submission, SubmissionStatus
from server.clock import day_span
from server.meetings import Attendance, AttendeeRole, Meeting, MeetingAttendee, MeetingStatus
from server.models import BRANCH_LEADERS, Member, MemberStatus, Organisation, OrgKind
from server.services.meetings import (
    BRANCH_MEETING,
    COMMITTEE_MEETING,
    GROUP_MEETING,
    PARTY_LECTURE,
)
from server.services.scope import under

PERIOD_MONTHS = {"month": 1, "quarter": 3, "half": 6, "year": 12}
PERIOD_NAMES = {"month": "本月", "quarter": "本季度", "half": "本半年", "year": "今年"}


def period(today: date, months: int) -> tuple[date, date]:
    """The calendar period of `months` months containing today: its first and last day."""
    first_month = (today.month - 1) // months * months + 1
    start = date(today.year, first_month, 1)
    end_month = first_month + months
    end = date(today.year + (end_month > 12), (end_month - 1) % 12 + 1, 1) - timedelta(days=1)
    return start, end


async def _held(
    org_path: str, kind: str, start: date, end: date, zone: ZoneInfo, exact: bool = False
) -> bool:
    first, after = day_span(start, end, zone)
    query = Meeting.filter(kind=kind, starts_at__gte=first, starts_at__lt=after).exclude(
        status=MeetingStatus.CANCELLED
    )
    query = query.filter(organisation__path=org_path) if exact else query.filter(under(org_path))
    return await query.exists()


async def missing(
    branch: Organisation, today: date, zone: ZoneInfo, lecture_every: str
) -> list[str]:
    owed: list[str] = []
    month = period(today, 1)
    if not await _held(branch.path, COMMITTEE_MEETING, *month, zone, exact=True):
        owed.append("本月支委会")
    for group in await Organisation.filter(parent_id=branch.id, kind=OrgKind.GROUP).order_by("id"):
        if not await _held(group.path, GROUP_MEETING, *month, zone, exact=True):
            owed.append(f"{group.name}本月党小组会")
    if not await _held(branch.path, BRANCH_MEETING, *period(today, 3), zone):
        owed.append("本季度支部党员大会")
    months = PERIOD_MONTHS[lecture_every]
    if not await _held(branch.path, PARTY_LECTURE, *period(today, months), zone):
        owed.append(f"{PERIOD_NAMES[lecture_every]}党课")
    return owed


async def leaders_of(branch: Organisation) -> list[Member]:
    return await Member.filter(
        organisation_id=branch.id, role__in=list(BRANCH_LEADERS), status=MemberStatus.ACTIVE
    ).order_by("id")


async def digest(branch: Organisation, today: date, now: datetime) -> str:
    """For the secretary each week: who missed the last meeting, what is coming, 心得 waiting.

    Never who has or has not checked in or studied: the 2026 rules against 指尖上的形式主义
    forbid using app activity as grounds for judging members, so no one is shown a list of it.
    """
    monday = today - timedelta(days=today.weekday())
    meetings_here = Meeting.filter(under(branch.path)).exclude(status=MeetingStatus.CANCELLED)
    last = await meetings_here.filter(ends_at__lte=now).order_by("-starts_at").first()
    missed: list[str] = []
    if last is not None:
        rows = (
            await MeetingAttendee.filter(meeting_id=last.id, role=AttendeeRole.EXPECTED)
            .exclude(attendance__in=[Attendance.PRESENT, Attendance.LEAVE])
            .prefetch_related("member")
        )
        missed = [r.member.name for r in rows]
    coming = await meetings_here.filter(
        starts_at__gt=now, starts_at__lte=now + timedelta(days=7)
    ).count()
    pending = await Submission.filter(under(branch.path), status=SubmissionStatus.PENDING).count()
    lines = [f"{branch.name}本周小结（{monday.month}月{monday.day}日起）："]
    if last is not None:
        lines.append(
            f"· 上次会议（编号 {last.id} {last.kind}）未到 {len(missed)} 人"
            + (f"：{_names(missed)}" if missed else "")
        )
    lines.append(f"· 未来七天已安排会议 {coming} 个" + ("，回复 会议 查看。" if coming else "。"))
    lines.append(f"· 待审核心得 {pending} 篇" + ("，回复 审核 处理。" if pending else "。"))
    return "\n".join(lines)


def _names(names: list[str], shown: int = 15) -> str:
    return "、".join(names[:shown]) + (f"等 {len(names)} 人" if len(names) > shown else "")
