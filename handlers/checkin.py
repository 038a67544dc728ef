"""打卡: the daily check-in, with the streak, this month's days and today's points."""

from __future__ import annotations

from server.clock import Clock
from server.dispatch import Router
from server.dispatch.filters import Keyword, bound
from server.models.people import Member
from server.services.study.checkin import check_in
from server.services.study.points import PointsRules

router = Router("checkin")
router.help("打卡", "每日学习打卡", visible=bound, order=10)


@router.message(Keyword("打卡", "每日打卡", "今日打卡", "checkin"), bound)
async def daily_check_in(member: Member, clock: Clock, points_rules: PointsRules) -> str:
    result = await check_in(member, clock.today(), points_rules)
    if not result.first_today:
        return (
            f"您今天已经打过卡啦，已连续打卡 {result.streak} 天，明天再来哦！\n"
            "回复 今日学习 看看今天的学习内容。"
        )
    earned = ""
    if points_rules.enabled:
        earned = (
            f"今日积分 +{result.points_awarded}（今天共 {result.points_today} 分）\n"
            if result.points_awarded
            else f"今天的积分已满（共 {result.points_today} 分）\n"
        )
    return (
        f"打卡成功！已连续打卡 {result.streak} 天，本月打卡 {result.month_days} 天。\n"
        f"{earned}回复 今日学习 阅读今天的学习内容。"
    )
