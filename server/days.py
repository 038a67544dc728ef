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
            f"日期应在 {_chinese(FIRST_DAY)}到 {_chinese(LAST_DAY)}之间。",
            field=field,
        )
    return day


def _chinese(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"
