"""The pushes WeChat would send (signed, or in the AES envelope), and the replies read back."""

from __future__ import annotations

import hmac
from typing import Any
from xml.parsers.expat import ExpatError

import xmltodict

from server.chat_cli.options import ChatOptions
from server.wechat.crypto import DecryptionFailed, decrypt, encrypt, sha1_signature

BROKEN_ACCOUNT = "该公众号暂时无法提供服务"


def _cdata(text: str) -> str:
    # A literal "]]>" would end the section early; WeChat splits it the same way.
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _push_xml(to_user: str, openid: str, now: int, msg_type: str, rest: str) -> str:
    return (
        f"<xml><ToUserName>{_cdata(to_user)}</ToUserName>"
        f"<FromUserName>{_cdata(openid)}</FromUserName><CreateTime>{now}</CreateTime>"
        f"<MsgType>{_cdata(msg_type)}</MsgType>{rest}</xml>"
    )


def text_message_xml(to_user: str, openid: str, content: str, msg_id: int, now: int) -> str:
    rest = f"<Content>{_cdata(content)}</Content><MsgId>{msg_id}</MsgId>"
    return _push_xml(to_user, openid, now, "text", rest)


def event_xml(to_user: str, openid: str, event: str, now: int) -> str:
    # Events carry no MsgId: the server de-duplicates them by FromUserName + CreateTime.
    rest = f"<Event>{_cdata(event)}</Event><EventKey>{_cdata('')}</EventKey>"
    return _push_xml(to_user, openid, now, "event", rest)


def sign_push(
    plain_xml: str, options: ChatOptions, openid: str, now: int, nonce: str
) -> tuple[dict[str, str], str]:
    """Query string and body of one push, in plaintext or safe mode, as WeChat builds them."""
    timestamp = str(now)
    params = {
        "signature": sha1_signature(options.token, timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
        "openid": openid,
    }
    if not options.encrypt:
        return params, plain_xml
    assert options.aes_key is not None  # run_chat refuses --aes without a key
    ciphertext = encrypt(plain_xml, options.aes_key, options.appid)
    params["encrypt_type"] = "aes"
    params["msg_signature"] = sha1_signature(options.token, timestamp, nonce, ciphertext)
    body = (
        f"<xml><ToUserName>{_cdata(options.to_user)}</ToUserName>"
        f"<Encrypt>{_cdata(ciphertext)}</Encrypt></xml>"
    )
    return params, body


class ReplyError(Exception):
    """The server answered 200 with something WeChat would not deliver."""


def _parse_xml(text: str) -> dict[str, Any]:
    try:
        doc = xmltodict.parse(text, disable_entities=True)
    except (ExpatError, ValueError):
        raise ReplyError(f"the reply is not XML, so WeChat shows 「{BROKEN_ACCOUNT}」") from None
    root = doc.get("xml") if isinstance(doc, dict) else None
    if not isinstance(root, dict):
        raise ReplyError(f"the reply has no <xml> root, so WeChat shows 「{BROKEN_ACCOUNT}」")
    return root


def open_reply(text: str, options: ChatOptions) -> tuple[dict[str, Any], str | None]:
    """The reply's fields (decrypted and verified if enveloped), plus a warning if any."""
    fields = _parse_xml(text)
    if "Encrypt" not in fields:
        if options.encrypt:
            return fields, f"plaintext reply in safe mode: WeChat would show 「{BROKEN_ACCOUNT}」"
        return fields, None
    if not options.aes_key:
        raise ReplyError("the reply is encrypted but no EncodingAESKey is configured here")
    ciphertext = str(fields.get("Encrypt") or "")
    expected = sha1_signature(
        options.token,
        str(fields.get("TimeStamp") or ""),
        str(fields.get("Nonce") or ""),
        ciphertext,
    )
    if not hmac.compare_digest(expected, str(fields.get("MsgSignature") or "").lower()):
        raise ReplyError(
            f"the reply's MsgSignature does not verify: WeChat shows 「{BROKEN_ACCOUNT}」"
        )
    try:
        plain, _ = decrypt(ciphertext, [options.aes_key], options.appid)
    except DecryptionFailed:
        raise ReplyError("cannot decrypt the reply with this EncodingAESKey and appid") from None
    return _parse_xml(plain), None


def describe_reply(fields: dict[str, Any]) -> str:
    kind = fields.get("MsgType")
    if kind == "text":
        return str(fields.get("Content") or "")
    if kind == "news":
        items = (fields.get("Articles") or {}).get("item") or []
        items = items if isinstance(items, list) else [items]
        titles = [str(i.get("Title") or "") for i in items if isinstance(i, dict)]
        return "[图文] " + "；".join(titles)
    if kind == "transfer_customer_service":
        return "[转人工客服]"
    return f"[{kind}]"
