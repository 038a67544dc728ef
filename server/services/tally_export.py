"""The tally report as a file staff hand on: XLSX (a summary sheet and the breakdown) or CSV.

The CSV is UTF-8 with a BOM, which is what makes Excel open Chinese text correctly.  Both have
the same columns: the headline numbers, one column per meeting type held, attendance.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from server.services.report import TallyReport, TallyRow, meeting_kinds

BEFORE_MEETINGS = (
    ("组织/期间", "label"), ("组织党员学习人次", "organised_study"),
    ("参加组织学习党员数", "members_studied"), ("自学人次", "self_study"),
    ("自学党员数", "members_self_studied"), ("打卡次数", "check_ins"),
    ("交流体会人次", "exchange_person_times"),
    ("心得提交", "submitted"), ("心得通过", "approved"), ("会议次数", "meetings_held"),
)  # fmt: skip
AFTER_MEETINGS = (
    ("应到", "expected"), ("实到", "present"), ("请假", "leave"), ("缺席", "absent"),
    ("出勤率", "attendance_rate"), ("党员数", "active_members"),
)  # fmt: skip
BREAKDOWN_TITLES = {
    None: "合计",
    "child": "按下级组织",
    "branch": "按党支部",
    "day": "按日",
    "week": "按周",
    "month": "按月",
}


def headers(report: TallyReport) -> list[str]:
    kinds = meeting_kinds(report)
    return [h for h, _ in BEFORE_MEETINGS] + kinds + [h for h, _ in AFTER_MEETINGS]


def _cells(row: TallyRow, kinds: list[str]) -> list[object]:
    before = [getattr(row, name) for _, name in BEFORE_MEETINGS]
    after = [getattr(row, name) for _, name in AFTER_MEETINGS]
    return before + [row.meetings.get(kind, 0) for kind in kinds] + after


def table(report: TallyReport) -> list[list[object]]:
    """The breakdown's rows then the total, as the export lays them out (rates as fractions)."""
    kinds = meeting_kinds(report)
    return [_cells(row, kinds) for row in (*report.rows, report.total)]


def filename(report: TallyReport, ext: str) -> str:
    """ASCII only, safe in any download header: tally-12-20260101-20261125[-branch].xlsx."""
    by = f"-{report.by}" if report.by else ""
    return (
        f"tally-{int(report.org_id)}-{report.start:%Y%m%d}-{report.end:%Y%m%d}{by}"
        f".{ext.lstrip('.').lower()}"
    )


def _period(report: TallyReport) -> str:
    return f"{report.start.isoformat()} 至 {report.end.isoformat()}"


def to_xlsx(report: TallyReport) -> bytes:
    # write_only streams rows: a committee's year by branch is written in well under a second.
    book = Workbook(write_only=True)
    bold = Font(bold=True)

    summary = book.create_sheet("汇总")
    summary.column_dimensions["A"].width = 26
    summary.column_dimensions["B"].width = 70
    t = report.total
    pairs: list[tuple[str, object]] = [
        ("组织", report.org_path),
        ("统计期间", _period(report)),
        ("汇总", report.sentence),
        ("组织党员学习人次", t.organised_study),
        ("参加组织学习党员数", t.members_studied),
        ("自学人次（每人每天至多1次）", t.self_study),
        ("自学党员数", t.members_self_studied),
        ("打卡次数", t.check_ins),
        ("交流体会人次", t.exchange_person_times),
        ("心得提交", t.submitted),
        ("心得通过", t.approved),
        ("心得退回", t.returned),
        ("会议次数", t.meetings_held),
        *((f"其中：{kind}", n) for kind, n in t.meetings.items()),
        ("应到", t.expected),
        ("实到", t.present),
        ("请假", t.leave),
        ("缺席", t.absent),
        ("出勤率", _rate_cell(summary, t.attendance_rate)),
        ("党员数（在册）", t.active_members),
    ]
    for name, value in pairs:
        summary.append([_styled(summary, name, font=bold), value])

    sheet = book.create_sheet(BREAKDOWN_TITLES.get(report.by, "明细"))
    names = headers(report)
    for n, name in enumerate(names, start=1):
        width = 30 if n == 1 else max(8, len(name) * 2 + 2)
        sheet.column_dimensions[get_column_letter(n)].width = width
    sheet.freeze_panes = "B2"  # the header row and the names stay in view
    centred = Alignment(horizontal="center", vertical="center", wrap_text=True)
    sheet.append([_styled(sheet, name, font=bold, alignment=centred) for name in names])
    rate = names.index("出勤率")
    rows = table(report)
    for n, values in enumerate(rows):
        font = bold if n == len(rows) - 1 else None  # the total, in bold
        cells = [_styled(sheet, v, font=font) if font else v for v in values]
        cells[rate] = _rate_cell(sheet, values[rate], font)  # type: ignore[arg-type]
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _styled(sheet: Any, value: object, **style: Any) -> Any:
    cell = WriteOnlyCell(sheet, value=value)
    for name, given in style.items():
        setattr(cell, name, given)
    return cell


def _rate_cell(sheet: Any, rate: float | None, font: Font | None = None) -> Any:
    """A percentage Excel can still compute with; empty when nobody was expected."""
    cell = WriteOnlyCell(sheet, value=rate)
    cell.number_format = "0.0%"
    if font:
        cell.font = font
    return cell


def to_csv(report: TallyReport) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers(report))
    for cells in table(report):
        writer.writerow(["" if c is None else c for c in cells])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def export(report: TallyReport, fmt: str) -> tuple[bytes, str, str]:
    """The report as `fmt` (xlsx or csv): its bytes, an ASCII file name and a Chinese one."""
    body = to_xlsx(report) if fmt == "xlsx" else to_csv(report)
    readable = f"{report.org_name}参与统计{report.start:%Y%m%d}-{report.end:%Y%m%d}.{fmt}"
    return body, filename(report, fmt), readable
