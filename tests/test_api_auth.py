"""Signing in from the mini-program: a login code, a token, binding, expiry and signing out."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient

from server.app import create_app
from server.clock import FrozenClock
from server.models.people import WeChatIdentity
from server.wechat.fake_state import FakeWeChat
from tests.api_helpers import login, signed_in
from tests.conftest import drain, make_member
from tests.wechat_peer import WeChatPeer

ME = "/api/v1/auth/me"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_new_user_signs_in_unbound_then_binds_with_name_and_phone(
    client: TestClient, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    wang = await make_member("王芳", "13800001234")

    answer = await login(client, fake, "o-new-user")
    assert answer["member"] is None
    assert answer["expires_in"] == 7200
    assert "session_key" not in json.dumps(answer)

    me = await (await client.get(ME, headers=bearer(answer["token"]))).json()
    assert me["bound"] is False

    resp = await client.post(
        "/api/v1/auth/bind", headers=bearer(answer["token"]), json={"name": "王芳", "phone": "1234"}
    )
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["member"]["id"] == wang.id
    assert body["member"]["phone"] == "138****1234"  # never the whole number

    resp = await client.get(ME, headers=bearer(answer["token"]))
    assert resp.content_type == "application/json"
    assert "王芳" in await resp.text()  # Chinese as itself, not \u escapes
    me = await resp.json()
    assert me["bound"] is True and me["member"]["name"] == "王芳"


async def test_a_member_bound_earlier_is_recognised_at_login(
    client: TestClient, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    wang = await make_member("王芳", "13800001234")
    headers = await signed_in(client, fake, wang)
    me = await (await client.get(ME, headers=headers)).json()
    assert me["member"]["id"] == wang.id


async def test_binding_in_the_mini_programs_chat_binds_the_api_session_too(
    client: TestClient, fake_wechat: tuple[FakeWeChat, str], peer: WeChatPeer
) -> None:
    fake, _ = fake_wechat
    await make_member("王芳", "13800001234")
    answer = await login(client, fake, "o-chat-user")

    # The mini-program's customer-service chat pushes JSON with the same appid.
    message = {
        "ToUserName": "gh_miniprogram",
        "FromUserName": "o-chat-user",
        "CreateTime": int(time.time()),
        "MsgType": "text",
        "Content": "绑定 王芳 1234",
        "MsgId": 77001,
    }
    resp = await client.post(
        "/wechat/miniprogram", params=peer.signed_query(), data=json.dumps(message).encode()
    )
    assert resp.status == 200
    await drain(client)

    me = await (await client.get(ME, headers=bearer(answer["token"]))).json()
    assert me["bound"] is True and me["member"]["name"] == "王芳"


async def test_two_members_of_the_same_name_need_the_whole_number(
    client: TestClient, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    await make_member("李强", "13800005678")
    second = await make_member("李强", "13900005678")
    token = (await login(client, fake, "o-li"))["token"]

    resp = await client.post(
        "/api/v1/auth/bind", headers=bearer(token), json={"name": "李强", "phone": "5678"}
    )
    assert resp.status == 409
    assert (await resp.json())["field"] == "phone"
    assert await WeChatIdentity.all().count() == 0

    resp = await client.post(
        "/api/v1/auth/bind", headers=bearer(token), json={"name": "李强", "phone": "13900005678"}
    )
    assert (await resp.json())["member"]["id"] == second.id


async def test_binding_is_refused_clearly_and_limited_after_repeated_failures(
    client: TestClient, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    await make_member("王芳", "13800001234")
    token = (await login(client, fake, "o-guesser"))["token"]
    statuses = []
    for guess in ["0000", "1111", "2222", "3333", "4444", "5555"]:
        resp = await client.post(
            "/api/v1/auth/bind", headers=bearer(token), json={"name": "王芳", "phone": guess}
        )
        statuses.append(resp.status)
    assert statuses[0] == 400
    assert statuses[-1] == 429
    assert await WeChatIdentity.all().count() == 0
    # A page can tell the lock from other refusals, and when to offer a retry.
    assert (await resp.json())["code"] == "BIND_LOCKED"
    assert int(resp.headers["Retry-After"]) > 0


async def test_malformed_bind_bodies_name_the_field(
    client: TestClient, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    token = (await login(client, fake, "o-hostile"))["token"]
    cases: list[tuple[Any, str]] = [
        ({"name": "王芳"}, "phone"),
        ({"name": "王芳", "phone": "1' OR '1'='1"}, "phone"),
        ({"name": "", "phone": "1234"}, "name"),
        ({"name": "王芳", "phone": "1234", "role": "系统管理员"}, "role"),
        ({"name": ["王芳"], "phone": "1234"}, "name"),
        ([1, 2, 3], "body"),
    ]
    for body, field in cases:
        resp = await client.post("/api/v1/auth/bind", headers=bearer(token), json=body)
        assert resp.status == 400, body
        assert (await resp.json())["field"] == field, body
    resp = await client.post(
        "/api/v1/auth/bind",
        headers=bearer(token),
        data=b"{not json",
    )
    assert resp.status == 400
    assert (await resp.json())["field"] == "body"
    assert await WeChatIdentity.all().count() == 0


async def test_a_used_or_invented_login_code_is_refused(
    client: TestClient, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    fake.add_code("code-once", "o-once")
    first = await client.post("/api/v1/auth/login", json={"code": "code-once"})
    assert first.status == 200
    again = await client.post("/api/v1/auth/login", json={"code": "code-once"})
    assert again.status == 401
    assert (await again.json())["field"] == "code"
    invented = await client.post("/api/v1/auth/login", json={"code": "made-up"})
    assert invented.status == 401
    empty = await client.post("/api/v1/auth/login", json={"code": ""})
    assert empty.status == 400 and (await empty.json())["field"] == "code"


async def test_calls_without_a_valid_token_are_401(
    client: TestClient, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    token = (await login(client, fake, "o-someone"))["token"]
    for headers in [
        {},
        {"Authorization": token},  # no scheme
        {"Authorization": f"Basic {token}"},
        bearer("forged" + token[6:]),
        bearer("x" * 5000),
        bearer("'; DROP TABLE member; --"),
    ]:
        resp = await client.get(ME, headers=headers)
        assert resp.status == 401, headers
        assert resp.headers["WWW-Authenticate"] == "Bearer"
        assert (await resp.json())["field"] == "Authorization"


async def test_signing_out_revokes_the_token(
    client: TestClient, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    token = (await login(client, fake, "o-leaver"))["token"]
    assert (await client.post("/api/v1/auth/logout", headers=bearer(token))).status == 200
    assert (await client.get(ME, headers=bearer(token))).status == 401


async def test_a_token_expires_after_the_session_lifetime(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    clock = FrozenClock(datetime(2026, 11, 25, 9, 0, tzinfo=UTC))
    client = await aiohttp_client(create_app(make_settings(api_session_ttl=600), clock=clock))
    token = (await login(client, fake, "o-sleepy"))["token"]
    clock.advance(599)
    assert (await client.get(ME, headers=bearer(token))).status == 200
    clock.advance(2)
    assert (await client.get(ME, headers=bearer(token))).status == 401
