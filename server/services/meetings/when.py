"""The meeting time a secretary types in chat: `明天下午3点 研究发展党员` → a datetime and the rest.

Pure: no I/O and no clock of its own — `now` says what "today", "this week" and "still ahead" mean.
Deciding whether the result is in the past is the caller's job; this module returns what was typed.

Rules for the ambiguous cases (the tests tell each as a story):
- A time with no date is today if it is still ahead of `now`, else tomorrow (`explicit_date=False`).
- A bare weekday (`周三`) is the next such day after today; today only if the time is still ahead.
  `本周三`/`这周三` is that day of this Monday-to-Sunday week, `下周三` of the next one.
- A bare hour 1–6 with no 上午/下午 means the afternoon: nobody calls a meeting at 3 a.m.
  This holds for `3:30` too. 中午1点 is 13:00. 下午/晚上12点 is rejected as unclear.
- Month and day without a year: this year, unless that is more than 7 days past, then next year
  (`1月5日` typed in late December is next January; last week's date is kept for the caller).
- `1号`/`1日` alone: this month, or next month if that day has gone (today counts as this month).
"""

from __future__ import annotations

import re
import string
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from server.days import FIRST_DAY, LAST_DAY
from server.errors import ValidationFailed

EXAMPLE = "请写成 2026-12-01 15:00 或 12月1日15:00"


class UnparseableTime(ValidationFailed, ValueError):
    """The start of the message is not a time we understand; the message says what to type."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="time")


@dataclass(frozen=True)
class Parsed:
    start: datetime  # aware, in now's zone, seconds 0
    rest: str  # what follows the time: the topic, 地点 …
    explicit_date: bool  # False when only a time was typed, so the caller can echo the day chosen


CN = "[零〇一二两三四五六七八九十]"
_NUM = rf"(?:\d{{1,2}}|{CN}{{1,3}})"
_ISO = re.compile(r"(?:(?P<y>\d{4})[-/.])?(?P<m>\d{1,2})[-/.](?P<d>\d{1,2})(?!\d)")
_MONTH_DAY = re.compile(rf"(?:(?P<y>\d{{4}})年)?(?P<m>{_NUM})月(?P<d>{_NUM})[日号]")
_DAY = re.compile(rf"(?P<d>{_NUM})[日号]")
# 今晚/明早 carry a part of the day, so 今晚7点 is 19:00 without saying 晚上.
# 昨天 and 前天 too: a time that has passed is the caller's to refuse ("已经过去了"), not an
# expression we fail to understand.
_RELATIVE: dict[str, tuple[int, str | None]] = {
    "前天": (-2, None),
    "昨天": (-1, None),
    "昨日": (-1, None),
    "昨晚": (-1, "晚上"),
    "今天": (0, None),
    "今日": (0, None),
    "今晚": (0, "晚上"),
    "明天": (1, None),
    "明日": (1, None),
    "明早": (1, "早上"),
    "明晚": (1, "晚上"),
    "后天": (2, None),
    "大后天": (3, None),
}
_RELATIVE_RE = re.compile("|".join(sorted(_RELATIVE, key=len, reverse=True)))
_WEEKDAY = re.compile(r"(?P<which>本|这个?|下个?)?(?:周|星期|礼拜)(?P<wd>[一二三四五六日天])")
_WEEKDAYS = "一二三四五六"  # Monday = 0; 日 and 天 are Sunday
# Chinese minutes need 分, or 下午3点三会一课 would read 三 as three minutes past.
_TIME = re.compile(
    rf"(?P<period>上午|早上|早晨|中午|下午|傍晚|晚上)?\s*(?P<hour>{_NUM})"
    rf"(?::(?P<colon_min>\d{{2}})|点钟?(?:(?P<half>半)|整|(?P<min>\d{{1,2}})分?|(?P<cn_min>{CN}{{1,3}})分)?)"
)
# Allowed between the date and the time, and trimmed off the front of `rest`.
_SEPARATORS = string.whitespace + "\u3000,，、;；:："
_AM, _PM = {"上午", "早上", "早晨"}, {"下午", "傍晚", "晚上"}


def parse_when(text: str, now: datetime) -> Parsed:
    """Parse a time expression at the start of `text` (leading spaces allowed).

    `now` must be aware and in the organisation's zone (`Clock.local_now()`, not the UTC
    `Clock.now()`): its date is "today" and its zone is the result's.
    """
    if now.tzinfo is None:
        raise ValueError("parse_when needs an aware `now`")
    norm, offsets = _normalise(text)
    pos = len(norm) - len(norm.lstrip())
    day, roll, implied, explicit, pos = _match_date(norm, pos, now.date())
    pos = len(norm) - len(norm[pos:].lstrip(_SEPARATORS))
    found = _TIME.match(norm, pos)
    if found is None:
        if explicit:
            raise UnparseableTime("请写上几点开会，例如 明天下午3点")
        words = norm[pos:].split()
        if not words:
            raise UnparseableTime(f"请写上开会时间，{EXAMPLE}")
        raise UnparseableTime(f"没看懂时间「{words[0][:10]}」，{EXAMPLE}")
    clock = _clock(found, implied)
    start = datetime.combine(day, clock, tzinfo=now.tzinfo)
    if roll and start <= now:  # only for a bare time or a bare weekday: the next one ahead
        start = datetime.combine(day + timedelta(days=roll), clock, tzinfo=now.tzinfo)
    tail = text[offsets[found.end()] :]
    rest = tail.lstrip(_SEPARATORS).strip()
    return Parsed(start=start, rest=rest, explicit_date=explicit)


def _normalise(text: str) -> tuple[str, list[int]]:
    """NFKC (full-width digits, colon, space) one character at a time, remembering where each
    normalised character came from so `rest` is cut from the text exactly as typed."""
    norm: list[str] = []
    offsets: list[int] = []
    for i, char in enumerate(text):
        piece = unicodedata.normalize("NFKC", char)
        norm.append(piece)
        offsets.extend([i] * len(piece))
    offsets.append(len(text))
    return "".join(norm), offsets


def _match_date(norm: str, pos: int, today: date) -> tuple[date, int, str | None, bool, int]:
    """(day, days to roll forward if the time has passed, implied period, explicit?, end)."""
    if m := _ISO.match(norm, pos) or _MONTH_DAY.match(norm, pos):
        month, day = _number(m["m"]), _number(m["d"])
        year = int(m["y"]) if m["y"] else _infer_year(month, day, today)
        return _make_date(year, month, day), 0, None, True, m.end()
    if m := _DAY.match(norm, pos):
        day = _number(m["d"])
        year, month = today.year, today.month
        if day < today.day:  # gone this month: the caller means next month
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return _make_date(year, month, day), 0, None, True, m.end()
    if m := _RELATIVE_RE.match(norm, pos):
        days, period = _RELATIVE[m.group()]
        return today + timedelta(days=days), 0, period, True, m.end()
    if m := _WEEKDAY.match(norm, pos):
        weekday = _WEEKDAYS.find(m["wd"]) % 7  # find gives -1 for 日/天, which is 6
        monday = today - timedelta(days=today.weekday())
        if m["which"] is None:  # the next one from today on; rolled a week if its time has passed
            return today + timedelta(days=(weekday - today.weekday()) % 7), 7, None, True, m.end()
        week = 7 if m["which"].startswith("下") else 0
        return monday + timedelta(days=week + weekday), 0, None, True, m.end()
    return today, 1, None, False, pos


def _infer_year(month: int, day: int, today: date) -> int:
    # Compare (month, day) rather than build a date: 2月29日 must not fail in a non-leap year.
    cutoff = today - timedelta(days=7)
    if cutoff.year == today.year and (month, day) < (cutoff.month, cutoff.day):
        return today.year + 1
    return today.year


def _make_date(year: int, month: int, day: int) -> date:
    if not 1 <= month <= 12:
        raise UnparseableTime(f"日期不对：没有{month}月，{EXAMPLE}")
    try:
        made = date(year, month, day)
    except ValueError:
        raise UnparseableTime(f"日期不对：{year}年{month}月没有{day}日，{EXAMPLE}") from None
    if not FIRST_DAY <= made <= LAST_DAY:
        # Year 9999 overflows the meeting's end and reminders (an apology, not an answer).
        raise UnparseableTime(f"日期不对：{year}年不在可安排的范围内，{EXAMPLE}")
    return made


def _clock(found: re.Match[str], implied: str | None) -> time:
    period = found["period"] or implied
    hour = _number(found["hour"])
    minute = 30 if found["half"] else _number(found["colon_min"] or found["min"] or found["cn_min"])
    if hour > 23:
        raise UnparseableTime(f"时间不对：一天没有{hour}点，{EXAMPLE}")
    if minute > 59:
        raise UnparseableTime(f"时间不对：一小时没有{minute}分，{EXAMPLE}")
    if (period in _AM and hour > 12) or (period in _PM and hour in (0, 12)):
        raise UnparseableTime(f"时间不对：「{period}{hour}点」说不清，{EXAMPLE}")
    if period == "中午" and hour not in (1, 2, 11, 12, 13, 14):
        raise UnparseableTime(f"时间不对：中午没有{hour}点，{EXAMPLE}")
    if (period in _PM and hour < 12) or (period == "中午" and hour < 3):
        hour += 12
    elif period is None and 1 <= hour <= 6:  # no meetings at 3 a.m.: 3点 is 15:00
        hour += 12
    return time(hour, minute)


def _number(digits: str | None) -> int:
    """Arabic or Chinese 0–99: 3, 十, 十一, 二十, 三十一, 两, 零五."""
    if not digits:
        return 0
    if digits.isdigit():
        return int(digits)
    values = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}
    tens, _, units = digits.lstrip("零〇").rpartition("十")
    if "十" in units or len(tens) > 1 or len(units) > 1 or (tens and tens not in values):
        raise UnparseableTime(f"没看懂数字「{digits}」，{EXAMPLE}")
    value = values.get(units, 0)
    if "十" in digits:
        value += 10 * (values[tens] if tens else 1)
    return value
