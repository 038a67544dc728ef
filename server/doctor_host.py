"""The doctor's checks of this machine: its clock, its disk, and the study content it serves."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import asyncpg

from server.clock import Clock
from server.doctor import Finding, fail, ok, warn
from server.doctor_database import postgres_dsn
from server.settings import Settings

MAX_DRIFT = 5.0  # seconds between this clock and another before it is a failure
LOW_BYTES = 1 << 30
LOW_SHARE = 0.10


# --- clock ------------------------------------------------------------------------------------


async def _postgres_offset(url: str, clock: Clock, seconds: float) -> float:
    """PostgreSQL's clock minus ours, in seconds (clock_timestamp: now() is the transaction's)."""
    conn = await asyncpg.connect(postgres_dsn(url), timeout=seconds)
    try:
        before = clock.timestamp()
        theirs = await conn.fetchval("SELECT clock_timestamp()")
        after = clock.timestamp()
    finally:
        await conn.close()
    return float(theirs.timestamp() - (before + after) / 2)


async def _http_offset(
    session: aiohttp.ClientSession, base: str, clock: Clock, seconds: float
) -> float:
    """The API server's Date header minus our clock (the header counts whole seconds)."""
    before = clock.timestamp()
    async with session.get(base + "/", timeout=aiohttp.ClientTimeout(total=seconds)) as resp:
        date = resp.headers.get("Date")
    after = clock.timestamp()
    if not date:
        raise ValueError("no Date header")
    return parsedate_to_datetime(date).timestamp() + 0.5 - (before + after) / 2


def _zone(settings: Settings, clock: Clock) -> str:
    local = clock.now().astimezone(settings.zone)
    offset = local.strftime("%z")
    return f"DANGJIAN_TZ={settings.tz} (UTC{offset[:3]}:{offset[3:]}, {local:%Y-%m-%d %H:%M})"


async def clock(
    settings: Settings, session: aiohttp.ClientSession, clock: Clock, seconds: float
) -> list[Finding]:
    """Our clock against PostgreSQL's and the WeChat API's: pushes are signed with a timestamp
    checked against DANGJIAN_SIGNATURE_MAX_AGE, and sign-in codes turn over by the clock."""
    each = seconds / 2  # both within the check's own timeout
    sources: dict[str, asyncio.Task[float | None]] = {}
    async with asyncio.TaskGroup() as group:
        if settings.is_postgres:
            url = settings.database_url
            sources["PostgreSQL"] = group.create_task(_guard(_postgres_offset(url, clock, each)))
        if not settings.embedded_fake_wechat:
            host = urlsplit(settings.api_base).netloc
            offset = _http_offset(session, settings.api_base, clock, each)
            sources[host] = group.create_task(_guard(offset))
    measured = {name: task.result() for name, task in sources.items()}
    seen = {name: drift for name, drift in measured.items() if drift is not None}
    zone = _zone(settings, clock)
    if not sources:
        return [ok("clock", f"{zone}; no second clock to compare with (SQLite, embedded fake)")]
    if not seen:
        return [warn("clock", f"{zone}; not compared: {', '.join(sources)} did not answer")]
    name, worst = max(seen.items(), key=lambda item: abs(item[1]))
    if abs(worst) > MAX_DRIFT:
        direction = "behind" if worst > 0 else "ahead of"
        return [
            fail(
                "clock",
                f"this machine's clock is {abs(worst):.1f} s {direction} {name}'s",
                "sync it (chrony, systemd-timesyncd): WeChat's pushes older than "
                f"DANGJIAN_SIGNATURE_MAX_AGE ({settings.signature_max_age} s) are refused",
            )
        ]
    compared = ", ".join(f"{abs(d):.1f} s of {n}" for n, d in seen.items())
    silent = [n for n in sources if n not in seen]
    unheard = f" ({', '.join(silent)} did not answer)" if silent else ""
    return [ok("clock", f"{zone}; within {compared}{unheard}")]


async def _guard(measure: Awaitable[float]) -> float | None:
    """The offset, or None when that source could not be reached (its own line says why)."""
    try:
        return await measure
    except (
        OSError,
        ValueError,
        aiohttp.ClientError,
        asyncpg.PostgresError,
        asyncpg.InterfaceError,
    ):
        return None  # TimeoutError is an OSError: a source too slow to answer is not compared


# --- disk -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Space:
    free: int
    total: int

    def low(self) -> bool:
        return self.free < LOW_BYTES or self.free < LOW_SHARE * self.total

    def __str__(self) -> str:
        share = self.free / self.total if self.total else 0
        return f"{self.free / (1 << 30):.1f} GiB free ({share:.0%})"


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _writable(folder: Path) -> bool:
    """By writing (and removing) a file: permission bits say nothing of a read-only mount."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def _disk(settings: Settings) -> list[Finding]:
    places: list[tuple[str, Path]] = []
    if settings.sqlite_file is not None:
        places.append(("database", settings.sqlite_file.parent))
    places.append(("backups", settings.data_dir / "backups"))
    by_device: dict[int, list[tuple[str, Path]]] = {}
    for label, path in places:
        by_device.setdefault(os.stat(_existing(path)).st_dev, []).append((label, path))
    found = []
    for together in by_device.values():
        found.append(_one_disk(together))
    return found


def _one_disk(places: list[tuple[str, Path]]) -> Finding:
    notes, unwritable = [], []
    for label, path in places:
        there = _existing(path)
        if there != path:
            notes.append(f"{label} {path} (not made yet)")
        else:
            notes.append(f"{label} {path}")
        if not _writable(there):
            unwritable.append(str(there))
    usage = shutil.disk_usage(_existing(places[0][1]))
    space = Space(usage.free, usage.total)
    detail = f"{'; '.join(notes)}: {space}"
    if unwritable:
        return fail("disk", f"{detail}; cannot write in {', '.join(unwritable)}", _OWNER)
    if space.low():
        return warn("disk", detail, "free space, or move DANGJIAN_DATA_DIR to a larger disk")
    return ok("disk", f"{detail}, writable")


_OWNER = "give the servers' user write access (or correct DANGJIAN_DATA_DIR)"


async def disk(settings: Settings) -> list[Finding]:
    return await asyncio.to_thread(_disk, settings)


# --- study content ----------------------------------------------------------------------------


async def content(settings: Settings) -> list[Finding]:
    """The corpus as `dangjian content check` loads it (and as the server does at start)."""
    from study_content.corpus import CorpusInvalid, load_corpus

    started = time.monotonic()
    try:
        units = await asyncio.to_thread(load_corpus, *settings.content_folders)
    except CorpusInvalid as exc:
        shown = "; ".join(str(p) for p in exc.problems[:3])
        more = f" (and {len(exc.problems) - 3} more)" if len(exc.problems) > 3 else ""
        return [
            fail(
                "content",
                f"{len(exc.problems)} problem(s): {shown}{more}",
                "dangjian content check lists them all; the server will not start until fixed",
            )
        ]
    ms = (time.monotonic() - started) * 1000
    where = "shipped" + (f" + {settings.content_dir}" if settings.content_dir else "")
    return [ok("content", f"{len(units)} study units ({where}) load in {ms:.0f} ms")]
