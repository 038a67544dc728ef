"""The branch's review of a 心得, and telling its author: approve or return it, then a
customer-service message in the same words whichever door the reviewer came through (chat or
the API).  Transports call `approve` / `send_back`; neither sends the notice itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from server.models.people import Member
from server.models.study import Submission
from server.services.delivery.messenger import Clients, tell
from server.services.study import submissions
from server.services.study.points import PointsRules


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
    if await tell(s.member_id, text, clients):
        await submissions.mark_notified(s, now)
        return True
    return False


@dataclass(frozen=True)
class Reviewed:
    submission: Submission
    points: int  # what the approval earned the author: theirs, not the reviewer's to see
    notified: bool  # False: outside the author's 48-hour window; they see it in 我的心得
    attended: bool = False  # a 流动党员's meeting 心得: they now count as having taken part


async def approve(
    reviewer: Member, number: int, now: datetime, today: date, rules: PointsRules, clients: Clients
) -> Reviewed:
    approval = await submissions.approve(reviewer, number, now, today, rules)
    s = approval.submission
    text = approved_text(s, approval.points)
    if approval.attended:
        text += f"已记为您以心得参加编号 {s.meeting_id} 的会议。"
    told = await tell_author(s, text, now, clients)
    return Reviewed(s, approval.points, told, approval.attended)


async def send_back(
    reviewer: Member, number: int, reason: str, now: datetime, clients: Clients
) -> Reviewed:
    s = await submissions.return_for_revision(reviewer, number, reason, now)
    return Reviewed(s, 0, await tell_author(s, returned_text(s), now, clients))
