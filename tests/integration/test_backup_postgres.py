"""`dangjian backup` and `dangjian restore` on PostgreSQL (pg_dump / pg_restore): a seeded
street restored into a second, empty database has every table's rows and the same tallies;
over data only with force, and what was there dumped first."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest

from server.backup import backup, restore, table_counts
from server.db import close_database, open_database
from server.errors import Conflict, ValidationFailed
from server.models.people import Organisation
from server.services.demo.community import seed_community
from server.services.demo.mobility import seed_mobility
from server.services.demo.street import seed_demo
from server.services.tallies.report import tally_report
from server.settings import Settings, load_settings
from tests.demo_street import DAY, NOW, ZONE
from tests.integration.conftest import _BASE, PG_ADMIN

pytestmark = pytest.mark.integration


@pytest.fixture
async def second_url() -> AsyncIterator[str]:
    """An empty database of its own (no migrations): where a restore goes on a new server."""
    import asyncpg

    admin = await asyncpg.connect("postgresql://" + PG_ADMIN.split("://", 1)[1], timeout=3)
    name = f"dangjian_restore_{uuid.uuid4().hex[:12]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{_BASE}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def settings_for(url: str, data_dir: Path) -> Settings:
    return load_settings(DANGJIAN_DB_URL=url, DANGJIAN_DATA_DIR=str(data_dir))


async def _committee_sentence(url: str) -> tuple[object, ...]:
    await open_database(url, migrate=False)
    try:
        top = await Organisation.filter(parent_id=None).order_by("id").first()
        assert top is not None
        report = await tally_report(
            top, date(DAY.year, 1, 1), DAY, by="branch", today=DAY, zone=ZONE, now=NOW
        )
        return report.sentence, report.total.as_dict(), [row.as_dict() for row in report.rows]
    finally:
        await close_database()


async def test_round_trip_into_an_empty_database(
    pg_url: str, second_url: str, tmp_path: Path
) -> None:
    await open_database(pg_url)
    try:
        street = await seed_demo(2023, today=DAY)
        await seed_community(DAY, ZONE, seed=2023, now=NOW)
        await seed_mobility(
            DAY, ZONE, seed=2023, now=NOW, cadence_days=30, samples=street.sample_members
        )
    finally:
        await close_database()
    live = settings_for(pg_url, tmp_path / "live")
    made = await asyncio.to_thread(backup, live, tmp_path / "out")
    assert made.name.startswith("dangjian-") and made.suffix == ".dump"

    fresh = settings_for(second_url, tmp_path / "fresh")
    done = await asyncio.to_thread(restore, fresh, made, force=False)
    assert done.kept is None
    before = await asyncio.to_thread(table_counts, live)
    assert done.counts == before == await asyncio.to_thread(table_counts, fresh)
    assert before["member"] > 1000 and before["tortoise_migrations"] > 0
    assert sum(1 for rows in before.values() if rows) > 15
    assert await _committee_sentence(second_url) == await _committee_sentence(pg_url)

    # Again, over the data now there: refused without force; with it, dumped first.
    with pytest.raises(Conflict, match="--force"):
        await asyncio.to_thread(restore, fresh, made, force=False)
    again = await asyncio.to_thread(restore, fresh, made, force=True)
    assert again.kept is not None and again.kept.is_file()
    assert again.kept.parent == tmp_path / "fresh" / "backups"
    assert again.counts == before


async def test_a_file_that_is_no_dump_is_refused_naming_it(second_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "dangjian-20261207-010000.dump"
    bad.write_bytes(b"PGDMP but not really" * 50)
    fresh = settings_for(second_url, tmp_path)
    with pytest.raises(ValidationFailed, match=str(bad)):
        await asyncio.to_thread(restore, fresh, bad, force=False)


async def test_a_dump_from_a_newer_schema_is_refused(
    pg_url: str, second_url: str, tmp_path: Path
) -> None:
    import asyncpg

    conn = await asyncpg.connect("postgresql://" + pg_url.split("://", 1)[1])
    await conn.execute(
        "INSERT INTO tortoise_migrations (app, name, applied_at) "
        "VALUES ('models', '9999_from_the_future', now())"
    )
    await conn.close()
    made = await asyncio.to_thread(backup, settings_for(pg_url, tmp_path), tmp_path / "out")
    fresh = settings_for(second_url, tmp_path)
    with pytest.raises(Conflict, match="9999_from_the_future"):
        await asyncio.to_thread(restore, fresh, made, force=False)
    assert await asyncio.to_thread(table_counts, fresh) == {}  # nothing restored
