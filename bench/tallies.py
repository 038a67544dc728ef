"""Tallies benchmark: the committee's year by branch, from the snapshot vs counted live.

    python bench/tallies.py [--scale 1.0] [--runs 20] [--seed 2023] [--keep-going]

On a fresh PostgreSQL database (created here, dropped at the end): the demo street
(`seed_demo`: 1,231 members, 54 branches, 168 groups) and a year so far of synthetic activity,
loaded with COPY on a raw asyncpg connection — at `--scale 1` about 300,000 check-ins, 700,000
unit readings, 60,000 quizzes, 100,000 心得 and 20,000 meetings with their rosters (attendance
decided; ~2% of members moved branch in mid-year, their earlier events staying with the old
branch).  Then every past day's snapshot is written by one SQL statement that mirrors
`snapshot_day`, and a sample of days is rewritten by `snapshot_day` itself and compared, so the
fast path is not measured against numbers it made up.

Measured: `tally_report(committee, 1 January..today, by="branch")` `--runs` times with the
snapshot (`use_snapshots=True`) and as many times counted live from the event tables
(`use_snapshots=False`), interleaved; both reports must be equal.  Printed: p50/p95 of each,
their ratio, and the time to write the XLSX of the report.  Targets: p95 < 300 ms with the
snapshot, XLSX < 5 s.  The exit status is 1 when the two paths disagree or a sampled snapshot
day differs from `snapshot_day`; it does not depend on the targets.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import signal
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import webhook as wh  # bench/ is not a package: a sibling script

ZONE = ZoneInfo("Asia/Shanghai")
MAX_P95_MS = 300.0
MAX_XLSX_S = 5.0
UNITS = [f"unit-{n:02d}" for n in range(65)]
KINDS = ("支部党员大会", "支委会", "党小组会", "党课", "主题党日")
KIND_WEIGHTS = (1, 3, 4, 1, 3)
# At --scale 1, per member and day (a year so far of the 1,231 demo members).
CHECK_IN_RATE = 0.75
READINGS_MEAN = 1.75
QUIZ_RATE = 0.15
SUBMISSIONS = 100_000
MEETINGS = 20_000


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


# ---- synthetic year --------------------------------------------------------------------------


async def load_year(conn: Any, today: date, scale: float, rng: random.Random) -> dict[str, int]:
    """Every table's rows for 1 January..today, written with COPY; returns the counts."""
    members = await conn.fetch("SELECT id, organisation_id, group_id FROM member ORDER BY id")
    branches = [
        r["id"] for r in await conn.fetch("SELECT id FROM organisation WHERE kind = 'branch'")
    ]
    groups = await conn.fetch("SELECT id, parent_id FROM organisation WHERE kind = 'group'")
    start = date(today.year, 1, 1)
    days = [start + timedelta(days=n) for n in range((today - start).days + 1)]
    moved_on = start + (today - start) / 2
    # ~2% of members were elsewhere until mid-year: a transfer the tallies must not rewrite.
    earlier = {m["id"]: rng.choice(branches) for m in members if rng.random() < 0.02}

    def org_then(member: Any, day: date) -> int:
        return (
            earlier.get(member["id"], member["organisation_id"])
            if day < moved_on
            else (member["organisation_id"])
        )

    def at(day: date, hour: int) -> datetime:
        return datetime.combine(day, dtime(hour), ZONE).astimezone(UTC)

    check_ins, readings, quizzes, submissions = [], [], [], []
    per_day_submission = SUBMISSIONS * scale / (len(members) * len(days))
    for day in days:
        made = at(day, 9)
        for m in members:
            org = org_then(m, day)
            if rng.random() < CHECK_IN_RATE * min(1.0, scale):
                check_ins.append((m["id"], org, day, made))
            n = min(len(UNITS), int(rng.expovariate(1 / (READINGS_MEAN * scale)) + 0.5))
            for unit in rng.sample(UNITS, n):
                readings.append((m["id"], org, unit, day, made))
            if rng.random() < QUIZ_RATE * scale:
                done = made if rng.random() < 0.85 else None
                quizzes.append((m["id"], org, day, "[]", 4, done, made))
            if rng.random() < per_day_submission:
                status = rng.choice(("pending", "approved", "approved", "approved", "returned"))
                submissions.append(
                    (m["id"], org, day, "学习心得" * 20, 80, f"s{len(submissions)}", "text",
                     status, made)
                )  # fmt: skip

    by_branch: dict[int, list[int]] = {}
    by_group: dict[int, list[int]] = {}
    committee_of: dict[int, list[int]] = {}
    for m in members:
        by_branch.setdefault(m["organisation_id"], []).append(m["id"])
        if m["group_id"]:
            by_group.setdefault(m["group_id"], []).append(m["id"])
    for branch, ids in by_branch.items():
        committee_of[branch] = ids[:5]
    group_branch = {g["id"]: g["parent_id"] for g in groups}
    meetings, attendees = [], []
    for meeting_id in range(1, int(MEETINGS * scale) + 1):
        kind = rng.choices(KINDS, KIND_WEIGHTS)[0]
        if kind == "党小组会" and by_group:
            org = rng.choice(list(by_group))
            people = by_group[org]
            branch = group_branch[org]
        else:
            org = branch = rng.choice(list(by_branch))
            people = committee_of[org] if kind == "支委会" else by_branch[org]
        day = rng.choice(days)
        starts = at(day, rng.choice((9, 14, 15, 19)))
        status = "cancelled" if rng.random() < 0.05 else rng.choice(("held", "notified"))
        meetings.append(
            (meeting_id, org, kind, "学习贯彻", starts, starts + timedelta(minutes=90), status,
             starts, starts)
        )  # fmt: skip
        for member in people:
            state = rng.choices(("present", "leave", "absent", "unknown"), (80, 10, 5, 5))[0]
            attendees.append((meeting_id, member, branch, "expected", state))

    await conn.copy_records_to_table(
        "check_in", records=check_ins,
        columns=["member_id", "organisation_id", "day", "created_at"],
    )  # fmt: skip
    await conn.copy_records_to_table(
        "unit_reading", records=readings,
        columns=["member_id", "organisation_id", "unit_id", "day", "created_at"],
    )  # fmt: skip
    await conn.copy_records_to_table(
        "quiz_attempt", records=quizzes,
        columns=["member_id", "organisation_id", "day", "questions", "score", "finished_at",
                 "created_at"],
    )  # fmt: skip
    await conn.copy_records_to_table(
        "submission", records=submissions,
        columns=["member_id", "organisation_id", "day", "content", "length", "digest", "via",
                 "status", "created_at"],
    )  # fmt: skip
    await conn.copy_records_to_table(
        "meeting", records=meetings,
        columns=["id", "organisation_id", "kind", "topic", "starts_at", "ends_at", "status",
                 "created_at", "updated_at"],
    )  # fmt: skip
    await conn.execute(
        "SELECT setval(pg_get_serial_sequence('meeting', 'id'), max(id)) FROM meeting"
    )
    await conn.copy_records_to_table(
        "meeting_attendee", records=attendees,
        columns=["meeting_id", "member_id", "organisation_id", "role", "attendance"],
    )  # fmt: skip
    return {
        "check-ins": len(check_ins),
        "unit readings": len(readings),
        "quizzes": len(quizzes),
        "心得": len(submissions),
        "meetings": len(meetings),
        "meeting attendees": len(attendees),
    }


# ---- every past day's snapshot, in one statement ----------------------------------------------

SNAPSHOT_SQL = """
WITH held AS (
    SELECT id, organisation_id, kind, (starts_at AT TIME ZONE $2)::date AS d
    FROM meeting WHERE status <> 'cancelled'
),
ev AS (
    SELECT organisation_id AS o, day AS d, count(*) AS check_ins, 0 AS readings, 0 AS quizzes,
           0 AS lessons, 0 AS submitted, 0 AS approved, 0 AS returned,
           0 AS expected, 0 AS present, 0 AS leave, 0 AS absent
    FROM check_in WHERE day < $1 GROUP BY 1, 2
    UNION ALL
    SELECT organisation_id, day, 0, count(*), 0, 0, 0, 0, 0, 0, 0, 0, 0
    FROM unit_reading WHERE day < $1 GROUP BY 1, 2
    UNION ALL
    SELECT organisation_id, day, 0, 0, count(*), 0, 0, 0, 0, 0, 0, 0, 0
    FROM quiz_attempt WHERE day < $1 AND finished_at IS NOT NULL GROUP BY 1, 2
    UNION ALL
    SELECT organisation_id, day, 0, 0, 0, 0, count(*),
           count(*) FILTER (WHERE status = 'approved'), count(*) FILTER (WHERE status = 'returned'),
           0, 0, 0, 0
    FROM submission WHERE day < $1 GROUP BY 1, 2
    UNION ALL
    SELECT a.organisation_id, h.d, 0, 0, 0,
           count(*) FILTER (WHERE a.attendance = 'present' AND h.kind IN ('党课', '主题党日')),
           0, 0, 0, count(*),
           count(*) FILTER (WHERE a.attendance = 'present'),
           count(*) FILTER (WHERE a.attendance = 'leave'),
           count(*) FILTER (WHERE a.attendance NOT IN ('present', 'leave'))
    FROM meeting_attendee a JOIN held h ON h.id = a.meeting_id
    WHERE a.role = 'expected' AND h.d < $1 GROUP BY 1, 2
),
agg AS (
    SELECT o, d, sum(check_ins) AS check_ins, sum(readings) AS readings, sum(quizzes) AS quizzes,
           sum(lessons) AS lessons, sum(submitted) AS submitted, sum(approved) AS approved,
           sum(returned) AS returned, sum(expected) AS expected, sum(present) AS present,
           sum(leave) AS leave, sum(absent) AS absent
    FROM ev GROUP BY o, d
),
studied AS (
    SELECT o, d, count(DISTINCT member_id) AS n FROM (
        SELECT organisation_id AS o, day AS d, member_id FROM unit_reading WHERE day < $1
        UNION ALL
        SELECT organisation_id, day, member_id FROM quiz_attempt
        WHERE day < $1 AND finished_at IS NOT NULL
        UNION ALL
        SELECT a.organisation_id, h.d, a.member_id FROM meeting_attendee a
        JOIN held h ON h.id = a.meeting_id
        WHERE a.role = 'expected' AND a.attendance = 'present' AND h.kind IN ('党课', '主题党日')
          AND h.d < $1
    ) s GROUP BY o, d
),
mt AS (
    SELECT o, d, jsonb_object_agg(kind, n) AS j FROM (
        SELECT organisation_id AS o, d, kind, count(*) AS n FROM held WHERE d < $1
        GROUP BY 1, 2, 3
    ) k GROUP BY o, d
)
INSERT INTO tally_snapshot (organisation_id, day, check_ins, readings, quizzes, lessons,
    members_studied, submitted, approved, returned, meetings, expected, present, leave, absent,
    created_at)
SELECT coalesce(a.o, mt.o), coalesce(a.d, mt.d), coalesce(a.check_ins, 0),
       coalesce(a.readings, 0), coalesce(a.quizzes, 0), coalesce(a.lessons, 0),
       coalesce(s.n, 0), coalesce(a.submitted, 0), coalesce(a.approved, 0),
       coalesce(a.returned, 0), coalesce(mt.j, '{}'::jsonb), coalesce(a.expected, 0),
       coalesce(a.present, 0), coalesce(a.leave, 0), coalesce(a.absent, 0), now()
FROM agg a FULL OUTER JOIN mt ON mt.o = a.o AND mt.d = a.d
LEFT JOIN studied s ON s.o = coalesce(a.o, mt.o) AND s.d = coalesce(a.d, mt.d)
"""

SNAPSHOT_FIELDS = (
    "check_ins", "readings", "quizzes", "lessons", "members_studied", "submitted", "approved",
    "returned", "meetings", "expected", "present", "leave", "absent",
)  # fmt: skip


async def day_rows(day: date) -> dict[int, tuple[Any, ...]]:
    from server.snapshots import TallySnapshot

    rows = await TallySnapshot.filter(day=day).values("organisation_id", *SNAPSHOT_FIELDS)
    return {r["organisation_id"]: tuple(r[f] for f in SNAPSHOT_FIELDS) for r in rows}


async def verify_sample(days: list[date], rng: random.Random, n: int) -> list[str]:
    """Rewrite `n` sampled days with `snapshot_day` itself; any difference is a problem."""
    from server.services.snapshot import snapshot_day

    problems = []
    for day in sorted(rng.sample(days, min(n, len(days)))):
        bulk = await day_rows(day)
        await snapshot_day(day, ZONE)
        exact = await day_rows(day)
        if bulk != exact:
            differ = sorted(o for o in set(bulk) | set(exact) if bulk.get(o) != exact.get(o))
            problems.append(f"{day}: the bulk snapshot differs from snapshot_day for {differ[:5]}")
    return problems


# ---- the measurement -------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> int:
    import asyncpg

    from server.clock import Clock
    from server.db import close_database, open_database
    from server.models import Organisation
    from server.services.demo import seed_demo
    from server.services.report import tally_report
    from server.services.tally_export import to_xlsx

    rng = random.Random(args.seed)
    today = Clock(ZONE).today()
    start = date(today.year, 1, 1)
    began = time.perf_counter()
    async with contextlib.AsyncExitStack() as stack:
        try:
            db_url, db_name = await wh.create_pg_database()
        except Exception as exc:
            print(f"PostgreSQL ({wh.PG_ADMIN}) unreachable ({type(exc).__name__}: {exc})")
            return 2
        if args.keep_db:
            print(f"keeping the database: {db_url}")
        else:
            stack.push_async_callback(wh.drop_pg_database, db_name)
        await open_database(db_url)
        stack.push_async_callback(close_database)

        t = time.perf_counter()
        demo = await seed_demo(args.seed, today=today)
        print(f"demo street: {demo.members} members ({time.perf_counter() - t:.1f} s)")
        conn = await asyncpg.connect("postgresql://" + db_url.split("://", 1)[1])
        try:
            t = time.perf_counter()
            counts = await load_year(conn, today, args.scale, rng)
            listed = ", ".join(f"{n:,} {what}" for what, n in counts.items())
            print(f"loaded with COPY: {listed} ({time.perf_counter() - t:.1f} s)")
            # Fresh tables have no statistics: without them the planner picks nested loops.
            await conn.execute("ANALYZE")
            t = time.perf_counter()
            written = await conn.execute(SNAPSHOT_SQL, today, ZONE.key)
            print(f"snapshots of every day before {today}: {written.split()[-1]} rows"
                  f" in one statement ({time.perf_counter() - t:.1f} s)")  # fmt: skip
            # Each of those days is now taken, as snapshot_day marks it (SnapshotDay).
            await conn.execute(
                "INSERT INTO snapshot_day (day, taken_at)"
                " SELECT d::date, now() FROM generate_series($1::date, $2::date, '1 day') d",
                start,
                today - timedelta(days=1),
            )
            await conn.execute("VACUUM ANALYZE")
        finally:
            await conn.close()

        past = [start + timedelta(days=n) for n in range((today - start).days)]
        problems = await verify_sample(past, rng, args.verify_days)
        print(f"snapshot_day rewrote {min(args.verify_days, len(past))} sampled days:"
              f" {'identical' if not problems else 'DIFFERENT'}")  # fmt: skip

        committee = await Organisation.get(parent_id=None)

        async def report(use_snapshots: bool) -> Any:
            return await tally_report(
                committee, start, today, by="branch", today=today, zone=ZONE,
                use_snapshots=use_snapshots,
            )  # fmt: skip

        fast_ms: list[float] = []
        slow_ms: list[float] = []
        await report(True), await report(False)  # warm-up: connections, plans, caches
        fast = slow = None
        for _ in range(args.runs):
            for use, into in ((True, fast_ms), (False, slow_ms)):
                t = time.perf_counter()
                made = await report(use)
                into.append((time.perf_counter() - t) * 1000)
                if use:
                    fast = made
                else:
                    slow = made
            if fast != slow:
                problems.append("the snapshot and the live count gave different reports")
                break
        assert fast is not None
        t = time.perf_counter()
        xlsx = to_xlsx(fast)
        xlsx_s = time.perf_counter() - t

    fast_p95, slow_p95 = percentile(fast_ms, 95), percentile(slow_ms, 95)
    print()
    print(f"committee, {start}..{today}, by branch ({len(fast.rows)} rows), {len(fast_ms)} runs:")
    print(f"  {'path':<22}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    for name, values in (("snapshot + live today", fast_ms), ("all live", slow_ms)):
        print(f"  {name:<22}{statistics.median(values):>9.1f}{percentile(values, 95):>9.1f}"
              f"{max(values):>9.1f}")  # fmt: skip
    verdict = "PASS" if fast_p95 < MAX_P95_MS else "FAIL"
    print(f"  ratio live / snapshot (p95): {slow_p95 / fast_p95:.1f}x;"
          f" snapshot p95 target < {MAX_P95_MS:.0f} ms: {verdict}")  # fmt: skip
    xlsx_verdict = "PASS" if xlsx_s < MAX_XLSX_S else "FAIL"
    print(f"  XLSX of the report: {xlsx_s * 1000:.0f} ms, {len(xlsx):,} bytes"
          f" (target < {MAX_XLSX_S:.0f} s: {xlsx_verdict})")  # fmt: skip
    print(f"  {fast.sentence}")
    print(f"total run time {time.perf_counter() - began:.0f} s")
    for problem in problems:
        print(f"PROBLEM: {problem}")
    return 1 if problems else 0


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # unwinds run(): the database is dropped on SIGTERM too


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="of the synthetic activity")
    parser.add_argument("--runs", type=int, default=20, help="measured reports per path")
    parser.add_argument("--seed", type=int, default=2023)
    parser.add_argument("--verify-days", type=int, default=5, help="days checked by snapshot_day")
    parser.add_argument("--keep-db", action="store_true", help="leave the database, to explain")
    args = parser.parse_args(argv)
    if not 0 < args.scale <= 2:
        parser.error("--scale: between 0 and 2")
    signal.signal(signal.SIGTERM, _stop)
    try:
        return asyncio.run(run(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
