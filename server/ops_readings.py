"""What an operator watches that lives in the database, read when Prometheus scrapes.

The outboxes' backlog and the age of their oldest message due (a stuck sender shows as an age
that keeps growing while the backlog does not shrink), how the last day's messages ended, and
when each periodic job last finished.  Every process reports the same figures: alert on their
max.  Read with a time limit, so a slow database makes a scrape late, never hung.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from tortoise.functions import Count
from tortoise.queryset import QuerySet

from server.metrics import Metrics
from server.models.community import CommunityMessage, MessageStatus
from server.models.jobs import JobRun
from server.models.notices import Notice, NoticeStatus

WAITING = (NoticeStatus.PENDING, NoticeStatus.CLAIMED)
COMMUNITY_WAITING = (MessageStatus.PENDING, MessageStatus.CLAIMED)
TIME_LIMIT = 2.0  # seconds; Prometheus's default scrape timeout is 10


async def read_outboxes(metrics: Metrics, now: datetime) -> None:
    # The oldest row by ordering, not MIN(): SQLite would hand an aggregate back as text.
    waiting: dict[str, QuerySet[Any]] = {
        "notices": Notice.filter(status__in=WAITING, due_at__lte=now),
        "community": CommunityMessage.filter(status__in=COMMUNITY_WAITING, not_before__lte=now),
    }
    due_field = {"notices": "due_at", "community": "not_before"}
    for name, rows in waiting.items():
        metrics.outbox_backlog.labels(name).set(await rows.count())
        oldest = await rows.order_by(due_field[name]).first().values_list(due_field[name])
        metrics.outbox_oldest.labels(name).set((now - oldest[0]).total_seconds() if oldest else 0)

    since = now - timedelta(days=1)
    recent: list[tuple[str, QuerySet[Any], type[StrEnum]]] = [
        ("notices", Notice.filter(due_at__gt=since, due_at__lte=now), NoticeStatus),
        (
            "community",
            CommunityMessage.filter(not_before__gt=since, not_before__lte=now),
            MessageStatus,
        ),
    ]
    for name, rows, statuses in recent:
        by_status = rows.annotate(n=Count("id")).group_by("status").values_list("status", "n")
        counts: dict[str, int] = dict(await by_status)
        for status in statuses:  # every status, so a figure back at 0 reads 0, not stale
            metrics.outbox_recent.labels(name, str(status)).set(counts.get(status, 0))


async def read_periodic_jobs(metrics: Metrics) -> None:
    for job in await JobRun.all().distinct().values_list("job", flat=True):
        last = (
            await JobRun.filter(job=job, finished_at__isnull=False).order_by("-finished_at").first()
        )
        if last is not None and last.finished_at is not None:
            metrics.job_last_success.labels(job).set(last.finished_at.timestamp())


async def read_all(metrics: Metrics, now: datetime) -> None:
    await asyncio.wait_for(
        asyncio.gather(read_outboxes(metrics, now), read_periodic_jobs(metrics)), TIME_LIMIT
    )
