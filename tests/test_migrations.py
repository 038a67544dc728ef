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
