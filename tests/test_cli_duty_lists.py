"""`dangjian duties`: the operator carries a year's unfinished items into the next (once) and
writes the committee's table; a refusal names the argument and writes nothing."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from server.cli import main
from server.db import close_database, open_database
from server.models.duty_lists import DutyItem
from server.services.duty_lists import items
from tests.conftest import migrated
from tests.duty_lists_helpers import draft, street


def today() -> date:
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


@pytest.fixture
def db_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("DANGJIAN_DB_URL", "DANGJIAN_REDIS_URL", "DANGJIAN_TZ", "DANGJIAN_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DANGJIAN_DATA_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    last_year = today().year - 1

    async def seed() -> None:
        await open_database(migrated(tmp_path / "dangjian.sqlite3"))
        s = await street()
        now = datetime.now(ZoneInfo("Asia/Shanghai"))
        soon = today() + timedelta(days=10)
        for task in ("规范台账", "改造阵地"):
            await items.create(
                s.staff, s.committee,
                draft(year=last_year, task=task, deadline=soon, owner_org_id=s.west.id),
                now, today(),
            )  # fmt: skip
        await close_database()

    asyncio.run(seed())
    return tmp_path


def count(path: Path, year: int) -> int:
    async def run() -> int:
        await open_database(f"sqlite://{path / 'dangjian.sqlite3'}")
        try:
            return await DutyItem.filter(year=year).count()
        finally:
            await close_database()

    return asyncio.run(run())


def test_carry_once_and_export(db_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    year = today().year - 1
    deadline = f"{year + 1}-12-31"
    assert main(["duties", "carry", "--year", str(year), "--deadline", "2030-13-01"]) == 2
    assert "--deadline:" in capsys.readouterr().err
    assert main(["duties", "carry", "--year", str(year), "--deadline", f"{year + 2}-06-30"]) == 2
    assert "--deadline:" in capsys.readouterr().err and count(db_file, year + 1) == 0

    assert main(["duties", "carry", "--year", str(year), "--deadline", deadline]) == 0
    assert f"已将{year}年未完成的 2 项结转至{year + 1}年" in capsys.readouterr().out
    assert main(["duties", "carry", "--year", str(year), "--deadline", deadline]) == 0
    assert "没有需要结转" in capsys.readouterr().out and count(db_file, year + 1) == 2

    assert main(["duties", "export", "--year", str(year + 1), "-o", "lists.xlsx"]) == 0
    assert f"{year + 1}年 2 项" in capsys.readouterr().out
    sheet = load_workbook(db_file / "lists.xlsx").active
    assert sheet is not None and sheet["B3"].value == "问题"
    assert sorted(str(sheet.cell(row, 3).value) for row in (4, 5)) == ["改造阵地", "规范台账"]
