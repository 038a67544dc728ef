"""The scheduled jobs: plain async functions with explicit arguments."""

from __future__ import annotations

import logging

from server.clock import Clock
from server.messaging import tell
from server.models import Channel, Organisation, OrgKind
from server.services import compliance
from server.services.outbox import Outbox, Report
from server.services.snapshot import catch_up
from server.wechat.client import WeChatClient

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
    clock: Clock, clients: dict[Channel, WeChatClient], lecture_every: str
) -> int:
    """Tell each branch's secretaries what the branch still owes this month / quarter."""
    told = 0
    for branch in await Organisation.filter(kind=OrgKind.BRANCH).order_by("id"):
        owed = await compliance.missing(branch, clock.today(), clock.zone, lecture_every)
        if not owed:
            continue
        text = (
            f"【三会一课提醒】{branch.name}还没有安排："
            + "、".join(owed)
            + "。回复 安排 … 安排会议。"
        )
        for leader in await compliance.leaders_of(branch):
            told += await tell(leader.id, text, clients)
    log.info("compliance check: %d secretaries told", told)
    return told


async def weekly_digest(clock: Clock, clients: dict[Channel, WeChatClient]) -> int:
    told = 0
    for branch in await Organisation.filter(kind=OrgKind.BRANCH).order_by("id"):
        text = await compliance.digest(branch, clock.today(), clock.now())
        for leader in await compliance.leaders_of(branch):
            told += await tell(leader.id, text, clients)
    log.info("weekly digest: %d secretaries told", told)
    return told
