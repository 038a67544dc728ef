"""One typed line: a chat command (/user, /event, /quit), or a push and the reply it gets."""

from __future__ import annotations

import enum
import secrets
import time

import aiohttp

from server.chat_cli.late_replies import LateReplies
from server.chat_cli.options import ChatOptions
from server.chat_cli.pushes import (
    ReplyError,
    describe_reply,
    event_xml,
    open_reply,
    sign_push,
    text_message_xml,
)
from server.chat_cli.screen import Screen
from server.chat_cli.users import Players, short_openid
from server.wechat.crypto import new_nonce

BOT = "党建助手 > "
COMMANDS = "/user NAME switches user, /event subscribe follows the account, /quit ends"
# WeChat drops the connection after 5 s and shows the member nothing; we do the same.
WECHAT_DEADLINE = 5.0
AES_MISMATCH = (
    " — the EncodingAESKey and appid must match the server's WECHAT_AES_KEY and WECHAT_APPID"
)


class Outcome(enum.Enum):
    OK = "ok"
    FAILED = "failed"
    QUIT = "quit"


class Chat:
    def __init__(
        self, options: ChatOptions, session: aiohttp.ClientSession, screen: Screen
    ) -> None:
        self.options = options
        self.session = session
        self.screen = screen
        self.server = options.server.rstrip("/").removesuffix("/wechat")
        self.players = Players(options.user)
        self.late = LateReplies(options, session, self.players, screen)
        self.msg_ids: set[int] = set()

    def say(self, line: str) -> None:
        self.screen.say(line)

    async def handle(self, line: str) -> Outcome:
        word, _, rest = line.partition(" ")
        if word in ("/quit", "/exit"):
            return Outcome.QUIT
        if word == "/user":
            if not rest.strip():
                self.say("» usage: /user NAME")
                return Outcome.OK
            self.players.switch(rest.strip())
            self.say(f"» now playing {self.players.user} ({self.shown_openid()})")
            return Outcome.OK
        if word == "/event":
            if rest.strip() != "subscribe":
                self.say("» only /event subscribe is supported")
                return Outcome.OK
            await self.late.interact("event")
            return await self.push(
                event_xml(self.options.to_user, self.players.openid, "subscribe", int(time.time()))
            )
        if word.startswith("/") and len(word) > 1:
            self.say(f"» unknown command {word}; {COMMANDS}")
            return Outcome.OK
        await self.late.interact("message")
        return await self.push(
            text_message_xml(
                self.options.to_user, self.players.openid, line, self.new_msg_id(), int(time.time())
            )
        )

    def shown_openid(self) -> str:
        return f"openid {short_openid(self.players.openid)}"

    def new_msg_id(self) -> int:
        # 63 bits: unique like WeChat's 64-bit ids, yet safe in a signed BIGINT column.
        while (msg_id := secrets.randbits(63)) in self.msg_ids or not msg_id:
            pass
        self.msg_ids.add(msg_id)
        return msg_id

    async def push(self, plain_xml: str) -> Outcome:
        openid = self.players.openid
        params, body = sign_push(plain_xml, self.options, openid, int(time.time()), new_nonce())
        url = f"{self.server}/wechat"
        try:
            async with self.session.post(
                url, params=params, data=body.encode("utf-8"), headers={"Content-Type": "text/xml"}
            ) as resp:
                status, text = resp.status, await resp.text()
        except aiohttp.ClientConnectionError:
            return self.fail(f"cannot reach {self.server} — start it with `dangjian serve --demo`")
        except TimeoutError:
            return self.fail(
                f"no answer within {WECHAT_DEADLINE:g} s: WeChat would drop the "
                "connection and retry (3 attempts in all), then show nothing"
            )
        except aiohttp.ClientError as exc:
            return self.fail(f"request to {url} failed: {exc}")
        if status == 403:
            return self.fail(
                "the server rejected the signature (HTTP 403): the token this chat "
                "signs with must match the server's WECHAT_TOKEN"
            )
        if status >= 400:
            # A 400 in safe mode is almost always a key or appid that differs from the server's.
            hint = AES_MISMATCH if self.options.encrypt and status == 400 else ""
            return self.fail(f"the server answered HTTP {status}{hint}: {text.strip()[:200]}")
        await self.late.server_answered()
        return self.show_reply(text)

    def show_reply(self, text: str) -> Outcome:
        if text.strip() in ("", "success"):
            self.late.expect()
            return Outcome.OK
        try:
            fields, warning = open_reply(text, self.options)
        except ReplyError as exc:
            return self.fail(str(exc))
        if fields.get("ToUserName") not in (None, self.players.openid):
            warning = "the reply is addressed to another user; WeChat would not deliver it here"
        self.say(BOT + describe_reply(fields))
        if warning:
            self.say(f"» warning: {warning}")
        return Outcome.OK

    def fail(self, message: str) -> Outcome:
        self.say(f"error: {message}")
        return Outcome.FAILED
