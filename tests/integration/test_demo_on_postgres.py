"""The demo street's eight weeks on PostgreSQL: the same seed writes the same street, so the
report counts the same figures as on SQLite, the copies flagged are the same, and a second
run adds nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from server.db import close_database, open_database
from server.models.people import Organisation
from server.models.study import Submission
from server.services.demo.activity import seed_activity
from server.services.demo.street import COMMITTEE, seed_demo
from server.services.tallies.report import tally_report
from tests.demo_street import DAY, NOW, ZONE, seeded_street

pytestmark = pytest.mark.integration


async def _figures() -> tuple[object, ...]:
    committee = await Organisation.get(path=COMMITTEE)
    report = await tally_report(
        committee, DAY - timedelta(days=56), DAY, by="branch", today=DAY, zone=ZONE, now=NOW
    )
    flagged = sorted(
        (s.day, s.similarity) for s in await Submission.filter(resembles__isnull=False)
    )
    return report.total.as_dict(), [row.as_dict() for row in report.rows], flagged


@pytest.fixture
async def on_sqlite(tmp_path: Path) -> tuple[object, ...]:
    url, _, _ = seeded_street(tmp_path / "street.sqlite3")
    await open_database(url)
    try:
        return await _figures()
    finally:
        await close_database()


@pytest.fixture
async def pg(pg_url: str) -> AsyncIterator[str]:
    await open_database(pg_url)
    yield pg_url
    await close_database()


async def test_the_demo_street_counts_the_same_on_postgres(
    on_sqlite: tuple[object, ...], pg: str
) -> None:
    await seed_demo(2023, today=DAY)
    written = await seed_activity(DAY, ZONE, now=NOW)
    assert written.rows > 10_000

    assert await _figures() == on_sqlite
    assert (await seed_activity(DAY, ZONE, now=NOW)).rows == 0
