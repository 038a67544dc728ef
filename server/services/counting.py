"""Counting the tallies from the events themselves, grouped in SQL: one definition of the rules.

The nightly snapshot (`snapshot_day`) and the staff report's live days (`report`) both count
with `count_events` and `studied_pairs`, so a snapshot cannot drift from a live count:

- 学习人次 = readings + finished quizzes + lessons (present, as an expected attendee, at a held
  党课 or 主题党日); 交流体会人次 = 心得 handed in minus those returned;
- meetings held (not cancelled) by type, for the meeting's organisation on its local day;
  expected / present / leave / absent of their expected attendees, an undecided one counting as
  absent (`after_the_end`), for the attendee's organisation.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from tortoise import connections
from tortoise.functions import Count

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

# The counts a snapshot row holds (besides meetings and distinct members), summed as they are.
COUNTS = (
    "check_ins", "readings", "quizzes", "lessons", "submitted", "approved", "returned",
    "expected", "present", "leave", "absent",
)  # fmt: skip


@dataclass
class Tally:
    counts: Counter[str] = field(default_factory=Counter)
    meetings: Counter[str] = field(default_factory=Counter)

    def add(self, other: Tally) -> None:
        self.counts.update(other.counts)
        self.meetings.update(other.meetings)


# Counts are gathered per organisation id (by="child"/"branch"/None) or per day (time buckets).
Grain = str  # "organisation_id" or "day"
Parts = dict[Any, Tally]


def ids_sql(ids: Iterable[int]) -> str:
    return ",".join(str(int(i)) for i in ids) or "NULL"


def day_or_id(value: Any, grain: Grain) -> Any:
    if grain == "day" and not isinstance(value, date):
        return date.fromisoformat(str(value))
    return value


async def count_events(
    ids: list[int], first: date, last: date, zone: ZoneInfo, grain: Grain
) -> Parts:
    """Everything for [first, last] from the event tables, grouped in SQL per org or per day."""
    out: Parts = defaultdict(Tally)

    def span(model: Any) -> Any:
        return model.filter(organisation_id__in=ids, day__gte=first, day__lte=last)

    simple = (
        ("check_ins", span(CheckIn)),
        ("readings", span(UnitReading)),
        ("quizzes", span(QuizAttempt).filter(finished_at__isnull=False)),
    )
    for name, qs in simple:
        for row in await qs.annotate(n=Count("id")).group_by(grain).values(grain, "n"):
            out[row[grain]].counts[name] += row["n"]
    handed_in = span(Submission).annotate(n=Count("id")).group_by(grain, "status")
    for row in await handed_in.values(grain, "status", "n"):
        counts = out[row[grain]].counts
        counts["submitted"] += row["n"]
        status = str(getattr(row["status"], "value", row["status"]))
        if status == SubmissionStatus.APPROVED.value:
            counts["approved"] += row["n"]
        elif status == SubmissionStatus.RETURNED.value:
            counts["returned"] += row["n"]

    begin, after = day_span(first, last, zone)
    held = Meeting.filter(
        organisation_id__in=ids, starts_at__gte=begin, starts_at__lt=after
    ).exclude(status=MeetingStatus.CANCELLED)
    attendees = MeetingAttendee.filter(
        organisation_id__in=ids,
        role=AttendeeRole.EXPECTED,
        meeting__starts_at__gte=begin,
        meeting__starts_at__lt=after,
    ).exclude(meeting__status=MeetingStatus.CANCELLED)
    if grain == "organisation_id":
        rows = await held.annotate(n=Count("id")).group_by(grain, "kind").values(grain, "kind", "n")
        for row in rows:
            out[row[grain]].meetings[row["kind"]] += row["n"]
        grouped = attendees.annotate(n=Count("id")).group_by(grain, "attendance", "meeting__kind")
        for row in await grouped.values(grain, "attendance", "meeting__kind", "n"):
            attend(out[row[grain]], row["attendance"], row["meeting__kind"], row["n"])
    else:
        for kind, starts_at in await held.values_list("kind", "starts_at"):
            out[local_day(starts_at, zone)].meetings[kind] += 1
        grouped = attendees.annotate(n=Count("id")).group_by(
            "meeting__starts_at", "attendance", "meeting__kind"
        )
        for row in await grouped.values("meeting__starts_at", "attendance", "meeting__kind", "n"):
            day = local_day(row["meeting__starts_at"], zone)
            attend(out[day], row["attendance"], row["meeting__kind"], row["n"])
    return out


def attend(tally: Tally, state: Any, kind: str, n: int) -> None:
    """Expected attendees as `snapshot_day` counts them; present at organised study is a lesson."""
    value = str(getattr(state, "value", state))
    tally.counts["expected"] += n
    tally.counts[after_the_end(value)] += n
    if value == Attendance.PRESENT.value and kind in STUDY_MEETINGS:
        tally.counts["lessons"] += n


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def lessons_present(ids: list[int], first: date, last: date, zone: ZoneInfo) -> Any:
    begin, after = day_span(first, last, zone)
    return MeetingAttendee.filter(
        organisation_id__in=ids,
        role=AttendeeRole.EXPECTED,
        attendance=Attendance.PRESENT,
        meeting__kind__in=STUDY_MEETINGS,
        meeting__starts_at__gte=begin,
        meeting__starts_at__lt=after,
    ).exclude(meeting__status=MeetingStatus.CANCELLED)


async def studied_pairs(
    ids: list[int], first: date, last: date, zone: ZoneInfo
) -> set[tuple[int, int]]:
    """Distinct (organisation, member) who studied in the period: a few thousand rows at most."""
    if connections.get("default").capabilities.dialect == "postgres":
        begin, after = day_span(first, last, zone)
        kinds = ", ".join(f"'{kind}'" for kind in STUDY_MEETINGS if "'" not in kind)
        period = f" AND r.day >= '{first.isoformat()}' AND r.day <= '{last.isoformat()}'"
        queries: list[Awaitable[Any]] = [
            _skip_pairs("unit_reading", "", period, ids),
            _skip_pairs("quiz_attempt", "", period + " AND r.finished_at IS NOT NULL", ids),
            _skip_pairs(
                "meeting_attendee",
                " JOIN meeting mt ON mt.id = r.meeting_id",
                " AND r.attendance = 'present' AND r.role = 'expected'"
                f" AND mt.kind IN ({kinds}) AND mt.status <> 'cancelled'"
                f" AND mt.starts_at >= '{begin.isoformat()}'"
                f" AND mt.starts_at < '{after.isoformat()}'",
                ids,
            ),
        ]
    else:
        lessons = lessons_present(ids, first, last, zone).distinct()
        queries = [lessons.values_list("organisation_id", "member_id")]
        queries += [
            qs.distinct().values_list("organisation_id", "member_id")
            for qs in (
                UnitReading.filter(organisation_id__in=ids, day__gte=first, day__lte=last),
                QuizAttempt.filter(
                    organisation_id__in=ids,
                    day__gte=first,
                    day__lte=last,
                    finished_at__isnull=False,
                ),
            )
        ]
    found: set[tuple[int, int]] = set()
    for pairs in await asyncio.gather(*queries):
        found.update((int(o), int(m)) for o, m in pairs)
    return found


async def _skip_pairs(table: str, join: str, where: str, ids: list[int]) -> list[tuple[int, int]]:
    """PostgreSQL: the (organisation, member) pairs of `table` with a row `r` meeting `where`.

    A year holds hundreds of thousands of readings but only a few thousand pairs, so instead of
    reading every row this walks the table's (organisation_id, member_id, ...) index from one
    pair to the next (a loose index scan) and asks, for each pair, whether it has a row in the
    period.  The table, conditions, ids and dates written into the text are ours.
    """
    sql = f"""
    WITH RECURSIVE p(o, m) AS (
        (SELECT organisation_id, member_id FROM {table}
         ORDER BY organisation_id, member_id LIMIT 1)
        UNION ALL
        SELECT n.organisation_id, n.member_id FROM p CROSS JOIN LATERAL (
            SELECT organisation_id, member_id FROM {table}
            WHERE (organisation_id, member_id) > (p.o, p.m)
            ORDER BY organisation_id, member_id LIMIT 1
        ) n
    )
    SELECT o, m FROM p WHERE o IN ({ids_sql(ids)}) AND EXISTS (
        SELECT 1 FROM {table} r{join} WHERE r.organisation_id = p.o AND r.member_id = p.m{where}
    )"""
    rows = await connections.get("default").execute_query_dict(sql)
    return [(r["o"], r["m"]) for r in rows]
