"""What members do that feeds the tallies: one row per event, with the organisation at the time.

Each table has a unique key that makes the event happen at most once (a member checks in once
a day; reads a unit once a day; earns a given award once), so retries, double taps and two
processes can never count anything twice.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from server.models.people import Member, Organisation


def _member(related_name: str) -> fields.ForeignKeyRelation[Member]:
    return fields.ForeignKeyField(
        "models.Member", related_name=related_name, on_delete=fields.CASCADE
    )


def _organisation_then(related_name: str) -> fields.ForeignKeyRelation[Organisation]:
    """Where the member belonged when it happened: tallies stay right after a transfer."""
    return fields.ForeignKeyField(
        "models.Organisation", related_name=related_name, on_delete=fields.RESTRICT
    )


class CheckIn(Model):
    id = fields.IntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = _member("check_ins")
    member_id: int
    organisation: fields.ForeignKeyRelation[Organisation] = _organisation_then("check_ins")
    organisation_id: int
    day = fields.DateField()  # in DANGJIAN_TZ
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "check_in"
        unique_together = (("member", "day"),)
        indexes = (("day", "organisation_id"),)  # a day counted live, per organisation


class PointsReason(StrEnum):
    CHECK_IN = "check_in"
    READING = "reading"
    QUIZ = "quiz"
    SUBMISSION = "submission"
    MEETING = "meeting"


class PointsEntry(Model):
    """Points, awarded by the server only. The deed names what earned them, so it pays once."""

    id = fields.IntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = _member("points")
    member_id: int
    organisation: fields.ForeignKeyRelation[Organisation] = _organisation_then("points")
    organisation_id: int
    day = fields.DateField()
    reason = fields.CharEnumField(PointsReason, max_length=20)
    deed = fields.CharField(max_length=100)
    points = fields.IntField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "points_entry"
        unique_together = (("member", "deed"),)


class PointsDay(Model):
    """A member's points on one day, kept beside the entries so the daily cap holds at once.

    Reading the day's entries and then writing one let two deeds at the same moment both see
    room (11 of 10).  This row is raised by a conditional UPDATE instead: one writer wins.
    """

    id = fields.IntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = _member("points_days")
    member_id: int
    day = fields.DateField()
    points = fields.IntField(default=0)

    class Meta:
        table = "points_day"
        unique_together = (("member", "day"),)


class UnitReading(Model):
    """A member opened a study unit: one row per unit per day.

    `read_full` is set once the whole unit was opened (全文 in chat, the full text in the
    mini-program); a digest skimmed past stays `read_full=False` and is no study at all.  A day
    with a full reading (or a finished quiz) is one 自学 of that member's, however many units.
    """

    id = fields.IntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = _member("readings")
    member_id: int
    organisation: fields.ForeignKeyRelation[Organisation] = _organisation_then("readings")
    organisation_id: int
    unit_id = fields.CharField(max_length=64)
    day = fields.DateField()
    read_full = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "unit_reading"
        unique_together = (("member", "unit_id", "day"),)
        # A day counted live, and who studied in a period (a skip over the pairs, see report)
        indexes = (("day", "organisation_id"), ("organisation_id", "member_id", "day"))


class QuizAttempt(Model):
    """One 答题 session of five questions. finished_at stays empty when it expired unfinished."""

    id = fields.IntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = _member("quiz_attempts")
    member_id: int
    organisation: fields.ForeignKeyRelation[Organisation] = _organisation_then("quiz_attempts")
    organisation_id: int
    day = fields.DateField()
    questions: fields.JSONField[list[list[Any]]] = (
        fields.JSONField()
    )  # [[unit_id, question_index], ...]
    score = fields.IntField(default=0)
    finished_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "quiz_attempt"
        indexes = (("day", "organisation_id"), ("organisation_id", "member_id", "day"))


class QuizAnswer(Model):
    """One answered question: what the weakest-topics-first choice learns from."""

    id = fields.IntField(primary_key=True)
    attempt: fields.ForeignKeyRelation[QuizAttempt] = fields.ForeignKeyField(
        "models.QuizAttempt", related_name="answers", on_delete=fields.CASCADE
    )
    attempt_id: int
    member: fields.ForeignKeyRelation[Member] = _member("quiz_answers")
    member_id: int
    position = fields.IntField()
    unit_id = fields.CharField(max_length=64)
    tag = fields.CharField(max_length=50)  # the unit's first tag: its topic
    correct = fields.BooleanField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "quiz_answer"
        unique_together = (("attempt", "position"),)


class SubmissionStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    RETURNED = "returned"


SUBMISSION_STATUS_LABELS = {
    SubmissionStatus.PENDING: "待审核",
    SubmissionStatus.APPROVED: "已通过",
    SubmissionStatus.RETURNED: "已退回",
}


class Submission(Model):
    """A 心得体会: each one handed in is an experience exchange, reviewed by the branch.

    The digest (of the text without spaces) is unique per member, so a double tap, a retry or
    two processes store the same text once.
    """

    id = fields.IntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = _member("submissions")
    member_id: int
    organisation: fields.ForeignKeyRelation[Organisation] = _organisation_then("submissions")
    organisation_id: int
    day = fields.DateField()
    content = fields.TextField()
    length = fields.IntField()  # characters that count: no spaces, punctuation or emoji
    digest = fields.CharField(max_length=64)
    via = fields.CharField(max_length=10, default="text")  # text or voice (recognised)
    unit_id = fields.CharField(max_length=64, null=True)  # the study unit it reflects on
    # A 流动党员's 心得 on a meeting's topic, handed in instead of coming (会议编号).
    meeting_id = fields.IntField(null=True)
    status = fields.CharEnumField(
        SubmissionStatus, max_length=10, default=SubmissionStatus.PENDING, db_index=True
    )
    # A near-copy: what it resembles (a submission number or a unit id) and how much.
    resembles = fields.CharField(max_length=100, null=True)
    similarity = fields.FloatField(null=True)
    reviewer: fields.ForeignKeyNullableRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="reviews", null=True, on_delete=fields.SET_NULL
    )
    reviewer_id: int | None
    reviewed_at = fields.DatetimeField(null=True)
    return_reason = fields.CharField(max_length=200, null=True)
    notified_at = fields.DatetimeField(null=True)  # the member was told the outcome
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "submission"
        unique_together = (("member", "digest"),)
        indexes = (("day", "organisation_id"),)
