"""Hostile input on every endpoint: never a 500, never a half-written row, always a clear answer.

Driven by the same declarations as the routes, so a new endpoint is covered the day it lands.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from server.api import endpoints
from server.api.spec import PREFIX, Auth, Endpoint
from server.models.meetings import Meeting
from server.models.notices import Notice, SubscribeGrant
from server.models.people import Member, Role, WeChatIdentity
from server.models.study import CheckIn, Submission
from server.wechat.fake_state import FakeWeChat
from tests.api_helpers import signed_in
from tests.conftest import make_member

HOSTILE_VALUES: list[Any] = [
    "1 OR 1=1",
    "'; DROP TABLE member; --",
    "../../etc/passwd",
    "\x00",
    "名\x00字",
    "0001-01-01",
    "9999-12-31",
    "0001-01-01T00:00:00+08:00",
    "9999-12-31T23:59:59+08:00",
    int("9" * 400),  # a 400-digit timestamp
    "字" * 20_000,
    -1,
    10**30,
    1.5,
    None,
    True,
    [],
    {"$gt": ""},
]


HOSTILE_QUERY_VALUES = (
    "1 OR 1=1",
    "';--",
    "-1",
    "9" * 40,
    "9" * 400,
    "",
    "%00",
    "\x00",
    "a\x00b",
    "0001-01-01",
    "9999-12-31",
)
# Deeper than any parser's recursion limit: refused with a 400, not a RecursionError's 500.
DEEP_JSON = b"[" * 30_000 + b"]" * 30_000
DEEP_OBJECT = b'{"a":' * 30_000 + b"1" + b"}" * 30_000


def _concrete(endpoint: Endpoint, value: str = "1") -> str:
    return PREFIX + re.sub(r"{\w+}", value, endpoint.path)


async def _counts() -> dict[str, int]:
    return {
        model.__name__: await model.all().count()
        for model in (Member, WeChatIdentity, CheckIn, Submission, Meeting, Notice, SubscribeGrant)
    }


@pytest.fixture
async def leader(client: TestClient, fake_wechat: tuple[FakeWeChat, str]) -> dict[str, str]:
    # A secretary reaches the most endpoints; hostile input must fail before any of them acts.
    secretary = await make_member("李书记", "13900000001", role=Role.SECRETARY)
    await make_member("王芳", "13900000002")
    return await signed_in(client, fake_wechat[0], secretary)


def _with_body() -> list[Endpoint]:
    return [e for e in endpoints() if e.body is not None and e.auth is not Auth.PUBLIC]


def _with_query() -> list[Endpoint]:
    return [e for e in endpoints() if e.query is not None and e.auth is not Auth.PUBLIC]


def _label(endpoint: Endpoint) -> str:
    return f"{endpoint.method} {endpoint.path}"


async def test_every_body_field_refuses_hostile_values_naming_a_field(
    client: TestClient, leader: dict[str, str]
) -> None:
    before = await _counts()
    for endpoint in _with_body():
        assert endpoint.body is not None
        for name in endpoint.body.model_json_schema().get("properties", {}):
            for value in HOSTILE_VALUES:
                resp = await client.request(
                    endpoint.method, _concrete(endpoint), json={name: value}, headers=leader
                )
                assert resp.status < 500, (_label(endpoint), name, value)
                if resp.status == 400:
                    assert (await resp.json()).get("field"), (_label(endpoint), name, value)
        resp = await client.request(
            endpoint.method, _concrete(endpoint), json={"__proto__": 1}, headers=leader
        )
        assert resp.status in (400, 403), _label(endpoint)
        for raw in (b"{", b"[]", b'"text"', b"null", b"\xff\xfe"):
            resp = await client.request(
                endpoint.method,
                _concrete(endpoint),
                data=raw,
                headers={**leader, "Content-Type": "application/json"},
            )
            assert resp.status in (400, 403), (_label(endpoint), raw)
    assert await _counts() == before


async def test_json_nested_thirty_thousand_deep_is_a_400_even_before_sign_in(
    client: TestClient, leader: dict[str, str]
) -> None:
    for endpoint in [e for e in endpoints() if e.body is not None]:
        for raw in (DEEP_JSON, DEEP_OBJECT):
            resp = await client.request(
                endpoint.method,
                _concrete(endpoint),
                data=raw,
                headers={**leader, "Content-Type": "application/json"},
            )
            assert resp.status in (400, 403, 413), (_label(endpoint), resp.status)
            if resp.status == 400:
                assert (await resp.json())["field"] == "body", _label(endpoint)


async def test_a_400_digit_timestamp_is_a_400_naming_the_field(
    client: TestClient, leader: dict[str, str]
) -> None:
    for when in ("9" * 400, int("9" * 400), "-" + "9" * 400, "9" * 400 + ".5"):
        resp = await client.post(
            PREFIX + "/meetings",
            json={"kind": "支委会", "starts_at": when, "topic": "学习"},
            headers=leader,
        )
        assert resp.status == 400, when
        assert (await resp.json())["field"] == "starts_at"


async def test_a_nul_character_anywhere_in_a_body_is_a_400_naming_the_field(
    client: TestClient, leader: dict[str, str]
) -> None:
    """PostgreSQL refuses NUL in text; the API refuses it first, whichever the database."""
    resp = await client.post(
        PREFIX + "/meetings",
        json={"kind": "支委会", "starts_at": "2030-01-01T15:00:00+08:00", "topic": "学\x00习"},
        headers=leader,
    )
    assert resp.status == 400
    assert (await resp.json())["field"] == "topic"


async def test_every_query_parameter_refuses_hostile_values(
    client: TestClient, leader: dict[str, str]
) -> None:
    before = await _counts()
    for endpoint in _with_query():
        assert endpoint.query is not None
        schema = endpoint.query.model_json_schema()
        for name in schema.get("properties", {}):
            for value in HOSTILE_QUERY_VALUES:
                resp = await client.request(
                    endpoint.method, _concrete(endpoint), params={name: value}, headers=leader
                )
                assert resp.status < 500, (_label(endpoint), name, value)
        resp = await client.request(
            endpoint.method, _concrete(endpoint), params={"per_page": "100000"}, headers=leader
        )
        assert resp.status in (400, 403), _label(endpoint)
    assert await _counts() == before


async def test_ids_in_paths_must_be_positive_numbers(
    client: TestClient, leader: dict[str, str]
) -> None:
    for endpoint in endpoints():
        if "{id}" not in endpoint.path or endpoint.auth is Auth.PUBLIC:
            continue
        for junk in ("0", "-1", "1%20OR%201=1", "99999999999999999999", "abc"):
            resp = await client.request(
                endpoint.method, _concrete(endpoint, junk), json={}, headers=leader
            )
            assert resp.status in (400, 403, 404, 405), (_label(endpoint), junk)
            if resp.status == 400:
                assert (await resp.json())["field"], (_label(endpoint), junk)
