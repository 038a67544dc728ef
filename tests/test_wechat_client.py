"""WeChatClient against the fake WeChat API, in process, with time moved by a FrozenClock."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from server.cache import MemoryCache, RedisCache
from server.clock import FrozenClock
from server.errors import WeChatAPIError, WeChatUnavailable
from server.metrics import Metrics
from server.wechat.client import WeChatClient
from server.wechat.fake import FakeWeChat, create_fake_app

APPID = "wxfaketest0000001"
SECRET = "fake-secret"
ALICE = "oAlice0123456789abcdefghijk"
STABLE = "/cgi-bin/stable_token"
CUSTOM = "/cgi-bin/message/custom/send"
SUBSCRIBE = "/cgi-bin/message/subscribe/send"
TEMPLATE = "/cgi-bin/message/template/send"
LOGIN = "/sns/jscode2session"

ServerFactory = Callable[..., Any]
MakeClient = Callable[..., WeChatClient]


class RecordingClock(FrozenClock):
    """Remembers every back-off so tests can check it grows, without sleeping for real."""

    def __init__(self) -> None:
        super().__init__(datetime(2024, 5, 6, 9, 0, tzinfo=UTC))
        self.slept: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        await super().sleep(seconds)


@pytest.fixture
def clock() -> RecordingClock:
    return RecordingClock()


@pytest.fixture
def fake(clock: RecordingClock) -> FakeWeChat:
    return FakeWeChat(clock=clock, appid_secrets={APPID: SECRET})


@pytest.fixture
async def server(aiohttp_server: ServerFactory, fake: FakeWeChat) -> TestServer:
    return await aiohttp_server(create_fake_app(fake))


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def cache(clock: RecordingClock) -> MemoryCache:
    return MemoryCache(clock)


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def make_client(
    server: TestServer,
    session: aiohttp.ClientSession,
    cache: MemoryCache,
    clock: RecordingClock,
    metrics: Metrics,
) -> MakeClient:
    def make(**overrides: Any) -> WeChatClient:
        args: dict[str, Any] = {
            "session": session,
            "base_url": str(server.make_url("")),
            "appid": APPID,
            "secret": SECRET,
            "cache": cache,
            "clock": clock,
            "metrics": metrics,
        }
        return WeChatClient(**(args | overrides))

    return make


@pytest.fixture
def client(make_client: MakeClient) -> WeChatClient:
    return make_client()


def counted(metrics: Metrics, api: str, errcode: str) -> float:
    value = metrics.registry.get_sample_value(
        "dangjian_wechat_api_calls_total", {"api": api, "errcode": errcode}
    )
    return value or 0.0


def errcodes(fake: FakeWeChat, path: str) -> list[int]:
    return [call.errcode for call in fake.calls_to(path)]


# --- the access token -------------------------------------------------------------------------


async def test_token_is_fetched_once_and_shared_by_two_clients_on_one_cache(
    make_client: MakeClient, fake: FakeWeChat
) -> None:
    first, second = make_client(), make_client()
    token = await first.access_token()
    assert await second.access_token() == token
    assert await first.access_token() == token
    [call] = fake.calls_to(STABLE)
    assert call.body["grant_type"] == "client_credential"
    assert call.body["appid"] == APPID
    assert call.body["force_refresh"] is False
    assert fake.calls_to("/cgi-bin/token") == []


async def test_twenty_concurrent_callers_make_one_refresh(
    client: WeChatClient, fake: FakeWeChat
) -> None:
    tokens = await asyncio.gather(*(client.access_token() for _ in range(20)))
    assert len(set(tokens)) == 1
    assert len(fake.calls_to(STABLE)) == 1


async def test_two_clients_refreshing_at_once_share_one_refresh(
    make_client: MakeClient, fake: FakeWeChat
) -> None:
    # Two clients on one cache stand for two processes: only the shared lock orders them.
    clients = [make_client(), make_client()]
    tokens = await asyncio.gather(*(c.access_token() for c in clients for _ in range(5)))
    assert len(set(tokens)) == 1
    assert len(fake.calls_to(STABLE)) == 1


async def test_cached_token_lives_expires_in_minus_300_seconds(
    client: WeChatClient, fake: FakeWeChat, clock: RecordingClock
) -> None:
    first = await client.access_token()
    clock.advance(7200 - 300 - 1)
    assert await client.access_token() == first
    assert len(fake.calls_to(STABLE)) == 1
    clock.advance(2)
    # In the token's last 5 minutes the stable API issues a new one.
    second = await client.access_token()
    assert second != first
    assert len(fake.calls_to(STABLE)) == 2


async def test_expired_token_is_refreshed_and_the_call_retried_once(
    client: WeChatClient, fake: FakeWeChat, cache: MemoryCache
) -> None:
    fake.interact(ALICE, "message")
    old = await client.access_token()
    fake.expire_tokens()
    answer = await client.send_custom_text(ALICE, "学习提醒")
    assert answer["errcode"] == 0
    assert errcodes(fake, CUSTOM) == [42001, 0]
    assert [c.body["force_refresh"] for c in fake.calls_to(STABLE)] == [False, False]
    new = await cache.get(f"wechat:token:{APPID}")
    assert new is not None and new != old
    assert [m.text for m in fake.messages_to(ALICE)] == ["学习提醒"]


async def test_token_revoked_elsewhere_is_replaced_without_force(
    client: WeChatClient, fake: FakeWeChat, session: aiohttp.ClientSession, server: TestServer
) -> None:
    fake.interact(ALICE, "message")
    await client.access_token()
    # Someone else force-refreshes: our cached token is now invalid (40001).
    body = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET}
    async with session.post(server.make_url(STABLE), json=body | {"force_refresh": True}) as r:
        assert (await r.json())["errcode"] == 0
    await client.send_custom_text(ALICE, "hello")
    assert errcodes(fake, CUSTOM) == [40001, 0]
    assert [c.body["force_refresh"] for c in fake.calls_to(STABLE)] == [False, True, False]


async def test_token_refused_twice_raises_after_one_retry(
    client: WeChatClient, fake: FakeWeChat
) -> None:
    fake.interact(ALICE, "message")
    fake.fail_next(CUSTOM, 40001, times=2)
    with pytest.raises(WeChatAPIError) as caught:
        await client.send_custom_text(ALICE, "hello")
    assert caught.value.errcode == 40001
    assert caught.value.api == "custom_send"
    assert errcodes(fake, CUSTOM) == [40001, 40001]
    # The stable API handed back the very token just refused, so the client forced a new one.
    assert [c.body["force_refresh"] for c in fake.calls_to(STABLE)] == [False, False, True]


async def test_wrong_secret_is_a_final_error(make_client: MakeClient, fake: FakeWeChat) -> None:
    with pytest.raises(WeChatAPIError) as caught:
        await make_client(secret="wrong").access_token()
    assert caught.value.errcode == 40125
    assert not isinstance(caught.value, WeChatUnavailable)
    assert len(fake.calls_to(STABLE)) == 1


# --- back-off and failures ----------------------------------------------------------------


async def test_system_busy_is_retried_with_growing_backoff(
    client: WeChatClient, fake: FakeWeChat, clock: RecordingClock, metrics: Metrics
) -> None:
    fake.interact(ALICE, "message")
    fake.fail_next(CUSTOM, -1, times=2)
    await client.send_custom_text(ALICE, "hello")
    assert errcodes(fake, CUSTOM) == [-1, -1, 0]
    assert clock.slept == [pytest.approx(0.2), pytest.approx(0.4)]
    assert counted(metrics, "custom_send", "-1") == 2
    assert counted(metrics, "custom_send", "0") == 1
    assert counted(metrics, "stable_token", "0") == 1


async def test_system_busy_every_time_gives_unavailable(
    client: WeChatClient, fake: FakeWeChat, clock: RecordingClock
) -> None:
    fake.interact(ALICE, "message")
    fake.fail_next(CUSTOM, -1, times=None)
    with pytest.raises(WeChatUnavailable) as caught:
        await client.send_custom_text(ALICE, "hello")
    assert caught.value.transient
    assert errcodes(fake, CUSTOM) == [-1, -1, -1]
    assert clock.slept == [pytest.approx(0.2), pytest.approx(0.4)]
    assert fake.messages_to(ALICE) == []


async def test_http_502_on_a_send_is_not_resent_it_may_have_been_delivered(
    make_client: MakeClient, fake: FakeWeChat, metrics: Metrics, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(max_attempts=4, backoff=1.0)
    fake.interact(ALICE, "message")
    token = await client.access_token()
    fake.fail_next(CUSTOM, status=502, times=None)
    with caplog.at_level(logging.DEBUG, logger="dangjian.wechat"):
        with pytest.raises(WeChatUnavailable) as caught:
            await client.send_custom_text(ALICE, "hello")
    # A gateway's 502 comes after the request left: WeChat may have sent it.  Never twice.
    assert len(fake.calls_to(CUSTOM)) == 1
    assert caught.value.maybe_delivered
    assert counted(metrics, "custom_send", "network") == 1
    assert "502" in str(caught.value)
    # The failing URL carries the token: neither the error nor the log may show it.
    assert token not in str(caught.value)
    assert token not in caplog.text
    assert ALICE not in caplog.text


async def test_closed_port_gives_unavailable(
    session: aiohttp.ClientSession,
    cache: MemoryCache,
    clock: RecordingClock,
    metrics: Metrics,
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = WeChatClient(
        session=session,
        base_url=f"http://127.0.0.1:{port}",
        appid=APPID,
        secret=SECRET,
        cache=cache,
        clock=clock,
        metrics=metrics,
    )
    with pytest.raises(WeChatUnavailable):
        await client.code2session("any-code")
    assert counted(metrics, "code2session", "network") == 3
    assert clock.slept == [pytest.approx(0.2), pytest.approx(0.4)]


async def test_a_slow_token_answer_times_out_and_is_retried(
    make_client: MakeClient, fake: FakeWeChat, metrics: Metrics
) -> None:
    client = make_client(timeout=0.05)
    fake.fail_next("/cgi-bin/stable_token", delay=0.5)
    assert await client.access_token()
    assert counted(metrics, "stable_token", "network") == 1
    assert counted(metrics, "stable_token", "0") == 1


async def test_a_send_that_timed_out_is_not_resent(
    make_client: MakeClient, fake: FakeWeChat
) -> None:
    """WeChat may have delivered it: a member must not get the same message twice."""
    client = make_client(timeout=0.05)
    await client.access_token()
    fake.interact(ALICE, "message")
    fake.fail_next(CUSTOM, delay=0.5)
    with pytest.raises(WeChatUnavailable) as caught:
        await client.send_custom_text(ALICE, "会议通知")
    assert "not resent" in str(caught.value)
    assert len(fake.calls_to(CUSTOM)) <= 1


async def test_a_subscribe_message_that_timed_out_is_not_resent_either(
    make_client: MakeClient, fake: FakeWeChat
) -> None:
    """Each resend would spend another of the member's grants and deliver a second copy."""
    client = make_client(timeout=0.05)
    await client.access_token()
    fake.grant(ALICE, "TPL-MEETING", count=3)
    fake.fail_next(SUBSCRIBE, delay=0.3)
    with pytest.raises(WeChatUnavailable) as caught:
        await client.send_subscribe(ALICE, "TPL-MEETING", {"thing1": {"value": "支部党员大会"}})
    assert caught.value.maybe_delivered  # the outbox settles it uncertain, never resends
    await asyncio.sleep(0.4)  # WeChat finishes the slow send
    assert len(fake.messages_to(ALICE)) == 1 and len(fake.calls_to(SUBSCRIBE)) == 1


async def test_a_login_code_is_not_replayed_after_a_timeout(
    make_client: MakeClient, fake: FakeWeChat
) -> None:
    client = make_client(timeout=0.05)
    fake.add_code("slow-code", ALICE)
    fake.fail_next(LOGIN, delay=0.5)
    with pytest.raises(WeChatUnavailable):
        await client.code2session("slow-code")


async def test_quota_error_is_raised_at_once(
    client: WeChatClient, fake: FakeWeChat, clock: RecordingClock
) -> None:
    fake.interact(ALICE, "message")
    fake.fail_next(CUSTOM, 45009)
    with pytest.raises(WeChatAPIError) as caught:
        await client.send_custom_text(ALICE, "hello")
    assert caught.value.quota_exhausted
    assert len(fake.calls_to(CUSTOM)) == 1
    assert clock.slept == []


async def test_unauthorised_api_is_logged_as_a_configuration_error(
    client: WeChatClient, fake: FakeWeChat, caplog: pytest.LogCaptureFixture
) -> None:
    fake.interact(ALICE, "message")
    fake.fail_next(CUSTOM, 48001)
    with caplog.at_level(logging.ERROR, logger="dangjian.wechat"):
        with pytest.raises(WeChatAPIError) as caught:
            await client.send_custom_text(ALICE, "hello")
    assert caught.value.errcode == 48001
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.name == "dangjian.wechat"
    assert "not authorised" in record.getMessage()


async def test_metrics_count_each_call_by_api_and_errcode(
    client: WeChatClient, fake: FakeWeChat, metrics: Metrics
) -> None:
    fake.interact(ALICE, "event")
    for _ in range(3):
        await client.send_custom_text(ALICE, "hi")
    with pytest.raises(WeChatAPIError):
        await client.send_custom_text(ALICE, "hi")
    assert counted(metrics, "custom_send", "0") == 3
    assert counted(metrics, "custom_send", "45047") == 1
    assert counted(metrics, "stable_token", "0") == 1


# --- the delivery rules, seen through the client --------------------------------------------


async def _refusal(call: Any) -> WeChatAPIError:
    with pytest.raises(WeChatAPIError) as caught:
        await call
    return caught.value


async def test_user_message_opens_five_sends_for_48_hours(
    client: WeChatClient, fake: FakeWeChat, clock: RecordingClock
) -> None:
    fake.interact(ALICE, "message")
    for n in range(5):
        await client.send_custom_text(ALICE, f"reply {n}")
    over = await _refusal(client.send_custom_text(ALICE, "sixth"))
    assert over.errcode == 45047 and over.channel_closed
    fake.interact(ALICE, "message")
    clock.advance(hours=48)
    late = await _refusal(client.send_custom_text(ALICE, "too late"))
    assert late.errcode == 45015 and late.channel_closed
    assert len(fake.messages_to(ALICE)) == 5


async def test_event_opens_three_sends_for_one_minute(
    client: WeChatClient, fake: FakeWeChat, clock: RecordingClock
) -> None:
    fake.interact(ALICE, "event")
    for _ in range(3):
        await client.send_custom_text(ALICE, "menu answer")
    assert (await _refusal(client.send_custom_text(ALICE, "4th"))).errcode == 45047
    fake.interact(ALICE, "event")
    await client.send_custom_text(ALICE, "again")
    clock.advance(61)
    assert (await _refusal(client.send_custom_text(ALICE, "late"))).errcode == 45015


async def test_never_seen_openid_is_invalid(client: WeChatClient) -> None:
    assert (await _refusal(client.send_custom_text("oNobody", "hi"))).errcode == 40003


async def test_subscribe_grants_are_used_one_per_message(
    client: WeChatClient, fake: FakeWeChat
) -> None:
    data = {"thing1": {"value": "支部党员大会"}, "time2": {"value": "2024年5月8日 14:30"}}
    fake.grant(ALICE, "TPL-MEETING", count=2)
    answer = await client.send_subscribe(ALICE, "TPL-MEETING", data, page="pages/meeting")
    assert answer["errcode"] == 0 and "msgid" in answer
    await client.send_subscribe(ALICE, "TPL-MEETING", data)
    refused = await _refusal(client.send_subscribe(ALICE, "TPL-MEETING", data))
    assert refused.errcode == 43101 and refused.channel_closed
    sent = fake.messages_to(ALICE)
    assert [m.kind for m in sent] == ["subscribe", "subscribe"]
    assert sent[0].body["page"] == "pages/meeting"
    assert sent[0].body["miniprogram_state"] == "formal"
    assert "page" not in sent[1].body


async def test_subscribe_without_grant_is_refused(client: WeChatClient, fake: FakeWeChat) -> None:
    fake.grant(ALICE, "TPL-OTHER")
    refused = await _refusal(
        client.send_subscribe(ALICE, "TPL-MEETING", {"thing1": {"value": "x"}})
    )
    assert refused.errcode == 43101


async def test_subscribe_field_over_limit_names_the_field(
    client: WeChatClient, fake: FakeWeChat
) -> None:
    fake.grant(ALICE, "TPL-MEETING")
    data = {"thing1": {"value": "支" * 21}, "time2": {"value": "14:30"}}
    refused = await _refusal(client.send_subscribe(ALICE, "TPL-MEETING", data))
    assert refused.errcode == 47003
    assert "thing1" in refused.errmsg
    assert fake.grants_left(ALICE, "TPL-MEETING") == 1


async def test_template_message_needs_a_follower(client: WeChatClient, fake: FakeWeChat) -> None:
    fake.interact(ALICE, "message")
    data = {"first": {"value": "会议通知"}}
    refused = await _refusal(client.send_template(ALICE, "TPL-OA", data, url="https://x.test"))
    assert refused.errcode == 43004 and refused.channel_closed
    fake.follow(ALICE)
    mini = {"appid": "wxmini", "pagepath": "pages/index"}
    answer = await client.send_template(ALICE, "TPL-OA", data, miniprogram=mini)
    assert answer["errcode"] == 0
    [sent] = fake.messages_to(ALICE)
    assert sent.kind == "template" and sent.body["miniprogram"] == mini


async def test_code2session_codes_are_single_use(client: WeChatClient, fake: FakeWeChat) -> None:
    fake.add_code("code-1", ALICE, unionid="uAlice")
    session = await client.code2session("code-1")
    assert session["openid"] == ALICE
    assert session["unionid"] == "uAlice"
    assert session["session_key"]
    again = await _refusal(client.code2session("code-1"))
    assert again.errcode == 40029
    assert (await _refusal(client.code2session("never-issued"))).errcode == 40029
    # Login needs no access token.
    assert fake.calls_to(STABLE) == []
    assert fake.calls_to(LOGIN)[0].query["grant_type"] == "authorization_code"


# --- deployment shapes ------------------------------------------------------------------------


async def test_fake_mounted_under_a_prefix(
    aiohttp_server: ServerFactory,
    fake: FakeWeChat,
    session: aiohttp.ClientSession,
    cache: MemoryCache,
    clock: RecordingClock,
) -> None:
    parent = web.Application()
    parent.add_subapp("/fake-wechat", create_fake_app(fake))
    server = await aiohttp_server(parent)
    client = WeChatClient(
        session=session,
        base_url=str(server.make_url("/fake-wechat")),
        appid=APPID,
        secret=SECRET,
        cache=cache,
        clock=clock,
    )
    async with session.post(
        server.make_url("/fake-wechat/_fake/interact"), json={"openid": ALICE, "kind": "message"}
    ) as resp:
        assert resp.status == 200
    await client.send_custom_text(ALICE, "via the prefix")
    assert [m.text for m in fake.messages_to(ALICE)] == ["via the prefix"]
    assert [c.path for c in fake.calls] == [STABLE, CUSTOM]


async def test_two_processes_on_redis_share_one_refresh(
    fake: FakeWeChat, server: TestServer, session: aiohttp.ClientSession, clock: RecordingClock
) -> None:
    prefix = f"test:{uuid.uuid4()}:"
    caches = [RedisCache("redis://127.0.0.1:6379/0", prefix=prefix) for _ in range(2)]
    try:
        await caches[0].ping()
    except Exception as exc:
        for cache in caches:
            await cache.close()
        if os.environ.get("CI", "").lower() == "true":
            raise
        pytest.skip(f"Redis at 127.0.0.1:6379 is unreachable ({type(exc).__name__})")
    clients = [
        WeChatClient(
            session=session,
            base_url=str(server.make_url("")),
            appid=APPID,
            secret=SECRET,
            cache=cache,
            clock=clock,
        )
        for cache in caches
    ]
    try:
        tokens = await asyncio.gather(*(c.access_token() for c in clients for _ in range(10)))
        assert len(set(tokens)) == 1
        assert len(fake.calls_to(STABLE)) == 1
        assert await caches[1].get(f"wechat:token:{APPID}") == tokens[0]
    finally:
        await caches[0].delete(f"wechat:token:{APPID}")
        for cache in caches:
            await cache.close()


async def test_a_web_authorisation_code_is_traded_once_for_the_openid(
    client: WeChatClient, fake: FakeWeChat, server: TestServer
) -> None:
    page = fake.handle_authorize(
        {
            "appid": APPID,
            "redirect_uri": "https://dj.example.cn/back",
            "response_type": "code",
            "scope": "snsapi_base",
            "state": "s",
        },
        ALICE,
    )
    assert page.location is not None
    code = page.location.split("code=")[1].split("&")[0]
    answer = await client.oauth_access_token(code)
    assert answer["openid"] == ALICE
    with pytest.raises(WeChatAPIError) as used:
        await client.oauth_access_token(code)
    assert used.value.errcode == 40163
    assert errcodes(fake, "/sns/oauth2/access_token") == [0, 40163]  # not retried
    assert "access_token" not in fake.calls_to("/sns/oauth2/access_token")[0].query  # no token


async def test_http_502_on_a_lookup_is_tried_again_and_a_4xx_on_a_send_is_not_uncertain(
    make_client: MakeClient, fake: FakeWeChat, metrics: Metrics
) -> None:
    client = make_client(max_attempts=3, backoff=1.0)
    fake.follow(ALICE, "union-alice")
    fake.fail_next("/cgi-bin/user/info", status=502, times=2)
    assert await client.follower_unionid(ALICE) == "union-alice"  # a read: safe to repeat
    assert len(fake.calls_to("/cgi-bin/user/info")) == 3

    fake.interact(ALICE, "message")
    fake.fail_next(CUSTOM, status=429, times=None)
    with pytest.raises(WeChatUnavailable) as caught:
        await client.send_custom_text(ALICE, "hello")
    assert not caught.value.maybe_delivered  # refused before anything was done: retried
    assert len(fake.calls_to(CUSTOM)) == 3
