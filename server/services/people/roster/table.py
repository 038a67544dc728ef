"""Opening a roll as raw rows: a CSV in whatever encoding Excel saved, or an XLSX's first sheet."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from server.services.people.roster.report import file_error

# The rows, and how many the file says it has (None when it does not know) for the progress bar.
Table = tuple[Iterable[Sequence[Any]], int | None]


@contextmanager
def open_table(path: Path) -> Iterator[Table]:
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise file_error(
            f"不支持的文件类型“{path.suffix or '无扩展名'}”，请使用 .csv 或 .xlsx"
            + ("（.xls 请另存为 .xlsx）" if suffix == ".xls" else ""),
            f"unsupported file type {path.suffix!r}; use .csv or .xlsx",
        )
    if not path.is_file():
        raise file_error(f"找不到文件 {path}", f"file not found: {path}")
    if suffix == ".csv":
        yield _csv_rows(path)
    else:
        with _xlsx_rows(path) as table:
            yield table


def _decode(raw: bytes) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text" export
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("gb18030")  # what Excel in China saves a CSV as
    except UnicodeDecodeError:
        raise file_error(
            "无法识别文件编码，请另存为 UTF-8 或 GB18030 编码的 CSV",
            "cannot decode the file; save it as UTF-8 or GB18030 CSV",
        ) from None


def _csv_rows(path: Path) -> Table:
    raw = path.read_bytes()
    if raw.startswith(b"PK\x03\x04"):
        raise file_error(
            "这是一个 Excel 文件，请把扩展名改为 .xlsx", "this is an XLSX file: rename it"
        )
    text = _decode(raw)
    if not text.strip():
        raise file_error("文件为空", "the file is empty")
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise file_error("CSV 格式错误", f"malformed CSV: {exc}") from None
    return rows, len(rows)


@contextmanager
def _xlsx_rows(path: Path) -> Iterator[Table]:
    from openpyxl import load_workbook  # import cost only for XLSX files

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise file_error("不是有效的 XLSX 文件", f"not a valid XLSX file ({exc})") from None
    try:
        sheet = workbook.worksheets[0]
        total = sheet.max_row
        # Some generators write a wrong <dimension>; read-only mode would stop there.
        sheet.reset_dimensions()
        yield sheet.iter_rows(min_row=1, values_only=True), total
    finally:
        workbook.close()
