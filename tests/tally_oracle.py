"""The participation tallies staff report upward, defined once, here, in plain ORM queries.

`counting` counts the same things in grouped SQL for the report and the snapshot; this is the
independent spelling the tests compare them against.

- **组织党员学习 (organised study)**: attendance at study the organisation organised — being
  present, as one of those expected, at a held meeting that is organised study (a 党课, a
  主题党日, a 集中学习, or a meeting whose agenda the secretary made study).  A guest (列席) is
  not counted.  This is the figure of the report's sentence "共组织党员学习N人次", and what the
  seed report's 7,058 over three years for 1,231 members means.
- **自学 (self-study)**: a day on which a member, on their own in the app, read a unit in full
  or finished a quiz — at most once per member and day.  A digest skimmed past, a 下一篇
  tapped through, a check-in: none of them is study.  Reported separately, never added to the
  organised figure.
- **交流体会人次 (experience exchanges)**: each 心得体会 handed in during the period that the
  branch has not returned: pending and approved ones.  A returned one does not count; its
  revision, handed in again, does.
- **Meetings**: held once over (not cancelled, ended by `now`); before that a meeting is 已安排
  and in no attendance figure.  Attendance is of those expected at held meetings: present,
  leave granted, and absent (including anyone undecided, or whose leave was never granted).
- **Distinct members**: people, not times.
- Every event is counted for the organisation the member was counted in *when it happened*
  (their 党小组 if they had one, else their organisation), and by its day in DANGJIAN_TZ; a
  period is inclusive of both ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.models import Model
from tortoise.queryset import QuerySet

from server.clock import day_span
from server.models.meetings import (
    AttendeeRole,
    Meeting,
    MeetingAttendee,
    after_the_end,
    held,
    scheduled,
)
from server.models.people import Organisation
from server.models.study import CheckIn, QuizAttempt, Submission, SubmissionStatus, UnitReading
from server.services.people.scope import under


@dataclass(frozen=True)
class Participation:
    organisation: str  # the subtree's path
    start: date
    end: date
    organised_study: int  # present at held organised study
    members_studied: int  # distinct members at organised study
    self_study: int  # member-days of 自学
    members_self_studied: int
    check_ins: int
    submitted: int  # every 心得 handed in, whatever became of it
    approved: int
    returned: int
    members_exchanged: int
    meetings_held: int
    meetings_scheduled: int
    expected: int
    present: int
    leave: int
    absent: int

    @property
    def exchange_person_times(self) -> int:
        return self.submitted - self.returned

    @property
    def pending(self) -> int:
        return self.submitted - self.approved - self.returned

    def sentence(self) -> str:
        """The line staff paste into their reports."""
        span = f"{_chinese(self.start)}至{_chinese(self.end)}"
        return (
            f"{span}，共组织党员学习{self.organised_study}人次，"
            f"交流体会{self.exchange_person_times}人次（另有党员线上自学{self.self_study}人次）"
        )


def _chinese(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _in(model: type[Model], path: str, start: date, end: date) -> QuerySet[Any]:
    return model.filter(under(path), day__gte=start, day__lte=end)


async def participation(
    org: Organisation, start: date, end: date, zone: ZoneInfo, now: datetime
) -> Participation:
    """`zone`: DANGJIAN_TZ, in which a meeting's day is its local date; `now` decides held."""
    path = org.path
    first, after = day_span(start, end, zone)
    attendees = MeetingAttendee.filter(
        held(now, "meeting__"),
        under(path),
        role=AttendeeRole.EXPECTED,  # a guest (列席) is not counted, as in the snapshot
        meeting__starts_at__gte=first,
        meeting__starts_at__lt=after,
    )
    rows = await attendees.values_list("attendance", "meeting__study", "member_id")
    outcome = [after_the_end(str(attendance)) for attendance, _study, _m in rows]
    organised = [m for attendance, study, m in rows if str(attendance) == "present" and study]

    days: set[tuple[int, int, Any]] = set()
    for qs in (
        _in(UnitReading, path, start, end).filter(read_full=True),
        _in(QuizAttempt, path, start, end).filter(finished_at__isnull=False),
    ):
        days.update(await qs.values_list("organisation_id", "member_id", "day"))

    meetings = Meeting.filter(under(path), starts_at__gte=first, starts_at__lt=after)
    handed_in = _in(Submission, path, start, end)
    exchanged = handed_in.exclude(status=SubmissionStatus.RETURNED)
    return Participation(
        organisation=path,
        start=start,
        end=end,
        organised_study=len(organised),
        members_studied=len(set(organised)),
        self_study=len(days),
        members_self_studied=len({member for _org, member, _day in days}),
        check_ins=await _in(CheckIn, path, start, end).count(),
        submitted=await handed_in.count(),
        approved=await handed_in.filter(status=SubmissionStatus.APPROVED).count(),
        returned=await handed_in.filter(status=SubmissionStatus.RETURNED).count(),
        members_exchanged=len(set(await exchanged.values_list("member_id", flat=True))),
        meetings_held=await meetings.filter(held(now)).count(),
        meetings_scheduled=await meetings.filter(scheduled(now)).count(),
        expected=len(outcome),
        present=outcome.count("present"),
        leave=outcome.count("leave"),
        absent=outcome.count("absent"),
    )
