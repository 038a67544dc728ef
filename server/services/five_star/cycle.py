"""The yearly cycle, one act at a time, each by a person and recorded with who and when:

    open the year (党工委) → the branch scores itself and applies (支部书记、副书记)
    → the 党总支 reviews (总支书记; skipped when the branch sits directly under the 党工委)
    → the 党工委 reviews (staff) — either review may adjust an item, never without a reason
    → the 党工委 decides in a meeting (its date and reference) → 公示 for N days, objections
    recorded and answered → final.

Nothing moves a branch's stage or level by itself: every change here is a call with the actor.
A step out of turn is refused and changes nothing (`Conflict`); so is one by the wrong person
(`NotAllowed`), or a value out of range (`ValidationFailed`, naming the field).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from server.errors import Conflict, ValidationFailed
from server.models.five_star import (
    AssessmentStep,
    BranchAssessment,
    ItemScore,
    Objection,
    ScoreAdjustment,
    Stage,
    StarCycle,
)
from server.models.people import Member, MemberStatus, Organisation, OrgKind, Role
from server.services.five_star import scheme as schemes
from server.services.five_star.evidence import Basis, Figure, figures
from server.services.five_star.scheme import Scheme
from server.services.people.access import NotAllowed
from server.services.people.org_order import in_tree_order

FIRST_YEAR, LAST_YEAR = 2000, 2100
PUBLICITY_DAYS = (3, 30)  # 公示 at least 3 and at most 30 days; 7 by default on the page
NOTE_MAX, REASON_MAX = 500, 200
STAFF_ROLES = frozenset({Role.STAFF, Role.ADMIN})
BRANCH_ROLES = frozenset({Role.SECRETARY, Role.DEPUTY_SECRETARY})
COMMITTEE, GENERAL = "党工委", "党总支"
STAR_WORDS = {0: "未达星级", 1: "一星", 2: "二星", 3: "三星", 4: "四星", 5: "五星"}


def stars(level: int | None) -> str:
    if level is None:
        return "—"
    return "★" * level + "☆" * (5 - level) if level else STAR_WORDS[0]


# --- who may act ----------------------------------------------------------------------------


def is_staff(actor: Member) -> bool:
    return actor.status == MemberStatus.ACTIVE and actor.role in STAFF_ROLES


def leads_branch(actor: Member, branch: Organisation) -> bool:
    return (
        actor.status == MemberStatus.ACTIVE
        and actor.role in BRANCH_ROLES
        and actor.organisation_id == branch.id
    )


async def general_branch_of(branch: Organisation) -> Organisation | None:
    if branch.parent_id is None:
        return None
    parent = await Organisation.get(id=branch.parent_id)
    return parent if parent.kind is OrgKind.GENERAL_BRANCH else None


async def _staff_over(actor: Member, branch: Organisation) -> None:
    if not is_staff(actor):
        raise NotAllowed("这一步由党工委工作人员办理。")
    if actor.role is Role.ADMIN:
        return
    own = await Organisation.get(id=actor.organisation_id)
    if not (branch.path == own.path or branch.path.startswith(own.path + "/")):
        raise NotAllowed("这一步由党工委工作人员办理。")


def _require_staff(actor: Member) -> None:
    if not is_staff(actor):
        raise NotAllowed("评星的年度安排、公示和确定由党工委工作人员办理。")


def _require_branch(actor: Member, branch: Organisation) -> None:
    if not leads_branch(actor, branch):
        raise NotAllowed("自评和申报由本支部书记或副书记办理。")


# --- the year and its scheme ---------------------------------------------------------------


async def scheme_in_force() -> str:
    """Last opened year's scheme, or the default file the first time."""
    latest = await StarCycle.all().order_by("-year").first()
    return latest.scheme_text if latest is not None else schemes.default_text()


def check_year(year: int) -> int:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValidationFailed(f"年度应在 {FIRST_YEAR} 到 {LAST_YEAR} 之间。", field="year")
    return year


async def cycle_of(year: int) -> StarCycle | None:
    return await StarCycle.get_or_none(year=year)


async def open_cycle(actor: Member, year: int, now: datetime) -> StarCycle:
    _require_staff(actor)
    check_year(year)
    if await StarCycle.exists(year=year):
        raise Conflict(f"{year}年度评星已经开启。", field="year")
    text = await scheme_in_force()
    schemes.load(text)  # the copy must be a scheme that loads
    return await StarCycle.create(year=year, scheme_text=text, opened_by_id=actor.id, opened_at=now)


def scheme_of(cycle: StarCycle) -> Scheme:
    return schemes.load(cycle.scheme_text)


async def save_scheme(actor: Member, cycle: StarCycle, text: str, now: datetime) -> Scheme:
    """Staff edit the year's copy until a branch has applied; checked whole before it is kept."""
    _require_staff(actor)
    if await BranchAssessment.filter(cycle_id=cycle.id).exclude(stage=Stage.DRAFT).exists():
        raise Conflict("已有支部申报，本年度的评星方案不能再修改。", field="scheme")
    loaded = schemes.load(text)
    cycle.scheme_text = text
    cycle.scheme_edited_by_id, cycle.scheme_edited_at = actor.id, now
    await cycle.save(update_fields=["scheme_text", "scheme_edited_by_id", "scheme_edited_at"])
    return loaded


# --- a branch's assessment -----------------------------------------------------------------


async def assessment_of(cycle: StarCycle, branch: Organisation) -> BranchAssessment:
    if branch.kind is not OrgKind.BRANCH:
        raise ValidationFailed("五星支部按党支部评定，请选择一个党支部。", field="org")
    try:
        found, _ = await BranchAssessment.get_or_create(cycle_id=cycle.id, branch_id=branch.id)
    except IntegrityError:  # another request created it a moment ago
        found = await BranchAssessment.get(cycle_id=cycle.id, branch_id=branch.id)
    return found


async def _step(assessment: BranchAssessment, action: str, actor: Member | None, now: datetime,
                note: str = "") -> None:  # fmt: skip
    await AssessmentStep.create(
        assessment_id=assessment.id,
        action=action,
        by_id=actor.id if actor else None,
        at=now,
        note=note[:300],
    )


def _clean(text: str, field: str, limit: int, *, required: bool, what: str) -> str:
    value = (text or "").strip()
    if required and not value:
        raise ValidationFailed(f"请填写{what}。", field=field)
    if len(value) > limit:
        raise ValidationFailed(f"{what}不能超过 {limit} 个字。", field=field)
    return value


def _score(raw: int, points: int, field: str = "score") -> int:
    if not 0 <= raw <= points:
        raise ValidationFailed(
            f"得分应在 0 到 {points} 分之间（本项满分 {points} 分）。", field=field
        )
    return raw


async def check_self_score(
    actor: Member, assessment: BranchAssessment, item_key: str, score: int, note: str
) -> tuple[str, int, str]:
    """What `self_score` checks, writing nothing: the item's key, the score and the note."""
    branch = await Organisation.get(id=assessment.branch_id)
    _require_branch(actor, branch)
    cycle = await StarCycle.get(id=assessment.cycle_id)
    item = scheme_of(cycle).item(item_key)
    if item is None:
        raise ValidationFailed("没有这个评分指标。", field="item")
    if item.auto:
        raise ValidationFailed(f"「{item.name}」由系统按记录计分，不需自评。", field="item")
    if assessment.stage is not Stage.DRAFT:
        raise Conflict("已经申报，不能再修改自评分。", field="item")
    value = _score(score, item.points)
    return item.key, value, _clean(note, "note", NOTE_MAX, required=False, what="说明")


async def self_score(
    actor: Member,
    assessment: BranchAssessment,
    item_key: str,
    score: int,
    note: str,
    now: datetime,
    *,
    photo: str | None = None,
) -> ItemScore:
    """The branch scores one of its own items (not one the records fill), while it is 自评中;
    a photo is never required, and one kept before stays unless another is sent."""
    key, value, text = await check_self_score(actor, assessment, item_key, score, note)
    row = await ItemScore.get_or_none(assessment_id=assessment.id, item=key)
    if row is None:
        return await ItemScore.create(
            assessment_id=assessment.id, item=key, score=value, note=text,
            photo=photo, by_id=actor.id, at=now,
        )  # fmt: skip
    row.score, row.note, row.by_id, row.at = value, text, actor.id, now
    if photo is not None:
        row.photo = photo
    await row.save()
    return row


async def own_scores(assessment: BranchAssessment) -> dict[str, ItemScore]:
    return {s.item: s for s in await ItemScore.filter(assessment_id=assessment.id)}


async def adjustments(assessment: BranchAssessment) -> list[ScoreAdjustment]:
    return await ScoreAdjustment.filter(assessment_id=assessment.id).order_by("id")


async def current_scores(
    assessment: BranchAssessment, live: dict[str, Figure] | None = None
) -> dict[str, int]:
    """Each item's score as it stands: the last adjustment, else the branch's own (or, before
    it applied, the records' live figure for a record item)."""
    out = {key: row.score for key, row in (await own_scores(assessment)).items()}
    if live is not None and assessment.stage is Stage.DRAFT:
        out |= {key: figure.score for key, figure in live.items()}
    for adjustment in await adjustments(assessment):
        out[adjustment.item] = adjustment.score
    return out


def open_items(scheme: Scheme, own: dict[str, ItemScore]) -> list[str]:
    return [i.key for i in scheme.items() if not i.auto and i.key not in own]


async def apply(
    actor: Member, assessment: BranchAssessment, level: int, basis: Basis
) -> BranchAssessment:
    """申报: every self item scored; the records' figures read now and frozen as they stand; a
    level the scores reach."""
    now = basis.now
    branch = await Organisation.get(id=assessment.branch_id)
    _require_branch(actor, branch)
    if assessment.stage is not Stage.DRAFT:
        raise Conflict("本年度已经申报过了。", field="level")
    cycle = await StarCycle.get(id=assessment.cycle_id)
    scheme = scheme_of(cycle)
    own = await own_scores(assessment)
    missing = open_items(scheme, own)
    if missing:
        names = "、".join(i.name for i in scheme.items() if i.key in missing)
        raise ValidationFailed(f"还有自评指标没有打分：{names}。", field="item")
    if not 1 <= level <= 5:
        raise ValidationFailed("申报星级应为一到五星。", field="level")
    live = await figures(scheme, branch, cycle.year, basis)
    scores = {key: row.score for key, row in own.items()} | {
        key: figure.score for key, figure in live.items()
    }
    reached = scheme.level(scores)
    if level > reached:
        raise ValidationFailed(
            f"申报星级不能高于得分达到的星级（{STAR_WORDS[reached]}）。", field="level"
        )
    async with in_transaction():
        fresh = await BranchAssessment.select_for_update().get(id=assessment.id)
        if fresh.stage is not Stage.DRAFT:
            raise Conflict("本年度已经申报过了。", field="level")
        for key, figure in live.items():
            await ItemScore.update_or_create(
                defaults={"score": figure.score, "auto": True, "figure": figure.words[:300],
                          "note": "", "by_id": actor.id, "at": now},
                assessment_id=assessment.id, item=key,
            )  # fmt: skip
        fresh.stage, fresh.applied_level = Stage.APPLIED, level
        await fresh.save(update_fields=["stage", "applied_level"])
        await _step(
            fresh, "申报", actor, now, f"申报{STAR_WORDS[level]}，得分 {sum(scores.values())}"
        )
    return fresh


async def reviewer(assessment: BranchAssessment) -> str | None:
    """Who reviews next: 党总支, 党工委, or nobody (not waiting for a review)."""
    if assessment.stage is Stage.APPLIED:
        branch = await Organisation.get(id=assessment.branch_id)
        return GENERAL if await general_branch_of(branch) is not None else COMMITTEE
    if assessment.stage is Stage.GENERAL_REVIEWED:
        return COMMITTEE
    return None


async def _require_reviewer(actor: Member, assessment: BranchAssessment) -> str:
    who = await reviewer(assessment)
    if who is None:
        raise Conflict("现在不是审核环节。", field="stage")
    branch = await Organisation.get(id=assessment.branch_id)
    if who == GENERAL:
        general = await general_branch_of(branch)
        assert general is not None
        if not (
            actor.status == MemberStatus.ACTIVE
            and actor.role is Role.GENERAL_SECRETARY
            and actor.organisation_id == general.id
        ):
            raise NotAllowed(f"这一步由{general.name}审核。")
    else:
        await _staff_over(actor, branch)
    return who


async def adjust(
    actor: Member,
    assessment: BranchAssessment,
    item_key: str,
    score: int,
    reason: str,
    now: datetime,
) -> ScoreAdjustment:
    """A reviewer changes one item's score at their review; the reason is required."""
    who = await _require_reviewer(actor, assessment)
    cycle = await StarCycle.get(id=assessment.cycle_id)
    item = scheme_of(cycle).item(item_key)
    if item is None:
        raise ValidationFailed("没有这个评分指标。", field="item")
    value = _score(score, item.points)
    why = _clean(reason, "reason", REASON_MAX, required=True, what="调整理由")
    before = (await current_scores(assessment)).get(item.key, 0)
    return await ScoreAdjustment.create(
        assessment_id=assessment.id, item=item.key, reviewer=who, before=before, score=value,
        reason=why, by_id=actor.id, at=now,
    )  # fmt: skip


async def review(
    actor: Member, assessment: BranchAssessment, note: str, now: datetime
) -> BranchAssessment:
    """The 党总支's or the 党工委's review is done: the assessment goes on to the next."""
    who = await _require_reviewer(actor, assessment)
    text = _clean(note, "note", 300, required=False, what="审核意见")
    after = Stage.GENERAL_REVIEWED if who == GENERAL else Stage.COMMITTEE_REVIEWED
    async with in_transaction():
        fresh = await BranchAssessment.select_for_update().get(id=assessment.id)
        if fresh.stage is not assessment.stage:
            raise Conflict("这份评星已被他人处理，请刷新后再看。", field="stage")
        fresh.stage = after
        await fresh.save(update_fields=["stage"])
        await _step(fresh, f"{who}审核", actor, now, text)
    return fresh


def check_meeting_day(day: date, cycle: StarCycle, today: date) -> date:
    if day > today:
        raise ValidationFailed("会议日期不能晚于今天。", field="meeting_on")
    if day.year < cycle.year:
        raise ValidationFailed(f"会议日期应在{cycle.year}年或以后。", field="meeting_on")
    return day


async def decide(
    actor: Member,
    assessment: BranchAssessment,
    level: int,
    meeting_on: date,
    meeting_ref: str,
    note: str,
    *,
    today: date,
    now: datetime,
) -> BranchAssessment:
    """党工委会议决定: a level no higher than the scores reach; a lower one says why."""
    branch = await Organisation.get(id=assessment.branch_id)
    await _staff_over(actor, branch)
    if assessment.stage not in (Stage.COMMITTEE_REVIEWED, Stage.DECIDED):
        raise Conflict("党工委审核后才能由会议决定星级。", field="stage")
    if not 0 <= level <= 5:
        raise ValidationFailed("星级应为零到五星（零为未达星级）。", field="level")
    cycle = await StarCycle.get(id=assessment.cycle_id)
    reached = scheme_of(cycle).level(await current_scores(assessment))
    if level > reached:
        raise ValidationFailed(
            f"决定的星级不能高于得分达到的星级（{STAR_WORDS[reached]}）。", field="level"
        )
    ref = _clean(meeting_ref, "meeting_ref", 100, required=True, what="会议名称或文号")
    why = _clean(note, "note", REASON_MAX, required=level < reached, what="定为较低星级的理由")
    day = check_meeting_day(meeting_on, cycle, today)
    async with in_transaction():
        fresh = await BranchAssessment.select_for_update().get(id=assessment.id)
        if fresh.stage not in (Stage.COMMITTEE_REVIEWED, Stage.DECIDED):
            raise Conflict("党工委审核后才能由会议决定星级。", field="stage")
        fresh.stage, fresh.decided_level = Stage.DECIDED, level
        fresh.meeting_on, fresh.meeting_ref, fresh.decision_note = day, ref, why
        await fresh.save()
        when = f"{day.year}年{day.month}月{day.day}日"
        await _step(fresh, "会议决定", actor, now, f"{when}{ref}：{STAR_WORDS[level]}。{why}")
    return fresh


# --- 公示, objections, final -----------------------------------------------------------------


@dataclass(frozen=True)
class Listed:
    assessment: BranchAssessment
    branch: Organisation
    level: int


async def publicity_list(cycle: StarCycle) -> list[Listed]:
    """The 公示 list: branch and level, in the tree's order — never by score."""
    rows = await BranchAssessment.filter(
        cycle_id=cycle.id, stage__in=[Stage.PUBLICISED, Stage.FINAL]
    ).prefetch_related("branch")
    by_branch = {r.branch.id: r for r in rows}
    ordered = await in_tree_order([r.branch for r in rows])
    return [Listed(by_branch[b.id], b, by_branch[b.id].decided_level or 0) for b in ordered]


async def publish(
    actor: Member, cycle: StarCycle, days: int, *, today: date, now: datetime
) -> list[Listed]:
    _require_staff(actor)
    if cycle.publicity_start is not None:
        raise Conflict("本年度已经公示。", field="days")
    low, high = PUBLICITY_DAYS
    if not low <= days <= high:
        raise ValidationFailed(f"公示期应为 {low} 到 {high} 天。", field="days")
    rows = await BranchAssessment.filter(cycle_id=cycle.id).exclude(stage=Stage.DRAFT)
    waiting = [r for r in rows if r.stage is not Stage.DECIDED]
    if waiting or not rows:
        raise Conflict(
            f"还有 {len(waiting)} 个已申报的支部没有经会议决定，全部决定后再公示。"
            if rows
            else "还没有支部经会议决定星级。",
            field="days",
        )
    async with in_transaction():
        cycle.publicity_start, cycle.publicity_end = today, today + timedelta(days=days - 1)
        cycle.published_by_id, cycle.published_at = actor.id, now
        await cycle.save()
        for row in rows:
            row.stage = Stage.PUBLICISED
            await row.save(update_fields=["stage"])
            await _step(row, "公示", actor, now, f"公示至{_day(cycle.publicity_end)}")
    return await publicity_list(cycle)


def _day(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


async def record_objection(
    actor: Member,
    assessment: BranchAssessment,
    raised_by: str,
    text: str,
    *,
    today: date,
    now: datetime,
) -> Objection:
    branch = await Organisation.get(id=assessment.branch_id)
    await _staff_over(actor, branch)
    cycle = await StarCycle.get(id=assessment.cycle_id)
    if assessment.stage is not Stage.PUBLICISED or cycle.publicity_end is None:
        raise Conflict("只有公示中的支部可以登记异议。", field="text")
    if today > cycle.publicity_end:
        raise Conflict(f"公示期已于{_day(cycle.publicity_end)}结束。", field="text")
    who = _clean(raised_by, "raised_by", 50, required=True, what="提出人")
    what = _clean(text, "text", NOTE_MAX, required=True, what="异议内容")
    found = await Objection.create(
        assessment_id=assessment.id, raised_by=who, text=what, recorded_by_id=actor.id, at=now
    )
    await _step(assessment, "异议", actor, now, f"{who}：{what}")
    return found


async def answer_objection(
    actor: Member, objection: Objection, text: str, now: datetime
) -> Objection:
    assessment = await BranchAssessment.get(id=objection.assessment_id)
    branch = await Organisation.get(id=assessment.branch_id)
    await _staff_over(actor, branch)
    if objection.answered_at is not None:
        raise Conflict("这条异议已经答复。", field="answer")
    objection.answer = _clean(text, "answer", NOTE_MAX, required=True, what="答复")
    objection.answered_by_id, objection.answered_at = actor.id, now
    await objection.save()
    await _step(assessment, "答复异议", actor, now, objection.answer)
    return objection


async def finalise(actor: Member, cycle: StarCycle, *, today: date, now: datetime) -> int:
    """After the 公示 period, every objection answered: the levels are final."""
    _require_staff(actor)
    if cycle.publicity_end is None:
        raise Conflict("还没有公示，不能确定。", field="stage")
    if cycle.finalised_at is not None:
        raise Conflict("本年度星级已经确定。", field="stage")
    if today <= cycle.publicity_end:
        raise Conflict(f"公示期到{_day(cycle.publicity_end)}结束，之后才能确定。", field="stage")
    rows = await BranchAssessment.filter(cycle_id=cycle.id, stage=Stage.PUBLICISED)
    ids = [r.id for r in rows]
    if await Objection.filter(assessment_id__in=ids, answered_at__isnull=True).exists():
        raise Conflict("还有异议没有答复，答复后才能确定。", field="stage")
    async with in_transaction():
        for row in rows:
            row.stage = Stage.FINAL
            await row.save(update_fields=["stage"])
            await _step(row, "确定", actor, now, STAR_WORDS[row.decided_level or 0])
        cycle.finalised_by_id, cycle.finalised_at = actor.id, now
        await cycle.save(update_fields=["finalised_by_id", "finalised_at"])
    return len(rows)
