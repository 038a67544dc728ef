"""五张清单, as the committee keeps them: 白辉 (党工委工作人员) writes the year's items with their
问题、任务、责任人、措施、时限 and the branches they concern; the 责任人 records progress and
evidence; the state is read from the deadline and what was recorded (未开始, 推进中, 已完成,
已逾期) and 临期 flags what is due within 7 days; a person declares an item done with a note, and
reopening is logged; the year's unfinished items are carried into the next once, each linked to
its original; the committee's table downloads in its own shape.

Next to each, the hostile: an empty 问题, a 时限 in the past, another street's member as 责任人 —
refused, naming the field, nothing written; a branch reads what concerns it and changes nothing.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from server.db import close_database, open_database
from server.errors import Conflict, PermissionDenied, ValidationFailed
from server.models.duty_lists import DutyFile, DutyItem, DutyLink, DutyNote, DutySource, NoteKind
from server.services.duty_lists import carry, items, reading, who
from server.services.duty_lists.export import COLUMNS, workbook
from server.services.duty_lists.items import Attachment
from server.services.duty_lists.reading import Filters
from server.services.duty_lists.status import State
from server.services.people.access import Hidden
from tests.conftest import migrated
from tests.duty_lists_helpers import NOW, TODAY, draft, make_item, street

LATER = NOW + timedelta(days=1)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[None]:
    await open_database(migrated(tmp_path / "duty.sqlite3"))
    yield
    await close_database()


async def test_staff_write_items_and_the_states_follow_the_records(db: None) -> None:
    s = await street()
    ledger = await make_item(s, owner_id=s.owner.id, links=[s.one.id])
    study = await make_item(
        s, problem="党员学习形式单一", task="丰富组织学习形式", measures="每季度一次现场教学",
        deadline=date(2026, 11, 30), owner_org_id=s.east.id, links=[s.east.id],
        source=DutySource.SELF,
    )  # fmt: skip
    venue = await make_item(
        s, problem="西社区阵地设施陈旧", task="改造党群服务站", measures="申请资金，12月完工",
        deadline=date(2027, 3, 31), owner_org_id=s.west.id, links=[s.west.id],
    )  # fmt: skip
    assert await DutyItem.all().count() == 3
    assert {link.organisation_id for link in await DutyLink.filter(item_id=ledger.id)} == {s.one.id}

    found = {line.item.id: line for line in await reading.lines(s.staff, TODAY)}
    assert [found[i.id].state for i in (ledger, study, venue)] == [State.NOT_STARTED] * 3
    assert found[study.id].at_risk and not found[ledger.id].at_risk  # due in 5 days
    assert found[study.id].owner == "东社区党总支书记"
    assert found[ledger.id].owner == "陈委员（东社区第一党支部）"

    # The 责任人 records progress; the 总支's secretary answers for the organisation named.
    await items.add_note(s.owner, ledger, "已检查3个支部台账", NOW, TODAY)
    await items.add_note(
        s.east_secretary, study, "开展现场教学一次", NOW, TODAY,
        link="https://example.org/news/1",
        file=Attachment("签到表.pdf", "application/pdf", b"%PDF-1.4 sign-in"),
    )  # fmt: skip
    note = await DutyNote.get(item_id=study.id)
    assert note.kind is NoteKind.EVIDENCE and note.by_id == s.east_secretary.id
    assert (await DutyFile.get(note_id=note.id)).name == "签到表.pdf"

    # A person declares done, with what was done; reopening is logged with its reason.
    await items.complete(s.staff, study, "现场教学已开展，材料齐全", LATER, TODAY)
    with pytest.raises(Conflict):
        await items.complete(s.staff, study, "再点一次", LATER, TODAY)
    found = {line.item.id: line for line in await reading.lines(s.staff, TODAY)}
    assert found[ledger.id].state is State.UNDER_WAY
    assert found[study.id].state is State.DONE and not found[study.id].at_risk
    await items.reopen(s.staff, study, "材料缺少会议记录", LATER, TODAY)
    kinds = await DutyNote.filter(item_id=study.id).order_by("id").values_list("kind", flat=True)
    assert list(kinds) == [NoteKind.EVIDENCE, NoteKind.DONE, NoteKind.REOPEN]
    reopened = await DutyNote.get(item_id=study.id, kind=NoteKind.REOPEN)
    assert reopened.by_id == s.staff.id and reopened.text == "材料缺少会议记录"

    # December: the reopened item passed its deadline; the counts say so, each by its rows.
    december = date(2026, 12, 1)
    seen = await reading.lines(s.staff, december)
    counts = reading.counts(seen, december)
    assert (counts.total, counts.done, counts.under_way, counts.late, counts.not_started) == (
        3, 0, 1, 1, 1,
    )  # fmt: skip
    late = await reading.lines(s.staff, december, Filters(state="late"))
    assert [line.item.id for line in late] == [study.id]
    assert [line.left for line in late] == ["已超期 1 天"]
    risky = await reading.lines(s.staff, date(2026, 12, 25), Filters(state="at_risk"))
    assert [line.item.id for line in risky] == [ledger.id]


async def test_hostile_items_are_refused_naming_the_field_and_nothing_is_written(
    db: None,
) -> None:
    s = await street()
    refused = {
        "problem": draft(problem="   ", owner_id=s.owner.id),
        "deadline": draft(deadline=TODAY - timedelta(days=1), owner_id=s.owner.id),
        "owner": draft(owner_id=s.stranger.id),
        "links": draft(owner_id=s.owner.id, links=[s.stranger.organisation_id]),
        "measures": draft(measures="措" * 1001, owner_id=s.owner.id),
    }
    for field, wrong in refused.items():
        with pytest.raises(ValidationFailed) as caught:
            await items.create(s.staff, s.committee, wrong, NOW, TODAY)
        assert caught.value.field == field, (field, caught.value)
    with pytest.raises(ValidationFailed) as both:
        await items.create(
            s.staff, s.committee, draft(owner_id=s.owner.id, owner_org_id=s.one.id), NOW, TODAY
        )
    assert both.value.field == "owner"
    # A secretary keeps no list: refused before anything is read.
    with pytest.raises(PermissionDenied):
        await items.create(s.one_secretary, s.committee, draft(owner_id=s.owner.id), NOW, TODAY)
    assert await DutyItem.all().count() == 0 and await DutyNote.all().count() == 0


async def test_a_branch_reads_what_concerns_it_and_changes_nothing(db: None) -> None:
    s = await street()
    east_item = await make_item(s, owner_org_id=s.east.id, links=[s.east.id])
    west_item = await make_item(s, owner_org_id=s.west.id, links=[s.west.id])
    mine = [line.item.id for line in await reading.lines(s.one_secretary, TODAY)]
    assert mine == [east_item.id]  # linked to the 总支 above the branch
    assert [line.item.id for line in await reading.lines(s.west_secretary, TODAY)] == [west_item.id]
    assert [line.item.id for line in await reading.lines(s.plain, TODAY)] == []
    with pytest.raises(Hidden):
        await who.readable(s.one_secretary, west_item.id)
    # Reading is not writing: progress is the 责任人's (the 总支's secretary), done the staff's.
    with pytest.raises(PermissionDenied):
        await items.add_note(s.one_secretary, east_item, "我来补充", NOW, TODAY)
    with pytest.raises(PermissionDenied):
        await items.complete(s.east_secretary, east_item, "我们做完了", NOW, TODAY)
    # A hostile note: empty, a link that is not a web address.
    with pytest.raises(ValidationFailed) as empty:
        await items.add_note(s.east_secretary, east_item, " ", NOW, TODAY)
    assert empty.value.field == "note"
    with pytest.raises(ValidationFailed) as link:
        await items.add_note(s.east_secretary, east_item, "材料", NOW, TODAY, link="javascript:x")
    assert link.value.field == "link"
    assert await DutyNote.all().count() == 0
    # The staff edit: what changed is recorded, who and when.
    edited = items.Draft(**{**draft().__dict__, "deadline": date(2027, 1, 15)})
    edited.owner_org_id, edited.links = s.east.id, [s.east.id, s.one.id]
    changed = await items.edit(s.staff, east_item, edited, NOW, TODAY)
    assert any(c.startswith("时限由「2026年12月31日」改为「2027年1月15日」") for c in changed)
    note = await DutyNote.get(item_id=east_item.id, kind=NoteKind.EDIT)
    assert note.by_id == s.staff.id and "涉及组织" in note.text


async def test_the_unfinished_are_carried_into_the_next_year_once(db: None) -> None:
    s = await street()
    done = await make_item(s, owner_id=s.owner.id)
    open_one = await make_item(s, owner_org_id=s.west.id, links=[s.west.id], task="改造阵地")
    await items.complete(s.staff, done, "已完成", NOW, TODAY)
    january = date(2027, 1, 4)
    with pytest.raises(ValidationFailed) as wrong_year:
        await carry.carry_over(s.staff, s.committee, 2026, date(2028, 6, 30), NOW, january)
    assert wrong_year.value.field == "deadline"
    with pytest.raises(PermissionDenied):
        await carry.carry_over(s.west_secretary, s.committee, 2026, date(2027, 6, 30), NOW, january)
    made = await carry.carry_over(s.staff, s.committee, 2026, date(2027, 6, 30), NOW, january)
    assert [m.carried_from_id for m in made] == [open_one.id]
    copy = made[0]
    assert (copy.year, copy.task, copy.owner_org_id) == (2027, "改造阵地", s.west.id)
    assert {link.organisation_id for link in await DutyLink.filter(item_id=copy.id)} == {s.west.id}
    assert (
        f"结转至2027年第 {copy.id} 项"
        in (await DutyNote.get(item_id=open_one.id, kind=NoteKind.CARRIED)).text
    )
    # Again: nothing more.
    assert await carry.carry_over(s.staff, s.committee, 2026, date(2027, 6, 30), NOW, january) == []
    assert await DutyItem.filter(year=2027).count() == 1
    lines = {line.item.id: line for line in await reading.lines(s.staff, january)}
    assert lines[open_one.id].carried_to == copy.id
    # The owner's own list shows the copy, not the original as well.
    mine = await reading.my_lines(s.west_secretary, january)
    assert [line.item.id for line in mine] == [copy.id]


async def test_the_export_is_the_committees_table(db: None) -> None:
    s = await street()
    first = await make_item(s, owner_id=s.owner.id, deadline=date(2026, 12, 1))
    second = await make_item(s, owner_org_id=s.east.id, task='=HYPERLINK("x")')
    await items.add_note(s.owner, first, "已检查3个支部", NOW, TODAY)
    await items.complete(s.staff, second, "已完成培训", NOW, TODAY)
    lines = await reading.lines(s.staff, TODAY, Filters(year=2026))
    body = await workbook("示范街道党工委2026年度五张清单", "2026年度", lines, TODAY)
    sheet = openpyxl.load_workbook(io.BytesIO(body)).active
    assert sheet is not None
    header = [c.value for c in sheet[3]]
    assert header == ["序号", "问题", "任务", "责任人", "措施", "时限", "进展情况", "完成情况"]
    assert [c.name for c in COLUMNS] == header
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=4)]
    assert [r[0] for r in rows] == ["1", "2"]
    assert rows[0][3] == "陈委员（东社区第一党支部）" and rows[0][5] == "2026年12月1日"
    assert rows[0][6] == "11月25日：已检查3个支部" and rows[0][7] == "推进中（还有 6 天）"
    assert rows[1][2] == '=HYPERLINK("x")' and sheet.cell(5, 3).data_type == "s"
    assert rows[1][7] == "已完成（2026年11月25日）：已完成培训"
    assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.paperSize == 9
    assert sheet.print_title_rows == "$3:$3"


async def test_the_demo_street_has_a_year_of_items_in_every_state(db: None) -> None:
    from server.services.demo.duty_lists import ITEMS, seed_duty_lists
    from server.services.demo.street import seed_demo

    await seed_demo(today=TODAY)
    zone = ZoneInfo("Asia/Shanghai")
    report = await seed_duty_lists(TODAY, zone)
    assert report.written == len(ITEMS) and report.counts is not None
    c = report.counts
    assert (c.total, c.done, c.late, c.at_risk) == (8, 1, 1, 2), c
    assert "五张清单：2026年 8 项（已完成 1" in report.summary()
    again = await seed_duty_lists(TODAY, zone)
    assert again.written == 0 and await DutyItem.all().count() == 8
    # Every item has a 责任人 who is told: an organisation of the street with its secretary.
    for item in await DutyItem.all():
        assert item.owner_org_id is not None and await who.owners_of(item), item.task
