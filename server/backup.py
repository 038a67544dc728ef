"""Backing the database up and restoring it: `dangjian backup` and `dangjian restore`.

SQLite through its online backup API (a consistent copy while the servers keep writing);
PostgreSQL through `pg_dump --format=custom` and `pg_restore`, in one transaction.  A restore
never lands on data without `force`, and a backup the code is too old to read (a migration it
does not know) is refused before anything is written.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

from server.errors import ConfigError, Conflict, ValidationFailed
from server.settings import Settings

MIGRATIONS_TABLE = "tortoise_migrations"
SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"


@dataclass(frozen=True)
class Restored:
    into: str  # the SQLite file, or the PostgreSQL database's name
    counts: dict[str, int]  # rows per table, as restored
    kept: Path | None  # what was there before (`force`), backed up first


def stamp(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")


def backup(settings: Settings, out: Path, *, now: datetime | None = None) -> Path:
    """Write a backup of the database to `out` (a folder: a stamped file in it); its path."""
    suffix = ".dump" if settings.is_postgres else ".sqlite3"
    if out.is_dir() or (not out.exists() and not out.suffix):
        out = out / f"dangjian-{stamp(now)}{suffix}"
    if out.exists():
        raise Conflict(f"{out} exists already: name another file or folder with --out.")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValidationFailed(
            f"cannot create {out.parent} ({exc.strerror})", field="out"
        ) from None
    partial = out.with_name(out.name + ".partial")  # never mistaken for a finished backup
    try:
        if settings.is_postgres:
            _pg_dump(settings, partial)
        else:
            _sqlite_copy(_sqlite_source(settings), partial)
            _check_sqlite(partial)
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    return out


def restore(settings: Settings, src: Path, *, force: bool) -> Restored:
    """Put the backup `src` in place of the configured database (see the module's doc)."""
    if not src.is_file():
        raise ValidationFailed(f"{src}: no such backup file.", field="file")
    with src.open("rb") as head:
        magic = head.read(len(SQLITE_MAGIC))
    if settings.is_postgres:
        if magic.startswith(SQLITE_MAGIC):
            raise ValidationFailed(
                f"{src} is a SQLite backup but DANGJIAN_DB_URL is PostgreSQL.", field="file"
            )
        return _pg_restore(settings, src, force=force)
    if magic.startswith(PG_DUMP_MAGIC):
        raise ValidationFailed(
            f"{src} is a PostgreSQL dump: set DANGJIAN_DB_URL to the PostgreSQL database.",
            field="file",
        )
    return _sqlite_restore(settings, src, force=force)


def known_migrations() -> set[str]:
    """The migrations this code has (their names as the migrations table records them)."""
    package = importlib.import_module("server.db").MIGRATIONS
    folder = Path(importlib.import_module(package).__file__ or "").parent
    return {p.stem for p in folder.glob("[0-9][0-9][0-9][0-9]_*.py")}


def _refuse_newer(src: Path, applied: list[str]) -> None:
    if not applied:
        raise ValidationFailed(
            f"{src} is not a dangjian backup (no migrations in it).", field="file"
        )
    unknown = sorted(set(applied) - known_migrations())
    if unknown:
        raise Conflict(
            f"{src} was made by a newer dangjian (migrations this code does not know: "
            f"{', '.join(unknown)}): upgrade dangjian first, then restore it."
        )


# SQLite ------------------------------------------------------------------------------------


def _sqlite_source(settings: Settings) -> Path:
    found = settings.sqlite_file
    if found is None or not found.is_file():
        raise ConfigError(f"DANGJIAN_DB_URL / DANGJIAN_DATA_DIR: no database file at {found}.")
    return found


def _read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)


def _sqlite_copy(src: Path, dst: Path) -> None:
    """src → dst by the online backup API: consistent even while another process writes."""
    source = _read_only(src)
    target = sqlite3.connect(dst)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


def _check_sqlite(path: Path) -> list[str]:
    """The migrations recorded in a sound SQLite file; a damaged or foreign one is refused."""
    try:
        conn = _read_only(path)
        try:
            problems = [row[0] for row in conn.execute("PRAGMA integrity_check")]
            if problems != ["ok"]:
                raise ValidationFailed(
                    f"{path} is damaged (integrity check: {'; '.join(problems[:3])}); "
                    "use another backup.",
                    field="file",
                )
            rows = conn.execute(f"SELECT name FROM {MIGRATIONS_TABLE}").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise ValidationFailed(
            f"{path} is not a readable dangjian backup ({exc}); use another backup.", field="file"
        ) from None
    return [row[0] for row in rows]


def _sqlite_counts(path: Path) -> dict[str, int]:
    conn = _read_only(path)
    try:
        names = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        return {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}
    finally:
        conn.close()


def _sqlite_restore(settings: Settings, src: Path, *, force: bool) -> Restored:
    target = settings.sqlite_file
    if target is None:
        raise ConfigError("DANGJIAN_DB_URL: an in-memory database cannot be restored into.")
    if target.exists() and src.resolve() == target.resolve():
        raise ValidationFailed(f"{src} is the database itself.", field="file")
    _refuse_newer(src, _check_sqlite(src))
    kept = None
    if target.exists():
        if not force:
            raise Conflict(
                f"{target} exists already: stop the servers and run dangjian restore {src} "
                "--force to replace it (it is backed up next to itself first)."
            )
        kept = target.with_name(f"{target.name}.before-restore-{stamp()}")
        _sqlite_copy(target, kept)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Into the target through the backup API too: it takes the database's lock and writes
    # through its journal, so a stale -wal file can never be replayed onto the restored pages.
    _sqlite_copy(src, target)
    _refuse_newer(target, _check_sqlite(target))
    return Restored(str(target), _sqlite_counts(target), kept)


# PostgreSQL --------------------------------------------------------------------------------


def _pg_env(settings: Settings) -> tuple[dict[str, str], str]:
    """The libpq environment for the configured database (the password never on argv)."""
    url = urlsplit(settings.database_url)
    name = unquote(url.path.lstrip("/"))
    if not url.hostname or not name:
        raise ConfigError("DANGJIAN_DB_URL: expected postgres://user[:password]@host:port/db.")
    env = {**os.environ, "PGHOST": url.hostname, "PGPORT": str(url.port or 5432)}
    env["PGDATABASE"] = name
    if url.username:
        env["PGUSER"] = unquote(url.username)
    if url.password:
        env["PGPASSWORD"] = unquote(url.password)
    return env, name


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise ConfigError(
            f"{name} is not installed (not on PATH): install PostgreSQL's client tools "
            "(Debian: apt install postgresql-client), of the server's version or newer."
        )
    return found


def _run(argv: list[str], env: dict[str, str], what: str) -> str:
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ConfigError(f"{what} failed: {done.stderr.strip()[-800:]}")
    return done.stdout


def _pg_dump(settings: Settings, out: Path) -> None:
    env, _ = _pg_env(settings)
    _run([_tool("pg_dump"), "--format=custom", "--no-password", f"--file={out}"], env, "pg_dump")


def _pg_migrations(src: Path, env: dict[str, str]) -> list[str]:
    """The migrations recorded in a custom-format dump, read without restoring it."""
    done = subprocess.run(
        [_tool("pg_restore"), "--data-only", f"--table={MIGRATIONS_TABLE}", "--file=-", str(src)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise ValidationFailed(
            f"{src} is not a readable pg_dump archive ({done.stderr.strip()[-300:]}); "
            "use another backup.",
            field="file",
        )
    names: list[str] = []
    column: int | None = None
    for line in done.stdout.splitlines():
        if column is None:
            if m := re.match(rf"COPY \S*{MIGRATIONS_TABLE} \((.*)\) FROM stdin;", line):
                column = [c.strip().strip('"') for c in m.group(1).split(",")].index("name")
        elif line == "\\.":
            break
        else:
            names.append(line.split("\t")[column])
    return names


async def _pg_counts_async(env: dict[str, str]) -> dict[str, int]:
    import asyncpg

    conn = await asyncpg.connect(
        host=env["PGHOST"],
        port=int(env["PGPORT"]),
        user=env.get("PGUSER"),
        password=env.get("PGPASSWORD"),
        database=env["PGDATABASE"],
    )
    try:
        names = [
            r["tablename"]
            for r in await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            )
        ]
        return {n: await conn.fetchval(f'SELECT count(*) FROM "{n}"') for n in names}
    finally:
        await conn.close()


def table_counts(settings: Settings) -> dict[str, int]:
    """Rows per table of the configured database (not to be called inside an event loop)."""
    if settings.is_postgres:
        env, _ = _pg_env(settings)
        return asyncio.run(_pg_counts_async(env))
    return _sqlite_counts(_sqlite_source(settings))


def backup_counts(settings: Settings, path: Path) -> dict[str, int]:
    """Rows per table in a backup just written (PostgreSQL: the database it was taken from)."""
    return table_counts(settings) if settings.is_postgres else _sqlite_counts(path)


def _pg_restore(settings: Settings, src: Path, *, force: bool) -> Restored:
    env, name = _pg_env(settings)
    _refuse_newer(src, _pg_migrations(src, env))
    before = asyncio.run(_pg_counts_async(env))
    kept = None
    if any(n for table, n in before.items() if table != MIGRATIONS_TABLE):
        if not force:
            raise Conflict(
                f"the database {name} holds data already: stop the servers and run dangjian "
                f"restore {src} --force to replace it (it is dumped to "
                f"{settings.data_dir / 'backups'} first)."
            )
        kept = backup(
            settings, settings.data_dir / "backups" / f"{name}.before-restore-{stamp()}.dump"
        )
    # One transaction: a restore that fails half-way leaves the database as it was.
    _run(
        [
            _tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--no-password",
            f"--dbname={name}",
            str(src),
        ],
        env,
        "pg_restore",
    )
    return Restored(name, asyncio.run(_pg_counts_async(env)), kept)
