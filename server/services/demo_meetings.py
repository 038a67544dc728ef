"""What became of the demo's meetings: attendance, leave, minutes, and each change's history.

Written as the services would have left them.  A held meeting (over at `now`) is HELD: its
chair signed in (a chair is at her own meeting), most expected members signed in too (and were
paid the meeting's points then), a few signed on paper and were put right by 补录, some were on
leave granted for a reason, a few were absent — some with the reason they gave afterwards.
A meeting still to come is 已安排: nobody marked yet, a few on leave already, and in the branch
of the secretary printed for newcomers a leave request waiting for her (待批).  One meeting
was called off with a reason, and rearranged; a few were moved.  Every step is a
MeetingChange row by the one who took it, as `services.meetings` and `attendance` write them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from server.activity import PointsReason
from server.meetings import (
    Attendance,
    AttendeeRole,
    Meeting,
    MeetingAttendee,
    MeetingChange,
    MeetingStatus,
)
from server.models import Role
from server.services.demo_calendar import Planned
from server.services.demo_people import Person
from server.services.demo_points import Deed
from server.services.demo_rows import insert, insert_with_ids
from server.services.demo_texts import (
    ABSENT_NOTES,
    CANCEL_REASONS,
    FRAIL_REASONS,
    LEAVE_REASONS,
    MOBILE_REASONS,
    RESCHEDULE_REASONS,
    SIGNIN_CORRECTIONS,
    minutes_text,
)
from server.services.meetings import COMMITTEE_MEETING, GROUP_MEETING
from server.services.points import PointsRules

CANCELLED = 3
MOVED = 4
_PRESENT = {"offices": 0.9, "company": 0.8, "community": 0.85, "village": 0.76, "relocation": 0.76}


@dataclass
class Outcome:
    meeting: Planned
    rows: list[MeetingAttendee] = field(default_factory=list)
    changes: list[tuple[datetime, Person, str, dict[str, Any]]] = field(default_factory=list)
    recorder: Person | None = None
    minutes: str | None = None
    signed_in: list[tuple[Person, datetime]] = field(default_factory=list)
    held: bool = False


def _when(starts: datetime, ends: datetime) -> dict[str, str]:
    """As `services.meetings` records a time: UTC, in ISO form."""
    return {
        "starts_at": starts.astimezone(UTC).isoformat(),
        "ends_at": ends.astimezone(UTC).isoformat(),
    }


def _fate(p: Person, kind: str, rng: random.Random) -> tuple[Attendance, str | None]:
    """Present, on leave for a reason, or absent: the mobile and the frail come less."""
    roll = rng.random()
    if p.is_mobile:
        if roll < 0.25:
            return Attendance.PRESENT, None
        if roll < 0.8:
            return Attendance.LEAVE, rng.choice(MOBILE_REASONS)
        return Attendance.ABSENT, None
    if p.age >= 78:
        if roll < 0.6:
            return Attendance.PRESENT, None
        return Attendance.LEAVE, rng.choice(FRAIL_REASONS)
    # Scattered villages and the resettlement community come less than offices (seed report).
    present = 0.93 if kind == COMMITTEE_MEETING else _PRESENT.get(p.place, 0.85)
    if roll < present:
        return Attendance.PRESENT, None
    if roll < present + (1 - present) * 0.7:
        return Attendance.LEAVE, rng.choice(LEAVE_REASONS)
    return Attendance.ABSENT, rng.choice(ABSENT_NOTES) if rng.random() < 0.35 else None


def _held(out: Outcome, now: datetime, rng: random.Random) -> None:
    m = out.meeting
    present: list[Person] = []
    for p in m.expected:
        state, reason = (Attendance.PRESENT, None) if p is m.chair else _fate(p, m.kind, rng)
        signed = None
        if state is Attendance.PRESENT:
            present.append(p)
            paper = 0.1 if p.age >= 65 else 0.02  # older members sign the paper list
            if p is m.chair or rng.random() >= paper:  # signed in with the code
                signed = m.starts_at - timedelta(minutes=rng.randint(0, 25))
                out.signed_in.append((p, signed))
            else:  # signed on paper: the chair records it afterwards (补录), with the reason
                reason = rng.choice(SIGNIN_CORRECTIONS)
                out.changes.append(
                    (
                        m.ends_at + timedelta(minutes=rng.randint(10, 600)),
                        m.chair,
                        "corrected",
                        {"member": p.id, "from": "absent", "to": "present", "reason": reason},
                    )
                )
        out.rows.append(_row(m, p, state, reason, signed))
    others = [p for p in present if p is not m.chair]
    if others and rng.random() < 0.8:
        keen = [p for p in others if p.officer] if m.kind != GROUP_MEETING else []
        out.recorder = rng.choice(keen or others)
        out.changes.append(
            (m.starts_at + timedelta(minutes=2), m.chair, "recorder", {"member": out.recorder.id})
        )
    if rng.random() < 0.65:
        out.minutes = minutes_text(
            m.kind, m.topic, m.chair.name, len(m.expected), len(present), rng
        )
        writer = out.recorder or m.chair
        written = min(m.ends_at + timedelta(hours=rng.randint(1, 40)), now)
        out.changes.append((written, writer, "minutes", {"length": len(out.minutes)}))


def _coming(out: Outcome, rng: random.Random, wants_request: bool) -> bool:
    """Nobody marked yet; a few on leave already; perhaps one request waiting (待批)."""
    m, requested = out.meeting, False
    for p in m.expected:
        state, reason = Attendance.UNKNOWN, None
        if p is not m.chair and not p.quiet_today:
            if wants_request and not requested and p.role is Role.MEMBER:
                state, reason, requested = Attendance.REQUESTED, rng.choice(LEAVE_REASONS), True
            elif rng.random() < 0.04:
                state, reason = Attendance.LEAVE, rng.choice(LEAVE_REASONS)
            elif rng.random() < 0.005:
                state, reason = Attendance.REQUESTED, rng.choice(LEAVE_REASONS)
        out.rows.append(_row(m, p, state, reason, None))
    return requested


def _row(
    m: Planned, p: Person, state: Attendance, reason: str | None, signed: datetime | None
) -> MeetingAttendee:
    return MeetingAttendee(
        meeting_id=m.id,
        member_id=p.id,
        organisation_id=p.counted_in,
        role=AttendeeRole.EXPECTED,
        attendance=state,
        reason=reason,
        signed_at=signed,
    )


def _called_off(planned: list[Planned], rng: random.Random) -> list[Planned]:
    """A few 党小组会 called off a few days before they were to be held, and rearranged."""
    groups = [m for m in planned if m.kind == GROUP_MEETING]
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


def _scheduled_at(m: Planned, now: datetime, rng: random.Random) -> datetime:
    """Booked three to eight days ahead, and never later than now."""
    booked = m.starts_at - timedelta(days=rng.randint(3, 8), hours=rng.randint(0, 8))
    return min(booked, now - timedelta(minutes=rng.randint(5, 240)))


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
        scheduled = _scheduled_at(m, now, rng)
        out.changes.append((scheduled, m.chair, "scheduled", _when(m.starts_at, m.ends_at)))
        if m.cancelled:
            out.rows = [_row(m, p, Attendance.UNKNOWN, None, None) for p in m.expected]
            off = scheduled + (m.starts_at - scheduled) / 2
            out.changes.append((off, m.chair, "cancelled", {"reason": m.cancelled}))
        elif m.ends_at <= now:
            out.held = True
            _held(out, now, rng)
        elif _coming(out, rng, wants_request and m.branch_id == showcase_branch):
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
    changes = [
        MeetingChange(
            meeting_id=out.meeting.id, by_id=by.id, action=action, detail=detail, created_at=moment
        )
        for out in outcomes
        for moment, by, action, detail in out.changes
    ]
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


def _moved(out: Outcome, now: datetime, rng: random.Random) -> None:
    """Booked first a day later and moved to its time, as `revise` records it."""
    m, scheduled = out.meeting, out.changes[0][0]
    moved_at = scheduled + (min(now, m.starts_at - timedelta(hours=1)) - scheduled) / 2
    before = {
        **_when(m.starts_at + timedelta(days=1), m.ends_at + timedelta(days=1)),
        "place": m.place,
    }
    after = {**_when(m.starts_at, m.ends_at), "place": m.place}
    out.changes[0] = (
        scheduled,
        m.chair,
        "scheduled",
        {k: v for k, v in before.items() if k != "place"},
    )
    detail = {"before": before, "after": after, "reason": rng.choice(RESCHEDULE_REASONS)}
    out.changes.append((moved_at, m.chair, "rescheduled", detail))
