"""The daily tally snapshot: every organisation's counts for one day, replacing that day's rows.

Defined by the same rules as `tallies.participation` (学习人次, 交流体会人次, distinct members),
per organisation the events were attributed to, plus meetings held by type and their attendance.
A day is a local day in DANGJIAN_TZ.  Re-running a day deletes and rewrites it in one
transaction: it replaces, never adds.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from server.activity import CheckIn, QuizAttempt, Submission, SubmissionStatus, UnitReading
from server.clock import day_span
from server.meetings import (
    Attendance,
    AttendeeRole,
    Meeting,
    MeetingAttendee,
    MeetingStatus,
    after_the_end,
)
from server.services.tallies import STUDY_MEETINGS
from server.snapshots import TallySnapshot


async def snapshot_day(day: date, zone: ZoneInfo) -> int:
    """Write `day`'s rows; the number of organisations with anything to count."""
    start, end = day_span(day, day, zone)
    rows: dict[int, dict[str, int]] = defaultdict(Counter)  # type: ignore[arg-type]
    studied: dict[int, set[int]] = defaultdict(set)
    meetings_by_org: dict[int, Counter[str]] = defaultdict(Counter)

    for org, _member in await CheckIn.filter(day=day).values_list("organisation_id", "member_id"):
        rows[org]["check_ins"] += 1
    for org, member in await UnitReading.filter(day=day).values_list(
        "organisation_id", "member_id"
    ):
        rows[org]["readings"] += 1
        studied[org].add(member)
    for org, member in await QuizAttempt.filter(day=day, finished_at__isnull=False).values_list(
        "organisation_id", "member_id"
    ):
        rows[org]["quizzes"] += 1
        studied[org].add(member)
    for org, status in await Submission.filter(day=day).values_list("organisation_id", "status"):
        rows[org]["submitted"] += 1
        if status == SubmissionStatus.APPROVED:
            rows[org]["approved"] += 1
        elif status == SubmissionStatus.RETURNED:
            rows[org]["returned"] += 1

    held = await Meeting.filter(starts_at__gte=start, starts_at__lt=end).exclude(
        status=MeetingStatus.CANCELLED
    )
    for meeting in held:
        meetings_by_org[meeting.organisation_id][meeting.kind] += 1  # type: ignore[attr-defined]
    study = {m.id for m in held if m.kind in STUDY_MEETINGS}
    attendance = await MeetingAttendee.filter(
        meeting_id__in=[m.id for m in held], role=AttendeeRole.EXPECTED
    ).values_list("organisation_id", "member_id", "meeting_id", "attendance")
    for org, member, meeting_id, state in attendance:
        rows[org]["expected"] += 1
        rows[org][after_the_end(state)] += 1
        if state == Attendance.PRESENT and meeting_id in study:
            rows[org]["lessons"] += 1
            studied[org].add(member)

    orgs = set(rows) | set(meetings_by_org)
    async with in_transaction():
        await TallySnapshot.filter(day=day).delete()
        await TallySnapshot.bulk_create(
            [
                TallySnapshot(
                    organisation_id=org,
                    day=day,
                    members_studied=len(studied.get(org, ())),
                    meetings=dict(meetings_by_org.get(org, {})),
                    **rows.get(org, {}),
                )
                for org in sorted(orgs)
            ]
        )
    return len(orgs)
