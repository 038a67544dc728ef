"""The committed migrations match the models, and `dangjian migrate` applies them."""

from __future__ import annotations

from pathlib import Path

import pytest
from tortoise import Tortoise
from tortoise.migrations.autodetector import MigrationAutodetector

from server.cli import main
from server.db import TORTOISE_ORM, close_database, open_database


async def test_models_have_no_changes_missing_from_migrations() -> None:
    ctx = await Tortoise.init(config=TORTOISE_ORM)
    try:
        writers = await MigrationAutodetector(ctx.apps, TORTOISE_ORM["apps"]).changes()
    finally:
        await Tortoise.close_connections()
    assert writers == [], (
        "models changed without a migration: run "
        "`tortoise -c server.db.TORTOISE_ORM makemigrations` and commit the file"
    )


def test_migrate_command_creates_the_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DANGJIAN_DB_URL", f"sqlite://{tmp_path}/m.sqlite3")
    assert main(["migrate"]) == 0
    assert main(["migrate"]) == 0  # idempotent
    assert "up to date" in capsys.readouterr().out


async def test_opening_a_database_twice_applies_nothing_the_second_time(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path}/twice.sqlite3"
    await open_database(url)
    await close_database()
    await open_database(url)
    from tortoise import connections

    rows = await connections.get("default").execute_query_dict(
        "SELECT app, name FROM tortoise_migrations"
    )
    await close_database()
    folder = Path(__file__).resolve().parents[1] / "migrations"
    on_disk = sorted(p.stem for p in folder.glob("0*.py"))
    assert sorted(r["name"] for r in rows) == on_disk  # each applied exactly once
    assert len(rows) == len({r["name"] for r in rows})


_UPGRADE = """
import asyncio, sys
from tortoise import Tortoise, connections
from tortoise.migrations.executor import MigrationExecutor, MigrationTarget
from server.db import tortoise_config

async def run(url, target):
    config = tortoise_config(url)
    await Tortoise.init(config=config, _enable_global_fallback=True)
    try:
        executor = MigrationExecutor(connections.get("default"), config["apps"])
        targets = [MigrationTarget(app_label="models", name=target)] if target else None
        await executor.migrate(targets)
        if target:  # a street with members, as a deployment at that version has
            db = connections.get("default")
            await db.execute_script(
                "INSERT INTO organisation (id, name, kind, path, created_at)"
                " VALUES (1, '街道党工委', 'committee', '街道党工委', '2026-01-01 00:00:00');"
                "INSERT INTO member (name, phone, organisation_id, role, status, is_mobile,"
                " created_at, updated_at) VALUES ('张三', '13800000001', 1, '党员', 'active', 0,"
                " '2026-01-01 00:00:00', '2026-01-01 00:00:00');"
            )
    finally:
        await Tortoise.close_connections()

asyncio.run(run(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None))
"""


def test_a_database_with_members_in_it_upgrades(tmp_path: Path) -> None:
    """A deployment at the schema before 流动党员 (0028), members and all, takes the columns
    added since: each new NOT NULL column has a default the database itself fills in."""
    import os
    import subprocess
    import sys

    url = f"sqlite://{tmp_path}/old.sqlite3"
    root = Path(__file__).resolve().parents[1]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
    }
    for args in ([url, "0028_need_cancelled"], [url]):
        done = subprocess.run(
            [sys.executable, "-c", _UPGRADE, *args], env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr[-3000:]
    import sqlite3

    with sqlite3.connect(tmp_path / "old.sqlite3") as db:
        row = db.execute("SELECT name, incoming, probationary FROM member").fetchone()
    assert row == ("张三", 0, 0)
