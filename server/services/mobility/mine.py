"""我的, for a member the branch keeps in touch with: their own 流动 record as the branch keeps
it — where, since when, their 联系人, the last contact, this year's 年度报告.  Only their own."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from server.models.mobility import MobileContact, MobileMember, YearlyReport
from server.models.people import Member
from server.services.mobility.outgoing import open_record


@dataclass(frozen=True)
class MyMobility:
    record: MobileMember
    keeper: str | None  # the 联系人's name
    last_contact: date | None
    report: YearlyReport | None  # this year's


async def my_mobility(member: Member, year: int) -> MyMobility | None:
    record = await open_record(member.id)
    if record is None:
        return None
    keeper = await Member.get_or_none(id=record.keeper_id) if record.keeper_id else None
    last = await MobileContact.filter(member_id=member.id).order_by("-day", "-id").first()
    report = await YearlyReport.get_or_none(member_id=member.id, year=year)
    return MyMobility(record, keeper.name if keeper else None, last.day if last else None, report)
