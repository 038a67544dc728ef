"""What became of each demo meeting: who came, who was on leave and why, the record kept.

A held meeting (over at `now`): its chair signed in (a chair is at her own meeting), most of
those expected signed in too (and were paid the meeting's points then), a few signed the paper
list and were put right by 补录, some were on leave granted for a reason, a few were absent —
some with the reason they gave afterwards; most have a recorder and 纪要.  A meeting still to
come is 已安排: nobody marked yet, a few on leave already, a rare request waiting (待批), and
one for sure in the branch of the secretary printed for newcomers.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from server.models.meetings import Attendance, AttendeeRole, MeetingAttendee, MeetingType
from server.models.people import Role
from server.services.demo.calendar import Planned
from server.services.demo.people import Person
from server.services.demo.rows import at
from server.services.demo.texts import (
    ABSENT_NOTES,
    FRAIL_REASONS,
    LEAVE_REASONS,
    MOBILE_REASONS,
    SIGNIN_CORRECTIONS,
    minutes_text,
)

# Scattered villages and the resettlement community come less than offices (seed report).
_PRESENT = {"offices": 0.9, "company": 0.8, "community": 0.85, "village": 0.76, "relocation": 0.76}


def when(starts: datetime, ends: datetime) -> dict[str, str]:
    """As `services.meetings` records a time: UTC, in ISO form."""
    return {
        "starts_at": starts.astimezone(UTC).isoformat(),
        "ends_at": ends.astimezone(UTC).isoformat(),
    }


@dataclass
class Outcome:
    meeting: Planned
    rows: list[MeetingAttendee] = field(default_factory=list)
    changes: list[tuple[datetime, Person, str, dict[str, Any]]] = field(default_factory=list)
    recorder: Person | None = None
    minutes: str | None = None
    signed_in: list[tuple[Person, datetime]] = field(default_factory=list)
    held: bool = False


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
    present = 0.93 if kind == MeetingType.COMMITTEE_MEETING else _PRESENT.get(p.place, 0.85)
    if roll < present:
        return Attendance.PRESENT, None
    if roll < present + (1 - present) * 0.7:
        return Attendance.LEAVE, rng.choice(LEAVE_REASONS)
    return Attendance.ABSENT, rng.choice(ABSENT_NOTES) if rng.random() < 0.35 else None


def record_held(out: Outcome, now: datetime, zone: ZoneInfo, rng: random.Random) -> None:
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
                        later(m.ends_at, now, zone, rng),
                        m.chair,
                        "corrected",
                        {"member": p.id, "from": "absent", "to": "present", "reason": reason},
                    )
                )
        out.rows.append(attendee_row(m, p, state, reason, signed))
    others = [p for p in present if p is not m.chair]
    if others and rng.random() < 0.8:
        keen = [p for p in others if p.officer] if m.kind != MeetingType.GROUP_MEETING else []
        out.recorder = rng.choice(keen or others)
        out.changes.append(
            (m.starts_at + timedelta(minutes=2), m.chair, "recorder", {"member": out.recorder.id})
        )
    if rng.random() < 0.65:
        out.minutes = minutes_text(
            m.kind, m.topic, m.chair.name, len(m.expected), len(present), rng
        )
        writer = out.recorder or m.chair
        written = later(m.ends_at, now, zone, rng)
        out.changes.append((written, writer, "minutes", {"length": len(out.minutes)}))


def record_coming(out: Outcome, rng: random.Random, wants_request: bool) -> bool:
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
        out.rows.append(attendee_row(m, p, state, reason, None))
    return requested


def attendee_row(
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


def later(after: datetime, now: datetime, zone: ZoneInfo, rng: random.Random) -> datetime:
    """A moment in working hours within two days after `after` (and not after now)."""
    for _ in range(10):
        day = after.astimezone(zone).date() + timedelta(days=rng.randint(0, 2))
        moment = at(day, time(rng.randint(8, 21), rng.choice((5, 20, 40, 55))), zone)
        if after < moment <= now:
            return moment
    return min(after + timedelta(minutes=10), now)
