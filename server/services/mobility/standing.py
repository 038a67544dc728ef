"""Where each member the branch keeps in touch with stands: last contact, last 组织生活, 党费,
the next contact due, and whether to ask the branch 可能失联.

The words, as the README gives them:
- 最近联系: the branch's own contact log (联系 姓名 内容) — what the cadence runs from.
- 最近音讯: the latest of that log and the member's own doings here (打卡, 心得, a sign-in,
  年度报告) — a member who studies in the app is not out of touch.
- 组织生活: the latest held meeting they took part in (in the room, online, or by 心得).
- 可能失联: a 流出 member with none of the above, and no 党费 received, for six months, counted
  from when the branch recorded them at the earliest.  A question for the branch, never a
  status: the branch opens the search (查找) or records a contact.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.functions import Max

from server.models.meetings import Attendance, MeetingAttendee, held
from server.models.mobility import (
    Direction,
    DuesPaid,
    FlowStatus,
    LostCase,
    LostStage,
    MobileContact,
    MobileMember,
    YearlyReport,
)
from server.models.people import Member, MemberStatus
from server.models.study import CheckIn, Submission
from server.services.mobility.words import months_before

SILENT_MONTHS = 6  # 条例第二十四条: 与党组织失去联系6个月以上
_CHUNK = 500


@dataclass
class Standing:
    member: Member
    record: MobileMember | None  # None: a 失联 case of a member never recorded as mobile
    case: LostCase | None  # the open (or stopped) 失联 case
    last_contact: date | None = None
    last_heard: date | None = None
    last_life: date | None = None
    dues_through: date | None = None  # the last month paid for (its first day)
    last_dues: date | None = None  # the day 党费 was last received
    due_on: date | None = None  # next contact, for a 流出 member
    # What the six months are counted from: the latest word of them, 党费 received, or the day
    # the branch recorded them as mobile (None: nothing at all is known here).
    silent_since: date | None = None
    possibly_lost: bool = False

    def contact_due(self, today: date) -> bool:
        """A contact is due (the keeper's to-do).  A possibly lost member, or one being searched
        for, is the branch's business instead: no contact reminder on top of it."""
        return (
            self.due_on is not None
            and not self.possibly_lost
            and self.case is None
            and today >= self.due_on
        )


def _chunks(ids: Sequence[int]) -> Iterable[list[int]]:
    for i in range(0, len(ids), _CHUNK):
        yield list(ids[i : i + _CHUNK])


async def _latest(model: Any, column: str, ids: list[int], **where: Any) -> dict[int, Any]:
    out: dict[int, Any] = {}
    for part in _chunks(ids):
        rows = (
            await model.filter(member_id__in=part, **where)
            .annotate(last=Max(column))
            .group_by("member_id")
            .values("member_id", "last")
        )
        out.update({r["member_id"]: r["last"] for r in rows if r["last"] is not None})
    return out


def _local_day(value: Any, zone: ZoneInfo) -> date:
    """A stored moment's day in the organisation's zone (a bare date as it is)."""
    if isinstance(value, str):
        value = (
            datetime.fromisoformat(value)
            if "T" in value or " " in value
            else date.fromisoformat(value)
        )
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        local: date = value.astimezone(zone).date()
        return local
    day: date = value
    return day


async def _meetings_taken_part(ids: list[int], now: datetime, zone: ZoneInfo) -> dict[int, date]:
    out: dict[int, date] = {}
    for part in _chunks(ids):
        rows = await MeetingAttendee.filter(
            held(now, "meeting__"), member_id__in=part, attendance=Attendance.PRESENT
        ).values_list("member_id", "meeting__starts_at")
        for member_id, starts in rows:
            day = _local_day(starts, zone)
            if member_id not in out or day > out[member_id]:
                out[member_id] = day
    return out


def _latest_of(*days: date | None) -> date | None:
    found = [d for d in days if d is not None]
    return max(found) if found else None


async def standings(
    records: Sequence[MobileMember],
    cases: Sequence[LostCase],
    today: date,
    now: datetime,
    zone: ZoneInfo,
    cadence_days: int,
) -> list[Standing]:
    """One line per member: the records' members and the cases' (a member in both, once)."""
    by_member: dict[int, Standing] = {}
    members = {
        m.id: m
        for m in await Member.filter(
            id__in={r.member_id for r in records if r.member_id} | {c.member_id for c in cases}
        )
    }
    for record in records:
        # A record left open for a member no longer 在册 (转出, 停止党籍) is nobody's to-do;
        # a stopped member's case still has its line, below.
        member = members.get(record.member_id) if record.member_id else None
        if member is not None and member.status == MemberStatus.ACTIVE:
            by_member[member.id] = Standing(member, record, None)
    for case in cases:
        line = by_member.setdefault(case.member_id, Standing(members[case.member_id], None, None))
        line.case = case
    ids = sorted(by_member)
    contact = await _latest(MobileContact, "day", ids)
    checked = await _latest(CheckIn, "day", ids)
    wrote = await _latest(Submission, "day", ids)
    reported = await _latest(YearlyReport, "updated_at", ids)
    dues_day = await _latest(DuesPaid, "day", ids)
    dues_through = await _latest(DuesPaid, "through", ids)
    life = await _meetings_taken_part(ids, now, zone)
    six_months_ago = months_before(today, SILENT_MONTHS)
    for member_id, line in by_member.items():
        line.last_contact = contact.get(member_id)
        own = _latest_of(
            checked.get(member_id),
            wrote.get(member_id),
            _local_day(reported[member_id], zone) if member_id in reported else None,
            life.get(member_id),
        )
        line.last_heard = _latest_of(line.last_contact, own)
        line.last_life = life.get(member_id)
        line.last_dues = dues_day.get(member_id)
        line.dues_through = dues_through.get(member_id)
        kept = line.record
        began = _local_day(kept.created_at, zone) if kept is not None else None
        line.silent_since = _latest_of(line.last_heard, line.last_dues, began)
        if kept is None or kept.direction != Direction.OUT:
            continue
        if kept.status != FlowStatus.ACTIVE:
            continue
        assert began is not None
        cadence = kept.cadence_days or cadence_days
        line.due_on = (line.last_contact or began) + timedelta(days=cadence)
        latest = line.silent_since
        line.possibly_lost = line.case is None and latest is not None and latest <= six_months_ago
    return sorted(by_member.values(), key=lambda s: (s.member.organisation_id, s.member.id))


async def open_records(branch_ids: Sequence[int] | None) -> list[MobileMember]:
    """The active 流出 and 流入 records of the branches (None: every branch)."""
    query = MobileMember.filter(status=FlowStatus.ACTIVE)
    if branch_ids is not None:
        query = query.filter(branch_id__in=list(branch_ids))
    return await query.order_by("id")


async def open_cases(branch_ids: Sequence[int] | None) -> list[LostCase]:
    """失联 cases still the branch's business: searching, or 停止党籍 (the 除名 reminder)."""
    query = LostCase.filter(stage__in=[LostStage.SEARCHING, LostStage.STOPPED])
    if branch_ids is not None:
        query = query.filter(branch_id__in=list(branch_ids))
    return await query.order_by("id")
