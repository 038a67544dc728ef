"""The demo's meetings written as the services would have left them, with their history.

What happened at each meeting is demo_attendance's; here the meetings and their rows are
written, and each step is a MeetingChange row by the one who took it, as `services.meetings`
and `services.attendance` write them: every meeting scheduled some days before, a few
党小组会 called off with a reason (and held a few days later instead), a few moved.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from server.models.meetings import (
    Attendance,
    Meeting,
    MeetingAttendee,
    MeetingChange,
    MeetingStatus,
    MeetingType,
)
from server.models.study import PointsReason
from server.services.demo.attendance import Outcome, attendee_row, record_coming, record_held, when
from server.services.demo.calendar import Planned
from server.services.demo.points import Deed
from server.services.demo.rows import at, insert, insert_with_ids
from server.services.demo.texts import CANCEL_REASONS, RESCHEDULE_REASONS
from server.services.study.points import PointsRules

CANCELLED = 3
MOVED = 4


def _called_off(planned: list[Planned], rng: random.Random) -> list[Planned]:
    """A few 党小组会 called off a few days before they were to be held, and rearranged."""
    groups = [m for m in planned if m.kind == MeetingType.GROUP_MEETING]
    twins = []
    for m in rng.sample(groups, min(CANCELLED, len(groups))):
        earlier = timedelta(days=rng.randint(2, 5))
        twins.append(
            Planned(
                **{
                    **m.__dict__,
                    "starts_at": m.starts_at - earlier,
                    "ends_at": m.ends_at - earlier,
                    "cancelled": rng.choice(CANCEL_REASONS),
                }
            )
        )
    return twins


def _scheduled_at(m: Planned, now: datetime, zone: ZoneInfo, rng: random.Random) -> datetime:
    """Booked three to eight days ahead, in working hours, and before now."""
    day = m.starts_at.astimezone(zone).date() - timedelta(days=rng.randint(3, 8))
    booked = at(day, time(rng.randint(8, 20), rng.choice((0, 15, 30, 45))), zone)
    while booked > now:
        booked -= timedelta(days=1)
    return booked


async def write_meetings(
    planned: list[Planned],
    now: datetime,
    zone: ZoneInfo,
    rules: PointsRules,
    rng: random.Random,
    showcase_branch: int | None,
) -> tuple[int, list[Deed]]:
    """The meetings, then (once they have ids) who was expected and what changed."""
    planned = sorted(planned, key=lambda m: (m.starts_at, m.org_id))
    twins = _called_off([m for m in planned if m.ends_at <= now], rng)
    outcomes = [Outcome(m) for m in sorted(planned + twins, key=lambda m: (m.starts_at, m.org_id))]
    wants_request = showcase_branch is not None
    for out in outcomes:
        m = out.meeting
        scheduled = _scheduled_at(m, now, zone, rng)
        out.changes.append((scheduled, m.chair, "scheduled", when(m.starts_at, m.ends_at)))
        if m.cancelled:
            out.rows = [attendee_row(m, p, Attendance.UNKNOWN, None, None) for p in m.expected]
            off = _between(scheduled, m.starts_at - timedelta(hours=2))
            out.changes.append((off, m.chair, "cancelled", {"reason": m.cancelled}))
        elif m.ends_at <= now:
            out.held = True
            record_held(out, now, zone, rng)
        elif record_coming(out, rng, wants_request and m.branch_id == showcase_branch):
            wants_request = False
    movable = [o for o in outcomes if not o.meeting.cancelled]
    for out in rng.sample(movable, min(MOVED, len(movable))):
        _moved(out, now, rng)
    rows = [_meeting(out) for out in outcomes]
    written = await insert_with_ids(Meeting, rows)
    deeds: list[Deed] = []
    for out, row in zip(outcomes, rows, strict=True):
        out.meeting.id = row.id
        for attendee in out.rows:
            attendee.meeting_id = row.id
        for p, signed in out.signed_in:
            deeds.append(
                Deed(
                    p.id,
                    p.counted_in,
                    signed,
                    PointsReason.MEETING,
                    f"meeting:{row.id}",
                    rules.meeting,
                )
            )
    # In the order they happened, as their ids would be.
    changes = sorted(
        (
            MeetingChange(
                meeting_id=out.meeting.id,
                by_id=by.id,
                action=action,
                detail=detail,
                created_at=moment,
            )
            for out in outcomes
            for moment, by, action, detail in out.changes
        ),
        key=lambda change: change.created_at,
    )
    written += await insert(MeetingAttendee, [r for out in outcomes for r in out.rows])
    return written + await insert(MeetingChange, changes), deeds


def _meeting(out: Outcome) -> Meeting:
    m = out.meeting
    return Meeting(
        organisation_id=m.org_id,
        kind=m.kind,
        topic=m.topic,
        place=m.place,
        starts_at=m.starts_at,
        ends_at=m.ends_at,
        chair_id=m.chair.id,
        recorder_id=out.recorder.id if out.recorder else None,
        created_by_id=m.chair.id,
        minutes=out.minutes,
        speaker=m.speaker,
        study=m.study,
        status=MeetingStatus.CANCELLED
        if m.cancelled
        else MeetingStatus.HELD
        if out.held
        else MeetingStatus.PLANNED,
        created_at=out.changes[0][0],
    )


def _between(first: datetime, last: datetime) -> datetime:
    """A day after `first`, in the same working hour, if that is before `last`."""
    later = first + timedelta(days=1)
    return later if later < last else first + (last - first) / 2


def _moved(out: Outcome, now: datetime, rng: random.Random) -> None:
    """Booked first a day later and moved to its time, as `reschedule` records it."""
    m, scheduled = out.meeting, out.changes[0][0]
    moved_at = _between(scheduled, min(now, m.starts_at - timedelta(hours=1)))
    before = {
        **when(m.starts_at + timedelta(days=1), m.ends_at + timedelta(days=1)),
        "place": m.place,
    }
    after = {**when(m.starts_at, m.ends_at), "place": m.place}
    out.changes[0] = (
        scheduled,
        m.chair,
        "scheduled",
        {k: v for k, v in before.items() if k != "place"},
    )
    detail = {"before": before, "after": after, "reason": rng.choice(RESCHEDULE_REASONS)}
    out.changes.append((moved_at, m.chair, "rescheduled", detail))
