"""What several 流动党员 stories need: a 支部党员大会 that can decide (a quorum of those with a
vote came), since 停止党籍 is recorded only on such a meeting."""

from __future__ import annotations

from collections.abc import Sequence

from server.models.meetings import Attendance, AttendeeRole, Meeting, MeetingAttendee
from server.models.people import Member, MemberStatus


async def quorate(meeting: Meeting, away: Sequence[Member] = ()) -> Meeting:
    """Everyone active in the meeting's branch expected and present, but those `away`."""
    gone = {m.id for m in away}
    for member in await Member.filter(
        organisation_id=meeting.organisation_id, status=MemberStatus.ACTIVE, incoming=False
    ):
        await MeetingAttendee.create(
            meeting=meeting,
            member=member,
            organisation_id=meeting.organisation_id,
            role=AttendeeRole.EXPECTED,
            attendance=Attendance.ABSENT if member.id in gone else Attendance.PRESENT,
        )
    return meeting
