"""The staff participation report: one organisation's tallies for a period, broken down.

The numbers are those of `tallies.participation` and `snapshot_day`, for the organisation and
everything under it, each event counted where the member was counted when it happened (their
党小组 if they had one, else their organisation), by the rules of `services.counting`:

- 组织党员学习 (`organised_study`): present, as one of those expected, at held organised study;
- 自学 (`self_study`): a member's day with a unit read in full or a quiz finished, once a day;
- 交流体会人次 = 心得 handed in minus those returned;
- meetings held (not cancelled, and over at `now`) by type; those still to come or under way
  are `meetings_scheduled` (已安排) and in no attendance figure; expected / present / leave /
  absent of the expected attendees of held meetings, an undecided one counting as absent.

Days before `today` are read from the daily snapshot where it is current (summed in SQL);
`today` and any day not current are counted live.  Distinct members cannot be added up across
days, so they are always counted live, in a few grouped queries.  `use_snapshots=False` counts
everything live: the benchmark's comparison, and what the tests check the snapshot path against.

A breakdown's rows add up to the total: events attributed to the organisation itself (or, by
branch, outside every branch) get a row of their own when there are any.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Hashable, Iterable
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypedDict, cast
from zoneinfo import ZoneInfo

from tortoise import connections
from tortoise.expressions import Q
from tortoise.functions import Count, Sum

from server.days import check_day
from server.errors import ValidationFailed
from server.models.people import Member, MemberStatus, Organisation, OrgKind
from server.models.tallies import TallySnapshot
from server.services.meetings.scheduling import STANDARD, THREE_AND_ONE
from server.services.people.scope import subtree
from server.services.tallies.counting import (
    COUNTS,
    Grain,
    Parts,
    Tally,
    count_events,
    day_or_id,
    ids_sql,
    lessons_present,
    local_day,
    self_study_sql,
    studied_pairs,
    within,
    within_sql,
)
from server.services.tallies.distinct import Span, counted
from server.services.tallies.report_cache import CACHE, digest, version
from server.services.tallies.service import ServiceSummary, service_summary
from server.services.tallies.snapshot import taken_days

BREAKDOWNS = ("child", "branch", "day", "week", "month")
MAX_YEARS = 3
OTHER = "other"  # the row of events outside every branch, in a breakdown by branch


@dataclass(frozen=True)
class TallyRow:
    """One organisation or one time bucket (or the total) of a report."""

    key: str
    label: str
    org_id: int | None
    start: date
    end: date
    organised_study: int  # 组织党员学习人次: present at held organised study
    members_studied: int  # distinct members at organised study
    self_study: int  # 自学人次: member-days with a unit read in full or a quiz finished
    members_self_studied: int  # distinct members who studied on their own
    check_ins: int
    submitted: int
    approved: int
    returned: int
    pending: int
    exchange_person_times: int
    meetings: dict[str, int]  # held, by type
    meetings_held: int
    meetings_scheduled: int  # 已安排: not yet over (or not yet begun), not cancelled
    expected: int
    present: int
    leave: int
    absent: int
    attendance_rate: float | None
    active_members: int

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["start"], out["end"] = self.start.isoformat(), self.end.isoformat()
        return out


@dataclass(frozen=True)
class TallyReport:
    org_id: int
    org_name: str
    org_path: str
    start: date
    end: date
    by: str | None
    total: TallyRow
    rows: list[TallyRow]
    sentence: str
    # The 双报到 figures of the same days (None: no community takes part there).
    service: ServiceSummary | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "org_id": self.org_id,
            "org_name": self.org_name,
            "org_path": self.org_path,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "by": self.by,
            "sentence": self.sentence,
            "total": self.total.as_dict(),
            "rows": [r.as_dict() for r in self.rows],
            "service": self.service.as_dict() if self.service else None,
        }


def default_period(start: date | None, end: date | None, today: date) -> tuple[date, date]:
    """What a report covers when a bound is not given: up to today, from 1 January of its year."""
    end = end or today
    return start or date(end.year, 1, 1), end


def validate(start: date, end: date, by: str | None) -> None:
    check_day(start, "from")
    check_day(end, "to")
    if by is not None and by not in BREAKDOWNS:
        raise ValidationFailed("分组方式只能是下级组织、各支部、按日、按周或按月。", field="by")
    if start > end:
        raise ValidationFailed("开始日期晚于结束日期，请重新选择统计期间。", field="from")
    if end >= _years_later(start, MAX_YEARS):
        raise ValidationFailed(
            f"统计期间不能超过{MAX_YEARS}年，请把结束日期提前或把开始日期推后。", field="to"
        )


def _years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28) + timedelta(days=1)


def _chinese(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def span_words(start: date, end: date, today: date) -> str:
    """How a sentence names the period: "2026年以来" for this year so far."""
    if (start.month, start.day) == (1, 1) and end >= today:
        return f"{start.year}年以来"
    return f"{_chinese(start)}至{_chinese(end)}"


def sentence_for(
    start: date, end: date, today: date, organised: int, exchanged: int, self_study: int
) -> str:
    """The line staff paste into their reports: "2026年以来" for this year so far.

    The figure reported upward is organised study, in the report's own words; 自学 in the app
    is a separate figure, named as such, so nobody mistakes one for the other.
    """
    return (
        f"{span_words(start, end, today)}，共组织党员学习{organised}人次，交流体会{exchanged}人次"
        f"（另有党员线上自学{self_study}人次）"
    )


class ReportTime(TypedDict):
    """tally_report's clock keywords, as a page passes them to each of its reports."""

    today: date
    zone: ZoneInfo
    now: datetime


async def tally_report(
    org: Organisation,
    start: date,
    end: date,
    *,
    by: str | None,
    today: date,
    zone: ZoneInfo,
    now: datetime,
    use_snapshots: bool = True,
    service: bool = True,
) -> TallyReport:
    """`now` decides which meetings are over (held) and which are still to come; `service`
    adds the 双报到 figures of the same days (a second report of the same period needs none)."""
    validate(start, end, by)
    orgs = (
        await Organisation.filter(subtree(org.path))
        .order_by("id")
        .values("id", "name", "path", "kind")
    )
    ids = [o["id"] for o in orgs]
    grain: Grain = "day" if by in ("day", "week", "month") else "organisation_id"

    counting: list[Awaitable[Parts]] = []
    kept: list[Hashable | None] = []  # of each part: its key in the report cache, if it has one
    live_from = start
    taken: dict[date, str] = {}
    if use_snapshots and start < today:
        last = min(end, today - timedelta(days=1))
        taken = await taken_days(start, last)
        for first, until, current in _runs(start, last, set(taken)):
            if current:
                sums = ("sums", grain, digest(ids), first, until, version(taken, first, until))
                counting.append(_from_snapshots_kept(sums, ids, first, until, grain))
                kept.append(sums)
            else:  # never taken, or changed since it was: count the events themselves
                counting.append(count_events(ids, first, until, zone, grain, now))
                kept.append(None)
        live_from = last + timedelta(days=1)
    if live_from <= end:
        counting.append(count_events(ids, live_from, end, zone, grain, now))
        kept.append(None)
    # Independent reads: on PostgreSQL they run side by side on the pool's connections.
    gathered = await asyncio.gather(
        _studied(ids, start, end, live_from, zone, now, taken),
        _active_members(ids),
        *counting,
    )
    # gather() of different awaitables is typed list[object]: what each of them returned.
    studied = cast(Span, gathered[0])
    active = cast("dict[int, int]", gathered[1])
    parts = cast("list[Parts]", gathered[2:])

    if by in ("day", "week", "month"):
        buckets = _buckets(start, end, by)
        bucket_of = _bucket_of(by)
        per_key = await _merge_kept(
            parts, kept, lambda day: bucket_of(day).isoformat(), ("time", by)
        )
        people = await _studied_by_bucket_kept(ids, start, end, zone, now, by, taken, live_from)
        _none, distinct_all = await counted(studied, None, ("total",))
        rows = [
            _row(
                bucket_key(by, date.fromisoformat(key)),
                label,
                None,
                first,
                last,
                per_key.get(key, Tally()),
                people.get(key, (0, 0)),
                sum(active.values()),
            )
            for key, label, first, last in buckets
        ]
    else:
        # The names too: they are the rows' labels.
        tree = digest(f"{o['id']}:{o['kind']}:{o['path']}:{o['name']}" for o in orgs)

        async def cut_rows() -> tuple[dict[int, str], list[tuple[str, str, int | None]]]:
            return _org_rows(org, orgs, by)

        row_of, heads = await CACHE.get(("cut", org.id, by, tree), cut_rows)
        per_key = await _merge_kept(
            parts, kept, lambda org_id: row_of.get(org_id, OTHER), ("rows", org.id, by, tree)
        )
        who_per_row, distinct_all = await counted(
            studied, lambda org_id: row_of.get(org_id, OTHER), ("rows", org.id, by, tree)
        )
        members: Counter[str] = Counter()
        for org_id, n in active.items():
            members[row_of.get(org_id, OTHER)] += n
        rows = []
        for n, (key, label, head_id) in enumerate(heads):
            tally = per_key.get(key, Tally())
            who = who_per_row.get(key, (0, 0))
            own = n == len(heads) - 1  # the org's own row (本级), or outside every branch
            if own and not (tally.counts or tally.meetings or any(who) or members[key]):
                continue  # nothing there: no row for it
            rows.append(_row(key, label, head_id, start, end, tally, who, members[key]))

    everything = Tally()  # every event is in exactly one row (or bucket): their sum
    for tally in per_key.values():
        everything.add(tally)
    total = _row(
        "total",
        "合计",
        org.id,
        start,
        end,
        everything,
        distinct_all,
        sum(active.values()),
    )
    return TallyReport(
        org_id=org.id,
        org_name=org.name,
        org_path=org.path,
        start=start,
        end=end,
        by=by,
        total=total,
        rows=rows,
        sentence=sentence_for(
            start, end, today, total.organised_study, total.exchange_person_times, total.self_study
        ),
        service=await service_summary(
            org, start, end, span=span_words(start, end, today), zone=zone, now=now
        )
        if service
        else None,
    )


def _row(
    key: str,
    label: str,
    org_id: int | None,
    start: date,
    end: date,
    tally: Tally,
    people: tuple[int, int],  # distinct members at organised study, and studying alone
    active_members: int,
) -> TallyRow:
    c = tally.counts
    meetings = {
        kind: tally.meetings[kind] for kind in _kinds(tally.meetings) if tally.meetings[kind]
    }
    return TallyRow(
        key=key,
        label=label,
        org_id=org_id,
        start=start,
        end=end,
        organised_study=c["lessons"],
        members_studied=people[0],
        self_study=c["self_study"],
        members_self_studied=people[1],
        check_ins=c["check_ins"],
        submitted=c["submitted"],
        approved=c["approved"],
        returned=c["returned"],
        pending=c["submitted"] - c["approved"] - c["returned"],
        exchange_person_times=c["submitted"] - c["returned"],
        meetings=meetings,
        meetings_held=sum(meetings.values()),
        meetings_scheduled=c["scheduled"],
        expected=c["expected"],
        present=c["present"],
        leave=c["leave"],
        absent=c["absent"],
        attendance_rate=round(c["present"] / c["expected"], 4) if c["expected"] else None,
        active_members=active_members,
    )


def _kinds(meetings: Iterable[str]) -> list[str]:
    """The standard types in their order, then the branch's own types by name."""
    present = set(meetings)
    return [k for k in STANDARD if k in present] + sorted(present - set(STANDARD))


def meeting_kinds(report: TallyReport) -> list[str]:
    """The export's meeting columns: every 三会一课 type, held or not, then any other held."""
    held = {kind for row in (report.total, *report.rows) for kind in row.meetings}
    return [*THREE_AND_ONE, *(k for k in _kinds(held) if k not in THREE_AND_ONE)]


async def _merge_kept(
    parts: list[Parts],
    kept: list[Hashable | None],
    key_of: Callable[[Any], str],
    rows: Hashable,
) -> dict[str, Tally]:
    """`_merge`, each kept part's share merged once per way of cutting it into `rows`: a
    district's year is thousands of organisations, its report a few hundred rows."""
    pieces: list[dict[str, Tally]] = []
    for part, key in zip(parts, kept, strict=True):
        if key is None:
            pieces.append(_merge([part], key_of))
        else:

            async def merged(part: Parts = part) -> dict[str, Tally]:
                return _merge([part], key_of)

            pieces.append(await CACHE.get(("merged", key, rows), merged))
    return _merge(pieces, lambda key: key)


def _merge(parts: Iterable[dict[Any, Tally]], key_of: Callable[[Any], str]) -> dict[str, Tally]:
    merged: dict[str, Tally] = {}
    for part in parts:
        for raw, tally in part.items():
            key = key_of(raw)
            into = merged.get(key)
            if into is None:  # a copy (the parts may be kept): Counter copies a Counter in C
                merged[key] = Tally(Counter(tally.counts), Counter(tally.meetings))
            else:
                into.add(tally)
    return merged


# ---- rows: organisations -------------------------------------------------------------------


def _org_rows(
    root: Organisation, orgs: list[dict[str, Any]], by: str | None
) -> tuple[dict[int, str], list[tuple[str, str, int | None]]]:
    """Which row each organisation's events go to, and the rows (key, label, org id) in order."""
    depth = root.path.count("/") + 1
    if by == "child":
        listed = [
            o
            for o in orgs
            if o["path"].count("/") == depth
            and (root.kind == OrgKind.BRANCH or str(o["kind"]) != OrgKind.GROUP.value)
        ]
        own: tuple[str, str, int | None] = (str(root.id), f"{root.name}（本级）", root.id)
    elif by == "branch":
        if root.kind in (OrgKind.BRANCH, OrgKind.GROUP):  # one branch (or group): its own row
            listed = [o for o in orgs if o["id"] == root.id]
        else:
            listed = [o for o in orgs if str(o["kind"]) == OrgKind.BRANCH.value]
        own = (OTHER, "支部以外（党工委、党总支本级等）", None)
    else:
        return {o["id"]: "total" for o in orgs}, []
    heads_of = {o["path"]: str(o["id"]) for o in listed}
    row_of: dict[int, str] = {}
    for o in orgs:
        parts = o["path"].split("/")
        # The nearest listed organisation at or above this one (the root itself included),
        # else the org's own row.
        for n in range(len(parts), depth - 1, -1):
            key = heads_of.get("/".join(parts[:n]))
            if key is not None:
                row_of[o["id"]] = key
                break
        else:
            row_of[o["id"]] = own[0]
    heads = [(str(o["id"]), o["name"], o["id"]) for o in listed]
    return row_of, [*heads, own]


# ---- rows: time buckets --------------------------------------------------------------------


def _bucket_of(by: str) -> Callable[[date], date]:
    if by == "week":
        return lambda day: day - timedelta(days=day.weekday())
    if by == "month":
        return lambda day: day.replace(day=1)
    return lambda day: day


def _buckets(start: date, end: date, by: str) -> list[tuple[str, str, date, date]]:
    """(key, label, first, last) of each bucket, clipped to [start, end]; key = bucket start."""
    bucket_of = _bucket_of(by)
    out = []
    first = start
    while first <= end:
        head = bucket_of(first)
        if by == "week":
            nxt = head + timedelta(days=7)
            iso = head.isocalendar()
            label = f"第{iso.week}周（{head.month}月{head.day}日起）"
        elif by == "month":
            nxt = (head + timedelta(days=32)).replace(day=1)
            label = f"{head.year}年{head.month}月"
        else:
            nxt = head + timedelta(days=1)
            label = f"{head.month}月{head.day}日"
        out.append((head.isoformat(), label, first, min(end, nxt - timedelta(days=1))))
        first = nxt
    return out


def bucket_key(by: str, head: date) -> str:
    """The public key of a bucket: 2026-03-01, 2026-W10, 2026-03."""
    if by == "week":
        iso = head.isocalendar()
        return f"{iso.year}-W{iso.week:02d}"
    if by == "month":
        return f"{head.year}-{head.month:02d}"
    return head.isoformat()


# ---- counting ------------------------------------------------------------------------------


def _runs(first: date, last: date, fresh: set[date]) -> list[tuple[date, date, bool]]:
    """[first, last] cut into runs of days whose snapshots are all current, or all not."""
    runs: list[tuple[date, date, bool]] = []
    day = first
    while day <= last:
        current = day in fresh
        until = day
        while until < last and ((until + timedelta(days=1)) in fresh) == current:
            until += timedelta(days=1)
        runs.append((day, until, current))
        day = until + timedelta(days=1)
    return runs


async def _from_snapshots_kept(
    key: Hashable, ids: list[int], first: date, last: date, grain: Grain
) -> Parts:
    """`_from_snapshots`, kept in this process while the days stay as taken (`report_cache`)."""
    # Shared with later reports: read-only here (`_merge` adds them into tallies of its own).
    return await CACHE.get(key, lambda: _from_snapshots(ids, first, last, grain))


async def _studied(
    ids: list[int],
    start: date,
    end: date,
    live_from: date,
    zone: ZoneInfo,
    now: datetime,
    taken: dict[date, str],
) -> Span:
    """The period's (organisation, member) pairs: the days already taken from this process's
    memory (while they stay as taken), the rest counted now (`distinct` makes the union)."""
    past_last = live_from - timedelta(days=1)
    past_days = (past_last - start).days + 1
    if past_days <= 0 or sum(1 for d in taken if start <= d <= past_last) < past_days:
        return Span(None, None, await studied_pairs(ids, start, end, zone, now))
    key = ("studied", digest(ids), start, past_last, version(taken, start, past_last))
    past = await CACHE.get(key, lambda: studied_pairs(ids, start, past_last, zone, now))
    recent = await studied_pairs(ids, live_from, end, zone, now) if live_from <= end else None
    return Span(past, key, recent)


async def _from_snapshots(ids: list[int], first: date, last: date, grain: Grain) -> Parts:
    """The snapshot rows of the subtree for [first, last], summed in SQL per org or per day."""
    out: Parts = defaultdict(Tally)
    sums = {f"s_{name}": Sum(name) for name in COUNTS}
    rows, meetings = await asyncio.gather(
        TallySnapshot.filter(within(ids), day__gte=first, day__lte=last)
        .annotate(**sums)
        .group_by(grain)
        .values(grain, *sums),
        _snapshot_meetings(ids, first, last, grain),
    )
    for row in rows:
        counts = out[row[grain]].counts
        for name in COUNTS:
            counts[name] += int(row[f"s_{name}"] or 0)
    for key, kind, n in meetings:
        out[key].meetings[kind] += int(n)
    return out


async def _snapshot_meetings(
    ids: list[int], first: date, last: date, grain: Grain
) -> list[tuple[Any, str, int]]:
    """Meetings held by type, from the snapshots' JSON, summed in SQL (one row per key and type).

    The ids and dates are ours (ints, ISO dates), written into the text; nothing from a user.
    """
    conn = connections.get("default")
    postgres = conn.capabilities.dialect == "postgres"
    expand = (
        "CROSS JOIN LATERAL jsonb_each_text(s.meetings::jsonb) j"
        if postgres
        else (", json_each(s.meetings) j")
    )
    value = "CAST(j.value AS INTEGER)"
    nonempty = "s.meetings::jsonb <> '{}'::jsonb" if postgres else "s.meetings <> '{}'"
    sql = (
        f"SELECT s.{grain} AS k, j.key AS kind, SUM({value}) AS n FROM tally_snapshot s {expand}"
        f" WHERE {within_sql(ids, 's.organisation_id')}"
        f" AND s.day >= '{first.isoformat()}' AND s.day <= '{last.isoformat()}'"
        # Most days of most organisations hold no meeting: skip them before expanding the JSON.
        f" AND {nonempty}"
        f" GROUP BY s.{grain}, j.key"
    )
    rows = await conn.execute_query_dict(sql)
    return [(day_or_id(r["k"], grain), str(r["kind"]), int(r["n"])) for r in rows]


async def _active_members(ids: list[int]) -> dict[int, int]:
    """Active members per organisation they are counted in: their 党小组, else their own.

    党员数（在册）: a 流入党员's relationship is held elsewhere, so they are not counted here
    (nor is a member whose 党籍 is stopped: not ACTIVE)."""
    rows = (
        await Member.filter(
            within(ids, "group_id") | (Q(group_id=None) & within(ids)),
            status=MemberStatus.ACTIVE,
            incoming=False,
        )
        .annotate(n=Count("id"))
        .group_by("organisation_id", "group_id")
        .values("organisation_id", "group_id", "n")
    )
    out: Counter[int] = Counter()
    for row in rows:
        out[row["group_id"] if row["group_id"] is not None else row["organisation_id"]] += row["n"]
    return dict(out)


async def _studied_by_bucket_kept(
    ids: list[int],
    start: date,
    end: date,
    zone: ZoneInfo,
    now: datetime,
    by: str,
    taken: dict[date, str],
    live_from: date,
) -> dict[str, tuple[int, int]]:
    """`_studied_by_bucket`; the leading buckets whose every day is taken are kept in memory
    while those days stay as taken (each bucket's distinct members are its own), and so are
    the taken days of the bucket under way (this month: its members so far, kept as pairs,
    with today's added)."""
    split = start
    under_way: tuple[str, date, date] | None = None
    for key, _label, first, last in _buckets(start, end, by):
        days = (last - first).days + 1
        if any(first + timedelta(days=n) not in taken for n in range(days)):
            if first < live_from <= last and all(
                first + timedelta(days=n) in taken for n in range((live_from - first).days)
            ):
                under_way = (key, first, last)
            break
        split = last + timedelta(days=1)
    out: dict[str, tuple[int, int]] = {}
    if split > start:
        done = split - timedelta(days=1)
        kept = ("studied by", by, digest(ids), start, done, version(taken, start, done))
        out.update(
            await CACHE.get(kept, lambda: _studied_by_bucket(ids, start, done, zone, now, by))
        )
    if under_way is not None:
        bucket, first, last = under_way
        span = await _studied(ids, first, last, live_from, zone, now, taken)
        _rows, out[bucket] = await counted(span, None, ("total",))
        split = last + timedelta(days=1)
    if split <= end:
        out.update(await _studied_by_bucket(ids, split, end, zone, now, by))
    return out


async def _studied_by_bucket(
    ids: list[int], first: date, last: date, zone: ZoneInfo, now: datetime, by: str
) -> dict[str, tuple[int, int]]:
    """Distinct members at organised study, and studying on their own, per time bucket.

    One UNION query grouped in SQL.  A lesson's bucket is its meeting's local day, worked out
    here for the study meetings, whose ids are written into the query bucket by bucket (a CASE
    of a district's 20,000 meetings, evaluated for every row, took minutes); the ids and dates
    written into the text are ours.
    """
    conn = connections.get("default")
    postgres = conn.capabilities.dialect == "postgres"
    bucket_of = _bucket_of(by)

    def literal(day: date) -> str:
        return f"DATE '{day.isoformat()}'" if postgres else f"'{day.isoformat()}'"

    if by == "day":
        expr = "day"
    elif postgres:
        expr = f"CAST(date_trunc('{by}', day) AS DATE)"
    else:
        expr = (
            "date(day, '-6 days', 'weekday 1')" if by == "week" else "date(day, 'start of month')"
        )
    selects = [self_study_sql(ids, first, last, f"{expr} AS b, 1 AS t, member_id")]
    lessons = (
        await lessons_present(ids, first, last, zone, now)
        .distinct()
        .values_list("meeting_id", "meeting__starts_at")
    )
    meetings_in: dict[date, list[int]] = defaultdict(list)
    for meeting_id, at in lessons:
        meetings_in[bucket_of(local_day(at, zone))].append(meeting_id)
    for bucket, meeting_ids in sorted(meetings_in.items()):
        selects.append(
            f"SELECT {literal(bucket)} AS b, 0 AS t, member_id FROM meeting_attendee"
            f" WHERE {within_sql(ids)} AND role = 'expected'"
            f" AND attendance = 'present' AND meeting_id IN ({ids_sql(meeting_ids)})"
        )
    sql = f"SELECT b, t, COUNT(*) AS n FROM ({' UNION '.join(selects)}) u GROUP BY b, t"
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in await conn.execute_query_dict(sql):
        out[day_or_id(r["b"], "day").isoformat()][int(r["t"])] = int(r["n"])
    return {key: (pair[0], pair[1]) for key, pair in out.items()}
