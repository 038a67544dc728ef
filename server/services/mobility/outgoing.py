"""流出: a member of the branch who lives or works elsewhere, and the branch's record of it.

Marking keeps `Member.is_mobile` (the roster's 流动党员 column) in step with the record, in the
same transaction; a member has one open record at most (`MobileMember.current` is unique).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from server.errors import Conflict, NotFound, ValidationFailed
from server.models.meetings import AttendeeRole, MeetingAttendee, scheduled
from server.models.mobility import Direction, FlowReason, FlowStatus, MobileMember
from server.models.notices import Notice, NoticeStatus
from server.models.people import Member, MemberStatus
from server.services.mobility.groups import leave_group
from server.services.mobility.who import forget, require_keeper
from server.services.mobility.words import check_text
from server.services.people.identities import IdentityDirectory

LONGEST_CADENCE = 366


@dataclass(frozen=True)
class Outgoing:
    """What the branch knows of a member's leaving; only the place and the reason are needed."""

    place: str
    reason: FlowReason
    since: date | None = None  # None: today
    reach: str = ""
    other_org: str = ""  # the receiving organisation, if known
    certificate: str = ""  # 流动党员活动证 number
    keeper_id: int | None = None
    cadence_days: int | None = None


def check_cadence(days: int | None) -> int | None:
    if days is not None and not 7 <= days <= LONGEST_CADENCE:
        raise ValidationFailed("联系周期应在 7 到 366 天之间。", field="cadence_days")
    return days


async def check_keeper(keeper_id: int | None, target: Member) -> Member | None:
    """The 联系人: an active member of the same branch, not the member themselves."""
    if keeper_id is None:
        return None
    keeper = await Member.get_or_none(id=keeper_id, status=MemberStatus.ACTIVE)
    if keeper is None or keeper.organisation_id != target.organisation_id:
        raise ValidationFailed("联系人应是本支部的在册党员（一般为支委委员）。", field="keeper")
    if keeper.id == target.id:
        raise ValidationFailed("联系人不能是本人。", field="keeper")
    return keeper


async def open_record(member_id: int) -> MobileMember | None:
    return await MobileMember.get_or_none(member_id=member_id, current=f"member:{member_id}")


async def mark_out(
    actor: Member | None, target: Member, out: Outgoing, today: date, now: datetime
) -> MobileMember:
    """流出 姓名 去向 原因: the branch records that a member has moved away."""
    await require_keeper(actor, target)
    if target.status != MemberStatus.ACTIVE:
        raise Conflict(f"{target.name}不是在册党员，不能登记流出。")
    if target.incoming:
        raise Conflict(f"{target.name}是流入党员，组织关系不在本支部，请告知其所在党组织。")
    place = check_text(out.place, "place", 100, "流出 张三 江苏苏州 外出务工经商")
    if out.since is not None and out.since > today:
        raise ValidationFailed("外出时间不能晚于今天。", field="since")
    keeper = await check_keeper(out.keeper_id, target)
    try:
        async with in_transaction() as conn:
            record = await MobileMember.create(
                member_id=target.id,
                direction=Direction.OUT,
                branch_id=target.organisation_id,
                status=FlowStatus.ACTIVE,
                current=f"member:{target.id}",
                since=out.since or today,
                place=place,
                reason=out.reason,
                reach=out.reach.strip()[:100],
                other_org=out.other_org.strip()[:100],
                certificate=out.certificate.strip()[:30],
                keeper_id=keeper.id if keeper else None,
                cadence_days=check_cadence(out.cadence_days),
                created_by_id=actor.id if actor else None,
                created_at=now.astimezone(UTC),
                using_db=conn,
            )
            await Member.filter(id=target.id).using_db(conn).update(is_mobile=True)
    except IntegrityError:
        raise Conflict(f"{target.name}已登记为流动党员。", code="MOBILE_EXISTS") from None
    return record


async def amend(
    actor: Member | None,
    target: Member,
    *,
    keeper_id: int | None = None,
    cadence_days: int | None = None,
    reach: str | None = None,
    other_org: str | None = None,
    certificate: str | None = None,
    place: str | None = None,
    reason: FlowReason | None = None,
    since: date | None = None,
    today: date | None = None,
) -> MobileMember:
    """Change what the branch knows (the 联系人, the cadence, how to reach them, where and
    why, since when: `today` given, a `since` after it is refused as `mark_out` does)."""
    await require_keeper(actor, target)
    record = await open_record(target.id)
    if record is None:
        raise NotFound(f"{target.name}没有登记为流动党员。")
    changes: dict[str, object] = {}
    if keeper_id is not None:
        keeper = await check_keeper(keeper_id, target)
        changes["keeper_id"] = keeper.id if keeper else None
    if cadence_days is not None:
        changes["cadence_days"] = check_cadence(cadence_days)
    for name, value, longest in (
        ("reach", reach, 100),
        ("other_org", other_org, 100),
        ("certificate", certificate, 30),
    ):
        if value is not None:
            changes[name] = " ".join(value.split())[:longest]
    if place is not None:
        changes["place"] = check_text(place, "place", 100, "江苏苏州")
    if reason is not None:
        changes["reason"] = reason
    if since is not None:
        if today is not None and since > today:
            raise ValidationFailed("外出时间不能晚于今天。", field="since")
        changes["since"] = since
    if changes:
        await MobileMember.filter(id=record.id).update(**changes)
        await record.refresh_from_db()
    return record


async def end(
    actor: Member | None,
    target: Member,
    note: str,
    today: date,
    now: datetime,
    identities: IdentityDirectory | None = None,
) -> MobileMember:
    """结束流动: came back, or moved the relationship (then 转出 in the roster as well)."""
    await require_keeper(actor, target)
    record = await open_record(target.id)
    if record is None:
        raise NotFound(f"{target.name}没有登记为流动党员。")
    note = check_text(note, "note", 200, "结束流动 张三 已返回本地居住")
    async with in_transaction() as conn:
        ended = (
            await MobileMember.filter(id=record.id, current__not_isnull=True)
            .using_db(conn)
            .update(status=FlowStatus.ENDED, current=None, ended_on=today, end_note=note)
        )
        if ended:
            await leave_group(actor, target, conn)
        if ended and record.direction == Direction.OUT:
            await Member.filter(id=target.id).using_db(conn).update(is_mobile=False)
        elif ended:  # a 流入 who left the street: their record stays, they take part no more
            coming = MeetingAttendee.filter(
                scheduled(now, "meeting__"),
                member_id=target.id,
                role=AttendeeRole.INCOMING,
                meeting__starts_at__gt=now.astimezone(UTC),
            )
            ids = list(await coming.using_db(conn).values_list("meeting_id", flat=True))
            await (
                Notice.filter(member_id=target.id, meeting_id__in=ids, status=NoticeStatus.PENDING)
                .using_db(conn)
                .update(status=NoticeStatus.VOID)
            )
            await (
                MeetingAttendee.filter(
                    member_id=target.id, meeting_id__in=ids, role=AttendeeRole.INCOMING
                )
                .using_db(conn)
                .delete()
            )
            await Member.filter(id=target.id).using_db(conn).update(status=MemberStatus.TRANSFERRED)
    if record.direction == Direction.IN:
        await forget(target.id, identities)  # no longer one of the street's
    await record.refresh_from_db()
    return record
