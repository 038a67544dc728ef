"""`dangjian chat` against a stand-in for the dangjian webhook and the fake WeChat API.

The stand-in checks signatures itself (plain hashlib) and does its AES with wechatpy's
WeChatCrypto, so the client is tested against an independent peer, not against its own helpers.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer, unused_port
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.replies import create_reply

from server.chat_cli import (
    BOT,
    BOT_LATER,
    PROMPT,
    ChatOptions,
    add_arguments,
    openid_for,
    options_from_args,
    run_chat,
)
from server.settings import DEV_AES_KEY, DEV_APPID, DEV_TOKEN, Settings

LATER = "稍后"  # the stand-in answers `success` and sends its answer through the API
FAKE = "/fake-wechat"
CUSTOM_SEND = "/cgi-bin/message/custom/send"


@dataclass
class StandIn:
    """What the stand-in saw and what its fake API log holds."""

    events: list[tuple[str, ...]] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    queries: list[dict[str, str]] = field(default_factory=list)

    def record_call(self, path: str, body: dict[str, Any], errcode: int = 0) -> None:
        seq = len(self.calls) + 1
        self.calls.append(
            {
                "seq": seq,
                "path": path,
                "query": "access_token=TOKEN",
                "body": body,
                "errcode": errcode,
                "at": 1_700_000_000 + seq,
            }
        )


def _custom(openid: str, content: str) -> dict[str, Any]:
    return {"touser": openid, "msgtype": "text", "text": {"content": content}}


def stand_in_app(state: StandIn) -> web.Application:
    crypto = WeChatCrypto(DEV_TOKEN, DEV_AES_KEY, DEV_APPID)

    async def wechat(request: web.Request) -> web.Response:
        q = request.query
        state.queries.append(dict(q))
        parts = sorted([DEV_TOKEN, q.get("timestamp", ""), q.get("nonce", "")])
        if q.get("signature") != hashlib.sha1("".join(parts).encode()).hexdigest():
            return web.Response(status=403, text="forbidden")
        body = await request.text()
        encrypted = q.get("encrypt_type") == "aes"
        if encrypted:
            try:
                body = crypto.decrypt_message(body, q["msg_signature"], q["timestamp"], q["nonce"])
            except InvalidSignatureException:
                return web.Response(status=403, text="forbidden")
            body = body.decode() if isinstance(body, bytes) else body
        msg = parse_message(body)
        state.events.append(("push", msg.source, msg.type, getattr(msg, "content", "")))
        assert q["openid"] == msg.source
        content = getattr(msg, "content", "")
        if content == LATER:
            state.record_call(CUSTOM_SEND, _custom(msg.source, "这是稍后的回复"))
            return web.Response(text="success")
        if content == "给别人":
            state.record_call(CUSTOM_SEND, _custom(openid_for("zhang"), "不是你的"))
            # Refused by WeChat (window closed): the member never sees it.
            state.record_call(CUSTOM_SEND, _custom(msg.source, "被拒绝的"), 45015)
            return web.Response(text="")
        if content == "重置":
            state.calls.clear()
        if content == "慢":
            # Answered after the passive reply, like a long job: only the poller can see it.
            reply = _custom(msg.source, "慢慢来的回复")
            asyncio.get_running_loop().call_later(0.1, state.record_call, CUSTOM_SEND, reply)
            return web.Response(text="success")
        if content == "模板":
            state.record_call(
                "/cgi-bin/message/template/send",
                {
                    "touser": msg.source,
                    "template_id": "T1",
                    "data": {
                        "thing1": {"value": "支部党员大会"},
                        "time2": {"value": "5月1日 14:00"},
                    },
                },
            )
            return web.Response(text="success")
        text = "欢迎关注" if msg.type == "event" else f"收到：{content}"
        reply = create_reply(text, msg).render()
        if encrypted:
            reply = crypto.encrypt_message(reply, "nonce123", q["timestamp"])
            if content == "篡改":
                # A forged envelope: the client must refuse it rather than trust the ciphertext.
                reply = re.sub(r"(<MsgSignature><!\[CDATA\[)\w+", r"\g<1>0bad", reply)
        return web.Response(text=reply, content_type="application/xml")

    async def interact(request: web.Request) -> web.Response:
        data = await request.json()
        state.events.append(("interact", data["openid"], data["kind"]))
        return web.json_response({"errcode": 0})

    async def calls(request: web.Request) -> web.Response:
        since = int(request.query.get("since", "0"))
        return web.json_response(
            {"calls": [c for c in state.calls if c["seq"] > since], "next": len(state.calls)}
        )

    app = web.Application()
    app.router.add_post("/wechat", wechat)
    app.router.add_post(f"{FAKE}/_fake/interact", interact)
    app.router.add_get(f"{FAKE}/_fake/calls", calls)
    return app


@pytest.fixture
def state() -> StandIn:
    return StandIn()


@pytest.fixture
async def server(aiohttp_server: Any, state: StandIn) -> TestServer:
    return await aiohttp_server(stand_in_app(state))


def options(server: TestServer, *script: str, **kw: Any) -> ChatOptions:
    base = str(server.make_url("")).rstrip("/")
    defaults: dict[str, Any] = dict(
        server=base,
        api_base=base + FAKE,
        user="newcomer",
        token=DEV_TOKEN,
        aes_key=DEV_AES_KEY,
        appid=DEV_APPID,
        poll_seconds=0.05,
        wait_seconds=0.5,
        script=list(script),
    )
    return ChatOptions(**(defaults | kw))


async def chat(opts: ChatOptions, stdin: str | None = None) -> tuple[int, str]:
    out = io.StringIO()
    code = await run_chat(opts, stdin=io.StringIO(stdin) if stdin is not None else None, stdout=out)
    return code, out.getvalue()


async def test_plaintext_chat_prints_the_passive_reply(server: TestServer, state: StandIn):
    code, out = await chat(options(server, "帮助", "绑定 张三 1234"))
    assert code == 0
    assert f"{PROMPT}帮助\n{BOT}收到：帮助\n" in out
    assert f"{BOT}收到：绑定 张三 1234\n" in out
    q = state.queries[0]
    assert "encrypt_type" not in q and q["openid"] == openid_for("newcomer")


async def test_aes_chat_round_trips_through_wechatpy(server: TestServer, state: StandIn):
    code, out = await chat(options(server, "学习", encrypt=True))
    assert code == 0
    assert f"{BOT}收到：学习\n" in out
    assert state.queries[0]["encrypt_type"] == "aes"
    assert "warning" not in out


async def test_aes_reply_with_a_bad_msg_signature_is_refused(server: TestServer):
    code, out = await chat(options(server, "篡改", encrypt=True))
    assert code == 1
    assert "MsgSignature does not verify" in out
    assert BOT not in out


async def test_late_reply_is_printed_for_our_openid(server: TestServer, state: StandIn):
    # Old traffic to us, logged before the chat starts, must not be replayed.
    state.record_call(CUSTOM_SEND, _custom(openid_for("newcomer"), "旧消息"))
    code, out = await chat(options(server, LATER, "模板"))
    assert code == 0
    assert f"{BOT_LATER}这是稍后的回复\n" in out
    assert f"{BOT_LATER}[模板消息] thing1: 支部党员大会，time2: 5月1日 14:00\n" in out
    assert "旧消息" not in out
    assert f"{BOT}" not in out.replace(BOT_LATER, "")


async def test_a_reset_call_log_is_read_again_from_its_start(server: TestServer, state: StandIn):
    # Many old calls, then the log is reset while the chat runs (as `/_fake/reset` does).
    for _ in range(5):
        state.record_call(CUSTOM_SEND, _custom(openid_for("newcomer"), "旧消息"))
    code, out = await chat(options(server, "/event subscribe", "重置", LATER))
    assert code == 0
    assert f"{BOT_LATER}这是稍后的回复\n" in out
    assert "旧消息" not in out


async def test_late_reply_for_another_user_or_refused_is_not_printed(server: TestServer):
    code, out = await chat(options(server, "给别人", wait_seconds=0.1))
    assert code == 0
    assert "不是你的" not in out and "被拒绝的" not in out
    assert BOT_LATER not in out


async def test_late_reply_to_a_user_played_earlier_is_labelled(server: TestServer):
    # zhang was played earlier in the session, so the reply the stand-in sends him still shows.
    code, out = await chat(options(server, "/user zhang", "/user newcomer", "给别人"))
    assert code == 0
    assert "党建助手（稍后，给 zhang）> 不是你的\n" in out
    assert "被拒绝的" not in out


async def test_interact_is_posted_before_each_message(server: TestServer, state: StandIn):
    code, _ = await chat(options(server, "/event subscribe", "你好", "/user bob", "再见"))
    assert code == 0
    newcomer, bob = openid_for("newcomer"), openid_for("bob")
    assert state.events == [
        ("interact", newcomer, "event"),
        ("push", newcomer, "event", ""),
        ("interact", newcomer, "message"),
        ("push", newcomer, "text", "你好"),
        ("interact", bob, "message"),
        ("push", bob, "text", "再见"),
    ]


async def test_api_base_without_fake_is_skipped_with_one_note(server: TestServer, state: StandIn):
    base = str(server.make_url("")).rstrip("/")
    code, out = await chat(options(server, LATER, "你好", api_base=base + "/real-wechat"))
    assert code == 0
    assert out.count("late replies") == 1
    assert f"{BOT}收到：你好" in out
    assert all(e[0] == "push" for e in state.events)


async def test_server_down_gives_a_friendly_message_and_fails():
    base = f"http://127.0.0.1:{unused_port()}"
    opts = ChatOptions(
        server=base,
        api_base=base + FAKE,
        user="newcomer",
        token=DEV_TOKEN,
        aes_key=None,
        appid=DEV_APPID,
        script=["帮助"],
        wait_seconds=0.1,
    )
    code, out = await chat(opts)
    assert code != 0
    assert f"cannot reach {base} — start it with `dangjian serve --demo`" in out
    assert "Traceback" not in out


async def test_wrong_token_explains_the_403(server: TestServer):
    code, out = await chat(options(server, "帮助", token="wrongtoken"))
    assert code != 0
    assert "HTTP 403" in out and "WECHAT_TOKEN" in out


async def test_aes_without_a_key_is_refused(server: TestServer):
    code, out = await chat(options(server, "帮助", encrypt=True, aes_key=None))
    assert code == 2 and "WECHAT_AES_KEY" in out


async def test_interactive_session_reads_stdin_until_quit(server: TestServer, state: StandIn):
    code, out = await chat(options(server, script=None), stdin="帮助\n\n/quit\n不会发送\n")
    assert code == 0
    assert "try: 帮助 or 绑定 姓名 手机号后四位" in out
    assert f"{BOT}收到：帮助" in out
    assert [e for e in state.events if e[0] == "push"] == [
        ("push", openid_for("newcomer"), "text", "帮助")
    ]


async def test_interactive_session_ends_on_eof(server: TestServer):
    code, out = await chat(options(server, script=None), stdin="/event subscribe\n")
    assert code == 0
    # Piped input is echoed after the prompt, so the transcript reads like a terminal session.
    assert f"{PROMPT}/event subscribe\n{BOT}欢迎关注\n" in out


class Transcript(io.StringIO):
    """A stdout a test can await ("until this text shows"), instead of sleeping."""

    def __init__(self) -> None:
        super().__init__()
        self.wanted: dict[str, asyncio.Event] = {}

    def write(self, s: str) -> int:
        n = super().write(s)
        for text, shown in self.wanted.items():
            if text in self.getvalue():
                shown.set()
        return n

    async def shows(self, text: str) -> None:
        shown = self.wanted.setdefault(text, asyncio.Event())
        if text in self.getvalue():
            shown.set()
        await asyncio.wait_for(shown.wait(), 5)


@pytest.fixture
def pipe() -> Iterator[tuple[TextIO, TextIO]]:
    read_fd, write_fd = os.pipe()
    with open(read_fd, encoding="utf-8") as r, open(write_fd, "w", encoding="utf-8") as w:
        yield r, w


async def test_late_reply_prints_while_waiting_for_input(
    server: TestServer, pipe: tuple[TextIO, TextIO]
):
    stdin, typing = pipe
    out = Transcript()
    task = asyncio.create_task(run_chat(options(server, script=None), stdin=stdin, stdout=out))
    typing.write("慢\n")
    typing.flush()
    # No more input: the chat sits at its prompt, and only the background poller can print this.
    await out.shows("慢慢来的回复")
    typing.close()  # EOF ends the chat
    assert await asyncio.wait_for(task, 5) == 0
    assert f"{PROMPT}\n{BOT_LATER}慢慢来的回复\n{PROMPT}" in out.getvalue()


def test_openid_is_deterministic_and_realistic():
    first = openid_for("newcomer")
    assert first == openid_for("newcomer")
    assert first != openid_for("secretary")
    assert len(first) == 28 and first.startswith("o")
    assert re.fullmatch(r"o[A-Za-z0-9_-]{27}", first)


def test_options_from_args_uses_settings_defaults():
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    settings = Settings(_env_file=None, DANGJIAN_HOST="0.0.0.0", DANGJIAN_PORT=9000)
    opts = options_from_args(
        parser.parse_args(["--event", "subscribe", "-c", "a", "-c", "b"]), settings
    )
    assert opts.server == "http://127.0.0.1:9000"
    assert opts.script == ["/event subscribe", "a", "b"]
    assert opts.user == "newcomer" and not opts.encrypt
    assert (opts.token, opts.appid) == (settings.token, settings.appid)
    interactive = options_from_args(parser.parse_args(["--aes", "--user", "li"]), settings)
    assert interactive.script is None and interactive.encrypt and interactive.user == "li"
