"""Staff download the report: an XLSX that reads back as the report, a CSV that Excel opens."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from server.db import close_database, open_database
from server.models import Organisation
from server.services.report import TallyReport, TallyRow, tally_report
from server.services.tally_export import filename, headers, to_csv, to_xlsx
from tests.conftest import migrated
from tests.test_tallies import COMMITTEE, ZONE
from tests.test_tally_report import NOW, TODAY, YEAR, a_busy_quarter, snapshot_every_past_day


@pytest.fixture
async def report(tmp_path: Path) -> AsyncIterator[TallyReport]:
    await open_database(migrated(tmp_path / "export.sqlite3"))
    await a_busy_quarter()
    await snapshot_every_past_day()
    committee = await Organisation.get(path=COMMITTEE)
    yield await tally_report(committee, *YEAR, by="branch", today=TODAY, zone=ZONE, now=NOW)
    await close_database()


def expected_row(r: TallyRow, kinds: list[str]) -> list[object]:
    return [
        r.label, r.organised_study, r.members_studied, r.self_study, r.members_self_studied,
        r.check_ins, r.exchange_person_times, r.submitted, r.approved, r.meetings_held,
        *(r.meetings.get(k, 0) for k in kinds),
        r.expected, r.present, r.leave, r.absent, r.attendance_rate, r.active_members,
    ]  # fmt: skip


async def test_the_xlsx_reads_back_as_the_report(report: TallyReport) -> None:
    book = load_workbook(io.BytesIO(to_xlsx(report)))
    assert book.sheetnames == ["汇总", "按党支部"]
    summary = {row[0]: row[1] for row in book["汇总"].iter_rows(values_only=True)}
    assert summary["汇总"] == report.sentence
    assert summary["组织党员学习人次"] == report.total.organised_study
    assert summary["自学人次（每人每天至多1次）"] == report.total.self_study
    assert summary["交流体会人次"] == report.total.exchange_person_times
    assert summary["参加组织学习党员数"] == report.total.members_studied
    assert summary["出勤率"] == report.total.attendance_rate

    sheet = book["按党支部"]
    assert sheet.freeze_panes == "B2"
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    names = headers(report)
    assert rows[0] == names
    assert names[:10] == [
        "组织/期间", "组织党员学习人次", "参加组织学习党员数", "自学人次", "自学党员数",
        "打卡次数", "交流体会人次", "心得提交", "心得通过", "会议次数",
    ]  # fmt: skip
    assert names[-6:] == ["应到", "实到", "请假", "缺席", "出勤率", "党员数"]
    kinds = names[10:-6]
    assert kinds[:5] == ["支部党员大会", "支委会", "党小组会", "党课", "主题党日"]  # even when 0
    assert set(report.total.meetings) <= set(kinds)
    wanted = [expected_row(r, kinds) for r in (*report.rows, report.total)]
    assert rows[1:] == wanted
    assert rows[-1][0] == "合计"


async def test_the_csv_has_a_bom_and_the_same_rows(report: TallyReport) -> None:
    data = to_csv(report)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == headers(report)
    kinds = rows[0][10:-6]
    wanted = [
        ["" if v is None else str(v) for v in expected_row(r, kinds)]
        for r in (*report.rows, report.total)
    ]
    assert rows[1:] == wanted
    assert rows[1][0] == "东社区第一党支部"


async def test_the_file_name_is_plain_ascii(report: TallyReport) -> None:
    name = filename(report, "xlsx")
    assert name == f"tally-{report.org_id}-20260101-20260320-branch.xlsx"
    assert name.isascii()
    assert filename(replace(report, by=None), ".CSV").endswith("20260320.csv")


def a_big_report(branches: int = 300) -> TallyReport:
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


def test_a_committee_year_by_branch_is_written_fast() -> None:
    big = a_big_report()
    began = time.perf_counter()
    data = to_xlsx(big)
    assert time.perf_counter() - began < 5
    assert load_workbook(io.BytesIO(data))["按党支部"].max_row == 302
