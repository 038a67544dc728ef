"""The staff report on PostgreSQL: from the snapshot or counted live, the same figures."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from server.db import close_database, open_database
from server.models.people import Organisation
from server.services.tallies.report import BREAKDOWNS, tally_report
from tests.tally_oracle import participation
from tests.test_tallies import COMMITTEE, EAST, ZONE
from tests.test_tally_report import NOW, TODAY, YEAR, a_busy_quarter, snapshot_every_past_day

pytestmark = pytest.mark.integration


@pytest.fixture
async def pg(pg_url: str) -> AsyncIterator[str]:
    await open_database(pg_url)
    yield pg_url
    await close_database()


async def test_the_snapshot_and_the_live_count_agree_on_postgres(pg: str) -> None:
    await a_busy_quarter()
    await snapshot_every_past_day()
    for path in (COMMITTEE, EAST):
        org = await Organisation.get(path=path)
        for by in (None, *BREAKDOWNS):
            fast = await tally_report(org, *YEAR, by=by, today=TODAY, zone=ZONE, now=NOW)
            slow = await tally_report(
                org, *YEAR, by=by, today=TODAY, zone=ZONE, now=NOW, use_snapshots=False
            )
            assert fast == slow, (path, by)
            if by:
                for field in ("organised_study", "self_study", "meetings_held", "expected"):
                    rows = sum(getattr(r, field) for r in fast.rows)
                    assert rows == getattr(fast.total, field), (path, by, field)
    # Distinct members on PostgreSQL (a loose index scan, and date_trunc for the buckets)
    # against the plain count of tallies.participation, for the year and for each week.
    committee = await Organisation.get(path=COMMITTEE)
    for by in ("branch", "week"):
        report = await tally_report(committee, *YEAR, by=by, today=TODAY, zone=ZONE, now=NOW)
        for row in (report.total, *report.rows):
            if by == "branch" and row.org_id is None:
                continue  # the row outside every branch is not one subtree
            where = await Organisation.get(id=row.org_id) if row.org_id else committee
            live = await participation(where, row.start, row.end, ZONE, NOW)
            assert row.members_studied == live.members_studied, (by, row.key)
            assert row.members_self_studied == live.members_self_studied, (by, row.key)
