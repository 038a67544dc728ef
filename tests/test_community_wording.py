"""How long the work took, as members type it at the end of `完成 N …`; a number inside the
words stays in the words."""

from __future__ import annotations

from decimal import Decimal

import pytest

from server.errors import ValidationFailed
from server.services.community.wording import take_hours, take_people


@pytest.mark.parametrize(
    ("typed", "hours", "note"),
    [
        ("已换好楼道灯 1.5小时", "1.5", "已换好楼道灯"),
        ("已换好楼道灯1.5小时", "1.5", "已换好楼道灯"),
        ("换好了灯泡 １．５小时", "1.5", "换好了灯泡"),
        ("冰箱搬下去了 一个半小时", "1.5", "冰箱搬下去了"),
        ("和刘建国一起搬的 40分钟", "0.7", "和刘建国一起搬的"),
        ("教跳舞 两个小时。", "2.0", "教跳舞"),
        ("陪老人看病，2小时", "2.0", "陪老人看病"),
        ("打扫楼道 半个钟头", "0.5", "打扫楼道"),
        ("辅导作业 90分钟", "1.5", "辅导作业"),
        ("修水管 3小时左右", "3.0", "修水管"),
        ("搬家 1小时30分", "1.5", "搬家"),
        ("值守 十二小时", "12.0", "值守"),
    ],
)
def test_the_hours_at_the_end_are_read_and_the_words_kept_as_typed(
    typed: str, hours: str, note: str
) -> None:
    assert take_hours(typed) == (Decimal(hours), note)


@pytest.mark.parametrize("typed", ["修好24小时热水器", "为8名独居老人理发", "已处理"])
def test_a_number_inside_the_words_is_no_length_of_time(typed: str) -> None:
    assert take_hours(typed) == (None, typed)


@pytest.mark.parametrize("typed", ["换好了灯泡 1。5小时", "已修好 一点五小时", "已修好 1点5小时"])
def test_a_slipped_or_spelled_decimal_point_is_asked_again_not_read_as_five_hours(
    typed: str,
) -> None:
    with pytest.raises(ValidationFailed) as slipped:
        take_hours(typed)
    assert slipped.value.field == "hours"


def test_a_comma_after_a_number_word_is_no_decimal_point() -> None:
    assert take_hours("修了三处，2小时") == (Decimal("2.0"), "修了三处")


def test_people_only_at_the_end() -> None:
    assert take_people("清理楼道 5人。") == (5, "清理楼道")
    assert take_people("为8名独居老人理发") == (None, "为8名独居老人理发")
