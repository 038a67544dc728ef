"""The time a branch secretary types when scheduling: `明天下午3点 研究发展党员 地点 …`."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from server.errors import ValidationFailed
from server.services.meetings.when import UnparseableTime, parse_when

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


# Wednesday 25 November 2026, ten in the morning: the secretary sits down to plan.
NOW = at(2026, 11, 25, 10)
TODAY, TOMORROW = (2026, 11, 25), (2026, 11, 26)


def test_now_is_a_wednesday_morning() -> None:
    assert NOW.strftime("%A %H:%M") == "Wednesday 10:00"


GOOD = [
    # Dates in figures, with and without a year.
    ("2026-12-01 15:00", (2026, 12, 1, 15, 0), ""),
    ("2026/12/01 15:00 研究发展党员", (2026, 12, 1, 15, 0), "研究发展党员"),
    ("2026.12.1 15:00", (2026, 12, 1, 15, 0), ""),
    ("12-01 15:00", (2026, 12, 1, 15, 0), ""),
    ("12/1 15:00", (2026, 12, 1, 15, 0), ""),
    ("12月1日15:00", (2026, 12, 1, 15, 0), ""),
    ("12月1号 下午3点", (2026, 12, 1, 15, 0), ""),
    ("2026年12月1日下午3点", (2026, 12, 1, 15, 0), ""),
    ("十二月一日下午三点", (2026, 12, 1, 15, 0), ""),
    # A day of the month alone: this month, or next month once it has gone.
    ("28日 15:00", (2026, 11, 28, 15, 0), ""),
    ("1号下午3点", (2026, 12, 1, 15, 0), ""),
    ("25号下午3点", (*TODAY, 15, 0), ""),
    # Relative days.
    ("今天下午3点", (*TODAY, 15, 0), ""),
    ("今天上午9点", (*TODAY, 9, 0), ""),  # already past: returned as typed, the caller refuses
    ("明天下午3点研究发展党员", (*TOMORROW, 15, 0), "研究发展党员"),
    ("后天上午9点", (2026, 11, 27, 9, 0), ""),
    ("大后天 9:30", (2026, 11, 28, 9, 30), ""),
    ("今晚7点", (*TODAY, 19, 0), ""),
    # The past, typed as such: returned for the caller to say it has passed (not "没看懂").
    ("昨天下午3点", (2026, 11, 24, 15, 0), ""),
    ("昨晚8点 复盘", (2026, 11, 24, 20, 0), "复盘"),
    ("前天上午9点", (2026, 11, 23, 9, 0), ""),
    ("明早8点", (*TOMORROW, 8, 0), ""),
    # Weekdays: weeks run Monday to Sunday.
    ("周五下午3点", (2026, 11, 27, 15, 0), ""),
    ("星期三下午3点", (*TODAY, 15, 0), ""),  # today, and 15:00 is still ahead
    ("礼拜一 9点", (2026, 11, 30, 9, 0), ""),
    ("周日下午3点", (2026, 11, 29, 15, 0), ""),
    ("星期天上午10点", (2026, 11, 29, 10, 0), ""),
    ("下周三下午3点", (2026, 12, 2, 15, 0), ""),
    ("下星期一 9点", (2026, 11, 30, 9, 0), ""),
    ("下个礼拜五 9点", (2026, 12, 4, 9, 0), ""),
    ("本周五下午3点", (2026, 11, 27, 15, 0), ""),
    ("这周一上午9点", (2026, 11, 23, 9, 0), ""),  # this week's Monday, already past
    # Times alone: today while still ahead, else tomorrow.
    ("15:00", (*TODAY, 15, 0), ""),
    ("15：00", (*TODAY, 15, 0), ""),
    ("15点", (*TODAY, 15, 0), ""),
    ("15点半", (*TODAY, 15, 30), ""),
    ("15点30", (*TODAY, 15, 30), ""),
    ("15点30分", (*TODAY, 15, 30), ""),
    ("3点", (*TODAY, 15, 0), ""),  # nobody meets at 3 a.m.
    ("3点钟 学习党章", (*TODAY, 15, 0), "学习党章"),
    ("7点", (*TOMORROW, 7, 0), ""),  # 7 stays morning, and today's has gone
    ("下午三点", (*TODAY, 15, 0), ""),
    ("晚上7点半", (*TODAY, 19, 30), ""),
    ("上午9点", (*TOMORROW, 9, 0), ""),
    ("早上8点", (*TOMORROW, 8, 0), ""),
    ("中午12点", (*TODAY, 12, 0), ""),
    ("中午1点", (*TODAY, 13, 0), ""),
    ("下午3:30", (*TODAY, 15, 30), ""),
    ("两点", (*TODAY, 14, 0), ""),
    ("三点整", (*TODAY, 15, 0), ""),
    ("十一点", (*TODAY, 11, 0), ""),
    ("三点二十分", (*TODAY, 15, 20), ""),
    # Full-width input, as some phone keyboards send it.
    ("１２月１日１５：００", (2026, 12, 1, 15, 0), ""),
    ("１５点半，地点：党群服务中心", (*TODAY, 15, 30), "地点：党群服务中心"),
    # The rest: whatever follows, as typed.
    ("明天下午3点，研究发展党员", (*TOMORROW, 15, 0), "研究发展党员"),
    (
        "  明天 下午 3点   研究发展党员 地点 党群服务中心  ",
        (*TOMORROW, 15, 0),
        "研究发展党员 地点 党群服务中心",
    ),
    ("下午3点三会一课", (*TODAY, 15, 0), "三会一课"),  # 三 is not "three minutes past"
]


@pytest.mark.parametrize(("text", "expected", "rest"), GOOD, ids=[row[0] for row in GOOD])
def test_understands(text: str, expected: tuple[int, ...], rest: str) -> None:
    parsed = parse_when(text, NOW)
    assert parsed.start == at(*expected)
    assert parsed.start.tzinfo is SHANGHAI and parsed.start.second == 0
    assert parsed.rest == rest


@pytest.mark.parametrize(
    ("text", "explicit"),
    [("15点半", False), ("下午3点 学习", False), ("今天下午3点", True), ("周三15点", True)],
)
def test_says_whether_the_day_was_typed(text: str, explicit: bool) -> None:
    assert parse_when(text, NOW).explicit_date is explicit


def test_after_half_past_three_15点半_means_tomorrow() -> None:
    assert parse_when("15点半", at(2026, 11, 25, 15, 45)).start == at(2026, 11, 26, 15, 30)
    # Exactly now is not "still ahead" either.
    assert parse_when("15点半", at(2026, 11, 25, 15, 30)).start == at(2026, 11, 26, 15, 30)


def test_on_the_last_evening_of_november_明天_is_the_first_of_december() -> None:
    parsed = parse_when("明天上午9点 支委会", at(2026, 11, 30, 20))
    assert parsed.start == at(2026, 12, 1, 9)
    assert parsed.rest == "支委会"


def test_just_after_christmas_1月5日_is_next_january() -> None:
    assert parse_when("1月5日下午3点", at(2026, 12, 28, 10)).start == at(2027, 1, 5, 15)


def test_a_date_from_last_week_stays_this_year_for_the_caller_to_refuse() -> None:
    # Seven days back is a slip of the finger; eight days back is next year's date.
    assert parse_when("11月18日下午3点", NOW).start == at(2026, 11, 18, 15)
    assert parse_when("11月17日下午3点", NOW).start == at(2027, 11, 17, 15)


def test_29_february_typed_in_december_is_next_years_leap_day() -> None:
    assert parse_when("2月29日下午3点", at(2027, 12, 28, 10)).start == at(2028, 2, 29, 15)


def test_1号_typed_in_late_december_is_new_years_day() -> None:
    assert parse_when("1号上午9点", at(2026, 12, 20, 10)).start == at(2027, 1, 1, 9)


def test_周三_typed_on_wednesday_is_today_only_while_the_time_is_ahead() -> None:
    morning, afternoon = at(2026, 11, 25, 10), at(2026, 11, 25, 16)
    assert parse_when("周三下午3点", morning).start == at(2026, 11, 25, 15)
    assert parse_when("周三下午3点", afternoon).start == at(2026, 12, 2, 15)
    # 本周三 means this week's, even once it has gone.
    assert parse_when("本周三下午3点", afternoon).start == at(2026, 11, 25, 15)


def test_on_sunday_下周三_is_in_the_week_starting_tomorrow() -> None:
    sunday = at(2026, 11, 29, 10)
    assert sunday.strftime("%A") == "Sunday"
    assert parse_when("下周三下午3点", sunday).start == at(2026, 12, 2, 15)
    assert parse_when("周三下午3点", sunday).start == at(2026, 12, 2, 15)
    assert parse_when("本周三下午3点", sunday).start == at(2026, 11, 25, 15)


def test_seconds_are_dropped_and_the_zone_comes_from_now() -> None:
    parsed = parse_when("下午3点", at(2026, 11, 25, 10, 7).replace(second=42))
    assert parsed.start == at(2026, 11, 25, 15)


BAD = [
    ("明天", "请写上几点开会"),
    ("12月1日 研究发展党员", "请写上几点开会"),
    ("下周三", "请写上几点开会"),
    ("明天下午", "请写上几点开会"),
    ("2月30日下午3点", "2027年2月没有30日"),  # inferred: February 2026 is long gone
    ("2026年2月29日下午3点", "2026年2月没有29日"),
    ("31号下午3点", "2026年11月没有31日"),
    ("1月0日 15:00", "1月没有0日"),
    ("13月1日 15:00", "没有13月"),
    ("2026-13-01 15:00", "没有13月"),
    ("25点", "一天没有25点"),
    ("24:00", "一天没有24点"),
    ("15:75", "一小时没有75分"),
    ("上午15点", "说不清"),
    ("晚上12点", "说不清"),
    ("中午5点", "中午没有5点"),
    ("十十点", "没看懂数字「十十」"),
    ("下下下周三 15:00", "没看懂时间「下下下周三」"),
    ("研究发展党员 明天下午3点", "没看懂时间「研究发展党员」"),
    ("三会一课", "没看懂时间「三会一课」"),
    ("9999-12-31 23:59", "9999年不在可安排的范围内"),
    ("9999年12月31日下午3点", "9999年不在可安排的范围内"),
    ("0001-01-01 15:00", "1年不在可安排的范围内"),
    ("", "请写上开会时间"),
    ("   ", "请写上开会时间"),
]


@pytest.mark.parametrize(("text", "phrase"), BAD, ids=[row[0] or "empty" for row in BAD])
def test_refuses_with_a_chinese_hint(text: str, phrase: str) -> None:
    with pytest.raises(UnparseableTime) as caught:
        parse_when(text, NOW)
    assert phrase in str(caught.value)
    assert caught.value.user_message == str(caught.value)


def test_the_error_belongs_to_the_projects_hierarchy_and_is_a_value_error() -> None:
    error = UnparseableTime("x")
    assert isinstance(error, ValidationFailed) and isinstance(error, ValueError)
    assert error.field == "time"


def test_a_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_when("15:00", datetime(2026, 11, 25, 10))
