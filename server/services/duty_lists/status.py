"""An item's state, read and never typed: 已完成 once a person declared it done; else 已逾期
past its deadline; else 推进中 once anyone recorded progress or evidence; else 未开始.

临期 (at risk) is not a state but a flag: not done, and due within `AT_RISK_DAYS` days
(today included).  Counts are of items, by these rules, each linking to the items counted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from server.models.duty_lists import DutyItem

AT_RISK_DAYS = 7


class State(StrEnum):
    NOT_STARTED = "未开始"
    UNDER_WAY = "推进中"
    DONE = "已完成"
    LATE = "已逾期"


# The filters a list is read by: each state, and 临期.
FILTERS = {
    "done": State.DONE,
    "under_way": State.UNDER_WAY,
    "not_started": State.NOT_STARTED,
    "late": State.LATE,
}
AT_RISK = "at_risk"
FILTER_WORDS = {**{k: v.value for k, v in FILTERS.items()}, AT_RISK: "临期（7天内到期）"}


def state_of(item: DutyItem, today: date, progressed: bool) -> State:
    """`progressed`: a progress or evidence note is recorded for the item."""
    if item.completed_on is not None:
        return State.DONE
    if item.deadline < today:
        return State.LATE
    return State.UNDER_WAY if progressed else State.NOT_STARTED


def at_risk(item: DutyItem, today: date) -> bool:
    return item.completed_on is None and 0 <= (item.deadline - today).days < AT_RISK_DAYS


def days_left_text(item: DutyItem, today: date) -> str:
    """还有 5 天 / 今天到期 / 已超期 3 天 / 已完成."""
    if item.completed_on is not None:
        return "已完成"
    left = (item.deadline - today).days
    if left > 0:
        return f"还有 {left} 天"
    if left == 0:
        return "今天到期"
    return f"已超期 {-left} 天"


@dataclass(frozen=True)
class Counts:
    total: int = 0
    done: int = 0
    under_way: int = 0
    not_started: int = 0
    late: int = 0
    at_risk: int = 0

    def items(self) -> list[tuple[str, str, int]]:
        """(filter key, words, count) in the order the page shows them; total first."""
        return [
            ("", "全部", self.total),
            ("done", State.DONE.value, self.done),
            ("under_way", State.UNDER_WAY.value, self.under_way),
            ("not_started", State.NOT_STARTED.value, self.not_started),
            ("late", State.LATE.value, self.late),
            (AT_RISK, FILTER_WORDS[AT_RISK], self.at_risk),
        ]


def count(states: Iterable[tuple[DutyItem, State]], today: date) -> Counts:
    tally = {s: 0 for s in State}
    total = risky = 0
    for item, state in states:
        total += 1
        tally[state] += 1
        risky += at_risk(item, today)
    return Counts(
        total=total,
        done=tally[State.DONE],
        under_way=tally[State.UNDER_WAY],
        not_started=tally[State.NOT_STARTED],
        late=tally[State.LATE],
        at_risk=risky,
    )
