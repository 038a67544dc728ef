"""The daily tally snapshot: every organisation's counts for one day, replacing that day's rows.

Defined by the same rules as `tallies.participation` (学习人次, 交流体会人次, distinct members),
per organisation the events were attributed to, plus meetings held by type and their attendance.
A day is a local day in DANGJIAN_TZ.  Re-running a day deletes and rewrites it in one
transaction: it replaces, never adds.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
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
from server.snapshots import SnapshotDay, TallySnapshot


async def snapshot_day(day: date, zone: ZoneInfo, *, now: datetime | None = None) -> int:
    """Write `day`'s rows and mark the day taken; the number of organisations with anything."""
    started = (now or datetime.now(UTC)).astimezone(UTC)
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
        await SnapshotDay.filter(day=day).delete()
        await SnapshotDay.create(day=day, taken_at=started)
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


async def touched(day: date) -> None:
    """Something on `day` changed after the fact: reports count it live until it is retaken."""
    await SnapshotDay.filter(day=day).delete()


async def touched_around(moment: datetime) -> None:
    """Something at `moment` changed: its local day is the UTC day, or the one either side."""
    day = moment.astimezone(UTC).date()
    await SnapshotDay.filter(
        day__gte=day - timedelta(days=1), day__lte=day + timedelta(days=1)
    ).delete()


async def fresh_days(first: date, last: date) -> set[date]:
    """The days in [first, last] whose snapshot is complete and current."""
    days = await SnapshotDay.filter(day__gte=first, day__lte=last).values_list("day", flat=True)
    return {d if isinstance(d, date) else date.fromisoformat(str(d)) for d in days}


async def catch_up(
    today: date, zone: ZoneInfo, *, back: int = 400, most: int = 60, now: datetime | None = None
) -> list[date]:
    """Take the days before today (up to `back` days ago) that are not current.

    Yesterday, days missed while no process was up, and days changed since they were taken:
    the most recent `most` of them a run, so one night after a long outage does not hold the
    database for long (the next nights take the rest).
    """
    first = today - timedelta(days=back)
    fresh = await fresh_days(first, today - timedelta(days=1))
    due = [
        first + timedelta(days=n) for n in range(back) if first + timedelta(days=n) not in fresh
    ][-most:]
    for day in due:
        await snapshot_day(day, zone, now=now)
    return due
