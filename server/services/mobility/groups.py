"""流动党员党小组: three or more mobile members in one place, grouped under the branch that
manages them (a 党小组 in the tree, so its meetings and figures work as every group's)."""

from __future__ import annotations

from collections.abc import Sequence

from tortoise.transactions import in_transaction

from server.errors import ValidationFailed
from server.models.mobility import MobileMember
from server.models.people import Member, Organisation, OrgKind
from server.services.mobility.outgoing import open_record
from server.services.mobility.who import require_branch_leader
from server.services.mobility.words import check_text

SMALLEST = 3


async def form_group(
    actor: Member | None, branch: Organisation, place: str, members: Sequence[Member]
) -> Organisation:
    """成立流动党员党小组 地点 姓名、姓名、姓名: the members must be the branch's open 流出 or
    流入 records; the group is named for the place ("流动党员党小组（苏州）")."""
    await require_branch_leader(actor, branch)
    place = check_text(place, "place", 20, "成立流动党员党小组 苏州 张三、李四、王五")
    distinct = {m.id: m for m in members}
    if len(distinct) < SMALLEST:
        raise ValidationFailed("流动党员党小组至少要有 3 名流动党员。", field="members")
    for member in distinct.values():
        record = await open_record(member.id)
        if record is None or record.branch_id != branch.id:
            raise ValidationFailed(f"{member.name}不是本支部登记的流动党员。", field="members")
    name = f"流动党员党小组（{place}）"
    async with in_transaction() as conn:
        group, _ = await Organisation.get_or_create(
            path=f"{branch.path}/{name}",
            defaults={"name": name, "kind": OrgKind.GROUP, "parent": branch},
            using_db=conn,
        )
        await Member.filter(id__in=list(distinct)).using_db(conn).update(group_id=group.id)
    return group


async def mobile_ids(branch: Organisation) -> set[int]:
    rows = await MobileMember.filter(branch_id=branch.id, current__not_isnull=True).values_list(
        "member_id", flat=True
    )
    return {int(str(r)) for r in rows if r is not None}
