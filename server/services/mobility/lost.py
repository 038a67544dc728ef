"""失联 by the rules (《中国共产党党员教育管理工作条例》第二十四条): the branch searches for a
member it has lost touch with, records each attempt, and either restores contact (saying how
it was handled) or — after six months without contact and a search — takes the question to
the 支部党员大会, which may decide to stop the member's 党籍.  Two years after that, still
without contact, the branch is reminded of the 除名 procedure (自行脱党).

Every step is the branch's, dated and signed; nothing here changes a member's standing by
itself.  Stopping 党籍 sets `MemberStatus.STOPPED` — out of every count of members and every
meeting's 应到 — because the branch meeting decided it, and contact restored after that is
recorded but the 党籍 is restored only by the procedure above the branch (上级党委).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from server.days import chinese
from server.errors import Conflict, NotFound, ValidationFailed
from server.models.meetings import Meeting, MeetingStatus, MeetingType
from server.models.mobility import (
    FlowStatus,
    LostAttempt,
    LostCase,
    LostStage,
    MobileContact,
    MobileMember,
)
from server.models.people import Member, MemberStatus
from server.services.meetings import attendance, scheduling
from server.services.mobility.outgoing import open_record
from server.services.mobility.standing import SILENT_MONTHS, open_cases, standings
from server.services.mobility.who import forget, require_keeper
from server.services.mobility.words import (
    METHODS,
    check_text,
    months_before,
    split_leading,
    years_after,
)
from server.services.people.identities import IdentityDirectory

REMOVAL_AFTER_YEARS = 2
SEARCH_EXAMPLE = "查找 张三 电话 拨打两次无人接听"


async def case_of(member_id: int) -> LostCase | None:
    """The member's case still open (searching), or None."""
    return await LostCase.get_or_none(member_id=member_id, current=f"member:{member_id}")


async def latest_case(member_id: int) -> LostCase | None:
    return await LostCase.filter(member_id=member_id).order_by("-id").first()


async def search(
    actor: Member | None, target: Member, text: str, today: date, now: datetime
) -> tuple[LostCase, LostAttempt]:
    """查找 姓名 方式 经过: one dated attempt; the first opens the case."""
    await require_keeper(actor, target)
    if target.status != MemberStatus.ACTIVE:
        raise Conflict(f"{target.name}不是在册党员（可能已停止党籍或转出）。")
    if target.incoming:
        raise Conflict(
            f"{target.name}是流入党员，失联的查找和处置由其组织关系所在党组织负责；请告知该组织，"
            f"离开本街道的可 结束流动 {target.name} 说明。"
        )
    method, text = split_leading(text, METHODS, "其他")
    note = check_text(text, "note", 300, SEARCH_EXAMPLE)
    by = actor.id if actor else None
    # The case first, on its own: on PostgreSQL a unique violation inside a transaction
    # aborts it, and two first searches at once are one case with two attempts.
    case = await case_of(target.id)
    if case is None:
        try:
            case = await LostCase.create(
                member_id=target.id,
                branch_id=target.organisation_id,
                current=f"member:{target.id}",
                opened_on=today,
                opened_by_id=by,
                created_at=now.astimezone(UTC),
            )
        except IntegrityError:  # opened a moment ago by another request
            case = await LostCase.get(member_id=target.id, current=f"member:{target.id}")
    attempt = await LostAttempt.create(
        case_id=case.id,
        day=today,
        method=method,
        note=note,
        by_id=by,
        created_at=now.astimezone(UTC),
    )
    return case, attempt


async def restore(
    actor: Member | None, target: Member, handling: str, today: date, now: datetime
) -> LostCase:
    """恢复联系 姓名 处理情况: found — and how the branch dealt with it (批评教育, 补交党费 …)."""
    await require_keeper(actor, target)
    case = await case_of(target.id)
    if case is None:
        stopped = await latest_case(target.id)
        if stopped is not None and stopped.stage == LostStage.STOPPED:
            return await close(actor, target, f"停止党籍后恢复联系：{handling}", today)
        raise NotFound(f"{target.name}没有正在查找的失联记录。")
    handling = check_text(
        handling, "handling", 300, "恢复联系 张三 已取得联系，进行了批评教育，补交了党费"
    )
    async with in_transaction() as conn:
        restored = (
            await LostCase.filter(id=case.id, current__not_isnull=True)
            .using_db(conn)
            .update(stage=LostStage.RESTORED, current=None, restored_on=today, handling=handling)
        )
        if restored:  # found is a contact: the six months and the cadence run from today
            await MobileContact.create(
                member_id=target.id,
                day=today,
                channel="其他",
                note=f"恢复联系：{handling}"[:500],
                by_id=actor.id if actor else None,
                created_at=now.astimezone(UTC),
                using_db=conn,
            )
    await case.refresh_from_db()
    return case


async def stop(
    actor: Member | None,
    target: Member,
    meeting_number: int,
    decision: str,
    today: date,
    now: datetime,
    zone: ZoneInfo,
    identities: IdentityDirectory | None = None,
) -> LostCase:
    """停止党籍 姓名 会议编号 决定: recorded only for a member whose 党籍 the branch holds (not a
    流入 member's: their own organisation decides), on a 支部党员大会 of their branch held since the
    search began and with a quorum of those with a vote, after at least one attempt, and once six
    months have passed without word of them — counted from the latest word, 党费 or the day the
    branch recorded them as mobile, or, when nothing at all is known here, from the search."""
    await require_keeper(actor, target)
    if target.incoming:
        raise Conflict(
            f"{target.name}是流入党员，党籍在其组织关系所在党组织，应由该组织作出决定；"
            f"本支部可 结束流动 {target.name} 说明，并告知其所在党组织。"
        )
    case = await case_of(target.id)
    if case is None:
        raise Conflict(f"请先查找{target.name}并记录查找经过（{SEARCH_EXAMPLE}）。")
    if not await LostAttempt.exists(case_id=case.id):
        raise Conflict("还没有查找记录，请先记录查找经过。")
    meeting = await _deciding_meeting(target, meeting_number, case, now, zone)
    decision = check_text(decision, "decision", 300, "经支部党员大会讨论，决定停止其党籍")
    record = await open_record(target.id)
    [line] = await standings([record] if record else [], [case], today, now, zone, 30)
    since = line.silent_since or case.opened_on
    if since > months_before(today, SILENT_MONTHS):
        said = "最近一次音讯" if line.silent_since else "开始查找"
        raise Conflict(f"{target.name}{said}在{chinese(since)}，失去联系不满6个月，不能停止党籍。")
    async with in_transaction() as conn:
        changed = (
            await LostCase.filter(id=case.id, stage=LostStage.SEARCHING)
            .using_db(conn)
            .update(
                stage=LostStage.STOPPED,
                current=None,
                stopped_on=today,
                meeting_id=meeting.id,
                decision=decision,
            )
        )
        if not changed:
            raise Conflict("这条失联记录已经处理过了。")
        await (
            Member.filter(id=target.id)
            .using_db(conn)
            .update(status=MemberStatus.STOPPED, is_mobile=False)
        )
        # No longer a 流动党员 either: the case, not the 流出 record, is the branch's business now.
        await (
            MobileMember.filter(member_id=target.id, current__not_isnull=True)
            .using_db(conn)
            .update(status=FlowStatus.ENDED, current=None, ended_on=today, end_note="停止党籍")
        )
    await forget(target.id, identities)
    await case.refresh_from_db()
    return case


async def close(actor: Member | None, target: Member, note: str, today: date) -> LostCase:
    """办结: after 停止党籍, record the 除名 done by the procedure, or contact restored."""
    await require_keeper(actor, target)
    case = await latest_case(target.id)
    if case is None or case.stage != LostStage.STOPPED:
        raise NotFound(f"{target.name}没有已停止党籍的记录。")
    note = check_text(note, "note", 300, "办结 张三 经党委批准按自行脱党除名")
    await LostCase.filter(id=case.id, stage=LostStage.STOPPED).update(
        stage=LostStage.CLOSED, closed_on=today, closed_note=note
    )
    await case.refresh_from_db()
    return case


async def _deciding_meeting(
    target: Member, number: int, case: LostCase, now: datetime, zone: ZoneInfo
) -> Meeting:
    """The 支部党员大会 that decided: the member's branch's, held (not cancelled, over), on or
    after the day the search began, with more than half of those with a vote present."""
    meeting = await Meeting.get_or_none(id=number)
    if (
        meeting is not None
        and meeting.organisation_id == target.organisation_id
        and meeting.kind != MeetingType.BRANCH_MEETING
    ):
        raise ValidationFailed(
            f"编号 {number} 是{meeting.kind}，停止党籍须经支部党员大会讨论决定。", field="meeting"
        )
    if meeting is None or meeting.organisation_id != target.organisation_id:
        raise ValidationFailed(
            f"编号 {number} 不是{target.name}所在支部的支部党员大会。", field="meeting"
        )
    if meeting.status == MeetingStatus.CANCELLED or meeting.ends_at > now:
        raise ValidationFailed("这次支部党员大会还没有开过（或已取消）。", field="meeting")
    if meeting.starts_at.astimezone(zone).date() < case.opened_on:
        raise ValidationFailed(
            f"编号 {number} 的支部党员大会开在查找开始（{chinese(case.opened_on)}）之前，"
            "不能作为停止党籍的决定。",
            field="meeting",
        )
    roster = await scheduling.roster(meeting, now)
    if not attendance.quorum(meeting, roster.voting_counts):
        raise ValidationFailed(
            f"编号 {number} 的支部党员大会有表决权的到会人数未超过应到会有表决权人数的一半，"
            "不能作出决定（漏记的出席请先 补录）。",
            field="meeting",
        )
    return meeting


def removal_due_on(case: LostCase) -> date | None:
    """Two years after 停止党籍: the day the branch is reminded of the 除名 procedure."""
    if case.stage != LostStage.STOPPED or case.stopped_on is None:
        return None
    return years_after(case.stopped_on, REMOVAL_AFTER_YEARS)


async def removals_due(today: date) -> list[LostCase]:
    """Stopped cases past two years whose branch has not yet been reminded."""
    cases = await open_cases(None)
    return [
        c
        for c in cases
        if (due := removal_due_on(c)) is not None and due <= today and c.removal_reminded_at is None
    ]
