"""五星支部: each year's assessment of each branch — evidence gathered by the system, scores and
the level decided by people, every step with who and when.

A `StarCycle` is one year: the scoring scheme in force copied when the year is opened (staff may
edit the copy until a branch applies), the 公示 period and the finalisation.  A branch's
`BranchAssessment` moves through the stages below only by someone's act, each recorded as an
`AssessmentStep`; its item scores are the branch's own (`ItemScore`: a self-score, or the
records' figure frozen when it applied), adjusted by reviewers with a reason
(`ScoreAdjustment`).  Objections during 公示 are kept with who raised them and how staff
answered (`Objection`).  Who acted is a member id, as in `MemberChange`: the record outlives an
erased member's row.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from server.models.people import Organisation


class Stage(StrEnum):
    DRAFT = "draft"  # 自评中
    APPLIED = "applied"  # 已申报: waiting for the 党总支 (or, without one, the 党工委)
    GENERAL_REVIEWED = "general_reviewed"  # 党总支已审核: waiting for the 党工委
    COMMITTEE_REVIEWED = "committee_reviewed"  # 党工委已审核: waiting for the meeting's decision
    DECIDED = "decided"  # 党工委会议已决定: waiting for 公示
    PUBLICISED = "publicised"  # 公示中
    FINAL = "final"  # 已确定


STAGE_WORDS = {
    Stage.DRAFT: "自评中",
    Stage.APPLIED: "已申报，待党总支审核",
    Stage.GENERAL_REVIEWED: "党总支已审核，待党工委审核",
    Stage.COMMITTEE_REVIEWED: "党工委已审核，待党工委会议决定",
    Stage.DECIDED: "党工委会议已决定，待公示",
    Stage.PUBLICISED: "公示中",
    Stage.FINAL: "已确定",
}


class StarCycle(Model):
    id = fields.IntField(primary_key=True)
    year = fields.IntField(unique=True)
    # The scheme of this year (TOML, validated when saved): a copy, so a later edit of the
    # default or of next year's never changes how this year was scored.
    scheme_text = fields.TextField()
    opened_by_id = fields.IntField(null=True)
    opened_at = fields.DatetimeField()
    scheme_edited_by_id = fields.IntField(null=True)
    scheme_edited_at = fields.DatetimeField(null=True)
    publicity_start = fields.DateField(null=True)  # 公示: the first and last day
    publicity_end = fields.DateField(null=True)
    published_by_id = fields.IntField(null=True)
    published_at = fields.DatetimeField(null=True)
    finalised_by_id = fields.IntField(null=True)
    finalised_at = fields.DatetimeField(null=True)

    class Meta:
        table = "star_cycle"


class BranchAssessment(Model):
    id = fields.IntField(primary_key=True)
    cycle: fields.ForeignKeyRelation[StarCycle] = fields.ForeignKeyField(
        "models.StarCycle", related_name="assessments", on_delete=fields.RESTRICT
    )
    cycle_id: int
    branch: fields.ForeignKeyRelation[Organisation] = fields.ForeignKeyField(
        "models.Organisation", related_name="star_assessments", on_delete=fields.RESTRICT
    )
    branch_id: int
    stage = fields.CharEnumField(Stage, max_length=20, default=Stage.DRAFT)
    applied_level = fields.IntField(null=True)  # the level the branch applied for
    decided_level = fields.IntField(null=True)  # 0: 未评定星级
    meeting_on = fields.DateField(null=True)  # the 党工委 meeting that decided
    meeting_ref = fields.CharField(max_length=100, default="")
    decision_note = fields.CharField(max_length=200, default="")

    class Meta:
        table = "star_assessment"
        unique_together = (("cycle", "branch"),)


class ItemScore(Model):
    """The branch's own score of one item: a self-score with a note (and, if it wants, a
    photo), or — `auto` — the records' figure as it stood when the branch applied."""

    id = fields.IntField(primary_key=True)
    assessment: fields.ForeignKeyRelation[BranchAssessment] = fields.ForeignKeyField(
        "models.BranchAssessment", related_name="scores", on_delete=fields.CASCADE
    )
    assessment_id: int
    item = fields.CharField(max_length=40)
    score = fields.IntField()
    note = fields.CharField(max_length=500, default="")
    photo = fields.CharField(max_length=200, null=True)  # a file under the data folder
    auto = fields.BooleanField(default=False)
    figure = fields.CharField(max_length=300, default="")  # the records' figure, in words
    by_id = fields.IntField(null=True)
    at = fields.DatetimeField()

    class Meta:
        table = "star_item_score"
        unique_together = (("assessment", "item"),)


class ScoreAdjustment(Model):
    """A reviewer's change of one item's score: never without a reason."""

    id = fields.IntField(primary_key=True)
    assessment: fields.ForeignKeyRelation[BranchAssessment] = fields.ForeignKeyField(
        "models.BranchAssessment", related_name="adjustments", on_delete=fields.CASCADE
    )
    assessment_id: int
    item = fields.CharField(max_length=40)
    reviewer = fields.CharField(max_length=10)  # 党总支 or 党工委
    before = fields.IntField()
    score = fields.IntField()
    reason = fields.CharField(max_length=200)
    by_id = fields.IntField(null=True)
    at = fields.DatetimeField()

    class Meta:
        table = "star_adjustment"


class AssessmentStep(Model):
    """One step of the cycle: 自评, 申报, 党总支审核, 党工委审核, 会议决定, 公示, 确定."""

    id = fields.IntField(primary_key=True)
    assessment: fields.ForeignKeyRelation[BranchAssessment] = fields.ForeignKeyField(
        "models.BranchAssessment", related_name="steps", on_delete=fields.CASCADE
    )
    assessment_id: int
    action = fields.CharField(max_length=20)
    by_id = fields.IntField(null=True)
    at = fields.DatetimeField()
    note = fields.CharField(max_length=300, default="")

    class Meta:
        table = "star_step"


class Objection(Model):
    """An objection raised during 公示, as staff received it, and their answer."""

    id = fields.IntField(primary_key=True)
    assessment: fields.ForeignKeyRelation[BranchAssessment] = fields.ForeignKeyField(
        "models.BranchAssessment", related_name="objections", on_delete=fields.CASCADE
    )
    assessment_id: int
    raised_by = fields.CharField(max_length=50)  # who objected, as they gave their name
    text = fields.CharField(max_length=500)
    recorded_by_id = fields.IntField(null=True)
    at = fields.DatetimeField()
    answer = fields.CharField(max_length=500, null=True)
    answered_by_id = fields.IntField(null=True)
    answered_at = fields.DatetimeField(null=True)

    class Meta:
        table = "star_objection"
