"""党费 by the 2008 rule: each bracket's edge, the flat amounts, incomes as members type them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from server.errors import ValidationFailed
from server.services.people.dues import (
    AUTHORITATIVE,
    SOURCE,
    Category,
    monthly_dues,
    parse_category,
    parse_income,
    split_category,
)

ON_THE_JOB = [
    # income, rate, dues: the rate applies to the whole income, not bracket by bracket
    ("3000", "0.005", "15.00"),
    ("3000.01", "0.01", "30.00"),
    ("5000", "0.01", "50.00"),
    ("5000.01", "0.015", "75.00"),
    ("10000", "0.015", "150.00"),
    ("10000.01", "0.02", "200.00"),
    ("6500", "0.015", "97.50"),
    ("1", "0.005", "0.01"),
]


@pytest.mark.parametrize(("income", "rate", "amount"), ON_THE_JOB)
def test_a_working_member_pays_the_rate_of_their_bracket_on_the_whole_income(
    income: str, rate: str, amount: str
) -> None:
    result = monthly_dues(Category.ON_THE_JOB, Decimal(income))
    assert result.rate == Decimal(rate)
    assert result.amount == result.low == result.high == Decimal(amount)
    assert result.base == Decimal(income)
    assert result.source == SOURCE and "2008" in SOURCE


@pytest.mark.parametrize(
    ("income", "rate", "amount"),
    [("5000", "0.005", "25.00"), ("5000.01", "0.01", "50.00"), ("12000", "0.01", "120.00")],
)
def test_a_retired_member_pays_half_a_percent_up_to_5000_and_one_percent_above(
    income: str, rate: str, amount: str
) -> None:
    result = monthly_dues(Category.RETIRED, Decimal(income))
    assert (result.rate, result.amount) == (Decimal(rate), Decimal(amount))


def test_each_bracket_is_named_in_the_rules_own_words() -> None:
    assert "3000元以下（含3000元）" in monthly_dues(Category.ON_THE_JOB, Decimal(3000)).bracket
    assert "3000元以上至5000元" in monthly_dues(Category.ON_THE_JOB, Decimal(4000)).bracket
    assert "10000元以上" in monthly_dues(Category.ON_THE_JOB, Decimal(20000)).bracket
    assert "离退休费" in monthly_dues(Category.RETIRED, Decimal(4800)).bracket


def test_half_a_fen_rounds_up_not_to_even() -> None:
    # 1001 × 0.5% = 5.005: half-up gives 5.01 where banker's rounding would give 5.00.
    assert monthly_dues(Category.ON_THE_JOB, Decimal(1001)).amount == Decimal("5.01")


@pytest.mark.parametrize("category", [Category.STUDENT, Category.UNEMPLOYED, Category.RELIEF])
def test_students_the_unemployed_and_those_on_relief_pay_twenty_fen_whatever_the_income(
    category: Category,
) -> None:
    result = monthly_dues(category)
    assert result.amount == Decimal("0.20") and result.rate is None and result.base is None
    assert monthly_dues(category, Decimal(99999)).amount == Decimal("0.20")  # income ignored
    assert "每月交纳党费0.2元" in result.bracket


def test_a_farmer_pays_what_the_branch_sets_between_twenty_fen_and_one_yuan() -> None:
    result = monthly_dues(Category.FARMER)
    assert result.amount is None
    assert (result.low, result.high) == (Decimal("0.20"), Decimal("1.00"))
    assert "党支部" in result.bracket
    assert AUTHORITATIVE == "以党支部核定的数额为准"


@pytest.mark.parametrize(
    ("typed", "income"),
    [
        ("6000", "6000"),
        ("6,000", "6000"),
        ("６０００", "6000"),
        ("6000元", "6000"),
        ("6000 元", "6000"),
        ("6000块", "6000"),
        ("6000块钱", "6000"),
        ("¥6500", "6500"),
        ("￥6,500.50", "6500.50"),
        ("8千", "8000"),
        ("8k", "8000"),
        ("1.2万", "12000"),
        ("1.2w元", "12000"),
        ("6500左右", "6500"),
        ("12,345.67", "12345.67"),
    ],
)
def test_incomes_are_read_the_way_members_type_them(typed: str, income: str) -> None:
    assert parse_income(typed) == Decimal(income)


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("-5000", "应大于 0"),
        ("0", "应大于 0"),
        ("0元", "应大于 0"),
        ("1000000000000", "合理范围"),
        ("10000000.01", "合理范围"),
        ("9" * 5000, "合理范围"),
        ("1e12", "没看懂"),
        ("NaN", "没看懂"),
        ("inf", "没看懂"),
        ("六千", "没看懂"),  # Chinese numerals are not read: a re-ask shows the digits form
        ("6,5", "没看懂"),
        ("一个月六七千吧", "没看懂"),
        ("6500.123", "精确到分"),
        ("", "没看懂"),
        ("'; DROP TABLE member; --", "没看懂"),
    ],
)
def test_what_is_not_an_income_is_refused_without_repeating_it(typed: str, says: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse_income(typed)
    assert says in refused.value.user_message
    assert refused.value.field == "income"
    if len(typed.strip("-")) > 1:  # "0" is in any message that says "大于 0"
        assert typed.strip("-") not in refused.value.user_message


def test_an_income_is_needed_where_the_rule_depends_on_it() -> None:
    with pytest.raises(ValidationFailed) as refused:
        monthly_dues(Category.ON_THE_JOB, None)
    assert refused.value.field == "income"
    with pytest.raises(ValidationFailed):
        monthly_dues(Category.RETIRED, Decimal("NaN"))
    with pytest.raises(ValidationFailed):
        monthly_dues(Category.RETIRED, Decimal("-1"))


def test_the_situation_by_its_menu_number_or_in_words() -> None:
    assert [parse_category(str(n)) for n in range(1, 7)] == list(Category)
    assert parse_category("退休") is Category.RETIRED
    assert parse_category("６") is Category.RELIEF
    assert parse_category("低保") is Category.RELIEF
    assert split_category("在职 6500") == (Category.ON_THE_JOB, "6500")
    assert split_category("退休4800元") == (Category.RETIRED, "4800元")
    assert split_category("学生") == (Category.STUDENT, "")
    for hostile in ("0", "7", "99999999999999999999", "老板", ""):
        with pytest.raises(ValidationFailed) as refused:
            split_category(hostile)
        assert refused.value.field == "category"
