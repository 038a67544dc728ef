"""Telling a member's secretary that guesses at binding as that member have been stopped.

The nearest leaders up the tree hear it (the branch's 书记 and 副书记, else the 总支书记,
else the committee's staff), by customer-service message, the way leave requests reach them;
the remedy is theirs to give: a bind code handed to the member in person.
"""

from __future__ import annotations

from server.models.people import Member, MemberStatus, Organisation, Role

_TELLERS = frozenset({Role.SECRETARY, Role.DEPUTY_SECRETARY, Role.GENERAL_SECRETARY, Role.STAFF})


async def secretaries_of(member: Member) -> list[Member]:
    """The leaders nearest above `member` (never the member themself)."""
    org: Organisation | None = await Organisation.get_or_none(id=member.organisation_id)
    while org is not None:
        found = await Member.filter(
            organisation_id=org.id, role__in=list(_TELLERS), status=MemberStatus.ACTIVE
        ).exclude(id=member.id)
        if found:
            return found
        org = await Organisation.get_or_none(id=org.parent_id) if org.parent_id else None
    return []


def lock_text(member: Member) -> str:
    return (
        f"【绑定提醒】有人多次尝试以 {member.name} 的身份绑定微信，均未成功。"
        f"今天起 {member.name} 不能再用姓名和手机号绑定。"
        f"如确是本人，请发送「绑定码 {member.name}」生成绑定码，当面交给本人。"
    )
