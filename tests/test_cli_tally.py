"""`dangjian tally`: staff write the report to a file from the command line."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from server.cli import main
from server.db import close_database, open_database
from server.models.meetings import Attendance, Meeting, MeetingAttendee
from server.models.study import Submission, UnitReading
from tests.conftest import make_branch, make_member, migrated
from tests.test_cli_startup import run_cli
from tests.test_tallies import ONE, WEST

ZONE = ZoneInfo("Asia/Shanghai")
TODAY = datetime.now(ZONE).date()
# Meetings held today, just after midnight and over a second later: held, whenever this runs.
MIDNIGHT = datetime.combine(TODAY, time(0), ZONE)


@pytest.fixture
def street(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A database in tmp_path with two branches and a little study this year."""
    for name in ("DANGJIAN_DB_URL", "DANGJIAN_REDIS_URL", "DANGJIAN_TZ", "DANGJIAN_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DANGJIAN_DATA_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)

    async def seed() -> None:
        await open_database(migrated(tmp_path / "dangjian.sqlite3"))
        one, west = await make_branch(ONE), await make_branch(WEST)
        wang = await make_member("王芳", "13900000001", org=one)
        zhao = await make_member("赵六", "13900000002", org=west)
        for n, who in enumerate((wang, wang, zhao)):  # self-study: one day each
            await UnitReading.create(
                member=who,
                organisation_id=who.organisation_id,  # type: ignore[attr-defined]
                unit_id=f"u{n}",
                day=TODAY,
                read_full=True,
            )
        # Organised study: two 党课 in the first branch, one in the west, each attended.
        for org, who in ((one, wang), (one, wang), (west, zhao)):
            lecture = await Meeting.create(
                organisation=org,
                kind="党课",
                topic="学习党章",
                starts_at=MIDNIGHT,
                ends_at=MIDNIGHT + timedelta(seconds=1),
                study=True,
            )
            await MeetingAttendee.create(
                meeting=lecture,
                member=who,
                organisation_id=org.id,
                attendance=Attendance.PRESENT,
            )
        await Submission.create(
            member=wang,
            organisation_id=one.id,
            day=TODAY,
            content="心得" * 30,
            length=60,
            digest="d1",
        )
        await close_database()

    asyncio.run(seed())
    return tmp_path


def test_the_committees_year_so_far_by_branch_as_xlsx(
    street: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = street / "report.xlsx"
    assert main(["tally", "--by", "branch", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert (
        f"{TODAY.year}年以来，共组织党员学习3人次，交流体会1人次（另有党员线上自学2人次）"
        in printed
    )
    assert str(out) in printed
    sheet = load_workbook(out)["按党支部"]
    rows = {r[0]: r for r in sheet.iter_rows(min_row=4, values_only=True)}
    assert rows["东社区第一党支部"][2] == 2 and rows["西社区第一党支部"][2] == 1
    assert rows["合计"][2] == 3  # 组织党员学习人次, after the 所属党总支 column


def test_a_branch_by_path_as_csv_with_the_default_file_name(
    street: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    start = TODAY.replace(month=1, day=1).isoformat()
    assert main(["tally", "--org", ONE, "--from", start, "--to", TODAY.isoformat(),
                 "--format", "csv"]) == 0  # fmt: skip
    written = list(street.glob("tally-*.csv"))
    assert len(written) == 1 and written[0].name.isascii()
    data = written[0].read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[-1][:2] == ["合计", "2"]
    assert "共组织党员学习2人次" in capsys.readouterr().out


def test_the_organisation_by_its_name_or_id_as_by_its_path(
    street: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tally", "--org", "东社区第一党支部", "--format", "csv", "--out", "n.csv"]) == 0
    by_name = (street / "n.csv").read_bytes()
    assert "共组织党员学习2人次" in capsys.readouterr().out
    found = asyncio.run(_id_of(street, ONE))
    assert main(["tally", "--org", str(found), "--format", "csv", "--out", "i.csv"]) == 0
    assert main(["tally", "--org", ONE, "--format", "csv", "--out", "p.csv"]) == 0
    assert by_name == (street / "i.csv").read_bytes() == (street / "p.csv").read_bytes()


def test_the_xlsx_names_each_branchs_general_branch(street: Path) -> None:
    out = street / "report.xlsx"
    assert main(["tally", "--by", "branch", "--out", str(out)]) == 0
    sheet = load_workbook(out)["按党支部"]
    rows = {r[0]: r[1] for r in sheet.iter_rows(min_row=4, values_only=True)}
    assert rows["东社区第一党支部"] == "东社区党总支" and rows["西社区第一党支部"] == "西社区党总支"


async def _id_of(street: Path, path: str) -> int:
    from server.models.people import Organisation

    await open_database(f"sqlite://{street / 'dangjian.sqlite3'}")
    try:
        return (await Organisation.get(path=path)).id
    finally:
        await close_database()


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--org", "无此党工委/无此支部"], "--org"),
        (["--org", "无此支部"], "--org"),
        (["--org", " "], "--org"),
        (["--org", "99999"], "--org"),
        (["--from", "2026-13-01"], "--from"),
        (["--from", "2026-05-01", "--to", "2026-04-01"], "--from"),
        (["--from", "2010-01-01", "--to", "2026-01-01"], "--to"),
    ],
)
def test_a_bad_argument_is_named_and_nothing_is_written(
    street: Path, capsys: pytest.CaptureFixture[str], args: list[str], named: str
) -> None:
    assert main(["tally", *args]) == 2
    err = capsys.readouterr().err
    assert any(line.startswith(named + ":") for line in err.splitlines()), err
    assert "Traceback" not in err
    assert not list(street.glob("tally-*"))


def test_an_unknown_breakdown_is_refused_by_the_parser(street: Path) -> None:
    done = run_cli(street, "tally", "--by", "quarter")
    assert done.returncode == 2 and "--by" in done.stderr


def test_a_real_run_through_the_entry_point(street: Path) -> None:
    done = run_cli(street, "tally", "--org", ONE, "--format", "csv", "--out", "r.csv")
    assert done.returncode == 0, done.stderr
    assert (street / "r.csv").exists() and "wrote r.csv" in done.stdout
    assert date.today().year >= 2026
