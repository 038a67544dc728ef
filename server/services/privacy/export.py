"""查阅、复制权: everything held about one member, as one XLSX a staff member hands them.

One sheet per kind of record, each with the member's own rows only: the profile and the
WeChat users bound, study (打卡, reading, quizzes, points), 心得 in full, meetings (expected or
not, attendance, leave and its reason, how they took part), 双报到 (their 报到 record, claims,
posts held), 流动党员 (spells, contacts, 党费, yearly reports, a 失联 case), the messages written
to them and the meeting notices, and the record of changes made to them.  Their phone and
openids appear in full: it is their own data.  Cells go through `tallies.workbook.put`, so a
text a member typed is never a formula.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet
from tortoise.expressions import Q

from server.channels import Channel
from server.errors import NotFound
from server.models.community import (
    ORDER_STATUS_LABELS,
    VOLUNTEER_STATUS_LABELS,
    CommunityMessage,
    OrderClaim,
    PostHolder,
    Resident,
    Volunteer,
)
from server.models.meetings import Meeting, MeetingAttendee
from server.models.member_stars import MemberStar, MemberStarChange
from server.models.mobility import (
    DIRECTION_LABELS,
    FLOW_STATUS_LABELS,
    LOST_STAGE_LABELS,
    DuesPaid,
    LostAttempt,
    LostCase,
    MobileContact,
    MobileMember,
    YearlyReport,
)
from server.models.notices import Notice
from server.models.people import Member, MemberChange, Organisation, WeChatIdentity
from server.models.study import (
    SUBMISSION_STATUS_LABELS,
    CheckIn,
    PointsEntry,
    QuizAttempt,
    Submission,
    UnitReading,
)
from server.services.tallies.workbook import (
    CellValue,
    Column,
    body_row,
    header_rows,
    print_setup,
    sheet_title,
    title,
)

NONE = "—"
HEADER_FIRST = 2  # row 1: the sheet's title
TALLEST_ROW = 409.0  # points: Excel repairs a file with a taller row
CHANNELS = {Channel.OFFICIAL_ACCOUNT.value: "公众号", Channel.MINIPROGRAM.value: "小程序"}
ATTENDANCE = {
    "unknown": "未签到",
    "present": "出席",
    "requested": "请假待批",
    "leave": "请假",
    "absent": "缺席",
}
ROLES = {"expected": "应到", "invited": "列席", "incoming": "流入党员参加"}
MODES = {"online": "线上参会", "writing": "提交心得代替参会"}
MESSAGE_STATUS = {
    "pending": "待发送",
    "claimed": "发送中",
    "sending": "发送中",
    "sent": "已发送",
    "unreachable": "未送达",
    "uncertain": "不确定是否送达",
    "failed": "发送失败",
    "missed": "已错过",
    "void": "已作废",
}


@dataclass(frozen=True)
class Sheet:
    name: str
    columns: Sequence[Column]
    rows: list[list[CellValue]]
    empty: str = "无记录"


def _c(name: str, width: float) -> Column:
    return Column(name, width)


class _Text:
    """Moments and days as text in the organisation's zone (an XLSX holds no time zone)."""

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone

    def moment(self, value: datetime | None) -> str:
        return value.astimezone(self.zone).strftime("%Y-%m-%d %H:%M") if value else NONE

    @staticmethod
    def day(value: date | None) -> str:
        return value.isoformat() if value else NONE


async def member_data(member_id: int, *, zone: ZoneInfo, now: datetime) -> bytes:
    """The XLSX of everything held about the member; NotFound for no such member."""
    member = await Member.get_or_none(id=member_id).prefetch_related("organisation", "group")
    if member is None:
        raise NotFound("没有这名党员。", field="member")
    t = _Text(zone)
    sheets = [
        await _profile(member, t, now),
        await _identities(member, t),
        *await _study(member, t),
        await _submissions(member, t),
        await _meetings(member, t),
        *await _community(member, t),
        *await _mobility(member, t),
        *await _messages(member, t),
        await _stars(member, t),
        await _changes(member, t),
    ]
    heading = f"{member.name}的个人信息"
    return await asyncio.to_thread(_saved, heading, sheets)


async def _profile(member: Member, t: _Text, now: datetime) -> Sheet:
    group = member.group.name if isinstance(member.group, Organisation) else NONE
    status = {"active": "在册", "transferred": "已转出", "stopped": "已停止党籍"}
    rows: list[list[CellValue]] = [
        ["姓名", member.name],
        ["手机号", member.phone],
        ["性别", member.gender or NONE],
        ["出生日期", t.day(member.birth_date)],
        ["学历", member.education or NONE],
        ["入党日期", t.day(member.joined_on)],
        ["所在组织", member.organisation.path],
        ["党小组", group],
        ["职务", member.role.value],
        ["状态", status.get(str(member.status), str(member.status))],
        ["党员类别", "预备党员" if member.probationary else "正式党员"],
        ["流动党员（流出）", "是" if member.is_mobile else "否"],
        ["流入党员", "是" if member.incoming else "否"],
        ["登记时间", t.moment(member.created_at)],
        ["最近修改", t.moment(member.updated_at)],
        ["本表导出时间", t.moment(now)],
    ]
    return Sheet("基本信息", [_c("项目", 18), _c("内容", 60)], rows)


async def _identities(member: Member, t: _Text) -> Sheet:
    rows: list[list[CellValue]] = [
        [
            CHANNELS.get(str(i.channel), str(i.channel)),
            i.appid,
            i.openid,
            i.unionid or NONE,
            t.moment(i.bound_at),
        ]
        for i in await WeChatIdentity.filter(member_id=member.id).order_by("id")
    ]
    columns = [
        _c("渠道", 10),
        _c("AppID", 22),
        _c("OpenID", 34),
        _c("UnionID", 34),
        _c("绑定时间", 18),
    ]
    return Sheet("微信绑定", columns, rows, "没有绑定微信")


async def _study(member: Member, t: _Text) -> list[Sheet]:
    mine = {"member_id": member.id}
    check_ins: list[list[CellValue]] = [
        [t.day(c.day), t.moment(c.created_at)] for c in await CheckIn.filter(**mine).order_by("day")
    ]
    readings: list[list[CellValue]] = [
        [t.day(r.day), r.unit_id, "是" if r.read_full else "否"]
        for r in await UnitReading.filter(**mine).order_by("day", "id")
    ]
    quizzes: list[list[CellValue]] = [
        [t.day(q.day), q.score, t.moment(q.finished_at) if q.finished_at else "未完成"]
        for q in await QuizAttempt.filter(**mine).order_by("day", "id")
    ]
    points: list[list[CellValue]] = [
        [t.day(p.day), str(p.reason), p.deed, p.points]
        for p in await PointsEntry.filter(**mine).order_by("day", "id")
    ]
    return [
        Sheet("打卡", [_c("日期", 14), _c("打卡时间", 18)], check_ins),
        Sheet("学习记录", [_c("日期", 14), _c("学习内容编号", 30), _c("读完全文", 10)], readings),
        Sheet("答题", [_c("日期", 14), _c("得分", 8), _c("完成时间", 18)], quizzes),
        Sheet("积分", [_c("日期", 14), _c("事由", 12), _c("事项", 36), _c("积分", 8)], points),
    ]


async def _submissions(member: Member, t: _Text) -> Sheet:
    rows: list[list[CellValue]] = [
        [
            s.id,
            t.day(s.day),
            s.content,
            SUBMISSION_STATUS_LABELS.get(s.status, str(s.status)),
            t.moment(s.reviewed_at) if s.reviewed_at else NONE,
            s.return_reason or NONE,
        ]
        for s in await Submission.filter(member_id=member.id).order_by("day", "id")
    ]
    columns = [
        _c("编号", 8),
        _c("日期", 12),
        _c("内容", 70),
        _c("状态", 10),
        _c("审核时间", 18),
        _c("退回原因", 24),
    ]
    return Sheet("心得", columns, rows)


async def _meetings(member: Member, t: _Text) -> Sheet:
    rows: list[list[CellValue]] = []
    attended = MeetingAttendee.filter(member_id=member.id).prefetch_related("meeting")
    for a in sorted(await attended, key=lambda a: (a.meeting.starts_at, a.id)):
        m: Meeting = a.meeting
        rows.append(
            [
                m.id,
                t.moment(m.starts_at),
                m.kind,
                m.topic,
                ROLES.get(str(a.role), str(a.role)),
                ATTENDANCE.get(str(a.attendance), str(a.attendance)),
                a.reason or NONE,
                MODES.get(a.mode or "", NONE),
                t.moment(a.signed_at) if a.signed_at else NONE,
            ]
        )
    columns = [
        _c("会议编号", 9),
        _c("时间", 17),
        _c("类型", 12),
        _c("主题", 30),
        _c("身份", 10),
        _c("出勤", 10),
        _c("请假或更正事由", 24),
        _c("参加方式", 14),
        _c("签到时间", 17),
    ]
    return Sheet("会议", columns, rows)


async def _community(member: Member, t: _Text) -> list[Sheet]:
    pairs = [(i.appid, i.openid) for i in await WeChatIdentity.filter(member_id=member.id)]
    volunteers = await Volunteer.filter(member_id=member.id).prefetch_related("community", "unit")
    reported: list[list[CellValue]] = [
        [
            v.name,
            v.phone,
            v.community.name,
            v.unit.name if v.unit is not None else "本街道党员",
            v.grid or NONE,
            v.skills or NONE,
            VOLUNTEER_STATUS_LABELS.get(v.status, str(v.status)),
            t.moment(v.registered_at),
            t.moment(v.confirmed_at) if v.confirmed_at else NONE,
        ]
        for v in volunteers
    ]
    ids = [v.id for v in volunteers]
    claims: list[list[CellValue]] = []
    for c in await OrderClaim.filter(volunteer_id__in=ids).prefetch_related("order"):
        claims.append(
            [
                c.order.id,
                f"{c.order.kind}·{c.order.title}",
                t.moment(c.order.starts_at),
                ORDER_STATUS_LABELS.get(c.order.status, str(c.order.status)),
                {"claimed": "已认领", "withdrawn": "已放弃", "done": "已完成"}.get(
                    str(c.status), str(c.status)
                ),
                t.moment(c.claimed_at),
                t.moment(c.done_at) if c.done_at else NONE,
                float(c.hours) if isinstance(c.hours, Decimal) else NONE,
                c.note or NONE,
            ]
        )
    posts: list[list[CellValue]] = [
        [
            f"{h.post.kind}·{h.post.title}",
            t.moment(h.since),
            t.moment(h.left_at) if h.left_at else "在岗",
        ]
        for h in await PostHolder.filter(volunteer_id__in=ids).prefetch_related("post")
    ]
    residents: list[list[CellValue]] = []
    for appid, openid in pairs:
        for r in await Resident.filter(appid=appid, openid=openid).prefetch_related("community"):
            residents.append([r.name, r.phone, r.community.name, r.place, t.moment(r.created_at)])
    return [
        Sheet(
            "报到",
            [
                _c("姓名", 10),
                _c("手机号", 13),
                _c("社区", 14),
                _c("单位", 20),
                _c("网格", 12),
                _c("特长", 20),
                _c("状态", 10),
                _c("报到时间", 17),
                _c("确认时间", 17),
            ],
            reported,
            "没有报到记录",
        ),
        Sheet(
            "接单",
            [
                _c("服务单", 8),
                _c("内容", 30),
                _c("时间", 17),
                _c("服务单状态", 10),
                _c("认领状态", 10),
                _c("认领时间", 17),
                _c("完成时间", 17),
                _c("时长", 8),
                _c("备注", 30),
            ],
            claims,
        ),
        Sheet("认岗", [_c("岗位", 30), _c("认岗时间", 17), _c("退岗时间", 17)], posts),
        Sheet(
            "居民登记",
            [_c("姓名", 10), _c("手机号", 13), _c("社区", 14), _c("住址", 30), _c("登记时间", 17)],
            residents,
            "没有以居民身份登记",
        ),
    ]


async def _mobility(member: Member, t: _Text) -> list[Sheet]:
    mine = {"member_id": member.id}
    spells: list[list[CellValue]] = [
        [
            DIRECTION_LABELS[m.direction],
            FLOW_STATUS_LABELS[m.status],
            t.day(m.since),
            m.place or NONE,
            str(m.reason),
            m.reach or NONE,
            m.other_org or NONE,
            m.other_contact or NONE,
            m.certificate or NONE,
            t.day(m.ended_on) if m.ended_on else NONE,
            m.end_note or NONE,
        ]
        for m in await MobileMember.filter(**mine).order_by("since", "id")
    ]
    contacts: list[list[CellValue]] = [
        [t.day(c.day), c.channel, c.note]
        for c in await MobileContact.filter(**mine).order_by("day", "id")
    ]
    dues: list[list[CellValue]] = [
        [t.day(d.day), d.through.strftime("%Y-%m"), float(d.amount) if d.amount else NONE]
        for d in await DuesPaid.filter(**mine).order_by("day", "id")
    ]
    reports: list[list[CellValue]] = [
        [f"{r.year}年", r.org_life, r.dues, r.dues_where or NONE, t.moment(r.updated_at)]
        for r in await YearlyReport.filter(**mine).order_by("year")
    ]
    cases: list[list[CellValue]] = []
    for case in await LostCase.filter(**mine).order_by("id"):
        cases.append(
            [
                "查找",
                t.day(case.opened_on),
                LOST_STAGE_LABELS[case.stage],
                case.handling or case.decision or case.closed_note or NONE,
            ]
        )
        for a in await LostAttempt.filter(case_id=case.id).order_by("day", "id"):
            cases.append(["查找经过", t.day(a.day), a.method, a.note])
    return [
        Sheet(
            "流动党员",
            [
                _c("类别", 8),
                _c("状态", 8),
                _c("开始", 12),
                _c("地点", 20),
                _c("原因", 14),
                _c("联系方式", 18),
                _c("对方党组织", 20),
                _c("对方电话", 14),
                _c("活动证", 12),
                _c("结束", 12),
                _c("结束说明", 20),
            ],
            spells,
        ),
        Sheet("联系记录", [_c("日期", 12), _c("方式", 8), _c("内容", 60)], contacts),
        Sheet("党费", [_c("交纳日期", 12), _c("交至", 10), _c("金额", 10)], dues),
        Sheet(
            "年度报告",
            [
                _c("年度", 8),
                _c("参加组织生活", 40),
                _c("党费", 10),
                _c("交纳地", 20),
                _c("报告时间", 17),
            ],
            reports,
        ),
        Sheet(
            "失联查找",
            [_c("项目", 10), _c("日期", 12), _c("状态或方式", 12), _c("说明", 50)],
            cases,
        ),
    ]


async def _messages(member: Member, t: _Text) -> list[Sheet]:
    pairs = [(i.appid, i.openid) for i in await WeChatIdentity.filter(member_id=member.id)]
    for v in await Volunteer.filter(member_id=member.id, openid__isnull=False):
        if v.appid and v.openid:
            pairs.append((v.appid, v.openid))
    to_them = Q(id=-1)
    for appid, openid in pairs:
        to_them |= Q(appid=appid, openid=openid)
    letters: list[list[CellValue]] = [
        [
            t.moment(m.created_at),
            m.kind,
            m.text,
            MESSAGE_STATUS.get(str(m.status), str(m.status)),
            t.moment(m.sent_at) if m.sent_at else NONE,
        ]
        for m in await CommunityMessage.filter(to_them).order_by("created_at", "id")
    ]
    notices: list[list[CellValue]] = []
    for n in await Notice.filter(member_id=member.id).prefetch_related("meeting").order_by("id"):
        notices.append(
            [
                n.meeting.id,
                n.meeting.topic,
                n.kind.split(":", 1)[0],
                t.moment(n.due_at),
                MESSAGE_STATUS.get(str(n.status), str(n.status)),
                t.moment(n.sent_at) if n.sent_at else NONE,
            ]
        )
    return [
        Sheet(
            "消息",
            [_c("时间", 17), _c("类别", 16), _c("内容", 60), _c("状态", 12), _c("发出时间", 17)],
            letters,
        ),
        Sheet(
            "会议通知",
            [
                _c("会议编号", 9),
                _c("主题", 30),
                _c("类别", 12),
                _c("应发时间", 17),
                _c("状态", 12),
                _c("发出时间", 17),
            ],
            notices,
        ),
    ]


async def _stars(member: Member, t: _Text) -> Sheet:
    """星级党员: every decision on the member's years, with its reason."""
    rows: list[list[CellValue]] = [
        [row.year, t.moment(c.at), c.before, c.after, c.reason or NONE]
        for row in await MemberStar.filter(member_id=member.id).order_by("year")
        for c in await MemberStarChange.filter(row_id=row.id).order_by("at", "id")
    ]
    columns = [_c("年度", 8), _c("时间", 17), _c("评定前", 14), _c("评定后", 14), _c("理由", 40)]
    return Sheet("星级评定", columns, rows)


async def _changes(member: Member, t: _Text) -> Sheet:
    kinds = {"unbind": "解除绑定", "link": "自动关联", "role": "职务变更", "transfer": "组织调动"}
    rows: list[list[CellValue]] = [
        [
            t.moment(c.at),
            kinds.get(str(c.kind), str(c.kind)),
            c.before or NONE,
            c.after or NONE,
            c.reason or NONE,
        ]
        for c in await MemberChange.filter(member_id=member.id).order_by("at", "id")
    ]
    columns = [_c("时间", 17), _c("类别", 10), _c("变更前", 30), _c("变更后", 30), _c("理由", 30)]
    return Sheet("变更记录", columns, rows)


def _saved(heading: str, sheets: list[Sheet]) -> bytes:
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]  # a new Workbook's one sheet, never None
    for sheet in sheets:
        _write(book.create_sheet(sheet_title(sheet.name, book.sheetnames)), heading, sheet)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _write(out: Worksheet, heading: str, sheet: Sheet) -> None:
    width = len(sheet.columns)
    title(out, 1, f"{heading}：{sheet.name}", width)
    first = HEADER_FIRST + header_rows(out, HEADER_FIRST, sheet.columns)
    row = first
    for values in sheet.rows:
        body_row(out, row, sheet.columns, values)
        height = out.row_dimensions[row].height or 0.0
        out.row_dimensions[row].height = min(TALLEST_ROW, height)
        row += 1
    if not sheet.rows:
        body_row(out, row, sheet.columns, [sheet.empty] + [None] * (width - 1))
    print_setup(out, title_rows=f"{HEADER_FIRST}:{first - 1}", footer=heading)
