"""Waking the outboxes now, from whichever process the change was made in.

A meeting scheduled in a web process must not wait for the scheduler process's next tick
(DANGJIAN_OUTBOX_INTERVAL) before its notices go out: the web process, which runs no jobs
(DANGJIAN_SCHEDULER=false), publishes a wake on the cache's channel and every process that runs
the scheduler looks at its outboxes at once.  With the embedded cache there is one process, and
the wake pokes its own scheduler.  A lost wake costs at most one tick: the outbox rows are the
plan, the wake only makes them go sooner.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from datetime import datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from server.cache import Cache

log = logging.getLogger("dangjian.scheduler")
CHANNEL = "outbox:wake"


def poke(scheduler: AsyncIOScheduler, jobs: Iterable[str]) -> None:
    """Run these interval jobs now (if this process runs the scheduler)."""
    for name in jobs:
        job = scheduler.get_job(name) if scheduler.running else None
        if job is not None:
            job.modify(next_run_time=datetime.now(scheduler.timezone))


class Waker:
    """The `WakeOutbox` the app hands to handlers: a plain call, safe from any code path."""

    def __init__(self, scheduler: AsyncIOScheduler, cache: Cache, jobs: tuple[str, ...]) -> None:
        self.scheduler = scheduler
        self.cache = cache
        self.jobs = jobs
        self._sending: asyncio.Task[None] | None = None

    def __call__(self) -> None:
        if self.scheduler.running:
            poke(self.scheduler, self.jobs)
            return
        # One publish in flight at a time: a burst of changes (a 50-member roster edit) needs
        # one wake, and the tick after the last one sends what they all made due.
        if self._sending is None or self._sending.done():
            try:
                self._sending = asyncio.get_running_loop().create_task(self._publish())
            except RuntimeError:  # no loop: a CLI call; the scheduler's next tick sends
                return

    async def _publish(self) -> None:
        try:
            await self.cache.publish(CHANNEL, "wake")
        except Exception as exc:  # the cache is down: the next tick sends, just later
            log.warning("could not wake the scheduler process: %s", exc)

    async def listen(self) -> None:
        """In the process that runs the scheduler: poke on every wake, for its lifetime."""
        while True:
            try:
                async for _ in self.cache.subscribe(CHANNEL):
                    poke(self.scheduler, self.jobs)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("outbox wake feed lost, retrying: %s", exc)
                await asyncio.sleep(1)

    async def close(self) -> None:
        if self._sending is not None and not self._sending.done():
            await asyncio.wait({self._sending}, timeout=1)
