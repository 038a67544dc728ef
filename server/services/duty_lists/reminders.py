"""The 责任人's reminders: 7 days before the deadline, 1 day before (or on the day), and once
when it has passed — each to the people who answer for the item, nobody else, never a list
sent round.  Only the words, the recipients and the keys are here; the scheduler decides when.

A letter's key names the item, the kind, the deadline and the recipient, and the outbox keeps
a key once: a second run of the day, a rerun after a crash, tells nobody twice.  A deadline
moved is a new deadline, told in its turn.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from server.models.duty_lists import DutyItem
from server.models.people import Member
from server.models.people import WeChatIdentity as Identity
from server.services.community.outbox import Gist, Letter
from server.services.community.wording import short
from server.services.duty_lists.who import owners_of

KIND = "duty_item_due"
WEEK, DAY, LATE = "week", "day", "late"
WEEK_BEFORE, DAY_BEFORE = 7, 1


def due_kind(item: DutyItem, today: date) -> str | None:
    """Which reminder the item is due today, if any: the most urgent that applies."""
    if item.completed_on is not None:
        return None
    left = (item.deadline - today).days
    if left < 0:
        return LATE
    if left <= DAY_BEFORE:
        return DAY
    if left <= WEEK_BEFORE:
        return WEEK
    return None


def key(item: DutyItem, kind: str, to: Member) -> str:
    return f"duty:{item.id}:{kind}:{item.deadline:%Y%m%d}:member:{to.id}"


def _day(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def letter(item: DutyItem, kind: str, to: Member, where: Identity, today: date) -> Letter:
    left = (item.deadline - today).days
    when = {
        WEEK: f"将于{_day(item.deadline)}到期（还有 {left} 天）",
        DAY: f"将于{_day(item.deadline)}到期（{'明天' if left == 1 else '今天'}）",
        LATE: f"时限{_day(item.deadline)}已过，尚未标记完成",
    }[kind]
    head = "【清单逾期】" if kind == LATE else "【清单到期提醒】"
    text = (
        f"{head}{to.name}同志，您负责的{item.year}年五张清单第 {item.id} 项{when}：\n"
        f"任务：{short(item.task, 60)}\n"
        f"有进展请发送：清单进展 {item.id} 进展内容；查看全部请发送：我的清单。"
    )
    if kind == LATE:
        text += "\n已经完成的，请把完成情况记上，由街道党工委确认。"
    gist = Gist(
        "清单逾期" if kind == LATE else "清单提醒", f"第{item.id}项：{short(item.task, 40)}"
    )
    return Letter(key(item, kind, to), KIND, where.appid, where.openid, text, gist)


@dataclass(frozen=True)
class Due:
    item: DutyItem
    kind: str
    to: list[Member]


async def due_today(today: date) -> list[Due]:
    """Open items with a reminder due today, and who answers for each."""
    carried = await DutyItem.filter(carried_from_id__not_isnull=True).values_list(
        "carried_from_id", flat=True
    )
    open_items = (
        await DutyItem.filter(completed_on__isnull=True)
        .exclude(id__in=[i for i in carried if i is not None])
        .order_by("id")
    )
    found = []
    for item in open_items:
        kind = due_kind(item, today)
        if kind is not None:
            found.append(Due(item, kind, await owners_of(item)))
    return found
