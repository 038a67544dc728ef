"""Operators see health and metrics; logs never carry a phone number or a full openid."""

from __future__ import annotations

import json
import logging

from aiohttp.test_utils import TestClient

from server.logs import JsonFormatter, scrub
from tests.wechat_peer import WeChatPeer, openid_for


async def test_healthz_reports_database_and_cache(client: TestClient) -> None:
    resp = await client.get("/healthz")
    assert resp.status == 200
    body = await resp.json()
    assert body == {"status": "ok", "database": "ok", "cache": "ok", "cache_backend": "memory"}


async def test_healthz_is_503_when_the_cache_is_unreachable(
    client: TestClient, monkeypatch
) -> None:
    from server.typedefs import CACHE

    async def refused() -> None:
        raise ConnectionRefusedError("redis down")

    monkeypatch.setattr(client.app[CACHE], "ping", refused)
    resp = await client.get("/healthz")
    assert resp.status == 503
    body = await resp.json()
    assert body["cache"] == "error: ConnectionRefusedError" and body["database"] == "ok"


async def test_metrics_count_messages_latency_and_outbound_calls(
    client: TestClient, peer: WeChatPeer
) -> None:
    await peer.say(client, openid_for("a"), "帮助")
    text = await (await client.get("/metrics")).text()
    assert 'dangjian_messages_total{outcome="replied",type="text"} 1.0' in text
    assert "dangjian_reply_seconds_bucket" in text
    assert "dangjian_wechat_api_calls_total" in text or "dangjian_wechat_api_calls" in text


def test_scrub_masks_phone_numbers_and_openids() -> None:
    line = "member 13912345678 bound oAbCdEfGhIjKlMnOpQrStUvWxYz0 ok"
    assert scrub(line) == "member 139****5678 bound oAbCdE…z0 ok"


def test_json_logs_are_scrubbed_including_extra_fields() -> None:
    record = logging.makeLogRecord(
        {
            "name": "dangjian.chat",
            "levelname": "INFO",
            "msg": "bind %s",
            "args": ("13912345678",),
            "openid": "oAbCdEfGhIjKlMnOpQrStUvWxYz0",
        }
    )
    entry = json.loads(JsonFormatter().format(record))
    assert entry["msg"] == "bind 139****5678"
    assert entry["openid"] == "oAbCdE…z0"
