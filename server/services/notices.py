"""Which notices a meeting needs, written to the outbox as rows before anything is sent.

On scheduling: a notice to every attendee now, and a reminder at each offset before the start
(only those still ahead).  On a change or a cancellation: pending reminders are voided, new ones
planned for the new time, and everyone who was told anything before is told what changed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.meetings import Meeting, MeetingAttendee
from server.notices import Notice, NoticeStatus


async def _attendees(meeting: Meeting) -> list[int]:
    return list(
        await MeetingAttendee.filter(meeting_id=meeting.id).values_list("member_id", flat=True)
    )


async def _told(meeting: Meeting) -> list[int]:
    return list(
        await Notice.filter(meeting_id=meeting.id, status=NoticeStatus.SENT)
        .distinct()
        .values_list("member_id", flat=True)
    )


async def _write(meeting: Meeting, members: list[int], kind: str, due_at: datetime) -> None:
    await Notice.bulk_create(
        [Notice(meeting=meeting, member_id=m, kind=kind, due_at=due_at) for m in members],
        ignore_conflicts=True,  # planned already (a retry): the unique key keeps one
    )


async def _reminders(
    meeting: Meeting, members: list[int], offsets: list[tuple[str, int]], now: datetime
) -> None:
    stamp = int(meeting.starts_at.timestamp())
    for label, seconds in offsets:
        due = meeting.starts_at - timedelta(seconds=seconds)
        if due > now:  # a reminder already overdue is covered by the notice sent now
            await _write(meeting, members, f"reminder:{label}:{stamp}", due.astimezone(UTC))


async def plan_new(
    meeting: Meeting,
    offsets: list[tuple[str, int]],
    now: datetime,
    members: list[int] | None = None,
) -> None:
    """The notice now and the reminders, for every attendee (or just `members`, added later)."""
    members = await _attendees(meeting) if members is None else members
    await _write(meeting, members, "scheduled", now.astimezone(UTC))
    await _reminders(meeting, members, offsets, now)


async def _void_pending(meeting: Meeting) -> None:
    await Notice.filter(meeting_id=meeting.id, status=NoticeStatus.PENDING).update(
        status=NoticeStatus.VOID
    )


async def plan_change(
    meeting: Meeting, change_id: int, offsets: list[tuple[str, int]], now: datetime
) -> None:
    told = await _told(meeting)
    await _void_pending(meeting)
    await _write(meeting, told, f"changed:{change_id}", now.astimezone(UTC))
    await _reminders(meeting, await _attendees(meeting), offsets, now)


async def plan_cancel(meeting: Meeting, change_id: int, now: datetime) -> None:
    told = await _told(meeting)
    await _void_pending(meeting)
    await _write(meeting, told, f"cancelled:{change_id}", now.astimezone(UTC))


async def unreachable(meeting: Meeting) -> list[Notice]:
    """Members no channel reached: the secretary tells them in person."""
    return (
        await Notice.filter(meeting_id=meeting.id, status=NoticeStatus.UNREACHABLE)
        .prefetch_related("member")
        .order_by("id")
    )
