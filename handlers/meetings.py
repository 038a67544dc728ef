"""三会一课 in chat: 安排 (preview, then 确认), 会议, 会议 N, 取消会议 N, 改期 N, 线上 N."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from handlers.common import branch_leader, group_leader, runs_meetings
from server.clock import Clock, when_text
from server.dispatch import Router
from server.dispatch.context import text_after_number
from server.dispatch.filters import Command, InState, Keyword, Pattern, bound
from server.dispatch.state import Conversation
from server.errors import ValidationFailed
from server.models.meetings import Attendance, Meeting, MeetingAttendee, MeetingStatus, MeetingType
from server.models.people import Member
from server.services.delivery.messenger import WakeOutbox
from server.services.meetings import afar, attendance, notices, scheduling
from server.services.meetings.when import parse_when
from server.settings import Settings
from server.wechat.replies import MAX_TEXT_BYTES, fit

router = Router("meetings")
DRAFT = "meeting:draft"

# 帮助: real examples (12 stands for a meeting's number), each shown only to who may use it.
router.help("会议", "近期的会议；会议 12 看详情和出勤", visible=bound, order=45)
router.hint("MEETING_NOT_FOUND", "回复 会议 查看近期会议。")
router.help(
    "安排 支委会 明天下午3点 研究发展党员 地点 党群服务中心",
    "安排会议，先看预览再回复 确认（党课可在末尾加 主讲人 姓名）",
    visible=branch_leader,
    order=61,
)
router.help(
    "安排 党小组会 下周三下午3点 学习党章 地点 社区活动室",
    "安排本小组的党小组会，先看预览再回复 确认",
    visible=group_leader,
    order=61,
)
router.help(
    "改期 12 12月3日上午9点",
    "会议改期，已通知的党员会收到改期通知",
    visible=runs_meetings,
    order=67,
)
router.help("取消会议 12 场地临时停电", "取消会议，原因会告诉党员", visible=runs_meetings, order=68)
router.help("列席 12 王芳", "请一位党员列席，不计入应到", visible=runs_meetings, order=65)
router.help(
    "线上 12 腾讯会议 123-456-789",
    "加上线上参会方式，流动党员可线上参加（线上 12 取消 去掉）",
    visible=runs_meetings,
    order=66,
)


SHOW = Pattern(r"会议\s*(?P<number>\d{1,9})")
CANCEL_MEETING = Pattern(r"取消会议\s*(?P<number>\d{1,9})\s*(?P<reason>.*)")
INVITE = Pattern(r"列席\s*(?P<number>\d{1,9})\s+(?P<name>[^\s\d]+)\s*(?P<tail>\d{4})?")
RESCHEDULE = Pattern(r"改期\s*(?P<number>\d{1,9})\s*(?P<when>.+)")
ONLINE = Pattern(r"线上(?:参会|会议)?\s*(?P<number>\d{1,9})\s*(?P<what>.*)")
NO_ONLINE = frozenset({"取消", "删除", "去掉", "清除", "无"})


def _span(meeting: Meeting | scheduling.Draft, clock: Clock) -> str:
    end = meeting.ends_at.astimezone(clock.zone)
    return f"{when_text(meeting.starts_at, clock.zone)}–{end:%H:%M}"


def _parse(text: str, clock: Clock) -> tuple[datetime, str]:
    # In the organisation's zone: "明天" is tomorrow in Shanghai, not in UTC.
    now = clock.local_now()
    parsed = parse_when(text, now)  # UnparseableTime is a ValidationFailed
    if abs(parsed.start.year - now.year) > 2:  # 0001 or 9999 would overflow the arithmetic
        raise ValidationFailed("只能安排两年以内的会议。", field="starts_at")
    return parsed.start, parsed.rest


# 线上 only as a word of its own (a space before it, a space or colon after): a topic such as
# 开展线上学习 is not an online part.
_DETAIL = re.compile(r"(地点|主讲人|主讲)[\s:：]*|(?<!\S)(线上)[\s:：]+")
_TRIM = " ，,、；;。：:"
_KEYS = {"地点": "place", "主讲人": "speaker", "主讲": "speaker", "线上": "online"}


@dataclass(frozen=True)
class Details:
    topic: str
    place: str | None = None
    speaker: str | None = None
    online: str | None = None


def _split_details(rest: str) -> Details:
    """「主题 地点 X 主讲人 Y 线上 Z」 in any order: the topic, place, speaker and online part.

    Each marker's value runs to the next marker, so 主讲人 typed after 地点 is not taken
    for part of the place.
    """
    marks = list(_DETAIL.finditer(rest))
    topic = rest[: marks[0].start()] if marks else rest
    values: dict[str, str] = {}
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(rest)
        key = _KEYS[mark.group(1) or mark.group(2)]
        values[key] = rest[mark.end() : end].strip(_TRIM)
    return Details(
        topic.strip(_TRIM),
        values.get("place") or None,
        values.get("speaker") or None,
        values.get("online") or None,
    )


def _kind(args: str, settings: Settings) -> tuple[str, str]:
    extra = tuple(n for n in settings.extra_meeting_types.split(",") if n)
    names = sorted([*scheduling.STANDARD, *scheduling.ALIASES, *extra], key=len, reverse=True)
    for name in names:
        if args.startswith(name):
            kind = scheduling.kind_of(name, extra)
            if kind:
                return kind, args[len(name) :].strip()
    known = "、".join([*scheduling.STANDARD, *extra])
    raise ValidationFailed(
        f"没看懂会议类型。可以安排：{known}。例如：安排 支委会 明天下午3点 研究发展党员",
        field="kind",
    )


@router.message(Command("安排", "安排会议"), bound)
async def propose(
    args: str, member: Member, clock: Clock, settings: Settings, conversation: Conversation
) -> str:
    kind, rest = _kind(args, settings)
    starts_at, rest = _parse(rest, clock)
    details = _split_details(rest)
    draft = await scheduling.prepare(
        member,
        kind,
        starts_at,
        details.topic,
        details.place,
        clock.local_now(),
        settings.meeting_minutes,
        speaker=details.speaker,
        online=details.online,
    )
    conversation.set(DRAFT, **draft.to_state())
    lines = ["请确认会议安排：", f"类型：{draft.kind}"]
    if draft.group:
        lines.append(f"党小组：{draft.group}")
    lines += [f"时间：{_span(draft, clock)}", f"地点：{draft.place or '（未填）'}"]
    if draft.online:
        lines.append(f"线上：{draft.online}（流动党员可线上参加）")
    if draft.speaker or draft.kind == MeetingType.PARTY_LECTURE:
        lines.append(f"主讲人：{draft.speaker or '（未填，可在末尾加上 主讲人 姓名）'}")
    lines += [
        f"主题：{draft.topic}",
        f"应到 {draft.expected} 人（{_who(draft.kind, draft.group)}）。",
    ]
    if draft.incoming:
        lines.append(f"另有流入党员 {draft.incoming} 人参加（无表决权，不计入应到）。")
    lines += [
        f"计入组织学习：{'是' if draft.study else '否'}。",
        "回复 确认 安排，回复 取消 放弃。",
    ]
    return "\n".join(lines)


def _who(kind: str, group: str | None) -> str:
    if kind == MeetingType.COMMITTEE_MEETING:
        return "支部委员会成员"
    if group:
        return f"{group}全体党员"
    return "本支部全体党员"


@router.message(Keyword("确认", "确定"), InState(DRAFT), bound)
async def confirm(
    member: Member,
    clock: Clock,
    conversation: Conversation,
    reminder_offsets: list[tuple[str, int]],
    wake_outbox: WakeOutbox,
) -> str:
    draft = scheduling.Draft.from_state(conversation.data)
    conversation.clear()
    meeting = await scheduling.schedule(
        member, draft, clock.local_now(), reminder_offsets, wake=wake_outbox
    )
    return (
        f"已安排{draft.group or ''}{meeting.kind}，会议编号 {meeting.id}："
        f"{_span(meeting, clock)}，{meeting.topic}。\n"
        f"回复 会议 {meeting.id} 查看，改期 {meeting.id} 时间，或 取消会议 {meeting.id}。"
    )


@router.message(Keyword("确认", "确定"), bound)
async def nothing_to_confirm() -> str:
    return "现在没有待确认的会议安排。安排会议请发送：安排 类型 时间 主题。"


@router.message(Keyword("会议", "我的会议", "近期会议"), bound)
async def list_upcoming(member: Member, clock: Clock) -> str:
    found = await scheduling.upcoming(member, clock.now())
    if not found:
        return "近期没有安排会议。"
    lines = ["近期会议："]
    for m in found:
        place = f" @{_short(m.place, 12)}" if m.place else ""
        lines.append(
            f"【{m.id}】{when_text(m.starts_at, clock.zone)} {m.kind}：{_short(m.topic, 30)}{place}"
        )
    lines.append("回复 会议 N 查看详情。")
    return "\n".join(lines)


def _short(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"


LABELS = {
    Attendance.PRESENT.value: "已签到",
    Attendance.LEAVE.value: "请假",
    Attendance.REQUESTED.value: "请假待批",
    Attendance.ABSENT.value: "缺席",
    Attendance.UNKNOWN.value: "未签到",
}
INCOMING_HEAD = "流入党员（无表决权）"


def _state(row: MeetingAttendee) -> str:
    """已签到, or how a 流动党员 far away took part (线上参加, 以心得参加)."""
    return attendance.MODE_LABELS.get(row.mode or "", "") or LABELS[str(row.attendance)]


BUDGET = MAX_TEXT_BYTES - 60  # room for a closing line


class _Reply:
    """Lines added while they fit in one WeChat text reply."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def size(self) -> int:
        return len("\n".join(self.lines).encode())

    def add(self, line: str) -> bool:
        if self.size() + len(line.encode()) + 1 > BUDGET:
            return False
        self.lines.append(line)
        return True

    def names(
        self, head: str, rows: list[MeetingAttendee], reasons: bool = False, modes: bool = False
    ) -> None:
        """「实到 3 人：李书记、王芳（线上参加）…」, as many names as fit, then 等 N 人."""
        if not rows:
            return
        shown = [
            r.member.name
            + (f"（{r.reason}）" if reasons and r.reason else "")
            + (f"（{attendance.MODE_LABELS[r.mode]}）" if modes and r.mode else "")
            for r in rows
        ]
        for count in range(len(shown), 0, -1):
            more = "" if count == len(shown) else f"等 {len(shown)} 人"
            if self.add(f"{head} {len(rows)} 人：{'、'.join(shown[:count])}{more}"):
                return
        self.add(f"{head} {len(rows)} 人")

    def text(self) -> str:
        return "\n".join(self.lines)


def _afar_by_writing(member: Member, m: Meeting, row: MeetingAttendee, now: datetime) -> bool:
    return (
        member.is_mobile
        and not m.online
        and m.status != MeetingStatus.CANCELLED
        and row.attendance != Attendance.PRESENT
        and now <= m.ends_at + timedelta(days=afar.WRITING_DAYS)
    )


def _mine(row: MeetingAttendee, roster: scheduling.Roster) -> str:
    state = str(row.attendance)
    if roster.over and state in (Attendance.UNKNOWN.value, Attendance.REQUESTED.value):
        label = "缺席" + ("（请假未获批准）" if state == Attendance.REQUESTED.value else "")
    else:
        label = _state(row)
    return f"您：{label}" + (f"（{row.reason}）" if row.reason and state != "present" else "")


@router.message(SHOW, bound)
async def show(number: str, member: Member, clock: Clock) -> str:
    """One roster for everyone: 应到 (the expected only), 实到, 请假, 待批, 未签到/缺席, 列席,
    流入党员 (no vote, never in 应到 or the quorum), 纪要; who took part from afar, and how.

    Names are for those who run the meeting (and its recorder); a member sees the counts and
    their own line.
    """
    m = await scheduling.visible(member, int(number))
    now = clock.now()
    await attendance.close(m, now)  # after the end, the undecided become absent
    r = await scheduling.roster(m, now)
    cancelled = m.status == MeetingStatus.CANCELLED
    reply = _Reply()
    reply.add(f"【{m.id}】{m.kind}{'（已取消）' if cancelled else ''}")
    reply.add(f"时间：{_span(m, clock)}")
    reply.add(f"地点：{m.place or '（未填）'}")
    if m.online:
        reply.add(f"线上：{m.online}")
    reply.add(f"主题：{m.topic}")
    if m.kind == MeetingType.GROUP_MEETING:
        reply.add(f"党小组：{m.organisation.name}")
    if m.speaker:
        reply.add(f"主讲人：{m.speaker}")
    runs = await attendance.may_decide(member, m)
    if runs or m.recorder_id == member.id:
        counts = [
            f"实到 {len(r.present)}",
            f"请假 {len(r.on_leave)}",
            *([f"待批 {len(r.requested)}"] if r.requested else []),
            f"{r.missing_label} {len(r.missing)}",
        ]
        reply.add(f"应到 {len(r.expected)} 人：{'，'.join(counts)}")
        reply.names("实到", r.present, modes=True)
        reply.names("请假", r.on_leave, reasons=True)
        reply.names("待批", r.requested, reasons=True)
        reply.names(r.missing_label, r.missing, reasons=r.over)
        if r.requested:
            first = r.requested[0]
            handle = await attendance.roster_handle(m, first.member)
            reply.add(f"（审批：准假 {m.id} {handle}，或 不准假 {m.id} {handle} 原因）")
        if r.invited:
            guests = [f"{g.member.name}（{LABELS[str(g.attendance)]}）" for g in r.invited]
            reply.add(f"列席 {len(guests)} 人（不计入应到）：{'、'.join(guests)}")
        if r.incoming:
            joined = [f"{g.member.name}（{_state(g)}）" for g in r.incoming]
            reply.add(f"{INCOMING_HEAD} {len(joined)} 人（不计入应到）：{'、'.join(joined)}")
    else:
        counts = [f"实到 {len(r.present)}", f"请假 {len(r.on_leave)}"]
        reply.add(f"应到 {len(r.expected)} 人：{'，'.join(counts)}")
        if r.invited:
            reply.add(f"列席 {len(r.invited)} 人（不计入应到）")
        if r.incoming:
            reply.add(f"{INCOMING_HEAD} {len(r.incoming)} 人（不计入应到）")
        mine = next((row for row in r.everyone if row.member_id == member.id), None)
        if mine is not None:
            reply.add(_mine(mine, r))
        if mine is not None and _afar_by_writing(member, m, mine, now):
            # No online part: a 心得 on the topic is how a 流出 member takes part from afar.
            reply.add(
                f"您在外地的，可在会议开始后至结束后 {afar.WRITING_DAYS} 天内发送：心得 {m.id} "
                "内容，经支部审核通过后计为以心得参加。"
            )
    quorum = attendance.quorum(m, r.voting_counts)
    if quorum is not None and r.probationary:
        reply.add(f"其中预备党员 {len(r.probationary)} 人（无表决权，不计入表决的法定人数）")
    if quorum is False and m.status == MeetingStatus.HELD:
        reply.add("⚠ 有表决权的到会人数未超过应到会有表决权人数的一半，不足法定人数。")
    if runs:
        missed = list(dict.fromkeys(n.member.name for n in await notices.unreachable(m)))
        if missed:
            shown = "、".join(missed[:10]) + ("等" if len(missed) > 10 else "")
            reply.add(f"通知未能送达 {len(missed)} 人：{shown}（请当面或电话告知）")
        maybe = list(dict.fromkeys(n.member.name for n in await notices.uncertain(m)))
        if maybe:
            shown = "、".join(maybe[:10]) + ("等" if len(maybe) > 10 else "")
            reply.add(f"通知可能已送达 {len(maybe)} 人：{shown}（发送中断，无法确认，不会重发）")
    if m.minutes:
        _add_minutes(reply, m.minutes)
    return reply.text()


def _add_minutes(reply: _Reply, minutes: str) -> None:
    """The minutes as written, cut to what still fits, saying how long they are."""
    whole = f"纪要：{minutes}"
    if reply.add(whole):
        return
    room = BUDGET - reply.size() - len(f"\n纪要：…（共 {len(minutes)} 字，全文见台账）".encode())
    if room > 30:
        head = fit(minutes, room).rstrip("…")
        reply.add(f"纪要：{head}…（共 {len(minutes)} 字，全文见台账）")
    else:
        reply.add(f"已记纪要 {len(minutes)} 字，全文见台账。")


@router.message(CANCEL_MEETING, bound)
async def cancel(
    number: str,
    reason: str,
    raw_text: str,
    member: Member,
    clock: Clock,
    wake_outbox: WakeOutbox,
) -> str:
    # The reason as typed, Chinese punctuation and all: the members read it in the notice.
    typed = text_after_number(raw_text, "取消会议")
    m = await scheduling.cancel(member, int(number), typed or reason, clock.now(), wake=wake_outbox)
    return f"已取消编号 {m.id} 的{m.kind}（{when_text(m.starts_at, clock.zone)}，{m.topic}）。"


@router.message(RESCHEDULE, bound)
async def reschedule(
    number: str,
    when: str,
    member: Member,
    clock: Clock,
    reminder_offsets: list[tuple[str, int]],
    wake_outbox: WakeOutbox,
) -> str:
    starts_at, _ = _parse(when, clock)
    m = await scheduling.reschedule(
        member, int(number), starts_at, clock.local_now(), reminder_offsets, wake=wake_outbox
    )
    return f"已改期：编号 {m.id} 的{m.kind}改到 {_span(m, clock)}。"


@router.message(INVITE, bound)
async def invite(
    number: str,
    name: str,
    tail: str | None,
    member: Member,
    clock: Clock,
    reminder_offsets: list[tuple[str, int]],
    wake_outbox: WakeOutbox,
) -> str:
    guest = await scheduling.invite(
        member, int(number), name, tail, clock.local_now(), reminder_offsets, wake=wake_outbox
    )
    return f"已请{guest.name}列席编号 {number} 的会议，会通知本人。"


@router.message(ONLINE, bound)
async def online(number: str, what: str, raw_text: str, member: Member, clock: Clock) -> str:
    """线上 N 腾讯会议 123-456-789: the meeting's online part, where 流动党员 far away join and
    sign in with the code read out there; 线上 N 取消 takes it away."""
    typed = what.strip()
    if not typed:
        raise ValidationFailed(
            f"请写上线上参会方式，例如：线上 {number} 腾讯会议 123-456-789；"
            f"去掉请发送：线上 {number} 取消",
            field="online",
        )
    # As typed (a meeting number may have a dash or a full-width colon in it).
    given = _after_number(raw_text) or typed
    clear = typed in NO_ONLINE
    m, before = await scheduling.set_online(
        member, int(number), None if clear else given, clock.now()
    )
    if clear:
        return (
            f"已去掉编号 {m.id} 的{m.kind}的线上参会方式。"
            if before
            else f"编号 {m.id} 的{m.kind}本来就没有线上参会方式。"
        )
    return (
        f"已设置编号 {m.id} 的{m.kind}的线上参会方式：{m.online}。\n"
        "流动党员可以线上参加，用会上公布的签到码签到；之后发出的会议提醒会写明。"
    )


def _after_number(raw_text: str) -> str:
    found = re.fullmatch(r"\s*线上(?:参会|会议)?\s*[0-9０-９]+\s*(.*)", raw_text, re.S)
    return found.group(1).strip() if found else ""
