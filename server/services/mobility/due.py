"""What a branch has to do for each member it keeps in touch with, in words: the list's and
the dashboard's to-dos, gentle reminders — never a 通报, never a ranking."""

from __future__ import annotations

from datetime import date

from server.models.mobility import Direction, LostStage
from server.services.mobility.lost import removal_due_on
from server.services.mobility.standing import Standing


def todo(s: Standing, today: date) -> list[str]:
    """The to-dos for one member, in the order they matter."""
    out = []
    if s.contact_due(today) and s.due_on is not None:
        out.append(f"该联系了（{s.due_on:%Y-%m-%d} 起）：联系后记下日期、方式和内容")
    if s.possibly_lost:
        out.append("半年以上没有音讯，请支部研究：先设法联系，联系不上的开始查找（可能失联）")
    if s.case is not None and s.case.stage == LostStage.SEARCHING:
        out.append("查找中：每次查找都记下日期和经过")
    if s.case is not None and (due := removal_due_on(s.case)) is not None and due <= today:
        out.append("停止党籍已满两年仍无联系：请按程序办理除名（按自行脱党处理）")
    record = s.record
    if record is not None and record.direction == Direction.OUT and record.keeper_id is None:
        # Someone of the branch keeps in touch with each: without one, nobody is reminded.
        out.append(f"未指定联系人：发送 联系人 {s.member.name} 联系人姓名")
    return out
