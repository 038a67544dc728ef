"""The OpenAPI document is the API: every route is in it, and everything in it is a route."""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient

from server.api import endpoints
from server.api.spec import PREFIX, Auth
from server.typedefs import SETTINGS
from server.wechat.fake_state import FakeWeChat
from tests.api_helpers import login


def _routes(client: TestClient) -> set[tuple[str, str]]:
    found = set()
    for route in client.app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if path.startswith(PREFIX) and route.method != "HEAD":
            found.add((route.method, path))
    return found


async def test_the_document_lists_exactly_the_real_routes(client: TestClient) -> None:
    doc = await (await client.get(f"{PREFIX}/openapi.json")).json()
    documented = {(method.upper(), path) for path, ops in doc["paths"].items() for method in ops}
    assert documented == _routes(client)
    assert doc["openapi"].startswith("3.")


async def test_every_operation_is_described_and_its_references_resolve(
    client: TestClient,
) -> None:
    doc = await (await client.get(f"{PREFIX}/openapi.json")).json()
    ids = []
    for path, ops in doc["paths"].items():
        for op in ops.values():
            assert op["summary"], path
            ids.append(op["operationId"])
            for name in re.findall(r"{(\w+)}", path):
                assert any(p["name"] == name and p["in"] == "path" for p in op["parameters"])
    assert len(ids) == len(set(ids)), "operationIds are unique"
    text = str(doc)
    assert "#/$defs/" not in text, "every reference points into components"
    for ref in re.findall(r"#/components/(\w+)/(\w+)", text):
        assert ref[1] in doc["components"][ref[0]], ref


async def test_the_docs_page_shows_every_path(client: TestClient) -> None:
    resp = await client.get(f"{PREFIX}/docs")
    assert resp.status == 200
    page = await resp.text()
    for _, path in _routes(client):
        assert path in page
    assert "<script" not in page  # readable without anything from elsewhere


async def test_the_docs_page_tells_a_mini_program_developer_how_to_connect(
    client: TestClient,
) -> None:
    page = await (await client.get(f"{PREFIX}/docs")).text()
    # WeChat's rules for the server's address, and this deployment's token lifetime.
    for rule in ("request 合法域名", "ICP 备案", "TLS 1.2", "自签名", "Retry-After"):
        assert rule in page, rule
    minutes = client.app[SETTINGS].api_session_ttl // 60
    assert f"令牌有效期是 <b>{minutes} 分钟</b>" in page
    # A worked wx.request: log in, carry the token, log in again once on 401.
    assert "wx.login(" in page and "Bearer " in page and "statusCode === 401" in page


def _concrete(path: str) -> str:
    return PREFIX + re.sub(r"{\w+}", "1", path)


async def test_every_endpoint_but_login_and_docs_needs_a_token(client: TestClient) -> None:
    for endpoint in endpoints():
        if endpoint.auth is Auth.PUBLIC:
            continue
        resp = await client.request(endpoint.method, _concrete(endpoint.path), json={})
        assert resp.status == 401, (endpoint.method, endpoint.path)


async def test_member_endpoints_ask_an_unbound_user_to_bind_first(
    client: TestClient, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    token = (await login(client, fake_wechat[0], "o-unbound"))["token"]
    headers = {"Authorization": f"Bearer {token}"}
    for endpoint in endpoints():
        if endpoint.auth is not Auth.MEMBER:
            continue
        resp = await client.request(
            endpoint.method, _concrete(endpoint.path), json={}, headers=headers
        )
        body: Any = await resp.json()
        assert resp.status == 403, (endpoint.method, endpoint.path, body)
        assert "绑定" in body["error"]


async def test_path_parameters_have_their_real_types(client: TestClient) -> None:
    doc = await (await client.get(f"{PREFIX}/openapi.json")).json()
    unit = doc["paths"][f"{PREFIX}/study/units/{{unit_id}}"]["get"]["parameters"][0]
    assert unit["schema"]["type"] == "string"
    meeting = doc["paths"][f"{PREFIX}/meetings/{{id}}"]["get"]["parameters"][0]
    assert meeting["schema"] == {"type": "integer", "minimum": 1}


async def test_every_refusal_carries_a_documented_code_and_a_message_a_page_can_show(
    client: TestClient, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    """Real answers, each endpoint asked without a token, unbound, and with a body it cannot
    read: `code` is one the document lists, `error` is Chinese, with no field-name prefix."""
    doc = await (await client.get(f"{PREFIX}/openapi.json")).json()
    listed = set(doc["components"]["schemas"]["Error"]["properties"]["code"]["enum"])
    token = (await login(client, fake_wechat[0], "o-unbound-2"))["token"]
    answers = []
    for endpoint in endpoints():
        for headers in ({}, {"Authorization": f"Bearer {token}"}):
            resp = await client.request(
                endpoint.method, _concrete(endpoint.path), json={"nonsense": 1}, headers=headers
            )
            if resp.status >= 400:
                answers.append((endpoint.path, await resp.json()))
    bad = await client.post(f"{PREFIX}/auth/login", json={"code": 12})
    answers.append(("/auth/login", await bad.json()))
    assert answers
    for path, body in answers:
        assert body["code"] in listed, (path, body)
        assert re.search(r"[\u4e00-\u9fff]", body["error"]), (path, body)
        assert not re.match(r"^[\w.]+: ", body["error"]), (path, body)
        assert not re.search(r"Input should|Field required|Extra inputs", body["error"])


async def test_a_limit_says_when_to_try_again(client: TestClient) -> None:
    doc = await (await client.get(f"{PREFIX}/openapi.json")).json()
    limited = doc["components"]["responses"]["Error429"]
    assert "Retry-After" in limited["headers"]
    changing = [op for ops in doc["paths"].values() for m, op in ops.items() if m != "get"]
    assert changing and all("409" in op["responses"] for op in changing)
    assert all("429" in op["responses"] for op in changing)


def test_every_json_endpoint_documents_what_it_answers() -> None:
    undocumented = [
        (e.method, e.path)
        for e in endpoints()
        if e.produces == "application/json" and e.response is None and e.path != "/openapi.json"
    ]
    assert undocumented == []


async def test_an_answer_is_documented_by_its_model_in_the_document(client: TestClient) -> None:
    doc = await (await client.get(f"{PREFIX}/openapi.json")).json()
    answer = doc["paths"][f"{PREFIX}/meetings/{{id}}/roster"]["get"]["responses"]["200"]["content"]
    schema = doc["components"]["schemas"][
        answer["application/json"]["schema"]["$ref"].split("/")[-1]
    ]
    assert {"meeting", "people", "counts", "quorum"} <= set(schema["properties"])
    listed = doc["paths"][f"{PREFIX}/members"]["get"]["responses"]["200"]["content"]
    assert listed["application/json"]["schema"]["$ref"].endswith("/MemberRowPage")  # no brackets


async def test_an_answer_off_its_model_is_a_server_error_while_answers_are_checked(
    client: TestClient, fake_wechat: tuple[FakeWeChat, str], monkeypatch: Any
) -> None:
    """The suite runs with DANGJIAN_API_CHECK_REPLIES on: every answer any test sees is held to
    its model, so the document cannot drift from what the server sends."""
    from pydantic import BaseModel

    class Narrower(BaseModel):
        model_config = {"extra": "forbid"}
        token: str

    login_endpoint = next(e for e in endpoints() if e.path == "/auth/login")
    monkeypatch.setattr(login_endpoint, "response", Narrower)
    fake_wechat[0].add_code("code-drift", "o-drift")
    resp = await client.post(f"{PREFIX}/auth/login", json={"code": "code-drift"})
    assert resp.status == 500
