"""The secretary's year on both databases: the 台账 reads the same, and agrees with the tallies;
the tally export finds each branch's 党总支."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from server.db import close_database, open_database
from server.models.people import Organisation
from server.services.meetings.ledger import ledger_xlsx
from server.services.tallies.report import tally_report
from server.services.tallies.report_file import filing_for
from tests.conftest import migrated
from tests.test_ledger import DRAWN_UP, THE_FIVE, ZONE, a_branch, a_year, table

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_url"))
    return migrated(tmp_path / "exports.sqlite3")


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[str]:
    await open_database(db_url)
    yield db_url
    await close_database()


async def test_the_ledger_of_a_year_and_the_tallies_agree(db: str) -> None:
    b = await a_branch()
    await a_year(b)
    ledger = await ledger_xlsx(b.org, 2026, ZONE, DRAWN_UP)
    book = load_workbook(io.BytesIO(ledger.data))
    assert book.sheetnames == [*THE_FIVE, "组织生活会", "变更记录"]
    [general] = table(book["支部党员大会"])
    assert (general["应到"], general["实到"], general["请假"], general["缺席"]) == (7, 4, 1, 2)
    assert general["缺席人员及原因"] == "郑七（请假未获批准，所请事由：家中有事）；钱十"
    held = [r for kind in book.sheetnames[:-1] for r in table(book[kind]) if r["状态"] == "已召开"]
    report = await tally_report(
        b.org, date(2026, 1, 1), date(2026, 12, 31), by="child", today=DRAWN_UP.date(),
        zone=ZONE, now=DRAWN_UP, use_snapshots=False,
    )  # fmt: skip
    assert sum(r["实到"] for r in held) == report.total.present
    assert sum(r["缺席"] for r in held) == report.total.absent
    assert len(held) == report.total.meetings_held
    filing = await filing_for(report, DRAWN_UP.date())
    assert filing.parents == {}  # a branch's rows by child are its 党小组: no 党总支 column
    committee = await Organisation.get(parent_id=None)
    above = await tally_report(
        committee, date(2026, 1, 1), date(2026, 12, 31), by="branch", today=DRAWN_UP.date(),
        zone=ZONE, now=DRAWN_UP,
    )  # fmt: skip
    parents = (await filing_for(above, DRAWN_UP.date())).parents
    assert parents[b.org.id] == "第一社区党总支"
