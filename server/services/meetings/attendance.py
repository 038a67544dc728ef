"""Attendance: rotating sign-in codes, leave, absence after the end, corrections, minutes.

The code for meeting N is HMAC-SHA256(the meeting's random secret, the current time window) as
six digits: nothing to store, different for every meeting, and a photo of it is useless a few
minutes later.  It works from 30 minutes before the start until the end.  Every correction
(补录) is kept with who made it and why.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from server.cache import Cache
from server.errors import Conflict, NotFound, PermissionDenied, RateLimited, ValidationFailed
from server.models.meetings import (
    Attendance,
    Meeting,
    MeetingAttendee,
    MeetingChange,
    MeetingStatus,
    MeetingType,
)
from server.models.people import BRANCH_LEADERS, Member, MemberStatus, Organisation, Role
from server.models.study import PointsReason
from server.services.meetings.scheduling import SIGNIN_OPENS, branch_of, manageable, visible
from server.services.people.scope import under
from server.services.study.points import PointsRules, award
from server.services.tallies.snapshot import touched_around

OPENS_BEFORE = SIGNIN_OPENS
# MeetingAttendee.mode: how a 流动党员 far away took part.
ONLINE, WRITING = "online", "writing"
MODE_LABELS = {ONLINE: "线上参加", WRITING: "以心得参加"}
WRONG_CODES_ALLOWED = 5  # codes per member per rotation window: a million are not guessed
REASON_MAX = 200
MINUTES_MAX = 5000


def _window(at: datetime, rotation: int) -> int:
    return int(at.timestamp()) // rotation


def _code(secret: str, window: int) -> str:
    digest = hmac.new(secret.encode(), str(window).encode(), hashlib.sha256).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 1_000_000:06d}"


def is_open(meeting: Meeting, now: datetime) -> bool:
    return meeting.starts_at - OPENS_BEFORE <= now <= meeting.ends_at


async def _secret(meeting: Meeting) -> str:
    if not meeting.signin_secret:  # a meeting written before codes existed
        meeting.signin_secret = secrets.token_hex(32)
        await Meeting.filter(id=meeting.id, signin_secret__isnull=True).update(
            signin_secret=meeting.signin_secret
        )
        await meeting.refresh_from_db()
    return str(meeting.signin_secret)


@dataclass(frozen=True)
class SigninCode:
    meeting: Meeting
    code: str
    changes_at: datetime


async def signin_code(leader: Member, number: int, now: datetime, rotation: int) -> SigninCode:
    meeting = await manageable(leader, number)
    if now < meeting.starts_at - OPENS_BEFORE:
        raise Conflict("签到码在会议开始前 30 分钟开放，请到时再来取。")
    if now > meeting.ends_at:
        raise Conflict(f"编号 {number} 的会议已经结束，不能再签到；漏签的请用 补录。")
    window = _window(now, rotation)
    changes_at = datetime.fromtimestamp((window + 1) * rotation, tz=now.tzinfo)
    return SigninCode(meeting, _code(await _secret(meeting), window), changes_at)


async def _matches(meeting: Meeting, code: str, now: datetime, rotation: int) -> bool:
    secret = await _secret(meeting)
    window = _window(now, rotation)
    # The previous code too: the member read it just before it turned over.
    return any(hmac.compare_digest(_code(secret, w), code) for w in (window, window - 1))


@dataclass(frozen=True)
class SignedIn:
    meeting: Meeting
    points: int
    mode: str | None = None  # "online": a 流动党员 far away, in the meeting's online part


WRONG_CODE = "签到码不对或已过期。"


async def _take_a_try(member: Member, now: datetime, rotation: int, cache: Cache) -> None:
    """Count one code sent by this member (chat and mini-program alike); 429 past the limit.

    A try is taken (one atomic increment) before any code is looked at: checking the count and
    adding to it after the code was wrong let guesses sent together all pass the check (eight
    of them were looked at).  So every code sent counts, a right one too: five tries a window.
    """
    tries = f"signin-fail:{member.id}:{_window(now, rotation)}"
    if await cache.incr(tries, rotation * 2) > WRONG_CODES_ALLOWED:
        raise RateLimited(
            "签到码错误次数太多，请稍后再试，或请书记为您补录。",
            retry_after=rotation - int(now.timestamp()) % rotation,  # the next code's window
            code="SIGNIN_LOCKED",
        )


async def sign_in(
    member: Member,
    code: str,
    now: datetime,  # in the organisation's zone: the answer may quote a time
    today: date,
    rotation: int,
    cache: Cache,
    rules: PointsRules,
    meeting: Meeting | None = None,
) -> SignedIn:
    """签到 with the code shown at the meeting: `meeting` names the one (the mini-program, the
    screen's QR code; the caller has checked the member may see it), or None for whichever of
    the member's open meetings the code belongs to (chat).

    Wrong codes count against one key whichever way they come, so guesses in chat and in the
    mini-program count together.  A code that belongs to another open meeting is wrong here.
    """
    await _take_a_try(member, now, rotation, cache)
    if meeting is not None:
        if meeting.status == MeetingStatus.CANCELLED:
            raise Conflict(f"编号 {meeting.id} 的会议已经取消了。")
        if now < meeting.starts_at - OPENS_BEFORE:
            raise Conflict("签到在会议开始前 30 分钟开放，请到时再签。")
        if now > meeting.ends_at:
            raise Conflict(f"编号 {meeting.id} 的会议已经结束，不能再签到；漏签的请联系书记补录。")
        if await _matches(meeting, code, now, rotation):
            return await _present(member, meeting, now, today, rules)
        raise ValidationFailed(WRONG_CODE, field="code", code="SIGNIN_WRONG_CODE")
    branch = await Organisation.get(id=member.organisation_id)
    # The member's own meetings, and the branch's (to say "not on the list" rather than "wrong").
    open_meetings = (
        await Meeting.filter(
            Q(attendees__member_id=member.id) | under(branch.path),
            # In UTC: SQLite compares stored datetimes as text.
            starts_at__lte=now.astimezone(UTC) + OPENS_BEFORE,
            ends_at__gte=now.astimezone(UTC),
        )
        .exclude(status=MeetingStatus.CANCELLED)
        .distinct()
    )
    for found in open_meetings:
        if await _matches(found, code, now, rotation):
            return await _present(member, found, now, today, rules)
    raise ValidationFailed(WRONG_CODE, field="code", code="SIGNIN_WRONG_CODE")


async def _present(
    member: Member, meeting: Meeting, now: datetime, today: date, rules: PointsRules
) -> SignedIn:
    """The right code for `meeting`: mark the member present once, and pay for it once.

    A 流动党员 (流出) signing in to a meeting with an online part took part online: the code is
    read out there, and a code is a code wherever it is typed (sign-in never asked where).
    """
    row = await MeetingAttendee.get_or_none(meeting_id=meeting.id, member_id=member.id)
    if row is None:
        raise Conflict(
            f"您不在编号 {meeting.id} 的{meeting.kind}应到名单中。如需列席，请联系支部书记。"
        )
    mode = ONLINE if member.is_mobile and meeting.online else None
    changed = (
        await MeetingAttendee.filter(id=row.id)
        .exclude(attendance=Attendance.PRESENT)
        .update(attendance=Attendance.PRESENT, signed_at=now.astimezone(UTC), mode=mode)
    )
    if not changed:
        await row.refresh_from_db()
        at = row.signed_at.astimezone(now.tzinfo) if row.signed_at else now
        raise Conflict(f"您已经签到过了（{at:%H:%M}），不用重复签到。")
    points = await award(
        member, PointsReason.MEETING, f"meeting:{meeting.id}", rules.meeting, today, rules
    )
    return SignedIn(meeting, points, mode)


@dataclass(frozen=True)
class LeaveAsked:
    meeting: Meeting
    row: MeetingAttendee
    again: bool  # asked before and not yet decided: the reason was replaced, nobody told twice


async def ask_leave(member: Member, number: int, reason: str, now: datetime) -> LeaveAsked:
    """请假 is a request: the member waits as 待批 until the secretary (or the chair) decides."""
    meeting = await visible(member, number)
    row = await MeetingAttendee.get_or_none(meeting_id=meeting.id, member_id=member.id)
    if row is None:
        raise Conflict(f"您不在编号 {number} 的会议应到名单中，不用请假。")
    if meeting.status == MeetingStatus.CANCELLED:
        raise Conflict(f"编号 {number} 的会议已经取消了，不用请假。")
    if now >= meeting.starts_at:
        raise Conflict("会议已经开始，不能再请假；如有特殊情况请联系支部书记补录。")
    if row.attendance == Attendance.PRESENT:
        raise Conflict("您已经签到了，不能再请假；如需离开请告诉书记。")
    if row.attendance == Attendance.LEAVE:
        raise Conflict(f"您的请假已经批准了（{row.reason or '无原因'}），不用再申请。")
    reason = reason.strip()
    if not reason:
        raise ValidationFailed(f"请写明请假原因，例如：请假 {number} 在外地出差", field="reason")
    if len(reason) > REASON_MAX:
        raise ValidationFailed(f"请假原因最多 {REASON_MAX} 字。", field="reason")
    again = row.attendance == Attendance.REQUESTED
    await MeetingAttendee.filter(id=row.id).update(attendance=Attendance.REQUESTED, reason=reason)
    await row.refresh_from_db()
    return LeaveAsked(meeting, row, again)


async def withdraw_leave(member: Member, number: int, now: datetime) -> Meeting:
    """撤销请假: before the start, a request (or a leave granted) is taken back; the member is
    expected again."""
    meeting = await visible(member, number)
    row = await MeetingAttendee.get_or_none(meeting_id=meeting.id, member_id=member.id)
    if row is None or row.attendance not in (Attendance.REQUESTED, Attendance.LEAVE):
        raise Conflict(f"您没有编号 {number} 的会议的请假申请。")
    if now >= meeting.starts_at:
        raise Conflict("会议已经开始，不能再撤销请假；请直接签到。")
    await (
        MeetingAttendee.filter(id=row.id)
        .filter(attendance__in=[Attendance.REQUESTED, Attendance.LEAVE])
        .update(attendance=Attendance.UNKNOWN, reason=None)
    )
    return meeting


async def may_decide(member: Member, meeting: Meeting) -> bool:
    """Who decides a leave: whoever runs the meeting (the secretary, or the group leader of a
    党小组会) and its chair."""
    if meeting.chair_id == member.id:
        return True
    try:
        await manageable(member, meeting.id)
    except (PermissionDenied, NotFound):
        return False
    return True


async def deciders(meeting: Meeting) -> list[Member]:
    """Who is told of a request: the branch's 支部书记 (副书记 if it has none), and the chair."""
    branch = await branch_of(await Organisation.get(id=meeting.organisation_id))
    active = Member.filter(organisation_id=branch.id, status=MemberStatus.ACTIVE)
    told = await active.filter(role=Role.SECRETARY).order_by("id")
    if not told:
        told = await active.filter(role=Role.DEPUTY_SECRETARY).order_by("id")
    if meeting.chair_id is not None and all(m.id != meeting.chair_id for m in told):
        chair = await Member.get_or_none(id=meeting.chair_id, status=MemberStatus.ACTIVE)
        if chair is not None:
            told.append(chair)
    return told


async def roster_handle(meeting: Meeting, member: Member) -> str:
    """How a decider names this member in 准假: the name, and the phone's last four digits when
    another attendee shares the name."""
    namesakes = await MeetingAttendee.filter(
        meeting_id=meeting.id, member__name=member.name
    ).count()
    return f"{member.name} {member.phone[-4:]}" if namesakes > 1 else member.name


@dataclass(frozen=True)
class LeaveDecision:
    meeting: Meeting
    row: MeetingAttendee  # with .member
    granted: bool
    asked: str  # the member's reason
    why: str  # the refusal's reason ("" when granted)


async def decide_leave(
    leader: Member,
    number: int,
    name: str,
    phone_tail: str | None,
    grant: bool,
    why: str,
    now: datetime,
) -> LeaveDecision:
    """准假 / 不准假 by name, as the secretary types it; namesakes by the phone's last four."""
    meeting = await _deciding(leader, number, now)
    rows = await MeetingAttendee.filter(meeting_id=meeting.id, member__name=name).prefetch_related(
        "member"
    )
    if phone_tail:
        rows = [r for r in rows if r.member.phone.endswith(phone_tail)]
    if not rows:
        raise NotFound(f"编号 {number} 的会议名单里没有「{name}」。")
    asking = [r for r in rows if r.attendance == Attendance.REQUESTED]
    if len(rows) > 1:
        if len(asking) != 1:
            command = "准假" if grant else "不准假"
            raise Conflict(
                f"名单里有 {len(rows)} 位「{name}」，请加上手机号后四位，例如："
                f"{command} {number} {name} {rows[0].member.phone[-4:]}"
            )
        rows = asking
    return await _decide(leader, meeting, rows[0], grant, why)


async def decide_leave_for(
    leader: Member, number: int, member_id: int, grant: bool, why: str, now: datetime
) -> LeaveDecision:
    """The same decision by member id (the REST API names the member)."""
    meeting = await _deciding(leader, number, now)
    row = await MeetingAttendee.get_or_none(
        meeting_id=meeting.id, member_id=member_id
    ).prefetch_related("member")
    if row is None:
        raise ValidationFailed(f"编号 {number} 的会议名单里没有这位党员。", field="member_id")
    return await _decide(leader, meeting, row, grant, why)


async def _deciding(leader: Member, number: int, now: datetime) -> Meeting:
    meeting = await visible(leader, number)
    if not await may_decide(leader, meeting):
        raise PermissionDenied("请假由支部书记（党小组会为党小组长）或会议主持人审批。")
    if meeting.status == MeetingStatus.CANCELLED:
        raise Conflict(f"编号 {number} 的会议已经取消了。")
    if now > meeting.ends_at:
        raise Conflict(f"编号 {number} 的会议已经结束，不能再审批请假；如需更正出勤，请用 补录。")
    return meeting


async def _decide(
    leader: Member, meeting: Meeting, row: MeetingAttendee, grant: bool, why: str
) -> LeaveDecision:
    name = row.member.name
    why = why.strip()
    if row.attendance == Attendance.LEAVE:
        raise Conflict(f"{name}的请假已经批准过了。")
    if row.attendance != Attendance.REQUESTED:
        raise Conflict(f"{name}没有待批的请假申请。")
    if not grant and not why:
        raise ValidationFailed(
            f"请写明不准假的原因，例如：不准假 {meeting.id} {name} 这次会议要表决，请尽量参加",
            field="reason",
        )
    if len(why) > REASON_MAX:
        raise ValidationFailed(f"原因最多 {REASON_MAX} 字。", field="reason")
    asked = row.reason or ""
    async with in_transaction():
        # Only a request still waiting: of two decisions at once, one is written.
        changed = await MeetingAttendee.filter(id=row.id, attendance=Attendance.REQUESTED).update(
            attendance=Attendance.LEAVE if grant else Attendance.UNKNOWN,
            reason=asked if grant else None,
        )
        if not changed:
            raise Conflict(f"{name}的请假刚刚已经有人审批过了。")
        detail: dict[str, object] = {"member": row.member_id, "reason": asked if grant else why}
        if not grant:
            detail["asked"] = asked
        await MeetingChange.create(
            meeting=meeting,
            by=leader,
            action="leave_granted" if grant else "leave_refused",
            detail=detail,
        )
    await touched_around(meeting.starts_at)
    await row.refresh_from_db()
    return LeaveDecision(meeting, row, grant, asked, why)


async def _can_decide(leader: Member) -> Q:
    """Meetings this member may decide leave for: those under the organisation a branch leader
    leads, a group leader's group meetings, and any they chair."""
    mine = Q(chair_id=leader.id)
    if leader.role in BRANCH_LEADERS:
        org = await Organisation.get(id=leader.organisation_id)
        mine |= under(org.path)
    elif leader.role == Role.GROUP_LEADER and leader.group_id is not None:
        mine |= Q(organisation_id=leader.group_id, kind=MeetingType.GROUP_MEETING)
    return mine


async def my_requests(member: Member, now: datetime) -> list[MeetingAttendee]:
    """The member's own requests still waiting, for meetings not yet over."""
    return (
        await MeetingAttendee.filter(
            member_id=member.id,
            attendance=Attendance.REQUESTED,
            meeting__ends_at__gte=now.astimezone(UTC),
        )
        .exclude(meeting__status=MeetingStatus.CANCELLED)
        .order_by("meeting__starts_at")
        .prefetch_related("meeting")
    )


async def pending_leave(leader: Member, now: datetime, limit: int = 50) -> list[MeetingAttendee]:
    """待办: requests still waiting, in meetings not yet over that this member decides."""
    meetings = (
        await Meeting.filter(await _can_decide(leader), ends_at__gte=now.astimezone(UTC))
        .exclude(status=MeetingStatus.CANCELLED)
        .values_list("id", flat=True)
    )
    return (
        await MeetingAttendee.filter(meeting_id__in=list(meetings), attendance=Attendance.REQUESTED)
        .order_by("meeting__starts_at", "id")
        .limit(limit)
        .prefetch_related("member", "meeting")
    )


async def close(meeting: Meeting, now: datetime) -> None:
    """After the end: whoever neither signed in nor asked for leave was absent; the meeting held."""
    if meeting.status == MeetingStatus.CANCELLED or now <= meeting.ends_at:
        return
    async with in_transaction():
        await MeetingAttendee.filter(
            meeting_id=meeting.id, attendance=Attendance.UNKNOWN, role="expected"
        ).update(attendance=Attendance.ABSENT)
        await (
            Meeting.filter(id=meeting.id)
            .exclude(status=MeetingStatus.HELD)
            .update(status=MeetingStatus.HELD)
        )
    await meeting.refresh_from_db()


CORRECTIONS = {"出席": Attendance.PRESENT, "请假": Attendance.LEAVE, "缺席": Attendance.ABSENT}


async def attendee_named(leader: Member, number: int, name: str) -> int:
    """The member id of `name` on the list of meeting `number`, for 补录 in chat (which names
    people); the REST API names them by id.  A namesake is refused, not guessed."""
    meeting = await manageable(leader, number)
    rows = await MeetingAttendee.filter(meeting_id=meeting.id, member__name=name)
    if not rows:
        raise NotFound(f"编号 {number} 的会议名单里没有「{name}」。")
    if len(rows) > 1:
        raise Conflict(f"名单里有 {len(rows)} 位「{name}」，请联系管理员在后台补录。")
    return rows[0].member_id


async def _record_correction(
    leader: Member, meeting: Meeting, row: MeetingAttendee, to: Attendance, reason: str
) -> MeetingAttendee:
    """One correction and its history row, together; the meeting's day is counted afresh.

    A correction says what is so now: how someone took part from afar no longer stands.
    """
    before = str(row.attendance)
    async with in_transaction():
        await MeetingAttendee.filter(id=row.id).update(
            attendance=to, reason=reason[:REASON_MAX], mode=None
        )
        await MeetingChange.create(
            meeting=meeting,
            by=leader,
            action="corrected",
            detail={
                "member": row.member_id,
                "from": before,
                "to": to.value,
                "reason": reason,
            },
        )
    await touched_around(meeting.starts_at)
    await row.refresh_from_db()
    return row


async def record_minutes(leader: Member, number: int, text: str) -> Meeting:
    """纪要: the minutes and resolutions as the secretary or recorder wrote them (never ours)."""
    meeting = await visible(leader, number)
    if meeting.recorder_id != leader.id:
        meeting = await manageable(leader, number)  # not the recorder: must run the meeting
    text = text.strip()
    if not text:
        raise ValidationFailed(
            f"请写上纪要内容，例如：纪要 {number} 会议讨论并通过了……", field="minutes"
        )
    if len(text) > MINUTES_MAX:
        raise ValidationFailed(f"纪要最多 {MINUTES_MAX} 字。", field="minutes")
    async with in_transaction():
        await Meeting.filter(id=meeting.id).update(minutes=text)
        await MeetingChange.create(
            meeting=meeting, by=leader, action="minutes", detail={"length": len(text)}
        )
    await meeting.refresh_from_db()
    return meeting


def quorum(meeting: Meeting, counts: dict[str, int]) -> bool | None:
    """A 支部党员大会 needs more than half of those with a vote present (None: no rule applies).

    `counts`: `Roster.voting_counts` — 正式党员 only; 预备党员, 列席 and 流入党员 have no vote."""
    if meeting.kind != MeetingType.BRANCH_MEETING:
        return None
    return counts.get(Attendance.PRESENT.value, 0) * 2 > sum(counts.values())


async def appoint_recorder(leader: Member, number: int, name: str) -> Member:
    """记录人: one of those at the meeting keeps its record (and may write its 纪要)."""
    meeting = await manageable(leader, number)
    rows = await MeetingAttendee.filter(meeting_id=meeting.id, member__name=name).prefetch_related(
        "member"
    )
    if len(rows) != 1:
        raise NotFound(f"编号 {number} 的会议名单里{'有多位' if rows else '没有'}「{name}」。")
    recorder = rows[0].member
    async with in_transaction():
        await Meeting.filter(id=meeting.id).update(recorder_id=recorder.id)
        await MeetingChange.create(
            meeting=meeting, by=leader, action="recorder", detail={"member": recorder.id}
        )
    return recorder


async def correct(
    leader: Member, number: int, member_id: int, to: Attendance, reason: str, now: datetime
) -> MeetingAttendee:
    """补录: a leader sets one member's attendance, with a reason, kept in the history.  By
    member id, so two attendees who share a name can each be corrected (chat finds the id with
    `attendee_named`)."""
    meeting = await manageable(leader, number)
    if to not in CORRECTIONS.values():
        raise ValidationFailed("补录的情况只能是 出席、请假 或 缺席。", field="attendance")
    reason = reason.strip()
    if not reason:
        raise ValidationFailed("请写明补录原因。", field="reason")
    row = await MeetingAttendee.get_or_none(meeting_id=meeting.id, member_id=member_id)
    if row is None:
        raise ValidationFailed(f"编号 {number} 的会议名单里没有这位党员。", field="member_id")
    return await _record_correction(leader, meeting, row, to, reason)
