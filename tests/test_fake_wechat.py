"""The fake WeChat API over HTTP: it must follow WeChat's documented rules, or tests lie."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from server.clock import FrozenClock
from server.wechat.fake import FakeWeChat, create_fake_app
from server.wechat.fake_state import check_field

APPID = "wxfaketest0000001"
SECRET = "fake-secret"
ALICE = "oAlice0123456789abcdefghijk"
CREDENTIALS = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET}


@pytest.fixture
def clock() -> FrozenClock:
    # 09:00 in Shanghai, so "today" is unambiguous for the daily force-refresh limit.
    return FrozenClock(datetime(2024, 5, 6, 1, 0, tzinfo=UTC))


@pytest.fixture
def fake(clock: FrozenClock) -> FakeWeChat:
    return FakeWeChat(clock=clock, appid_secrets={APPID: SECRET})


@pytest.fixture
async def http(aiohttp_client: Callable[..., Any], fake: FakeWeChat) -> TestClient:
    return await aiohttp_client(create_fake_app(fake))


async def post(http: TestClient, url: str, body: Any = None, **params: str) -> dict[str, Any]:
    async with http.post(url, json=body, params=params) as resp:
        assert resp.status == 200, await resp.text()
        return dict(await resp.json())


async def get(http: TestClient, url: str, **params: str) -> dict[str, Any]:
    async with http.get(url, params=params) as resp:
        assert resp.status == 200, await resp.text()
        return dict(await resp.json(content_type=None))


async def stable(http: TestClient, force: bool = False, **overrides: Any) -> dict[str, Any]:
    return await post(
        http, "/cgi-bin/stable_token", CREDENTIALS | {"force_refresh": force} | overrides
    )


async def send_text(http: TestClient, token: str, openid: str = ALICE) -> int:
    body = {"touser": openid, "msgtype": "text", "text": {"content": "hi"}}
    answer = await post(http, "/cgi-bin/message/custom/send", body, access_token=token)
    return int(answer["errcode"])


# --- tokens ---------------------------------------------------------------------------------


async def test_stable_token_returns_the_same_token_until_its_last_five_minutes(
    http: TestClient, fake: FakeWeChat, clock: FrozenClock
) -> None:
    fake.interact(ALICE, "message")
    first = await stable(http)
    assert first["errcode"] == 0 and first["expires_in"] == 7200
    clock.advance(1000)
    again = await stable(http)
    assert again["access_token"] == first["access_token"]
    assert again["expires_in"] == 6200
    clock.advance(6200 - 300)
    renewed = await stable(http)
    assert renewed["access_token"] != first["access_token"]
    assert renewed["expires_in"] == 7200
    # The old token keeps working until it really expires.
    assert await send_text(http, first["access_token"]) == 0
    clock.advance(300)
    assert await send_text(http, first["access_token"]) == 42001
    assert await send_text(http, renewed["access_token"]) == 0


async def test_force_refresh_invalidates_the_old_token_and_is_rate_limited(
    http: TestClient, fake: FakeWeChat, clock: FrozenClock
) -> None:
    fake.interact(ALICE, "message")
    old = (await stable(http))["access_token"]
    new = (await stable(http, force=True))["access_token"]
    assert new != old
    assert await send_text(http, old) == 40001
    assert await send_text(http, new) == 0
    assert (await stable(http, force=True))["errcode"] == 45011  # within 30 s
    clock.advance(30)
    assert (await stable(http, force=True))["errcode"] == 0


async def test_force_refresh_is_limited_to_twenty_a_day(
    http: TestClient, clock: FrozenClock
) -> None:
    for _ in range(20):
        assert (await stable(http, force=True))["errcode"] == 0
        clock.advance(31)
    assert (await stable(http, force=True))["errcode"] == 45009
    clock.advance(hours=24)
    assert (await stable(http, force=True))["errcode"] == 0


@pytest.mark.parametrize(
    ("overrides", "errcode"),
    [
        ({"appid": "wxunknown"}, 40013),
        ({"secret": "wrong"}, 40125),
        ({"grant_type": "password"}, 40002),
        ({"appid": ""}, 41002),
    ],
)
async def test_stable_token_checks_credentials(
    http: TestClient, overrides: dict[str, str], errcode: int
) -> None:
    answer = await stable(http, **overrides)
    assert answer["errcode"] == errcode
    assert "access_token" not in answer


async def test_old_token_api_invalidates_only_its_own_previous_token(
    http: TestClient, fake: FakeWeChat
) -> None:
    fake.interact(ALICE, "message")
    stable_token = (await stable(http))["access_token"]
    params = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET}
    first = (await get(http, "/cgi-bin/token", **params))["access_token"]
    second = (await get(http, "/cgi-bin/token", **params))["access_token"]
    assert await send_text(http, first) == 40001
    assert await send_text(http, second) == 0
    # WeChat keeps the stable token apart from the old API.
    assert await send_text(http, stable_token) == 0


async def test_token_checks_on_the_apis(http: TestClient, fake: FakeWeChat) -> None:
    fake.interact(ALICE, "message")
    body = {"touser": ALICE, "msgtype": "text", "text": {"content": "hi"}}
    missing = await post(http, "/cgi-bin/message/custom/send", body)
    assert missing["errcode"] == 41001
    assert await send_text(http, "not-a-token") == 40001
    token = (await stable(http))["access_token"]
    async with http.post("/_fake/expire-tokens") as resp:
        assert resp.status == 200
    assert await send_text(http, token) == 42001
    fresh = await stable(http)
    assert fresh["access_token"] != token
    assert await send_text(http, fresh["access_token"]) == 0


async def test_bad_bodies_are_data_format_errors(http: TestClient, fake: FakeWeChat) -> None:
    token = (await stable(http))["access_token"]
    path = f"/cgi-bin/message/custom/send?access_token={token}"
    async with http.post(path, data=b"{not json") as resp:
        bad = await resp.json()
    assert resp.status == 200
    assert bad["errcode"] == 47001 and bad["errmsg"].startswith("data format error")
    async with http.post(path, data=b"") as resp:
        assert (await resp.json())["errcode"] == 44002
    async with http.post("/cgi-bin/stable_token", data=b"[1, 2]") as resp:
        assert (await resp.json())["errcode"] == 47001


# --- messages -------------------------------------------------------------------------------


async def test_custom_window_through_the_control_api(http: TestClient, fake: FakeWeChat) -> None:
    token = (await stable(http))["access_token"]
    assert await send_text(http, token) == 40003  # never seen
    await post(http, "/_fake/interact", {"openid": ALICE, "kind": "event"})
    assert [await send_text(http, token) for _ in range(4)] == [0, 0, 0, 45047]
    await post(http, "/_fake/interact", {"openid": ALICE})  # kind defaults to message
    assert [await send_text(http, token) for _ in range(6)] == [0] * 5 + [45047]
    messages = await get(http, "/_fake/messages", openid=ALICE)
    assert len(messages["messages"]) == 8
    assert messages["messages"][0]["kind"] == "custom"
    assert messages["messages"][0]["body"]["text"] == {"content": "hi"}


async def test_custom_send_checks_the_message_type(http: TestClient, fake: FakeWeChat) -> None:
    fake.interact(ALICE, "message")
    token = (await stable(http))["access_token"]
    path = "/cgi-bin/message/custom/send"
    odd = await post(http, path, {"touser": ALICE, "msgtype": "hologram"}, access_token=token)
    assert odd["errcode"] == 40008
    empty = {"touser": ALICE, "msgtype": "text", "text": {"content": ""}}
    assert (await post(http, path, empty, access_token=token))["errcode"] == 47001
    assert fake.messages_to(ALICE) == []


async def test_registered_templates_are_enforced(http: TestClient, fake: FakeWeChat) -> None:
    token = (await stable(http))["access_token"]
    await post(http, "/_fake/templates", {"template_id": "TPL-1", "fields": ["thing1", "time2"]})
    await post(http, "/_fake/grants", {"openid": ALICE, "template_id": "TPL-1", "count": 1})
    path = "/cgi-bin/message/subscribe/send"
    good = {"thing1": {"value": "党课"}, "time2": {"value": "2024-05-08 14:30"}}
    unknown = await post(
        http, path, {"touser": ALICE, "template_id": "TPL-X", "data": good}, access_token=token
    )
    assert unknown["errcode"] == 40037
    partial = {"touser": ALICE, "template_id": "TPL-1", "data": {"thing1": {"value": "党课"}}}
    missing = await post(http, path, partial, access_token=token)
    assert missing["errcode"] == 47003 and "time2" in missing["errmsg"]
    sent = await post(
        http, path, {"touser": ALICE, "template_id": "TPL-1", "data": good}, access_token=token
    )
    assert sent["errcode"] == 0
    assert fake.grants_left(ALICE, "TPL-1") == 0


async def test_template_send_through_the_control_api(http: TestClient) -> None:
    token = (await stable(http))["access_token"]
    await post(http, "/_fake/interact", {"openid": ALICE})
    body = {"touser": ALICE, "template_id": "TPL-OA", "data": {"first": {"value": "通知"}}}
    path = "/cgi-bin/message/template/send"
    assert (await post(http, path, body, access_token=token))["errcode"] == 43004
    await post(http, "/_fake/followers", {"openid": ALICE})
    answer = await post(http, path, body, access_token=token)
    assert answer["errcode"] == 0 and answer["msgid"] >= 1


@pytest.mark.parametrize(
    ("name", "value", "ok"),
    [
        ("thing1", "支" * 20, True),
        ("thing1", "支" * 21, False),
        ("phrase3", "已通过", True),
        ("phrase3", "审核已经通过了", False),
        ("phrase3", "ok", False),
        ("character_string4", "A-123_x", True),
        ("character_string4", "x" * 33, False),
        ("character_string4", "编号1", False),
        ("number5", "12.5", True),
        ("number5", "12a", False),
        ("letter6", "abc", True),
        ("letter6", "ab1", False),
        ("time7", "14:30", True),
        ("time7", "2024年5月8日 14:30", True),
        ("time7", "2024-05-08", True),
        ("time7", "下午两点", False),
        ("date8", "2024年5月8日", True),
        ("date8", "14:30", False),
        ("amount9", "¥12.50", True),
        ("name10", "张三", True),
        ("name10", "张" * 11, False),
        ("thing11", "", False),
        ("custom12", "anything goes", True),
    ],
)
def test_subscribe_field_limits(name: str, value: str, ok: bool) -> None:
    assert (check_field(name, {"value": value}) is None) is ok


def test_subscribe_field_must_be_a_value_object() -> None:
    assert check_field("thing1", "plain string") is not None


# --- login ----------------------------------------------------------------------------------


async def test_jscode2session_over_http(http: TestClient) -> None:
    await post(http, "/_fake/codes", {"code": "c1", "openid": ALICE, "unionid": "u1"})
    params = {"appid": APPID, "secret": SECRET, "js_code": "c1"}
    async with http.get(
        "/sns/jscode2session", params=params | {"grant_type": "authorization_code"}
    ) as resp:
        # WeChat labels this answer text/plain.
        assert resp.content_type == "text/plain"
        answer = await resp.json(content_type=None)
    assert answer["openid"] == ALICE and answer["unionid"] == "u1" and answer["session_key"]
    again = await get(http, "/sns/jscode2session", **params, grant_type="authorization_code")
    assert again["errcode"] == 40029
    wrong = await get(http, "/sns/jscode2session", **params, grant_type="client_credential")
    assert wrong["errcode"] == 40002
    assert (await get(http, "/sns/jscode2session", appid=APPID, secret="x"))["errcode"] == 40125


# --- the control API ------------------------------------------------------------------------


async def test_calls_since_returns_newer_calls_and_the_next_cursor(
    http: TestClient, fake: FakeWeChat
) -> None:
    empty = await get(http, "/_fake/calls")
    assert empty == {"calls": [], "next": 0}
    token = (await stable(http))["access_token"]
    fake.interact(ALICE, "message")
    await send_text(http, token)
    await send_text(http, token)
    page = await get(http, "/_fake/calls", since="0")
    assert [c["seq"] for c in page["calls"]] == [1, 2, 3]
    assert page["next"] == 3
    first = page["calls"][0]
    assert first["path"] == "/cgi-bin/stable_token"
    assert first["body"]["secret"] == "***"
    assert first["errcode"] == 0 and first["status"] == 200
    assert datetime.fromisoformat(first["at"]) == fake.clock.now()
    assert page["calls"][1]["query"] == {}  # the access_token is never recorded
    assert page["calls"][1]["body"]["touser"] == ALICE
    newer = await get(http, "/_fake/calls", since="2")
    assert [c["seq"] for c in newer["calls"]] == [3] and newer["next"] == 3
    assert await get(http, "/_fake/calls", since="3") == {"calls": [], "next": 3}
    only = await get(http, "/_fake/calls", path="/cgi-bin/stable_token")
    assert [c["seq"] for c in only["calls"]] == [1]
    assert [c.seq for c in fake.calls_to("/cgi-bin/message/custom/send")] == [2, 3]


async def test_injected_failures_over_http(http: TestClient, fake: FakeWeChat) -> None:
    token = (await stable(http))["access_token"]
    fake.interact(ALICE, "message")
    path = "/cgi-bin/message/custom/send"
    await post(http, "/_fake/fail", {"path": path, "errcode": -1, "times": 2})
    assert [await send_text(http, token) for _ in range(3)] == [-1, -1, 0]
    await post(http, "/_fake/fail", {"path": path, "status": 502})
    body = {"touser": ALICE, "msgtype": "text", "text": {"content": "hi"}}
    async with http.post(path, json=body, params={"access_token": token}) as resp:
        assert resp.status == 502
    assert fake.calls[-1].status == 502 and fake.calls[-1].errcode == -1
    assert await send_text(http, token) == 0
    await post(http, "/_fake/fail", {"path": path, "errcode": 45009, "times": None})
    assert [await send_text(http, token) for _ in range(3)] == [45009] * 3
    await post(http, "/_fake/reset")
    assert fake.calls == []
    assert await send_text(http, token) == 40001  # the reset forgot the token too


async def test_a_failure_after_some_calls_lets_those_through_first(
    http: TestClient, fake: FakeWeChat
) -> None:
    token = (await stable(http))["access_token"]
    fake.interact(ALICE, "message")
    path = "/cgi-bin/message/custom/send"
    await post(http, "/_fake/fail", {"path": path, "errcode": -1, "times": 1, "after": 2})
    assert [await send_text(http, token) for _ in range(4)] == [0, 0, -1, 0]


async def test_injected_delay_then_normal_answer(http: TestClient, fake: FakeWeChat) -> None:
    await post(http, "/_fake/fail", {"path": "/cgi-bin/stable_token", "delay": 0.01})
    assert (await stable(http))["errcode"] == 0


@pytest.mark.parametrize(
    ("endpoint", "body"),
    [
        ("/_fake/interact", {"openid": ALICE, "kind": "wave"}),
        ("/_fake/interact", {}),
        ("/_fake/grants", {"openid": ALICE, "template_id": "T", "count": "two"}),
        ("/_fake/fail", {"path": "/cgi-bin/token"}),
        ("/_fake/fail", {"path": "/cgi-bin/token", "errcode": -1, "times": 0}),
        ("/_fake/fail", {"path": "/cgi-bin/token", "errcode": -1, "after": -1}),
        ("/_fake/templates", {"template_id": "T", "fields": "thing1"}),
        ("/_fake/codes", {"code": "c"}),
    ],
)
async def test_control_api_rejects_bad_input(
    http: TestClient, endpoint: str, body: dict[str, Any]
) -> None:
    async with http.post(endpoint, json=body) as resp:
        assert resp.status == 400
        assert (await resp.json())["errcode"] == 47001


def test_a_flaky_path_fails_every_nth_call() -> None:
    fake = FakeWeChat()
    fake.flaky("/cgi-bin/message/custom/send", errcode=-1, every=3)
    taken = [fake.take_failure("/cgi-bin/message/custom/send") for _ in range(6)]
    assert [t.errcode if t else None for t in taken] == [None, None, -1, None, None, -1]
    fake.flaky("/cgi-bin/message/custom/send", every=0)
    assert fake.take_failure("/cgi-bin/message/custom/send") is None


# --- web authorisation (网页授权) ---------------------------------------------------------------

AUTHORIZE = {
    "appid": APPID,
    "redirect_uri": "https://dj.example.cn/admin/meetings/7/signin/back",
    "response_type": "code",
    "scope": "snsapi_base",
    "state": "abc123",
}


async def authorize(http: TestClient, user: str | None = ALICE, **overrides: str) -> Any:
    headers = {"X-Fake-WeChat-User": user} if user else {}
    return await http.get(
        "/connect/oauth2/authorize",
        params=AUTHORIZE | overrides,
        headers=headers,
        allow_redirects=False,
    )


async def test_web_authorisation_redirects_with_a_single_use_code_for_the_openid(
    http: TestClient,
) -> None:
    resp = await authorize(http)
    assert resp.status == 302
    back = resp.headers["Location"]
    assert back.startswith(AUTHORIZE["redirect_uri"] + "?code=") and back.endswith("&state=abc123")
    code = back.split("code=")[1].split("&")[0]
    exchange = {
        "appid": APPID,
        "secret": SECRET,
        "code": code,
        "grant_type": "authorization_code",
    }
    answer = await get(http, "/sns/oauth2/access_token", **exchange)
    assert answer["errcode"] == 0 and answer["openid"] == ALICE
    assert answer["scope"] == "snsapi_base" and answer["expires_in"] == 7200
    assert (await get(http, "/sns/oauth2/access_token", **exchange))["errcode"] == 40163
    never = exchange | {"code": "never-issued"}
    assert (await get(http, "/sns/oauth2/access_token", **never))["errcode"] == 40029
    wrong = exchange | {"secret": "nope"}
    assert (await get(http, "/sns/oauth2/access_token", **wrong))["errcode"] == 40125
    grant = exchange | {"grant_type": "client_credential"}
    assert (await get(http, "/sns/oauth2/access_token", **grant))["errcode"] == 40002


async def test_a_web_code_expires_after_five_minutes(http: TestClient, clock: FrozenClock) -> None:
    back = (await authorize(http)).headers["Location"]
    code = back.split("code=")[1].split("&")[0]
    clock.advance(minutes=5, seconds=1)
    answer = await get(
        http,
        "/sns/oauth2/access_token",
        appid=APPID,
        secret=SECRET,
        code=code,
        grant_type="authorization_code",
    )
    assert answer["errcode"] == 40029


async def test_the_authorize_page_refuses_what_wechat_refuses(http: TestClient) -> None:
    outside = await authorize(http, user=None)
    assert outside.status == 200 and "请在微信客户端打开链接" in await outside.text()
    for overrides, code in (
        ({"appid": "wxunknown"}, "10016"),
        ({"redirect_uri": "not a url"}, "10003"),
        ({"response_type": "token"}, "10005"),
        ({"scope": "snsapi_everything"}, "10004"),
    ):
        resp = await authorize(http, **overrides)
        assert resp.status == 400 and code in await resp.text(), overrides
