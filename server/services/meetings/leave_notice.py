"""Telling people about a leave request: the deciders when it is asked, the member when decided.

The same words from chat and from the API.  Each is a customer-service message, which reaches
a member only inside WeChat's 48-hour window; when it cannot, nothing is lost: the deciders see
the request in 待办 and the member sees the decision in 会议 N.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from server.clock import when_text
from server.models.meetings import Meeting
from server.models.people import Member
from server.services.delivery.messenger import Clients, tell
from server.services.meetings.attendance import LeaveDecision, deciders, roster_handle


def _meeting(meeting: Meeting, zone: ZoneInfo) -> str:
    return f"编号 {meeting.id} 的{meeting.kind}（{when_text(meeting.starts_at, zone)}）"


async def request_text(meeting: Meeting, member: Member, reason: str, zone: ZoneInfo) -> str:
    handle = await roster_handle(meeting, member)
    return (
        f"【请假申请】{member.name}申请不参加{_meeting(meeting, zone)}，原因：{reason}\n"
        f"批准请回复：准假 {meeting.id} {handle}\n"
        f"不批准请回复：不准假 {meeting.id} {handle} 原因"
    )


def decision_text(decision: LeaveDecision, zone: ZoneInfo) -> str:
    what = _meeting(decision.meeting, zone)
    if decision.granted:
        return f"您请假不参加{what}的申请已获批准。"
    return (
        f"您请假不参加{what}的申请未获批准，原因：{decision.why}\n"
        "请按时参加；确有困难，请当面或电话联系支部书记。"
    )


async def tell_deciders(
    meeting: Meeting, text: str, clients: Clients
) -> tuple[list[str], list[str]]:
    """(the names of those told, the names of those who could not be reached now)."""
    told: list[str] = []
    waiting: list[str] = []
    for who in await deciders(meeting):
        (told if await tell(who.id, text, clients) else waiting).append(who.name)
    return told, waiting


def asked_reply(meeting: Meeting, again: bool, told: list[str], waiting: list[str]) -> str:
    """What the member reads after 请假: that it is a request, and who has heard of it."""
    head = "已更新请假原因" if again else "已提交请假申请"
    reply = f"{head}（编号 {meeting.id} 的{meeting.kind}），待批。"
    if told:
        reply += f"已通知{'、'.join(told)}，批准与否会告诉您。"
    if waiting:
        reply += f"{'、'.join(waiting)}暂时收不到推送，会在「待办」中看到您的申请。"
    if not told and not waiting:
        reply += "本支部暂无书记，请当面告知会议主持人。"
    return reply + f"\n想撤回，请在会议开始前回复：撤销请假 {meeting.id}"


async def tell_member(decision: LeaveDecision, zone: ZoneInfo, clients: Clients) -> bool:
    return await tell(decision.row.member_id, decision_text(decision, zone), clients)
