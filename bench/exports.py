"""Exports benchmark: the printed workbooks against a plain write-only baseline, same run.

    python bench/exports.py [--runs 5] [--branches 300] [--seed 2023] [--out DIR]

In a temporary SQLite database: the demo street (`seed_demo`: 1,231 members, 54 branches) and,
for its largest branch with 党小组, a realistic year up to 25 November — monthly 支委会 and
党小组会 in every group, quarterly 支部党员大会 and 党课, monthly 主题党日, a 组织生活会 and a
民主评议党员; sign-ins, leave granted and leave never decided, 补录, guests, meetings moved
with a reason, one cancelled, minutes of the usual length and one very long, and a few still
to come.

Measured, `--runs` times each, interleaved:

- the tally workbook (`tally_export.to_xlsx`: title, 填报 line, 所属党总支, borders, widths,
  print set-up) of a committee year by branch with `--branches` rows, against the same table
  written by `openpyxl` in write-only mode with no styles at all;
- the branch's ledger: reading the year (`ledger_records.year_of`), laying out the workbook
  (`ledger.workbook`, saved), and the same rows written plain and write-only.

Printed: the median and the worst of each, and the ratio of the printed workbook to its
baseline.  With `--out DIR` the ledger, the tally workbook and CSV of the demo street are
written there, to look at (e.g. `libreoffice --headless --convert-to pdf`).  The exit status is
0 unless something fails; it does not depend on the times.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from server.services.tallies.workbook import CellValue

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=ZONE)
TOPICS = {
    "支部党员大会": ("学习贯彻全会精神", "讨论接收预备党员", "通报上半年工作",
                 "选举出席街道党代会代表"),
    "支委会": ("研究发展党员工作", "研究党费收缴", "研究困难党员慰问", "研究社区网格工作",
             "研究主题党日安排", "研究党员教育培训计划"),
    "党小组会": ("学习党章", "交流学习体会", "讨论网格服务", "学习准则条例", "开展批评与自我批评"),
    "党课": ("践行初心使命", "以史为鉴、开创未来", "加强作风建设", "党的基本知识"),
    "主题党日": ("重温入党誓词", "走访慰问困难群众", "清洁家园志愿服务", "参观红色教育基地",
             "垃圾分类宣传"),
    "组织生活会": ("年度组织生活会",),
    "民主评议党员": ("年度民主评议党员",),
}  # fmt: skip
PLACES = ("党群服务中心", "社区二楼会议室", "网格服务站", "新时代文明实践站", None)
REASONS = ("外出务工", "身体不适", "照顾家人", "单位加班", "出差在外", "住院治疗")
SPEAKERS = ("张明（街道党工委书记）", "李红（社区党委书记）", "王建国（区委党校讲师）")
MINUTES = (
    "会议传达学习了上级有关精神，结合社区实际进行了讨论。决议：一、各党小组本月内组织学习；"
    "二、支委分片走访困难党员；三、下次会议通报落实情况。",
    "会议听取了各网格工作情况汇报，对居民反映的停车难、加装电梯等问题逐项研究。"
    "决议：由支部牵头协调物业，两周内拿出方案。",
    "与会党员逐一发言，对照党章党规查摆问题，开展批评与自我批评。会议同意将相关意见整理后报上级党组织。",
)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def a_year(branch: Any, rng: random.Random) -> int:
    """A realistic 2026 of `branch` and its 党小组, written straight to the tables."""
    from server.models.meetings import (
        Attendance,
        AttendeeRole,
        Meeting,
        MeetingAttendee,
        MeetingChange,
        MeetingStatus,
    )
    from server.models.people import Member, MemberStatus, Organisation, OrgKind, Role
    from server.services.meetings.scheduling import COMMITTEE_ROLES

    active = Member.filter(status=MemberStatus.ACTIVE)
    members = await active.filter(organisation_id=branch.id).order_by("id")
    groups = await Organisation.filter(parent_id=branch.id, kind=OrgKind.GROUP).order_by("id")
    secretary = next((m for m in members if m.role == Role.SECRETARY), members[0])
    committee = [m for m in members if m.role in COMMITTEE_ROLES] or [secretary]
    outsiders = await active.exclude(organisation_id=branch.id).limit(20)

    plan: list[tuple[str, Any, list[Any], datetime]] = []
    for month in range(1, 13):
        plan.append(("支委会", branch, committee, datetime(2026, month, 5, 9, 0, tzinfo=ZONE)))
        plan.append(("主题党日", branch, members, datetime(2026, month, 15, 14, 30, tzinfo=ZONE)))
        for n, group in enumerate(groups):
            people = [m for m in members if m.group_id == group.id]
            starts = datetime(2026, month, 8 + n, 19, 0, tzinfo=ZONE)
            plan.append(("党小组会", group, people, starts))
        if month % 3 == 0:
            plan.append(("支部党员大会", branch, members,
                         datetime(2026, month, 20, 15, 0, tzinfo=ZONE)))  # fmt: skip
            plan.append(("党课", branch, members, datetime(2026, month, 25, 15, 0, tzinfo=ZONE)))
    plan.append(("组织生活会", branch, members, datetime(2026, 11, 20, 14, 0, tzinfo=ZONE)))
    plan.append(("民主评议党员", branch, members, datetime(2026, 1, 22, 14, 0, tzinfo=ZONE)))

    cancelled_one = False
    long_minutes = True
    written = 0
    for kind, org, people, starts in sorted(plan, key=lambda p: p[3]):
        chair = secretary if org is branch else next(
            (m for m in people if m.role == Role.GROUP_LEADER), people[0] if people else secretary
        )  # fmt: skip
        moved = rng.random() < 0.08
        booked = starts - timedelta(days=rng.randint(3, 10))
        original = starts - timedelta(days=1) if moved else starts
        cancel = not cancelled_one and kind == "支委会" and starts.month == 4
        cancelled_one = cancelled_one or cancel
        over = starts + timedelta(minutes=90) <= NOW
        meeting = await Meeting.create(
            organisation=org, kind=kind, topic=rng.choice(TOPICS[kind]),
            place=rng.choice(PLACES), starts_at=starts.astimezone(UTC),
            ends_at=(starts + timedelta(minutes=90)).astimezone(UTC), chair=chair,
            created_by=chair,
            status=MeetingStatus.CANCELLED if cancel else (
                MeetingStatus.HELD if over else MeetingStatus.PLANNED),
            speaker=rng.choice(SPEAKERS) if kind == "党课" else None,
            study=kind in ("党课", "主题党日"),
            recorder=rng.choice(people) if over and people and not cancel else None,
        )  # fmt: skip
        changes: list[tuple[str, dict[str, Any], datetime]] = [
            ("scheduled", _when(original), booked)
        ]
        if moved:
            changes.append(("rescheduled", {
                "before": {**_when(original), "place": ""},
                "after": {**_when(starts), "place": meeting.place or ""},
                "reason": rng.choice(("与街道会议冲突", "书记外出学习", "场地临时占用")),
            }, booked + timedelta(days=1)))  # fmt: skip
        if cancel:
            changes.append(
                ("cancelled", {"reason": "与区委巡察反馈会冲突"}, starts - timedelta(days=1))
            )
        rows = []
        for person in people:
            state, reason = Attendance.UNKNOWN, None
            if over and not cancel:
                roll = rng.random()
                if roll < 0.80:
                    state = Attendance.PRESENT
                elif roll < 0.90:
                    state, reason = Attendance.LEAVE, rng.choice(REASONS)
                    changes.append(("leave_granted", {"member": person.id, "reason": reason},
                                    starts - timedelta(days=1)))  # fmt: skip
                elif roll < 0.93:
                    state, reason = Attendance.REQUESTED, rng.choice(REASONS)
                elif roll < 0.95:
                    state, reason = Attendance.PRESENT, "手机没电未能签到"
                    changes.append(("corrected", {"member": person.id, "from": "unknown",
                                    "to": "present", "reason": reason},
                                    starts + timedelta(hours=2)))  # fmt: skip
            rows.append(MeetingAttendee(
                meeting=meeting, member=person, organisation_id=person.group_id or org.id,
                role=AttendeeRole.EXPECTED, attendance=state, reason=reason,
            ))  # fmt: skip
        if over and not cancel and kind in ("支部党员大会", "党课") and outsiders:
            guest = rng.choice(outsiders)
            rows.append(MeetingAttendee(
                meeting=meeting, member=guest, organisation_id=guest.organisation_id,
                role=AttendeeRole.INVITED, attendance=Attendance.PRESENT,
            ))  # fmt: skip
            changes.append(("invited", {"member": guest.id}, booked + timedelta(hours=1)))
        await MeetingAttendee.bulk_create(rows)
        if over and not cancel:
            text = rng.choice(MINUTES)
            if long_minutes and kind == "支部党员大会":
                text = "\n".join(f"{n}. " + MINUTES[n % 3] for n in range(1, 12))
                long_minutes = False
            await Meeting.filter(id=meeting.id).update(minutes=text)
            changes.append(("minutes", {"length": len(text)}, starts + timedelta(days=1)))
        for action, detail, at in changes:
            change = await MeetingChange.create(
                meeting=meeting, by=secretary, action=action, detail=detail
            )
            await MeetingChange.filter(id=change.id).update(created_at=at.astimezone(UTC))
        written += 1
    return written


def _when(moment: datetime) -> dict[str, str]:
    return {
        "starts_at": moment.astimezone(UTC).isoformat(),
        "ends_at": (moment + timedelta(minutes=90)).astimezone(UTC).isoformat(),
    }


def a_committee_year(branches: int) -> Any:
    """A committee's year by branch with `branches` rows (the figures do not matter here)."""
    from dataclasses import replace

    from server.services.tallies.report import TallyReport, TallyRow

    row = TallyRow(
        key="1", label="某某社区第一党支部", org_id=1,
        start=date(2026, 1, 1), end=date(2026, 11, 25),
        organised_study=1000, members_studied=40, self_study=9000, members_self_studied=45,
        check_ins=9000, submitted=2000, approved=1500, returned=100, pending=400,
        exchange_person_times=1900, meetings={"支部党员大会": 4, "支委会": 12, "党课": 4},
        meetings_held=20, meetings_scheduled=2, expected=600, present=500, leave=60, absent=40,
        attendance_rate=0.8333, active_members=23,
    )  # fmt: skip
    rows = [replace(row, key=str(n), label=f"第{n}党支部", org_id=n) for n in range(branches)]
    return TallyReport(
        org_id=1, org_name="示范街道党工委", org_path="示范街道党工委", start=row.start,
        end=row.end, by="branch", total=replace(row, key="total", label="合计"), rows=rows,
        sentence="2026年以来，共组织党员学习1人次，交流体会1人次",
    )  # fmt: skip


def plain(rows: Sequence[Sequence[CellValue]]) -> bytes:
    """The baseline: the same cells, write-only, no styles, no print set-up."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("明细")
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def timed(work: Callable[[], object], into: list[float]) -> None:
    began = time.perf_counter()
    work()
    into.append((time.perf_counter() - began) * 1000)


async def run(args: argparse.Namespace) -> int:
    from server.db import close_database, open_database
    from server.models.people import Member, Organisation, OrgKind
    from server.services.demo.street import seed_demo
    from server.services.meetings import ledger_records
    from server.services.meetings.ledger import columns, ledger_xlsx, row_values, workbook
    from server.services.tallies.report import tally_report
    from server.services.tallies.report_file import Filing, export_file, table, to_xlsx

    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="dangjian-bench-exports-") as folder:
        await open_database(f"sqlite://{Path(folder) / 'bench.sqlite3'}")
        try:
            t = time.perf_counter()
            await seed_demo(args.seed, today=NOW.date())
            branches = await Organisation.filter(kind=OrgKind.BRANCH, children__kind=OrgKind.GROUP)
            sizes = {b.id: await Member.filter(organisation_id=b.id).count() for b in branches}
            branch = max(branches, key=lambda b: sizes[b.id])
            meetings = await a_year(branch, rng)
            print(f"demo street and {branch.name}'s year ({sizes[branch.id]} members, "
                  f"{meetings} meetings): {time.perf_counter() - t:.1f} s")  # fmt: skip

            big = a_committee_year(args.branches)
            filing = Filing(NOW.date(), {r.org_id or 0: "某某社区党总支" for r in big.rows})
            big_rows = table(big, filing)
            year = await ledger_records.year_of(branch, 2026, ZONE, NOW)
            ledger_rows = [
                row_values(r, columns(kind, year.records[kind]))
                for kind in year.kinds
                for r in year.records[kind]
            ]

            def ledger_book() -> None:
                workbook(year).save(io.BytesIO())

            times: dict[str, list[float]] = {k: [] for k in (
                "tally", "tally baseline", "ledger read", "ledger", "ledger baseline")}  # fmt: skip
            for _ in range(args.runs):
                timed(lambda: to_xlsx(big, filing), times["tally"])
                timed(lambda: plain(big_rows), times["tally baseline"])
                began = time.perf_counter()
                await ledger_records.year_of(branch, 2026, ZONE, NOW)
                times["ledger read"].append((time.perf_counter() - began) * 1000)
                timed(ledger_book, times["ledger"])
                timed(lambda: plain(ledger_rows), times["ledger baseline"])

            if args.out:
                out = Path(args.out)
                out.mkdir(parents=True, exist_ok=True)
                made = await ledger_xlsx(branch, 2026, ZONE, NOW)
                (out / "ledger.xlsx").write_bytes(made.data)
                committee = await Organisation.get(parent_id=None)
                report = await tally_report(
                    committee, date(2026, 1, 1), NOW.date(), by="branch", today=NOW.date(),
                    zone=ZONE, now=NOW,
                )  # fmt: skip
                for fmt in ("xlsx", "csv"):
                    body, _, _ = await export_file(report, fmt, NOW.date())
                    (out / f"tally.{fmt}").write_bytes(body)
                print(f"wrote {out}/ledger.xlsx, tally.xlsx, tally.csv")
        finally:
            await close_database()

    print()
    print(f"{args.runs} runs; tally: {args.branches} branches by {len(big_rows[0])} columns;"
          f" ledger: {len(ledger_rows)} meetings")  # fmt: skip
    print(f"  {'':<18}{'p50 ms':>9}{'max ms':>9}")
    for name, values in times.items():
        print(f"  {name:<18}{statistics.median(values):>9.1f}{max(values):>9.1f}")
    for name in ("tally", "ledger"):
        ratio = statistics.median(times[name]) / statistics.median(times[f"{name} baseline"])
        print(f"  {name}: printed workbook / plain write-only = {ratio:.1f}x")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--branches", type=int, default=300)
    parser.add_argument("--seed", type=int, default=2023)
    parser.add_argument("--out", help="write the demo street's ledger and tally files here")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
