"""The scheduled jobs: plain async functions with explicit arguments."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from tortoise.exceptions import IntegrityError

from server.channels import Channel
from server.clock import Clock
from server.models.jobs import JobSend
from server.models.people import Organisation, OrgKind
from server.services.community.outbox import CommunitySender, SendReport
from server.services.delivery.messenger import tell
from server.services.delivery.outbox import Outbox, Report
from server.services.meetings import compliance
from server.services.tallies.snapshot import catch_up
from server.wechat.client import WeChatClient

log = logging.getLogger("dangjian.scheduler")

# Raises (LeaseLost) when this process no longer leads: called before each batch a job sends.
Fence = Callable[[], Awaitable[None]]


async def no_fence() -> None:
    """A job run outside the scheduler (a test, a command): nothing to lose the lead to."""
    return None


def after_report_time(report_time: str, later: timedelta) -> tuple[int, int]:
    """The hour and minute `later` than DANGJIAN_REPORT_TIME ("HH:MM"): when a morning job runs,
    once the day's reports have gone."""
    hour, minute = (int(x) for x in report_time.split(":"))
    due = datetime(2000, 1, 1, hour, minute) + later
    return due.hour, due.minute


async def _claim(job: str, period: str | None, target: str, clock: Clock) -> bool:
    """Claim one message of a period's run before sending it: False if a run already did.

    Without a period (a run by hand) nothing is recorded and everything is sent.
    """
    if period is None:
        return True
    try:
        await JobSend.create(job=job, period_key=period, target=target, sent_at=clock.now())
    except IntegrityError:
        return False
    return True


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


async def deliver_community_messages(sender: CommunitySender, clock: Clock) -> SendReport:
    """Send what is due in the 四单制's outbox (needs, orders, outcomes), quiet hours kept."""
    report = await sender.deliver_due(clock.now())
    if report.sent or report.unreachable or report.uncertain:
        log.info(
            "community messages: %d sent, %d unreachable, %d uncertain, %d to retry",
            report.sent,
            report.unreachable,
            report.uncertain,
            report.retried,
        )
    return report


async def daily_snapshot(clock: Clock) -> int:
    """Just after midnight (and at start-up): yesterday's tally snapshot, and any day missed
    while no process was up or changed since it was taken.  The number of days taken."""
    taken = await catch_up(clock.today(), clock.zone, now=clock.now())
    if taken:
        log.info(
            "tally snapshot taken for %d days (%s to %s)",
            len(taken),
            taken[0].isoformat(),
            taken[-1].isoformat(),
        )
    return len(taken)


async def compliance_check(
    clock: Clock,
    clients: dict[Channel, WeChatClient],
    lecture_every: str,
    period: str | None = None,
    fence: Fence = no_fence,
) -> int:
    """Tell each branch's secretaries what the branch still owes this month / quarter.

    For a `period` each secretary of each branch is told at most once, however often it runs.
    """
    told = 0
    for branch in await Organisation.filter(kind=OrgKind.BRANCH).order_by("id"):
        owed = await compliance.missing(branch, clock.today(), clock.zone, lecture_every)
        if not owed:
            continue
        await fence()  # a paused ex-leader stops here, before its next branch's reminders
        text = (
            f"【三会一课提醒】{branch.name}还没有安排："
            + "、".join(owed)
            + "。回复 安排 … 安排会议。"
        )
        for leader in await compliance.leaders_of(branch):
            if await _claim("compliance", period, f"{branch.id}:{leader.id}", clock):
                told += await tell(leader.id, text, clients)
    log.info("compliance check: %d secretaries told", told)
    return told


async def weekly_digest(
    clock: Clock,
    clients: dict[Channel, WeChatClient],
    period: str | None = None,
    fence: Fence = no_fence,
) -> int:
    told = 0
    for branch in await Organisation.filter(kind=OrgKind.BRANCH).order_by("id"):
        text = await compliance.digest(branch, clock.today(), clock.now())
        await fence()
        for leader in await compliance.leaders_of(branch):
            if await _claim("digest", period, f"{branch.id}:{leader.id}", clock):
                told += await tell(leader.id, text, clients)
    log.info("weekly digest: %d secretaries told", told)
    return told
