"""Plays WeChat's servers in tests: pushes built, signed and encrypted the way WeChat does.

The crypto is wechatpy's own `WeChatCrypto`, so our gateway is checked against an independent
implementation of the protocol rather than against itself.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import xmltodict
from aiohttp.test_utils import TestClient
from wechatpy.crypto import WeChatCrypto

Mode = Literal["plain", "compat", "safe"]
_msg_ids = itertools.count(7_000_000_000_000_000_001)


def cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def openid_for(name: str) -> str:
    digest = hashlib.sha256(name.encode()).hexdigest()
    return ("o" + digest)[:28]


@dataclass
class Reply:
    status: int
    body: str
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str | None:
        return self.fields.get("Content")

    @property
    def is_success(self) -> bool:
        return self.status == 200 and self.body in ("success", "")


@dataclass
class WeChatPeer:
    token: str
    aes_key: str
    appid: str
    to_user: str = "gh_test_account"
    clock: Any = None  # anything with timestamp(); real time when None

    def _now(self) -> int:
        return int(self.clock.timestamp() if self.clock else time.time())

    def text_xml(self, openid: str, content: str, msg_id: int | None = None) -> tuple[str, int]:
        msg_id = msg_id or next(_msg_ids)
        xml = (
            f"<xml><ToUserName><![CDATA[{self.to_user}]]></ToUserName>"
            f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{self._now()}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content>{cdata(content)}</Content><MsgId>{msg_id}</MsgId></xml>"
        )
        return xml, msg_id

    def event_xml(
        self, openid: str, event: str, key: str = "", create_time: int | None = None
    ) -> str:
        return (
            f"<xml><ToUserName><![CDATA[{self.to_user}]]></ToUserName>"
            f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{create_time or self._now()}</CreateTime>"
            f"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[{event}]]></Event>"
            f"<EventKey><![CDATA[{key}]]></EventKey></xml>"
        )

    def signed_query(
        self, *, timestamp: int | None = None, nonce: str | None = None, token: str | None = None
    ) -> dict[str, str]:
        nonce = nonce or secrets.token_hex(5)  # WeChat's nonce differs on every push
        ts = str(timestamp if timestamp is not None else self._now())
        return {
            "signature": sign(token or self.token, ts, nonce),
            "timestamp": ts,
            "nonce": nonce,
            "openid": "ignored",
        }

    def envelope(
        self, plain: str, mode: Mode, *, as_json: bool = False
    ) -> tuple[str, dict[str, str]]:
        """The body and query string for `plain` in the given mode, as WeChat would send it."""
        query = self.signed_query()
        if mode == "plain":
            return plain, query
        crypto = WeChatCrypto(self.token, self.aes_key, self.appid)
        enc_xml = crypto.encrypt_message(plain, query["nonce"], query["timestamp"])
        encrypted = xmltodict.parse(enc_xml)["xml"]["Encrypt"]
        query.update(
            encrypt_type="aes",
            msg_signature=sign(self.token, query["timestamp"], query["nonce"], encrypted),
        )
        if as_json:
            return json.dumps({"ToUserName": self.to_user, "Encrypt": encrypted}), query
        if mode == "safe":
            body = (
                f"<xml><ToUserName><![CDATA[{self.to_user}]]></ToUserName>"
                f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
            )
        else:  # compatible mode: plaintext fields and the ciphertext side by side
            body = plain.replace("</xml>", f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>")
        return body, query

    def read_reply(self, status: int, body: str, query: dict[str, str]) -> Reply:
        if status != 200 or body in ("success", "") or not body.startswith("<xml>"):
            return Reply(status, body)
        fields = xmltodict.parse(body)["xml"]
        if "Encrypt" in fields:
            crypto = WeChatCrypto(self.token, self.aes_key, self.appid)
            plain = crypto.decrypt_message(
                body, fields["MsgSignature"], fields["TimeStamp"], fields["Nonce"]
            )
            fields = xmltodict.parse(plain)["xml"]
        return Reply(status, body, fields)

    async def post(
        self, client: TestClient, body: str, query: dict[str, str], path: str = "/wechat"
    ) -> Reply:
        resp = await client.post(path, params=query, data=body.encode())
        return self.read_reply(resp.status, await resp.text(), query)

    async def say(
        self, client: TestClient, openid: str, content: str, mode: Mode = "plain"
    ) -> Reply:
        plain, _ = self.text_xml(openid, content)
        body, query = self.envelope(plain, mode)
        return await self.post(client, body, query)

    async def event(
        self, client: TestClient, openid: str, event: str, key: str = "", mode: Mode = "plain"
    ) -> Reply:
        body, query = self.envelope(self.event_xml(openid, event, key), mode)
        return await self.post(client, body, query)
