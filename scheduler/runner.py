"""APScheduler inside the app's lifetime; the database is the source of truth.

Nothing about a meeting lives in the scheduler: the outbox rows are the plan.  The one job
looks at the outbox every DANGJIAN_OUTBOX_INTERVAL seconds (and at once when a meeting changes,
in whichever process: `scheduler/wake.py`), so a restart loses nothing, and a notice due while
the server was down goes out on start if its meeting has not begun, or is recorded as missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from scheduler import duty_lists, mobility, retention, unit_cards
from scheduler.jobs import (
    Fence,
    compliance_check,
    daily_snapshot,
    deliver_community_messages,
    deliver_notices,
    weekly_digest,
)
from scheduler.leadership import Leadership
from scheduler.periodic import Periodic, PeriodicRuns, daily, leader_check, monthly, weekly
from scheduler.unit_cards import quarterly, send_unit_cards
from scheduler.wake import Waker
from server.cache import Cache
from server.channels import Channel
from server.clock import Clock
from server.services.community.outbox import CommunitySender
from server.services.delivery.messenger import WakeOutbox
from server.services.delivery.outbox import Outbox, Templates
from server.settings import Settings, parse_fields
from server.typedefs import (
    CACHE,
    CLOCK,
    METRICS,
    OUTBOX,
    SCHEDULER,
    SETTINGS,
    WAKE_OUTBOX,
    WECHAT_CLIENTS,
)
from server.wechat.client import WeChatClient

log = logging.getLogger("dangjian.scheduler")
JOB = "deliver-notices"
COMMUNITY_JOB = "deliver-community-messages"  # the 四单制's outbox, woken with the notices'
PERIODIC_CHECK = 30  # seconds; also how soon after its due time a periodic job runs
NOT_LEADING = object()  # what a job returns in a process that does not lead: it did not run


async def scheduler_ctx(app: web.Application) -> AsyncIterator[None]:
    settings, clock, clients = app[SETTINGS], app[CLOCK], app[WECHAT_CLIENTS]
    outbox = Outbox(
        clients,
        Templates(
            subscribe_id=settings.subscribe_template,
            subscribe_fields=parse_fields(settings.subscribe_fields),
            oa_id=settings.oa_template,
            oa_fields=parse_fields(settings.oa_template_fields),
        ),
        settings.zone,
        concurrency=settings.notice_concurrency,
        rate=settings.notice_rate,
    )
    community = CommunitySender.of(clients, settings)
    leader = Leadership(app[CACHE], ttl=max(30.0, 3 * settings.outbox_interval))
    running: set[asyncio.Task[None]] = set()

    metrics = app[METRICS]

    async def tracked(name: str, job: Callable[[], Awaitable[object]]) -> None:
        task = asyncio.current_task()
        if task is not None:
            running.add(task)  # so shutdown waits for a run in progress
        try:
            if await job() is not NOT_LEADING:
                metrics.job_last_success.labels(name).set(clock.now().timestamp())
        except Exception:
            log.exception("a scheduled job failed; it runs again at its next time")
        finally:
            running.discard(task)

    async def as_leader(name: str, job: Callable[[], Awaitable[object]]) -> None:
        async def if_leading() -> object:
            if not await leader.hold():
                return NOT_LEADING
            return await job()

        await tracked(name, if_leading)

    async def tick() -> None:
        await as_leader(JOB, lambda: deliver_notices(outbox, clock))

    async def community_tick() -> None:
        await as_leader(COMMUNITY_JOB, lambda: deliver_community_messages(community, clock))

    async def snapshot() -> None:
        await as_leader("daily-snapshot", lambda: daily_snapshot(clock))

    # A run held up (a busy loop) by up to six hours still happens.  The snapshot catches up
    # the days missed by itself; the compliance check and the digest through `job_run`.
    scheduler = AsyncIOScheduler(
        timezone=settings.zone, job_defaults={"misfire_grace_time": 6 * 3600}
    )
    scheduler.add_job(
        tick,
        "interval",
        seconds=settings.outbox_interval,
        id=JOB,
        max_instances=1,
        coalesce=True,
        next_run_time=datetime.now(settings.zone),  # at start: whatever fell due while down
    )
    # Its own job, so that neither outbox's failure or slowness holds up the other.
    scheduler.add_job(
        community_tick,
        "interval",
        seconds=settings.outbox_interval,
        id=COMMUNITY_JOB,
        max_instances=1,
        coalesce=True,
        next_run_time=datetime.now(settings.zone),
    )
    scheduler.add_job(
        snapshot,
        "cron",
        hour=0,
        minute=5,
        id="daily-snapshot",
        coalesce=True,
        # A minute after start (not during it): the days missed while no process was up.
        next_run_time=datetime.now(settings.zone) + timedelta(minutes=1),
    )
    runs = PeriodicRuns(clock, leader.me)
    periodic = timed_jobs(settings, clock, app[WECHAT_CLIENTS], leader.fence, cache=app[CACHE])

    async def periodic_check() -> None:
        await tracked("periodic", lambda: leader_check(leader, runs, periodic))

    async def read_leadership() -> None:
        metrics.scheduler_enabled.set(1 if scheduler.running else 0)
        metrics.scheduler_leader.set(1 if scheduler.running and await leader.still_leader() else 0)

    metrics.on_scrape(read_leadership)

    # Each check runs whatever period fell due and is not recorded done: just after start, and
    # within PERIODIC_CHECK seconds of a due time or of becoming leader.
    scheduler.add_job(
        periodic_check,
        "interval",
        seconds=PERIODIC_CHECK,
        id="periodic",
        max_instances=1,
        coalesce=True,
        # Not during start-up (as the snapshot): the first check once the process has settled.
        next_run_time=datetime.now(settings.zone) + timedelta(seconds=PERIODIC_CHECK),
    )
    app[OUTBOX] = outbox
    app[SCHEDULER] = scheduler
    # One wake serves both outboxes; from a web process it reaches the scheduler's process.
    waker = Waker(scheduler, app[CACHE], (JOB, COMMUNITY_JOB))
    wake: WakeOutbox = waker
    app[WAKE_OUTBOX] = wake
    listener: asyncio.Task[None] | None = None
    if settings.scheduler:
        scheduler.start()
        listener = asyncio.create_task(waker.listen())
    else:
        log.info("DANGJIAN_SCHEDULER=off: this process runs no scheduled jobs")
    yield
    if listener is not None:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener
    await waker.close()
    if scheduler.running:
        # Pause first: shutdown cancels a run in progress, which would leave its claimed
        # notices unsent and, five minutes later, marked uncertain for good.
        scheduler.pause()
        if running:  # let a run finish its rows before the database closes under it
            await asyncio.wait(set(running), timeout=30)
        scheduler.shutdown(wait=False)
    await leader.release()


def timed_jobs(
    settings: Settings,
    clock: Clock,
    clients: dict[Channel, WeChatClient],
    fence: Fence,
    *,
    cache: Cache | None = None,
) -> list[Periodic]:
    """The jobs run once per period (recorded in `job_run`), at DANGJIAN_REPORT_TIME (the
    流动党员 to-dos half an hour later; the retention of personal information at 03:30).

    The units' 联系卡 need the cache their links' tokens are kept in: without one, not run.
    """
    hour, minute = (int(x) for x in settings.report_time.split(":"))
    jobs = [
        Periodic(
            "compliance",
            monthly(settings.compliance_day, hour, minute),
            timedelta(days=7),
            lambda key: compliance_check(clock, clients, settings.lecture_every, key, fence),
        ),
        Periodic(
            "digest",
            weekly(0, hour, minute),  # Mondays
            timedelta(days=2),
            lambda key: weekly_digest(clock, clients, key, fence),
        ),
        Periodic(
            mobility.JOB,
            daily(*mobility.morning(settings.report_time)),  # 流动党员: contacts due, 失联
            mobility.GRACE,
            lambda key: mobility.mobility_reminders(clock, settings, key, fence),
        ),
        Periodic(
            duty_lists.JOB,
            daily(*duty_lists.morning(settings.report_time)),  # 五张清单: deadlines near, passed
            duty_lists.GRACE,
            lambda key: duty_lists.duty_reminders(clock, settings, key, fence),
        ),
        Periodic(
            retention.JOB,
            daily(*retention.AT),  # personal information past DANGJIAN_RETENTION_DAYS
            retention.GRACE,
            lambda key: retention.retention(clock, settings, key),
        ),
    ]
    if cache is not None:
        jobs.append(
            Periodic(
                "unit-cards",
                quarterly(hour, minute),  # the first day of each quarter
                unit_cards.GRACE,
                lambda key: send_unit_cards(clock, settings, cache, key, fence),
            )
        )
    return jobs
