"""The demo street with its eight weeks, seeded once per test run and copied for each test.

Seeding 1,231 members and their eight weeks takes a few seconds; copying the file a
millisecond.  The street is seeded as `dangjian serve --demo` would on a Thursday evening.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import threading
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from server.db import close_database, open_database
from server.services.demo.activity import ActivityReport, seed_activity
from server.services.demo.street import DemoReport, seed_demo
from tests.conftest import migrated

ZONE = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 26)  # a Thursday
NOW = datetime.combine(DAY, time(18), ZONE)

_SEEDED: list[tuple[Path, DemoReport, ActivityReport]] = []


async def _seed(path: Path) -> tuple[DemoReport, ActivityReport]:
    await open_database(migrated(path))
    try:
        street = await seed_demo(2023, today=DAY)
        return street, await seed_activity(DAY, ZONE, now=NOW)
    finally:
        await close_database()


def seeded_street(target: Path) -> tuple[str, DemoReport, ActivityReport]:
    """A copy of the seeded street at `target`: its URL, and what seeding reported."""
    if not _SEEDED:
        path = Path(tempfile.mkdtemp(prefix="dangjian-demo-")) / "street.sqlite3"
        found: dict[str, tuple[DemoReport, ActivityReport]] = {}
        failed: list[BaseException] = []

        def run() -> None:
            try:
                found["r"] = asyncio.run(_seed(path))
            except BaseException as exc:  # handed to the test, not lost in the thread
                failed.append(exc)

        # Its own thread and loop: callers may be inside the test's running event loop.
        worker = threading.Thread(target=run)
        worker.start()
        worker.join()
        if failed:
            raise failed[0]
        _SEEDED.append((path, *found["r"]))
    path, street, activity = _SEEDED[0]
    shutil.copyfile(path, target)
    return f"sqlite://{target}", street, activity
