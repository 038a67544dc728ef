"""The tally report as a file staff hand on: XLSX (a summary sheet and the breakdown) or CSV.

The XLSX is a form that prints: a title with the organisation and the period, a
填报单位 / 填报日期 line, a 所属党总支 column beside each branch, every 三会一课 type as a column
even when none was held, and the print set-up of every export (`workbook.print_setup`).  The
CSV is the same table for other programs: UTF-8 with a BOM (what makes Excel read Chinese),
出勤率 as a percentage with one decimal ("85.5%").  Names typed by people (an organisation's)
are written as text in both, never as formulas.

`export_file` looks up what the report does not carry (each branch's 党总支) and is what the
API, the dashboard and `dangjian tally` call; `export` makes the file from what it is given.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from server.models.people import Organisation, OrgKind
from server.services.tallies.report import TallyReport, TallyRow, meeting_kinds
from server.services.tallies.service import FIGURES, ServiceSummary, figures_dict
from server.services.tallies.workbook import (
    BODY,
    BOLD,
    BOX,
    CENTRED,
    HEADER_FILL,
    POINTS_PER_LINE,
    SUBTITLE,
    CellValue,
    csv_text,
    display_width,
    file_name_part,
    lines_needed,
    print_setup,
    put,
    title,
)

PARENT = "所属党总支"
DIRECT = "直属"  # a branch directly under the committee
RATE = "出勤率"
BEFORE_MEETINGS: tuple[tuple[str, str], ...] = (
    ("组织党员学习人次", "organised_study"), ("参加组织学习党员数", "members_studied"),
    ("自学人次", "self_study"), ("自学党员数", "members_self_studied"),
    ("打卡次数", "check_ins"), ("交流体会人次", "exchange_person_times"),
    ("心得提交", "submitted"), ("心得通过", "approved"), ("心得退回", "returned"),
    ("待审心得", "pending"), ("召开会议", "meetings_held"),
)  # fmt: skip
AFTER_MEETINGS: tuple[tuple[str, str], ...] = (
    ("已安排会议", "meetings_scheduled"), ("应到", "expected"), ("实到", "present"),
    ("请假", "leave"), ("缺席", "absent"), (RATE, "attendance_rate"), ("党员数", "active_members"),
)  # fmt: skip
BREAKDOWN_TITLES = {
    None: "合计",
    "child": "按下级组织",
    "branch": "按党支部",
    "day": "按日",
    "week": "按周",
    "month": "按月",
}
NUMBER_WIDTH = 8.5  # four Chinese characters of a header on a line
# Headers broken where the words break: a renderer left to itself cuts 学习人次 into 学/习人次.
HEADER_LINES = {
    "组织党员学习人次": "组织党员\n学习人次", "参加组织学习党员数": "参加组织\n学习\n党员数",
    "交流体会人次": "交流体会\n人次", "支部党员大会": "支部党员\n大会",
    "民主评议党员": "民主评议\n党员", "已安排会议": "已安排\n会议", "组织生活会": "组织\n生活会",
}  # fmt: skip
HEADER_ROW = 3  # rows 1–2: the title and the 填报单位 / 填报日期 line
SERVICE_SHEET = "双报到"


@dataclass(frozen=True)
class Filing:
    """What a filed report says beside the figures: when it was made, each branch's 党总支."""

    made_on: date | None = None  # 填报日期
    parents: dict[int, str] = field(default_factory=dict)  # branch row's org id -> 所属党总支


async def filing_for(report: TallyReport, today: date) -> Filing:
    """The 所属党总支 of every row that is a 党支部 (直属 when it sits under the committee)."""
    ids = [
        r.org_id
        for r in report.rows
        # By child, the organisation's own row (本级) is no child with a 党总支 of its own.
        if r.org_id is not None and not (report.by == "child" and r.org_id == report.org_id)
    ]
    if not ids or report.by not in ("branch", "child"):
        return Filing(today)
    rows = await Organisation.filter(id__in=ids, kind=OrgKind.BRANCH).values(
        "id", "parent__name", "parent__kind"
    )
    parents = {
        int(r["id"]): str(r["parent__name"])
        if str(r["parent__kind"]) == OrgKind.GENERAL_BRANCH.value
        else DIRECT
        for r in rows
    }
    return Filing(today, parents)


async def export_file(report: TallyReport, fmt: str, today: date) -> tuple[bytes, str, str]:
    """The report as `fmt` (xlsx or csv), filed today: its bytes, an ASCII and a Chinese name.

    A committee's year by branch takes a moment to lay out: not on the event loop.
    """
    return await asyncio.to_thread(export, report, fmt, await filing_for(report, today))


def export(report: TallyReport, fmt: str, filing: Filing | None = None) -> tuple[bytes, str, str]:
    """The report as `fmt` (xlsx or csv): its bytes, an ASCII file name and a Chinese one."""
    body = to_xlsx(report, filing) if fmt == "xlsx" else to_csv(report, filing)
    readable = (
        f"{file_name_part(report.org_name)}参与统计{report.start:%Y%m%d}-{report.end:%Y%m%d}.{fmt}"
    )
    return body, filename(report, fmt), readable


Getter = Callable[[TallyRow], CellValue]


def _columns(report: TallyReport, filing: Filing | None) -> list[tuple[str, Getter]]:
    parents = filing.parents if filing else {}

    def field_of(name: str) -> Getter:
        return lambda row: getattr(row, name)

    def kind_of(kind: str) -> Getter:
        return lambda row: row.meetings.get(kind, 0)

    cols: list[tuple[str, Getter]] = [("组织/期间", field_of("label"))]
    if parents:
        cols.append((PARENT, lambda row: parents.get(row.org_id or 0, "")))
    cols += [(h, field_of(name)) for h, name in BEFORE_MEETINGS]
    cols += [(kind, kind_of(kind)) for kind in meeting_kinds(report)]
    cols += [(h, field_of(name)) for h, name in AFTER_MEETINGS]
    return cols


def headers(report: TallyReport, filing: Filing | None = None) -> list[str]:
    return [h for h, _ in _columns(report, filing)]


def table(report: TallyReport, filing: Filing | None = None) -> list[list[CellValue]]:
    """The breakdown's rows then the total, as the export lays them out (rates as fractions)."""
    cols = _columns(report, filing)
    return [[get(row) for _, get in cols] for row in (*report.rows, report.total)]


def filename(report: TallyReport, ext: str) -> str:
    """ASCII only, safe in any download header: tally-12-20260101-20261125[-branch].xlsx."""
    by = f"-{report.by}" if report.by else ""
    return (
        f"tally-{int(report.org_id)}-{report.start:%Y%m%d}-{report.end:%Y%m%d}{by}"
        f".{ext.lstrip('.').lower()}"
    )


def _chinese(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _period(report: TallyReport) -> str:
    return f"{_chinese(report.start)}至{_chinese(report.end)}"


def percent(rate: float | None) -> str:
    """85.5% (one decimal), empty when nobody was expected."""
    return "" if rate is None else f"{rate * 100:.1f}%"


# ---- XLSX ------------------------------------------------------------------------------------


def to_xlsx(report: TallyReport, filing: Filing | None = None) -> bytes:
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]  # a new Workbook's one sheet, never None
    _summary(book.create_sheet("汇总"), report, filing)
    _breakdown(book.create_sheet(BREAKDOWN_TITLES.get(report.by, "明细")), report, filing)
    if report.service is not None:  # only where communities take part
        _service(book.create_sheet(SERVICE_SHEET), report, report.service, filing)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _filed_line(sheet: Worksheet, report: TallyReport, filing: Filing | None, width: int) -> None:
    """填报单位 on the left half, 填报日期 on the right half of row 2."""
    made = filing.made_on if filing else None
    half = max(1, width // 2)
    put(sheet, 2, 1, f"填报单位：{report.org_name}", font=SUBTITLE,
        alignment=Alignment(horizontal="left", vertical="center"))  # fmt: skip
    put(sheet, 2, half + 1, f"填报日期：{_chinese(made)}" if made else "填报日期：", font=SUBTITLE,
        alignment=Alignment(horizontal="right", vertical="center"))  # fmt: skip
    if half > 1:
        sheet.merge_cells(start_row=2, start_column=1, end_row=2, end_column=half)
    if width > half + 1:
        sheet.merge_cells(start_row=2, start_column=half + 1, end_row=2, end_column=width)
    sheet.row_dimensions[2].height = 20


def _summary(sheet: Worksheet, report: TallyReport, filing: Filing | None) -> None:
    t = report.total
    heading = f"{report.org_name} 党员参与情况统计汇总"
    sheet.column_dimensions["A"].width = 30
    sheet.column_dimensions["B"].width = 70
    title(sheet, 1, heading, 2)
    _filed_line(sheet, report, filing, 2)
    pairs: list[tuple[str, CellValue]] = [
        ("组织", report.org_path),
        ("统计期间", _period(report)),
        ("汇总", report.sentence),
        *([(SERVICE_SHEET, report.service.sentence)] if report.service else []),
        ("组织党员学习人次", t.organised_study),
        ("参加组织学习党员数", t.members_studied),
        ("自学人次（每人每天至多1次）", t.self_study),
        ("自学党员数", t.members_self_studied),
        ("打卡次数", t.check_ins),
        ("交流体会人次", t.exchange_person_times),
        ("心得提交", t.submitted),
        ("心得通过", t.approved),
        ("心得退回", t.returned),
        ("待审心得", t.pending),
        ("召开会议", t.meetings_held),
        *((f"其中：{kind}", t.meetings.get(kind, 0)) for kind in meeting_kinds(report)),
        ("已安排会议（尚未召开）", t.meetings_scheduled),
        ("应到", t.expected),
        ("实到", t.present),
        ("请假", t.leave),
        ("缺席", t.absent),
        (RATE, t.attendance_rate),
        ("党员数（在册）", t.active_members),
    ]
    left = Alignment(horizontal="left", vertical="center", wrap_text=True)
    for n, (name, value) in enumerate(pairs, start=HEADER_ROW):
        put(sheet, n, 1, name, font=BOLD, alignment=left, border=BOX, fill=HEADER_FILL)
        cell = put(sheet, n, 2, value, font=BODY, alignment=left, border=BOX)
        if name == RATE:
            cell.number_format = "0.0%"
        if isinstance(value, str):
            lines = lines_needed(value, 70)
            sheet.row_dimensions[n].height = max(18.0, lines * POINTS_PER_LINE + 4)
    print_setup(sheet, title_rows="1:2", footer=heading)


def _breakdown(sheet: Worksheet, report: TallyReport, filing: Filing | None) -> None:
    cols = _columns(report, filing)
    names = [h for h, _ in cols]
    rows = table(report, filing)
    by = BREAKDOWN_TITLES.get(report.by, "明细")
    heading = f"{report.org_name} 党员参与情况统计（{_period(report)}，{by}）"
    title(sheet, 1, heading, len(cols))
    _filed_line(sheet, report, filing, len(cols))

    widths = []
    for n, name in enumerate(names):
        if n == 0 or name == PARENT:
            longest = max([display_width(str(r[n] or "")) for r in rows] + [display_width(name)])
            widths.append(min(32.0, max(12.0, longest + 2.0)))
        else:
            widths.append(NUMBER_WIDTH)
    shown = [header_text(name, width) for name, width in zip(names, widths, strict=True)]
    for n, (text, width) in enumerate(zip(shown, widths, strict=True), start=1):
        sheet.column_dimensions[get_column_letter(n)].width = width
        put(sheet, HEADER_ROW, n, text, font=BOLD, alignment=CENTRED, border=BOX,
            fill=HEADER_FILL)  # fmt: skip
    lines = max(lines_needed(text, w) for text, w in zip(shown, widths, strict=True))
    sheet.row_dimensions[HEADER_ROW].height = lines * POINTS_PER_LINE + 6

    rate = names.index(RATE)
    number = Alignment(horizontal="right", vertical="center")
    wrapped = Alignment(horizontal="left", vertical="center", wrap_text=True)
    for r, values in enumerate(rows, start=HEADER_ROW + 1):
        font = BOLD if r == HEADER_ROW + len(rows) else BODY  # the total, in bold
        tallest = 1
        for n, value in enumerate(values, start=1):
            cell = put(sheet, r, n, value, font=font, border=BOX,
                       alignment=wrapped if isinstance(value, str) else number)  # fmt: skip
            if n - 1 == rate:
                cell.number_format = "0.0%"
            if isinstance(value, str):
                tallest = max(tallest, lines_needed(value, widths[n - 1]))
        sheet.row_dimensions[r].height = max(18.0, tallest * POINTS_PER_LINE + 4)
    frozen = 3 if PARENT in names else 2  # the names (and their 党总支) stay in view
    # The cell's coordinate, as openpyxl makes of a cell given (its types take no MergedCell).
    sheet.freeze_panes = sheet.cell(row=HEADER_ROW + 1, column=frozen).coordinate
    print_setup(sheet, title_rows=f"{HEADER_ROW}:{HEADER_ROW}", footer=heading)


def _service(
    sheet: Worksheet, report: TallyReport, service: ServiceSummary, filing: Filing | None
) -> None:
    """By community, then the total in bold, then the sentence under the table."""
    names = ["社区", *(header for _, header in FIGURES)]
    heading = f"{report.org_name} 党员双报到“四单制”情况统计（{_period(report)}）"
    title(sheet, 1, heading, len(names))
    _filed_line(sheet, report, filing, len(names))
    widths = [max(12.0, *(display_width(f.name) + 2.0 for f in service.communities))]
    widths += [NUMBER_WIDTH] * len(FIGURES)
    shown = [header_text(name, width) for name, width in zip(names, widths, strict=True)]
    for n, (text, width) in enumerate(zip(shown, widths, strict=True), start=1):
        sheet.column_dimensions[get_column_letter(n)].width = width
        put(sheet, HEADER_ROW, n, text, font=BOLD, alignment=CENTRED, border=BOX,
            fill=HEADER_FILL)  # fmt: skip
    lines = max(lines_needed(text, w) for text, w in zip(shown, widths, strict=True))
    sheet.row_dimensions[HEADER_ROW].height = lines * POINTS_PER_LINE + 6
    number = Alignment(horizontal="right", vertical="center")
    rows = [*service.communities, service.total]
    for r, figures in enumerate(rows, start=HEADER_ROW + 1):
        font = BOLD if figures is service.total else BODY
        values = figures_dict(figures)
        put(sheet, r, 1, figures.name, font=font, border=BOX,
            alignment=Alignment(horizontal="left", vertical="center"))  # fmt: skip
        for n, (field_name, _) in enumerate(FIGURES, start=2):
            put(sheet, r, n, values[field_name], font=font, border=BOX, alignment=number)
    below = HEADER_ROW + len(rows) + 2
    put(sheet, below, 1, f"汇总：{service.sentence}", font=BODY,
        alignment=Alignment(horizontal="left", vertical="center"))  # fmt: skip
    sheet.merge_cells(start_row=below, start_column=1, end_row=below, end_column=len(names))
    sheet.freeze_panes = sheet.cell(row=HEADER_ROW + 1, column=2).coordinate
    print_setup(sheet, title_rows=f"{HEADER_ROW}:{HEADER_ROW}", footer=heading)


def header_text(name: str, width: float) -> str:
    """A header as printed: broken between words when it is too long for its column."""
    if name in HEADER_LINES:
        return HEADER_LINES[name]
    if lines_needed(name, width) == 1:
        return name
    return "\n".join(name[n : n + 4] for n in range(0, len(name), 4))  # a branch's own type


# ---- CSV -------------------------------------------------------------------------------------


def to_csv(report: TallyReport, filing: Filing | None = None) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    names = headers(report, filing)
    rate = names.index(RATE)
    writer.writerow(names)
    for cells in table(report, filing):
        shown: list[Any] = [csv_text(c) for c in cells]
        shown[rate] = percent(cells[rate])  # type: ignore[arg-type]  # attendance_rate: float | None
        writer.writerow(shown)
    return ("\ufeff" + out.getvalue()).encode("utf-8")
