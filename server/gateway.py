"""The `/wechat` push endpoint: verify, decrypt, parse, de-duplicate, dispatch, render, encrypt.

Nothing else happens here; the work is in `server/processing.py` and the chat handlers.
"""

from __future__ import annotations

import time

from aiohttp import web

from server.channels import Channel
from server.processing import RetryLater
from server.settings import Settings
from server.typedefs import CACHE, CLOCK, METRICS, PROCESSOR, SETTINGS
from server.wechat import crypto
from server.wechat.messages import MalformedMessage, parse_body, to_message
from server.wechat.replay import bind_signature_to_body
from server.wechat.replies import SUCCESS, text_reply


def _channel(request: web.Request, body: bytes) -> Channel:
    if request.match_info.get("channel") == "miniprogram":
        return Channel.MINIPROGRAM
    # Only the mini-program pushes JSON; an official account is XML only.
    return Channel.MINIPROGRAM if body.lstrip().startswith(b"{") else Channel.OFFICIAL_ACCOUNT


def _appid(settings: Settings, channel: Channel) -> str:
    return settings.mp_appid if channel is Channel.MINIPROGRAM else settings.appid


def _verify(request: web.Request) -> tuple[str, str]:
    settings = request.app[SETTINGS]
    q = request.query
    crypto.check_signature(settings.token, q.get("signature"), q.get("timestamp"), q.get("nonce"))
    crypto.check_fresh(q["timestamp"], request.app[CLOCK].timestamp(), settings.signature_max_age)
    return q["timestamp"], q["nonce"]


async def verify_url(request: web.Request) -> web.Response:
    """WeChat's server-configuration check: echo `echostr` when the signature is ours."""
    _verify(request)
    return web.Response(text=request.query.get("echostr", ""))


async def receive(request: web.Request) -> web.Response:
    started = time.perf_counter()
    settings = request.app[SETTINGS]
    timestamp, nonce = _verify(request)
    body = await request.read()  # the app's client_max_size answers 413 for oversized bodies
    envelope = parse_body(body)
    channel = _channel(request, body)
    appid = _appid(settings, channel)

    encrypted = request.query.get("encrypt_type", "raw").lower() == "aes"
    if encrypted:
        ciphertext = envelope.get("Encrypt")
        if not isinstance(ciphertext, str) or not ciphertext:
            raise MalformedMessage("encrypt_type=aes but no Encrypt field")
        crypto.check_msg_signature(
            settings.token, request.query.get("msg_signature"), timestamp, nonce, ciphertext
        )
        plain, reply_key = crypto.decrypt(ciphertext, settings.aes_keys, appid)
        fields = parse_body(plain.encode("utf-8"))
    elif settings.plaintext_allowed:
        await bind_signature_to_body(
            request.app[CACHE], request.query["signature"], body, settings.signature_max_age
        )
        fields, reply_key = envelope, None
    else:
        # A plaintext signature covers no body: anyone holding one captured URL could post
        # any member's messages.  In compat and safe mode WeChat always encrypts.
        raise crypto.SignatureRejected("plaintext push refused: WECHAT_ENCRYPT_MODE is not plain")
    message = to_message(fields, channel)

    try:
        reply = await request.app[PROCESSOR].process(message, appid)
    except RetryLater:
        # Not `success`: that would stop WeChat's retries with the work undone.
        return web.Response(status=503, text="retry later")
    request.app[METRICS].reply_latency.observe(time.perf_counter() - started)
    if not reply:
        return web.Response(text=SUCCESS)
    now = int(request.app[CLOCK].timestamp())
    xml = text_reply(message.from_user, message.to_user, reply, now)
    if reply_key:
        xml = crypto.encrypted_reply_xml(xml, settings.token, reply_key, appid, str(now))
    return web.Response(text=xml, content_type="application/xml")


def setup_routes(app: web.Application) -> None:
    for path in ("/wechat", "/wechat/{channel:(oa|miniprogram)}"):
        app.router.add_get(path, verify_url)
        app.router.add_post(path, receive)
