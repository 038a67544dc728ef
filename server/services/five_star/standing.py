"""Where a branch stands in the year: each area's points so far, what is still open, and the
next step of the cycle — the to-do a secretary reads mid-year (`支部评星`) and the dashboard
shows above the branch's items.

Before the 党工委 opens the year, the scheme in force is read so the branch can see how it is
doing; nothing is stored by looking.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from server.models.five_star import (
    AssessmentStep,
    BranchAssessment,
    ItemScore,
    ScoreAdjustment,
    Stage,
    StarCycle,
)
from server.models.people import Organisation
from server.services.five_star import cycle as cycles
from server.services.five_star import scheme as schemes
from server.services.five_star.evidence import Basis, Figure, figures
from server.services.five_star.scheme import Area, Item, Scheme


@dataclass(frozen=True)
class AreaStanding:
    area: Area
    points: int  # so far
    out_of: int


@dataclass
class BranchStanding:
    branch: Organisation
    year: int
    cycle: StarCycle | None
    scheme: Scheme
    assessment: BranchAssessment | None
    figures: dict[str, Figure]  # the records' figures now (live)
    own: dict[str, ItemScore]
    adjustments: list[ScoreAdjustment]
    steps: list[AssessmentStep]
    scores: dict[str, int]  # each item's score as it stands
    areas: list[AreaStanding] = field(default_factory=list)
    open: list[str] = field(default_factory=list)  # record items not yet full, in words
    unscored: list[Item] = field(default_factory=list)  # self items not yet scored
    next_step: str = ""

    @property
    def total(self) -> int:
        return sum(a.points for a in self.areas)

    @property
    def reached(self) -> int:
        return self.scheme.level(self.scores)

    @property
    def stage(self) -> Stage | None:
        return self.assessment.stage if self.assessment is not None else None


async def branch_standing(branch: Organisation, year: int, basis: Basis) -> BranchStanding:
    cycle = await cycles.cycle_of(year)
    scheme = cycles.scheme_of(cycle) if cycle else schemes.load(await cycles.scheme_in_force())
    assessment = (
        await BranchAssessment.get_or_none(cycle_id=cycle.id, branch_id=branch.id)
        if cycle
        else None
    )
    live = await figures(scheme, branch, year, basis)
    own: dict[str, ItemScore] = {}
    adjusted: list[ScoreAdjustment] = []
    steps: list[AssessmentStep] = []
    if assessment is not None:
        own = await cycles.own_scores(assessment)
        adjusted = await cycles.adjustments(assessment)
        steps = await AssessmentStep.filter(assessment_id=assessment.id).order_by("id")
        scores = await cycles.current_scores(assessment, live)
    else:
        scores = {key: f.score for key, f in live.items()}
    found = BranchStanding(
        branch, year, cycle, scheme, assessment, live, own, adjusted, steps, scores
    )
    found.areas = [
        AreaStanding(a, sum(scores.get(i.key, 0) for i in a.items), a.points) for a in scheme.areas
    ]
    drafting = assessment is None or assessment.stage is Stage.DRAFT
    if drafting:
        found.open = [
            f"{item.name}：{live[item.key].words}（{live[item.key].score}/{item.points}分）"
            for item in scheme.items()
            if item.auto and live[item.key].open
        ]
        found.unscored = [i for i in scheme.items() if not i.auto and i.key not in own]
    found.next_step = await _next(found)
    return found


async def _next(s: BranchStanding) -> str:
    if s.cycle is None:
        return f"党工委尚未开启{s.year}年度评星；以上按现行方案和记录计算，供对照。"
    stage = s.stage or Stage.DRAFT
    if stage is Stage.DRAFT:
        if cycles.open_items(s.scheme, s.own):
            return "下一步：在后台「五星支部」为自评指标打分，全部打分后申报星级。"
        if not s.reached:
            return "自评已完成，得分尚未达到一星：可对照待办补齐后再申报。"
        return f"下一步：在后台「五星支部」申报星级（得分已达{cycles.STAR_WORDS[s.reached]}）。"
    assert s.assessment is not None
    if stage in (Stage.APPLIED, Stage.GENERAL_REVIEWED):
        who = await cycles.reviewer(s.assessment)
        return f"已申报{cycles.STAR_WORDS[s.assessment.applied_level or 0]}，下一步：{who}审核。"
    if stage is Stage.COMMITTEE_REVIEWED:
        return "党工委已审核，下一步：党工委会议决定星级。"
    level = cycles.STAR_WORDS[s.assessment.decided_level or 0]
    if stage is Stage.DECIDED:
        return f"党工委会议已决定为{level}，下一步：公示。"
    if stage is Stage.PUBLICISED and s.cycle.publicity_end is not None:
        end = s.cycle.publicity_end
        return f"{level}公示中，公示期至{end.year}年{end.month}月{end.day}日。"
    return f"{s.year}年度星级已确定：{level}。"
