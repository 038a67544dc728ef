"""`dangjian mobile`: the operator marks a member 流出, logs a contact, prints the figures and
the list, and writes the forms; a refusal names the argument and writes nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from server.cli import main
from server.db import close_database, open_database
from server.models.mobility import FlowReason, MobileContact, MobileMember
from server.models.people import Member, Role
from tests.conftest import make_branch, make_member, migrated

T = TypeVar("T")
FIRST = "示范街道党工委/第一社区党总支/第一社区第一党支部"
SECOND = "示范街道党工委/第一社区党总支/第一社区第二党支部"


def today() -> date:
    """Today where the street is (DANGJIAN_TZ's default), as the command line reckons it."""
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


@pytest.fixture
def street(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two branches: 李书记, 周委员 and 王强 in the first, 孙丽 in the second, and a second 王强."""
    for name in ("DANGJIAN_DB_URL", "DANGJIAN_REDIS_URL", "DANGJIAN_TZ", "DANGJIAN_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DANGJIAN_DATA_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)

    async def seed() -> None:
        await open_database(migrated(tmp_path / "dangjian.sqlite3"))
        first, second = await make_branch(FIRST), await make_branch(SECOND)
        await make_member("李书记", "13800000001", role=Role.SECRETARY, org=first)
        await make_member("周委员", "13800000002", role=Role.COMMITTEE_MEMBER, org=first)
        await make_member("王强", "13800000003", org=first)
        await make_member("孙丽", "13800000004", org=second)
        await make_member("刘芳", "13800000005", org=second)
        await make_member("刘芳", "13800000006", org=first)
        await close_database()

    asyncio.run(seed())
    return tmp_path


def _in_db(street: Path, work: Callable[[], Awaitable[T]]) -> T:
    async def run() -> T:
        await open_database(f"sqlite://{street / 'dangjian.sqlite3'}")
        try:
            return await work()
        finally:
            await close_database()

    return asyncio.run(run())


async def _rows() -> Any:
    return (
        sorted(await MobileMember.all().values_list("member_id", "place", "reason")),
        await MobileContact.all().count(),
        sorted(await Member.filter(is_mobile=True).values_list("id", flat=True)),
    )


def test_the_operator_marks_a_member_out_and_logs_a_contact(
    street: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["mobile", "out", "王强", "--place", "江苏苏州", "--reason", "务工",
            "--since", "2025-08-01", "--keeper", "周委员", "--reach", "微信同号"]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "已登记流出" in printed and "王强 → 江苏苏州（外出务工经商）" in printed
    assert "外出时间 2025-08-01，联系人 周委员" in printed
    record = _in_db(street, lambda: MobileMember.get(place="江苏苏州"))
    assert record.reason == FlowReason.WORK and record.created_by_id is None  # the operator
    wang = _in_db(street, lambda: Member.get(phone="13800000003"))
    assert wang.is_mobile and record.keeper_id is not None

    assert main(["mobile", "contact", "13800000003", "电话 了解近况，提醒交党费"]) == 0
    assert "电话：了解近况，提醒交党费" in capsys.readouterr().out
    logged = _in_db(street, lambda: MobileContact.get(member_id=wang.id))
    assert (logged.channel, logged.by_id, logged.day) == ("电话", None, today())

    assert main(["mobile", "list"]) == 0
    listed = capsys.readouterr().out
    assert "王强（第一社区第一党支部）流出 江苏苏州 外出务工经商" in listed
    assert f"最近联系 {today()}" in listed and "党费交至 —" in listed


def test_bad_arguments_are_named_and_nothing_is_written(
    street: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _in_db(street, _rows)
    refusals = [
        (["mobile", "out", "王强", "--place", "苏州", "--reason", "旅游"],
         "--reason: 流动原因请写"),
        (["mobile", "out", "王强", "--place", "苏州", "--reason", "务工", "--since", "2099-01-01"],
         "--since: 外出时间不能晚于今天"),
        (["mobile", "out", "王强", "--place", "苏州", "--reason", "务工", "--since", "去年"],
         "since: expected a date"),
        (["mobile", "out", "王强", "--place", "  ", "--reason", "务工"], "--place: 请写上内容"),
        (["mobile", "out", "王强", "--place", "苏州", "--reason", "务工", "--cadence", "3"],
         "--cadence: 联系周期应在 7 到 366 天之间"),
        (["mobile", "out", "王强", "--place", "苏州", "--reason", "务工", "--keeper", "孙丽"],
         "--keeper: 联系人应是本支部的在册党员"),
        (["mobile", "out", "张三", "--place", "苏州", "--reason", "务工"], "没有「张三」"),
        (["mobile", "out", "刘芳", "--place", "苏州", "--reason", "务工"],
         "NAME_OR_PHONE: 有 2 位同名的同志"),
        (["mobile", "contact", "王强", "   "], "TEXT: 请写上内容"),
        (["mobile", "contact", "王强", "聊了", "--channel", "飞鸽"], "--channel: 联系方式请写"),
        (["mobile", "report", "--org", "没有这个组织"], "--org: 没有 id、完整路径或名称"),
        (["mobile", "list", "--branch", "没有这个支部"], "--branch: 没有 id、完整路径或名称"),
    ]  # fmt: skip
    for argv, said in refusals:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert said in err, (argv, err)
    assert _in_db(street, _rows) == before

    assert main(["mobile", "out", "13800000006", "--place", "上海", "--reason", "其他"]) == 0
    capsys.readouterr()
    assert main(["mobile", "out", "13800000006", "--place", "上海", "--reason", "其他"]) == 2
    assert "已登记为流动党员" in capsys.readouterr().err


def test_the_figures_by_branch_and_the_forms_as_a_file(
    street: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["mobile", "out", "王强", "--place", "江苏苏州", "--reason", "务工"]) == 0
    assert main(["mobile", "out", "孙丽", "--place", "浙江杭州", "--reason", "毕业"]) == 0
    capsys.readouterr()

    assert main(["mobile", "report"]) == 0
    report = capsys.readouterr().out
    assert report.splitlines()[1].split() == [
        "党支部", "流出", "流入", "本季度已联系", "可能失联", "查找中", "停止党籍", "待确认流入",
    ]  # fmt: skip
    assert "  第一社区第一党支部  1  0  0  0  0  0  0" in report
    assert "  第一社区第二党支部  1  0  0  0  0  0  0" in report
    assert "  合计  2  0  0  0  0  0  0" in report
    assert main(["mobile", "report", "--org", "第一社区第二党支部"]) == 0
    only = capsys.readouterr().out
    assert "第二党支部  1" in only and "第一党支部" not in only

    assert main(["mobile", "list", "--branch", "第一社区第二党支部"]) == 0
    listed = capsys.readouterr().out
    assert "孙丽" in listed and "王强" not in listed

    assert main(["mobile", "export", "--org", "第一社区党总支", "-o", "forms.xlsx"]) == 0
    assert "wrote forms.xlsx" in capsys.readouterr().out
    book = load_workbook(street / "forms.xlsx")
    assert book.sheetnames == [
        "流动党员情况统计表",
        "流出党员名册",
        "流入党员名册",
        "失联党员查找情况",
    ]
    names = [row[1] for row in book["流出党员名册"].iter_rows(min_row=4, values_only=True)]
    assert names[:2] == ["王强", "孙丽"]
    assert main(["mobile", "export", "-o", str(street / "missing" / "x.xlsx")]) == 2
    assert "--out: cannot write" in capsys.readouterr().err
