"""Opening the database and bringing its schema up to date.

Migrations live in the top-level `migrations/` package and are written by tortoise's own
`makemigrations` (`tortoise -c server.db.TORTOISE_ORM makemigrations`).  Every command that
opens the database first applies any that are missing; on PostgreSQL that happens under an
advisory lock so two processes starting together cannot race each other.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from tortoise import Tortoise, connections
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.migrations.executor import MigrationExecutor

from server.errors import ConfigError

log = logging.getLogger("dangjian.db")

MODELS = [
    "server.models.people",
    "server.models.study",
    "server.models.meetings",
    "server.models.notices",
    "server.models.tallies",
    "server.models.jobs",
    "server.models.community",
    "server.models.mobility",
    "server.models.privacy",
    "server.models.member_stars",
    "server.models.five_star",
    "server.models.duty_lists",
]
MIGRATIONS = "migrations"
# Any fixed 64-bit number will do; it only has to be the same in every process.
MIGRATION_LOCK_ID = 0x64616E676A69616E  # "dangjian"


async def _no_session_reset(conn: Any) -> None:
    """Replaces asyncpg's reset query on release, which cost a second round trip per query.

    By default every release sends `RESET ALL; UNLISTEN *; CLOSE ALL; ...`.  Our sessions
    change none of that state (no SET, no LISTEN, no cursors; the migration lock is taken on a
    connection of its own), and asyncpg still rolls back a transaction left open (a cancelled
    request) before calling this.
    """


def tortoise_config(db_url: str, pool_size: int | None = None) -> dict[str, Any]:
    if db_url.startswith("postgresql://"):
        db_url = "postgres://" + db_url.removeprefix("postgresql://")
    if pool_size and db_url.startswith("postgres://") and "maxsize=" not in db_url:
        db_url += ("&" if "?" in db_url else "?") + f"minsize=1&maxsize={pool_size}"
    connection: str | dict[str, Any] = db_url
    if db_url.startswith("postgres://"):
        connection = expand_db_url(db_url)
        connection["credentials"]["reset"] = _no_session_reset
    return {
        "connections": {"default": connection},
        "apps": {
            "models": {
                "models": MODELS,
                "default_connection": "default",
                "migrations": MIGRATIONS,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


# For tortoise's own CLI when writing a new migration; the server never reads this.
TORTOISE_ORM = tortoise_config("sqlite://:memory:")


def _ensure_sqlite_dir(db_url: str) -> None:
    if db_url.startswith("sqlite://"):
        path = db_url.removeprefix("sqlite://")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


async def apply_migrations(db_url: str) -> None:
    """Apply missing migrations on the already-initialised default connection."""
    config = tortoise_config(db_url)
    connection = connections.get("default")
    executor = MigrationExecutor(connection, config["apps"])
    if connection.capabilities.dialect == "postgres":
        async with _advisory_lock(db_url):
            await executor.migrate()
    else:
        await executor.migrate()


@asynccontextmanager
async def _advisory_lock(db_url: str) -> AsyncIterator[None]:
    # A dedicated connection: an advisory lock belongs to the session that took it, and the
    # ORM's pool would hand the unlock to a different session.
    import asyncpg

    # Only the address: pool options in the URL are tortoise's, and PostgreSQL rejects them.
    dsn = "postgresql://" + db_url.split("://", 1)[1].split("?", 1)[0]
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_ID)
        try:
            yield
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_ID)
    finally:
        await conn.close()


_opened = 0  # databases opened by this process so far


def opened() -> int:
    """Which database this is, of those this process has opened: what is kept in memory from
    one (the report cache) is never taken for another's, whose row ids may be the same."""
    return _opened


async def open_database(db_url: str, *, migrate: bool = True, pool_size: int | None = None) -> None:
    try:
        _ensure_sqlite_dir(db_url)
    except OSError as exc:
        raise ConfigError(
            f"DANGJIAN_DB_URL / DANGJIAN_DATA_DIR: cannot create the database folder ({exc})"
        ) from None
    # tortoise caches each model's INSERT statement by connection name, not by dialect; a
    # process that opened SQLite before PostgreSQL (the test suite) would reuse '?' markers.
    EXECUTOR_CACHE.clear()
    global _opened
    _opened += 1
    # Global fallback: aiohttp runs request handlers in tasks that do not inherit the
    # start-up task's context variables, and they must all see this one ORM context.
    await Tortoise.init(config=tortoise_config(db_url, pool_size), _enable_global_fallback=True)
    try:
        await ping_database()  # tortoise connects lazily; find out now, with a clear message
    except Exception as exc:
        await Tortoise.close_connections()
        raise ConfigError(
            f"DANGJIAN_DB_URL: cannot open the database ({type(exc).__name__}: {exc})"
        ) from None
    if migrate:
        await apply_migrations(db_url)
    log.info("database ready", extra={"backend": db_url.split("://", 1)[0]})


async def close_database() -> None:
    await Tortoise.close_connections()


@asynccontextmanager
async def database(db_url: str, *, migrate: bool = True) -> AsyncIterator[None]:
    """For CLI commands: open (and migrate), run, close."""
    await open_database(db_url, migrate=migrate)
    try:
        yield
    finally:
        await close_database()


async def ping_database() -> None:
    await connections.get("default").execute_query("SELECT 1")
