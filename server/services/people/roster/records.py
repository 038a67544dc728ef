"""One row to one member record, or to every problem the row has."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from server.errors import ValidationFailed
from server.models.mobility import FlowReason
from server.models.people import MemberStatus, Role
from server.services.people.orgs import check_group_parent, group_path
from server.services.people.roster import dates, fields, mobile
from server.services.people.roster.report import RowError


@dataclass(slots=True)
class MemberRecord:
    """One member as the file (or the demo generator) describes it."""

    name: str
    phone: str
    org_path: str  # normalised, committee first
    group: str | None = None  # party group name under org_path
    gender: str | None = None
    birth_date: date | None = None
    education: str | None = None
    joined_on: date | None = None
    role: Role = Role.MEMBER
    status: MemberStatus = MemberStatus.ACTIVE
    is_mobile: bool = False
    probationary: bool = False  # 预备党员
    line: int = 0
    # 流出 details (roster/mobile.py): for the working record a 流动党员 gets, not the member.
    mobile_place: str | None = None
    mobile_reason: FlowReason | None = None
    mobile_since: date | None = None
    # 流入党员: never set by a roll, only cleared when one takes an ended 流入 over (guards.py).
    incoming: bool = False


# Columns an upsert may leave out; when absent the stored value is kept (or defaulted for new).
OPTIONAL_FIELDS = frozenset(
    {
        "gender",
        "birth_date",
        "education",
        "joined_on",
        "group",
        "role",
        "status",
        "is_mobile",
        "probationary",
    }
)


# In the order a row's errors are reported.  A column the file lacks parses as None (the default).
_PARSERS: tuple[tuple[str, Callable[[Any], Any]], ...] = (
    ("name", fields.parse_name),
    ("phone", fields.parse_phone),
    ("organisation", fields.parse_org),
    ("gender", fields.parse_gender),
    ("birth_date", dates.parse_date),
    ("education", fields.parse_education),
    ("joined_on", dates.parse_date),
    ("role", fields.parse_role),
    ("status", fields.parse_status),
    ("is_mobile", fields.parse_yes_no),
    ("probationary", fields.parse_probationary),
    ("group", fields.parse_group),
    ("mobile_place", mobile.parse_place),
    ("mobile_reason", mobile.parse_reason),
    ("mobile_since", mobile.parse_since),
)


def parse_row(
    line: int,
    values: Mapping[str, Any],
    labels: Mapping[str, str],
    today: date,
    errors: list[RowError],
    seen_phones: dict[str, int],
) -> MemberRecord | None:
    """The row as a record, or None after appending each of its problems to `errors`."""
    before = len(errors)
    parsed: dict[str, Any] = {}
    for key, parse in _PARSERS:
        try:
            parsed[key] = parse(values.get(key))
        except fields.BadCell as bad:
            errors.append(RowError(line, labels.get(key, key), str(bad)))

    # Rules across cells, checked only when the cells themselves parsed.
    birth, joined = parsed.get("birth_date"), parsed.get("joined_on")
    born, join = labels["birth_date"], labels["joined_on"]
    if birth is not None and birth > today:
        errors.append(RowError(line, born, "出生日期晚于今天 / birth date in the future"))
    if birth is not None and birth.year < 1900:
        errors.append(RowError(line, born, "出生日期早于1900年 / birth date before 1900"))
    if joined is not None and joined > today:
        errors.append(RowError(line, join, "入党日期晚于今天 / joined date in the future"))
    if joined is not None and birth is not None and joined < (adult := dates.add_years(birth, 18)):
        reason = f"入党时未满18周岁（应不早于{adult}） / joined before the age of 18 ({adult})"
        errors.append(RowError(line, join, reason))
    org = parsed.get("organisation")
    group_name = parsed.get("group")
    if org is not None and group_name:
        try:
            check_group_parent(org[0], org[1])
            group_path(org[0], group_name)
        except ValidationFailed as exc:
            errors.append(RowError(line, labels["group"], exc.user_message))

    mobile.check_row(line, parsed, labels, today, errors)

    # A repeated phone is reported even when either row has other problems too.
    phone = parsed.get("phone")
    if phone is not None:
        first = seen_phones.setdefault(phone, line)
        if first != line:
            reason = f"与第{first}行的手机号重复 / duplicates the phone on line {first}"
            errors.append(RowError(line, labels["phone"], reason))

    if len(errors) > before:
        return None
    return MemberRecord(
        name=parsed["name"],
        phone=parsed["phone"],
        org_path=parsed["organisation"][0],  # `org`: a row without errors has one
        group=group_name,
        gender=parsed["gender"],
        birth_date=birth,
        education=parsed["education"],
        joined_on=joined,
        role=parsed["role"],
        status=parsed["status"],
        is_mobile=parsed["is_mobile"],
        probationary=parsed["probationary"],
        line=line,
        mobile_place=parsed["mobile_place"],
        mobile_reason=parsed["mobile_reason"],
        mobile_since=parsed["mobile_since"],
    )
