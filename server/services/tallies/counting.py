"""Counting the tallies from the events themselves, grouped in SQL: one definition of the rules.

The nightly snapshot (`snapshot_day`) and the staff report's live days (`report`) both count
with `count_events` and `studied_pairs`, so a snapshot cannot drift from a live count:

- 组织党员学习 (organised study, `lessons`): being present, as one of those expected, at a held
  meeting that is organised study (`Meeting.study`: a 党课, 主题党日 or 集中学习, or a meeting
  whose agenda is study).  This is what the committee reports upward.
- 自学 (self-study, `self_study`): a member who, on a day, read a unit in full or finished a
  quiz — once per member and day (in the organisation the deed was counted for), however many
  units were opened; a digest skimmed past is nothing.
- 交流体会人次 = 心得 handed in minus those returned.
- Meetings held: not cancelled and over at `now` (`meetings.held`), by type, for the meeting's
  organisation on its local day; a meeting still to come or under way is `scheduled` (已安排).
  Expected / present / leave / absent of the expected attendees of held meetings, an undecided
  one (or a leave asked for and never granted) counting as absent (`after_the_end`), for the
  organisation the attendee was counted in.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from tortoise import connections
from tortoise.expressions import Q
from tortoise.functions import Count

from server.clock import day_span
from server.models.meetings import (
    Attendance,
    AttendeeRole,
    Meeting,
    MeetingAttendee,
    after_the_end,
    held,
    scheduled,
)
from server.models.study import CheckIn, Submission, SubmissionStatus

# From how many days a period's distinct members are found by walking the pairs in the index.
SKIP_FROM_DAYS = 45

# The counts a snapshot row holds (besides meetings and distinct members), summed as they are.
COUNTS = (
    "check_ins", "self_study", "lessons", "submitted", "approved", "returned",
    "expected", "present", "leave", "absent",
)  # fmt: skip


@dataclass
class Tally:
    counts: Counter[str] = field(default_factory=Counter)
    meetings: Counter[str] = field(default_factory=Counter)

    def add(self, other: Tally) -> None:
        # A plain loop: Counter.update's checks cost more than the adding, a district's report
        # adds thousands of these.
        counts, meetings = self.counts, self.meetings
        for name, n in other.counts.items():
            counts[name] += n
        for kind, n in other.meetings.items():
            meetings[kind] += n


# Counts are gathered per organisation id (by="child"/"branch"/None) or per day (time buckets).
Grain = str  # "organisation_id" or "day"
Parts = dict[Any, Tally]


@dataclass(frozen=True)
class Studied:
    """Distinct (organisation, member) pairs: at organised study, and studying on their own."""

    organised: set[tuple[int, int]]
    self_study: set[tuple[int, int]]


def ids_sql(ids: Iterable[int]) -> str:
    return ",".join(str(int(i)) for i in ids) or "NULL"


def _ranges(ids: Iterable[int]) -> list[tuple[int, int]] | None:
    """`ids` as ranges of consecutive ids, or None when that is not shorter than the list.

    A subtree's organisations are mostly created together, so a district's 3,500 ids are a
    handful of ranges; the ORM spends ~20 ms building an IN list that long, per query.
    """
    found = _ranges_of(tuple(ids))
    return None if found is None else list(found)


@lru_cache(maxsize=64)  # a report asks for the same subtree's ranges about ten times
def _ranges_of(ids: tuple[int, ...]) -> tuple[tuple[int, int], ...] | None:
    unique = sorted(set(ids))
    ranges: list[tuple[int, int]] = []
    for i in unique:
        if ranges and ranges[-1][1] == i - 1:
            ranges[-1] = (ranges[-1][0], i)
        else:
            ranges.append((i, i))
    if not ranges or len(ranges) * 4 > len(unique):
        return None
    return tuple(ranges)


def within(ids: list[int], field: str = "organisation_id") -> Q:
    """The ORM filter: `field` is one of `ids` (as ranges where that is shorter)."""
    ranges = _ranges(ids)
    # dict[str, Any]: Q's own keyword `join_type` is a str, so a dict of ints would not fit.
    if ranges is None:
        every: dict[str, Any] = {f"{field}__in": list(ids)}
        return Q(**every)
    spans: list[dict[str, Any]] = [
        {f"{field}__gte": low, f"{field}__lte": high} for low, high in ranges
    ]
    return Q(*[Q(**span) for span in spans], join_type=Q.OR)


def within_sql(ids: list[int], column: str = "organisation_id") -> str:
    """The same as SQL text (the ids and the column are ours)."""
    ranges = _ranges(ids)
    if ranges is None:
        return f"{column} IN ({ids_sql(ids)})"
    return "(" + " OR ".join(f"{column} BETWEEN {lo} AND {hi}" for lo, hi in ranges) + ")"


def day_or_id(value: Any, grain: Grain) -> Any:
    if grain == "day" and not isinstance(value, date):
        return date.fromisoformat(str(value))
    return value


def _postgres() -> bool:
    dialect: str = connections.get("default").capabilities.dialect
    return dialect == "postgres"


def timestamp_sql(moment: datetime) -> str:
    """A UTC instant as SQL text that compares right on both engines (SQLite compares text)."""
    utc = moment.astimezone(UTC)
    if _postgres():
        return f"TIMESTAMPTZ '{utc.isoformat()}'"
    return f"'{utc.isoformat()}'"


def self_study_sql(ids: list[int], first: date, last: date, select: str) -> str:
    """The distinct (`select`) rows of 自学 in the period: units read in full, quizzes done.

    `select` is ours: the columns each branch of the UNION gives (e.g. "organisation_id,
    member_id, day"); the ids and dates written into the text are ours too.
    """
    where = f"{within_sql(ids)} AND day >= '{first.isoformat()}' AND day <= '{last.isoformat()}'"
    return (
        f"SELECT {select} FROM unit_reading WHERE {where} AND read_full"
        f" UNION SELECT {select} FROM quiz_attempt WHERE {where} AND finished_at IS NOT NULL"
    )


async def count_events(
    ids: list[int], first: date, last: date, zone: ZoneInfo, grain: Grain, now: datetime
) -> Parts:
    """Everything for [first, last] from the event tables, grouped in SQL per org or per day."""
    out: Parts = defaultdict(Tally)

    def span(model: Any) -> Any:
        return model.filter(within(ids), day__gte=first, day__lte=last)

    days = self_study_sql(ids, first, last, "organisation_id, member_id, day")
    begin, after = day_span(first, last, zone)
    in_period = Meeting.filter(within(ids), starts_at__gte=begin, starts_at__lt=after)
    attendees = MeetingAttendee.filter(
        held(now, "meeting__"),
        within(ids),
        role=AttendeeRole.EXPECTED,
        meeting__starts_at__gte=begin,
        meeting__starts_at__lt=after,
    )
    by_org = grain == "organisation_id"
    when = grain if by_org else "meeting__starts_at"
    # Independent reads: on PostgreSQL they run side by side on the pool's connections.
    checked, alone, handed_in, kinds, coming, grouped = await asyncio.gather(
        span(CheckIn).annotate(n=Count("id")).group_by(grain).values(grain, "n"),
        connections.get("default").execute_query_dict(
            f"SELECT {grain} AS k, COUNT(*) AS n FROM ({days}) u GROUP BY {grain}"
        ),
        span(Submission)
        .annotate(n=Count("id"))
        .group_by(grain, "status")
        .values(grain, "status", "n"),
        (
            in_period.filter(held(now)).annotate(n=Count("id")).group_by(grain, "kind")
            if by_org
            else in_period.filter(held(now))
        ).values_list(grain if by_org else "starts_at", "kind", *(("n",) if by_org else ())),
        (
            in_period.filter(scheduled(now)).annotate(n=Count("id")).group_by(grain)
            if by_org
            else in_period.filter(scheduled(now))
        ).values_list(grain if by_org else "starts_at", *(("n",) if by_org else ())),
        attendees.annotate(n=Count("id"))
        .group_by(when, "attendance", "meeting__study")
        .values_list(when, "attendance", "meeting__study", "n"),
    )

    def key(value: Any) -> Any:
        return value if by_org else local_day(value, zone)

    for row in checked:
        out[day_or_id(row[grain], grain)].counts["check_ins"] += row["n"]
    for row in alone:
        out[day_or_id(row["k"], grain)].counts["self_study"] += int(row["n"])
    for row in handed_in:
        counts = out[day_or_id(row[grain], grain)].counts
        counts["submitted"] += row["n"]
        status = str(getattr(row["status"], "value", row["status"]))
        if status == SubmissionStatus.APPROVED.value:
            counts["approved"] += row["n"]
        elif status == SubmissionStatus.RETURNED.value:
            counts["returned"] += row["n"]
    for at, kind, *n in kinds:
        out[key(at)].meetings[kind] += n[0] if n else 1
    for at, *n in coming:
        out[key(at)].counts["scheduled"] += n[0] if n else 1
    for at, state, study, n in grouped:
        attend(out[key(at)], state, study, n)
    return out


def attend(tally: Tally, state: Any, study: Any, n: int) -> None:
    """Expected attendees of a held meeting; present at organised study is a lesson."""
    value = str(getattr(state, "value", state))
    tally.counts["expected"] += n
    tally.counts[after_the_end(value)] += n
    if value == Attendance.PRESENT.value and bool(study):
        tally.counts["lessons"] += n


def local_day(moment: datetime | str, zone: ZoneInfo) -> date:
    if isinstance(moment, str):  # a raw SQLite row
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone).date()


def lessons_present(ids: list[int], first: date, last: date, zone: ZoneInfo, now: datetime) -> Any:
    """Expected attendees present at held organised study in the period."""
    begin, after = day_span(first, last, zone)
    return MeetingAttendee.filter(
        held(now, "meeting__"),
        within(ids),
        role=AttendeeRole.EXPECTED,
        attendance=Attendance.PRESENT,
        meeting__study=True,
        meeting__starts_at__gte=begin,
        meeting__starts_at__lt=after,
    )


async def studied_pairs(
    ids: list[int], first: date, last: date, zone: ZoneInfo, now: datetime
) -> Studied:
    """Who took part in organised study, and who studied on their own, in the period.

    A few thousand (organisation, member) pairs at most, whatever the number of events.  A
    long period on PostgreSQL walks the pairs in the index (`_skip_pairs`); a short one (today,
    a week, a month) has few enough events that reading them by day is cheaper.
    """
    if _postgres() and (last - first).days >= SKIP_FROM_DAYS:
        begin, after = day_span(first, last, zone)
        period = f" AND r.day >= '{first.isoformat()}' AND r.day <= '{last.isoformat()}'"
        organised: Awaitable[Any] = _skip_pairs(
            "meeting_attendee",
            " JOIN meeting mt ON mt.id = r.meeting_id",
            " AND r.attendance = 'present' AND r.role = 'expected'"
            " AND mt.study AND mt.status <> 'cancelled'"
            f" AND mt.ends_at <= {timestamp_sql(now)}"
            f" AND mt.starts_at >= {timestamp_sql(begin)}"
            f" AND mt.starts_at < {timestamp_sql(after)}",
            ids,
        )
        own: list[Awaitable[Any]] = [
            _skip_pairs("unit_reading", "", period + " AND r.read_full", ids),
            _skip_pairs("quiz_attempt", "", period + " AND r.finished_at IS NOT NULL", ids),
        ]
    else:
        organised = (
            lessons_present(ids, first, last, zone, now)
            .distinct()
            .values_list("organisation_id", "member_id")
        )
        sql = self_study_sql(ids, first, last, "organisation_id, member_id")
        own = [connections.get("default").execute_query_dict(sql)]
    found, *theirs = await asyncio.gather(organised, *own)
    alone: set[tuple[int, int]] = set()
    for rows in theirs:
        alone.update(_pair(row) for row in rows)
    return Studied({_pair(row) for row in found}, alone)


def _pair(row: Any) -> tuple[int, int]:
    if isinstance(row, dict):
        values = list(row.values())
        return int(values[0]), int(values[1])
    return int(row[0]), int(row[1])


async def _skip_pairs(table: str, join: str, where: str, ids: list[int]) -> list[tuple[int, int]]:
    """PostgreSQL: the (organisation, member) pairs of `table` with a row `r` meeting `where`.

    A year holds hundreds of thousands of readings but only a few thousand pairs, so instead of
    reading every row this walks the table's (organisation_id, member_id, ...) index from one
    pair to the next (a loose index scan) and asks, for each pair, whether it has a row in the
    period.  The table, conditions, ids and dates written into the text are ours.
    """
    if not ids:
        return []
    # Only between the subtree's lowest and highest ids: one branch of a district is a short walk.
    low, high = min(ids), max(ids)
    sql = f"""
    WITH RECURSIVE p(o, m) AS (
        (SELECT organisation_id, member_id FROM {table} WHERE organisation_id >= {int(low)}
         ORDER BY organisation_id, member_id LIMIT 1)
        UNION ALL
        SELECT n.organisation_id, n.member_id FROM p CROSS JOIN LATERAL (
            SELECT organisation_id, member_id FROM {table}
            WHERE (organisation_id, member_id) > (p.o, p.m) AND organisation_id <= {int(high)}
            ORDER BY organisation_id, member_id LIMIT 1
        ) n
    )
    SELECT o, m FROM p WHERE o IN ({ids_sql(ids)}) AND EXISTS (
        SELECT 1 FROM {table} r{join} WHERE r.organisation_id = p.o AND r.member_id = p.m{where}
    )"""
    rows = await connections.get("default").execute_query_dict(sql)
    return [(r["o"], r["m"]) for r in rows]
