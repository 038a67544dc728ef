"""流入: a member of another organisation who lives or works in the street reports to a local
branch (流入 报到); the branch confirms, and they take part in its 组织生活 and study without
表决权, 选举权 or 被选举权 here (`Member.incoming`).

They report from WeChat before they are anyone here: the record keeps the WeChat user, and
confirming makes the `Member` and binds that user in one transaction.  The secretary's
confirmation is the check of who they are (their home organisation can be asked).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from server.channels import Channel
from server.errors import Conflict, NotFound, ValidationFailed
from server.models.meetings import (
    AttendeeRole,
    Meeting,
    MeetingAttendee,
    MeetingType,
    scheduled,
)
from server.models.mobility import Direction, FlowReason, FlowStatus, MobileMember
from server.models.people import (
    Member,
    MemberStatus,
    Organisation,
    OrgKind,
    Role,
    WeChatIdentity,
)
from server.services.community.units import check_name, check_phone
from server.services.meetings import notices
from server.services.mobility.who import require_branch_leader
from server.services.mobility.words import check_text
from server.services.people.access import scope_of
from server.services.people.identities import IdentityDirectory
from server.services.people.org_order import in_tree_order
from server.services.people.scope import under


@dataclass(frozen=True)
class Incoming:
    name: str
    phone: str
    home_org: str  # 组织关系所在党组织
    home_contact: str  # that organisation's phone, or how to reach it
    place: str  # where they live or work in the street
    reason: FlowReason
    since: date | None = None
    certificate: str = ""


async def branches_named(given: str) -> list[Organisation]:
    """The street's 党支部 whose name contains `given` (红星村 finds 红星村党支部)."""
    given = given.strip()
    if not given:
        return []
    return await in_tree_order(await Organisation.filter(kind=OrgKind.BRANCH, name__contains=given))


async def pending_of(appid: str, openid: str) -> MobileMember | None:
    return await MobileMember.get_or_none(
        appid=appid, openid=openid, direction=Direction.IN, status=FlowStatus.PENDING
    )


def _reporter_key(phone: str, appid: str, openid: str) -> str:
    """One open report per phone *and* WeChat user: the same person's retry is the same report,
    while a second person giving the same phone is a second report the secretary sees."""
    who = hashlib.sha256(f"{appid}:{openid}".encode()).hexdigest()[:16]
    return f"phone:{phone}:{who}"


async def report_in(
    appid: str,
    openid: str,
    channel: Channel,
    branch: Organisation,
    incoming: Incoming,
    today: date,
    now: datetime,
) -> MobileMember:
    """流入 报到: wait for the branch.

    The reporter is told the same whoever holds the phone: saying "this phone is a member's"
    would let anyone look up who in the street is a Party member.  The secretary sees it instead
    (`warnings`), and confirming a phone that is already a member's is refused.  The same
    WeChat user reporting the same phone again gets their report back, written once."""
    if branch.kind != OrgKind.BRANCH:
        raise ValidationFailed("请选择一个党支部报到。", field="branch")
    name = check_name(incoming.name, "name", 20)
    phone = check_phone(incoming.phone)
    if await WeChatIdentity.exists(appid=appid, openid=openid):
        raise Conflict("您的微信已绑定党员身份，不用流入报到。", code="ALREADY_MEMBER")
    if incoming.since is not None and incoming.since > today:
        raise ValidationFailed("流入时间不能晚于今天。", field="since")
    key = _reporter_key(phone, appid, openid)
    try:
        return await MobileMember.create(
            member_id=None,
            direction=Direction.IN,
            branch_id=branch.id,
            status=FlowStatus.PENDING,
            current=key,
            since=incoming.since or today,
            place=check_text(incoming.place, "place", 100, "红星村3组"),
            reason=incoming.reason,
            other_org=check_text(incoming.home_org, "home_org", 100, "XX县XX镇XX村党支部"),
            other_contact=" ".join(incoming.home_contact.split())[:100],
            certificate=incoming.certificate.strip()[:30],
            name=name,
            phone=phone,
            appid=appid,
            openid=openid,
            channel=channel.value,
            created_at=now.astimezone(UTC),
        )
    except IntegrityError:  # this WeChat user reported this phone already (a retry, a re-send)
        return await MobileMember.get(current=key)


async def warnings(record: MobileMember) -> list[str]:
    """What the secretary should know before confirming a 流入 report."""
    found: list[str] = []
    if record.phone is None or record.status != FlowStatus.PENDING:
        return found
    holder = await Member.get_or_none(phone=record.phone).prefetch_related("organisation")
    if holder is not None:
        state = "" if holder.status == MemberStatus.ACTIVE else "（已不在册）"
        found.append(
            f"⚠ 该手机号已是本街道党员{holder.name}{state}（{holder.organisation.name}）的，"
            "不能确认；请核实报到人身份"
        )
    others = (
        await MobileMember.filter(
            phone=record.phone, status=FlowStatus.PENDING, direction=Direction.IN
        )
        .exclude(id=record.id)
        .count()
    )
    if others:
        found.append(f"⚠ 另有 {others} 份流入报到用了同一手机号，请核实是谁本人")
    return found


async def _join_meetings_to_come(
    member: Member, branch: Organisation, now: datetime, conn: BaseDBAsyncClient
) -> list[Meeting]:
    """A 流入 member confirmed today takes part in the branch's meetings already scheduled and
    still to come, as one scheduled after today would have them: without a vote, never at a
    支委会, and at a 党小组会 only of their group (a newcomer is in none yet)."""
    coming = (
        await Meeting.filter(
            scheduled(now),
            organisation_id=branch.id,
            starts_at__gt=now.astimezone(UTC),
        )
        .exclude(kind__in=[MeetingType.COMMITTEE_MEETING, MeetingType.GROUP_MEETING])
        .using_db(conn)
    )
    await MeetingAttendee.bulk_create(
        [
            MeetingAttendee(
                meeting_id=m.id,
                member_id=member.id,
                organisation_id=branch.id,
                role=AttendeeRole.INCOMING,
            )
            for m in coming
        ],
        using_db=conn,
    )
    return list(coming)


async def pending_for(actor: Member | None) -> list[MobileMember]:
    """流入 reports waiting for the actor's branches (oldest first)."""
    query = MobileMember.filter(direction=Direction.IN, status=FlowStatus.PENDING)
    if actor is not None:
        scope = await scope_of(actor)
        if not scope.everything:
            if scope.path is None or scope.group:
                return []
            query = query.filter(under(scope.path, "branch"))
    return await query.prefetch_related("branch").order_by("id")


async def decide_in(
    actor: Member | None,
    record_id: int,
    confirm: bool,
    reason: str,
    now: datetime,
    identities: IdentityDirectory | None = None,
    offsets: Sequence[tuple[str, int]] = (),
) -> MobileMember:
    """确认流入 N, or 不确认流入 N 原因.  Confirming makes the member (流入, no vote here) and
    binds the WeChat user who reported; deciding twice changes nothing."""
    record = await MobileMember.get_or_none(id=record_id, direction=Direction.IN)
    if record is None:
        raise NotFound(f"没有编号 {record_id} 的流入报到。")
    branch = await Organisation.get(id=record.branch_id)
    await require_branch_leader(actor, branch)
    if record.status != FlowStatus.PENDING:
        raise Conflict(f"编号 {record_id} 的流入报到已经处理过了。", code="DECIDED")
    by = actor.id if actor else None
    if not confirm:
        reason = check_text(reason, "reason", 200, "不确认流入 3 经联系原党组织，无此人")
        refused = await MobileMember.filter(id=record.id, status=FlowStatus.PENDING).update(
            status=FlowStatus.REFUSED,
            current=None,
            refuse_reason=reason,
            decided_by_id=by,
            decided_at=now.astimezone(UTC),
        )
        if not refused:  # confirmed (or refused) a moment ago by another request
            raise Conflict(f"编号 {record_id} 的流入报到已经处理过了。", code="DECIDED")
        await record.refresh_from_db()
        return record
    assert record.phone is not None
    try:
        async with in_transaction() as conn:
            decided = (
                await MobileMember.filter(id=record.id, status=FlowStatus.PENDING)
                .using_db(conn)
                .update(status=FlowStatus.ACTIVE, decided_by_id=by, decided_at=now.astimezone(UTC))
            )
            if not decided:
                raise Conflict(f"编号 {record_id} 的流入报到已经处理过了。", code="DECIDED")
            member = await Member.create(
                name=record.name,
                phone=record.phone,
                organisation_id=branch.id,
                role=Role.MEMBER,
                incoming=True,
                using_db=conn,
            )
            await (
                MobileMember.filter(id=record.id)
                .using_db(conn)
                .update(member_id=member.id, current=f"member:{member.id}")
            )
            joined = await _join_meetings_to_come(member, branch, now, conn)
            if record.appid and record.openid:
                await WeChatIdentity.create(
                    appid=record.appid,
                    openid=record.openid,
                    channel=Channel(record.channel or Channel.OFFICIAL_ACCOUNT.value),
                    member_id=member.id,
                    using_db=conn,
                )
    except IntegrityError:
        raise Conflict(
            "这个手机号或微信已是本街道党员的，不能再确认为流入党员；请核实后处理。",
            code="ALREADY_MEMBER",
        ) from None
    for meeting in joined:  # told of each, and reminded, as a member added to it would be
        await notices.plan_new(meeting, list(offsets), now, members=[member.id])
    await record.refresh_from_db()
    if record.appid and record.openid and identities is not None:
        await identities.forget(record.appid, record.openid)  # a member from now on
    return record
