"""三会一课 meetings: the meeting, who is expected at it, and every change made to it.

A meeting belongs to a branch (or, for a 党小组会, to a party group).  Its expected attendees are
fixed when it is scheduled — from the type: the committee for a 支委会, the group for a 党小组会,
every active member of the branch for the others — plus invitees (列席); later transfers do not
rewrite who was expected.  Each change (scheduled, rescheduled, cancelled, corrected) is a row
with who made it, so the ledger can show the history.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.expressions import Q
from tortoise.models import Model

if TYPE_CHECKING:
    from server.models.people import Member, Organisation


class MeetingType(StrEnum):
    """The types of meeting a branch holds; the value is what is stored and shown.  三会一课
    first: 支部党员大会, 支委会, 党小组会, 党课; then what branches hold besides.  `kind` stays
    free text (a branch may hold another kind of meeting), so these are the standard ones."""

    BRANCH_MEETING = "支部党员大会"
    COMMITTEE_MEETING = "支委会"
    GROUP_MEETING = "党小组会"
    PARTY_LECTURE = "党课"
    THEME_DAY = "主题党日"
    GROUP_STUDY = "集中学习"
    ORG_LIFE = "组织生活会"
    APPRAISAL = "民主评议党员"


class MeetingStatus(StrEnum):
    PLANNED = "planned"
    NOTIFIED = "notified"
    HELD = "held"
    CANCELLED = "cancelled"


class AttendeeRole(StrEnum):
    EXPECTED = "expected"
    INVITED = "invited"  # 列席: attends without being expected
    # 流入党员: takes part, without a vote; like 列席, never in 应到 or the quorum.
    INCOMING = "incoming"


class Attendance(StrEnum):
    UNKNOWN = "unknown"  # before the end, neither signed in nor on leave
    PRESENT = "present"
    REQUESTED = "requested"  # asked for leave; the secretary has not yet decided (待批)
    LEAVE = "leave"  # leave granted
    ABSENT = "absent"


def after_the_end(attendance: str) -> str:
    """present, leave or absent: once a meeting is over, anyone undecided was absent.

    A leave asked for and never granted is no leave.  Rows are marked absent only when
    someone closes the meeting; counts must not wait for that.
    """
    value = str(attendance)
    return value if value in (Attendance.PRESENT.value, Attendance.LEAVE.value) else "absent"


def held(now: datetime, prefix: str = "") -> Q:
    """Meetings that count as held at `now`: not cancelled, and over.

    One rule for every figure: a meeting still to come, or still going on, is 已安排 — it is
    in no count of meetings held and in no attendance rate, since nobody can yet be absent.
    `prefix` reaches the meeting through a relation (``"meeting__"`` from an attendee).
    """
    # dict[str, Any]: Q's own keyword `join_type` is a str, so a dict of datetimes would not fit.
    over: dict[str, Any] = {f"{prefix}ends_at__lte": now.astimezone(UTC)}
    cancelled: dict[str, Any] = {f"{prefix}status": MeetingStatus.CANCELLED}
    return Q(**over) & ~Q(**cancelled)


def scheduled(now: datetime, prefix: str = "") -> Q:
    """Meetings not cancelled and not yet over at `now` (已安排, or under way)."""
    ahead: dict[str, Any] = {f"{prefix}ends_at__gt": now.astimezone(UTC)}
    cancelled: dict[str, Any] = {f"{prefix}status": MeetingStatus.CANCELLED}
    return Q(**ahead) & ~Q(**cancelled)


class Meeting(Model):
    id = fields.IntField(primary_key=True)  # the 会议编号 N that chat commands use
    organisation: fields.ForeignKeyRelation[Organisation] = fields.ForeignKeyField(
        "models.Organisation", related_name="meetings", on_delete=fields.RESTRICT
    )
    organisation_id: int
    kind = fields.CharField(max_length=20)  # 支部党员大会, 支委会, 党小组会, 党课, 主题党日, ...
    topic = fields.CharField(max_length=200)
    place = fields.CharField(max_length=100, null=True)
    starts_at = fields.DatetimeField(db_index=True)
    ends_at = fields.DatetimeField()
    chair: fields.ForeignKeyNullableRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="chaired", null=True, on_delete=fields.SET_NULL
    )
    chair_id: int | None
    recorder: fields.ForeignKeyNullableRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="recorded", null=True, on_delete=fields.SET_NULL
    )
    recorder_id: int | None
    status = fields.CharEnumField(MeetingStatus, max_length=10, default=MeetingStatus.PLANNED)
    created_by: fields.ForeignKeyNullableRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="meetings_created", null=True, on_delete=fields.SET_NULL
    )
    created_by_id: int | None
    minutes = fields.TextField(null=True)
    # 主讲人 of a 党课 (or anyone's talk): a name, since the speaker may come from outside.
    speaker = fields.CharField(max_length=50, null=True)
    # Organised study (组织党员学习): a 党课, 主题党日 or 集中学习, or a meeting whose agenda is
    # study.  Set when scheduled; being present at a held one is an organised-study person-time.
    study = fields.BooleanField(default=False)
    # Seeds the rotating 6-digit sign-in code: random per meeting, never shown to anyone.
    signin_secret = fields.CharField(max_length=64, null=True)
    # The online part (线上参会): how to join, e.g. "腾讯会议 123-456-789".  流动党员 far away
    # sign in there with the code read out, or send a 心得 on the topic instead.
    online = fields.CharField(max_length=100, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "meeting"


class MeetingAttendee(Model):
    id = fields.IntField(primary_key=True)
    meeting: fields.ForeignKeyRelation[Meeting] = fields.ForeignKeyField(
        "models.Meeting", related_name="attendees", on_delete=fields.CASCADE
    )
    meeting_id: int
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="attendances", on_delete=fields.CASCADE
    )
    member_id: int
    # Where the member belonged when the meeting was scheduled: tallies stay right after a move.
    organisation: fields.ForeignKeyRelation[Organisation] = fields.ForeignKeyField(
        "models.Organisation", related_name="attendances", on_delete=fields.RESTRICT
    )
    organisation_id: int
    role = fields.CharEnumField(AttendeeRole, max_length=10, default=AttendeeRole.EXPECTED)
    attendance = fields.CharEnumField(Attendance, max_length=10, default=Attendance.UNKNOWN)
    reason = fields.CharField(max_length=200, null=True)  # of a leave, or of a correction
    signed_at = fields.DatetimeField(null=True)
    # How a 流动党员 far away took part: "online" (signed in during the online part) or
    # "writing" (a 心得 on the meeting's topic); None: in the room, or not at all.
    mode = fields.CharField(max_length=10, null=True)

    class Meta:
        table = "meeting_attendee"
        unique_together = (("meeting", "member"),)
        # Who was present at a period's 党课 and 主题党日: a walk over (organisation, member)
        indexes = (("organisation_id", "member_id", "attendance", "role", "meeting_id"),)


class MeetingChange(Model):
    """Who changed what and when: scheduled, rescheduled, cancelled, corrected (补录)."""

    id = fields.IntField(primary_key=True)
    meeting: fields.ForeignKeyRelation[Meeting] = fields.ForeignKeyField(
        "models.Meeting", related_name="changes", on_delete=fields.CASCADE
    )
    meeting_id: int
    by: fields.ForeignKeyNullableRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="meeting_changes", null=True, on_delete=fields.SET_NULL
    )
    by_id: int | None
    action = fields.CharField(max_length=20)
    detail: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "meeting_change"


class PlannedMeeting(Model):
    """The yearly calendar from the rules: a meeting due in a period, not yet given a time."""

    id = fields.IntField(primary_key=True)
    organisation: fields.ForeignKeyRelation[Organisation] = fields.ForeignKeyField(
        "models.Organisation", related_name="plan", on_delete=fields.CASCADE
    )
    organisation_id: int
    kind = fields.CharField(max_length=20)
    period_start = fields.DateField()
    period_end = fields.DateField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "planned_meeting"
        unique_together = (("organisation", "kind", "period_start"),)
