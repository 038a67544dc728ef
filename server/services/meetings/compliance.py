"""三会一课 compliance: what a branch still owes this month / quarter, and a weekly digest.

The obligations and their states are `compliance_status`'s (the dashboard's and the API's
lights): `missing` lists the current obligations with nothing held or booked — 待开 while the
period runs, 未开 once it has ended — so the reminder and the lights are one rule.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from server.clock import day_start
from server.models.meetings import Attendance, AttendeeRole, Meeting, MeetingAttendee, MeetingStatus
from server.models.people import BRANCH_LEADERS, Member, MemberStatus, Organisation
from server.models.study import Submission, SubmissionStatus
from server.services.meetings.compliance_status import (
    OWED,
    PERIOD_MONTHS,
    PERIOD_NAMES,
    branch_lights,
    period,
)
from server.services.people.scope import under

__all__ = ["PERIOD_MONTHS", "PERIOD_NAMES", "digest", "leaders_of", "missing", "period"]


async def missing(
    branch: Organisation,
    today: date,
    zone: ZoneInfo,
    lecture_every: str,
    *,
    now: datetime | None = None,
) -> list[str]:
    """What the branch owes now: 本月支委会, 第一网格党小组本月党小组会, … (nothing held or booked).

    `now` defaults to the start of `today`; whether a meeting is held or only booked does not
    change what is owed.
    """
    moment = now if now is not None else day_start(today, zone)
    [lights] = await branch_lights([branch], today, zone, lecture_every, now=moment)
    return [light.label for light in lights.lights if light.state in OWED]


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
