"""流动党员 in chat, the branch's side: 流出, 联系人, 结束流动, 联系, 收党费, and the menu of
them all (流动党员帮助).  The list (流动党员) is in handlers/mobility_list.py; 流入 decisions,
失联 and 流动党小组 in handlers/mobility_cases.py; the members' own side in
handlers/mobile_members.py.

The record is the branch's leaders' to keep; a 支委委员, 党小组长 or the named 联系人 may log a
contact.  Anyone else sending these is told whose they are, and nothing changes.  `联系` is a
common word (联系实际, 联系群众 in a 心得): it is taken as the command only when a member's
name follows it, or a space from one who may log contacts.
"""

from __future__ import annotations

import re
from datetime import date

from handlers.common import raw_after, tidings
from server.clock import Clock
from server.days import day_text
from server.dispatch import ChatContext, Router
from server.dispatch.context import EDGE_PUNCT
from server.dispatch.filters import Command, Keyword, bound
from server.errors import ValidationFailed
from server.models.mobility import Direction, MobileMember
from server.models.people import Member
from server.services.delivery.messenger import WakeOutbox
from server.services.mobility import contacts, naming, notify, outgoing, reading, standing, who
from server.services.mobility.outgoing import Outgoing
from server.services.mobility.words import REASONS_TEXT, day_of, reason_of
from server.services.people.access import NotAllowed, is_leader
from server.services.people.identities import IdentityDirectory
from server.settings import Settings
from server.wechat.replies import MAX_TEXT_BYTES

router = Router("mobility")

OUT_EXAMPLE = "流出 王强 江苏苏州 外出务工经商 微信同号"
OUT_USAGE = (
    f"登记流出请发送：流出 姓名 去向 原因 联系方式，例如：{OUT_EXAMPLE}；"
    "可在后面加 联系人 赵委员、外出时间 2026年3月、活动证 编号。"
    f"原因：{REASONS_TEXT}。"
)
KEEPER_USAGE = (
    "请发送：联系人 姓名 联系人姓名 联系周期，例如：联系人 王强 赵委员 30天（周期可不写）。"
)
END_USAGE = "请发送：结束流动 姓名 原因，例如：结束流动 王强 已返回本地居住。"
CONTACT_USAGE = f"请发送：联系 姓名 方式 内容，例如：{contacts.CONTACT_EXAMPLE}（方式可不写）。"
DUES_USAGE = (
    "请发送：收党费 姓名 交至月份 金额，例如：收党费 王强 交至2026年12月 120元（金额可不写）。"
)

MOBILITY_MENU = (
    "流动党员（流出、流入），您可以发送：\n"
    "· 流动党员 —— 名单和待办（联系到期、可能失联、查找中）\n"
    f"· {OUT_EXAMPLE} 联系人 赵委员 外出时间 2026年3月 —— 登记流出\n"
    "· 联系人 王强 赵委员 30天 —— 指定联系人和联系周期\n"
    "· 联系 王强 电话 了解近况 —— 记录联系（支委委员、党小组长、联系人也可以）\n"
    "· 收党费 王强 交至2026年12月 120元 —— 登记收到的党费\n"
    "· 结束流动 王强 已返回本地居住\n"
    "· 流入审核 / 确认流入 3 / 不确认流入 3 原因 —— 外地党员的流入报到\n"
    "· 查找 王强 电话 拨打两次无人接听 —— 记录查找失联党员（电话、亲属、原单位、组织部门、走访）\n"
    "· 恢复联系 王强 已取得联系，补交了党费\n"
    "· 停止党籍 王强 12 经支部党员大会讨论，决定停止其党籍 —— 12 为支部党员大会的会议编号\n"
    "· 办结 王强 经党委批准按自行脱党除名\n"
    "· 流动党小组 苏州 王强、刘芳、陈明 —— 三名以上流动党员成立党小组\n"
    f"流动原因：{REASONS_TEXT}。\n"
    "这里是支部的工作记录和待办；组织关系和流动党员登记以全国党员管理信息系统为准。"
)


def mobility_leader(ctx: ChatContext) -> bool:
    return ctx.member is not None and is_leader(ctx.member)


def contact_keeper(ctx: ChatContext) -> bool:
    """支委委员 and 党小组长 log contacts; leaders find 联系 in 流动党员帮助."""
    return (
        ctx.member is not None
        and not is_leader(ctx.member)
        and ctx.member.role in who.CONTACT_ROLES
    )


router.help(
    "流动党员",
    "流出、流入党员的名单和待办；流动党员帮助 看各项写法",
    visible=mobility_leader,
    order=67,
)
router.help("联系 王强 电话 了解近况", "记录与流动党员的联系", visible=contact_keeper, order=67)


async def next_contact(record: MobileMember, clock: Clock, settings: Settings) -> str:
    """`下次联系请在12月25日前（每30天）`, from the branch's log as the list counts it."""
    [line] = await standing.standings(
        [record], [], clock.today(), clock.now(), clock.zone, settings.mobile_contact_days
    )
    if line.due_on is None:
        return ""
    every = record.cadence_days or settings.mobile_contact_days
    return f"下次联系请在{day_text(line.due_on, clock.today())}前（每{every}天）。"


# --- 流动党员帮助 --------------------------------------------------------------------------------


@router.message(
    Keyword("流动党员帮助", "流动帮助", "流动党员菜单", "流动党员 帮助", "流动党员 菜单"), bound
)
async def menu(member: Member) -> str:
    if not is_leader(member):
        mine = "记录联系：联系 姓名 内容。" if member.role in who.CONTACT_ROLES else ""
        return f"{who.LEADERS_ONLY}{mine}"
    assert len(MOBILITY_MENU.encode()) <= MAX_TEXT_BYTES
    return MOBILITY_MENU


# --- 流出 ---------------------------------------------------------------------------------------

_PIECE = re.compile(r"(?:^|\s)(?P<word>联系人|外出时间|活动证|接收组织)\s*[:：]?\s*(?P<value>\S+)")


def _pieces(text: str) -> tuple[dict[str, str], str]:
    """`… 联系人 赵委员 外出时间 2026年3月` → ({联系人: 赵委员, …}, the rest)."""
    found: dict[str, str] = {}
    while (piece := _PIECE.search(text)) is not None:
        found[piece["word"]] = piece["value"]
        text = (text[: piece.start()] + " " + text[piece.end() :]).strip()
    return found, text


# Reasons that may follow the place without a space (江苏苏州务工), longest first.
_REASON_ENDINGS = sorted(
    ("外出务工经商", "务工经商", "外出务工", "务工", "经商", "做生意", "单位改制", "毕业去向",
     "工作单位改变", "出国(境)", "居住地改变"),
    key=len,
    reverse=True,
)  # fmt: skip


def _place_reason_reach(text: str) -> tuple[str, str, str]:
    """`江苏苏州 外出务工经商 微信同号` → (place, reason word, reach); the reason may follow the
    place without a space (江苏苏州务工)."""
    words = text.split()
    if len(words) > 1 and reason_of(words[0]) is not None and reason_of(words[1]) is None:
        # 流出 张成平 居住地改变 浙江杭州: the reason before the place, as said aloud.
        return words[1], words[0], " ".join(words[2:])
    for i, word in enumerate(words):
        if reason_of(word) is not None:
            return " ".join(words[:i]), word, " ".join(words[i + 1 :])
        for reason in _REASON_ENDINGS:
            if len(word) > len(reason) and word.endswith(reason):
                place = " ".join([*words[:i], word[: -len(reason)]])
                return place, reason, " ".join(words[i + 1 :])
    raise ValidationFailed(f"请写明流动原因：{REASONS_TEXT}。例如：{OUT_EXAMPLE}", field="reason")


def _the_command(ctx: ChatContext) -> bool:
    """`流出党员有哪些`, `流出的党员怎么管理`: questions about 流出, not the command."""
    rest = (ctx.text or "")[2:].lstrip()
    return not rest.startswith(("党员", "的", "人员", "是什么", "是啥", "怎么", "如何"))


@router.message(Command("流出"), bound, _the_command)
async def mark_out(
    args: str,
    member: Member,
    clock: Clock,
    settings: Settings,
    wake_outbox: WakeOutbox,
) -> str:
    who.require_leading(member)
    if not args:
        return OUT_USAGE
    name, rest, _ = await reading.split_name(args)
    if not rest:
        return OUT_USAGE
    target, rest = await naming.pick(member, name, rest)
    if not rest:
        return OUT_USAGE
    pieces, rest = _pieces(rest)
    place, reason_word, reach = _place_reason_reach(rest)
    if not place:
        raise ValidationFailed(f"请在原因前写上去向，例如：{OUT_EXAMPLE}", field="place")
    keeper = await _keeper_named(member, pieces["联系人"]) if "联系人" in pieces else None
    since = day_of(pieces["外出时间"], clock.today()) if "外出时间" in pieces else None
    reason = reason_of(reason_word)
    assert reason is not None
    out = Outgoing(
        place=place,
        reason=reason,
        since=since,
        reach=reach,
        other_org=pieces.get("接收组织", ""),
        certificate=pieces.get("活动证", ""),
        keeper_id=keeper.id if keeper else None,
    )
    before = await outgoing.open_record(target.id)
    if before is not None and before.direction == Direction.OUT:
        return await _out_again(member, target, before, out, clock)
    record = await outgoing.mark_out(member, target, out, clock.today(), clock.now())
    told = tidings(settings, clock, wake_outbox)
    await notify.marked_out(told, record, target, keeper, clock.now())
    told.wake()
    lines = [
        f"已登记：{target.name} 流出，去向{record.place}（{record.reason.value}），"
        f"自{day_text(record.since, clock.today())}起。"
    ]
    if record.reach:
        lines.append(f"联系方式：{record.reach}")
    if keeper is not None:
        lines.append(f"联系人：{keeper.name}。{await next_contact(record, clock, settings)}")
    else:
        lines.append(f"还没有联系人，请发送：联系人 {target.name} 联系人姓名（一般为支委委员）。")
    lines.append(
        "已通知本人：联系人、会议通知照常收到、每年回复 年度报告。"
        if told.names("mobile_out")
        else "本人未绑定微信，请当面或电话告知（联系人、每年回复 年度报告）；"
        "绑定后会议通知会发给本人。"
    )
    return "\n".join(lines)


async def _keeper_named(actor: Member, typed: str) -> Member:
    """`联系人 夏荣` or `联系人 夏荣尾号1234` (a namesake told apart by the phone's tail)."""
    name, rest, _ = await reading.split_name(typed)
    return (await naming.pick(actor, name, rest))[0]


async def _out_again(
    actor: Member, target: Member, before: MobileMember, out: Outgoing, clock: Clock
) -> str:
    """流出 again for one already 流出: what differs is updated and said, nothing else."""
    keeper_before = await Member.get_or_none(id=before.keeper_id) if before.keeper_id else None
    changed: list[str] = []
    fields: set[str] = set()

    def differs(label: str, old: str, new: str, key: str) -> None:
        if new and new != old:
            changed.append(f"{label} {old or '未登记'} → {new}")
            fields.add(key)

    differs("去向", before.place, out.place, "place")
    differs("原因", before.reason.value, out.reason.value, "reason")
    differs("联系方式", before.reach, out.reach.strip(), "reach")
    differs("接收组织", before.other_org, out.other_org.strip(), "other_org")
    differs("活动证", before.certificate, out.certificate.strip(), "certificate")
    if out.since is not None:
        differs("外出时间", _day(before.since), _day(out.since), "since")
    if out.keeper_id is not None:
        keeper = await Member.get(id=out.keeper_id)
        old = keeper_before.name if keeper_before else ""
        if keeper.id != before.keeper_id:
            changed.append(f"联系人 {old or '未指定'} → {keeper.name}")
            fields.add("keeper_id")
    if not fields:
        return (
            f"{target.name}已登记为流出党员，去向{before.place}（{before.reason.value}），"
            "这次发送的信息与登记的相同，没有改动。"
        )
    await outgoing.amend(
        actor,
        target,
        place=out.place if "place" in fields else None,
        reason=out.reason if "reason" in fields else None,
        reach=out.reach if "reach" in fields else None,
        other_org=out.other_org if "other_org" in fields else None,
        certificate=out.certificate if "certificate" in fields else None,
        since=out.since if "since" in fields else None,
        keeper_id=out.keeper_id if "keeper_id" in fields else None,
        today=clock.today(),
    )
    return f"已更新{target.name}的流出信息：{'；'.join(changed)}。"


def _day(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


# --- 联系人, 结束流动 -----------------------------------------------------------------------------

_CADENCE = re.compile(r"(?:每)?\s*(?P<days>\d{1,3})\s*天(?:一次)?")
_CADENCE_WORDS = {"每月": 30, "每个月": 30, "每两月": 60, "每两个月": 60, "每季度": 90}


def _cadence(text: str) -> int | None:
    text = text.strip(EDGE_PUNCT + " ")
    if not text:
        return None
    if text in _CADENCE_WORDS:
        return _CADENCE_WORDS[text]
    found = _CADENCE.fullmatch(text)
    if found is None:
        raise ValidationFailed("联系周期请写成天数，例如 30天，或 每月。", field="cadence_days")
    return int(found["days"])


_ASKING = ("", "是谁", "是哪位", "是谁呀", "是谁啊", "找谁", "在哪里")


async def setting_or_asking(ctx: ChatContext) -> bool:
    """A leader's `联系人 王强 赵委员`; anyone's question about their own (`联系人是谁`); or a
    plain member naming someone (told whose it is).  Any other sentence goes on to 问."""
    member = ctx.member
    if member is None:
        return False
    if is_leader(member):
        return True
    args = (ctx.text or "")[3:].strip(EDGE_PUNCT + " ")
    if args in _ASKING:
        return member.is_mobile  # 流出: their own; anyone else's question goes on to 问
    return (await reading.split_name(args))[2]


async def own_keeper(member: Member) -> str:
    """A 流出 member's 联系人 and the branch's leaders, whom they may reach besides."""
    record = await outgoing.open_record(member.id)
    if record is None or record.direction != Direction.OUT:
        return "您没有登记为流出党员，有事请直接找支部书记或党小组长。"
    leaders = "、".join(m.name for m in await who.leaders_of(record.branch_id) if m.id != member.id)
    branch = f"也可以找支部书记（{leaders}）。" if leaders else "也可以找支部书记。"
    if record.keeper_id is None:
        return (
            f"支部还没有为您指定联系人，有事请直接找支部书记{f'（{leaders}）' if leaders else ''}。"
        )
    keeper = await Member.get(id=record.keeper_id)
    return f"您的联系人是{keeper.name}，有事可以直接找他（她），{branch}每年请回复 年度报告。"


@router.message(
    Keyword("我的联系人", "谁是我的联系人", "我的联系人是谁"),
    lambda ctx: ctx.member is not None and ctx.member.is_mobile,
)
async def my_keeper(member: Member) -> str:
    return await own_keeper(member)


@router.message(Command("联系人"), setting_or_asking)
async def set_keeper(args: str, member: Member, clock: Clock, settings: Settings) -> str:
    if not is_leader(member):
        # A member asking who keeps in touch with them is told; anyone else, whose it is.
        if args in _ASKING:
            return await own_keeper(member)
        raise NotAllowed(who.LEADERS_ONLY)
    name, rest, _ = await reading.split_name(args)
    if not name or args in _ASKING:
        return KEEPER_USAGE
    target, rest = await naming.pick(member, name, rest, recorded=True)
    keeper_name, rest, _ = await reading.split_name(rest)
    if not keeper_name:
        return KEEPER_USAGE
    keeper, rest = await naming.pick(member, keeper_name, rest)
    record = await outgoing.amend(member, target, keeper_id=keeper.id, cadence_days=_cadence(rest))
    return f"{target.name}的联系人：{keeper.name}。{await next_contact(record, clock, settings)}"


@router.message(Command("结束流动"), bound)
async def end(
    args: str,
    raw_text: str,
    member: Member,
    clock: Clock,
    identities: IdentityDirectory,
    settings: Settings,
    wake_outbox: WakeOutbox,
) -> str:
    who.require_leading(member)
    name, rest, _ = await reading.split_name(args)
    if not rest:
        return END_USAGE
    target, rest = await naming.pick(member, name, rest, recorded=True)
    if not rest:
        return END_USAGE
    note = naming.drop_tail(raw_after(raw_text, "结束流动", name)) or rest
    record = await outgoing.end(member, target, note, clock.today(), clock.now(), identities)
    if record.direction == Direction.IN:
        told = tidings(settings, clock, wake_outbox)
        await notify.incoming_ended(told, record, target, clock.now())
        told.wake()
        heard = (
            "已告知本人。" if told.names("mobile_in_ended") else "本人暂时收不到推送，请电话告知。"
        )
        return (
            f"已结束{target.name}的流入党员记录（{record.end_note}），不再参加本支部的组织生活；"
            f"{heard}记录保留，其所在党组织需要时可在后台下载其参加组织生活的记录。"
        )
    return (
        f"已结束{target.name}的流动党员记录（{record.end_note}）。"
        "组织关系转出的，请同时在全国党员管理信息系统办理转接。"
    )


# --- 联系, 收党费 ---------------------------------------------------------------------------------


async def names_someone(ctx: ChatContext) -> bool:
    """After `联系` (not 联系人, not 联系卡): a member's name — or, from one who may log
    contacts, a space after the first word (an unknown name then gets a polite answer)."""
    text, member = ctx.text or "", ctx.member
    if member is None or text.startswith(("联系人", "联系卡")):
        return False
    args = text[2:].strip(EDGE_PUNCT + " ")
    committee = reading.may_contact(member)
    if not args:
        return committee  # 联系 alone: how to write it
    _, rest, known = await reading.split_name(args)
    return known or bool(rest and committee)


@router.message(Command("联系"), names_someone)
async def log_contact(
    args: str, raw_text: str, member: Member, clock: Clock, settings: Settings
) -> str:
    name, rest, _ = await reading.split_name(args)
    if not reading.may_contact(member) and not await reading.kept_ids(member):
        raise NotAllowed("联系记录由支委委员、党小组长或指定的联系人填写。")
    if not rest:
        return CONTACT_USAGE
    tail, rest = naming.take_tail(rest)
    if not rest:
        return CONTACT_USAGE
    target = (
        # Not narrowed to those on record: a contact may be with anyone, and one logged against
        # the wrong namesake would hide the other's silence.
        await naming.find(member, name, tail)
        if is_leader(member)
        else await reading.for_contact(member, name, tail)
    )
    said = naming.drop_tail(raw_after(raw_text, "联系", name)) or rest
    logged = await contacts.log_contact(member, target, said, clock.today(), clock.now())
    head = (
        f"已记录：{day_text(logged.day, clock.today())} {logged.channel}联系{target.name}："
        f"{logged.note}"
    )
    record = await outgoing.open_record(target.id)
    if record is None or record.direction != Direction.OUT:
        return head
    return f"{head}\n{await next_contact(record, clock, settings)}"


@router.message(Command("收党费", "党费收讫", "收到党费"), bound)
async def dues(args: str, member: Member, clock: Clock) -> str:
    who.require_leading(member)
    name, rest, _ = await reading.split_name(args)
    if not rest:
        return DUES_USAGE
    target, rest = await naming.pick(
        member,
        name,
        rest,
    )
    if not rest:
        return DUES_USAGE
    through, amount = reading.month_and_amount(rest, clock.today())
    await reading.not_before_recorded(target, through)
    paid = await contacts.record_dues(member, target, through, clock.today(), clock.now(), amount)
    money = f"（{paid.amount}元）" if paid.amount is not None else ""
    return (
        f"已登记：{target.name}党费交至{paid.through.year}年{paid.through.month}月{money}，"
        f"收于{day_text(paid.day, clock.today())}。"
    )
