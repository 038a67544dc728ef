"""Keeping in touch: the contact log (联系 姓名 内容), 党费 received (交至 a month), and a 流出
member's own yearly report (年度报告), which fills the 流动党员活动证's yearly review."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from tortoise.exceptions import IntegrityError

from server.errors import Conflict, NotFound, ValidationFailed
from server.models.mobility import DuesPaid, MobileContact, YearlyReport
from server.models.people import Member
from server.services.mobility.outgoing import open_record
from server.services.mobility.who import require_contact_keeper, require_keeper
from server.services.mobility.words import CHANNELS, check_text, split_leading

# The three answers the 活动证 records, and the words members say them with.
DUES_ANSWERS = {
    "已交清": "已交清",
    "已交": "已交清",
    "交清": "已交清",
    "交了": "已交清",
    "交清了": "已交清",
    "都交了": "已交清",
    "全交了": "已交清",
    "交齐了": "已交清",
    "已交齐": "已交清",
    "是": "已交清",
    "部分": "部分交纳",
    "部分交纳": "部分交纳",
    "交了一部分": "部分交纳",
    "交了部分": "部分交纳",
    "部分交了": "部分交纳",
    "只交了一部分": "部分交纳",
    "未交": "未交",
    "没交": "未交",
    "没交过": "未交",
    "还没交": "未交",
    "没有交": "未交",
    "否": "未交",
}
CONTACT_EXAMPLE = "联系 张三 电话 了解近况，提醒按时交纳党费"


async def log_contact(
    actor: Member | None,
    target: Member,
    text: str,
    today: date,
    now: datetime,
    *,
    channel: str | None = None,
    day: date | None = None,
) -> MobileContact:
    """One contact, dated today unless said; `text` may begin with the way (电话 …)."""
    await require_contact_keeper(actor, target)
    if channel is None:
        channel, text = split_leading(text, CHANNELS, "微信")
    elif channel not in CHANNELS:
        raise ValidationFailed(f"联系方式请写：{'、'.join(CHANNELS)}。", field="channel")
    note = check_text(text, "note", 500, CONTACT_EXAMPLE)
    if day is not None and day > today:
        raise ValidationFailed("联系日期不能晚于今天。", field="day")
    return await MobileContact.create(
        member_id=target.id,
        day=day or today,
        channel=channel,
        note=note,
        by_id=actor.id if actor else None,
        created_at=now.astimezone(UTC),
    )


async def record_dues(
    actor: Member | None,
    target: Member,
    through: date,
    today: date,
    now: datetime,
    amount: Decimal | None = None,
) -> DuesPaid:
    """党费 received up to and including the month of `through`; the same month twice is one."""
    await require_keeper(actor, target)
    through = through.replace(day=1)
    if through > today.replace(day=1).replace(year=today.year + 1):
        raise ValidationFailed("最多预交到明年同月。", field="through")
    if amount is not None and not Decimal(0) <= amount <= Decimal(100000):
        raise ValidationFailed("金额应在 0 到 100000 元之间。", field="amount")
    try:
        return await DuesPaid.create(
            member_id=target.id,
            day=today,
            through=through,
            amount=amount,
            by_id=actor.id if actor else None,
            created_at=now.astimezone(UTC),
        )
    except IntegrityError:
        raise Conflict(
            f"{target.name}交至{through.year}年{through.month}月的党费已经登记过了。",
            code="DUES_EXISTS",
        ) from None


async def yearly_report(
    member: Member, year: int, org_life: str, dues: str, dues_where: str, now: datetime
) -> YearlyReport:
    """年度报告: a 流出 member says where they took part in 组织生活 this year and how their
    党费 stand.  Sent again the same year, the newer answer replaces the older."""
    if await open_record(member.id) is None or member.incoming:
        raise NotFound("年度报告是流出党员向所在支部报告的，您没有登记为流出党员。")
    org_life = check_text(org_life, "org_life", 300, "在苏州XX公司党支部参加组织生活")
    answer = DUES_ANSWERS.get(dues.strip())
    if answer is None:
        raise ValidationFailed("党费情况请回复：已交清、部分交纳 或 未交。", field="dues")
    values = {
        "org_life": org_life,
        "dues": answer,
        "dues_where": " ".join(dues_where.split())[:100],
        "updated_at": now.astimezone(UTC),
    }
    report, created = await YearlyReport.get_or_create(
        member_id=member.id, year=year, defaults={**values, "created_at": now.astimezone(UTC)}
    )
    if not created:
        await YearlyReport.filter(id=report.id).update(**values)
        await report.refresh_from_db()
    return report
