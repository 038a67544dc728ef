"""The figures staff see by branch, and what each branch has to do.

- 流出 / 流入: members with an active record on the day (流入 confirmed only).
- 本季度已联系: 流出 members with a contact in the branch's log since the quarter began.
- 可能失联: as `standing` says (a question, not a status).
- 查找中: open 失联 cases.  停止党籍: cases stopped and not yet closed.
- 待确认流入: reports waiting for the branch.

Counts, never a list ordered by them: nothing here ranks branches or members.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from server.models.mobility import (
    Direction,
    FlowStatus,
    LostStage,
    MobileContact,
    MobileMember,
)
from server.models.people import Organisation
from server.services.mobility.standing import Standing, open_cases, open_records, standings
from server.services.mobility.words import quarter_start
from server.services.people.access import Scope, branches_in
from server.services.people.org_order import in_tree_order

COLUMNS = (
    ("outgoing", "流出"),
    ("incoming", "流入"),
    ("contacted", "本季度已联系"),
    ("possibly_lost", "可能失联"),
    ("searching", "查找中"),
    ("stopped", "停止党籍"),
    ("pending", "待确认流入"),
)


@dataclass
class BranchCounts:
    branch: Organisation
    outgoing: int = 0
    incoming: int = 0
    contacted: int = 0
    possibly_lost: int = 0
    searching: int = 0
    stopped: int = 0
    pending: int = 0

    def values(self) -> list[int]:
        return [getattr(self, key) for key, _ in COLUMNS]


@dataclass
class Overview:
    branches: list[BranchCounts]
    lines: list[Standing] = field(default_factory=list)

    def total(self) -> list[int]:
        return [sum(getattr(b, key) for b in self.branches) for key, _ in COLUMNS]


async def branches_of(scope: Scope, within: Organisation | None = None) -> list[Organisation]:
    """The 党支部 of the scope (under `within`, when given), in the tree's order."""
    found = await branches_in(scope)
    if within is not None:
        found = [b for b in found if b.path == within.path or b.path.startswith(within.path + "/")]
    return await in_tree_order(found)


async def overview(
    branches: Sequence[Organisation],
    today: date,
    now: datetime,
    zone: ZoneInfo,
    cadence_days: int,
) -> Overview:
    ids = [b.id for b in branches]
    records = await open_records(ids)
    cases = await open_cases(ids)
    lines = await standings(records, cases, today, now, zone, cadence_days)
    # Only the records `standings` kept: a member no longer 在册 is in no figure of 流动.
    counted = {line.record.id for line in lines if line.record is not None}
    records = [r for r in records if r.id in counted]
    by_id = {b.id: BranchCounts(b) for b in branches}
    outgoing_ids = [
        r.member_id for r in records if r.direction == Direction.OUT and r.member_id is not None
    ]
    contacted: set[int] = set()
    if outgoing_ids:
        rows = await MobileContact.filter(
            member_id__in=outgoing_ids, day__gte=quarter_start(today), day__lte=today
        ).values_list("member_id", flat=True)
        contacted = {int(str(r)) for r in rows}
    for record in records:
        counts = by_id[record.branch_id]
        if record.direction == Direction.OUT:
            counts.outgoing += 1
            counts.contacted += record.member_id in contacted
        else:
            counts.incoming += 1
    for line in lines:
        if line.possibly_lost and line.record is not None:
            by_id[line.record.branch_id].possibly_lost += 1
    for case in cases:
        if case.branch_id in by_id:
            counts = by_id[case.branch_id]
            counts.searching += case.stage == LostStage.SEARCHING
            counts.stopped += case.stage == LostStage.STOPPED
    for record in await MobileMember.filter(
        branch_id__in=ids, direction=Direction.IN, status=FlowStatus.PENDING
    ):
        by_id[record.branch_id].pending += 1
    return Overview([by_id[b.id] for b in branches], lines)
