"""What every file staff hand on shares: text that stays text, widths for Chinese, print set-up.

Text from users (a topic, a place, a name, a reason, minutes, an organisation's name) goes into
every XLSX through `put` and into every CSV through `csv_text`, so that nothing a member typed
is ever evaluated by Excel: a string cell is written as a string (openpyxl would write
"=1+1" as a formula) and marked with a quote prefix, so editing it keeps it text; in a CSV a
value that starts like a formula gets a leading ' (OWASP's advice for CSV injection).
Characters an XLSX cannot hold (control characters) are dropped rather than failing the export.

`print_setup` is the page every printed table gets: A4 landscape, fitted to the page width,
the header rows repeated on every page, "第 N 页，共 M 页" in the footer.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, TypeAlias

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.worksheet import Worksheet

# What makes Excel (or LibreOffice) treat a typed value as a formula, or a DDE payload.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CELL_MAX = 32_767  # characters Excel keeps in one cell

FONT = "宋体"
BODY = Font(name=FONT, size=10)
BOLD = Font(name=FONT, size=10, bold=True)
TITLE = Font(name="黑体", size=16, bold=True)
SUBTITLE = Font(name=FONT, size=10)
_THIN = Side(style="thin", color="000000")
BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
HEADER_FILL = PatternFill("solid", fgColor="E7E6E6")
CENTRED = Alignment(horizontal="center", vertical="center", wrap_text=True)
LEFT = Alignment(horizontal="left", vertical="top", wrap_text=True)
TOP_CENTRED = Alignment(horizontal="center", vertical="top", wrap_text=True)
PAGE_NUMBERS = "第 &P 页，共 &N 页"
DATE = 'yyyy"年"m"月"d"日"'
DATE_TIME = 'yyyy"年"m"月"d"日" hh:mm'
POINTS_PER_LINE = 13.5  # a line of 10-point 宋体, with its leading
WIDE = 1.9  # a Chinese character, in column-width units (digits of the default font)

# What the files write into a cell (openpyxl's own name for it is private to its stubs).
CellValue: TypeAlias = str | float | Decimal | datetime | date | time | timedelta | None

_UNSAFE_IN_NAME = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


def clean(text: str) -> str:
    """Text an XLSX can hold: no control characters, no more than a cell keeps."""
    return ILLEGAL_CHARACTERS_RE.sub("", text)[:CELL_MAX]


def looks_like_formula(text: str) -> bool:
    return text.startswith(FORMULA_START)


def put(sheet: Worksheet, row: int, column: int, value: CellValue, **style: Any) -> Any:
    """Write one cell; a str is always a string cell (never a formula, never an error value)."""
    cell = sheet.cell(row=row, column=column)
    if isinstance(value, str):
        value = clean(value)
        cell.value = value
        # openpyxl guesses: "=…" becomes a formula, "#N/A" an error.  A user's text is text.
        cell.data_type = "s"
        if looks_like_formula(value):
            cell.quotePrefix = True  # Excel keeps it text even when the cell is edited
    else:
        cell.value = value
    for name, given in style.items():
        setattr(cell, name, given)
    return cell


def csv_text(value: object) -> object:
    """A CSV field: None empty, a formula-looking text quoted with ' (numbers stay numbers)."""
    if value is None:
        return ""
    if isinstance(value, str) and looks_like_formula(value):
        return "'" + value
    return value


def display_width(text: str) -> int:
    """Columns of text as Excel measures width: a Chinese character is two, a digit one."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def lines_needed(text: str, width: float) -> int:
    """Lines a wrapped cell `width` wide needs for `text`, as Excel draws 10-point 宋体.

    A column's width is counted in digits of the default font (7 px, plus 5 px of which the
    cell's margins take most); a Chinese character of 10-point 宋体 is 13.3 px, about 1.9
    digits, and is never split, so a line holds whole characters.  Rounded on the safe side: a
    row a line too tall wastes a line, a row too short hides text in print.
    """
    total = 0
    for line in text.split("\n"):
        lines, used = 1, 0.0
        for ch in line:
            drawn = WIDE if unicodedata.east_asian_width(ch) in "WF" else 1.0
            if used + drawn > width and used:
                lines, used = lines + 1, 0.0
            used += drawn
        total += lines
    return total


def file_name_part(text: str) -> str:
    """An organisation's name as part of a file name: no path separators or reserved marks."""
    return _UNSAFE_IN_NAME.sub("_", text).strip(" .") or "_"


def footer_text(text: str) -> str:
    """Text for a header or footer, where & starts a code: escaped, and within Excel's limit."""
    return clean(text).replace("&", "&&")[:200]


@dataclass(frozen=True)
class Column:
    """One column of a printed table: its header (one or two levels), width and alignment."""

    name: str  # the flat name (what a test or a reader calls it)
    width: float
    top: str | None = None  # a header over several columns (实到 over 人数 and 人员)
    sub: str | None = None  # the column's own header under `top`
    align: Alignment = LEFT
    number_format: str | None = None


def header_rows(sheet: Worksheet, first: int, columns: Sequence[Column]) -> int:
    """The table's header at row `first`: one row, or two when some columns share a top header.

    Returns the number of header rows written.
    """
    two = any(c.top for c in columns)
    for n, col in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(n)].width = col.width
        if not two:
            put(sheet, first, n, col.name, font=BOLD, alignment=CENTRED, border=BOX,
                fill=HEADER_FILL)  # fmt: skip
            continue
        if col.top is None:  # one header over both rows
            put(sheet, first, n, col.name, font=BOLD, alignment=CENTRED, border=BOX,
                fill=HEADER_FILL)  # fmt: skip
            put(sheet, first + 1, n, None, border=BOX, fill=HEADER_FILL)
            sheet.merge_cells(start_row=first, start_column=n, end_row=first + 1, end_column=n)
        else:
            put(sheet, first + 1, n, col.sub or col.name, font=BOLD, alignment=CENTRED,
                border=BOX, fill=HEADER_FILL)  # fmt: skip
            put(sheet, first, n, col.top, font=BOLD, alignment=CENTRED, border=BOX,
                fill=HEADER_FILL)  # fmt: skip
    if two:  # merge each run of columns sharing a top header
        n = 1
        while n <= len(columns):
            top = columns[n - 1].top
            last = n
            while top and last < len(columns) and columns[last].top == top:
                last += 1
            if top and last > n:
                sheet.merge_cells(start_row=first, start_column=n, end_row=first, end_column=last)
            n = last + 1
    return 2 if two else 1


def body_row(
    sheet: Worksheet,
    row: int,
    columns: Sequence[Column],
    values: Sequence[CellValue],
    *,
    font: Font = BODY,
) -> None:
    """One row of the table, boxed, wrapped, its height set so no text is hidden in print."""
    lines = 1
    for n, (col, value) in enumerate(zip(columns, values, strict=True), start=1):
        cell = put(sheet, row, n, value, font=font, alignment=col.align, border=BOX)
        if col.number_format and value is not None and not isinstance(value, str):
            cell.number_format = col.number_format
        if isinstance(value, str):
            lines = max(lines, lines_needed(clean(value), col.width))
    sheet.row_dimensions[row].height = max(18.0, lines * POINTS_PER_LINE + 4)


def title(sheet: Worksheet, row: int, text: str, columns: int, *, font: Font = TITLE) -> None:
    """A title across the table's width (merged), centred."""
    put(sheet, row, 1, text, font=font, alignment=CENTRED)
    if columns > 1:
        sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=columns)
    sheet.row_dimensions[row].height = 30 if font is TITLE else 20


def print_setup(sheet: Worksheet, *, title_rows: str, footer: str, portrait: bool = False) -> None:
    """A4, fitted to the page width (as many pages down as needed), header rows on every page."""
    sheet.page_setup.orientation = "portrait" if portrait else "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0  # 0: no limit on the pages down
    fit, footing = sheet.sheet_properties.pageSetUpPr, sheet.oddFooter
    assert fit is not None and footing is not None  # openpyxl gives every new sheet both
    fit.fitToPage = True
    sheet.print_title_rows = title_rows
    sheet.print_options.horizontalCentered = True
    sheet.print_options.gridLines = False  # the table's own borders are printed instead
    sheet.page_margins = PageMargins(
        left=0.4, right=0.4, top=0.5, bottom=0.6, header=0.25, footer=0.3
    )
    footing.left.text = footer_text(footer)
    footing.left.size = 9
    footing.center.text = PAGE_NUMBERS
    footing.center.size = 9


def sheet_title(wanted: str, taken: Iterable[str]) -> str:
    """A worksheet name Excel accepts (31 characters, none of []:*?/\\), unique in the book."""
    base = re.sub(r"[\[\]:*?/\\]", "_", clean(wanted)).strip("'") or "表"
    base = base[:31]
    used = {t.lower() for t in taken}
    name, n = base, 2
    while name.lower() in used:
        suffix = f"({n})"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    return name
