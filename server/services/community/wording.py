"""What people type in chat for the 双报到 loop, read the same way by each of its commands:
a phone among words, a community named at the start, `2人`, `1.5小时`.

Chat users leave out spaces (`居民登记张三13800000000红星村`), so the phone is found by its
shape and a community by its name rather than by position alone.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

from server.errors import ValidationFailed
from server.models.community import Community
from server.services.community.units import check_phone, community_named

_PHONE = re.compile(r"(?<!\d)(?:\+?86[\s-]?)?(1\d{2}[\s-]?\d{4}[\s-]?\d{4})(?!\d)")
_DIGITS = re.compile(r"\+?\d[\d\s-]{3,}\d|\d{5,}")
# Hours and people are read only at the end of what was typed (`已换好楼道灯 1.5小时`, `… 2人`):
# a number inside the words (修好24小时热水器, 为8名独居老人理发) is part of the words.
_CN = "零一二两三四五六七八九十"
_NUMBER = rf"\d{{1,3}}(?:\.\d)?|[{_CN}]{{1,3}}"
_HOURS = re.compile(
    rf"(?<![\d.点{_CN}])(?P<hours>{_NUMBER})\s*个?(?P<half>半)?\s*(?:小时|钟头|h)"
    rf"(?:\s*(?P<minutes>\d{{1,2}}|[{_CN}]{{1,3}})\s*分钟?)?\s*(?:左右)?\s*$",
    re.I,
)
_MINUTES = re.compile(
    rf"(?<![\d.点{_CN}])(?P<minutes>\d{{1,3}}|[{_CN}]{{1,3}})\s*分钟\s*(?:左右)?\s*$"
)
_HALF_HOUR = re.compile(rf"(?<![\d{_CN}])半(?:个)?(?:小时|钟头)\s*(?:左右)?\s*$")
# 1。5小时: a slip for 1.5 — asked again rather than read as 5.
# (and 1点5小时, 一点五小时: a point in words) — asked again rather than read as 5.
_SLIPPED_POINT = re.compile(
    rf"(?:\d\s*[。,，、]\s*\d+|(?:\d|[{_CN}])点(?:\d|[{_CN}])+)\s*个?\s*(?:小时|钟头|h)\s*$",
    re.I,
)
_END_PUNCT = "。.！!～~ "
_PEOPLE = re.compile(r"(?<![\d.])(?P<people>\d{1,3})\s*(?:人|名)\s*$")
_TRIM = " ，,、；;。：:"


def split_at_phone(text: str) -> tuple[str, str, str]:
    """`张三 13800000000 红星村 幸福小区` → (张三, 13800000000, 红星村 幸福小区).

    A number of the wrong shape is refused with the rule, without repeating it.
    """
    found = _PHONE.search(text)
    if found is None:
        digits = _DIGITS.search(text)
        if digits is not None:
            check_phone(digits.group())  # raises: 手机号应为以1开头的11位数字
        raise ValidationFailed("请写上11位手机号。", field="phone")
    phone = re.sub(r"[\s-]", "", found.group(1))
    return text[: found.start()].strip(_TRIM), phone, text[found.end() :].strip(_TRIM)


async def community_at_start(text: str) -> tuple[Community | None, str]:
    """The community `text` starts with and what follows; 红星 for 红星村 as a word of its own.

    Nothing typed: (None, ""); a first word that names no community: NotFound, with the names.
    """
    text = text.strip(_TRIM)
    if not text:
        return None, ""
    communities = await Community.all()
    for community in sorted(communities, key=lambda c: len(c.name), reverse=True):
        if text.startswith(community.name):
            return community, text[len(community.name) :].strip(_TRIM)
    first, _, rest = text.partition(" ")
    return await community_named(first), rest.strip(_TRIM)


def take_hours(text: str) -> tuple[Decimal | None, str]:
    """`已换好楼道灯 1.5小时` → (1.5, 已换好楼道灯); also 一个半小时, 两小时, 40分钟, 1小时30分,
    半个钟头, 3小时左右, full-width digits.  Only at the end; the hours as typed (to the tenth),
    checked by the caller.  The words before are kept as they were typed.
    """
    plain = unicodedata.normalize("NFKC", text).rstrip(_END_PUNCT)
    if _SLIPPED_POINT.search(plain):
        raise ValidationFailed("时长请写成 1.5小时 这样（小数点用“.”）。", field="hours")
    found = _HOURS.search(plain)
    if found is not None:
        hours = _number(found.group("hours")) + (Decimal("0.5") if found.group("half") else 0)
        if found.group("minutes"):
            hours += _number(found.group("minutes")) / 60
        return _tenths(hours), _before(text, plain, found.start())
    minutes = _MINUTES.search(plain)
    if minutes is not None:
        return _tenths(_number(minutes.group("minutes")) / 60), _before(
            text, plain, minutes.start()
        )
    half = _HALF_HOUR.search(plain)
    if half is not None:
        return Decimal("0.5"), _before(text, plain, half.start())
    return None, text


def _number(text: str) -> Decimal:
    """12, 1.5, 两, 十二, 四十 → a Decimal."""
    if text[0].isdigit():
        return Decimal(text)
    digits = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"两": 2}
    if "十" in text:
        tens, _, ones = text.partition("十")
        return Decimal(digits.get(tens, 1) * 10 + digits.get(ones, 0))
    return Decimal(digits.get(text, 0))


def _tenths(hours: Decimal) -> Decimal:
    return hours.quantize(Decimal("0.1"))


def take_people(text: str) -> tuple[int | None, str]:
    """`清理楼道 5人` → (5, 清理楼道); only at the end."""
    plain = unicodedata.normalize("NFKC", text).rstrip(_END_PUNCT)
    found = _PEOPLE.search(plain)
    if found is None:
        return None, text
    return int(found.group("people")), _before(text, plain, found.start())


def _before(text: str, plain: str, cut: int) -> str:
    """What precedes position `cut` of the normalised text, taken from the text as typed when
    normalising kept its length (full-width digits and punctuation do)."""
    typed = text.rstrip(_END_PUNCT)
    source = typed if len(typed) == len(plain) else plain
    return source[:cut].strip(_TRIM)


def _without(text: str, found: re.Match[str]) -> str:
    before, after = text[: found.start()].rstrip(_TRIM), text[found.end() :].lstrip(_TRIM)
    return f"{before} {after}".strip(_TRIM) if before and after else (before or after)


def short(text: str, most: int = 60) -> str:
    """One line of at most `most` characters: whitespace folded, an ellipsis where cut."""
    text = " ".join(text.split())
    return text if len(text) <= most else text[: most - 1] + "…"
