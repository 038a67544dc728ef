"""`dangjian ledger`: a secretary (or staff at a terminal) writes a branch's 台账 to a file.

The branch may be named by its id, its full path or its name when no other organisation has
it; a bad name is an error that names --branch, and nothing is written.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from server.cli import main
from server.db import close_database, open_database
from server.models.meetings import Attendance, Meeting, MeetingAttendee
from tests.conftest import make_branch, make_member, migrated
from tests.test_cli_startup import run_cli

ZONE = ZoneInfo("Asia/Shanghai")
TODAY = datetime.now(ZONE).date()
MIDNIGHT = datetime.combine(TODAY, time(0), ZONE)  # a meeting over a second later: held
ONE = "示范街道党工委/东社区党总支/东社区第一党支部"
NAMESAKE_EAST = "示范街道党工委/东社区党总支/第一党小组联合支部"
NAMESAKE_WEST = "示范街道党工委/西社区党总支/第一党小组联合支部"


@pytest.fixture
def street(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A database in tmp_path: a branch with a 支委会 held today, and two namesake branches."""
    for name in ("DANGJIAN_DB_URL", "DANGJIAN_REDIS_URL", "DANGJIAN_TZ", "DANGJIAN_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DANGJIAN_DATA_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)

    async def seed() -> None:
        await open_database(migrated(tmp_path / "dangjian.sqlite3"))
        one = await make_branch(ONE)
        await make_branch(NAMESAKE_EAST)
        await make_branch(NAMESAKE_WEST)
        wang = await make_member("王芳", "13900000001", org=one)
        meeting = await Meeting.create(
            organisation=one,
            kind="支委会",
            topic="研究发展党员",
            starts_at=MIDNIGHT,
            ends_at=MIDNIGHT + timedelta(seconds=1),
        )
        await MeetingAttendee.create(
            meeting=meeting, member=wang, organisation_id=one.id, attendance=Attendance.PRESENT
        )
        await close_database()

    asyncio.run(seed())
    return tmp_path


def branch_id(street: Path) -> int:
    async def find() -> int:
        from server.models.people import Organisation

        await open_database(f"sqlite://{street / 'dangjian.sqlite3'}")
        try:
            return (await Organisation.get(path=ONE)).id
        finally:
            await close_database()

    return asyncio.run(find())


@pytest.mark.parametrize("how", ["id", "path", "name"])
def test_the_branch_by_id_path_or_name_this_year_by_default(
    street: Path, capsys: pytest.CaptureFixture[str], how: str
) -> None:
    given = {"id": str(branch_id(street)), "path": ONE, "name": "东社区第一党支部"}[how]
    assert main(["ledger", "--branch", given]) == 0
    out = street / f"台账-东社区第一党支部-{TODAY.year}.xlsx"
    assert out.exists()
    assert f"wrote {out.name}: 召开 支部党员大会 0 次，支委会 1 次" in capsys.readouterr().out
    sheet = load_workbook(out)["支委会"]
    assert sheet["A1"].value == f"东社区第一党支部 {TODAY.year}年支委会台账"
    assert sheet["G5"].value == "研究发展党员" and sheet["I5"].value == 1  # 议题; 实到


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("无此支部", "没有 id、完整路径或名称为“无此支部”的组织"),
        ("99999", "没有 id、完整路径或名称为“99999”的组织"),
        ("第一党小组联合支部", "有多个组织名为“第一党小组联合支部”"),
        ("  ", "请给出组织的 id、完整路径或名称"),
    ],
)
def test_a_bad_branch_is_named_and_nothing_is_written(
    street: Path, capsys: pytest.CaptureFixture[str], given: str, says: str
) -> None:
    assert main(["ledger", "--branch", given, "--year", "2026"]) == 2
    err = capsys.readouterr().err
    assert any(line.startswith("--branch: ") and says in line for line in err.splitlines()), err
    assert not list(street.glob("*.xlsx"))


@pytest.mark.parametrize("year", ["1999", "99999", "0"])
def test_a_year_out_of_range_is_named(
    street: Path, capsys: pytest.CaptureFixture[str], year: str
) -> None:
    assert main(["ledger", "--branch", ONE, "--year", year]) == 2
    err = capsys.readouterr().err
    assert any(line.startswith("--year: 年份应在 2000 至 2100 之间") for line in err.splitlines())
    assert not list(street.glob("*.xlsx"))


def test_namesakes_are_listed_with_their_paths_to_choose_from(
    street: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ledger", "--branch", "第一党小组联合支部"]) == 2
    err = capsys.readouterr().err
    assert NAMESAKE_EAST in err and NAMESAKE_WEST in err
    assert main(["ledger", "--branch", NAMESAKE_WEST, "--out", "west.xlsx"]) == 0


def test_a_real_run_through_the_entry_point(street: Path) -> None:
    done = run_cli(street, "ledger", "--branch", "东社区第一党支部", "--out", "out/台账.xlsx")
    assert done.returncode == 0, done.stderr
    assert (street / "out" / "台账.xlsx").exists()
    refused = run_cli(street, "ledger", "--branch", "无此支部")
    assert refused.returncode == 2 and "\n--branch: " in "\n" + refused.stderr
    assert "Traceback" not in refused.stderr
