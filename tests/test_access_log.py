"""An operator's one line per request: the route as declared (never the path, which may carry a
one-time token, nor the query, which carries WeChat's signatures and openids), the status the
caller got, and how long it took."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from server.logs import JsonFormatter


def lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    formatter = JsonFormatter()
    return [json.loads(formatter.format(r)) for r in caplog.records if r.name == "dangjian.access"]


async def test_each_request_is_one_line_with_its_route_status_and_time(
    client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="dangjian.access")
    assert (await client.get("/api/v1/docs")).status == 200
    secret = "o" + "x" * 27
    refused = await client.get(f"/api/v1/mobility/members/12345?openid={secret}&signature=abc")
    assert refused.status == 401
    assert (await client.get("/no/such/page/token-abcdefghijklmnopqrstuvwxyz")).status == 404
    seen = lines(caplog)
    assert [(e["method"], e["route"], e["status"]) for e in seen] == [
        ("GET", "/api/v1/docs", 200),
        ("GET", "/api/v1/mobility/members/{id}", 401),
        ("GET", "-", 404),
    ]
    assert all(isinstance(e["ms"], float) and e["ms"] >= 0 for e in seen)
    text = json.dumps(seen)
    assert secret not in text and "signature" not in text and "token-abc" not in text
