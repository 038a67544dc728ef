"""The dates anyone may ask about.

Python's dates run from year 1 to 9999, but a day's span in a time zone, a week's Monday or a
period's "next day" overflow at either end (a 500).  Nothing this service counts lies outside
the Party's own history or this century, so a date outside that is refused as input, naming
the field, before any arithmetic.
"""

from __future__ import annotations

from datetime import date

from server.errors import ValidationFailed

FIRST_DAY = date(1921, 7, 1)
LAST_DAY = date(2099, 12, 31)


def check_day(day: date, field: str) -> date:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValidationFailed(
            f"日期应在 {chinese(FIRST_DAY)}到 {chinese(LAST_DAY)}之间。",
            field=field,
        )
    return day


def chinese(day: date) -> str:
    """2026年12月7日, as every reply writes a day (no leading zeros)."""
    return f"{day.year}年{day.month}月{day.day}日"


def day_text(day: date | None, today: date, none: str = "无") -> str:
    """12月7日 within this year, 2025年12月7日 before (or after) it; `none` for no day."""
    if day is None:
        return none
    return f"{day.month}月{day.day}日" if day.year == today.year else chinese(day)
