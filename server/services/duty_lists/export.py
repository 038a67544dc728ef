"""The committee's own table as XLSX: 序号、问题、任务、责任人、措施、时限、进展情况、完成情况 —
the rows the page lists with the same filters, printed on A4 landscape, fitted to the width,
the header repeated on every page.

进展情况 is the latest progress or evidence recorded, dated; 完成情况 the state by the rules in
`status` (已完成 with its day and what was done, 已逾期 with how long, 推进中, 未开始).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date

from openpyxl import Workbook

from server.models.duty_lists import DutyNote, NoteKind
from server.services.duty_lists.reading import Line
from server.services.duty_lists.status import State
from server.services.tallies.workbook import (
    CENTRED,
    LEFT,
    SUBTITLE,
    TOP_CENTRED,
    Column,
    body_row,
    header_rows,
    print_setup,
    put,
    title,
)

COLUMNS = (
    Column("序号", 5, align=TOP_CENTRED),
    Column("问题", 26),
    Column("任务", 24),
    Column("责任人", 13),
    Column("措施", 34),
    Column("时限", 12.5, align=TOP_CENTRED),
    Column("进展情况", 30),
    Column("完成情况", 18),
)
HEADER_FIRST = 3


def _day(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def completion(line: Line, done_note: DutyNote | None, today: date) -> str:
    if line.state is State.DONE and line.item.completed_on is not None:
        said = f"：{done_note.text}" if done_note is not None else ""
        return f"已完成（{_day(line.item.completed_on)}）{said}"
    if line.carried_to is not None:
        return f"{line.state.value}（{line.left}），已结转下一年度"
    if line.state is State.LATE:
        return f"已逾期（{line.left}）"
    return f"{line.state.value}（{line.left}）"


async def workbook(heading: str, filters_text: str, found: Sequence[Line], today: date) -> bytes:
    done_notes: dict[int, DutyNote] = {}
    for note in await DutyNote.filter(
        item_id__in=[line.item.id for line in found], kind=NoteKind.DONE
    ).order_by("at", "id"):
        done_notes[note.item_id] = note
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new Workbook always has its one sheet
    sheet.title = "五张清单"
    title(sheet, 1, heading, len(COLUMNS))
    put(sheet, 2, 1, f"{filters_text}　截至{_day(today)}", font=SUBTITLE, alignment=LEFT)
    sheet.merge_cells(start_row=2, start_column=1, end_row=2, end_column=len(COLUMNS))
    first = HEADER_FIRST + header_rows(sheet, HEADER_FIRST, COLUMNS)
    row = first
    for n, line in enumerate(found, start=1):
        item = line.item
        values = (
            str(n), item.problem, item.task, line.owner, item.measures, _day(item.deadline),
            line.progress, completion(line, done_notes.get(item.id), today),
        )  # fmt: skip
        body_row(sheet, row, COLUMNS, values)
        row += 1
    if not found:
        put(sheet, row, 1, "没有符合条件的事项", alignment=CENTRED)
        sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=len(COLUMNS))
    sheet.freeze_panes = sheet.cell(row=first, column=1).coordinate
    print_setup(sheet, title_rows=f"{HEADER_FIRST}:{first - 1}", footer=heading)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
