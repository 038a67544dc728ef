"""`dangjian community`: the operator makes communities take part, registers 报到单位 (one by
one or from a spreadsheet, all or nothing) and prints the 双报到 figures."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook

from server.cli import main
from server.db import close_database, open_database
from server.models.community import (
    ClaimStatus,
    Community,
    CommunityStaff,
    Need,
    NeedStatus,
    OrderClaim,
    OrderStatus,
    ReportUnit,
    Resident,
    ServiceOrder,
    UnitCommunity,
    Volunteer,
    VolunteerStatus,
)
from tests.conftest import make_branch, make_member, migrated
from tests.test_tallies import ONE, WEST

ZONE = ZoneInfo("Asia/Shanghai")
T = TypeVar("T")
HEADER = ["单位名称", "类别", "联系人", "联系电话", "结对社区"]


@pytest.fixture
def street(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two community general branches (东社区, 西社区), with a branch each."""
    for name in ("DANGJIAN_DB_URL", "DANGJIAN_REDIS_URL", "DANGJIAN_TZ", "DANGJIAN_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DANGJIAN_DATA_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)

    async def seed() -> None:
        await open_database(migrated(tmp_path / "dangjian.sqlite3"))
        await make_branch(ONE)
        await make_branch(WEST)
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


def _communities(street: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["community", "add", "东社区党总支"]) == 0
    assert main(["community", "add", "示范街道党工委/西社区党总支"]) == 0
    capsys.readouterr()


def _xlsx(path: Path, rows: list[list[Any]]) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["报到单位名单"])  # a title row above the header, as offices write them
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def test_an_organisation_becomes_a_community_once(
    street: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["community", "add", "东社区党总支"]) == 0
    assert "社区 东社区（示范街道党工委/东社区党总支）已加入" in capsys.readouterr().out
    assert main(["community", "add", "东社区党总支"]) == 0
    assert "already a community" in capsys.readouterr().out
    assert main(["community", "add", "示范街道党工委/西社区党总支", "--name", "西湖社区"]) == 0
    assert _in_db(street, lambda: Community.all().count()) == 2

    assert main(["community", "add", "没有这个党总支"]) == 2
    assert "org:" in capsys.readouterr().err
    assert main(["community", "add", "示范街道党工委"]) == 2  # a committee is no community
    assert "社区应为社区党总支或党支部" in capsys.readouterr().err


def test_a_unit_by_hand_gets_its_code_and_is_listed(
    street: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _communities(street, capsys)
    assert (
        main(["community", "add-unit", "区财政局机关党委", "--community", "东社区",
              "--community", "西社区", "--kind", "区直机关", "--contact", "张三",
              "--phone", "138 0000 0000"])
        == 0
    )  # fmt: skip
    printed = capsys.readouterr().out
    unit = _in_db(street, lambda: ReportUnit.get(name="区财政局机关党委"))
    assert f"报到码 code: {unit.code}" in printed and f"报到 {unit.code} 姓名 手机号" in printed
    assert unit.contact_phone == "13800000000"
    assert _in_db(street, lambda: UnitCommunity.filter(unit_id=unit.id).count()) == 2

    assert main(["community", "units"]) == 0
    listed = capsys.readouterr().out
    assert f"{unit.code}  区财政局机关党委  区直机关  东社区、西社区  0" in listed


def test_a_duplicate_or_an_unknown_community_is_refused(
    street: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _communities(street, capsys)
    assert main(["community", "add-unit", "区税务局机关党委", "--community", "东"]) == 0
    capsys.readouterr()
    assert main(["community", "add-unit", "区税务局机关党委", "--community", "东社区"]) == 2
    assert "已登记" in capsys.readouterr().err
    assert main(["community", "add-unit", "区民政局党支部", "--community", "南社区"]) == 2
    err = capsys.readouterr().err
    assert "community: 没有找到社区「南社区」" in err and "东社区、西社区" in err
    assert main(["community", "add-unit", "区民政局党支部", "--community", "东社区",
                 "--kind", "银行"]) == 2  # fmt: skip
    assert "kind: 单位类别应为" in capsys.readouterr().err
    assert _in_db(street, lambda: ReportUnit.all().count()) == 1


def test_a_spreadsheet_is_imported_whole(street: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _communities(street, capsys)
    good = _xlsx(
        street / "units.xlsx",
        [
            ["区人民医院党委", "医院", "李医生", 13800000001, "东社区、西社区"],
            ["区第一中学党委", "学校", "", "", "西社区"],
            [None, None, None, None, None],  # a blank row is spacing
        ],
    )
    assert main(["community", "units", "--import", str(good)]) == 0
    printed = capsys.readouterr().out
    assert "新登记 2 个单位" in printed
    assert "区人民医院党委  医院  东社区、西社区" in printed
    hospital = _in_db(street, lambda: ReportUnit.get(name="区人民医院党委"))
    assert hospital.contact_phone == "13800000001"  # typed as a number in Excel


def test_one_bad_row_writes_nothing_and_every_problem_is_named(
    street: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _communities(street, capsys)
    assert main(["community", "add-unit", "区司法局党支部", "--community", "东社区"]) == 0
    capsys.readouterr()
    bad = _xlsx(
        street / "bad.xlsx",
        [
            ["区人民医院党委", "医院", "李医生", "13800000001", "东社区"],  # fine
            ["区第一中学党委", "学校", "", "", "南社区"],  # no such community
            ["区供电公司党委", "驻区企事业单位", "王工", "12345", "西社区"],  # bad phone
            ["区人民医院党委", "医院", "", "", "西社区"],  # twice in the file
            ["区司法局党支部", "区直机关", "", "", "东社区"],  # registered already
            ["区农商银行党委", "银行", "", "", ""],  # bad kind, no community
        ],
    )
    assert main(["community", "units", "--import", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "nothing written" in err
    assert "第4行 line 4 [结对社区]: 没有社区“南社区”" in err
    assert "第5行 line 5 [联系电话]: 手机号应为以1开头的11位数字" in err
    assert "第6行 line 6 [单位名称]: 与第3行重复" in err
    assert "第7行 line 7 [单位名称]: 报到单位“区司法局党支部”已登记" in err
    assert "第8行 line 8 [类别]" in err and "第8行 line 8 [结对社区]" in err
    assert _in_db(street, lambda: ReportUnit.all().values_list("name", flat=True)) == [
        "区司法局党支部"
    ]


def test_a_file_without_the_header_or_of_another_type(
    street: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["名称", "社区"])
    book.save(street / "wrong.xlsx")
    assert main(["community", "units", "--import", str(street / "wrong.xlsx")]) == 2
    assert "没有找到表头" in capsys.readouterr().err
    (street / "units.xls").write_bytes(b"old")
    assert main(["community", "units", "--import", str(street / "units.xls")]) == 2
    assert ".xlsx" in capsys.readouterr().err


def test_the_report_prints_the_figures_and_the_sentence(
    street: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _communities(street, capsys)
    assert main(["community", "add-unit", "区财政局机关党委", "--community", "东社区"]) == 0
    now = datetime.now(ZONE)
    # Early in the year by a minute when run on 1 January: the figures are this year's.
    then = max(now - timedelta(days=2), now.replace(month=1, day=1, hour=0, minute=1))

    async def serve() -> None:
        east = await Community.get(name="东社区")
        unit = await ReportUnit.get(name="区财政局机关党委")
        volunteers = [
            await Volunteer.create(
                name=name, phone=phone, unit=unit, community=east,
                status=VolunteerStatus.CONFIRMED, registered_at=then, decided_at=then,
                confirmed_at=then,
            )
            for name, phone in (("王伟", "17100000001"), ("李娜", "17100000002"))
        ]  # fmt: skip
        resident = await Resident.create(
            name="陈大妈", phone="17200000001", community=east, place="东苑3栋",
            appid="wx", openid="o-chen", created_at=then,
        )  # fmt: skip
        need = await Need.create(
            resident=resident, community=east, text="楼道灯坏了", status=NeedStatus.DISPATCHED,
            created_at=then,
        )  # fmt: skip
        order = await ServiceOrder.create(
            community=east, need=need, kind="维修", title="更换楼道灯", starts_at=then,
            ends_at=then, capacity=2, taken=2, status=OrderStatus.COMPLETED, created_at=then,
            completed_at=then, rating=5, rated_at=then,
        )  # fmt: skip
        for v in volunteers:
            await OrderClaim.create(
                order=order, volunteer=v, claimed_at=then, status=ClaimStatus.DONE,
                done_at=then, hours=Decimal("1.5"),
            )  # fmt: skip

    _in_db(street, serve)
    capsys.readouterr()
    assert main(["community", "report"]) == 0
    printed = capsys.readouterr().out
    assert f"{now.year}年以来，2名报到党员认领服务事项2件，完成2件" in printed
    assert "  东社区  1  2  1  1  2  2  3.0  5.0" in printed
    assert "  西社区  0  0  0  0  0  0  0  —" in printed
    assert "  合计  1  2  1  1  2  2  3.0  5.0" in printed

    # A branch under the community: the figures are the community's, not the branch's.
    assert main(["community", "report", "--org", ONE]) == 1
    assert "没有参与双报到的社区" in capsys.readouterr().err
    assert main(["community", "report", "--from", "2026-13-01"]) == 2
    assert "--from: expected a date" in capsys.readouterr().err
    assert main(["community", "report", "--org", "没有的组织"]) == 2


def test_the_operator_names_and_removes_a_community_s_staff(
    street: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _communities(street, capsys)

    async def member() -> None:
        await make_member("王芳", "13700000004", org=await make_branch(ONE))

    _in_db(street, member)
    assert main(["community", "staff", "东社区", "--add", "13700000004"]) == 0
    assert "王芳" in capsys.readouterr().out
    assert main(["community", "staff", "东社区"]) == 0
    assert "东社区的社区工作人员 staff: 王芳" in capsys.readouterr().out
    assert main(["community", "staff", "东社区", "--add", "13700000004"]) == 2  # named already
    assert main(["community", "staff", "东社区", "--add", "13799999999"]) == 2
    assert "phone:" in capsys.readouterr().err
    assert main(["community", "staff", "南社区"]) == 2
    assert main(["community", "staff", "东社区", "--remove", "13700000004"]) == 0
    assert _in_db(street, lambda: CommunityStaff.all().count()) == 0
