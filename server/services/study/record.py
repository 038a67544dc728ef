"""我的: a member's own record.  Only their own: there is no ranking of individuals anywhere."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from server.models.people import Member
from server.models.study import QuizAttempt, SubmissionStatus, UnitReading
from server.services.meetings.scheduling import attendance_record
from server.services.study.checkin import month_check_ins, streak
from server.services.study.points import month_total, year_total
from server.services.study.submissions import counts_by_status


async def self_study_days(member: Member, first: date, last: date) -> set[date]:
    """The days this member studied on their own (自学): a unit read in full, or a quiz done.

    The rule `counting` applies to the tallies, for one member: a day counts once however
    much was read, and a digest skimmed past is no study.
    """
    span = {"member_id": member.id, "day__gte": first, "day__lte": last}
    read = await UnitReading.filter(**span, read_full=True).values_list("day", flat=True)
    quizzed = await QuizAttempt.filter(**span, finished_at__isnull=False).values_list(
        "day", flat=True
    )
    return {d if isinstance(d, date) else date.fromisoformat(str(d)) for d in (*read, *quizzed)}


@dataclass(frozen=True)
class MyRecord:
    check_ins_this_month: int
    streak: int
    self_study_days_this_month: int  # days with a unit read in full or a quiz finished
    points_this_month: int
    points_12_months: int
    submissions: dict[SubmissionStatus, int]  # all this member's 心得, by status
    meetings: dict[str, int]  # this year's ended meetings: present, leave, absent


async def my_record(member: Member, today: date, year_start: datetime, now: datetime) -> MyRecord:
    first = today.replace(day=1)
    return MyRecord(
        check_ins_this_month=await month_check_ins(member, today),
        streak=await streak(member, today),
        self_study_days_this_month=len(await self_study_days(member, first, today)),
        points_this_month=await month_total(member, today),
        points_12_months=await year_total(member, today),
        submissions=await counts_by_status(member),
        meetings=await attendance_record(member, year_start, now),
    )
