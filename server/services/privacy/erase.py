"""删除权: a member's personal data removed or anonymised on staff's request, the figures
already reported upward unchanged, and a record of the erasure kept.

Due under 个人信息保护法第四十七条 once the purpose is achieved — the member has left the
organisation's roster.  A member still 在册 is refused: the branch's roster needs them, and the
way out is 转出 first (the roll's 状态, or 结束流动 for a 流入党员).  A member whose 失联 case or
流动 record is still open is refused too: the branch is still acting on it.

What happens, in one transaction:

- The member's row stays, since every event counted upward points at it (the tallies count
  check-ins, readings, quizzes, 心得 and attendance by organisation and day): its name becomes
  已删除党员#ID, its phone 已删除ID (unique, and never a phone), the rest of the profile empty.
  Their event rows stay without anything personal in them: a 心得's text, a leave's reason, a
  contact's note, a claim's note are emptied.
- What served only them goes: WeChat identities (so no WeChat user is them any more), bind
  codes, dashboard links, subscribe grants, points, quiz answers, their naming as community staff
  or a unit's contact; the conversation in the cache, and each process's memory of who they were.
- Their 报到 record, 流动 records, yearly reports and 失联 case keep their dates and states (the
  community's and the branch's figures count them) without names, phones, places or notes.
- Messages to them lose their text; a message still waiting is not sent.
- Their phone is replaced in every free text (`mentions`); their name too, unless a namesake is
  on record (then only in rows tied to them, and the erasure says so).
- An `Erasure` row: who, when, why (their name and phone taken out of the reason too) and how
  many rows of each kind — a second erasure of the same member is refused.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from server.cache import Cache, CacheUnavailable, conversation_key
from server.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from server.models.community import (
    CommunityMessage,
    CommunityStaff,
    OrderClaim,
    PostHolder,
    Resident,
    ServiceEvent,
    UnitContact,
    Volunteer,
)
from server.models.meetings import MeetingAttendee, MeetingChange
from server.models.member_stars import MemberStar, MemberStarChange
from server.models.mobility import (
    DuesPaid,
    LostAttempt,
    LostCase,
    MobileContact,
    MobileMember,
    YearlyReport,
)
from server.models.notices import Notice, SubscribeGrant
from server.models.people import (
    AdminLink,
    BindCode,
    Member,
    MemberChange,
    MemberStatus,
    Role,
    WeChatIdentity,
)
from server.models.privacy import Erasure
from server.models.study import (
    CheckIn,
    PointsDay,
    PointsEntry,
    QuizAnswer,
    QuizAttempt,
    Submission,
    UnitReading,
)
from server.services.people.access import member_in_scope, scope_of
from server.services.people.identities import IdentityDirectory
from server.services.privacy.mentions import (
    PHONE_GONE,
    REACH_GONE,
    has_namesake,
    replace_everywhere,
    replaced,
)
from server.services.privacy.residents import forget_resident, silence_messages

log = logging.getLogger("dangjian.privacy")

REASON_LONGEST = 200
ZONE = ZoneInfo("Asia/Shanghai")  # DANGJIAN_TZ's default: the day an earlier erasure is dated
# Who may erase: the committee's staff and the administrator (and the operator, `by` None).
ERASERS = frozenset({Role.STAFF, Role.ADMIN})

STILL_ACTIVE = (
    "{name}仍是在册党员：组织关系在本组织，名册需要这条记录，不能删除个人信息。"
    "请先办理转出（名册导入时“状态”填转出；流入党员先“结束流动”），再删除。"
)
CASE_OPEN = (
    "{name}的失联查找或停止党籍后的处置尚未办结（{stage}），支部仍在办理，不能删除个人信息；"
    "办结后再删除。"
)
SPELL_OPEN = "{name}的流动党员记录尚未结束，支部仍在联系，不能删除个人信息；结束流动后再删除。"
DONE_ALREADY = "这名党员的个人信息已于{day}删除（删除记录 {id}），无需再删。"

STATUS_WORDS = {"active": "在册", "transferred": "已转出", "stopped": "已停止党籍"}
# What the preview and the erasure record call each kind of row.
LABELS = {
    "identities": "微信绑定（解除并删除）",
    "bind_codes": "绑定码",
    "admin_links": "后台登录链接",
    "subscribe_grants": "订阅消息授权",
    "points": "积分记录",
    "quiz_answers": "答题明细",
    "submissions": "心得（正文删除，篇数保留）",
    "leave_reasons": "请假事由",
    "meeting_changes": "会议变更记录中的事由",
    "member_changes": "本人的变更记录（姓名、电话替换）",
    "volunteers": "报到记录（匿名化）",
    "claim_notes": "接单备注",
    "service_events": "服务经过中的姓名",
    "community_staff": "社区工作人员指定",
    "unit_contacts": "报到单位联系人绑定",
    "residents": "居民登记（匿名化）",
    "mobility": "流动党员记录（去向、联系方式删除）",
    "contacts": "联系记录（内容删除）",
    "yearly_reports": "年度报告（内容删除）",
    "lost_cases": "失联查找记录（内容删除）",
    "messages": "发给本人的消息（正文删除）",
    "mentions": "他人记录中提及本人（替换）",
}
KEPT_LABELS = {
    "check_ins": "打卡",
    "readings": "学习记录",
    "quizzes": "答题",
    "submissions": "心得篇数",
    "attendances": "会议出勤",
    "notices": "会议通知",
    "claims": "接单",
    "posts": "认岗",
    "dues": "党费记录",
}


def erased_name(member_id: int) -> str:
    return f"已删除党员#{member_id}"


def erased_phone(row_id: int) -> str:
    """Unique (the column is), at most 11 characters, and never shaped like a phone."""
    return f"已删除{row_id}"


@dataclass(frozen=True)
class Preview:
    """What an erasure of this member would do: shown to the operator before they confirm."""

    member_id: int
    name: str
    organisation: str
    status: str
    changes: dict[str, int]  # LABELS' keys: rows that would be removed or anonymised
    kept: dict[str, int]  # KEPT_LABELS' keys: event rows kept, without personal data
    namesake: bool  # someone else on record has the same name


@dataclass
class Erased:
    erasure: Erasure
    namesake: bool
    changes: dict[str, int] = field(default_factory=dict)


async def _target(member_id: int, by: Member | None, zone: ZoneInfo) -> Member:
    if by is not None:
        if by.status != MemberStatus.ACTIVE or by.role not in ERASERS:
            raise PermissionDenied("只有党工委工作人员或系统管理员可以删除党员的个人信息。")
        member = await member_in_scope(await scope_of(by), member_id)
    else:
        found = await Member.get_or_none(id=member_id).prefetch_related("organisation")
        if found is None:
            raise NotFound("没有这名党员。", field="member")
        member = found
    done = await Erasure.get_or_none(member_id=member.id)
    if done is not None:
        raise Conflict(DONE_ALREADY.format(day=_day(done, zone), id=done.id))
    if member.status == MemberStatus.ACTIVE:
        raise Conflict(STILL_ACTIVE.format(name=member.name), field="member")
    case = await LostCase.filter(member_id=member.id, current__isnull=False).first()
    if case is not None:
        raise Conflict(CASE_OPEN.format(name=member.name, stage=case.stage.value), field="member")
    if await MobileMember.filter(member_id=member.id, current__isnull=False).exists():
        raise Conflict(SPELL_OPEN.format(name=member.name), field="member")
    return member


def _day(done: Erasure, zone: ZoneInfo) -> str:
    return done.at.astimezone(zone).date().isoformat()


def _reason(reason: str) -> str:
    text = " ".join((reason or "").split())
    if not text:
        raise ValidationFailed(
            "请写明删除的理由（如：本人书面申请，某年某月某日）。", field="reason"
        )
    if len(text) > REASON_LONGEST:
        raise ValidationFailed(f"理由请写在{REASON_LONGEST}字以内。", field="reason")
    return text


@dataclass(frozen=True)
class _Reach:
    """The member's WeChat users, reported-member rows and resident rows."""

    pairs: list[tuple[str, str]]  # (appid, openid)
    volunteers: list[Volunteer]
    residents: list[Resident]


def _as_of(pairs: list[tuple[str, str]]) -> Q:
    """Rows of any of these WeChat users (none: no row)."""
    q = Q(id=-1)
    for appid, openid in pairs:
        q |= Q(appid=appid, openid=openid)
    return q


async def _reach(member: Member) -> _Reach:
    pairs = [
        (i.appid, i.openid) for i in await WeChatIdentity.filter(member_id=member.id).order_by("id")
    ]
    volunteers = await Volunteer.filter(Q(member_id=member.id) | _as_of(pairs)).order_by("id")
    for v in volunteers:
        if v.appid and v.openid and (v.appid, v.openid) not in pairs:
            pairs.append((v.appid, v.openid))
    for m in await MobileMember.filter(member_id=member.id, openid__isnull=False):
        if m.appid and m.openid and (m.appid, m.openid) not in pairs:
            pairs.append((m.appid, m.openid))
    residents = await Resident.filter(_as_of(pairs)).order_by("id")
    return _Reach(pairs, volunteers, residents)


async def preview(member_id: int, by: Member | None = None, *, zone: ZoneInfo = ZONE) -> Preview:
    """What `erase_member` would do, without doing it; refused as it would be."""
    member = await _target(member_id, by, zone)
    reach = await _reach(member)
    mine = {"member_id": member.id}
    volunteer_ids = [v.id for v in reach.volunteers]
    changes = {
        "identities": await WeChatIdentity.filter(**mine).count(),
        "bind_codes": await BindCode.filter(**mine).count(),
        "admin_links": await AdminLink.filter(**mine).count(),
        "subscribe_grants": await SubscribeGrant.filter(**mine).count(),
        "points": await PointsEntry.filter(**mine).count() + await PointsDay.filter(**mine).count(),
        "quiz_answers": await QuizAnswer.filter(**mine).count(),
        "submissions": await Submission.filter(**mine).count(),
        "leave_reasons": await MeetingAttendee.filter(**mine, reason__isnull=False).count(),
        "member_changes": await MemberChange.filter(**mine).count(),
        "volunteers": len(reach.volunteers),
        "claim_notes": await OrderClaim.filter(volunteer_id__in=volunteer_ids)
        .exclude(note="")
        .count(),
        "community_staff": await CommunityStaff.filter(**mine).count(),
        "unit_contacts": await UnitContact.filter(_as_of(reach.pairs)).count(),
        "residents": len(reach.residents),
        "mobility": await MobileMember.filter(**mine).count(),
        "contacts": await MobileContact.filter(**mine).count(),
        "yearly_reports": await YearlyReport.filter(**mine).count(),
        "lost_cases": await LostCase.filter(**mine).count(),
        "messages": await CommunityMessage.filter(_as_of(reach.pairs)).count(),
    }
    return Preview(
        member_id=member.id,
        name=member.name,
        organisation=member.organisation.path,
        status=STATUS_WORDS.get(str(member.status), str(member.status)),
        changes={k: n for k, n in changes.items() if n},
        kept={k: n for k, n in (await _kept(member.id, volunteer_ids)).items() if n},
        namesake=await has_namesake(member.name, member.id),
    )


async def _kept(member_id: int, volunteer_ids: list[int]) -> dict[str, int]:
    mine = {"member_id": member_id}
    return {
        "check_ins": await CheckIn.filter(**mine).count(),
        "readings": await UnitReading.filter(**mine).count(),
        "quizzes": await QuizAttempt.filter(**mine).count(),
        "submissions": await Submission.filter(**mine).count(),
        "attendances": await MeetingAttendee.filter(**mine).count(),
        "notices": await Notice.filter(**mine).count(),
        "claims": await OrderClaim.filter(volunteer_id__in=volunteer_ids).count(),
        "posts": await PostHolder.filter(volunteer_id__in=volunteer_ids).count(),
        "dues": await DuesPaid.filter(**mine).count(),
    }


async def erase_member(
    member_id: int,
    by: Member | None,
    reason: str,
    *,
    now: datetime,
    identities: IdentityDirectory | None = None,
    cache: Cache | None = None,
    zone: ZoneInfo = ZONE,
) -> Erased:
    """Erase the member's personal data (see the module); `by` None is the operator.

    `identities` and `cache`, when given, forget the member's WeChat users in every process
    and drop their conversation state at once; without them both lapse on their own (the
    identity memory within DANGJIAN_IDENTITY_TTL, a conversation within its timeout).
    """
    why = _reason(reason)
    member = await _target(member_id, by, zone)
    old_name, old_phone = member.name, member.phone
    new_name = erased_name(member.id)
    swaps = [(old_phone, PHONE_GONE), (old_name, new_name)]
    namesake = await has_namesake(old_name, member.id)
    reach = await _reach(member)
    changes: dict[str, int] = {}
    try:
        async with in_transaction():
            # First: the unique row is what refuses a second erasure running at the same time.
            erasure = await Erasure.create(
                member_id=member.id,
                by_id=by.id if by is not None else None,
                reason=replaced(why, swaps) or "",
                at=now,
                erased={},
            )
            changes = await _erase(member, reach, swaps, namesake)
            changes = {k: n for k, n in changes.items() if n}
            erasure.erased = changes
            await erasure.save(update_fields=["erased"])
    except IntegrityError:
        done = await Erasure.get_or_none(member_id=member.id)
        if done is None:
            raise
        raise Conflict(DONE_ALREADY.format(day=_day(done, zone), id=done.id)) from None
    await _forget_in_cache(reach.pairs, identities, cache)
    log.info(
        "member erased",
        extra={
            "member_id": member.id,
            "by_id": by.id if by is not None else None,
            "rows": sum(changes.values()),
        },
    )
    return Erased(erasure, namesake, changes)


async def _erase(
    member: Member, reach: _Reach, swaps: list[tuple[str, str]], namesake: bool
) -> dict[str, int]:
    mine = {"member_id": member.id}
    old_name, new_name = swaps[1]
    done: dict[str, int] = {
        "identities": await WeChatIdentity.filter(**mine).delete(),
        "bind_codes": await BindCode.filter(**mine).delete(),
        "admin_links": await AdminLink.filter(**mine).delete(),
        "subscribe_grants": await SubscribeGrant.filter(**mine).delete(),
        "points": await PointsEntry.filter(**mine).delete()
        + await PointsDay.filter(**mine).delete(),
        "quiz_answers": await QuizAnswer.filter(**mine).delete(),
        "community_staff": await CommunityStaff.filter(**mine).delete(),
        "unit_contacts": await UnitContact.filter(_as_of(reach.pairs)).delete(),
    }
    # 心得: the count stays (交流体会人次); the text, and anything derived from it, goes.
    submissions = await Submission.filter(**mine).values_list("id", flat=True)
    for sid in submissions:
        await Submission.filter(id=sid).update(
            content="", digest=f"erased:{sid}", return_reason=None
        )
    done["submissions"] = len(submissions)
    done["leave_reasons"] = await MeetingAttendee.filter(**mine, reason__isnull=False).update(
        reason=None
    )
    # 星级党员: the decisions stay (the branch's record); their reasons (health, family) go.
    stars = await MemberStar.filter(**mine).values_list("id", flat=True)
    done["star_reasons"] = await MemberStar.filter(**mine).update(reason="") + (
        await MemberStarChange.filter(row_id__in=list(stars)).update(reason="")
    )
    done["meeting_changes"] = await _meeting_changes(member.id, swaps)
    done["member_changes"] = await _own_changes(member.id, swaps)
    done.update(await _community(member, reach, swaps, namesake))
    done.update(await _mobility(member.id))
    messages = 0
    for appid, openid in reach.pairs:
        messages += await silence_messages(appid, openid)
    done["messages"] = messages
    residents = 0
    for resident in reach.residents:
        residents += 1 if await forget_resident(resident) else 0
    done["residents"] = residents
    # Others' free text last, once the rows tied to the member are done: a phone is one
    # person's; a name is only when nobody else on record bears it.
    mentions = 0
    for v in reach.volunteers:
        if v.phone != member.phone:
            mentions += await replace_everywhere(v.phone, PHONE_GONE)
    mentions += await replace_everywhere(member.phone, PHONE_GONE)
    if not namesake:
        mentions += await replace_everywhere(old_name, new_name)
    done["mentions"] = mentions
    await Member.filter(id=member.id).update(
        name=new_name,
        phone=erased_phone(member.id),
        gender=None,
        birth_date=None,
        education=None,
        joined_on=None,
        role=Role.MEMBER,
        is_mobile=False,
    )
    return done


async def _meeting_changes(member_id: int, swaps: list[tuple[str, str]]) -> int:
    """The leave asked for and the reason given, in the meeting's change record: emptied."""
    meetings = await MeetingAttendee.filter(member_id=member_id).values_list(
        "meeting_id", flat=True
    )
    changed = 0
    for change in await MeetingChange.filter(meeting_id__in=list(meetings)):
        detail: dict[str, Any] = dict(change.detail or {})
        if detail.get("member") != member_id:
            continue
        for key in ("reason", "asked"):
            if isinstance(detail.get(key), str) and detail[key]:
                detail[key] = ""
        if detail != change.detail:
            await MeetingChange.filter(id=change.id).update(detail=detail)
            changed += 1
    return changed


async def _own_changes(member_id: int, swaps: list[tuple[str, str]]) -> int:
    changed = 0
    for row in await MemberChange.filter(member_id=member_id):
        fixed = {
            name: replaced(getattr(row, name), swaps) or ""
            for name in ("before", "after", "reason")
        }
        if any(fixed[name] != getattr(row, name) for name in fixed):
            await MemberChange.filter(id=row.id).update(**fixed)
            changed += 1
    return changed


async def _community(
    member: Member, reach: _Reach, swaps: list[tuple[str, str]], namesake: bool
) -> dict[str, int]:
    """Their 报到 rows anonymised; what they wrote on claims emptied; their name in the
    timelines of what they claimed (every timeline, when no namesake: `mentions`)."""
    new_name = swaps[1][1]
    ids = [v.id for v in reach.volunteers]
    for v in reach.volunteers:
        await Volunteer.filter(id=v.id).update(
            name=new_name,
            phone=erased_phone(v.id),
            appid=None,
            openid=None,
            grid="",
            skills="",
            reason=replaced(v.reason, swaps) or "",
        )
    claim_notes = await OrderClaim.filter(volunteer_id__in=ids).exclude(note="").update(note="")
    events = 0
    if namesake:  # else the name goes from every timeline below
        orders = await OrderClaim.filter(volunteer_id__in=ids).values_list("order_id", flat=True)
        for v in reach.volunteers:
            as_them = ServiceEvent.filter(order_id__in=list(orders), actor=f"党员 {v.name}")
            events += await as_them.update(actor=f"党员 {new_name}")
            for row in await CommunityMessage.filter(key__contains=f"volunteer:{v.id}:"):
                await CommunityMessage.filter(id=row.id).update(
                    text=replaced(row.text, swaps) or "", note=replaced(row.note, swaps)
                )
                events += 1
    return {"volunteers": len(ids), "claim_notes": claim_notes, "service_events": events}


async def _mobility(member_id: int) -> dict[str, int]:
    """Dates and states stay (the branch's figures); places, ways to reach, notes go."""
    mine = {"member_id": member_id}
    spells = await MobileMember.filter(**mine).update(
        name="", other_org="", end_note="", refuse_reason="", **REACH_GONE
    )
    # Records of others this member kept in touch with, still open: the branch names another.
    await MobileMember.filter(keeper_id=member_id, current__isnull=False).update(keeper_id=None)
    contacts = await MobileContact.filter(**mine).update(note="")
    reports = await YearlyReport.filter(**mine).update(org_life="", dues_where="")
    cases = await LostCase.filter(**mine).values_list("id", flat=True)
    await LostCase.filter(id__in=list(cases)).update(handling="", decision="", closed_note="")
    attempts = await LostAttempt.filter(case_id__in=list(cases)).update(note="")
    return {
        "mobility": spells,
        "contacts": contacts,
        "yearly_reports": reports,
        "lost_cases": len(cases) + attempts,
    }


async def _forget_in_cache(
    pairs: list[tuple[str, str]], identities: IdentityDirectory | None, cache: Cache | None
) -> None:
    try:
        for appid, openid in pairs:
            if identities is not None:
                await identities.forget(appid, openid)
            if cache is not None:
                await cache.delete(conversation_key(appid, openid))
    except CacheUnavailable as exc:
        # The rows are gone: what the cache remembers lapses on its own.
        log.warning("could not clear the cache after an erasure: %s", exc)
