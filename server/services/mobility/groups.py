"""流动党员党小组: three or more mobile members in one place, grouped under the branch that
manages them (a 党小组 in the tree, so its meetings and figures work as every group's)."""

from __future__ import annotations

from collections.abc import Sequence

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from server.errors import ValidationFailed
from server.models.mobility import MobileMember
from server.models.people import Member, MemberChange, MemberChangeKind, Organisation, OrgKind
from server.services.mobility.who import require_branch_leader
from server.services.mobility.words import check_text

SMALLEST = 3


GROUP_PREFIX = "流动党员党小组"
JOINED = "编入流动党员党小组"
LEFT = "结束流动，回到原党小组"


async def form_group(
    actor: Member | None, branch: Organisation, place: str, members: Sequence[Member]
) -> Organisation:
    """成立流动党员党小组 地点 姓名、姓名、姓名: three or more of the branch's open 流出 or 流入
    records in that place (their 去向 names it); the group is named for the place
    ("流动党员党小组（苏州）").  Each move is a `MemberChange`, so 结束流动 can put the member
    back in the group they came from."""
    await require_branch_leader(actor, branch)
    place = check_text(place, "place", 20, "成立流动党员党小组 苏州 张三、李四、王五")
    distinct = {m.id: m for m in members}
    if len(distinct) < SMALLEST:
        raise ValidationFailed("流动党员党小组至少要有 3 名流动党员。", field="members")
    for member in distinct.values():
        record = await MobileMember.get_or_none(member_id=member.id, current=f"member:{member.id}")
        if record is None or record.branch_id != branch.id:
            raise ValidationFailed(f"{member.name}不是本支部登记的流动党员。", field="members")
        if place not in record.place:
            raise ValidationFailed(
                f"{member.name}的去向是{record.place}，不在{place}：流动党员党小组由同一地方的"
                "流动党员组成。",
                field="members",
            )
    name = f"{GROUP_PREFIX}（{place}）"
    paths = {
        o.id: o.path
        for o in await Organisation.filter(
            id__in=[m.group_id for m in distinct.values() if m.group_id]
        )
    }
    async with in_transaction() as conn:
        group, _ = await Organisation.get_or_create(
            path=f"{branch.path}/{name}",
            defaults={"name": name, "kind": OrgKind.GROUP, "parent": branch},
            using_db=conn,
        )
        moving = [m for m in distinct.values() if m.group_id != group.id]
        homes = {m.id: await _home(m, paths.get(m.group_id or 0, ""), conn) for m in moving}
        await Member.filter(id__in=[m.id for m in moving]).using_db(conn).update(group_id=group.id)
        await MemberChange.bulk_create(
            [
                MemberChange(
                    member_id=m.id,
                    kind=MemberChangeKind.TRANSFER,
                    actor_id=actor.id if actor else None,
                    before=homes[m.id],
                    after=group.path,
                    reason=JOINED,
                )
                for m in moving
            ],
            using_db=conn,
        )
    return group


async def _home(member: Member, current: str, conn: BaseDBAsyncClient) -> str:
    """The group a member came from: their current one, or — moving on from one 流动党员党小组
    to another — the one they came to the first from."""
    if GROUP_PREFIX not in current.rsplit("/", 1)[-1]:
        return current
    joined = (
        await MemberChange.filter(
            member_id=member.id, kind=MemberChangeKind.TRANSFER, reason=JOINED, after=current
        )
        .using_db(conn)
        .order_by("-id")
        .first()
    )
    return joined.before if joined is not None else ""


async def leave_group(
    actor: Member | None, member: Member, conn: BaseDBAsyncClient
) -> Organisation | None:
    """结束流动 out of a 流动党员党小组: back to the group they were in before, if it is still
    there (else in no group, for the branch to place); nothing for a member in no such group."""
    if member.group_id is None:
        return None
    group = await Organisation.filter(id=member.group_id).using_db(conn).first()
    if group is None or not group.name.startswith(GROUP_PREFIX):
        return None
    joined = (
        await MemberChange.filter(
            member_id=member.id, kind=MemberChangeKind.TRANSFER, reason=JOINED, after=group.path
        )
        .using_db(conn)
        .order_by("-id")
        .first()
    )
    before = (
        await Organisation.filter(path=joined.before, kind=OrgKind.GROUP).using_db(conn).first()
        if joined is not None and joined.before
        else None
    )
    await Member.filter(id=member.id).using_db(conn).update(group_id=before.id if before else None)
    await MemberChange.create(
        member_id=member.id,
        kind=MemberChangeKind.TRANSFER,
        actor_id=actor.id if actor else None,
        before=group.path,
        after=before.path if before else "",
        reason=LEFT,
        using_db=conn,
    )
    return before
