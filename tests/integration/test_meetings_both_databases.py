"""Scheduling on both databases: two confirmations of overlapping meetings, one wins."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from server.db import close_database, open_database
from server.models.meetings import Meeting
from server.models.people import Role
from server.services.meetings import scheduling
from tests.conftest import make_member, migrated

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_url"))
    return migrated(tmp_path / "meetings.sqlite3")


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[str]:
    await open_database(db_url)
    yield db_url
    await close_database()


async def test_overlapping_confirmations_at_once_leave_one_meeting(db: str) -> None:
    secretary = await make_member("李书记", "13700000001", role=Role.SECRETARY)
    at_three = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
    at_four = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    drafts = [
        await scheduling.prepare(secretary, "支委会", at_three, "研究发展党员", None, NOW, 90),
        await scheduling.prepare(secretary, "党课", at_four, "学习党章", None, NOW, 90),
    ]
    results = await asyncio.gather(
        *(scheduling.schedule(secretary, d, NOW) for d in drafts * 3), return_exceptions=True
    )
    assert sum(isinstance(r, Meeting) for r in results) == 1
    assert await Meeting.all().count() == 1
