"""我的: this member's own check-ins, study and points, the star the branch decided (of the
latest confirmed year, or 尚未评定) — and, for a member the branch keeps in touch with (流出,
流入), what the branch has recorded of them."""

from __future__ import annotations

from datetime import datetime

from server.clock import Clock
from server.dispatch import Router
from server.dispatch.filters import Keyword, bound
from server.models.mobility import Direction
from server.models.people import Member
from server.models.study import SUBMISSION_STATUS_LABELS
from server.services.member_stars.ledger import my_star
from server.services.member_stars.words import decided_text
from server.services.mobility.mine import my_mobility
from server.services.study.points import PointsRules
from server.services.study.record import my_record

router = Router("record")
router.help("我的", "查看自己的打卡、学习、积分和星级", visible=bound, order=70)


@router.message(Keyword("我的", "我的记录", "我的积分", "mine"), bound)
async def show_my_record(member: Member, clock: Clock, points_rules: PointsRules) -> str:
    today = clock.today()
    year_start = datetime(today.year, 1, 1, tzinfo=clock.zone)
    r = await my_record(member, today, year_start, clock.now())
    met = r.meetings
    exchanged = "，".join(
        f"{SUBMISSION_STATUS_LABELS[status]} {n} 篇" for status, n in r.submissions.items()
    )
    points = (
        f"· 积分：本月 {r.points_this_month} 分，近 12 个月 {r.points_12_months} 分\n"
        if points_rules.enabled
        else ""
    )
    mobility = await _mobility(member, today.year)
    return (
        f"{member.name}同志，{today.month}月的记录：\n"
        f"· 打卡 {r.check_ins_this_month} 天，已连续 {r.streak} 天\n"
        f"· 自学 {r.self_study_days_this_month} 天（读完一篇或答完一轮题的日子）\n"
        f"{points}"
        f"· 心得：{exchanged}\n"
        f"· 今年会议：出席 {met['present']} 次，请假 {met['leave']} 次，缺席 {met['absent']} 次\n"
        f"{mobility}"
        "这些记录只有您自己能看到，不作排名，也不作评议党员的依据。\n"
        f"星级：{await star_line(member)}"
    )


async def star_line(member: Member) -> str:
    """The branch's decision of the latest confirmed year, or 尚未评定 — never points."""
    decided = (await my_star(member)).decided
    if decided is None:
        return "尚未评定（由支部在民主评议时评定，回复 我的星级 查看）"
    return f"{decided_text(decided)}（支部在民主评议时评定）"


async def _mobility(member: Member, year: int) -> str:
    """The branch's record of this member's 流动, as lines of the reply ("" if none)."""
    mine = await my_mobility(member, year)
    if mine is None:
        return ""
    record = mine.record
    since = f"{record.since.year}年{record.since.month}月{record.since.day}日"
    if record.direction == Direction.IN:
        return (
            f"· 流入党员：{since}起在本支部参加组织生活（不参加表决和选举），"
            f"组织关系在{record.other_org}\n"
        )
    keeper = f"，联系人：{mine.keeper}" if mine.keeper else ""
    contact = mine.last_contact
    last = f"{contact.year}年{contact.month}月{contact.day}日" if contact else "暂无"
    report = (
        f"已报告（党费{mine.report.dues}）"
        if mine.report is not None
        else "未报告，回复 年度报告 填写"
    )
    return (
        f"· 流出党员：{since}起在{record.place}{keeper}；支部最近联系：{last}\n"
        f"· {year}年度报告：{report}\n"
    )
