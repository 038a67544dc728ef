"""The headline numbers, grouped so that each says what it counts.

组织党员学习 (attendance at study the organisation organised) is the figure reported upward;
自学 in the app is a separate figure, at most once per member per day; meetings are 已召开 only
once over, 已安排 until then.  The figures are the REST API's (`report.as_dict()`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.services.tallies.report import TallyRow


@dataclass(frozen=True)
class Number:
    key: str  # the TallyRow field, for the page's data-key and the tests
    label: str
    value: Any
    percent: bool = False


@dataclass(frozen=True)
class Group:
    title: str
    note: str
    numbers: list[Number]


# (title, note, ((TallyRow field, label), ...)), in the order shown.
GROUPS = (
    (
        "组织党员学习",
        "上报口径：党员出席组织的学习",
        (("organised_study", "人次"), ("members_studied", "参学党员")),
    ),
    (
        "线上自学",
        "另列：每人每天至多计一次",
        (("self_study", "人次"), ("members_self_studied", "自学党员")),
    ),
    (
        "交流体会",
        "提交的心得，退回的不计",
        (
            ("exchange_person_times", "人次"),
            ("submitted", "心得提交"),
            ("approved", "心得通过"),
        ),
    ),
    (
        "三会一课",
        "结束后才算已召开",
        (
            ("meetings_held", "已召开"),
            ("meetings_scheduled", "已安排"),
            ("attendance_rate", "出勤率"),
        ),
    ),
    ("党员", "", (("active_members", "党员数"), ("check_ins", "打卡人次"))),
)


def headline(total: TallyRow) -> list[Group]:
    return [
        Group(
            title,
            note,
            [
                Number(key, label, getattr(total, key), key == "attendance_rate")
                for key, label in numbers
            ],
        )
        for title, note, numbers in GROUPS
    ]
