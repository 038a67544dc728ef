"""Branch secretaries' endpoints: meetings, review, members, the ledger.

Only branch leaders (支部书记, 副书记, 总支书记; staff and admins) call these, within their scope.
Every id is checked against the caller's scope before a service sees it, and the chat services'
own refusals for an id (NotFound, PermissionDenied) become `Hidden`: a meeting, 心得 or member
of another branch is refused exactly as one that does not exist.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo

from aiohttp import web
from pydantic import Field

from scheduler.runner import poke
from server.activity import CheckIn, PointsEntry, Submission, SubmissionStatus
from server.api.spec import Call, Id, Input, PageQuery, Routes, iso, page_of
from server.clock import day_span
from server.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from server.meetings import Attendance, AttendeeRole, Meeting, MeetingAttendee, MeetingStatus
from server.models import Member, MemberStatus, Organisation, OrgKind, WeChatIdentity, mask_phone
from server.services import attendance, meetings, notices, review_notice, submissions
from server.services.access import (
    Hidden,
    Scope,
    member_in_scope,
    organisation_in_scope,
    require_leader,
)
from server.services.ledger import write_ledger
from server.services.points import PointsRules
from server.services.scope import under
from server.settings import parse_offsets
from server.typedefs import CLOCK, CORPUS, SCHEDULER, SETTINGS, WECHAT_CLIENTS

routes = Routes("支部管理")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Read here: a body field named `attendance` hides the module inside the model's class body.
CORRECTION_REASON_MAX = attendance.REASON_MAX


# --- who may call, and which objects they may touch ----------------------------------------


def _leader(call: Call[Any]) -> Scope:
    """The caller's scope, once we know they may run a branch's business (else 403)."""
    require_leader(call.member)
    assert call.scope is not None
    return call.scope


@contextmanager
def _hidden_if_refused() -> Iterator[None]:
    """The chat services' "no such meeting / not yours" for an id: the API's one answer."""
    try:
        yield
    except (NotFound, PermissionDenied):
        raise Hidden() from None


async def _meeting(call: Call[Any]) -> Meeting:
    """Meeting {id} if it belongs to the caller's scope; Hidden if not, or if there is none."""
    scope = _leader(call)
    number = call.number("id")
    meeting = await Meeting.get_or_none(id=number).prefetch_related("organisation")
    if meeting is None or not scope.covers(meeting.organisation.path):
        raise Hidden()
    return meeting


def _zone(call: Call[Any]) -> ZoneInfo:
    return call.app[SETTINGS].zone


def _local(moment: datetime | None, zone: ZoneInfo) -> str | None:
    return iso(moment.astimezone(zone)) if moment else None


def meeting_json(m: Meeting, zone: ZoneInfo) -> dict[str, Any]:
    org = m.organisation
    return {
        "id": m.id,
        "kind": m.kind,
        "topic": m.topic,
        "place": m.place,
        "starts_at": _local(m.starts_at, zone),
        "ends_at": _local(m.ends_at, zone),
        "status": MeetingStatus(m.status).value,
        "organisation": {"id": org.id, "name": org.name} if isinstance(org, Organisation) else None,
        "has_minutes": bool(m.minutes),
    }


async def _fresh(call: Call[Any], meeting_id: int) -> dict[str, Any]:
    meeting = await Meeting.get(id=meeting_id).prefetch_related("organisation")
    return meeting_json(meeting, _zone(call))


def _offsets(call: Call[Any]) -> list[tuple[str, int]]:
    return parse_offsets(call.app[SETTINGS].reminder_offsets)


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
        description="会议类型：支部党员大会、支委会、党小组会、党课、主题党日",
    )
    starts_at: datetime = Field(description="开始时间（ISO 8601）；不带时区时按 DANGJIAN_TZ")
    minutes: int | None = Field(None, ge=15, le=600, description="时长（分钟），默认 90")
    topic: str = Field(min_length=1, max_length=meetings.TOPIC_MAX, description="会议主题")
    place: str | None = Field(None, max_length=meetings.PLACE_MAX, description="地点")
    organisation_id: Id | None = Field(
        None, description="召开的组织（党小组会为党小组）；默认本支部"
    )


@routes.post("/meetings", summary="安排会议（与聊天中的「安排」规则相同）", body=NewMeeting)
async def schedule_meeting(call: Call[Any]) -> dict[str, Any]:
    """检查类型、不在过去、不与本支部其他会议冲突（409，field 为 starts_at）；
    写入后按聊天中的方式安排通知与提醒。organisation_id 只能是本人可安排的组织：
    本支部，或党小组会时本人所在的党小组。"""
    scope = _leader(call)
    member, body, settings = call.member, call.body, call.app[SETTINGS]
    clock = call.app[CLOCK]
    now = clock.now()
    extra = tuple(n for n in settings.extra_meeting_types.split(",") if n)
    kind = meetings.kind_of(body.kind, extra)
    if kind is None:
        known = "、".join([*meetings.STANDARD, *extra])
        raise ValidationFailed(f"不认识的会议类型。可以安排：{known}", field="kind")
    starts_at = _aware(body.starts_at, settings.zone, now)
    if body.organisation_id is not None:
        org = await organisation_in_scope(scope, body.organisation_id)
        held = member.group_id if kind == meetings.GROUP_MEETING else member.organisation_id  # type: ignore[attr-defined]
        if org.id != held:
            raise ValidationFailed(
                "只能为本支部安排会议；党小组会由党小组长安排（书记可为本人所在的党小组安排）。",
                field="organisation_id",
            )
    minutes = body.minutes or settings.meeting_minutes
    try:
        draft = await meetings.prepare(
            member, kind, starts_at, body.topic, body.place, now, minutes
        )
        meeting = await meetings.schedule(member, draft, now, _offsets(call))
    except Conflict as exc:  # the only conflict here: a clash with another meeting
        raise Conflict(str(exc), field=exc.field or "starts_at") from None
    poke(call.app[SCHEDULER])  # the notices go out now, not at the next tick
    return await _fresh(call, meeting.id)


class Reschedule(Input):
    starts_at: datetime = Field(description="新的开始时间（ISO 8601）；不带时区时按 DANGJIAN_TZ")
    minutes: int | None = Field(None, ge=15, le=600, description="新的时长（分钟），默认不变")
    place: str | None = Field(None, max_length=meetings.PLACE_MAX, description="新的地点，默认不变")
    reason: str | None = Field(None, max_length=200, description="改期原因（记入变更记录）")


@routes.patch("/meetings/{id}", summary="会议改期（可同时改时长、地点）", body=Reschedule)
async def reschedule_meeting(call: Call[Any]) -> dict[str, Any]:
    """签到开放（开始前 30 分钟）后不能改期；已告知的党员会收到改期通知，提醒按新时间重新安排。"""
    meeting = await _meeting(call)
    if meeting.status == MeetingStatus.CANCELLED:
        raise Conflict(f"编号 {meeting.id} 的会议已经取消了。")
    now = call.app[CLOCK].now()
    starts_at = _aware(call.body.starts_at, _zone(call), now)
    try:
        with _hidden_if_refused():
            moved = await meetings.revise(
                call.member,
                meeting.id,
                starts_at,
                now,
                _offsets(call),
                minutes=call.body.minutes,
                place=call.body.place,
                reason=call.body.reason,
            )
    except Conflict as exc:  # too close to the start, or a clash: both about the new time
        raise Conflict(str(exc), field=exc.field or "starts_at") from None
    poke(call.app[SCHEDULER])
    return await _fresh(call, moved.id)


class Cancel(Input):
    reason: str = Field(min_length=1, max_length=200, description="取消原因")


@routes.post("/meetings/{id}/cancel", summary="取消会议", body=Cancel)
async def cancel_meeting(call: Call[Any]) -> dict[str, Any]:
    """已告知的党员会收到取消通知；已经结束或已取消的会议返回 409。"""
    meeting = await _meeting(call)
    with _hidden_if_refused():
        await meetings.cancel(call.member, meeting.id, call.body.reason, call.app[CLOCK].now())
    poke(call.app[SCHEDULER])
    return await _fresh(call, meeting.id)


@routes.get("/meetings/{id}/roster", summary="会议名单：出勤、请假原因、签到时间、通知未达")
async def meeting_roster(call: Call[Any]) -> dict[str, Any]:
    """会议结束后，未签到也未请假的记为缺席（与聊天中查看会议相同）。quorum 仅对支部党员大会
    有意义（到会超过应到人数一半），其他会议为 null。"""
    meeting = await _meeting(call)
    zone = _zone(call)
    await attendance.close(meeting, call.app[CLOCK].now())
    rows = (
        await MeetingAttendee.filter(meeting_id=meeting.id)
        .order_by("id")
        .prefetch_related("member")
    )
    counts = await meetings.roster_counts(meeting)
    lost = await notices.unreachable(meeting)
    unreachable = {n.member.id: n.member.name for n in lost}
    return {
        "meeting": meeting_json(meeting, zone),
        "people": [
            {
                "member_id": row.member.id,
                "name": row.member.name,
                "role": AttendeeRole(row.role).value,
                "attendance": str(row.attendance),
                "reason": row.reason,
                "signed_at": _local(row.signed_at, zone),
            }
            for row in rows
        ],
        "counts": {
            "expected": sum(counts.values()),
            **{state: counts.get(state, 0) for state in ("present", "leave", "absent", "unknown")},
            "invited": sum(1 for row in rows if row.role == AttendeeRole.INVITED),
        },
        "quorum": attendance.quorum(meeting, counts),
        "unreachable": [{"member_id": k, "name": v} for k, v in unreachable.items()],
    }


class Correction(Input):
    member_id: Id = Field(description="名单中的党员")
    attendance: Literal["present", "leave", "absent"] = Field(description="改为：出席、请假或缺席")
    reason: str = Field(min_length=1, max_length=CORRECTION_REASON_MAX, description="补录原因")


@routes.post("/meetings/{id}/attendance", summary="补录出勤（须写原因，留有记录）", body=Correction)
async def correct_attendance(call: Call[Any]) -> dict[str, Any]:
    meeting = await _meeting(call)
    with _hidden_if_refused():
        fixed = await attendance.correct_member(
            call.member,
            meeting.id,
            call.body.member_id,
            Attendance(call.body.attendance),
            call.body.reason,
            call.app[CLOCK].now(),
        )
    return {
        "meeting_id": meeting.id,
        "member_id": call.body.member_id,
        "attendance": str(fixed.attendance),
        "reason": fixed.reason,
    }


class Minutes(Input):
    text: str = Field(min_length=1, max_length=attendance.MINUTES_MAX, description="纪要及决议")


@routes.put("/meetings/{id}/minutes", summary="记录会议纪要（覆盖之前的纪要）", body=Minutes)
async def write_minutes(call: Call[Any]) -> dict[str, Any]:
    meeting = await _meeting(call)
    with _hidden_if_refused():
        saved = await attendance.record_minutes(call.member, meeting.id, call.body.text)
    return {**await _fresh(call, saved.id), "minutes": saved.minutes}


@routes.get("/meetings/{id}/signin-code", summary="当前的签到码及更换时间")
async def meeting_signin_code(call: Call[Any]) -> dict[str, Any]:
    """会议开始前 30 分钟至结束期间可取（否则 409）；签到码每隔几分钟更换一次。"""
    meeting = await _meeting(call)
    clock, settings = call.app[CLOCK], call.app[SETTINGS]
    with _hidden_if_refused():
        got = await attendance.signin_code(
            call.member, meeting.id, clock.now(), settings.signin_rotation
        )
    return {
        "meeting_id": meeting.id,
        "code": got.code,
        "valid_until": _local(got.changes_at, settings.zone),
    }


class MeetingsQuery(PageQuery):
    from_: date | None = Field(None, alias="from", description="开始日期（含），YYYY-MM-DD")
    to: date | None = Field(None, description="结束日期（含），YYYY-MM-DD")
    kind: str | None = Field(None, max_length=20, description="会议类型")


@routes.get(
    "/branch/meetings", summary="本支部（管辖范围内）的会议，最新的在前", query=MeetingsQuery
)
async def branch_meetings(call: Call[Any]) -> dict[str, Any]:
    scope = _leader(call)
    q, zone = call.query, _zone(call)
    query = Meeting.filter(scope.filter())
    if q.from_ and q.to and q.from_ > q.to:
        raise ValidationFailed("结束日期不能早于开始日期。", field="to")
    if q.from_:
        query = query.filter(starts_at__gte=day_span(q.from_, q.from_, zone)[0])
    if q.to:
        query = query.filter(starts_at__lt=day_span(q.to, q.to, zone)[1])
    if q.kind:
        query = query.filter(kind=meetings.kind_of(q.kind) or q.kind)
    query = query.order_by("-starts_at", "-id").prefetch_related("organisation")
    return await page_of(query, q, lambda m: meeting_json(m, zone))


# --- 心得 review -------------------------------------------------------------------------------


class ReviewQuery(PageQuery):
    status: SubmissionStatus = Field(
        SubmissionStatus.PENDING, description="pending、approved 或 returned"
    )


def _near_copy(s: Submission, titles: dict[str, str]) -> dict[str, Any] | None:
    if not s.resembles:
        return None
    kind, _, what = s.resembles.partition(":")
    flag: dict[str, Any] = {"kind": kind, "similarity": s.similarity}
    if kind == "unit":
        flag.update(unit_id=what, title=titles.get(what, what))
    else:
        flag["submission_id"] = int(what) if what.isdigit() else None
    return flag


def submission_json(s: Submission, titles: dict[str, str], full: bool = False) -> dict[str, Any]:
    found: dict[str, Any] = {
        "id": s.id,
        "member": {"id": s.member.id, "name": s.member.name},
        "day": s.day.isoformat(),
        "length": s.length,
        "status": SubmissionStatus(s.status).value,
        "near_copy": _near_copy(s, titles),
        "excerpt": " ".join(s.content.split())[:60],
    }
    if full:
        found.update(
            content=s.content,
            unit_id=s.unit_id,
            return_reason=s.return_reason,
            reviewed_at=iso(s.reviewed_at),
        )
    return found


async def _hide_foreign_flags(reviewer: Member, items: list[dict[str, Any]]) -> None:
    """A near-copy of another branch's 心得 is named as such, without its number."""
    ids = [
        i["near_copy"]["submission_id"]
        for i in items
        if i["near_copy"] and i["near_copy"].get("submission_id")
    ]
    visible = await submissions.visible_ids(reviewer, ids)
    for item in items:
        flag = item["near_copy"]
        if flag and flag["kind"] == "submission" and flag.get("submission_id") not in visible:
            item["near_copy"] = {"kind": "elsewhere", "similarity": flag["similarity"]}


def _titles(call: Call[Any]) -> dict[str, str]:
    return {u.id: u.title for u in call.app[CORPUS]}


@routes.get("/review/submissions", summary="待审核（或已审核）的心得", query=ReviewQuery)
async def review_list(call: Call[Any]) -> dict[str, Any]:
    """管辖范围内其他党员的心得；待审核的先交的在前，其余最新的在前。near_copy 标出雷同。"""
    scope = _leader(call)
    status = call.query.status
    query = (
        Submission.filter(scope.filter(), status=status)
        .exclude(member_id=call.member.id)
        .order_by("id" if status == SubmissionStatus.PENDING else "-id")
        .prefetch_related("member")
    )
    titles = _titles(call)
    page = await page_of(query, call.query, lambda s: submission_json(s, titles))
    await _hide_foreign_flags(call.member, page["items"])
    return page


async def _submission(call: Call[Any]) -> Submission:
    _leader(call)
    with _hidden_if_refused():
        return await submissions.find_for_review(call.member, call.number("id"))


@routes.get("/review/submissions/{id}", summary="一篇心得的全文")
async def review_show(call: Call[Any]) -> dict[str, Any]:
    found = await _submission(call)
    item = submission_json(found, _titles(call), full=True)
    await _hide_foreign_flags(call.member, [item])
    return item


async def _tell_author(call: Call[Any], s: Submission, text: str) -> bool:
    return await review_notice.tell_author(s, text, call.app[CLOCK].now(), call.app[WECHAT_CLIENTS])


@routes.post("/review/submissions/{id}/approve", summary="通过一篇心得（本人获积分并收到通知）")
async def review_approve(call: Call[Any]) -> dict[str, Any]:
    """已审核过的返回 409。notified 为 false：本人不在 48 小时互动窗口内，
    会在「我的心得」中看到结果。"""
    found = await _submission(call)
    clock = call.app[CLOCK]
    with _hidden_if_refused():
        approval = await submissions.approve(
            call.member,
            found.id,
            clock.now(),
            clock.today(),
            PointsRules.from_settings(call.app[SETTINGS]),
        )
    s = approval.submission
    told = await _tell_author(call, s, review_notice.approved_text(s, approval.points))
    s.member = found.member
    return {
        "submission": submission_json(s, _titles(call)),
        "points": approval.points,
        "notified": told,
    }


class Return(Input):
    reason: str = Field(
        min_length=1, max_length=submissions.REASON_MAX, description="退回原因（本人会看到）"
    )


@routes.post("/review/submissions/{id}/return", summary="退回一篇心得（写明原因）", body=Return)
async def review_return(call: Call[Any]) -> dict[str, Any]:
    found = await _submission(call)
    with _hidden_if_refused():
        s = await submissions.return_for_revision(
            call.member, found.id, call.body.reason, call.app[CLOCK].now()
        )
    told = await _tell_author(call, s, review_notice.returned_text(s))
    s.member = found.member
    return {"submission": submission_json(s, _titles(call)), "notified": told}


# --- members ---------------------------------------------------------------------------------


class MembersQuery(PageQuery):
    org: Id | None = Field(None, description="组织（支部或党小组）id")
    status: MemberStatus | None = Field(None, description="active 或 transferred")
    q: str | None = Field(None, max_length=50, description="姓名中的字，或手机号后四位")


def _org(org: Any) -> dict[str, Any] | None:
    return {"id": org.id, "name": org.name} if isinstance(org, Organisation) else None


def member_row(m: Member) -> dict[str, Any]:
    return {
        "id": m.id,
        "name": m.name,
        "phone": mask_phone(m.phone),
        "role": m.role.value,
        "status": m.status.value,
        "organisation": _org(m.organisation),
        "group": _org(m.group),
        "is_mobile": m.is_mobile,
    }


async def _bound(ids: list[int]) -> set[int]:
    return set(await WeChatIdentity.filter(member_id__in=ids).values_list("member_id", flat=True))


@routes.get("/members", summary="管辖范围内的党员名册", query=MembersQuery)
async def branch_members(call: Call[Any]) -> dict[str, Any]:
    """手机号打码显示；bound 表示是否已绑定微信。"""
    scope = _leader(call)
    q = call.query
    query = Member.filter(scope.filter())
    if q.org is not None:
        org = await organisation_in_scope(scope, q.org)
        if org.kind == OrgKind.GROUP:
            query = query.filter(group_id=org.id)
        else:
            query = query.filter(under(org.path))
    if q.status is not None:
        query = query.filter(status=q.status)
    if q.q:
        tail = q.q.isascii() and q.q.isdigit() and len(q.q) == 4
        query = query.filter(phone__endswith=q.q) if tail else query.filter(name__contains=q.q)
    query = query.order_by("id").prefetch_related("organisation", "group")
    page = await page_of(query, q, member_row)
    bound = await _bound([item["id"] for item in page["items"]])
    for item in page["items"]:
        item["bound"] = item["id"] in bound
    return page


@routes.get("/members/{id}", summary="一位党员的资料与今年的参与情况")
async def branch_member(call: Call[Any]) -> dict[str, Any]:
    """year：今年的打卡天数、积分、心得（按状态）、会议出勤（已结束的会议）。"""
    scope = _leader(call)
    target = await member_in_scope(scope, call.number("id"))
    await target.fetch_related("group")
    clock = call.app[CLOCK]
    today = clock.today()
    first, last = date(today.year, 1, 1), date(today.year, 12, 31)
    since, _ = day_span(first, last, clock.zone)
    handed_in = dict.fromkeys((s.value for s in SubmissionStatus), 0)
    for status in await Submission.filter(
        member_id=target.id, day__gte=first, day__lte=last
    ).values_list("status", flat=True):
        handed_in[str(status)] += 1
    points = await PointsEntry.filter(
        member_id=target.id, day__gte=first, day__lte=last
    ).values_list("points", flat=True)
    return {
        **member_row(target),
        "bound": bool(await _bound([target.id])),
        "year": {
            "year": today.year,
            "check_in_days": await CheckIn.filter(
                member_id=target.id, day__gte=first, day__lte=last
            ).count(),
            "points": sum(points),
            "submissions": handed_in,
            "meetings": await meetings.attendance_record(target, since, clock.now()),
        },
    }


# --- the ledger --------------------------------------------------------------------------------


class LedgerQuery(Input):
    branch: Id = Field(description="支部的组织 id")
    year: int = Field(ge=2000, le=2100, description="年份")


@routes.get("/ledger", summary="下载三会一课台账（XLSX）", query=LedgerQuery, produces=XLSX)
async def ledger_download(call: Call[Any]) -> web.Response:
    """与命令行 dangjian ledger 相同的台账：每种会议一张表，已取消的会议也列出。"""
    scope = _leader(call)
    org = await organisation_in_scope(scope, call.query.branch)
    year = call.query.year
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "ledger.xlsx"
        await write_ledger(org.path, year, _zone(call), out, call.app[CLOCK].now())
        data = out.read_bytes()
    readable = f"台账-{org.name}-{year}.xlsx"
    return web.Response(
        body=data,
        content_type=XLSX,
        headers={
            "Content-Disposition": (
                f'attachment; filename="ledger-{org.id}-{year}.xlsx"; '
                f"filename*=UTF-8''{quote(readable)}"
            )
        },
    )
