"""The doctor's database check: reachable, its schema this code's, members on the roll.

Read only, always: SQLite is opened with `mode=ro` (a missing file is reported, never made) and
PostgreSQL's session has `default_transaction_read_only`.  No migration is applied — that is
`dangjian migrate`'s job (and every server's at start).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg

from server.backup import MIGRATIONS_TABLE, known_migrations
from server.doctor import Finding, fail, ok, warn
from server.settings import Settings

APP = "models"  # the tortoise app every migration of ours belongs to


@dataclass(frozen=True)
class Contents:
    engine: str  # "PostgreSQL 15.8" or "SQLite 3.40.1"
    where: str  # the file, or host:port/db without the password
    applied: list[str] | None  # None: no migrations table at all
    members: int  # active members
    organisations: int


def postgres_dsn(url: str) -> str:
    """asyncpg's address: tortoise's pool options stripped (PostgreSQL rejects them)."""
    return "postgresql://" + url.split("://", 1)[1].split("?", 1)[0]


def shown(url: str) -> str:
    """host:port/db, never the password."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 5432}{parts.path}"


_COUNTS = (
    "SELECT (SELECT count(*) FROM member WHERE status = 'active'), "
    "(SELECT count(*) FROM organisation)"
)


async def _postgres(url: str, seconds: float) -> Contents:
    conn = await asyncpg.connect(
        postgres_dsn(url),
        timeout=seconds,
        server_settings={
            "application_name": "dangjian-doctor",
            "default_transaction_read_only": "on",
        },
    )
    try:
        version = await conn.fetchval("SHOW server_version")
        applied = None
        if await conn.fetchval("SELECT to_regclass($1)", MIGRATIONS_TABLE) is not None:
            rows = await conn.fetch(f"SELECT name FROM {MIGRATIONS_TABLE} WHERE app = $1", APP)
            applied = [r["name"] for r in rows]
        members, organisations = 0, 0
        if applied:
            row = await conn.fetchrow(_COUNTS)
            members, organisations = row[0], row[1]
    finally:
        await conn.close()
    return Contents(f"PostgreSQL {version.split()[0]}", shown(url), applied, members, organisations)


def _sqlite(path: Path, timeout: float) -> Contents:
    conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True, timeout=timeout)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        applied = None
        if MIGRATIONS_TABLE in tables:
            rows = conn.execute(f"SELECT name FROM {MIGRATIONS_TABLE} WHERE app = ?", (APP,))
            applied = [r[0] for r in rows]
        members, organisations = conn.execute(_COUNTS).fetchone() if applied else (0, 0)
    finally:
        conn.close()
    return Contents(f"SQLite {sqlite3.sqlite_version}", str(path), applied, members, organisations)


async def check(settings: Settings, seconds: float) -> list[Finding]:
    started = time.monotonic()
    try:
        if settings.is_postgres:
            contents = await _postgres(settings.database_url, seconds)
        else:
            path = settings.sqlite_file
            if path is None:
                return [ok("database", "SQLite in memory: nothing kept (tests only)")]
            if not path.is_file():
                return [
                    fail(
                        "database",
                        f"no database at {path}",
                        "check DANGJIAN_DATA_DIR / DANGJIAN_DB_URL, then dangjian migrate "
                        "(or dangjian restore a backup)",
                    )
                ]
            contents = await asyncio.to_thread(_sqlite, path, seconds)
    except TimeoutError:
        raise  # an OSError too, but the caller says "timed out after N s"
    except (OSError, sqlite3.Error, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        # A refused connection, a wrong password, no such database: none names the password.
        return [fail("database", f"cannot open: {type(exc).__name__}: {exc}", _REACH)]
    ms = (time.monotonic() - started) * 1000
    found = [
        ok("database", f"{contents.engine} at {contents.where}, answered in {ms:.0f} ms"),
        schema(contents.applied),
    ]
    if contents.applied:  # the roster's tables exist
        found.append(roster(contents, production=settings.env == "production"))
    return found


_REACH = "check DANGJIAN_DB_URL and that the database server is running and reachable"


def schema(applied: list[str] | None) -> Finding:
    """The applied migrations against this code's `migrations/` (nothing is applied here)."""
    known = known_migrations()
    if not applied:
        return fail(
            "schema",
            "no migrations applied: an empty database, or not dangjian's",
            "dangjian migrate (or dangjian restore a backup)",
        )
    unknown = sorted(set(applied) - known)
    if unknown:
        return fail(
            "schema",
            f"migrated by a newer dangjian ({', '.join(unknown)} unknown to this code)",
            "deploy the newer dangjian (never run older code against this database)",
        )
    missing = sorted(known - set(applied))
    if missing:
        return fail(
            "schema",
            f"{len(missing)} migration(s) not applied: {', '.join(missing)}",
            "dangjian migrate (the servers also apply them when they start)",
        )
    return ok("schema", f"up to date: {len(known)} migrations, the last {max(known)}")


def roster(contents: Contents, *, production: bool) -> Finding:
    detail = f"{contents.members} active members in {contents.organisations} organisations"
    if contents.members == 0 and production:
        return warn("roster", detail, "import members: dangjian import-members FILE")
    return ok("roster", detail)
