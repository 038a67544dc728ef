"""seed-demo: the report's figures hold exactly, the street is deterministic and idempotent."""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from server.db import close_database, open_database
from server.errors import ValidationFailed
from server.models import Member, MemberStatus, Organisation, OrgKind, Role
from server.services import demo
from server.services.demo import COMMITTEE, age_on, build_demo, seed_demo
from server.services.importer import add_years, import_members
from server.services.orgs import ensure_path
from tests.conftest import migrated

TODAY = date(2024, 2, 29)
COLLEGE = {"大专", "本科", "研究生"}


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[None]:
    await open_database(migrated(tmp_path / "t.sqlite3"))
    yield
    await close_database()


# --- the generated street, without a database ---------------------------------------------------


# The whole year of 2024 must give the same counts: its first day, a leap day, its last day.
@pytest.mark.parametrize("today", [date(2024, 1, 1), TODAY, date(2024, 12, 31)])
def test_generated_figures_are_exact(today: date) -> None:
    street = build_demo(2023, date(2024, 6, 1))
    people = street.records

    assert len(people) == 1231
    assert len({p.phone for p in people}) == 1231
    assert sum(p.gender == "女" for p in people) == 216
    assert sum(p.education in COLLEGE for p in people) == 332
    assert sum(age_on(p.birth_date, today) <= 35 for p in people) == 314
    for p in people:
        assert re.fullmatch(r"1700000\d{4}", p.phone)
        assert p.status is MemberStatus.ACTIVE
        assert add_years(p.birth_date, 18) <= p.joined_on <= today


def test_generated_tree_matches_the_report() -> None:
    street = build_demo(2023, TODAY)
    kinds = Counter(
        OrgKind.COMMITTEE
        if path == COMMITTEE
        else OrgKind.GROUP
        if path.endswith("党小组")
        else OrgKind.GENERAL_BRANCH
        if path.endswith("总支")
        else OrgKind.BRANCH
        for path in street.org_paths
    )
    assert kinds == {
        OrgKind.COMMITTEE: 1,
        OrgKind.GENERAL_BRANCH: 14,
        OrgKind.BRANCH: 54,
        OrgKind.GROUP: 168,
    }
    assert len(demo.COMMUNITIES) == 12 and demo.RELOCATION_COMMUNITY in demo.COMMUNITIES

    roles = Counter((p.org_path, p.role) for p in street.records)
    branches = [path for path in street.org_paths if path.endswith("党支部")]
    assert all(roles[(branch, Role.SECRETARY)] == 1 for branch in branches)
    assert sum(roles[(b, Role.DEPUTY_SECRETARY)] for b in branches) > 0
    generals = [path for path in street.org_paths if path.endswith("总支")]
    assert all(roles[(g, Role.GENERAL_SECRETARY)] == 1 for g in generals)
    assert roles[(COMMITTEE, Role.STAFF)] >= 3
    leaders = Counter((p.org_path, p.group) for p in street.records if p.role is Role.GROUP_LEADER)
    grouped = {(p.org_path, p.group) for p in street.records if p.group}
    assert len(grouped) == 168 and all(leaders[g] == 1 for g in grouped)


def test_same_seed_same_street_other_seed_other_people() -> None:
    first, again = build_demo(2023, TODAY), build_demo(2023, date(2024, 11, 3))
    other = build_demo(7, TODAY)

    assert [(p.name, p.phone, p.birth_date) for p in first.records] == [
        (p.name, p.phone, p.birth_date) for p in again.records
    ]
    assert [p.phone for p in first.records] != [p.phone for p in other.records]
    assert first.org_paths == other.org_paths


# --- seeding the database -----------------------------------------------------------------------


async def test_seed_writes_exact_figures_and_second_run_is_a_no_op(db: None) -> None:
    report = await seed_demo(2023, today=TODAY)

    assert (report.created, report.updated, report.organisations_created) == (1231, 0, 237)
    orgs = Counter(o.kind for o in await Organisation.all())
    assert orgs == {
        OrgKind.COMMITTEE: 1,
        OrgKind.GENERAL_BRANCH: 14,
        OrgKind.BRANCH: 54,
        OrgKind.GROUP: 168,
    }
    members = await Member.all()
    assert len(members) == 1231
    assert sum(m.gender == "女" for m in members) == 216
    assert sum(m.education in COLLEGE for m in members) == 332
    assert sum(age_on(m.birth_date, TODAY) <= 35 for m in members) == 314
    secretaries = Counter(m.organisation_id for m in members if m.role is Role.SECRETARY)
    branch_ids = {o.id for o in await Organisation.filter(kind=OrgKind.BRANCH)}
    assert set(secretaries) == branch_ids and set(secretaries.values()) == {1}
    assert (report.members, report.women, report.college_or_above) == (1231, 216, 332)
    assert (report.aged_35_or_under, report.secretaries, report.groups) == (314, 54, 168)
    assert (report.communities, report.general_branches, report.branches) == (12, 14, 54)
    stamps = {m.phone: m.updated_at for m in members}

    again = await seed_demo(2023, today=date(2024, 12, 31))  # later the same year

    assert (again.created, again.updated, again.organisations_created) == (0, 0, 0)
    assert again.unchanged == 1231 and not again.changed
    assert "nothing changed" in again.summary()
    assert {m.phone: m.updated_at for m in await Member.all()} == stamps


async def test_sample_bind_lines_are_unambiguous(db: None) -> None:
    # Plant a real member whose 绑定 line would collide with the first demo secretary's.
    first_secretary = next(r for r in build_demo(2023, TODAY).records if r.role is Role.SECRETARY)
    branch = await ensure_path(f"{COMMITTEE}/测试党支部")
    await Member.create(
        name=first_secretary.name, phone=f"1391234{first_secretary.phone[-4:]}", organisation=branch
    )

    report = await seed_demo(2023, today=TODAY)

    samples = report.sample_members
    assert 3 <= len(samples) <= 5
    assert Role.SECRETARY in {s.role for s in samples}
    assert first_secretary.phone not in {s.phone for s in samples}
    summary = report.summary()
    for sample in samples:
        name, digits = sample.bind_line.removeprefix("绑定 ").split(" ")
        assert sample.bind_line in summary
        assert (name, digits) == (sample.name, sample.phone[-4:])
        matches = [m for m in await Member.filter(name=name) if m.phone.endswith(digits)]
        assert [m.phone for m in matches] == [sample.phone]
        assert (await Organisation.get(id=matches[0].organisation_id)).path == sample.org_path


async def test_refuses_a_database_with_another_committee(db: None) -> None:
    await ensure_path("真实街道党工委/一支部")
    with pytest.raises(ValidationFailed):
        await seed_demo(2023, today=TODAY)
    assert await Member.all().count() == 0
    assert await Organisation.all().count() == 2


async def test_demo_roll_passes_the_importer_unchanged(db: None, tmp_path: Path) -> None:
    """What seed-demo writes is what import-members accepts: exported and re-imported, no-op."""
    await seed_demo(2023, today=TODAY)
    paths = {o.id: o.path for o in await Organisation.all()}
    path = tmp_path / "roll.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["姓名", "手机号", "性别", "出生日期", "学历", "入党日期", "所在组织",
                      "党小组", "职务", "状态", "流动党员"])  # fmt: skip
        for m in await Member.all():
            group = paths[m.group_id].rsplit("/", 1)[1] if m.group_id else ""
            out.writerow([m.name, m.phone, m.gender, m.birth_date, m.education, m.joined_on,
                          paths[m.organisation_id], group, m.role.value,
                          "转出" if m.status is MemberStatus.TRANSFERRED else "在册",
                          "是" if m.is_mobile else "否"])  # fmt: skip

    report = await import_members(path, today=TODAY)

    assert report.errors == []
    assert (report.rows, report.unchanged, report.organisations_created) == (1231, 1231, 0)


async def test_the_demo_streets_eight_weeks_of_activity_show_in_the_report(db: None) -> None:
    from server.services.demo_activity import seed_activity
    from server.services.report import tally_report

    await seed_demo(2023, today=TODAY)
    written = await seed_activity(TODAY, ZoneInfo("Asia/Shanghai"))
    assert written > 10_000
    committee = await Organisation.get(path=COMMITTEE)
    report = await tally_report(
        committee,
        TODAY - timedelta(days=56),
        TODAY,
        by="branch",
        today=TODAY,
        zone=ZoneInfo("Asia/Shanghai"),
        now=datetime.combine(TODAY, time(0), ZoneInfo("Asia/Shanghai")),
    )
    assert report.total.organised_study > 1_000  # two 党课 in each branch
    assert report.total.self_study > 5_000
    assert report.total.exchange_person_times > 100
    assert report.total.meetings_held > 100 and report.total.attendance_rate
    assert all(row.check_ins for row in report.rows if row.org_id)  # every branch studied
    # Once: a street with activity gets none added.
    assert await seed_activity(TODAY, ZoneInfo("Asia/Shanghai")) == 0
