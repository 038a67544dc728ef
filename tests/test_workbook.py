"""What every export writes through: text a member typed stays text, in XLSX and in CSV."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import Workbook, load_workbook

from server.services.meetings.ledger import pieces
from server.services.tallies.workbook import (
    CELL_MAX,
    csv_text,
    footer_text,
    lines_needed,
    print_setup,
    put,
    sheet_title,
)

HOSTILE = [
    '=HYPERLINK("http://evil","x")',
    "=1+1",
    "+1+1",
    "-1+1",
    "@SUM(A1)",
    "\t=1+1",
    "\r=1+1",
    "=cmd|' /C calc'!A0",
]


def read_back(book: Workbook) -> Workbook:
    out = io.BytesIO()
    book.save(out)
    return load_workbook(io.BytesIO(out.getvalue()))


@pytest.mark.parametrize("text", HOSTILE)
def test_a_formula_looking_text_is_a_string_cell_excel_will_not_evaluate(text: str) -> None:
    book = Workbook()
    put(book.active, 1, 1, text)
    cell = read_back(book).active["A1"]
    assert cell.data_type == "s"
    assert cell.value == text.replace("\r", "\n")  # XML reads a carriage return as a newline
    assert cell.quotePrefix  # still text when someone edits the cell


@pytest.mark.parametrize("text", HOSTILE)
def test_in_a_csv_it_gets_a_leading_quote(text: str) -> None:
    out = io.StringIO()
    csv.writer(out).writerow([csv_text(text), csv_text(12), csv_text(None), csv_text("王芳")])
    assert next(csv.reader(io.StringIO(out.getvalue()))) == ["'" + text, "12", "", "王芳"]


def test_ordinary_text_numbers_and_error_lookalikes_are_kept_as_they_are() -> None:
    book = Workbook()
    sheet = book.active
    for n, value in enumerate(("学习党章", "#N/A", "#DIV/0!", 42, 0.5, None), start=1):
        put(sheet, n, 1, value)
    back = read_back(book).active
    assert [back.cell(row=n, column=1).value for n in range(1, 7)] == [
        "学习党章", "#N/A", "#DIV/0!", 42, 0.5, None,
    ]  # fmt: skip
    assert back["B1"].data_type != "e" and back["A2"].data_type == "s"  # not an error value
    assert not back["A1"].quotePrefix


def test_control_characters_are_dropped_and_a_cell_holds_what_excel_keeps() -> None:
    book = Workbook()
    put(book.active, 1, 1, "学习\x00材料\x07\x1b")
    put(book.active, 2, 1, "长" * (CELL_MAX + 10))
    back = read_back(book).active
    assert back["A1"].value == "学习材料"
    assert len(back["A2"].value) == CELL_MAX


def test_a_footer_escapes_ampersands_and_the_page_numbers_are_chinese() -> None:
    assert footer_text("A&B党支部") == "A&&B党支部"
    book = Workbook()
    print_setup(book.active, title_rows="3:4", footer="A&B党支部 &P")
    sheet = read_back(book).active
    assert sheet.oddFooter.left.text == "A&&B党支部 &&P"
    assert sheet.oddFooter.center.text == "第 &P 页，共 &N 页"


def test_sheet_names_excel_accepts_and_never_twice() -> None:
    assert sheet_title("支委会", []) == "支委会"
    assert sheet_title("a/b:c*d?[e]", []) == "a_b_c_d__e_"
    assert sheet_title("支委会", ["支委会"]) == "支委会(2)"
    assert len(sheet_title("会" * 40, [])) == 31


def test_a_wrapped_cell_is_counted_as_excel_draws_chinese() -> None:
    assert lines_needed("王芳", 10) == 1
    assert lines_needed("王" * 10, 10) == 2  # five a line: 19 digits wide in a column of 10
    assert lines_needed("王" * 11, 10) == 3
    assert lines_needed("第一行\n第二行", 30) == 2
    assert lines_needed("", 8) == 1


def test_long_minutes_are_cut_at_line_ends_and_nothing_is_lost() -> None:
    text = "\n".join(["一" * 250, "二" * 250, "三" * 1300])
    cut = pieces(text, 600)
    assert all(len(p) <= 600 for p in cut)
    assert "".join(cut).replace("\n", "") == text.replace("\n", "")  # a long line is split
    assert cut[0] == "一" * 250 + "\n" + "二" * 250
    assert pieces("", 600) == [""]
