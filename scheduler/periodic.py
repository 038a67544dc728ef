"""Periodic jobs run once per period by whichever process leads, recorded in `job_run`.

The leader does not wait for a cron to fire: every check (at start and on each leadership tick)
it looks at each job's most recent due time and runs the period if no finished run is recorded.
So a run due while the leader was dying, while the lease was changing hands or while no process
was up happens once, on the next leader's next check.  Only the most recent period is caught up,
and only within the job's `grace` of its due time: after a month down, no stale reminders; and
the first deploy with `job_run` empty does not resend a check sent days ago.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.exceptions import IntegrityError

from scheduler.leadership import Leadership, LeaseLost
from server.clock import Clock
from server.models.jobs import JobRun

log = logging.getLogger("dangjian.scheduler")

# A run that raised in this process is tried again on the next checks, this many times in all.
MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class Periodic:
    name: str
    last_due: Callable[[datetime], datetime]  # local now -> the most recent due time (local)
    grace: timedelta  # a period this long past its due time and not run is let go
    run: Callable[[str], Awaitable[object]]  # the period's key -> the job, for that period


def daily(hour: int, minute: int) -> Callable[[datetime], datetime]:
    def last_due(now: datetime) -> datetime:
        due = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
        return due if due <= now else due - timedelta(days=1)

    return last_due


def weekly(weekday: int, hour: int, minute: int) -> Callable[[datetime], datetime]:
    """`weekday` as date.weekday(): Monday is 0."""

    def last_due(now: datetime) -> datetime:
        due = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
        due -= timedelta(days=(now.weekday() - weekday) % 7)
        return due if due <= now else due - timedelta(days=7)

    return last_due


def monthly(day: int, hour: int, minute: int) -> Callable[[datetime], datetime]:
    """`day` at most 28, so every month has it."""

    def last_due(now: datetime) -> datetime:
        due = now.replace(day=day, hour=hour, minute=minute, second=0, microsecond=0)
        if due <= now:
            return due
        previous = now.replace(day=1) - timedelta(days=1)
        return due.replace(year=previous.year, month=previous.month)

    return last_due


class PeriodicRuns:
    """This process's side of `job_run`: take a due period, run it, mark it finished."""

    def __init__(self, clock: Clock, owner: str) -> None:
        self.clock = clock
        self.owner = owner
        self._busy: set[str] = set()  # jobs running in this process now

    def period_key(self, job: Periodic) -> str | None:
        """The most recent period's name, or None when it is past its grace."""
        now = self.clock.local_now()
        due = job.last_due(now)
        if now - due > job.grace:
            return None
        # Each job is due at most once a day, so the local date names its period.
        return due.date().isoformat()

    async def run_due(self, job: Periodic) -> bool:
        """Run `job`'s most recent period unless it is done or under way; True if it ran.

        Call only while holding the leader lease: a run left unfinished by another owner is then
        one whose owner lost the lease (died, or was paused), and it is taken over.
        """
        if job.name in self._busy:
            return False
        key = self.period_key(job)
        if key is None:
            return False
        self._busy.add(job.name)
        try:
            if not await self._take(job.name, key):
                return False
            log.info("%s: running the period of %s", job.name, key)
            await job.run(key)
            await JobRun.filter(job=job.name, period_key=key, owner=self.owner).update(
                finished_at=self.clock.now()
            )
            return True
        finally:
            self._busy.discard(job.name)

    async def _take(self, job: str, key: str) -> bool:
        now = self.clock.now()
        try:
            await JobRun.create(job=job, period_key=key, started_at=now, owner=self.owner)
            return True
        except IntegrityError:
            pass  # recorded already: done, or started by someone
        run = await JobRun.get(job=job, period_key=key)
        if run.finished_at is not None or run.attempts >= MAX_ATTEMPTS:
            return False
        # Conditional on what we read, so of two processes taking it over only one succeeds.
        taken = await JobRun.filter(
            id=run.id, owner=run.owner, attempts=run.attempts, finished_at=None
        ).update(owner=self.owner, attempts=run.attempts + 1, started_at=now)
        if taken:
            log.warning("%s: retrying the unfinished period of %s (from %s)", job, key, run.owner)
        return bool(taken)


async def leader_check(leader: Leadership, runs: PeriodicRuns, jobs: list[Periodic]) -> list[str]:
    """If this process leads (renewing its lease), run each job's due period; the names run."""
    if not await leader.hold():
        return []
    ran = []
    for job in jobs:
        try:
            if await runs.run_due(job):
                ran.append(job.name)
        except LeaseLost:
            log.warning("%s: stopped before its next batch, another process leads now", job.name)
            break
        except Exception:
            log.exception("%s failed; the next leader check retries it", job.name)
    return ran
