"""A member's meetings in the mini-program: upcoming, one meeting, sign in with a code, leave.

A meeting the member may not see is refused exactly like one that does not exist.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Any

from pydantic import Field

from server.api import replies
from server.api.corpus_refs import points_rules
from server.api.spec import Call, Input, Routes, iso
from server.errors import NotFound
from server.models.meetings import (
    Attendance,
    AttendeeRole,
    Meeting,
    MeetingAttendee,
    MeetingStatus,
    after_the_end,
)
from server.models.people import Member
from server.services.meetings import afar, attendance, leave_notice, scheduling
from server.services.people.access import Hidden

routes = Routes("党员：会议")


# --- 会议 ----------------------------------------------------------------------------------


async def _visible_meeting(call: Call[Any]) -> Meeting:
    """Meeting {id} if the member may see it; another branch's and a missing one alike: Hidden."""
    try:
        return await scheduling.visible(call.member, call.number("id"))
    except NotFound:
        raise Hidden() from None


# What each state is called wherever a member reads it.
LABELS = {
    "present": "已签到",
    "leave": "请假",
    "requested": "待批",
    "absent": "缺席",
    "unknown": "未签到",
}


def _meeting_json(
    m: Meeting, mine: MeetingAttendee | None, now: datetime, zone: tzinfo, mobile: bool = False
) -> dict[str, Any]:
    """`mobile`: the member is a 流动党员 (流出), who may take part from afar."""
    state = None
    if mine is not None:
        value = mine.attendance.value
        over = now > m.ends_at and m.status != MeetingStatus.CANCELLED
        if over and mine.role == AttendeeRole.EXPECTED:
            value = after_the_end(value)  # undecided after the end is absent, 待批 too
        state = {
            "role": mine.role.value,
            "attendance": value,
            "label": attendance.MODE_LABELS.get(mine.mode or "", "") or LABELS[value],
            "reason": mine.reason,
            "signed_at": iso(mine.signed_at, zone),
            "mode": mine.mode,
        }
    live = m.status != MeetingStatus.CANCELLED
    before = live and mine is not None and now < m.starts_at
    asked = mine is not None and mine.attendance in (Attendance.REQUESTED, Attendance.LEAVE)
    # As ask_leave decides: on the list, before the start, not signed in, not already granted.
    may_leave = (
        before
        and mine is not None
        and mine.attendance
        not in (
            Attendance.PRESENT,
            Attendance.LEAVE,
        )
    )
    # As afar.writable decides (but for a 心得 already handed in): from the start until 7 days on.
    may_write = (
        mobile
        and live
        and mine is not None
        and mine.attendance != Attendance.PRESENT
        and m.starts_at <= now <= m.ends_at + timedelta(days=afar.WRITING_DAYS)
    )
    return {
        "id": m.id,
        "kind": m.kind,
        "topic": m.topic,
        "place": m.place,
        "online": m.online,
        "starts_at": iso(m.starts_at, zone),
        "ends_at": iso(m.ends_at, zone),
        "status": m.status.value,
        "organisation": {"id": m.organisation.id, "name": m.organisation.name},
        "mine": state,
        "signin_open": live and attendance.is_open(m, now),
        "may_ask_leave": may_leave,
        "may_withdraw_leave": before and asked,
        "may_write": may_write,
    }


async def _mine(member: Member, ids: list[int]) -> dict[int, MeetingAttendee]:
    rows = await MeetingAttendee.filter(member_id=member.id, meeting_id__in=ids)
    return {row.meeting_id: row for row in rows}


async def _one_meeting(call: Call[Any], m: Meeting) -> dict[str, Any]:
    await m.fetch_related("organisation")
    mine = (await _mine(call.member, [m.id])).get(m.id)
    return _meeting_json(m, mine, call.deps.clock.now(), call.zone, call.member.is_mobile)


class MeetingsQuery(Input):
    limit: int = Field(10, ge=1, le=50, description="最多几场，1–50")


@routes.get(
    "/meetings",
    response=replies.Whole[replies.MyMeeting],
    summary="近期会议（我应参加或列席的；书记看本支部的）",
    query=MeetingsQuery,
)
async def upcoming_meetings(call: Call[Any]) -> dict[str, Any]:
    now = call.deps.clock.now()
    found = await scheduling.upcoming(call.member, now, limit=call.query.limit)
    await Meeting.fetch_for_list(found, "organisation")
    mine = await _mine(call.member, [m.id for m in found])
    mobile = call.member.is_mobile
    return {"items": [_meeting_json(m, mine.get(m.id), now, call.zone, mobile) for m in found]}


@routes.get("/meetings/{id}", response=replies.MyMeeting, summary="会议详情与我的出勤")
async def show_meeting(call: Call[Any]) -> dict[str, Any]:
    return await _one_meeting(call, await _visible_meeting(call))


class SignIn(Input):
    code: str = Field(pattern=r"^[0-9]{6}$", description="现场的六位签到码")


@routes.post(
    "/meetings/{id}/signin", response=replies.SignedIn, summary="用现场的签到码签到", body=SignIn
)
async def sign_in(call: Call[Any]) -> dict[str, Any]:
    """会议开始前 30 分钟至结束可签到；签到码错误次数过多会暂时锁定（与聊天中的签到共用）。
    流动党员在会议的线上部分用会上公布的签到码签到，记为线上参加（mine.mode 为 online）。"""
    meeting = await _visible_meeting(call)
    clock, settings = call.deps.clock, call.deps.settings
    done = await attendance.sign_in(
        call.member,
        call.body.code,
        clock.local_now(),
        clock.today(),
        settings.signin_rotation,
        call.deps.cache,
        points_rules(call),
        meeting,
    )
    return {"meeting": await _one_meeting(call, done.meeting), "points": done.points}


class Leave(Input):
    # The service holds the rule (200 characters, in Chinese); this bound only stops a flood.
    reason: str = Field(max_length=10 * attendance.REASON_MAX, description="请假原因，最多 200 字")


@routes.post(
    "/meetings/{id}/leave",
    response=replies.LeaveAsked,
    summary="会议开始前请假（提交申请，待书记批准）",
    body=Leave,
)
async def ask_leave(call: Call[Any]) -> dict[str, Any]:
    """请假是申请：提交后状态为 requested（待批），支部书记（及会议主持人）会立即收到通知，
    在聊天中回复「准假」或「不准假」，或在接口中审批。`told` 列出已收到通知的人；
    暂时收不到推送的人会在「待办」中看到。已批准的请假不能重复申请（409）。"""
    meeting = await _visible_meeting(call)
    clock = call.deps.clock
    asked = await attendance.ask_leave(call.member, meeting.id, call.body.reason, clock.now())
    told: list[str] = []
    if not asked.again:
        text = await leave_notice.request_text(
            asked.meeting, call.member, asked.row.reason or "", clock.zone
        )
        clients = call.deps.wechat_clients
        told, _ = await leave_notice.tell_deciders(asked.meeting, text, clients)
    return {**await _one_meeting(call, asked.meeting), "told": told}


@routes.delete("/meetings/{id}/leave", response=replies.MyMeeting, summary="撤销请假（会议开始前）")
async def withdraw_leave(call: Call[Any]) -> dict[str, Any]:
    """待批或已批准的请假都可在会议开始前撤销，撤销后恢复为应到。"""
    meeting = await _visible_meeting(call)
    meeting = await attendance.withdraw_leave(call.member, meeting.id, call.deps.clock.now())
    return await _one_meeting(call, meeting)
