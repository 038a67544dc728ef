"""Dates as rolls write them: typed text in several layouts, date cells, or Excel day numbers."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from server.services.people.roster.fields import BadCell, norm

_TIME = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_DATE_RES = (
    re.compile(rf"(\d{{4}})([-/.])(\d{{1,2}})\2(\d{{1,2}}){_TIME}"),
    re.compile(rf"(\d{{4}})(年)(\d{{1,2}})月(\d{{1,2}})日?{_TIME}"),
)
DATE_FORMATS = "YYYY-MM-DD, YYYY/M/D, YYYY.MM.DD, YYYY年M月D日"


def parse_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        # An XLSX date cell that lost its date format arrives as Excel's day number.  Below
        # 2200 (1906) it is more likely a bare year such as 1985, which must not become a date.
        from openpyxl.utils.datetime import from_excel

        if 2200 <= value < 73051:  # 1906-01-08 … 2099-12-31
            moment: datetime = from_excel(value)  # openpyxl leaves it untyped: a datetime here
            return moment.date()
    text = norm(value)
    if not text:
        return None
    for pattern in _DATE_RES:
        match = pattern.fullmatch(text)
        if match:
            try:
                return date(int(match[1]), int(match[3]), int(match[4]))
            except ValueError:
                raise BadCell(f"“{text}”不是有效日期 / {text!r} is not a real date") from None
    raise BadCell(
        f"无法识别日期“{text}”，请用 {DATE_FORMATS} / unrecognised date, use {DATE_FORMATS}"
    )


def add_years(day: date, years: int) -> date:
    """The same day `years` later; 29 February becomes 1 March (the later, safer date)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 3, 1)
