"""Attendance in chat: 签到码 N, 签到 123456, 请假 N 原因 (a request: 准假 / 不准假 decide it),
撤销请假 N, 待办, 补录, 纪要 N."""

from __future__ import annotations

from handlers.common import runs_meetings
from server.cache import Cache
from server.clock import Clock, when_text
from server.dispatch import Router
from server.dispatch.context import text_after_number
from server.dispatch.filters import Keyword, Pattern, bound
from server.errors import ValidationFailed
from server.models.people import BRANCH_LEADERS, Member
from server.services.delivery.messenger import Clients
from server.services.meetings import attendance, leave_notice
from server.services.people import admin_links
from server.services.study import submissions
from server.services.study.points import PointsRules
from server.settings import Settings

router = Router("attendance")
router.help("签到 123456", "用会场公布的六位数字签到", visible=bound, order=46)
router.help("请假 12 在外地出差", "会议开始前请假，书记批准后生效", visible=bound, order=47)
router.help("撤销请假 12", "会议开始前撤回请假", visible=bound, order=48)
router.hint("SIGNIN_WRONG_CODE", "请看现场最新的签到码再发一次：签到 六位数字。")
router.help("待办", "待批的请假、待审核的心得", visible=runs_meetings, order=59)
router.help(
    "准假 12 王芳 / 不准假 12 王芳 这次要表决",
    "审批请假，本人会收到结果",
    visible=runs_meetings,
    order=60,
)
router.help("签到码 12", "签到码和会场签到屏幕的链接", visible=runs_meetings, order=62)
router.help(
    "补录 12 王芳 出席 手机没电", "更正出勤（出席、请假或缺席）", visible=runs_meetings, order=63
)
router.help("纪要 12 会议传达了……", "记下会议纪要和决议", visible=runs_meetings, order=64)
router.help("记录人 12 王芳", "指定记录人，记录人也可以记纪要", visible=runs_meetings, order=66)

CODE = Pattern(r"签到码\s*(?P<number>\d{1,9})")
SIGN_IN = Pattern(r"签到\s*(?P<code>[0-9]{6})")  # ASCII digits: \d also matches ١٢٣
SIGN_IN_MALFORMED = Pattern(r"签到\s*(?P<typed>.*)")
LEAVE = Pattern(r"请假\s*(?P<number>\d{1,9})\s*(?P<reason>.*)")
WITHDRAW = Pattern(r"(?:撤销|撤回|取消)请假\s*(?P<number>\d{1,9})")
GRANT = Pattern(r"准假\s*(?P<number>\d{1,9})\s+(?P<name>[^\s\d]+)\s*(?P<tail>\d{4})?")
REFUSE = Pattern(
    r"不准假\s*(?P<number>\d{1,9})\s+(?P<name>[^\s\d]+)(?:\s*(?P<tail>\d{4}))?\s*(?P<reason>.*)"
)
SHOWN = 6  # requests listed by 待办: with their commands, about 200 bytes each
TODO = Keyword("待办", "待办事项", "待批", "请假审批")
CORRECT = Pattern(
    r"补录\s*(?P<number>\d{1,9})\s+(?P<name>\S+)\s+(?P<to>出席|请假|缺席)\s*(?P<reason>.*)"
)
RECORDER = Pattern(r"记录人\s*(?P<number>\d{1,9})\s+(?P<name>\S+)")
MINUTES = Pattern(r"纪要\s*(?P<number>\d{1,9})\s*(?P<text>.*)")


@router.message(CODE, bound)
async def show_code(number: str, member: Member, clock: Clock, settings: Settings) -> str:
    got = await attendance.signin_code(member, int(number), clock.now(), settings.signin_rotation)
    turns = got.changes_at.astimezone(clock.zone)
    link = await admin_links.issue_screen_link(settings, member, got.meeting.id, clock.now())
    minutes = max(1, settings.admin_link_ttl // 60)
    return (
        f"编号 {got.meeting.id} 的{got.meeting.kind}签到码：{got.code}\n"
        f"{turns:%H:%M} 更换。参会党员发送：签到 {got.code}\n"
        f"在会场的屏幕或手机上打开签到屏幕，签到码和二维码会自动更换，不用再来取"
        f"（{minutes} 分钟内打开，只能用一次，请勿转发）：\n{link}"
    )


@router.message(SIGN_IN, bound)
async def sign_in(
    code: str,
    member: Member,
    clock: Clock,
    settings: Settings,
    cache: Cache,
    points_rules: PointsRules,
) -> str:
    done = await attendance.sign_in(
        member,
        code,
        clock.local_now(),
        clock.today(),
        settings.signin_rotation,
        cache,
        points_rules,
    )
    m = done.meeting
    earned = f"，积分 +{done.points}" if done.points else ""
    far = f"（{attendance.MODE_LABELS[done.mode]}）" if done.mode else ""
    return f"签到成功{far}：{m.kind}（{when_text(m.starts_at, clock.zone)}，{m.topic}）{earned}。"


@router.message(SIGN_IN_MALFORMED, bound)
async def sign_in_malformed() -> str:
    return "签到请发送：签到 加现场的六位数字签到码，例如 签到 123456。"


@router.message(LEAVE, bound)
async def ask_leave(
    number: str,
    reason: str,
    raw_text: str,
    member: Member,
    clock: Clock,
    wechat_clients: Clients,
) -> str:
    typed = text_after_number(raw_text, "请假")
    asked = await attendance.ask_leave(member, int(number), typed or reason, clock.now())
    told: list[str] = []
    waiting: list[str] = []
    if not asked.again:  # a reason replaced: those told already know of the request
        text = await leave_notice.request_text(
            asked.meeting, member, asked.row.reason or "", clock.zone
        )
        told, waiting = await leave_notice.tell_deciders(asked.meeting, text, wechat_clients)
    return leave_notice.asked_reply(asked.meeting, asked.again, told, waiting)


@router.message(WITHDRAW, bound)
async def withdraw_leave(number: str, member: Member, clock: Clock) -> str:
    m = await attendance.withdraw_leave(member, int(number), clock.now())
    return (
        f"已撤销请假：编号 {m.id} 的{m.kind}（{when_text(m.starts_at, clock.zone)}），请按时参加。"
    )


async def _decided(decision: attendance.LeaveDecision, clock: Clock, clients: Clients) -> str:
    row = decision.row
    if decision.granted:
        head = f"已准假：{row.member.name}（{decision.asked}），编号 {decision.meeting.id} 的会议。"
    else:
        head = f"已不准假：{row.member.name}，编号 {decision.meeting.id} 的会议，会请本人按时参加。"
    if await leave_notice.tell_member(decision, clock.zone, clients):
        return head + "已通知本人。"
    return (
        head + "本人 48 小时内没有和公众号互动，暂时无法推送；"
        f"本人回复 会议 {decision.meeting.id} 时会看到结果。"
    )


@router.message(REFUSE, bound)
async def refuse_leave(
    number: str,
    name: str,
    tail: str | None,
    reason: str,
    raw_text: str,
    member: Member,
    clock: Clock,
    wechat_clients: Clients,
) -> str:
    # The reason as typed, Chinese punctuation and all (the matched text is normalised).
    typed = REFUSE.pattern.fullmatch(raw_text.strip())
    why = typed.group("reason") if typed else reason
    decision = await attendance.decide_leave(
        member, int(number), name, tail, False, why, clock.now()
    )
    return await _decided(decision, clock, wechat_clients)


@router.message(GRANT, bound)
async def grant_leave(
    number: str,
    name: str,
    tail: str | None,
    member: Member,
    clock: Clock,
    wechat_clients: Clients,
) -> str:
    decision = await attendance.decide_leave(member, int(number), name, tail, True, "", clock.now())
    return await _decided(decision, clock, wechat_clients)


@router.message(TODO, bound)
async def todo(member: Member, clock: Clock) -> str:
    """What waits for this member: leave requests to decide (and 心得 to review), and their own
    requests still waiting."""
    lines: list[str] = []
    waiting = await attendance.pending_leave(member, clock.now())
    if waiting:
        lines.append(f"待批的请假 {len(waiting)} 条：")
        for row in waiting[:SHOWN]:
            m = row.meeting
            handle = await attendance.roster_handle(m, row.member)
            lines.append(
                f"【{m.id}】{when_text(m.starts_at, clock.zone)} {m.kind}\n"
                f"  {row.member.name}：{row.reason}\n"
                f"  准假 {m.id} {handle} / 不准假 {m.id} {handle} 原因"
            )
        if len(waiting) > SHOWN:
            lines.append(f"……还有 {len(waiting) - SHOWN} 条，处理完这些再回复 待办。")
    if member.role in BRANCH_LEADERS:
        _, total = await submissions.pending_for(member, limit=1)
        if total:
            lines.append(f"待审核的心得 {total} 篇，回复 审核 查看。")
    mine = await attendance.my_requests(member, clock.now())
    for row in mine:
        m = row.meeting
        lines.append(
            f"您的请假申请待批：【{m.id}】{when_text(m.starts_at, clock.zone)} {m.kind}"
            f"（{row.reason}）"
        )
    return "\n".join(lines) if lines else "目前没有待办事项。"


@router.message(CORRECT, bound)
async def correct(
    number: str, name: str, to: str, reason: str, member: Member, clock: Clock
) -> str:
    if to not in attendance.CORRECTIONS:
        raise ValidationFailed("补录的情况只能是 出席、请假 或 缺席。", field="attendance")
    if not reason.strip():
        raise ValidationFailed(
            f"请写明补录原因，例如：补录 {number} 王芳 出席 手机没电未能签到", field="reason"
        )
    member_id = await attendance.attendee_named(member, int(number), name)
    row = await attendance.correct(
        member, int(number), member_id, attendance.CORRECTIONS[to], reason, clock.now()
    )
    await row.fetch_related("member")
    return f"已补录：编号 {number} 的会议，{row.member.name} 记为{to}（原因：{row.reason}）。"


@router.message(RECORDER, bound)
async def recorder(number: str, name: str, member: Member) -> str:
    who = await attendance.appoint_recorder(member, int(number), name)
    return f"已指定{who.name}为编号 {number} 的会议记录人；记录人也可以发送 纪要 {number} 内容。"


@router.message(MINUTES, bound)
async def minutes(number: str, text: str, raw_text: str, member: Member) -> str:
    typed = text_after_number(raw_text, "纪要")
    m = await attendance.record_minutes(member, int(number), typed or text)
    return f"已记下编号 {m.id} 的{m.kind}纪要（{len(m.minutes or '')} 字）。"
