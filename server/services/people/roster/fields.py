"""One cell at a time: turning what a roll holds into a member's field, or saying what is wrong.

Each `parse_*` takes the raw cell (str, number, date or None, as CSV or openpyxl gives it) and
returns the value or raises `BadCell`, whose message becomes the RowError's reason.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

from server.errors import ValidationFailed
from server.models.people import MemberStatus, OrgKind, Role
from server.services.people.orgs import SEPARATOR, infer_kinds, split_path, validate_group_name

REQUIRED = "必填 / required"


class BadCell(Exception):
    """One cell's problem; its message becomes RowError.reason."""


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def norm(value: Any) -> str:
    # NFKC turns full-width digits and letters (１３８, ＭＡＬＥ) into ASCII.
    return unicodedata.normalize("NFKC", text(value)).strip()


_CJK = re.compile(r"[\u3400-\u9fff]")


def parse_name(value: Any) -> str:
    # 张 三 → 张三: the binder matches names with all whitespace removed, and a space inside a
    # Chinese name is always a typo; Latin names keep single spaces between words.
    name = text(value)
    name = re.sub(r"\s+", "", name) if _CJK.search(name) else " ".join(name.split())
    if not name:
        raise BadCell(REQUIRED)
    if len(name) > 50:
        raise BadCell("超过50字 / longer than 50 characters")
    return name


_NOT_A_PHONE = "手机号应为以1开头的11位数字 / phone must be 11 digits starting with 1"


def parse_phone(value: Any) -> str:
    if blank(value):
        raise BadCell(REQUIRED)
    if isinstance(value, bool):
        raise BadCell(_NOT_A_PHONE)
    phone = norm(value)
    if re.fullmatch(r"\d(\.\d+)?[eE]\+?\d+", phone):
        raise BadCell(
            "手机号被 Excel 显示成了科学计数法，数字已丢失；请把该列设为文本后重新填写 / "
            "phone was saved in scientific notation and lost digits; format the column as text"
        )
    phone = re.sub(r"[\s\-()–—]", "", phone).removesuffix(".0")
    for prefix in ("+86", "0086"):
        phone = phone.removeprefix(prefix)
    if len(phone) == 13 and phone.startswith("86"):
        phone = phone[2:]
    if not re.fullmatch(r"1\d{10}", phone):
        raise BadCell(_NOT_A_PHONE)
    return phone


_GENDERS = {"男": "男", "m": "男", "male": "男", "女": "女", "f": "女", "female": "女"}


def parse_gender(value: Any) -> str | None:
    key = norm(value).lower()
    if not key:
        return None
    if key not in _GENDERS:
        raise BadCell(f"性别“{text(value)}”应为男或女 / gender must be 男/女 (M/F)")
    return _GENDERS[key]


def parse_education(value: Any) -> str | None:
    education = text(value)
    if len(education) > 20:
        raise BadCell("超过20字 / longer than 20 characters")
    return education or None


def parse_role(value: Any) -> Role:
    name = norm(value)
    if not name:
        return Role.MEMBER
    for role in Role:
        if name in (role.value, role.name) or name.upper() == role.name:
            return role
    choices = "、".join(role.value for role in Role)
    raise BadCell(f"职务“{name}”不存在，可选：{choices} / unknown role, choose one of {choices}")


_STATUSES = {
    "在册": MemberStatus.ACTIVE,
    "正常": MemberStatus.ACTIVE,
    "active": MemberStatus.ACTIVE,
    "转出": MemberStatus.TRANSFERRED,
    "已转出": MemberStatus.TRANSFERRED,
    "transferred": MemberStatus.TRANSFERRED,
}


# 停止党籍 is the branch's decision on a 失联 member, recorded step by step; a roll cannot make it.
_STOPPED = {"停止党籍", "已停止党籍", "stopped"}
STOPPED_BY_STEPS = (
    "停止党籍须按失联党员的程序办理：先“查找”并记录查找经过，再经支部党员大会讨论后“停止党籍”，"
    "不能由花名册导入 / 停止党籍 is recorded through the 失联 steps, not by an import"
)


def parse_status(value: Any) -> MemberStatus:
    key = norm(value).lower()
    if not key:
        return MemberStatus.ACTIVE
    if key in _STOPPED:
        raise BadCell(STOPPED_BY_STEPS)
    if key not in _STATUSES:
        raise BadCell(f"状态“{key}”应为在册或转出 / status must be 在册 or 转出")
    return _STATUSES[key]


_YES = {"是", "y", "yes", "true", "1", "√"}
_NO = {"否", "n", "no", "false", "0", "×"}


def parse_yes_no(value: Any) -> bool:
    key = norm(value).lower()
    if not key or key in _NO:
        return False
    if key in _YES:
        return True
    raise BadCell(f"“{key}”应为是或否 / must be 是 or 否")


_CATEGORY = {"正式党员": False, "正式": False, "预备党员": True, "预备": True}


def parse_probationary(value: Any) -> bool:
    """党员类别: 正式党员 or 预备党员 (a 预备党员 column's 是 or 否 works too); empty is 正式."""
    key = norm(value)
    if key in _CATEGORY:
        return _CATEGORY[key]
    try:
        return parse_yes_no(value)
    except BadCell:
        raise BadCell(f"“{key}”应为正式党员或预备党员 / must be 正式党员 or 预备党员") from None


def parse_org(value: Any) -> tuple[str, OrgKind]:
    """(normalised path, kind of its last level)."""
    path = text(value)
    if not path:
        raise BadCell(REQUIRED)
    return _org_path(path)


@lru_cache(maxsize=4096)  # a roll names a few hundred organisations over thousands of rows
def _org_path(path: str) -> tuple[str, OrgKind]:
    try:
        segments = split_path(path)
        kinds = infer_kinds(segments)
    except ValidationFailed as exc:
        raise BadCell(exc.user_message) from None
    return SEPARATOR.join(segments), kinds[-1]


def parse_group(value: Any) -> str | None:
    if blank(value):
        return None
    try:
        return validate_group_name(text(value))
    except ValidationFailed as exc:
        # One bad group name is that row's problem, not the whole file's.
        raise BadCell(exc.user_message) from None
