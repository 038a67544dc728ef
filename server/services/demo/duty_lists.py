"""The demo street's 五张清单: a year of the committee's duty items, in every state — one done,
one late with progress recorded, two due within the week, the rest ahead — so the list, its
counts, the reminders and the export have something to show.

Written once (nothing if the committee has any item).  The deadlines are set around `today`,
and items already past are written as the record would hold them (made earlier in the year),
not through `items.create`, which refuses a 时限 before today.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from server.models.duty_lists import DutyItem, DutyLink, DutyNote, DutySource, NoteKind
from server.models.people import Member, MemberStatus, Organisation, OrgKind, Role
from server.services.duty_lists import reading, who
from server.services.duty_lists.status import Counts

# (来源, 问题, 任务, 措施, days from today to the 时限, progress recorded, done)
ITEMS = (
    (DutySource.ABOVE, "部分支部“三会一课”记录不完整，会议主题不够聚焦", "规范“三会一课”台账",
     "按季度检查各支部会议记录，问题逐支部反馈，限期补齐", -40, True, True),
    (DutySource.INSPECTION, "发展党员个别环节材料不齐全", "规范发展党员工作程序",
     "逐份核查近三年发展党员档案，补齐缺漏材料，建立审核台账", -5, True, False),
    (DutySource.SURVEY, "与流出党员联系不够经常", "落实流动党员定期联系",
     "每名流出党员明确联系人，按约定周期联系并记录", 3, True, False),
    (DutySource.PEOPLE, "党群服务站开放时间与居民作息不合", "调整党群服务站开放时间",
     "征求居民意见，增设周末和晚间开放时段", 6, False, False),
    (DutySource.SELF, "班子成员联系支部、指导工作不够具体", "落实班子成员联系支部制度",
     "每名班子成员联系一至两个支部，每季度至少参加一次支部组织生活", 30, False, False),
    (DutySource.SELF, "党员教育形式较为单一", "丰富党员教育方式",
     "开展现场教学、专题党课，请老党员讲身边的党史故事", 60, True, False),
    (DutySource.ABOVE, "党费收缴台账不够规范", "规范党费收缴管理",
     "按月收缴、按季公示，建立收缴台账", 90, False, False),
    (DutySource.PEOPLE, "老旧小区停车难、环境卫生问题反映集中", "以党建引领推动小区治理",
     "组织双报到党员参加议事协商，推动停车和环境整治", 120, False, False),
)  # fmt: skip
PROGRESS = "已召开专题会议部署，正在逐支部推进。"
DONE = "各支部台账已按要求补齐，经党工委抽查合格。"


@dataclass
class DutyReport:
    today: date
    written: int = 0
    counts: Counts | None = None

    def summary(self) -> str:
        c = self.counts
        if c is None:
            return "五张清单：没有党工委，未写入。"
        return (
            f"五张清单：{self.today.year}年 {c.total} 项（已完成 {c.done}，推进中 {c.under_way}，"
            f"未开始 {c.not_started}，已逾期 {c.late}，临期 {c.at_risk}）。"
        )


def _at(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(10, 0), zone)


async def seed_duty_lists(today: date, zone: ZoneInfo) -> DutyReport:
    report = DutyReport(today)
    committee = await Organisation.filter(kind=OrgKind.COMMITTEE).order_by("id").first()
    if committee is None:
        return report
    staff = (
        await Member.filter(
            organisation_id=committee.id, role=Role.STAFF, status=MemberStatus.ACTIVE
        )
        .order_by("id")
        .first()
    )
    if not await DutyItem.exists(committee_id=committee.id):
        owners = await Organisation.filter(
            kind__in=[OrgKind.GENERAL_BRANCH, OrgKind.BRANCH], path__startswith=committee.path + "/"
        ).order_by("path")
        async with in_transaction():
            for n, (source, problem, task, measures, days, progressed, done) in enumerate(ITEMS):
                report.written += await _write(
                    committee, staff, owners[n % len(owners)] if owners else None, today, zone,
                    source, problem, task, measures, days, progressed, done,
                )  # fmt: skip
    if staff is not None:
        found = await reading.lines(staff, today, reading.Filters(year=today.year))
        report.counts = reading.counts(found, today)
    return report


async def _write(
    committee: Organisation,
    staff: Member | None,
    owner: Organisation | None,
    today: date,
    zone: ZoneInfo,
    source: DutySource,
    problem: str,
    task: str,
    measures: str,
    days: int,
    progressed: bool,
    done: bool,
) -> int:
    deadline = today + timedelta(days=days)
    made_on = min(today, deadline) - timedelta(days=60)
    item = await DutyItem.create(
        committee_id=committee.id, year=today.year, source=source, problem=problem, task=task,
        measures=measures, deadline=deadline, owner_org_id=owner.id if owner else None,
        owner_id=None if owner else staff.id if staff else None,
        created_by_id=staff.id if staff else None, created_at=_at(made_on, zone),
        completed_on=deadline - timedelta(days=3) if done else None,
        completed_by_id=staff.id if staff and done else None,
    )  # fmt: skip
    if owner is not None:
        await DutyLink.create(item_id=item.id, organisation_id=owner.id)
    if progressed:
        answering = await who.answerers(owner.id) if owner else []
        by = answering[0].id if answering else None
        day = made_on + timedelta(days=20)
        await DutyNote.create(
            item_id=item.id, kind=NoteKind.PROGRESS, day=day, text=PROGRESS, by_id=by,
            at=_at(day, zone),
        )  # fmt: skip
    if done and item.completed_on is not None:
        await DutyNote.create(
            item_id=item.id, kind=NoteKind.DONE, day=item.completed_on, text=DONE,
            by_id=staff.id if staff else None, at=_at(item.completed_on, zone),
        )  # fmt: skip
    return 1
