"""The scheduled jobs: plain async functions with explicit arguments."""

from __future__ import annotations

import logging
from datetime import timedelta

from server.clock import Clock
from server.services.outbox import Outbox, Report
from server.services.snapshot import snapshot_day

log = logging.getLogger("dangjian.scheduler")


async def deliver_notices(outbox: Outbox, clock: Clock) -> Report:
    """Send what is due in the outbox (meeting notices, reminders, changes)."""
    report = await outbox.deliver_due(clock.now())
    if report.sent or report.unreachable or report.failed or report.missed:
        log.info(
            "notices: %d sent, %d unreachable, %d failed, %d missed, %d to retry",
            report.sent,
            report.unreachable,
            report.failed,
            report.missed,
            report.retried,
        )
    return report


async def daily_snapshot(clock: Clock) -> int:
    """Just after midnight: yesterday's tally snapshot, replacing any earlier run of that day."""
    yesterday = clock.today() - timedelta(days=1)
    written = await snapshot_day(yesterday, clock.zone)
    log.info("tally snapshot for %s: %d organisations", yesterday.isoformat(), written)
    return written
