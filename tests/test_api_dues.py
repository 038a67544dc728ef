"""POST /api/v1/dues: the mini-program works out a member's 党费 the way the chat does."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from server.logs import JsonFormatter
from server.settings import Settings
from server.wechat.fake_state import FakeWeChat
from tests.api_helpers import login, signed_in
from tests.conftest import make_member

URL = "/api/v1/dues"


async def member_headers(client: TestClient, fake_wechat: tuple[FakeWeChat, str]) -> dict[str, str]:
    return await signed_in(client, fake_wechat[0], await make_member("王芳", "13912345678"))


async def post(client: TestClient, headers: dict[str, str], body: Any) -> tuple[int, Any]:
    resp = await client.post(URL, json=body, headers=headers)
    return resp.status, await resp.json()


async def test_a_working_member_gets_the_amount_the_bracket_and_the_source(
    client: TestClient, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    headers = await member_headers(client, fake_wechat)
    status, body = await post(client, headers, {"category": "在职", "income": 6500})
    assert status == 200, body
    assert body["amount"] == body["min"] == body["max"] == "97.50"
    assert (body["rate"], body["base"]) == ("1.5%", "6500.00")
    assert "5000元以上至10000元（含10000元）" in body["bracket"]
    assert "2008" in body["source"] and "党费收缴、使用和管理的规定" in body["source"]
    assert "以党支部核定的数额为准" in body["notes"]


@pytest.mark.parametrize(
    ("category", "income", "amount"),
    [
        ("在职", "3000", "15.00"),
        ("在职", "3000.01", "30.00"),
        ("在职", "10000.01", "200.00"),
        ("离退休", "5000", "25.00"),
        ("离退休", "5000.01", "50.00"),
        ("学生", None, "0.20"),
        ("下岗失业", None, "0.20"),
        ("低保或抚恤救济", "8000", "0.20"),  # an income given where none is used is ignored
    ],
)
async def test_the_edges_and_the_flat_amounts(
    client: TestClient,
    fake_wechat: tuple[FakeWeChat, str],
    category: str,
    income: str | None,
    amount: str,
) -> None:
    headers = await member_headers(client, fake_wechat)
    status, body = await post(client, headers, {"category": category, "income": income})
    assert (status, body["amount"]) == (200, amount), body


async def test_a_farmer_gets_the_range_the_branch_chooses_from(
    client: TestClient, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    headers = await member_headers(client, fake_wechat)
    status, body = await post(client, headers, {"category": "农民"})
    assert status == 200
    assert (body["amount"], body["min"], body["max"], body["rate"]) == (None, "0.20", "1.00", None)


async def test_someone_signed_in_but_not_bound_may_use_it_and_no_one_unsigned(
    client: TestClient, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    token = (await login(client, fake_wechat[0], "o-unbound"))["token"]
    status, body = await post(client, {"Authorization": f"Bearer {token}"}, {"category": "学生"})
    assert (status, body["amount"]) == (200, "0.20")
    status, body = await post(client, {}, {"category": "学生"})
    assert status == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"category": "在职"}, "income"),
        ({"category": "在职", "income": None}, "income"),
        ({"category": "在职", "income": -6500}, "income"),
        ({"category": "在职", "income": 0}, "income"),
        ({"category": "在职", "income": 10**12}, "income"),
        ({"category": "在职", "income": "NaN"}, "income"),
        ({"category": "在职", "income": "Infinity"}, "income"),
        ({"category": "在职", "income": "六千"}, "income"),
        ({"category": "在职", "income": 6500.123}, "income"),
        ({"category": "在职", "income": True}, "income"),
        ({"category": "在职", "income": [6500]}, "income"),
        ({"category": "老板", "income": 6500}, "category"),
        ({"category": "", "income": 6500}, "category"),
        ({"income": 6500}, "category"),
        ({"category": "在职", "income": 6500, "salary": 1}, "salary"),
        ({"category": "在职\x00", "income": 6500}, "category"),
    ],
)
async def test_hostile_input_is_refused_naming_the_field(
    client: TestClient, fake_wechat: tuple[FakeWeChat, str], body: Any, field: str
) -> None:
    headers = await member_headers(client, fake_wechat)
    status, answer = await post(client, headers, body)
    assert (status, answer.get("field")) == (400, field), answer


async def test_the_income_is_neither_stored_nor_logged(
    client: TestClient,
    fake_wechat: tuple[FakeWeChat, str],
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    headers = await member_headers(client, fake_wechat)
    caplog.set_level(logging.DEBUG)
    assert (await post(client, headers, {"category": "在职", "income": 8765.43}))[0] == 200
    refused = await post(client, headers, {"category": "在职", "income": -8765.43})
    assert refused[0] == 400 and "8765" not in str(refused[1])
    assert (await post(client, headers, {"category": "离退休", "income": "9876.54"}))[0] == 200
    path = Path(settings.db_url.removeprefix("sqlite://"))
    stored = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    # With the decimals: counters elsewhere in the suite make ids and phones with these digits.
    assert stored and b"8765.4" not in stored and b"9876.5" not in stored
    logged = "\n".join(JsonFormatter().format(record) for record in caplog.records)
    assert "8765.4" not in logged and "9876.5" not in logged


async def test_it_is_in_the_api_document(client: TestClient) -> None:
    doc = await (await client.get("/api/v1/openapi.json")).json()
    operation = doc["paths"][URL]["post"]
    assert "党费" in operation["summary"]
    assert set(doc["components"]["schemas"]["DuesInput"]["properties"]) == {"category", "income"}
