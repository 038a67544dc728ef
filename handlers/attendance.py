"""Attendance in chat: 签到码 N, 签到 123456, 请假 N 原因, 补录, 纪要 N."""

from __future__ import annotations

from handlers.meetings import schedulers
from server.cache import Cache
from server.clock import Clock, when_text
from server.dispatch import Router
from server.dispatch.context import text_after_number
from server.dispatch.filters import Pattern, bound
from server.models import Member
from server.services import attendance
from server.services.points import PointsRules
from server.settings import Settings

router = Router("attendance")
router.help("签到 六位数字", "用现场的签到码签到", visible=bound, order=46)
router.help("请假 N 原因", "会议开始前请假", visible=bound, order=47)
router.help("签到码 N", "取会议 N 的签到码（几分钟换一次）", visible=schedulers, order=62)
router.help(
    "补录 N 姓名 出席/请假/缺席 原因", "更正一位党员的出勤，留有记录", visible=schedulers, order=63
)
router.help("纪要 N 内容", "记下会议 N 的纪要和决议", visible=schedulers, order=64)
router.help(
    "记录人 N 姓名", "指定会议 N 的记录人（记录人也可以记纪要）", visible=schedulers, order=66
)

CODE = Pattern(r"签到码\s*(?P<number>\d{1,9})")
SIGN_IN = Pattern(r"签到\s*(?P<code>[0-9]{6})")  # ASCII digits: \d also matches ١٢٣
SIGN_IN_MALFORMED = Pattern(r"签到\s*(?P<typed>.*)")
LEAVE = Pattern(r"请假\s*(?P<number>\d{1,9})\s*(?P<reason>.*)")
CORRECT = Pattern(
    r"补录\s*(?P<number>\d{1,9})\s+(?P<name>\S+)\s+(?P<to>出席|请假|缺席)\s*(?P<reason>.*)"
)
RECORDER = Pattern(r"记录人\s*(?P<number>\d{1,9})\s+(?P<name>\S+)")
MINUTES = Pattern(r"纪要\s*(?P<number>\d{1,9})\s*(?P<text>.*)")


@router.message(CODE, bound)
async def show_code(number: str, member: Member, clock: Clock, settings: Settings) -> str:
    got = await attendance.signin_code(member, int(number), clock.now(), settings.signin_rotation)
    turns = got.changes_at.astimezone(clock.zone)
    return (
        f"编号 {got.meeting.id} 的{got.meeting.kind}签到码：{got.code}\n"
        f"{turns:%H:%M} 更换，请到时再取一次。参会党员发送：签到 {got.code}"
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
    return f"签到成功：{m.kind}（{when_text(m.starts_at, clock.zone)}，{m.topic}）{earned}。"


@router.message(SIGN_IN_MALFORMED, bound)
async def sign_in_malformed() -> str:
    return "签到请发送：签到 加现场的六位数字签到码，例如 签到 123456。"


@router.message(LEAVE, bound)
async def ask_leave(number: str, reason: str, raw_text: str, member: Member, clock: Clock) -> str:
    typed = text_after_number(raw_text, "请假")
    m = await attendance.ask_leave(member, int(number), typed or reason, clock.now())
    return f"已为您请假：编号 {m.id} 的{m.kind}（{when_text(m.starts_at, clock.zone)}）。"


@router.message(CORRECT, bound)
async def correct(
    number: str, name: str, to: str, reason: str, member: Member, clock: Clock
) -> str:
    row = await attendance.correct(member, int(number), name, to, reason, clock.now())
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
