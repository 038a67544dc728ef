"""WeChat talks to /wechat: verification, signatures, the three modes, hostile bodies."""

from __future__ import annotations

import re
import time

from aiohttp.test_utils import TestClient

from tests.conftest import OPERATOR, TOKEN
from tests.wechat_peer import WeChatPeer, openid_for, sign

ALICE = openid_for("alice")


async def test_url_verification_echoes_echostr(client: TestClient, peer: WeChatPeer) -> None:
    query = peer.signed_query()
    resp = await client.get("/wechat", params={**query, "echostr": "8374619203"})
    assert resp.status == 200
    assert await resp.text() == "8374619203"


async def test_url_verification_with_a_forged_signature_is_refused(
    client: TestClient, peer: WeChatPeer
) -> None:
    query = peer.signed_query(token="someone-elses-token")
    resp = await client.get("/wechat", params={**query, "echostr": "8374619203"})
    assert resp.status == 403
    assert "8374619203" not in await resp.text()


async def test_plaintext_message_gets_a_plaintext_reply(
    client: TestClient, peer: WeChatPeer
) -> None:
    reply = await peer.say(client, ALICE, "帮助")
    assert reply.status == 200
    assert "绑定" in (reply.text or "")
    assert reply.fields["ToUserName"] == ALICE
    assert reply.fields["FromUserName"] == peer.to_user


async def test_safe_mode_message_gets_an_encrypted_reply(
    client: TestClient, peer: WeChatPeer
) -> None:
    reply = await peer.say(client, ALICE, "帮助", mode="safe")
    assert reply.status == 200
    assert "<Encrypt>" in reply.body and "帮助" not in reply.body
    assert "绑定" in (reply.text or "")  # decrypted by wechatpy, signature checked by it


async def test_compatible_mode_is_answered_encrypted(client: TestClient, peer: WeChatPeer) -> None:
    reply = await peer.say(client, ALICE, "菜单", mode="compat")
    assert "<Encrypt>" in reply.body
    assert "绑定" in (reply.text or "")


async def test_previous_aes_key_still_decrypts_during_rotation(
    aiohttp_client, make_settings, aes_key: str, peer: WeChatPeer
) -> None:
    from server.app import create_app
    from tests.conftest import new_aes_key

    settings = make_settings(wechat_aes_key=new_aes_key(), wechat_aes_key_previous=aes_key)
    client = await aiohttp_client(create_app(settings))
    reply = await peer.say(client, ALICE, "帮助", mode="safe")
    assert reply.status == 200
    assert reply.body.startswith("<xml><Encrypt>")


async def test_forged_signature_is_403_and_touches_nothing(
    client: TestClient, peer: WeChatPeer
) -> None:
    plain, _ = peer.text_xml(ALICE, "绑定 张三 1234")
    query = peer.signed_query(token="forged")
    resp = await client.post("/wechat", params=query, data=plain.encode())
    assert resp.status == 403
    assert "Traceback" not in await resp.text()


async def test_msg_signature_is_checked_separately_from_signature(
    client: TestClient, peer: WeChatPeer
) -> None:
    plain, _ = peer.text_xml(ALICE, "帮助")
    body, query = peer.envelope(plain, "safe")
    query["msg_signature"] = sign(TOKEN, query["timestamp"], query["nonce"], "other-ciphertext")
    resp = await client.post("/wechat", params=query, data=body.encode())
    assert resp.status == 403


async def test_stale_timestamp_is_refused(client: TestClient, peer: WeChatPeer) -> None:
    plain, _ = peer.text_xml(ALICE, "帮助")
    query = peer.signed_query(timestamp=int(time.time()) - 3600)
    resp = await client.post("/wechat", params=query, data=plain.encode())
    assert resp.status == 403


async def test_a_400_digit_timestamp_is_a_400_naming_it_not_a_crash(
    client: TestClient, peer: WeChatPeer
) -> None:
    plain, _ = peer.text_xml(ALICE, "帮助")
    query = peer.signed_query(timestamp=int("9" * 400))  # signed: only the number is wrong
    resp = await client.post("/wechat", params=query, data=plain.encode())
    assert resp.status == 400
    assert "timestamp" in await resp.text()


async def test_a_400_digit_create_time_is_a_400(client: TestClient, peer: WeChatPeer) -> None:
    plain, _ = peer.text_xml(ALICE, "帮助")
    plain = re.sub(r"<CreateTime>\d+</CreateTime>", f"<CreateTime>{'9' * 400}</CreateTime>", plain)
    resp = await client.post("/wechat", params=peer.signed_query(), data=plain.encode())
    assert resp.status == 400 and "CreateTime" in await resp.text()


async def test_missing_signature_is_refused(client: TestClient, peer: WeChatPeer) -> None:
    plain, _ = peer.text_xml(ALICE, "帮助")
    resp = await client.post("/wechat", data=plain.encode())
    assert resp.status == 403


async def test_oversized_body_is_413(client: TestClient, peer: WeChatPeer) -> None:
    plain, _ = peer.text_xml(ALICE, "x" * 200_000)
    resp = await client.post("/wechat", params=peer.signed_query(), data=plain.encode())
    assert resp.status == 413


async def test_malformed_xml_is_400_without_a_stack_trace(
    client: TestClient, peer: WeChatPeer
) -> None:
    resp = await client.post("/wechat", params=peer.signed_query(), data=b"<xml><Content>oops")
    assert resp.status == 400
    text = await resp.text()
    assert "Traceback" not in text and "malformed XML" in text


async def test_billion_laughs_is_refused(client: TestClient, peer: WeChatPeer) -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        "<xml><Content>&lol2;</Content></xml>"
    )
    resp = await client.post("/wechat", params=peer.signed_query(), data=bomb.encode())
    assert resp.status == 400


async def test_external_entities_are_refused(client: TestClient, peer: WeChatPeer) -> None:
    xxe = (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        f"<xml><FromUserName>{ALICE}</FromUserName><MsgType>text</MsgType>"
        "<Content>&xxe;</Content><MsgId>1</MsgId></xml>"
    )
    resp = await client.post("/wechat", params=peer.signed_query(), data=xxe.encode())
    assert resp.status == 400
    assert "root:" not in await resp.text()


async def test_xml_without_required_fields_is_400(client: TestClient, peer: WeChatPeer) -> None:
    resp = await client.post(
        "/wechat", params=peer.signed_query(), data=b"<xml><Content>hi</Content></xml>"
    )
    assert resp.status == 400


async def test_malformed_json_is_400(client: TestClient, peer: WeChatPeer) -> None:
    resp = await client.post("/wechat/miniprogram", params=peer.signed_query(), data=b"{oops")
    assert resp.status == 400


async def test_garbage_ciphertext_is_400(client: TestClient, peer: WeChatPeer) -> None:
    body = "<xml><ToUserName>gh</ToUserName><Encrypt><![CDATA[bm90IHJlYWw=]]></Encrypt></xml>"
    query = peer.signed_query()
    query.update(
        encrypt_type="aes",
        msg_signature=sign(TOKEN, query["timestamp"], query["nonce"], "bm90IHJlYWw="),
    )
    resp = await client.post("/wechat", params=query, data=body.encode())
    assert resp.status == 400


async def test_unknown_event_is_answered_success(client: TestClient, peer: WeChatPeer) -> None:
    reply = await peer.event(client, ALICE, "subscribe_msg_popup_event")
    assert reply.is_success


async def test_image_message_gets_a_polite_answer(client: TestClient, peer: WeChatPeer) -> None:
    xml = (
        f"<xml><ToUserName>gh</ToUserName><FromUserName>{ALICE}</FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType>image</MsgType>"
        "<PicUrl>http://x/y.jpg</PicUrl><MediaId>m1</MediaId><MsgId>99887766</MsgId></xml>"
    )
    reply = await peer.post(client, xml, peer.signed_query())
    assert "文字" in (reply.text or "")


async def test_a_body_that_is_not_utf8_is_400(client: TestClient, peer: WeChatPeer) -> None:
    plain, _ = peer.text_xml(ALICE, "帮助")
    resp = await client.post("/wechat", params=peer.signed_query(), data=plain.encode("utf-16"))
    assert resp.status == 400


async def test_nested_fields_are_kept(client: TestClient, peer: WeChatPeer) -> None:
    xml = (
        f"<xml><ToUserName>gh</ToUserName><FromUserName>{ALICE}</FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType>event</MsgType>"
        "<Event>scancode_waitmsg</Event><EventKey>scan</EventKey>"
        "<ScanCodeInfo><ScanType>qrcode</ScanType><ScanResult>abc</ScanResult></ScanCodeInfo>"
        "</xml>"
    )
    reply = await peer.post(client, xml, peer.signed_query())
    assert reply.is_success


def test_the_parser_keeps_nested_elements_and_refuses_dtds() -> None:
    import pytest

    from server.wechat.messages import MalformedMessage, parse_body

    fields = parse_body(
        b"<xml><A>1</A><B><C>2</C><D/></B><E><![CDATA[x]]]]><![CDATA[>y]]></E></xml>"
    )
    assert fields == {"A": "1", "B": {"C": "2", "D": None}, "E": "x]]>y"}
    with pytest.raises(MalformedMessage):
        parse_body(b"<!DOCTYPE xml [<!ELEMENT xml ANY>]><xml><A>1</A></xml>")


async def test_safe_mode_refuses_plaintext_pushes(
    aiohttp_client, make_settings, peer: WeChatPeer
) -> None:
    """A plaintext signature covers no body: in safe mode it must not be accepted at all."""
    from server.app import create_app

    client = await aiohttp_client(create_app(make_settings(wechat_encrypt_mode=None)))
    plain = await peer.say(client, ALICE, "帮助")
    assert plain.status == 403  # safe is the default once an EncodingAESKey is configured
    encrypted = await peer.say(client, ALICE, "帮助", mode="safe")
    assert "绑定" in (encrypted.text or "")


async def test_a_captured_signature_cannot_carry_another_body(
    client: TestClient, peer: WeChatPeer
) -> None:
    query = peer.signed_query()
    genuine, _ = peer.text_xml(ALICE, "帮助")
    forged, _ = peer.text_xml(openid_for("victim"), "我的身份")
    assert (await peer.post(client, genuine, query)).status == 200
    assert (await peer.post(client, genuine, dict(query))).status == 200  # WeChat's retry
    assert (await peer.post(client, forged, dict(query))).status == 403


async def test_a_non_ascii_signature_is_403_not_500(client: TestClient, peer: WeChatPeer) -> None:
    query = {**peer.signed_query(), "signature": "é" * 40}
    resp = await client.get("/wechat", params={**query, "echostr": "x"})
    assert resp.status == 403
    plain, _ = peer.text_xml(ALICE, "帮助")
    body, query = peer.envelope(plain, "safe")
    query["msg_signature"] = "签名" * 20
    assert (await client.post("/wechat", params=query, data=body.encode())).status == 403


async def test_deeply_nested_json_is_400(client: TestClient, peer: WeChatPeer) -> None:
    bomb = '{"a":' + "[" * 20000 + "]" * 20000 + "}"
    resp = await client.post("/wechat/miniprogram", params=peer.signed_query(), data=bomb.encode())
    assert resp.status == 400


async def test_invented_message_types_share_one_metric_label(
    client: TestClient, peer: WeChatPeer
) -> None:
    for n in range(5):
        xml = (
            f"<xml><ToUserName>gh</ToUserName><FromUserName>{ALICE}</FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType>t{n:06d}</MsgType>"
            f"<MsgId>{424200 + n}</MsgId></xml>"
        )
        assert (await peer.post(client, xml, peer.signed_query())).status == 200
    metrics = await (await client.get("/metrics", headers=OPERATOR)).text()
    assert "t000001" not in metrics
    assert 'type="other"' in metrics
