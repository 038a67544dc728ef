"""Prometheus metrics, one registry per app so several apps in one process never collide.

Counters move as things happen.  Gauges of state that lives in the database or the cache (the
outboxes' backlog, the periodic jobs' last finished run, who leads the scheduler) are read when
Prometheus scrapes, by the readers registered with `on_scrape`, so every process reports the
same backlog and an alert may take the max over processes.  deploy/prometheus/alerts.yml says
what to alert on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.messages = Counter(
            "dangjian_messages",
            "Inbound WeChat messages by type and outcome",
            ["type", "outcome"],
            registry=self.registry,
        )
        self.reply_latency = Histogram(
            "dangjian_reply_seconds",
            "Time from receiving a push to sending the HTTP reply",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 4, 5),
            registry=self.registry,
        )
        self.retries_deduplicated = Counter(
            "dangjian_retries_deduplicated",
            "WeChat retries answered from the de-duplication cache",
            registry=self.registry,
        )
        self.outbound_calls = Counter(
            "dangjian_wechat_api_calls",
            "Outbound WeChat API calls by API and errcode",
            ["api", "errcode"],
            registry=self.registry,
        )
        self.background_replies = Counter(
            "dangjian_background_replies",
            "Replies that missed the passive deadline and went out through the API",
            ["outcome"],
            registry=self.registry,
        )
        self.up = Gauge("dangjian_up", "1 while the server is serving", registry=self.registry)
        self.outbox_backlog = Gauge(
            "dangjian_outbox_backlog",
            "Messages due and not yet sent (pending or claimed), by outbox",
            ["outbox"],
            registry=self.registry,
        )
        self.outbox_oldest = Gauge(
            "dangjian_outbox_oldest_due_seconds",
            "How long the oldest message due and not yet sent has waited, by outbox (0: none)",
            ["outbox"],
            registry=self.registry,
        )
        self.outbox_recent = Gauge(
            "dangjian_outbox_due_24h",
            "Messages due in the last 24 hours, by outbox and status (sent, uncertain, failed…)",
            ["outbox", "status"],
            registry=self.registry,
        )
        self.scheduler_enabled = Gauge(
            "dangjian_scheduler_enabled",
            "1 if this process runs the scheduler (DANGJIAN_SCHEDULER)",
            registry=self.registry,
        )
        self.scheduler_leader = Gauge(
            "dangjian_scheduler_leader",
            "1 while this process holds the scheduler's leader lease",
            registry=self.registry,
        )
        self.job_last_success = Gauge(
            "dangjian_job_last_success_timestamp_seconds",
            "When each job last finished without error (Unix time): the outbox ticks and the "
            "snapshot in the leading process, the periodic jobs from job_run in every process",
            ["job"],
            registry=self.registry,
        )
        self._readers: list[Callable[[], Awaitable[None]]] = []

    def on_scrape(self, reader: Callable[[], Awaitable[None]]) -> None:
        """Run `reader` (it sets gauges) before each scrape renders the metrics."""
        self._readers.append(reader)

    async def collect(self) -> bytes:
        for reader in self._readers:
            await reader()
        return self.render()

    def render(self) -> bytes:
        return generate_latest(self.registry)
