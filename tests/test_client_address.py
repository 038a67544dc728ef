"""The caller's address in the access log: what nginx says it forwarded for, but only when the
request really came from a proxy of ours (DANGJIAN_TRUSTED_PROXIES); anyone else's
X-Forwarded-For is their own word and is ignored.

The test client connects from 127.0.0.1, which the default setting trusts: the in-process app
plays the web process behind nginx.  tests/integration/test_behind_nginx.py does the same with
the real nginx in front."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest

from server.app import create_app
from server.client_address import resolve
from server.errors import ConfigError
from server.logs import JsonFormatter
from server.settings import Settings, load_settings


def clients_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    formatter = JsonFormatter()
    entries = [json.loads(formatter.format(r)) for r in caplog.records]
    return [e["client"] for e in entries if e["logger"] == "dangjian.access"]


async def test_behind_our_proxy_the_log_names_the_caller_it_forwarded_for(
    client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="dangjian.access")
    # deploy/nginx replaces X-Forwarded-For with the address it saw; a proxy that appends (a
    # load balancer's) leaves what the caller sent (anything at all) on the left.
    sent = [
        {"X-Forwarded-For": "198.51.100.7"},
        {"X-Forwarded-For": "6.6.6.6, 198.51.100.7"},
        {"X-Forwarded-For": "not-an-address, 198.51.100.7"},
        {"X-Real-IP": "198.51.100.8"},
        {},
    ]
    for headers in sent:
        assert (await client.get("/healthz", headers=headers)).status == 200
    # The dashboard is a sub-application: its requests are logged the same way.
    await client.get("/admin", headers={"X-Forwarded-For": "198.51.100.9"}, allow_redirects=False)
    assert clients_logged(caplog) == [
        "198.51.100.7",
        "198.51.100.7",
        "198.51.100.7",
        "198.51.100.8",
        "127.0.0.1",  # no header: the proxy itself asked (a health check)
        "198.51.100.9",
    ]


async def test_a_caller_that_is_not_our_proxy_cannot_choose_its_address(
    aiohttp_client: Any,
    make_settings: Callable[..., Settings],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="dangjian.access")
    # Only 10.0.0.5 is our proxy: the test client, at 127.0.0.1, is a stranger.
    stranger = await aiohttp_client(create_app(make_settings(trusted_proxies="10.0.0.5")))
    for headers in (
        {"X-Forwarded-For": "198.51.100.7"},
        {"X-Forwarded-For": "10.0.0.5"},
        {"X-Real-IP": "198.51.100.8"},
    ):
        assert (await stranger.get("/healthz", headers=headers)).status == 200
    assert clients_logged(caplog) == ["127.0.0.1"] * 3


@pytest.mark.parametrize(
    ("peer", "forwarded", "real_ip", "trusted", "expected"),
    [
        # Two proxies of ours (a load balancer, then nginx): the first address left of them.
        (
            "10.1.2.3",
            ["203.0.113.5, 6.6.6.6, 198.51.100.7, 10.9.9.9"],
            None,
            "10.0.0.0/8",
            "198.51.100.7",
        ),
        # Several headers are one list, in order.
        ("127.0.0.1", ["6.6.6.6", "198.51.100.7"], None, "127.0.0.1", "198.51.100.7"),
        # Every hop ours: the furthest one is the best we know.
        ("127.0.0.1", ["10.0.0.2, 127.0.0.1"], None, "127.0.0.1,10.0.0.0/8", "10.0.0.2"),
        # Garbage right after our proxy: the proxy is all that can be vouched for.
        ("127.0.0.1", ["198.51.100.7, <script>"], None, "127.0.0.1", "127.0.0.1"),
        ("127.0.0.1", [" , "], "198.51.100.8", "127.0.0.1", "198.51.100.8"),
        ("127.0.0.1", [], "nonsense", "127.0.0.1", "127.0.0.1"),
        # IPv6, and an IPv4 peer seen on a dual-stack socket.
        ("::1", ["2001:db8::7"], None, "::1", "2001:db8::7"),
        ("::ffff:127.0.0.1", ["198.51.100.7"], None, "127.0.0.1", "198.51.100.7"),
        ("2001:db8::1", ["198.51.100.7"], None, "127.0.0.1", "2001:db8::1"),
        # No peer address at all (a Unix socket): said as unknown, never taken from a header.
        (None, ["198.51.100.7"], None, "127.0.0.1", "-"),
    ],
)
def test_the_address_is_read_from_the_right_up_to_the_first_stranger(
    peer: str | None, forwarded: list[str], real_ip: str | None, trusted: str, expected: str
) -> None:
    assert resolve(peer, forwarded, real_ip, trusted) == expected


def test_the_trusted_proxies_are_checked_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DANGJIAN_TRUSTED_PROXIES", raising=False)
    assert load_settings(_env_file=None).trusted_proxies == "127.0.0.1,::1"
    monkeypatch.setenv("DANGJIAN_TRUSTED_PROXIES", "10.0.0.0/8, ::1")
    assert load_settings(_env_file=None).trusted_proxies == "10.0.0.0/8, ::1"
    for bad in ("10.0.0.0/8,nginx", "10.0.0.300", "*"):
        monkeypatch.setenv("DANGJIAN_TRUSTED_PROXIES", bad)
        with pytest.raises(ConfigError) as err:
            load_settings(_env_file=None)
        assert "DANGJIAN_TRUSTED_PROXIES" in str(err.value)
        assert "is not an IP address or network" in str(err.value)
