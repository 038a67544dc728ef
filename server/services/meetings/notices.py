"""Which notices a meeting needs, written to the outbox as rows before anything is sent.

On scheduling: a notice to every attendee now, and a reminder at each offset before the start
(only those still ahead).  On a change or a cancellation: pending reminders are voided, new ones
planned for the new time, and everyone who was told anything before is told what changed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import cast

from server.models.meetings import Meeting, MeetingAttendee
from server.models.notices import Notice, NoticeStatus


async def _attendees(meeting: Meeting) -> list[int]:
    # flat=True gives the values themselves; Tortoise 1.1 types them as tuples.
    found = await MeetingAttendee.filter(meeting_id=meeting.id).values_list("member_id", flat=True)
    return list(cast("list[int]", found))


async def _told(meeting: Meeting) -> list[int]:
    # Sending and uncertain ones too: they may well have reached the member.
    told = [NoticeStatus.SENT, NoticeStatus.SENDING, NoticeStatus.UNCERTAIN]
    found = (
        await Notice.filter(meeting_id=meeting.id, status__in=told)
        .distinct()
        .values_list("member_id", flat=True)
    )
    return list(cast("list[int]", found))


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
            kind = f"reminder:{label}:{stamp}"
            await _write(meeting, members, kind, due.astimezone(UTC))
            # Moved back to a time it had before: those reminders exist, voided; revive them.
            await Notice.filter(
                meeting_id=meeting.id, kind=kind, member_id__in=members, status=NoticeStatus.VOID
            ).update(status=NoticeStatus.PENDING)


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


async def _void_reminders(meeting: Meeting) -> None:
    # Only reminders: a first notice still waiting goes out anyway, and says the new time.
    await Notice.filter(
        meeting_id=meeting.id, status=NoticeStatus.PENDING, kind__startswith="reminder:"
    ).update(status=NoticeStatus.VOID)


async def plan_change(
    meeting: Meeting, change_id: int, offsets: list[tuple[str, int]], now: datetime
) -> None:
    told = await _told(meeting)
    await _void_reminders(meeting)
    await _write(meeting, told, f"changed:{change_id}", now.astimezone(UTC))
    await _reminders(meeting, await _attendees(meeting), offsets, now)


async def plan_cancel(meeting: Meeting, change_id: int, now: datetime) -> None:
    told = await _told(meeting)
    # Everything still waiting is void: the outbox also voids any notice of a cancelled meeting.
    await Notice.filter(meeting_id=meeting.id, status=NoticeStatus.PENDING).update(
        status=NoticeStatus.VOID
    )
    await _write(meeting, told, f"cancelled:{change_id}", now.astimezone(UTC))


async def _reached(meeting: Meeting) -> set[int]:
    """Members a notice of this meeting certainly reached."""
    sent = Notice.filter(meeting_id=meeting.id, status=NoticeStatus.SENT)
    return set(cast("list[int]", await sent.distinct().values_list("member_id", flat=True)))


async def unreachable(meeting: Meeting) -> list[Notice]:
    """Members nothing reached for certain (unreachable, failed, missed), and to whom nothing
    may have gone out either: the secretary tells them in person."""
    maybe = {n.member_id for n in await uncertain(meeting)}
    lost = [NoticeStatus.UNREACHABLE, NoticeStatus.FAILED, NoticeStatus.MISSED]
    rows = (
        await Notice.filter(meeting_id=meeting.id, status__in=lost)
        .prefetch_related("member")
        .order_by("id")
    )
    reached = await _reached(meeting)
    return [n for n in rows if n.member_id not in reached | maybe]


async def uncertain(meeting: Meeting) -> list[Notice]:
    """Members nothing certainly reached, but whose notice may have: a send cut short (a timeout,
    a crash mid-call) that is never repeated.  Named apart, so the secretary can ask them."""
    maybe = [NoticeStatus.SENDING, NoticeStatus.UNCERTAIN]
    rows = (
        await Notice.filter(meeting_id=meeting.id, status__in=maybe)
        .prefetch_related("member")
        .order_by("id")
    )
    reached = await _reached(meeting)
    return [n for n in rows if n.member_id not in reached]
