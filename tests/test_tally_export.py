"""Staff download the report: an XLSX that prints as a form and reads back as the report, and a
CSV that Excel opens.  (How fast a committee's year is written: bench/exports.py.)"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from server.db import close_database, open_database
from server.models.people import Organisation
from server.services.tallies.report import TallyReport, TallyRow, tally_report
from server.services.tallies.report_file import (
    Filing,
    export,
    export_file,
    filename,
    filing_for,
    headers,
    to_csv,
    to_xlsx,
)
from tests.conftest import make_branch
from tests.test_tallies import COMMITTEE, ZONE
from tests.test_tally_report import NOW, TODAY, YEAR, busy_quarter_copy

FILED = date(2026, 3, 21)
HEADLINE = [
    "组织党员学习人次", "参加组织学习党员数", "自学人次", "自学党员数", "打卡次数",
    "交流体会人次", "心得提交", "心得通过", "心得退回", "待审心得", "召开会议",
]  # fmt: skip
AFTER = ["已安排会议", "应到", "实到", "请假", "缺席", "出勤率", "党员数"]
THE_FIVE = ["支部党员大会", "支委会", "党小组会", "党课", "主题党日"]


@pytest.fixture
async def report(tmp_path: Path) -> AsyncIterator[TallyReport]:
    await open_database(await busy_quarter_copy(tmp_path / "export.sqlite3"))
    committee = await Organisation.get(path=COMMITTEE)
    yield await tally_report(committee, *YEAR, by="branch", today=TODAY, zone=ZONE, now=NOW)
    await close_database()


def expected_row(r: TallyRow, kinds: list[str], parent: str | None = None) -> list[object]:
    return [
        r.label, *([] if parent is None else [parent]),
        r.organised_study, r.members_studied, r.self_study, r.members_self_studied,
        r.check_ins, r.exchange_person_times, r.submitted, r.approved, r.returned, r.pending,
        r.meetings_held, *(r.meetings.get(k, 0) for k in kinds), r.meetings_scheduled,
        r.expected, r.present, r.leave, r.absent, r.attendance_rate, r.active_members,
    ]  # fmt: skip


async def test_the_xlsx_is_a_form_with_title_filing_line_and_each_branchs_general_branch(
    report: TallyReport,
) -> None:
    data, name, readable = await export_file(report, "xlsx", FILED)
    assert name == filename(report, "xlsx") and readable.endswith(".xlsx")
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["汇总", "按党支部"]
    sheet = book["按党支部"]
    assert (
        sheet["A1"].value
        == "示范街道党工委 党员参与情况统计（2026年1月1日至2026年3月20日，按党支部）"
    )
    names = headers(report, await filing_for(report, FILED))
    last = sheet.cell(row=3, column=len(names)).column_letter
    assert f"A1:{last}1" in {str(r) for r in sheet.merged_cells.ranges}
    assert sheet["A2"].value == "填报单位：示范街道党工委"
    filed = [c.value for c in sheet[2] if c.value and str(c.value).startswith("填报日期")]
    assert filed == ["填报日期：2026年3月21日"]

    rows = [list(r) for r in sheet.iter_rows(min_row=3, values_only=True)]
    assert sheet["C3"].value == "组织党员\n学习人次"  # broken between words, for print
    assert [str(h).replace("\n", "") for h in rows[0]] == names
    assert names[:2] == ["组织/期间", "所属党总支"]
    assert names[2:13] == HEADLINE and names[-7:] == AFTER
    kinds = names[13:-7]
    assert kinds[:5] == THE_FIVE  # every 三会一课 type, held or not
    assert set(report.total.meetings) <= set(kinds)
    parents = {"东社区第一党支部": "东社区党总支", "东社区第二党支部": "东社区党总支",
               "西社区第一党支部": "西社区党总支"}  # fmt: skip
    wanted = [expected_row(r, kinds, parents.get(r.label, "")) for r in report.rows]
    assert [[r[0], r[1] or "", *r[2:]] for r in rows[1:-1]] == wanted  # "" reads back as None
    total = rows[-1]
    assert total[0] == "合计" and not total[1]
    assert total[2:] == expected_row(report.total, kinds)[1:]
    assert sheet.cell(row=len(rows) + 2, column=1).font.b  # the total in bold
    assert sheet.freeze_panes == "C4"  # the names and their 党总支 stay in view


async def test_the_summary_names_every_figure_and_the_sentence(report: TallyReport) -> None:
    book = load_workbook(io.BytesIO(to_xlsx(report, Filing(FILED))))
    sheet = book["汇总"]
    assert sheet["A1"].value == "示范街道党工委 党员参与情况统计汇总"
    summary = {row[0]: row[1] for row in sheet.iter_rows(min_row=3, values_only=True)}
    t = report.total
    assert summary["汇总"] == report.sentence
    assert summary["统计期间"] == "2026年1月1日至2026年3月20日"
    assert summary["组织党员学习人次"] == t.organised_study
    assert summary["自学人次（每人每天至多1次）"] == t.self_study
    assert summary["交流体会人次"] == t.exchange_person_times
    assert summary["参加组织学习党员数"] == t.members_studied
    assert summary["待审心得"] == t.pending
    assert summary["已安排会议（尚未召开）"] == t.meetings_scheduled
    assert summary["出勤率"] == t.attendance_rate
    for kind in THE_FIVE:
        assert summary[f"其中：{kind}"] == t.meetings.get(kind, 0)


async def test_every_sheet_prints_on_a4_landscape_with_its_header_repeated(
    report: TallyReport,
) -> None:
    book = load_workbook(io.BytesIO(to_xlsx(report, Filing(FILED))))
    for sheet in book.worksheets:
        setup = sheet.page_setup
        assert (setup.orientation, int(setup.paperSize)) == ("landscape", 9)
        assert (setup.fitToWidth, setup.fitToHeight) == (1, 0)
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
        assert sheet.oddFooter.center.text == "第 &P 页，共 &N 页"
    assert book["按党支部"].print_title_rows == "$3:$3"
    assert book["按党支部"]["B4"].border.left.style == "thin"
    rate = book["按党支部"].cell(row=4, column=headers(report).index("出勤率") + 1)
    assert rate.number_format == "0.0%"


async def test_without_a_filing_the_export_still_reads_back(report: TallyReport) -> None:
    """What an older caller gets: no 党总支 column, an empty 填报日期."""
    book = load_workbook(io.BytesIO(to_xlsx(report)))
    rows = [list(r) for r in book["按党支部"].iter_rows(min_row=3, values_only=True)]
    assert [str(h).replace("\n", "") for h in rows[0]] == headers(report)
    assert rows[0][1] == "组织党员\n学习人次"
    assert "填报日期：" in [c.value for c in book["按党支部"][2]]


async def test_the_csv_has_a_bom_the_same_rows_and_percentages(report: TallyReport) -> None:
    filing = await filing_for(report, FILED)
    data = to_csv(report, filing)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == headers(report, filing)
    kinds = rows[0][13:-7]
    rate = rows[0].index("出勤率")
    for got, row in zip(rows[1:], (*report.rows, report.total), strict=True):
        parent = filing.parents.get(row.org_id or 0, "") if row is not report.total else ""
        wanted = ["" if v is None else str(v) for v in expected_row(row, kinds, parent)]
        r = row.attendance_rate
        wanted[rate] = "" if r is None else f"{r * 100:.1f}%"
        assert got == wanted
    assert rows[1][:2] == ["东社区第一党支部", "东社区党总支"]
    assert rows[-1][rate].endswith("%") and "." in rows[-1][rate]


async def test_a_branch_right_under_the_committee_is_direct(report: TallyReport) -> None:
    direct = await make_branch(f"{COMMITTEE}/机关党支部")
    committee = await Organisation.get(path=COMMITTEE)
    again = await tally_report(committee, *YEAR, by="branch", today=TODAY, zone=ZONE, now=NOW)
    filing = await filing_for(again, FILED)
    assert filing.parents[direct.id] == "直属"
    by_time = await tally_report(committee, *YEAR, by="month", today=TODAY, zone=ZONE, now=NOW)
    assert "所属党总支" not in headers(by_time, await filing_for(by_time, FILED))


async def test_the_file_name_is_plain_ascii(report: TallyReport) -> None:
    name = filename(report, "xlsx")
    assert name == f"tally-{report.org_id}-20260101-20260320-branch.xlsx"
    assert name.isascii()
    assert filename(replace(report, by=None), ".CSV").endswith("20260320.csv")


def a_big_report(branches: int = 300, label: str = "第{n}党支部") -> TallyReport:
    row = TallyRow(
        key="1", label="某某社区第一党支部", org_id=1,
        start=date(2026, 1, 1), end=date(2026, 11, 25),
        organised_study=1000, members_studied=40, self_study=9000, members_self_studied=45,
        check_ins=9000, submitted=2000, approved=1500, returned=100, pending=400,
        exchange_person_times=1900, meetings={"支部党员大会": 4, "支委会": 12, "党课": 4},
        meetings_held=20, meetings_scheduled=2, expected=600, present=500, leave=60, absent=40,
        attendance_rate=0.8548, active_members=23,
    )  # fmt: skip
    rows = [
        replace(row, key=str(n), label=label.format(n=n), org_id=n + 1) for n in range(branches)
    ]
    return TallyReport(
        org_id=1, org_name="示范街道党工委", org_path="示范街道党工委", start=row.start,
        end=row.end, by="branch", total=replace(row, key="total", label="合计"), rows=rows,
        sentence="2026年以来，共组织党员学习1人次，交流体会1人次",
    )  # fmt: skip


def test_a_committee_year_by_branch_is_written_whole() -> None:
    data = to_xlsx(a_big_report(), Filing(FILED))
    sheet = load_workbook(io.BytesIO(data))["按党支部"]
    assert sheet.max_row == 3 + 300 + 1  # title, filing line, header; 300 branches; the total
    assert sheet.cell(row=303, column=1).value == "第299党支部"
    assert to_csv(a_big_report()).decode("utf-8-sig").splitlines()[1].split(",")[-2] == "85.5%"


# --- hostile input ----------------------------------------------------------------------------

HOSTILE = ['=HYPERLINK("http://evil","x")', "=1+1", "+1", "-1", "@SUM(A1)", "\tx", "#N/A"]


@pytest.mark.parametrize("name", HOSTILE)
def test_a_formula_looking_organisation_name_stays_text(name: str) -> None:
    report = a_big_report(2, label=name + "{n}")
    report = replace(report, org_name=name, org_path=name)
    book = load_workbook(io.BytesIO(to_xlsx(report, Filing(FILED, {1: name}))))
    sheet = book["按党支部"]
    for cell in (sheet["A1"], sheet["A2"], sheet["A4"], sheet["B4"], book["汇总"]["B3"]):
        assert cell.data_type == "s", (cell.coordinate, cell.value)
    assert sheet["A4"].value == name + "0" and sheet["B4"].value == name
    assert book["汇总"]["B3"].value == name
    rows = list(
        csv.reader(io.StringIO(to_csv(report, Filing(FILED, {1: name})).decode("utf-8-sig")))
    )
    if name[0] in "=+-@\t":
        assert rows[1][:2] == ["'" + name + "0", "'" + name]  # OWASP: a leading quote
    else:
        assert rows[1][:2] == [name + "0", name]


def test_a_hostile_name_makes_a_safe_readable_file_name() -> None:
    report = replace(a_big_report(1), org_name="../街道:党工委")
    _, name, readable = export(report, "csv")
    assert readable == "_街道_党工委参与统计20260101-20261125.csv" and name.isascii()
