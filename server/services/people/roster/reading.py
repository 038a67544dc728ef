"""Reading a whole roll: the header found, every row parsed, every bad cell collected.

Nothing here touches the database, and `import_members` runs it in a thread: parsing 10,000
rows is CPU work.  XLSX files are read from their first worksheet; a title row above the header is
tolerated, and line numbers are always the sheet's own row numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from server.clock import Clock
from server.services.people.roster.columns import find_header
from server.services.people.roster.fields import blank
from server.services.people.roster.progress import progress_bar
from server.services.people.roster.records import MemberRecord, parse_row
from server.services.people.roster.report import ROW_FIELD, RowError
from server.services.people.roster.table import open_table


@dataclass
class ParsedFile:
    records: list[MemberRecord]
    errors: list[RowError]
    rows: int
    columns: frozenset[str]  # keys of the columns present
    labels: dict[str, str]  # key → header as written in the file, for error messages
    ignored_columns: list[str]


def read_records(path: Path, *, today: date | None = None, progress: bool = False) -> ParsedFile:
    """Parse and validate the whole file; no database access.  File-level problems raise."""
    today = today or Clock().today()
    with open_table(path) as (table, total):
        numbered = iter(enumerate(table, start=1))
        header = find_header(numbered)
        width, mapping, labels = header.width, header.columns, header.labels()
        records: list[MemberRecord] = []
        errors: list[RowError] = []
        first_line_of_phone: dict[str, int] = {}
        rows = 0
        total = (total - header.line) if total else None
        with progress_bar(total, "校验 validating", enabled=progress) as bar:
            for line, cells in numbered:
                bar.update(1)
                if all(blank(v) for v in cells):
                    continue  # blank rows are spacing, not members
                rows += 1
                if any(not blank(v) for v in cells[width:]):
                    errors.append(
                        RowError(
                            line,
                            ROW_FIELD,
                            "该行的内容超出了表头的列，可能有未加引号的逗号 / "
                            "cells beyond the last header column (an unquoted comma?)",
                        )
                    )
                values = {
                    column.key: cells[index] if index < len(cells) else None
                    for index, (column, _) in mapping.items()
                }
                record = parse_row(line, values, labels, today, errors, first_line_of_phone)
                if record is not None:
                    records.append(record)
    return ParsedFile(
        records=records,
        errors=errors,
        rows=rows,
        columns=header.column_keys(),
        labels=labels,
        ignored_columns=header.ignored,
    )
