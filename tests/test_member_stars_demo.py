"""The demo street's ledgers: every branch's evidence adds up to what the tallies count.

For each 党支部 of the seeded street, the 2026 ledger's organisational life (应到, 出席, 请假,
缺席) and 心得 (handed in, approved), summed over its members, equal `tally_report` for the
branch and the year — wherever the tallies' rows are all of the ledger's members (a member who
moved or left is counted by the tallies where they were, and is in no branch's ledger now).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest

from server.clock import day_start
from server.db import close_database, open_database
from server.models.meetings import AttendeeRole, MeetingAttendee, held
from server.models.people import Member, Organisation, OrgKind, Role
from server.models.study import Submission
from server.services.member_stars import ledger
from server.services.people.scope import subtree
from server.services.tallies.counting import within
from server.services.tallies.report import tally_report
from server.settings import Settings
from tests.demo_street import DAY, NOW, ZONE, seeded_street


@pytest.fixture
async def street(tmp_path: Path) -> AsyncIterator[None]:
    url, _, _ = seeded_street(tmp_path / "street.sqlite3")
    await open_database(url)
    yield
    await close_database()


async def test_every_branchs_evidence_equals_the_tallies(street: None) -> None:
    settings = Settings(_env_file=None, db_url="sqlite://:memory:")
    first, last = date(2026, 1, 1), date(2026, 12, 31)
    compared = 0
    branches = await Organisation.filter(kind=OrgKind.BRANCH).order_by("path")
    for branch in branches:
        book = await ledger.ledger(branch, 2026, NOW, settings)
        mine = {e.member.id for e in book.entries}
        ids = [o.id for o in await Organisation.filter(subtree(branch.path))]
        counted = set(
            await MeetingAttendee.filter(
                held(NOW, "meeting__"), within(ids), role=AttendeeRole.EXPECTED,
                meeting__starts_at__gte=day_start(first, ZONE),
            ).values_list("member_id", flat=True)
        ) | set(
            await Submission.filter(within(ids), day__gte=first).values_list("member_id", flat=True)
        )  # fmt: skip
        if not counted or not counted <= mine:
            continue
        report = await tally_report(
            branch, first, last, by=None, today=DAY, zone=ZONE, now=NOW, service=False
        )
        keys = ("expected", "present", "leave", "absent", "submitted", "approved")
        summed = {k: sum(getattr(e.evidence, k) for e in book.entries) for k in keys}
        assert summed == {k: getattr(report.total, k) for k in keys}, branch.name
        compared += 1
    # Most branches compare; those that do not had a member move or leave during the year.
    assert compared >= len(branches) // 2 and compared > 3, (compared, len(branches))


async def test_a_demo_branch_decides_its_year_and_its_members_see_their_stars(
    street: None,
) -> None:
    settings = Settings(_env_file=None, db_url="sqlite://:memory:")
    branch = await Organisation.filter(kind=OrgKind.BRANCH).order_by("path").first()
    assert branch is not None
    secretary = await Member.get(organisation_id=branch.id, role=Role.SECRETARY)
    book = await ledger.ledger(branch, 2026, NOW, settings)
    assert len(book.entries) > 5
    for entry in book.entries:  # each as suggested: no reason needed
        await ledger.decide(
            secretary, branch, entry.member.id, 2026, star=entry.suggestion.level,
            exempt=False, reason="", now=NOW,
        )  # fmt: skip
    await ledger.confirm(secretary, branch, 2026, None, NOW, ZONE)
    for entry in book.entries:
        mine = (await ledger.my_star(entry.member)).decided
        assert mine is not None and (mine.year, mine.star) == (2026, entry.suggestion.level)
    # The suggestions spread across levels: the rule reads the records, not one default.
    assert len({e.suggestion.level for e in book.entries}) > 1


async def test_the_ledger_lists_the_party_groups_in_the_order_the_branch_set_them_up(
    street: None,
) -> None:
    """第一, 第二, 第三 … 网格党小组 as the secretary knows them (by name 第三 sorts before 第二),
    members in no group last: an order of the list, never of merit."""
    settings = Settings(_env_file=None, db_url="sqlite://:memory:")
    branch = await Organisation.get(path="示范街道党工委/红星村党总支/红星村第一党支部")
    book = await ledger.ledger(branch, 2026, NOW, settings)
    seen: list[str] = []
    for entry in book.entries:
        if not seen or seen[-1] != entry.group:
            seen.append(entry.group)
    groups = await Organisation.filter(parent_id=branch.id, kind=OrgKind.GROUP).order_by("id")
    in_use = [g.name for g in groups if g.name in seen]
    assert [g for g in seen if g] == in_use and len(in_use) >= 3
    assert "" not in seen[: len(in_use)]  # those in no group come after every group
