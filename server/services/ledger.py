"""The 三会一课 ledger (台账): every meeting of a branch in a year, as the rules want it recorded.

One sheet per meeting type; one row per meeting with its time, place, chair, recorder, how many
were expected / present / on leave / absent, each absentee and each leave with the reason,
invitees (列席), the topic, the minutes and resolutions as written, and its changes.  Cancelled
meetings are listed too, marked, so the record is complete.
"""

from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from server.clock import day_span
from server.errors import NotFound
from server.meetings import Attendance, AttendeeRole, Meeting, MeetingAttendee, MeetingChange
from server.models import Organisation
from server.services.attendance import close
from server.services.meetings import STANDARD
from server.services.scope import under

COLUMNS = (
    "编号", "日期", "时间", "地点", "主持人", "记录人", "主题", "应到", "实到", "请假", "缺席",
    "缺席人员及原因", "请假人员及原因", "列席人员", "纪要及决议", "状态", "变更记录",
)  # fmt: skip
STATUS = {"planned": "已安排", "notified": "已通知", "held": "已召开", "cancelled": "已取消"}
ACTIONS = {
    "scheduled": "安排",
    "rescheduled": "改期",
    "cancelled": "取消",
    "corrected": "补录",
    "invited": "列席",
    "recorder": "指定记录人",
    "minutes": "纪要",
}


async def _rows(meeting: Meeting, zone: ZoneInfo) -> list[object]:
    people = await MeetingAttendee.filter(meeting_id=meeting.id).prefetch_related("member")
    expected = [p for p in people if p.role == AttendeeRole.EXPECTED]
    invited = [p for p in people if p.role == AttendeeRole.INVITED]

    def named(which: Attendance) -> list[str]:
        return [
            p.member.name + (f"（{p.reason}）" if p.reason else "")
            for p in expected
            if p.attendance == which
        ]

    changes = await MeetingChange.filter(meeting_id=meeting.id).order_by("id")
    start, end = meeting.starts_at.astimezone(zone), meeting.ends_at.astimezone(zone)
    chair = await meeting.chair if meeting.chair_id else None  # type: ignore[attr-defined]
    recorder = await meeting.recorder if meeting.recorder_id else None  # type: ignore[attr-defined]
    return [
        meeting.id,
        start.date().isoformat(),
        f"{start:%H:%M}–{end:%H:%M}",
        meeting.place or "",
        chair.name if chair else "",
        recorder.name if recorder else "",
        meeting.topic,
        len(expected),
        len(named(Attendance.PRESENT)),
        len(named(Attendance.LEAVE)),
        len(named(Attendance.ABSENT)),
        "；".join(named(Attendance.ABSENT)),
        "；".join(named(Attendance.LEAVE)),
        "；".join(p.member.name for p in invited),
        meeting.minutes or "",
        STATUS.get(str(meeting.status), str(meeting.status)),
        "；".join(
            f"{c.created_at.astimezone(zone):%m-%d %H:%M} {ACTIONS.get(c.action, c.action)}"
            for c in changes
        ),
    ]


@dataclass(frozen=True)
class Ledger:
    """A branch's ledger for a year, as a workbook: what the CLI, the API and the dashboard give."""

    data: bytes  # the XLSX
    filename: str  # ASCII, for any download header
    readable: str  # 台账-<branch>-<year>.xlsx
    counts: dict[str, int]  # meetings by type


async def ledger_xlsx(branch: Organisation, year: int, zone: ZoneInfo, now: datetime) -> Ledger:
    """The year's ledger of the branch (and its groups)."""
    book, counts = await _workbook(branch, year, zone, now)
    buffer = io.BytesIO()
    book.save(buffer)
    return Ledger(
        buffer.getvalue(),
        f"ledger-{branch.id}-{year}.xlsx",
        f"台账-{branch.name}-{year}.xlsx",
        counts,
    )


async def ledger_at(branch_path: str, year: int, zone: ZoneInfo, now: datetime) -> Ledger:
    """The ledger of the branch at `branch_path` (the CLI's way of naming it)."""
    branch = await Organisation.get_or_none(path=branch_path)
    if branch is None:
        raise NotFound(f"no organisation at {branch_path!r}", field="branch")
    return await ledger_xlsx(branch, year, zone, now)


async def _workbook(
    branch: Organisation, year: int, zone: ZoneInfo, now: datetime
) -> tuple[Workbook, dict[str, int]]:
    first, after = day_span(date(year, 1, 1), date(year, 12, 31), zone)
    meetings = await Meeting.filter(
        under(branch.path), starts_at__gte=first, starts_at__lt=after
    ).order_by("starts_at", "id")
    for meeting in meetings:  # an ended meeting nobody looked at since: absences recorded now
        await close(meeting, now)
    by_kind: dict[str, list[Meeting]] = defaultdict(list)
    for meeting in meetings:
        by_kind[meeting.kind].append(meeting)
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    kinds = [k for k in STANDARD if k in by_kind] + sorted(set(by_kind) - set(STANDARD))
    for kind in kinds or list(STANDARD):  # an empty year still shows the sheets
        sheet = book.create_sheet(kind)
        sheet.append([f"{branch.name} {year}年{kind}台账"])
        sheet["A1"].font = Font(bold=True, size=14)
        sheet.append(list(COLUMNS))
        for cell in sheet[2]:
            cell.font = Font(bold=True)
        for meeting in by_kind.get(kind, []):
            sheet.append(await _rows(meeting, zone))
        for row in sheet.iter_rows(min_row=3):
            for cell in row:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
        sheet.freeze_panes = "A3"
    return book, {kind: len(by_kind.get(kind, [])) for kind in kinds}
