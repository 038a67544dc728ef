"""我的: this member's own check-ins, study, points and star level."""

from __future__ import annotations

from datetime import datetime

from server.clock import Clock
from server.dispatch import Router
from server.dispatch.filters import Keyword, bound
from server.models.people import Member
from server.models.study import SUBMISSION_STATUS_LABELS
from server.services.study.points import PointsRules
from server.services.study.record import my_record

router = Router("record")
router.help("我的", "查看自己的打卡、学习和积分", visible=bound, order=70)


@router.message(Keyword("我的", "我的记录", "我的积分", "mine"), bound)
async def show_my_record(member: Member, clock: Clock, points_rules: PointsRules) -> str:
    today = clock.today()
    year_start = datetime(today.year, 1, 1, tzinfo=clock.zone)
    r = await my_record(member, today, points_rules, year_start, clock.now())
    met = r.meetings
    exchanged = "，".join(
        f"{SUBMISSION_STATUS_LABELS[status]} {n} 篇" for status, n in r.submissions.items()
    )
    points = (
        f"· 积分：本月 {r.points_this_month} 分，近 12 个月 {r.points_12_months} 分\n"
        f"· 星级：{'★' * r.star}{'☆' * (5 - r.star)}（{r.star} 星）\n"
        if points_rules.enabled
        else ""
    )
    return (
        f"{member.name}同志，{today.month}月的记录：\n"
        f"· 打卡 {r.check_ins_this_month} 天，已连续 {r.streak} 天\n"
        f"· 自学 {r.self_study_days_this_month} 天（读完一篇或答完一轮题的日子）\n"
        f"{points}"
        f"· 心得：{exchanged}\n"
        f"· 今年会议：出席 {met['present']} 次，请假 {met['leave']} 次，缺席 {met['absent']} 次\n"
        "这些记录只有您自己能看到，不作排名，也不作评议党员的依据。"
    )
