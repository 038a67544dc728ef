"""Reading what secretaries type: a reason for moving, a way of contacting, a day or a month."""

from __future__ import annotations

import re
from datetime import date

from server.errors import ValidationFailed
from server.models.mobility import FlowReason

# The form's reasons, and the words secretaries use for them.
_REASONS: dict[str, FlowReason] = {
    "外出务工经商": FlowReason.WORK,
    "务工经商": FlowReason.WORK,
    "务工": FlowReason.WORK,
    "打工": FlowReason.WORK,
    "经商": FlowReason.WORK,
    "做生意": FlowReason.WORK,
    "做买卖": FlowReason.WORK,
    "外出务工": FlowReason.WORK,
    "单位改制": FlowReason.RESTRUCTURE,
    "改制": FlowReason.RESTRUCTURE,
    "毕业去向": FlowReason.GRADUATION,
    "毕业": FlowReason.GRADUATION,
    "工作单位改变": FlowReason.JOB_CHANGE,
    "换工作": FlowReason.JOB_CHANGE,
    "工作调动": FlowReason.JOB_CHANGE,
    "出国（境）": FlowReason.ABROAD,
    "出国(境)": FlowReason.ABROAD,
    "出国": FlowReason.ABROAD,
    "出境": FlowReason.ABROAD,
    "居住地改变": FlowReason.RESIDENCE,
    "搬家": FlowReason.RESIDENCE,
    "拆迁": FlowReason.RESIDENCE,
    "征拆": FlowReason.RESIDENCE,
    "随子女": FlowReason.RESIDENCE,
    "其他": FlowReason.OTHER,
}
REASONS_TEXT = "、".join(r.value for r in FlowReason)

# 《中国共产党党员教育管理工作条例》(2019) 第二十四条, on members out of contact: its own words.
RULE_24 = (
    "对与党组织失去联系6个月以上、通过各种方式查找仍然没有取得联系的党员，予以停止党籍。"
    "停止党籍的决定由所在党支部或者上级党组织按照有关规定作出。"
    "停止党籍2年后确实无法取得联系的，按照自行脱党予以除名。"
)
RULE_24_SOURCE = "《中国共产党党员教育管理工作条例》第二十四条"

CHANNELS = ("电话", "微信", "视频", "走访", "信函", "短信", "其他")
METHODS = ("电话", "亲属", "原单位", "组织部门", "走访", "其他")  # how a lost member is sought


def reason_of(text: str) -> FlowReason | None:
    return _REASONS.get(text.strip())


def check_reason(text: str) -> FlowReason:
    found = reason_of(text)
    if found is None:
        raise ValidationFailed(f"流动原因请写：{REASONS_TEXT}。", field="reason")
    return found


def split_leading(text: str, words: tuple[str, ...], default: str) -> tuple[str, str]:
    """`电话 聊了近况` → ("电话", "聊了近况"); text not starting with one of `words` keeps the
    default way."""
    text = " ".join(text.split())
    for word in words:
        if text.startswith(word):
            rest = text[len(word) :].lstrip(" ：:，,")
            if rest:
                return word, rest
    return default, text


def check_text(text: str, field: str, longest: int, example: str) -> str:
    text = " ".join((text or "").split())
    if not text:
        raise ValidationFailed(f"请写上内容，例如：{example}", field=field)
    if len(text) > longest:
        raise ValidationFailed(f"最多 {longest} 字。", field=field)
    return text


_DAY = re.compile(r"(\d{4})\s*[-./年]\s*(\d{1,2})\s*(?:[-./月]\s*(\d{1,2})\s*日?)?\s*月?")


def day_of(text: str, today: date, field: str = "since") -> date:
    """2026-03-05, 2026年3月5日, 2026年3月 (its first day): never in the future."""
    match = _DAY.fullmatch(text.strip())
    if match is None:
        raise ValidationFailed("日期请写成 2026-03-05 或 2026年3月。", field=field)
    year, month, day = int(match[1]), int(match[2]), int(match[3] or 1)
    try:
        found = date(year, month, day)
    except ValueError:
        raise ValidationFailed("没有这个日期，请检查。", field=field) from None
    if found > today:
        raise ValidationFailed("日期不能晚于今天。", field=field)
    if found.year < 1950:
        raise ValidationFailed("日期太早了，请检查。", field=field)
    return found


def months_before(day: date, months: int) -> date:
    """The same day `months` calendar months earlier (the month's last day if it has none)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    for last in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def quarter_start(day: date) -> date:
    return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
