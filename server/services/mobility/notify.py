"""Telling the people of 流动党员 what the branch did: the words, and who hears them.

Through the 四单制's outbox (`community.outbox`): each message a row keyed by what it tells and
to whom, so a step done twice (a retried request, 确认 sent again) writes no second copy, and
one due in the quiet hours waits for the morning.  Written right after the step commits (the
record's services are shared with the API and the command line, which tell nobody), then the
sender is woken.  Only the people concerned hear anything: the branch's leaders of a report,
the reporter of the decision, the member of their own 流出 — nothing public, no 通报.

A 流入 reporter is no member until confirmed: they are reached by the WeChat user they
reported from, as residents are.  Like every customer-service message these reach only those
who wrote within 48 hours (then the official account's template, with the `Gist`); nothing
depends on them — the branch sees 流入审核, the member 我的.
"""

from __future__ import annotations

from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient

from server.models.mobility import FlowStatus, MobileMember
from server.models.people import Member, Organisation
from server.services.community.notify import Tidings
from server.services.community.outbox import Gist, Letter
from server.services.community.wording import short
from server.services.mobility.who import address, leaders_of

__all__ = ["Tidings", "incoming_decided", "incoming_reported", "marked_out"]

# What a confirmed 流入 member may do here, and what they may not (the same words in the reply).
INCOMING_RIGHTS = (
    "可以使用打卡、学习、心得、会议等功能；在本支部参加组织生活，不参加表决和选举"
    "（表决权、选举权和被选举权在组织关系所在党组织行使）。"
)


async def _to_member(
    member: Member, key: str, kind: str, says: tuple[str, Gist], using_db: BaseDBAsyncClient | None
) -> list[tuple[str, Letter]]:
    identity = await address(member.id, using_db)
    if identity is None:
        return []  # never bound: sees it in chat when they ask, or on the dashboard
    full = f"{key}:member:{member.id}"
    return [(member.name, Letter(full, kind, identity.appid, identity.openid, *says))]


async def incoming_reported(
    t: Tidings, record: MobileMember, now: datetime, using_db: BaseDBAsyncClient | None = None
) -> int:
    """流入 报到: the branch's leaders are asked to confirm (the phone is in 流入审核 only)."""
    branch = await Organisation.get(id=record.branch_id, using_db=using_db)
    text = (
        f"【流入报到】{record.name}（组织关系在{short(record.other_org, 40)}）"
        f"报到到{branch.name}，居住或工作在{short(record.place, 30)}，"
        f"流动原因：{record.reason.value}。\n"
        f"核实后请回复：确认流入 {record.id}\n"
        f"不确认请回复：不确认流入 {record.id} 原因\n"
        "回复 流入审核 查看联系电话和详细情况。"
    )
    gist = Gist("流入报到", f"{record.name}报到到{branch.name}，请核实", record.created_at)
    to: list[tuple[str, Letter]] = []
    for leader in await leaders_of(branch.id, using_db):
        key = f"mobile:{record.id}:reported"
        to += await _to_member(leader, key, "mobile_reported", (text, gist), using_db)
    return await t.post("mobile_reported", to, now, using_db)


async def incoming_decided(
    t: Tidings, record: MobileMember, now: datetime, using_db: BaseDBAsyncClient | None = None
) -> int:
    """确认流入 / 不确认流入: the WeChat user who reported hears the branch's answer."""
    if not (record.appid and record.openid):
        return 0
    branch = await Organisation.get(id=record.branch_id, using_db=using_db)
    if record.status == FlowStatus.ACTIVE:
        text = (
            f"{branch.name}已确认您的流入报到，您已是本支部的流入党员，{INCOMING_RIGHTS}\n"
            "回复 帮助 查看可以做的事。"
        )
        gist = Gist("流入确认", f"{branch.name}已确认您的流入报到")
    else:
        text = (
            f"您的流入报到{branch.name}暂未确认，原因：{record.refuse_reason}\n"
            "如有疑问请联系该支部；信息有误可以重新发送 流入报到。"
        )
        gist = Gist("流入未确认", f"未确认：{short(record.refuse_reason, 14)}")
    letter = Letter(
        f"mobile:{record.id}:decided", "mobile_decided", record.appid, record.openid, text, gist
    )
    return await t.post("mobile_decided", [(record.name, letter)], now, using_db)


async def incoming_ended(
    t: Tidings,
    record: MobileMember,
    member: Member,
    now: datetime,
    using_db: BaseDBAsyncClient | None = None,
) -> int:
    """结束流动 of a 流入 member: they hear it, and where their organisational life goes on."""
    branch = await Organisation.get(id=record.branch_id, using_db=using_db)
    text = (
        f"【流入党员】{branch.name}已结束您的流入党员记录（{short(record.end_note, 40)}），"
        f"感谢您在本支部参加组织生活。请继续在组织关系所在党组织（{short(record.other_org, 30)}）"
        "参加组织生活；到了新的地方，可向当地党组织流入报到。"
    )
    gist = Gist("流入结束", f"{branch.name}已结束您的流入党员记录")
    key = f"mobile:{record.id}:in-ended"
    to = await _to_member(member, key, "mobile_in_ended", (text, gist), using_db)
    return await t.post("mobile_in_ended", to, now, using_db)


async def marked_out(
    t: Tidings,
    record: MobileMember,
    member: Member,
    keeper: Member | None,
    now: datetime,
    using_db: BaseDBAsyncClient | None = None,
) -> int:
    """流出: the member hears who keeps in touch, that the branch's notices keep reaching them
    (to join online or send a 心得), and that they report once a year."""
    kept = (
        f"您的联系人是{keeper.name}，会定期与您联系。"
        if keeper is not None
        else "支部会指定一位联系人与您保持联系。"
    )
    text = (
        f"【流动党员】支部已将您登记为流出党员（去向：{short(record.place, 30)}）。{kept}\n"
        "支部的会议通知和学习内容会照常发给您：可以线上参会，或围绕会议主题提交心得代替；"
        "打卡、学习也照常使用。\n"
        "每年请回复 年度报告，告诉支部您在哪里参加组织生活、党费交纳情况。"
        "回复 我的 可以看到支部记录的情况。"
    )
    note = f"联系人：{keeper.name}；每年回复 年度报告" if keeper else "每年请回复 年度报告"
    gist = Gist("流动党员", note)
    key = f"mobile:{record.id}:out"
    to = await _to_member(member, key, "mobile_out", (text, gist), using_db)
    return await t.post("mobile_out", to, now, using_db)
