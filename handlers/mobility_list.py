"""流动党员 in chat, the branch's list: who the branch keeps in touch with (流出, 流入, and
members searched for as 失联), what it last recorded of each, and what is due — the to-dos
at the top, paged with 继续.  Leaders see their branches'; a 联系人 the members they keep.

A to-do list, never a ranking: within each branch what is due comes first, each line says
what the branch recorded, and the whole list (and its export) is on the dashboard.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from server.clock import Clock
from server.days import day_text
from server.dispatch import ChatContext, PrivateReply, Router
from server.dispatch.filters import InState, Keyword, bound
from server.dispatch.state import Conversation
from server.models.mobility import DIRECTION_LABELS, Direction, LostStage
from server.models.people import Member, Organisation
from server.services.community.wording import short
from server.services.mobility import lost, reading, standing, who
from server.services.mobility.standing import Standing
from server.services.people.access import NotAllowed, is_leader
from server.settings import Settings
from server.wechat.replies import MAX_TEXT_BYTES

router = Router("mobility:list")

LISTING = "mobility:listing"  # data: page — 继续 shows the next
# Room kept on each page for the line that says how to go on.
_FOOT_ROOM = 240


# --- 流动党员: the list -------------------------------------------------------------------------


def _month(day: date | None) -> str:
    return f"{day.year}年{day.month}月" if day else "无记录"


def _dues_flags(line: Standing, today: date) -> list[str]:
    flags: list[str] = []
    if line.contact_due(today):
        flags.append("联系到期")
    record = line.record
    if record is not None and record.direction == Direction.OUT and record.keeper_id is None:
        flags.append("未指定联系人")
    if line.possibly_lost:
        flags.append("可能失联")
    case = line.case
    if case is not None and case.stage == LostStage.SEARCHING:
        flags.append("查找中")
    if case is not None and case.stage == LostStage.STOPPED:
        due = lost.removal_due_on(case)
        flags.append("已停止党籍")
        if due is not None and due <= today:
            flags.append("除名提醒：停止党籍满两年，请按程序办理")
    return flags


def _row(line: Standing, today: date) -> str:
    record = line.record
    kind = DIRECTION_LABELS[record.direction] if record else "失联"
    place = f"·{short(record.place, 12)}" if record else ""
    parts = [f"{line.member.name}（{kind}{place}）"]
    if record is None or record.direction == Direction.OUT:
        parts.append(f"最近联系 {day_text(line.last_contact, today)}")
    parts.append(f"组织生活 {day_text(line.last_life, today)}")
    if record is None or record.direction == Direction.OUT:  # a 流入's are their home's
        parts.append(f"党费交至 {_month(line.dues_through)}")
    flags = _dues_flags(line, today)
    return "· " + "，".join(parts) + (f"；{'、'.join(flags)}" if flags else "")


# What to do about it, said once in the summary (a question for the branch, not a status).
_HOW = {
    "可能失联": "（请核实：联系上了记录 联系，联系不上记录 查找）",
    "未指定联系人": "（发送 联系人 姓名 联系人姓名）",
}


def _summary(lines: Sequence[Standing], pending: int, today: date) -> str:
    out = sum(1 for s in lines if s.record and s.record.direction == Direction.OUT)
    came = sum(1 for s in lines if s.record and s.record.direction == Direction.IN)
    flags = [f for s in lines for f in _dues_flags(s, today)]
    todo = [
        f"{label} {n} 人{_HOW.get(label, '')}"
        for label in ("联系到期", "未指定联系人", "可能失联", "查找中", "已停止党籍")
        if (n := flags.count(label))
    ]
    if removals := sum(1 for f in flags if f.startswith("除名提醒")):
        todo.append(f"除名提醒 {removals} 人")
    if pending:
        todo.append(f"待确认流入 {pending} 件（回复 流入审核）")
    head = f"流动党员 {out + came} 人（流出 {out}，流入 {came}）。"
    return head + ("\n待办：" + "；".join(todo) if todo else "\n待办：暂无。")


async def _rows(lines: Sequence[Standing], today: date) -> list[str]:
    """Within each branch what is due first; a branch's name above its lines when several."""
    branch_of = {s.member.id: s.member.organisation_id for s in lines}
    names = {o.id: o.name for o in await Organisation.filter(id__in=set(branch_of.values()))}
    ordered = sorted(lines, key=lambda s: (branch_of[s.member.id], not _dues_flags(s, today)))
    rows: list[str] = []
    current: int | None = None
    for line in ordered:
        branch = branch_of[line.member.id]
        if len(names) > 1 and branch != current:
            rows.append(f"【{names[branch]}】")
            current = branch
        rows.append(_row(line, today))
    return rows


def _pages(head: str, rows: list[str]) -> list[str]:
    pages: list[list[str]] = [[head]]
    size = len(head.encode())
    for row in rows:
        width = len(row.encode()) + 1
        if size + width > MAX_TEXT_BYTES - _FOOT_ROOM:
            pages.append([])
            size = 0
        pages[-1].append(row)
        size += width
    return ["\n".join(page) for page in pages]


async def _listing_pages(member: Member, clock: Clock, settings: Settings) -> list[str]:
    today = clock.today()
    ids = await reading.branch_ids(member)
    records = await standing.open_records(ids)
    cases = await standing.open_cases(ids)
    lines = await standing.standings(
        records, cases, today, clock.now(), clock.zone, settings.mobile_contact_days
    )
    pending = await reading.pending_count(ids)
    head = _summary(lines, pending, today)
    if not lines:
        how = "登记流出请发送：流出 姓名 去向 原因 联系方式（流动党员帮助 看各项写法）。"
        return [f"{head}\n{how}"]
    return _pages(head, await _rows(lines, today))


def _page_reply(pages: list[str], page: int, conversation: Conversation) -> str:
    text = pages[page]
    left = len(pages) - page - 1
    if left:
        conversation.set(LISTING, page=page + 1)
        return f"{text}\n……还有 {left} 页，回复 继续 查看；全部名单和导出请到后台（回复 后台）。"
    conversation.clear()
    return f"{text}\n记录联系：联系 姓名 内容；各项写法：流动党员帮助。"


async def _kept_list(member: Member, clock: Clock, settings: Settings) -> str:
    """A 联系人's own: the members they keep in touch with, and when each is due."""
    records = await reading.kept_records(member)
    if not records:
        mine = "您本人的流动党员信息请回复 我的。" if member.is_mobile else ""
        raise NotAllowed(f"流动党员名单由支部书记（或副书记）查看。{mine}")
    today = clock.today()
    lines = await standing.standings(
        records, [], today, clock.now(), clock.zone, settings.mobile_contact_days
    )
    rows = ["您联系的流动党员："]
    for line in lines:
        due = "；联系到期" if line.contact_due(today) else ""
        place = short(line.record.place, 12) if line.record else ""
        rows.append(
            f"· {line.member.name}（{place}）最近联系 {day_text(line.last_contact, today)}，"
            f"下次 {day_text(line.due_on, today)}前{due}"
        )
    rows.append("记录联系：联系 姓名 电话 了解近况")
    return "\n".join(rows)


# 流出党员有哪些, 流动党员名单呢: a leader asking for the list is shown it.
_ASKING_FOR_LIST = re.compile(
    r"(?:流动|流出|流入)党员(?:名单)?(?:都|一共)?(?:有哪些|有谁|是谁|有几个|有多少人?|名单|情况)?"
    r"(?:呢|啊|吗)?[?]?"
)


def asking_for_list(ctx: ChatContext) -> bool:
    return (
        ctx.member is not None
        and is_leader(ctx.member)
        and _ASKING_FOR_LIST.fullmatch(ctx.text or "") is not None
    )


@router.message(Keyword("流动党员", "流动党员名单", "流出党员", "流入党员"), bound)
@router.message(asking_for_list)
async def listing(
    member: Member, clock: Clock, settings: Settings, conversation: Conversation
) -> str:
    if not is_leader(member):
        return await _kept_list(member, clock, settings)
    pages = await _listing_pages(member, clock, settings)
    # Names and places of the branch's members: not kept beyond WeChat's retries.
    return PrivateReply(_page_reply(pages, 0, conversation))


@router.message(Keyword("继续", "下一页", "更多"), InState(LISTING), bound)
async def more(member: Member, clock: Clock, settings: Settings, conversation: Conversation) -> str:
    who.require_leading(member)
    pages = await _listing_pages(member, clock, settings)
    page = int(conversation.data.get("page", 1))
    if page >= len(pages):  # the list shrank meanwhile
        conversation.clear()
        return "名单已经看完了。回复 流动党员 从头查看。"
    return PrivateReply(_page_reply(pages, page, conversation))
