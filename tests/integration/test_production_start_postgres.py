"""In production a server pointed at a PostgreSQL database that was never migrated (a mistyped
name, a fresh server) refuses to start rather than make the tables and serve an empty street."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from tests.test_cli_startup import run_cli

pytestmark = pytest.mark.integration
PRODUCTION = {
    "DANGJIAN_ENV": "production",
    "WECHAT_TOKEN": "abc123",
    "WECHAT_APPID": "wx1",
    "WECHAT_SECRET": "s",
    "WECHAT_ENCRYPT_MODE": "plain",
}


async def tables(url: str) -> int:
    conn = await asyncpg.connect("postgresql://" + url.split("://", 1)[1])
    try:
        return int(await conn.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname='public'"))
    finally:
        await conn.close()


async def test_production_serves_no_postgres_database_it_did_not_migrate(
    pg_empty_url: str, tmp_path: Path
) -> None:
    env = {**PRODUCTION, "DANGJIAN_DB_URL": pg_empty_url}
    for command in (["serve"], ["import-members", "members.csv"]):
        done = await asyncio.to_thread(run_cli, tmp_path, *command, **env)
        assert done.returncode == 2, done.stderr
        assert "还没有建表" in done.stderr and "dangjian migrate" in done.stderr
    assert await tables(pg_empty_url) == 0  # nothing was made

    migrated = await asyncio.to_thread(run_cli, tmp_path, "migrate", **env)
    assert migrated.returncode == 0, migrated.stderr
    assert await tables(pg_empty_url) > 30
    # Migrated, the commands run (and say what they themselves find).
    report = await asyncio.to_thread(run_cli, tmp_path, "tally", "--format", "csv", **env)
    assert "还没有建表" not in report.stderr and "no organisation yet" in report.stderr
