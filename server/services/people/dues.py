"""党费: the monthly dues by the 2008 rule, and reading an income the way members write it.

Pure arithmetic: nothing here stores, logs or echoes the income.  The chat and the API both
call `monthly_dues`; the branch's 核定 is what the member actually pays.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum

from server.errors import ValidationFailed

SOURCE = "中共中央组织部《关于中国共产党党费收缴、使用和管理的规定》（2008年）"
AUTHORITATIVE = "以党支部核定的数额为准"
HARDSHIP = "交纳党费确有困难的，经党支部研究并报上一级党委批准，可以少交或免交"
MORE_WELCOME = "自愿多交党费不限"

CENT = Decimal("0.01")
# A monthly income above ten million 元 is a typing slip (or a test of the calculator).
MAX_INCOME = Decimal("10000000")
UNREADABLE = "没看懂这个收入，请只发数字（元），例如 6500、6500元、8千 或 1.2万。"


class Category(StrEnum):
    ON_THE_JOB = "在职"
    RETIRED = "离退休"
    FARMER = "农民"
    STUDENT = "学生"
    UNEMPLOYED = "下岗失业"
    RELIEF = "低保或抚恤救济"


# Who pays by income, and what that income is called.
INCOME_NAMED = {
    Category.ON_THE_JOB: "每月工资收入（税后），即工资收入中相对固定的、经常性的部分",
    Category.RETIRED: "每月离退休费总额或养老金总额",
}
FLAT = Decimal("0.20")
FARMER_RANGE = (Decimal("0.20"), Decimal("1.00"))


@dataclass(frozen=True)
class Bracket:
    up_to: Decimal | None  # inclusive; None: no upper bound
    rate: Decimal
    words: str  # the rule's own words for this bracket


_ON_THE_JOB = (
    Bracket(
        Decimal(3000),
        Decimal("0.005"),
        "每月工资收入（税后）在3000元以下（含3000元）者，交纳月工资收入的0.5%",
    ),
    Bracket(Decimal(5000), Decimal("0.01"), "3000元以上至5000元（含5000元）者，交纳月工资收入的1%"),
    Bracket(
        Decimal(10000), Decimal("0.015"), "5000元以上至10000元（含10000元）者，交纳月工资收入的1.5%"
    ),
    Bracket(None, Decimal("0.02"), "10000元以上者，交纳月工资收入的2%"),
)
_RETIRED = (
    Bracket(
        Decimal(5000),
        Decimal("0.005"),
        "离退休费总额或养老金总额在5000元以下（含5000元）的，按0.5%交纳",
    ),
    Bracket(None, Decimal("0.01"), "5000元以上的，按1%交纳"),
)
_FLAT_WORDS = (
    "学生党员、下岗失业的党员、依靠抚恤或救济生活的党员、领取当地最低生活保障金的党员，"
    "每月交纳党费0.2元"
)
_FARMER_WORDS = "农民党员每月交纳党费0.2元至1元，具体数额由党支部根据党员的收入情况确定"


@dataclass(frozen=True)
class DuesResult:
    category: Category
    amount: Decimal | None  # 元 a month, to the 分; None for a range
    low: Decimal  # the range, equal to amount when there is one
    high: Decimal
    rate: Decimal | None  # 0.015 for 1.5%; None for a flat amount
    base: Decimal | None  # the income the rate applies to (the whole of it, not progressive)
    bracket: str
    source: str = SOURCE


def percent(rate: Decimal) -> str:
    """0.015 → '1.5%'."""
    return f"{(rate * 100).normalize():f}%"


def monthly_dues(category: Category, income: Decimal | None = None) -> DuesResult:
    """The month's dues by the rule; `income` is needed for 在职 and 离退休 only."""
    if category in INCOME_NAMED:
        base = check_income(income)
        brackets = _ON_THE_JOB if category is Category.ON_THE_JOB else _RETIRED
        bracket = next(b for b in brackets if b.up_to is None or base <= b.up_to)
        amount = (base * bracket.rate).quantize(CENT, rounding=ROUND_HALF_UP)
        return DuesResult(category, amount, amount, amount, bracket.rate, base, bracket.words)
    if category is Category.FARMER:
        low, high = FARMER_RANGE
        return DuesResult(category, None, low, high, None, None, _FARMER_WORDS)
    return DuesResult(category, FLAT, FLAT, FLAT, None, None, _FLAT_WORDS)


def check_income(income: Decimal | None) -> Decimal:
    """A month's income in 元: positive, finite, to the 分, and not absurd.

    The messages never repeat the number: they end up in replies, logs and the dedup cache.
    """
    if income is None:
        raise ValidationFailed("请提供每月收入（元）。", field="income")
    if not income.is_finite():
        raise ValidationFailed("收入应为数字，例如 6500。", field="income")
    if income <= 0:
        raise ValidationFailed(
            "收入应大于 0。没有收入的，请选择 学生、下岗失业 或 低保或抚恤救济 中相符的一项。",
            field="income",
        )
    if income > MAX_INCOME:
        raise ValidationFailed(
            "这个数额超出了每月收入的合理范围，请核对后重新输入。", field="income"
        )
    if income != income.quantize(CENT, rounding=ROUND_HALF_UP):
        raise ValidationFailed("收入精确到分（小数点后两位）即可。", field="income")
    return income


# "6500", "6,500", "６５００", "6500元", "6500块", "¥6500", "8千", "8k", "1.2万", "1.2w元".
_INCOME = re.compile(
    r"(?:¥|￥|rmb|人民币)?\s*(?P<number>-?\d+(?:\.\d+)?)\s*(?P<times>千|k|万|w)?"
    r"\s*(?:元|块钱|块|圆)?(?:整|左右)?",
    re.I,
)
_TIMES = {"千": 1000, "k": 1000, "万": 10000, "w": 10000}
_GROUPED = re.compile(r"(?<=\d),(?=\d{3}(?:\D|$))")  # 6,500 and 12,000,000; never 6,5


def parse_income(text: str) -> Decimal:
    """The income as a member types it; anything else is refused, kindly and without echo."""
    plain = unicodedata.normalize("NFKC", text or "").strip()
    plain = _GROUPED.sub("", plain.replace(" ", ""))
    found = _INCOME.fullmatch(plain)
    if not found:
        raise ValidationFailed(UNREADABLE, field="income")
    try:
        number = Decimal(found.group("number"))
    except InvalidOperation:  # pragma: no cover - the pattern admits only digits
        raise ValidationFailed("收入应为数字，例如 6500。", field="income") from None
    times = found.group("times")
    if times:
        number *= _TIMES[times.lower()]
    return check_income(number)


# The words members use for each situation, and the menu's numbers.
_CATEGORY_WORDS: dict[Category, tuple[str, ...]] = {
    Category.ON_THE_JOB: ("在职", "在岗", "上班", "工作", "在职党员"),
    Category.RETIRED: ("离退休", "退休", "离休", "退休金", "养老金", "离退休党员", "退休党员"),
    Category.FARMER: ("农民", "务农", "农民党员"),
    Category.STUDENT: ("学生", "在校", "在校生", "学生党员"),
    Category.UNEMPLOYED: ("下岗失业", "下岗", "失业", "待业", "无业"),
    Category.RELIEF: ("低保或抚恤救济", "低保", "抚恤", "救济", "抚恤救济", "最低生活保障"),
}
MENU_ORDER = tuple(Category)
_BY_WORD = {word: cat for cat, words in _CATEGORY_WORDS.items() for word in words}


def parse_category(text: str) -> Category:
    """'1'–'6' as on the menu, or the situation in words (退休, 学生, 低保…)."""
    plain = unicodedata.normalize("NFKC", text or "").strip().strip("。.!！")
    if plain.isascii() and plain.isdigit() and 1 <= int(plain) <= len(MENU_ORDER):
        return MENU_ORDER[int(plain) - 1]
    if plain in _BY_WORD:
        return _BY_WORD[plain]
    try:
        return Category(plain)
    except ValueError:
        raise ValidationFailed("请回复 1–6 的数字选择您的情况。", field="category") from None


def split_category(text: str) -> tuple[Category, str]:
    """'在职 6500' → (在职, '6500'); '退休4800元' → (离退休, '4800元'); '学生' → (学生, '')."""
    plain = unicodedata.normalize("NFKC", text or "").strip()
    head, _, rest = plain.partition(" ")
    if rest or head.isdigit():
        return parse_category(head), rest.strip()
    # No space: the longest situation word the text begins with ("退休4800").
    for word in sorted(_BY_WORD, key=len, reverse=True):
        if plain.startswith(word):
            return _BY_WORD[word], plain[len(word) :].strip()
    return parse_category(plain), ""
