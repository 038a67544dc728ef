"""流动党员 in chat, the branch's decisions: 流入审核 / 确认流入 N / 不确认流入 N 原因, and 失联
by 《中国共产党党员教育管理工作条例》第二十四条 — 查找, 恢复联系, 停止党籍, 办结.  Leaders
only; each step the branch's, dated, and nothing changes a member's standing by itself.
And 流动党小组: three or more mobile members in one place grouped under the branch.
"""

from __future__ import annotations

import re

from handlers.common import raw_after, tidings
from server.clock import Clock
from server.days import day_text
from server.dispatch import ChatContext, PrivateReply, Router
from server.dispatch.context import text_after_number
from server.dispatch.filters import Command, Keyword, Pattern, bound
from server.errors import ValidationFailed
from server.models.mobility import (
    LostAttempt,
    LostStage,
)
from server.models.people import Member
from server.services.delivery.messenger import WakeOutbox
from server.services.mobility import groups, incoming, lost, naming, notify, reading, who
from server.services.people.access import is_leader
from server.services.people.identities import IdentityDirectory
from server.settings import Settings

router = Router("mobility:cases")

# --- 流入: the branch confirms -------------------------------------------------------------------

CONFIRM_IN = Pattern(r"确认流入\s*(?P<number>\d{1,9})")
REFUSE_IN = Pattern(r"不确认流入\s*(?P<number>\d{1,9})\s*(?P<reason>.*)")
SHOWN = 8


@router.message(Keyword("流入审核", "流入报到审核", "待确认流入"), bound)
async def pending(member: Member, clock: Clock) -> str:
    who.require_leading(member)
    found = await incoming.pending_for(member)
    if not found:
        return "目前没有待确认的流入报到。"
    lines = [f"待确认的流入报到 {len(found)} 件："]
    for r in found[:SHOWN]:
        home = f"{r.other_org}（{r.other_contact}）" if r.other_contact else r.other_org
        lines.append(
            f"【{r.id}】{r.name} {r.phone}，组织关系在{home}；报到到{r.branch.name}，"
            f"居住或工作在{r.place}，{r.reason.value}，{day_text(r.since, clock.today())}报到"
        )
        lines.extend(await incoming.warnings(r))
    if len(found) > SHOWN:
        lines.append(f"……共 {len(found)} 件，处理完这些再回复 流入审核。")
    lines.append(
        "请先与其组织关系所在党组织核实。确认：确认流入 编号；不确认：不确认流入 编号 原因"
    )
    # The phones are for the branch to call; not kept beyond WeChat's retries.
    return PrivateReply("\n".join(lines))


@router.message(CONFIRM_IN, bound)
async def confirm_in(
    number: str,
    member: Member,
    clock: Clock,
    settings: Settings,
    wake_outbox: WakeOutbox,
    identities: IdentityDirectory,
) -> str:
    who.require_leading(member)
    record = await incoming.decide_in(
        member, int(number), True, "", clock.now(), identities, settings.reminder_schedule
    )
    told = tidings(settings, clock, wake_outbox)
    await notify.incoming_decided(told, record, clock.now())
    told.wake()
    heard = "将通知本人。" if told.names("mobile_decided") else "本人暂时收不到推送，请电话告知。"
    return (
        f"已确认{record.name}为本支部的流入党员：参加组织生活和学习，"
        f"不参加表决和选举，不计入党员数和应到人数。{heard}"
    )


@router.message(REFUSE_IN, bound)
async def refuse_in(
    number: str,
    reason: str,
    raw_text: str,
    member: Member,
    clock: Clock,
    settings: Settings,
    wake_outbox: WakeOutbox,
) -> str:
    who.require_leading(member)
    why = text_after_number(raw_text, "不确认流入") or reason
    record = await incoming.decide_in(member, int(number), False, why, clock.now())
    told = tidings(settings, clock, wake_outbox)
    await notify.incoming_decided(told, record, clock.now())
    told.wake()
    heard = "将告知本人。" if told.names("mobile_decided") else "本人暂时收不到推送，请电话告知。"
    return f"已不确认{record.name}的流入报到（原因：{record.refuse_reason}）。{heard}"


@router.message(Keyword("确认流入", "不确认流入"), bound)
async def number_missing(text: str, member: Member) -> str:
    who.require_leading(member)
    return f"请在“{text}”后面写上编号，例如：{text} 3。回复 流入审核 查看待确认的报到。"


# --- 失联 (条例第二十四条) -----------------------------------------------------------------------

SEARCH_USAGE = f"请发送：查找 姓名 方式 经过，例如：{lost.SEARCH_EXAMPLE}。"
RESTORE_USAGE = "请发送：恢复联系 姓名 处理情况，例如：恢复联系 王强 已取得联系，补交了党费。"
STOP_USAGE = (
    "请发送：停止党籍 姓名 会议编号 决定，例如：停止党籍 王强 12 经支部党员大会讨论，"
    "决定停止其党籍（12 为讨论这件事的支部党员大会的编号，发送 会议 可以查到）。"
)
CLOSE_USAGE = "请发送：办结 姓名 内容，例如：办结 王强 经党委批准按自行脱党除名。"


async def _named_leader_command(args: str, member: Member, usage: str) -> tuple[Member, str] | str:
    who.require_leading(member)
    name, rest, _ = await reading.split_name(args)
    if not rest:
        return usage
    target, rest = await naming.pick(member, name, rest, recorded=True)
    if not rest:
        return usage
    return target, rest


async def leader_or_naming(ctx: ChatContext) -> bool:
    """`查找` and `办结` begin ordinary sentences too (查找资料…): a leader's command, or
    anyone's that names a member (then refused politely); any other sentence goes on to 问."""
    if ctx.member is None:
        return False
    if is_leader(ctx.member):
        return True
    words = (ctx.text or "")[2:].strip()
    return (await reading.split_name(words))[2]


@router.message(Command("查找"), leader_or_naming)
async def search(args: str, raw_text: str, member: Member, clock: Clock) -> str:
    found = await _named_leader_command(args, member, SEARCH_USAGE)
    if isinstance(found, str):
        return found
    target, rest = found
    said = naming.drop_tail(raw_after(raw_text, "查找", target.name)) or rest
    case, attempt = await lost.search(member, target, said, clock.today(), clock.now())
    n = await LostAttempt.filter(case_id=case.id).count()
    return (
        f"已记录对{target.name}的第 {n} 次查找（{attempt.method}）：{attempt.note}\n"
        f"联系上了请回复：恢复联系 {target.name} 处理情况；"
        "失去联系满6个月、查找仍无结果的，可提交支部党员大会讨论"
        f"（停止党籍 {target.name} 会议编号 决定）。"
    )


@router.message(Command("恢复联系"), bound)
async def restore(args: str, raw_text: str, member: Member, clock: Clock) -> str:
    found = await _named_leader_command(args, member, RESTORE_USAGE)
    if isinstance(found, str):
        return found
    target, rest = found
    said = naming.drop_tail(raw_after(raw_text, "恢复联系", target.name)) or rest
    case = await lost.restore(member, target, said, clock.today(), clock.now())
    if case.stage == LostStage.CLOSED:
        return (
            f"已记录：{target.name}在停止党籍后恢复联系（{case.closed_note}），失联记录已办结。"
            "恢复党籍须按规定报上级党委，不由支部决定。"
        )
    return f"已记录：{target.name}已恢复联系（{case.handling}），查找记录已办结。"


_STOP = re.compile(r"(?P<number>\d{1,9})\s*(?P<decision>.*)", re.S)


@router.message(Command("停止党籍"), bound)
async def stop(
    args: str, raw_text: str, member: Member, clock: Clock, identities: IdentityDirectory
) -> str:
    found = await _named_leader_command(args, member, STOP_USAGE)
    if isinstance(found, str):
        return found
    target, rest = found
    parsed = _STOP.fullmatch(rest)
    if parsed is None or not parsed["decision"].strip():
        raise ValidationFailed(STOP_USAGE, field="meeting")
    after = naming.drop_tail(raw_after(raw_text, "停止党籍", target.name))
    typed = raw_after(after, parsed["number"]) if after is not None else None
    case = await lost.stop(
        member,
        target,
        int(parsed["number"]),
        typed or parsed["decision"],
        clock.today(),
        clock.now(),
        clock.zone,
        identities,
    )
    due = lost.removal_due_on(case)
    return (
        f"已记录：经支部党员大会（会议编号 {case.meeting_id}）讨论，停止{target.name}的党籍"
        f"（{case.decision}）。请报上级党委备案。\n"
        f"满两年仍无联系的，{day_text(due, clock.today())}起会提醒支部按程序办理除名。"
    )


@router.message(Command("办结"), leader_or_naming)
async def close(args: str, raw_text: str, member: Member, clock: Clock) -> str:
    found = await _named_leader_command(args, member, CLOSE_USAGE)
    if isinstance(found, str):
        return found
    target, rest = found
    said = naming.drop_tail(raw_after(raw_text, "办结", target.name)) or rest
    case = await lost.close(member, target, said, clock.today())
    return f"已办结{target.name}的失联记录：{case.closed_note}。"


# --- 流动党小组 -----------------------------------------------------------------------------------


@router.message(
    Command("成立流动党员党小组", "流动党员党小组", "成立流动党小组", "流动党小组"), bound
)
async def form_group(args: str, member: Member) -> str:
    who.require_leading(member)
    place, _, rest = args.partition(" ")
    names = [n for n in re.split(r"[、，,；;\s]+", rest) if n]
    if not place or not names:
        return "请发送：流动党小组 地点 姓名、姓名、姓名，例如：流动党小组 苏州 王强、刘芳、陈明。"
    people = [await naming.find(member, n, recorded=True) for n in names]
    branch = await who.branch_of_member(people[0])
    group = await groups.form_group(member, branch, place, people)
    return (
        f"已成立{group.name}（{branch.name}），成员：{'、'.join(p.name for p in people)}。"
        "党小组长请在后台指定；党小组会照常安排（安排 党小组会 …），成员可以线上参加。"
    )
