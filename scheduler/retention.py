"""Every night: let go of personal information past its stated lifetime
(`services.privacy.retention`, DANGJIAN_RETENTION_DAYS).

At 03:30 in DANGJIAN_TZ, when nobody is messaging and no other job runs; `job_run` runs each
night once on the leader.  A night missed by more than `GRACE` is let go: the next night's run
finds the same rows (each part selects what still holds the data), so nothing stays longer
than a day past its period.
"""

from __future__ import annotations

from datetime import timedelta

from server.clock import Clock
from server.services.privacy.retention import Purged, purge_expired
from server.settings import Settings

JOB = "retention"
AT = (3, 30)
# Within the small hours only: a server started at noon does not purge in the working day; the
# next night's run finds the same rows.
GRACE = timedelta(hours=3)


async def retention(clock: Clock, settings: Settings, period: str | None = None) -> Purged:
    """Let go of what is past DANGJIAN_RETENTION_DAYS at the clock's now.  `period` (the run's
    day) names the run only: what is past is read on the clock."""
    return await purge_expired(clock.now(), settings.retention_days)
