"""The participation tallies staff report upward, defined once, here.

- **学习人次 (study person-times)**: each time a member studied.  A study unit read in chat
  counts once per member, unit and day (the `unit_reading` row); a finished 答题 counts once;
  being present at a 党课 or a 主题党日 (organised study) as one of those expected counts
  once (a guest, 列席, does not).  Opening the same unit twice in a day is one
  person-time; two units are two.
- **交流体会人次 (experience exchanges)**: each 心得体会 handed in during the period that the
  branch has not returned: pending and approved ones.  A returned one does not count; its
  revision, handed in again, does.
- **Distinct members**: people, not times — who studied at least once, who exchanged at least once.
- Every event is counted for the organisation the member belonged to *when it happened*, and by
  its day in DANGJIAN_TZ; a period is inclusive of both ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.models import Model
from tortoise.queryset import QuerySet

from server.activity import CheckIn, QuizAttempt, Submission, SubmissionStatus, UnitReading
from server.clock import day_span
from server.meetings import Attendance, AttendeeRole, MeetingAttendee, MeetingStatus
from server.models import Organisation
from server.services.meetings import PARTY_LECTURE, THEME_DAY
from server.services.scope import under


@dataclass(frozen=True)
class Participation:
    organisation: str  # the subtree's path
    start: date
    end: date
    readings: int
    quizzes: int
    lessons: int  # present at a 党课 or 主题党日
    members_studied: int
    check_ins: int
    submitted: int  # every 心得 handed in, whatever became of it
    approved: int
    returned: int
    members_exchanged: int

    @property
    def study_person_times(self) -> int:
        return self.readings + self.quizzes + self.lessons

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
            f"{span}，共组织党员学习{self.study_person_times}人次，"
            f"交流体会{self.exchange_person_times}人次"
        )


# Meetings that are organised study: being present is a study person-time.
STUDY_MEETINGS = [PARTY_LECTURE, THEME_DAY]


def _chinese(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _in(model: type[Model], path: str, start: date, end: date) -> QuerySet[Any]:
    return model.filter(under(path), day__gte=start, day__lte=end)


async def _members(*querysets: QuerySet[Any]) -> set[int]:
    found: set[int] = set()
    for qs in querysets:
        found.update(await qs.distinct().values_list("member_id", flat=True))
    return found


async def participation(org: Organisation, start: date, end: date, zone: ZoneInfo) -> Participation:
    """`zone`: DANGJIAN_TZ, in which a meeting's day is its local date."""
    path = org.path
    readings = _in(UnitReading, path, start, end)
    quizzes = _in(QuizAttempt, path, start, end).filter(finished_at__isnull=False)
    first, after = day_span(start, end, zone)
    lessons = MeetingAttendee.filter(
        under(path),
        role=AttendeeRole.EXPECTED,  # a guest (列席) is not counted, as in the snapshot
        attendance=Attendance.PRESENT,
        meeting__kind__in=STUDY_MEETINGS,
        meeting__starts_at__gte=first,
        meeting__starts_at__lt=after,
    ).exclude(meeting__status=MeetingStatus.CANCELLED)
    handed_in = _in(Submission, path, start, end)
    exchanged = handed_in.exclude(status=SubmissionStatus.RETURNED)
    return Participation(
        organisation=path,
        start=start,
        end=end,
        readings=await readings.count(),
        quizzes=await quizzes.count(),
        lessons=await lessons.count(),
        members_studied=len(await _members(readings, quizzes, lessons)),
        check_ins=await _in(CheckIn, path, start, end).count(),
        submitted=await handed_in.count(),
        approved=await handed_in.filter(status=SubmissionStatus.APPROVED).count(),
        returned=await handed_in.filter(status=SubmissionStatus.RETURNED).count(),
        members_exchanged=len(await _members(exchanged)),
    )
