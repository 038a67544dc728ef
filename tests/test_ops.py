"""Operators see health and metrics; logs never carry a phone number or a full openid."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from server.app import create_app
from server.logs import JsonFormatter, scrub
from tests.conftest import METRICS_TOKEN, OPERATOR
from tests.wechat_peer import WeChatPeer, openid_for


async def test_anyone_may_ask_if_the_server_is_alive_and_learns_nothing_else(
    client: TestClient,
) -> None:
    resp = await client.get("/healthz")
    assert resp.status == 200
    assert await resp.text() == "ok"


async def test_healthz_reports_database_and_cache_to_the_operator(client: TestClient) -> None:
    resp = await client.get("/healthz", headers=OPERATOR)
    assert resp.status == 200
    body = await resp.json()
    assert body == {"status": "ok", "database": "ok", "cache": "ok", "cache_backend": "memory"}


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong", f"Basic {METRICS_TOKEN}", "Bearer ", f"Bearer {METRICS_TOKEN}x"],
)
async def test_metrics_and_health_details_need_the_token(
    client: TestClient, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    metrics = await client.get("/metrics", headers=headers)
    assert metrics.status == 401
    assert "dangjian_" not in await metrics.text()
    assert (await client.get("/healthz", headers=headers)).status in (200, 401)
    if authorization:  # a wrong token is told so, not silently given the bare answer
        assert (await client.get("/healthz", headers=headers)).status == 401


async def test_with_no_token_configured_the_details_are_closed(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client = await aiohttp_client(create_app(make_settings(metrics_token=None)))
    assert (await client.get("/metrics", headers=OPERATOR)).status == 401
    assert (await client.get("/healthz")).status == 200


async def test_healthz_is_503_when_the_cache_is_unreachable(
    client: TestClient, monkeypatch
) -> None:
    from server.typedefs import CACHE

    async def refused() -> None:
        raise ConnectionRefusedError("redis down")

    monkeypatch.setattr(client.app[CACHE], "ping", refused)
    resp = await client.get("/healthz", headers=OPERATOR)
    assert resp.status == 503
    body = await resp.json()
    assert body["cache"] == "error: ConnectionRefusedError" and body["database"] == "ok"


async def test_metrics_count_messages_latency_and_outbound_calls(
    client: TestClient, peer: WeChatPeer
) -> None:
    await peer.say(client, openid_for("a"), "帮助")
    text = await (await client.get("/metrics", headers=OPERATOR)).text()
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
