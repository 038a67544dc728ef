"""`dangjian backup` and `dangjian restore` on SQLite: a busy street round trip, and the
restores that must be refused (over data without --force, a damaged file, a newer schema)."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import sqlite3
import subprocess
import tempfile
from datetime import date
from pathlib import Path

import pytest

from server.backup import Restored, backup, restore, table_counts
from server.cli import main
from server.db import close_database, open_database
from server.errors import ConfigError, Conflict, ValidationFailed
from server.models.people import Organisation
from server.services.demo.community import seed_community
from server.services.demo.mobility import seed_mobility
from server.services.demo.street import DemoReport
from server.services.tallies.report import TallyReport, tally_report
from server.settings import Settings, load_settings
from tests.demo_street import DAY, NOW, ZONE, seeded_street


def settings_at(folder: Path) -> Settings:
    return load_settings(DANGJIAN_DATA_DIR=str(folder))


_BUSY: list[Path] = []  # the busy street of this run, seeded by the first test asking


async def _add_community_and_mobility(url: str, street: DemoReport) -> None:
    await open_database(url, migrate=False)
    try:
        await seed_community(DAY, ZONE, seed=2023, now=NOW)
        await seed_mobility(
            DAY, ZONE, seed=2023, now=NOW, cadence_days=30, samples=street.sample_members
        )
    finally:
        await close_database()


def live_street(tmp_path: Path) -> Settings:
    """The demo street with its eight weeks, a year of 双报到 and of 流动党员, as the
    configured database of `tmp_path/live`."""
    if not _BUSY:
        path = Path(tempfile.mkdtemp(prefix="dangjian-busy-")) / "busy.sqlite3"
        url, street, _ = seeded_street(path)
        asyncio.run(_add_community_and_mobility(url, street))
        _BUSY.append(path)
    (tmp_path / "live").mkdir()
    shutil.copyfile(_BUSY[0], tmp_path / "live" / "dangjian.sqlite3")
    return settings_at(tmp_path / "live")


async def _committee_report(url: str) -> TallyReport:
    await open_database(url, migrate=False)
    try:
        top = await Organisation.filter(parent_id=None).order_by("id").first()
        assert top is not None
        return await tally_report(
            top, date(DAY.year, 1, 1), DAY, by=None, today=DAY, zone=ZONE, now=NOW
        )
    finally:
        await close_database()


def committee_report(settings: Settings) -> TallyReport:
    return asyncio.run(_committee_report(settings.database_url))


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_round_trip_through_the_commands_keeps_every_table_and_the_tallies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    live = live_street(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DANGJIAN_DATA_DIR", str(live.data_dir))
    assert main(["backup"]) == 0
    written = list((live.data_dir / "backups").glob("dangjian-*.sqlite3"))
    assert len(written) == 1, written
    printed = capsys.readouterr().out
    assert f"wrote {written[0]}" in printed
    assert "member " in printed  # the row counts, table by table

    fresh = settings_at(tmp_path / "fresh")
    monkeypatch.setenv("DANGJIAN_DATA_DIR", str(fresh.data_dir))
    assert main(["restore", str(written[0])]) == 0
    assert f"into {fresh.sqlite_file}" in capsys.readouterr().out

    before, after = table_counts(live), table_counts(fresh)
    assert before == after
    assert before["member"] > 1000 and before["tortoise_migrations"] > 0
    assert sum(1 for rows in before.values() if rows) > 20  # a busy street, not an empty one
    report = committee_report(fresh)
    assert report == committee_report(live)
    assert report.sentence.startswith(f"{DAY.year}年以来")


def test_restore_onto_a_database_needs_force_and_keeps_what_was_there(tmp_path: Path) -> None:
    live = live_street(tmp_path)
    made = backup(live, tmp_path / "out")
    other = settings_at(tmp_path / "other")
    other.data_dir.mkdir()
    target = other.sqlite_file
    assert target is not None
    sqlite3.connect(target).executescript(
        "CREATE TABLE tortoise_migrations (id INTEGER PRIMARY KEY, name TEXT);"
        "INSERT INTO tortoise_migrations (name) VALUES ('0001_initial');"
    )
    was = digest(target)

    with pytest.raises(Conflict, match="--force") as refused:
        restore(other, made, force=False)
    assert str(target) in refused.value.user_message
    assert digest(target) == was
    assert list(other.data_dir.iterdir()) == [target]  # nothing written beside it either

    done = restore(other, made, force=True)
    assert isinstance(done, Restored) and done.kept is not None
    assert done.kept.name.startswith("dangjian.sqlite3.before-restore-")
    with sqlite3.connect(done.kept) as kept:
        assert kept.execute("SELECT name FROM tortoise_migrations").fetchall() == [
            ("0001_initial",)
        ]
    kept.close()
    assert done.counts == table_counts(live) == table_counts(other)


def test_cli_refusal_over_data_says_to_use_force(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    live = live_street(tmp_path)
    made = backup(live, tmp_path / "out" / "copy.sqlite3")
    assert made == tmp_path / "out" / "copy.sqlite3"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DANGJIAN_DATA_DIR", str(live.data_dir))
    assert live.sqlite_file is not None
    was = digest(live.sqlite_file)
    assert main(["restore", str(made)]) == 1
    assert "--force" in capsys.readouterr().err
    assert digest(live.sqlite_file) == was
    assert main(["backup", "--out", str(made)]) == 1  # never over a backup
    assert "exists already" in capsys.readouterr().err


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_file_is_refused_naming_it(tmp_path: Path, damage: str) -> None:
    live = live_street(tmp_path)
    made = backup(live, tmp_path / "out")
    bad = tmp_path / f"{damage}.sqlite3"
    if damage == "garbage":
        bad.write_bytes(b"not a database at all\n" * 500)
    else:
        data = made.read_bytes()
        bad.write_bytes(data[: len(data) // 3])
    fresh = settings_at(tmp_path / "fresh")
    with pytest.raises(ValidationFailed) as refused:
        restore(fresh, bad, force=False)
    assert str(bad) in refused.value.user_message
    assert not (tmp_path / "fresh").exists()


def test_a_missing_file_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed, match="no such backup file"):
        restore(settings_at(tmp_path), tmp_path / "nowhere.sqlite3", force=True)


def test_a_backup_from_a_newer_schema_is_refused(tmp_path: Path) -> None:
    live = live_street(tmp_path)
    made = backup(live, tmp_path / "out")
    with sqlite3.connect(made) as conn:
        conn.execute(
            "INSERT INTO tortoise_migrations (app, name, applied_at) "
            "VALUES ('models', '9999_from_the_future', '2030-01-01 00:00:00+00:00')"
        )
    conn.close()
    fresh = settings_at(tmp_path / "fresh")
    with pytest.raises(Conflict, match="9999_from_the_future") as refused:
        restore(fresh, made, force=False)
    assert "upgrade dangjian first" in refused.value.user_message
    assert not (tmp_path / "fresh").exists()


def test_a_postgres_dump_is_not_restored_into_sqlite(tmp_path: Path) -> None:
    dump = tmp_path / "dangjian-20261207-010000.dump"
    dump.write_bytes(b"PGDMP\x01\x0f\x00" + b"\x00" * 100)
    with pytest.raises(ValidationFailed, match="DANGJIAN_DB_URL"):
        restore(settings_at(tmp_path / "fresh"), dump, force=False)


def test_without_pg_dump_the_error_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings(
        DANGJIAN_DB_URL="postgres://dangjian:s3cret@127.0.0.1:5432/dangjian",
        DANGJIAN_DATA_DIR=str(tmp_path),
    )
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on it
    with pytest.raises(ConfigError, match="pg_dump is not installed"):
        backup(settings, tmp_path / "out")
    assert not list((tmp_path / "out").glob("*"))


def test_the_password_goes_by_the_environment_never_argv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings(
        DANGJIAN_DB_URL="postgres://dangjian:s%40cret@db.example:6543/dj?maxsize=5",
        DANGJIAN_DATA_DIR=str(tmp_path),
    )
    seen: list[tuple[list[str], dict[str, str]]] = []

    def fake_run(argv: list[str], *, env: dict[str, str], **_: object) -> object:
        seen.append((argv, env))
        Path(argv[-1].removeprefix("--file=")).write_bytes(b"PGDMP")
        return subprocess.CompletedProcess(argv, 0, "", "")

    monkeypatch.setattr("server.backup.shutil.which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr("server.backup.subprocess.run", fake_run)
    made = backup(settings, tmp_path / "out")
    assert made.read_bytes() == b"PGDMP"
    ((argv, env),) = seen
    assert argv[:2] == ["/usr/bin/pg_dump", "--format=custom"]
    assert not any("cret" in arg for arg in argv)
    assert (env["PGPASSWORD"], env["PGUSER"], env["PGHOST"]) == ("s@cret", "dangjian", "db.example")
    assert (env["PGPORT"], env["PGDATABASE"]) == ("6543", "dj")
