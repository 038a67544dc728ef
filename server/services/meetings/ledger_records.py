"""What the 三会一课 ledger (台账) records: a branch's meetings of a year, and every change.

One record per meeting of the branch and of its 党小组, and the change log; `ledger` lays
them out as a workbook that prints on A4.

- Meetings are numbered 第N次 within the year per type (a 党小组会 within its group); a cancelled
  meeting is listed, marked 已取消, and not numbered.
- Only a meeting that is over counts as held (`server/models/meetings.py: held`); one still to
  come or under way is 已安排 / 进行中 and has no attendance figures.
- Attendance follows the tallies' rule (`after_the_end`): once a meeting is over, whoever
  neither signed in nor had leave granted was absent — a leave asked for and never granted
  (待批) is an absence, 请假未获批准.  So the ledger and the dashboard never disagree.  Nothing
  is written to the database: an export does not close meetings.
- Invitees (列席) are listed, not counted in 应到; so are 流入党员, who take part without a vote
  (listed apart, 流入党员（无表决权）).
- A 流动党员 who took part from afar is present, and says how: 线上参加 (signed in during the
  online part) or 以心得参加 (a 心得 on the topic the branch approved).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from server.clock import day_span
from server.models.meetings import (
    Attendance,
    AttendeeRole,
    Meeting,
    MeetingAttendee,
    MeetingChange,
    MeetingStatus,
    MeetingType,
    after_the_end,
)
from server.models.people import Member, Organisation, OrgKind
from server.services.meetings.attendance import MODE_LABELS
from server.services.meetings.scheduling import STANDARD, THREE_AND_ONE

HELD, CANCELLED, PLANNED, UNDER_WAY = "已召开", "已取消", "已安排", "进行中"
NOT_GRANTED = "请假未获批准"
ATTENDANCE = {
    Attendance.PRESENT.value: "出席",
    Attendance.LEAVE.value: "请假",
    Attendance.ABSENT.value: "缺席",
    Attendance.UNKNOWN.value: "未签到",
    Attendance.REQUESTED.value: "请假待批",
}
ACTIONS = {
    "scheduled": "安排会议",
    "rescheduled": "改期",
    "cancelled": "取消会议",
    "corrected": "补录",
    "invited": "增加列席",
    "recorder": "指定记录人",
    "minutes": "填写纪要",
    "leave_granted": "准假",
    "leave_refused": "不准假",
    "online": "线上参会",
    "writing": "以心得参加",
}
# Keys of a change's detail, for an action this module does not know yet.
DETAIL_KEYS = {
    "member": "党员", "reason": "原因", "from": "原为", "to": "改为", "before": "原定",
    "after": "改为", "starts_at": "开始", "ends_at": "结束", "place": "地点", "length": "字数",
    "online": "线上参会", "was": "原为", "submission": "心得编号",
}  # fmt: skip
ATTENDANCE_KEYS = frozenset({"from", "to", "attendance"})
# Rows of the history that are no change: the booking itself (its time is the row's date, and
# a later move says where it was first).
NOT_CHANGES = frozenset({"scheduled"})
# Changes that decide one member's attendance, latest first wins.
_ABOUT_A_MEMBER = ("corrected", "leave_granted", "leave_refused", "writing")


@dataclass(frozen=True)
class Person:
    name: str
    note: str = ""

    def __str__(self) -> str:
        return self.name + (f"（{self.note}）" if self.note else "")


@dataclass
class Record:
    """One meeting as its ledger row says it."""

    meeting: Meeting
    start: datetime  # local
    end: datetime  # local
    status: str  # 已召开 / 已取消 / 已安排 / 进行中
    number: int | None = None  # 第N次 (None: cancelled)
    group: str = ""  # the 党小组 of a 党小组会
    chair: str = ""
    recorder: str = ""
    cancel_reason: str = ""
    expected: int | None = None  # None: not held, so no attendance figures
    present: list[Person] = field(default_factory=list)
    leave: list[Person] = field(default_factory=list)
    absent: list[Person] = field(default_factory=list)
    guests: list[str] = field(default_factory=list)
    incoming: list[Person] = field(default_factory=list)  # 流入党员: no vote, not in 应到

    @property
    def held(self) -> bool:
        return self.status == HELD

    @property
    def label(self) -> str:
        """How the change log names it: 支委会 第3次（3月5日）."""
        which = f"第{self.number}次" if self.number else CANCELLED
        group = f" {self.group}" if self.group else ""
        return f"{self.meeting.kind}{group} {which}（{self.start.month}月{self.start.day}日）"


@dataclass(frozen=True)
class Change:
    """One line of the change log: what changed, why, who did it and when."""

    record: Record
    at: datetime  # local, naive: an Excel date-time
    what: str
    detail: str
    reason: str
    by: str


@dataclass
class Year:
    branch: Organisation
    year: int
    made: datetime  # local: when the ledger was drawn up
    parents: list[str]  # the organisations above the branch, top first
    kinds: list[str]  # the sheets: the five always, then other types listed this year
    records: dict[str, list[Record]]
    changes: list[Change]

    def counts(self, status: str) -> dict[str, int]:
        return {k: sum(r.status == status for r in self.records[k]) for k in self.kinds}


async def year_of(branch: Organisation, year: int, zone: ZoneInfo, now: datetime) -> Year:
    """The branch's meetings of `year` (its own and its 党小组's), and every change to them."""
    groups = {g.id: g for g in await Organisation.filter(parent_id=branch.id, kind=OrgKind.GROUP)}
    first, after = day_span(date(year, 1, 1), date(year, 12, 31), zone)
    meetings = await Meeting.filter(
        organisation_id__in=[branch.id, *groups], starts_at__gte=first, starts_at__lt=after
    ).order_by("starts_at", "id")
    ids = [m.id for m in meetings]
    people = await MeetingAttendee.filter(meeting_id__in=ids).order_by("id") if ids else []
    changes = await MeetingChange.filter(meeting_id__in=ids).order_by("id") if ids else []
    names = await _names(meetings, people, changes)

    latest: dict[tuple[int, int], MeetingChange] = {}  # (meeting, member) -> last decision
    reasons: dict[int, str] = {}  # meeting -> why it was cancelled
    for change in changes:
        detail = change.detail if isinstance(change.detail, dict) else {}
        member = detail.get("member")
        if change.action in _ABOUT_A_MEMBER and isinstance(member, int):
            latest[(change.meeting_id, member)] = change
        elif change.action == "cancelled":
            reasons[change.meeting_id] = str(detail.get("reason") or "")
    by_meeting: dict[int, list[MeetingAttendee]] = defaultdict(list)
    for person in people:
        by_meeting[person.meeting_id].append(person)

    records: dict[int, Record] = {}
    for meeting in meetings:
        record = _record(meeting, zone, now, names, groups)
        record.cancel_reason = reasons.get(meeting.id, "")
        if record.held:
            _attendance(record, by_meeting[meeting.id], names, latest)
        record.guests = [
            names.get(p.member_id, "")
            for p in by_meeting[meeting.id]
            if p.role == AttendeeRole.INVITED
        ]
        record.incoming = [
            _joined(record, p, names.get(p.member_id, ""))
            for p in by_meeting[meeting.id]
            if p.role == AttendeeRole.INCOMING
        ]
        records[meeting.id] = record

    by_kind: dict[str, list[Record]] = defaultdict(list)
    for record in records.values():
        by_kind[record.meeting.kind].append(record)
    listed = set(by_kind)
    kinds: list[str] = [
        *THREE_AND_ONE,
        *(k for k in STANDARD if k in listed and k not in THREE_AND_ONE),
    ]
    kinds += sorted(listed - set(kinds))
    for kind in kinds:
        by_kind[kind] = _numbered(by_kind[kind], kind)

    order = {id(r): n for n, r in enumerate(r for k in kinds for r in by_kind[k])}
    log = sorted(
        (
            _change(c, records[c.meeting_id], zone, names)
            for c in changes
            if c.action not in NOT_CHANGES
        ),
        key=lambda c: (order[id(c.record)], c.at),
    )
    ancestors = (
        await Organisation.filter(path__in=_above(branch.path))
        .order_by("path")
        .values_list("name", flat=True)
    )
    return Year(
        branch=branch,
        year=year,
        made=now.astimezone(zone),
        parents=[str(n) for n in ancestors],
        kinds=kinds,
        records={k: by_kind[k] for k in kinds},
        changes=log,
    )


def _above(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:n]) for n in range(1, len(parts))]


async def _names(
    meetings: list[Meeting], people: list[MeetingAttendee], changes: list[MeetingChange]
) -> dict[int, str]:
    """Every member the year's ledger names, in one query."""
    wanted: set[int] = set()
    for m in meetings:
        wanted.update(i for i in (m.chair_id, m.recorder_id) if i)
    wanted.update(p.member_id for p in people)
    for c in changes:
        if c.by_id:
            wanted.add(c.by_id)
        member = c.detail.get("member") if isinstance(c.detail, dict) else None
        if isinstance(member, int):
            wanted.add(member)
    if not wanted:
        return {}
    rows = await Member.filter(id__in=sorted(wanted)).values_list("id", "name")
    return {int(i): str(n) for i, n in rows}


def _record(
    meeting: Meeting,
    zone: ZoneInfo,
    now: datetime,
    names: dict[int, str],
    groups: dict[int, Organisation],
) -> Record:
    if meeting.status == MeetingStatus.CANCELLED:
        status = CANCELLED
    elif meeting.ends_at <= now:
        status = HELD
    elif meeting.starts_at <= now:
        status = UNDER_WAY
    else:
        status = PLANNED
    group = groups.get(meeting.organisation_id)
    return Record(
        meeting=meeting,
        start=meeting.starts_at.astimezone(zone),
        end=meeting.ends_at.astimezone(zone),
        status=status,
        group=group.name if group else "",
        chair=names.get(meeting.chair_id or 0, ""),
        recorder=names.get(meeting.recorder_id or 0, ""),
    )


def _attendance(
    record: Record,
    people: list[MeetingAttendee],
    names: dict[int, str],
    latest: dict[tuple[int, int], MeetingChange],
) -> None:
    """Who was present, on leave (and why) and absent (and why), by the tallies' rule."""
    expected = [p for p in people if p.role == AttendeeRole.EXPECTED]
    record.expected = len(expected)
    for p in expected:
        name = names.get(p.member_id, "")
        decided = latest.get((record.meeting.id, p.member_id))
        corrected = decided is not None and decided.action == "corrected"
        reason = str((decided.detail or {}).get("reason") or "") if decided else ""
        final = after_the_end(p.attendance)
        if final == Attendance.PRESENT.value:
            how = "补录" if corrected else MODE_LABELS.get(p.mode or "", "")
            record.present.append(Person(name, how))
        elif final == Attendance.LEAVE.value:
            note = f"补录：{reason}" if corrected and reason else (p.reason or "")
            record.leave.append(Person(name, note))
        elif corrected:  # set absent by a 补录: its reason
            record.absent.append(Person(name, f"补录：{reason}" if reason else "补录"))
        elif p.attendance == Attendance.REQUESTED or (
            decided is not None and decided.action == "leave_refused"
        ):
            # A refused request is expected again (its reason cleared): the change keeps it.
            why = p.reason or (str((decided.detail or {}).get("asked") or "") if decided else "")
            asked = f"，所请事由：{why}" if why else ""
            record.absent.append(Person(name, NOT_GRANTED + asked))
        else:
            record.absent.append(Person(name))


def _joined(record: Record, p: MeetingAttendee, name: str) -> Person:
    """A 流入党员 on the meeting's list: how they took part once it is held (出席, 线上参加…)."""
    if not record.held:
        return Person(name)
    if p.attendance == Attendance.PRESENT:
        return Person(name, MODE_LABELS.get(p.mode or "", "出席"))
    return Person(name, "请假" if p.attendance == Attendance.LEAVE else "未到")


def _numbered(records: list[Record], kind: str) -> list[Record]:
    """第N次 in date order, per type (a 党小组会 per group); cancelled ones keep no number."""

    def group_of(record: Record) -> int:
        return record.meeting.organisation_id

    if kind == MeetingType.GROUP_MEETING:  # the groups one after another, each in date order
        records = sorted(records, key=lambda r: (group_of(r), r.start, r.meeting.id))
    seen: dict[int, int] = defaultdict(int)
    for record in records:
        if record.status != CANCELLED:
            key = group_of(record) if kind == MeetingType.GROUP_MEETING else 0
            seen[key] += 1
            record.number = seen[key]
    return records


def _when(detail: Any, zone: ZoneInfo) -> str:
    """3月5日 15:00–16:30 (and the place, when the change recorded one)."""
    if not isinstance(detail, dict):
        return ""
    start, end = _local(detail.get("starts_at"), zone), _local(detail.get("ends_at"), zone)
    text = ""
    if start:
        text = f"{start.month}月{start.day}日 {start:%H:%M}"
        if end:
            text += f"–{end:%H:%M}" if end.date() == start.date() else f" 至 {_short(end)}"
    if "place" in detail:
        text += f"（地点：{detail['place']}）" if detail["place"] else "（地点未定）"
    return text


def _short(moment: datetime) -> str:
    return f"{moment.month}月{moment.day}日 {moment:%H:%M}"


def _local(value: Any, zone: ZoneInfo) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.astimezone(zone) if moment.tzinfo else moment


def _change(change: MeetingChange, record: Record, zone: ZoneInfo, names: dict[int, str]) -> Change:
    detail = change.detail if isinstance(change.detail, dict) else {}
    member = detail.get("member")
    who = names.get(member, "") if isinstance(member, int) else ""
    reason = str(detail.get("reason") or "")
    action = change.action
    if action == "scheduled":
        text = f"定于 {_when(detail, zone)}"
    elif action == "rescheduled":
        was, became = _when(detail.get("before"), zone), _when(detail.get("after"), zone)
        text = f"原定 {was} → 改为 {became}"
    elif action == "cancelled":
        text, reason = "会议取消", reason or "未说明原因"
    elif action == "corrected":
        was = ATTENDANCE.get(str(detail.get("from")), str(detail.get("from") or ""))
        became = ATTENDANCE.get(str(detail.get("to")), str(detail.get("to") or ""))
        text = f"{who}：{was} → {became}"
    elif action == "invited":
        text = f"{who}列席"
    elif action == "recorder":
        text = f"{who}任记录人"
    elif action == "minutes":
        length = detail.get("length")
        text = f"纪要 {length} 字" if isinstance(length, int) else "纪要"
    elif action == "leave_granted":
        text = f"{who}请假，准假"
    elif action == "leave_refused":
        text = f"{who}请假，不准假"
    elif action == "online":
        was, became = str(detail.get("was") or ""), str(detail.get("online") or "")
        text = f"{was} → {became or '取消线上参会'}" if was else f"线上参会：{became}"
    elif action == "writing":
        number = detail.get("submission")
        which = f"（心得编号 {number}）" if isinstance(number, int) else ""
        was = ATTENDANCE.get(str(detail.get("from")), "")
        text = f"{who}：{was + ' → ' if was else ''}出席，以心得参加{which}"
    else:
        text = _readable(detail, zone, names)
        reason = ""
    return Change(
        record=record,
        at=change.created_at.astimezone(zone).replace(tzinfo=None),
        what=ACTIONS.get(action, "其他变更"),
        detail=text,
        reason=reason,
        by=names.get(change.by_id or 0, "") or "—",
    )


def _readable(detail: dict[str, Any], zone: ZoneInfo, names: dict[int, str]) -> str:
    """A change this ledger does not know yet, in words: 党员：王芳；原因：……."""
    parts = []
    for key, value in detail.items():
        label = DETAIL_KEYS.get(key)
        if key == "member" and isinstance(value, int):
            shown = names.get(value, "")
        elif isinstance(value, dict):
            shown = _when(value, zone) or _readable(value, zone, names)
        elif key in ATTENDANCE_KEYS and str(value) in ATTENDANCE:
            shown = ATTENDANCE[str(value)]
        elif (moment := _local(value, zone)) is not None:
            shown = _short(moment)
        else:
            shown = str(value)
        if shown:
            parts.append(f"{label}：{shown}" if label else shown)
    return "；".join(parts)
