"""The roster taken out as the importer reads it: the demo street, with its year of 流动党员,
exported and imported again changes nothing; imported into an empty database it gives back the
same roll; one edit in the workbook is one update; a secretary takes out her branch and no
other; 流入 members and a stopped 党籍 are listed apart and never imported.
"""

from __future__ import annotations

import asyncio
import functools
import io
import shutil
import tempfile
import threading
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from aiohttp.test_utils import TestClient
from openpyxl import Workbook

from server.app import create_app
from server.cli import main
from server.clock import FrozenClock
from server.db import close_database, open_database
from server.models.mobility import Direction, MobileMember
from server.models.people import (
    Member,
    MemberStatus,
    Organisation,
    OrgKind,
    Role,
    WeChatIdentity,
)
from server.services.demo.mobility import seed_mobility
from server.services.people.importer import ImportReport, import_members
from server.services.people.roster_export import roster_workbook
from server.wechat.fake_state import FakeWeChat
from tests.api_helpers import signed_in
from tests.conftest import migrated
from tests.demo_street import DAY, NOW, ZONE, seeded_street
from tests.test_admin_pages import sign_in

# The header the README gives for `dangjian import-members`, word for word.
HEADER = (
    "姓名,手机号,性别,出生日期,学历,入党日期,所在组织,党小组,职务,状态,流动党员,党员类别,"
    "流出去向,流动原因,外出时间"
).split(",")
ROLL, ORGS, INCOMING, STOPPED = "党员花名册", "组织", "流入党员（不导入）", "停止党籍（不导入）"
ON_ROLL = 1231  # the demo street's members; its 流入 and stopped ones are besides them


# --- the street ---------------------------------------------------------------------------------

_BUSY: list[Path] = []


def _apart(work: Coroutine[Any, Any, None]) -> None:
    """Run `work` on a loop of its own: the test's loop may be running already."""
    failed: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(work)
        except BaseException as exc:  # handed to the test, not lost in the thread
            failed.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    if failed:
        raise failed[0]


async def _add_mobility(url: str, samples: Any) -> None:
    await open_database(url, migrate=False)
    try:
        await seed_mobility(DAY, ZONE, now=NOW, samples=samples)
    finally:
        await close_database()


def busy_street(target: Path) -> str:
    """A copy at `target` of the demo street with its eight weeks and its year of 流动党员
    (32 流出, 6 流入 confirmed, 2 stopped), seeded once per run."""
    if not _BUSY:
        path = Path(tempfile.mkdtemp(prefix="dangjian-roster-")) / "street.sqlite3"
        url, street, _ = seeded_street(path)
        _apart(_add_mobility(url, street.sample_members))
        _BUSY.append(path)
    shutil.copyfile(_BUSY[0], target)
    return f"sqlite://{target}"


@pytest.fixture
async def street(tmp_path: Path) -> AsyncIterator[str]:
    url = busy_street(tmp_path / "street.sqlite3")
    await open_database(url)
    yield url
    await close_database()


# --- reading what was written ------------------------------------------------------------------


@functools.lru_cache(maxsize=2)  # a street's roll takes a second to read; tests only read it
def book_of(data: bytes) -> Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def rows_of(data: bytes, sheet: str) -> list[dict[str, Any]]:
    """The sheet's rows under its header (row 3), as the header names them."""
    found = book_of(data)[sheet]
    header = [cell.value for cell in found[3]]
    rows = [dict(zip(header, row, strict=True)) for row in found.iter_rows(4, values_only=True)]
    if sheet == ROLL:
        return rows
    return [row for row in rows if isinstance(row["序号"], int)]  # not the note under it


def header_of(data: bytes) -> list[Any]:
    return [cell.value for cell in book_of(data)[ROLL][3]]


async def exported(org: Organisation, tmp_path: Path, name: str = "roster.xlsx") -> Path:
    path = tmp_path / name
    path.write_bytes(await roster_workbook(org, DAY))
    return path


async def imported(path: Path, **kw: Any) -> ImportReport:
    return await import_members(path, today=DAY, now=NOW, **kw)


def nothing_changed(report: ImportReport, rows: int) -> None:
    assert report.errors == []
    assert (report.rows, report.created, report.updated, report.unchanged) == (rows, 0, 0, rows)
    assert report.organisations_created == report.mobile_created == 0
    assert report.mobile_kept == report.mobile_ended == []
    assert report.stopped_kept == report.incoming_taken == []


async def committee() -> Organisation:
    top = await Organisation.filter(parent_id=None).order_by("id").first()
    assert top is not None
    return top


async def the_roll() -> dict[str, tuple[Any, ...]]:
    """Every member on the roll by phone, with each field the importer reads, organisations by
    path: what must survive a trip out and back in."""
    paths = dict(await Organisation.all().values_list("id", "path"))
    fields = ("name", "organisation_id", "group_id", "gender", "birth_date", "education",
              "joined_on", "role", "status", "is_mobile", "probationary")  # fmt: skip
    found = {}
    for phone, *values in await Member.filter(
        incoming=False, status__in=[MemberStatus.ACTIVE, MemberStatus.TRANSFERRED]
    ).values_list("phone", *fields):
        values[1], values[2] = paths[values[1]], paths.get(values[2])
        found[phone] = tuple(values)
    return found


async def away() -> dict[str, tuple[Any, ...]]:
    """Each open 流出 record by the member's phone: where, why, since when."""
    phones = dict(await Member.all().values_list("id", "phone"))
    return {
        phones[member_id]: (place, str(reason), since)
        for member_id, place, reason, since in await MobileMember.filter(
            direction=Direction.OUT, current__not_isnull=True
        ).values_list("member_id", "place", "reason", "since")
    }


async def everything() -> dict[str, Any]:
    """The rows an import could touch, updated_at included."""
    return {
        "members": sorted(await Member.all().values_list()),
        "mobile": sorted(await MobileMember.all().values_list()),
        "orgs": sorted(await Organisation.all().values_list()),
        "bindings": sorted(await WeChatIdentity.all().values_list()),
    }


# --- out and back in -----------------------------------------------------------------------------


async def test_the_demo_street_goes_out_and_comes_back_in_unchanged(
    street: str, tmp_path: Path
) -> None:
    path = await exported(await committee(), tmp_path)
    data = path.read_bytes()
    book = book_of(data)
    assert book.sheetnames == [ROLL, ORGS, INCOMING, STOPPED]
    assert header_of(data) == HEADER
    assert any("内部资料" in str(cell.value) for cell in book[ROLL][2])  # above the header
    assert "含个人信息" in (book.properties.keywords or "")
    roll = rows_of(data, ROLL)
    assert len(roll) == ON_ROLL
    assert all(len(r["手机号"]) == 11 and r["手机号"].isdigit() for r in roll)  # in full, as text
    assert sum(r["流动党员"] == "是" for r in roll) == 32
    assert all(
        r["流出去向"] and r["流动原因"] and r["外出时间"] for r in roll if r["流动党员"] == "是"
    )
    # 流入 and stopped members are listed apart, and not on the roll the importer reads.
    came = rows_of(data, INCOMING)
    stopped = rows_of(data, STOPPED)
    assert len(came) == 6 and all(r["原组织关系所在党组织"] != "—" for r in came)
    assert len(stopped) == 2 and all(r["停止党籍日期"] for r in stopped)
    apart = {r["手机号"] for r in came + stopped}
    assert apart.isdisjoint(r["手机号"] for r in roll)
    incoming = await Member.filter(incoming=True).values_list("phone", flat=True)
    held = await Member.filter(status=MemberStatus.STOPPED).values_list("phone", flat=True)
    assert apart == set(incoming) | set(held)

    before = await everything()
    nothing_changed(await imported(path, dry_run=True), ON_ROLL)
    nothing_changed(await imported(path), ON_ROLL)
    assert await everything() == before  # not one row touched, updated_at included


async def test_into_an_empty_database_the_roll_comes_back_the_same(
    street: str, tmp_path: Path
) -> None:
    top = await committee()
    # A member 转出 (who was 流出: the roll ends that record), and one still 预备.
    mobile = await Member.filter(is_mobile=True).order_by("id").limit(2)
    probationary = await Member.filter(is_mobile=False, role=Role.MEMBER).order_by("id").first()
    assert probationary is not None
    news = tmp_path / "news.csv"
    paths = dict(await Organisation.all().values_list("id", "path"))
    news.write_text(
        "姓名,手机号,所在组织,状态,党员类别\n"
        f"{mobile[0].name},{mobile[0].phone},{paths[mobile[0].organisation_id]},转出,正式党员\n"
        f"{probationary.name},{probationary.phone},{paths[probationary.organisation_id]},在册,"
        "预备党员\n"
        f"=1+1,13912345678,{paths[probationary.organisation_id]},在册,正式党员\n",  # a formula
        encoding="utf-8-sig",
    )
    told = await imported(news)
    assert told.errors == [] and told.mobile_ended == [f"{mobile[0].name}（第2行）"]
    # The other, moved into a 流动党员党小组 (as 流动党小组 in chat makes one).
    branch = await Organisation.get(id=mobile[1].organisation_id)
    name = "流动党员党小组（苏州）"
    flowing = await Organisation.create(
        name=name, kind=OrgKind.GROUP, parent=branch, path=f"{branch.path}/{name}"
    )
    await Member.filter(id=mobile[1].id).update(group_id=flowing.id)

    path = await exported(top, tmp_path)
    data = path.read_bytes()
    by_phone = {r["手机号"]: r for r in rows_of(data, ROLL)}
    gone, still = by_phone[mobile[0].phone], by_phone[mobile[1].phone]
    assert (gone["状态"], gone["流动党员"], gone["流出去向"]) == ("转出", "否", None)
    assert (still["状态"], still["流动党员"], still["党小组"]) == ("在册", "是", name)
    assert by_phone[probationary.phone]["党员类别"] == "预备党员"
    typed = book_of(data)[ROLL]
    [cell] = [row[0] for row in typed.iter_rows(4) if row[1].value == "13912345678"]
    assert (cell.value, cell.data_type, cell.quotePrefix) == ("=1+1", "s", True)  # text, not a sum
    nothing_changed(await imported(path, dry_run=True), ON_ROLL + 1)

    roll, out = await the_roll(), await away()
    assert roll[mobile[0].phone][8] == MemberStatus.TRANSFERRED and mobile[1].phone in out
    orgs = {r["组织（完整路径）"]: r["备注"] for r in rows_of(data, ORGS)}
    await close_database()

    await open_database(migrated(tmp_path / "empty.sqlite3"))
    report = await imported(path)
    assert report.errors == [] and report.created == ON_ROLL + 1
    assert report.mobile_created == len(out)  # each open 流出 record, from its three columns
    assert await the_roll() == roll
    assert await away() == out
    # What the 组织 sheet says an import would not make is exactly what is missing.
    made = set(await Organisation.all().values_list("path", flat=True))
    assert {p for p, note in orgs.items() if note} == set(orgs) - made
    assert made <= set(orgs)


async def test_one_edit_in_the_workbook_is_one_update(street: str, tmp_path: Path) -> None:
    chosen = await Member.filter(education="初中", incoming=False, role=Role.MEMBER).first()
    assert chosen is not None
    path = await exported(await Organisation.get(id=chosen.organisation_id), tmp_path)
    book = openpyxl.load_workbook(path)
    row = next(r for r in book[ROLL].iter_rows(4) if r[1].value == chosen.phone)
    assert row[4].value == "初中"  # 学历
    row[4].value = "高中"
    book.save(tmp_path / "edited.xlsx")
    rows = book[ROLL].max_row - 3

    dry = await imported(tmp_path / "edited.xlsx", dry_run=True)
    assert (dry.errors, dry.updated, dry.unchanged) == ([], 1, rows - 1)
    report = await imported(tmp_path / "edited.xlsx")
    assert (report.created, report.updated, report.unchanged) == (0, 1, rows - 1)
    assert (await Member.get(id=chosen.id)).education == "高中"


async def test_a_branch_or_a_group_is_its_own_roll(street: str, tmp_path: Path) -> None:
    branch = await Organisation.filter(kind=OrgKind.BRANCH).order_by("id").first()
    group = await Organisation.filter(kind=OrgKind.GROUP).order_by("id").first()
    assert branch is not None and group is not None
    above = await Organisation.get(id=group.parent_id)  # a group's members are its branch's
    for org, where, path in (
        (branch, {"organisation_id": branch.id}, branch.path),
        (group, {"group_id": group.id}, above.path),
    ):
        data = (await exported(org, tmp_path, f"{org.id}.xlsx")).read_bytes()
        roll = rows_of(data, ROLL)
        theirs = Member.filter(**where, incoming=False).exclude(status=MemberStatus.STOPPED)
        assert roll and {r["手机号"] for r in roll} == set(
            await theirs.values_list("phone", flat=True)
        )
        assert {r["所在组织"] for r in roll} == {path}
        assert next(r["组织（完整路径）"] for r in rows_of(data, ORGS)) == org.path
        nothing_changed(await imported(tmp_path / f"{org.id}.xlsx"), len(roll))


# --- the doors -----------------------------------------------------------------------------------


def test_the_command_writes_the_roll_and_names_a_wrong_organisation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("DANGJIAN_DB_URL", "DANGJIAN_REDIS_URL", "DANGJIAN_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DANGJIAN_DATA_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    busy_street(tmp_path / "dangjian.sqlite3")

    assert main(["export-members", "--out", "roll.xlsx"]) == 0
    said = capsys.readouterr().out
    assert f"党员花名册 {ON_ROLL} 人" in said and "流入党员 6 人，停止党籍 2 人" in said
    assert (tmp_path / "roll.xlsx").stat().st_size > 50_000

    assert main(["export-members", "--org", "红星村第一党支部"]) == 0
    [written] = tmp_path.glob("党员花名册-红星村第一党支部-*.xlsx")  # the default name
    assert header_of(written.read_bytes()) == HEADER
    capsys.readouterr()
    assert main(["import-members", str(written), "--dry-run"]) == 0
    assert "更新 updated 0，" in capsys.readouterr().out

    assert main(["export-members", "--org", "月亮村第九党支部", "--out", "no.xlsx"]) == 2
    err = capsys.readouterr().err
    assert "--org: 没有 id、完整路径或名称为“月亮村第九党支部”的组织" in err
    assert not (tmp_path / "no.xlsx").exists()
    assert main(["export-members", "--org", "第一网格党小组"]) == 2  # many have the name
    assert "请改用 id 或完整路径" in capsys.readouterr().err


@pytest.fixture
async def app_street(
    aiohttp_client: Any, make_settings: Any, tmp_path: Path
) -> tuple[TestClient, Organisation, Member]:
    """The busy street served, and a secretary of a branch with a 流出 member."""
    url = busy_street(tmp_path / "served.sqlite3")
    client = await aiohttp_client(
        create_app(make_settings(db_url=url, identity_ttl=0), clock=FrozenClock(NOW))
    )
    away = await Member.filter(is_mobile=True).order_by("id").first()
    assert away is not None
    branch = await Organisation.get(id=away.organisation_id)
    secretary = await Member.get(organisation_id=branch.id, role=Role.SECRETARY)
    return client, branch, secretary


async def test_a_secretary_downloads_her_branch_from_the_members_page(
    app_street: tuple[TestClient, Organisation, Member],
) -> None:
    client, branch, secretary = app_street
    await sign_in(client, secretary)
    page = await client.get("/admin/members")
    assert f'href="/admin/members/export?org={branch.id}"' in await page.text()

    resp = await client.get("/admin/members/export", params={"org": str(branch.id)})
    assert resp.status == 200, await resp.text()
    assert resp.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "filename*=UTF-8''" in resp.headers["Content-Disposition"]
    data = await resp.read()
    assert header_of(data) == HEADER
    roll = rows_of(data, ROLL)
    theirs = await Member.filter(organisation_id=branch.id, incoming=False).exclude(
        status=MemberStatus.STOPPED
    )
    assert {r["手机号"] for r in roll} == {m.phone for m in theirs}
    assert {r["所在组织"] for r in roll} == {branch.path}
    assert any(r["流动党员"] == "是" for r in roll)
    assert all(r["组织（完整路径）"].startswith(branch.path) for r in rows_of(data, ORGS))
    assert (await client.get("/admin/members/export")).status == 200  # her branch by default

    other = await Organisation.filter(kind=OrgKind.BRANCH).exclude(id=branch.id).first()
    assert other is not None
    refused = [
        await client.get("/admin/members/export", params={"org": org})
        for org in (str(other.id), str((await committee()).id), "999999")
    ]
    assert [r.status for r in refused] == [403, 403, 403]
    bodies = {await r.text() for r in refused}
    assert len(bodies) == 1  # another branch looks like nothing at all
    bad = await client.get("/admin/members/export", params={"org": "1 OR 1=1"})
    assert bad.status == 400 and "组织编号应为正整数" in await bad.text()


async def test_the_api_gives_the_roll_to_leaders_of_their_scope_only(
    app_street: tuple[TestClient, Organisation, Member], fake_wechat: tuple[FakeWeChat, str]
) -> None:
    client, branch, secretary = app_street
    headers = await signed_in(client, fake_wechat[0], secretary)
    resp = await client.get("/api/v1/roster/export", headers=headers)
    assert resp.status == 200, await resp.text()
    roll = rows_of(await resp.read(), ROLL)
    assert roll and {r["所在组织"] for r in roll} == {branch.path}

    other = await Organisation.filter(kind=OrgKind.BRANCH).exclude(id=branch.id).first()
    assert other is not None
    elsewhere = await client.get(
        "/api/v1/roster/export", params={"org": str(other.id)}, headers=headers
    )
    nowhere = await client.get("/api/v1/roster/export", params={"org": "999999"}, headers=headers)
    assert (elsewhere.status, nowhere.status) == (403, 403)
    assert await elsewhere.json() == await nowhere.json()

    # A 支委委员 reads the masked roster, not the file with full phones.
    committee_member = await Member.filter(
        organisation_id=branch.id, role=Role.COMMITTEE_MEMBER, status=MemberStatus.ACTIVE
    ).first()
    assert committee_member is not None
    theirs = await signed_in(client, fake_wechat[0], committee_member)
    assert (await client.get("/api/v1/members", headers=theirs)).status == 200
    refused = await client.get("/api/v1/roster/export", headers=theirs)
    assert refused.status == 403

    # Staff take out a 党总支 of the street.
    staff = await Member.filter(role=Role.STAFF, status=MemberStatus.ACTIVE).first()
    assert staff is not None
    general = await Organisation.get(id=branch.parent_id)
    assert general.kind is OrgKind.GENERAL_BRANCH
    theirs = await signed_in(client, fake_wechat[0], staff)
    resp = await client.get(
        "/api/v1/roster/export", params={"org": str(general.id)}, headers=theirs
    )
    assert resp.status == 200
    paths = {r["所在组织"] for r in rows_of(await resp.read(), ROLL)}
    assert general.path in paths and branch.path in paths  # its 总支书记, and its branches
    assert all(p == general.path or p.startswith(general.path + "/") for p in paths)
