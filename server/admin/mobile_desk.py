"""What the 流动党员 page lists for one branch: each member kept in touch with, and the
branch's to-dos, read from the services' `Standing` lines.

A to-do is a gentle reminder for the branch (联系到期, 未指定联系人), a question put to it
(可能失联？ — never a status), a search under way (查找中, with its attempts), or a 党籍
stopped and the day the branch will be reminded of the 除名 procedure.  Nothing is ordered by
a figure: the lines keep the services' order (by member), the to-dos are grouped by what is
to be done.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from server import days
from server.models.mobility import (
    DIRECTION_LABELS,
    Direction,
    FlowStatus,
    LostAttempt,
    LostStage,
    MobileMember,
)
from server.models.people import Member, MemberStatus, Organisation, Role
from server.services.mobility import incoming
from server.services.mobility.counts import BranchCounts
from server.services.mobility.lost import removal_due_on
from server.services.mobility.standing import SILENT_MONTHS, Standing

COMMITTEE = (Role.SECRETARY, Role.DEPUTY_SECRETARY, Role.COMMITTEE_MEMBER)
# To-dos, grouped in this order: the questions first, the reminders last.
KINDS = ("lost", "search", "contact", "keeper", "stopped")
# The years a 流入 member's record is offered for: this one and, once they were here, the last.
RECORD_YEARS = 2


def day_text(day: date | None, today: date) -> str:
    """11月3日 this year, 2025年11月3日 before; — for none."""
    return days.day_text(day, today, none="—")


@dataclass(frozen=True)
class Line:
    member_id: int
    name: str
    direction: str  # 流出, 流入, or — (a 失联 case of a member never recorded as mobile)
    place: str
    keeper: str
    last_contact: str
    last_life: str
    dues_through: str
    due: str  # 联系到期, 可能失联？, 查找中, 已停止党籍, or "" when nothing is due
    state: str  # the badge's colour
    active: bool  # an active member (not 停止党籍): a contact or a search may be recorded
    outgoing: bool
    no_keeper: bool = False  # an open 流出 record with no 联系人
    record_years: tuple[int, ...] = ()  # a 流入 member's: the years their record downloads for


@dataclass(frozen=True)
class ToDo:
    kind: str  # one of KINDS
    member_id: int
    name: str
    title: str
    text: str
    form: str  # the form that does it ("contact", "search", "keeper"), or "" (done in chat)


@dataclass
class BranchDesk:
    counts: BranchCounts
    lines: list[Line]
    todos: list[ToDo]
    pending: list[MobileMember]
    warned: dict[int, list[str]]  # what to check before confirming a report, by its id
    leaving: list[Member]  # may be registered 流出
    keepers: list[tuple[str, list[Member]]]  # (支委 / 其他党员, members), none of them 流出
    cadence_days: int


async def desk(
    branch: Organisation,
    counts: BranchCounts,
    standings: list[Standing],
    today: date,
    cadence_days: int,
) -> BranchDesk:
    mine = [s for s in standings if s.member.organisation_id == branch.id]
    keeper_ids = {s.record.keeper_id for s in mine if s.record and s.record.keeper_id}
    names = dict(await Member.filter(id__in=keeper_ids).values_list("id", "name"))
    attempts: dict[int, list[LostAttempt]] = defaultdict(list)
    cases = [s.case.id for s in mine if s.case is not None]
    for a in await LostAttempt.filter(case_id__in=cases).order_by("day", "id"):
        attempts[a.case_id].append(a)
    lines, todos = [], []
    for s in mine:
        keeper = names.get(s.record.keeper_id or 0, "") if s.record else ""
        todo = _todo(s, keeper, attempts, today, cadence_days)
        todos += [t for t in (todo, _keeper_todo(s)) if t is not None]
        lines.append(_line(s, keeper, todo, today))
    todos.sort(key=lambda t: KINDS.index(t.kind))  # stable: by member within each kind
    people = await Member.filter(
        organisation_id=branch.id, status=MemberStatus.ACTIVE, incoming=False
    ).order_by("name", "id")
    pending = await MobileMember.filter(
        branch_id=branch.id, direction=Direction.IN, status=FlowStatus.PENDING
    ).order_by("id")
    warned = {r.id: await incoming.warnings(r) for r in pending}
    return BranchDesk(
        counts=counts,
        lines=lines,
        todos=todos,
        pending=pending,
        warned=warned,
        leaving=[p for p in people if not p.is_mobile],
        # A 联系人 keeps in touch from here: never a member who is away themselves.
        keepers=[
            ("支委", [p for p in people if p.role in COMMITTEE and not p.is_mobile]),
            ("其他党员", [p for p in people if p.role not in COMMITTEE and not p.is_mobile]),
        ],
        cadence_days=cadence_days,
    )


def _line(s: Standing, keeper: str, todo: ToDo | None, today: date) -> Line:
    record = s.record
    states = {"lost": "amber", "search": "amber", "contact": "due", "stopped": "red"}
    return Line(
        member_id=s.member.id,
        name=s.member.name,
        direction=DIRECTION_LABELS[Direction(record.direction)] if record else "—",
        place=record.place if record else "—",
        keeper=keeper or "—",
        last_contact=day_text(s.last_contact, today),
        last_life=day_text(s.last_life, today),
        dues_through=(
            f"{s.dues_through.year}年{s.dues_through.month}月" if s.dues_through else "—"
        ),
        due=todo.title if todo else "",
        state=states[todo.kind] if todo else "",
        active=s.member.status == MemberStatus.ACTIVE,
        outgoing=record is None or record.direction == Direction.OUT,
        no_keeper=_without_keeper(s),
        record_years=(
            tuple(range(today.year, max(record.since.year, today.year - RECORD_YEARS + 1) - 1, -1))
            if record is not None and record.direction == Direction.IN
            else ()
        ),
    )


def _without_keeper(s: Standing) -> bool:
    """An open 流出 record of an active member, no one named to keep in touch, no search on."""
    record = s.record
    return (
        record is not None
        and record.direction == Direction.OUT
        and record.status == FlowStatus.ACTIVE
        and record.keeper_id is None
        and s.member.status == MemberStatus.ACTIVE
        and s.case is None
    )


def _keeper_todo(s: Standing) -> ToDo | None:
    if not _without_keeper(s):
        return None
    name = s.member.name
    text = (
        "还没有指定联系人。请指定一名在本地的党员（一般为支委委员）定期与其联系，"
        f"也可在微信中发送「联系人 {name} 联系人姓名」。"
    )
    return ToDo("keeper", s.member.id, name, "未指定联系人", text, "keeper")


def _todo(
    s: Standing,
    keeper: str,
    attempts: dict[int, list[LostAttempt]],
    today: date,
    cadence_days: int,
) -> ToDo | None:
    name, member_id = s.member.name, s.member.id
    if s.case is not None and s.case.stage == LostStage.STOPPED:
        due = removal_due_on(s.case)
        when = day_text(s.case.stopped_on, today)
        if due is not None and due <= today:
            then = (
                f"已满两年（{day_text(due, today)}），仍无联系的，请支部按程序办理除名，"
                f"办完在微信中发送「办结 {name} 办理情况」。"
            )
        else:
            then = f"满两年（{day_text(due, today)}）仍无联系的，系统会提醒支部按程序办理除名。"
        text = f"{when}经支部党员大会决定停止党籍。{then}"
        return ToDo("stopped", member_id, name, "已停止党籍", text, "")
    if s.case is not None:
        tried = attempts.get(s.case.id, [])
        latest = (
            f"，最近一次{day_text(tried[-1].day, today)}（{tried[-1].method}：{tried[-1].note}）"
            if tried
            else ""
        )
        text = (
            f"{day_text(s.case.opened_on, today)}开始查找，已查找 {len(tried)} 次{latest}。"
            f"联系上了，在微信中发送「恢复联系 {name} 处理情况」；失去联系满{SILENT_MONTHS}个月、"
            "查找仍无结果的，可提交支部党员大会讨论"
            f"（会后发送「停止党籍 {name} 会议编号 决定」）。"
        )
        return ToDo("search", member_id, name, "查找中", text, "search")
    if s.possibly_lost:
        heard = day_text(s.last_heard, today) if s.last_heard else "没有记录"
        text = (
            f"已有{SILENT_MONTHS}个月以上没有联系记录、没有参加组织生活、也没有党费交纳记录"
            f"（最近音讯：{heard}）。是否与党组织失去联系，请支部核实：联系上了，记录一次联系；"
            "联系不上，开始查找并记录每次查找的经过。"
        )
        return ToDo("lost", member_id, name, "可能失联？", text, "search")
    if s.contact_due(today) and s.due_on is not None and s.record is not None:
        every = s.record.cadence_days or cadence_days
        last = day_text(s.last_contact, today) if s.last_contact else "还没有联系记录"
        text = (
            f"按每 {every} 天联系一次，{day_text(s.due_on, today)}到联系的时候了"
            f"（上次联系：{last}）。联系人：{keeper or '未指定'}。"
        )
        return ToDo("contact", member_id, name, "联系到期", text, "contact")
    return None
