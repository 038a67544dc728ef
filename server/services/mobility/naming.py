"""Whom a secretary means by a name: two members of a street may share one, and a secretary
knows them by their 党小组 and role, seldom by their phone.

A command about someone the branch already keeps a record of (联系, 收党费, 查找 …) looks
first among the members with an open 流动 record or 失联 case, then among everyone in the
actor's scope.  Still two?  Each is labelled by role, 党小组 and the phone's last four digits
— what the branch's leaders see of a member in the dashboard's 联系人 list and in 准假 — and
the secretary may write `熊忠 尾号1234` (or the full number) in place of the name.
"""

from __future__ import annotations

import re

from server.errors import NotFound, ValidationFailed
from server.models.mobility import Direction, LostCase, LostStage, MobileMember
from server.models.people import Member, MemberStatus, Organisation
from server.services.mobility.who import PHONE
from server.services.people.access import NotAllowed, scope_of
from server.services.people.scope import under

_TAIL = re.compile(r"尾号\s*(?P<tail>\d{4})(?!\d)\s*")
OPEN_CASES = (LostStage.SEARCHING, LostStage.STOPPED)


def take_tail(rest: str) -> tuple[str | None, str]:
    """`尾号1234 电话 了解近况` → ("1234", "电话 了解近况"); no tail: (None, rest)."""
    found = _TAIL.match(rest.strip())
    if found is None:
        return None, rest
    return found["tail"], rest.strip()[found.end() :].strip()


def drop_tail(typed: str | None) -> str | None:
    """What was typed after a name, without the `尾号1234` that told the name apart."""
    return None if typed is None else take_tail(typed)[1]


def label(
    member: Member,
    group_name: str | None,
    branch_name: str | None = None,
    standing: str = "",
    *,
    tail: bool = True,
) -> str:
    """熊忠（党小组长，第二党小组，尾号1234）; the branch first when namesakes are in two, and
    what the branch keeps of him last (已登记流出, 查找中 …)."""
    parts = [branch_name] if branch_name else []
    parts.append(member.role.value)
    if group_name:
        parts.append(group_name)
    if tail and member.phone and len(member.phone) >= 7:
        parts.append(f"尾号{member.phone[-4:]}")
    if standing:
        parts.append(standing)
    return f"{member.name}（{'，'.join(parts)}）"


async def _kept(ids: list[int]) -> dict[int, str]:
    """Of these members, those with an open 流动 record or an open 失联 case, and which."""
    found: dict[int, str] = {}
    for record in await MobileMember.filter(member_id__in=ids, current__not_isnull=True):
        if record.member_id is not None:
            found[record.member_id] = (
                "已登记流出" if record.direction == Direction.OUT else "流入党员"
            )
    for case in await LostCase.filter(member_id__in=ids, stage__in=list(OPEN_CASES)):
        found[case.member_id] = "查找中" if case.stage == LostStage.SEARCHING else "已停止党籍"
    return found


async def find(
    actor: Member | None, given: str, tail: str | None = None, *, recorded: bool = False
) -> Member:
    """A member of the actor's scope by name (with `尾号` when two share it) or mobile number;
    `recorded`: those the branch keeps a record of are looked at first."""
    given = given.strip()
    query = Member.filter(status__in=[MemberStatus.ACTIVE, MemberStatus.STOPPED])
    if actor is not None:
        scope = await scope_of(actor)
        if scope.own_only:
            raise NotAllowed("只有支部书记、副书记或上级组织可以查看。")
        if not scope.everything and scope.path is not None:
            query = query.filter(under(scope.path))
    if PHONE.fullmatch(given):
        query = query.filter(phone=given)
    else:
        query = query.filter(name=given)
        if tail is not None:
            query = query.filter(phone__endswith=tail)
    found = await query
    if recorded and len(found) > 1:
        kept = await _kept([m.id for m in found])
        found = [m for m in found if m.id in kept] or found
    if not found:
        shown = f"{given} 尾号{tail}" if tail else given
        raise NotFound(f"您管理的范围里没有「{shown[:30]}」。")
    if len(found) > 1:
        raise ValidationFailed(await ambiguous(found), field="name")
    return found[0]


async def ambiguous(found: list[Member], *, tails: bool = True) -> str:
    """Namesakes told apart; `tails`: the last four digits of their phones, for a leader of
    the branch only (as 准假 shows them) — anyone else is asked for the full number."""
    ids = {m.group_id for m in found if m.group_id} | {m.organisation_id for m in found}
    names = {o.id: o.name for o in await Organisation.filter(id__in=ids)}
    several = len({m.organisation_id for m in found}) > 1
    kept = await _kept([m.id for m in found])
    labels = "、".join(
        label(
            m,
            names.get(m.group_id) if m.group_id else None,
            names.get(m.organisation_id) if several else None,
            kept.get(m.id, ""),
            tail=tails,
        )
        for m in found
    )
    if not tails:
        return f"有 {len(found)} 位同名的同志：{labels}。请用对方的手机号代替姓名。"
    example = found[0]
    tail = example.phone[-4:] if example.phone else "1234"
    return (
        f"有 {len(found)} 位同名的同志：{labels}。"
        f"请在姓名后加上手机尾号，例如：{example.name} 尾号{tail}。"
    )


async def pick(
    actor: Member | None, name: str, rest: str, *, recorded: bool = False
) -> tuple[Member, str]:
    """The member a command names and what follows: `熊忠 尾号1234 电话 …` → (熊忠, `电话 …`)."""
    tail, rest = take_tail(rest)
    return await find(actor, name, tail, recorded=recorded), rest
