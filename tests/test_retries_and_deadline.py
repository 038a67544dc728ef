"""WeChat resends what it got no answer to; every retry must repeat nothing and get one answer."""

from __future__ import annotations

import asyncio
import json

from aiohttp.test_utils import TestClient

from server.app import create_app
from server.dispatch import Router
from server.models.people import WeChatIdentity
from server.typedefs import METRICS
from server.wechat.fake_state import FakeWeChat
from tests.conftest import APPID, drain, make_member
from tests.wechat_peer import WeChatPeer, openid_for

WANG = openid_for("wang-fang")


async def test_a_retry_repeats_no_side_effect_and_gets_the_same_reply(
    client: TestClient, peer: WeChatPeer
) -> None:
    await make_member("王芳", "13912345678")
    plain, _ = peer.text_xml(WANG, "绑定 王芳 5678")
    body, query = peer.envelope(plain, "plain")
    first = await peer.post(client, body, query)
    retry = await peer.post(client, body, peer.signed_query())  # WeChat re-signs a retry
    assert "绑定成功" in (first.text or "")
    assert retry.text == first.text  # not "您已经绑定过了": the handler did not run again
    assert await WeChatIdentity.filter(openid=WANG).count() == 1
    metrics = client.app[METRICS].render().decode()
    assert "dangjian_retries_deduplicated_total 1.0" in metrics


async def test_a_retry_arriving_while_the_first_still_runs_waits_for_its_result(
    aiohttp_client, make_settings, peer: WeChatPeer
) -> None:
    release = asyncio.Event()
    runs = []
    router = Router("slow")

    @router.message()
    async def slow(text: str) -> str:
        runs.append(text)
        await release.wait()
        return f"处理完毕：{text}"

    client = await aiohttp_client(create_app(make_settings(), router=router))
    plain, _ = peer.text_xml(WANG, "第一条")
    body, query = peer.envelope(plain, "plain")
    first = asyncio.create_task(peer.post(client, body, query))
    await asyncio.sleep(0.05)
    retry = asyncio.create_task(peer.post(client, body, peer.signed_query()))
    await asyncio.sleep(0.05)
    release.set()
    a, b = await asyncio.gather(first, retry)
    assert a.text == b.text == "处理完毕：第一条"
    assert runs == ["第一条"]


async def test_work_past_the_deadline_answers_success_and_replies_through_the_api(
    aiohttp_client, make_settings, peer: WeChatPeer, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    release = asyncio.Event()
    router = Router("slow")

    @router.message()
    async def slow(text: str) -> str:
        await release.wait()
        return "久等了，这是您要的结果。"

    client = await aiohttp_client(create_app(make_settings(reply_deadline=0.2), router=router))
    fake.interact(WANG, "message")  # WeChat opened the 48-hour window when the user wrote
    plain, _ = peer.text_xml(WANG, "慢慢来")
    body, query = peer.envelope(plain, "plain")
    reply = await peer.post(client, body, query)
    assert reply.is_success
    retry = await peer.post(client, body, peer.signed_query())
    assert retry.is_success  # the retry must not produce a second, passive answer
    release.set()
    await drain(client)
    sent = fake.messages_to(WANG)
    assert [m.text for m in sent] == ["久等了，这是您要的结果。"]


async def test_events_are_deduplicated_by_sender_and_create_time(
    client: TestClient, peer: WeChatPeer
) -> None:
    xml = peer.event_xml(WANG, "subscribe", create_time=1795600000)
    query = peer.signed_query()
    first = await peer.post(client, xml, query)
    second = await peer.post(client, xml, peer.signed_query())
    assert first.text == second.text and "欢迎" in (first.text or "")
    metrics = client.app[METRICS].render().decode()
    assert 'dangjian_messages_total{outcome="duplicate",type="event"} 1.0' in metrics


async def test_miniprogram_json_push_is_answered_through_the_api(
    client: TestClient, peer: WeChatPeer, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    fake.interact(WANG, "message")
    push = {
        "ToUserName": "gh_mini",
        "FromUserName": WANG,
        "CreateTime": 1795600000,
        "MsgType": "text",
        "Content": "帮助",
        "MsgId": 424242,
    }
    body, query = peer.envelope(json.dumps(push, ensure_ascii=False), "safe", as_json=True)
    reply = await peer.post(client, body, query)
    assert reply.is_success  # never a passive reply to the mini-program
    await drain(client)
    assert "绑定" in (fake.messages_to(WANG)[0].text or "")


async def test_miniprogram_plain_xml_on_its_own_path(
    client: TestClient, peer: WeChatPeer, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    fake.interact(WANG, "message")
    plain, _ = peer.text_xml(WANG, "帮助")
    reply = await peer.post(client, plain, peer.signed_query(), path="/wechat/miniprogram")
    assert reply.is_success
    await drain(client)
    assert len(fake.messages_to(WANG)) == 1


async def test_a_failing_handler_gets_an_apology_not_silence(
    aiohttp_client, make_settings, peer: WeChatPeer
) -> None:
    router = Router("broken")

    @router.message()
    async def broken() -> str:
        raise RuntimeError("bug")

    client = await aiohttp_client(create_app(make_settings(), router=router))
    reply = await peer.say(client, WANG, "你好")
    assert "抱歉" in (reply.text or "")
    assert "bug" not in reply.body


async def test_a_retry_takes_over_when_the_first_copy_was_abandoned(
    aiohttp_client, make_settings, peer: WeChatPeer
) -> None:
    """The first process died mid-message (its claim expired): the retry does the work."""
    from server.typedefs import CACHE

    client = await aiohttp_client(create_app(make_settings()))
    await make_member("王芳", "13912345678")
    plain, msg_id = peer.text_xml(WANG, "绑定 王芳 5678")
    cache = client.app[CACHE]
    await cache.add(f"dedup:{APPID}:msg:{msg_id}", '{"s": "pending"}', ttl=0.05)
    reply = await peer.post(client, plain, peer.signed_query())
    assert "绑定成功" in (reply.text or "")
    assert await WeChatIdentity.filter(openid=WANG).count() == 1


async def test_a_database_failure_gets_an_apology_and_settles_the_message(
    client: TestClient, peer: WeChatPeer, monkeypatch
) -> None:
    from server.services.people.identities import IdentityDirectory

    async def broken(self: object, appid: str, openid: str) -> None:
        raise ConnectionError("database went away")

    monkeypatch.setattr(IdentityDirectory, "find", broken)
    plain, _ = peer.text_xml(WANG, "帮助")
    first = await peer.post(client, plain, peer.signed_query())
    assert first.status == 200 and "抱歉" in (first.text or "")
    retry = await peer.post(client, plain, peer.signed_query())
    assert retry.text == first.text


async def test_a_copy_taking_over_late_answers_within_its_own_time(
    aiohttp_client, make_settings, peer: WeChatPeer, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    """The retry waited for a dead owner's claim to lapse; it has little time left."""
    import time as _time

    from server.typedefs import CACHE

    fake, _ = fake_wechat
    release = asyncio.Event()
    router = Router("slow")

    @router.message()
    async def slow() -> str:
        await release.wait()
        return "结果"

    client = await aiohttp_client(create_app(make_settings(reply_deadline=0.6), router=router))
    fake.interact(WANG, "message")
    plain, msg_id = peer.text_xml(WANG, "慢")
    await client.app[CACHE].add(f"dedup:{APPID}:msg:{msg_id}", '{"s": "pending"}', ttl=0.4)
    started = _time.monotonic()
    reply = await peer.post(client, plain, peer.signed_query())
    assert reply.is_success and _time.monotonic() - started < 0.9
    release.set()
    await drain(client)
    assert [m.text for m in fake.messages_to(WANG)] == ["结果"]


async def test_a_claim_whose_sender_never_heard_back_is_taken_over(
    client: TestClient, peer: WeChatPeer
) -> None:
    """A stalled Redis ran the first copy's claim after that copy had given up on it."""
    import time as _time

    from server.typedefs import CACHE

    await make_member("王芳", "13912345678")
    plain, msg_id = peer.text_xml(WANG, "绑定 王芳 5678")
    orphan = json.dumps({"s": "pending", "o": "gave-up", "l": _time.time() - 0.1})
    # Redis set it late, so its TTL has barely started; only its lease says it is stale.
    await client.app[CACHE].set(f"dedup:{APPID}:msg:{msg_id}", orphan, ttl=60)
    retry = await peer.post(client, plain, peer.signed_query())
    assert "绑定成功" in (retry.text or "")
    assert await WeChatIdentity.filter(openid=WANG).count() == 1


async def test_a_copy_that_never_sees_the_work_settled_asks_wechat_to_retry(
    aiohttp_client, make_settings, peer: WeChatPeer
) -> None:
    """Not `success`: that would stop WeChat's retries with the member's message unhandled."""
    import time as _time

    from server.typedefs import CACHE

    client = await aiohttp_client(create_app(make_settings(reply_deadline=0.3)))
    await make_member("王芳", "13912345678")
    plain, msg_id = peer.text_xml(WANG, "绑定 王芳 5678")
    live = json.dumps({"s": "pending", "o": "busy-elsewhere", "l": _time.time() + 60})
    await client.app[CACHE].set(f"dedup:{APPID}:msg:{msg_id}", live, ttl=60)
    retry = await peer.post(client, plain, peer.signed_query())
    assert retry.status == 503 and not retry.is_success
    assert await WeChatIdentity.filter(openid=WANG).count() == 0
