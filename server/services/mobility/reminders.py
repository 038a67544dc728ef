"""The branch's gentle to-dos about the members it cannot see, as letters for the outbox.

Three kinds, each to the people who act on it and nobody else — never a 通报, never a list
sent round:
- 联系提醒: to each 联系人 (the record's keeper; the branch's 书记 when none is named), one
  letter naming the members whose contact has fallen due.  Each member's due date is told once.
- 可能失联: to the branch's leaders, once a member has been silent six months — a question
  for the branch (请支部研究是否开展查找), never a status.
- 除名程序: to the branch's leaders, once, two years after a member's 党籍 was stopped.

Only the words, the recipients and the keys are here; the scheduler decides when and writes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from server.days import chinese, day_text
from server.models.mobility import Direction, FlowStatus, LostCase, MobileMember
from server.models.people import Member, MemberStatus, Organisation, Role
from server.models.people import WeChatIdentity as Identity
from server.services.community.outbox import Gist, Letter
from server.services.community.wording import short
from server.services.mobility.standing import Standing
from server.services.mobility.who import leaders_of
from server.services.mobility.words import RULE_24_SOURCE

CONTACT_KIND = "mobile_contact_due"
LOST_KIND = "mobile_possibly_lost"
REMOVAL_KIND = "mobile_removal_due"
CONTACT_EXAMPLE = "联系 {name} 电话 了解近况，提醒按时交纳党费"


async def keeper_of(record: MobileMember) -> Member | None:
    """The 联系人 named on the record while they are an active member of the branch; else the
    branch's 书记 (or whoever leads it)."""
    if record.keeper_id is not None:
        keeper = await Member.get_or_none(
            id=record.keeper_id, status=MemberStatus.ACTIVE, organisation_id=record.branch_id
        )
        if keeper is not None:
            return keeper
    leaders = await leaders_of(record.branch_id)
    secretaries = [m for m in leaders if m.role == Role.SECRETARY]
    return next(iter(secretaries or leaders), None)


# --- who is due ---------------------------------------------------------------------------------


def contacts_due(lines: Sequence[Standing], today: date) -> list[Standing]:
    """The 流出 members whose contact is the keeper's to-do today.  A member the branch is
    searching for, or whose 党籍 was stopped, is the branch's business, not the cadence's."""
    return [
        line
        for line in lines
        if line.record is not None
        and line.record.direction == Direction.OUT
        and line.record.status == FlowStatus.ACTIVE
        and line.case is None
        and line.member.status == MemberStatus.ACTIVE
        and line.contact_due(today)
    ]


def possibly_lost(lines: Sequence[Standing]) -> list[Standing]:
    return [
        line
        for line in lines
        if line.possibly_lost
        and line.record is not None
        and line.member.status == MemberStatus.ACTIVE
    ]


# --- the letters --------------------------------------------------------------------------------


def contact_key(keeper: Member, due: Sequence[Standing]) -> str:
    """One letter per keeper and set of due dates told: a retry writes the same key."""
    told = ",".join(sorted(f"{line.member.id}@{line.due_on}" for line in due))
    digest = hashlib.sha256(told.encode()).hexdigest()[:16]
    return f"mobility:contact:{keeper.id}:{digest}"


def contact_letter(
    keeper: Member,
    to: Identity,
    due: Sequence[Standing],
    told_before: int,
    today: date,
) -> Letter:
    """The members newly due, each with where they are and when they were last contacted."""
    rows = []
    for line in due:
        place = f"（{short(line.record.place, 20)}）" if line.record else ""
        last = (
            f"上次联系 {day_text(line.last_contact, today)}"
            if line.last_contact
            else "还没有联系记录"
        )
        rows.append(f"· {line.member.name}{place}，{last}")
    first = due[0].member.name
    text = (
        f"【流动党员联系提醒】{keeper.name}同志，您好！以下流动党员到了约定的联系时间：\n"
        + "\n".join(rows)
        + "\n联系后请发送："
        + CONTACT_EXAMPLE.format(name=first)
    )
    if told_before:
        text += f"\n（另有 {told_before} 名同志此前已提醒，联系后记上即可。）"
    note = f"{first}等{len(due)}名流动党员" if len(due) > 1 else first
    gist = Gist("联系提醒", f"{note}到了约定的联系时间，联系后请记录")
    return Letter(contact_key(keeper, due), CONTACT_KIND, to.appid, to.openid, text, gist)


def lost_key(member: Member, since: date, leader: Member) -> str:
    """Once for a spell of silence: heard again and silent again is a new question."""
    return f"mobility:lost:{member.id}:{since:%Y%m%d}:member:{leader.id}"


def lost_letter(
    leader: Member, to: Identity, line: Standing, since: date, branch: Organisation
) -> Letter:
    name = line.member.name
    place = f"（{short(line.record.place, 20)}）" if line.record else ""
    text = (
        f"【可能失联】{branch.name}的流动党员{name}{place}，自{chinese(since)}以来，支部没有与其"
        "联系的记录，也没有其参加组织生活、交纳党费的音讯，已满6个月。请支部研究是否开展查找。\n"
        f"已取得联系的，请发送：联系 {name} 内容；开展查找的，请发送：查找 {name} 方式 经过"
        f"（例如 查找 {name} 电话 拨打两次无人接听）。\n"
        "这是给支部的工作提示，不是对本人的认定。"
    )
    gist = Gist("可能失联", f"{name}已6个月没有音讯，请支部研究是否开展查找")
    return Letter(lost_key(line.member, since, leader), LOST_KIND, to.appid, to.openid, text, gist)


def removal_key(case: LostCase, leader: Member) -> str:
    return f"mobility:removal:{case.id}:member:{leader.id}"


def removal_letter(
    leader: Member, to: Identity, case: LostCase, member: Member, branch: Organisation
) -> Letter:
    assert case.stopped_on is not None  # a stopped case: `lost.removals_due` gives no other
    name = member.name
    text = (
        f"【除名程序提醒】{branch.name}的{name}，于{chinese(case.stopped_on)}经支部党员大会决定"
        f"停止党籍，至今已满两年。按照{RULE_24_SOURCE}，停止党籍"
        "2年后确实无法取得联系的，按照自行脱党予以除名。请支部再核实一次联系情况；需要除名的，"
        "按程序由支部党员大会讨论决定，报上级党委批准。\n"
        f"已恢复联系的，请发送：恢复联系 {name} 处理情况；办理完毕后，请发送：办结 {name} 情况。"
    )
    gist = Gist("除名提醒", f"{name}停止党籍已满两年，请支部按程序研究办理")
    return Letter(removal_key(case, leader), REMOVAL_KIND, to.appid, to.openid, text, gist)


@dataclass
class Told:
    """What a run wrote: letters to keepers, questions, reminders of 除名."""

    contacts: int = 0
    questions: int = 0
    removals: int = 0
