"""流动党员 taking part from afar: a 心得 on a meeting's topic in place of being there.

A 流出 member (`Member.is_mobile`) on a meeting's list may send `心得 N 内容` from the meeting's
start until 7 days after its end.  It is a 心得 like any other, reviewed by the branch; when the
branch approves it the member counts as present, taking part by 心得 (mode "writing").  A 心得
returned counts for nothing.  Signing in from afar with the code read out in the online part is
the other way (`attendance._present`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from server.errors import Conflict, PermissionDenied
from server.models.meetings import (
    Attendance,
    Meeting,
    MeetingAttendee,
    MeetingChange,
    MeetingStatus,
)
from server.models.people import Member
from server.models.study import SUBMISSION_STATUS_LABELS, Submission, SubmissionStatus
from server.services.meetings.attendance import MODE_LABELS, WRITING
from server.services.meetings.scheduling import visible
from server.services.tallies.snapshot import touched_around

WRITING_DAYS = 7  # after the end, a 心得 still counts for the meeting
ONLY_MOBILE = (
    "会议心得替代参会仅适用于流动党员（外出期间不能到会的党员）。"
    "要提交学习心得，请直接发送：心得 加内容（开头不要写数字），或先回复 写心得。"
)


async def writable(member: Member, number: int, now: datetime) -> Meeting:
    """Meeting N, if this member may send a 心得 for it now; a polite refusal saying why if not."""
    if not member.is_mobile:
        raise PermissionDenied(ONLY_MOBILE, code="NOT_MOBILE")
    meeting = await visible(member, number)
    row = await MeetingAttendee.get_or_none(meeting_id=meeting.id, member_id=member.id)
    if row is None:
        raise Conflict(f"您不在编号 {number} 的会议名单中，不能以心得参加。")
    if meeting.status == MeetingStatus.CANCELLED:
        raise Conflict(f"编号 {number} 的会议已经取消了。")
    if now < meeting.starts_at:
        raise Conflict(
            f"编号 {number} 的会议还没有开始。会议开始后至结束后 {WRITING_DAYS} 天内，"
            f"可以就会议主题发送：心得 {number} 内容。",
            code="MEETING_NOT_STARTED",
        )
    if now > meeting.ends_at + timedelta(days=WRITING_DAYS):
        raise Conflict(
            f"编号 {number} 的会议结束已超过 {WRITING_DAYS} 天，不能再以心得参加；"
            "想分享学习体会，可以直接发送：心得 加内容。",
            code="WRITING_CLOSED",
        )
    if row.attendance == Attendance.PRESENT:
        how = MODE_LABELS.get(row.mode or "", "已签到")
        raise Conflict(f"您已计入编号 {number} 的会议出勤（{how}），不用再交会议心得。")
    earlier = (
        await Submission.filter(
            member_id=member.id,
            meeting_id=meeting.id,
            status__in=[SubmissionStatus.PENDING, SubmissionStatus.APPROVED],
        )
        .order_by("id")
        .first()
    )
    if earlier is not None:
        raise Conflict(
            f"您已交过编号 {number} 的会议心得（心得编号 {earlier.id}，"
            f"{SUBMISSION_STATUS_LABELS[earlier.status]}），不用重复提交。",
            code="WRITING_EXISTS",
        )
    return meeting


async def count_writing(submission: Submission, reviewer: Member) -> bool:
    """An approved meeting 心得: its author present at the meeting, by 心得.

    One conditional UPDATE (someone present already stays as they were), kept in the meeting's
    history, and the meeting's day counted afresh as a 补录 is.  False: nothing changed (no
    meeting, cancelled since, not on its list, or present already).
    """
    if submission.meeting_id is None:
        return False
    meeting = await Meeting.get_or_none(id=submission.meeting_id)
    if meeting is None or meeting.status == MeetingStatus.CANCELLED:
        return False
    row = await MeetingAttendee.get_or_none(meeting_id=meeting.id, member_id=submission.member_id)
    if row is None:
        return False
    changed = (
        await MeetingAttendee.filter(id=row.id)
        .exclude(attendance=Attendance.PRESENT)
        .update(attendance=Attendance.PRESENT, mode=WRITING)
    )
    if not changed:
        return False
    await MeetingChange.create(
        meeting=meeting,
        by=reviewer,
        action="writing",
        detail={
            "member": submission.member_id,
            "submission": submission.id,
            "from": str(row.attendance),
        },
    )
    await touched_around(meeting.starts_at)
    return True
