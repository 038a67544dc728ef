"""报到党员: an in-service member reports from their unit (or a street member reports where
they live); the community confirms, placing them in a 网格, or refuses with a reason.

Registration is once per phone and per WeChat user: a second `报到` changes nothing and says
so; what changes later (skills, grid, the community after a move) is changed on the same row.
A refused member may apply again, which puts the same row back to 待社区确认.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from server.errors import Conflict, ValidationFailed
from server.models.community import (
    ClaimStatus,
    Community,
    HolderStatus,
    OrderClaim,
    OrderStatus,
    PostHolder,
    ReportUnit,
    Volunteer,
    VolunteerStatus,
)
from server.models.people import Member
from server.services.community import notify, timeline
from server.services.community.roles import community_run_by
from server.services.community.units import check_name, check_phone
from server.services.people.access import Hidden

SKILLS_LONGEST = 200


def clean_skills(text: str) -> str:
    """水电维修，助老 法律咨询 → 水电维修、助老、法律咨询 (无/没有: none)."""
    parts = [p for p in text.replace("，", "、").replace(",", "、").replace(" ", "、").split("、")]
    skills = "、".join(p.strip() for p in parts if p.strip() and p.strip() not in {"无", "没有"})
    if len(skills) > SKILLS_LONGEST:
        raise ValidationFailed(f"特长请写在{SKILLS_LONGEST}字以内。", field="skills")
    return skills


@dataclass(frozen=True)
class Application:
    name: str
    phone: str
    unit: ReportUnit | None
    member: Member | None
    community: Community
    skills: str


async def volunteer_for(appid: str, openid: str) -> Volunteer | None:
    """A member of an outside unit, by the WeChat user who reported.

    Never a street member's row: theirs is reached through their binding only, so a WeChat
    user unbound from the member (a lost phone) cannot go on claiming as them.
    """
    return await Volunteer.get_or_none(appid=appid, openid=openid, member_id=None)


async def volunteer_of_member(member: Member | None) -> Volunteer | None:
    return None if member is None else await Volunteer.get_or_none(member_id=member.id)


async def apply(
    application: Application,
    now: datetime,
    *,
    appid: str | None,
    openid: str | None,
    tidings: notify.Tidings | None = None,
) -> Volunteer:
    """Register, or apply again after a refusal; Conflict when already registered.  With
    `tidings`, the community's secretaries are told (in the same transaction)."""
    name = check_name(application.name)
    phone = check_phone(application.phone)
    existing = await Volunteer.get_or_none(phone=phone)
    if existing is None and appid and openid:
        existing = await volunteer_for(appid, openid)
    if existing is not None and existing.status != VolunteerStatus.REFUSED:
        state = "已报到" if existing.status == VolunteerStatus.CONFIRMED else "已提交、待社区确认"
        raise Conflict(
            f"您{state}（{await _community_name(existing)}），每人只报到一次。"
            "信息有变化请回复 我的报到 查看如何修改。",
            code="VOLUNTEER_EXISTS",
        )
    if application.member is not None:
        other = await Volunteer.get_or_none(member_id=application.member.id)
        if other is not None and (existing is None or other.id != existing.id):
            raise Conflict("您已报到过，每人只报到一次。", code="VOLUNTEER_EXISTS")
    fields = {
        "name": name,
        "phone": phone,
        "unit_id": application.unit.id if application.unit else None,
        "member_id": application.member.id if application.member else None,
        "community_id": application.community.id,
        "skills": clean_skills(application.skills),
        "status": VolunteerStatus.PENDING,
        "reason": "",
        "grid": "",
        # A street member is known by their binding, not by the WeChat user who reported.
        "appid": appid if application.member is None else None,
        "openid": openid if application.member is None else None,
        "registered_at": now,
        "decided_at": None,
        "decided_by_id": None,
    }
    try:
        async with in_transaction() as conn:
            if existing is None:
                volunteer = await Volunteer.create(**fields, using_db=conn)
                action = "报到"
            else:
                await Volunteer.filter(id=existing.id).using_db(conn).update(**fields)
                volunteer = await Volunteer.get(id=existing.id, using_db=conn)
                action = "重新报到"
            await timeline.record(
                now, f"党员 {name}", action, note=_who(application), using_db=conn
            )
            if tidings is not None:
                await notify.volunteer_registered(tidings, volunteer, now, conn)
    except IntegrityError:
        # The same phone or WeChat user at the same moment from another request.
        raise Conflict("您已报到过，每人只报到一次。", code="VOLUNTEER_EXISTS") from None
    if tidings is not None:
        tidings.wake()
    return volunteer


def _who(application: Application) -> str:
    unit = application.unit.name if application.unit else "本街道"
    return f"{unit} → {application.community.name}"


async def _community_name(volunteer: Volunteer) -> str:
    return (await Community.get(id=volunteer.community_id)).name


async def pending(community: Community) -> list[Volunteer]:
    return (
        await Volunteer.filter(community=community, status=VolunteerStatus.PENDING)
        .prefetch_related("unit")
        .order_by("registered_at", "id")
    )


async def decide(
    manager: Member,
    volunteer_id: int,
    now: datetime,
    *,
    confirm: bool,
    grid: str = "",
    reason: str = "",
    tidings: notify.Tidings | None = None,
) -> Volunteer:
    """The community confirms (placing the member in `grid`) or refuses (with `reason`); with
    `tidings`, the member is told (in the same transaction)."""
    volunteer = await Volunteer.get_or_none(id=volunteer_id)
    if volunteer is None:
        raise Hidden()  # as for another community's: an id tells a stranger nothing
    await community_run_by(manager, volunteer.community_id)
    grid, reason = grid.strip(), reason.strip()
    if confirm and len(grid) > 50:
        raise ValidationFailed("网格名称不能超过50字。", field="grid")
    if not confirm and not reason:
        raise ValidationFailed("请写上不通过的原因，会告知本人。", field="reason")
    if len(reason) > 200:
        raise ValidationFailed("原因请写在200字以内。", field="reason")
    status = VolunteerStatus.CONFIRMED if confirm else VolunteerStatus.REFUSED
    # Only a pending application is decided: two taps, or two managers, decide it once; and
    # only the application read here — not one moved to another community meanwhile.
    async with in_transaction() as conn:
        changed = (
            await Volunteer.filter(
                id=volunteer.id,
                status=VolunteerStatus.PENDING,
                community_id=volunteer.community_id,
            )
            .using_db(conn)
            .update(
                status=status,
                grid=grid if confirm else volunteer.grid,
                reason="" if confirm else reason,
                decided_at=now,
                decided_by_id=manager.id,
                # The first confirmation stands (a move confirmed again keeps it).
                confirmed_at=(volunteer.confirmed_at or now) if confirm else volunteer.confirmed_at,
            )
        )
        if not changed:
            raise Conflict("这个报到申请已经处理过了。", code="VOLUNTEER_DECIDED")
        await timeline.record(
            now,
            f"社区 {manager.name}",
            "确认报到" if confirm else "退回报到",
            note=f"{volunteer.name}：{grid or reason}",
            using_db=conn,
        )
        decided = await Volunteer.get(id=volunteer.id, using_db=conn)
        if tidings is not None:
            await notify.volunteer_decided(tidings, decided, now, conn)
    if tidings is not None:
        tidings.wake()
    return decided


async def update_skills(volunteer: Volunteer, skills: str) -> Volunteer:
    volunteer.skills = clean_skills(skills)
    await volunteer.save(update_fields=["skills"])
    return volunteer


async def move(
    volunteer: Volunteer,
    community: Community,
    now: datetime,
    *,
    tidings: notify.Tidings | None = None,
) -> Volunteer:
    """After a move: the new community confirms again; past service stays where it was done.
    With `tidings`, the new community's secretaries are told (in the same transaction)."""
    if community.id == volunteer.community_id:
        return volunteer
    # Orders held in the old community stay the old community's to serve: finish or give
    # them up first, so none is stranded with a member who can no longer reach it.
    held = await OrderClaim.filter(
        volunteer_id=volunteer.id, status=ClaimStatus.CLAIMED, order__status=OrderStatus.OPEN
    ).values_list("order_id", flat=True)
    if held:
        numbers = "、".join(str(n) for n in held)
        raise Conflict(
            f"您还有认领中的服务单 {numbers}，请先完成或放弃后再更换社区。", code="OPEN_CLAIMS"
        )
    posts = await PostHolder.filter(
        volunteer_id=volunteer.id, status=HolderStatus.HOLDING
    ).values_list("post_id", flat=True)
    if posts:
        numbers = "、".join(str(n) for n in posts)
        raise Conflict(f"您还担任着岗位 {numbers}，请先退岗后再更换社区。", code="HOLDING_POSTS")
    async with in_transaction() as conn:
        await (
            Volunteer.filter(id=volunteer.id)
            .using_db(conn)
            .update(
                community_id=community.id,
                status=VolunteerStatus.PENDING,
                grid="",
                reason="",
                registered_at=now,
                decided_at=None,
                decided_by_id=None,
            )
        )
        await timeline.record(
            now, f"党员 {volunteer.name}", "更换社区", note=community.name, using_db=conn
        )
        moved = await Volunteer.get(id=volunteer.id, using_db=conn)
        if tidings is not None:
            await notify.volunteer_registered(tidings, moved, now, conn)
    if tidings is not None:
        tidings.wake()
    return moved
