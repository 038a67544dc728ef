"""Prometheus metrics, one registry per app so several apps in one process never collide."""

from __future__ import annotations

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

    def render(self) -> bytes:
        return generate_latest(self.registry)
