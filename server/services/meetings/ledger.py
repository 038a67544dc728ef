"""The 三会一课 ledger (台账) as a workbook an inspector can print and read.

A sheet for each of 支部党员大会, 支委会, 党小组会, 党课 and 主题党日 always (an empty one says
本年度未召开), then one for each other type held that year (集中学习, 组织生活会, …); a sheet
变更记录 (what changed, why, who did it and when); and 纪要全文 when some minutes are too long
for a row.  Every sheet prints on A4 landscape, fitted to the page width, its header rows
repeated on every page, dates as real dates.  What each row says is decided in
`ledger_records`; the page set-up and text-stays-text writing in `workbook`.

`ledger_xlsx` is the one way to get it: the CLI, the API and the dashboard all call it.
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from server.errors import ValidationFailed
from server.models.meetings import MeetingType
from server.models.people import Organisation
from server.services.meetings.ledger_records import (
    CANCELLED,
    HELD,
    PLANNED,
    UNDER_WAY,
    Change,
    Record,
    Year,
    year_of,
)
from server.services.people.org_lookup import organisation_named
from server.services.tallies.workbook import (
    BOLD,
    CENTRED,
    DATE,
    DATE_TIME,
    SUBTITLE,
    TOP_CENTRED,
    WIDE,
    CellValue,
    Column,
    body_row,
    display_width,
    file_name_part,
    header_rows,
    print_setup,
    put,
    sheet_title,
    title,
)

MINUTES_IN_ROW = 400  # characters of minutes a row holds and still fits a printed page
MINUTES_PER_ROW = 600  # of the full text, in 纪要全文
NOT_HELD = "本年度未召开"
NONE = "无"
INCOMING = "流入党员（无表决权）"
CHANGES_SHEET = "变更记录"
MINUTES_SHEET = "纪要全文"
HEADER_FIRST = 3  # rows 1–2: the title and the line under it
FIRST_YEAR, LAST_YEAR = 2000, 2100  # as the API's year


@dataclass(frozen=True)
class Ledger:
    """A branch's ledger for a year, as a workbook: what the CLI, the API and the dashboard give."""

    data: bytes  # the XLSX
    filename: str  # ASCII, for any download header
    readable: str  # 台账-<branch>-<year>.xlsx
    counts: dict[str, int]  # meetings held, by type (every sheet's type, zero included)
    cancelled: dict[str, int] = field(default_factory=dict)  # by type
    scheduled: dict[str, int] = field(default_factory=dict)  # still to come or under way


async def ledger_xlsx(branch: Organisation, year: int, zone: ZoneInfo, now: datetime) -> Ledger:
    """The year's ledger of the branch (and its groups); `now` decides what is over."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValidationFailed(f"年份应在 {FIRST_YEAR} 至 {LAST_YEAR} 之间。", field="year")
    found = await year_of(branch, year, zone, now)
    # Laying out a busy year takes a good part of a second: not on the event loop.
    data = await asyncio.to_thread(_saved, found)
    scheduled = found.counts(PLANNED)
    for kind, n in found.counts(UNDER_WAY).items():
        scheduled[kind] += n
    return Ledger(
        data,
        f"ledger-{branch.id}-{year}.xlsx",
        f"台账-{file_name_part(branch.name)}-{year}.xlsx",
        found.counts(HELD),
        found.counts(CANCELLED),
        scheduled,
    )


async def ledger_at(given: str, year: int, zone: ZoneInfo, now: datetime) -> Ledger:
    """The ledger of the organisation named by id, full path or unique name (the CLI's way)."""
    return await ledger_xlsx(await organisation_named(given, "branch"), year, zone, now)


def _saved(found: Year) -> bytes:
    buffer = io.BytesIO()
    workbook(found).save(buffer)
    return buffer.getvalue()


def workbook(found: Year) -> Workbook:
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]  # a new Workbook's one sheet, never None
    long_minutes: list[Record] = []
    for kind in found.kinds:
        sheet = book.create_sheet(sheet_title(kind, book.sheetnames))
        long_minutes += _meetings_sheet(sheet, found, kind)
    _changes_sheet(book.create_sheet(sheet_title(CHANGES_SHEET, book.sheetnames)), found)
    if long_minutes:
        _minutes_sheet(book.create_sheet(sheet_title(MINUTES_SHEET, book.sheetnames)), found,
                       long_minutes)  # fmt: skip
    return book


def columns(kind: str, records: list[Record]) -> list[Column]:
    """The columns of a type's sheet: 主讲人 for a 党课 (or any with a speaker), 党小组 for a
    党小组会."""

    def fitted(texts: list[str], least: float, most: float) -> float:
        """As wide as the longest text, within bounds (longer text wraps)."""
        return min(most, max([least] + [display_width(t) * WIDE / 2 + 1.5 for t in texts]))

    first = [
        Column("次序", 7, align=TOP_CENTRED),
        Column("日期", 15, align=TOP_CENTRED, number_format=DATE),
        Column("时间", 12, align=TOP_CENTRED),
        Column("地点", fitted([r.meeting.place or "" for r in records], 10, 16)),
        Column("主持人", 8, align=TOP_CENTRED),
        Column("记录人", 8, align=TOP_CENTRED),
    ]
    if kind == MeetingType.PARTY_LECTURE or any(r.meeting.speaker for r in records):
        first.append(Column("主讲人", 9, align=TOP_CENTRED))
    if kind == MeetingType.GROUP_MEETING:
        first.append(Column("党小组", fitted([r.group for r in records], 10, 18)))
    return [
        *first,
        Column("议题", 18),
        Column("应到", 5.5, align=TOP_CENTRED),
        Column("实到", 5.5, top="实到", sub="人数", align=TOP_CENTRED),
        Column("实到人员", 22, top="实到", sub="人员"),
        Column("请假", 5.5, top="请假", sub="人数", align=TOP_CENTRED),
        Column("请假人员及原因", 16, top="请假", sub="人员及原因"),
        Column("缺席", 5.5, top="缺席", sub="人数", align=TOP_CENTRED),
        Column("缺席人员及原因", 16, top="缺席", sub="人员及原因"),
        Column("列席人员", 10),
        # Only on a sheet that has one: most branches have none, and the page is full.
        *([Column(INCOMING, 12)] if any(r.incoming for r in records) else []),
        Column("纪要及决议", 30),
        Column("状态", 8, align=TOP_CENTRED),
    ]


def row_values(record: Record, cols: list[Column]) -> list[CellValue]:
    """What the record's row says, column by column (counts only for a meeting held)."""
    m = record.meeting
    held = record.held

    def names(people: list[object]) -> str:
        return "、".join(str(p) for p in people) if people else (NONE if held else "")

    minutes = m.minutes or ""
    if len(minutes) > MINUTES_IN_ROW:
        minutes = minutes[:MINUTES_IN_ROW] + f"……（全文见“{MINUTES_SHEET}”表）"
    status = record.status
    if status == CANCELLED and record.cancel_reason:
        status += f"\n（{record.cancel_reason}）"
    values: dict[str, CellValue] = {
        "次序": f"第{record.number}次" if record.number else "—",
        "日期": record.start.date(),
        "时间": f"{record.start:%H:%M}–{record.end:%H:%M}",
        "地点": _where(m.place, m.online),
        "主持人": record.chair,
        "记录人": record.recorder,
        "主讲人": m.speaker or "",
        "党小组": record.group,
        "议题": m.topic,
        "应到": record.expected if held else None,
        "实到": len(record.present) if held else None,
        "实到人员": names(list(record.present)),
        "请假": len(record.leave) if held else None,
        "请假人员及原因": "；".join(str(p) for p in record.leave) or (NONE if held else ""),
        "缺席": len(record.absent) if held else None,
        "缺席人员及原因": "；".join(str(p) for p in record.absent) or (NONE if held else ""),
        "列席人员": names(list(record.guests)) if record.guests or held else "",
        INCOMING: names(list(record.incoming)) if record.incoming or held else "",
        "纪要及决议": minutes,
        "状态": status,
    }
    return [values[c.name] for c in cols]


def _where(place: str | None, online: str | None) -> str:
    """The room, and the online part a 流动党员 far away joined (线上：腾讯会议 …)."""
    parts = [place or "", f"线上：{online}" if online else ""]
    return "\n".join(p for p in parts if p)


def _meetings_sheet(sheet: Worksheet, found: Year, kind: str) -> list[Record]:
    """One type's sheet; returns the records whose minutes go to 纪要全文."""
    records = found.records[kind]
    cols = columns(kind, records)
    heading = f"{found.branch.name} {found.year}年{kind}台账"
    title(sheet, 1, heading, len(cols))
    title(sheet, 2, _subtitle(found, records), len(cols), font=SUBTITLE)
    depth = header_rows(sheet, HEADER_FIRST, cols)
    first = HEADER_FIRST + depth
    for n, record in enumerate(records):
        body_row(sheet, first + n, cols, row_values(record, cols))
    if not records:
        put(sheet, first, 1, NOT_HELD, font=BOLD, alignment=CENTRED)
        sheet.merge_cells(start_row=first, start_column=1, end_row=first, end_column=len(cols))
        sheet.row_dimensions[first].height = 30
    sheet.freeze_panes = sheet.cell(row=first, column=1).coordinate
    print_setup(sheet, title_rows=f"{HEADER_FIRST}:{first - 1}", footer=heading)
    return [r for r in records if len(r.meeting.minutes or "") > MINUTES_IN_ROW]


def _subtitle(found: Year, records: list[Record]) -> str:
    held = sum(r.status == HELD for r in records)
    others = [
        f"{status} {n} 次"
        for status in (CANCELLED, PLANNED, UNDER_WAY)
        if (n := sum(r.status == status for r in records))
    ]
    extra = f"（另{'，'.join(others)}）" if others else ""
    above = " / ".join(found.parents)
    made = found.made
    return (
        (f"所属：{above}　　" if above else "")
        + f"本年度召开 {held} 次{extra}　　制表时间：{made.year}年{made.month}月{made.day}日"
        f" {made:%H:%M}"
    )


CHANGE_COLUMNS = [
    Column("会议", 30),
    Column("变更时间", 17, align=TOP_CENTRED, number_format=DATE_TIME),
    Column("变更事项", 10, align=TOP_CENTRED),
    Column("变更内容", 44),
    Column("原因", 28),
    Column("操作人", 9, align=TOP_CENTRED),
]


def change_values(change: Change) -> list[CellValue]:
    return [change.record.label, change.at, change.what, change.detail, change.reason, change.by]


def _changes_sheet(sheet: Worksheet, found: Year) -> None:
    heading = f"{found.branch.name} {found.year}年三会一课变更记录"
    title(sheet, 1, heading, len(CHANGE_COLUMNS))
    title(sheet, 2, "改期、取消、补录、准假与不准假、列席、线上参会与以心得参加、记录人和纪要，"
          "按会议排列", len(CHANGE_COLUMNS), font=SUBTITLE)  # fmt: skip
    depth = header_rows(sheet, HEADER_FIRST, CHANGE_COLUMNS)
    first = HEADER_FIRST + depth
    for n, change in enumerate(found.changes):
        body_row(sheet, first + n, CHANGE_COLUMNS, change_values(change))
    if not found.changes:
        put(sheet, first, 1, "本年度无变更记录", font=BOLD, alignment=CENTRED)
        sheet.merge_cells(
            start_row=first, start_column=1, end_row=first, end_column=len(CHANGE_COLUMNS)
        )
    sheet.freeze_panes = sheet.cell(row=first, column=1).coordinate
    print_setup(sheet, title_rows=f"{HEADER_FIRST}:{first - 1}", footer=heading)


MINUTES_COLUMNS = [Column("会议", 26), Column("纪要及决议", 100)]


def _minutes_sheet(sheet: Worksheet, found: Year, records: list[Record]) -> None:
    heading = f"{found.branch.name} {found.year}年会议纪要全文"
    title(sheet, 1, heading, len(MINUTES_COLUMNS))
    title(sheet, 2, "台账中写不下的纪要及决议全文", len(MINUTES_COLUMNS), font=SUBTITLE)
    row = HEADER_FIRST + header_rows(sheet, HEADER_FIRST, MINUTES_COLUMNS)
    first = row
    for record in records:
        label = f"{record.label}\n{record.meeting.topic}"
        for n, piece in enumerate(pieces(record.meeting.minutes or "", MINUTES_PER_ROW)):
            body_row(sheet, row, MINUTES_COLUMNS, [label if n == 0 else "（续）", piece])
            row += 1
    sheet.freeze_panes = sheet.cell(row=first, column=1).coordinate
    print_setup(sheet, title_rows=f"{HEADER_FIRST}:{first - 1}", footer=heading)


def pieces(text: str, size: int) -> list[str]:
    """`text` in pieces of at most `size` characters, cut at line ends where there are any."""
    out: list[str] = []
    current = ""
    for line in text.splitlines() or [""]:
        while len(line) > size:
            if current:
                out.append(current)
                current = ""
            out.append(line[:size])
            line = line[size:]
        joined = f"{current}\n{line}" if current else line
        if len(joined) > size:
            out.append(current)
            current = line
        else:
            current = joined
    if current or not out:
        out.append(current)
    return out
