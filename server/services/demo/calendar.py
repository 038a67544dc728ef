"""Which meetings each demo branch holds over the eight weeks, when, and who is expected.

As a branch keeps the regulation's calendar: a 支委会 each month (the committee expected), each
党小组's 党小组会 each month (its members expected, called and chaired by its 党小组长), the
主题党日 on the street's fixed day each month, a 支部党员大会 in the window, a 党课 (quarterly,
so most branches give one within eight weeks, with its 主讲人) and in some branches a 集中学习.
The next seven days hold what is already 已安排.  Meetings of one branch (its groups
included) never overlap, as scheduling would refuse it; none is under way at `now`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from server.models.meetings import MeetingType
from server.models.people import Role
from server.services.demo.people import Person, Street
from server.services.demo.rows import at
from server.services.demo.texts import meeting_topic
from server.services.meetings.scheduling import COMMITTEE_ROLES, is_study

THEME_DAY_OF_MONTH = 15  # the street's 主题党日: the 15th of every month
AHEAD = 7  # days of 已安排 meetings

# (usual start, minutes) by kind and by kind of place: offices meet in working hours, firms
# after the shift, villages and communities in the afternoon or the evening.
_TIMES: dict[str, dict[str, list[tuple[time, int]]]] = {
    "offices": {"*": [(time(9), 90), (time(15), 90)], MeetingType.THEME_DAY: [(time(9), 120)]},
    "company": {
        "*": [(time(12, 30), 60), (time(17, 30), 90)],
        MeetingType.THEME_DAY: [(time(14), 120)],
    },
    "*": {
        "*": [(time(15), 90), (time(19, 30), 90)],
        MeetingType.GROUP_MEETING: [(time(19, 30), 60), (time(15), 60)],
        MeetingType.THEME_DAY: [(time(9), 120)],
    },
}
_PLACES = {
    "offices": "街道机关三楼会议室",
    "company": "公司党员活动室",
    "village": "村党群服务中心会议室",
    "community": "社区党群服务中心",
    "relocation": "安居社区党群服务中心",
}


@dataclass
class Planned:
    org_id: int  # the branch, or the group for a 党小组会
    branch_id: int
    kind: str
    topic: str
    place: str
    starts_at: datetime
    ends_at: datetime
    chair: Person
    expected: list[Person]
    study: bool
    speaker: str | None = None
    cancelled: str | None = None  # the reason, for one called off
    id: int = 0


def _slot(place: str, kind: str, rng: random.Random) -> tuple[time, int]:
    table = _TIMES.get(place, _TIMES["*"])
    return rng.choice(table.get(kind, table["*"]))


def holiday(day: date) -> bool:
    """New Year's Day, the May Day and National Day holidays: nobody calls a meeting then."""
    return (day.month, day.day) == (1, 1) or (
        day.month in (5, 10) and day.day <= (5 if day.month == 5 else 7)
    )


def _weekday(day: date) -> date:
    while day.weekday() >= 5 or holiday(day):
        day += timedelta(days=1)
    return day


class _Branch:
    """One branch's diary: what is booked, so nothing overlaps."""

    def __init__(
        self, street: Street, branch_id: int, first: date, today: date, now: datetime
    ) -> None:
        self.id = branch_id
        self.org = street.branches[branch_id]
        self.people = street.members_of.get(branch_id, [])
        self.place = self.people[0].place if self.people else "community"
        self.first, self.now = first, now
        self.last = today + timedelta(days=AHEAD)
        self.booked: list[Planned] = []
        self.secretary = next((p for p in self.people if p.role is Role.SECRETARY), None)

    def free(self, starts: datetime, ends: datetime) -> bool:
        return not any(m.starts_at < ends and starts < m.ends_at for m in self.booked)

    def book(
        self,
        kind: str,
        day: date,
        org_id: int,
        chair: Person,
        expected: list[Person],
        zone: ZoneInfo,
        rng: random.Random,
        *,
        fixed: bool = False,
        speaker: str | None = None,
        topic: str | None = None,
    ) -> Planned | None:
        clock, minutes = _slot(self.place, kind, rng)
        for _ in range(6):  # the day after (a working day) if the slot is taken
            if not self.first <= day <= self.last:
                return None
            starts = at(day, clock, zone)
            ends = starts + timedelta(minutes=minutes)
            under_way = starts <= self.now < ends
            if self.free(starts, ends) and not under_way:
                break
            if fixed:
                clock, minutes = time(15), minutes  # the fixed day: the afternoon instead
                fixed = False
                continue
            day = _weekday(day + timedelta(days=1))
        else:
            return None
        text = topic or meeting_topic(kind, day, self.place, rng)
        planned = Planned(
            org_id=org_id,
            branch_id=self.id,
            kind=kind,
            topic=text,
            place=_PLACES.get(self.place, "党群服务中心"),
            starts_at=starts,
            ends_at=ends,
            chair=chair,
            expected=expected,
            study=is_study(kind, text),
            speaker=speaker,
        )
        self.booked.append(planned)
        return planned


def _months(first: date, last: date) -> list[date]:
    month, out = first.replace(day=1), []
    while month <= last:
        out.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return out


def _speaker(branch: _Branch, street: Street, rng: random.Random) -> str:
    """书记讲党课 most often; else someone from the committee, the Party school, or a veteran."""
    roll = rng.random()
    if roll < 0.5 and branch.secretary:
        return f"{branch.secretary.name}（支部书记）"
    if roll < 0.7:
        staff = [p for p in street.people if p.role is Role.STAFF]
        return f"{rng.choice(staff).name}（街道党工委）" if staff else "街道党工委宣讲员"
    veterans = [p for p in branch.people if p.age >= 70 and p.party_years >= 40]
    if roll < 0.85 and veterans:
        return f"{rng.choice(veterans).name}（老党员）"
    return f"{rng.choice('刘陈杨黄赵周吴')}老师（区委党校）"


def _once(branch: _Branch, lo: date, hi: date, rng: random.Random) -> date | None:
    if lo > hi:
        return None
    return _weekday(lo + timedelta(days=rng.randint(0, (hi - lo).days)))


def plan_branch(
    street: Street,
    branch_id: int,
    first: date,
    now: datetime,
    zone: ZoneInfo,
    rng: random.Random,
    *,
    showcase: bool = False,
) -> list[Planned]:
    today = now.astimezone(zone).date()
    branch = _Branch(street, branch_id, first, today, now)
    chair = branch.secretary
    if chair is None:
        return []
    everyone = branch.people
    committee = [p for p in everyone if p.role in COMMITTEE_ROLES]
    # The fixed day first: everything else fits round it.
    for month in _months(first, branch.last):
        branch.book(
            MeetingType.THEME_DAY,
            month.replace(day=THEME_DAY_OF_MONTH),
            branch.id,
            chair,
            everyone,
            zone,
            rng,
            fixed=True,
        )
    for month in _months(first, branch.last):
        day = _weekday(month + timedelta(days=rng.randint(1, 8)))
        branch.book(MeetingType.COMMITTEE_MEETING, day, branch.id, chair, committee, zone, rng)
        for group_id in sorted({p.group_id for p in everyone if p.group_id is not None}):
            members = [p for p in everyone if p.group_id == group_id]
            leader = next((p for p in members if p.role is Role.GROUP_LEADER), None)
            if leader is None:
                continue
            day = _weekday(month + timedelta(days=rng.randint(9, 24)))
            branch.book(MeetingType.GROUP_MEETING, day, group_id, leader, members, zone, rng)
    past = (first + timedelta(days=3), today - timedelta(days=1))
    coming = (today + timedelta(days=1), today + timedelta(days=AHEAD))
    if once := _once(branch, *past, rng):
        branch.book(MeetingType.BRANCH_MEETING, once, branch.id, chair, everyone, zone, rng)
    if rng.random() < 0.2 and (once := _once(branch, *coming, rng)):
        branch.book(MeetingType.BRANCH_MEETING, once, branch.id, chair, everyone, zone, rng)
    # Quarterly: about three branches in five give theirs within eight weeks; some soon.
    lecture = past if rng.random() < 0.6 else coming if rng.random() < 0.4 else None
    if lecture and (once := _once(branch, *lecture, rng)):
        speaker = _speaker(branch, street, rng)
        branch.book(
            MeetingType.PARTY_LECTURE, once, branch.id, chair, everyone, zone, rng, speaker=speaker
        )
    if showcase or rng.random() < 0.2:
        # The branch whose secretary a newcomer binds as always has one coming up.
        span = coming if showcase else past
        if once := _once(branch, *span, rng):
            branch.book(MeetingType.GROUP_STUDY, once, branch.id, chair, everyone, zone, rng)
    return sorted(branch.booked, key=lambda m: m.starts_at)
