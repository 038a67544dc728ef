"""流动党员 as the upper levels ask for them: a workbook of four forms, and one 流入 member's
record for their home organisation.

`mobility_workbook` — for an organisation's branches:
- 流动党员情况统计表: a row per branch (by path, never by a figure) with `counts.COLUMNS`, a
  合计 row and the 数据口径 under the table;
- 流出党员名册, 流入党员名册: the open records, as the 流动党员 forms list them;
- 失联党员查找情况: each search still open, or settled this year — the dated attempts, the
  outcome, the 支部党员大会 and its decision.

`incoming_record_workbook` — what a 流入 member did here in a year (the branch's meetings they
took part in, their 心得, a 年度报告 if any), for the organisation that holds their relationship
("their home organisation can be sent their record on request").

A working record, not the register: the note on each form says the 全国党员管理信息系统 is the
authority.  Every sheet prints on A4 (landscape when wide), its header rows repeated on every
page; the writing (text stays text, widths for Chinese) is `tallies.workbook`'s.  The API, the
dashboard and `dangjian mobile export` all call these two.
"""

from __future__ import annotations

import asyncio
import io
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from tortoise.expressions import Q

from server.models.meetings import Attendance, Meeting, MeetingAttendee, after_the_end, held
from server.models.mobility import (
    FLOW_STATUS_LABELS,
    Direction,
    LostAttempt,
    LostCase,
    LostStage,
    MobileMember,
    YearlyReport,
)
from server.models.people import Member, Organisation
from server.models.study import SUBMISSION_STATUS_LABELS, Submission
from server.services.mobility.counts import COLUMNS, Overview, overview
from server.services.mobility.lost import removal_due_on
from server.services.mobility.standing import Standing
from server.services.mobility.words import RULE_24, RULE_24_SOURCE, quarter_start
from server.services.tallies.workbook import (
    BODY,
    BOLD,
    BOX,
    CENTRED,
    DATE,
    HEADER_FILL,
    LEFT,
    POINTS_PER_LINE,
    SUBTITLE,
    TOP_CENTRED,
    WIDE,
    CellValue,
    Column,
    body_row,
    display_width,
    header_rows,
    lines_needed,
    print_setup,
    put,
    sheet_title,
    title,
)

HEADER_FIRST = 3  # rows 1–2: the title and the 填报单位 / 统计日期 line
NONE = "—"
COUNTS_SHEET = "流动党员情况统计表"
OUT_SHEET = "流出党员名册"
IN_SHEET = "流入党员名册"
LOST_SHEET = "失联党员查找情况"
AUTHORITY = (
    "组织关系和流动党员信息以全国党员管理信息系统为准；本表为支部的工作记录，按支部排列，不作排名。"
)
T = TypeVar("T")
SUBMISSION_SHOWN = 800  # characters of a 心得 a row holds and still prints on a page

COUNT_COLUMNS = [
    Column("序号", 5, align=TOP_CENTRED),
    Column("党支部", 30),
    *(Column(label, 9, align=TOP_CENTRED) for _, label in COLUMNS),
]
OUT_COLUMNS = [
    Column("序号", 5, align=TOP_CENTRED),
    Column("姓名", 8, align=TOP_CENTRED),
    Column("性别", 5, align=TOP_CENTRED),
    Column("所在支部", 14),
    Column("外出时间", 12, align=TOP_CENTRED, number_format=DATE),
    Column("流向地", 12),
    Column("流动原因", 10),
    Column("联系方式", 13),
    Column("流入地党组织", 14),
    Column("活动证号", 10),
    Column("联系人", 8, align=TOP_CENTRED),
    Column("最近联系", 12, align=TOP_CENTRED, number_format=DATE),
    Column("最近组织生活", 12, align=TOP_CENTRED, number_format=DATE),
    Column("党费交至", 10, align=TOP_CENTRED),
    Column("年度报告", 16),
]
IN_COLUMNS = [
    Column("序号", 5, align=TOP_CENTRED),
    Column("姓名", 8, align=TOP_CENTRED),
    Column("报到支部", 14),
    Column("原组织关系所在党组织", 20),
    Column("联系电话", 13, align=TOP_CENTRED),
    Column("流入时间", 12, align=TOP_CENTRED, number_format=DATE),
    Column("居住/工作地", 14),
    Column("流动原因", 10),
    Column("参加组织生活情况", 24),
]
LOST_COLUMNS = [
    Column("序号", 5, align=TOP_CENTRED),
    Column("姓名", 8, align=TOP_CENTRED),
    Column("所在支部", 14),
    Column("查找经过", 40),
    Column("处置结果", 24),
    Column("支部党员大会", 16),
    Column("决定", 22),
]


@dataclass
class _Form:
    """One printed table: its sheet name, title, columns, rows and the note under it."""

    name: str
    heading: str
    columns: list[Column]
    rows: list[list[CellValue]]
    note: str
    empty: str
    totals: list[CellValue] | None = None
    portrait: bool = False


@dataclass
class _Book:
    filed_by: str
    today: date
    forms: list[_Form] = field(default_factory=list)


def _when(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _month(day: date | None) -> str:
    return f"{day.year}年{day.month}月" if day else NONE


# --- the four forms ------------------------------------------------------------------------


async def common_organisation(branches: Sequence[Organisation]) -> Organisation | None:
    """The lowest organisation over every branch (the branch itself when there is one)."""
    if not branches:
        return None
    parts = [b.path.split("/") for b in branches]
    shared: list[str] = []
    for names in zip(*parts, strict=False):
        if len(set(names)) != 1:
            break
        shared.append(names[0])
    if not shared:
        return None
    return await Organisation.get_or_none(path="/".join(shared))


async def mobility_workbook(
    branches: Sequence[Organisation],
    today: date,
    now: datetime,
    zone: ZoneInfo,
    cadence_days: int,
    *,
    organisation: Organisation | None = None,
) -> bytes:
    """The four forms for `branches` as an XLSX; `organisation` names them (default: the one
    over every branch)."""
    over = organisation or await common_organisation(branches)
    name = over.name if over is not None else ""
    seen = await overview(branches, today, now, zone, cadence_days)
    names = {b.id: b.name for b in branches}  # in the branches' order: the lists follow it
    book = _Book(name, today)
    book.forms.append(_counts_form(name, today, seen))
    book.forms.append(await _outgoing_form(name, seen.lines, names))
    book.forms.append(await _incoming_form(name, seen.lines, names, today, now, zone))
    book.forms.append(await _lost_form(name, [b.id for b in branches], names, today, zone))
    return await asyncio.to_thread(_saved, book)


def counts_note(today: date) -> str:
    since = quarter_start(today)
    return (
        "数据口径：流出、流入为统计日在册的流动党员（流入为支部已确认的）；本季度已联系为"
        f"{_when(since)}以来支部联系记录中有联系的流出党员；可能失联为半年以上既无联系、"
        "无组织生活、也无党费记录的流出党员，是提请支部研究的问题，不是党员的状态；查找中为"
        "支部正在查找的失联党员；停止党籍为经支部党员大会决定停止党籍、尚未办结的；待确认流入为"
        "已报到、支部尚未确认的。" + AUTHORITY
    )


def _counts_form(name: str, today: date, seen: Overview) -> _Form:
    rows: list[list[CellValue]] = [
        [n, b.branch.name, *b.values()] for n, b in enumerate(seen.branches, start=1)
    ]
    return _Form(
        COUNTS_SHEET,
        f"{name}流动党员情况统计表",
        COUNT_COLUMNS,
        rows,
        counts_note(today),
        "范围内没有党支部",
        totals=["合计", f"{len(seen.branches)}个支部", *seen.total()],
        portrait=True,
    )


async def _names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(await Member.filter(id__in=list(ids)).values_list("id", "name"))


async def _latest_reports(ids: list[int]) -> dict[int, YearlyReport]:
    latest: dict[int, YearlyReport] = {}
    for report in await YearlyReport.filter(member_id__in=ids).order_by("year"):
        latest[report.member_id] = report
    return latest


# What a member types when asked where the 党费 went and there is nowhere to say.
NOWHERE = {"", "无", "没有", "暂无", "-", "—", "/", "／"}


def report_text(report: YearlyReport | None) -> str:
    """参加组织生活：……；党费：已交清（在……交纳）, each part only when it was said."""
    if report is None:
        return "未报告"
    parts = []
    life = report.org_life.strip()
    if life:
        parts.append(f"参加组织生活：{life}")
    where = report.dues_where.strip()
    dues = f"党费：{report.dues}" if report.dues else ""
    if dues and where not in NOWHERE:
        # "向本支部交纳" says how already; "江苏苏州" is only where.
        dues += f"，{where}" if "交" in where else f"（在{where}交纳）"
    if dues:
        parts.append(dues)
    return f"{report.year}年报告。" + "；".join(parts)


def _by_branch(items: list[T], branch_of: Callable[[T], int], branches: dict[int, str]) -> list[T]:
    """The items grouped by branch in the branches' (tree) order, each group as it came."""
    place = {branch_id: n for n, branch_id in enumerate(branches)}
    return sorted(items, key=lambda item: place.get(branch_of(item), len(place)))


async def _outgoing_form(name: str, lines: list[Standing], branches: dict[int, str]) -> _Form:
    out = _by_branch(
        [
            s
            for s in lines
            if s.record is not None and s.record.direction == Direction.OUT and s.record.member_id
        ],
        lambda s: s.record.branch_id if s.record else 0,
        branches,
    )
    keepers = await _names({s.record.keeper_id for s in out if s.record and s.record.keeper_id})
    reports = await _latest_reports([s.member.id for s in out])
    rows: list[list[CellValue]] = []
    for n, s in enumerate(out, start=1):
        r = s.record
        assert r is not None
        rows.append(
            [
                n,
                s.member.name,
                s.member.gender or NONE,
                branches.get(r.branch_id, ""),
                r.since,
                r.place,
                r.reason.value,
                r.reach or s.member.phone,
                r.other_org or NONE,
                r.certificate or NONE,
                keepers.get(r.keeper_id or 0, NONE),
                s.last_contact or NONE,
                s.last_life or NONE,
                _month(s.dues_through),
                report_text(reports.get(s.member.id)),
            ]
        )
    return _Form(
        OUT_SHEET,
        f"{name}流出党员名册",
        OUT_COLUMNS,
        rows,
        "说明：最近联系为支部联系记录中的最近一次；最近组织生活为最近一次参加（到会、线上参加"
        "或以心得参加）的已召开会议；党费交至为支部登记收到的党费所交到的月份；年度报告为本人"
        "最近一次的年度报告（流动党员活动证年度审核用）。" + AUTHORITY,
        "没有在册的流出党员",
    )


async def _life_this_year(
    ids: list[int], today: date, now: datetime, zone: ZoneInfo
) -> dict[int, int]:
    """Held meetings of this year each member took part in."""
    start = datetime(today.year, 1, 1, tzinfo=zone).astimezone(UTC)
    rows = await MeetingAttendee.filter(
        held(now, "meeting__"),
        member_id__in=ids,
        attendance=Attendance.PRESENT,
        meeting__starts_at__gte=start,
    ).values_list("member_id", flat=True)
    taken: dict[int, int] = {}
    for member_id in rows:
        key = int(str(member_id))
        taken[key] = taken.get(key, 0) + 1
    return taken


def life_text(times: int, last: date | None, year: int) -> str:
    if not times:
        return f"{year}年尚未参加本支部组织生活" + (f"（最近一次{_when(last)}）" if last else "")
    return f"{year}年参加本支部组织生活{times}次，最近一次{_when(last) if last else NONE}"


async def _incoming_form(
    name: str,
    lines: list[Standing],
    branches: dict[int, str],
    today: date,
    now: datetime,
    zone: ZoneInfo,
) -> _Form:
    came = _by_branch(
        [s for s in lines if s.record is not None and s.record.direction == Direction.IN],
        lambda s: s.record.branch_id if s.record else 0,
        branches,
    )
    taken = await _life_this_year([s.member.id for s in came], today, now, zone)
    rows: list[list[CellValue]] = []
    for n, s in enumerate(came, start=1):
        r = s.record
        assert r is not None
        contact = f"（{r.other_contact}）" if r.other_contact else ""
        rows.append(
            [
                n,
                s.member.name,
                branches.get(r.branch_id, ""),
                f"{r.other_org}{contact}",
                s.member.phone,
                r.since,
                r.place,
                r.reason.value,
                life_text(taken.get(s.member.id, 0), s.last_life, today.year),
            ]
        )
    return _Form(
        IN_SHEET,
        f"{name}流入党员名册",
        IN_COLUMNS,
        rows,
        "说明：流入党员参加所在支部的组织生活和学习，不计入应到人数，在本支部没有表决权、"
        "选举权和被选举权；参加组织生活含到会、线上参加和以心得参加。" + AUTHORITY,
        "没有在册的流入党员",
    )


def case_outcome(case: LostCase) -> str:
    if case.stage == LostStage.SEARCHING:
        return f"查找中（{_when(case.opened_on)}开始）"
    if case.stage == LostStage.RESTORED:
        when = _when(case.restored_on) if case.restored_on else ""
        return f"{when}恢复联系：{case.handling}"
    stopped = f"{_when(case.stopped_on)}停止党籍" if case.stopped_on else "已停止党籍"
    if case.stage == LostStage.STOPPED:
        due = removal_due_on(case)
        return stopped + (f"；满两年仍无联系的（{_when(due)}起），按程序办理除名" if due else "")
    closed = _when(case.closed_on) if case.closed_on else ""
    return f"{stopped}；{closed}办结：{case.closed_note}"


async def settled_cases(branch_ids: list[int], today: date) -> list[LostCase]:
    """Cases still open, and those restored or closed since 1 January."""
    first = date(today.year, 1, 1)
    return (
        await LostCase.filter(branch_id__in=branch_ids)
        .filter(
            Q(stage__in=[LostStage.SEARCHING, LostStage.STOPPED])
            | Q(restored_on__gte=first)
            | Q(closed_on__gte=first)
        )
        .order_by("opened_on", "id")
    )


async def _lost_form(
    name: str, branch_ids: list[int], branches: dict[int, str], today: date, zone: ZoneInfo
) -> _Form:
    cases = _by_branch(await settled_cases(branch_ids, today), lambda c: c.branch_id, branches)
    members = {m.id: m for m in await Member.filter(id__in=[c.member_id for c in cases])}
    tried: dict[int, list[LostAttempt]] = {}
    for attempt in await LostAttempt.filter(case_id__in=[c.id for c in cases]).order_by(
        "day", "id"
    ):
        tried.setdefault(attempt.case_id, []).append(attempt)
    meetings = {
        m.id: m for m in await Meeting.filter(id__in=[c.meeting_id for c in cases if c.meeting_id])
    }
    rows: list[list[CellValue]] = []
    for n, case in enumerate(cases, start=1):
        steps = (
            "\n".join(f"{_when(a.day)} {a.method}：{a.note}" for a in tried.get(case.id, []))
            or "尚无查找记录"
        )
        meeting = meetings.get(case.meeting_id or 0)
        held_on = (
            f"{_when(meeting.starts_at.astimezone(zone).date())}\n{meeting.topic}"
            if meeting
            else NONE
        )
        member = members.get(case.member_id)
        rows.append(
            [
                n,
                member.name if member else "",
                branches.get(case.branch_id, ""),
                steps,
                case_outcome(case),
                held_on,
                case.decision or NONE,
            ]
        )
    return _Form(
        LOST_SHEET,
        f"{name}失联党员查找情况",
        LOST_COLUMNS,
        rows,
        f"{RULE_24_SOURCE}：“{RULE_24}”本表列出正在查找和停止党籍"
        f"的，以及{today.year}年内恢复联系或办结的。" + AUTHORITY,
        "没有失联党员查找记录",
    )


# --- laying the forms out ----------------------------------------------------------------------

# Row heights for print.  `tallies.workbook` sizes a row for 宋体 as Excel draws it; a PDF made
# by LibreOffice, where 宋体 is replaced by a CJK font with taller lines (Noto Sans CJK: 1.45
# times the size), cut the last line of a long 查找经过 off.  So these forms count on the safe
# side: a Chinese character two width units (a Latin one 1.1), a cell's margins a unit, a line
# 1.5 times the font's size.  A row a line too tall wastes a line; one too short hides text.
LINE_PITCH = 1.5
ROW_PADDING = 5.0


def wrapped_lines(text: str, width: float, size: float = 10.0) -> int:
    """Lines `text` takes in a wrapped cell `width` units wide, in a font of `size` points."""
    scale = size / 10
    usable = max(2.0 * scale, width - 1)
    total = 0
    for line in text.split("\n"):
        lines, used = 1, 0.0
        for ch in line:
            drawn = (2.0 if unicodedata.east_asian_width(ch) in "WF" else 1.1) * scale
            if used + drawn > usable and used:
                lines, used = lines + 1, 0.0
            used += drawn
        total += lines
    return total


MAX_ROW_HEIGHT = 409.0


def fit_rows(sheet: Worksheet) -> None:
    """Every row at least as tall as its wrapped text needs (never lower than it was set): a
    merged cell is as wide as its columns together; a header merged down two rows is left."""
    widths = {
        n: sheet.column_dimensions[get_column_letter(n)].width or 8.43
        for n in range(1, sheet.max_column + 1)
    }
    spans: dict[tuple[int, int], float | None] = {}
    for merged in sheet.merged_cells.ranges:
        tall = merged.max_row > merged.min_row
        wide = sum(widths.get(n, 8.43) for n in range(merged.min_col, merged.max_col + 1))
        spans[(merged.min_row, merged.min_col)] = None if tall else wide
    for number, row in enumerate(sheet.iter_rows(min_row=1), start=1):
        needed = 0.0
        for cell in row:
            if not isinstance(cell.value, str) or not cell.alignment.wrap_text:
                continue
            column = int(cell.column or 0)
            place = (number, column)
            width = spans[place] if place in spans else widths.get(column, 8.43)
            if width is None:
                continue
            size = float(cell.font.size or 10)
            lines = wrapped_lines(cell.value, width, size)
            needed = max(needed, lines * size * LINE_PITCH + ROW_PADDING)
        if needed:
            dimension = sheet.row_dimensions[number]
            # Excel's tallest row is 409 points: past it a file is 'repaired' on opening.
            dimension.height = min(MAX_ROW_HEIGHT, max(dimension.height or 0.0, needed))


def _saved(book: _Book) -> bytes:
    buffer = io.BytesIO()
    workbook(book).save(buffer)
    return buffer.getvalue()


def workbook(book: _Book) -> Workbook:
    out = Workbook()
    out.remove(out.active)  # type: ignore[arg-type]  # a new Workbook's one sheet, never None
    for form in book.forms:
        _form_sheet(out.create_sheet(sheet_title(form.name, out.sheetnames)), form, book)
    return out


def filed_line(
    sheet: Worksheet, row: int, left: str, right: str, columns: Sequence[Column]
) -> None:
    """填报单位 on the left, the date on the right, across the table; the left part is given
    as many columns as its text needs (half the table at least), so a long name is not cut."""
    width = len(columns)
    needed = display_width(left) * WIDE / 2 + 1
    half, used = 0, 0.0
    while half < width - 1 and (half < max(1, width // 2) or used < needed):
        used += columns[half].width
        half += 1
    put(sheet, row, 1, left, font=SUBTITLE,
        alignment=Alignment(horizontal="left", vertical="center"))  # fmt: skip
    put(sheet, row, half + 1, right, font=SUBTITLE,
        alignment=Alignment(horizontal="right", vertical="center"))  # fmt: skip
    if half > 1:
        sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=half)
    if width > half + 1:
        sheet.merge_cells(start_row=row, start_column=half + 1, end_row=row, end_column=width)
    sheet.row_dimensions[row].height = 20


def paragraph(sheet: Worksheet, row: int, text: str, columns: Sequence[Column]) -> None:
    """Text across the table's width, wrapped, its row tall enough to print it whole."""
    width = sum(c.width for c in columns)
    put(sheet, row, 1, text, font=SUBTITLE, alignment=LEFT)
    sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=len(columns))
    sheet.row_dimensions[row].height = max(18.0, lines_needed(text, width) * POINTS_PER_LINE + 4)


def _form_sheet(sheet: Worksheet, form: _Form, book: _Book) -> None:
    width = len(form.columns)
    title(sheet, 1, form.heading, width)
    filed_line(
        sheet, 2, f"填报单位：{book.filed_by}", f"统计日期：{_when(book.today)}", form.columns
    )
    first = HEADER_FIRST + header_rows(sheet, HEADER_FIRST, form.columns)
    row = first
    for values in form.rows:
        body_row(sheet, row, form.columns, values)
        row += 1
    if not form.rows:
        put(sheet, row, 1, form.empty, font=BOLD, alignment=CENTRED)
        sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=width)
        sheet.row_dimensions[row].height = 24
        row += 1
    if form.totals is not None:
        body_row(sheet, row, form.columns, form.totals, font=BOLD)
        row += 1
    paragraph(sheet, row + 1, form.note, form.columns)
    sheet.freeze_panes = sheet.cell(row=first, column=1).coordinate
    print_setup(
        sheet, title_rows=f"{HEADER_FIRST}:{first - 1}", footer=form.heading, portrait=form.portrait
    )
    fit_rows(sheet)


# --- one 流入 member's record, for their home organisation --------------------------------------

MEETING_COLUMNS = [
    Column("序号", 5, align=TOP_CENTRED),
    Column("日期", 14, align=TOP_CENTRED, number_format=DATE),
    Column("会议", 12, align=TOP_CENTRED),
    Column("议题", 34),
    Column("参加情况", 14, align=TOP_CENTRED),
]
WRITING_COLUMNS = [
    Column("序号", 5, align=TOP_CENTRED),
    Column("日期", 14, align=TOP_CENTRED, number_format=DATE),
    Column("关于", 16),
    Column("心得内容", 50),
    Column("审核", 8, align=TOP_CENTRED),
]
REPORT_COLUMNS = [
    Column("年度", 8, align=TOP_CENTRED),
    Column("参加组织生活情况", 40),
    Column("党费交纳", 10, align=TOP_CENTRED),
    Column("交纳地点", 16),
    Column("报告日期", 14, align=TOP_CENTRED, number_format=DATE),
]
TAKING_PART = {
    ("present", "online"): "线上参加",
    ("present", "writing"): "以心得参加",
    ("present", None): "到会",
    ("leave", None): "请假",
    ("absent", None): "缺席",
}


def taking_part(attendance: str, mode: str | None) -> str:
    state = after_the_end(attendance)
    return TAKING_PART.get((state, mode if state == "present" else None), "到会")


async def incoming_record(member: Member) -> MobileMember | None:
    """The member's latest 流入 record (open or ended)."""
    return (
        await MobileMember.filter(member_id=member.id, direction=Direction.IN)
        .order_by("-id")
        .first()
    )


@dataclass
class _Record:
    member: Member
    record: MobileMember | None
    branch: str
    year: int
    made: date
    info: list[tuple[str, str]]
    meetings: list[list[CellValue]]
    writing: list[list[CellValue]]
    reports: list[list[CellValue]]


async def incoming_record_workbook(
    member: Member, year: int, zone: ZoneInfo, now: datetime
) -> bytes:
    """What `member` (a 流入 member) did with this branch in `year`, as an XLSX."""
    record = await incoming_record(member)
    branch = await Organisation.get(id=record.branch_id if record else member.organisation_id)
    start = datetime(year, 1, 1, tzinfo=zone).astimezone(UTC)
    end = datetime(year + 1, 1, 1, tzinfo=zone).astimezone(UTC)
    attended = (
        await MeetingAttendee.filter(
            held(now, "meeting__"),
            member_id=member.id,
            meeting__starts_at__gte=start,
            meeting__starts_at__lt=end,
        )
        .prefetch_related("meeting")
        .order_by("meeting__starts_at")
    )
    meetings: list[list[CellValue]] = [
        [
            n,
            a.meeting.starts_at.astimezone(zone).date(),
            a.meeting.kind,
            a.meeting.topic,
            taking_part(str(a.attendance), a.mode),
        ]
        for n, a in enumerate(attended, start=1)
    ]
    submissions = await Submission.filter(
        member_id=member.id, day__gte=date(year, 1, 1), day__lte=date(year, 12, 31)
    ).order_by("day", "id")
    topics = dict(
        await Meeting.filter(
            id__in=[s.meeting_id for s in submissions if s.meeting_id]
        ).values_list("id", "topic")
    )
    writing: list[list[CellValue]] = []
    for n, s in enumerate(submissions, start=1):
        text = s.content if len(s.content) <= SUBMISSION_SHOWN else s.content[:SUBMISSION_SHOWN]
        about = f"会议：{topics[s.meeting_id]}" if s.meeting_id in topics else "学习心得"
        label = SUBMISSION_STATUS_LABELS.get(s.status, str(s.status))
        writing.append([n, s.day, about, text + ("……" if text != s.content else ""), label])
    reports: list[list[CellValue]] = [
        [
            f"{r.year}年",
            r.org_life,
            r.dues,
            r.dues_where or NONE,
            r.updated_at.astimezone(zone).date(),
        ]
        for r in await YearlyReport.filter(member_id=member.id, year=year)
    ]
    present = sum(1 for row in meetings if row[4] != "请假" and row[4] != "缺席")
    info = [
        ("姓名", member.name),
        ("联系电话", member.phone),
        ("原组织关系所在党组织", (record.other_org if record else "") or NONE),
        ("原党组织联系电话", (record.other_contact if record else "") or NONE),
        ("流入时间", _when(record.since) if record else NONE),
        ("居住/工作地", record.place if record else NONE),
        ("流入报到支部", branch.name),
        ("状态", FLOW_STATUS_LABELS[record.status] if record else NONE),
        (
            f"{year}年参加组织生活",
            f"本支部召开、通知其参加的会议 {len(meetings)} 次，参加 {present} 次；"
            f"提交心得 {len(writing)} 篇",
        ),
    ]
    found = _Record(
        member, record, branch.name, year, now.astimezone(zone).date(), info, meetings, writing,
        reports,
    )  # fmt: skip
    return await asyncio.to_thread(_record_saved, found)


def record_heading(found: _Record) -> str:
    return f"流入党员{found.member.name}参加组织生活情况（{found.year}年）"


def _record_saved(found: _Record) -> bytes:
    out = Workbook()
    out.remove(out.active)  # type: ignore[arg-type]  # a new Workbook's one sheet, never None
    _life_sheet(out.create_sheet("参加组织生活情况"), found)
    _simple_sheet(
        out.create_sheet("学习心得"),
        f"{found.member.name} {found.year}年学习心得",
        found,
        WRITING_COLUMNS,
        found.writing,
        f"{found.year}年没有提交心得",
    )
    _simple_sheet(
        out.create_sheet("年度报告"),
        f"{found.member.name} {found.year}年年度报告",
        found,
        REPORT_COLUMNS,
        found.reports,
        f"{found.year}年没有年度报告（年度报告由流出党员向所在支部报告）",
    )
    buffer = io.BytesIO()
    out.save(buffer)
    return buffer.getvalue()


def _life_sheet(sheet: Worksheet, found: _Record) -> None:
    columns = MEETING_COLUMNS
    width = len(columns)
    heading = record_heading(found)
    title(sheet, 1, heading, width)
    filed_line(sheet, 2, f"填报单位：{found.branch}", f"填报日期：{_when(found.made)}", columns)
    row = 3
    for label, value in found.info:
        # A label over the first two columns, its value over the rest.
        # Every cell of a merged range boxed, or the printed grid has gaps.
        for column in range(1, width + 1):
            put(sheet, row, column, None, border=BOX)
        put(sheet, row, 1, label, font=BOLD, alignment=CENTRED, border=BOX, fill=HEADER_FILL)
        put(sheet, row, 2, None, border=BOX, fill=HEADER_FILL)
        sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=2)
        put(sheet, row, 3, value, font=BODY, alignment=LEFT, border=BOX)
        sheet.merge_cells(start_row=row, start_column=3, end_row=row, end_column=width)
        rest = sum(c.width for c in columns[2:])
        sheet.row_dimensions[row].height = max(
            18.0, lines_needed(value, rest) * POINTS_PER_LINE + 4
        )
        row += 1
    row += 1
    first_header = row
    first = row + header_rows(sheet, row, columns)
    row = first
    for values in found.meetings:
        body_row(sheet, row, columns, values)
        row += 1
    if not found.meetings:
        put(sheet, row, 1, f"{found.year}年本支部没有通知其参加的已召开会议", font=BOLD,
            alignment=CENTRED)  # fmt: skip
        sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=width)
        row += 1
    paragraph(
        sheet,
        row + 1,
        "说明：本记录由流入党员报到的支部根据会议签到、请假和心得记录整理，供其组织关系所在"
        "党组织了解其参加组织生活的情况。线上参加为在会议线上部分签到，以心得参加为就会议议题"
        "提交心得。流入党员在本支部不计入应到人数，没有表决权、选举权和被选举权。",
        columns,
    )
    print_setup(sheet, title_rows=f"{first_header}:{first - 1}", footer=heading, portrait=True)
    fit_rows(sheet)


def _simple_sheet(
    sheet: Worksheet,
    heading: str,
    found: _Record,
    columns: list[Column],
    rows: list[list[CellValue]],
    empty: str,
) -> None:
    width = len(columns)
    title(sheet, 1, heading, width)
    filed_line(sheet, 2, f"填报单位：{found.branch}", f"填报日期：{_when(found.made)}", columns)
    first = HEADER_FIRST + header_rows(sheet, HEADER_FIRST, columns)
    row = first
    for values in rows:
        body_row(sheet, row, columns, values)
        row += 1
    if not rows:
        put(sheet, row, 1, empty, font=BOLD, alignment=CENTRED)
        sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=width)
    print_setup(sheet, title_rows=f"{HEADER_FIRST}:{first - 1}", footer=heading, portrait=True)
    fit_rows(sheet)
