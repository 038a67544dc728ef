"""Telling a member what became of their 心得: the same words from chat and from the API."""

from __future__ import annotations

from datetime import datetime

from server.models.study import Submission
from server.services.delivery.messenger import Clients, tell
from server.services.study import submissions


def _day(s: Submission) -> str:
    return f"{s.day.month}月{s.day.day}日"


def approved_text(s: Submission, points: int) -> str:
    earned = f"，您获得积分 +{points}" if points else ""
    return f"您 {_day(s)} 提交的心得（编号 {s.id}）已通过支部审核{earned}。感谢您的分享！"


def returned_text(s: Submission) -> str:
    return (
        f"您 {_day(s)} 提交的心得（编号 {s.id}）被支部退回，原因：{s.return_reason}\n"
        "修改后可以回复 写心得 重新提交。"
    )


async def tell_author(s: Submission, text: str, now: datetime, clients: Clients) -> bool:
    """A customer-service message, recorded once WeChat accepts it.  False: the member's
    48-hour window is shut; they see the result in 我的心得."""
    if await tell(s.member_id, text, clients):  # type: ignore[attr-defined]
        await submissions.mark_notified(s, now)
        return True
    return False
