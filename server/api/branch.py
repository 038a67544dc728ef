"""Branch secretaries' meetings: schedule, move (or give an online part), cancel, roster, 补录,
纪要, sign-in code, list.

Only branch leaders (支部书记, 副书记, 总支书记; staff and admins read) call these, within their
scope; every id is checked against the scope before a service sees it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import Field

from server.api import replies
from server.api.leaders import hidden_if_refused, leader_scope, zone_of
from server.api.spec import Call, Day, Id, Input, PageQuery, Routes, iso, page_of
from server.clock import day_span
from server.errors import Conflict, ValidationFailed
from server.models.meetings import (
    Attendance,
    AttendeeRole,
    Meeting,
    MeetingStatus,
    MeetingType,
)
from server.models.people import Organisation
from server.services.meetings import attendance, leave_notice, notices, scheduling
from server.services.people.access import (
    Hidden,
    organisation_in_scope,
)

routes = Routes("支部管理：会议")

# Read here: a body field named `attendance` hides the module inside the model's class body.
CORRECTION_REASON_MAX = attendance.REASON_MAX
ONLINE_TEXT = (
    "线上参会方式，如“腾讯会议 123-456-789”：流动党员可在线参加，用会上公布的签到码签到，"
    "计为线上参加"
)


async def _meeting(call: Call[Any]) -> Meeting:
    """Meeting {id} if it belongs to the caller's scope; Hidden if not, or if there is none."""
    scope = leader_scope(call)
    number = call.number("id")
    meeting = await Meeting.get_or_none(id=number).prefetch_related("organisation")
    if meeting is None or not scope.covers(meeting.organisation.path):
        raise Hidden()
    return meeting


def meeting_json(m: Meeting, zone: ZoneInfo) -> dict[str, Any]:
    org = m.organisation
    return {
        "id": m.id,
        "kind": m.kind,
        "topic": m.topic,
        "place": m.place,
        "starts_at": iso(m.starts_at, zone),
        "ends_at": iso(m.ends_at, zone),
        "status": MeetingStatus(m.status).value,
        "organisation": {"id": org.id, "name": org.name} if isinstance(org, Organisation) else None,
        "has_minutes": bool(m.minutes),
        "speaker": m.speaker,
        "study": m.study,
        "online": m.online,
    }


async def _fresh(call: Call[Any], meeting_id: int) -> dict[str, Any]:
    meeting = await Meeting.get(id=meeting_id).prefetch_related("organisation")
    return meeting_json(meeting, zone_of(call))


def _offsets(call: Call[Any]) -> list[tuple[str, int]]:
    return call.deps.settings.reminder_schedule


def _aware(moment: datetime, zone: ZoneInfo, now: datetime) -> datetime:
    """A time without an offset is read in DANGJIAN_TZ; far-off years are refused early."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    if abs(moment.year - now.year) > 2:  # 0001 or 9999 would overflow the arithmetic
        raise ValidationFailed("只能安排两年以内的会议。", field="starts_at")
    return moment


# --- meetings --------------------------------------------------------------------------------


class NewMeeting(Input):
    kind: str = Field(
        min_length=1,
        max_length=20,
        description=(
            "会议类型：支部党员大会、支委会、党小组会、党课、主题党日、集中学习、组织生活会、"
            "民主评议党员"
        ),
    )
    starts_at: datetime = Field(description="开始时间（ISO 8601）；不带时区时按 DANGJIAN_TZ")
    minutes: int | None = Field(None, ge=15, le=600, description="时长（分钟），默认 90")
    topic: str = Field(min_length=1, max_length=scheduling.TOPIC_MAX, description="会议主题")
    place: str | None = Field(None, max_length=scheduling.PLACE_MAX, description="地点")
    organisation_id: Id | None = Field(
        None, description="召开的组织（党小组会为党小组）；默认本支部"
    )
    speaker: str | None = Field(
        None, max_length=scheduling.SPEAKER_MAX, description="主讲人（党课；可以是支部以外的人）"
    )
    study: bool | None = Field(
        None,
        description=(
            "是否计入组织学习；不填时按类型和主题决定（党课、主题党日、集中学习，或主题含“学习”）"
        ),
    )
    online: str | None = Field(None, max_length=scheduling.ONLINE_MAX, description=ONLINE_TEXT)


@routes.post(
    "/meetings",
    response=replies.Meeting,
    summary="安排会议（与聊天中的「安排」规则相同）",
    body=NewMeeting,
)
async def schedule_meeting(call: Call[Any]) -> dict[str, Any]:
    """检查类型、不在过去、不冲突：同一时间同一批人或同一地点已有会议即为冲突（409，field 为
    starts_at；只是地点冲突时为 place），错误信息写明冲突的会议编号、类型、时间和共同的人或地点；
    写入后按聊天中的方式安排通知与提醒。organisation_id 只能是本人可安排的组织：
    本支部，或党小组会时本人所在的党小组。"""
    scope = leader_scope(call)
    member, body, settings = call.member, call.body, call.deps.settings
    clock = call.deps.clock
    now = clock.local_now()  # a clash is told in the organisation's time
    extra = tuple(n for n in settings.extra_meeting_types.split(",") if n)
    kind = scheduling.kind_of(body.kind, extra)
    if kind is None:
        known = "、".join([*scheduling.STANDARD, *extra])
        raise ValidationFailed(f"不认识的会议类型。可以安排：{known}", field="kind")
    starts_at = _aware(body.starts_at, settings.zone, now)
    if body.organisation_id is not None:
        org = await organisation_in_scope(scope, body.organisation_id)
        held = member.group_id if kind == MeetingType.GROUP_MEETING else member.organisation_id
        if org.id != held:
            raise ValidationFailed(
                "只能为本支部安排会议；党小组会由党小组长安排（书记可为本人所在的党小组安排）。",
                field="organisation_id",
            )
    minutes = body.minutes or settings.meeting_minutes
    try:
        draft = await scheduling.prepare(
            member,
            kind,
            starts_at,
            body.topic,
            body.place,
            now,
            minutes,
            study=body.study,
            speaker=body.speaker,
            online=body.online,
        )
        meeting = await scheduling.schedule(
            member, draft, now, _offsets(call), wake=call.deps.wake_outbox
        )
    except Conflict as exc:  # the only conflict here: a clash with another meeting
        raise Conflict(str(exc), field=exc.field or "starts_at", code=exc.code) from None
    return await _fresh(call, meeting.id)


class Reschedule(Input):
    starts_at: datetime | None = Field(
        None,
        description="新的开始时间（ISO 8601）；不带时区时按 DANGJIAN_TZ。只改线上参会方式时可不填",
    )
    minutes: int | None = Field(None, ge=15, le=600, description="新的时长（分钟），默认不变")
    place: str | None = Field(
        None, max_length=scheduling.PLACE_MAX, description="新的地点，默认不变"
    )
    reason: str | None = Field(None, max_length=200, description="改期原因（记入变更记录）")
    online: str | None = Field(
        None,
        max_length=scheduling.ONLINE_MAX,
        description=ONLINE_TEXT + "；空字符串或 null 为去掉，不传则不变（会议结束前可改）",
    )


@routes.patch(
    "/meetings/{id}",
    response=replies.Meeting,
    summary="会议改期（可同时改时长、地点），或设置线上参会方式",
    body=Reschedule,
)
async def reschedule_meeting(call: Call[Any]) -> dict[str, Any]:
    """签到开放（开始前 30 分钟）后不能改期；已告知的党员会收到改期通知，提醒按新时间重新安排。
    线上参会方式在会议结束前都可以设置或去掉（记入变更记录，不另发通知，之后的提醒会写明）；
    只改它时不用填 starts_at。"""
    meeting = await _meeting(call)
    if meeting.status == MeetingStatus.CANCELLED:
        raise Conflict(f"编号 {meeting.id} 的会议已经取消了。")
    body = call.body
    online = "online" in body.model_fields_set
    if body.starts_at is None:
        if not online or {"minutes", "place", "reason"} & body.model_fields_set:
            raise ValidationFailed("请写上新的开始时间。", field="starts_at")
        with hidden_if_refused():
            await scheduling.set_online(call.member, meeting.id, body.online, call.deps.clock.now())
        return await _fresh(call, meeting.id)
    now = call.deps.clock.local_now()
    starts_at = _aware(body.starts_at, zone_of(call), now)
    try:
        with hidden_if_refused():
            moved = await scheduling.reschedule(
                call.member,
                meeting.id,
                starts_at,
                now,
                _offsets(call),
                minutes=call.body.minutes,
                place=call.body.place,
                reason=call.body.reason,
                wake=call.deps.wake_outbox,
            )
    except Conflict as exc:  # too close to the start, or a clash: both about the new time
        raise Conflict(str(exc), field=exc.field or "starts_at", code=exc.code) from None
    if online:
        with hidden_if_refused():
            await scheduling.set_online(call.member, moved.id, body.online, call.deps.clock.now())
    return await _fresh(call, moved.id)


class Cancel(Input):
    reason: str = Field(min_length=1, max_length=200, description="取消原因")


@routes.post("/meetings/{id}/cancel", response=replies.Meeting, summary="取消会议", body=Cancel)
async def cancel_meeting(call: Call[Any]) -> dict[str, Any]:
    """已告知的党员会收到取消通知；已经结束或已取消的会议返回 409。"""
    meeting = await _meeting(call)
    with hidden_if_refused():
        await scheduling.cancel(
            call.member,
            meeting.id,
            call.body.reason,
            call.deps.clock.now(),
            wake=call.deps.wake_outbox,
        )
    return await _fresh(call, meeting.id)


@routes.get(
    "/meetings/{id}/roster",
    response=replies.Roster,
    summary="会议名单：出勤、请假原因、签到时间、通知未达",
)
async def meeting_roster(call: Call[Any]) -> dict[str, Any]:
    """请假申请未审批前为 requested（待批）。会议结束后，未签到也未获准请假的（包括仍待批的）
    记为缺席（与聊天中查看会议相同）。quorum 仅对支部党员大会有意义（有表决权的到会人数
    超过应到会有表决权人数的一半；预备党员计入应到，但无表决权），其他会议为 null。
    role 为 expected（应到）、invited（列席）或 incoming（流入党员，无表决权）；
    列席和流入党员都不计入应到和 quorum。mode 为流动党员在外地参加的方式：online（线上参加）、
    writing（以心得参加），其余为 null。unreachable 是通知确实未送达的人；uncertain 是发送中断
    （如超时）、可能已送达但无法确认的人，不会重发。"""
    meeting = await _meeting(call)
    zone = zone_of(call)
    now = call.deps.clock.now()
    await attendance.close(meeting, now)
    roster = await scheduling.roster(meeting, now)  # the one chat's 会议 N shows
    counts = roster.counts
    lost = await notices.unreachable(meeting)
    unreachable = {n.member.id: n.member.name for n in lost}
    maybe = {n.member.id: n.member.name for n in await notices.uncertain(meeting)}
    return {
        "meeting": meeting_json(meeting, zone),
        "people": [
            {
                "member_id": row.member.id,
                "name": row.member.name,
                "role": AttendeeRole(row.role).value,
                "attendance": roster.state(row),
                "reason": row.reason,
                "signed_at": iso(row.signed_at, zone),
                "mode": row.mode,
            }
            for row in roster.everyone
        ],
        "counts": {
            "expected": len(roster.expected),
            **{
                state: counts[state]
                for state in ("present", "leave", "requested", "absent", "unknown")
            },
            "invited": len(roster.invited),
            "incoming": len(roster.incoming),
        },
        "quorum": attendance.quorum(meeting, roster.voting_counts),
        "unreachable": [{"member_id": k, "name": v} for k, v in unreachable.items()],
        # A send cut short (timeout, crash): perhaps delivered, never repeated.
        "uncertain": [{"member_id": k, "name": v} for k, v in maybe.items()],
    }


class Correction(Input):
    member_id: Id = Field(description="名单中的党员")
    attendance: Literal["present", "leave", "absent"] = Field(description="改为：出席、请假或缺席")
    reason: str = Field(min_length=1, max_length=CORRECTION_REASON_MAX, description="补录原因")


@routes.post(
    "/meetings/{id}/attendance",
    response=replies.Corrected,
    summary="补录出勤（须写原因，留有记录）",
    body=Correction,
)
async def correct_attendance(call: Call[Any]) -> dict[str, Any]:
    meeting = await _meeting(call)
    with hidden_if_refused():
        fixed = await attendance.correct(
            call.member,
            meeting.id,
            call.body.member_id,
            Attendance(call.body.attendance),
            call.body.reason,
            call.deps.clock.now(),
        )
    return {
        "meeting_id": meeting.id,
        "member_id": call.body.member_id,
        "attendance": str(fixed.attendance),
        "reason": fixed.reason,
    }


class LeaveDecisionBody(Input):
    member_id: Id = Field(description="提交请假申请的党员")
    decision: Literal["grant", "refuse"] = Field(description="grant 准假，refuse 不准假")
    reason: str | None = Field(
        None, max_length=CORRECTION_REASON_MAX, description="不准假的原因（不准假时必填）"
    )


@routes.post(
    "/meetings/{id}/leave-decisions",
    response=replies.LeaveDecided,
    summary="审批请假（准假或不准假），并告知本人",
    body=LeaveDecisionBody,
)
async def decide_leave(call: Call[Any]) -> dict[str, Any]:
    """只能审批待批（requested）的申请；已审批过、会议已结束或已取消时返回 409。准假后记为
    请假；不准假后恢复为应到，须写原因。本人会收到通知（`told`：是否已送达；未送达时本人在
    会议详情中看到结果）。审批记入会议的变更记录。"""
    meeting = await _meeting(call)
    clock = call.deps.clock
    with hidden_if_refused():
        decision = await attendance.decide_leave_for(
            call.member,
            meeting.id,
            call.body.member_id,
            call.body.decision == "grant",
            call.body.reason or "",
            clock.now(),
        )
    clients = call.deps.wechat_clients
    told = await leave_notice.tell_member(decision, zone_of(call), clients)
    return {
        "meeting_id": meeting.id,
        "member_id": call.body.member_id,
        "attendance": str(decision.row.attendance),
        "reason": decision.why or decision.asked,
        "told": told,
    }


@routes.get(
    "/branch/leave-requests",
    response=replies.Whole[replies.LeaveRequest],
    summary="待批的请假申请（会议结束前），先开的会在前",
)
async def leave_requests(call: Call[Any]) -> dict[str, Any]:
    leader_scope(call)
    zone = zone_of(call)
    rows = await attendance.pending_leave(call.member, call.deps.clock.now())
    return {
        "items": [
            {
                "meeting": {
                    "id": row.meeting.id,
                    "kind": row.meeting.kind,
                    "topic": row.meeting.topic,
                    "starts_at": iso(row.meeting.starts_at, zone),
                },
                "member": {"id": row.member.id, "name": row.member.name},
                "reason": row.reason,
            }
            for row in rows
        ]
    }


class Minutes(Input):
    text: str = Field(min_length=1, max_length=attendance.MINUTES_MAX, description="纪要及决议")


@routes.put(
    "/meetings/{id}/minutes",
    response=replies.WithMinutes,
    summary="记录会议纪要（覆盖之前的纪要）",
    body=Minutes,
)
async def write_minutes(call: Call[Any]) -> dict[str, Any]:
    meeting = await _meeting(call)
    with hidden_if_refused():
        saved = await attendance.record_minutes(call.member, meeting.id, call.body.text)
    return {**await _fresh(call, saved.id), "minutes": saved.minutes}


@routes.get(
    "/meetings/{id}/signin-code", response=replies.SigninCode, summary="当前的签到码及更换时间"
)
async def meeting_signin_code(call: Call[Any]) -> dict[str, Any]:
    """会议开始前 30 分钟至结束期间可取（否则 409）；签到码每隔几分钟更换一次。"""
    meeting = await _meeting(call)
    clock, settings = call.deps.clock, call.deps.settings
    with hidden_if_refused():
        got = await attendance.signin_code(
            call.member, meeting.id, clock.now(), settings.signin_rotation
        )
    return {
        "meeting_id": meeting.id,
        "code": got.code,
        "valid_until": iso(got.changes_at, settings.zone),
    }


class MeetingsQuery(PageQuery):
    from_: Day | None = Field(None, alias="from", description="开始日期（含），YYYY-MM-DD")
    to: Day | None = Field(None, description="结束日期（含），YYYY-MM-DD")
    kind: str | None = Field(None, max_length=20, description="会议类型")


@routes.get(
    "/branch/meetings",
    response=replies.Page[replies.Meeting],
    summary="本支部（管辖范围内）的会议，最新的在前",
    query=MeetingsQuery,
)
async def branch_meetings(call: Call[Any]) -> dict[str, Any]:
    scope = leader_scope(call)
    q, zone = call.query, zone_of(call)
    query = Meeting.filter(scope.filter())
    if q.from_ and q.to and q.from_ > q.to:
        raise ValidationFailed("结束日期不能早于开始日期。", field="to")
    if q.from_:
        query = query.filter(starts_at__gte=day_span(q.from_, q.from_, zone)[0])
    if q.to:
        query = query.filter(starts_at__lt=day_span(q.to, q.to, zone)[1])
    if q.kind:
        query = query.filter(kind=scheduling.kind_of(q.kind) or q.kind)
    query = query.order_by("-starts_at", "-id").prefetch_related("organisation")
    return await page_of(query, q, lambda m: meeting_json(m, zone))
