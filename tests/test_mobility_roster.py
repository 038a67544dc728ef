"""Where the roll and the members' moves meet the 流动党员 records.

A stranger who reported 流入 with someone else's phone is not made that person by the next roll;
a roll calling a stopped 党籍 在册 does not restore it; a member 转出 takes no open 流出 record
along, and a member moved to another branch of the street takes the record and the search with
them.  What the branch no longer keeps is in none of its figures.
"""

from __future__ import annotations

import asyncio
import csv
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from server.channels import Channel
from server.cli import main
from server.db import close_database, open_database
from server.models.mobility import FlowReason, FlowStatus, LostCase, LostStage, MobileMember
from server.models.people import (
    Member,
    MemberChange,
    MemberChangeKind,
    MemberStatus,
    Role,
    WeChatIdentity,
)
from server.services.mobility import counts, incoming, lost, outgoing, standing
from server.services.mobility.outgoing import Outgoing
from server.services.people.importer import ImportReport, import_members
from server.services.people.member_changes import transfer
from server.services.people.orgs import ensure_group, ensure_path
from server.settings import Settings
from tests.conftest import migrated

ZONE = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 3, 2)
NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
STREET = "示范街道党工委"
BRANCH = f"{STREET}/红星村党总支/红星村第一党支部"
OTHER = f"{STREET}/红星村党总支/红星村第二党支部"
PHONE = "13800000001"  # 张三's, the 书记 on the roll


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[None]:
    await open_database(migrated(tmp_path / "t.sqlite3"))
    yield
    await close_database()


def write_csv(path: Path, rows: Sequence[Sequence[Any]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


async def run(path: Path, **kwargs: Any) -> ImportReport:
    return await import_members(path, today=TODAY, now=NOW, **kwargs)


def where(report: ImportReport) -> set[tuple[int, str]]:
    return {(error.line, error.field) for error in report.errors}


async def stranger_reports_in(phone: str = PHONE) -> Member:
    """Someone reports 流入 to the branch with a phone they typed; the branch confirms."""
    branch = await ensure_path(BRANCH)
    told = incoming.Incoming("王某", phone, "安徽省XX村党支部", "", "3栋", FlowReason.WORK)
    record = await incoming.report_in(
        "app", "o-stranger", Channel.OFFICIAL_ACCOUNT, branch, told, TODAY, NOW
    )
    await incoming.decide_in(None, record.id, True, "", NOW)
    return await Member.get(phone=phone)


ROLL_HEADER = ["姓名", "手机号", "所在组织", "职务", "状态"]


# --- 1. a 流入 member's phone on the roll ------------------------------------------------------


async def test_a_stranger_who_reported_in_is_not_made_the_rolls_secretary(
    db: None, tmp_path: Path
) -> None:
    stranger = await stranger_reports_in()
    roll = write_csv(
        tmp_path / "roll.csv",
        [
            ROLL_HEADER,
            ["张三", PHONE, BRANCH, "支部书记", "在册"],
            ["李四", "13800000002", BRANCH, "党员", "在册"],
        ],
    )

    for dry_run in (True, False):
        report = await run(roll, dry_run=dry_run)

        assert where(report) == {(2, "手机号")}
        reason = report.errors[0].reason
        assert "流入党员（王某，红星村第一党支部）" in reason and "结束流动" in reason
        assert "未写入任何数据" in report.summary()
    # All or nothing: the good row is not written either, and the 流入 member is as confirmed.
    assert await Member.all().count() == 1
    after = await Member.get(id=stranger.id)
    assert (after.name, after.role, after.incoming, after.updated_at) == (
        "王某",
        Role.MEMBER,
        True,
        stranger.updated_at,
    )
    assert await WeChatIdentity.filter(member_id=stranger.id).count() == 1


async def test_once_the_branch_ends_the_incoming_the_roll_takes_the_record_without_the_wechat(
    db: None, tmp_path: Path
) -> None:
    stranger = await stranger_reports_in()
    await outgoing.end(None, stranger, "已离开本街道，核实原报到手机号为张三所有", TODAY, NOW)
    roll = write_csv(
        tmp_path / "roll.csv", [ROLL_HEADER, ["张三", PHONE, BRANCH, "支部书记", "在册"]]
    )

    dry = await run(roll, dry_run=True)
    assert dry.errors == [] and dry.incoming_taken == ["张三（第2行）"]
    assert await WeChatIdentity.filter(member_id=stranger.id).count() == 1  # a dry run writes none

    report = await run(roll)

    assert report.errors == [] and report.updated == 1
    zhang = await Member.get(id=stranger.id)
    assert (zhang.name, zhang.role, zhang.status, zhang.incoming) == (
        "张三",
        Role.SECRETARY,
        MemberStatus.ACTIVE,
        False,
    )
    # Whoever reported with the phone is bound to no one; 张三 binds again as any member does.
    assert not await WeChatIdentity.exists(member_id=zhang.id)
    unbound = await MemberChange.get(member_id=zhang.id, kind=MemberChangeKind.UNBIND)
    assert unbound.actor_id is None and "流入" in unbound.reason
    assert "重新绑定" in report.summary()
    # Once taken over, the roll is the roll: nothing more to do.
    again = await run(roll)
    assert again.errors == [] and again.incoming_taken == [] and again.unchanged == 1


# --- 2. 停止党籍 kept against a roll saying 在册 ------------------------------------------------


async def stopped(*phones: str) -> None:
    """As lost.stop leaves a member whose 党籍 a 支部党员大会 stopped."""
    await Member.filter(phone__in=phones).update(status=MemberStatus.STOPPED, is_mobile=False)


async def test_a_roll_saying_active_keeps_a_stopped_membership_and_says_so(
    db: None, tmp_path: Path
) -> None:
    header = ["姓名", "手机号", "所在组织", "状态", "流动党员"]
    first = [["张三", PHONE, BRANCH, "在册", "否"], ["李四", "13800000002", BRANCH, "在册", "否"]]
    await run(write_csv(tmp_path / "first.csv", [header, *first]))
    await stopped(PHONE, "13800000002")
    roll = [
        header,
        ["张三", PHONE, BRANCH, "在册", "是"],
        ["李四", "13800000002", BRANCH, "", "否"],  # 状态 left empty: 在册 too
        ["王五", "13800000003", BRANCH, "在册", "否"],
    ]

    report = await run(write_csv(tmp_path / "roll.csv", roll))

    assert report.errors == [] and report.created == 1
    assert report.stopped_kept == ["张三（第2行）", "李四（第3行）"]
    assert "2 名已停止党籍的党员保持原状态（恢复党籍须按程序办理）" in report.summary()
    kept = await Member.filter(phone__in=[PHONE, "13800000002"]).values_list("status", "is_mobile")
    assert sorted(kept) == [(MemberStatus.STOPPED, False)] * 2
    assert await MobileMember.all().count() == 0  # 是 gives a stopped member no 流出 record

    # A roll without 状态 leaves every status as stored, and has nothing to report.
    plain = [["姓名", "手机号", "所在组织"], ["张三", PHONE, BRANCH]]
    quiet = await run(write_csv(tmp_path / "plain.csv", plain))
    assert quiet.errors == [] and quiet.stopped_kept == []
    assert (await Member.get(phone=PHONE)).status is MemberStatus.STOPPED


async def test_a_roll_cannot_stop_a_membership(db: None, tmp_path: Path) -> None:
    header = ["姓名", "手机号", "所在组织", "状态"]
    roll = [header, ["张三", PHONE, BRANCH, "停止党籍"], ["李四", "13800000002", BRANCH, "在册"]]

    report = await run(write_csv(tmp_path / "roll.csv", roll))

    assert where(report) == {(2, "状态")}
    reason = report.errors[0].reason
    assert "查找" in reason and "支部党员大会" in reason
    assert await Member.all().count() == 0


def test_the_command_prints_the_stopped_members_it_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DANGJIAN_DATA_DIR", str(tmp_path))
    roll = write_csv(
        tmp_path / "roll.csv",
        [["姓名", "手机号", "所在组织", "状态"], ["张三", PHONE, BRANCH, "在册"]],
    )
    assert main(["import-members", str(roll)]) == 0

    async def stop_him() -> None:
        await open_database(Settings(_env_file=None, data_dir=tmp_path).database_url)
        try:
            await stopped(PHONE)
        finally:
            await close_database()

    asyncio.run(stop_him())
    capsys.readouterr()

    assert main(["import-members", str(roll)]) == 0
    out = capsys.readouterr().out
    assert "1 名已停止党籍的党员保持原状态（恢复党籍须按程序办理）：张三（第2行）" in out


# --- 3a. 转出 ends the 流出 record -------------------------------------------------------------


async def test_a_roll_saying_transferred_ends_the_open_mobile_record(
    db: None, tmp_path: Path
) -> None:
    header = ["姓名", "手机号", "所在组织", "状态", "流动党员"]
    people = [
        ["张三", PHONE, BRANCH, "在册", "否"],
        ["李四", "13800000002", BRANCH, "在册", "否"],
        ["王五", "13800000003", BRANCH, "在册", "否"],
    ]
    await run(write_csv(tmp_path / "first.csv", [header, *people]))
    for phone in (PHONE, "13800000002", "13800000003"):
        who = await Member.get(phone=phone)
        await outgoing.mark_out(None, who, Outgoing("江苏苏州", FlowReason.WORK), TODAY, NOW)
    roll = [
        header,
        ["张三", PHONE, BRANCH, "转出", "否"],
        ["李四", "13800000002", BRANCH, "转出", "是"],
        ["王五", "13800000003", BRANCH, "在册", "是"],
    ]
    path = write_csv(tmp_path / "roll.csv", roll)

    # A bad row anywhere: nothing ended.  A dry run: nothing ended.
    bad = write_csv(tmp_path / "bad.csv", [*roll, ["赵六", "12345", BRANCH, "在册", "否"]])
    assert where(await run(bad)) == {(5, "手机号")}
    dry = await run(path, dry_run=True)
    assert dry.mobile_ended == ["张三（第2行）", "李四（第3行）"]
    assert await MobileMember.filter(status=FlowStatus.ACTIVE).count() == 3

    report = await run(path)

    assert report.errors == [] and report.mobile_kept == []
    assert report.mobile_ended == ["张三（第2行）", "李四（第3行）"]
    assert "结束流出记录 2 人（组织关系转出）" in report.summary()
    for phone in (PHONE, "13800000002"):
        member = await Member.get(phone=phone)
        assert (member.status, member.is_mobile) == (MemberStatus.TRANSFERRED, False)
        record = await MobileMember.get(member_id=member.id)
        assert (record.status, record.current, record.ended_on, record.end_note) == (
            FlowStatus.ENDED,
            None,
            TODAY,
            "组织关系转出",
        )
    wang = await Member.get(phone="13800000003")
    assert wang.is_mobile and (await outgoing.open_record(wang.id)) is not None


# --- 3b. a move within the street takes the record and the search along ------------------------


async def test_a_member_moved_to_another_branch_takes_the_record_and_the_search_along(
    db: None,
) -> None:
    one, two = await ensure_path(BRANCH), await ensure_path(OTHER)
    group_one = await ensure_group(one, "第一网格党小组")
    group_two = await ensure_group(two, "第二网格党小组")
    keeper = await Member.create(name="赵委员", phone="13800000009", organisation=one)
    wang = await Member.create(name="王强", phone="13800000003", organisation=one)
    await outgoing.mark_out(
        None, wang, Outgoing("江苏苏州", FlowReason.WORK, keeper_id=keeper.id), TODAY, NOW
    )
    case, _ = await lost.search(None, wang, "电话 打了三次无人接听", TODAY, NOW)

    # Within the branch (into one of its groups): the branch keeps both, and the 联系人.
    await transfer(wang, group_one, None, "编入网格党小组")
    record = await MobileMember.get(member_id=wang.id)
    assert (record.branch_id, record.keeper_id) == (one.id, keeper.id)

    # To a group of another branch: the record and the case go to that 党支部.
    await transfer(await Member.get(id=wang.id), group_two, None, "工作调动")

    record = await MobileMember.get(member_id=wang.id)
    assert (record.branch_id, record.keeper_id) == (two.id, None)  # the new branch names its own
    assert (await LostCase.get(id=case.id)).branch_id == two.id
    figures = await counts.overview([one, two], TODAY, NOW, ZONE, 30)
    by_branch = {b.branch.id: (b.outgoing, b.searching) for b in figures.branches}
    assert by_branch == {one.id: (0, 0), two.id: (1, 1)}


async def test_a_moved_member_leaves_an_ended_record_with_the_old_branch(db: None) -> None:
    one, two = await ensure_path(BRANCH), await ensure_path(OTHER)
    wang = await Member.create(name="王强", phone="13800000003", organisation=one)
    await outgoing.mark_out(None, wang, Outgoing("江苏苏州", FlowReason.WORK), TODAY, NOW)
    await outgoing.end(None, wang, "已返回本地居住", TODAY, NOW)

    await transfer(await Member.get(id=wang.id), two, None, "工作调动")

    assert (await MobileMember.get(member_id=wang.id)).branch_id == one.id  # the past stays


# --- 3c. figures only for members still 在册 ---------------------------------------------------


async def test_records_left_open_for_members_no_longer_active_are_in_no_figure(db: None) -> None:
    branch = await ensure_path(BRANCH)
    kept = await Member.create(name="王强", phone="13800000003", organisation=branch)
    gone = await Member.create(name="钱七", phone="13800000005", organisation=branch)
    stop = await Member.create(name="孙八", phone="13800000006", organisation=branch)
    for member in (kept, gone, stop):
        await outgoing.mark_out(None, member, Outgoing("江苏苏州", FlowReason.WORK), TODAY, NOW)
    case, _ = await lost.search(None, stop, "电话 停机", TODAY, NOW)
    # As data written before the 转出 and 停止党籍 paths closed their records may still be.
    await Member.filter(id=gone.id).update(status=MemberStatus.TRANSFERRED)
    await Member.filter(id=stop.id).update(status=MemberStatus.STOPPED)
    await LostCase.filter(id=case.id).update(stage=LostStage.STOPPED, current=None)

    records = await standing.open_records(None)
    cases = await standing.open_cases(None)
    lines = await standing.standings(records, cases, TODAY, NOW, ZONE, 30)

    assert {(line.member.name, line.record is not None) for line in lines} == {
        ("王强", True),
        ("孙八", False),  # the stopped member's case keeps its line; the record does not
    }
    [figures] = (await counts.overview([branch], TODAY, NOW, ZONE, 30)).branches
    assert (figures.outgoing, figures.stopped) == (1, 1)
