"""Every morning: the 五张清单 reminders (7 days and 1 day before an item's deadline, and once
when it has passed), written to the 四单制's outbox (`community.outbox`), whose sender delivers
them outside the quiet hours.  The words and recipients are `services.duty_lists.reminders`';
here only when.

Once only: each letter's key (item, kind, deadline, recipient) is kept once by the outbox, so a
second run of the day or a rerun after a crash writes nothing new.  A 责任人 never bound to
WeChat is skipped (and asked again the next morning: they see the item in 我的清单 once bound,
the committee on the dashboard).  An hour after DANGJIAN_REPORT_TIME; `job_run` runs each day
once, and a day missed by more than `GRACE` is let go (the next morning finds the same items).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from scheduler.jobs import Fence, after_report_time, no_fence
from server.clock import Clock
from server.services.community.outbox import enqueue, quiet_hours
from server.services.duty_lists.reminders import due_today, letter
from server.services.mobility.who import address
from server.settings import Settings

log = logging.getLogger("dangjian.scheduler")
JOB = "duty-lists"
GRACE = timedelta(hours=10)
AFTER_REPORTS = timedelta(hours=1)


def morning(report_time: str) -> tuple[int, int]:
    return after_report_time(report_time, AFTER_REPORTS)


async def duty_reminders(
    clock: Clock, settings: Settings, period: str | None = None, fence: Fence = no_fence
) -> int:
    """Write today's reminders; how many letters are in the outbox for them now (written by
    this run or an earlier one of the same day)."""
    today, now = clock.today(), clock.now()
    quiet = quiet_hours(settings.quiet_window, settings.zone)
    letters = []
    for due in await due_today(today):
        for person in due.to:
            where = await address(person.id)
            if where is not None:
                letters.append(letter(due.item, due.kind, person, where, today))
    if not letters:
        return 0
    await fence()  # a paused ex-leader stops here
    written = await enqueue(letters, now, quiet)
    log.info("duty-list reminders%s: %d letters", f" for {period}" if period else "", written)
    return written
