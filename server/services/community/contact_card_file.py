"""A unit's 联系卡 as a workbook its Party organisation prints for the 民主评议: one unit, one
quarter, A4 portrait, the header row repeated on every page, names written as text.

The members are listed as the card lists them (in the order they reported), never by how much
they did; the 未参加服务 section and a footnote stating how everything was counted follow the
table.  The page set-up and text-stays-text writing are `tallies.workbook`'s, as every export.
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass
from datetime import date

from openpyxl import Workbook
from openpyxl.styles import Alignment
from openpyxl.worksheet.worksheet import Worksheet

from server.models.people import Organisation
from server.services.community.contact_card import ContactCard, MemberLine, Quarter
from server.services.tallies.workbook import (
    BOLD,
    CENTRED,
    LEFT,
    POINTS_PER_LINE,
    SUBTITLE,
    TOP_CENTRED,
    CellValue,
    Column,
    body_row,
    file_name_part,
    header_rows,
    lines_needed,
    print_setup,
    put,
    sheet_title,
    title,
)

HEADER_FIRST = 3  # rows 1–2: the title and the 填报单位 / 填报日期 line
NONE = "—"
COLUMNS = [
    Column("序号", 5, align=TOP_CENTRED),
    Column("姓名", 10, align=TOP_CENTRED),
    Column("报到社区", 14),
    Column("网格", 10),
    Column("认领", 6, align=TOP_CENTRED),
    Column("完成", 6, align=TOP_CENTRED),
    Column("服务时长（小时）", 9, align=TOP_CENTRED),
    Column("评价（均分/条数）", 10, align=TOP_CENTRED),
    Column("本年累计", 12, align=TOP_CENTRED),
    Column("是否达到年度要求", 10, align=TOP_CENTRED),
]
WIDTH = sum(c.width for c in COLUMNS)


@dataclass(frozen=True)
class CardFile:
    data: bytes
    filename: str  # ASCII, for any download header
    readable: str  # <unit>联系卡<2026年第四季度>.xlsx


async def filed_by() -> str:
    """The street's Party committee (the top of the tree), which files every unit's card."""
    top = await Organisation.filter(parent_id=None).order_by("id").first()
    return top.name if top is not None else ""


async def card_file(card: ContactCard, quarter: Quarter, today: date) -> CardFile:
    """The card as an XLSX, filed today; laid out off the event loop, as the other exports."""
    committee = await filed_by()
    data = await asyncio.to_thread(_saved, card, committee, today)
    return CardFile(
        data,
        f"unit-card-{card.unit_id}-{quarter.key}.xlsx",
        f"{file_name_part(card.unit_name)}联系卡{quarter.name}.xlsx",
    )


def heading(card: ContactCard) -> str:
    return f"{card.unit_name}在职党员到社区报到服务情况（{card.period}）"


def footnote(card: ContactCard) -> str:
    so_far = (
        f"本季度尚未结束，数字截至{card.made_on.month}月{card.made_on.day}日。"
        if card.so_far
        else ""
    )
    return (
        "统计口径：认领为本季度认领、未放弃且服务单未撤销的人次；完成为党员报告完成、"
        "社区在本季度确认办结的人次，服务时长为其所报时长之和；评价为这些服务单中居民"
        "已评价的均分和条数（合计行按服务单计，一单多人只计一次）；本年累计自1月1日起按"
        f"同一口径计算，年度要求为完成服务{card.expectation.text}，达到其一即为达到；未参加"
        "服务指本季度没有完成的服务。名单按报到先后排列，不作排名，供单位党组织民主评议参考。"
        + so_far
    )


def row_values(n: int, line: MemberLine) -> list[CellValue]:
    year = line.year
    return [
        n,
        line.name,
        line.community,
        line.grid or NONE,
        line.claims,
        line.completed,
        float(line.hours),
        f"{line.average_rating}/{line.rated}" if line.rated else NONE,
        year.done_text if year else NONE,
        ("是" if year.met else "否") if year else NONE,
    ]


def totals_values(card: ContactCard) -> list[CellValue]:
    t = card.totals
    return [
        "合计",
        f"{t.members}人",
        NONE,
        NONE,
        t.claims,
        t.completed,
        float(t.hours),
        f"{t.average_rating}/{t.rated}" if t.rated else NONE,
        NONE,
        f"达到{t.met}人",
    ]


def _saved(card: ContactCard, committee: str, today: date) -> bytes:
    buffer = io.BytesIO()
    workbook(card, committee, today).save(buffer)
    return buffer.getvalue()


def workbook(card: ContactCard, committee: str, today: date) -> Workbook:
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]  # a new Workbook's one sheet, never None
    _sheet(book.create_sheet(sheet_title(card.period or "联系卡", [])), card, committee, today)
    return book


def _filed_line(sheet: Worksheet, committee: str, today: date) -> None:
    half = len(COLUMNS) // 2
    put(sheet, 2, 1, f"填报单位：{committee}", font=SUBTITLE,
        alignment=Alignment(horizontal="left", vertical="center"))  # fmt: skip
    put(sheet, 2, half + 1, f"填报日期：{today.year}年{today.month}月{today.day}日",
        font=SUBTITLE, alignment=Alignment(horizontal="right", vertical="center"))  # fmt: skip
    sheet.merge_cells(start_row=2, start_column=1, end_row=2, end_column=half)
    sheet.merge_cells(start_row=2, start_column=half + 1, end_row=2, end_column=len(COLUMNS))
    sheet.row_dimensions[2].height = 20


def _paragraph(sheet: Worksheet, row: int, text: str, *, bold: bool = False) -> None:
    """Text across the table's width, wrapped, its row tall enough to print it whole."""
    put(sheet, row, 1, text, font=BOLD if bold else SUBTITLE, alignment=LEFT)
    sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=len(COLUMNS))
    sheet.row_dimensions[row].height = max(18.0, lines_needed(text, WIDTH) * POINTS_PER_LINE + 4)


def _sheet(sheet: Worksheet, card: ContactCard, committee: str, today: date) -> None:
    text = heading(card)
    title(sheet, 1, text, len(COLUMNS))
    _filed_line(sheet, committee, today)
    first = HEADER_FIRST + header_rows(sheet, HEADER_FIRST, COLUMNS)
    row = first
    for n, line in enumerate(card.members, start=1):
        body_row(sheet, row, COLUMNS, row_values(n, line))
        row += 1
    if not card.members:
        put(sheet, row, 1, "本单位还没有经社区确认的报到党员", font=BOLD, alignment=CENTRED)
        sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=len(COLUMNS))
        row += 1
    body_row(sheet, row, COLUMNS, totals_values(card), font=BOLD)
    row += 2
    missing = card.not_served
    _paragraph(sheet, row, f"本季度未参加服务的党员（{len(missing)}人）", bold=True)
    row += 1
    names = "、".join(f"{m.name}（{m.community}）" for m in missing) if missing else "无"
    _paragraph(sheet, row, names)
    row += 2
    _paragraph(sheet, row, footnote(card))
    sheet.freeze_panes = sheet.cell(row=first, column=1).coordinate
    print_setup(sheet, title_rows=f"{HEADER_FIRST}:{first - 1}", footer=text, portrait=True)
